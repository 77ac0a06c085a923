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

/// Adds (`on`) or removes `tag` on each of `ids`; the ids it changed.
pub async fn set_many(
    tx: &mut Tx,
    ids: &[Uuid],
    tag: &str,
    on: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    let mut changed = Vec::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<Uuid> = on!(tx, c => {
            let mut qb;
            if on {
                qb = sqlx::QueryBuilder::new(
                    "INSERT INTO application_tags (application_id, tag, created_at) ",
                );
                qb.push_values(chunk, |mut row, id| {
                    row.push_bind(*id).push_bind(tag).push_bind(now);
                });
                qb.push(" ON CONFLICT (application_id, tag) DO NOTHING RETURNING application_id");
            } else {
                qb = sqlx::QueryBuilder::new("DELETE FROM application_tags WHERE tag = ");
                qb.push_bind(tag).push(" AND application_id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                list.push_unseparated(") RETURNING application_id");
            }
            qb.build_query_scalar().fetch_all(&mut **c).await
        })?;
        changed.extend(rows);
    }
    Ok(changed)
}
