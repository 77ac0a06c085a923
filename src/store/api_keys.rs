use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};

pub async fn create(tx: &mut Tx, name: &str, key_hash: &str, now: DateTime<Utc>) -> Result<Uuid> {
    const SQL: &str =
        "INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)";
    let id = Uuid::now_v7();
    on!(tx, c => sqlx::query(SQL).bind(id).bind(name).bind(key_hash).bind(now)
        .execute(&mut **c).await.map(|_| ())?);
    Ok(id)
}

/// The id of the live (not revoked) key with this hash.
pub async fn find_active(db: &Db, key_hash: &str) -> Result<Option<Uuid>> {
    const SQL: &str = "SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(key_hash).fetch_optional(p).await?))
}

pub async fn revoke(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    let n =
        on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}
