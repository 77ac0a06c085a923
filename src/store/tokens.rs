//! Single-purpose links for applicants. Only the hash of a token is stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};

pub const VERIFY_EMAIL: &str = "verify_email";
pub const STATUS: &str = "status";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub application_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    tx: &mut Tx,
    hash: &str,
    application_id: Uuid,
    purpose: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "INSERT INTO access_tokens (token_hash, application_id, purpose, \
        expires_at, created_at) VALUES ($1, $2, $3, $4, $5)";
    on!(tx, c => sqlx::query(SQL).bind(hash).bind(application_id).bind(purpose)
        .bind(expires_at).bind(now).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

pub async fn find(db: &Db, hash: &str, purpose: &str) -> Result<Option<TokenRow>> {
    const SQL: &str = "SELECT application_id, expires_at, used_at FROM access_tokens \
        WHERE token_hash = $1 AND purpose = $2";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(hash).bind(purpose).fetch_optional(p).await?))
}

/// Uses the token once. Returns the application it belongs to, or None when it is unknown,
/// already used or expired, all decided in one statement so two clicks cannot both use it.
pub async fn consume(
    tx: &mut Tx,
    hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    const SQL: &str = "UPDATE access_tokens SET used_at = $3 WHERE token_hash = $1 \
        AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING application_id";
    Ok(
        on!(tx, c => sqlx::query_scalar(SQL).bind(hash).bind(purpose).bind(now)
        .fetch_optional(&mut **c).await?),
    )
}
