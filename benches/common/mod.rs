//! What the benchmarks share: the baseline endpoint, one INSERT in one write transaction through
//! the same database pool as the path under test.

use axum::routing::post;
use onramp::store::Db;

pub async fn create_baseline_table(db: &Db) {
    let sql = match db {
        Db::Sqlite { .. } => "CREATE TABLE IF NOT EXISTS bench_baseline (id BLOB PRIMARY KEY, created_at TEXT NOT NULL)",
        Db::Postgres(_) => "CREATE TABLE IF NOT EXISTS bench_baseline (id UUID PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL)",
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
