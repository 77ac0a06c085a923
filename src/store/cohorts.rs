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
    Ok(on_db!(db, p => sqlx::query_as(&by_id()).bind(id).fetch_optional(p).await?))
}

fn by_id() -> String {
    format!(
        "SELECT {COLUMNS} FROM cohorts c LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = $1"
    )
}

/// A cohort's checklist, in order.
pub async fn checklist(db: &Db, id: Uuid) -> Result<Vec<ItemRow>> {
    const SQL: &str = "SELECT key, label, required, ticked_by, records, position \
        FROM cohort_checklist_items WHERE cohort_id = $1 ORDER BY position, key";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await?))
}

/// An offer of a seat in a cohort.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub application_id: Uuid,
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

pub(crate) const OFFER_COLUMNS: &str =
    "id, cohort_id, application_id, status, expires_at, created_at, decided_at";

/// Offer states that are still open (one per applicant at a time).
pub const OPEN: &[&str] = &["pending", "waitlisted"];

/// The open (pending, waitlisted) and accepted offers of `ids`: (application, offer status).
pub async fn offers_among(tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT application_id, status FROM offers WHERE status IN \
             ('pending', 'waitlisted', 'accepted') AND application_id IN (",
        );
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
        qb.build_query_as().fetch_all(&mut **c).await?
    }))
}

/// Stores pending offers of cohort `cohort_id`: (offer id, application id).
pub async fn insert_offers(
    tx: &mut Tx,
    cohort_id: Uuid,
    offers: &[(Uuid, Uuid)],
    expires_at: DateTime<Utc>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const COUNT: &str = "UPDATE cohorts SET offers_made = offers_made + $2 WHERE id = $1";
    on!(tx, c => sqlx::query(COUNT).bind(cohort_id).bind(offers.len() as i64)
        .execute(&mut **c).await.map(|_| ())?);
    for chunk in offers.chunks(1000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO offers (id, cohort_id, application_id, status, expires_at, \
                 created_by, created_at) ",
            );
            qb.push_values(chunk, |mut row, (id, app)| {
                row.push_bind(*id)
                    .push_bind(cohort_id)
                    .push_bind(*app)
                    .push_bind("pending")
                    .push_bind(expires_at)
                    .push_bind(actor)
                    .push_bind(now);
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

fn latest_offer_sql() -> String {
    format!(
        "SELECT {OFFER_COLUMNS} FROM offers WHERE application_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    )
}

/// The applicant's most recent offer, open or not.
pub async fn latest_offer(tx: &mut Tx, application_id: Uuid) -> Result<Option<OfferRow>> {
    Ok(
        on!(tx, c => sqlx::query_as(&latest_offer_sql()).bind(application_id)
        .fetch_optional(&mut **c).await?),
    )
}

/// `latest_offer`, read outside a transaction (a page).
pub async fn latest_offer_read(db: &Db, application_id: Uuid) -> Result<Option<OfferRow>> {
    Ok(
        on_db!(db, p => sqlx::query_as(&latest_offer_sql()).bind(application_id)
        .fetch_optional(p).await?),
    )
}

/// Moves an offer from one of `from` to `to`; false when it was not in one of them (another
/// answer came first).
pub async fn decide_offer(
    tx: &mut Tx,
    id: Uuid,
    from: &[&str],
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = on!(tx, c => {
        let mut qb = sqlx::QueryBuilder::new("UPDATE offers SET status = ");
        qb.push_bind(to).push(", decided_at = ").push_bind(now);
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

/// Takes one seat of a cohort that has one free and is not closed; false when it is full.
/// One conditional statement: two accepts of the last seat, on any instance and either
/// engine, cannot both succeed (and the table's CHECK refuses more seats than capacity).
pub async fn take_seat(tx: &mut Tx, cohort_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    const SQL: &str = "UPDATE cohorts SET seats_taken = seats_taken + 1, \
        seats_given = seats_given + 1, updated_at = $2 \
        WHERE id = $1 AND seats_taken < capacity AND (marked IS NULL OR marked <> 'closed')";
    let n = on!(tx, c => sqlx::query(SQL).bind(cohort_id).bind(now).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

pub async fn get_tx(tx: &mut Tx, id: Uuid) -> Result<Option<CohortRow>> {
    Ok(on!(tx, c => sqlx::query_as(&by_id()).bind(id).fetch_optional(&mut **c).await?))
}

/// Everyone offered a seat in a cohort, with their offer's state, in offer order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub application_id: Uuid,
    pub full_name: String,
    pub email: String,
    pub stage: String,
    pub offer_status: String,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub went_live_at: Option<DateTime<Utc>>,
}

pub async fn members(db: &Db, cohort_id: Uuid) -> Result<Vec<MemberRow>> {
    const SQL: &str = "SELECT a.id AS application_id, a.full_name, a.email, a.status AS stage, \
        o.status AS offer_status, o.expires_at, o.decided_at, a.went_live_at \
        FROM offers o JOIN applications a ON a.id = o.application_id \
        WHERE o.cohort_id = $1 ORDER BY o.created_at, o.id";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(cohort_id).fetch_all(p).await?))
}

/// A checklist item a member has done.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TickRow {
    pub application_id: Uuid,
    pub item_key: String,
    pub value: Option<f64>,
    pub done_by: String,
    pub done_at: DateTime<Utc>,
}

/// The cohort whose seat the applicant holds (their accepted offer), if any.
pub async fn seat_of(tx: &mut Tx, application_id: Uuid) -> Result<Option<CohortRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM offers o JOIN cohorts c ON c.id = o.cohort_id \
         LEFT JOIN users u ON u.id = c.owner_id \
         WHERE o.application_id = $1 AND o.status = 'accepted' \
         ORDER BY o.decided_at DESC LIMIT 1"
    );
    Ok(on!(tx, c => sqlx::query_as(&sql).bind(application_id).fetch_optional(&mut **c).await?))
}

/// One item of a cohort's checklist.
pub async fn item(tx: &mut Tx, cohort_id: Uuid, key: &str) -> Result<Option<ItemRow>> {
    const SQL: &str = "SELECT key, label, required, ticked_by, records, position \
        FROM cohort_checklist_items WHERE cohort_id = $1 AND key = $2";
    Ok(on!(tx, c => sqlx::query_as(SQL).bind(cohort_id).bind(key).fetch_optional(&mut **c).await?))
}

/// Marks an item done for a member (again: the figure and who ticked it are replaced).
pub async fn tick(
    tx: &mut Tx,
    application_id: Uuid,
    cohort_id: Uuid,
    key: &str,
    value: Option<f64>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "INSERT INTO checklist_ticks (application_id, cohort_id, item_key, value, \
        done_by, done_at) VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (application_id, item_key) DO UPDATE SET value = excluded.value, \
        done_by = excluded.done_by, done_at = excluded.done_at";
    on!(tx, c => sqlx::query(SQL).bind(application_id).bind(cohort_id).bind(key).bind(value)
        .bind(actor).bind(now).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Marks an item not done; false when it was not done.
pub async fn untick(tx: &mut Tx, application_id: Uuid, key: &str) -> Result<bool> {
    const SQL: &str = "DELETE FROM checklist_ticks WHERE application_id = $1 AND item_key = $2";
    let n = on!(tx, c => sqlx::query(SQL).bind(application_id).bind(key).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

const TICKS_OF: &str = "SELECT application_id, item_key, value, done_by, done_at \
    FROM checklist_ticks WHERE application_id = $1";

/// The items a member has done.
pub async fn ticks_of(tx: &mut Tx, application_id: Uuid) -> Result<Vec<TickRow>> {
    Ok(on!(tx, c => sqlx::query_as(TICKS_OF).bind(application_id).fetch_all(&mut **c).await?))
}

/// `ticks_of`, read outside a transaction (a page).
pub async fn ticks_of_read(db: &Db, application_id: Uuid) -> Result<Vec<TickRow>> {
    Ok(on_db!(db, p => sqlx::query_as(TICKS_OF).bind(application_id).fetch_all(p).await?))
}

/// Every tick of a cohort's members.
pub async fn ticks_of_cohort(db: &Db, cohort_id: Uuid) -> Result<Vec<TickRow>> {
    const SQL: &str = "SELECT application_id, item_key, value, done_by, done_at \
        FROM checklist_ticks WHERE cohort_id = $1";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(cohort_id).fetch_all(p).await?))
}

/// The labels of the required items a member has not done, in checklist order.
pub async fn required_not_done(
    tx: &mut Tx,
    application_id: Uuid,
    cohort_id: Uuid,
) -> Result<Vec<String>> {
    const SQL: &str = "SELECT i.label FROM cohort_checklist_items i WHERE i.cohort_id = $1 \
        AND i.required AND NOT EXISTS (SELECT 1 FROM checklist_ticks t \
        WHERE t.application_id = $2 AND t.item_key = i.key) ORDER BY i.position, i.key";
    Ok(
        on!(tx, c => sqlx::query_scalar(SQL).bind(cohort_id).bind(application_id)
        .fetch_all(&mut **c).await?),
    )
}

/// Records when an agent went live (the first time; a resume after a pause keeps it), and
/// counts the first time on their cohort.
pub async fn set_went_live(
    tx: &mut Tx,
    application_id: Uuid,
    cohort_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    const SQL: &str = "UPDATE applications SET went_live_at = $2 WHERE id = $1 \
        AND went_live_at IS NULL";
    const COUNT: &str = "UPDATE cohorts SET went_live = went_live + 1 WHERE id = $1";
    let first = on!(tx, c => sqlx::query(SQL).bind(application_id).bind(now).execute(&mut **c)
        .await?.rows_affected());
    if first == 1 {
        on!(tx, c => sqlx::query(COUNT).bind(cohort_id).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(())
}

/// Records when a live agent left, for retention.
pub async fn set_offboarded(tx: &mut Tx, application_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "UPDATE applications SET offboarded_at = $2 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(application_id).bind(now).execute(&mut **c).await
        .map(|_| ())?);
    Ok(())
}

/// Every cohort, newest start first.
pub async fn list(db: &Db) -> Result<Vec<CohortRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cohorts c LEFT JOIN users u ON u.id = c.owner_id \
         ORDER BY c.start_date DESC, c.id DESC"
    );
    Ok(on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await?))
}

/// One page of the cohort list, latest start first: at most `limit` cohorts after `after`
/// (the last row's start date and id), of `market` and of `status` (planned, onboarding, live
/// or closed, as `CohortStatus::of` decides on `today`). Reads the `cohorts_start` index.
pub async fn page(
    db: &Db,
    market: Option<&str>,
    status: Option<&str>,
    today: NaiveDate,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<CohortRow>> {
    on_db!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM cohorts c LEFT JOIN users u ON u.id = c.owner_id WHERE 1 = 1"
        ));
        if let Some(m) = market {
            qb.push(" AND c.market = ").push_bind(m.to_string());
        }
        match status {
            Some("closed") => {
                qb.push(" AND c.marked = 'closed'");
            }
            Some("live") => {
                qb.push(" AND c.marked = 'live'");
            }
            Some("planned") => {
                qb.push(" AND c.marked IS NULL AND c.start_date > ").push_bind(today);
            }
            Some(_) => {
                qb.push(" AND c.marked IS NULL AND c.start_date <= ").push_bind(today);
            }
            None => {}
        }
        if let Some((d, id)) = after {
            qb.push(" AND (c.start_date < ")
                .push_bind(d)
                .push(" OR (c.start_date = ")
                .push_bind(d)
                .push(" AND c.id < ")
                .push_bind(id)
                .push("))");
        }
        qb.push(" ORDER BY c.start_date DESC, c.id DESC LIMIT ").push_bind(limit);
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// Records a recruiter's marking (`live` or `closed`).
pub async fn set_marked(tx: &mut Tx, id: Uuid, marked: &str, now: DateTime<Utc>) -> Result<()> {
    const SQL: &str = "UPDATE cohorts SET marked = $2, updated_at = $3 WHERE id = $1";
    on!(tx, c => sqlx::query(SQL).bind(id).bind(marked).bind(now).execute(&mut **c).await
        .map(|_| ())?);
    Ok(())
}

/// Gives an ownerless cohort an owner.
pub async fn take_ownership(
    tx: &mut Tx,
    id: Uuid,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str =
        "UPDATE cohorts SET owner_id = $2, updated_at = $3 WHERE id = $1 AND owner_id IS NULL";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(owner).bind(now).execute(&mut **c).await?
        .rows_affected());
    Ok(n == 1)
}

/// Closes the open offers of applicants `ids` (they left the offered stage another way).
pub async fn withdraw_offers(tx: &mut Tx, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
    for chunk in ids.chunks(1000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "UPDATE offers SET status = 'withdrawn', decided_at = ",
            );
            qb.push_bind(now)
                .push(" WHERE status IN ('pending', 'waitlisted') AND application_id IN (");
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

/// Gives back the seats members `ids` hold (they left before going live): their accepted
/// offers become `released` and their cohorts have the seats free again.
pub async fn release_seats(tx: &mut Tx, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
    const SEAT: &str = "UPDATE cohorts SET seats_taken = seats_taken - 1, updated_at = $2 \
        WHERE id = $1 AND seats_taken > 0";
    for chunk in ids.chunks(1000) {
        let cohorts: Vec<Uuid> = on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "UPDATE offers SET status = 'released', decided_at = ",
            );
            qb.push_bind(now)
                .push(" WHERE status = 'accepted' AND application_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(") RETURNING cohort_id");
            qb.build_query_scalar().fetch_all(&mut **c).await?
        });
        for cohort in cohorts {
            on!(tx, c => sqlx::query(SEAT).bind(cohort).bind(now).execute(&mut **c).await
                .map(|_| ())?);
        }
    }
    Ok(())
}

/// Waitlisted offers of open cohorts that now have a free seat, oldest first per cohort, at
/// most as many per cohort as it has seats free: (offer, cohort).
pub async fn promotable(tx: &mut Tx) -> Result<Vec<(Uuid, Uuid)>> {
    const SQL: &str =
        "SELECT o.id, o.cohort_id FROM offers o JOIN cohorts c ON c.id = o.cohort_id \
        WHERE o.status = 'waitlisted' AND c.seats_taken < c.capacity \
        AND (c.marked IS NULL OR c.marked <> 'closed') \
        AND (SELECT COUNT(*) FROM offers e WHERE e.cohort_id = o.cohort_id \
             AND e.status = 'waitlisted' AND (e.created_at < o.created_at \
             OR (e.created_at = o.created_at AND e.id < o.id))) < c.capacity - c.seats_taken \
        ORDER BY o.cohort_id, o.created_at, o.id";
    Ok(on!(tx, c => sqlx::query_as(SQL).fetch_all(&mut **c).await?))
}

/// A waitlisted offer's place in its cohort's queue (1 = next), in the order seats are given.
pub async fn waitlist_place(db: &Db, offer: &OfferRow) -> Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM offers e WHERE e.cohort_id = $1 \
        AND e.status = 'waitlisted' AND (e.created_at < $2 OR (e.created_at = $2 AND e.id < $3))";
    let ahead: i64 = on_db!(db, p => sqlx::query_scalar(SQL).bind(offer.cohort_id)
        .bind(offer.created_at).bind(offer.id).fetch_one(p).await?);
    Ok(ahead + 1)
}

/// Turns a waitlisted offer into a pending one that runs until `expires_at`.
pub async fn reopen_offer(
    tx: &mut Tx,
    id: Uuid,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    const SQL: &str = "UPDATE offers SET status = 'pending', expires_at = $2, decided_at = $3 \
        WHERE id = $1 AND status = 'waitlisted'";
    let n = on!(tx, c => sqlx::query(SQL).bind(id).bind(expires_at).bind(now)
        .execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

/// One offer by its id.
pub async fn offer_by_id(tx: &mut Tx, id: Uuid) -> Result<Option<OfferRow>> {
    let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1");
    Ok(on!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **c).await?))
}

/// A generated cohort (`onramp seed --synthetic`), all of whose seats went to agents.
pub struct SyntheticCohort {
    pub id: Uuid,
    pub name: String,
    pub market: String,
    pub language: String,
    pub start_date: NaiveDate,
    pub seats: i64,
    pub went_live: i64,
    pub marked: Option<&'static str>,
    pub created_at: DateTime<Utc>,
}

/// Writes generated cohorts and their members' accepted offers: (offer, cohort, application,
/// offered at).
pub async fn insert_synthetic(
    tx: &mut Tx,
    cohorts: &[SyntheticCohort],
    offers: &[(Uuid, Uuid, Uuid, DateTime<Utc>)],
) -> Result<()> {
    for chunk in cohorts.chunks(1000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO cohorts (id, name, market, language, start_date, capacity, \
                 seats_taken, seats_given, offers_made, went_live, waitlist, marked, created_by, \
                 created_at, updated_at) ",
            );
            qb.push_values(chunk, |mut b, k| {
                b.push_bind(k.id)
                    .push_bind(&k.name)
                    .push_bind(&k.market)
                    .push_bind(&k.language)
                    .push_bind(k.start_date)
                    .push_bind(k.seats)
                    .push_bind(k.seats)
                    .push_bind(k.seats)
                    .push_bind(k.seats)
                    .push_bind(k.went_live)
                    .push_bind(false)
                    .push_bind(k.marked)
                    .push_bind("synthetic")
                    .push_bind(k.created_at)
                    .push_bind(k.created_at);
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    for chunk in offers.chunks(2000) {
        on!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO offers (id, cohort_id, application_id, status, expires_at, \
                 created_by, created_at, decided_at) ",
            );
            qb.push_values(chunk, |mut b, (id, cohort, app, at)| {
                b.push_bind(*id)
                    .push_bind(*cohort)
                    .push_bind(*app)
                    .push_bind("accepted")
                    .push_bind(*at + chrono::Duration::days(3))
                    .push_bind("synthetic")
                    .push_bind(*at)
                    .push_bind(*at + chrono::Duration::days(1));
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Copies checklist template `template` into cohort `id` (a generated cohort).
pub async fn copy_checklist(tx: &mut Tx, id: Uuid, template: &str) -> Result<()> {
    const ITEMS: &str = "INSERT INTO cohort_checklist_items (cohort_id, key, label, required, \
        ticked_by, records, position) SELECT $1, key, label, required, ticked_by, records, \
        position FROM checklist_template_items WHERE template = $2";
    on!(tx, c => sqlx::query(ITEMS).bind(id).bind(template).execute(&mut **c).await
        .map(|_| ())?);
    Ok(())
}

/// `checklist`, inside a transaction.
pub async fn checklist_tx(tx: &mut Tx, id: Uuid) -> Result<Vec<ItemRow>> {
    const SQL: &str = "SELECT key, label, required, ticked_by, records, position \
        FROM cohort_checklist_items WHERE cohort_id = $1 ORDER BY position, key";
    Ok(on!(tx, c => sqlx::query_as(SQL).bind(id).fetch_all(&mut **c).await?))
}
