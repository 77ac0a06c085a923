use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiKey;
use crate::domain::application::RawApplication;
use crate::domain::pipeline::MoveError;
use crate::domain::staff::KeyRole;
use crate::store::applications;
use crate::usecases::intake::Channel;
use crate::usecases::pipeline::{self, MoveFailure};
use crate::web::form;
use crate::web::{AppError, AppState};

/// The signup form's fields, as JSON. The schema states every rule the validator applies (see
/// `application_in_schema`), so a body that fits the schema is accepted.
pub struct ApplicationIn;

impl utoipa::PartialSchema for ApplicationIn {
    fn schema() -> RefOr<Schema> {
        application_in_schema().into()
    }
}

impl ToSchema for ApplicationIn {}

/// No control characters (they are dropped, and a name of only those would be empty).
pub(super) const NO_CONTROL: &str = r"[^\u0000-\u001f\u007f-\u009f]";
/// What `domain::application::looks_like_a_link` refuses, as lookaheads.
const NAME_NOT_LINK: &str = r"(?!.*[@/\\])(?!.*\.[A-Za-z]{2})";
/// Neither control characters nor white space.
pub(super) const VISIBLE: &str = r"[^\s\u0000-\u001f\u007f-\u009f]";

/// `+`, a country code and number: 8 to 15 digits, the first not 0, with spaces, dots, dashes or
/// brackets between them if you like.
pub const PHONE_PATTERN: &str = r"^(\+[ ().-]*[1-9]([ ().-]*[0-9]){7,14}[ ().-]*)?$";

pub(super) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

pub(super) fn nullable(t: Type) -> SchemaType {
    SchemaType::from_iter([t, Type::Null])
}

fn application_in_schema() -> Object {
    use crate::domain::application::{
        Area, FULL_NAME_MAX, FULL_NAME_MIN, MAX_LANGUAGES, MOTIVATION_MAX, TRACKING_MAX,
        WEEKLY_HOURS_MAX, WEEKLY_HOURS_MIN,
    };
    use crate::domain::iso;
    let tracking = || {
        ObjectBuilder::new()
            .schema_type(nullable(Type::String))
            .max_length(Some(TRACKING_MAX))
            .pattern(Some(format!("^{VISIBLE}*$")))
            .description(Some(
                "Campaign code from the link the applicant came by: no spaces.",
            ))
    };
    let flag = |what: &str| {
        ObjectBuilder::new()
            .schema_type(nullable(Type::Boolean))
            .description(Some(what))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "full_name",
            string()
                .min_length(Some(FULL_NAME_MIN as usize))
                .max_length(Some(FULL_NAME_MAX as usize))
                .pattern(Some(format!(
                    "^{NAME_NOT_LINK}{NO_CONTROL}*{VISIBLE}{NO_CONTROL}*{VISIBLE}{NO_CONTROL}*$"
                )))
                .description(Some(
                    "2–100 characters, at least two of them not spaces; no @, / or \\, and no \
                     dot followed by two letters (nothing that reads as a web or email address).",
                )),
        )
        .property(
            "email",
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(254))
                .pattern(Some(crate::domain::email::EMAIL_PATTERN))
                .description(Some(
                    "Where the confirmation link goes. Case and spaces at either end are ignored; \
                     an address we already have returns that application (200).",
                )),
        )
        .property(
            "phone",
            ObjectBuilder::new()
                .schema_type(nullable(Type::String))
                .pattern(Some(PHONE_PATTERN))
                .description(Some(
                    "Optional; international format, e.g. `+46 70 174 06 90`.",
                )),
        )
        .property(
            "country",
            string()
                .enum_values(Some(iso::COUNTRIES.iter().map(|(c, _)| *c)))
                .description(Some(
                    "ISO 3166-1 alpha-2, the country the applicant lives in.",
                )),
        )
        .property(
            "area",
            string().enum_values(Some(Area::ALL.iter().map(|a| a.as_str()))),
        )
        .property(
            "languages",
            ArrayBuilder::new()
                .items(string().enum_values(Some(iso::LANGUAGES.iter().map(|(c, _)| *c))))
                .min_items(Some(1))
                .max_items(Some(MAX_LANGUAGES))
                .description(Some(
                    "ISO 639-1 codes the applicant can support customers in.",
                )),
        )
        .property(
            "weekly_hours",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(WEEKLY_HOURS_MIN as f64))
                .maximum(Some(WEEKLY_HOURS_MAX as f64))
                .description(Some(
                    "Hours a week the applicant can work. Each market has its own minimum (see \
                     the screening rules); below it the application is waitlisted, not refused.",
                )),
        )
        .property("student", flag("The applicant is a student."))
        .property("customer", flag("The applicant uses the product."))
        .property(
            "adult",
            flag("The applicant confirms the minimum age; without it the application is rejected."),
        )
        .property(
            "equipment",
            flag("The applicant has a headset and a stable connection."),
        )
        .property(
            "motivation",
            ObjectBuilder::new()
                .schema_type(nullable(Type::String))
                .max_length(Some(MOTIVATION_MAX as usize))
                .description(Some("Optional, at most 2,000 characters.")),
        )
        .property(
            "consent",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([true]))
                .description(Some(
                    "Must be true: the applicant accepted the privacy notice.",
                )),
        )
        .property("utm_source", tracking())
        .property("utm_campaign", tracking())
        .property("ref", tracking())
        .required("full_name")
        .required("email")
        .required("country")
        .required("area")
        .required("languages")
        .required("weekly_hours")
        .required("consent")
        .description(Some(
            "An application. Unknown fields are ignored. Text is trimmed and runs of spaces \
             collapsed before the limits apply.",
        ))
        .build()
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
    /// The stage: a screening outcome for a new application; for a repeat, wherever the
    /// existing one stands (a pipeline stage id, configured review stages included).
    #[schema(example = "applied")]
    pub status: String,
}

/// `{"errors": {"field": ["message", …]}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorsOut {
    pub errors: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ScreeningOut {
    pub rule: String,
    /// `pass`, `waitlisted` or `rejected`.
    pub outcome: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationOut {
    pub id: Uuid,
    /// The stage id: `applied`, `verified`, `waitlisted`, `rejected`, `quiz_passed`,
    /// `quiz_failed`, `shortlisted`, a configured review stage, `offered`, `onboarding`, `live`,
    /// `paused`, `on_hold`, `withdrawn` or `offboarded`.
    pub status: String,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub country: String,
    pub area: String,
    pub languages: Vec<String>,
    pub weekly_hours: i64,
    pub student: bool,
    pub customer: bool,
    pub adult: bool,
    pub equipment: bool,
    pub motivation: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    #[serde(rename = "ref")]
    #[schema(rename = "ref")]
    pub ref_code: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the agent went live the first time; null until then.
    pub went_live_at: Option<DateTime<Utc>>,
    pub screening: Vec<ScreeningOut>,
}

/// Submit an application. A repeat for an email we already have returns the existing one.
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    request_body = ApplicationIn,
    responses(
        (status = 201, description = "Application created (recruiter, manager and admin keys)", body = Created),
        (status = 200, description = "An application with this email exists (recruiter, manager and admin keys)", body = Created),
        (status = 202, description = "Accepted, `{\"accepted\": true}`: every create by an intake key, new address or not, so a careers site's key cannot tell who has applied"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 429, description = "Too many calls from this address; see Retry-After"),
        (status = 413, description = "Body too large", body = ErrorsOut),
        (status = 415, description = "Not JSON", body = ErrorsOut),
        (status = 422, description = "Invalid fields", body = ErrorsOut),
    )
)]
pub async fn create(
    key: ApiKey,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let (raw, mut errors) = RawApplication::from_json(&value);
    let app = match raw.parse() {
        Ok(app) if errors.is_empty() => app,
        Ok(_) => return Err(AppError::Validation(errors)),
        Err(more) => {
            // A field with the wrong JSON type is reported once, by its type error.
            for (field, msgs) in more {
                errors.entry(field).or_insert(msgs);
            }
            return Err(AppError::Validation(errors));
        }
    };
    let done = s.intake.submit(app, Channel::Api).await?;
    if key.role == KeyRole::Intake {
        // An intake key (a careers site's) must not learn who has applied: new or a repeat,
        // the answer is the same, with no id.
        return Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response());
    }
    let code = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        code,
        Json(Created {
            id: done.id,
            status: done.status,
        }),
    )
        .into_response())
}

/// One application, with the result of each screening rule.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}",
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, body = ApplicationOut),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Intake keys may not read applicants", body = ErrorsOut),
        (status = 404, description = "No such application"),
    )
)]
pub async fn get_one(
    _key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ApplicationOut>, AppError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| AppError::NotFound("No application has this id."))?;
    let a = applications::get(&s.db, id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => AppError::NotFound("No application has this id."),
        other => other.into(),
    })?;
    let screening = applications::screening(&s.db, id)
        .await?
        .into_iter()
        .map(|r| ScreeningOut {
            rule: r.rule_id,
            outcome: r.outcome,
            reason: r.reason,
        })
        .collect();
    Ok(Json(ApplicationOut {
        id: a.id,
        status: a.status.clone(),
        full_name: a.full_name,
        email: a.email,
        phone: a.phone,
        country: a.country,
        area: a.area,
        languages: a.languages.split(',').map(str::to_string).collect(),
        weekly_hours: a.weekly_hours,
        student: a.student,
        customer: a.customer,
        adult: a.adult,
        equipment: a.equipment,
        motivation: a.motivation,
        utm_source: a.utm_source,
        utm_campaign: a.utm_campaign,
        ref_code: a.ref_code,
        email_verified_at: a.email_verified_at,
        created_at: a.created_at,
        went_live_at: a.went_live_at,
        screening,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::looks_like_a_link;

    /// The published `full_name` pattern refuses exactly the names the validator refuses as
    /// links (names here are otherwise valid).
    #[test]
    fn the_name_pattern_agrees_with_the_link_rule() {
        let pattern = fancy_regex::Regex::new(&format!(
            "^{NAME_NOT_LINK}{NO_CONTROL}*{VISIBLE}{NO_CONTROL}*{VISIBLE}{NO_CONTROL}*$"
        ))
        .unwrap();
        for name in [
            "Ana Lind",
            "J.R.R. Tolkien",
            "St. John",
            "Ana-Marie O'Neil",
            "Åsa Ek",
            "Ana, URGENT: pay now",
            "Ana, URGENT: evil.example/pay",
            "Ana ana@evil.example",
            r"Ana http:\\evil",
            "Ana www.evil.se",
            "Ana evil.se",
            "A.b",
            "a.bc",
        ] {
            let refused_by_pattern = !pattern.is_match(name).unwrap();
            assert_eq!(refused_by_pattern, looks_like_a_link(name), "{name}");
        }
    }
}

/// A move to another stage.
#[derive(Deserialize, ToSchema)]
pub struct MoveIn {
    /// The stage to move to: `shortlisted`, a configured review stage, `offered`,
    /// `onboarding`, `live`, `paused`, `on_hold`, `rejected`, `withdrawn` or `offboarded`.
    #[schema(example = "shortlisted")]
    pub to: String,
    /// Required for `rejected`: one of the configured reasons.
    pub reason: Option<String>,
    /// An email to send the applicant with the move, through the outbox in the same
    /// transaction: `stage_update`, or `application_declined` (only with `rejected`).
    #[schema(pattern = "^(stage_update|application_declined)$")]
    pub template: Option<String>,
}

/// The move made.
#[derive(Serialize, ToSchema)]
pub struct MoveOut {
    pub id: Uuid,
    /// The stage it came from.
    pub from: String,
    /// The stage it is in now.
    pub stage: String,
}

/// Move an application to another stage. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/moves",
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = MoveIn,
    responses(
        (status = 200, description = "Moved", body = MoveOut),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "The key's role may not move applicants (recruiter or admin only)", body = ErrorsOut),
        (status = 404, description = "No such application"),
        (status = 409, description = "The pipeline has no such move from the current stage; `errors.to` says why", body = ErrorsOut),
        (status = 422, description = "No such stage (`to`), a rejection without a listed reason (`reason`), or an email that is not one of the move emails (`template`)", body = ErrorsOut),
    )
)]
pub async fn create_move(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MoveOut>, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let to = match value.get("to") {
        Some(serde_json::Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            return Err(AppError::field(
                "to",
                "Name the stage to move to, like \"shortlisted\".",
            ))
        }
    };
    let reason = match value.get("reason") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(r)) => Some(r.clone()),
        Some(_) => return Err(AppError::field("reason", "Give the reason as text.")),
    };
    let template = match value.get("template") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(t)) => Some(t.clone()),
        Some(_) => {
            return Err(AppError::field(
                "template",
                "Give the email's name as text.",
            ))
        }
    };
    pipeline::check_template(template.as_deref(), &to)
        .map_err(|m| AppError::field("template", m))?;
    let id = application_id(&id)?;
    let pipeline = s.pipeline()?;
    let done = pipeline::move_application(
        &s.db,
        &pipeline,
        &key.actor(),
        id,
        &to,
        reason.as_deref(),
        template.as_deref(),
    )
    .await;
    match done {
        Ok(m) => {
            s.metrics.moved(&m.to, 1);
            Ok(Json(MoveOut {
                id,
                from: m.from,
                stage: m.to,
            }))
        }
        Err(MoveFailure::Refused(e)) => {
            let (field, message) = e.field_and_message(pipeline.reject_reasons());
            let mut errors = crate::domain::FieldErrors::new();
            crate::domain::add_error(&mut errors, field, message);
            Err(match e {
                MoveError::NotAllowed(_) => AppError::Refused(errors),
                _ => AppError::Validation(errors),
            })
        }
        Err(other) => Err(other.into()),
    }
}

impl From<MoveFailure> for AppError {
    fn from(e: MoveFailure) -> Self {
        match e {
            MoveFailure::NotFound => AppError::NotFound("No application has this id."),
            MoveFailure::Store(e) => e.into(),
            MoveFailure::Refused(e) => {
                let (field, message) = e.field_and_message(&[]);
                AppError::field(field, message)
            }
        }
    }
}

/// A note for the applicant's timeline.
#[derive(Deserialize, ToSchema)]
pub struct NoteIn {
    /// 1 to 5,000 characters; shown escaped.
    #[schema(min_length = 1, max_length = 5000)]
    pub body: String,
}

/// Add a note to an application's timeline. Recruiter and admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/notes",
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = NoteIn,
    responses(
        (status = 201, description = "Added"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "The key's role may not add notes (recruiter or admin only)", body = ErrorsOut),
        (status = 404, description = "No such application"),
        (status = 422, description = "`body` missing, empty or too long", body = ErrorsOut),
    )
)]
pub async fn create_note(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let raw = value.get("body").and_then(|t| t.as_str()).unwrap_or("");
    let text =
        crate::domain::application::parse_note(raw).map_err(|m| AppError::field("body", m))?;
    let id = application_id(&id)?;
    pipeline::add_note(&s.db, &key.actor(), id, &text).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// Everything that happened to an application, oldest first: signup, screening, emails with
/// their state, quiz, moves with who made them and why, notes.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}/timeline",
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "`{items: [{at, kind, actor, detail}]}`; emails have kind \
            `email` and detail `{template, status, error, sent_at}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Intake keys may not read applicants", body = ErrorsOut),
        (status = 404, description = "No such application"),
    )
)]
pub async fn timeline(
    _key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let id = application_id(&id)?;
    applications::get(&s.db, id).await.map_err(not_found_or)?;
    let items: Vec<serde_json::Value> = pipeline::timeline(&s.db, id)
        .await?
        .into_iter()
        .map(|t| json!({ "at": t.at, "kind": t.kind, "actor": t.actor, "detail": t.detail }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Everything stored about one applicant, as JSON (GDPR access). Admin keys; the export is
/// audited.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}/export",
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "`{application, screening, timeline, emails, quiz_attempts}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application"),
    )
)]
pub async fn export(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let id = application_id(&id)?;
    let data = crate::usecases::privacy::export(&s.db, id)
        .await
        .map_err(not_found_or)?;
    crate::usecases::privacy::record_export(&s.db, &key.actor(), id).await?;
    s.metrics.exported("json");
    Ok(Json(data))
}

/// Erase an applicant's personal data (GDPR erasure). The counts reports need, the stage
/// history and the audit trail stay; the address may apply again as a new person. Admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/erasure",
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "`{id, erased: true}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application"),
    )
)]
pub async fn erase(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let id = application_id(&id)?;
    crate::usecases::privacy::erase(&s.db, &key.actor(), id)
        .await
        .map_err(not_found_or)?;
    Ok(Json(json!({ "id": id, "erased": true })))
}

/// An application id from the path; anything else is an application we do not have.
pub(super) fn application_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse()
        .map_err(|_| AppError::NotFound("No application has this id."))
}

fn not_found_or(e: crate::store::StoreError) -> AppError {
    match e {
        crate::store::StoreError::NotFound => AppError::NotFound("No application has this id."),
        other => other.into(),
    }
}

/// A tag to put on an applicant.
#[derive(Deserialize, ToSchema)]
pub struct TagIn {
    /// 1 to 40 letters (a-z), digits, spaces, `-` or `_`, with at least one that is not a
    /// space; stored trimmed and lower-case.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^[A-Za-z0-9 _-]*[A-Za-z0-9_-][A-Za-z0-9 _-]*$"
    )]
    pub tag: String,
}

/// Tag an applicant. Recruiter and admin keys. 201 when added, 200 when it was already there.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/tags",
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = TagIn,
    responses(
        (status = 201, description = "Added: `{id, tags}`"),
        (status = 200, description = "Already there: `{id, tags}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application"),
        (status = 422, description = "`tag` missing or not a valid tag", body = ErrorsOut),
    )
)]
pub async fn add_tag(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let raw = value.get("tag").and_then(|t| t.as_str()).unwrap_or("");
    let tag = crate::domain::application::parse_tag(raw).map_err(|m| AppError::field("tag", m))?;
    let id = application_id(&id)?;
    let added = pipeline::set_tag(&s.db, &key.actor(), id, &tag, true).await?;
    let code = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let tags = crate::store::tags::of(&s.db, id).await?;
    Ok((code, Json(json!({ "id": id, "tags": tags }))).into_response())
}

/// Take a tag off an applicant. Recruiter and admin keys. 404 when it was not there.
#[utoipa::path(
    delete,
    path = "/api/v1/applications/{id}/tags/{tag}",
    params(
        ("id" = Uuid, Path, description = "Application id"),
        ("tag" = String, Path, description = "The tag"),
    ),
    responses(
        (status = 200, description = "Removed: `{id, tags}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Recruiter and admin keys only", body = ErrorsOut),
        (status = 404, description = "No such application, or it does not have this tag"),
    )
)]
pub async fn remove_tag(
    key: ApiKey,
    State(s): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, AppError> {
    let id = application_id(&id)?;
    let tag = crate::domain::application::parse_tag(&tag)
        .map_err(|_| AppError::NotFound("The applicant does not have this tag."))?;
    if !pipeline::set_tag(&s.db, &key.actor(), id, &tag, false).await? {
        return Err(AppError::NotFound("The applicant does not have this tag."));
    }
    let tags = crate::store::tags::of(&s.db, id).await?;
    Ok(Json(json!({ "id": id, "tags": tags })))
}

/// The audit log, newest first, with filters. Admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    params(
        ("actor" = Option<String>, Query, description = "`cli`, `first-start`, `staff:<id>`, `api_key:<id>`, `applicant`"),
        ("action" = Option<String>, Query, description = "e.g. `application.move`, `staff.disable`, `api_key.create`"),
        ("subject" = Option<String>, Query, description = "e.g. `application:<id>`, `user:<id>`"),
        ("from" = Option<String>, Query, description = "RFC 3339 time, inclusive"),
        ("to" = Option<String>, Query, description = "RFC 3339 time, exclusive"),
        ("limit" = Option<i64>, Query, description = "1 to 500, default 100", minimum = 1, maximum = 500),
        ("after" = Option<String>, Query, description = "The `next` cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "`{items: [{at, actor, action, subject, before, after}], next: cursor|null}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Admin keys only", body = ErrorsOut),
        (status = 422, description = "A filter that cannot be read, named", body = ErrorsOut),
    )
)]
pub async fn audit_log(
    _key: ApiKey,
    State(s): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<serde_json::Value>, AppError> {
    let pairs = form::query(query);
    let filter = crate::web::listing::audit_filter(&pairs).map_err(AppError::Validation)?;
    let rows = crate::store::audit::list(&s.db, &filter).await?;
    let next = crate::web::listing::audit_next(&rows, filter.limit);
    let parse = |v: &Option<String>| -> serde_json::Value {
        v.as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
                "before": parse(&r.before), "after": parse(&r.after),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": next })))
}
