//! The recruiters' workspace: the applicant list (API and page) with its filters, sorts and
//! pages; the CSV export; one applicant's page with moves, email previews, notes and tags;
//! bulk actions; duplicates.

use serde_json::{json, Value};

use crate::helpers::*;

impl TestApp {
    /// A new application by API, with `changes` over the valid one; its id.
    async fn applicant(&self, email: &str, changes: Value) -> String {
        let mut body = valid_json(email);
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.post_json("/api/v1/applications", &body).await;
        assert_eq!(r.status(), 201, "{email}");
        let body: Value = r.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }

    pub(crate) async fn get_key(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// The ids `GET /api/v1/applications?{query}` lists, following every page.
    async fn listed(&self, query: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/applications?{query}");
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let r = self.get_key(&self.api_key, &path).await;
            assert_eq!(r.status(), 200, "{path}");
            let body: Value = r.json().await.unwrap();
            for item in body["items"].as_array().unwrap() {
                ids.push(item["id"].as_str().unwrap().to_string());
            }
            match body["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => return ids,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_sorts_and_pages_by_every_parameter() {
    let app = spawn_app().await;
    let anna = app
        .applicant(
            "anna.lindqvist@example.com",
            json!({ "full_name": "Anna Lindqvist", "country": "SE", "languages": ["sv", "en"],
                    "student": true, "utm_source": "tiktok", "utm_campaign": "spring",
                    "phone": "+46701111111" }),
        )
        .await;
    let bo = app
        .applicant(
            "bo@example.com",
            json!({ "full_name": "Bo Berg", "country": "SE", "languages": ["sv"],
                    "area": "rural", "customer": true, "utm_source": "tiktok",
                    "phone": "+46702222222" }),
        )
        .await;
    let cara = app
        .applicant(
            "cara@example.com",
            json!({ "full_name": "Cara Lind", "country": "NO", "languages": ["no", "en"],
                    "utm_source": "radio", "phone": "+4791234567" }),
        )
        .await;
    let tag = json!({ "tag": "evening" });
    let r = app
        .post_json(&format!("/api/v1/applications/{bo}/tags"), &tag)
        .await;
    assert_eq!(r.status(), 201);

    let set = |v: &[&String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(app.listed("").await), set(&[&anna, &bo, &cara]));
    for (query, want) in [
        ("q=lind", set(&[&anna, &cara])),
        ("q=LINDQ", set(&[&anna])),
        ("q=anna+lind", set(&[&anna])),
        ("q=bo%40example.com", set(&[&bo])),
        ("q=cara", set(&[&cara])),
        ("country=se", set(&[&anna, &bo])),
        ("language=en", set(&[&anna, &cara])),
        ("language=no", set(&[&cara])),
        ("area=rural", set(&[&bo])),
        ("student=true", set(&[&anna])),
        ("customer=true&country=SE", set(&[&bo])),
        ("source=tiktok&q=b", set(&[&bo])),
        ("campaign=spring", set(&[&anna])),
        ("tag=evening", set(&[&bo])),
        ("stage=applied", set(&[&anna, &bo, &cara])),
        ("stage=shortlisted", vec![]),
        (
            "applied_from=2000-01-01&applied_to=2100-01-01",
            set(&[&anna, &bo, &cara]),
        ),
        ("applied_to=2000-01-01", vec![]),
        ("stuck_days=1", vec![]),
        ("score_min=0", vec![]),
    ] {
        assert_eq!(sorted(app.listed(query).await), want, "{query}");
        // With search words the list is read from the search index, which carries its own
        // copy of every filtered column: the same filter must find the same applicants there.
        let lind: Vec<String> = want
            .iter()
            .filter(|id| **id == anna || **id == cara)
            .cloned()
            .collect();
        if !query.contains("q=") {
            let searched = format!("{query}&q=lind");
            assert_eq!(sorted(app.listed(&searched).await), lind, "{searched}");
        }
    }
    assert_eq!(
        app.listed("q=lind&sort=name_desc&limit=1").await,
        vec![cara.clone(), anna.clone()]
    );
    // A move reaches the search index's copy of the stage in the same transaction.
    let r = app
        .post_json(
            &format!("/api/v1/applications/{cara}/moves"),
            &json!({ "to": "rejected", "reason": "Role filled" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    for (query, want) in [
        ("q=lind&stage=rejected", set(&[&cara])),
        ("q=lind&stage=applied", set(&[&anna])),
        ("q=lind&stuck_days=1", vec![]),
    ] {
        assert_eq!(sorted(app.listed(query).await), want, "{query}");
    }
    // Sorts, and pages of one that together list everyone once.
    assert_eq!(
        app.listed("sort=name_asc").await,
        vec![anna.clone(), bo.clone(), cara.clone()]
    );
    assert_eq!(
        app.listed("sort=name_desc&limit=1").await,
        vec![cara.clone(), bo.clone(), anna.clone()]
    );
    assert_eq!(
        app.listed("sort=applied_asc&limit=1").await,
        vec![anna.clone(), bo.clone(), cara.clone()]
    );
    assert_eq!(
        app.listed("limit=2").await,
        vec![cara.clone(), bo.clone(), anna.clone()]
    );
    // Scores sort highest first, and those without one (Bo) last, across pages of one.
    for (id, score) in [(&anna, 9000), (&cara, 5000)] {
        let id: uuid::Uuid = id.parse().unwrap();
        let mut tx = app.db.begin().await.unwrap();
        onramp::on!(&mut tx, c => sqlx::query("UPDATE applications SET score_bp = $2 WHERE id = $1")
            .bind(id).bind(score as i64).execute(&mut **c).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        app.listed("sort=score_desc&limit=1").await,
        vec![anna.clone(), cara.clone(), bo.clone()]
    );
    // An item carries what the list shows.
    let r = app
        .get_key(&app.api_key, "/api/v1/applications?tag=evening")
        .await;
    let body: Value = r.json().await.unwrap();
    let item = &body["items"][0];
    assert_eq!(item["full_name"], "Bo Berg");
    assert_eq!(item["stage"], "applied");
    assert_eq!(item["tags"], json!(["evening"]));
    assert_eq!(item["score"], Value::Null);
    assert_eq!(item["possible_duplicate"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_list_parameters_are_named_and_roles_are_checked() {
    let app = spawn_app().await;
    app.applicant("ana@example.com", json!({})).await;
    for (query, field) in [
        ("stage=nope", "stage"),
        ("country=Sweden", "country"),
        ("language=swedish", "language"),
        ("area=moon", "area"),
        ("student=yes", "student"),
        ("customer=1", "customer"),
        ("tag=%3Cb%3E", "tag"),
        ("score_min=-1", "score_min"),
        ("score_max=abc", "score_max"),
        ("score_min=90&score_max=10", "score_max"),
        ("applied_from=01%2F02%2F2026", "applied_from"),
        ("applied_to=2026-13-01", "applied_to"),
        ("stuck_days=0", "stuck_days"),
        ("sort=age", "sort"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("after=nonsense", "after"),
        ("q=a+b+c+d+e+f", "q"),
        ("source=%01", "source"),
        ("student=%FF", "student"),
    ] {
        for path in ["/api/v1/applications", "/api/v1/applications.csv"] {
            let r = app.get_key(&app.api_key, &format!("{path}?{query}")).await;
            assert_eq!(r.status(), 422, "{path}?{query}");
            let body: Value = r.json().await.unwrap();
            assert!(body["errors"][field].is_array(), "{path}?{query}: {body}");
        }
    }
    // A cursor made for one sort is refused for another.
    let r = app
        .get_key(&app.api_key, "/api/v1/applications?limit=1&sort=name_asc")
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["next"], Value::Null);
    app.applicant("bo@example.com", json!({})).await;
    let r = app
        .get_key(&app.api_key, "/api/v1/applications?limit=1&sort=name_asc")
        .await;
    let body: Value = r.json().await.unwrap();
    let next = body["next"].as_str().unwrap().to_string();
    let r = app
        .get_key(&app.api_key, &format!("/api/v1/applications?after={next}"))
        .await;
    assert_eq!(r.status(), 422);
    // Intake keys may not read; managers may.
    let intake = key_with_role(&app, "intake").await;
    let manager = key_with_role(&app, "manager").await;
    for path in ["/api/v1/applications", "/api/v1/applications.csv"] {
        assert_eq!(app.get_key(&intake, path).await.status(), 403, "{path}");
        assert_eq!(app.get_key(&manager, path).await.status(), 200, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_streams_every_match_with_formula_cells_made_inert() {
    let app = spawn_app().await;
    let hostile = app
        .applicant(
            "eve@example.com",
            json!({ "full_name": "=HYPERLINK(\"x\")", "utm_source": "@SUM(A1)",
                    "utm_campaign": "-2+3", "phone": "+46 70 999 99 99" }),
        )
        .await;
    for i in 0..30 {
        app.applicant(&format!("bulk{i}@example.com"), json!({}))
            .await;
    }
    let r = app
        .get_key(&app.api_key, "/api/v1/applications.csv?sort=name_asc")
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 31);
    let eve = rows.iter().find(|r| r[0] == hostile).unwrap();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&eve[col("full_name")], "'=HYPERLINK(\"x\")");
    assert_eq!(&eve[col("phone")], "'+46709999999");
    assert_eq!(&eve[col("source")], "'@SUM(A1)");
    assert_eq!(&eve[col("campaign")], "'-2+3");
    // Filters apply; the export is audited with the filter that chose the rows, but not the
    // search words (often a name): only how many there were.
    let r = app
        .get_key(&app.api_key, "/api/v1/applications.csv?q=eve&sort=name_asc")
        .await;
    let body = r.text().await.unwrap();
    assert_eq!(body.lines().count(), 2, "{body}");
    let audited: Vec<String> = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'applications.export_csv' \
         AND after LIKE '%sort=name_asc%'").fetch_all(p).await)
    .unwrap();
    assert_eq!(audited.len(), 2, "{audited:?}");
    let searched: Vec<&String> = audited
        .iter()
        .filter(|a| a.contains(r#""search_words":1"#))
        .collect();
    assert_eq!(searched.len(), 1, "{audited:?}");
    assert!(!searched[0].contains("eve"), "{searched:?}");
    // The page's export link gives the same, for a signed-in manager too.
    app.staff_user("max@onramp.test", "manager").await;
    let manager = app.sign_in("max@onramp.test").await;
    let r = app.get_as(&manager, "/admin/applicants.csv?q=eve").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_previews_moves_rejects_with_a_reason_and_notes_on_the_applicant_page() {
    let app = spawn_app().await;
    let id = app
        .applicant(
            "zoe@example.com",
            json!({ "full_name": "Zoë <i>Bold O'Neil" }),
        )
        .await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    let page = format!("/admin/applicants/{id}");
    let html = app.get_as(&rita, &page).await.text().await.unwrap();
    assert!(html.contains("Zoë &lt;i&gt;Bold O&#x27;Neil"), "{html}");
    assert!(!html.contains("<i>Bold"));
    // The list shows them too, escaped, with a link to the page.
    let list = app
        .get_as(&rita, "/admin/applicants?q=zo")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains(&format!("href=\"/admin/applicants/{id}\"")),
        "{list}"
    );
    assert!(!list.contains("<i>Bold"));

    // Preview of the decline email: both parts, with the applicant's real name.
    let reject = |extra: &[(&'static str, &str)]| {
        let mut f = vec![
            ("to", "rejected".to_string()),
            ("reason", "Role filled".to_string()),
            ("template", "application_declined".to_string()),
        ];
        f.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        f
    };
    let r = app
        .post_as(&rita, &format!("{page}/move"), &reject(&[("preview", "1")]))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Email preview"), "{html}");
    assert!(html.contains("HTML part") && html.contains("Text part"));
    assert!(html.contains("Hi Zoë &lt;i&gt;Bold"), "{html}");
    let text = &html[html.find("<pre class=\"email-text\">").expect("text part")..];
    assert!(text.contains("Hi Zoë &lt;i&gt;Bold O&#x27;Neil,"), "{text}");
    assert!(!html.contains("&amp;lt;"), "escaped once, not twice");
    assert_eq!(
        app.status_of("zoe@example.com").await.as_deref(),
        Some("applied")
    );

    // A rejection without a reason is refused, naming the field; nothing changes.
    let r = app
        .post_as(
            &rita,
            &format!("{page}/move"),
            &[("to", "rejected".to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Choose the reason for rejecting"), "{html}");
    // A stage the flow does not allow from here says why.
    let r = app
        .post_as(
            &rita,
            &format!("{page}/move"),
            &[("to", "live".to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.status_of("zoe@example.com").await.as_deref(),
        Some("applied")
    );

    // Rejecting is final: the page asks first, naming whom, why and which email, and
    // nothing changes until it is confirmed.
    let r = app
        .post_as(&rita, &format!("{page}/move"), &reject(&[]))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Reject Zoë &lt;i&gt;Bold O&#x27;Neil?"),
        "{html}"
    );
    assert!(html.contains("(reason: Role filled)"), "{html}");
    assert!(html.contains("Decline politely"), "{html}");
    assert_eq!(
        app.status_of("zoe@example.com").await.as_deref(),
        Some("applied")
    );
    // The move with the email: done, queued in the same transaction, on the timeline.
    let r = app
        .post_as(
            &rita,
            &format!("{page}/move"),
            &reject(&[("confirm", "yes")]),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.status_of("zoe@example.com").await.as_deref(),
        Some("rejected")
    );
    let queued: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE template = 'application_declined'").fetch_one(p).await)
    .unwrap();
    assert_eq!(queued, 1);
    let r = app
        .post_as(
            &rita,
            &format!("{page}/notes"),
            &[(
                "body",
                "<img src=x onerror=alert(1)> phoned twice".to_string(),
            )],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .post_as(
            &rita,
            &format!("{page}/notes"),
            &[("body", "  ".to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_as(
            &rita,
            &format!("{page}/tags"),
            &[("tag", "<script>".to_string())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_as(
            &rita,
            &format!("{page}/tags"),
            &[("tag", "callback".to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = app.get_as(&rita, &page).await.text().await.unwrap();
    assert!(
        html.contains("Moved from Applied, email not confirmed to Rejected"),
        "{html}"
    );
    assert!(html.contains("Reason: Role filled"));
    assert!(html.contains("rita@onramp.test"), "who moved them");
    assert!(
        html.contains("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt; phoned twice"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"));
    // Emails and events read as sentences, not as log lines.
    assert!(html.contains("Polite decline waiting to be sent"), "{html}");
    assert!(html.contains("Applied through the API"), "{html}");
    assert!(!html.contains("application declined"), "{html}");
    assert!(html.contains("Tagged callback"));
    // Rejected is final: no move form.
    assert!(html.contains("is final"));

    // A manager reads the page but may not act.
    app.staff_user("max@onramp.test", "manager").await;
    let max = app.sign_in("max@onramp.test").await;
    let html = app.get_as(&max, &page).await.text().await.unwrap();
    assert!(!html.contains(&format!("action=\"{page}/notes\"")));
    for action in ["move", "notes", "tags"] {
        let r = app
            .post_as(
                &max,
                &format!("{page}/{action}"),
                &[("body", "x".to_string())],
            )
            .await;
        assert_eq!(r.status(), 403, "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_moves_api_sends_a_template_and_names_a_wrong_one() {
    let app = spawn_app().await;
    let id = app.applicant("ana@example.com", json!({})).await;
    let path = format!("/api/v1/applications/{id}/moves");
    let r = app
        .post_json(&path, &json!({ "to": "withdrawn", "template": "nope" }))
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body["errors"]["template"].is_array(), "{body}");
    let r = app
        .post_json(
            &path,
            &json!({ "to": "withdrawn", "template": "application_declined" }),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.status_of("ana@example.com").await.as_deref(),
        Some("applied")
    );
    let r = app
        .post_json(
            &path,
            &json!({ "to": "withdrawn", "template": "stage_update" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.drain().await;
    let mail = app.received();
    let update = mail
        .iter()
        .find(|m| m.contains("Withdrawn"))
        .expect("the stage update went out");
    assert!(update.contains("/status/"), "it carries the status link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_matching_runs_on_the_people_confirmed_not_on_who_matches_later() {
    let app = spawn_app().await;
    for who in ["w1@example.com", "w2@example.com"] {
        app.applicant(who, json!({ "utm_source": "wave" })).await;
    }
    app.staff_user("rita@onramp.test", "recruiter").await;
    app.staff_user("rob@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    let fields = vec![
        ("action", "move".to_string()),
        ("to", "withdrawn".to_string()),
        ("scope", "all".to_string()),
        ("filter", "source=wave".to_string()),
    ];
    let r = app.post_as(&rita, "/admin/applicants/bulk", &fields).await;
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>2</strong> applicant(s)"), "{html}");
    let confirm: Vec<(String, String)> = form_fields(&html, "/admin/applicants/bulk/run");
    let confirm: Vec<(&str, String)> = confirm
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    // Someone new matches between the confirmation and the run.
    app.applicant("w3@example.com", json!({ "utm_source": "wave" }))
        .await;
    // Another recruiter cannot run Rita's confirmation.
    let rob = app.sign_in("rob@onramp.test").await;
    let before = app.snapshot().await;
    let r = app
        .post_as(&rob, "/admin/applicants/bulk/run", &confirm)
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("start again from the list"));
    assert_eq!(app.snapshot().await, before, "nothing changed");
    let r = app
        .post_as(&rita, "/admin/applicants/bulk/run", &confirm)
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>2</strong> done"), "{html}");
    assert!(
        html.contains("The list changed after you confirmed"),
        "{html}"
    );
    assert!(
        html.contains("1 who match now and did not then were left alone"),
        "{html}"
    );
    for who in ["w1@example.com", "w2@example.com"] {
        assert_eq!(app.status_of(who).await.as_deref(), Some("withdrawn"));
    }
    assert_eq!(
        app.status_of("w3@example.com").await.as_deref(),
        Some("applied"),
        "not confirmed, not touched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_actions_confirm_report_failures_and_run_once_per_key() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.applicant(
                &format!("b{i}@example.com"),
                json!({ "utm_source": "bulk" }),
            )
            .await,
        );
    }
    // One is already withdrawn: moving it is refused, and reported.
    let r = app
        .post_json(
            &format!("/api/v1/applications/{}/moves", ids[0]),
            &json!({ "to": "withdrawn" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;

    // Ticked rows: the confirmation shows the count and what will happen, and changes nothing.
    let mut fields = vec![
        ("action", "reject".to_string()),
        ("reason", "Role filled".to_string()),
        ("template", "application_declined".to_string()),
        ("scope", "picked".to_string()),
        ("filter", "source=bulk".to_string()),
    ];
    for id in &ids[..3] {
        fields.push(("id", id.clone()));
    }
    let r = app.post_as(&rita, "/admin/applicants/bulk", &fields).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>3</strong> applicant(s)"), "{html}");
    assert!(
        html.contains("Move to Rejected (reason: Role filled)"),
        "{html}"
    );
    assert_eq!(
        app.status_of("b1@example.com").await.as_deref(),
        Some("applied")
    );
    let confirm: Vec<(String, String)> = form_fields(&html, "/admin/applicants/bulk/run");
    let confirm: Vec<(&str, String)> = confirm
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let r = app
        .post_as(&rita, "/admin/applicants/bulk/run", &confirm)
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>2</strong> done"), "{html}");
    assert!(html.contains("<strong>1</strong> not done"), "{html}");
    assert!(html.contains("Withdrawn is final"), "{html}");
    for email in ["b1@example.com", "b2@example.com"] {
        assert_eq!(app.status_of(email).await.as_deref(), Some("rejected"));
    }
    let declines = || async {
        let n: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE template = 'application_declined'").fetch_one(p).await)
        .unwrap();
        n
    };
    assert_eq!(declines().await, 2);
    // The same confirmation again (a double click, a retry): the first report, nothing twice.
    let events_before = app.count("application_events").await;
    let r = app
        .post_as(&rita, "/admin/applicants/bulk/run", &confirm)
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("already carried out"), "{html}");
    assert!(html.contains("<strong>2</strong> done"));
    assert_eq!(app.count("application_events").await, events_before);
    assert_eq!(declines().await, 2);

    // The whole filtered set: tag everyone from the source.
    let fields = vec![
        ("action", "add_tag".to_string()),
        ("tag", "wave-1".to_string()),
        ("scope", "all".to_string()),
        ("filter", "source=bulk".to_string()),
    ];
    let r = app.post_as(&rita, "/admin/applicants/bulk", &fields).await;
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>5</strong> applicant(s)"), "{html}");
    let confirm: Vec<(String, String)> = form_fields(&html, "/admin/applicants/bulk/run");
    let confirm: Vec<(&str, String)> = confirm
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let r = app
        .post_as(&rita, "/admin/applicants/bulk/run", &confirm)
        .await;
    assert!(r.text().await.unwrap().contains("<strong>5</strong> done"));
    assert_eq!(app.listed("tag=wave-1").await.len(), 5);
    // Bad requests are named and change nothing.
    for (fields, field_text) in [
        (
            vec![("action", "reject".to_string()), ("id", ids[3].clone())],
            "Choose the reason",
        ),
        (
            vec![
                ("action", "move".to_string()),
                ("to", "mars".to_string()),
                ("id", ids[3].clone()),
            ],
            "Choose the stage",
        ),
        (
            vec![
                ("action", "add_tag".to_string()),
                ("tag", "<x>".to_string()),
                ("id", ids[3].clone()),
            ],
            "for a tag",
        ),
        (
            vec![("action", "add_tag".to_string()), ("tag", "ok".to_string())],
            "Tick at least one",
        ),
        (
            vec![("action", "explode".to_string()), ("id", ids[3].clone())],
            "Choose what to do",
        ),
    ] {
        let r = app.post_as(&rita, "/admin/applicants/bulk", &fields).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(field_text), "{field_text}: {html}");
    }
    assert_eq!(
        app.status_of("b3@example.com").await.as_deref(),
        Some("applied")
    );
    // Managers may not.
    app.staff_user("max@onramp.test", "manager").await;
    let max = app.sign_in("max@onramp.test").await;
    assert_eq!(
        app.post_as(&max, "/admin/applicants/bulk/run", &confirm)
            .await
            .status(),
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_by_phone_or_gmail_alias_are_flagged() {
    let app = spawn_app().await;
    app.applicant("ana.lind@gmail.com", json!({ "phone": "+46 70 555 00 01" }))
        .await;
    let alias = app
        .applicant(
            "analind+jobs@googlemail.com",
            json!({ "phone": "+46705550099" }),
        )
        .await;
    app.applicant(
        "other@example.com",
        json!({ "phone": "+46 (70) 555-00-01" }),
    )
    .await;
    let alone = app
        .applicant("alone@example.com", json!({ "phone": "+46 70 555 00 77" }))
        .await;
    let r = app
        .get_key(&app.api_key, "/api/v1/applications?limit=10")
        .await;
    let body: Value = r.json().await.unwrap();
    for item in body["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        assert_eq!(
            item["possible_duplicate"],
            json!(id != alone),
            "{id} {item}"
        );
    }
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    let html = app
        .get_as(&rita, &format!("/admin/applicants/{alias}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Possible duplicate"), "{html}");
    assert!(html.contains("same address (dots or +tag aside)"), "{html}");
    assert!(html.contains("the older record"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiz_attempts_count_per_person_not_per_address() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    for slug in ["agents-sweden", "agents-english"] {
        app.edit_quiz(slug, |d| d.max_attempts = 1).await;
    }
    let (quiz, attempt) = app.start_quiz("ana.lind@gmail.com").await;
    app.answer_all(&quiz, "ana.lind@gmail.com", false).await;
    assert_eq!(app.submit(&quiz, attempt.id).await.status(), 303);
    // The same person under a +tag alias of the same mailbox gets no fresh attempt.
    let alias = "analind+again@googlemail.com";
    let quiz = app.invited(alias).await;
    // Refused: the page says why (no attempts left for this person), and nothing starts.
    let r = app.post_form(&format!("{quiz}/start"), "").await;
    assert_eq!(r.status(), 409);
    let attempts: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM quiz_attempts q JOIN applications a ON a.id = q.application_id \
         WHERE a.email = $1").bind(alias).fetch_one(p).await)
    .unwrap();
    assert_eq!(attempts, 0);
    // Someone else still can.
    let (_, other) = app.start_quiz("someone.else@gmail.com").await;
    assert_eq!(other.number, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_under_two_aliases_runs_one_attempt_at_a_time_and_waits_the_cooldown() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    for slug in ["agents-sweden", "agents-english"] {
        app.edit_quiz(slug, |d| {
            d.max_attempts = 3;
            d.cooldown_hours = 24;
        })
        .await;
    }
    let attempts_of = |email: &'static str| {
        let db = app.db.clone();
        async move {
            let n: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
                "SELECT COUNT(*) FROM quiz_attempts q JOIN applications a \
                 ON a.id = q.application_id WHERE a.email = $1").bind(email).fetch_one(p).await)
            .unwrap();
            n
        }
    };
    // Two aliases of one mailbox, both invited, start at the same moment: one attempt runs.
    let (one, two) = ("vera+1@gmail.com", "v.era+2@gmail.com");
    let (q1, q2) = (app.invited(one).await, app.invited(two).await);
    let (s1, s2) = (format!("{q1}/start"), format!("{q2}/start"));
    let (a, b) = tokio::join!(app.post_form(&s1, ""), app.post_form(&s2, ""));
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [303, 409], "one starts, the other is told to wait");
    assert_eq!(attempts_of(one).await + attempts_of(two).await, 1);
    // Whichever started, the other alias is held back while it runs and after it ends.
    let (running, waiting, quiz) = if attempts_of(one).await == 1 {
        (one, q2, q1)
    } else {
        (two, q1, q2)
    };
    let id: uuid::Uuid = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT q.id FROM quiz_attempts q JOIN applications a ON a.id = q.application_id \
         WHERE a.email = $1").bind(running).fetch_one(p).await)
    .unwrap();
    app.answer_all(&quiz, running, false).await;
    assert_eq!(app.submit(&quiz, id).await.status(), 303);
    let r = app.post_form(&format!("{waiting}/start"), "").await;
    assert_eq!(r.status(), 409, "the cooldown counts per person");
    assert_eq!(attempts_of(one).await + attempts_of(two).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_bulk_actions_and_exports_are_counted_in_the_metrics() {
    let app =
        spawn_app_with(|s| s.metrics_token = Some("workspace-metrics-token-0123456789".into()))
            .await;
    let a = app.applicant("a@example.com", json!({})).await;
    let b = app.applicant("b@example.com", json!({})).await;
    let r = app
        .post_json(
            &format!("/api/v1/applications/{a}/moves"),
            &json!({ "to": "withdrawn" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    let fields = [
        ("action", "add_tag".to_string()),
        ("tag", "pilot".to_string()),
        ("id", b.clone()),
        ("key", uuid::Uuid::new_v4().to_string()),
    ];
    for _ in 0..2 {
        // The second is a repeat of the same confirmation: not counted again.
        let r = app
            .post_as(&rita, "/admin/applicants/bulk/run", &fields)
            .await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        app.get_key(&app.api_key, "/api/v1/applications.csv")
            .await
            .status(),
        200
    );
    let r = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("workspace-metrics-token-0123456789")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    for line in [
        "onramp_moves_total{to=\"withdrawn\"} 1",
        "onramp_bulk_actions_total{action=\"add_tag\"} 1",
        "onramp_bulk_rows_total{action=\"add_tag\"} 1",
        "onramp_exports_total{format=\"csv\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_keeps_the_older_record_with_both_histories() {
    let app = spawn_app().await;
    let older = app
        .applicant("ana.lind@gmail.com", json!({ "phone": "+46705550101" }))
        .await;
    let newer = app
        .applicant("analind+2@gmail.com", json!({ "phone": "+46705550102" }))
        .await;
    let stranger = app
        .applicant("someone@example.com", json!({ "phone": "+46705550103" }))
        .await;
    let note = json!({ "body": "Asked about evening shifts" });
    let r = app
        .post_json(&format!("/api/v1/applications/{newer}/notes"), &note)
        .await;
    assert_eq!(r.status(), 201);
    let tag = json!({ "tag": "evenings" });
    let r = app
        .post_json(&format!("/api/v1/applications/{newer}/tags"), &tag)
        .await;
    assert_eq!(r.status(), 201);
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    // Not the same person: refused, nothing changes.
    let r = app
        .post_as(
            &rita,
            &format!("/admin/applicants/{older}/merge"),
            &[("other", stranger.clone()), ("confirm", "yes".into())],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("share neither an address"));
    // Asked from the newer record: the page asks first, naming both, and nothing changes.
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &rita,
            &format!("/admin/applicants/{newer}/merge"),
            &[("other", older.clone())],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("This cannot be undone"), "{html}");
    assert_eq!(app.snapshot().await, before);
    // Confirmed: the older one still stays.
    let r = app
        .post_as(
            &rita,
            &format!("/admin/applicants/{newer}/merge"),
            &[("other", older.clone()), ("confirm", "yes".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/admin/applicants/{older}?done=merged").as_str()
    );
    assert_eq!(
        app.get_as(&rita, &format!("/admin/applicants/{newer}"))
            .await
            .status(),
        404
    );
    let html = app
        .get_as(&rita, &format!("/admin/applicants/{older}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Asked about evening shifts"), "{html}");
    assert!(html.contains("Tagged evenings"));
    assert!(html.contains("<span class=\"tag\">evenings</span>"));
    assert!(html.contains("merged"), "the merge is on the timeline");
    let audited: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'application.merge'").fetch_one(p).await)
    .unwrap();
    assert_eq!(audited, 1);
    // Managers may not merge.
    app.staff_user("max@onramp.test", "manager").await;
    let max = app.sign_in("max@onramp.test").await;
    let r = app
        .post_as(
            &max,
            &format!("/admin/applicants/{older}/merge"),
            &[("other", stranger)],
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_waits_while_both_records_have_a_quiz_attempt_running() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    // Both records have an attempt running. A person can no longer start a second one under an
    // alias, but records from before that rule can hold two: made here by hiding the first
    // record's identity while the second starts.
    let (_, first) = app.start_quiz("ana.lind@gmail.com").await;
    let set_key = |key: String| {
        let db = app.db.clone();
        async move {
            onramp::on_writer!(&db, p => sqlx::query(
                "UPDATE applications SET email_key = $1 WHERE email = 'ana.lind@gmail.com'")
                .bind(key).execute(p).await.map(|_| ()))
            .unwrap();
        }
    };
    set_key("hidden@example.com".into()).await;
    let (_, second) = app.start_quiz("analind+2@gmail.com").await;
    set_key(onramp::domain::applicants::email_key("ana.lind@gmail.com")).await;
    assert_ne!(first.application_id, second.application_id);
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &rita,
            &format!("/admin/applicants/{}/merge", first.application_id),
            &[
                ("other", second.application_id.to_string()),
                ("confirm", "yes".to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Both records have a quiz attempt running"),
        "{html}"
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused merge changes nothing"
    );
}
