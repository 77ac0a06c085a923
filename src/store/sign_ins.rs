//! Failed staff sign-ins by subject: the submitted address (hashed, counted whether or not an
//! account has it) and the client address (locked after too many failures in a row).

use chrono::{DateTime, Utc};

use super::{on_db, on_writer, Db, Result};

/// The subject for a submitted address: its SHA-256, so the table names no one.
pub fn address_subject(email: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "address:{}",
        hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()))
    )
}

/// The subject for a client address.
pub fn client_subject(ip: std::net::IpAddr) -> String {
    format!("client:{ip}")
}

/// Counts a failure for `subject` at `now`; failures in a row restart at one when the last was
/// before `since`. From the `lock_after`th in a row the subject is locked until `lock_until`.
/// The failures in a row, this one included.
pub async fn record_failure(
    db: &Db,
    subject: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    lock_after: i64,
    lock_until: DateTime<Utc>,
) -> Result<i64> {
    const SQL: &str = "INSERT INTO sign_in_failures (subject, failures, last_failed_at, \
        locked_until) VALUES ($1, 1, $2, CASE WHEN $4 <= 1 THEN $5 END) \
        ON CONFLICT (subject) DO UPDATE SET \
        failures = CASE WHEN sign_in_failures.last_failed_at < $3 THEN 1 \
            ELSE sign_in_failures.failures + 1 END, \
        locked_until = CASE WHEN (CASE WHEN sign_in_failures.last_failed_at < $3 THEN 1 \
            ELSE sign_in_failures.failures + 1 END) >= $4 THEN $5 \
            ELSE sign_in_failures.locked_until END, \
        last_failed_at = $2 \
        RETURNING failures";
    Ok(
        on_writer!(db, p => sqlx::query_scalar(SQL).bind(subject).bind(now).bind(since)
        .bind(lock_after).bind(lock_until).fetch_one(p).await?),
    )
}

/// Until when `subject` is locked, if it is at `now`.
pub async fn locked_until(
    db: &Db,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    const SQL: &str = "SELECT locked_until FROM sign_in_failures \
        WHERE subject = $1 AND locked_until > $2";
    Ok(
        on_db!(db, p => sqlx::query_scalar(SQL).bind(subject).bind(now)
        .fetch_optional(p).await?),
    )
}

/// A good sign-in clears the failures of its subjects.
pub async fn clear(db: &Db, subjects: &[&str]) -> Result<()> {
    const SQL: &str = "DELETE FROM sign_in_failures WHERE subject = $1";
    for s in subjects {
        on_writer!(db, p => sqlx::query(SQL).bind(*s).execute(p).await.map(|_| ())?);
    }
    Ok(())
}

/// Forgets failures older than `before` that hold no lock at `now`. How many rows went.
pub async fn forget(db: &Db, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
    const SQL: &str = "DELETE FROM sign_in_failures WHERE last_failed_at < $1 \
        AND (locked_until IS NULL OR locked_until < $2)";
    Ok(
        on_writer!(db, p => sqlx::query(SQL).bind(before).bind(now).execute(p).await
        .map(|r| r.rows_affected())?),
    )
}
