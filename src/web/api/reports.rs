//! The managers' report by API (manager and admin keys): the replacement series and the
//! forecast, and the outsourced headcount snapshots behind them.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::{json, Value};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::applications::{string, ErrorsOut, NO_CONTROL, VISIBLE};
use super::ApiKey;
use crate::domain::reports::{self, Filter, RawHeadcount};
use crate::domain::FieldErrors;
use crate::store::reports as rows;
use crate::usecases::reports as report;
use crate::web::form;
use crate::web::{AppError, AppState};

/// A report request: the filter every part takes, and the forecast's target and weeks.
pub struct ReportQuery {
    pub filter: Filter,
    pub target: Option<i64>,
    pub weeks: usize,
}

/// Reads `market`, `from`, `to`, `target` and `weeks` from a query string, naming each wrong
/// one.
pub fn report_query(
    pairs: &form::Pairs,
    today: NaiveDate,
    default_weeks: usize,
) -> Result<ReportQuery, FieldErrors> {
    let get = |name: &str| form::first(pairs, name);
    let filter = Filter::parse(get("market"), get("from"), get("to"), today);
    let params = reports::forecast_params(get("target"), get("weeks"), default_weeks);
    match (filter, params) {
        (Ok(filter), Ok((target, weeks))) => Ok(ReportQuery {
            filter,
            target,
            weeks,
        }),
        (filter, params) => {
            let mut errors = filter.err().unwrap_or_default();
            errors.extend(params.err().unwrap_or_default());
            Err(errors)
        }
    }
}

fn query_of(s: &AppState, raw: Option<String>) -> Result<ReportQuery, AppError> {
    report_query(
        &form::query(raw),
        s.db.now().date_naive(),
        s.settings.forecast_weeks,
    )
    .map_err(AppError::Validation)
}

/// For each ISO week (Monday to Sunday) from the one holding `from` to the one holding `to`,
/// the live pilot agents at its end against the outsourced headcount that day, and their
/// ratio. Manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/reports/replacement",
    params(
        ("market" = Option<String>, Query, description = "Two-letter country code; every market when absent", pattern = "^[A-Za-z]{2}$"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "First day, YYYY-MM-DD; default a year before `to`"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Last day, YYYY-MM-DD, not before `from`; default today. At most ten years after `from`"),
    ),
    responses(
        (status = 200, description = "`{market, from, to, weeks: [{week (2026-W48), week_start, \
            week_end, partial, live, outsourced, outsourced_known, ratio}]}`. The current week \
            is partial and its live count is the count now. `ratio` is live ÷ outsourced as a \
            fraction (null when there is no outsourced headcount). The outsourced headcount on a \
            day is, per vendor and market, the latest snapshot on or before it, summed; before \
            the first snapshot it is unknown (`outsourced_known` false, `outsourced` 0)."),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A parameter is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn replacement(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let q = query_of(&s, raw)?;
    let weeks = report::replacement(&s.db, &q.filter, s.db.now().date_naive()).await?;
    Ok(Json(json!({
        "market": q.filter.market, "from": q.filter.from, "to": q.filter.to, "weeks": weeks,
    })))
}

/// When live pilot agents reach a target at the recent pace: the mean net activations
/// (activations minus offboardings) per complete week over the last `weeks` weeks of the
/// range, with a range from the slowest and fastest 4-week paces. The current, partial week
/// is left out of the fit. Manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/reports/forecast",
    params(
        ("market" = Option<String>, Query, description = "Two-letter country code; every market when absent", pattern = "^[A-Za-z]{2}$"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "First day, YYYY-MM-DD; default a year before `to`"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Last day, YYYY-MM-DD, not before `from`; default today"),
        ("target" = Option<i64>, Query, description = "Live agents to reach; default the outsourced headcount on `to`", minimum = 1, maximum = 10_000_000),
        ("weeks" = Option<i64>, Query, description = "Complete weeks to fit; default `forecast_weeks` (8)", minimum = 1, maximum = 104),
    ),
    responses(
        (status = 200, description = "`{target, reached, date, earliest, latest, weeks_used, \
            live, per_week, slowest_per_week, fastest_per_week, summary}`. `date` (at the mean \
            pace), `earliest` (fastest 4-week pace) and `latest` (slowest) are null when that \
            pace never reaches the target; `reached` is true when live agents are at or above \
            it now."),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A parameter is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn forecast(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let q = query_of(&s, raw)?;
    let f = report::forecast(&s.db, &q.filter, q.target, q.weeks, s.db.now().date_naive()).await?;
    Ok(Json(json!(f)))
}

/// The funnel for signups in the range: how many ever reached each step (applied → verified →
/// quiz passed → shortlisted → offered → onboarding → live) and the conversion from the step
/// before, overall, per market and per source; each cohort starting in the range; the median
/// days from signup to live; and 30-, 60- and 90-day retention. Manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/reports/funnel",
    params(
        ("market" = Option<String>, Query, description = "Two-letter country code (the applicant's country; a cohort's market); every market when absent", pattern = "^[A-Za-z]{2}$"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "First signup day, YYYY-MM-DD (cohorts: first start day); default a year before `to`"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Last signup day, YYYY-MM-DD, not before `from`; default today"),
    ),
    responses(
        (status = 200, description = "`{market, from, to, steps: [{step, label, count, \
            conversion}], by_market: [{key, steps}], by_source: [{key (null: no source), steps}], \
            by_cohort: [{cohort_id, name, market, start_date, offered, onboarding, live, \
            onboarding_conversion, live_conversion}], agents, median_days_to_live, retention: \
            [{days, eligible, retained, rate}]}`. Counts are \"ever reached\": an agent who went \
            live and left still counts as live. `conversion` is a step's count ÷ the previous \
            step's (null for the first, or after an empty step)."),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A parameter is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn funnel(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let q = query_of(&s, raw)?;
    Ok(Json(json!(
        report::funnel(&s.db, &q.filter, s.db.now()).await?
    )))
}

/// Selection rates at each automated or recruiter step (knockout screening, quiz, shortlist,
/// offer, activation) for the groups of each segment (area, student, customer, source,
/// country), among signups in the range, with impact ratios (a group's rate ÷ the highest
/// group's). A ratio under 0.8 is flagged when both groups have at least
/// `fairness_min_group` people decided at the step; sizes and ratios are shown either way.
/// Manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/reports/fairness",
    params(
        ("market" = Option<String>, Query, description = "Two-letter country code (the applicant's country); every market when absent", pattern = "^[A-Za-z]{2}$"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "First signup day, YYYY-MM-DD; default a year before `to`"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Last signup day, YYYY-MM-DD, not before `from`; default today"),
    ),
    responses(
        (status = 200, description = "`{market, from, to, min_group, segments: [{segment, \
            label, steps: [{step (screening, quiz, shortlist, offer, activation), label, \
            highest, groups: [{group, decided, passed, rate, impact_ratio, flagged, pending, \
            median_wait_days, wait_flagged}]}]}], flags: [{segment, step, group, rate, \
            impact_ratio, decided, highest}], wait_flags: [{segment, step, group, pending, \
            median_wait_days}]}`. A step's rate counts only people decided there: someone \
            pending is in neither part, and is counted in `pending` instead, with the median of \
            how many days those people have waited in their stage (`median_wait_days`, null when \
            no one waits). A group whose median wait is over twice the shortest group's (at least \
            a day) is `wait_flagged` when both have `fairness_min_group` people waiting."),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A parameter is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn fairness(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let q = query_of(&s, raw)?;
    let r = report::fairness(&s.db, &q.filter, s.settings.fairness_min_group).await?;
    Ok(Json(json!(r)))
}

/// Does the quiz predict good support? For agents who signed up in the range: Pearson's r
/// between their quiz score (overall, and per category of their best attempt) and their mean
/// weekly CSAT, mean QA score (imported with `onramp quality import`) and 90-day retention
/// (1 stayed, 0 left; only agents live 90 days or more ago), with n and a 95% confidence
/// interval (Fisher's z). Manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/reports/quality",
    params(
        ("market" = Option<String>, Query, description = "Two-letter country code (the agent's country); every market when absent", pattern = "^[A-Za-z]{2}$"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "First signup day, YYYY-MM-DD; default a year before `to`"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Last signup day, YYYY-MM-DD, not before `from`; default today"),
    ),
    responses(
        (status = 200, description = "`{market, from, to, agents, with_figures, relations: \
            [{predictor (quiz, category:<name>), outcome (csat, qa_score, retention_90), n, r, \
            ci_low, ci_high}]}`; r is null under 3 pairs, the interval under 4."),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A parameter is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn quality(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let q = query_of(&s, raw)?;
    let r = crate::usecases::quality::report(&s.db, &q.filter, s.db.now()).await?;
    Ok(Json(json!(r)))
}

/// A snapshot of a vendor's outsourced agents. The schema states every rule
/// `domain::reports::RawHeadcount::parse` applies.
pub struct HeadcountIn;

impl utoipa::PartialSchema for HeadcountIn {
    fn schema() -> RefOr<Schema> {
        headcount_in_schema().into()
    }
}

impl ToSchema for HeadcountIn {}

fn headcount_in_schema() -> Object {
    use crate::domain::iso;
    use crate::domain::reports::{HEADCOUNT_MAX, VENDOR_MAX};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "vendor",
            string()
                .min_length(Some(1))
                .max_length(Some(VENDOR_MAX))
                .pattern(Some(format!("^{NO_CONTROL}*{VISIBLE}{NO_CONTROL}*$")))
                .description(Some(
                    "The outsourcing vendor, 1–80 characters on one line (spaces at the ends \
                     are dropped).",
                )),
        )
        .property(
            "market",
            string()
                .enum_values(Some(iso::COUNTRIES.iter().map(|(c, _)| *c)))
                .description(Some("ISO 3166-1 alpha-2 (any case).")),
        )
        .property(
            "date",
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                .description(Some(
                    "YYYY-MM-DD, from 2000 and not after today (UTC). A second snapshot of \
                     the same vendor, market and date replaces the figure.",
                )),
        )
        .property(
            "headcount",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0.0))
                .maximum(Some(HEADCOUNT_MAX as f64))
                .description(Some(
                    "Agents the vendor staffs in the market; a negative number is refused.",
                )),
        )
        .required("vendor")
        .required("market")
        .required("date")
        .required("headcount")
        .build()
}

/// Record a snapshot of outsourced headcount. Manager and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/headcount",
    request_body = HeadcountIn,
    responses(
        (status = 201, description = "Stored: `{vendor, market, date, headcount}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A field is missing or wrong (a negative headcount names \
            `headcount`); nothing is stored", body = ErrorsOut),
    )
)]
pub async fn record_headcount(
    key: ApiKey,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let at = s.db.now();
    let snapshot = RawHeadcount::from_json(&value)
        .and_then(|raw| raw.parse(at.date_naive()))
        .map_err(AppError::Validation)?;
    report::record_headcount(
        &s.db,
        &key.actor(),
        std::slice::from_ref(&snapshot),
        "headcount",
        at,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(snapshot))).into_response())
}

/// Outsourced headcount snapshots in a range, oldest first. Manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/headcount",
    params(
        ("market" = Option<String>, Query, description = "Two-letter country code; every market when absent", pattern = "^[A-Za-z]{2}$"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "First day, YYYY-MM-DD; default a year before `to`"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Last day, YYYY-MM-DD, not before `from`; default today"),
    ),
    responses(
        (status = 200, description = "`{items: [{vendor, market, date, headcount, recorded_by, \
            recorded_at}]}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Manager and admin keys only", body = ErrorsOut),
        (status = 422, description = "A parameter is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn list_headcount(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let q = query_of(&s, raw)?;
    let market = q.filter.market.as_deref();
    let items: Vec<Value> = rows::headcount(&s.db, market, q.filter.from, q.filter.to)
        .await?
        .into_iter()
        .filter(|r| r.day >= q.filter.from)
        .map(|r| {
            json!({
                "vendor": r.vendor, "market": r.market, "date": r.day, "headcount": r.headcount,
                "recorded_by": r.recorded_by, "recorded_at": r.recorded_at,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
