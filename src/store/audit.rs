//! The audit log: one row per staff, API or admin-command action, written in the same
//! transaction as the change. Nothing here updates or deletes a row, and the database refuses
//! it too (a trigger on both engines).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};

/// One action. `actor` is `staff:<user id>`, `api_key:<key id>` or `cli`; `subject` is what
/// was acted on (`user:<id>`, `api_key:<id>`, `application:<id>`, ...). `before` and `after`
/// hold the changed state, never secrets or erased personal data.
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn record(tx: &mut Tx, e: Entry<'_>, at: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "INSERT INTO audit_log (id, at, actor, action, subject, before, after) \
        VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let (before, after) = (
        e.before.map(|v| v.to_string()),
        e.after.map(|v| v.to_string()),
    );
    on!(tx, c => sqlx::query(SQL).bind(Uuid::now_v7()).bind(at).bind(e.actor).bind(e.action)
        .bind(e.subject).bind(before).bind(after).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Appends many rows (a bulk action's, one per applicant), a few hundred per statement.
pub async fn record_many(tx: &mut Tx, entries: &[Entry<'_>], at: DateTime<Utc>) -> Result<()> {
    for chunk in entries.chunks(500) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO audit_log (id, at, actor, action, subject, before, after) ",
            );
            qb.push_values(chunk, |mut row, e| {
                row.push_bind(Uuid::now_v7())
                    .push_bind(at)
                    .push_bind(e.actor)
                    .push_bind(e.action)
                    .push_bind(e.subject)
                    .push_bind(e.before.as_ref().map(|v| v.to_string()))
                    .push_bind(e.after.as_ref().map(|v| v.to_string()));
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The newest `limit` rows about `subject`.
pub async fn for_subject(db: &Db, subject: &str, limit: i64) -> Result<Vec<Row>> {
    const SQL: &str = "SELECT id, at, actor, action, subject, before, after FROM audit_log \
        WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT $2";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(subject).bind(limit).fetch_all(p).await?))
}

/// What to list: each filter optional; `after` is the last row of the previous page.
#[derive(Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub subject: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Rows matching `f`, newest first, one page (keyset: never an OFFSET).
pub async fn list(db: &Db, f: &Filter) -> Result<Vec<Row>> {
    let (after_at, after_id) = f.after.unzip();
    const SQL: &str = "SELECT id, at, actor, action, subject, before, after FROM audit_log \
        WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
        AND ($3 IS NULL OR subject = $3) AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
        AND ($6 IS NULL OR at < $6 OR (at = $6 AND id < $7)) \
        ORDER BY at DESC, id DESC LIMIT $8";
    Ok(
        on_db!(db, p => sqlx::query_as(SQL).bind(&f.actor).bind(&f.action).bind(&f.subject)
        .bind(f.from).bind(f.to).bind(after_at).bind(after_id).bind(f.limit)
        .fetch_all(p).await?),
    )
}
