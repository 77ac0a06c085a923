//! The applicant list at a million rows: one filtered, keyset-paged query (the page, the API and
//! the CSV export all read it), counts per stage for the same filters, the search index and
//! the keys that find one person under two addresses.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::applicants::{self, Cursor, Filter, Sort};

/// One row of the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub country: String,
    pub area: String,
    pub languages: String,
    pub weekly_hours: i64,
    pub student: bool,
    pub customer: bool,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub status: String,
    pub score_bp: i64,
    pub created_at: DateTime<Utc>,
    pub stage_since: Option<DateTime<Utc>>,
}

impl ListRow {
    /// The cursor that continues after this row in `sort`.
    pub fn cursor(&self, sort: Sort) -> Cursor {
        let value = match sort {
            Sort::AppliedAsc | Sort::AppliedDesc => self.created_at.to_rfc3339(),
            Sort::ScoreAsc | Sort::ScoreDesc => self.score_bp.to_string(),
            Sort::NameAsc | Sort::NameDesc => self.full_name.clone(),
        };
        Cursor {
            sort,
            value,
            id: self.id,
        }
    }

    pub fn score(&self) -> Option<i64> {
        (self.score_bp >= 0).then_some(self.score_bp)
    }
}

const LIST_COLUMNS: &str = "a.id, a.full_name, a.email, a.phone, a.country, a.area, \
    a.languages, a.weekly_hours, a.student, a.customer, a.utm_source, a.utm_campaign, a.status, \
    a.score_bp, a.created_at, a.stage_since";

/// Adds the filter's conditions (each starting with ` AND`) to a query over `applications a`.
/// `with_stage` false leaves the stage out (for the counts per stage). A macro, because the
/// builder is typed per engine.
macro_rules! push_conditions {
    ($qb:expr, $f:expr, $now:expr, $with_stage:expr) => {{
        let f: &Filter = $f;
        let qb = $qb;
        if $with_stage {
            if let Some(s) = &f.stage {
                qb.push(" AND a.status = ").push_bind(s.clone());
            }
        }
        if let Some(v) = &f.country {
            qb.push(" AND a.country = ").push_bind(v.clone());
        }
        if let Some(v) = &f.language {
            // Two lower-case letters (checked), so no LIKE wildcard can get in.
            qb.push(" AND (',' || a.languages || ',') LIKE ")
                .push_bind(format!("%,{v},%"));
        }
        if let Some(v) = &f.area {
            qb.push(" AND a.area = ").push_bind(v.clone());
        }
        if let Some(v) = f.student {
            qb.push(" AND a.student = ").push_bind(v);
        }
        if let Some(v) = f.customer {
            qb.push(" AND a.customer = ").push_bind(v);
        }
        if let Some(v) = &f.source {
            qb.push(" AND a.utm_source = ").push_bind(v.clone());
        }
        if let Some(v) = &f.campaign {
            qb.push(" AND a.utm_campaign = ").push_bind(v.clone());
        }
        if let Some(v) = &f.tag {
            qb.push(" AND a.id IN (SELECT t.application_id FROM application_tags t WHERE t.tag = ")
                .push_bind(v.clone())
                .push(")");
        }
        if let Some(v) = f.score_min {
            qb.push(" AND a.score_bp >= ").push_bind(v);
        }
        if let Some(v) = f.score_max {
            qb.push(" AND a.score_bp BETWEEN 0 AND ").push_bind(v);
        }
        let (from, to) = f.applied_range();
        if let Some(v) = from {
            qb.push(" AND a.created_at >= ").push_bind(v);
        }
        if let Some(v) = to {
            qb.push(" AND a.created_at < ").push_bind(v);
        }
        if let Some(days) = f.stuck_days {
            let cutoff: DateTime<Utc> = $now - Duration::days(days);
            qb.push(" AND a.stage_since < ").push_bind(cutoff);
        }
        for w in &f.q {
            qb.push(
                " AND a.id IN (SELECT s.application_id FROM application_search s WHERE s.term >= ",
            )
            .push_bind(w.clone())
            .push(" AND s.term < ")
            .push_bind(applicants::prefix_end(w))
            .push(")");
        }
    }};
}

/// Adds the keyset condition and the order for `f.sort`, and the limit.
macro_rules! push_page {
    ($qb:expr, $f:expr, $limit:expr) => {{
        let f: &Filter = $f;
        let qb = $qb;
        let (column, dir, cmp) = match f.sort {
            Sort::AppliedDesc => ("a.created_at", "DESC", "<"),
            Sort::AppliedAsc => ("a.created_at", "ASC", ">"),
            Sort::ScoreDesc => ("a.score_bp", "DESC", "<"),
            Sort::ScoreAsc => ("a.score_bp", "ASC", ">"),
            Sort::NameAsc => ("a.full_name", "ASC", ">"),
            Sort::NameDesc => ("a.full_name", "DESC", "<"),
        };
        if let Some(c) = &f.after {
            qb.push(format!(" AND ({column}, a.id) {cmp} ("));
            match c.sort {
                Sort::AppliedAsc | Sort::AppliedDesc => {
                    let t: DateTime<Utc> = DateTime::parse_from_rfc3339(&c.value)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_default();
                    qb.push_bind(t);
                }
                Sort::ScoreAsc | Sort::ScoreDesc => {
                    qb.push_bind(c.value.parse::<i64>().unwrap_or_default());
                }
                Sort::NameAsc | Sort::NameDesc => {
                    qb.push_bind(c.value.clone());
                }
            }
            qb.push(", ").push_bind(c.id).push(")");
        }
        qb.push(format!(" ORDER BY {column} {dir}, a.id {dir} LIMIT "))
            .push_bind($limit);
    }};
}

/// A page of the list: at most `f.limit` rows after `f.after`, and whether more follow.
pub async fn page(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<(Vec<ListRow>, bool)> {
    let mut rows: Vec<ListRow> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {LIST_COLUMNS} FROM applications a WHERE 1 = 1"
        ));
        push_conditions!(&mut qb, f, now, true);
        push_page!(&mut qb, f, f.limit + 1);
        qb.build_query_as().fetch_all(p).await?
    });
    let more = rows.len() as i64 > f.limit;
    rows.truncate(f.limit as usize);
    Ok((rows, more))
}

/// How many applicants match the filter in each stage (the filter's own stage left out).
pub async fn counts_by_stage(
    db: &Db,
    f: &Filter,
    now: DateTime<Utc>,
) -> Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = on_db!(db, p => {
        let mut qb =
            sqlx::QueryBuilder::new("SELECT a.status, COUNT(*) FROM applications a WHERE 1 = 1");
        push_conditions!(&mut qb, f, now, false);
        qb.push(" GROUP BY a.status");
        qb.build_query_as().fetch_all(p).await?
    });
    Ok(rows.into_iter().collect())
}

/// The ids of every applicant the filter matches, in list order (for a bulk action on "all
/// matching"), at most `cap`.
pub async fn matching_ids(db: &Db, f: &Filter, now: DateTime<Utc>, cap: i64) -> Result<Vec<Uuid>> {
    Ok(on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT a.id FROM applications a WHERE 1 = 1");
        push_conditions!(&mut qb, f, now, true);
        let f = Filter { after: None, ..f.clone() };
        push_page!(&mut qb, &f, cap);
        qb.build_query_scalar().fetch_all(p).await?
    }))
}

/// The query plan of the list query for `f` (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN
/// ANALYZE` on PostgreSQL), one line per step, for the benchmark's report.
pub async fn explain(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<Vec<String>> {
    Ok(match db {
        Db::Sqlite { reader, .. } => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "EXPLAIN QUERY PLAN SELECT {LIST_COLUMNS} FROM applications a WHERE 1 = 1"
            ));
            push_conditions!(&mut qb, f, now, true);
            push_page!(&mut qb, f, f.limit + 1);
            let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(reader).await?;
            rows.into_iter().map(|r| r.3).collect()
        }
        Db::Postgres(pool) => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "EXPLAIN ANALYZE SELECT {LIST_COLUMNS} FROM applications a WHERE 1 = 1"
            ));
            push_conditions!(&mut qb, f, now, true);
            push_page!(&mut qb, f, f.limit + 1);
            qb.build_query_scalar().fetch_all(pool).await?
        }
    })
}

/// The tags of each of `ids`.
pub async fn tags_of(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<String>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT application_id, tag FROM application_tags WHERE application_id IN (",
        );
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(") ORDER BY tag");
        qb.build_query_as().fetch_all(p).await?
    });
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        out.entry(id).or_default().push(tag);
    }
    Ok(out)
}

/// Which of `ids` share a person key (the address without dots or `+tag`, or the phone
/// number) with another applicant.
pub async fn with_duplicates(db: &Db, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Uuid> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT a.id FROM applications a WHERE a.id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.push(
            " AND (EXISTS (SELECT 1 FROM applications b WHERE b.email_key = a.email_key \
               AND b.id <> a.id) \
             OR (a.phone_key IS NOT NULL AND EXISTS (SELECT 1 FROM applications b \
               WHERE b.phone_key = a.phone_key AND b.id <> a.id)))",
        );
        qb.build_query_scalar().fetch_all(p).await?
    });
    Ok(rows.into_iter().collect())
}

/// Another applicant who looks like the same person, and why.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Duplicate {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub same_email: bool,
    pub same_phone: bool,
}

/// The other applicants who share a person key with `id`, oldest first.
pub async fn duplicates_of(db: &Db, id: Uuid) -> Result<Vec<Duplicate>> {
    const SQL: &str = "SELECT b.id, b.full_name, b.email, b.status, b.created_at, \
        b.email_key = a.email_key AS same_email, \
        (a.phone_key IS NOT NULL AND b.phone_key = a.phone_key) AS same_phone \
        FROM applications a JOIN applications b ON b.id <> a.id \
          AND (b.email_key = a.email_key OR (a.phone_key IS NOT NULL AND b.phone_key = a.phone_key)) \
        WHERE a.id = $1 ORDER BY b.created_at, b.id";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await?))
}

/// Writes the search terms of applications just inserted (their person keys went in with the
/// row), replacing any they had.
pub async fn index_terms(tx: &mut Tx, rows: &[(Uuid, &str, &str)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new("DELETE FROM application_search WHERE application_id IN (");
        let mut list = qb.separated(", ");
        for (id, _, _) in rows {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    let terms: Vec<(String, Uuid)> = rows
        .iter()
        .flat_map(|(id, name, email)| {
            applicants::search_terms(name, email)
                .into_iter()
                .map(move |t| (t, *id))
        })
        .collect();
    // Two binds per row: stay well under SQLite's 32,766 bind limit.
    for chunk in terms.chunks(5000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO application_search (term, application_id) ",
            );
            qb.push_values(chunk, |mut row, (t, id)| {
                row.push_bind(t.as_str()).push_bind(*id);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Writes the person keys and search terms of an application whose address or name changed.
pub async fn reindex(tx: &mut Tx, rows: &[(Uuid, &str, &str, Option<&str>)]) -> Result<()> {
    for (id, _, email, phone) in rows {
        const KEYS: &str = "UPDATE applications SET email_key = $2, phone_key = $3 WHERE id = $1";
        let (ek, pk) = (applicants::email_key(email), applicants::phone_key(*phone));
        on!(tx, c => sqlx::query(KEYS).bind(*id).bind(ek).bind(pk).execute(&mut **c).await
            .map(|_| ())?);
    }
    let terms: Vec<(Uuid, &str, &str)> = rows.iter().map(|(id, n, e, _)| (*id, *n, *e)).collect();
    index_terms(tx, &terms).await
}

/// Fills in the person keys and search terms of applications stored before the list existed
/// (run at start, after the migrations; a batch at a time).
pub async fn backfill(db: &Db) -> Result<usize> {
    let mut done = 0;
    loop {
        const SQL: &str = "SELECT id, full_name, email, phone FROM applications \
            WHERE email_key IS NULL LIMIT 1000";
        let rows: Vec<(Uuid, String, String, Option<String>)> =
            on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?);
        if rows.is_empty() {
            return Ok(done);
        }
        let mut tx = db.begin().await?;
        let refs: Vec<(Uuid, &str, &str, Option<&str>)> = rows
            .iter()
            .map(|(id, n, e, p)| (*id, n.as_str(), e.as_str(), p.as_deref()))
            .collect();
        reindex(&mut tx, &refs).await?;
        tx.commit().await?;
        done += rows.len();
    }
}

/// Drops an application's search terms and phone key (erasure); its email key becomes its
/// placeholder address.
pub async fn unindex(tx: &mut Tx, id: Uuid, erased_address: &str) -> Result<()> {
    const TERMS: &str = "DELETE FROM application_search WHERE application_id = $1";
    const KEYS: &str = "UPDATE applications SET email_key = $2, phone_key = NULL WHERE id = $1";
    on!(tx, c => sqlx::query(TERMS).bind(id).execute(&mut **c).await.map(|_| ())?);
    on!(tx, c => sqlx::query(KEYS).bind(id).bind(erased_address).execute(&mut **c).await
        .map(|_| ())?);
    Ok(())
}
