//! Single-purpose links for applicants. Only the hash of a token is stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::token::SecretToken;

pub const VERIFY_EMAIL: &str = "verify_email";
pub const STATUS: &str = "status";
/// Opens the applicant's skills quiz; reusable until it expires.
pub const QUIZ: &str = "quiz";
/// Opens the applicant's cohort offer (accept or decline); reusable until it expires.
pub const OFFER: &str = "offer";
/// Turns off the applicant's non-essential mail (the one-click link in reminders).
pub const UNSUBSCRIBE: &str = "unsubscribe";
/// Kept by the browser that signed up (a cookie), so it can correct a mistyped address.
pub const SIGNUP_RECEIPT: &str = "signup_receipt";

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
    /// Ends the application's earlier unused links of the same purpose. Only a link the
    /// applicant asked to renew does: routine emails leave earlier links working for their
    /// whole lifetime, so a bookmarked status page or a quiz open in another tab keeps working.
    pub replaces: bool,
}

/// Issues a new link of `purpose` for an application, valid for `ttl`: the token goes to the
/// caller, only its hash is stored.
pub async fn issue(
    db: &Db,
    application_id: Uuid,
    purpose: &'static str,
    ttl: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<SecretToken> {
    let token = SecretToken::generate();
    let row = NewToken {
        hash: token.hash(),
        application_id,
        purpose,
        expires_at: now + ttl,
        replaces: false,
    };
    let mut tx = db.begin().await?;
    insert_many(&mut tx, &[row], now).await?;
    tx.commit().await?;
    Ok(token)
}

/// Stores tokens (their hashes) in one statement. A link marked `replaces` (the applicant
/// asked for a new one) first ends the earlier unused links of its purpose, one statement per
/// purpose; every other link leaves the earlier ones alone.
pub async fn insert_many(tx: &mut Tx, tokens: &[NewToken], now: DateTime<Utc>) -> Result<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let mut replaced: std::collections::BTreeMap<&str, Vec<Uuid>> = Default::default();
    for t in tokens.iter().filter(|t| t.replaces) {
        replaced
            .entry(t.purpose)
            .or_default()
            .push(t.application_id);
    }
    for (purpose, ids) in replaced {
        expire_unused_many(tx, &ids, purpose, now).await?;
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

/// The application a token (of any purpose, live or not) was issued for.
pub async fn application_of(db: &Db, hash: &str) -> Result<Option<Uuid>> {
    const SQL: &str = "SELECT application_id FROM access_tokens WHERE token_hash = $1";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(hash).fetch_optional(p).await?))
}

/// The application behind a live, unused token of `purpose`.
pub async fn live_application_tx(
    tx: &mut Tx,
    hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    const SQL: &str = "SELECT application_id FROM access_tokens WHERE token_hash = $1 \
        AND purpose = $2 AND used_at IS NULL AND expires_at > $3";
    Ok(
        on!(tx, c => sqlx::query_scalar(SQL).bind(hash).bind(purpose).bind(now)
        .fetch_optional(&mut **c).await?),
    )
}

/// Ends every unused token of `purpose` for an application, e.g. verification links sent to an
/// address that turned out to be mistyped.
pub async fn expire_unused(
    tx: &mut Tx,
    application_id: Uuid,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "UPDATE access_tokens SET expires_at = $3 WHERE application_id = $1 \
        AND purpose = $2 AND used_at IS NULL AND expires_at > $3";
    on!(tx, c => sqlx::query(SQL).bind(application_id).bind(purpose).bind(now)
        .execute(&mut **c).await.map(|_| ()))?;
    Ok(())
}

/// `expire_unused` for several applications at once.
async fn expire_unused_many(
    tx: &mut Tx,
    application_ids: &[Uuid],
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in application_ids.chunks(1000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("UPDATE access_tokens SET expires_at = ");
            qb.push_bind(now)
                .push(" WHERE purpose = ")
                .push_bind(purpose.to_string())
                .push(" AND used_at IS NULL AND expires_at > ")
                .push_bind(now)
                .push(" AND application_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Deletes every link of an application (its data is being erased).
pub async fn delete_for_application(tx: &mut Tx, application_id: Uuid) -> Result<()> {
    const SQL: &str = "DELETE FROM access_tokens WHERE application_id = $1";
    on!(tx, c => sqlx::query(SQL).bind(application_id).execute(&mut **c).await.map(|_| ()))?;
    Ok(())
}
