//! The managers' report arithmetic: ISO weeks, "the latest figure on or before a day" summed
//! over series (outsourced headcount per vendor and market, live agents per market), the
//! replacement ratio and the forecast. Plain functions over rows the store reads, so the
//! numbers can be checked on fixed data.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;
use serde_json::Value;

use super::{add_error, iso, FieldErrors};

/// A fraction as a percent with one decimal, or a dash when there is none.
pub fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("–".into(), |r| format!("{:.1}%", r * 100.0))
}

/// The Monday that starts `d`'s ISO week.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// "2026-W48", the ISO week of `d`.
pub fn week_label(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// One ISO week of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Week {
    pub week: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The week holds `today`: its figures are the figures now.
    pub partial: bool,
}

impl Week {
    /// The day whose figures stand for the week: its Sunday, or today in the current week.
    pub fn as_of(&self, today: NaiveDate) -> NaiveDate {
        self.end.min(today)
    }
}

/// The ISO weeks from the one holding `from` to the one holding `to` (not past today's).
pub fn weeks(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Vec<Week> {
    let last = week_start(to.min(today));
    let mut start = week_start(from);
    let mut out = Vec::new();
    while start <= last {
        let end = start + Days::new(6);
        out.push(Week {
            week: week_label(start),
            start,
            end,
            // Until its Sunday is over, the week holding today is still going.
            partial: end >= today,
        });
        start = start + Days::new(7);
    }
    out
}

/// Dated figures of several series (a vendor in a market, or a market), each series sorted
/// by day. The value of a series on a day is its latest figure on or before that day.
#[derive(Debug, Default)]
pub struct Series {
    by_key: BTreeMap<String, Vec<(NaiveDate, i64)>>,
}

impl Series {
    pub fn new(rows: impl IntoIterator<Item = (String, NaiveDate, i64)>) -> Self {
        let mut by_key: BTreeMap<String, Vec<(NaiveDate, i64)>> = BTreeMap::new();
        for (key, day, value) in rows {
            by_key.entry(key).or_default().push((day, value));
        }
        for v in by_key.values_mut() {
            v.sort_by_key(|(d, _)| *d);
        }
        Series { by_key }
    }

    /// Whether any series has a figure on or before `day` (before that the total is unknown,
    /// not zero).
    pub fn known_on(&self, day: NaiveDate) -> bool {
        self.by_key
            .values()
            .any(|v| v.first().is_some_and(|(d, _)| *d <= day))
    }

    /// The sum over series of each one's latest figure on or before `day`.
    pub fn total_on(&self, day: NaiveDate) -> i64 {
        self.by_key
            .values()
            .map(|v| {
                let n = v.partition_point(|(d, _)| *d <= day);
                if n == 0 {
                    0
                } else {
                    v[n - 1].1
                }
            })
            .sum()
    }
}

/// A week of the replacement report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplacementWeek {
    pub week: String,
    pub week_start: NaiveDate,
    pub week_end: NaiveDate,
    pub partial: bool,
    /// Live pilot agents at the end of the week (now, in the current week).
    pub live: i64,
    /// Outsourced headcount on the same day.
    pub outsourced: i64,
    /// Whether any headcount was recorded by then: before the first snapshot the headcount is
    /// unknown, and `outsourced` (0) is no figure to draw.
    pub outsourced_known: bool,
    /// live ÷ outsourced, a fraction; null when there is no outsourced headcount.
    pub ratio: Option<f64>,
}

pub fn ratio(live: i64, outsourced: i64) -> Option<f64> {
    (outsourced > 0).then(|| live as f64 / outsourced as f64)
}

/// The replacement series: for each week, the live agents against the outsourced headcount.
pub fn replacement(
    weeks: &[Week],
    live: &Series,
    outsourced: &Series,
    today: NaiveDate,
) -> Vec<ReplacementWeek> {
    weeks
        .iter()
        .map(|w| {
            let day = w.as_of(today);
            let (l, o) = (live.total_on(day), outsourced.total_on(day));
            ReplacementWeek {
                week: w.week.clone(),
                week_start: w.start,
                week_end: w.end,
                partial: w.partial,
                live: l,
                outsourced: o,
                outsourced_known: outsourced.known_on(day),
                ratio: ratio(l, o),
            }
        })
        .collect()
}

/// The default number of complete weeks the forecast fits.
pub const FORECAST_WEEKS: usize = 8;
/// The window of the slowest and fastest rates.
pub const RANGE_WEEKS: usize = 4;

/// When live agents reach a target at the recent pace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub target: i64,
    /// Live agents are at or above the target now.
    pub reached: bool,
    /// The projected day, at the mean weekly net activations; null when that pace never
    /// reaches the target.
    pub date: Option<NaiveDate>,
    /// At the fastest 4-week pace.
    pub earliest: Option<NaiveDate>,
    /// At the slowest 4-week pace; null when that pace never reaches the target.
    pub latest: Option<NaiveDate>,
    /// How many complete weeks the fit used.
    pub weeks_used: usize,
    /// Live agents now.
    pub live: i64,
    /// Mean net activations (activations − offboardings) per week over the weeks used.
    pub per_week: f64,
    pub slowest_per_week: Option<f64>,
    pub fastest_per_week: Option<f64>,
    /// The outcome in a sentence.
    pub summary: String,
}

/// A pace: net activations over a number of weeks, kept as the two integers so projections
/// are exact.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pace {
    net: i64,
    weeks: i64,
}

impl Pace {
    fn of(nets: &[i64]) -> Pace {
        Pace {
            net: nets.iter().sum(),
            weeks: nets.len() as i64,
        }
    }

    fn per_week(self) -> f64 {
        self.net as f64 / self.weeks.max(1) as f64
    }

    /// The day `live` reaches `target` at this pace, counting from `today`; None when it never
    /// does.
    fn reaches(self, today: NaiveDate, live: i64, target: i64) -> Option<NaiveDate> {
        if live >= target {
            return Some(today);
        }
        if self.net <= 0 || self.weeks <= 0 {
            return None;
        }
        // remaining ÷ (net ÷ weeks) weeks, in whole days, rounded up.
        let numerator = (target - live) * 7 * self.weeks;
        let days = (numerator + self.net - 1) / self.net;
        // Beyond a century is "never" for a staffing plan, and keeps the date representable.
        if days > 36_500 {
            return None;
        }
        today.checked_add_days(Days::new(days as u64))
    }
}

/// Projects when `live` agents reach `target` from `nets`, the net activations of complete
/// weeks, oldest first (the caller leaves out the current, partial week). It uses the last
/// `n` of them; the range comes from the slowest and fastest `RANGE_WEEKS`-week windows among
/// those (the whole span when it is shorter).
pub fn forecast(nets: &[i64], live: i64, target: i64, n: usize, today: NaiveDate) -> Forecast {
    let used = &nets[nets.len().saturating_sub(n)..];
    let pace = Pace::of(used);
    let per_week = if used.is_empty() {
        0.0
    } else {
        pace.per_week()
    };
    let window = RANGE_WEEKS.min(used.len()).max(1);
    let paces: Vec<Pace> = if used.is_empty() {
        Vec::new()
    } else {
        used.windows(window).map(Pace::of).collect()
    };
    // Windows have one length, so the net orders them.
    let slowest = paces.iter().copied().min_by_key(|p| p.net);
    let fastest = paces.iter().copied().max_by_key(|p| p.net);
    let reached = live >= target;
    let date = if used.is_empty() {
        None
    } else {
        pace.reaches(today, live, target)
    };
    let earliest = fastest.and_then(|p| p.reaches(today, live, target));
    let latest = slowest.and_then(|p| p.reaches(today, live, target));
    let (date, earliest, latest) = if reached {
        (Some(today), Some(today), Some(today))
    } else {
        (date, earliest, latest)
    };
    let summary = match (reached, date) {
        (true, _) => format!("Live agents ({live}) have reached the target of {target}."),
        (false, _) if used.is_empty() => format!(
            "No complete week of activations yet: there is no trend to project to the target \
             of {target}."
        ),
        (false, None) => format!(
            "At {per_week:.1} net activations a week over the last {} weeks, live agents \
             ({live}) never reach the target of {target}.",
            used.len()
        ),
        (false, Some(d)) => format!(
            "At {per_week:.1} net activations a week over the last {} weeks, live agents \
             ({live}) reach the target of {target} around {}.",
            used.len(),
            super::time::date_of(d)
        ),
    };
    Forecast {
        target,
        reached,
        date,
        earliest,
        latest,
        weeks_used: used.len(),
        live,
        per_week,
        slowest_per_week: slowest.map(Pace::per_week),
        fastest_per_week: fastest.map(Pace::per_week),
        summary,
    }
}

/// The funnel's steps, in order: id and label.
pub const FUNNEL_STEPS: [(&str, &str); 7] = [
    ("applied", "Applied"),
    ("verified", "Email confirmed"),
    ("quiz_passed", "Quiz passed"),
    ("shortlisted", "Shortlisted"),
    ("offered", "Offered a seat"),
    ("onboarding", "Onboarding"),
    ("live", "Live"),
];

/// A step of a funnel: how many ever reached it, and what fraction of the previous step's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    pub step: &'static str,
    pub label: &'static str,
    pub count: i64,
    /// count ÷ the previous step's count; null for the first step or after an empty one.
    pub conversion: Option<f64>,
}

pub fn funnel(counts: &[i64]) -> Vec<FunnelStep> {
    FUNNEL_STEPS
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, ((step, label), count))| FunnelStep {
            step,
            label,
            count: *count,
            conversion: i.checked_sub(1).and_then(|p| ratio(*count, counts[p])),
        })
        .collect()
}

/// The median of values given as (value, how many), the mean of the two middle ones for an
/// even count; None when there are none.
pub fn median_of_counts(counts: &[(i64, i64)]) -> Option<f64> {
    let mut counts: Vec<(i64, i64)> = counts.iter().copied().filter(|c| c.1 > 0).collect();
    counts.sort();
    let n: i64 = counts.iter().map(|c| c.1).sum();
    if n == 0 {
        return None;
    }
    // The value at 0-based position k.
    let at = |k: i64| {
        let mut seen = 0;
        for (v, c) in &counts {
            seen += c;
            if k < seen {
                return *v;
            }
        }
        counts[counts.len() - 1].0
    };
    Some(if n % 2 == 1 {
        at(n / 2) as f64
    } else {
        (at(n / 2 - 1) + at(n / 2)) as f64 / 2.0
    })
}

/// Of the agents who went live at least `days` days before now, how many were still with us
/// `days` days after going live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retention {
    pub days: i64,
    pub eligible: i64,
    pub retained: i64,
    pub rate: Option<f64>,
}

impl Retention {
    pub fn new(days: i64, eligible: i64, retained: i64) -> Self {
        Retention {
            days,
            eligible,
            retained,
            rate: ratio(retained, eligible),
        }
    }
}

/// The fairness report's steps: id and what the rate is of. A rate counts only people already
/// decided at the step; someone still pending there is in neither part.
pub const FAIRNESS_STEPS: [(&str, &str); 5] = [
    (
        "screening",
        "Knockout screening: applied → not screened out",
    ),
    ("quiz", "Quiz: taken → passed"),
    ("shortlist", "Shortlist: passed the quiz → shortlisted"),
    ("offer", "Offer: shortlisted → offered"),
    ("activation", "Activation: took a seat → live"),
];

/// The applicant groups the fairness report compares: id and label.
pub const SEGMENTS: [(&str, &str); 5] = [
    ("area", "Area"),
    ("student", "Student"),
    ("customer", "Customer of the product"),
    ("source", "Source"),
    ("country", "Country"),
];

/// The four-fifths rule: an impact ratio under this is flagged.
pub const FOUR_FIFTHS: f64 = 0.8;

/// One group at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRate {
    pub group: String,
    /// People decided at the step (passed or not).
    pub decided: i64,
    pub passed: i64,
    pub rate: Option<f64>,
    /// This group's rate ÷ the highest group's rate at the step.
    pub impact_ratio: Option<f64>,
    /// The ratio is under 0.8 and both this group and the highest have at least the minimum
    /// number of people decided.
    pub flagged: bool,
    /// People who reached the step and are still waiting there (not decided either way).
    pub pending: i64,
    /// The median of how long those people have waited, in days (one decimal); None when no
    /// one is waiting.
    pub median_wait_days: Option<f64>,
    /// The median wait is more than `WAIT_RATIO` times the shortest group's median (counted
    /// as at least a day), and both groups have at least the minimum number of people waiting:
    /// a group kept waiting, which a rate among the decided cannot show.
    pub wait_flagged: bool,
}

/// A group whose median wait at a step is more than this many times the shortest group's is
/// flagged.
pub const WAIT_RATIO: f64 = 2.0;

/// The median of `days`, to one decimal; None for none.
pub fn median_days(days: &mut [f64]) -> Option<f64> {
    if days.is_empty() {
        return None;
    }
    days.sort_by(f64::total_cmp);
    let n = days.len();
    let m = if n % 2 == 1 {
        days[n / 2]
    } else {
        (days[n / 2 - 1] + days[n / 2]) / 2.0
    };
    Some((m * 10.0).round() / 10.0)
}

impl StepRates {
    /// Adds who is waiting at the step: for each group, how many days each person has waited.
    /// Flags a group whose median wait is over `WAIT_RATIO` times the shortest median, where
    /// both have at least `min_group` people waiting.
    pub fn with_waits(
        mut self,
        waits: &std::collections::HashMap<String, Vec<f64>>,
        min_group: i64,
    ) -> Self {
        for g in &mut self.groups {
            let mut days = waits.get(&g.group).cloned().unwrap_or_default();
            g.pending = days.len() as i64;
            g.median_wait_days = median_days(&mut days);
        }
        let shortest = self
            .groups
            .iter()
            .filter(|g| g.pending >= min_group)
            .filter_map(|g| g.median_wait_days)
            .min_by(f64::total_cmp);
        for g in &mut self.groups {
            g.wait_flagged = g.pending >= min_group
                && matches!((g.median_wait_days, shortest),
                    (Some(m), Some(s)) if m > WAIT_RATIO * s.max(1.0));
        }
        self
    }
}

/// The groups of a segment at one step, with the group of the highest rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRates {
    pub step: &'static str,
    pub label: &'static str,
    pub highest: Option<String>,
    pub groups: Vec<GroupRate>,
}

/// Rates and impact ratios of `groups` (group, decided, passed) at one step.
pub fn impact(step: usize, groups: &[(String, i64, i64)], min_group: i64) -> StepRates {
    let rates: Vec<Option<f64>> = groups.iter().map(|(_, d, p)| ratio(*p, *d)).collect();
    // The highest rate; of equal rates, the larger group.
    let best = groups
        .iter()
        .zip(&rates)
        .filter_map(|(g, r)| r.map(|r| (g, r)))
        .max_by(|(a, ra), (b, rb)| ra.total_cmp(rb).then(a.1.cmp(&b.1)));
    let out = groups
        .iter()
        .zip(&rates)
        .map(|((group, decided, passed), rate)| {
            let impact_ratio = match (rate, best) {
                (Some(r), Some((_, b))) if b > 0.0 => Some(r / b),
                _ => None,
            };
            let big_enough = *decided >= min_group && best.is_some_and(|(g, _)| g.1 >= min_group);
            GroupRate {
                group: group.clone(),
                decided: *decided,
                passed: *passed,
                rate: *rate,
                impact_ratio,
                flagged: big_enough && impact_ratio.is_some_and(|r| r < FOUR_FIFTHS),
                pending: 0,
                median_wait_days: None,
                wait_flagged: false,
            }
        })
        .collect();
    StepRates {
        step: FAIRNESS_STEPS[step].0,
        label: FAIRNESS_STEPS[step].1,
        highest: best.map(|(g, _)| g.0.clone()),
        groups: out,
    }
}

/// What every part of the report is filtered by: a market (all when None) and a date range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filter {
    pub market: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The range a report covers when none is given: the last year, to today.
pub const DEFAULT_DAYS: u64 = 364;
/// The longest range a report covers.
pub const MAX_DAYS: i64 = 366 * 10;

impl Filter {
    /// Reads `market`, `from` and `to` (YYYY-MM-DD, each optional) and names each wrong one.
    pub fn parse(
        market: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Filter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let market = match market.map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            // Any two letters: a market with no agents and no headcount reports zeros, as the
            // applicant list's country filter finds no one.
            Some(m) => {
                let m = m.to_ascii_uppercase();
                if m.len() != 2 || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                    add_error(
                        &mut errors,
                        "market",
                        "Give the market as a two-letter country code, such as SE, or leave it \
                         out for every market.",
                    );
                }
                Some(m)
            }
        };
        let mut date =
            |field: &str, raw: Option<&str>| match raw.map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => {
                    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
                    if d.is_none() {
                        add_error(
                            &mut errors,
                            field,
                            format!("Give {field} as a date, YYYY-MM-DD, such as 2026-01-05."),
                        );
                    }
                    d
                }
            };
        let to_given = date("to", to);
        let from_given = date("from", from);
        let to = to_given.unwrap_or(today);
        let from = from_given.unwrap_or(to - Days::new(DEFAULT_DAYS));
        if from > to {
            add_error(
                &mut errors,
                "from",
                "Give a from date on or before the to date.",
            );
        } else if (to - from).num_days() > MAX_DAYS {
            add_error(
                &mut errors,
                "from",
                "A report covers at most ten years: give a later from date.",
            );
        }
        if errors.is_empty() {
            Ok(Filter { market, from, to })
        } else {
            Err(errors)
        }
    }
}

/// The highest forecast target.
pub const TARGET_MAX: i64 = 10_000_000;
/// The most complete weeks a forecast may fit.
pub const FORECAST_WEEKS_MAX: usize = 104;

/// The forecast's own parameters: `target` (live agents to reach; the outsourced headcount when
/// absent) and `weeks` (complete weeks to fit; `default_weeks` when absent).
pub fn forecast_params(
    target: Option<&str>,
    weeks: Option<&str>,
    default_weeks: usize,
) -> Result<(Option<i64>, usize), FieldErrors> {
    let mut errors = FieldErrors::new();
    let target = match target.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=TARGET_MAX).contains(&n) => Some(n),
            _ => {
                add_error(
                    &mut errors,
                    "target",
                    format!(
                        "Give the target as a whole number of live agents from 1 to \
                         {TARGET_MAX}, or leave it out for the outsourced headcount."
                    ),
                );
                None
            }
        },
    };
    let weeks = match weeks.map(str::trim).filter(|t| !t.is_empty()) {
        None => default_weeks,
        Some(w) => match w.parse::<usize>() {
            Ok(n) if (1..=FORECAST_WEEKS_MAX).contains(&n) => n,
            _ => {
                add_error(
                    &mut errors,
                    "weeks",
                    format!("Give weeks as a whole number from 1 to {FORECAST_WEEKS_MAX}."),
                );
                default_weeks
            }
        },
    };
    if errors.is_empty() {
        Ok((target, weeks))
    } else {
        Err(errors)
    }
}

/// A snapshot of a vendor's outsourced agents in a market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Headcount {
    pub vendor: String,
    pub market: String,
    pub date: NaiveDate,
    pub headcount: i64,
}

pub const VENDOR_MAX: usize = 80;
pub const HEADCOUNT_MAX: i64 = 1_000_000;

/// A headcount snapshot as it arrives, every field as text (a form, a CSV row, or JSON turned
/// into text by `from_json`).
#[derive(Debug, Clone, Default)]
pub struct RawHeadcount {
    pub vendor: String,
    pub market: String,
    pub date: String,
    pub headcount: String,
}

pub const HEADCOUNT_FIELDS: [&str; 4] = ["vendor", "market", "date", "headcount"];

impl RawHeadcount {
    /// Reads `{vendor, market, date, headcount}`; a field of the wrong JSON type is named.
    pub fn from_json(body: &Value) -> Result<RawHeadcount, FieldErrors> {
        let mut errors = FieldErrors::new();
        if !body.is_object() {
            add_error(&mut errors, "body", "Send the snapshot as a JSON object.");
            return Err(errors);
        }
        let mut text = |field: &str| match body.get(field) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) if field != "headcount" => s.clone(),
            Some(Value::Number(n)) if field == "headcount" => n.to_string(),
            Some(_) if field == "headcount" => {
                add_error(
                    &mut errors,
                    field,
                    "Give the headcount as a whole number, 0 or more.",
                );
                String::new()
            }
            Some(_) => {
                add_error(&mut errors, field, format!("Give {field} as text."));
                String::new()
            }
        };
        let raw = RawHeadcount {
            vendor: text("vendor"),
            market: text("market"),
            date: text("date"),
            headcount: text("headcount"),
        };
        if errors.is_empty() {
            Ok(raw)
        } else {
            Err(errors)
        }
    }

    /// Checks every field and names each one that is wrong. A snapshot records what was, so
    /// its date is not after `today`.
    pub fn parse(&self, today: NaiveDate) -> Result<Headcount, FieldErrors> {
        let mut errors = FieldErrors::new();
        let vendor = self.vendor.trim();
        let n = vendor.chars().count();
        if n == 0 || n > VENDOR_MAX || vendor.chars().any(char::is_control) {
            add_error(
                &mut errors,
                "vendor",
                format!("Name the vendor in 1 to {VENDOR_MAX} characters, on one line."),
            );
        }
        let market = self.market.trim().to_ascii_uppercase();
        if iso::country_name(&market).is_none() {
            add_error(
                &mut errors,
                "market",
                "Give the market as a two-letter country code, such as SE.",
            );
        }
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d").ok();
        match date {
            None => add_error(
                &mut errors,
                "date",
                "Give the date as YYYY-MM-DD, such as 2026-11-23.",
            ),
            Some(d) if d > today => add_error(
                &mut errors,
                "date",
                format!("A snapshot records what was: give a date on or before {today}."),
            ),
            Some(d) if d.year() < 2000 => {
                add_error(&mut errors, "date", "Give a date from 2000 on.")
            }
            Some(_) => {}
        }
        let raw = self.headcount.trim();
        let headcount = match raw.parse::<i64>() {
            Ok(h) if h < 0 => {
                add_error(
                    &mut errors,
                    "headcount",
                    "The headcount cannot be negative: give the number of agents, 0 or more.",
                );
                None
            }
            Ok(h) if h > HEADCOUNT_MAX => {
                add_error(
                    &mut errors,
                    "headcount",
                    format!("Give a headcount of at most {HEADCOUNT_MAX}."),
                );
                None
            }
            Ok(h) => Some(h),
            Err(_) => {
                add_error(
                    &mut errors,
                    "headcount",
                    "Give the headcount as a whole number, 0 or more.",
                );
                None
            }
        };
        match (date, headcount) {
            (Some(date), Some(headcount)) if errors.is_empty() => Ok(Headcount {
                vendor: vendor.to_string(),
                market,
                date,
                headcount,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weeks_are_iso_weeks_from_monday_with_the_current_one_partial() {
        // 2026-11-29 is a Sunday; 2026-11-25 a Wednesday.
        assert_eq!(week_start(d("2026-11-29")), d("2026-11-23"));
        assert_eq!(week_start(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(week_label(d("2026-11-25")), "2026-W48");
        // 2027-01-01 is a Friday in ISO week 53 of 2026.
        assert_eq!(week_label(d("2027-01-01")), "2026-W53");
        let w = weeks(d("2026-11-10"), d("2027-01-31"), d("2026-11-25"));
        assert_eq!(
            w.iter().map(|w| w.week.as_str()).collect::<Vec<_>>(),
            ["2026-W46", "2026-W47", "2026-W48"]
        );
        assert!(!w[1].partial && w[2].partial);
        assert_eq!(w[2].as_of(d("2026-11-25")), d("2026-11-25"));
        assert_eq!(w[1].as_of(d("2026-11-25")), d("2026-11-22"));
        // On its Sunday the week is still the current one.
        let w = weeks(d("2026-11-23"), d("2026-11-29"), d("2026-11-29"));
        assert!(w[0].partial);
    }

    #[test]
    fn the_figure_on_a_day_is_each_series_latest_on_or_before_it_summed() {
        let s = Series::new([
            ("A/SE".to_string(), d("2026-01-05"), 100),
            ("A/SE".to_string(), d("2026-01-19"), 80),
            ("B/SE".to_string(), d("2026-01-12"), 50),
        ]);
        assert_eq!(s.total_on(d("2026-01-04")), 0);
        assert_eq!(s.total_on(d("2026-01-05")), 100);
        assert_eq!(s.total_on(d("2026-01-12")), 150);
        assert_eq!(s.total_on(d("2026-01-18")), 150);
        assert_eq!(s.total_on(d("2026-01-19")), 130);
        assert_eq!(s.total_on(d("2027-01-01")), 130);
    }

    #[test]
    fn replacement_weeks_pair_live_agents_with_headcount_as_a_fraction() {
        let today = d("2026-01-21");
        let live = Series::new([
            ("SE".to_string(), d("2026-01-06"), 2),
            ("SE".to_string(), d("2026-01-20"), 5),
        ]);
        let outsourced = Series::new([("A/SE".to_string(), d("2026-01-01"), 20)]);
        let r = replacement(
            &weeks(d("2025-12-29"), today, today),
            &live,
            &outsourced,
            today,
        );
        let got: Vec<(i64, i64, Option<f64>)> =
            r.iter().map(|w| (w.live, w.outsourced, w.ratio)).collect();
        assert_eq!(
            got,
            [
                (0, 20, Some(0.0)),
                (2, 20, Some(0.1)),
                (2, 20, Some(0.1)),
                (5, 20, Some(0.25))
            ]
        );
        // The current week counts today's figures.
        assert!(r[3].partial && !r[2].partial);
        assert_eq!(ratio(3, 0), None);
    }

    #[test]
    fn the_forecast_projects_the_mean_pace_with_a_range_from_4_week_windows() {
        let today = d("2026-03-02");
        // Eight complete weeks: mean 10 a week, 4-week windows from 7.5 to 12.5.
        let nets = [5, 10, 5, 10, 10, 15, 10, 15];
        let f = forecast(&nets, 100, 200, 8, today);
        assert_eq!(f.weeks_used, 8);
        assert!((f.per_week - 10.0).abs() < 1e-9);
        assert_eq!(f.slowest_per_week, Some(7.5));
        assert_eq!(f.fastest_per_week, Some(12.5));
        // 100 to go at 10 a week: 10 weeks, 70 days.
        assert_eq!(f.date, Some(d("2026-05-11")));
        // At 12.5 a week: 8 weeks, 56 days. At 7.5: 13.33 weeks, 93.33 → 94 days.
        assert_eq!(f.earliest, Some(d("2026-04-27")));
        assert_eq!(f.latest, Some(d("2026-06-04")));
        assert!(!f.reached);
        // Only the last n weeks count.
        let f = forecast(&[100, 100, 1, 1], 0, 5, 2, today);
        assert_eq!(f.weeks_used, 2);
        assert_eq!(f.date, Some(d("2026-04-06")));
        assert_eq!(f.earliest, f.date);
    }

    #[test]
    fn the_forecast_says_when_the_trend_never_reaches_the_target() {
        let today = d("2026-03-02");
        let f = forecast(&[3, -2, -4, 1, -2], 40, 500, 8, today);
        assert_eq!(f.date, None);
        assert!(f.summary.contains("never reach"), "{}", f.summary);
        // Its fastest window still moves up, its slowest never gets there.
        assert!(f.earliest.is_none() && f.latest.is_none());
        let f = forecast(&[0, 6, 0, 6, 6], 40, 50, 8, today);
        assert!(f.earliest.is_some() && f.latest.is_some() && f.date.is_some());
        let f = forecast(&[], 0, 10, 8, today);
        assert_eq!((f.date, f.weeks_used), (None, 0));
        assert!(f.summary.contains("No complete week"), "{}", f.summary);
        // A target already met is reached today.
        let f = forecast(&[1], 12, 10, 8, today);
        assert!(f.reached);
        assert_eq!(f.date, Some(today));
    }

    #[test]
    fn the_funnel_converts_each_step_on_the_one_before() {
        let f = funnel(&[100, 80, 40, 20, 10, 5, 0]);
        assert_eq!(f[0].conversion, None);
        assert_eq!(f[1].conversion, Some(0.8));
        assert_eq!(f[2].conversion, Some(0.5));
        assert_eq!(f[6].conversion, Some(0.0));
        assert_eq!(funnel(&[0, 0, 0, 0, 0, 0, 0])[1].conversion, None);
        assert_eq!(f.iter().map(|s| s.step).collect::<Vec<_>>()[6], "live");
    }

    #[test]
    fn the_median_of_counted_values() {
        assert_eq!(median_of_counts(&[]), None);
        assert_eq!(median_of_counts(&[(3, 0)]), None);
        // 1, 5, 9
        assert_eq!(median_of_counts(&[(9, 1), (1, 1), (5, 1)]), Some(5.0));
        // 1, 2, 4, 10
        assert_eq!(
            median_of_counts(&[(4, 1), (1, 1), (10, 1), (2, 1)]),
            Some(3.0)
        );
        // 14 ×3, 20 ×1: the middle two are 14 and 14.
        assert_eq!(median_of_counts(&[(20, 1), (14, 3)]), Some(14.0));
        // 14 ×2, 20 ×2: 17.
        assert_eq!(median_of_counts(&[(20, 2), (14, 2)]), Some(17.0));
        assert_eq!(Retention::new(30, 4, 3).rate, Some(0.75));
        assert_eq!(Retention::new(30, 0, 0).rate, None);
    }

    #[test]
    fn impact_ratios_follow_the_four_fifths_rule_with_a_minimum_group() {
        let groups = vec![
            ("city".to_string(), 100, 60), // 0.60, the highest
            ("town".to_string(), 50, 25),  // 0.50: ratio 0.833, not flagged
            ("rural".to_string(), 40, 16), // 0.40: ratio 0.667, flagged
            ("abroad".to_string(), 10, 2), // 0.20: ratio 0.333, too few to flag
            ("pending".to_string(), 0, 0), // nobody decided: no rate
        ];
        let r = impact(1, &groups, 30);
        assert_eq!(r.step, "quiz");
        assert_eq!(r.highest.as_deref(), Some("city"));
        let by = |g: &str| r.groups.iter().find(|x| x.group == g).unwrap().clone();
        assert_eq!(by("city").impact_ratio, Some(1.0));
        assert!((by("town").impact_ratio.unwrap() - 0.5 / 0.6).abs() < 1e-12);
        assert!(!by("town").flagged);
        assert!(by("rural").flagged);
        assert!(!by("abroad").flagged);
        assert_eq!(by("pending").rate, None);
        assert_eq!(by("pending").impact_ratio, None);
        // The highest group too small: nothing is flagged.
        let r = impact(1, &[("a".into(), 5, 5), ("b".into(), 100, 10)], 30);
        assert_eq!(r.highest.as_deref(), Some("a"));
        assert!(r.groups.iter().all(|g| !g.flagged));
        // With the minimum met, it is.
        let r = impact(1, &[("a".into(), 5, 5), ("b".into(), 100, 10)], 5);
        assert!(r.groups[1].flagged);
    }

    #[test]
    fn a_filter_defaults_to_the_last_year_and_names_each_wrong_field() {
        let today = d("2026-11-29");
        let f = Filter::parse(None, None, None, today).unwrap();
        assert_eq!((f.market, f.from, f.to), (None, d("2025-11-30"), today));
        let f = Filter::parse(Some("se"), Some("2026-01-01"), Some(""), today).unwrap();
        assert_eq!(f.market.as_deref(), Some("SE"));
        assert!(Filter::parse(Some("xx"), None, None, today).is_ok());
        let e = Filter::parse(Some("SWE"), Some("2026-13-01"), Some("soon"), today).unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["from", "market", "to"]);
        let e = Filter::parse(None, Some("2026-02-01"), Some("2026-01-01"), today).unwrap_err();
        assert!(e["from"][0].contains("on or before"));
    }

    #[test]
    fn a_headcount_snapshot_names_each_wrong_field() {
        let today = d("2026-11-29");
        let ok = RawHeadcount {
            vendor: " Teleperformance ".into(),
            market: "se".into(),
            date: "2026-11-23".into(),
            headcount: "420".into(),
        };
        let h = ok.parse(today).unwrap();
        assert_eq!(
            (h.vendor.as_str(), h.market.as_str(), h.headcount),
            ("Teleperformance", "SE", 420)
        );
        let errors = RawHeadcount {
            vendor: String::new(),
            market: "XX".into(),
            date: "2026-12-01".into(),
            headcount: "-5".into(),
        }
        .parse(today)
        .unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["date", "headcount", "market", "vendor"]
        );
        assert!(errors["headcount"][0].contains("negative"));
        let errors = RawHeadcount::from_json(&serde_json::json!({
            "vendor": "A", "market": "SE", "date": "2026-11-23", "headcount": "12"
        }))
        .unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["headcount"]);
        let raw = RawHeadcount::from_json(&serde_json::json!({
            "vendor": "A", "market": "SE", "date": "2026-11-23", "headcount": 1.5
        }))
        .unwrap();
        assert!(raw.parse(today).unwrap_err().contains_key("headcount"));
    }
}
