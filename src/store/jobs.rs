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

/// What an admin switched `job` to on /admin/jobs, if they did.
pub async fn switch(db: &Db, job: &str) -> Result<Option<bool>> {
    const SQL: &str = "SELECT enabled FROM job_switches WHERE job = $1";
    Ok(on_writer!(db, p => sqlx::query_scalar(SQL).bind(job).fetch_optional(p).await?))
}

/// Switches `job` on or off for every instance.
pub async fn set_switch(
    tx: &mut super::Tx,
    job: &str,
    enabled: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "INSERT INTO job_switches (job, enabled, changed_by, changed_at) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (job) DO UPDATE SET enabled = excluded.enabled, \
        changed_by = excluded.changed_by, changed_at = excluded.changed_at";
    super::on!(tx, c => sqlx::query(SQL).bind(job).bind(enabled).bind(actor).bind(now)
        .execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// A tick of a job: when it was due, when it ran and ended, how, and how many items.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub fire_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub items: Option<i64>,
}

/// The latest `limit` ticks of `job`, newest first.
pub async fn recent_runs(db: &Db, job: &str, limit: i64) -> Result<Vec<RunRow>> {
    const SQL: &str = "SELECT fire_at, started_at, finished_at, outcome, items FROM job_runs \
        WHERE job = $1 ORDER BY fire_at DESC LIMIT $2";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(job).bind(limit).fetch_all(p).await?))
}
