//! The managers' report: recording outsourced headcount (one snapshot, or a CSV file), the
//! replacement series and the forecast read from the kept rows, and the live series' daily
//! snapshot and rebuild from the applications' timelines.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::domain::reports::{
    self, Filter, Forecast, FunnelStep, Headcount, RawHeadcount, ReplacementWeek, Retention,
    Series, StepRates, HEADCOUNT_FIELDS,
};
use crate::store::audit::{self, Entry};
use crate::store::outbox::{self, NewEmail};
use crate::store::reports::{self as rows, LiveRow};
use crate::store::{Db, StoreError, Tx};
use crate::usecases::import::{csv_rows, Refusal};

/// Stores headcount snapshots with one audit row, in one transaction.
pub async fn record_headcount(
    db: &Db,
    actor: &str,
    snapshots: &[Headcount],
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if snapshots.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    rows::record_headcount(&mut tx, snapshots, actor, now).await?;
    let after = if let [one] = snapshots {
        json!(one)
    } else {
        json!({ "snapshots": snapshots.len() })
    };
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "headcount.record",
            subject: source,
            before: None,
            after: Some(after),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a headcount import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows stored (or, in a dry run, that would be).
    pub imported: usize,
    pub refused: Vec<Refusal>,
}

/// Imports (or with `dry_run`, only checks) a CSV file `vendor,market,date,headcount` with a
/// header row. Every row is checked like the form; good rows are stored together even when
/// others are refused, and each refused row is reported by its line (the header is line 1)
/// and field.
pub async fn import_headcount(
    db: &Db,
    actor: &str,
    input: impl Read,
    dry_run: bool,
    source: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<ImportReport> {
    let today = now.date_naive();
    let (good, refused) = csv_rows(input, &HEADCOUNT_FIELDS, |c| {
        RawHeadcount {
            vendor: c[0].clone(),
            market: c[1].clone(),
            date: c[2].clone(),
            headcount: c[3].clone(),
        }
        .parse(today)
    })?;
    let good: Vec<Headcount> = good.into_iter().map(|(_, h)| h).collect();
    if !dry_run {
        record_headcount(db, actor, &good, source, now).await?;
    }
    Ok(ImportReport {
        imported: good.len(),
        refused,
    })
}

/// The live and outsourced series a report reads, filtered by market, to `to`.
async fn series(db: &Db, f: &Filter) -> Result<(Vec<LiveRow>, Series, Series), StoreError> {
    let market = f.market.as_deref();
    // Whole weeks: the forecast sums the first one's days too.
    let from = reports::week_start(f.from);
    let live_rows = rows::live(db, market, from, f.to).await?;
    let live = Series::new(live_rows.iter().map(|r| (r.market.clone(), r.day, r.live)));
    let outsourced = Series::new(
        rows::headcount(db, market, from, f.to)
            .await?
            .into_iter()
            .map(|r| (format!("{}/{}", r.market, r.vendor), r.day, r.headcount)),
    );
    Ok((live_rows, live, outsourced))
}

/// For each ISO week of the filter's range, the live agents against the outsourced headcount.
pub async fn replacement(
    db: &Db,
    f: &Filter,
    today: NaiveDate,
) -> Result<Vec<ReplacementWeek>, StoreError> {
    let (_, live, outsourced) = series(db, f).await?;
    Ok(reports::replacement(
        &reports::weeks(f.from, f.to, today),
        &live,
        &outsourced,
        today,
    ))
}

/// When live agents reach `target` (by default the outsourced headcount on the filter's last
/// day) at the pace of the last `n` complete weeks within the range. The current, partial
/// week is left out of the fit.
pub async fn forecast(
    db: &Db,
    f: &Filter,
    target: Option<i64>,
    n: usize,
    today: NaiveDate,
) -> Result<Forecast, StoreError> {
    let (live_rows, live, outsourced) = series(db, f).await?;
    let as_of = f.to.min(today);
    let mut nets: BTreeMap<NaiveDate, i64> = reports::weeks(f.from, as_of, today)
        .into_iter()
        .filter(|w| !w.partial && w.end <= as_of)
        .map(|w| (w.start, 0))
        .collect();
    // Weeks before the first activation are not part of the pace (a pilot that started before
    // the range starts with it).
    let range_start = reports::week_start(f.from);
    let started_before = live_rows
        .iter()
        .any(|r| r.day < range_start && (r.live > 0 || r.activated > 0));
    let first = if started_before {
        Some(range_start)
    } else {
        live_rows
            .iter()
            .find(|r| r.activated > 0)
            .map(|r| reports::week_start(r.day))
    };
    for r in &live_rows {
        if let Some(net) = nets.get_mut(&reports::week_start(r.day)) {
            *net += r.activated - r.offboarded;
        }
    }
    let nets: Vec<i64> = nets
        .into_iter()
        .filter(|(start, _)| first.is_some_and(|f| *start >= f))
        .map(|(_, net)| net)
        .collect();
    let target = target.unwrap_or_else(|| outsourced.total_on(as_of));
    Ok(reports::forecast(
        &nets,
        live.total_on(as_of),
        target,
        n,
        today,
    ))
}

/// One segment's funnel: a market or a source (null: applications without one).
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub key: Option<String>,
    pub steps: Vec<FunnelStep>,
}

/// A cohort's own funnel: offers made → seats taken (onboarding) → went live.
#[derive(Debug, Clone, Serialize)]
pub struct CohortFunnel {
    pub cohort_id: uuid::Uuid,
    pub name: String,
    pub market: String,
    pub start_date: NaiveDate,
    pub offered: i64,
    pub onboarding: i64,
    pub live: i64,
    pub onboarding_conversion: Option<f64>,
    pub live_conversion: Option<f64>,
}

/// The funnel report: every step's count and conversion for the signups in the filter's
/// range, overall, per market and per source; each cohort starting in the range; the median
/// days from signup to live; and 30-, 60- and 90-day retention of those who went live.
#[derive(Debug, Clone, Serialize)]
pub struct FunnelReport {
    pub market: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub steps: Vec<FunnelStep>,
    pub by_market: Vec<Segment>,
    pub by_source: Vec<Segment>,
    pub by_cohort: Vec<CohortFunnel>,
    /// Agents (signed up in the range, ever live) the median and retention are about.
    pub agents: i64,
    pub median_days_to_live: Option<f64>,
    pub retention: Vec<Retention>,
}

fn summed<'a>(rows: impl Iterator<Item = &'a rows::FunnelRow>) -> [i64; 7] {
    let mut total = [0i64; 7];
    for r in rows {
        for (t, c) in total.iter_mut().zip(r.counts()) {
            *t += c;
        }
    }
    total
}

fn segments(rows: &[rows::FunnelRow], key: impl Fn(&rows::FunnelRow) -> &str) -> Vec<Segment> {
    let keys: std::collections::BTreeSet<&str> = rows.iter().map(&key).collect();
    keys.into_iter()
        .map(|k| Segment {
            key: (!k.is_empty()).then(|| k.to_string()),
            steps: reports::funnel(&summed(rows.iter().filter(|r| key(r) == k))),
        })
        .collect()
}

pub async fn funnel(db: &Db, f: &Filter, now: DateTime<Utc>) -> Result<FunnelReport, StoreError> {
    let market = f.market.as_deref();
    const SPANS: [i64; 3] = [30, 60, 90];
    // Three independent reads, at once (SQLite reads on its pool of readers).
    let (rows, days, cohorts) = futures_util::try_join!(
        rows::funnel(db, market, f.from, f.to),
        rows::agent_days(db, market, f.from, f.to, now, &SPANS),
        rows::cohort_funnel(db, market, f.from, f.to),
    )?;
    let agents: i64 = days.iter().map(|d| d.agents).sum();
    let counts: Vec<(i64, i64)> = days.iter().map(|d| (d.days_to_live, d.agents)).collect();
    let kept: Vec<(i64, i64)> = (0..SPANS.len())
        .map(|i| {
            days.iter()
                .fold((0, 0), |(e, r), d| (e + d.kept[i].0, r + d.kept[i].1))
        })
        .collect();
    let by_cohort = cohorts
        .into_iter()
        .map(|c| CohortFunnel {
            onboarding_conversion: reports::ratio(c.seats_taken, c.offers_made),
            live_conversion: reports::ratio(c.went_live, c.seats_taken),
            cohort_id: c.id,
            name: c.name,
            market: c.market,
            start_date: c.start_date,
            offered: c.offers_made,
            onboarding: c.seats_taken,
            live: c.went_live,
        })
        .collect();
    Ok(FunnelReport {
        market: f.market.clone(),
        from: f.from,
        to: f.to,
        steps: reports::funnel(&summed(rows.iter())),
        by_market: segments(&rows, |r| r.market.as_str()),
        by_source: segments(&rows, |r| r.source.as_str()),
        by_cohort,
        agents,
        median_days_to_live: reports::median_of_counts(&counts),
        retention: SPANS
            .iter()
            .zip(kept)
            .map(|(d, (eligible, retained))| Retention::new(*d, eligible, retained))
            .collect(),
    })
}

/// A segment's groups at each fairness step.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRates {
    pub segment: &'static str,
    pub label: &'static str,
    pub steps: Vec<StepRates>,
}

/// A flagged impact ratio, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Flag {
    pub segment: &'static str,
    pub step: &'static str,
    pub group: String,
    pub rate: Option<f64>,
    pub impact_ratio: Option<f64>,
    pub decided: i64,
    pub highest: Option<String>,
}

/// The fairness report: for signups in the filter's range, each segment's groups at each
/// step, with rates, impact ratios and group sizes, and the flags (a ratio under 0.8 where
/// both groups have at least `min_group` people decided).
#[derive(Debug, Clone, Serialize)]
pub struct FairnessReport {
    pub market: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub min_group: i64,
    pub segments: Vec<SegmentRates>,
    pub flags: Vec<Flag>,
    /// Groups kept waiting: a median wait over twice the shortest group's at a step.
    pub wait_flags: Vec<WaitFlag>,
}

/// A group kept waiting at a step, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct WaitFlag {
    pub segment: &'static str,
    pub step: &'static str,
    pub group: String,
    pub pending: i64,
    pub median_wait_days: Option<f64>,
}

/// A group as the report names it.
fn group_name(grp: &str) -> String {
    if grp.is_empty() { "(none)" } else { grp }.to_string()
}

/// The group someone waiting belongs to in `segment`, as `fairness_daily` names it.
fn waiting_group(w: &rows::Waiting, segment: &str) -> String {
    match segment {
        "area" => w.area.clone(),
        "student" if w.student => "student".into(),
        "student" => "not a student".into(),
        "customer" if w.customer => "customer".into(),
        "customer" => "not a customer".into(),
        "source" => w.source.clone(),
        _ => w.country.clone(),
    }
}

pub async fn fairness(db: &Db, f: &Filter, min_group: i64) -> Result<FairnessReport, StoreError> {
    let mut segments = Vec::new();
    let mut flags = Vec::new();
    let mut wait_flags = Vec::new();
    // Who waits at each step after screening (where everyone is decided at once), read once
    // for every segment.
    let now = db.now();
    let mut waiting = vec![Vec::new()];
    for step in 1..reports::FAIRNESS_STEPS.len() {
        waiting.push(rows::waiting_at(db, step, f.market.as_deref(), f.from, f.to).await?);
    }
    for (segment, label) in reports::SEGMENTS {
        let rows = rows::fairness(db, segment, f.market.as_deref(), f.from, f.to).await?;
        let steps: Vec<StepRates> = (0..reports::FAIRNESS_STEPS.len())
            .map(|i| {
                let groups: Vec<(String, i64, i64)> = rows
                    .iter()
                    .map(|r| (group_name(&r.grp), r.steps()[i].0, r.steps()[i].1))
                    .collect();
                let mut waits: HashMap<String, Vec<f64>> = HashMap::new();
                for w in &waiting[i] {
                    let since = w.stage_since.unwrap_or(now);
                    let days = (now - since).num_minutes().max(0) as f64 / (24.0 * 60.0);
                    waits
                        .entry(group_name(&waiting_group(w, segment)))
                        .or_default()
                        .push(days);
                }
                reports::impact(i, &groups, min_group).with_waits(&waits, min_group)
            })
            .collect();
        for st in &steps {
            wait_flags.extend(
                st.groups
                    .iter()
                    .filter(|g| g.wait_flagged)
                    .map(|g| WaitFlag {
                        segment,
                        step: st.step,
                        group: g.group.clone(),
                        pending: g.pending,
                        median_wait_days: g.median_wait_days,
                    }),
            );
        }
        for st in &steps {
            flags.extend(st.groups.iter().filter(|g| g.flagged).map(|g| Flag {
                segment,
                step: st.step,
                group: g.group.clone(),
                rate: g.rate,
                impact_ratio: g.impact_ratio,
                decided: g.decided,
                highest: st.highest.clone(),
            }));
        }
        segments.push(SegmentRates {
            segment,
            label,
            steps,
        });
    }
    Ok(FairnessReport {
        market: f.market.clone(),
        from: f.from,
        to: f.to,
        min_group,
        segments,
        flags,
        wait_flags,
    })
}

/// Stores today's live count per market as counted from the applications (the daily
/// snapshot). Returns the markets written.
pub async fn snapshot_live(db: &Db, day: NaiveDate) -> Result<usize, StoreError> {
    let mut tx = db.begin().await?;
    let n = rows::snapshot_live(&mut tx, day).await?;
    tx.commit().await?;
    Ok(n)
}

/// The live series recomputed from the agents' stage changes: for each market and day with a
/// change, the live count at its end and the day's activations and offboardings.
pub fn live_from_moves(moves: &[rows::AgentMove]) -> Vec<LiveRow> {
    let mut out: BTreeMap<(String, NaiveDate), LiveRow> = BTreeMap::new();
    let mut live: BTreeMap<String, i64> = BTreeMap::new();
    for m in moves {
        let detail: serde_json::Value = serde_json::from_str(&m.detail).unwrap_or_default();
        let (from, to) = (
            detail["from"].as_str().unwrap_or(""),
            detail["to"].as_str().unwrap_or(""),
        );
        let Some((delta, activated, offboarded)) = live_step(from, to) else {
            continue;
        };
        let count = live.entry(m.market.clone()).or_default();
        *count += delta;
        let day = m.created_at.date_naive();
        let row = out
            .entry((m.market.clone(), day))
            .or_insert_with(|| LiveRow {
                market: m.market.clone(),
                day,
                live: 0,
                activated: 0,
                offboarded: 0,
            });
        row.live = *count;
        row.activated += activated;
        row.offboarded += offboarded;
    }
    out.into_values().collect()
}

/// How a stage change moves a market's live count, its activations and its offboardings; None
/// when it does not touch them.
pub fn live_step(from: &str, to: &str) -> Option<(i64, i64, i64)> {
    let delta = i64::from(to == "live") - i64::from(from == "live");
    let activated = i64::from(to == "live" && from != "paused");
    let offboarded = i64::from(to == "offboarded");
    (delta != 0 || activated != 0 || offboarded != 0).then_some((delta, activated, offboarded))
}

/// Records a stage change of an agent in market `market` on the live series, in `tx`.
pub async fn record_live_step(
    tx: &mut Tx,
    market: &str,
    from: &str,
    to: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some((delta, activated, offboarded)) = live_step(from, to) {
        rows::live_change(tx, market, at.date_naive(), delta, activated, offboarded).await?;
    }
    Ok(())
}

/// `onramp report rebuild`: recomputes the live series from the timelines, then snapshots
/// today's count, and recounts the funnel and fairness counts from each application's kept
/// state. Returns the live rows written.
pub async fn rebuild(db: &Db, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut tx = db.begin().await?;
    let moves = rows::agent_moves(&mut tx).await?;
    let live = live_from_moves(&moves);
    rows::replace_live(&mut tx, &live).await?;
    rows::snapshot_live(&mut tx, now.date_naive()).await?;
    rows::recount_funnel_and_fairness(&mut tx).await?;
    audit::record(
        &mut tx,
        Entry {
            actor: "cli",
            action: "report.rebuild",
            subject: "live_daily",
            before: None,
            after: Some(json!({ "rows": live.len(), "moves": moves.len() })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(live.len())
}

/// Weeks the weekly report's chart shows.
pub const WEEKLY_CHART_WEEKS: u64 = 12;

/// `weekly_report`: each manager gets the last complete ISO week's figures by email (once per
/// manager and week: `report:weekly:{manager}:{week}`): activations and offboardings, live
/// pilot agents against outsourced headcount with the ratio, the forecast date, the funnel of
/// the last four weeks' signups, and the fairness flags of the last quarter's. Returns how
/// many emails it queued.
pub async fn weekly_report(
    db: &Db,
    settings: &crate::config::Settings,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let today = now.date_naive();
    let end = reports::week_start(today) - chrono::Days::new(1);
    let start = end - chrono::Days::new(6);
    let week = reports::week_label(start);
    let all = |from: NaiveDate| Filter {
        market: None,
        from,
        to: end,
    };
    let (live_rows, live, outsourced) = series(db, &all(start)).await?;
    let in_week = live_rows.iter().filter(|r| r.day >= start && r.day <= end);
    let (activated, offboarded) =
        in_week.fold((0, 0), |(a, o), r| (a + r.activated, o + r.offboarded));
    let (live_now, outsourced_now) = (live.total_on(end), outsourced.total_on(end));
    let chart = replacement(
        db,
        &all(end - chrono::Days::new(WEEKLY_CHART_WEEKS * 7 - 1)),
        today,
    )
    .await?;
    let f = forecast(
        db,
        &all(end - chrono::Days::new(reports::DEFAULT_DAYS)),
        None,
        settings.forecast_weeks,
        today,
    )
    .await?;
    let funnel = funnel(db, &all(end - chrono::Days::new(27)), now).await?;
    let fairness = fairness(
        db,
        &all(end - chrono::Days::new(90)),
        settings.fairness_min_group,
    )
    .await?;
    let payload = json!({
        "week": week,
        "from": crate::domain::time::date_of(start),
        "to": crate::domain::time::date_of(end),
        "activated": activated,
        "offboarded": offboarded,
        "live": live_now,
        "outsourced": outsourced_now,
        "ratio": reports::percent(reports::ratio(live_now, outsourced_now)),
        "forecast": f.summary,
        "forecast_date": f.date.map(crate::domain::time::date_of),
        "funnel": funnel.steps.iter().map(|st| json!({
            "label": st.label, "count": st.count,
            "conversion": st.conversion.map(|c| reports::percent(Some(c))),
        })).collect::<Vec<_>>(),
        "flags": fairness.flags.iter().map(|fl| json!({
            "segment": fl.segment, "step": fl.step, "group": fl.group,
            "rate": reports::percent(fl.rate),
            "ratio": fl.impact_ratio.map_or("–".to_string(), |r| format!("{r:.2}")),
            "highest": fl.highest,
        })).collect::<Vec<_>>(),
        "chart": chart.iter().map(|w| json!({
            "week": w.week, "live": w.live, "outsourced": w.outsourced,
        })).collect::<Vec<_>>(),
        "chart_weeks": chart.len(),
        "report_path": format!("/reports?from={}&to={end}", end - chrono::Days::new(reports::DEFAULT_DAYS)),
    });
    let managers: Vec<_> = crate::store::users::list(db)
        .await?
        .into_iter()
        .filter(|u| u.role == "manager" && u.disabled_at.is_none())
        .collect();
    let emails: Vec<NewEmail> = managers
        .iter()
        .map(|m| NewEmail {
            idempotency_key: format!("report:weekly:{}:{week}", m.id),
            template: "weekly_report",
            recipient: &m.email,
            payload: payload.clone(),
        })
        .collect();
    let mut tx = db.begin().await?;
    let queued = outbox::enqueue_many_counted(&mut tx, &emails, now).await?;
    tx.commit().await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_changes_move_the_live_count_and_the_step_counts() {
        assert_eq!(live_step("onboarding", "live"), Some((1, 1, 0)));
        assert_eq!(live_step("live", "paused"), Some((-1, 0, 0)));
        assert_eq!(live_step("paused", "live"), Some((1, 0, 0)));
        assert_eq!(live_step("live", "offboarded"), Some((-1, 0, 1)));
        // A paused agent no longer counted: offboarding them changes only the step count.
        assert_eq!(live_step("paused", "offboarded"), Some((0, 0, 1)));
        assert_eq!(live_step("offered", "onboarding"), None);
    }
}
