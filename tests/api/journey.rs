//! The applicant's whole path over HTTP: form → email → verify → status, plus the knockout rules,
//! repeat signups and expired links.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_to_verified_applicant() {
    let app = spawn_app().await;

    let form = app
        .get("/apply?utm_source=tiktok&utm_campaign=spring&ref=CODE42")
        .await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains(r#"name="utm_source" value="tiktok""#));
    assert!(html.contains(r#"name="ref" value="CODE42""#));
    assert!(html.contains(r#"<label for="full_name">"#));

    let mut fields = valid_form("  Ana.Lind@Example.com ");
    for f in fields.iter_mut() {
        match f.0 {
            "utm_source" => f.1 = "tiktok".into(),
            "utm_campaign" => f.1 = "spring".into(),
            "ref" => f.1 = "CODE42".into(),
            _ => {}
        }
    }
    let resp = app.apply(&fields).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/apply/thanks");
    assert_eq!(app.get("/apply/thanks").await.status(), 200);
    assert_eq!(
        app.status_of("ana.lind@example.com").await.as_deref(),
        Some("applied")
    );

    let round = app.drain().await;
    assert_eq!(round.sent, 1);
    let mail = app.received();
    let mine = mail_to(&mail, "ana.lind@example.com");
    assert_eq!(mine.len(), 1);
    let email = mine[0];
    assert!(email.contains("multipart/alternative"));
    assert!(email.contains("text/plain") && email.contains("text/html"));
    let id = header(email, "Message-ID").unwrap();
    assert!(
        id.starts_with('<') && id.ends_with("@onramp.localhost>"),
        "{id}"
    );
    let verify = link(email, &app.base, "/verify/").expect("verification link in email");

    // Only the hash of the token is stored.
    let token = verify.rsplit('/').next().unwrap();
    let stored: Vec<String> = onramp::on_db!(&app.db, p =>
        sqlx::query_scalar("SELECT token_hash FROM access_tokens WHERE purpose = 'verify_email'")
        .fetch_all(p).await)
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert_eq!(stored[0], onramp::domain::token::hash_token(token));

    // A mail scanner opening the link confirms nothing.
    for _ in 0..3 {
        assert_eq!(app.get(&verify.replace(&app.base, "")).await.status(), 200);
    }
    assert_eq!(
        app.status_of("ana.lind@example.com").await.as_deref(),
        Some("applied")
    );
    assert_eq!(app.drain().await.claimed, 0);
    let html = app.confirm(&verify).await;
    assert!(html.contains("your email address is confirmed"));
    assert!(html.contains("Email confirmed: next is the skills quiz"));
    assert_eq!(
        app.status_of("ana.lind@example.com").await.as_deref(),
        Some("verified")
    );

    // Verifying enqueued the next email, with a link to the status page.
    assert_eq!(app.drain().await.sent, 1);
    let mail = app.received();
    let next = mail_to(&mail, "ana.lind@example.com")[1];
    let status = link(next, &app.base, "/status/").expect("status link");
    let page = app.get(&status.replace(&app.base, "")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Ana Lind"));

    // A second click on the used link says so (and that the email is confirmed) without showing
    // the application, offers a new link, and sends nothing more.
    let again = app.get(&verify.replace(&app.base, "")).await;
    assert_eq!(again.status(), 410);
    let html = again.text().await.unwrap();
    assert!(html.contains("already been used"));
    assert!(html.contains("your email address is confirmed"));
    assert!(!html.contains("Ana Lind"));
    assert_eq!(app.drain().await.claimed, 0);
    // Posting it again changes nothing either.
    let again = app.post_form(&verify.replace(&app.base, ""), "").await;
    assert_eq!(again.status(), 410);
    assert_eq!(app.drain().await.claimed, 0);
    // Its one action: the status link, sent to the address on file.
    assert!(html.contains(r#"action="/links/renew""#));
    let token = verify.rsplit('/').next().unwrap();
    let sent = app
        .post_form("/links/renew", format!("token={token}"))
        .await;
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("Check your email"));

    // The campaign source was recorded.
    let id: uuid::Uuid =
        onramp::on_db!(&app.db, p => sqlx::query_scalar("SELECT id FROM applications")
        .fetch_one(p).await)
        .unwrap();
    let json: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/applications/{id}", app.base))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["utm_source"], "tiktok");
    assert_eq!(json["utm_campaign"], "spring");
    assert_eq!(json["ref"], "CODE42");
    assert_eq!(json["status"], "verified");
    assert_eq!(json["languages"], serde_json::json!(["en", "sv"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knockout_rules_store_reasons_and_tell_the_applicant() {
    let app = spawn_app().await;
    // Through the API (an integration that forwards "not 18"): the form asks the question
    // as Yes/No and never stores a "No" (see `a_no_on_the_age_question_stores_and_sends_nothing`).
    let mut minor = valid_json("minor@example.com");
    minor["adult"] = serde_json::json!(false);
    assert_eq!(
        app.post_json("/api/v1/applications", &minor).await.status(),
        201
    );
    let mut abroad = valid_form("abroad@example.com");
    abroad.iter_mut().find(|f| f.0 == "country").unwrap().1 = "BR".into();
    let mut few_hours = valid_form("few@example.com");
    few_hours.iter_mut().find(|f| f.0 == "country").unwrap().1 = "US".into();
    few_hours
        .iter_mut()
        .find(|f| f.0 == "weekly_hours")
        .unwrap()
        .1 = "14".into();
    for f in [&abroad, &few_hours] {
        assert_eq!(app.apply(f).await.status(), 303);
    }
    assert_eq!(
        app.status_of("minor@example.com").await.as_deref(),
        Some("rejected")
    );
    assert_eq!(
        app.status_of("abroad@example.com").await.as_deref(),
        Some("waitlisted")
    );
    assert_eq!(
        app.status_of("few@example.com").await.as_deref(),
        Some("waitlisted")
    );

    let reasons: Vec<(String, String, String)> = onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT a.email, s.rule_id, s.reason FROM screening_results s \
         JOIN applications a ON a.id = s.application_id WHERE s.outcome <> 'pass' ORDER BY a.email")
        .fetch_all(p).await)
    .unwrap();
    let brief: Vec<(&str, &str)> = reasons
        .iter()
        .map(|(e, r, _)| (e.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        brief,
        [
            ("abroad@example.com", "market"),
            ("few@example.com", "min_hours"),
            ("minor@example.com", "adult")
        ]
    );
    assert!(reasons.iter().all(|(_, _, why)| why.len() > 20));
    // Every rule is recorded, passes included.
    assert_eq!(app.count("screening_results").await, 9);

    assert_eq!(app.drain().await.sent, 3);
    let mail = app.received();
    let to_minor = decode_qp(mail_to(&mail, "minor@example.com")[0]);
    assert!(to_minor.contains("18 or older"));
    assert!(
        link(&to_minor, &app.base, "/verify/").is_none(),
        "no verification for a rejection"
    );
    let to_abroad = decode_qp(mail_to(&mail, "abroad@example.com")[0]);
    assert!(to_abroad.contains("waitlist"));
    assert!(to_abroad.contains("not hiring in Brazil yet"));
    assert!(link(&to_abroad, &app.base, "/verify/").is_some());
    // The waitlist email states the rule that was not met, with the market's own numbers.
    let to_few = decode_qp(mail_to(&mail, "few@example.com")[0]);
    assert!(
        to_few.contains(
            "You can offer 14 hours a week, and the fewest we can schedule in United States is 15."
        ),
        "{to_few}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_signup_creates_nothing_and_resends_at_most_once_per_cooldown() {
    let app = spawn_app().await;
    let first = app.apply(&valid_form("ana@example.com")).await;
    assert_eq!(app.drain().await.sent, 1);
    let before = app.snapshot().await;

    let mut again = valid_form(" ANA@example.COM ");
    again[0].1 = "Someone Else".into();
    let second = app.apply(&again).await;
    // Same answer as for a new address: nothing to learn from it.
    assert_eq!(second.status(), first.status());
    assert_eq!(second.headers()["location"], first.headers()["location"]);
    assert_eq!(app.count("applications").await, 1);
    let name: String =
        onramp::on_db!(&app.db, p => sqlx::query_scalar("SELECT full_name FROM applications")
        .fetch_one(p).await)
        .unwrap();
    assert_eq!(name, "Ana Lind", "a repeat signup changes nothing stored");
    // Within the cooldown: no second email.
    assert_eq!(app.drain().await.claimed, 0);
    assert_eq!(app.snapshot().await, before);

    // After the cooldown: exactly one more.
    let mut tx = app.db.begin().await.unwrap();
    onramp::on!(&mut tx, c => sqlx::query("UPDATE applications SET verify_requested_at = $1")
        .bind(chrono::Utc::now() - chrono::Duration::minutes(11))
        .execute(&mut **c).await.map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    app.apply(&again).await;
    app.apply(&again).await;
    assert_eq!(app.drain().await.sent, 1);
    assert_eq!(mail_to(&app.received(), "ana@example.com").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_link_offers_a_new_one() {
    let app = spawn_app_with(|s| {
        s.verify_token_ttl_hours = 0;
        s.verify_resend_cooldown_secs = 0;
    })
    .await;
    app.apply(&valid_form("late@example.com")).await;
    app.drain().await;
    let old = link(&app.received()[0], &app.base, "/verify/").unwrap();
    let page = app.get(&old.replace(&app.base, "")).await;
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("has expired or is not valid"));
    assert!(html.contains(r#"action="/verify/resend""#));
    assert_eq!(
        app.status_of("late@example.com").await.as_deref(),
        Some("applied")
    );

    // A made-up token gets the same page.
    assert_eq!(app.get("/verify/not-a-real-token").await.status(), 410);

    // Asking for a new link: same answer for known and unknown addresses.
    let known = app
        .post_form("/verify/resend", "email=late%40example.com")
        .await;
    let unknown = app
        .post_form("/verify/resend", "email=nobody%40example.com")
        .await;
    assert_eq!(known.status(), 200);
    assert_eq!(unknown.status(), 200);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(app.drain().await.sent, 1);
    assert_eq!(mail_to(&app.received(), "late@example.com").len(), 2);

    let bad = app.post_form("/verify/resend", "email=not-an-email").await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Enter a valid email address"));
    assert!(html.contains(r#"value="not-an-email""#));
}

/// Signups arriving together are written in one batch; duplicates inside a batch still collapse
/// into one applicant, and every request gets its own correct answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_signups_are_batched_without_mixing_answers() {
    let app = spawn_app().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let (client, base, key) = (app.client.clone(), app.base.clone(), app.api_key.clone());
        tasks.spawn(async move {
            // Ten distinct people, each signing up three times with different spelling.
            let email = match i % 3 {
                0 => format!("same{}@example.com", i / 3),
                1 => format!(" SAME{}@Example.com", i / 3),
                _ => format!("same{}@EXAMPLE.COM ", i / 3),
            };
            let resp = client
                .post(format!("{base}/api/v1/applications"))
                .bearer_auth(key)
                .json(&valid_json(&email))
                .send()
                .await
                .unwrap();
            let code = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            (i / 3, code, body["id"].as_str().unwrap().to_string())
        });
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.push(r.unwrap());
    }
    assert_eq!(app.count("applications").await, 10);
    for person in 0..10 {
        let mine: Vec<_> = answers.iter().filter(|(p, _, _)| *p == person).collect();
        assert_eq!(
            mine.iter().filter(|(_, code, _)| *code == 201).count(),
            1,
            "{mine:?}"
        );
        assert_eq!(
            mine.iter().filter(|(_, code, _)| *code == 200).count(),
            2,
            "{mine:?}"
        );
        assert!(
            mine.iter().all(|(_, _, id)| *id == mine[0].2),
            "one id per person"
        );
        let stored: Option<String> = onramp::on_db!(&app.db, p => sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS TEXT) FROM applications WHERE email = $1")
            .bind(format!("same{person}@example.com")).fetch_optional(p).await)
        .unwrap();
        assert_eq!(stored.as_deref(), Some("1"));
    }
    assert_eq!(
        app.drain().await.sent,
        10,
        "one verification email per person"
    );
}

/// A verified applicant who lost their links asks for a new one and gets a status link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_applicant_can_get_a_new_status_link() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.apply(&valid_form("lost@example.com")).await;
    app.drain().await;
    let verify = link(&app.received()[0], &app.base, "/verify/").unwrap();
    app.confirm(&verify).await;
    app.drain().await;
    assert_eq!(app.received().len(), 2);

    let resp = app
        .post_form("/verify/resend", "email=LOST%40example.com")
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.drain().await.sent, 1);
    let mail = app.received();
    let latest = decode_qp(&mail[2]);
    assert!(header(&mail[2], "Subject").unwrap().contains("Your link"));
    assert!(link(&latest, &app.base, "/verify/").is_none());
    let status = link(&latest, &app.base, "/status/").expect("status link");
    let page = app.get(&status.replace(&app.base, "")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Email confirmed"));
    assert_eq!(
        app.status_of("lost@example.com").await.as_deref(),
        Some("verified")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_on_the_age_question_stores_and_sends_nothing() {
    let app = spawn_app().await;
    // Left unanswered, the question is a form error naming it, and nothing is stored.
    let mut unanswered = valid_form("young@example.com");
    unanswered.retain(|(k, _)| *k != "adult");
    let before = app.snapshot().await;
    let r = app.apply(&unanswered).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r##"<a href="#adult-yes">Answer whether you are 18 or older"##),
        "{html}"
    );
    // What was typed is kept.
    assert!(html.contains(r#"value="young@example.com""#));
    assert_eq!(app.snapshot().await, before);
    // A real "No": a page that says why, at once; nothing stored, no email queued.
    let mut no = valid_form("young@example.com");
    no.iter_mut().find(|(k, _)| *k == "adult").unwrap().1 = "no".into();
    let r = app.apply(&no).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("must be 18 or older"), "{html}");
    assert!(html.contains(r#"href="/apply""#));
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.drain().await.claimed, 0);
    // "Yes" applies as before.
    let mut yes = valid_form("young@example.com");
    yes.iter_mut().find(|(k, _)| *k == "adult").unwrap().1 = "yes".into();
    assert_eq!(app.apply(&yes).await.status(), 303);
    assert_eq!(
        app.status_of("young@example.com").await.as_deref(),
        Some("applied")
    );
}
