//! Hardening benchmark (see benches/README.md):
//!
//! 1. A `/metrics` scrape, against the two row counts every scrape used to run (applications by
//!    status, emails by state), with `BENCH_ROWS` applications and their outbox rows.
//! 2. `/healthz` latency while `BENCH_SIGNIN_CLIENTS` clients send failed sign-ins (argon2 each),
//!    against `/healthz` with nothing else running.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use onramp::app::Application;
use onramp::config::Settings;
use onramp::domain::application::RawApplication;
use onramp::email::Mailer;
use onramp::store::{applications, outbox};
use onramp::usecases::intake::Channel;

const TOKEN: &str = "bench-metrics-token-0123456789";

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

/// Milliseconds at the 50th and 99th percentile, and the mean.
fn summary(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    (at(0.5), at(0.99), ms.iter().sum::<f64>() / ms.len() as f64)
}

async fn healthz_latencies(client: &reqwest::Client, base: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

async fn run() {
    let rows = env_or("BENCH_ROWS", 100_000);
    let scrapes = env_or("BENCH_SCRAPES", 50);
    let signin_clients = env_or("BENCH_SIGNIN_CLIENTS", 32);
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        data_dir: dir.path().into(),
        seed_demo: false,
        metrics_token: Some(TOKEN.into()),
        // One address drives the whole load: the per-address limits would answer 429.
        rate_limits: onramp::web::limits::RateLimitSettings::for_load_tests(),
        ..Default::default()
    };
    let app = Application::build(settings, Mailer::Memory(Default::default()))
        .await
        .unwrap();
    let db = app.state.db.clone();
    let intake = app.state.intake.clone();
    let base = format!("http://{}", app.addr);
    tokio::spawn(app.run(std::future::pending(), false));
    println!(
        "onramp hardening benchmark: engine={} rows={rows} release={}",
        db.engine(),
        !cfg!(debug_assertions)
    );

    let t = Instant::now();
    futures_util::stream::iter(0..rows)
        .map(|i| {
            let intake = intake.clone();
            async move {
                let raw = serde_json::json!({
                    "full_name": "Bench Applicant", "email": format!("a{i}@example.com"),
                    "country": "SE", "area": "city", "languages": ["sv"], "weekly_hours": 20,
                    "adult": true, "equipment": true, "consent": true
                });
                let (raw, _) = RawApplication::from_json(&raw);
                intake
                    .submit(raw.parse().unwrap(), Channel::Api)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    println!(
        "set up {rows} applications and their outbox rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 1. What a scrape costs.
    let client = reqwest::Client::new();
    let mut before = Vec::with_capacity(scrapes);
    for _ in 0..scrapes {
        let t = Instant::now();
        applications::count_by_status(&db).await.unwrap();
        outbox::count_by_status(&db).await.unwrap();
        before.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut after = Vec::with_capacity(scrapes);
    for _ in 0..scrapes {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap();
        after.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (b50, b99, bmean) = summary(before);
    let (a50, a99, amean) = summary(after);
    println!("scrape, before (the two counts each scrape ran): p50 {b50:.2} ms, p99 {b99:.2} ms, mean {bmean:.2} ms");
    println!("scrape, now (GET /metrics, HTTP included):       p50 {a50:.2} ms, p99 {a99:.2} ms, mean {amean:.2} ms");
    println!("ratio now/before (mean): {:.3}", amean / bmean);

    // 2. Everything else keeps flowing during a flood of failed sign-ins.
    let quiet = healthz_latencies(&client, &base, 2000).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = tokio::task::JoinSet::new();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for c in 0..signin_clients {
        let (client, base, stop, attempts) =
            (client.clone(), base.clone(), stop.clone(), attempts.clone());
        flood.spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let r = client
                    .post(format!("{base}/admin/login"))
                    .header("sec-fetch-site", "same-origin")
                    .form(&[
                        ("email", format!("nobody{c}-{n}@example.com")),
                        ("password", "not the password at all".into()),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 422);
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    let busy = healthz_latencies(&client, &base, 2000).await;
    let secs = t.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while flood.join_next().await.is_some() {}
    let (q50, q99, _) = summary(quiet);
    let (f50, f99, _) = summary(busy);
    let signins = attempts.load(std::sync::atomic::Ordering::Relaxed) as f64;
    println!("/healthz alone:                               p50 {q50:.2} ms, p99 {q99:.2} ms");
    println!(
        "/healthz during {signin_clients} clients of failed sign-ins:   p50 {f50:.2} ms, p99 {f99:.2} ms ({:.0} sign-ins/s)",
        signins / (secs + 0.5)
    );
    println!(
        "ratio busy/alone: p50 {:.2}, p99 {:.2}",
        f50 / q50,
        f99 / q99
    );
}
