//! Pilot cohorts by API: making one (its checklist copied from the template), reading it, and
//! every refusal, by field, with nothing stored.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_key_makes_a_cohort_with_the_template_checklist() {
    let app = spawn_app().await;
    app.load_checklist().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let recruiter = key_with_role(&app, "recruiter").await;
    let mut body = cohort_request("Stockholm March");
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
    assert_eq!(made["start_date"], body["start_date"]);
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
    let mut body = cohort_request("Oslo January");
    body["start_date"] = json!(weeks_ago(4));
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
            Some(&cohort_request("Later")),
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
            Some(&cohort_request("Taken")),
        )
        .await;
    assert_eq!(r.status(), 201);
    let before = app.snapshot().await;
    // February 30th of next year: a day that never exists, taken from the app's clock.
    let no_such_day = format!("{}-02-30", chrono::Datelike::year(&app.db.now()) + 1);
    for (field, value) in [
        ("name", json!("Taken")),
        ("name", json!("x")),
        ("name", json!(42)),
        ("market", json!("Sweden")),
        ("language", json!("svenska")),
        ("start_date", json!(no_such_day)),
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
        let mut body = cohort_request("Fresh");
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
            Some(&cohort_request("Managed")),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_json("/api/v1/cohorts", &cohort_request("Admin's"))
        .await;
    assert_eq!(r.status(), 201, "an admin key may");
    let r = app
        .client
        .post(format!("{}/api/v1/cohorts", app.base))
        .json(&cohort_request("Anonymous"))
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
    // The onboarding bodies state their rules too.
    let reason = &doc["components"]["schemas"]["ReasonIn"]["properties"]["reason"];
    assert_eq!(num(&reason["minLength"]), 1.0);
    assert_eq!(
        num(&reason["maxLength"]),
        onramp::usecases::onboarding::REASON_MAX as f64
    );
    assert!(reason["pattern"].is_string(), "{reason}");
    let bandwidth = &doc["components"]["schemas"]["TickIn"]["properties"]["bandwidth_mbps"];
    assert_eq!(num(&bandwidth["exclusiveMinimum"]), 0.0);
    assert_eq!(
        num(&bandwidth["maximum"]),
        onramp::usecases::onboarding::BANDWIDTH_MAX
    );
    let offers = &doc["components"]["schemas"]["OffersIn"]["properties"]["application_ids"];
    assert_eq!(num(&offers["minItems"]), 1.0);
    assert_eq!(
        num(&offers["maxItems"]),
        onramp::web::api::cohorts::OFFERS_MAX as f64
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
            let mut body = cohort_request(&name(len, tag));
            body["market"] = market.clone();
            body["language"] = language.clone();
            body["capacity"] = json!(capacity);
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
        let mut body = cohort_request("Past the limit");
        body[field] = value;
        let r = app.post_json("/api/v1/cohorts", &body).await;
        assert_eq!(r.status(), 422, "{field}");
    }
}

fn choice(c: &str) -> String {
    format!("choice={c}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_reported_per_applicant_and_answered_through_the_email_link() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let cohort = app.made_cohort(&cohort_request("Malmö May")).await;
    let ana = app.shortlisted("ana@example.com").await;
    let bo = app.shortlisted("bo@example.com").await;
    let r = app
        .post_json("/api/v1/applications", &valid_json("new@example.com"))
        .await;
    let fresh: Value = r.json().await.unwrap();
    let fresh = fresh["id"].as_str().unwrap().to_string();
    let missing = "01890000-0000-7000-8000-000000000000".to_string();

    let report = app
        .offer(&cohort, &[&ana, &bo, &fresh, &missing, &ana])
        .await;
    assert_eq!(report["offered"], 2);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "each applicant once, in the order asked");
    assert_eq!(results[0]["application_id"], ana.as_str());
    assert_eq!(results[0]["offered"], true);
    assert_eq!(results[1]["offered"], true);
    assert_eq!(results[2]["offered"], false);
    assert!(
        results[2]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Not offered"),
        "{report}"
    );
    assert_eq!(results[3]["reason"], "No application has this id.");
    assert_eq!(app.stage(&ana).await, "offered");
    assert_eq!(app.stage(&fresh).await, "applied");
    // Asked again: an open offer is not doubled.
    let again = app.offer(&cohort, &[&ana]).await;
    assert_eq!(again["offered"], 0);
    assert_eq!(
        again["results"][0]["reason"],
        "The applicant already has an open offer."
    );

    // Opening the link changes nothing; the accept button answers.
    let page = app.offer_link("ana@example.com").await;
    let r = app.get(&format!("{page}?choice=accept")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Malmö May"), "{html}");
    assert!(html.contains("Accept the seat"));
    assert_eq!(app.stage(&ana).await, "offered");
    assert_eq!(app.seats_taken(&cohort).await, 0);
    // An answer that is neither is refused; nothing changes.
    let r = app.post_form(&page, "choice=maybe").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Choose to accept or decline"));
    assert_eq!(app.stage(&ana).await, "offered");
    let r = app.post_form(&page, choice("accept")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.stage(&ana).await, "onboarding");
    assert_eq!(app.seats_taken(&cohort).await, 1);
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("Your seat is confirmed"), "{html}");
    // A second answer changes nothing.
    let r = app.post_form(&page, choice("decline")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.stage(&ana).await, "onboarding");

    // Declining returns the applicant to the shortlist and takes no seat.
    let page = app.offer_link("bo@example.com").await;
    let html = app
        .get(&format!("{page}?choice=decline"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Do you want to decline this seat?"), "{html}");
    let r = app.post_form(&page, choice("decline")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.stage(&bo).await, "shortlisted");
    assert_eq!(app.seats_taken(&cohort).await, 1);
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("You declined this offer"), "{html}");

    // The cohort lists who was offered a seat and how each answered.
    let read: Value = app.read_cohort(&app.api_key, &cohort).await;
    let members: Vec<(&str, &str)> = read["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["offer"].as_str().unwrap()))
        .collect();
    assert_eq!(
        members,
        [
            ("ana@example.com", "accepted"),
            ("bo@example.com", "declined")
        ]
    );
    assert_eq!(read["seats_free"], 11);
    let timeline: Value = app
        .send_key(
            reqwest::Method::GET,
            &app.api_key,
            &format!("/api/v1/applications/{ana}/timeline"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"offer") && kinds.contains(&"offer_answer"),
        "{kinds:?}"
    );

    // Bad requests name the field; a closed or unknown cohort is refused as a whole.
    for body in [
        json!({}),
        json!({ "application_ids": [] }),
        json!({ "application_ids": ["nope"] }),
        json!({ "application_ids": "x" }),
    ] {
        let r = app
            .post_json(&format!("/api/v1/cohorts/{cohort}/offers"), &body)
            .await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(e["errors"]["application_ids"].is_array(), "{e}");
    }
    let r = app
        .post_json(
            &format!("/api/v1/cohorts/{missing}/offers"),
            &json!({ "application_ids": [bo] }),
        )
        .await;
    assert_eq!(r.status(), 404);
    let manager = key_with_role(&app, "manager").await;
    let r = app
        .send_key(
            reqwest::Method::POST,
            &manager,
            &format!("/api/v1/cohorts/{cohort}/offers"),
            Some(&json!({ "application_ids": [bo] })),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_accepts_of_the_last_seat_on_two_instances_take_one_seat() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("Last seat");
    body["capacity"] = json!(1);
    let cohort = app.made_cohort(&body).await;
    let ana = app.shortlisted("ana@example.com").await;
    let bo = app.shortlisted("bo@example.com").await;
    app.offer(&cohort, &[&ana, &bo]).await;
    let ana_page = app.offer_link("ana@example.com").await;
    let bo_page = app.offer_link("bo@example.com").await;

    // A second instance on the same database answers one of them.
    let dir = tempfile::tempdir().unwrap();
    let (port, _smtp) = start_smtp();
    let settings = test_settings(&app.database_url, dir.path(), port);
    let mailer = onramp::email::Mailer::from_settings(&settings).unwrap();
    let other = onramp::app::Application::build(settings, mailer)
        .await
        .unwrap();
    let other_base = format!("http://{}", other.addr);
    tokio::spawn(other.run(std::future::pending(), false));
    // Both answers leave together: each waits at the barrier until the other is ready.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let answer = |base: String, page: String| {
        let client = app.client.clone();
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            client
                .post(format!("{base}{page}"))
                .header("sec-fetch-site", "same-origin")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("choice=accept")
                .send()
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(answer(app.base.clone(), ana_page)),
        tokio::spawn(answer(other_base, bo_page))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [303, 409], "one seat, one refusal");
    let refused = if a.status() == 409 { a } else { b };
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("this cohort is full"));
    assert_eq!(app.seats_taken(&cohort).await, 1);
    let mut stages = [app.stage(&ana).await, app.stage(&bo).await];
    stages.sort();
    assert_eq!(stages, ["offered", "onboarding"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cohort_with_a_waitlist_waitlists_and_an_expired_offer_returns_to_the_shortlist() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("Waitlisted");
    body["capacity"] = json!(1);
    body["waitlist"] = json!(true);
    let cohort = app.made_cohort(&body).await;
    let ana = app.shortlisted("ana@example.com").await;
    let bo = app.shortlisted("bo@example.com").await;
    let cy = app.shortlisted("cy@example.com").await;
    app.offer(&cohort, &[&ana, &bo, &cy]).await;
    let ana_page = app.offer_link("ana@example.com").await;
    let bo_page = app.offer_link("bo@example.com").await;
    let cy_page = app.offer_link("cy@example.com").await;
    assert_eq!(
        app.post_form(&ana_page, choice("accept")).await.status(),
        303
    );
    assert_eq!(
        app.post_form(&bo_page, choice("accept")).await.status(),
        303
    );
    assert_eq!(app.stage(&bo).await, "offered");
    let html = app.get(&bo_page).await.text().await.unwrap();
    assert!(html.contains("You are on the waitlist"), "{html}");
    assert_eq!(app.seats_taken(&cohort).await, 1);

    // Cy's offer runs out before the answer: the answer finds it expired.
    let id: uuid::Uuid = cy.parse().unwrap();
    let mut tx = app.db.begin().await.unwrap();
    onramp::on!(&mut tx, c => sqlx::query(
        "UPDATE offers SET expires_at = $2 WHERE application_id = $1")
        .bind(id).bind(onramp::domain::now() - chrono::Duration::minutes(1))
        .execute(&mut **c).await.map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    let html = app.get(&cy_page).await.text().await.unwrap();
    assert!(html.contains("This offer has expired"), "{html}");
    assert!(!html.contains("Accept the seat"));
    assert_eq!(
        app.post_form(&cy_page, choice("accept")).await.status(),
        303
    );
    assert_eq!(app.stage(&cy).await, "shortlisted");
    assert_eq!(app.seats_taken(&cohort).await, 1);
    // Offered again, the applicant gets a new offer.
    let again = app.offer(&cohort, &[&cy]).await;
    assert_eq!(again["offered"], 1);
}

/// The default checklist's items that record no figure.
const PLAIN_ITEMS: [&str; 6] = [
    "contract_signed",
    "identity_verified",
    "training_1",
    "training_2",
    "training_3",
    "shadow_shift",
];

impl TestApp {
    /// `GET /api/v1/cohorts/{cohort}` with `key`.
    pub(crate) async fn read_cohort(&self, key: &str, cohort: &str) -> Value {
        let r = self
            .send_key(
                reqwest::Method::GET,
                key,
                &format!("/api/v1/cohorts/{cohort}"),
                None,
            )
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Ticks every item of `PLAIN_ITEMS` for `id` with the admin key.
    pub(crate) async fn tick_plain_items(&self, id: &str) {
        for item in PLAIN_ITEMS {
            let r = self
                .post_json(
                    &format!("/api/v1/applications/{id}/checklist/{item}"),
                    &json!({ "done": true }),
                )
                .await;
            assert_eq!(r.status(), 200, "{item}");
        }
    }

    /// An applicant with an accepted seat in `cohort`; their id.
    pub(crate) async fn seated(&self, cohort: &str, email: &str) -> String {
        let id = self.shortlisted(email).await;
        self.offer(cohort, &[&id]).await;
        let page = self.offer_link(email).await;
        assert_eq!(self.post_form(&page, choice("accept")).await.status(), 303);
        assert_eq!(self.stage(&id).await, "onboarding");
        id
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_activated_once_the_checklist_is_done_and_paused_resumed_offboarded_with_reasons(
) {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("Started");
    body["start_date"] = json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    let ana = app.seated(&cohort, "ana@example.com").await;
    let base = format!("/api/v1/applications/{ana}");
    let post = |path: String, body: Value| {
        let app = &app;
        async move { app.post_json(&path, &body).await }
    };

    // Nothing done yet: activation says how much is missing, and changes nothing.
    let before = app.snapshot().await;
    let r = post(format!("{base}/activate"), json!({})).await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    let why = e["errors"]["checklist"][0].as_str().unwrap();
    assert!(
        why.starts_with("7 required checklist items are not done"),
        "{why}"
    );
    assert_eq!(app.snapshot().await, before);

    // Ticks, and the refusals of a tick, by field.
    for (item, body, code, field) in [
        (
            "equipment_check",
            json!({ "done": true }),
            422,
            Some("bandwidth_mbps"),
        ),
        (
            "equipment_check",
            json!({ "done": true, "bandwidth_mbps": 0 }),
            422,
            Some("bandwidth_mbps"),
        ),
        (
            "equipment_check",
            json!({ "done": true, "bandwidth_mbps": "fast" }),
            422,
            Some("bandwidth_mbps"),
        ),
        (
            "contract_signed",
            json!({ "done": "yes" }),
            422,
            Some("done"),
        ),
        ("contract_signed", json!({}), 422, Some("done")),
        ("no_such_item", json!({ "done": true }), 404, None),
    ] {
        let r = post(format!("{base}/checklist/{item}"), body.clone()).await;
        assert_eq!(r.status(), code, "{item} {body}");
        if let Some(field) = field {
            let e: Value = r.json().await.unwrap();
            assert!(e["errors"][field].is_array(), "{item} {body}: {e}");
        }
    }
    assert_eq!(app.snapshot().await, before, "refused ticks change nothing");
    let r = post(
        format!("{base}/checklist/equipment_check"),
        json!({ "done": true, "bandwidth_mbps": 55.5 }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let ticked: Value = r.json().await.unwrap();
    let equipment = ticked["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "equipment_check")
        .unwrap()
        .clone();
    assert_eq!(equipment["done"], true);
    assert_eq!(equipment["value"], 55.5);
    app.tick_plain_items(&ana).await;
    // Unticked again: one item missing, named.
    let r = post(
        format!("{base}/checklist/shadow_shift"),
        json!({ "done": false }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = post(format!("{base}/activate"), json!({})).await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["errors"]["checklist"][0],
        "1 required checklist item is not done: Shadow shift with a senior agent."
    );
    let r = post(
        format!("{base}/checklist/shadow_shift"),
        json!({ "done": true }),
    )
    .await;
    assert_eq!(r.status(), 200);

    // A manager key may not activate.
    let manager = key_with_role(&app, "manager").await;
    let r = app
        .send_key(
            reqwest::Method::POST,
            &manager,
            &format!("{base}/activate"),
            None,
        )
        .await;
    assert_eq!(r.status(), 403);

    let r = post(format!("{base}/activate"), json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["stage"], "live");
    let r = post(format!("{base}/activate"), json!({})).await;
    assert_eq!(r.status(), 409, "only once");
    let read: Value = app.read_cohort(&manager, &cohort).await;
    let member = &read["members"][0];
    assert_eq!(member["stage"], "live");
    assert!(member["went_live_at"].is_string(), "{member}");
    assert!(member["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["done"] == true));

    // Pause, resume and offboard each need a reason.
    for step in ["pause", "resume", "offboard"] {
        for body in [
            json!({}),
            json!({ "reason": "  " }),
            json!({ "reason": "x".repeat(501) }),
        ] {
            let r = post(format!("{base}/{step}"), body).await;
            assert_eq!(r.status(), 422, "{step}");
            let e: Value = r.json().await.unwrap();
            assert!(e["errors"]["reason"].is_array(), "{step}: {e}");
        }
    }
    let r = post(format!("{base}/resume"), json!({ "reason": "Back" })).await;
    assert_eq!(r.status(), 409, "not paused");
    for (step, stage) in [
        ("pause", "paused"),
        ("resume", "live"),
        ("offboard", "offboarded"),
    ] {
        let r = post(
            format!("{base}/{step}"),
            json!({ "reason": "Agreed with the agent" }),
        )
        .await;
        assert_eq!(r.status(), 200, "{step}");
        assert_eq!(app.stage(&ana).await, stage);
    }
    let r = post(format!("{base}/offboard"), json!({ "reason": "Again" })).await;
    assert_eq!(r.status(), 409);
    // The activation and offboarding emails went through the outbox.
    app.drain().await;
    let received = app.received();
    let subjects: Vec<&str> = mail_to(&received, "ana@example.com")
        .iter()
        .filter_map(|m| header(m, "Subject"))
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("You are live")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("has ended")),
        "{subjects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_waits_for_the_start_date_and_needs_a_seat() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let cohort = app.made_cohort(&cohort_request("Not yet")).await;
    let ana = app.seated(&cohort, "ana@example.com").await;
    app.tick_plain_items(&ana).await;
    let r = app
        .post_json(
            &format!("/api/v1/applications/{ana}/checklist/equipment_check"),
            &json!({ "done": true, "bandwidth_mbps": 100 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(&format!("/api/v1/applications/{ana}/activate"), &json!({}))
        .await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["errors"]["start_date"][0]
            .as_str()
            .unwrap()
            .contains("activation is allowed from its start date"),
        "{e}"
    );
    // Someone without a seat has no checklist and cannot be activated.
    let bo = app.shortlisted("bo@example.com").await;
    for path in [
        format!("/api/v1/applications/{bo}/checklist/contract_signed"),
        format!("/api/v1/applications/{bo}/activate"),
    ] {
        let r = app.post_json(&path, &json!({ "done": true })).await;
        assert_eq!(r.status(), 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applicant_sees_their_cohort_and_ticks_only_their_own_steps_on_the_status_page() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let cohort = app.made_cohort(&cohort_request("Status cohort")).await;
    app.seated(&cohort, "ana@example.com").await;
    let received = app.received();
    let offer_mail = mail_to(&received, "ana@example.com")
        .into_iter()
        .rev()
        .find(|m| header(m, "Subject").is_some_and(|s| s.contains("pilot")))
        .unwrap()
        .clone();
    let status = link(&offer_mail, &app.base, "/status/").unwrap()[app.base.len()..].to_string();
    let html = app.get(&status).await.text().await.unwrap();
    assert!(html.contains("Your pilot cohort"), "{html}");
    assert!(html.contains("Status cohort"));
    assert!(html.contains("0 of 7 steps done"));
    assert!(html.contains("A recruiter marks this step."));

    let tick = |item: &str, body: &str| {
        let app = &app;
        let path = format!("{status}/checklist/{item}");
        let body = body.to_string();
        async move { app.post_form(&path, body).await }
    };
    let before = app.snapshot().await;
    for (item, body, code, says) in [
        ("identity_verified", "done=true", 409, "A recruiter ticks"),
        (
            "equipment_check",
            "done=true",
            422,
            "Enter the measured bandwidth",
        ),
        (
            "equipment_check",
            "done=true&bandwidth_mbps=fast",
            422,
            "as a number of Mbit/s",
        ),
        (
            "equipment_check",
            "done=true&bandwidth_mbps=-5",
            422,
            "above 0",
        ),
        ("no_such_step", "done=true", 409, "no such item"),
        (
            "contract_signed",
            "done=maybe",
            422,
            "mark it done or not done",
        ),
    ] {
        let r = tick(item, body).await;
        assert_eq!(r.status(), code, "{item} {body}");
        let html = r.text().await.unwrap();
        assert!(html.contains("error-summary"), "{item} {body}: {html}");
        assert!(html.contains(says), "{item} {body}: {html}");
    }
    assert_eq!(app.snapshot().await, before, "refused ticks change nothing");

    let r = tick("contract_signed", "done=true").await;
    assert_eq!(r.status(), 303);
    let r = tick("equipment_check", "done=true&bandwidth_mbps=42%2C5").await;
    assert_eq!(r.status(), 303);
    let html = app.get(&status).await.text().await.unwrap();
    assert!(html.contains("2 of 7 steps done"), "{html}");
    assert!(html.contains("(42.5 Mbit/s)"), "{html}");
    let r = tick("contract_signed", "done=false").await;
    assert_eq!(r.status(), 303);
    let html = app.get(&status).await.text().await.unwrap();
    assert!(html.contains("1 of 7 steps done"), "{html}");

    // The recruiter sees who ticked what.
    let read: Value = app.read_cohort(&app.api_key, &cohort).await;
    let equipment = read["members"][0]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "equipment_check")
        .unwrap()
        .clone();
    assert_eq!(equipment["done_by"], "applicant");
    assert_eq!(equipment["value"], 42.5);
}
