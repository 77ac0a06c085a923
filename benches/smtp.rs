//! Email throughput to a local SMTP server, per connection, in one run:
//!
//! - **raw**: a minimal SMTP client on one connection with `TCP_NODELAY`, one write per command
//!   and the body with its closing dot in one write: what one connection can do at best (the
//!   baseline);
//! - **lettre's transport**: lettre's own pooled transport with one connection, as the service
//!   used before (its sockets keep Nagle's algorithm on);
//! - **onramp's pool**: the pool the service uses now, one connection;
//! - **dispatcher**: `BENCH_MESSAGES` (default 10,000) queued emails drained by the real outbox
//!   dispatcher with `BENCH_POOL` (default 4) connections: claim, mint links, render, send, mark.
//!
//! See benches/README.md.

use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use onramp::email::smtp::SmtpPool;
use onramp::email::{dispatcher, Renderer};
use onramp::store::outbox::{self, NewEmail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

mod common;
use common::{env_or, message, start_sink};

fn report(name: &str, n: usize, secs: f64, connections: usize, baseline: Option<f64>) -> f64 {
    let per_connection = n as f64 / secs / connections as f64;
    let ratio = baseline.map_or(String::new(), |b| {
        format!("  ratio to raw {:.2}", per_connection / b)
    });
    println!(
        "{name:<28} {n:>6} messages in {secs:>7.2} s  {:>8.0} msg/s  {per_connection:>8.0} msg/s per connection{ratio}",
        n as f64 / secs
    );
    let _ = std::io::stdout().flush();
    per_connection
}

/// The baseline: one connection, one write per command, body and closing dot in one write.
async fn raw_client(port: u16, messages: &[Message]) -> f64 {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            let done = line.as_bytes().get(3) == Some(&b' ');
            all.push_str(&line);
            if done || line.is_empty() {
                return all;
            }
        }
    }
    reply(&mut r).await;
    w.write_all(b"EHLO bench\r\n").await.unwrap();
    reply(&mut r).await;
    let start = Instant::now();
    for m in messages {
        let to = m.envelope().to()[0].to_string();
        w.write_all(b"MAIL FROM:<hiring@onramp.localhost>\r\n")
            .await
            .unwrap();
        reply(&mut r).await;
        w.write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
            .await
            .unwrap();
        reply(&mut r).await;
        w.write_all(b"DATA\r\n").await.unwrap();
        reply(&mut r).await;
        let body = String::from_utf8(m.formatted()).unwrap();
        let mut data = body.replace("\r\n.", "\r\n..");
        data.push_str("\r\n.\r\n");
        w.write_all(data.as_bytes()).await.unwrap();
        let ok = reply(&mut r).await;
        assert!(ok.starts_with("250"), "{ok}");
    }
    start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let n_raw = env_or("BENCH_RAW", 3_000);
    let n_lettre = env_or("BENCH_LETTRE", 300);
    let n_dispatch = env_or("BENCH_MESSAGES", 10_000);
    let pool = env_or("BENCH_POOL", 4);
    let (port, received) = start_sink();
    let url = format!("smtp://127.0.0.1:{port}");
    let renderer = Renderer::new("onramp", "http://127.0.0.1", "help@onramp.localhost").unwrap();
    let messages: Vec<Message> = (0..n_raw).map(|i| message(&renderer, i)).collect();
    println!(
        "message size {} bytes; SMTP server mailin-embedded on 127.0.0.1:{port}",
        messages[0].formatted().len()
    );

    let raw = report(
        "raw client (baseline)",
        n_raw,
        raw_client(port, &messages).await,
        1,
        None,
    );

    let lettre = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .unwrap()
        .pool_config(PoolConfig::new().max_size(1))
        .build();
    let start = Instant::now();
    for m in &messages[..n_lettre] {
        lettre.send(m.clone()).await.unwrap();
    }
    let before = report(
        "lettre transport (before)",
        n_lettre,
        start.elapsed().as_secs_f64(),
        1,
        Some(raw),
    );

    let ours = SmtpPool::from_url(&url, Duration::from_secs(15), 1).unwrap();
    let start = Instant::now();
    for m in &messages {
        ours.send(m.envelope(), &m.formatted()).await.unwrap();
    }
    let after = report(
        "onramp pool (after)",
        n_raw,
        start.elapsed().as_secs_f64(),
        1,
        Some(raw),
    );

    // The dispatcher end to end, from queued rows to marked sent.
    let dir = tempfile::tempdir().unwrap();
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut settings = common::dispatch_settings(&database_url, dir.path(), &url, pool);
    settings.outbox.batch_size = 64;
    let d = common::dispatcher(settings).await;
    let db = d.db().clone();
    let run = format!("{}", uuid::Uuid::now_v7().simple());
    let recipients: Vec<String> = (0..n_dispatch)
        .map(|i| format!("applicant{i}@example.com"))
        .collect();
    for chunk in recipients.chunks(500).enumerate() {
        let (c, chunk) = chunk;
        let emails: Vec<NewEmail> = chunk
            .iter()
            .enumerate()
            .map(|(i, to)| NewEmail {
                idempotency_key: format!("bench:{run}:{c}:{i}"),
                template: "application_rejected",
                recipient: to,
                payload: serde_json::json!({
                    "name": "Bench Applicant",
                    "reasons": ["Our support agents must be 18 or older."],
                }),
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        outbox::enqueue_many(&mut tx, &emails, onramp::domain::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let before_count = received.load(Ordering::Relaxed);
    let start = Instant::now();
    let round = dispatcher::drain(&d).await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(round.sent, n_dispatch, "{round:?}");
    assert_eq!(
        received.load(Ordering::Relaxed) - before_count,
        n_dispatch as u64
    );
    let dispatched = report(
        &format!("dispatcher, {pool} connections"),
        n_dispatch,
        secs,
        pool,
        Some(raw),
    );
    println!();
    println!(
        "per connection: before {before:.0} msg/s, after {after:.0} msg/s ({:.1}x); dispatcher {dispatched:.0} msg/s per connection",
        after / before
    );
}
