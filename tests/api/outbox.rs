//! The outbox against a real SMTP server that misbehaves in the ways real ones do.

use std::sync::Arc;
use std::time::Duration;

use onramp::email::dispatcher::{self, Dispatcher};
use onramp::email::Mailer;
use onramp::store::{outbox, Db};

use crate::helpers::*;

async fn wait_for_backoff() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn only_row(app: &TestApp) -> outbox::OutboxRow {
    let rows = outbox::list(&app.db, None, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_refusal_is_retried_and_delivered_once() {
    let app = spawn_app().await;
    app.apply(&valid_form("retry@example.com")).await;
    app.set_smtp(SmtpMode::Refuse);
    let r = app.round().await;
    assert_eq!((r.sent, r.retried), (0, 1));
    let row = only_row(&app).await;
    assert_eq!(row.status, "pending");
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("Try again later"),
        "{row:?}"
    );
    assert!(row.next_attempt_at > row.created_at);

    // Still refusing: another retry, not a failure.
    wait_for_backoff().await;
    assert_eq!(app.round().await.retried, 1);

    app.set_smtp(SmtpMode::Accept);
    wait_for_backoff().await;
    assert_eq!(app.drain().await.sent, 1);
    wait_for_backoff().await;
    assert_eq!(app.drain().await.claimed, 0);
    assert_eq!(app.received().len(), 1, "delivered exactly once");
    let row = only_row(&app).await;
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 3);
    assert!(row.smtp_response.as_deref().unwrap().starts_with("250"));
    assert!(row.sent_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_rejection_fails_with_the_reason_and_can_be_retried_by_hand() {
    let app = spawn_app().await;
    app.apply(&valid_form("gone@example.com")).await;
    app.set_smtp(SmtpMode::Reject);
    let r = app.drain().await;
    assert_eq!((r.sent, r.failed), (0, 1));
    wait_for_backoff().await;
    assert_eq!(
        app.drain().await.claimed,
        0,
        "a failed row is not retried on its own"
    );
    let row = only_row(&app).await;
    assert_eq!(row.status, "failed");
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("No such mailbox here"),
        "{row:?}"
    );
    assert!(app.received().is_empty());

    // An admin fixes the cause and queues it again.
    app.set_smtp(SmtpMode::Accept);
    assert!(outbox::retry_failed(&app.db, row.id, onramp::domain::now())
        .await
        .unwrap());
    assert!(
        !outbox::retry_failed(&app.db, row.id, onramp::domain::now())
            .await
            .unwrap()
    );
    assert_eq!(app.drain().await.sent, 1);
    assert_eq!(app.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_server_times_out_and_the_send_is_retried() {
    let app = spawn_app().await;
    app.apply(&valid_form("slow@example.com")).await;
    app.set_smtp(SmtpMode::Stall(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let r = app.round().await;
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "the timeout cut the send short"
    );
    assert_eq!(r.retried, 1);
    let row = only_row(&app).await;
    assert!(
        row.last_error.as_deref().unwrap().contains("timed out"),
        "{row:?}"
    );

    app.set_smtp(SmtpMode::Accept);
    wait_for_backoff().await;
    let r = app.drain().await;
    assert_eq!(r.sent, 1, "{r:?} {:?}", only_row(&app).await);
    assert_eq!(app.received().len(), 1);
    assert_eq!(only_row(&app).await.status, "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_give_up_after_max_attempts() {
    let app = spawn_app_with(|s| s.outbox.max_attempts = 2).await;
    app.apply(&valid_form("never@example.com")).await;
    app.set_smtp(SmtpMode::Refuse);
    assert_eq!(app.round().await.retried, 1);
    wait_for_backoff().await;
    assert_eq!(app.round().await.failed, 1);
    let row = only_row(&app).await;
    assert_eq!(row.status, "failed");
    assert!(row
        .last_error
        .unwrap()
        .starts_with("gave up after 2 attempts"));
}

/// Two dispatchers with their own connections to one database, as two instances would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_never_send_the_same_email_twice() {
    let app = spawn_app_with(|s| s.outbox.batch_size = 4).await;
    for i in 0..40 {
        assert_eq!(
            app.apply(&valid_form(&format!("p{i}@example.com")))
                .await
                .status(),
            303
        );
    }
    let other_db = Db::connect(&app.database_url).await.unwrap();
    let settings = app.settings.clone();
    let other = Dispatcher::new(
        other_db,
        Mailer::from_settings(&settings).unwrap(),
        Arc::new(onramp::app::renderer(&settings).unwrap()),
        settings.clone(),
    )
    .unwrap();
    let (a, b) = tokio::join!(
        dispatcher::drain(&app.dispatcher),
        dispatcher::drain(&other)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 40);
    assert!(a.sent > 0 && b.sent > 0, "both took part: {a:?} {b:?}");
    let received = app.received();
    assert_eq!(received.len(), 40);
    assert_each_sent_once(&received);
}

/// A dispatcher that stops hands its claimed rows back, so nothing waits out a lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_releases_leases() {
    let app = spawn_app().await;
    app.apply(&valid_form("lease@example.com")).await;
    let now = onramp::domain::now();
    let worker = "crashed-instance";
    let claimed = outbox::claim(&app.db, worker, now, now + chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Leased to another worker: not ours to send.
    assert_eq!(app.drain().await.claimed, 0);
    let ids: Vec<uuid::Uuid> = claimed.iter().map(|c| c.id).collect();
    assert_eq!(
        outbox::release(&app.db, "someone-else", &ids)
            .await
            .unwrap(),
        0
    );
    assert_eq!(outbox::release(&app.db, worker, &ids).await.unwrap(), 1);
    assert_eq!(app.drain().await.sent, 1);
    let row = only_row(&app).await;
    assert_eq!(
        row.attempts, 1,
        "the released claim does not count as an attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_filter_the_outbox_retry_or_cancel_failed_mail_and_preview_every_email() {
    let app = spawn_app().await;
    for who in ["gone@example.com", "lost@example.com", "fine@example.org"] {
        app.apply(&valid_form(who)).await;
    }
    // Two are refused for good; one goes out.
    app.set_smtp(SmtpMode::Reject);
    assert_eq!(app.drain().await.failed, 3);
    app.set_smtp(SmtpMode::Accept);
    let rows = outbox::list(&app.db, Some("failed"), 10).await.unwrap();
    let fine = rows
        .iter()
        .find(|r| r.recipient == "fine@example.org")
        .unwrap();
    assert!(outbox::retry_failed(&app.db, fine.id, app.db.now())
        .await
        .unwrap());
    assert_eq!(app.drain().await.sent, 1);
    let gone = rows
        .iter()
        .find(|r| r.recipient == "gone@example.com")
        .unwrap()
        .id;
    let lost = rows
        .iter()
        .find(|r| r.recipient == "lost@example.com")
        .unwrap()
        .id;

    app.staff_user("ada@onramp.test", "admin").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let admin = app.sign_in("ada@onramp.test").await;
    let recruiter = app.sign_in("rita@onramp.test").await;
    let page = |cookie: String, path: &'static str| {
        let app = &app;
        async move {
            let r = app.get_as(&cookie, path).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Failed first, with both; the sent tab has the other, and the address filter narrows.
    let (status, html) = page(admin.clone(), "/admin/outbox").await;
    assert_eq!(status, 200);
    assert!(html.contains("gone@example.com") && html.contains("lost@example.com"));
    assert!(html.contains("No such mailbox here"));
    assert!(!html.contains("fine@example.org"));
    assert!(
        html.contains("Failed <span class=\"count\">2</span>"),
        "{html}"
    );
    let (_, html) = page(admin.clone(), "/admin/outbox?state=sent").await;
    assert!(html.contains("fine@example.org") && !html.contains("gone@example.com"));
    let (_, html) = page(admin.clone(), "/admin/outbox?state=failed&to=LOST").await;
    assert!(html.contains("lost@example.com") && !html.contains("gone@example.com"));
    let (_, html) = page(
        admin.clone(),
        "/admin/outbox?state=failed&template=application_rejected",
    )
    .await;
    assert!(!html.contains("lost@example.com"), "filtered by email");
    // Unreadable filters are named, and change nothing.
    let before = app.table_rows("outbox").await;
    let (status, html) = page(admin.clone(), "/admin/outbox?state=lost&template=nope").await;
    assert_eq!(status, 422);
    assert!(
        html.contains("href=\"#state\"") && html.contains("href=\"#template\""),
        "{html}"
    );
    assert!(html.contains("Choose an email from the list."));
    assert_eq!(app.table_rows("outbox").await, before);

    // A recruiter may not see the outbox or act on it.
    assert_eq!(page(recruiter.clone(), "/admin/outbox").await.0, 403);
    let r = app
        .post_as(&recruiter, &format!("/admin/outbox/{gone}/retry"), &[])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.table_rows("outbox").await, before);

    // Cancel one, send the other again.
    let r = app
        .post_as(&admin, &format!("/admin/outbox/{lost}/cancel"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/admin/outbox?state=failed&done=cancelled"
    );
    let r = app
        .post_as(&admin, &format!("/admin/outbox/{gone}/retry"), &[])
        .await;
    assert_eq!(
        r.headers()["location"],
        "/admin/outbox?state=failed&done=queued"
    );
    // Neither is failed any more: acting again changes nothing.
    let r = app
        .post_as(&admin, &format!("/admin/outbox/{lost}/retry"), &[])
        .await;
    assert_eq!(
        r.headers()["location"],
        "/admin/outbox?state=failed&done=unchanged"
    );
    let now = outbox::list(&app.db, None, 10).await.unwrap();
    let status_of = |id| now.iter().find(|r| r.id == id).unwrap().status.as_str();
    assert_eq!(status_of(lost), "cancelled");
    assert_eq!(status_of(gone), "pending");
    assert_eq!(app.drain().await.sent, 1);
    assert_eq!(mail_to(&app.received(), "lost@example.com").len(), 0);
    assert_eq!(mail_to(&app.received(), "gone@example.com").len(), 1);
    let audit = app.table_rows("audit_log").await;
    assert!(audit.iter().any(|r| r.contains("outbox.cancel")));
    assert!(audit.iter().any(|r| r.contains("outbox.retry")));

    // Every email previews with sample data, both parts; only reminders offer unsubscribing.
    for name in onramp::email::templates::EMAILS {
        let r = app
            .get_as(&admin, &format!("/admin/outbox/preview/{name}"))
            .await;
        assert_eq!(r.status(), 200, "{name}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("HTML part") && html.contains("Text part"),
            "{name}"
        );
        assert_eq!(
            html.contains("/unsubscribe/"),
            onramp::email::templates::is_non_essential(name),
            "{name}"
        );
    }
    let r = app.get_as(&admin, "/admin/outbox/preview/nope").await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.get_as(&admin, "/admin/outbox/preview/nope/html")
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_previews_show_the_html_part_in_a_sandboxed_frame_with_real_quiz_figures() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("ada@onramp.test", "admin").await;
    let admin = app.sign_in("ada@onramp.test").await;
    let mut styled = 0;
    for name in onramp::email::templates::EMAILS {
        let page = app
            .get_as(&admin, &format!("/admin/outbox/preview/{name}"))
            .await;
        // The page keeps the site's policy, and frames the HTML part rather than inlining it.
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert_eq!(csp, onramp::web::headers::CSP);
        let html = page.text().await.unwrap();
        let frame = format!(
            "<iframe class=\"email-frame\" src=\"/admin/outbox/preview/{name}/html\" sandbox"
        );
        assert!(html.contains(&frame), "{name}: {html}");
        // The frame's document has a policy of its own: its inline styles apply, no script
        // runs, only this site frames it.
        let r = app
            .get_as(&admin, &format!("/admin/outbox/preview/{name}/html"))
            .await;
        assert_eq!(r.status(), 200, "{name}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("style-src 'unsafe-inline'"), "{csp}");
        assert!(
            csp.contains("sandbox") && csp.contains("frame-ancestors 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "{csp}");
        assert_eq!(h["x-frame-options"], "SAMEORIGIN");
        let body = r.text().await.unwrap();
        assert!(body.contains("<body"), "{name}: {body}");
        if body.contains("style=\"") {
            styled += 1;
        }
    }
    // Most emails carry inline styles (buttons, colours): what the site's policy would block.
    assert!(styled >= 10, "{styled}");
    // The quiz figures are the real quiz's.
    let (_, def) = onramp::store::quizzes::quizzes(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, d)| d.active)
        .unwrap();
    let html = app
        .get_as(&admin, "/admin/outbox/preview/quiz_invitation")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("{} questions", def.question_count())),
        "{html}"
    );
    assert!(
        html.contains(&format!("{} minutes", def.time_limit_minutes)),
        "{html}"
    );
    // Recruiters may not look.
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;
    assert_eq!(
        app.get_as(&rita, "/admin/outbox/preview/quiz_invitation/html")
            .await
            .status(),
        403
    );
}
