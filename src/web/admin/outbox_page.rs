//! `/admin/outbox`, for admins: every email by state (waiting, sending now, sent, failed,
//! cancelled) with filters by email and address, a failed email sent again or cancelled for
//! good, and a preview of any email with sample data, HTML and text parts.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field, Staff};
use crate::domain::{add_error, FieldErrors};
use crate::email::templates::{is_non_essential, sample_data, EMAILS};
use crate::store::outbox::{self, Listing, VIEW_STATES};
use crate::web::pages::errors_context;
use crate::web::{form, AppState, PageError};

const SHOWN: i64 = 200;
/// The longest address filter: an email address is at most 254 characters.
const TO_MAX: usize = 254;

fn state_label(state: &str) -> &'static str {
    match state {
        "pending" => "Waiting",
        "sending" => "Sending now",
        "sent" => "Sent",
        "failed" => "Failed",
        _ => "Cancelled",
    }
}

/// The filters of the page, each checked; what was typed is kept to show back.
fn listing(pairs: &form::Pairs) -> (Listing, FieldErrors) {
    let mut errors = FieldErrors::new();
    let state = match field(pairs, "state").trim() {
        "" => "failed".to_string(),
        s if VIEW_STATES.contains(&s) => s.to_string(),
        _ => {
            add_error(
                &mut errors,
                "state",
                "Choose a state: waiting, sending now, sent, failed or cancelled.",
            );
            "failed".to_string()
        }
    };
    let template = match field(pairs, "template").trim() {
        "" => None,
        t if EMAILS.contains(&t) => Some(t.to_string()),
        _ => {
            add_error(&mut errors, "template", "Choose an email from the list.");
            None
        }
    };
    let to = match field(pairs, "to").trim() {
        "" => None,
        t if t.chars().count() > TO_MAX || t.chars().any(char::is_control) => {
            add_error(
                &mut errors,
                "to",
                format!("Type part of an address, at most {TO_MAX} characters."),
            );
            None
        }
        t => Some(t.to_string()),
    };
    let l = Listing {
        state,
        template,
        to,
        limit: SHOWN,
    };
    (l, errors)
}

/// `GET /admin/outbox`
pub async fn list(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(q);
    let (l, errors) = listing(&pairs);
    let now = s.db.now();
    let counts = outbox::count_by_status(&s.db).await?;
    let sending = outbox::count_sending(&s.db, now).await?;
    let count = |st: &str| match st {
        "sending" => sending,
        "pending" => counts
            .iter()
            .find(|(k, _)| k == "pending")
            .map_or(0, |(_, n)| *n - sending),
        _ => counts.iter().find(|(k, _)| k == st).map_or(0, |(_, n)| *n),
    };
    let keep = |st: &str| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("state", st);
        if let Some(t) = &l.template {
            q.append_pair("template", t);
        }
        if let Some(t) = &l.to {
            q.append_pair("to", t);
        }
        q.finish()
    };
    let tabs: Vec<Value> = VIEW_STATES
        .iter()
        .map(|st| {
            json!({ "query": keep(st), "label": state_label(st), "count": count(st),
                    "current": *st == l.state })
        })
        .collect();
    let rows: Vec<Value> = if errors.is_empty() {
        outbox::listing(&s.db, &l, now)
            .await?
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id, "template": r.template, "recipient": r.recipient,
                    "attempts": r.attempts,
                    "created": staff.time(r.created_at),
                    "sent": r.sent_at.map(|t| staff.time(t)),
                    "next_attempt": staff.time(r.next_attempt_at),
                    "error": r.last_error, "response": r.smtp_response,
                    "failed": r.status == outbox::FAILED,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let templates: Vec<Value> = EMAILS
        .iter()
        .map(|t| {
            json!({ "value": t, "selected": l.template.as_deref() == Some(*t),
                    "reminder": is_non_essential(t) })
        })
        .collect();
    let notice = match field(&pairs, "done") {
        "queued" => Some("The email is queued again and goes out within a minute."),
        "cancelled" => Some("The email is cancelled; it will not be sent."),
        "unchanged" => Some("That email was not failed any more; nothing changed."),
        _ => None,
    };
    let (summary, fe) = errors_context(&errors);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(staff.page(
        status,
        "admin_outbox",
        &crate::web::pages::form_title("Outbox", &errors),
        "outbox",
        json!({
            "tabs": tabs, "rows": rows, "state_label": state_label(&l.state),
            "failed_view": l.state == outbox::FAILED, "shown": SHOWN, "notice": notice,
            "templates": templates, "to": field(&pairs, "to"), "state": l.state,
            "errors": summary, "fe": fe,
        }),
    ))
}

/// `POST /admin/outbox/{id}/retry`: a failed email goes back in the queue.
pub async fn retry(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    decide(staff, s, id, true).await
}

/// `POST /admin/outbox/{id}/cancel`: a failed email is never sent.
pub async fn cancel(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    decide(staff, s, id, false).await
}

async fn decide(staff: Staff, s: AppState, id: String, retry: bool) -> Result<Response, PageError> {
    let Ok(id) = id.parse::<Uuid>() else {
        return Ok(staff.not_found("There is no such email."));
    };
    let actor = format!("staff:{}", staff.id);
    let changed = crate::usecases::mail::decide_failed(&s.db, &actor, id, retry).await?;
    let done = match (changed, retry) {
        (false, _) => "unchanged",
        (true, true) => "queued",
        (true, false) => "cancelled",
    };
    Ok(Redirect::to(&format!("/admin/outbox?state=failed&done={done}")).into_response())
}

/// `GET /admin/outbox/preview/{template}`: the email with sample data, both parts.
pub async fn preview(
    staff: Staff,
    State(s): State<AppState>,
    Path(template): Path<String>,
) -> Result<Response, PageError> {
    let e = match rendered_sample(&staff, &s, &template).await? {
        Ok(e) => e,
        Err(not_found) => return Ok(not_found),
    };
    Ok(staff.page(
        StatusCode::OK,
        "admin_outbox_preview",
        &format!(
            "Preview: {}",
            crate::domain::timeline::email_name(&template)
        ),
        "outbox",
        json!({
            "template": template, "name": crate::domain::timeline::email_name(&template),
            "subject": e.subject, "text": e.text,
            "reminder": is_non_essential(&template),
        }),
    ))
}

/// The HTML part, as its own document, for the preview page's sandboxed frame: the
/// email's inline styles need a policy of their own, which the site's pages never get. No
/// script may run in it, and only this site may frame it.
pub async fn preview_html(
    staff: Staff,
    State(s): State<AppState>,
    Path(template): Path<String>,
) -> Result<Response, PageError> {
    let e = match rendered_sample(&staff, &s, &template).await? {
        Ok(e) => e,
        Err(not_found) => return Ok(not_found),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PREVIEW_CSP),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        // The whole HTML part as sent, base layout included.
        e.html,
    )
        .into_response())
}

/// The email preview frame's policy: the email's own inline styles and inline images, nothing
/// else, no script, framed only by this site.
pub const PREVIEW_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    img-src data: cid:; frame-ancestors 'self'; sandbox; base-uri 'none'; form-action 'none'";

/// An email rendered with the sample data, its quiz figures read from the quizzes people take;
/// the not-found page for a name that is no email.
async fn rendered_sample(
    staff: &Staff,
    s: &AppState,
    template: &str,
) -> Result<Result<crate::email::templates::EmailContent, Response>, PageError> {
    if !EMAILS.contains(&template) {
        return Ok(Err(staff.not_found("There is no such email.")));
    }
    let mut data = sample_data(template, &s.settings.base_url());
    if let Some((_, def)) = crate::store::quizzes::quizzes(&s.db)
        .await?
        .into_iter()
        .find(|(_, d)| d.active)
    {
        data["quiz_title"] = json!(def.title);
        data["questions"] = json!(def.question_count());
        data["minutes"] = json!(def.time_limit_minutes);
        data["pass_percent"] = json!(def.pass_percent);
        data["max_attempts"] = json!(def.max_attempts);
    }
    let e = s
        .renderer
        .render(template, &data)
        .map_err(crate::web::AppError::Internal)?;
    Ok(Ok(e))
}
