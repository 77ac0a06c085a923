//! Health, readiness, metrics, request ids, and the migration folders.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(app.get("/readyz").await.status(), 200);

    app.apply(&valid_form("m@example.com")).await;
    app.post_form("/apply", "").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"onramp_http_requests_total{method="POST",route="/apply",status="303"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"onramp_http_requests_total{method="POST",route="/apply",status="422"} 1"#)
    );
    assert!(text
        .contains(r#"onramp_http_request_duration_seconds_count{method="POST",route="/apply"} 2"#));
    assert!(text.contains(r#"onramp_applications{status="applied"} 1"#));
    assert!(text.contains(r#"onramp_outbox_emails{state="pending"} 1"#));
    assert!(!text.contains("m@example.com"));

    // Tokens in paths never reach metrics labels.
    app.get("/verify/secret-token-value").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("secret-token-value"));
    assert!(text.contains(r#"route="/verify/{token}""#));

    // Unknown pages are a friendly 404.
    let resp = app.get("/nope").await;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("find that page"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
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
