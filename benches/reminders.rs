//! Reminder benchmark (see benches/README.md):
//!
//! 1. **Queueing.** On `BENCH_ROWS` (default 1,000,000) synthetic applicants, `BENCH_DUE`
//!    (default 100,000) are unconfirmed and past the reminder time. One `verify_reminder` tick
//!    claims and queues a reminder for each (batches of 500: claim in `reminders`, re-read under
//!    lock, queue the email). Baseline, in the same run: the same number of emails queued
//!    straight into the outbox in the same batch size, with nothing to find or claim.
//! 2. **Delivery.** `BENCH_MESSAGES` (default 10,000) of those reminders delivered by the real
//!    dispatcher (claim, mint the fresh link and the unsubscribe link, render, send with
//!    `List-Unsubscribe`, mark sent) over `BENCH_POOL` (default 4) connections to a local SMTP
//!    server. Baseline: the same number of messages rendered from a template, built with
//!    lettre and sent straight over the same kind of connection pool, `BENCH_POOL` at a time. Targets: delivery at least 70% of the direct rate,
//!    and under 10 s.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use onramp::email::smtp::SmtpPool;
use onramp::email::Renderer;
use onramp::store::outbox::{self, NewEmail};
use onramp::store::{Db, Pools};

mod common;
use common::{env_or, start_sink};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn exec(db: &Db, sql: &str, at: chrono::DateTime<chrono::Utc>) -> u64 {
    onramp::on_writer!(db, p => sqlx::query(sql).bind(at).execute(p).await.map(|r| r.rows_affected()))
        .unwrap()
}

async fn run() {
    let rows = env_or("BENCH_ROWS", 1_000_000) as u64;
    let due = env_or("BENCH_DUE", 100_000);
    let n_send = env_or("BENCH_MESSAGES", 10_000).min(due);
    let pool = env_or("BENCH_POOL", 4);
    let dir = tempfile::tempdir().unwrap();
    let (url, db, drop_after) = common::synthetic_db(dir.path(), rows, "reminder").await;
    println!("due: {due}");

    // Nobody is due but the chosen: the unconfirmed got a link just now, then `due` people
    // who signed up over a day ago are unconfirmed with a link 30 hours old.
    let now = onramp::domain::now();
    exec(
        &db,
        "UPDATE applications SET verify_requested_at = $1 WHERE status = 'applied'",
        now,
    )
    .await;
    let old = now - chrono::Duration::hours(30);
    let ids: Vec<uuid::Uuid> = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT id FROM applications WHERE status IN ('applied', 'verified') \
         AND created_at <= $1 ORDER BY id LIMIT $2")
        .bind(old).bind(due as i64).fetch_all(p).await)
    .unwrap();
    assert_eq!(ids.len(), due, "not enough applicants to make due");
    for chunk in ids.chunks(1000) {
        let mut tx = db.begin().await.unwrap();
        onramp::on!(&mut tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "UPDATE applications SET status = 'applied', email_verified_at = NULL, \
                 verify_requested_at = ",
            );
            qb.push_bind(old).push(" WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
            qb.build().execute(&mut **c).await.map(|_| ())
        })
        .unwrap();
        tx.commit().await.unwrap();
    }
    if let Pools::Postgres(p) = &db.pools {
        sqlx::query("ANALYZE").execute(p).await.unwrap();
    }

    // Baseline: the same number of emails queued straight, 500 a transaction.
    let run = uuid::Uuid::now_v7().simple().to_string();
    let recipients: Vec<String> = (0..due).map(|i| format!("base{i}@bench.test")).collect();
    let t = Instant::now();
    for (c, chunk) in recipients.chunks(500).enumerate() {
        let emails: Vec<NewEmail> = chunk
            .iter()
            .enumerate()
            .map(|(i, to)| NewEmail {
                idempotency_key: format!("bench:{run}:{c}:{i}"),
                template: "verify_reminder",
                recipient: to,
                payload: serde_json::json!({ "application_id": ids[c * 500 + i], "name": "Bench" }),
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        outbox::enqueue_many(&mut tx, &emails, now).await.unwrap();
        tx.commit().await.unwrap();
    }
    let baseline = t.elapsed().as_secs_f64();
    exec(
        &db,
        "DELETE FROM outbox WHERE idempotency_key LIKE 'bench:%' AND created_at = $1",
        now,
    )
    .await;
    println!("baseline: {due} emails queued straight in {baseline:.2} s");

    // The job's tick.
    let dispatch_dir = tempfile::tempdir().unwrap();
    let (port, received) = start_sink();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let mut settings = common::dispatch_settings(&url, dispatch_dir.path(), &smtp_url, pool);
    // One domain for every recipient here: the per-domain rate would measure itself.
    settings.mail.per_domain_per_minute = 0;
    if let Ok(b) = std::env::var("BENCH_BATCH") {
        settings.outbox.batch_size = b.parse().expect("BENCH_BATCH: a number");
    }
    let t = Instant::now();
    let queued = onramp::usecases::reminders::verify(&db, &settings, onramp::domain::now())
        .await
        .unwrap();
    let job = t.elapsed().as_secs_f64();
    assert_eq!(queued, due, "every due applicant reminded");
    println!(
        "verify_reminder tick: {queued} reminders queued in {job:.2} s = {:.0}/s; {:.2}x the baseline",
        queued as f64 / job,
        job / baseline
    );
    let t = Instant::now();
    let again = onramp::usecases::reminders::verify(&db, &settings, onramp::domain::now())
        .await
        .unwrap();
    println!(
        "the same tick again: {again} queued in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // Delivery: keep `n_send` of the reminders pending.
    let keep: Vec<uuid::Uuid> = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT id FROM outbox WHERE template = 'verify_reminder' AND status = 'pending' \
         ORDER BY id LIMIT $1").bind(n_send as i64).fetch_all(p).await)
    .unwrap();
    let cutoff = *keep.last().unwrap();
    onramp::on_writer!(&db, p => sqlx::query(
        "UPDATE outbox SET status = 'cancelled' WHERE template = 'verify_reminder' \
         AND status = 'pending' AND id > $1").bind(cutoff).execute(p).await.map(|_| ()))
    .unwrap();
    let d = common::dispatcher(settings).await;
    // The dispatcher as the service runs it, until every reminder arrived.
    let before = received.load(Ordering::Relaxed);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let t = Instant::now();
    let worker = tokio::spawn(d.run(stopped));
    while received.load(Ordering::Relaxed) - before < n_send as u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let dispatched = t.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    worker.await.unwrap();
    let sent: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE template = 'verify_reminder' AND status = 'sent'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(sent, n_send as i64, "each recorded sent");

    // Direct: the same number of messages rendered from a template, built with lettre and sent
    // over the same kind of pool, with nothing queued, claimed or recorded.
    let renderer = Renderer::new("onramp", "http://127.0.0.1", "help@onramp.localhost").unwrap();
    let direct_pool = SmtpPool::from_url(&smtp_url, Duration::from_secs(15), pool as u32).unwrap();
    let before = received.load(Ordering::Relaxed);
    let t = Instant::now();
    futures_util::stream::iter(0..n_send)
        .map(|i| {
            let (p, r) = (&direct_pool, &renderer);
            async move {
                let m = reminder(r, i);
                p.send(m.envelope(), &m.formatted()).await.unwrap();
            }
        })
        .buffer_unordered(pool)
        .collect::<Vec<()>>()
        .await;
    let direct = t.elapsed().as_secs_f64();
    assert_eq!(received.load(Ordering::Relaxed) - before, n_send as u64);
    let rate = |secs: f64| n_send as f64 / secs;
    println!(
        "delivery of {n_send}: dispatcher {dispatched:.2} s = {:.0} msg/s; direct over the same pool {direct:.2} s = {:.0} msg/s; dispatcher at {:.0}% of direct (target >= 70%, under 10 s)",
        rate(dispatched),
        rate(direct),
        100.0 * rate(dispatched) / rate(direct)
    );
    common::drop_database(db, drop_after).await;
}

/// The reminder the dispatcher sends, with its links, built with lettre: the direct path.
fn reminder(renderer: &Renderer, i: usize) -> lettre::Message {
    let mut data = onramp::email::templates::sample_data("verify_reminder", "http://127.0.0.1");
    data["name"] = serde_json::json!(format!("Applicant {i}"));
    common::rendered(renderer, "verify_reminder", &data, i)
}
