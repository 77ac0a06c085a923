//! The applicant list at a million rows: one filtered, keyset-paged query (the page, the API and
//! the CSV export all read it), counts per stage for the same filters, the search index and
//! the keys that find one person under two addresses.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Pools, Result, Tx};
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

/// How a sort orders the list: its column (under the same name in `applications` and in
/// `application_search`), direction, and the keyset comparison that continues after a row.
fn order(sort: Sort) -> (&'static str, &'static str, &'static str) {
    match sort {
        Sort::AppliedDesc => ("created_at", "DESC", "<"),
        Sort::AppliedAsc => ("created_at", "ASC", ">"),
        Sort::ScoreDesc => ("score_bp", "DESC", "<"),
        Sort::ScoreAsc => ("score_bp", "ASC", ">"),
        Sort::NameAsc => ("full_name", "ASC", ">"),
        Sort::NameDesc => ("full_name", "DESC", "<"),
    }
}

/// Adds the filter's conditions but the search words (each starting with ` AND`) on table `$t`:
/// `a` (`applications`, id column `id`) or `s` (`application_search`, which carries the
/// same columns under the same names, id column `application_id`). `with_stage` false leaves
/// the stage out (for the counts per stage). A macro, because the builder is typed per engine.
macro_rules! push_conditions {
    ($qb:expr, $f:expr, $now:expr, $with_stage:expr, $t:expr, $id:expr) => {{
        let f: &Filter = $f;
        let qb = $qb;
        let (t, id): (&str, &str) = ($t, $id);
        if $with_stage {
            if let Some(s) = &f.stage {
                qb.push(format!(" AND {t}.status = ")).push_bind(s.clone());
            }
        }
        if let Some(v) = &f.country {
            qb.push(format!(" AND {t}.country = ")).push_bind(v.clone());
        }
        if let Some(v) = &f.language {
            // Two lower-case letters (checked), so no LIKE wildcard can get in.
            qb.push(format!(" AND (',' || {t}.languages || ',') LIKE "))
                .push_bind(format!("%,{v},%"));
        }
        if let Some(v) = &f.area {
            qb.push(format!(" AND {t}.area = ")).push_bind(v.clone());
        }
        if let Some(v) = f.student {
            qb.push(format!(" AND {t}.student = ")).push_bind(v);
        }
        if let Some(v) = f.customer {
            qb.push(format!(" AND {t}.customer = ")).push_bind(v);
        }
        if let Some(v) = &f.source {
            qb.push(format!(" AND {t}.utm_source = "))
                .push_bind(v.clone());
        }
        if let Some(v) = &f.campaign {
            qb.push(format!(" AND {t}.utm_campaign = "))
                .push_bind(v.clone());
        }
        if let Some(v) = &f.tag {
            qb.push(format!(
                " AND {id} IN (SELECT g.application_id FROM application_tags g WHERE g.tag = "
            ))
            .push_bind(v.clone())
            .push(")");
        }
        if let Some(v) = f.score_min {
            qb.push(format!(" AND {t}.score_bp >= ")).push_bind(v);
        }
        if let Some(v) = f.score_max {
            qb.push(format!(" AND {t}.score_bp BETWEEN 0 AND "))
                .push_bind(v);
        }
        let (from, to) = f.applied_range();
        if let Some(v) = from {
            qb.push(format!(" AND {t}.created_at >= ")).push_bind(v);
        }
        if let Some(v) = to {
            qb.push(format!(" AND {t}.created_at < ")).push_bind(v);
        }
        if let Some(days) = f.stuck_days {
            let cutoff: DateTime<Utc> = $now - Duration::days(days);
            qb.push(format!(" AND {t}.stage_since < "))
                .push_bind(cutoff);
        }
        if f.stuck {
            // Over their own stage's limit; no limits at all match nobody.
            qb.push(" AND (1 = 0");
            for (stage, limit) in &f.stuck_limits {
                let cutoff: DateTime<Utc> = $now - *limit;
                qb.push(format!(" OR ({t}.status = "))
                    .push_bind(stage.clone())
                    .push(format!(" AND {t}.stage_since < "))
                    .push_bind(cutoff)
                    .push(")");
            }
            qb.push(")");
        }
    }};
}

/// Adds the keyset condition after `f.after`, the order for `f.sort` and the limit, on table
/// `$t` with id column `$id` (as for `push_conditions`).
macro_rules! push_page {
    ($qb:expr, $f:expr, $limit:expr, $t:expr, $id:expr) => {{
        let f: &Filter = $f;
        let qb = $qb;
        let (t, id): (&str, &str) = ($t, $id);
        let (column, dir, cmp) = order(f.sort);
        if let Some(c) = &f.after {
            qb.push(format!(" AND ({t}.{column}, {id}) {cmp} ("));
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
        qb.push(format!(" ORDER BY {t}.{column} {dir}, {id} {dir} LIMIT "))
            .push_bind($limit);
    }};
}

/// Adds `FROM application_search s WHERE` the search words of `f` (at least one): the longest
/// word, as the likeliest to be selective, is a range of the index, which drives; every other
/// word must match a term of the same applicant. Then the rest of the filter, on the columns
/// the index carries: no applicant row is read for one the list will not show.
macro_rules! push_search {
    ($qb:expr, $f:expr, $now:expr, $with_stage:expr) => {{
        let f: &Filter = $f;
        let qb = $qb;
        let mut words: Vec<&String> = f.q.iter().collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        let (first, rest) = words.split_first().expect("a search has a word");
        qb.push(" FROM application_search s WHERE s.term >= ")
            .push_bind((*first).clone())
            .push(" AND s.term < ")
            .push_bind(applicants::prefix_end(first));
        for w in rest {
            qb.push(
                " AND s.application_id IN (SELECT w.application_id FROM application_search w \
                 WHERE w.term >= ",
            )
            .push_bind((*w).clone())
            .push(" AND w.term < ")
            .push_bind(applicants::prefix_end(w))
            .push(")");
        }
        push_conditions!(&mut *qb, f, $now, $with_stage, "s", "s.application_id");
    }};
}

/// The list query for `f`: `SELECT $select` (columns of `applications a`) of at most `$limit`
/// rows after `f.after`, in list order. Without search words it reads `applications` through
/// the index that suits the filter; with them, the search index picks the page's ids first.
macro_rules! push_list {
    ($qb:expr, $f:expr, $now:expr, $limit:expr, $select:expr) => {{
        let f: &Filter = $f;
        let qb = $qb;
        let select: &str = $select;
        if f.q.is_empty() {
            qb.push(format!(" SELECT {select} FROM applications a WHERE 1 = 1"));
            push_conditions!(&mut *qb, f, $now, true, "a", "a.id");
            push_page!(&mut *qb, f, $limit, "a", "a.id");
        } else {
            let (column, dir, _) = order(f.sort);
            qb.push(format!(
                " SELECT {select} FROM applications a JOIN (SELECT DISTINCT s.application_id, \
                 s.{column}"
            ));
            push_search!(&mut *qb, f, $now, true);
            push_page!(&mut *qb, f, $limit, "s", "s.application_id");
            qb.push(format!(
                ") m ON a.id = m.application_id ORDER BY a.{column} {dir}, a.id {dir}"
            ));
        }
    }};
}

/// A page of the list: at most `f.limit` rows after `f.after`, and whether more follow.
pub async fn page(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<(Vec<ListRow>, bool)> {
    let mut rows: Vec<ListRow> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("");
        push_list!(&mut qb, f, now, f.limit + 1, LIST_COLUMNS);
        qb.build_query_as().fetch_all(p).await?
    });
    let more = rows.len() as i64 > f.limit;
    rows.truncate(f.limit as usize);
    Ok((rows, more))
}

/// Like `page`, for reading many pages in a row (the CSV export). On SQLite, the driver hands
/// rows one at a time from its worker thread, which costs more than reading them; here the page
/// comes back as one JSON array built by SQLite, in one row. PostgreSQL streams rows cheaply
/// and reads `page`.
pub async fn batch(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<(Vec<ListRow>, bool)> {
    let Pools::Sqlite { reader, .. } = &db.pools else {
        return page(db, f, now).await;
    };
    let mut qb = sqlx::QueryBuilder::new(
        "SELECT json_group_array(json_array(hex(id), full_name, email, phone, country, area, \
         languages, weekly_hours, student, customer, utm_source, utm_campaign, status, score_bp, \
         created_at, stage_since)) FROM (",
    );
    push_list!(&mut qb, f, now, f.limit + 1, "a.*");
    qb.push(")");
    let json: String = qb.build_query_scalar().fetch_one(reader).await?;
    type Raw = (
        String,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        Option<String>,
        Option<String>,
        String,
        i64,
        String,
        Option<String>,
    );
    let raw: Vec<Raw> = serde_json::from_str(&json)
        .map_err(|e| super::StoreError::Batch(format!("reading a batch: {e}")))?;
    let time = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| super::StoreError::Batch(format!("a stored time {t:?}: {e}")))
    };
    let mut rows = Vec::with_capacity(raw.len());
    for r in raw {
        let id = hex::decode(&r.0)
            .ok()
            .and_then(|b| Uuid::from_slice(&b).ok())
            .ok_or_else(|| super::StoreError::Batch("a stored id".into()))?;
        rows.push(ListRow {
            id,
            full_name: r.1,
            email: r.2,
            phone: r.3,
            country: r.4,
            area: r.5,
            languages: r.6,
            weekly_hours: r.7,
            student: r.8 != 0,
            customer: r.9 != 0,
            utm_source: r.10,
            utm_campaign: r.11,
            status: r.12,
            score_bp: r.13,
            created_at: time(&r.14)?,
            stage_since: r.15.as_deref().map(time).transpose()?,
        });
    }
    // An aggregate does not promise its input's order: put the page back in list order.
    rows.sort_by(|a, b| {
        let by = match f.sort {
            Sort::AppliedAsc | Sort::AppliedDesc => a.created_at.cmp(&b.created_at),
            Sort::ScoreAsc | Sort::ScoreDesc => a.score_bp.cmp(&b.score_bp),
            Sort::NameAsc | Sort::NameDesc => a.full_name.cmp(&b.full_name),
        }
        .then(a.id.cmp(&b.id));
        if f.sort.descending() {
            by.reverse()
        } else {
            by
        }
    });
    let more = rows.len() as i64 > f.limit;
    rows.truncate(f.limit as usize);
    Ok((rows, more))
}

/// A page of the list and the counts per stage for the same filter (the list page shows
/// both). On PostgreSQL the two run side by side on two connections of the server's; on
/// SQLite one after the other, as two queries at once hold two page caches and their sort
/// space in this process, which costs a server streaming an export its memory bound (measured:
/// 60 MB against 103 MB after the list benchmark) for a few milliseconds.
#[allow(clippy::type_complexity)]
pub async fn page_and_counts(
    db: &Db,
    f: &Filter,
    now: DateTime<Utc>,
) -> Result<((Vec<ListRow>, bool), HashMap<String, i64>)> {
    if let Pools::Postgres(_) = &db.pools {
        let (page, counts) = tokio::join!(page(db, f, now), counts_by_stage(db, f, now));
        return Ok((page?, counts?));
    }
    Ok((page(db, f, now).await?, counts_by_stage(db, f, now).await?))
}

/// How many applicants match the filter in each stage (the filter's own stage left out).
pub async fn counts_by_stage(
    db: &Db,
    f: &Filter,
    now: DateTime<Utc>,
) -> Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("");
        if f.q.is_empty() {
            qb.push("SELECT a.status, COUNT(*) FROM applications a WHERE 1 = 1");
            push_conditions!(&mut qb, f, now, false, "a", "a.id");
            qb.push(" GROUP BY a.status");
        } else {
            // An applicant matches once however many of their terms do.
            qb.push("SELECT m.status, COUNT(*) FROM (SELECT DISTINCT s.application_id, s.status");
            push_search!(&mut qb, f, now, false);
            qb.push(") m GROUP BY m.status");
        }
        qb.build_query_as().fetch_all(p).await?
    });
    Ok(rows.into_iter().collect())
}

/// The ids of every applicant the filter matches, in list order (for a bulk action on "all
/// matching"), at most `cap`.
pub async fn matching_ids(db: &Db, f: &Filter, now: DateTime<Utc>, cap: i64) -> Result<Vec<Uuid>> {
    let f = Filter {
        after: None,
        ..f.clone()
    };
    Ok(on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("");
        push_list!(&mut qb, &f, now, cap, "a.id");
        qb.build_query_scalar().fetch_all(p).await?
    }))
}

/// The query plan of the list query for `f` (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN
/// ANALYZE` on PostgreSQL), one line per step, for the benchmark's report.
pub async fn explain(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<Vec<String>> {
    Ok(match &db.pools {
        Pools::Sqlite { reader, .. } => {
            let mut qb = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN");
            push_list!(&mut qb, f, now, f.limit + 1, LIST_COLUMNS);
            let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(reader).await?;
            rows.into_iter().map(|r| r.3).collect()
        }
        Pools::Postgres(pool) => {
            let mut qb = sqlx::QueryBuilder::new("EXPLAIN ANALYZE");
            push_list!(&mut qb, f, now, f.limit + 1, LIST_COLUMNS);
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

/// The tags of each of `ids`, and which of them may be duplicates (`with_duplicates`): what a
/// page of the list shows beside its rows.
pub async fn tags_and_duplicates(
    db: &Db,
    ids: &[Uuid],
) -> Result<(HashMap<Uuid, Vec<String>>, HashSet<Uuid>)> {
    Ok((tags_of(db, ids).await?, with_duplicates(db, ids).await?))
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

/// An application as the search index needs it: id, name, address.
pub type Indexed<'a> = (Uuid, &'a str, &'a str);

/// Writes the search terms of applications just inserted (their person keys went in with the
/// row), replacing any they had.
pub async fn index_terms(tx: &mut Tx, rows: &[Indexed<'_>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new("DELETE FROM application_search WHERE application_id IN (");
        let mut list = qb.separated(", ");
        for (id, ..) in rows {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    index_new_terms(tx, rows).await
}

/// Writes the search terms of applications that have none yet, each with the columns the
/// list filters and sorts on, copied from the stored application (a trigger keeps them in
/// step after that).
pub(crate) async fn index_new_terms(tx: &mut Tx, rows: &[Indexed<'_>]) -> Result<()> {
    let terms: Vec<(String, Uuid)> = rows
        .iter()
        .flat_map(|(id, name, email)| {
            applicants::search_terms(name, email)
                .into_iter()
                .map(move |t| (t, *id))
        })
        .collect();
    // Two binds per term: stay well under SQLite's 32,766 bind limit.
    for chunk in terms.chunks(10_000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO application_search (term, application_id, status, country, \
                 languages, area, student, customer, utm_source, utm_campaign, score_bp, \
                 created_at, stage_since, full_name) \
                 SELECT v.column1, a.id, a.status, a.country, a.languages, a.area, a.student, \
                 a.customer, a.utm_source, a.utm_campaign, a.score_bp, a.created_at, \
                 a.stage_since, a.full_name FROM (",
            );
            qb.push_values(chunk, |mut row, (t, id)| {
                row.push_bind(t.as_str()).push_bind(*id);
            });
            // `WHERE` keeps SQLite from reading `ON CONFLICT` as a join constraint.
            qb.push(") v JOIN applications a ON a.id = v.column2 WHERE 1 = 1 ON CONFLICT DO NOTHING");
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Writes the person keys and search terms of applications whose address or name changed:
/// (application, phone).
pub async fn reindex(tx: &mut Tx, rows: &[(Indexed<'_>, Option<&str>)]) -> Result<()> {
    for ((id, _, email, ..), phone) in rows {
        const KEYS: &str = "UPDATE applications SET email_key = $2, phone_key = $3 WHERE id = $1";
        let (ek, pk) = (applicants::email_key(email), applicants::phone_key(*phone));
        on!(tx, c => sqlx::query(KEYS).bind(*id).bind(ek).bind(pk).execute(&mut **c).await
            .map(|_| ())?);
    }
    let terms: Vec<Indexed> = rows.iter().map(|(r, _)| *r).collect();
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
        let refs: Vec<(Indexed, Option<&str>)> = rows
            .iter()
            .map(|(id, n, e, p)| ((*id, n.as_str(), e.as_str()), p.as_deref()))
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

/// A generated applicant (`onramp seed --synthetic`), written as is.
#[derive(Debug, Clone)]
pub struct Synthetic {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
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
    pub stage_since: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    /// For agents: when they went live, and when they left.
    pub went_live_at: Option<DateTime<Utc>>,
    pub offboarded_at: Option<DateTime<Utc>>,
}

/// Writes generated applicants with their search terms, a few hundred rows per statement.
pub async fn insert_synthetic(tx: &mut Tx, rows: &[Synthetic]) -> Result<()> {
    // 26 binds a row: 1,000 rows stay under SQLite's 32,766.
    for chunk in rows.chunks(1000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO applications (id, email, full_name, phone, country, area, languages, \
                 weekly_hours, student, customer, adult, equipment, utm_source, utm_campaign, \
                 status, consent_at, email_verified_at, verify_requested_at, created_at, \
                 updated_at, stage_since, score_bp, email_key, phone_key, went_live_at, \
                 offboarded_at) ",
            );
            qb.push_values(chunk, |mut row, a| {
                row.push_bind(a.id)
                    .push_bind(&a.email)
                    .push_bind(&a.full_name)
                    .push_bind(&a.phone)
                    .push_bind(&a.country)
                    .push_bind(&a.area)
                    .push_bind(&a.languages)
                    .push_bind(a.weekly_hours)
                    .push_bind(a.student)
                    .push_bind(a.customer)
                    .push_bind(true)
                    .push_bind(true)
                    .push_bind(&a.utm_source)
                    .push_bind(&a.utm_campaign)
                    .push_bind(&a.status)
                    .push_bind(a.created_at)
                    .push_bind(a.verified_at)
                    .push_bind(a.created_at)
                    .push_bind(a.created_at)
                    .push_bind(a.stage_since)
                    .push_bind(a.stage_since)
                    .push_bind(a.score_bp)
                    .push_bind(applicants::email_key(&a.email))
                    .push_bind(applicants::phone_key(a.phone.as_deref()))
                    .push_bind(a.went_live_at)
                    .push_bind(a.offboarded_at);
            });
            qb.push(" ON CONFLICT (email) DO NOTHING");
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    let terms: Vec<Indexed> = rows
        .iter()
        .map(|a| (a.id, a.full_name.as_str(), a.email.as_str()))
        .collect();
    index_new_terms(tx, &terms).await
}

/// Drops the secondary indexes of the applicant tables (not the primary and unique keys) and
/// returns the statements that make them again: a bulk load then builds each index once, by
/// sorting, instead of updating it row by row. Call `create_indexes` in the same transaction.
pub async fn drop_secondary_indexes(tx: &mut Tx) -> Result<Vec<String>> {
    let found: Vec<(String, String)> = match tx {
        Tx::Sqlite(c) => {
            sqlx::query_as(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name IN ('applications', 'application_search') AND sql IS NOT NULL",
            )
            .fetch_all(&mut **c)
            .await?
        }
        Tx::Postgres(c) => {
            sqlx::query_as(
                "SELECT indexname::text, indexdef FROM pg_indexes \
                 WHERE tablename IN ('applications', 'application_search') \
                 AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            )
            .fetch_all(&mut **c)
            .await?
        }
    };
    for (name, _) in &found {
        let sql = format!("DROP INDEX \"{}\"", name.replace('"', ""));
        on!(tx, c => sqlx::query(&sql).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(found.into_iter().map(|(_, sql)| sql).collect())
}

/// Makes indexes again from the statements `drop_secondary_indexes` returned.
pub async fn create_indexes(tx: &mut Tx, statements: &[String]) -> Result<()> {
    for sql in statements {
        on!(tx, c => sqlx::query(sql).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(())
}

/// Whether two applications share a person key.
pub async fn same_person(tx: &mut Tx, a: Uuid, b: Uuid) -> Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM applications x JOIN applications y \
        ON x.email_key = y.email_key OR (x.phone_key IS NOT NULL AND x.phone_key = y.phone_key) \
        WHERE x.id = $1 AND y.id = $2";
    let n: i64 = on!(tx, c => sqlx::query_scalar(SQL).bind(a).bind(b).fetch_one(&mut **c).await?);
    Ok(n > 0)
}

/// Moves what happened to application `from` onto `to` (events, tags, quiz attempts numbered
/// after `to`'s own, emails) and deletes `from` with what is left of it (its screening, links,
/// search terms).
pub async fn move_history(tx: &mut Tx, from: Uuid, to: Uuid) -> Result<()> {
    const STEPS: &[&str] = &[
        "UPDATE application_events SET application_id = $2 WHERE application_id = $1",
        "INSERT INTO application_tags (application_id, tag, created_at) \
         SELECT $2, tag, created_at FROM application_tags WHERE application_id = $1 \
         ON CONFLICT (application_id, tag) DO NOTHING",
        "UPDATE quiz_attempts SET number = number + \
         (SELECT COALESCE(MAX(number), 0) FROM quiz_attempts WHERE application_id = $2) + 1000 \
         WHERE application_id = $1",
        "UPDATE quiz_attempts SET application_id = $2, number = number - 1000 \
         WHERE application_id = $1",
        "UPDATE outbox SET application_id = $2 WHERE application_id = $1",
        "UPDATE applications SET score_bp = (SELECT MAX(score_bp) FROM applications \
         WHERE id IN ($1, $2)) WHERE id = $2",
        "DELETE FROM applications WHERE id = $1",
    ];
    for sql in STEPS {
        on!(tx, c => sqlx::query(sql).bind(from).bind(to).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(())
}
