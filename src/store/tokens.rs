//! Single-purpose links for applicants. Only the hash of a token is stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};

pub const VERIFY_EMAIL: &str = "verify_email";
pub const STATUS: &str = "status";
/// Opens the applicant's skills quiz; reusable until it expires.
pub const QUIZ: &str = "quiz";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub application_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub struct NewToken {
    pub hash: String,
    pub application_id: Uuid,
    pub purpose: &'static str,
    pub expires_at: DateTime<Utc>,
}

/// Stores tokens (their hashes) in one statement.
pub async fn insert_many(tx: &mut Tx, tokens: &[NewToken], now: DateTime<Utc>) -> Result<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO access_tokens (token_hash, application_id, purpose, expires_at, created_at) ",
        );
        qb.push_values(tokens, |mut row, t| {
            row.push_bind(&t.hash)
                .push_bind(t.application_id)
                .push_bind(t.purpose)
                .push_bind(t.expires_at)
                .push_bind(now);
        });
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
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
