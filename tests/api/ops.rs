//! Health, readiness, metrics, request ids, and the migration folders.

use crate::helpers::*;

const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

impl TestApp {
    async fn metrics(&self) -> String {
        let r = self
            .client
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let app = spawn_app_with(|s| {
        s.metrics_token = Some(METRICS_TOKEN.into());
        s.metrics_refresh_secs = 1;
    })
    .await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(app.get("/readyz").await.status(), 200);

    app.apply(&valid_form("m@example.com")).await;
    app.post_form("/apply", "").await;
    let text = app.metrics().await;
    assert!(
        text.contains(r#"onramp_http_requests_total{method="POST",route="/apply",status="303"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"onramp_http_requests_total{method="POST",route="/apply",status="422"} 1"#)
    );
    assert!(text
        .contains(r#"onramp_http_request_duration_seconds_count{method="POST",route="/apply"} 2"#));
    assert!(!text.contains("m@example.com"));
    // The gauges catch up on the next refresh, not at the scrape.
    let mut text = text;
    for _ in 0..50 {
        if text.contains(r#"onramp_applications{status="applied"} 1"#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = app.metrics().await;
    }
    assert!(
        text.contains(r#"onramp_applications{status="applied"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"onramp_outbox_emails{state="pending"} 1"#),
        "{text}"
    );

    // Tokens in paths never reach metrics labels.
    app.get("/verify/secret-token-value").await;
    let text = app.metrics().await;
    assert!(!text.contains("secret-token-value"));
    assert!(text.contains(r#"route="/verify/{token}""#));

    // Unknown pages are a friendly 404.
    let resp = app.get("/nope").await;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("find that page"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_public() {
    // Neither a token nor an address of its own: not on the public port at all.
    let app = spawn_app().await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);

    // With a token: only with that token.
    let app = spawn_app_with(|s| s.metrics_token = Some(METRICS_TOKEN.into())).await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    for wrong in [
        "nope",
        "test-metrics-token-012345678",
        "test-metrics-token-0123456789x",
    ] {
        let r = app
            .client
            .get(format!("{}/metrics", app.base))
            .bearer_auth(wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{wrong}");
        assert!(!r.text().await.unwrap().contains("onramp_"));
    }
    assert!(app.metrics().await.contains("onramp_applications"));

    // On an address of its own: there without a token, and gone from the public port.
    let app = spawn_app_with(|s| s.metrics_bind = Some("127.0.0.1:0".parse().unwrap())).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let private = app.metrics_base.clone().expect("metrics address");
    let r = app
        .client
        .get(format!("{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("onramp_outbox_emails"));
    let r = app
        .client
        .get(format!("{private}/apply"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "only metrics and health there");
}

#[test]
fn a_short_metrics_token_is_refused() {
    let mut s = onramp::config::Settings {
        metrics_token: Some("short".into()),
        ..Default::default()
    };
    let err = s.check().unwrap_err().to_string();
    assert!(err.contains("metrics_token"), "{err}");
    s.metrics_token = Some(METRICS_TOKEN.into());
    s.check().unwrap();
}

/// A scrape reads nothing from the database (the gauges are kept by a timer), so scraping in a
/// loop cannot take connections from applicants: with the database gone, it still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_never_reads_the_database() {
    let app = spawn_app_with(|s| s.metrics_token = Some(METRICS_TOKEN.into())).await;
    app.db.close().await;
    let text = app.metrics().await;
    assert!(
        text.contains(r#"onramp_applications{status="applied"} 0"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// CI says which engine each pass is for; a leftover TEST_DATABASE_URL must not quietly turn the
/// SQLite pass into a second PostgreSQL one (or the other way round).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_in_use_is_the_one_asked_for() {
    let app = spawn_app().await;
    let asked = match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => "postgres",
        _ => "sqlite",
    };
    assert_eq!(app.db.engine(), asked);
    if let Ok(expected) = std::env::var("ONRAMP_EXPECT_ENGINE") {
        assert_eq!(app.db.engine(), expected, "ONRAMP_EXPECT_ENGINE");
    }
}

#[test]
fn both_engines_have_the_same_migrations() {
    let (sqlite, postgres) = onramp::store::migration_names();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    let list = |dir: &str| {
        let mut v: Vec<String> =
            std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        v.sort();
        v
    };
    assert_eq!(list("sqlite"), list("postgres"));
}

/// A database that does not answer (here: every connection busy) makes `/readyz` say so within
/// a probe's usual one-second timeout, instead of hanging past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_within_a_probe_timeout_when_the_database_hangs() {
    let app = spawn_app().await;
    // Hold every connection the readiness check could use.
    let mut held = Vec::new();
    match &app.db.pools {
        onramp::store::Pools::Sqlite { reader, .. } => {
            for _ in 0..reader.options().get_max_connections() {
                held.push(Held::Sqlite(reader.acquire().await.unwrap()));
            }
        }
        onramp::store::Pools::Postgres(pool) => {
            for _ in 0..pool.options().get_max_connections() {
                held.push(Held::Postgres(pool.acquire().await.unwrap()));
            }
        }
    }
    let start = std::time::Instant::now();
    let r = app.get("/readyz").await;
    let took = start.elapsed();
    assert_eq!(r.status(), 503);
    assert!(took < std::time::Duration::from_millis(1000), "{took:?}");
    assert_eq!(app.get("/healthz").await.status(), 200);
    drop(held);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

/// A connection kept out of its pool until dropped.
#[allow(dead_code)]
enum Held {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}
