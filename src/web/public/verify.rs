//! Confirming an email address, and getting a new link when one no longer works. Opening a
//! verification link changes nothing: mail scanners open every link in an email before the
//! person does. The page asks for one click, and only that POST confirms.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::{link_invalid, link_used};
use crate::domain::email::EmailAddress;
use crate::usecases::intake::{self, Verified};
use crate::web::form;
use crate::web::{pages, AppState, PageError};

const INVALID: &str = "This confirmation link has expired or is not valid.";

/// The confirmation page: one button that confirms.
pub async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    Ok(match intake::check_verify_link(&s.db, &token).await? {
        Verified::Done { .. } => pages::render(
            StatusCode::OK,
            "verify_confirm",
            "Confirm your email address",
            json!({ "token": token }),
        ),
        Verified::AlreadyUsed => link_used(&token),
        Verified::Invalid => link_invalid(INVALID, &token),
    })
}

pub async fn confirm(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match intake::verify_email(&s.db, &token).await? {
        // On to the status page, with a link of its own to bookmark and to start the quiz from.
        Verified::Done { id, .. } => {
            let status = intake::status_link(&s.db, &s.settings, id).await?;
            Ok(Redirect::to(&format!("/status/{}?confirmed=1", status.as_str())).into_response())
        }
        Verified::AlreadyUsed => Ok(link_used(&token)),
        Verified::Invalid => Ok(link_invalid(INVALID, &token)),
    }
}

/// "Email me a new link" from a page whose link no longer works.
pub async fn renew(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    if let Some(token) = form::first(&pairs, "token").filter(|t| !t.is_empty()) {
        intake::renew_link(&s.db, &s.settings, token).await?;
    }
    Ok(pages::render(
        StatusCode::OK,
        "renew_sent",
        "Check your email",
        json!({ "cooldown_minutes": (s.settings.verify_resend_cooldown_secs.max(0) as u64).div_ceil(60) }),
    ))
}

pub async fn resend_form() -> Response {
    resend_page(StatusCode::OK, "", None)
}

fn resend_page(status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let mut errors = crate::domain::FieldErrors::new();
    if let Some(e) = error {
        crate::domain::add_error(&mut errors, "email", e);
    }
    let (summary, _) = pages::errors_context(&errors);
    pages::render(
        status,
        "resend",
        &pages::form_title("Get a new link", &errors),
        json!({ "email": email, "error": error, "errors": summary }),
    )
}

pub async fn resend(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let typed = form::urlencoded(&headers, body, s.settings.max_body_bytes)?
        .into_iter()
        .find(|(k, _)| k == "email")
        .map(|(_, v)| v);
    let typed = match typed {
        Some(Ok(v)) => v,
        Some(Err(())) => return Ok(resend_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            Some("Your email address contains characters we could not read. Please type it again."),
        )),
        None => String::new(),
    };
    let email = match EmailAddress::parse(&typed) {
        Ok(e) => e,
        Err(msg) => {
            return Ok(resend_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                typed.trim(),
                Some(msg),
            ))
        }
    };
    intake::request_new_link(&s.db, &s.settings, &email).await?;
    Ok(pages::render(
        StatusCode::OK,
        "resend_sent",
        "Check your email",
        json!({ "cooldown_minutes": (s.settings.verify_resend_cooldown_secs.max(0) as u64).div_ceil(60) }),
    ))
}
