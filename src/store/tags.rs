//! Tags on applications.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};

/// Adds `tag`; false when the application already had it.
pub async fn add(tx: &mut Tx, id: Uuid, tag: &str, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "INSERT INTO application_tags (application_id, tag, created_at) \
        VALUES ($1, $2, $3) ON CONFLICT (application_id, tag) DO NOTHING";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(tag).bind(now).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

/// Removes `tag`; false when the application did not have it.
pub async fn remove(tx: &mut Tx, id: Uuid, tag: &str) -> Result<bool> {
    const SQL: &str = "DELETE FROM application_tags WHERE application_id = $1 AND tag = $2";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(tag).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

/// An application's tags, sorted.
pub async fn of(db: &Db, id: Uuid) -> Result<Vec<String>> {
    const SQL: &str = "SELECT tag FROM application_tags WHERE application_id = $1 ORDER BY tag";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(id).fetch_all(p).await?))
}
