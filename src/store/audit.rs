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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The newest `limit` rows about `subject`.
pub async fn for_subject(db: &Db, subject: &str, limit: i64) -> Result<Vec<Row>> {
    const SQL: &str = "SELECT at, actor, action, subject, before, after FROM audit_log \
        WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT $2";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(subject).bind(limit).fetch_all(p).await?))
}
