//! Pilot cohorts by API, for the workforce team's scripts: make one, read one with its
//! checklist. Recruiter and admin keys.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use uuid::Uuid;

use super::applications::{application_id, nullable, string, ErrorsOut, NO_CONTROL, VISIBLE};
use super::ApiKey;
use crate::domain::cohorts::{parse_cohort, CohortStatus};
use crate::store::cohorts::{CohortRow, ItemRow, MemberRow, TickRow};
use crate::usecases::cohorts::{self, CreateFailure, OfferFailure, OfferOutcome};
use crate::usecases::onboarding::{self, Step, StepFailure, Ticker};
use crate::web::form;
use crate::web::{AppError, AppState};

/// A cohort request. The schema states every rule `domain::cohorts::parse_cohort` applies.
pub struct CohortIn;

impl utoipa::PartialSchema for CohortIn {
    fn schema() -> RefOr<Schema> {
        cohort_in_schema().into()
    }
}

impl ToSchema for CohortIn {}

fn cohort_in_schema() -> Object {
    use crate::domain::cohorts::{CAPACITY_MAX, CAPACITY_MIN, NAME_MAX, NAME_MIN};
    use crate::domain::iso;
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "name",
            string()
                .min_length(Some(NAME_MIN))
                .max_length(Some(NAME_MAX))
                .pattern(Some(format!("^{VISIBLE}{NO_CONTROL}*{VISIBLE}$")))
                .description(Some(
                    "2–80 characters on one line, not starting or ending with a space; unique.",
                )),
        )
        .property(
            "market",
            string()
                .enum_values(Some(iso::COUNTRIES.iter().map(|(c, _)| *c)))
                .description(Some("ISO 3166-1 alpha-2: the country the agents serve.")),
        )
        .property(
            "language",
            string()
                .enum_values(Some(iso::LANGUAGES.iter().map(|(c, _)| *c)))
                .description(Some(
                    "ISO 639-1: the language the agents support customers in.",
                )),
        )
        .property(
            "start_date",
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                .description(Some(
                    "YYYY-MM-DD. The cohort is `planned` before it and `onboarding` from it; \
                     agents can be activated from it.",
                )),
        )
        .property(
            "capacity",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(CAPACITY_MIN as f64))
                .maximum(Some(CAPACITY_MAX as f64))
                .description(Some("Seats: accepted offers never exceed it.")),
        )
        .property(
            "owner_email",
            ObjectBuilder::new()
                .schema_type(nullable(Type::String))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(254))
                .pattern(Some(crate::domain::email::EMAIL_PATTERN))
                .description(Some(
                    "An active recruiter's or admin's address. Without it the cohort has no \
                     owner until a recruiter takes it.",
                )),
        )
        .property(
            "waitlist",
            ObjectBuilder::new()
                .schema_type(nullable(Type::Boolean))
                .description(Some(
                    "Whether an accept that finds the cohort full joins its waitlist \
                     (default false: it is refused).",
                )),
        )
        .required("name")
        .required("market")
        .required("language")
        .required("start_date")
        .required("capacity")
        .build()
}

const NO_COHORT: &str = "No cohort has this id.";

fn cohort_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::NotFound(NO_COHORT))
}

fn item_json(i: &ItemRow) -> Value {
    json!({
        "key": i.key, "label": i.label, "required": i.required, "ticked_by": i.ticked_by,
        "records": i.records,
    })
}

/// A checklist with one member's ticks: each item, whether it is done, and its figure.
fn checklist_json(items: &[ItemRow], ticks: &[&TickRow]) -> Vec<Value> {
    items
        .iter()
        .map(|i| {
            let t = ticks.iter().find(|t| t.item_key == i.key);
            json!({
                "key": i.key, "required": i.required, "done": t.is_some(),
                "value": t.and_then(|t| t.value), "done_at": t.map(|t| t.done_at),
                "done_by": t.map(|t| &t.done_by),
            })
        })
        .collect()
}

fn member_json(m: &MemberRow, items: &[ItemRow], ticks: &[TickRow]) -> Value {
    let mine: Vec<&TickRow> = ticks
        .iter()
        .filter(|t| t.application_id == m.application_id)
        .collect();
    json!({
        "application_id": m.application_id, "full_name": m.full_name, "email": m.email,
        "stage": m.stage, "offer": m.offer_status, "offer_expires_at": m.expires_at,
        "answered_at": m.decided_at, "went_live_at": m.went_live_at,
        "checklist": checklist_json(items, &mine),
    })
}

/// A cohort as the API shows it; `status` on `today` in UTC.
fn cohort_json(
    c: &CohortRow,
    checklist: &[ItemRow],
    members: &[MemberRow],
    ticks: &[TickRow],
    today: chrono::NaiveDate,
) -> Value {
    let status = CohortStatus::of(c.start_date, c.marked.as_deref(), today);
    json!({
        "id": c.id,
        "name": c.name,
        "market": c.market,
        "language": c.language,
        "start_date": c.start_date,
        "capacity": c.capacity,
        "seats_taken": c.seats_taken,
        "seats_free": c.capacity - c.seats_taken,
        "owner_email": c.owner_email,
        "waitlist": c.waitlist,
        "status": status.as_str(),
        "checklist": checklist.iter().map(item_json).collect::<Vec<_>>(),
        "members": members
            .iter()
            .map(|m| member_json(m, checklist, ticks))
            .collect::<Vec<_>>(),
        "created_at": c.created_at,
    })
}

/// Make a pilot cohort; its onboarding checklist is copied from the default template.
/// Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/cohorts",
    request_body = CohortIn,
    responses(
        (status = 201, description = "Made: the cohort as `GET /api/v1/cohorts/{id}` shows it; \
            `Location` names it"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 422, description = "A field is missing or wrong, the name is taken, or the \
            owner is not an active recruiter; `errors` names each field", body = ErrorsOut),
    )
)]
pub async fn create(
    key: ApiKey,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let new = parse_cohort(&value).map_err(AppError::Validation)?;
    let at = s.db.now();
    let cohort = match cohorts::create(&s.db, &key.actor(), None, &new, at).await {
        Ok(c) => c,
        Err(CreateFailure::Invalid(errors)) => return Err(AppError::Validation(errors)),
        Err(CreateFailure::Store(e)) => return Err(e.into()),
    };
    let checklist = crate::store::cohorts::checklist(&s.db, cohort.id).await?;
    let location = format!("/api/v1/cohorts/{}", cohort.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(cohort_json(
            &cohort,
            &checklist,
            &[],
            &[],
            s.db.now().date_naive(),
        )),
    )
        .into_response())
}

/// One cohort: its seats, status, checklist, and everyone offered a seat with their offer's
/// state. Recruiter, manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/cohorts/{id}",
    params(("id" = Uuid, Path, description = "Cohort id")),
    responses(
        (status = 200, description = "`{id, name, market, language, start_date, capacity, \
            seats_taken, seats_free, owner_email, waitlist, status, checklist: [{key, label, \
            required, ticked_by, records}], members: [{application_id, full_name, email, stage, \
            offer (pending, accepted, declined, expired, waitlisted), offer_expires_at, \
            answered_at, went_live_at, checklist: [{key, required, done, value, done_at, \
            done_by}]}], created_at}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 404, description = "No such cohort"),
    )
)]
pub async fn get_one(
    _key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = cohort_id(&id)?;
    let (cohort, checklist, members) = cohorts::read(&s.db, id)
        .await?
        .ok_or(AppError::NotFound(NO_COHORT))?;
    let ticks = crate::store::cohorts::ticks_of_cohort(&s.db, id).await?;
    Ok(Json(cohort_json(
        &cohort,
        &checklist,
        &members,
        &ticks,
        s.db.now().date_naive(),
    )))
}

/// The applicants to offer seats to.
#[derive(serde::Deserialize, ToSchema)]
pub struct OffersIn {
    /// 1 to 500 application ids; each is offered a seat or reported with why not.
    #[schema(min_items = 1, max_items = 500)]
    pub application_ids: Vec<Uuid>,
}

/// How many applicants one offer request may name.
pub const OFFERS_MAX: usize = 500;

/// Offer seats of a cohort. Each applicant on the shortlist or in a review stage, with no open
/// offer and no seat, moves to `offered` and gets the offer email, whose accept and decline links
/// stay open for `offer_ttl`. An offer holds no seat: the first to accept take them. Recruiter
/// and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/cohorts/{id}/offers",
    params(("id" = Uuid, Path, description = "Cohort id")),
    request_body = OffersIn,
    responses(
        (status = 200, description = "`{offered: n, results: [{application_id, offered: true, \
            offer_id} | {application_id, offered: false, reason}]}`, in the order asked"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such cohort"),
        (status = 422, description = "`application_ids` missing, empty, too long or not ids",
            body = ErrorsOut),
    )
)]
pub async fn create_offers(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let ids = application_ids(&value).map_err(|m| AppError::field("application_ids", m))?;
    let cohort_id = cohort_id(&id)?;
    let pipeline = s.pipeline()?;
    let results = cohorts::offer(
        &s.db,
        &s.settings,
        &pipeline,
        &key.actor(),
        cohort_id,
        &ids,
        s.db.now(),
    )
    .await
    .map_err(|e| match e {
        OfferFailure::NoCohort => AppError::NotFound(NO_COHORT),
        OfferFailure::Closed => AppError::refused("cohort", cohorts::CLOSED),
        OfferFailure::Store(e) => e.into(),
    })?;
    let offered = results
        .iter()
        .filter(|(_, o)| matches!(o, OfferOutcome::Offered { .. }))
        .count();
    let results: Vec<Value> = results
        .iter()
        .map(|(id, o)| match o {
            OfferOutcome::Offered { offer_id } => {
                json!({ "application_id": id, "offered": true, "offer_id": offer_id })
            }
            OfferOutcome::Refused(why) => {
                json!({ "application_id": id, "offered": false, "reason": why })
            }
        })
        .collect();
    Ok(Json(json!({ "offered": offered, "results": results })))
}

/// `application_ids`: 1 to `OFFERS_MAX` ids.
fn application_ids(body: &Value) -> Result<Vec<Uuid>, String> {
    let list = body
        .get("application_ids")
        .and_then(Value::as_array)
        .ok_or("Give application_ids as a list of application ids.")?;
    if list.is_empty() || list.len() > OFFERS_MAX {
        return Err(format!(
            "Give 1 to {OFFERS_MAX} application ids (this list has {}).",
            list.len()
        ));
    }
    list.iter()
        .enumerate()
        .map(|(n, v)| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("Item {} is not an application id.", n + 1))
        })
        .collect()
}

impl From<StepFailure> for AppError {
    fn from(e: StepFailure) -> Self {
        match e {
            StepFailure::NotFound(m) => AppError::NotFound(m),
            StepFailure::Invalid(errors) => AppError::Validation(errors),
            StepFailure::Refused(errors) => AppError::Refused(errors),
            StepFailure::Store(e) => e.into(),
        }
    }
}

/// A checklist tick.
#[derive(serde::Deserialize, ToSchema)]
pub struct TickIn {
    /// Done (true) or not done (false).
    pub done: bool,
    /// For an item that records it (the equipment check), the measured bandwidth in Mbit/s,
    /// above 0 and at most 10,000; needed to tick it.
    #[schema(exclusive_minimum = 0.0, maximum = 10000.0)]
    pub bandwidth_mbps: Option<f64>,
}

/// Tick or untick an item of a cohort member's onboarding checklist. Recruiter and admin keys
/// may tick any item.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/checklist/{item}",
    params(
        ("id" = Uuid, Path, description = "Application id"),
        ("item" = String, Path, description = "The item's key, e.g. `contract_signed`"),
    ),
    request_body = TickIn,
    responses(
        (status = 200, description = "`{application_id, checklist: [{key, required, done, value, \
            done_at, done_by}]}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application, no seat in a cohort, or no such item"),
        (status = 422, description = "`done` missing or not true/false, or `bandwidth_mbps` \
            missing or out of range for the equipment check", body = ErrorsOut),
    )
)]
pub async fn tick(
    key: ApiKey,
    State(s): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let done = value
        .get("done")
        .and_then(Value::as_bool)
        .ok_or_else(|| AppError::field("done", "Give done as true or false."))?;
    let bandwidth = match value.get("bandwidth_mbps") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_f64().ok_or_else(|| {
            AppError::field(
                "bandwidth_mbps",
                "Give the bandwidth as a number of Mbit/s.",
            )
        })?),
    };
    let id = application_id(&id)?;
    let (items, ticks) = onboarding::tick(
        &s.db,
        Ticker::Staff(&key.actor()),
        id,
        &item,
        done,
        bandwidth,
        s.db.now(),
    )
    .await?;
    let mine: Vec<&TickRow> = ticks.iter().collect();
    Ok(Json(
        json!({ "application_id": id, "checklist": checklist_json(&items, &mine) }),
    ))
}

/// A reason for pausing, resuming or offboarding an agent.
#[derive(serde::Deserialize, ToSchema)]
pub struct ReasonIn {
    /// 1 to 500 characters, not only spaces.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

async fn step(
    key: &ApiKey,
    s: &AppState,
    id: &str,
    step: Step,
    reason: Option<&str>,
) -> Result<Json<Value>, AppError> {
    let id = application_id(id)?;
    let pipeline = s.pipeline()?;
    let stage =
        onboarding::take(&s.db, &pipeline, &key.actor(), id, step, reason, s.db.now()).await?;
    Ok(Json(json!({ "id": id, "stage": stage })))
}

async fn step_with_reason(
    key: ApiKey,
    s: AppState,
    id: String,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    which: Step,
) -> Result<Json<Value>, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let reason = onboarding::parse_reason(value.get("reason").and_then(Value::as_str))
        .map_err(AppError::Validation)?;
    step(&key, &s, &id, which, Some(&reason)).await
}

/// Activate a cohort member: their stage becomes `live` and `went_live_at` is recorded, and the
/// activation email is queued. Needs the onboarding stage, the cohort's start date reached and
/// every required checklist item done. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/activate",
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "`{id, stage: \"live\"}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application, or no seat in a cohort"),
        (status = 409, description = "Not allowed now, and why: `checklist` (e.g. \"2 required \
            checklist items are not done: …\"), `start_date` or `stage`", body = ErrorsOut),
    )
)]
pub async fn activate(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    step(&key, &s, &id, Step::Activate, None).await
}

/// Pause a live agent: they stop counting as headcount until resumed. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/pause",
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "`{id, stage: \"paused\"}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application, or no seat in a cohort"),
        (status = 409, description = "The agent is not live", body = ErrorsOut),
        (status = 422, description = "`reason` missing, empty or too long", body = ErrorsOut),
    )
)]
pub async fn pause(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    step_with_reason(key, s, id, headers, body, Step::Pause).await
}

/// Resume a paused agent. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/resume",
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "`{id, stage: \"live\"}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application, or no seat in a cohort"),
        (status = 409, description = "The agent is not paused", body = ErrorsOut),
        (status = 422, description = "`reason` missing, empty or too long", body = ErrorsOut),
    )
)]
pub async fn resume(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    step_with_reason(key, s, id, headers, body, Step::Resume).await
}

/// Offboard a live or paused agent (final), and queue the offboarding email. Recruiter and
/// admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/offboard",
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = ReasonIn,
    responses(
        (status = 200, description = "`{id, stage: \"offboarded\"}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application, or no seat in a cohort"),
        (status = 409, description = "The agent is neither live nor paused", body = ErrorsOut),
        (status = 422, description = "`reason` missing, empty or too long", body = ErrorsOut),
    )
)]
pub async fn offboard(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    step_with_reason(key, s, id, headers, body, Step::Offboard).await
}

/// Every cohort, newest start first, without members. Recruiter, manager and admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/cohorts",
    responses(
        (status = 200, description = "`{items: [cohort as GET /api/v1/cohorts/{id}, with empty \
            checklist and members]}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Intake keys may not read cohorts", body = ErrorsOut),
    )
)]
pub async fn list(_key: ApiKey, State(s): State<AppState>) -> Result<Json<Value>, AppError> {
    let today = s.db.now().date_naive();
    let items: Vec<Value> = crate::store::cohorts::list(&s.db)
        .await?
        .iter()
        .map(|c| cohort_json(c, &[], &[], &[], today))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// A recruiter's marking of a cohort.
#[derive(serde::Deserialize, ToSchema)]
pub struct StatusIn {
    /// `live` (from the start date, once) or `closed` (from any status but closed; a closed
    /// cohort takes no more offers or accepts).
    #[schema(pattern = "^(live|closed)$")]
    pub status: String,
}

/// Mark a cohort `live` or `closed`. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/cohorts/{id}/status",
    params(("id" = Uuid, Path, description = "Cohort id")),
    request_body = StatusIn,
    responses(
        (status = 200, description = "The cohort as `GET /api/v1/cohorts/{id}` shows it"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such cohort"),
        (status = 409, description = "The cohort's status does not allow it (`status` says \
            why: before the start date, already live, closed)", body = ErrorsOut),
        (status = 422, description = "`status` is not `live` or `closed`", body = ErrorsOut),
    )
)]
pub async fn set_status(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let to = match value.get("status").and_then(Value::as_str) {
        Some(t @ ("live" | "closed")) => t.to_string(),
        _ => return Err(AppError::field("status", "Give status as live or closed.")),
    };
    let id = cohort_id(&id)?;
    cohorts::mark(&s.db, &key.actor(), id, &to, s.db.now())
        .await
        .map_err(mark_error)?;
    get_one(key, State(s), Path(id.to_string())).await
}

pub fn mark_error(e: cohorts::MarkFailure) -> AppError {
    match e {
        cohorts::MarkFailure::NoCohort => AppError::NotFound(NO_COHORT),
        cohorts::MarkFailure::Refused(why) => AppError::refused("status", why),
        cohorts::MarkFailure::Store(e) => e.into(),
    }
}

/// Activate every member in onboarding whose required checklist is done, from the cohort's
/// start date; the others are reported with why. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/cohorts/{id}/activate",
    params(("id" = Uuid, Path, description = "Cohort id")),
    responses(
        (status = 200, description = "`{activated: [application_id], not_ready: \
            [{application_id, reason}]}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such cohort"),
    )
)]
pub async fn activate_ready(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id = cohort_id(&id)?;
    if crate::store::cohorts::get(&s.db, id).await?.is_none() {
        return Err(AppError::NotFound(NO_COHORT));
    }
    let pipeline = s.pipeline()?;
    let done = cohorts::activate_ready(&s.db, &pipeline, &key.actor(), id, s.db.now()).await?;
    Ok(Json(json!({
        "activated": done.live,
        "not_ready": done.not_ready.iter().map(|(id, why)| json!({
            "application_id": id, "reason": why,
        })).collect::<Vec<_>>(),
    })))
}
