//! Signup load benchmark: throughput and latency of `POST /apply` against a baseline endpoint
//! that does nothing but one INSERT through the same pool, measured in the same run, plus the
//! server's idle and peak resident memory. See benches/README.md.
//!
//! The server runs in a child process (this binary re-executed with `--serve-child`) so its
//! memory is measured apart from the load generator's.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp::app::Application;
use onramp::config::Settings;
use onramp::email::Mailer;

mod common;

const CHILD_FLAG: &str = "--serve-child";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.iter().any(|a| a == CHILD_FLAG) {
        rt.block_on(serve_child());
    } else {
        rt.block_on(drive());
    }
}

/// The server under test: the real router and dispatcher, plus `/bench/baseline`.
async fn serve_child() {
    let url = std::env::var("BENCH_CHILD_DB").unwrap();
    let dir = std::env::var("BENCH_CHILD_DIR").unwrap();
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        data_dir: dir.into(),
        seed_demo: false,
        // One address drives the whole load: the per-address limits would answer 429.
        rate_limits: onramp::web::limits::RateLimitSettings::for_load_tests(),
        ..Default::default()
    };
    // The newcomer default: mail written as files, dispatcher running alongside the signups.
    let mailer = Mailer::from_settings(&settings).unwrap();
    let app = Application::build(settings, mailer).await.unwrap();
    let db = app.state.db.clone();
    common::create_baseline_table(&db).await;
    let addr = app.addr;
    let extra = common::baseline_routes(db);
    println!("listening {addr}");
    // BENCH_DISPATCH=0 measures signups without the dispatcher sending alongside.
    let dispatch = std::env::var("BENCH_DISPATCH").map_or(true, |v| v != "0");
    app.run_with_extra_routes(extra, std::future::pending(), dispatch)
        .await
        .unwrap();
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Run {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

async fn load(
    client: &reqwest::Client,
    url: &str,
    body_for: Arc<dyn Fn(u64) -> String + Send + Sync>,
    clients: usize,
    duration: Duration,
) -> Run {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, url, body_for) = (client.clone(), url.to_string(), body_for.clone());
        let (counter, errors) = (counter.clone(), errors.clone());
        tasks.spawn(async move {
            let mut lat = Vec::with_capacity(50_000);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body_for(n))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() < 400 => {}
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat.push(t.elapsed().as_micros() as u32);
            }
            lat
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    Run {
        requests: all.len() as u64,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors: errors.load(Ordering::Relaxed),
    }
}

fn signup_body(n: u64) -> String {
    format!(
        "full_name=Bench+Applicant&email=bench{n}%40example.com&phone=%2B46701234567&country=SE\
         &area=city&languages=sv&languages=en&weekly_hours=20&adult=on&equipment=on&customer=on\
         &motivation=I+like+helping+people.&consent=on&utm_source=bench&utm_campaign=&ref="
    )
}

async fn drive() {
    let secs: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let dir = tempfile::tempdir().unwrap();
    let db_url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let engine = if db_url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(CHILD_FLAG)
        .env("BENCH_CHILD_DB", &db_url)
        .env("BENCH_CHILD_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .expect("child address")
        .to_string();
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kb = rss_kb(pid, "VmRSS:");

    let baseline_body: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(|_| String::new());
    // Warm up both paths.
    load(
        &client,
        &format!("{base}/bench/baseline"),
        baseline_body.clone(),
        clients,
        Duration::from_secs(1),
    )
    .await;
    let warm: Arc<dyn Fn(u64) -> String + Send + Sync> =
        Arc::new(|n| signup_body(1_000_000_000 + n));
    load(
        &client,
        &format!("{base}/apply"),
        warm,
        clients,
        Duration::from_secs(1),
    )
    .await;

    println!("onramp signup benchmark: engine={engine} clients={clients} {secs}s per run, {rounds} rounds, release={}", !cfg!(debug_assertions));
    println!(
        "{:<10} {:>10} {:>12} {:>9} {:>9} {:>7}",
        "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let mut base_runs = Vec::new();
    let mut signup_runs = Vec::new();
    let mut next_email = 0u64;
    for _ in 0..rounds {
        let b = load(
            &client,
            &format!("{base}/bench/baseline"),
            baseline_body.clone(),
            clients,
            Duration::from_secs(secs),
        )
        .await;
        println!(
            "{:<10} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>7}",
            "baseline",
            b.requests,
            b.rate(),
            b.p50_ms,
            b.p99_ms,
            b.errors
        );
        base_runs.push(b);
        let start = next_email;
        let body: Arc<dyn Fn(u64) -> String + Send + Sync> =
            Arc::new(move |n| signup_body(start + n));
        let s = load(
            &client,
            &format!("{base}/apply"),
            body,
            clients,
            Duration::from_secs(secs),
        )
        .await;
        next_email += s.requests + 1;
        println!(
            "{:<10} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>7}",
            "signup",
            s.requests,
            s.rate(),
            s.p50_ms,
            s.p99_ms,
            s.errors
        );
        signup_runs.push(s);
    }
    let mean =
        |runs: &[Run], f: fn(&Run) -> f64| runs.iter().map(f).sum::<f64>() / runs.len() as f64;
    let b_rate = mean(&base_runs, Run::rate);
    let s_rate = mean(&signup_runs, Run::rate);
    let peak_kb = rss_kb(pid, "VmHWM:");
    println!();
    println!("signup throughput:     {s_rate:.0} req/s (target >= 3000)");
    println!(
        "signup latency:        p50 {:.2} ms, p99 {:.2} ms (target p99 < 25)",
        mean(&signup_runs, |r| r.p50_ms),
        mean(&signup_runs, |r| r.p99_ms)
    );
    println!("baseline throughput:   {b_rate:.0} req/s (one INSERT, same pool)");
    println!(
        "ratio signup/baseline: {:.2} (target >= 0.5)",
        s_rate / b_rate
    );
    println!(
        "server memory:         idle {:.1} MB, peak {:.1} MB (target idle < 40)",
        idle_kb as f64 / 1024.0,
        peak_kb as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
}
