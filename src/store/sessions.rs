//! Staff sign-in sessions. The cookie holds a random token; only its hash is stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, on_writer, Db, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffUser {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub must_change_password: bool,
    /// The zone they read times in (an IANA name); None for the instance's.
    pub time_zone: Option<String>,
}

pub async fn create(
    db: &Db,
    token_hash: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "INSERT INTO staff_sessions (token_hash, user_id, created_at, expires_at) \
        VALUES ($1, $2, $3, $4)";
    on_writer!(db, p => sqlx::query(SQL).bind(token_hash).bind(user_id).bind(now)
        .bind(expires_at).execute(p).await.map(|_| ())?);
    Ok(())
}

/// The signed-in user behind a live session.
pub async fn user(db: &Db, token_hash: &str, now: DateTime<Utc>) -> Result<Option<StaffUser>> {
    const SQL: &str = "SELECT u.id, u.email, u.role, u.must_change_password, u.time_zone \
        FROM staff_sessions s \
        JOIN users u ON u.id = s.user_id \
        WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(p).await?))
}

/// Ends one session, and clears out expired ones while at it.
pub async fn delete(db: &Db, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "DELETE FROM staff_sessions WHERE token_hash = $1 OR expires_at <= $2";
    on_writer!(db, p => sqlx::query(SQL).bind(token_hash).bind(now).execute(p).await.map(|_| ())?);
    Ok(())
}

/// Deletes expired sessions; how many there were.
pub async fn delete_expired(db: &Db, now: DateTime<Utc>) -> Result<u64> {
    const SQL: &str = "DELETE FROM staff_sessions WHERE expires_at <= $1";
    Ok(on_writer!(db, p => sqlx::query(SQL).bind(now).execute(p).await?.rows_affected()))
}

/// Ends every other session of one user (after they change their own password).
pub async fn end_others(tx: &mut Tx, user_id: Uuid, keep_hash: &str) -> Result<u64> {
    const SQL: &str = "DELETE FROM staff_sessions WHERE user_id = $1 AND token_hash <> $2";
    Ok(
        on!(tx, c => sqlx::query(SQL).bind(user_id).bind(keep_hash).execute(&mut **c).await?
        .rows_affected()),
    )
}

/// Ends every session of one user (after a password change); how many there were.
pub async fn end_all(tx: &mut Tx, user_id: Uuid) -> Result<u64> {
    const SQL: &str = "DELETE FROM staff_sessions WHERE user_id = $1";
    Ok(on!(tx, c => sqlx::query(SQL).bind(user_id).execute(&mut **c).await?.rows_affected()))
}
