//! Webhooks for admins: the endpoints with their events, state (and why one was disabled),
//! deliveries and recent attempts; register one, enable a disabled one, delete one.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field, Staff};
use crate::domain::webhooks::{parse_webhook, EVENTS};
use crate::domain::FieldErrors;
use crate::store::webhooks as store;
use crate::usecases::webhooks;
use crate::web::pages::{errors_context_in, form_title};
use crate::web::{form, AppState, PageError};

const ATTEMPTS_SHOWN: i64 = 20;

async fn page(
    staff: &Staff,
    s: &AppState,
    kept: &form::Pairs,
    errors: &FieldErrors,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let counts = store::delivery_counts(&s.db).await?;
    let attempts = store::recent_attempts(&s.db, ATTEMPTS_SHOWN).await?;
    let list = store::list(&s.db).await?;
    let rows: Vec<Value> = list
        .iter()
        .map(|w| {
            let n = |st: &str| {
                counts
                    .iter()
                    .find(|(id, s, _)| *id == w.id && s == st)
                    .map_or(0, |c| c.2)
            };
            json!({
                "id": w.id, "url": w.url, "events": w.event_list().join(", "),
                "enabled": w.disabled_at.is_none(), "reason": w.disabled_reason,
                "created": staff.time(w.created_at), "pending": n("pending"),
                "delivered": n("delivered"), "failed": n("failed"),
            })
        })
        .collect();
    let attempts: Vec<Value> = attempts
        .iter()
        .map(|a| {
            json!({
                "url": list.iter().find(|w| w.id == a.webhook_id).map(|w| w.url.clone()),
                "event": a.event, "at": staff.time(a.at), "ok": a.ok, "status": a.http_status,
                "error": a.error,
            })
        })
        .collect();
    let picked: Vec<&str> = kept
        .iter()
        .filter(|(k, _)| k == "events")
        .filter_map(|(_, v)| v.as_deref().ok())
        .collect();
    let events: Vec<Value> = EVENTS
        .iter()
        .map(|(k, l)| json!({ "value": k, "label": l, "checked": picked.contains(k) }))
        .collect();
    let (summary, fe) = errors_context_in(errors, &["url", "secret", "events"]);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(staff.page(
        status,
        "admin_webhooks",
        &form_title("Webhooks", errors),
        "webhooks",
        json!({
            "rows": rows, "attempts": attempts, "events": events, "errors": summary, "fe": fe,
            "url": form::first(kept, "url").unwrap_or(""), "notice": notice,
        }),
    ))
}

/// `GET /admin/webhooks`
pub async fn list(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(q);
    let notice = match field(&pairs, "done") {
        "created" => Some("The webhook is registered. Deliveries start with the next event."),
        "deleted" => Some("The webhook is deleted, with the deliveries still waiting for it."),
        "enabled" => Some("The webhook is enabled again; waiting deliveries go out now."),
        _ => None,
    };
    page(&staff, &s, &Vec::new(), &FieldErrors::new(), notice).await
}

/// `POST /admin/webhooks`: registers an endpoint, or names what is wrong (the secret is never
/// shown back).
pub async fn create(
    staff: Staff,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let events: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "events")
        .filter_map(|(_, v)| v.as_deref().ok())
        .collect();
    let value = json!({
        "url": field(&pairs, "url"), "secret": field(&pairs, "secret"), "events": events,
    });
    match parse_webhook(&value) {
        Ok(new) => {
            webhooks::register(&s.db, &format!("staff:{}", staff.id), &new, s.db.now()).await?;
            Ok(Redirect::to("/admin/webhooks?done=created").into_response())
        }
        Err(errors) => page(&staff, &s, &pairs, &errors, None).await,
    }
}

fn webhook_id(raw: &str) -> Option<Uuid> {
    raw.parse().ok()
}

/// `POST /admin/webhooks/{id}/delete`
pub async fn delete(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let actor = format!("staff:{}", staff.id);
    match webhook_id(&id) {
        Some(id) if webhooks::remove(&s.db, &actor, id, s.db.now()).await? => {
            Ok(Redirect::to("/admin/webhooks?done=deleted").into_response())
        }
        _ => Ok(staff.not_found("There is no such webhook.")),
    }
}

/// `POST /admin/webhooks/{id}/enable`
pub async fn enable(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let actor = format!("staff:{}", staff.id);
    match webhook_id(&id) {
        Some(id) if webhooks::enable(&s.db, &actor, id, s.db.now()).await? => {
            Ok(Redirect::to("/admin/webhooks?done=enabled").into_response())
        }
        Some(_) => Ok(Redirect::to("/admin/webhooks").into_response()),
        None => Ok(staff.not_found("There is no such webhook.")),
    }
}
