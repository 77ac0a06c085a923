//! Where correctness depends on concurrency or time: simultaneous starts and submits, the one
//! open attempt index, the claim that makes scoring happen once, the answers re-read under it;
//! the grace period, the scheduler's own loop and its catch-up, retries left alone until due;
//! and shutting down with mail claimed and requests in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use onramp::domain::now;
use onramp::email::Mailer;
use onramp::jobs;
use onramp::store::{attempts, outbox, Db, StoreError};
use onramp::usecases::assessment;
use onramp::{on_db, on_writer};
use uuid::Uuid;

use crate::helpers::*;

async fn scalar(db: &Db, sql: &str) -> i64 {
    on_db!(db, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_starts_give_one_attempt() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let quiz = app.invited("racer@example.com").await;
    let start = format!("{quiz}/start");
    let starts = (0..8).map(|_| app.post_form(&start, ""));
    let answers = futures_util::future::join_all(starts).await;
    for r in &answers {
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], format!("{quiz}/q/1").as_str());
    }
    assert_eq!(app.count("quiz_attempts").await, 1);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(DISTINCT attempt_id) FROM attempt_items"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_refuses_a_second_open_attempt() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "indexed@example.com";
    let (_, open) = app.start_quiz(email).await;
    let drawn = &attempts::items(&app.db, open.id).await.unwrap()[0];
    let item = || {
        vec![attempts::NewItem {
            question_version_id: drawn.question_version_id,
            category: drawn.category.clone(),
            weight_bp: drawn.weight_bp,
            choice_order: drawn.choice_order.clone(),
        }]
    };
    // Straight to the store, past every check in the use case: only the partial unique index
    // stands between this and two open attempts.
    let mut tx = app.db.begin().await.unwrap();
    let second = attempts::create(
        &mut tx,
        Uuid::now_v7(),
        open.application_id,
        open.quiz_id,
        open.number + 1,
        &open.definition,
        now(),
        now() + Span::minutes(25),
        now() + Span::minutes(26),
        &item(),
    )
    .await;
    assert!(
        matches!(&second, Err(StoreError::Conflict(c)) if c == "quiz_attempts_one_open"),
        "{second:?}"
    );
    drop(tx);
    assert_eq!(app.count("quiz_attempts").await, 1);
    // Once the first is closed, the index allows the next.
    assessment::finish(&app.db, &app.settings, open.id, "submitted")
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    attempts::create(
        &mut tx,
        Uuid::now_v7(),
        open.application_id,
        open.quiz_id,
        open.number + 1,
        &open.definition,
        now(),
        now() + Span::minutes(25),
        now() + Span::minutes(26),
        &item(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_submits_score_once() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "double@example.com";
    let (quiz, attempt) = app.start_quiz(email).await;
    app.answer_all(&quiz, email, true).await;
    let submits = (0..6).map(|_| app.submit(&quiz, attempt.id));
    for r in futures_util::future::join_all(submits).await {
        assert_eq!(r.status(), 303);
    }
    // And the losing side of the claim, called directly and at once: exactly one scores.
    let scored = app.latest_attempt(email).await;
    assert_eq!(scored.status, attempts::SCORED);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM outbox WHERE template = 'quiz_passed'"
        )
        .await,
        1
    );
    // Every drawn version was counted once in the statistics, not once per submit.
    assert_eq!(scalar(&app.db, "SELECT MAX(n) FROM item_stats").await, 1);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM application_events WHERE kind = 'quiz_scored'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_claim_lets_one_of_two_finishes_through() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "claimed@example.com";
    let (quiz, attempt) = app.start_quiz(email).await;
    app.answer_all(&quiz, email, false).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    // Both read the open attempt first, then race for the claim.
    let (a, b) = tokio::join!(
        assessment::finish_read(
            &app.db,
            &app.settings,
            attempt.clone(),
            items.clone(),
            "submitted"
        ),
        assessment::finish_read(
            &app.db,
            &app.settings,
            attempt.clone(),
            items.clone(),
            "timed_out"
        ),
    );
    let won = [a.unwrap(), b.unwrap()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    assert_eq!(scalar(&app.db, "SELECT MAX(n) FROM item_stats").await, 1);
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM outbox WHERE template = 'quiz_failed'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_saved_after_the_read_is_counted() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "lastsecond@example.com";
    let (quiz, attempt) = app.start_quiz(email).await;
    // The scorer reads the attempt with nothing answered ...
    let stale = attempts::items(&app.db, attempt.id).await.unwrap();
    // ... the applicant's last answers land ...
    app.answer_all(&quiz, email, true).await;
    // ... and then the claim: the answers must be read again under it.
    assert!(
        assessment::finish_read(&app.db, &app.settings, attempt, stale, "submitted")
            .await
            .unwrap()
    );
    let scored = app.latest_attempt(email).await;
    assert_eq!(
        scored.score_bp,
        Some(10_000),
        "scored from the answers saved in time"
    );
    assert_eq!(app.status_of(email).await.as_deref(), Some("quiz_passed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_in_the_grace_period_count_and_later_ones_do_not() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "grace@example.com";
    let (quiz, attempt) = app.start_quiz(email).await;
    let items = attempts::items(&app.db, attempt.id).await.unwrap();
    // The deadline passed a moment ago; the grace period has not.
    let (past, later) = (now() - Span::seconds(5), now() + Span::seconds(25));
    on_writer!(&app.db, p => sqlx::query("UPDATE quiz_attempts SET deadline = $1, closes_at = $2")
        .bind(past).bind(later).execute(p).await.map(|_| ()))
    .unwrap();
    let r = app
        .post_answer(
            &quiz,
            attempt.id,
            &items[0],
            &answer_fields(&items[0], true),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(attempts::items(&app.db, attempt.id).await.unwrap()[0]
        .answer
        .is_some());
    // Time moves on, set in the past rather than waited for: the deadline was 5 s ago, the
    // answer came 3 s ago (inside the grace period), and the grace period ended 1 s ago.
    let t = now();
    on_writer!(&app.db, p => sqlx::query(
        "UPDATE quiz_attempts SET deadline = $1, closes_at = $2")
        .bind(t - Span::seconds(5)).bind(t - Span::seconds(1)).execute(p).await.map(|_| ()))
    .unwrap();
    on_writer!(&app.db, p => sqlx::query(
        "UPDATE attempt_items SET answered_at = $1 WHERE answered_at IS NOT NULL")
        .bind(t - Span::seconds(3)).execute(p).await.map(|_| ()))
    .unwrap();
    let r = app
        .post_answer(
            &quiz,
            attempt.id,
            &items[1],
            &answer_fields(&items[1], true),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], quiz.as_str());
    // Following the redirect closes and scores the attempt.
    assert_eq!(app.get(&quiz).await.status(), 200);
    let after = attempts::items(&app.db, attempt.id).await.unwrap();
    assert!(after[1].answer.is_none(), "a late answer is not stored");
    let scored = app.latest_attempt(email).await;
    assert_eq!(scored.finished_by.as_deref(), Some("timed_out"));
    assert_eq!(
        after[0].score_bp,
        Some(10_000),
        "the answer in the grace period counts"
    );
    assert_eq!(after[1].score_bp, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_a_one_second_schedule_and_records_each_tick() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    let email = "abandoned@example.com";
    app.start_quiz(email).await;
    let gone = now() - Span::minutes(1);
    on_writer!(&app.db, p => sqlx::query("UPDATE quiz_attempts SET deadline = $1, closes_at = $1")
        .bind(gone).execute(p).await.map(|_| ()))
    .unwrap();
    let mut settings = (*app.settings).clone();
    settings.jobs.close_quiz_attempts = "* * * * * *".into();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles = jobs::spawn_all(app.db.clone(), Arc::new(settings), app.db.now(), stopped);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = scalar(
            &app.db,
            "SELECT COUNT(*) FROM job_runs WHERE job = 'close_quiz_attempts' AND finished_at IS NOT NULL",
        )
        .await;
        if done >= 2 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    for h in handles {
        tokio::time::timeout(Duration::from_secs(5), h)
            .await
            .expect("jobs stop when told")
            .unwrap();
    }
    let runs: Vec<(String, Option<i64>)> = on_db!(&app.db, p => sqlx::query_as(
        "SELECT outcome, items FROM job_runs WHERE job = 'close_quiz_attempts' \
         AND finished_at IS NOT NULL ORDER BY fire_at").fetch_all(p).await)
    .unwrap();
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(runs.iter().all(|(o, _)| o == "ok"), "{runs:?}");
    // The first tick closed the abandoned attempt, the next found nothing left.
    assert_eq!(runs[0].1, Some(1), "{runs:?}");
    assert_eq!(runs[1].1, Some(0), "{runs:?}");
    assert_eq!(app.status_of(email).await.as_deref(), Some("quiz_failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_left_alone_until_it_is_due() {
    let app = spawn_app().await;
    app.apply(&valid_form("later@example.com")).await;
    // A retry scheduled for later (as a 4xx leaves it), set in the stored row.
    let later = now() + Span::minutes(10);
    on_writer!(&app.db, p => sqlx::query("UPDATE outbox SET next_attempt_at = $1, attempts = 1")
        .bind(later).execute(p).await.map(|_| ()))
    .unwrap();
    assert_eq!(app.round().await.claimed, 0);
    assert!(app.received().is_empty());
    // Due now: it goes.
    let due = now() - Span::seconds(1);
    on_writer!(&app.db, p => sqlx::query("UPDATE outbox SET next_attempt_at = $1")
        .bind(due).execute(p).await.map(|_| ()))
    .unwrap();
    assert_eq!(app.round().await.sent, 1);
}

/// Shutting down while emails are being sent and a request is arriving: the sends in flight
/// finish and are recorded, the claimed ones not yet tried are handed back, the request is
/// answered, and another instance sends the rest exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_finishes_what_is_in_flight_and_hands_back_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (port, smtp) = start_smtp();
    let url = fresh_database_url(dir.path()).await;
    let mut settings = test_settings(&url, dir.path(), port);
    settings.mail.pool_size = 2;
    settings.mail.send_timeout_secs = 10;
    settings.outbox.lease_secs = 600;
    let app = onramp::app::Application::build(
        settings,
        Mailer::from_settings(&test_settings(&url, dir.path(), port)).unwrap(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", app.addr);
    let db = app.state.db.clone();
    let app_settings = app.state.settings.clone();
    // Ten emails queued before the dispatcher starts, and a server that takes its time.
    for i in 0..10 {
        let (raw, _) = onramp::domain::application::RawApplication::from_pairs(
            valid_form(&format!("q{i}@example.com"))
                .into_iter()
                .map(|(k, v)| (k.to_string(), Ok(v)))
                .collect(),
        );
        app.state
            .intake
            .submit(
                raw.parse().unwrap(),
                onramp::usecases::intake::Channel::Form,
            )
            .await
            .unwrap();
    }
    smtp.lock().unwrap().mode = SmtpMode::Slow(Duration::from_millis(600));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run(
        async {
            let _ = stop_rx.await;
        },
        true,
    ));
    // Wait until sends are in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while smtp.lock().unwrap().started == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(smtp.lock().unwrap().started > 0, "sends started");
    // A request whose body is still arriving when the shutdown starts.
    let (body_tx, body_rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let form = encode(&valid_form("inflight@example.com"));
    let (first, rest) = form.split_at(form.len() / 2);
    body_tx.send(Ok(first.as_bytes().to_vec())).await.unwrap();
    let request = tokio::spawn(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{base}/apply"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", form.len())
            .body(reqwest::Body::wrap_stream(tokio_stream_from(body_rx)))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    body_tx.send(Ok(rest.as_bytes().to_vec())).await.unwrap();
    drop(body_tx);
    let answered = request
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(answered.status(), 303);
    running.await.unwrap().unwrap();

    let db2 = Db::connect(&url).await.unwrap();
    let rows = outbox::list(&db2, None, 100).await.unwrap();
    let sent: Vec<_> = rows.iter().filter(|r| r.status == "sent").collect();
    let pending: Vec<_> = rows.iter().filter(|r| r.status == "pending").collect();
    // The sends in flight finished and were recorded ...
    assert!(!sent.is_empty(), "{rows:?}");
    assert_eq!(sent.len(), smtp.lock().unwrap().received.len());
    // ... and the ones claimed but not tried were handed back, without an attempt counted.
    assert!(pending.len() > 1, "{rows:?}");
    for r in &pending {
        assert_eq!(r.attempts, 0, "{r:?}");
    }
    let leased = scalar(
        &db2,
        "SELECT COUNT(*) FROM outbox WHERE locked_until IS NOT NULL",
    )
    .await;
    assert_eq!(leased, 0);
    // Another instance sends them at once, not after a lease runs out, and nothing twice.
    smtp.lock().unwrap().mode = SmtpMode::Accept;
    let other = onramp::email::Dispatcher::new(
        db2.clone(),
        Mailer::from_settings(&app_settings).unwrap(),
        Arc::new(onramp::app::renderer(&app_settings).unwrap()),
        app_settings.clone(),
    )
    .unwrap();
    onramp::email::dispatcher::drain(&other).await.unwrap();
    let received = smtp.lock().unwrap().received.clone();
    assert_eq!(
        received.len(),
        11,
        "ten queued and the one that arrived in flight"
    );
    assert_each_sent_once(&received);
    drop(db);
}

/// A stream of body chunks from a channel.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_a_job_now_and_switches_it_off_for_every_instance() {
    let app = spawn_app().await;
    app.staff_user("ada@onramp.test", "admin").await;
    let cookie = app.sign_in("ada@onramp.test").await;
    let html = app
        .get_as(&cookie, "/admin/jobs")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<code>live_snapshot</code>"), "{html}");
    assert!(html.contains("No runs yet."));
    // Run now: claimed and recorded like a tick, shown with its outcome.
    let r = app
        .post_as(&cookie, "/admin/jobs/live_snapshot/run", &[])
        .await;
    assert_eq!(r.status(), 303);
    let html = app
        .get_as(&cookie, "/admin/jobs")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Last runs of live_snapshot"), "{html}");
    assert!(html.contains("<td class=\"break\">ok</td>"), "{html}");
    // An unknown job is a 404; a switch without on or off is refused.
    let r = app.post_as(&cookie, "/admin/jobs/nope/run", &[]).await;
    assert_eq!(r.status(), 404);
    let r = app
        .post_as(&cookie, "/admin/jobs/close_quiz_attempts/switch", &[])
        .await;
    assert_eq!(r.status(), 422);

    // Switched off, a job that fires every second runs no tick; switched on again, it does.
    let r = app
        .post_as(
            &cookie,
            "/admin/jobs/close_quiz_attempts/switch",
            &[("enabled", "false".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let mut settings = (*app.settings).clone();
    settings.jobs.close_quiz_attempts = "* * * * * *".into();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles = jobs::spawn_all(app.db.clone(), Arc::new(settings), app.db.now(), stopped);
    let runs = || async {
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM job_runs WHERE job = 'close_quiz_attempts'",
        )
        .await
    };
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(runs().await, 0, "switched off");
    let r = app
        .post_as(
            &cookie,
            "/admin/jobs/close_quiz_attempts/switch",
            &[("enabled", "true".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let deadline = Instant::now() + Duration::from_secs(10);
    while runs().await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(runs().await > 0, "switched on again");
    stop.send(true).unwrap();
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    let audit = scalar(
        &app.db,
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('job.switch', 'job.run')",
    )
    .await;
    assert_eq!(audit, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_pauses_all_sending_and_resumes_it_without_losing_mail() {
    let app = spawn_app().await;
    app.staff_user("ada@onramp.test", "admin").await;
    let cookie = app.sign_in("ada@onramp.test").await;
    let r = app
        .post_as(
            &cookie,
            "/admin/jobs/outbox_dispatch/switch",
            &[("enabled", "false".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = app
        .get_as(&cookie, "/admin/jobs")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Resume sending"), "{html}");
    // A signup while paused: its email waits, nothing is sent.
    assert_eq!(
        app.apply(&valid_form("paused@example.com")).await.status(),
        303
    );
    let round = app.drain().await;
    assert_eq!(round.claimed, 0);
    assert!(mail_to(&app.received(), "paused@example.com").is_empty());
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"
        )
        .await,
        1
    );
    // Resumed: it goes out, once.
    let r = app
        .post_as(
            &cookie,
            "/admin/jobs/outbox_dispatch/switch",
            &[("enabled", "true".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.drain().await;
    assert_eq!(mail_to(&app.received(), "paused@example.com").len(), 1);
}
