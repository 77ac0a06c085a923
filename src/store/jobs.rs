//! Scheduled job ticks. Every instance computes the same fire times; the one whose insert lands
//! runs the tick.

use chrono::{DateTime, Utc};

use super::{on_db, on_writer, Db, Result};

/// Claims the tick `fire_at` of `job`; false when another instance (or an earlier run) has it.
pub async fn claim(db: &Db, job: &str, fire_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "INSERT INTO job_runs (job, fire_at, started_at) VALUES ($1, $2, $3) \
        ON CONFLICT (job, fire_at) DO NOTHING";
    let n = on_writer!(db, p => sqlx::query(SQL).bind(job).bind(fire_at).bind(now)
        .execute(p).await?.rows_affected());
    Ok(n == 1)
}

pub async fn finish(
    db: &Db,
    job: &str,
    fire_at: DateTime<Utc>,
    now: DateTime<Utc>,
    outcome: &str,
    items: i64,
) -> Result<()> {
    const SQL: &str = "UPDATE job_runs SET finished_at = $3, outcome = $4, items = $5 \
        WHERE job = $1 AND fire_at = $2";
    on_writer!(db, p => sqlx::query(SQL).bind(job).bind(fire_at).bind(now).bind(outcome)
        .bind(items).execute(p).await.map(|_| ())?);
    Ok(())
}

/// The latest tick of `job` any instance claimed.
pub async fn last_fire(db: &Db, job: &str) -> Result<Option<DateTime<Utc>>> {
    const SQL: &str = "SELECT MAX(fire_at) FROM job_runs WHERE job = $1";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(job).fetch_one(p).await?))
}
