//! The email outbox: rows written in the same transaction as the change that causes them, and
//! claimed under a lease by the dispatcher.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, on_writer, Db, Pools, Result, Tx};

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
/// Never to be sent: the address it was for was corrected before it went.
pub const CANCELLED: &str = "cancelled";
/// Every state an outbox row can be in.
/// The payload field (`true`) of an email whose links end the applicant's earlier links of
/// the same purpose when they are minted: a link the applicant asked for.
pub const RENEWS_LINKS: &str = "renews_links";

pub const STATES: [&str; 4] = [PENDING, SENT, FAILED, CANCELLED];

/// The lane of mail people are waiting on; always claimed first.
pub const LANE_NOW: i16 = 0;
/// The lane of first emails to new signups (their verification link, or the screening result):
/// the mail a flood of signups makes, limited per recipient domain.
pub const LANE_FIRST: i16 = 1;

/// The lane of reminders and nudges: claimed after everything else, so a flood of them never
/// delays mail people are waiting on.
pub const LANE_BULK: i16 = 2;

/// The lane an email of `template` goes in.
pub fn lane(template: &str) -> i16 {
    match template {
        "verify_email" | "application_rejected" => LANE_FIRST,
        t if crate::email::templates::is_non_essential(t) => LANE_BULK,
        _ => LANE_NOW,
    }
}

/// The part of an address after the last `@`, lower-cased.
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_ascii_lowercase()
}

/// The application an email is about, from its payload.
fn application_of(payload: &serde_json::Value) -> Option<Uuid> {
    payload
        .get("application_id")
        .and_then(|v| v.as_str())
        .and_then(|v| Uuid::parse_str(v).ok())
}

pub struct NewEmail<'a> {
    /// Unique per intended email: enqueueing the same key twice sends once.
    pub idempotency_key: String,
    pub template: &'a str,
    pub recipient: &'a str,
    pub payload: serde_json::Value,
}

/// Queues emails in one statement; one whose idempotency key is already queued is skipped.
pub async fn enqueue_many(tx: &mut Tx, emails: &[NewEmail<'_>], now: DateTime<Utc>) -> Result<()> {
    enqueue_many_counted(tx, emails, now).await.map(|_| ())
}

/// As `enqueue_many`, returning how many were new (not queued before under their key).
pub async fn enqueue_many_counted(
    tx: &mut Tx,
    emails: &[NewEmail<'_>],
    now: DateTime<Utc>,
) -> Result<usize> {
    // Twelve binds a row: 1,000 rows a statement stay under SQLite's limit of 32,766.
    let mut n = 0;
    for chunk in emails.chunks(1000) {
        n += enqueue_chunk(tx, chunk, now).await?;
    }
    Ok(n)
}

async fn enqueue_chunk(tx: &mut Tx, emails: &[NewEmail<'_>], now: DateTime<Utc>) -> Result<usize> {
    Ok(on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO outbox (id, idempotency_key, template, recipient, lane, \
             recipient_domain, application_id, payload, status, attempts, next_attempt_at, \
             created_at) ",
        );
        qb.push_values(emails, |mut row, e| {
            row.push_bind(Uuid::now_v7())
                .push_bind(&e.idempotency_key)
                .push_bind(e.template)
                .push_bind(e.recipient)
                .push_bind(lane(e.template))
                .push_bind(domain_of(e.recipient))
                .push_bind(application_of(&e.payload))
                .push_bind(e.payload.to_string())
                .push_bind(PENDING)
                .push_bind(0i64)
                .push_bind(now)
                .push_bind(now);
        });
        qb.push(" ON CONFLICT (idempotency_key) DO NOTHING");
        qb.build().execute(&mut **c).await.map(|r| r.rows_affected() as usize)
    })?)
}

pub async fn enqueue(tx: &mut Tx, email: NewEmail<'_>, now: DateTime<Utc>) -> Result<()> {
    enqueue_many(tx, &[email], now).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub idempotency_key: String,
    pub template: String,
    pub recipient: String,
    pub payload: String,
    /// Including the attempt just claimed.
    pub attempts: i64,
    pub lane: i16,
    pub recipient_domain: String,
}

/// Claims up to `limit` due rows for `worker` until `lease_until`. A row whose lease ran out (its
/// dispatcher died mid-send) is due again. On PostgreSQL, `SKIP LOCKED` lets several instances
/// claim side by side; SQLite's single writer serializes claims on its own.
pub async fn claim(
    db: &Db,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let lock = if matches!(db.pools, Pools::Postgres(_)) {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE outbox SET locked_until = $2, locked_by = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND (locked_until IS NULL OR locked_until < $1) ORDER BY lane, next_attempt_at LIMIT $4 \
         {lock}) AND (locked_until IS NULL OR locked_until < $1) \
         RETURNING id, idempotency_key, template, recipient, payload, attempts, lane, \
         recipient_domain"
    );
    let mut tx = db.begin().await?;
    let rows = on!(&mut tx, c => sqlx::query_as(&sql).bind(now).bind(lease_until).bind(worker)
        .bind(limit).fetch_all(&mut **c).await?);
    tx.commit().await?;
    Ok(rows)
}

/// Emails sent to `domain` since `since`, by every instance: of one lane, or of any.
pub async fn sent_to(
    db: &Db,
    domain: &str,
    lane: Option<i16>,
    since: DateTime<Utc>,
) -> Result<i64> {
    // Two texts rather than `$3 IS NULL OR lane = $3`, so each keeps its index bound.
    const ANY: &str = "SELECT COUNT(*) FROM outbox WHERE recipient_domain = $1 AND sent_at > $2";
    const LANE: &str = "SELECT COUNT(*) FROM outbox WHERE recipient_domain = $1 AND sent_at > $2 \
        AND lane = $3";
    Ok(on_db!(db, p => match lane {
        None => sqlx::query_scalar(ANY).bind(domain).bind(since).fetch_one(p).await?,
        Some(l) => sqlx::query_scalar(LANE).bind(domain).bind(since).bind(l).fetch_one(p).await?,
    }))
}

/// Hands a claimed row back unsent until `until`, without using up an attempt, noting why.
pub async fn hold(
    db: &Db,
    worker: &str,
    id: Uuid,
    why: &str,
    until: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE outbox SET locked_until = NULL, locked_by = NULL, \
        attempts = attempts - 1, last_error = $3, next_attempt_at = $4 \
        WHERE id = $1 AND locked_by = $2 AND status = 'pending'";
    finish(db, SQL, id, worker, why, until).await
}

/// Runs one of the marks below; false when the row is no longer leased to `worker`. A single
/// statement, so it runs without an explicit transaction: it cannot read-then-write.
async fn finish(
    db: &Db,
    sql: &str,
    id: Uuid,
    worker: &str,
    a: &str,
    b: DateTime<Utc>,
) -> Result<bool> {
    let n = on_writer!(db, p => sqlx::query(sql).bind(id).bind(worker).bind(a).bind(b)
        .execute(p).await?.rows_affected());
    Ok(n == 1)
}

/// Marks several emails sent in one statement, each with its server's response; returns the
/// ids still leased to `worker` (those marked).
pub async fn mark_sent_many(
    db: &Db,
    worker: &str,
    sent: &[(Uuid, String)],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let kept = on!(&mut tx, c => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE outbox SET status = 'sent', smtp_response = CASE id");
        for (id, response) in sent {
            qb.push(" WHEN ").push_bind(*id).push(" THEN ").push_bind(response.clone());
        }
        qb.push(" END, sent_at = ").push_bind(now);
        qb.push(", last_error = NULL, locked_until = NULL, locked_by = NULL WHERE locked_by = ")
            .push_bind(worker.to_string())
            .push(" AND id IN (");
        let mut list = qb.separated(", ");
        for (id, _) in sent {
            list.push_bind(*id);
        }
        list.push_unseparated(") RETURNING id");
        qb.build_query_scalar().fetch_all(&mut **c).await
    })?;
    tx.commit().await?;
    Ok(kept)
}

pub async fn mark_retry(
    db: &Db,
    id: Uuid,
    worker: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE outbox SET last_error = $3, next_attempt_at = $4, \
        locked_until = NULL, locked_by = NULL WHERE id = $1 AND locked_by = $2";
    finish(db, SQL, id, worker, error, next_attempt_at).await
}

pub async fn mark_failed(
    db: &Db,
    id: Uuid,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE outbox SET status = 'failed', last_error = $3, \
        next_attempt_at = $4, locked_until = NULL, locked_by = NULL \
        WHERE id = $1 AND locked_by = $2";
    finish(db, SQL, id, worker, error, now).await
}

/// Gives back leases `worker` holds on rows it claimed but did not try to send (on shutdown),
/// so another instance sends them now rather than after the lease runs out. The claimed attempt
/// is undone. Rows whose send was tried are never released: if their result could not be
/// recorded, the lease running out is what makes them due again.
pub async fn release(db: &Db, worker: &str, ids: &[Uuid]) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let n = on!(&mut tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "UPDATE outbox SET locked_until = NULL, locked_by = NULL, attempts = attempts - 1 \
             WHERE status = 'pending' AND locked_by = ",
        );
        qb.push_bind(worker).push(" AND id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.build().execute(&mut **c).await?.rows_affected()
    });
    tx.commit().await?;
    Ok(n)
}

/// Cancels mail to `recipient` whose key starts with `key_prefix` and that has not gone yet:
/// pending rows no dispatcher holds right now, and failed ones (so nobody sends them again by
/// hand). A row being sent at this moment is left to the dispatcher, which checks the address
/// against the application before it mints the row's links.
pub async fn cancel_unsent(
    tx: &mut Tx,
    key_prefix: &str,
    recipient: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    const SQL: &str = "UPDATE outbox SET status = 'cancelled', last_error = $3 \
        WHERE idempotency_key LIKE $1 AND recipient = $2 \
        AND (status = 'failed' OR (status = 'pending' \
             AND (locked_until IS NULL OR locked_until <= $4)))";
    let pattern = format!("{key_prefix}%");
    Ok(
        on!(tx, c => sqlx::query(SQL).bind(pattern).bind(recipient).bind(reason).bind(now)
        .execute(&mut **c).await?.rows_affected()),
    )
}

/// Puts a failed email back in the queue by hand, with a fresh set of attempts.
pub async fn retry_failed(db: &Db, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = retry_failed_tx(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(done)
}

/// A failed email back in the queue with fresh attempts; false when it is not failed.
pub async fn retry_failed_tx(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2 \
        WHERE id = $1 AND status = 'failed'";
    let n =
        on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct OutboxRow {
    pub id: Uuid,
    pub idempotency_key: String,
    pub template: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub smtp_response: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Newest first, optionally only one status.
pub async fn list(db: &Db, status: Option<&str>, limit: i64) -> Result<Vec<OutboxRow>> {
    const SQL: &str = "SELECT id, idempotency_key, template, recipient, status, attempts, \
        next_attempt_at, last_error, smtp_response, created_at, sent_at FROM outbox \
        WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(status).bind(limit).fetch_all(p).await?))
}

/// What the admins' outbox page lists: one state (`sending` is a pending email whose lease is
/// live: a dispatcher is sending it now), one template, and addresses containing `to`.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub state: String,
    pub template: Option<String>,
    pub to: Option<String>,
    pub limit: i64,
}

/// Every state the outbox page shows, `sending` among them.
pub const VIEW_STATES: [&str; 5] = [PENDING, "sending", SENT, FAILED, CANCELLED];

/// Newest first, as `l` says.
pub async fn listing(db: &Db, l: &Listing, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
    const SQL: &str = "SELECT id, idempotency_key, template, recipient, status, attempts, \
        next_attempt_at, last_error, smtp_response, created_at, sent_at FROM outbox \
        WHERE (($1 = 'sending' AND status = 'pending' AND locked_until > $2) \
            OR ($1 = 'pending' AND status = 'pending' \
                AND (locked_until IS NULL OR locked_until <= $2)) \
            OR ($1 NOT IN ('sending', 'pending') AND status = $1)) \
        AND ($3 IS NULL OR template = $3) \
        AND ($4 IS NULL OR LOWER(recipient) LIKE $4 ESCAPE '\\') \
        ORDER BY created_at DESC, id DESC LIMIT $5";
    let to = l.to.as_ref().map(|t| {
        let escaped = t
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    Ok(
        on_db!(db, p => sqlx::query_as(SQL).bind(&l.state).bind(now).bind(&l.template).bind(&to)
        .bind(l.limit).fetch_all(p).await?),
    )
}

/// How many emails are being sent right now (pending under a live lease).
pub async fn count_sending(db: &Db, now: DateTime<Utc>) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND locked_until > $1";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(now).fetch_one(p).await?))
}

/// Cancels a failed email for good (an admin decided it should not go); false if it was not
/// failed.
/// A failed email is never sent; false when it is not failed.
pub async fn cancel_failed_tx(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE outbox SET status = 'cancelled', \
        last_error = COALESCE(last_error, '') || ' (cancelled by an admin)', next_attempt_at = $2 \
        WHERE id = $1 AND status = 'failed'";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>> {
    const SQL: &str = "SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status";
    Ok(on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?))
}

/// An email on an applicant's timeline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimelineEmail {
    pub template: String,
    pub recipient: String,
    pub status: String,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The emails about one application, oldest first.
pub async fn for_application(db: &Db, application_id: Uuid) -> Result<Vec<TimelineEmail>> {
    const SQL: &str = "SELECT template, recipient, status, last_error, created_at, sent_at \
        FROM outbox WHERE application_id = $1 ORDER BY created_at, id";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(application_id).fetch_all(p).await?))
}

/// Forgets who an application's emails went to and what they said; any not sent yet are
/// cancelled.
pub async fn erase_for_application(
    tx: &mut Tx,
    application_id: Uuid,
    erased_address: &str,
) -> Result<()> {
    const SQL: &str = "UPDATE outbox SET recipient = $2, recipient_domain = '', payload = '{}', \
        smtp_response = NULL, last_error = NULL, \
        status = CASE WHEN status IN ('pending', 'failed') THEN 'cancelled' ELSE status END \
        WHERE application_id = $1";
    on!(tx, c => sqlx::query(SQL).bind(application_id).bind(erased_address).execute(&mut **c).await
        .map(|_| ())?);
    Ok(())
}
