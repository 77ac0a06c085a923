//! Moving applicants through the stages after the quiz, by API: the moves the pipeline has,
//! the ones it refuses (and why), rejection reasons, and the trail each move leaves.

use serde_json::{json, Value};

use crate::helpers::*;

impl TestApp {
    /// An applicant who passed the skills quiz; their application id.
    async fn passed(&self, email: &str) -> String {
        let (quiz, attempt) = self.start_quiz(email).await;
        self.answer_all(&quiz, email, true).await;
        assert_eq!(self.submit(&quiz, attempt.id).await.status(), 303);
        assert_eq!(self.status_of(email).await.as_deref(), Some("quiz_passed"));
        onramp::on_db!(&self.db, p => sqlx::query_scalar::<_, uuid::Uuid>(
            "SELECT id FROM applications WHERE email = $1").bind(email).fetch_one(p).await)
        .unwrap()
        .to_string()
    }

    /// A new application by API; its id.
    async fn created(&self, email: &str) -> String {
        let r = self
            .post_json("/api/v1/applications", &valid_json(email))
            .await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }

    pub(crate) async fn move_to(&self, id: &str, body: Value) -> reqwest::Response {
        self.post_json(&format!("/api/v1/applications/{id}/moves"), &body)
            .await
    }
}

/// The field and first message of a `{"errors": {...}}` answer.
async fn error_of(r: reqwest::Response) -> (String, String) {
    let body: Value = r.json().await.unwrap();
    let (field, msgs) = body["errors"].as_object().unwrap().iter().next().unwrap();
    (field.clone(), msgs[0].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applicants_move_through_the_pipeline_and_refusals_say_why() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "ana@example.com";
    let id = app.passed(email).await;
    // The score reaches the search index's copy with the attempt: a search finds the
    // applicant by it.
    let listed = |query: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(format!("{}/api/v1/applications?{query}", app.base))
                .bearer_auth(&app.api_key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{query}");
            let body: Value = r.json().await.unwrap();
            body["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(listed("q=ana&score_min=100&stage=quiz_passed").await, 1);
    assert_eq!(listed("q=ana&score_max=99").await, 0);

    let r = app.move_to(&id, json!({ "to": "shortlisted" })).await;
    assert_eq!(r.status(), 200);
    assert_eq!(listed("q=lind&stage=shortlisted&sort=score_desc").await, 1);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(
        moved,
        json!({ "id": id, "from": "quiz_passed", "stage": "shortlisted" })
    );
    let r = app.move_to(&id, json!({ "to": "phone_screen" })).await;
    assert_eq!(r.status(), 200);

    // Refusals change nothing, and name the field.
    let before = app.snapshot().await;
    for (body, code, field, says) in [
        (json!({ "to": "hired" }), 422, "to", "no stage"),
        (json!({}), 422, "to", "Name the stage"),
        (
            json!({ "to": "live" }),
            409,
            "to",
            "From there an applicant can go to",
        ),
        (json!({ "to": "phone_screen" }), 409, "to", "already"),
        (
            json!({ "to": "rejected" }),
            422,
            "reason",
            "Choose the reason",
        ),
        (
            json!({ "to": "rejected", "reason": "Too tall" }),
            422,
            "reason",
            "listed reasons",
        ),
        (
            json!({ "to": "rejected", "reason": 7 }),
            422,
            "reason",
            "text",
        ),
    ] {
        let r = app.move_to(&id, body.clone()).await;
        assert_eq!(r.status().as_u16(), code, "{body}");
        let (f, message) = error_of(r).await;
        assert_eq!(f, field, "{body}");
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.status_of(email).await.as_deref(), Some("phone_screen"));

    let r = app
        .move_to(&id, json!({ "to": "rejected", "reason": "Role filled" }))
        .await;
    assert_eq!(r.status(), 200);
    let r = app.move_to(&id, json!({ "to": "shortlisted" })).await;
    assert_eq!(r.status(), 409);
    assert!(error_of(r).await.1.contains("final"));
    // The API reads back the stage; an unknown application is a 404.
    let one: Value = app
        .client
        .get(format!("{}/api/v1/applications/{id}", app.base))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "rejected");
    let r = app
        .move_to(
            "0191f7d2-7b8e-7c3a-9d1e-2f4a5b6c7d8e",
            json!({ "to": "shortlisted" }),
        )
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_move_leaves_its_event_and_audit_row_and_only_recruiting_keys_move() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let id = app.passed("bo@example.com").await;
    assert_eq!(
        app.move_to(&id, json!({ "to": "shortlisted" }))
            .await
            .status(),
        200
    );
    let r = app
        .move_to(
            &id,
            json!({ "to": "rejected", "reason": "Did not respond" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let events: Vec<(String, String)> = onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT detail, actor FROM application_events WHERE kind = 'moved' ORDER BY created_at, id")
        .fetch_all(p).await)
    .unwrap();
    assert_eq!(events.len(), 2);
    let last: Value = serde_json::from_str(&events[1].0).unwrap();
    assert_eq!(
        last,
        json!({ "from": "shortlisted", "to": "rejected", "reason": "Did not respond", "email": null })
    );
    assert!(events
        .iter()
        .all(|(_, actor)| actor.starts_with("api_key:")));
    let trail = onramp::store::audit::for_subject(&app.db, &format!("application:{id}"), 10)
        .await
        .unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0].action, "application.move");
    assert!(trail[0].before.as_deref().unwrap().contains("shortlisted"));
    assert!(trail[0]
        .after
        .as_deref()
        .unwrap()
        .contains("Did not respond"));

    // An intake key and a manager key may not move anyone, and nothing changes.
    let other = app.passed("cy@example.com").await;
    for role in ["intake", "manager"] {
        let key = key_with_role(&app, role).await;
        let r = app
            .client
            .post(format!("{}/api/v1/applications/{other}/moves", app.base))
            .bearer_auth(&key)
            .json(&json!({ "to": "shortlisted" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{role}");
    }
    assert_eq!(
        app.status_of("cy@example.com").await.as_deref(),
        Some("quiz_passed")
    );
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/applications/{id}/moves"]["post"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_the_timeline_tell_the_whole_story() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let id = app.passed("dee@example.com").await;
    assert_eq!(
        app.move_to(&id, json!({ "to": "shortlisted" }))
            .await
            .status(),
        200
    );
    let note = "<script>alert(1)</script> Called her: available evenings";
    let notes = format!("/api/v1/applications/{id}/notes");
    let r = app.post_json(&notes, &json!({ "body": note })).await;
    assert_eq!(r.status(), 201);
    // Refused notes name the field and store nothing.
    let before = app.snapshot().await;
    for bad in [
        json!({}),
        json!({ "body": "   " }),
        json!({ "body": 5 }),
        json!({ "body": "x".repeat(5001) }),
    ] {
        let r = app.post_json(&notes, &bad).await;
        assert_eq!(r.status(), 422, "{bad}");
        assert_eq!(error_of(r).await.0, "body");
    }
    assert_eq!(app.snapshot().await, before);

    // A manager reads the timeline (and may not write to it); an intake key reads nothing.
    let manager = key_with_role(&app, "manager").await;
    let intake = key_with_role(&app, "intake").await;
    let timeline = format!("{}/api/v1/applications/{id}/timeline", app.base);
    let get = |key: &str| {
        app.client
            .get(&timeline)
            .bearer_auth(key.to_string())
            .send()
    };
    assert_eq!(get(&intake).await.unwrap().status(), 403);
    let r = app
        .client
        .post(format!("{}{notes}", app.base))
        .bearer_auth(&manager)
        .json(&json!({ "body": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = get(&manager).await.unwrap().json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    // Signup, its email, verification, the quiz, the move and the note, in order.
    assert_eq!(kinds.first(), Some(&"applied"), "{kinds:?}");
    assert!(
        kinds.contains(&"email") && kinds.contains(&"email_verified"),
        "{kinds:?}"
    );
    let moved = kinds.iter().position(|k| *k == "moved").unwrap();
    let noted = kinds.iter().position(|k| *k == "note").unwrap();
    assert!(moved < noted, "{kinds:?}");
    assert_eq!(
        items[noted]["detail"]["body"], note,
        "stored as written (pages escape it)"
    );
    assert!(items[noted]["actor"]
        .as_str()
        .unwrap()
        .starts_with("api_key:"));
    let email = items.iter().find(|i| i["kind"] == "email").unwrap();
    assert_eq!(email["detail"]["template"], "verify_email");
    assert_eq!(email["detail"]["status"], "sent");
    let times: Vec<&str> = items.iter().map(|i| i["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "oldest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applicant_takes_their_data_and_an_admin_erases_it() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    let id = app.passed("erin@example.com").await;
    let notes = format!("/api/v1/applications/{id}/notes");
    let r = app
        .post_json(&notes, &json!({ "body": "Lives in Umeå, call after six" }))
        .await;
    assert_eq!(r.status(), 201);

    // The applicant downloads everything we hold, from their status page.
    let resend = encode(&[("email", "erin@example.com".to_string())]);
    app.post_form("/verify/resend", resend).await;
    app.drain().await;
    let status = app
        .received()
        .iter()
        .rev()
        .find_map(|m| link(m, &app.base, "/status/"))
        .unwrap()
        .replace(&app.base, "");
    let page = app.get(&status).await.text().await.unwrap();
    assert!(
        page.contains(&format!("href=\"{status}/export\"")),
        "{page}"
    );
    let r = app.get(&format!("{status}/export")).await;
    assert_eq!(r.status(), 200, "{status}");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let mine: Value = r.json().await.unwrap();
    assert_eq!(mine["application"]["email"], "erin@example.com");
    assert_eq!(mine["quiz_attempts"][0]["passed"], true);
    assert!(mine["timeline"].to_string().contains("Umeå"));
    assert!(mine["emails"].as_array().unwrap().len() >= 3);

    // Only admin keys export or erase.
    for (role, method, path) in [
        (
            "manager",
            reqwest::Method::GET,
            format!("/api/v1/applications/{id}/export"),
        ),
        (
            "recruiter",
            reqwest::Method::POST,
            format!("/api/v1/applications/{id}/erasure"),
        ),
    ] {
        let key = key_with_role(&app, role).await;
        let r = app
            .client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{role} {path}");
    }
    let applications = app.count("applications").await;
    let r = app
        .post_json(&format!("/api/v1/applications/{id}/erasure"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);

    // Nothing personal is left anywhere; what reports count is.
    for table in [
        "applications",
        "application_events",
        "outbox",
        "audit_log",
        "access_tokens",
    ] {
        for row in app.table_rows(table).await {
            for secret in ["erin", "Umeå", "Erin"] {
                assert!(!row.contains(secret), "{table}: {row}");
            }
        }
    }
    assert_eq!(app.count("applications").await, applications);
    assert_eq!(
        app.count("quiz_attempts").await,
        1,
        "scores stay for the statistics"
    );
    let trail = onramp::store::audit::for_subject(&app.db, &format!("application:{id}"), 10)
        .await
        .unwrap();
    assert_eq!(trail[0].action, "application.erase");
    assert!(trail.iter().any(|r| r.action == "application.export"));
    // Their links are gone, and the address may apply again as a new person.
    assert_eq!(app.get(&status).await.status(), 410);
    assert_eq!(
        app.apply(&valid_form("erin@example.com")).await.status(),
        303
    );
    assert_eq!(app.count("applications").await, applications + 1);
    assert_eq!(
        app.status_of("erin@example.com").await.as_deref(),
        Some("applied")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_go_on_and_come_off_and_bad_ones_are_refused() {
    let app = spawn_app().await;
    let id = app.created("fay@example.com").await;
    let tags = format!("/api/v1/applications/{id}/tags");
    let r = app
        .post_json(&tags, &json!({ "tag": "  Evening   Shifts " }))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<Value>().await.unwrap()["tags"],
        json!(["evening shifts"])
    );
    let r = app
        .post_json(&tags, &json!({ "tag": "evening shifts" }))
        .await;
    assert_eq!(r.status(), 200, "already there: nothing changes");
    let before = app.snapshot().await;
    for bad in [
        json!({}),
        json!({ "tag": "<script>" }),
        json!({ "tag": "x".repeat(41) }),
    ] {
        let r = app.post_json(&tags, &bad).await;
        assert_eq!(r.status(), 422, "{bad}");
        assert_eq!(error_of(r).await.0, "tag");
    }
    assert_eq!(app.snapshot().await, before);
    let delete = |tag: &str| {
        app.client
            .delete(format!("{}{tags}/{tag}", app.base))
            .bearer_auth(&app.api_key)
            .send()
    };
    assert_eq!(delete("evening%20shifts").await.unwrap().status(), 200);
    assert_eq!(delete("evening%20shifts").await.unwrap().status(), 404);
    let timeline: Value = app
        .client
        .get(format!("{}/api/v1/applications/{id}/timeline", app.base))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .filter(|k| k.ends_with("tagged"))
        .collect();
    assert_eq!(
        kinds,
        ["tagged", "untagged"],
        "each change once, on the timeline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_reads_back_with_filters_and_pages() {
    let app = spawn_app().await;
    let id = app.created("gus@example.com").await;
    let tags = format!("/api/v1/applications/{id}/tags");
    for t in ["a", "b", "c"] {
        assert_eq!(
            app.post_json(&tags, &json!({ "tag": t })).await.status(),
            201
        );
    }
    let read = |query: String| {
        let key = app.api_key.clone();
        let url = format!("{}/api/v1/audit?{query}", app.base);
        let client = app.client.clone();
        async move { client.get(url).bearer_auth(key).send().await.unwrap() }
    };
    let page: Value = read(format!("subject=application:{id}&limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let first: Vec<&Value> = page["items"].as_array().unwrap().iter().collect();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["after"]["tag"], "c", "newest first");
    let next = page["next"].as_str().unwrap();
    let page: Value = read(format!("subject=application:{id}&limit=2&after={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["after"]["tag"], "a");
    assert!(page["next"].is_null());
    let only: Value = read("action=application.untag".into())
        .await
        .json()
        .await
        .unwrap();
    assert!(only["items"].as_array().unwrap().is_empty());
    // Unreadable filters are named; other roles may not read the log.
    for (query, field) in [
        ("limit=0", "limit"),
        ("from=yesterday", "from"),
        ("after=zzz", "after"),
    ] {
        let r = read(query.into()).await;
        assert_eq!(r.status(), 422, "{query}");
        assert_eq!(error_of(r).await.0, field);
    }
    let recruiter = key_with_role(&app, "recruiter").await;
    let r = app
        .client
        .get(format!("{}/api/v1/audit", app.base))
        .bearer_auth(&recruiter)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
