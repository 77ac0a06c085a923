use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::status::render_status;
use crate::domain::email::EmailAddress;
use crate::intake::{self, Verified};
use crate::web::form;
use crate::web::{pages, AppState, PageError};

pub async fn verify(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match intake::verify_email(&s.db, &token).await? {
        Verified::Done { id, .. } => render_status(&s, id, true).await,
        Verified::AlreadyUsed => Ok(link_invalid(
            "This confirmation link has already been used, and your email address is confirmed. \
             We've emailed you a link to your application's status page.",
        )),
        Verified::Invalid => Ok(link_invalid(
            "This confirmation link has expired or is not valid.",
        )),
    }
}

pub fn link_invalid(reason: &str) -> Response {
    pages::render(
        StatusCode::GONE,
        "link_invalid",
        "Link no longer works",
        json!({ "reason": reason, "email": "", "error": null }),
    )
}

pub async fn resend_form() -> Response {
    resend_page(StatusCode::OK, "", None)
}

fn resend_page(status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let title = if error.is_some() {
        "Error: Get a new link"
    } else {
        "Get a new link"
    };
    pages::render(
        status,
        "resend",
        title,
        json!({ "email": email, "error": error }),
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
        json!({}),
    ))
}
