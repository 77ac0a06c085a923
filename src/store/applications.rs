use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::applicants;
use crate::domain::application::NewApplication;
use crate::domain::screening::RuleResult;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApplicationRow {
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
    pub adult: bool,
    pub equipment: bool,
    pub motivation: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub ref_code: Option<String>,
    pub status: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stage_since: Option<DateTime<Utc>>,
    /// When the agent went live (the first time), if they did.
    pub went_live_at: Option<DateTime<Utc>>,
    /// When they turned off non-essential mail (reminders and nudges), if they did.
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

impl ApplicationRow {
    /// Whether they turned off non-essential mail.
    pub fn unsubscribed(&self) -> bool {
        self.unsubscribed_at.is_some()
    }
}

pub(crate) const COLUMNS: &str =
    "id, email, full_name, phone, country, area, languages, weekly_hours, \
     student, customer, adult, equipment, motivation, utm_source, utm_campaign, ref_code, status, \
     email_verified_at, created_at, updated_at, stage_since, went_live_at, unsubscribed_at";

/// Inserts each application unless one with its email exists (already stored, or earlier in the
/// same list), in one statement. Returns the ids that were inserted: the check and the insert are
/// one statement, so two simultaneous signups cannot both win.
pub async fn insert_many_if_new(
    tx: &mut Tx,
    apps: &[(Uuid, &NewApplication, &str)],
    now: DateTime<Utc>,
) -> Result<HashSet<Uuid>> {
    if apps.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO applications (id, email, full_name, phone, country, area, languages, \
             weekly_hours, student, customer, adult, equipment, motivation, utm_source, \
             utm_campaign, ref_code, status, consent_at, verify_requested_at, created_at, \
             updated_at, stage_since, email_key, phone_key) ",
        );
        qb.push_values(apps, |mut row, (id, a, status)| {
            row.push_bind(*id)
                .push_bind(a.email.as_str())
                .push_bind(&a.full_name)
                .push_bind(&a.phone)
                .push_bind(&a.country)
                .push_bind(a.area.as_str())
                .push_bind(a.languages.join(","))
                .push_bind(a.weekly_hours)
                .push_bind(a.student)
                .push_bind(a.customer)
                .push_bind(a.adult)
                .push_bind(a.equipment)
                .push_bind(&a.motivation)
                .push_bind(&a.utm_source)
                .push_bind(&a.utm_campaign)
                .push_bind(&a.ref_code)
                .push_bind(*status)
                .push_bind(now)
                .push_bind(now)
                .push_bind(now)
                .push_bind(now)
                .push_bind(now)
                .push_bind(applicants::email_key(a.email.as_str()))
                .push_bind(applicants::phone_key(a.phone.as_deref()));
        });
        qb.push(" ON CONFLICT (email) DO NOTHING RETURNING id");
        qb.build_query_scalar().fetch_all(&mut **c).await
    })?;
    let ids: HashSet<Uuid> = ids.into_iter().collect();
    let terms: Vec<super::applicants::Indexed> = apps
        .iter()
        .filter(|(id, _, _)| ids.contains(id))
        .map(|(id, a, _)| (*id, a.full_name.as_str(), a.email.as_str()))
        .collect();
    super::applicants::index_new_terms(tx, &terms).await?;
    Ok(ids)
}

pub async fn find_by_email_tx(tx: &mut Tx, email: &str) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE email = $1");
    Ok(on!(tx, c => sqlx::query_as(&sql).bind(email).fetch_optional(&mut **c).await?))
}

/// Whether an application has this address.
pub async fn email_taken(db: &Db, email: &str) -> Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM applications WHERE email = $1";
    let n: i64 = on_db!(db, p => sqlx::query_scalar(SQL).bind(email).fetch_one(p).await?);
    Ok(n > 0)
}

pub async fn get(db: &Db, id: Uuid) -> Result<ApplicationRow> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
    Ok(on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_one(p).await?))
}

pub async fn get_tx(tx: &mut Tx, id: Uuid) -> Result<ApplicationRow> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
    Ok(on!(tx, c => sqlx::query_as(&sql).bind(id).fetch_one(&mut **c).await?))
}

/// Marks the email verified (once) and moves a fresh applicant on to `verified`, as one whose
/// application expired unconfirmed and who confirms with a link still live (the reminder's);
/// a waitlisted one stays waitlisted. Returns false when the email was already verified.
pub async fn mark_email_verified(tx: &mut Tx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE applications SET email_verified_at = $2, updated_at = $2, \
        stage_since = CASE WHEN status IN ('applied', 'expired') THEN $2 ELSE stage_since END, \
        status = CASE WHEN status IN ('applied', 'expired') THEN 'verified' ELSE status END \
        WHERE id = $1 AND email_verified_at IS NULL";
    let n =
        on!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

/// Moves the application to `to` if its status is one of `from`; false otherwise.
pub async fn move_status(
    tx: &mut Tx,
    id: Uuid,
    from: &[&str],
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE applications SET status = ");
        qb.push_bind(to).push(", updated_at = ").push_bind(now);
        qb.push(", stage_since = ").push_bind(now);
        qb.push(" WHERE id = ").push_bind(id).push(" AND status IN (");
        let mut list = qb.separated(", ");
        for f in from {
            list.push_bind(*f);
        }
        list.push_unseparated(")");
        qb.build().execute(&mut **c).await?.rows_affected()
    });
    Ok(n == 1)
}

/// Claims the right to send another link (verification or status): succeeds only for a
/// not-rejected applicant whose last one went out before `not_after`.
pub async fn claim_link_resend(
    tx: &mut Tx,
    id: Uuid,
    now: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE applications SET verify_requested_at = $2 \
        WHERE id = $1 AND status <> 'rejected' AND verify_requested_at <= $3";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(now).bind(not_after)
        .execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

/// Stores the screening results of several applications in one statement: on SQLite every
/// statement is a round trip to the connection's worker thread, and signups are the hot path.
pub async fn insert_screening(
    tx: &mut Tx,
    results: &[(Uuid, &[RuleResult])],
    now: DateTime<Utc>,
) -> Result<()> {
    let rows: Vec<(Uuid, &RuleResult)> = results
        .iter()
        .flat_map(|(id, rs)| rs.iter().map(move |r| (*id, r)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO screening_results (application_id, rule_id, outcome, reason, created_at) ",
        );
        qb.push_values(&rows, |mut row, (id, r)| {
            row.push_bind(*id)
                .push_bind(&r.rule_id)
                .push_bind(r.outcome.as_str())
                .push_bind(&r.reason)
                .push_bind(now);
        });
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    Ok(())
}

/// The reasons given for every rule the applicant did not pass, in rule order.
pub async fn failed_reasons_tx(tx: &mut Tx, id: Uuid) -> Result<Vec<String>> {
    const SQL: &str = "SELECT reason FROM screening_results WHERE application_id = $1 \
        AND outcome <> 'pass' ORDER BY created_at, rule_id";
    Ok(on!(tx, c => sqlx::query_scalar(SQL).bind(id).fetch_all(&mut **c).await?))
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ScreeningRow {
    pub rule_id: String,
    pub outcome: String,
    pub reason: String,
}

pub async fn screening(db: &Db, id: Uuid) -> Result<Vec<ScreeningRow>> {
    const SQL: &str = "SELECT rule_id, outcome, reason FROM screening_results \
        WHERE application_id = $1 ORDER BY rule_id";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await?))
}

pub struct NewEvent<'a> {
    pub application_id: Uuid,
    pub kind: &'a str,
    /// JSON; never holds the email address.
    pub detail: serde_json::Value,
    pub actor: &'a str,
}

/// Appends to applications' audit trails, all in one statement.
pub async fn record_events(tx: &mut Tx, events: &[NewEvent<'_>], now: DateTime<Utc>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Six binds a row: 1,000 rows a statement stay under SQLite's limit of 32,766.
    for chunk in events.chunks(1000) {
        record_events_chunk(tx, chunk, now).await?;
    }
    Ok(())
}

async fn record_events_chunk(
    tx: &mut Tx,
    events: &[NewEvent<'_>],
    now: DateTime<Utc>,
) -> Result<()> {
    on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO application_events (id, application_id, kind, detail, actor, created_at) ",
        );
        qb.push_values(events, |mut row, e| {
            row.push_bind(Uuid::now_v7())
                .push_bind(e.application_id)
                .push_bind(e.kind)
                .push_bind(e.detail.to_string())
                .push_bind(e.actor)
                .push_bind(now);
        });
        qb.build().execute(&mut **c).await.map(|_| ())
    })?;
    Ok(())
}

pub async fn record_event(
    tx: &mut Tx,
    application_id: Uuid,
    kind: &str,
    detail: serde_json::Value,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let event = NewEvent {
        application_id,
        kind,
        detail,
        actor,
    };
    record_events(tx, &[event], now).await
}

/// The status and current address of each application, for the links an email is about to
/// carry. On PostgreSQL the rows are share-locked until the caller commits, so an address
/// correction (which locks the row for update) waits for the links minted meanwhile, and then
/// expires them.
pub async fn contacts_tx(tx: &mut Tx, ids: &[Uuid]) -> Result<HashMap<Uuid, (String, String)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR SHARE"
    } else {
        ""
    };
    let rows: Vec<(Uuid, String, String)> = on!(tx, c => {
        let mut qb =
            sqlx::QueryBuilder::new("SELECT id, status, email FROM applications WHERE id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.push(lock);
        qb.build_query_as().fetch_all(&mut **c).await
    })?;
    Ok(rows.into_iter().map(|(id, s, e)| (id, (s, e))).collect())
}

/// The names of applications `ids` (at most a thousand at a time), for reports about them.
pub async fn names(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(Uuid, String)> = on_db!(db, p => {
            let mut qb =
                sqlx::QueryBuilder::new("SELECT id, full_name FROM applications WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
            qb.build_query_as().fetch_all(p).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>> {
    const SQL: &str = "SELECT status, COUNT(*) FROM applications GROUP BY status ORDER BY status";
    Ok(on_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await?))
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM applications").fetch_one(p).await?))
}

/// How many events of any of `kinds` an application has.
pub async fn count_events_tx(tx: &mut Tx, id: Uuid, kinds: &[&str]) -> Result<i64> {
    let mut total = 0;
    for kind in kinds {
        const SQL: &str =
            "SELECT COUNT(*) FROM application_events WHERE application_id = $1 AND kind = $2";
        let n: i64 =
            on!(tx, c => sqlx::query_scalar(SQL).bind(id).bind(kind).fetch_one(&mut **c).await?);
        total += n;
    }
    Ok(total)
}

/// Reads an application and, on PostgreSQL, locks its row until the transaction ends, so that
/// checks made on it hold for the writes that follow. (SQLite's write transactions already run
/// one at a time.)
pub async fn get_for_update(tx: &mut Tx, id: Uuid) -> Result<ApplicationRow> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1{lock}");
    Ok(on!(tx, c => sqlx::query_as(&sql).bind(id).fetch_one(&mut **c).await?))
}

/// Changes the address of an application (the caller checked it is free).
pub async fn set_email(tx: &mut Tx, id: Uuid, email: &str) -> Result<()> {
    const SQL: &str = "UPDATE applications SET email = $2, email_key = $3 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(email).bind(applicants::email_key(email))
        .execute(&mut **c).await.map(|_| ()))?;
    let app = get_tx(tx, id).await?;
    super::applicants::index_terms(tx, &[(id, app.full_name.as_str(), email)]).await
}

/// One event on an application's timeline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub kind: String,
    pub detail: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// Every event of an application, oldest first.
pub async fn events(db: &Db, id: Uuid) -> Result<Vec<EventRow>> {
    const SQL: &str = "SELECT kind, detail, actor, created_at FROM application_events \
        WHERE application_id = $1 ORDER BY created_at, id";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await?))
}

/// Anonymises an application's personal fields in place: what reports count (country, area,
/// languages, hours, stage, dates, source) stays; the address becomes `erased_address` (unique per application), which
/// frees the real one to apply again. Notes lose their text.
pub async fn erase_personal(
    tx: &mut Tx,
    id: Uuid,
    erased_address: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const APP: &str = "UPDATE applications SET email = $2, full_name = 'Erased', phone = NULL, \
        motivation = NULL, ref_code = NULL, updated_at = $3 WHERE id = $1";
    const NOTES: &str = "UPDATE application_events SET detail = '{\"erased\":true}' \
        WHERE application_id = $1 AND kind = 'note'";
    on!(tx, c => sqlx::query(APP).bind(id).bind(erased_address).bind(now).execute(&mut **c).await
        .map(|_| ())?);
    on!(tx, c => sqlx::query(NOTES).bind(id).execute(&mut **c).await.map(|_| ())?);
    super::applicants::unindex(tx, id, erased_address).await
}

/// Applications the retention purge anonymises, not yet anonymised, oldest first: those that
/// ended (rejected, withdrawn, expired, failed the quiz) before `cutoff`; those waitlisted since
/// before `cutoff` whose every open offer is in a cohort closed before `cutoff`; and agents
/// offboarded before `agent_cutoff`.
pub async fn purgeable(
    db: &Db,
    cutoff: DateTime<Utc>,
    agent_cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>> {
    const SQL: &str = "SELECT a.id FROM applications a WHERE a.email NOT LIKE '%@erased.invalid' \
        AND ((a.status IN ('rejected', 'withdrawn', 'expired', 'quiz_failed') \
              AND a.stage_since < $1) \
          OR (a.status = 'offboarded' AND a.stage_since < $2) \
          OR (a.status = 'waitlisted' AND a.stage_since < $1 AND NOT EXISTS ( \
              SELECT 1 FROM offers o JOIN cohorts c ON c.id = o.cohort_id \
              WHERE o.application_id = a.id AND o.status IN ('pending', 'waitlisted') \
              AND (c.marked IS NULL OR c.marked <> 'closed' OR c.updated_at >= $1)))) \
        ORDER BY a.stage_since, a.id LIMIT $3";
    Ok(
        on_db!(db, p => sqlx::query_scalar(SQL).bind(cutoff).bind(agent_cutoff).bind(limit)
        .fetch_all(p).await?),
    )
}

/// Bind parameters per `IN (…)` list: well under SQLite's limit of 32,766.
const IN_CHUNK: usize = 1000;

/// Reads applications `ids` (those that exist) and, on PostgreSQL, locks their rows until the
/// transaction ends, as `get_for_update` does for one.
pub async fn get_many_for_update(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<ApplicationRow>> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " ORDER BY id FOR UPDATE"
    } else {
        ""
    };
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let rows: Vec<ApplicationRow> = on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT {COLUMNS} FROM applications WHERE id IN ("
            ));
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
            qb.push(lock);
            qb.build_query_as().fetch_all(&mut **c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Puts applications `ids` in stage `to` (the caller checked each move).
pub async fn set_stage_many(tx: &mut Tx, ids: &[Uuid], to: &str, now: DateTime<Utc>) -> Result<()> {
    for chunk in ids.chunks(IN_CHUNK) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new("UPDATE applications SET status = ");
            qb.push_bind(to)
                .push(", updated_at = ")
                .push_bind(now)
                .push(", stage_since = ")
                .push_bind(now)
                .push(" WHERE id IN (");
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

/// A generated stage change (`onramp seed --synthetic`).
pub struct SyntheticEvent {
    pub id: Uuid,
    pub application_id: Uuid,
    /// `{from, to, reason, email}`, as a move records it.
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_synthetic_events(tx: &mut Tx, events: &[SyntheticEvent]) -> Result<()> {
    for chunk in events.chunks(5000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO application_events (id, application_id, kind, detail, actor, \
                 created_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.id)
                    .push_bind(e.application_id)
                    .push_bind("moved")
                    .push_bind(&e.detail)
                    .push_bind("synthetic")
                    .push_bind(e.created_at);
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Puts a demo agent in `status`, applied at `applied`, with their go-live and leaving times
/// (`onramp seed --demo`).
pub async fn set_demo_agent(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    applied: DateTime<Utc>,
    went_live_at: Option<DateTime<Utc>>,
    offboarded_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "UPDATE applications SET status = $2, created_at = $6, went_live_at = $3, \
        offboarded_at = $4, stage_since = COALESCE($4, $3, $5), updated_at = $5 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(status).bind(went_live_at).bind(offboarded_at)
        .bind(now).bind(applied).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}
