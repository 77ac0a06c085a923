//! The email outbox for staff: what is waiting, what went out, and what could not be sent and
//! why, with a way to send a failed email again once its cause is fixed.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field, Recruiter};
use crate::store::outbox;
use crate::web::{form, AppState, PageError};

const SHOWN: i64 = 200;

pub async fn list(
    staff: Recruiter,
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(query);
    let status = match field(&pairs, "status") {
        st @ (outbox::PENDING | outbox::SENT | outbox::CANCELLED) => st,
        _ => outbox::FAILED,
    };
    let counts = outbox::count_by_status(&s.db).await?;
    let tabs: Vec<Value> = [
        (outbox::FAILED, "Could not be sent"),
        (outbox::PENDING, "Waiting"),
        (outbox::SENT, "Sent"),
        (outbox::CANCELLED, "Cancelled"),
    ]
    .iter()
    .map(|(st, label)| {
        let n = counts.iter().find(|(k, _)| k == st).map_or(0, |(_, n)| *n);
        json!({ "status": st, "label": label, "count": n, "current": *st == status })
    })
    .collect();
    let rows: Vec<Value> = outbox::list(&s.db, Some(status), SHOWN)
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "template": r.template,
                "recipient": r.recipient,
                "attempts": r.attempts,
                "created": staff.time(r.created_at),
                "sent": r.sent_at.map(|t| staff.time(t)),
                "next_attempt": staff.time(r.next_attempt_at),
                "error": r.last_error,
                "failed": r.status == outbox::FAILED,
            })
        })
        .collect();
    let notice = match field(&pairs, "queued") {
        "1" => Some("The email is queued and goes out within a minute."),
        "0" => Some("That email was not waiting to be sent again; nothing changed."),
        _ => None,
    };
    Ok(staff.page(
        StatusCode::OK,
        "admin_emails",
        "Emails",
        "emails",
        json!({
            "tabs": tabs,
            "rows": rows,
            "status": status,
            "failed_view": status == outbox::FAILED,
            "shown": SHOWN,
            "notice": notice,
        }),
    ))
}

/// Queues a failed email again, with a fresh set of attempts.
pub async fn retry(
    staff: Recruiter,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let actor = format!("staff:{}", staff.id);
    let queued = match id.parse::<Uuid>() {
        Ok(id) => crate::usecases::mail::decide_failed(&s.db, &actor, id, true).await?,
        Err(_) => false,
    };
    let to = format!(
        "/admin/emails?status=failed&queued={}",
        if queued { 1 } else { 0 }
    );
    Ok(Redirect::to(&to).into_response())
}
