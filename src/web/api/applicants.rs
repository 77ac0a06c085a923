//! The applicant list for integrations: the list page's filters as query parameters, keyset
//! paged, as JSON or streamed CSV.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::ApiKey;
use crate::store::applicants;
use crate::web::{form, listing, AppError, AppState};

fn filter(
    s: &AppState,
    query: Option<String>,
) -> Result<crate::domain::applicants::Filter, AppError> {
    listing::filter(&form::query(query), &s.pipeline()?).map_err(AppError::Validation)
}

#[utoipa::path(
    get,
    path = "/api/v1/applications",
    params(
        ("q" = Option<String>, Query, description = "Name or email: up to 5 words (100 characters); each must begin a word of the name, the address or its local part (case-insensitive)", max_length = 100),
        ("stage" = Option<String>, Query, description = "A stage id of the pipeline, e.g. `shortlisted`, `phone_screen`, `rejected`"),
        ("country" = Option<String>, Query, description = "Two-letter country code", pattern = "^[A-Za-z]{2}$"),
        ("language" = Option<String>, Query, description = "Two-letter language code the applicant speaks", pattern = "^[A-Za-z]{2}$"),
        ("area" = Option<String>, Query, description = "`rural`, `town` or `city`", pattern = "^(?i:rural|town|city)$"),
        ("student" = Option<bool>, Query, description = "`true` or `false`"),
        ("customer" = Option<bool>, Query, description = "`true` or `false`"),
        ("source" = Option<String>, Query, description = "`utm_source` exactly", max_length = 100),
        ("campaign" = Option<String>, Query, description = "`utm_campaign` exactly", max_length = 100),
        ("tag" = Option<String>, Query, description = "A tag the applicant has (matched lower-case)", max_length = 40, pattern = r"^[A-Za-z0-9 _-]*[A-Za-z0-9_-][A-Za-z0-9 _-]*$"),
        ("score_min" = Option<i64>, Query, description = "Lowest best quiz score, percent", minimum = 0, maximum = 100),
        ("score_max" = Option<i64>, Query, description = "Highest best quiz score, percent (not below score_min)", minimum = 0, maximum = 100),
        ("applied_from" = Option<chrono::NaiveDate>, Query, description = "First day applied, YYYY-MM-DD (UTC)"),
        ("applied_to" = Option<chrono::NaiveDate>, Query, description = "Last day applied, YYYY-MM-DD (UTC), inclusive"),
        ("stuck_days" = Option<i64>, Query, description = "In their stage for more than this many days", minimum = 1, maximum = 3650),
        ("stuck" = Option<bool>, Query, description = "`true`: only those in their stage longer than that stage's limit (`pipeline.idle_limits`, e.g. shortlisted 7 days); `false` or absent: no filter"),
        ("sort" = Option<String>, Query, description = "`applied_desc` (default), `applied_asc`, `score_desc`, `score_asc`, `name_asc` or `name_desc`", pattern = "^(applied_desc|applied_asc|score_desc|score_asc|name_asc|name_desc)$"),
        ("limit" = Option<i64>, Query, description = "Page size, default 50", minimum = 1, maximum = 500),
        ("after" = Option<String>, Query, description = "The `next` cursor of the previous page (same sort)"),
    ),
    responses(
        (status = 200, description = "`{items: [{id, full_name, email, phone, country, area, languages, weekly_hours, student, customer, source, campaign, stage, score, applied_at, stage_since, tags, possible_duplicate}], next: cursor|null}`"),
        (status = 401, description = "Missing or invalid API key", body = super::applications::ErrorsOut),
        (status = 403, description = "Intake keys may not read applicants", body = super::applications::ErrorsOut),
        (status = 422, description = "A parameter that cannot be read, named", body = super::applications::ErrorsOut),
    )
)]
pub async fn list(
    _key: ApiKey,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, AppError> {
    let f = filter(&s, query)?;
    let (rows, more) = applicants::page(&s.db, &f, s.db.now()).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let (tags, dups) = applicants::tags_and_duplicates(&s.db, &ids).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let t = tags.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            listing::item(r, t, dups.contains(&r.id))
        })
        .collect();
    let next = more
        .then(|| rows.last().map(|r| r.cursor(f.sort).encode()))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

#[utoipa::path(
    get,
    path = "/api/v1/applications.csv",
    params(
        ("q" = Option<String>, Query, description = "As for `GET /api/v1/applications`; every filter and `sort` apply, `limit` and `after` do not", max_length = 100),
    ),
    responses(
        (status = 200, description = "Every matching applicant as CSV (streamed), with a header row. Cells that start with `=`, `+`, `-`, `@`, a tab or a carriage return begin with `'`", content_type = "text/csv"),
        (status = 401, description = "Missing or invalid API key", body = super::applications::ErrorsOut),
        (status = 403, description = "Intake keys may not read applicants", body = super::applications::ErrorsOut),
        (status = 422, description = "A parameter that cannot be read, named", body = super::applications::ErrorsOut),
    )
)]
pub async fn csv(
    key: ApiKey,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let f = filter(&s, query)?;
    Ok(listing::csv_export(&s.db, &s.metrics, &key.actor(), f).await?)
}
