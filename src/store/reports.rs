//! The rows behind the managers' report: outsourced headcount snapshots, and live pilot agents
//! per market and day (kept as agents change, snapshotted daily, rebuilt from timelines).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;

use super::{on, on_db, Db, Result, Tx};
use crate::domain::reports::Headcount;

/// Rows per statement when storing many snapshots (six parameters each).
const CHUNK: usize = 1_000;

/// Stores headcount snapshots; a snapshot of the same vendor, market and day replaces the
/// figure.
pub async fn record_headcount(
    tx: &mut Tx,
    rows: &[Headcount],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        on!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO outsourced_headcount (market, vendor, day, headcount, recorded_by, \
                 recorded_at) ",
            );
            qb.push_values(chunk, |mut b, h| {
                b.push_bind(&h.market)
                    .push_bind(&h.vendor)
                    .push_bind(h.date)
                    .push_bind(h.headcount)
                    .push_bind(actor)
                    .push_bind(now);
            });
            qb.push(
                " ON CONFLICT (market, vendor, day) DO UPDATE SET headcount = excluded.headcount, \
                 recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
            );
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A stored snapshot, with who recorded it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeadcountRow {
    pub market: String,
    pub vendor: String,
    pub day: NaiveDate,
    pub headcount: i64,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// Snapshots from `from` to `to`, and each vendor and market's latest before `from` (the
/// figure it carries into the range), in `market` when given, oldest first.
pub async fn headcount(
    db: &Db,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<HeadcountRow>> {
    on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT market, vendor, day, headcount, recorded_by, recorded_at \
             FROM outsourced_headcount WHERE day >= ",
        );
        qb.push_bind(from).push(" AND day <= ").push_bind(to);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(
            " UNION ALL SELECT h.market, h.vendor, h.day, h.headcount, h.recorded_by, \
             h.recorded_at FROM outsourced_headcount h JOIN (SELECT market, vendor, \
             MAX(day) AS day FROM outsourced_headcount WHERE day < ",
        );
        qb.push_bind(from);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(
            " GROUP BY market, vendor) b ON b.market = h.market AND b.vendor = h.vendor \
             AND b.day = h.day ORDER BY 3, 1, 2",
        );
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// The most recent snapshots, newest first, for the form's list.
pub async fn recent_headcount(db: &Db, limit: i64) -> Result<Vec<HeadcountRow>> {
    const SQL: &str = "SELECT market, vendor, day, headcount, recorded_by, recorded_at \
        FROM outsourced_headcount ORDER BY day DESC, market, vendor LIMIT $1";
    Ok(on_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await?))
}

/// A market's live agents at the end of a day, and that day's activations and offboardings.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveRow {
    pub market: String,
    pub day: NaiveDate,
    pub live: i64,
    pub activated: i64,
    pub offboarded: i64,
}

/// Moves `market`'s live count on `day` by `delta` and adds to its step counts. A day without a
/// row starts from the latest earlier day's count.
pub async fn live_change(
    tx: &mut Tx,
    market: &str,
    day: NaiveDate,
    delta: i64,
    activated: i64,
    offboarded: i64,
) -> Result<()> {
    const SQL: &str = "INSERT INTO live_daily (market, day, live, activated, offboarded) \
        SELECT $1, $2, COALESCE((SELECT live FROM live_daily WHERE market = $1 AND day < $2 \
        ORDER BY day DESC LIMIT 1), 0) + $3, $4, $5 WHERE 1 = 1 \
        ON CONFLICT (market, day) DO UPDATE SET live = live_daily.live + $3, \
        activated = live_daily.activated + $4, offboarded = live_daily.offboarded + $5";
    on!(tx, c => sqlx::query(SQL).bind(market).bind(day).bind(delta).bind(activated)
        .bind(offboarded).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

/// Rows from `from` to `to`, and each market's latest before `from` (the count it carries into
/// the range), in `market` when given, oldest first.
pub async fn live(
    db: &Db,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<LiveRow>> {
    on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT market, day, live, activated, offboarded FROM live_daily WHERE day >= ",
        );
        qb.push_bind(from).push(" AND day <= ").push_bind(to);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(
            " UNION ALL SELECT l.market, l.day, l.live, l.activated, l.offboarded \
             FROM live_daily l JOIN (SELECT market, MAX(day) AS day FROM live_daily WHERE day < ",
        );
        qb.push_bind(from);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(" GROUP BY market) b ON b.market = l.market AND b.day = l.day ORDER BY 2, 1");
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// Live agents per market now, counted from the applications: an agent belongs to the market
/// of the cohort whose seat they hold.
pub async fn count_live(tx: &mut Tx) -> Result<Vec<(String, i64)>> {
    const SQL: &str = "SELECT c.market, COUNT(*) FROM applications a \
        JOIN offers o ON o.application_id = a.id AND o.status = 'accepted' \
        JOIN cohorts c ON c.id = o.cohort_id \
        WHERE a.status = 'live' GROUP BY c.market ORDER BY c.market";
    Ok(on!(tx, c => sqlx::query_as(SQL).fetch_all(&mut **c).await?))
}

/// Stores `day`'s live count per market as counted (the daily snapshot), keeping the day's
/// step counts. Markets with a row but no live agent now are set to 0. Returns the markets
/// written.
pub async fn snapshot_live(tx: &mut Tx, day: NaiveDate) -> Result<usize> {
    let counted: BTreeMap<String, i64> = count_live(tx).await?.into_iter().collect();
    const MARKETS: &str = "SELECT DISTINCT market FROM live_daily";
    let known: Vec<String> = on!(tx, c => sqlx::query_scalar(MARKETS).fetch_all(&mut **c).await?);
    let mut all: BTreeMap<String, i64> = known.into_iter().map(|m| (m, 0)).collect();
    all.extend(counted);
    const SQL: &str = "INSERT INTO live_daily (market, day, live) VALUES ($1, $2, $3) \
        ON CONFLICT (market, day) DO UPDATE SET live = excluded.live";
    for (market, live) in &all {
        on!(tx, c => sqlx::query(SQL).bind(market).bind(day).bind(live).execute(&mut **c).await
            .map(|_| ())?);
    }
    Ok(all.len())
}

/// An agent's stage change, for rebuilding the live series: when, in which market, from and to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentMove {
    pub market: String,
    pub created_at: DateTime<Utc>,
    pub detail: String,
}

/// Every stage change of every applicant who holds a seat, oldest first.
pub async fn agent_moves(tx: &mut Tx) -> Result<Vec<AgentMove>> {
    const SQL: &str = "SELECT c.market, e.created_at, e.detail FROM application_events e \
        JOIN offers o ON o.application_id = e.application_id AND o.status = 'accepted' \
        JOIN cohorts c ON c.id = o.cohort_id \
        WHERE e.kind = 'moved' ORDER BY e.created_at, e.id";
    Ok(on!(tx, c => sqlx::query_as(SQL).fetch_all(&mut **c).await?))
}

/// Replaces every live row with `rows`.
pub async fn replace_live(tx: &mut Tx, rows: &[LiveRow]) -> Result<()> {
    on!(tx, c => sqlx::query("DELETE FROM live_daily").execute(&mut **c).await.map(|_| ())?);
    for chunk in rows.chunks(CHUNK) {
        on!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO live_daily (market, day, live, activated, offboarded) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.market)
                    .push_bind(r.day)
                    .push_bind(r.live)
                    .push_bind(r.activated)
                    .push_bind(r.offboarded);
            });
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Applications that ever reached each funnel step (applied, verified, quiz passed,
/// shortlisted, offered, onboarding, live), per market and source, for signups from `from` to
/// `to` (inclusive), in `market` when given.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FunnelRow {
    pub market: String,
    pub source: String,
    pub applied: i64,
    pub verified: i64,
    pub quiz_passed: i64,
    pub shortlisted: i64,
    pub offered: i64,
    pub onboarding: i64,
    pub live: i64,
}

impl FunnelRow {
    pub fn counts(&self) -> [i64; 7] {
        [
            self.applied,
            self.verified,
            self.quiz_passed,
            self.shortlisted,
            self.offered,
            self.onboarding,
            self.live,
        ]
    }
}

pub async fn funnel(
    db: &Db,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<FunnelRow>> {
    on_db!(db, p => {
        // SUM over an integer column is an integer on both engines; PostgreSQL's is NUMERIC
        // for BIGINT, hence the casts.
        let mut qb = QueryBuilder::new(
            "SELECT market, source, CAST(SUM(applied) AS BIGINT) AS applied, \
             CAST(SUM(verified) AS BIGINT) AS verified, \
             CAST(SUM(quiz_passed) AS BIGINT) AS quiz_passed, \
             CAST(SUM(shortlisted) AS BIGINT) AS shortlisted, \
             CAST(SUM(offered) AS BIGINT) AS offered, \
             CAST(SUM(onboarding) AS BIGINT) AS onboarding, \
             CAST(SUM(live) AS BIGINT) AS live FROM funnel_daily WHERE day >= ",
        );
        qb.push_bind(from).push(" AND day <= ").push_bind(to);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(" GROUP BY market, source ORDER BY market, source");
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// Agents (ever live) who signed up from `from` to `to`, in `market` (their country) when
/// given, grouped by whole days from signup to going live: how many, and for each of `spans`
/// (days) how many went live at least that long before `now` (eligible for that retention)
/// and how many of those stayed at least that long (retained). One pass over the agents'
/// covering index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDays {
    pub days_to_live: i64,
    pub agents: i64,
    /// (eligible, retained) per span.
    pub kept: Vec<(i64, i64)>,
}

pub async fn agent_days(
    db: &Db,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    spans: &[i64],
) -> Result<Vec<AgentDays>> {
    let (start, end) = signup_range(from, to);
    on_db!(db, p => {
        let mut qb = QueryBuilder::new("SELECT CAST(days_to_live AS BIGINT), COUNT(*)");
        for days in spans {
            let cutoff = now - chrono::Duration::days(*days);
            qb.push(", CAST(SUM(CASE WHEN went_live_at <= ").push_bind(cutoff);
            qb.push(" THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN went_live_at <= ")
                .push_bind(cutoff);
            qb.push(" AND (days_live IS NULL OR days_live >= ").push_bind(*days);
            qb.push(") THEN 1 ELSE 0 END) AS BIGINT)");
        }
        qb.push(" FROM applications WHERE went_live_at IS NOT NULL AND created_at >= ")
            .push_bind(start)
            .push(" AND created_at < ")
            .push_bind(end);
        if let Some(m) = market {
            qb.push(" AND country = ").push_bind(m);
        }
        qb.push(" AND days_to_live IS NOT NULL GROUP BY days_to_live");
        let rows = qb.build().fetch_all(p).await?;
        rows.iter()
            .map(|row| {
                let get = |k: usize| -> Result<i64> { Ok(sqlx::Row::try_get::<i64, _>(row, k)?) };
                Ok(AgentDays {
                    days_to_live: get(0)?,
                    agents: get(1)?,
                    kept: (0..spans.len())
                        .map(|i| Ok((get(2 + 2 * i)?, get(3 + 2 * i)?)))
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    })
}

/// Each cohort starting from `from` to `to`: offers made, seats taken, members who went live.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortFunnelRow {
    pub id: uuid::Uuid,
    pub name: String,
    pub market: String,
    pub start_date: NaiveDate,
    pub offers_made: i64,
    pub seats_taken: i64,
    pub went_live: i64,
}

pub async fn cohort_funnel(
    db: &Db,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CohortFunnelRow>> {
    on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT id, name, market, start_date, offers_made, seats_given AS seats_taken, \
             went_live FROM cohorts WHERE start_date >= ",
        );
        qb.push_bind(from).push(" AND start_date <= ").push_bind(to);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(" ORDER BY start_date DESC, id DESC");
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// The fairness steps' decided and passed counts of one group: screening, quiz, shortlist,
/// offer, activation. "Final" is a stage an application does not leave (rejected, withdrawn).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FairnessRow {
    pub grp: String,
    pub screening_decided: i64,
    pub screening_passed: i64,
    pub quiz_decided: i64,
    pub quiz_passed: i64,
    pub shortlist_decided: i64,
    pub shortlist_passed: i64,
    pub offer_decided: i64,
    pub offer_passed: i64,
    pub activation_decided: i64,
    pub activation_passed: i64,
}

impl FairnessRow {
    /// (decided, passed) of each step, in `FAIRNESS_STEPS` order.
    pub fn steps(&self) -> [(i64, i64); 5] {
        [
            (self.screening_decided, self.screening_passed),
            (self.quiz_decided, self.quiz_passed),
            (self.shortlist_decided, self.shortlist_passed),
            (self.offer_decided, self.offer_passed),
            (self.activation_decided, self.activation_passed),
        ]
    }
}

/// Per group of `segment` (area, student, customer, source, country), how many signups from
/// `from` to `to` were decided at each fairness step and how many passed it, summed from the
/// counts kept per day (a step's decided count leaves out people still pending there).
pub async fn fairness(
    db: &Db,
    segment: &str,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<FairnessRow>> {
    const SUMS: &str = "SELECT grp, CAST(SUM(screening_decided) AS BIGINT) AS screening_decided, \
        CAST(SUM(screening_passed) AS BIGINT) AS screening_passed, \
        CAST(SUM(quiz_decided) AS BIGINT) AS quiz_decided, \
        CAST(SUM(quiz_passed) AS BIGINT) AS quiz_passed, \
        CAST(SUM(shortlist_decided) AS BIGINT) AS shortlist_decided, \
        CAST(SUM(shortlist_passed) AS BIGINT) AS shortlist_passed, \
        CAST(SUM(offer_decided) AS BIGINT) AS offer_decided, \
        CAST(SUM(offer_passed) AS BIGINT) AS offer_passed, \
        CAST(SUM(activation_decided) AS BIGINT) AS activation_decided, \
        CAST(SUM(activation_passed) AS BIGINT) AS activation_passed \
        FROM fairness_daily WHERE dimension = ";
    on_db!(db, p => {
        let mut qb = QueryBuilder::new(SUMS);
        qb.push_bind(segment)
            .push(" AND day >= ")
            .push_bind(from)
            .push(" AND day <= ")
            .push_bind(to);
        if let Some(m) = market {
            qb.push(" AND market = ").push_bind(m);
        }
        qb.push(" GROUP BY grp ORDER BY grp");
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// The agents (ever live) among `emails`: (email, application id).
pub async fn agents_by_email(db: &Db, emails: &[String]) -> Result<Vec<(String, uuid::Uuid)>> {
    let mut out = Vec::new();
    for chunk in emails.chunks(500) {
        let rows: Vec<(String, uuid::Uuid)> = on_db!(db, p => {
            let mut qb = QueryBuilder::new(
                "SELECT email, id FROM applications WHERE went_live_at IS NOT NULL AND email IN (",
            );
            let mut list = qb.separated(", ");
            for e in chunk {
                list.push_bind(e);
            }
            list.push_unseparated(")");
            qb.build_query_as().fetch_all(p).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Stores weekly figures (agent, week, CSAT, QA score); the same agent and week again
/// replaces them.
pub async fn record_quality(
    tx: &mut Tx,
    rows: &[(uuid::Uuid, NaiveDate, Option<f64>, Option<f64>)],
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        on!(tx, c => {
            let mut qb = QueryBuilder::new(
                "INSERT INTO agent_quality (application_id, week, csat, qa_score, imported_at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.0).push_bind(r.1).push_bind(r.2).push_bind(r.3).push_bind(now);
            });
            qb.push(
                " ON CONFLICT (application_id, week) DO UPDATE SET csat = excluded.csat, \
                 qa_score = excluded.qa_score, imported_at = excluded.imported_at",
            );
            qb.build().execute(&mut **c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// An agent's quiz result and what came after: their best score, the categories of their best
/// scored attempt (JSON), when they went live and left, and their mean weekly figures.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QualityAgentRow {
    pub score_bp: i64,
    pub category_scores: Option<String>,
    pub went_live_at: DateTime<Utc>,
    pub offboarded_at: Option<DateTime<Utc>>,
    pub csat: Option<f64>,
    pub qa: Option<f64>,
}

/// Agents who signed up from `from` to `to`, in `market` when given.
pub async fn quality_agents(
    db: &Db,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<QualityAgentRow>> {
    let (start, end) = signup_range(from, to);
    on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT CAST(a.score_bp AS BIGINT) AS score_bp, a.went_live_at, a.offboarded_at, \
             (SELECT t.category_scores FROM quiz_attempts t WHERE t.application_id = a.id \
              AND t.status = 'scored' ORDER BY t.score_bp DESC, t.number DESC LIMIT 1) \
              AS category_scores, \
             (SELECT AVG(q.csat) FROM agent_quality q WHERE q.application_id = a.id) AS csat, \
             (SELECT AVG(q.qa_score) FROM agent_quality q WHERE q.application_id = a.id) AS qa \
             FROM applications a WHERE a.went_live_at IS NOT NULL AND a.created_at >= ",
        );
        qb.push_bind(start).push(" AND a.created_at < ").push_bind(end);
        if let Some(m) = market {
            qb.push(" AND a.country = ").push_bind(m);
        }
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// Someone waiting at a fairness step: their group in each segment (area, student, customer,
/// source, country) and since when they have been in their stage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Waiting {
    pub area: String,
    pub student: bool,
    pub customer: bool,
    pub source: String,
    pub country: String,
    pub stage_since: Option<DateTime<Utc>>,
}

/// The people who signed up in the range and are waiting at fairness step `step` (1 = the
/// quiz … 4 = activation): through the step before it, not decided at it, and still in the
/// process (not expired, rejected or withdrawn).
pub async fn waiting_at(
    db: &Db,
    step: usize,
    market: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Waiting>> {
    let (start, end) = signup_range(from, to);
    let (reached, decided) = (1i64 << (2 * step - 1), 1i64 << (2 * step));
    on_db!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT area, student, customer, COALESCE(utm_source, '') AS source, country, \
             stage_since FROM applications WHERE created_at >= ",
        );
        qb.push_bind(start)
            .push(" AND created_at < ")
            .push_bind(end)
            .push(" AND (fair_state & ")
            .push_bind(reached + decided)
            .push(") = ")
            .push_bind(reached)
            .push(" AND status NOT IN ('expired', 'rejected', 'withdrawn')");
        if let Some(m) = market {
            qb.push(" AND country = ").push_bind(m);
        }
        Ok(qb.build_query_as().fetch_all(p).await?)
    })
}

/// The instants from the start of day `from` to the end of day `to` (UTC), for signup times.
fn signup_range(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    (midnight(from), midnight(to + chrono::Days::new(1)))
}

/// Recounts `funnel_daily` and `fairness_daily` from each application's `funnel_step` and
/// `fair_state` (which the triggers keep on the row): `onramp report rebuild`.
pub async fn recount_funnel_and_fairness(tx: &mut Tx) -> Result<()> {
    let day = match tx {
        Tx::Sqlite(_) => "substr(created_at, 1, 10)",
        Tx::Postgres(_) => "(created_at AT TIME ZONE 'UTC')::date",
    };
    let steps: Vec<String> = (1..=6)
        .map(|k| format!("SUM(CASE WHEN funnel_step >= {k} THEN 1 ELSE 0 END)"))
        .collect();
    let funnel = format!(
        "INSERT INTO funnel_daily (day, market, source, applied, verified, quiz_passed, \
         shortlisted, offered, onboarding, live) SELECT {day}, country, \
         COALESCE(utm_source, ''), COUNT(*), {} FROM applications GROUP BY 1, 2, 3",
        steps.join(", ")
    );
    let bits: Vec<String> = (0..10)
        .map(|k| format!("SUM((fair_state >> {k}) & 1)"))
        .collect();
    let segments = [
        ("area", "area"),
        (
            "student",
            "CASE WHEN student THEN 'student' ELSE 'not a student' END",
        ),
        (
            "customer",
            "CASE WHEN customer THEN 'customer' ELSE 'not a customer' END",
        ),
        ("source", "COALESCE(utm_source, '')"),
        ("country", "country"),
    ];
    on!(tx, c => sqlx::query("DELETE FROM funnel_daily").execute(&mut **c).await.map(|_| ())?);
    on!(tx, c => sqlx::query(&funnel).execute(&mut **c).await.map(|_| ())?);
    on!(tx, c => sqlx::query("DELETE FROM fairness_daily").execute(&mut **c).await.map(|_| ())?);
    for (segment, group) in segments {
        let sql = format!(
            "INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, \
             screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, \
             offer_decided, offer_passed, activation_decided, activation_passed) \
             SELECT {day}, country, '{segment}', {group}, {} FROM applications GROUP BY 1, 2, 4",
            bits.join(", ")
        );
        on!(tx, c => sqlx::query(&sql).execute(&mut **c).await.map(|_| ())?);
    }
    Ok(())
}
