use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiKey;
use crate::domain::application::{RawApplication, Status};
use crate::intake::Channel;
use crate::store::applications;
use crate::web::form;
use crate::web::{AppError, AppState};

/// The signup form's fields, as JSON.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ApplicationIn {
    /// 2–100 characters.
    full_name: String,
    email: String,
    /// International format, e.g. `+46701234567`.
    phone: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: String,
    /// `rural`, `town` or `city`.
    area: String,
    /// ISO 639-1 codes, at least one.
    languages: Vec<String>,
    /// 5–60.
    weekly_hours: i64,
    student: Option<bool>,
    customer: Option<bool>,
    /// Confirms the applicant is 18 or older.
    adult: Option<bool>,
    equipment: Option<bool>,
    /// At most 2,000 characters.
    motivation: Option<String>,
    /// Must be true: the applicant accepted the privacy notice.
    consent: bool,
    utm_source: Option<String>,
    utm_campaign: Option<String>,
    #[schema(rename = "ref")]
    ref_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
    pub status: Status,
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
    pub status: Status,
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
    pub screening: Vec<ScreeningOut>,
}

/// Submit an application. A repeat for an email we already have returns the existing one.
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    request_body = ApplicationIn,
    responses(
        (status = 201, description = "Application created", body = Created),
        (status = 200, description = "An application with this email exists", body = Created),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 413, description = "Body too large", body = ErrorsOut),
        (status = 415, description = "Not JSON", body = ErrorsOut),
        (status = 422, description = "Invalid fields", body = ErrorsOut),
    )
)]
pub async fn create(
    _key: ApiKey,
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
        status: Status::parse(&a.status).unwrap_or(Status::Applied),
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
        screening,
    }))
}
