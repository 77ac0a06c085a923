//! Promises the README and the design make that nothing else checks: staff sessions end, the
//! outbox never holds a secret, attempts keep the question versions they showed, inactive
//! quizzes are not offered, and each kind of link lives as long as configured.

use chrono::Duration as Span;
use onramp::domain::now;
use onramp::store::{attempts, quizzes};
use onramp::{on_db, on_writer};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_session_ends_when_it_expires() {
    let app = spawn_app_with(|s| s.staff_session_hours = 3).await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let r = app.login("rita@onramp.test", PASSWORD, None).await;
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.contains("Max-Age=10800"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    assert_eq!(app.get_as(&cookie, "/admin").await.status(), 200);
    let expires: chrono::DateTime<chrono::Utc> = on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT expires_at FROM staff_sessions").fetch_one(p).await)
    .unwrap();
    let left = expires - now();
    assert!(
        left > Span::minutes(179) && left <= Span::hours(3),
        "{left}"
    );
    // The session's time runs out (set in the past): the cookie no longer signs anyone in.
    on_writer!(&app.db, p => sqlx::query("UPDATE staff_sessions SET expires_at = $1")
        .bind(now() - Span::seconds(1)).execute(p).await.map(|_| ()))
    .unwrap();
    let r = app.get_as(&cookie, "/admin/questions").await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_never_holds_a_link_token() {
    let app = spawn_app_with(|s| s.verify_resend_cooldown_secs = 0).await;
    app.load_quizzes().await;
    let email = "secret@example.com";
    let quiz = app.invited(email).await;
    // More links: a renewed one and a status link on request.
    let token = quiz.rsplit('/').next().unwrap();
    app.post_form("/links/renew", format!("token={token}"))
        .await;
    app.post_form("/verify/resend", "email=secret%40example.com")
        .await;
    app.drain().await;
    let received = app.received();
    let mut tokens = Vec::new();
    for m in mail_to(&received, email) {
        let text = decode_qp(m);
        for prefix in ["/verify/", "/status/", "/quiz/"] {
            let mut rest = text.as_str();
            let start = format!("{}{prefix}", app.base);
            while let Some(at) = rest.find(&start) {
                let after = &rest[at + start.len()..];
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .unwrap_or(after.len());
                tokens.push(after[..end].to_string());
                rest = &after[end..];
            }
        }
    }
    tokens.sort();
    tokens.dedup();
    assert!(tokens.len() >= 5, "{tokens:?}");
    let payloads: Vec<String> = on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT payload FROM outbox").fetch_all(p).await)
    .unwrap();
    assert!(payloads.len() >= 4);
    for payload in &payloads {
        for t in &tokens {
            assert!(
                !payload.contains(t.as_str()),
                "a token in the outbox: {payload}"
            );
        }
        assert!(!payload.contains("_url"), "{payload}");
    }
    // Only hashes are stored.
    let stored: Vec<String> = on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT token_hash FROM access_tokens").fetch_all(p).await)
    .unwrap();
    for t in &tokens {
        assert!(!stored.contains(t));
        assert!(stored.contains(&onramp::domain::token::hash_token(t)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_keeps_the_question_versions_it_showed_after_an_edit() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "steady@example.com";
    let (quiz, attempt) = app.start_quiz(email).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    let first = &items[0];
    // A recruiter rewords the first question while the attempt runs.
    let mut edited = first.question.clone();
    edited.prompt = "A completely different question, edited mid-attempt.".into();
    assert!(quizzes::save_question(&app.db, &edited, now())
        .await
        .unwrap());
    assert_eq!(
        quizzes::version_count(&app.db, &first.question.key)
            .await
            .unwrap(),
        2
    );
    // The page shows the version the attempt drew, and the item still points at it.
    let page = app.get(&format!("{quiz}/q/1")).await.text().await.unwrap();
    let shown = first.question.prompt.lines().next().unwrap();
    assert!(
        page.contains(&shown.replace('\'', "&#x27;").replace('"', "&quot;")),
        "{page}"
    );
    assert!(!page.contains("edited mid-attempt"));
    // Scoring is against that version too: the right answers to it score in full.
    app.answer_all(&quiz, email, true).await;
    assert_eq!(app.submit(&quiz, attempt.id).await.status(), 303);
    let after = attempts::items(&app.db, attempt.id).await.unwrap();
    assert_eq!(after[0].question_version_id, first.question_version_id);
    assert_eq!(after[0].score_bp, Some(10_000));
    assert_eq!(app.latest_attempt(email).await.score_bp, Some(10_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_quiz_is_not_offered() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    for slug in ["agents-sweden", "agents-english"] {
        app.edit_quiz(slug, |d| d.active = false).await;
    }
    let email = "noquiz@example.com";
    assert_eq!(app.apply(&valid_form(email)).await.status(), 303);
    app.drain().await;
    let verify = link(mail_to(&app.received(), email)[0], &app.base, "/verify/").unwrap();
    let status_page = app.confirm(&verify).await;
    assert!(!status_page.contains("Start the quiz"), "{status_page}");
    app.drain().await;
    let received = app.received();
    let mail = mail_to(&received, email);
    assert_eq!(mail.len(), 2);
    let second = decode_qp(mail[1]);
    assert!(!second.contains("Your skills quiz is ready"), "{second}");
    assert!(link(&second, &app.base, "/quiz/").is_none());
    assert_eq!(app.count("quiz_attempts").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_link_lives_as_long_as_configured() {
    let app = spawn_app_with(|s| {
        s.verify_token_ttl_hours = 5;
        s.status_token_ttl_days = 9;
    })
    .await;
    app.load_quizzes().await;
    app.invited("lifetimes@example.com").await;
    let rows: Vec<(
        String,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    )> = on_db!(&app.db, p => sqlx::query_as(
            "SELECT purpose, created_at, expires_at FROM access_tokens").fetch_all(p).await)
    .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    // A newer link of a purpose replaces (expires) the earlier ones: the live ones show the
    // configured lifetimes.
    let now = onramp::domain::now();
    for (purpose, created, expires) in rows.iter().filter(|(.., e)| *e > now) {
        let expected = match purpose.as_str() {
            "verify_email" => Span::hours(5),
            "status" | "quiz" => Span::days(9),
            "signup_receipt" => Span::minutes(onramp::usecases::intake::RECEIPT_TTL_MINUTES),
            other => panic!("unexpected purpose {other}"),
        };
        assert_eq!(*expires - *created, expected, "{purpose}");
        seen.insert(purpose.as_str());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["quiz", "signup_receipt", "status", "verify_email"]
    );
}
