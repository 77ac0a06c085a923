//! Webhook endpoints, their queued deliveries and every attempt to send one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, on_writer, Db, Pools, Result, Tx};
use crate::domain::webhooks::NewWebhook;

/// An endpoint as staff and the API see it (never its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub events: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

impl WebhookRow {
    pub fn event_list(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

const COLUMNS: &str = "id, url, events, created_by, created_at, disabled_at, disabled_reason";

pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    w: &NewWebhook,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "INSERT INTO webhooks (id, url, secret, events, created_by, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6)";
    let events = serde_json::to_string(&w.events).expect("strings serialise");
    on!(tx, c => sqlx::query(SQL).bind(id).bind(&w.url).bind(&w.secret).bind(events)
        .bind(actor).bind(now).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<WebhookRow>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks ORDER BY created_at, id");
    Ok(on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await?))
}

pub async fn get(db: &Db, id: Uuid) -> Result<Option<WebhookRow>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await?))
}

/// Deletes an endpoint with its deliveries; false when there was none.
pub async fn delete(tx: &mut Tx, id: Uuid) -> Result<bool> {
    const SQL: &str = "DELETE FROM webhooks WHERE id = $1";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

/// Turns a disabled endpoint back on; its waiting deliveries go out again from now.
pub async fn enable(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL \
        WHERE id = $1 AND disabled_at IS NOT NULL";
    const DUE: &str = "UPDATE webhook_deliveries SET next_attempt_at = $2 \
        WHERE webhook_id = $1 AND status = 'pending'";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).execute(&mut **c).await?.rows_affected());
    if n == 1 {
        on!(tx, c => sqlx::query(DUE).bind(id).bind(now).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(n == 1)
}

/// The enabled endpoints subscribed to `event`.
pub async fn subscribers(tx: &mut Tx, event: &str) -> Result<Vec<Uuid>> {
    const SQL: &str = "SELECT id FROM webhooks WHERE disabled_at IS NULL AND events LIKE $1";
    let pattern = format!("%\"{event}\"%");
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(pattern).fetch_all(&mut **c).await?))
}

/// A delivery to queue: its id, the endpoint, the event and the JSON body.
pub struct NewDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event: &'static str,
    pub body: String,
}

pub async fn enqueue(tx: &mut Tx, deliveries: &[NewDelivery], now: DateTime<Utc>) -> Result<()> {
    for chunk in deliveries.chunks(1000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO webhook_deliveries (id, webhook_id, event, body, next_attempt_at, \
                 created_at) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(d.id)
                    .push_bind(d.webhook_id)
                    .push_bind(d.event)
                    .push_bind(&d.body)
                    .push_bind(now)
                    .push_bind(now);
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A delivery claimed for sending, with where and how to sign it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event: String,
    pub body: String,
    pub attempts: i64,
    pub url: String,
    pub secret: String,
}

/// Claims up to `limit` due deliveries of enabled endpoints under a lease until `lease_until`,
/// counting the attempt. Two workers never claim one row (SKIP LOCKED on PostgreSQL, the
/// single writer on SQLite).
pub async fn claim(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let lock = if matches!(db.pools, Pools::Postgres(_)) {
        "FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let claim = format!(
        "UPDATE webhook_deliveries SET locked_until = $2, locked_by = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL \
         AND (d.locked_until IS NULL OR d.locked_until < $1) ORDER BY d.next_attempt_at \
         LIMIT $4 {lock}) AND (locked_until IS NULL OR locked_until < $1) RETURNING id"
    );
    const READ: &str = "SELECT d.id, d.webhook_id, d.event, d.body, d.attempts, w.url, w.secret \
        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
        WHERE d.locked_by = $1 AND d.status = 'pending' AND d.locked_until = $2";
    let mut tx = db.begin().await?;
    let ids: Vec<Uuid> = on!(&mut tx, c => sqlx::query_scalar(&claim).bind(now)
        .bind(lease_until).bind(worker).bind(limit).fetch_all(&mut **c).await?);
    let rows = if ids.is_empty() {
        Vec::new()
    } else {
        on!(&mut tx, c => sqlx::query_as(READ).bind(worker).bind(lease_until)
            .fetch_all(&mut **c).await?)
    };
    tx.commit().await?;
    Ok(rows)
}

/// Records an attempt: its outcome for the delivery (delivered, retried at `next`, or failed
/// for good) and the attempt's own row.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &Db,
    worker: &str,
    d: &Claimed,
    ok: bool,
    http_status: Option<i64>,
    error: Option<&str>,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    const ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, webhook_id, at, ok, \
        http_status, error) VALUES ($1, $2, $3, $4, $5, $6)";
    let (status, next_at) = match (ok, next) {
        (true, _) => ("delivered", now),
        (false, Some(at)) => ("pending", at),
        (false, None) => ("failed", now),
    };
    // A delivered body is not needed again: it goes, and with it the move reasons it carried.
    const DELIVERY: &str = "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, \
        body = CASE WHEN $3 = 'delivered' THEN '' ELSE body END, last_error = $5, delivered_at = CASE WHEN $3 = 'delivered' THEN $6 ELSE NULL END, \
        locked_until = NULL, locked_by = NULL WHERE id = $1 AND locked_by = $2";
    let mut tx = db.begin().await?;
    on!(&mut tx, c => sqlx::query(ATTEMPT).bind(d.id).bind(d.webhook_id).bind(now).bind(ok)
        .bind(http_status).bind(error).execute(&mut **c).await.map(|_| ())?);
    on!(&mut tx, c => sqlx::query(DELIVERY).bind(d.id).bind(worker).bind(status).bind(next_at)
        .bind(error).bind(now).execute(&mut **c).await.map(|_| ())?);
    tx.commit().await?;
    Ok(())
}

/// Failed attempts to endpoint `id` since `since`.
pub async fn failures_since(db: &Db, id: Uuid, since: DateTime<Utc>) -> Result<i64> {
    const SQL: &str =
        "SELECT COUNT(*) FROM webhook_attempts WHERE webhook_id = $1 AND at > $2 AND ok = $3";
    Ok(
        on_writer!(db, p => sqlx::query_scalar(SQL).bind(id).bind(since).bind(false)
        .fetch_one(p).await?),
    )
}

/// Disables an enabled endpoint with `reason`; false when it was already disabled.
pub async fn disable(db: &Db, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE webhooks SET disabled_at = $2, disabled_reason = $3 \
        WHERE id = $1 AND disabled_at IS NULL";
    let n = on_writer!(db, p => sqlx::query(SQL).bind(id).bind(now).bind(reason).execute(p)
        .await?.rows_affected());
    Ok(n == 1)
}

/// An attempt, for the admin page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub webhook_id: Uuid,
    pub event: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

/// The latest `limit` attempts of every endpoint, newest first.
pub async fn recent_attempts(db: &Db, limit: i64) -> Result<Vec<AttemptRow>> {
    const SQL: &str = "SELECT a.webhook_id, d.event, a.at, a.ok, a.http_status, a.error \
        FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
        ORDER BY a.at DESC LIMIT $1";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await?))
}

/// Deliveries per endpoint and status: (endpoint, status, count).
pub async fn delivery_counts(db: &Db) -> Result<Vec<(Uuid, String, i64)>> {
    const SQL: &str = "SELECT webhook_id, status, COUNT(*) FROM webhook_deliveries \
        GROUP BY webhook_id, status";
    Ok(on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?))
}

/// Deletes deliveries (and their attempts) made before `before` that are no longer pending.
pub async fn forget_deliveries(db: &Db, before: DateTime<Utc>) -> Result<u64> {
    const SQL: &str =
        "DELETE FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending'";
    Ok(
        on_writer!(db, p => sqlx::query(SQL).bind(before).execute(p).await
        .map(|r| r.rows_affected())?),
    )
}
