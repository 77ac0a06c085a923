//! The managers' pages: the report (live pilot agents against outsourced headcount, week by
//! week, with the forecast) and the outsourced headcount form. Managers and admins.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde_json::{json, Value};

use super::admin::{field, Staff};
use super::api::reports::{report_query, ReportQuery};
use super::chart::{line_chart, Line};
use super::pages::{errors_context_in, form_title};
use super::{form, listing, AppState, PageError};
use crate::domain::reports::{Filter, RawHeadcount, ReplacementWeek};
use crate::domain::{iso, time, FieldErrors};
use crate::store::reports as rows;
use crate::usecases::reports as report;

/// Snapshots listed under the headcount form.
const RECENT: i64 = 12;

pub(crate) use crate::domain::reports::percent;

fn markets(s: &AppState, current: Option<&str>) -> Vec<Value> {
    s.settings
        .markets
        .iter()
        .map(|m| {
            let name = iso::country_name(&m.country).unwrap_or(&m.country);
            json!({ "value": m.country, "label": name,
                    "selected": current == Some(m.country.as_str()) })
        })
        .collect()
}

/// The query string of a filter, for links that keep it (the CSV download).
fn filter_query(f: &Filter) -> String {
    let mut q = format!("from={}&to={}", f.from, f.to);
    if let Some(m) = &f.market {
        q.push_str(&format!("&market={m}"));
    }
    q
}

fn replacement_context(weeks: &[ReplacementWeek]) -> Value {
    let labels: Vec<String> = weeks.iter().map(|w| w.week.clone()).collect();
    let chart = line_chart(
        "replacement",
        "Live pilot agents and outsourced headcount by week",
        &match (weeks.first(), weeks.last()) {
            (Some(a), Some(b)) => format!(
                "From {} ({}) to {} ({}): live agents went from {} to {}, outsourced headcount \
                 from {} to {}. The table below has every week.",
                a.week,
                time::date_of(a.week_start),
                b.week,
                time::date_of(b.week_start),
                a.live,
                b.live,
                a.outsourced,
                b.outsourced
            ),
            _ => "No weeks in this range.".into(),
        },
        &labels,
        &[
            Line {
                name: "Live pilot agents",
                class: "live",
                values: weeks.iter().map(|w| Some(w.live as f64)).collect(),
            },
            Line {
                name: "Outsourced headcount",
                class: "outsourced",
                // No headcount recorded yet is no figure, not zero: a gap.
                values: weeks
                    .iter()
                    .map(|w| w.outsourced_known.then_some(w.outsourced as f64))
                    .collect(),
            },
        ],
    );
    let rows: Vec<Value> = weeks
        .iter()
        .rev()
        .map(|w| {
            json!({
                "week": w.week, "starts": time::date_of(w.week_start), "partial": w.partial,
                "live": w.live,
                "outsourced": if w.outsourced_known { w.outsourced.to_string() } else { "–".into() },
                "ratio": percent(w.ratio),
            })
        })
        .collect();
    json!({ "chart": chart, "rows": rows, "latest": weeks.last().map(|w| json!({
        "live": w.live, "outsourced": w.outsourced, "ratio": percent(w.ratio),
    })) })
}

fn steps_context(steps: &[crate::domain::reports::FunnelStep]) -> Vec<Value> {
    steps
        .iter()
        .map(|st| json!({ "label": st.label, "count": st.count, "conversion": percent(st.conversion) }))
        .collect()
}

fn funnel_context(f: &report::FunnelReport) -> Value {
    let segment = |segs: &[report::Segment], none: &str| -> Vec<Value> {
        segs.iter()
            .map(|sg| {
                let name = match &sg.key {
                    Some(k) => iso::country_name(k).map_or(k.clone(), |n| format!("{n} ({k})")),
                    None => none.to_string(),
                };
                json!({ "name": name, "steps": steps_context(&sg.steps) })
            })
            .collect()
    };
    let sources: Vec<Value> = f
        .by_source
        .iter()
        .map(|sg| {
            json!({ "name": sg.key.clone().unwrap_or_else(|| "(no source)".into()),
                    "steps": steps_context(&sg.steps) })
        })
        .collect();
    json!({
        "labels": crate::domain::reports::FUNNEL_STEPS.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        "steps": steps_context(&f.steps),
        "by_market": segment(&f.by_market, "(none)"),
        "by_source": sources,
        "by_cohort": f.by_cohort.iter().map(|c| json!({
            "id": c.cohort_id, "name": c.name, "market": c.market,
            "start": time::date_of(c.start_date), "offered": c.offered,
            "onboarding": c.onboarding, "live": c.live,
            "onboarding_conversion": percent(c.onboarding_conversion),
            "live_conversion": percent(c.live_conversion),
        })).collect::<Vec<_>>(),
        "agents": f.agents,
        "median": f.median_days_to_live.map(|d| format!("{d:.1}")),
        "retention": f.retention.iter().map(|r| json!({
            "days": r.days, "eligible": r.eligible, "retained": r.retained,
            "rate": percent(r.rate),
        })).collect::<Vec<_>>(),
    })
}

fn fairness_context(f: &report::FairnessReport) -> Value {
    let ratio = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.2}"));
    let segments: Vec<Value> = f
        .segments
        .iter()
        .map(|sg| {
            // One row per group, one cell per step.
            let mut groups: Vec<String> = Vec::new();
            for st in &sg.steps {
                for g in &st.groups {
                    if !groups.contains(&g.group) {
                        groups.push(g.group.clone());
                    }
                }
            }
            let rows: Vec<Value> = groups
                .iter()
                .map(|name| {
                    let cells: Vec<Value> = sg
                        .steps
                        .iter()
                        .map(|st| match st.groups.iter().find(|g| &g.group == name) {
                            Some(g) => json!({
                                "rate": percent(g.rate), "decided": g.decided,
                                "ratio": ratio(g.impact_ratio), "flagged": g.flagged,
                                "highest": st.highest.as_deref() == Some(name.as_str()),
                                "pending": g.pending,
                                "wait": g.median_wait_days.map(|d| format!("{d:.1}")),
                                "wait_flagged": g.wait_flagged,
                            }),
                            None => json!({ "rate": "–", "decided": 0, "ratio": "–",
                                            "flagged": false, "highest": false, "pending": 0 }),
                        })
                        .collect();
                    json!({ "group": name, "cells": cells })
                })
                .collect();
            json!({ "segment": sg.segment, "label": sg.label, "rows": rows })
        })
        .collect();
    json!({
        "min_group": f.min_group,
        "steps": crate::domain::reports::FAIRNESS_STEPS.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        "segments": segments,
        "flags": f.flags.iter().map(|fl| json!({
            "segment": fl.segment, "step": fl.step, "group": fl.group,
            "rate": percent(fl.rate), "ratio": ratio(fl.impact_ratio), "decided": fl.decided,
            "highest": fl.highest,
        })).collect::<Vec<_>>(),
        "wait_flags": f.wait_flags.iter().map(|fl| json!({
            "segment": fl.segment, "step": fl.step, "group": fl.group, "pending": fl.pending,
            "wait": fl.median_wait_days.map(|d| format!("{d:.1}")),
        })).collect::<Vec<_>>(),
        "wait_ratio": crate::domain::reports::WAIT_RATIO,
    })
}

fn quality_context(q: &crate::usecases::quality::QualityReport) -> Value {
    let cell = |c: &crate::domain::quality::Correlation| match (c.r, c.ci_low, c.ci_high) {
        (Some(r), Some(lo), Some(hi)) => {
            format!("r = {r:.2} (95% CI {lo:.2} to {hi:.2}, n = {})", c.n)
        }
        (Some(r), _, _) => format!("r = {r:.2} (n = {}, too few for an interval)", c.n),
        (None, _, _) => format!("not enough data (n = {})", c.n),
    };
    let mut rows: Vec<Value> = Vec::new();
    let mut names: Vec<&str> = q.relations.iter().map(|r| r.predictor.as_str()).collect();
    names.dedup();
    for name in names {
        let of = |out: &str| {
            q.relations
                .iter()
                .find(|r| r.predictor == name && r.outcome == out)
                .map(|r| cell(&r.correlation))
                .unwrap_or_default()
        };
        let label = match name.strip_prefix("category:") {
            Some(c) => format!(
                "Quiz category: {}",
                crate::usecases::assessment::category_label(c)
            ),
            None => "Quiz score".to_string(),
        };
        rows.push(json!({
            "predictor": label, "csat": of("csat"), "qa": of("qa_score"),
            "retention": of("retention_90"),
        }));
    }
    json!({ "agents": q.agents, "with_figures": q.with_figures, "rows": rows })
}

/// What the headcount form shows: the values (kept after an error) and the errors.
struct HeadcountForm {
    raw: RawHeadcount,
    errors: FieldErrors,
}

async fn page(
    staff: &Staff,
    s: &AppState,
    query: Result<ReportQuery, FieldErrors>,
    asked: &form::Pairs,
    headcount: HeadcountForm,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let today = s.db.now().date_naive();
    let (q, query_errors) = match query {
        Ok(q) => (q, FieldErrors::new()),
        Err(e) => (
            report_query(&Vec::new(), today, s.settings.forecast_weeks)
                .expect("the default query is valid"),
            e,
        ),
    };
    let mut all_errors = query_errors.clone();
    for (f, m) in &headcount.errors {
        all_errors.insert(format!("hc-{f}"), m.clone());
    }
    // In the page's order: the report's filters, then the headcount form.
    let order = [
        "market",
        "from",
        "to",
        "target",
        "weeks",
        "hc-vendor",
        "hc-market",
        "hc-date",
        "hc-headcount",
    ];
    let (summary, fe) = errors_context_in(&all_errors, &order);
    let mut ctx = json!({
        "replacement": null, "csv": null, "forecast": null, "funnel": null, "fairness": null, "quality": null,
        "errors": summary, "fe": fe, "notice": notice,
        "market_options": markets(s, q.filter.market.as_deref()),
        "hc_markets": markets(s, Some(headcount.raw.market.trim()).filter(|m| !m.is_empty())),
        "hc": { "vendor": headcount.raw.vendor, "date": headcount.raw.date,
                "headcount": headcount.raw.headcount },
        "today": today,
        "recent": rows::recent_headcount(&s.db, RECENT).await?.into_iter().map(|r| json!({
            "vendor": r.vendor, "market": r.market, "date": r.day, "headcount": r.headcount,
        })).collect::<Vec<_>>(),
    });
    if query_errors.is_empty() {
        let weeks = report::replacement(&s.db, &q.filter, today).await?;
        let f = report::forecast(&s.db, &q.filter, q.target, q.weeks, today).await?;
        let show = |d: Option<NaiveDate>| d.map(time::date_of);
        ctx["filter"] = json!({
            "market": q.filter.market, "from": q.filter.from, "to": q.filter.to,
            "target": q.target, "weeks": q.weeks,
        });
        ctx["replacement"] = replacement_context(&weeks);
        ctx["csv"] = json!(format!(
            "/reports/replacement.csv?{}",
            filter_query(&q.filter)
        ));
        ctx["funnel"] = funnel_context(&report::funnel(&s.db, &q.filter, s.db.now()).await?);
        let fair = report::fairness(&s.db, &q.filter, s.settings.fairness_min_group).await?;
        ctx["fairness"] = fairness_context(&fair);
        let quality = crate::usecases::quality::report(&s.db, &q.filter, s.db.now()).await?;
        ctx["quality"] = quality_context(&quality);
        ctx["forecast"] = json!({
            "summary": f.summary, "target": f.target, "live": f.live, "reached": f.reached,
            "date": show(f.date), "earliest": show(f.earliest), "latest": show(f.latest),
            "weeks_used": f.weeks_used, "per_week": format!("{:.1}", f.per_week),
            "never": f.date.is_none() && !f.reached && f.weeks_used > 0,
        });
    } else {
        // Keep what was typed, so it can be corrected.
        let get = |name: &str| form::first(asked, name).unwrap_or("");
        ctx["filter"] = json!({
            "from": get("from"), "to": get("to"), "target": get("target"), "weeks": get("weeks"),
        });
    }
    let status = if all_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(staff.page(
        status,
        "reports",
        &form_title("Reports", &all_errors),
        "reports",
        ctx,
    ))
}

/// `GET /reports`
pub async fn reports(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(raw);
    let query = report_query(&pairs, s.db.now().date_naive(), s.settings.forecast_weeks);
    let notice = (field(&pairs, "recorded") == "1")
        .then_some("The headcount snapshot is recorded; the report below includes it.");
    let blank = HeadcountForm {
        raw: RawHeadcount::default(),
        errors: FieldErrors::new(),
    };
    page(&staff, &s, query, &pairs, blank, notice).await
}

/// `POST /reports/headcount`: records a snapshot from the form; a refused one re-renders the
/// page with every field kept and named.
pub async fn record_headcount(
    staff: Staff,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let raw = RawHeadcount {
        vendor: field(&pairs, "vendor").to_string(),
        market: field(&pairs, "market").to_string(),
        date: field(&pairs, "date").to_string(),
        headcount: field(&pairs, "headcount").to_string(),
    };
    let at = s.db.now();
    match raw.parse(at.date_naive()) {
        Ok(h) => {
            let actor = format!("staff:{}", staff.id);
            report::record_headcount(&s.db, &actor, &[h], "headcount", at).await?;
            Ok(Redirect::to("/reports?recorded=1#headcount-heading").into_response())
        }
        Err(errors) => {
            let query = report_query(&Vec::new(), at.date_naive(), s.settings.forecast_weeks);
            let form = HeadcountForm { raw, errors };
            page(&staff, &s, query, &Vec::new(), form, None).await
        }
    }
}

/// `GET /reports/replacement.csv`: the replacement table's numbers.
pub async fn replacement_csv(
    _staff: Staff,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let today = s.db.now().date_naive();
    let q = report_query(&form::query(raw), today, s.settings.forecast_weeks)
        .map_err(crate::web::AppError::Validation)?;
    let weeks = report::replacement(&s.db, &q.filter, today).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let market = q.filter.market.clone().unwrap_or_else(|| "all".into());
    w.write_record([
        "week",
        "week_start",
        "week_end",
        "partial",
        "market",
        "live",
        "outsourced",
        "ratio",
    ])
    .map_err(anyhow::Error::from)?;
    for r in &weeks {
        w.write_record([
            r.week.clone(),
            r.week_start.to_string(),
            r.week_end.to_string(),
            r.partial.to_string(),
            listing::inert(&market).into_owned(),
            r.live.to_string(),
            r.outsourced.to_string(),
            r.ratio.map(|x| format!("{x:.6}")).unwrap_or_default(),
        ])
        .map_err(anyhow::Error::from)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"replacement-{}-{}-{}.csv\"",
        market, q.filter.from, q.filter.to
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&name).map_err(anyhow::Error::from)?,
    );
    Ok(res)
}
