//! The JSON API for integrations.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_read_back_with_an_api_key() {
    let app = spawn_app().await;
    let resp = app
        .post_json("/api/v1/applications", &valid_json("api@example.com"))
        .await;
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(created["status"], "applied");
    let id = created["id"].as_str().unwrap().to_string();

    // The same email again, however written: 200 with the same id, nothing new stored.
    let before = app.snapshot().await;
    let resp = app
        .post_json("/api/v1/applications", &valid_json(" API@Example.com"))
        .await;
    assert_eq!(resp.status(), 200);
    let again: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(again["id"], created["id"]);
    assert_eq!(app.snapshot().await, before);

    let get = |key: Option<&str>, id: &str| {
        let mut req = app
            .client
            .get(format!("{}/api/v1/applications/{id}", app.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let resp = get(Some(&app.api_key), &id).await.unwrap();
    assert_eq!(resp.status(), 200);
    let a: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(a["email"], "api@example.com");
    assert_eq!(a["country"], "SE");
    assert_eq!(a["weekly_hours"], 20);
    assert_eq!(a["screening"].as_array().unwrap().len(), 3);

    let resp = get(None, &id).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(get(Some("onr_wrong"), &id).await.unwrap().status(), 401);
    assert_eq!(
        get(Some(&app.api_key), &uuid::Uuid::now_v7().to_string())
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get(Some(&app.api_key), "not-a-uuid")
            .await
            .unwrap()
            .status(),
        404
    );

    // Creating needs a key too.
    let resp = app
        .client
        .post(format!("{}/api/v1/applications", app.base))
        .json(&valid_json("nokey@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A revoked key stops working.
    let key_id: uuid::Uuid =
        onramp::on_db!(&app.db, p => sqlx::query_scalar("SELECT id FROM api_keys")
        .fetch_one(p).await)
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::api_keys::revoke(&mut tx, key_id, onramp::domain::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(get(Some(&app.api_key), &id).await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/applications"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/applications/{id}"]["get"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert!(doc["components"]["schemas"]["ApplicationIn"]["properties"]["ref"].is_object());
}

/// The OpenAPI document states each rule the validator applies, and a body built to the
/// document's limits is accepted; one step past any limit is refused, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_states_the_rules_and_a_body_at_its_limits_is_accepted() {
    use onramp::domain::application::{
        FULL_NAME_MAX, FULL_NAME_MIN, MAX_LANGUAGES, MOTIVATION_MAX, TRACKING_MAX,
        WEEKLY_HOURS_MAX, WEEKLY_HOURS_MIN,
    };
    use serde_json::{json, Value};

    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let schema = &doc["components"]["schemas"]["ApplicationIn"];
    let p = &schema["properties"];
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert_eq!(num(&p["full_name"]["minLength"]), FULL_NAME_MIN as f64);
    assert_eq!(num(&p["full_name"]["maxLength"]), FULL_NAME_MAX as f64);
    assert_eq!(p["email"]["format"], "email");
    assert_eq!(num(&p["email"]["maxLength"]), 254.0);
    assert!(p["email"]["pattern"].is_string());
    assert!(p["phone"]["pattern"].is_string());
    assert_eq!(p["area"]["enum"], json!(["rural", "town", "city"]));
    let countries = p["country"]["enum"].as_array().unwrap();
    assert_eq!(countries.len(), onramp::domain::iso::COUNTRIES.len());
    assert_eq!(num(&p["languages"]["minItems"]), 1.0);
    assert_eq!(num(&p["languages"]["maxItems"]), MAX_LANGUAGES as f64);
    let languages = p["languages"]["items"]["enum"].as_array().unwrap();
    assert_eq!(languages.len(), onramp::domain::iso::LANGUAGES.len());
    assert_eq!(p["weekly_hours"]["type"], "integer");
    assert_eq!(num(&p["weekly_hours"]["minimum"]), WEEKLY_HOURS_MIN as f64);
    assert_eq!(num(&p["weekly_hours"]["maximum"]), WEEKLY_HOURS_MAX as f64);
    assert_eq!(num(&p["motivation"]["maxLength"]), MOTIVATION_MAX as f64);
    assert_eq!(p["consent"]["enum"], json!([true]));
    for f in ["utm_source", "utm_campaign", "ref"] {
        assert_eq!(num(&p[f]["maxLength"]), TRACKING_MAX as f64, "{f}");
        assert!(p[f]["pattern"].is_string(), "{f}");
    }
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(
        required,
        [
            "area",
            "consent",
            "country",
            "email",
            "full_name",
            "languages",
            "weekly_hours"
        ]
    );

    // A body at every limit the document states.
    let max = |f: &str| num(&p[f]["maxLength"]) as usize;
    let text = |n: usize| -> String { "Åa".chars().cycle().take(n).collect() };
    let email_at_limit = |tag: &str| {
        // 64-character local part, labels of 63, 254 characters in all.
        let local = format!("{tag}{}", "x".repeat(64 - tag.len()));
        let mut domain = format!("{}.{}.", "a".repeat(63), "b".repeat(63));
        let rest = max("email") - local.len() - 1 - domain.len();
        domain.push_str(&format!("{}se", "c".repeat(rest - 2)));
        let e = format!("{local}@{domain}");
        assert_eq!(e.len(), 254);
        e
    };
    let body = |tag: &str, hours: f64, country: &Value, area: &Value| {
        json!({
            "full_name": text(max("full_name")),
            "email": email_at_limit(tag),
            "phone": format!("+1 (2) 345-678.901{}", "2".repeat(4)),
            "country": country,
            "area": area,
            "languages": languages[..MAX_LANGUAGES].to_vec(),
            "weekly_hours": hours,
            "student": null,
            "customer": true,
            "adult": true,
            "equipment": false,
            "motivation": format!("{}\n{}", text(999), text(max("motivation") - 1000)),
            "consent": true,
            "utm_source": "u".repeat(max("utm_source")),
            "utm_campaign": "c".repeat(max("utm_campaign")),
            "ref": "r".repeat(max("ref")),
        })
    };
    let limits = [
        (
            "lo",
            num(&p["weekly_hours"]["minimum"]),
            countries.first().unwrap(),
            &p["area"]["enum"][0],
        ),
        (
            "hi",
            num(&p["weekly_hours"]["maximum"]),
            countries.last().unwrap(),
            &p["area"]["enum"][2],
        ),
        ("se", 20.0, &json!("SE"), &p["area"]["enum"][1]),
    ];
    for (tag, hours, country, area) in limits {
        let r = app
            .post_json("/api/v1/applications", &body(tag, hours, country, area))
            .await;
        let status = r.status();
        assert_eq!(status, 201, "{tag}: {}", r.text().await.unwrap());
    }

    // One step past each limit: refused, by field.
    type Edit<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let past: Vec<(&str, Edit)> = vec![
        (
            "full_name",
            Box::new(|b| b["full_name"] = json!(text(FULL_NAME_MAX as usize + 1))),
        ),
        ("full_name", Box::new(|b| b["full_name"] = json!("Å"))),
        (
            "email",
            Box::new(|b| b["email"] = json!(format!("y{}", b["email"].as_str().unwrap()))),
        ),
        ("phone", Box::new(|b| b["phone"] = json!("+1 234 567"))),
        ("country", Box::new(|b| b["country"] = json!("ZZ"))),
        ("area", Box::new(|b| b["area"] = json!("suburb"))),
        ("languages", Box::new(|b| b["languages"] = json!([]))),
        (
            "languages",
            Box::new(|b| b["languages"] = json!(languages[..MAX_LANGUAGES + 1].to_vec())),
        ),
        (
            "weekly_hours",
            Box::new(|b| b["weekly_hours"] = json!(WEEKLY_HOURS_MIN - 1)),
        ),
        (
            "weekly_hours",
            Box::new(|b| b["weekly_hours"] = json!(WEEKLY_HOURS_MAX + 1)),
        ),
        (
            "weekly_hours",
            Box::new(|b| b["weekly_hours"] = json!(20.5)),
        ),
        (
            "motivation",
            Box::new(|b| b["motivation"] = json!(text(MOTIVATION_MAX as usize + 1))),
        ),
        ("consent", Box::new(|b| b["consent"] = json!(false))),
        (
            "utm_source",
            Box::new(|b| b["utm_source"] = json!("u".repeat(TRACKING_MAX + 1))),
        ),
        ("ref", Box::new(|b| b["ref"] = json!("has space"))),
    ];
    let before = app.snapshot().await;
    for (field, edit) in past {
        let mut b = body("zz", 20.0, &json!("SE"), &json!("city"));
        edit(&mut b);
        let r = app.post_json("/api/v1/applications", &b).await;
        assert_eq!(r.status(), 422, "{field}");
        let errors: Value = r.json().await.unwrap();
        assert!(errors["errors"][field].is_array(), "{field}: {errors}");
    }
    assert_eq!(app.snapshot().await, before);
}
