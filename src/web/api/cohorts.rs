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

use super::applications::{nullable, string, ErrorsOut, NO_CONTROL, VISIBLE};
use super::ApiKey;
use crate::domain::cohorts::{parse_cohort, CohortStatus};
use crate::domain::now;
use crate::store::cohorts::{CohortRow, ItemRow, MemberRow};
use crate::usecases::cohorts::{self, CreateFailure, OfferFailure, OfferOutcome};
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

fn item_json(i: &ItemRow) -> Value {
    json!({
        "key": i.key, "label": i.label, "required": i.required, "ticked_by": i.ticked_by,
        "records": i.records,
    })
}

fn member_json(m: &MemberRow) -> Value {
    json!({
        "application_id": m.application_id, "full_name": m.full_name, "email": m.email,
        "stage": m.stage, "offer": m.offer_status, "offer_expires_at": m.expires_at,
        "answered_at": m.decided_at,
    })
}

/// A cohort as the API shows it; `status` on `today` in UTC.
fn cohort_json(c: &CohortRow, checklist: &[ItemRow], members: &[MemberRow]) -> Value {
    let status = CohortStatus::of(c.start_date, c.marked.as_deref(), now().date_naive());
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
        "members": members.iter().map(member_json).collect::<Vec<_>>(),
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
    let at = now();
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
        Json(cohort_json(&cohort, &checklist, &[])),
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
            answered_at}], created_at}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 404, description = "No such cohort"),
    )
)]
pub async fn get_one(
    _key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| AppError::NotFound("No cohort has this id."))?;
    let (cohort, checklist, members) = cohorts::read(&s.db, id)
        .await?
        .ok_or(AppError::NotFound("No cohort has this id."))?;
    Ok(Json(cohort_json(&cohort, &checklist, &members)))
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
        (status = 409, description = "The cohort is closed", body = ErrorsOut),
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
    let cohort_id: Uuid = id
        .parse()
        .map_err(|_| AppError::NotFound("No cohort has this id."))?;
    let pipeline = s.pipeline()?;
    let results = cohorts::offer(
        &s.db,
        &s.settings,
        &pipeline,
        &key.actor(),
        cohort_id,
        &ids,
        now(),
    )
    .await
    .map_err(|e| match e {
        OfferFailure::NoCohort => AppError::NotFound("No cohort has this id."),
        OfferFailure::Refused(m) => {
            let mut errors = crate::domain::FieldErrors::new();
            crate::domain::add_error(&mut errors, "cohort", m);
            AppError::Refused(errors)
        }
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
