//! Pilot cohorts by API: making one (its checklist copied from the template), reading it, and
//! every refusal, by field, with nothing stored.

use serde_json::{json, Value};

use crate::helpers::*;

impl TestApp {
    async fn load_checklist(&self) {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed");
        onramp::seed::import_checklist(&self.db, &seed.join("checklist.toml"))
            .await
            .unwrap();
    }

    async fn send_key(
        &self,
        method: reqwest::Method,
        key: &str,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(b) = body {
            r = r.json(b);
        }
        r.send().await.unwrap()
    }
}

fn cohort(name: &str) -> Value {
    json!({ "name": name, "market": "SE", "language": "sv",
            "start_date": "2027-03-01", "capacity": 12 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_key_makes_a_cohort_with_the_template_checklist() {
    let app = spawn_app().await;
    app.load_checklist().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let recruiter = key_with_role(&app, "recruiter").await;
    let mut body = cohort("Stockholm March");
    body["owner_email"] = json!("Rita@onramp.test");
    body["waitlist"] = json!(true);
    let r = app
        .send_key(
            reqwest::Method::POST,
            &recruiter,
            "/api/v1/cohorts",
            Some(&body),
        )
        .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let made: Value = r.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/cohorts/{}", made["id"].as_str().unwrap())
    );
    assert_eq!(made["name"], "Stockholm March");
    assert_eq!(made["market"], "SE");
    assert_eq!(made["language"], "sv");
    assert_eq!(made["start_date"], "2027-03-01");
    assert_eq!(made["capacity"], 12);
    assert_eq!(made["seats_taken"], 0);
    assert_eq!(made["seats_free"], 12);
    assert_eq!(made["owner_email"], "rita@onramp.test");
    assert_eq!(made["waitlist"], true);
    let keys: Vec<&str> = made["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "contract_signed",
            "identity_verified",
            "equipment_check",
            "training_1",
            "training_2",
            "training_3",
            "shadow_shift"
        ]
    );
    assert_eq!(made["checklist"][2]["records"], "bandwidth_mbps");
    assert_eq!(made["checklist"][1]["ticked_by"], "recruiter");

    // Read back by a manager key; the status follows the start date (in the future here).
    let manager = key_with_role(&app, "manager").await;
    let r = app
        .send_key(reqwest::Method::GET, &manager, &location, None)
        .await;
    assert_eq!(r.status(), 200);
    let read: Value = r.json().await.unwrap();
    assert_eq!(read["status"], "planned");
    assert_eq!(read["checklist"], made["checklist"]);

    // Without an owner address, a key's cohort has no owner; a past start date is onboarding.
    let mut body = cohort("Oslo January");
    body["start_date"] = json!("2026-01-05");
    let r = app
        .send_key(
            reqwest::Method::POST,
            &recruiter,
            "/api/v1/cohorts",
            Some(&body),
        )
        .await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["owner_email"], Value::Null);
    assert_eq!(made["status"], "onboarding");

    // A later change to the template reaches new cohorts only.
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/checklist.toml");
    let mut items =
        onramp::domain::cohorts::parse_template(&std::fs::read_to_string(seed).unwrap()).unwrap();
    items.pop();
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::cohorts::replace_template(&mut tx, "default", &items)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let read: Value = app
        .send_key(reqwest::Method::GET, &manager, &location, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["checklist"].as_array().unwrap().len(), 7);
    let r = app
        .send_key(
            reqwest::Method::POST,
            &recruiter,
            "/api/v1/cohorts",
            Some(&cohort("Later")),
        )
        .await;
    let later: Value = r.json().await.unwrap();
    assert_eq!(later["checklist"].as_array().unwrap().len(), 6);

    let audited: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'cohort.create'").fetch_one(p).await)
    .unwrap();
    assert_eq!(audited, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_cohort_is_refused_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.load_checklist().await;
    app.staff_user("max@onramp.test", "manager").await;
    let recruiter = key_with_role(&app, "recruiter").await;
    let r = app
        .send_key(
            reqwest::Method::POST,
            &recruiter,
            "/api/v1/cohorts",
            Some(&cohort("Taken")),
        )
        .await;
    assert_eq!(r.status(), 201);
    let before = app.snapshot().await;
    for (field, value) in [
        ("name", json!("Taken")),
        ("name", json!("x")),
        ("name", json!(42)),
        ("market", json!("Sweden")),
        ("language", json!("svenska")),
        ("start_date", json!("2027-02-30")),
        ("start_date", json!(null)),
        ("capacity", json!(0)),
        ("capacity", json!(-3)),
        ("capacity", json!("twelve")),
        ("capacity", json!(1.5)),
        ("owner_email", json!("nobody@onramp.test")),
        ("owner_email", json!("max@onramp.test")),
        ("owner_email", json!("not an address")),
        ("waitlist", json!("yes")),
    ] {
        let mut body = cohort("Fresh");
        body[field] = value.clone();
        let r = app
            .send_key(
                reqwest::Method::POST,
                &recruiter,
                "/api/v1/cohorts",
                Some(&body),
            )
            .await;
        assert_eq!(r.status(), 422, "{field} = {value}");
        let errors: Value = r.json().await.unwrap();
        let named: Vec<&String> = errors["errors"].as_object().unwrap().keys().collect();
        assert_eq!(named, [field], "{field} = {value}: {errors}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused cohort stores nothing"
    );

    // Roles: a manager key reads, it does not make cohorts; no key at all is a 401.
    let manager = key_with_role(&app, "manager").await;
    let r = app
        .send_key(
            reqwest::Method::POST,
            &manager,
            "/api/v1/cohorts",
            Some(&cohort("Managed")),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app.post_json("/api/v1/cohorts", &cohort("Admin's")).await;
    assert_eq!(r.status(), 201, "an admin key may");
    let r = app
        .client
        .post(format!("{}/api/v1/cohorts", app.base))
        .json(&cohort("Anonymous"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for path in [
        "/api/v1/cohorts/not-a-uuid",
        "/api/v1/cohorts/01890000-0000-7000-8000-000000000000",
    ] {
        let r = app
            .send_key(reqwest::Method::GET, &manager, path, None)
            .await;
        assert_eq!(r.status(), 404, "{path}");
    }
}

/// The OpenAPI document states the rules `parse_cohort` applies, and a body at every limit it
/// states is accepted; one step past is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cohort_schema_states_the_rules() {
    use onramp::domain::cohorts::{CAPACITY_MAX, CAPACITY_MIN, NAME_MAX, NAME_MIN};
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/cohorts"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/cohorts/{id}"]["get"].is_object());
    let schema = &doc["components"]["schemas"]["CohortIn"];
    let p = &schema["properties"];
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert_eq!(num(&p["name"]["minLength"]), NAME_MIN as f64);
    assert_eq!(num(&p["name"]["maxLength"]), NAME_MAX as f64);
    assert!(p["name"]["pattern"].is_string());
    assert_eq!(p["start_date"]["format"], "date");
    assert_eq!(p["capacity"]["type"], "integer");
    assert_eq!(num(&p["capacity"]["minimum"]), CAPACITY_MIN as f64);
    assert_eq!(num(&p["capacity"]["maximum"]), CAPACITY_MAX as f64);
    assert_eq!(
        p["market"]["enum"].as_array().unwrap().len(),
        onramp::domain::iso::COUNTRIES.len()
    );
    assert_eq!(
        p["language"]["enum"].as_array().unwrap().len(),
        onramp::domain::iso::LANGUAGES.len()
    );
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(
        required,
        ["capacity", "language", "market", "name", "start_date"]
    );
    let markets = p["market"]["enum"].as_array().unwrap();
    let languages = p["language"]["enum"].as_array().unwrap();
    let name = |n: usize, tag: char| -> String {
        let mut s: String = std::iter::repeat_n('Å', n - 1).collect();
        s.push(tag);
        s
    };
    for (n, (capacity, market, language)) in [
        (
            CAPACITY_MIN,
            markets.first().unwrap(),
            languages.first().unwrap(),
        ),
        (
            CAPACITY_MAX,
            markets.last().unwrap(),
            languages.last().unwrap(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let tag = char::from(b'a' + n as u8);
        for len in [NAME_MIN, NAME_MAX] {
            let body = json!({ "name": name(len, tag), "market": market, "language": language,
                               "start_date": "2027-12-31", "capacity": capacity });
            let r = app.post_json("/api/v1/cohorts", &body).await;
            assert_eq!(r.status(), 201, "{body}");
        }
    }
    for (field, value) in [
        ("name", json!(name(NAME_MAX + 1, 'z'))),
        ("name", json!(" padded ")),
        ("capacity", json!(CAPACITY_MAX + 1)),
        ("capacity", json!(CAPACITY_MIN - 1)),
    ] {
        let mut body = cohort("Past the limit");
        body[field] = value;
        let r = app.post_json("/api/v1/cohorts", &body).await;
        assert_eq!(r.status(), 422, "{field}");
    }
}
