//! Recruiter workspace benchmark (see benches/README.md), on `BENCH_ROWS` (default 1,000,000)
//! synthetic applicants:
//!
//! 1. `onramp seed --synthetic`'s generator: rows/s.
//! 2. The applicant list, API and page, with three filters plus a search, p50/p99 against the
//!    baseline `GET /api/v1/applications/{id}` (one row by primary key), and each query's plan.
//! 3. The CSV export of every row: rows/s and the process's peak RSS during it, against reading
//!    the same rows by keyset pages straight from the store.
//! 4. A bulk move of `BENCH_BULK` (default 10,000) applicants, against a bare UPDATE of as many.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use futures_util::StreamExt;
use onramp::app::Application;
use onramp::config::Settings;
use onramp::domain::applicants::Filter;
use onramp::domain::pipeline::Pipeline;
use onramp::email::Mailer;
use onramp::store::{applicants, applications, Db, Pools};

mod common;
use common::{callers, database, env_or, summary, timed};

const CHILD_FLAG: &str = "--serve-child";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::args().any(|a| a == CHILD_FLAG) {
        rt.block_on(serve_child());
    } else {
        rt.block_on(run());
    }
}

/// The server under test, in a process of its own so its memory is its own.
async fn serve_child() {
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: std::env::var("BENCH_CHILD_DB").unwrap(),
        data_dir: std::env::var("BENCH_CHILD_DIR").unwrap().into(),
        seed_demo: false,
        rate_limits: onramp::web::limits::RateLimitSettings::for_load_tests(),
        ..Default::default()
    };
    let app = Application::build(settings, Mailer::Memory(Default::default()))
        .await
        .unwrap();
    println!("listening {}", app.addr);
    app.run(std::future::pending(), false).await.unwrap();
}

/// A process's resident memory and its peak, in MB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

const QUERIES: &[&str] = &[
    "q=lind&country=SE&stage=shortlisted&student=true",
    "q=anna&language=en&source=tiktok&sort=score_desc",
    "q=berg&area=rural&score_min=70&sort=name_asc",
    "q=maja&country=NO&stuck_days=30&customer=false",
    "q=o&stage=rejected&applied_from=2026-01-01&country=DE",
];

async fn run() {
    let rows = env_or("BENCH_ROWS", 1_000_000) as u64;
    let repeats = env_or("BENCH_REPEATS", 40);
    let bulk = env_or("BENCH_BULK", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let (url, drop_after) = database(dir.path()).await;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let pipeline = Pipeline::new(&Default::default()).unwrap();
    println!(
        "onramp workspace benchmark: engine={} rows={rows}",
        db.engine()
    );

    // 1. The generator.
    let t = Instant::now();
    onramp::synthetic::generate(&db, rows, |_| {})
        .await
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "seed --synthetic: {rows} rows in {secs:.1} s = {:.0} rows/s",
        rows as f64 / secs
    );
    if let Pools::Postgres(p) = &db.pools {
        sqlx::query("ANALYZE").execute(p).await.unwrap();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(CHILD_FLAG)
        .env("BENCH_CHILD_DB", &url)
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
    let base = format!(
        "http://{}",
        line.trim()
            .strip_prefix("listening ")
            .expect("child address")
    );

    // Callers: an admin key, and a signed-in recruiter.
    let (client, bearer, cookie) = callers(&db, &base, "recruiter").await;

    // 2. The list, against one application by id.
    let f = Filter {
        limit: 50,
        ..Filter::default()
    };
    let (sample, _) = applicants::page(&db, &f, onramp::domain::now())
        .await
        .unwrap();
    let mut baseline = Vec::new();
    for i in 0..repeats * QUERIES.len() {
        let id = sample[i % sample.len()].id;
        let url = format!("{base}/api/v1/applications/{id}");
        baseline.push(timed(&client, &url, ("authorization", &bearer)).await);
    }
    let (b50, b99) = summary(baseline);
    println!("baseline GET /api/v1/applications/{{id}}: p50 {b50:.2} ms, p99 {b99:.2} ms");
    let mut api = Vec::new();
    let mut page = Vec::new();
    for _ in 0..repeats {
        for q in QUERIES {
            api.push(
                timed(
                    &client,
                    &format!("{base}/api/v1/applications?{q}"),
                    ("authorization", &bearer),
                )
                .await,
            );
            page.push(
                timed(
                    &client,
                    &format!("{base}/admin/applicants?{q}"),
                    ("cookie", &cookie),
                )
                .await,
            );
        }
    }
    let (a50, a99) = summary(api);
    let (p50, p99) = summary(page);
    println!(
        "GET /api/v1/applications (3 filters + search): p50 {a50:.2} ms, p99 {a99:.2} ms; \
         ratio p50 {:.1}, p99 {:.1}",
        a50 / b50,
        a99 / b99
    );
    println!(
        "GET /admin/applicants (same, with stage counts): p50 {p50:.2} ms, p99 {p99:.2} ms; \
         ratio p50 {:.1}, p99 {:.1}",
        p50 / b50,
        p99 / b99
    );
    // The landing page: no filter, a million rows to count per stage.
    let mut landing = Vec::new();
    for _ in 0..repeats.min(10) {
        landing.push(
            timed(
                &client,
                &format!("{base}/admin/applicants"),
                ("cookie", &cookie),
            )
            .await,
        );
    }
    let (l50, l99) = summary(landing);
    println!(
        "GET /admin/applicants (no filter): p50 {l50:.2} ms, p99 {l99:.2} ms; ratio p50 {:.1}",
        l50 / b50
    );
    for q in QUERIES {
        let pairs = onramp::web::form::query(Some(q.to_string()));
        let f = onramp::web::listing::filter(&pairs, &pipeline).unwrap();
        let plan = applicants::explain(&db, &f, onramp::domain::now())
            .await
            .unwrap();
        println!("plan for {q}:");
        for line in plan {
            println!("    {line}");
        }
    }

    // 3. The CSV export, against keyset pages read from the store.
    let t = Instant::now();
    let mut f = Filter {
        limit: 2000,
        ..Filter::default()
    };
    let mut read = 0u64;
    loop {
        let (rows, more) = applicants::page(&db, &f, onramp::domain::now())
            .await
            .unwrap();
        read += rows.len() as u64;
        f.after = rows.last().map(|r| r.cursor(f.sort));
        if !more {
            break;
        }
    }
    let base_secs = t.elapsed().as_secs_f64();
    let (rss_before, peak_before) = rss(pid);
    let t = Instant::now();
    let r = client
        .get(format!("{base}/api/v1/applications.csv"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut lines = 0u64;
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        lines += chunk.unwrap().iter().filter(|b| **b == b'\n').count() as u64;
    }
    let csv_secs = t.elapsed().as_secs_f64();
    let (_, peak) = rss(pid);
    println!(
        "baseline keyset read: {read} rows in {base_secs:.1} s = {:.0} rows/s",
        read as f64 / base_secs
    );
    println!(
        "CSV export: {} rows in {csv_secs:.1} s = {:.0} rows/s (ratio {:.2}); server RSS {rss_before:.0} MB \
         before (peak so far {peak_before:.0} MB), peak {peak:.0} MB after",
        lines - 1,
        (lines - 1) as f64 / csv_secs,
        base_secs / csv_secs
    );

    // 4. Bulk move, against a bare UPDATE of as many rows.
    let mut f = Filter {
        stage: Some("quiz_passed".into()),
        ..Filter::default()
    };
    f.limit = 1;
    let ids = applicants::matching_ids(&db, &f, onramp::domain::now(), 2 * bulk as i64)
        .await
        .unwrap();
    assert!(ids.len() >= 2 * bulk, "not enough quiz_passed rows");
    let t = Instant::now();
    let mut tx = db.begin().await.unwrap();
    applications::set_stage_many(&mut tx, &ids[bulk..], "quiz_passed", onramp::domain::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let bare = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = onramp::usecases::bulk::run(
        &db,
        &Settings::default(),
        &pipeline,
        "bench",
        "bench-1",
        &ids[..bulk],
        &onramp::usecases::bulk::Action::Move {
            to: "shortlisted".into(),
            reason: None,
            template: Some("stage_update".into()),
        },
    )
    .await
    .unwrap();
    let moved = t.elapsed().as_secs_f64();
    assert_eq!(report.done, bulk);
    println!(
        "bulk move of {bulk} with an email each: {moved:.2} s; bare UPDATE of {bulk}: {bare:.2} s \
         (ratio {:.1})",
        moved / bare
    );

    let _ = child.kill();
    let _ = child.wait();
    common::drop_database(db, drop_after).await;
}
