//! What the benchmarks share: the baseline endpoint (one INSERT in one write transaction through
//! the same database pool as the path under test), a fresh database of the engine asked for,
//! timed requests and their percentiles.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::routing::post;
use lettre::message::header::ContentType;
use lettre::message::{MultiPart, SinglePart};
use lettre::Message;
use mailin_embedded::{Handler, Response, Server};
use onramp::email::Renderer;
use onramp::store::{Db, Pools};

pub async fn create_baseline_table(db: &Db) {
    let sql = match &db.pools {
        Pools::Sqlite { .. } => "CREATE TABLE IF NOT EXISTS bench_baseline (id BLOB PRIMARY KEY, created_at TEXT NOT NULL)",
        Pools::Postgres(_) => "CREATE TABLE IF NOT EXISTS bench_baseline (id UUID PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL)",
    };
    let mut tx = db.begin().await.unwrap();
    onramp::on!(&mut tx, c => sqlx::query(sql).execute(&mut **c).await.map(|_| ())).unwrap();
    tx.commit().await.unwrap();
}

/// `POST /bench/baseline`, for merging into the app's router.
pub fn baseline_routes(db: Db) -> axum::Router {
    axum::Router::new().route(
        "/bench/baseline",
        post(move || {
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.unwrap();
                onramp::on!(&mut tx, c => sqlx::query(
                    "INSERT INTO bench_baseline (id, created_at) VALUES ($1, $2)")
                    .bind(uuid::Uuid::now_v7())
                    .bind(onramp::domain::now())
                    .execute(&mut **c).await.map(|_| ()))
                .unwrap();
                tx.commit().await.unwrap();
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    )
}

/// Milliseconds at the 50th and 99th percentile.
pub fn summary(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    (at(0.5), at(0.99))
}

/// A fresh database: a new one on the PostgreSQL server of `BENCH_DATABASE_URL`, else SQLite.
pub async fn database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let name = format!("onramp_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let (base, _) = url.rsplit_once('/').unwrap();
            (format!("{base}/{name}"), Some((url.clone(), name)))
        }
        _ => (format!("sqlite://{}", dir.join("bench.db").display()), None),
    }
}

pub async fn timed(client: &reqwest::Client, url: &str, header: (&str, &str)) -> f64 {
    let t = std::time::Instant::now();
    let r = client
        .get(url)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.bytes().await.unwrap();
    t.elapsed().as_secs_f64() * 1000.0
}

/// A number from the environment, or `default`.
pub fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Callers for a benchmark against the server at `base`: an admin API key's `Authorization`
/// value, and the session cookie of a signed-in staff member of `role`, with a client that
/// does not follow redirects.
pub async fn callers(db: &Db, base: &str, role: &str) -> (reqwest::Client, String, String) {
    let key = onramp::domain::token::SecretToken::with_prefix("onr_");
    let email = format!("{role}@bench.test");
    let mut tx = db.begin().await.unwrap();
    onramp::store::api_keys::create(
        &mut tx,
        "bench",
        "admin",
        &key.hash(),
        onramp::domain::now(),
    )
    .await
    .unwrap();
    let hash = onramp::domain::staff::hash_password("bench password 123").unwrap();
    onramp::store::users::create(&mut tx, &email, role, &hash, onramp::domain::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/admin/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("email", email.as_str()),
            ("password", "bench password 123"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (client, format!("Bearer {}", key.as_str()), cookie)
}

/// An SMTP server on a loopback port that accepts every message and counts them.
#[derive(Clone)]
pub struct Sink {
    received: Arc<AtomicU64>,
}

impl Handler for Sink {
    fn data(&mut self, _buf: &[u8]) -> std::io::Result<()> {
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.received.fetch_add(1, Ordering::Relaxed);
        mailin_embedded::response::OK
    }
}

pub fn start_sink() -> (u16, Arc<AtomicU64>) {
    let received = Arc::new(AtomicU64::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(Sink {
        received: received.clone(),
    });
    server
        .with_name("sink.test")
        .with_num_threads(16)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, received)
}

/// A message like the ones the service sends: a rendered template, text and HTML.
pub fn message(renderer: &Renderer, i: usize) -> Message {
    rendered(
        renderer,
        "application_rejected",
        &serde_json::json!({
            "name": format!("Applicant {i}"),
            "reasons": ["Our support agents must be 18 or older, so we can't take your application forward."],
        }),
        i,
    )
}

/// `template` rendered with `data`, built with lettre as a text and HTML message to applicant `i`.
pub fn rendered(
    renderer: &Renderer,
    template: &str,
    data: &serde_json::Value,
    i: usize,
) -> Message {
    let content = renderer.render(template, data).unwrap();
    Message::builder()
        .from("onramp hiring <hiring@onramp.localhost>".parse().unwrap())
        .to(format!("applicant{i}@example.com").parse().unwrap())
        .subject(content.subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(content.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(content.html),
                ),
        )
        .unwrap()
}

/// A fresh database of the engine asked for, migrated, with `rows` synthetic applicants and
/// their history (`seed --synthetic`); prints how long the generation took.
pub async fn synthetic_db(
    dir: &std::path::Path,
    rows: u64,
    what: &str,
) -> (String, Db, Option<(String, String)>) {
    let (url, drop_after) = database(dir).await;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    println!(
        "onramp {what} benchmark: engine={} rows={rows}",
        db.engine()
    );
    let t = std::time::Instant::now();
    onramp::synthetic::generate(&db, rows, |_| {})
        .await
        .unwrap();
    println!(
        "seed --synthetic: {rows} applicants with their history in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if let Pools::Postgres(p) = &db.pools {
        sqlx::query("ANALYZE").execute(p).await.unwrap();
    }
    (url, db, drop_after)
}

/// Drops the benchmark's PostgreSQL database, if it made one.
pub async fn drop_database(db: Db, drop_after: Option<(String, String)>) {
    db.close().await;
    if let Some((url, name)) = drop_after {
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&admin)
            .await;
    }
}

/// The settings of a dispatcher benchmark: the database at `url`, `smtp_url` with `pool`
/// connections, files under `dir`.
pub fn dispatch_settings(
    url: &str,
    dir: &std::path::Path,
    smtp_url: &str,
    pool: usize,
) -> onramp::config::Settings {
    let mut settings = onramp::config::Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: url.to_string(),
        data_dir: dir.to_path_buf(),
        seed_demo: false,
        ..Default::default()
    };
    settings.mail.smtp_url = Some(smtp_url.to_string());
    settings.mail.pool_size = pool as u32;
    // Every recipient is at one domain here: the per-domain rate would measure itself.
    settings.mail.per_domain_per_minute = 0;
    settings
}

/// The real outbox dispatcher for `settings` (migrating the database first), sending over SMTP.
pub async fn dispatcher(
    settings: onramp::config::Settings,
) -> Arc<onramp::email::dispatcher::Dispatcher> {
    let app = onramp::app::Application::build(settings, onramp::email::Mailer::memory().0)
        .await
        .unwrap();
    let settings = app.state.settings.clone();
    Arc::new(
        onramp::email::dispatcher::Dispatcher::new(
            app.state.db.clone(),
            onramp::email::Mailer::from_settings(&settings).unwrap(),
            Arc::new(onramp::app::renderer(&settings).unwrap()),
            settings.clone(),
        )
        .unwrap(),
    )
}
