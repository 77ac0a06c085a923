//! Managers' report benchmark (see benches/README.md): on `BENCH_ROWS` (default 1,000,000)
//! synthetic applicants with their pilot history (about 50,000 agents, three years of daily
//! live rows, weekly outsourced headcount), the replacement report and the funnel by API, p50
//! and p99, against the baseline `GET /api/v1/applications/{id}` (one row by primary key) in
//! the same run; with the forecast, fairness, quality and the whole `/reports` page for
//! information.

use onramp::app::Application;
use onramp::config::Settings;
use onramp::email::Mailer;
use onramp::store::Db;

mod common;
use common::{callers, env_or, summary, timed};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn count(db: &Db, sql: &str) -> i64 {
    onramp::on_db!(db, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

async fn run() {
    let rows = env_or("BENCH_ROWS", 1_000_000) as u64;
    let repeats = env_or("BENCH_REPEATS", 40);
    let dir = tempfile::tempdir().unwrap();
    let (url, db, drop_after) = common::synthetic_db(dir.path(), rows, "reports").await;
    println!(
        "data: {} agents, {} cohorts, {} live rows ({} days), {} headcount snapshots, {} funnel rows",
        count(&db, "SELECT COUNT(*) FROM applications WHERE went_live_at IS NOT NULL").await,
        count(&db, "SELECT COUNT(*) FROM cohorts").await,
        count(&db, "SELECT COUNT(*) FROM live_daily").await,
        count(&db, "SELECT COUNT(DISTINCT day) FROM live_daily").await,
        count(&db, "SELECT COUNT(*) FROM outsourced_headcount").await,
        count(&db, "SELECT COUNT(*) FROM funnel_daily").await,
    );

    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: url.clone(),
        data_dir: dir.path().to_path_buf(),
        seed_demo: false,
        rate_limits: onramp::web::limits::RateLimitSettings::for_load_tests(),
        ..Default::default()
    };
    let app = Application::build(settings, Mailer::Memory(Default::default()))
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    tokio::spawn(app.run(std::future::pending(), false));
    let (client, bearer, cookie) = callers(&db, &base, "manager").await;
    let ids: Vec<uuid::Uuid> = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT id FROM applications WHERE went_live_at IS NOT NULL LIMIT 200").fetch_all(p).await)
    .unwrap();

    let measure = |name: &'static str| (name, Vec::new());
    let mut results = vec![
        measure("baseline GET /api/v1/applications/{id}"),
        measure("GET /api/v1/reports/replacement (a year)"),
        measure("GET /api/v1/reports/replacement?market=SE (three years)"),
        measure("GET /api/v1/reports/funnel (a year)"),
        measure("GET /api/v1/reports/funnel?market=SE (three years)"),
        measure("GET /api/v1/reports/forecast"),
        measure("GET /api/v1/reports/fairness (a year)"),
        measure("GET /api/v1/reports/quality (a year)"),
    ];
    let three_years = (chrono::Utc::now().date_naive() - chrono::Days::new(3 * 365)).to_string();
    let paths = [
        String::new(),
        "/api/v1/reports/replacement".to_string(),
        format!("/api/v1/reports/replacement?market=SE&from={three_years}"),
        "/api/v1/reports/funnel".to_string(),
        format!("/api/v1/reports/funnel?market=SE&from={three_years}"),
        "/api/v1/reports/forecast".to_string(),
        "/api/v1/reports/fairness".to_string(),
        "/api/v1/reports/quality".to_string(),
    ];
    // Interleaved, so a noisy moment hits every series alike.
    for i in 0..repeats {
        for (k, (_, times)) in results.iter_mut().enumerate() {
            if k >= 6 && i >= repeats.div_ceil(4) {
                continue;
            }
            let path = if k == 0 {
                format!("/api/v1/applications/{}", ids[i % ids.len()])
            } else {
                paths[k].clone()
            };
            times.push(
                timed(
                    &client,
                    &format!("{base}{path}"),
                    ("authorization", &bearer),
                )
                .await,
            );
        }
    }
    let mut page = Vec::new();
    for _ in 0..repeats.div_ceil(4) {
        page.push(timed(&client, &format!("{base}/reports"), ("cookie", &cookie)).await);
    }
    results.push(("GET /reports (the whole page)", page));
    let (b50, _) = summary(results[0].1.clone());
    for (name, times) in results {
        let n = times.len();
        let (p50, p99) = summary(times);
        println!(
            "{name}: p50 {p50:.2} ms, p99 {p99:.2} ms, p50 {:.1}× baseline (n={n})",
            p50 / b50
        );
    }
    common::drop_database(db, drop_after).await;
}
