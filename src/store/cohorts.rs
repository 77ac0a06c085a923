//! Cohorts, their checklists, and the checklist templates they are copied from.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::cohorts::{ChecklistItem, NewCohort};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortRow {
    pub id: Uuid,
    pub name: String,
    pub market: String,
    pub language: String,
    pub start_date: NaiveDate,
    pub capacity: i64,
    pub seats_taken: i64,
    pub owner_id: Option<Uuid>,
    pub owner_email: Option<String>,
    pub waitlist: bool,
    pub marked: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "c.id, c.name, c.market, c.language, c.start_date, c.capacity, \
    c.seats_taken, c.owner_id, u.email AS owner_email, c.waitlist, c.marked, c.created_by, \
    c.created_at, c.updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub key: String,
    pub label: String,
    pub required: bool,
    pub ticked_by: String,
    pub records: Option<String>,
    pub position: i32,
}

/// Replaces the items of checklist template `template` (`onramp seed`).
pub async fn replace_template(tx: &mut Tx, template: &str, items: &[ChecklistItem]) -> Result<()> {
    const DELETE: &str = "DELETE FROM checklist_template_items WHERE template = $1";
    on!(tx, c => sqlx::query(DELETE).bind(template).execute(&mut **c).await.map(|_| ())?);
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO checklist_template_items (template, key, label, required, ticked_by, \
             records, position) ",
        );
        qb.push_values(items.iter().enumerate(), |mut row, (n, item)| {
            row.push_bind(template)
                .push_bind(&item.key)
                .push_bind(&item.label)
                .push_bind(item.required)
                .push_bind(item.ticked_by.as_str())
                .push_bind(&item.records)
                .push_bind(n as i32 + 1);
        });
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    Ok(())
}

/// How many items template `template` has.
pub async fn template_size(db: &Db, template: &str) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM checklist_template_items WHERE template = $1";
    Ok(on_db!(db, p => sqlx::query_scalar(SQL).bind(template).fetch_one(p).await?))
}

/// The active staff account with this address, if any: (id, role).
pub async fn staff_by_email(tx: &mut Tx, email: &str) -> Result<Option<(Uuid, String)>> {
    const SQL: &str = "SELECT id, role FROM users WHERE email = $1 AND disabled_at IS NULL";
    Ok(on!(tx, c => sqlx::query_as(SQL).bind(email).fetch_optional(&mut **c).await?))
}

/// Stores a cohort and copies the items of checklist template `template` into it. A name
/// already in use is a `Conflict` naming `cohorts_name`.
pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    c: &NewCohort,
    owner_id: Option<Uuid>,
    template: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const COHORT: &str = "INSERT INTO cohorts (id, name, market, language, start_date, capacity, \
        owner_id, waitlist, created_by, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
    const ITEMS: &str = "INSERT INTO cohort_checklist_items (cohort_id, key, label, required, \
        ticked_by, records, position) SELECT $1, key, label, required, ticked_by, records, \
        position FROM checklist_template_items WHERE template = $2";
    on!(tx, conn => sqlx::query(COHORT).bind(id).bind(&c.name).bind(&c.market)
        .bind(&c.language).bind(c.start_date).bind(c.capacity).bind(owner_id).bind(c.waitlist)
        .bind(actor).bind(now).execute(&mut **conn).await.map(|_| ())?);
    on!(tx, conn => sqlx::query(ITEMS).bind(id).bind(template).execute(&mut **conn).await
        .map(|_| ())?);
    Ok(())
}

pub async fn get(db: &Db, id: Uuid) -> Result<Option<CohortRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cohorts c LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = $1"
    );
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await?))
}

/// A cohort's checklist, in order.
pub async fn checklist(db: &Db, id: Uuid) -> Result<Vec<ItemRow>> {
    const SQL: &str = "SELECT key, label, required, ticked_by, records, position \
        FROM cohort_checklist_items WHERE cohort_id = $1 ORDER BY position, key";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await?))
}
