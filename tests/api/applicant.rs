//! What applicants hit when something is slightly off: a mistyped address, a lost or used link,
//! a quiz left open, rules and times they need to read right.

use onramp::store::attempts;
use uuid::Uuid;

use crate::helpers::*;

fn with_email(email: &str) -> Vec<(&'static str, String)> {
    valid_form(email)
}

/// The signup receipt cookie from a 303 answer, to send back as a browser would.
fn receipt_cookie(r: &reqwest::Response) -> String {
    let c = r.headers()["set-cookie"].to_str().unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/apply"));
    c.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_miss_address_gets_a_suggestion_and_the_applicant_decides() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    let r = app.apply(&with_email("ana@gmial.com")).await;
    // Not an error: the form comes back with the suggestion next to the field.
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Did you mean ana@gmail.com?"), "{html}");
    assert!(html.contains(r#"name="email_fix" value="ana@gmail.com""#));
    assert!(html.contains(r#"name="email_checked" value="ana@gmial.com""#));
    assert!(!html.contains("id=\"error-summary\""));
    // Every typed value is kept.
    assert!(
        html.contains(r#"value="I like helping people.""#)
            || html.contains("I like helping people.")
    );
    assert_eq!(app.snapshot().await, before, "nothing stored yet");

    // "Yes, use ana@gmail.com"
    let mut fix = with_email("ana@gmial.com");
    fix.push(("email_checked", "ana@gmial.com".into()));
    fix.push(("email_fix", "ana@gmail.com".into()));
    assert_eq!(app.apply(&fix).await.status(), 303);
    assert_eq!(
        app.status_of("ana@gmail.com").await.as_deref(),
        Some("applied")
    );
    assert_eq!(app.status_of("ana@gmial.com").await, None);

    // "No, bo@hotmial.com is right"
    let mut keep = with_email("bo@hotmial.com");
    keep.push(("email_checked", "bo@hotmial.com".into()));
    assert_eq!(app.apply(&keep).await.status(), 303);
    assert_eq!(
        app.status_of("bo@hotmial.com").await.as_deref(),
        Some("applied")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thanks_page_shows_where_the_link_went_and_a_typo_can_be_fixed() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    let r = app.apply(&with_email("ana.lind@exampel.se")).await;
    assert_eq!(r.status(), 303);
    // The address is never in the URL.
    assert_eq!(r.headers()["location"], "/apply/thanks");
    let cookie = receipt_cookie(&r);
    let thanks = app
        .get_as(&cookie, "/apply/thanks")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        thanks.contains("<strong class=\"break\">ana.lind@exampel.se</strong>"),
        "{thanks}"
    );
    assert!(thanks.contains(r#"action="/apply/fix""#));
    app.drain().await;
    let wrong_link = link(&app.received()[0], &app.base, "/verify/").unwrap();

    // A bad address is refused by field, and nothing changes.
    let bad = app
        .post_as(&cookie, "/apply/fix", &[("email", "ana@example".into())])
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("href=\"#email\"") && html.contains("aria-invalid=\"true\""));
    assert_eq!(
        app.status_of("ana.lind@exampel.se").await.as_deref(),
        Some("applied")
    );

    let fixed = app
        .post_as(
            &cookie,
            "/apply/fix",
            &[("email", "ana.lind@example.se".into())],
        )
        .await;
    assert_eq!(fixed.status(), 303);
    assert_eq!(fixed.headers()["location"], "/apply/thanks");
    assert_eq!(app.count("applications").await, 1);
    assert_eq!(
        app.status_of("ana.lind@example.se").await.as_deref(),
        Some("applied")
    );
    assert_eq!(app.status_of("ana.lind@exampel.se").await, None);
    // The link that went to the wrong address no longer works; the new one does.
    assert_eq!(
        app.get(&wrong_link.replace(&app.base, "")).await.status(),
        410
    );
    app.drain().await;
    let received = app.received();
    let right = mail_to(&received, "ana.lind@example.se");
    assert_eq!(right.len(), 1);
    let right_link = link(right[0], &app.base, "/verify/").unwrap();
    app.confirm(&right_link).await;
    assert_eq!(
        app.status_of("ana.lind@example.se").await.as_deref(),
        Some("verified")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_cannot_move_someone_elses_application() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    assert_eq!(
        app.apply(&with_email("owner@example.com")).await.status(),
        303
    );
    // Someone signs up with the owner's address (a repeat: nothing stored) and tries to move
    // the application to their own address with the receipt they got.
    let r = app.apply(&with_email("owner@example.com")).await;
    assert_eq!(r.status(), 303);
    let cookie = receipt_cookie(&r);
    let moved = app
        .post_as(
            &cookie,
            "/apply/fix",
            &[("email", "attacker@example.com".into())],
        )
        .await;
    assert_eq!(moved.status(), 303, "the same answer as a real correction");
    assert_eq!(
        app.status_of("owner@example.com").await.as_deref(),
        Some("applied")
    );
    assert_eq!(app.status_of("attacker@example.com").await, None);
    // A forged cookie naming the owner's address does no better.
    let forged = format!("onramp_signup=forged.{}", base64_url("owner@example.com"));
    let moved = app
        .post_as(
            &forged,
            "/apply/fix",
            &[("email", "attacker@example.com".into())],
        )
        .await;
    assert_eq!(moved.status(), 303);
    assert_eq!(
        app.status_of("owner@example.com").await.as_deref(),
        Some("applied")
    );
    assert_eq!(app.count("applications").await, 1);
}

/// The outbox rows to `recipient`, as (status, last error).
async fn mail_rows(app: &TestApp, recipient: &str) -> Vec<(String, Option<String>)> {
    onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT status, last_error FROM outbox WHERE recipient = $1")
        .bind(recipient).fetch_all(p).await)
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_a_corrected_address_never_goes() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    // One signup's link is refused for good by the mail server...
    app.set_smtp(SmtpMode::Reject);
    let failed = receipt_cookie(&app.apply(&with_email("bo.berg@exampel.se")).await);
    app.drain().await;
    app.set_smtp(SmtpMode::Accept);
    assert_eq!(mail_rows(&app, "bo.berg@exampel.se").await[0].0, "failed");
    // ...and another's is still waiting when the typo is fixed.
    let pending = receipt_cookie(&app.apply(&with_email("ana.lind@exampel.se")).await);
    for (cookie, to) in [
        (&failed, "bo.berg@example.se"),
        (&pending, "ana.lind@example.se"),
    ] {
        let r = app
            .post_as(cookie, "/apply/fix", &[("email", to.into())])
            .await;
        assert_eq!(r.status(), 303);
    }
    for old in ["bo.berg@exampel.se", "ana.lind@exampel.se"] {
        let rows = mail_rows(&app, old).await;
        assert_eq!(rows.len(), 1, "{old}");
        assert_eq!(rows[0].0, "cancelled", "{old}");
    }

    // Staff cannot send the refused one to the old address again.
    app.staff_user("rec@onramp.test", "recruiter").await;
    let staff = app.sign_in("rec@onramp.test").await;
    let id: Uuid = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT id FROM outbox WHERE recipient = 'bo.berg@exampel.se'").fetch_one(p).await)
    .unwrap();
    let retry = app
        .post_as(&staff, &format!("/admin/emails/{id}/retry"), &[])
        .await;
    assert_eq!(retry.status(), 303);
    assert!(retry.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("queued=0"));
    let page = app
        .get_as(&staff, "/admin/emails?status=cancelled")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("the applicant corrected the address"),
        "{page}"
    );

    // A link email to the old address that a dispatcher already held when the correction
    // committed (queued here after the fact, as it would look) is checked again at send time.
    let ana = onramp::on_db!(&app.db, p => sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM applications WHERE email = 'ana.lind@example.se'").fetch_one(p).await)
    .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::outbox::enqueue(
        &mut tx,
        onramp::store::outbox::NewEmail {
            idempotency_key: format!("in-flight:{ana}"),
            template: "verify_email",
            recipient: "ana.lind@exampel.se",
            payload: serde_json::json!({ "application_id": ana, "name": "Ana", "reasons": [] }),
        },
        onramp::domain::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    app.drain().await;
    let received = app.received();
    for old in ["bo.berg@exampel.se", "ana.lind@exampel.se"] {
        assert!(mail_to(&received, old).is_empty(), "{old}");
    }
    for new in ["bo.berg@example.se", "ana.lind@example.se"] {
        assert_eq!(mail_to(&received, new).len(), 1, "{new}");
    }
    let late = mail_rows(&app, "ana.lind@exampel.se").await;
    assert!(
        late.iter().any(|(st, err)| st == "failed"
            && err.as_deref().unwrap_or("").contains("address has changed")),
        "{late:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixing_to_a_taken_address_looks_the_same_and_moves_nothing() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    assert_eq!(
        app.apply(&with_email("owner@example.com")).await.status(),
        303
    );
    let r = app.apply(&with_email("typo@exampel.com")).await;
    let cookie = receipt_cookie(&r);
    app.drain().await;
    let received = app.received();
    let typo_link = link(
        mail_to(&received, "typo@exampel.com")[0],
        &app.base,
        "/verify/",
    )
    .unwrap();
    let owner_mails = mail_to(&received, "owner@example.com").len();

    let r = app
        .post_as(
            &cookie,
            "/apply/fix",
            &[("email", "owner@example.com".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/apply/thanks");
    // As with a free address, the link sent to the mistyped one stops working...
    assert_eq!(
        app.get(&typo_link.replace(&app.base, "")).await.status(),
        410
    );
    // ...but nothing moves: the owner keeps their application and gets a link of their own.
    assert_eq!(app.count("applications").await, 2);
    assert_eq!(
        app.status_of("typo@exampel.com").await.as_deref(),
        Some("applied")
    );
    assert_eq!(
        app.status_of("owner@example.com").await.as_deref(),
        Some("applied")
    );
    app.drain().await;
    let received = app.received();
    assert_eq!(
        mail_to(&received, "owner@example.com").len(),
        owner_mails + 1
    );
    assert_eq!(mail_to(&received, "typo@exampel.com").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_sent_at_once_stop_at_the_limit() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    let cookie = receipt_cookie(&app.apply(&with_email("many@exampel.com")).await);
    let fixes = (0..20).map(|i| {
        let (app, cookie) = (&app, &cookie);
        async move {
            app.post_as(
                cookie,
                "/apply/fix",
                &[("email", format!("many{i}@example.com"))],
            )
            .await
            .status()
        }
    });
    let answers = futures_util::future::join_all(fixes).await;
    assert!(answers.iter().all(|s| *s == 303), "{answers:?}");
    let corrected: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM application_events WHERE kind = 'email_corrected'").fetch_one(p).await)
    .unwrap();
    assert_eq!(
        corrected, 3,
        "three corrections, however many arrive together"
    );
    assert_eq!(app.count("applications").await, 1);
    app.drain().await;
    // Each correction cancelled the mail to the address before it: one email went, to the
    // address the application has now.
    let now_at: String = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT email FROM applications").fetch_one(p).await)
    .unwrap();
    let received = app.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(mail_to(&received, &now_at).len(), 1);
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_that_cannot_be_sent_to_are_refused_by_form_and_api() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    for bad in [
        "ana@gmail",
        "x@example",
        ".ada@example.com",
        "vic..tim@example.com",
        "ada@[127.0.0.1]",
    ] {
        let r = app.apply(&with_email(bad)).await;
        assert_eq!(r.status(), 422, "{bad}");
        let html = r.text().await.unwrap();
        assert!(html.contains("href=\"#email\""), "{bad}");
        assert!(html.contains("id=\"email-error\""), "{bad}");
        let r = app
            .post_json("/api/v1/applications", &valid_json(bad))
            .await;
        assert_eq!(r.status(), 422, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["errors"]["email"].is_array(), "{bad}: {body}");
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_field_never_blocks_a_valid_signup() {
    let app = spawn_app().await;
    let body = format!(
        "{}&x=%FF&%FF=1&email_fix=",
        encode(&with_email("odd@example.com"))
    );
    let r = app.post_form("/apply", body).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.status_of("odd@example.com").await.as_deref(),
        Some("applied")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_ends_offer_a_new_link_to_the_address_on_file() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    let email = "lost@example.com";
    let quiz = app.invited(email).await;
    let sent = app.received().len();
    // The quiz link expires.
    app.set_to_a_minute_ago("UPDATE access_tokens SET expires_at = $1 WHERE purpose = 'quiz'")
        .await;
    let page = app.get(&quiz).await;
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("status page"),
        "no promise of an action that is not there"
    );
    assert!(html.contains(r#"action="/links/renew""#));
    let token = quiz.rsplit('/').next().unwrap();
    let known = app
        .post_form("/links/renew", format!("token={token}"))
        .await;
    let unknown = app.post_form("/links/renew", "token=made-up").await;
    assert_eq!(known.status(), 200);
    assert_eq!(unknown.status(), 200);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    app.drain().await;
    let received = app.received();
    assert_eq!(
        received.len(),
        sent + 1,
        "one email, for the known link only"
    );
    let renewed = &received[sent];
    assert!(header(renewed, "To").unwrap().contains(email));
    // It carries a working quiz link.
    let fresh = link(renewed, &app.base, "/quiz/").expect("quiz link");
    assert_eq!(app.get(&fresh.replace(&app.base, "")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_leads_back_into_a_running_quiz_with_the_time_left() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "midway@example.com";
    let quiz = app.invited(email).await;
    let received = app.received();
    let status = link(
        mail_to(&received, email).last().unwrap(),
        &app.base,
        "/status/",
    )
    .unwrap()
    .replace(&app.base, "");
    // Before starting, the status page offers the quiz.
    let page = app.get(&status).await.text().await.unwrap();
    assert!(page.contains("Start the quiz"), "{page}");

    assert_eq!(
        app.post_form(&format!("{quiz}/start"), "").await.status(),
        303
    );
    let attempt = app.latest_attempt(email).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    app.post_answer(
        &quiz,
        attempt.id,
        &items[0],
        &answer_fields(&items[0], true),
    )
    .await;

    let page = app.get(&status).await.text().await.unwrap();
    assert!(page.contains("left</strong>"), "{page}");
    assert!(
        page.contains("(Stockholm time, "),
        "times in the market's zone: {page}"
    );
    assert!(page.contains("You have answered 1 of 18 questions"));
    assert!(page.contains("Continue my quiz"));
    let back = app.post_form(&format!("{status}/quiz"), "").await;
    assert_eq!(back.status(), 303);
    let to = back.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/quiz/") && to != quiz, "{to}");
    // The new link opens the running attempt at the first unanswered question.
    let r = app.get(&to).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{to}/q/2")
    );
    let q = app.get(&format!("{to}/q/2")).await.text().await.unwrap();
    assert!(q.contains("Stockholm time"), "{q}");
    assert!(!q.contains(" UTC"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numbers_applicants_see_come_from_the_screening_config() {
    let app = spawn_app_with(|s| {
        s.min_age = 21;
        for m in &mut s.markets {
            if m.country == "SE" {
                m.min_weekly_hours = 12;
            }
        }
        // Sweden is now the market with the smallest minimum after Germany's change.
        for m in &mut s.markets {
            if m.country != "SE" {
                m.min_weekly_hours = m.min_weekly_hours.max(14);
            }
        }
    })
    .await;
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains("from 12 hours a week"), "{home}");
    let form = app.get("/apply").await.text().await.unwrap();
    assert!(form.contains("I am 21 or older"));
    assert!(form.contains("<li>Sweden: 12 hours a week</li>"), "{form}");
    assert!(form.contains(r#"value="SE" data-min-hours="12""#));
    // Re-rendered with Sweden chosen, the hint names Sweden's minimum.
    let mut f = valid_form("hint@example.com");
    f.iter_mut().find(|(k, _)| *k == "full_name").unwrap().1 = "A".into();
    let html = app.apply(&f).await.text().await.unwrap();
    assert!(
        html.contains("In Sweden we can schedule you from <strong>12 hours a week</strong>"),
        "{html}"
    );
    // An applicant below it is told the rule with the same number.
    let mut few = valid_form("few@example.com");
    few.iter_mut()
        .find(|(k, _)| *k == "weekly_hours")
        .unwrap()
        .1 = "10".into();
    assert_eq!(app.apply(&few).await.status(), 303);
    assert_eq!(
        app.status_of("few@example.com").await.as_deref(),
        Some("waitlisted")
    );
    app.drain().await;
    let mail = decode_qp(mail_to(&app.received(), "few@example.com")[0]);
    assert!(
        mail.contains(
            "You can offer 10 hours a week, and the fewest we can schedule in Sweden is 12."
        ),
        "{mail}"
    );
    // The form asks the configured age, and an API signup that is not old enough is told it.
    let html = app.get("/apply").await.text().await.unwrap();
    assert!(html.contains("Are you 21 or older?"), "{html}");
    let mut minor = valid_json("minor@example.com");
    minor["adult"] = serde_json::json!(false);
    app.post_json("/api/v1/applications", &minor).await;
    app.drain().await;
    let mail = decode_qp(mail_to(&app.received(), "minor@example.com")[0]);
    assert!(mail.contains("must be 21 or older"), "{mail}");
}
