//! Webhook endpoints by API: register, list and delete. Admin keys.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::applications::ErrorsOut;
use super::ApiKey;
use crate::domain::webhooks::parse_webhook;
use crate::store::webhooks::{self as store, WebhookRow};
use crate::usecases::webhooks;
use crate::web::form;
use crate::web::{AppError, AppState};

/// An endpoint to register.
#[derive(serde::Deserialize, ToSchema)]
pub struct WebhookIn {
    /// http or https, with a host name (labels of letters, digits and inner hyphens, the last
    /// starting with a letter; an IPv4 address is accepted too) and no user name or password;
    /// a port from 1 to 65535 may follow; at most 2000 characters.
    #[schema(
        max_length = 2000,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?#]\\S*)?$"
    )]
    pub url: String,
    /// Signs every delivery: 16 to 200 characters without spaces. Never shown again.
    #[schema(min_length = 16, max_length = 200, pattern = "^\\S+$")]
    pub secret: String,
    /// One or more of `agent.activated`, `agent.paused`, `agent.offboarded`,
    /// `application.stage_changed`.
    #[schema(min_items = 1)]
    pub events: Vec<WebhookEvent>,
}

#[derive(serde::Deserialize, ToSchema)]
pub enum WebhookEvent {
    #[serde(rename = "agent.activated")]
    #[schema(rename = "agent.activated")]
    AgentActivated,
    #[serde(rename = "agent.paused")]
    #[schema(rename = "agent.paused")]
    AgentPaused,
    #[serde(rename = "agent.offboarded")]
    #[schema(rename = "agent.offboarded")]
    AgentOffboarded,
    #[serde(rename = "application.stage_changed")]
    #[schema(rename = "application.stage_changed")]
    StageChanged,
}

pub fn webhook_json(w: &WebhookRow) -> Value {
    json!({
        "id": w.id, "url": w.url, "events": w.event_list(), "created_at": w.created_at,
        "enabled": w.disabled_at.is_none(), "disabled_at": w.disabled_at,
        "disabled_reason": w.disabled_reason,
    })
}

/// Register an endpoint. Each delivery is a JSON POST of `{id, event, created_at, data}` with
/// `X-Onramp-Event`, `X-Onramp-Delivery`, `X-Onramp-Timestamp` (Unix seconds) and
/// `X-Onramp-Signature: sha256=<hex>`, the HMAC-SHA256 with the secret over
/// `timestamp + "." + body`. A 2xx answer delivers it; anything else is retried with backoff
/// (30 s doubling to an hour, 12 attempts). 10 failed attempts within 24 hours disable the
/// endpoint. Admin keys.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    request_body = WebhookIn,
    responses(
        (status = 201, description = "`{id, url, events, created_at, enabled, disabled_at, \
            disabled_reason}` (never the secret)"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Admin keys only", body = ErrorsOut),
        (status = 422, description = "A field is wrong; `errors` names it", body = ErrorsOut),
    )
)]
pub async fn create(
    key: ApiKey,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let value = form::json(&headers, body, s.settings.max_body_bytes)?;
    let new = parse_webhook(&value).map_err(AppError::Validation)?;
    let w = webhooks::register(&s.db, &key.actor(), &new, s.db.now()).await?;
    Ok((StatusCode::CREATED, Json(webhook_json(&w))).into_response())
}

/// Every registered endpoint, with whether it is enabled and, if not, why. Admin keys.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    responses(
        (status = 200, description = "`{items: [{id, url, events, created_at, enabled, \
            disabled_at, disabled_reason}]}`"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Admin keys only", body = ErrorsOut),
    )
)]
pub async fn list(_key: ApiKey, State(s): State<AppState>) -> Result<Json<Value>, AppError> {
    let items: Vec<Value> = store::list(&s.db).await?.iter().map(webhook_json).collect();
    Ok(Json(json!({ "items": items })))
}

const NO_WEBHOOK: &str = "No webhook has this id.";

/// Delete an endpoint and the deliveries still waiting for it. Admin keys.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid API key", body = ErrorsOut),
        (status = 403, description = "Admin keys only", body = ErrorsOut),
        (status = 404, description = "No such webhook"),
    )
)]
pub async fn delete(
    key: ApiKey,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound(NO_WEBHOOK))?;
    if webhooks::remove(&s.db, &key.actor(), id, s.db.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(NO_WEBHOOK))
    }
}
