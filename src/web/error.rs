//! One error type for handlers. JSON callers get `{"errors": {"field": ["message"]}}`; pages get
//! the same status with an HTML page. Unexpected errors are logged with detail and shown as a
//! plain 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::domain::FieldErrors;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(FieldErrors),
    /// Well-formed, but not allowed in the current state (409), naming the field.
    #[error("refused")]
    Refused(FieldErrors),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("Not found."),
            other => AppError::Internal(other.into()),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Refused(_) => StatusCode::CONFLICT,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What may be shown to the caller; internal detail never is.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Validation(_) => "Some fields need attention.".into(),
            AppError::Refused(errors) => errors
                .values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                "Something went wrong on our side. Please try again in a minute.".into()
            }
            other => other.to_string(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        crate::domain::add_error(&mut errors, field, message);
        AppError::Validation(errors)
    }

    /// A 409 naming what stands in the way.
    pub fn refused(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        crate::domain::add_error(&mut errors, field, message);
        AppError::Refused(errors)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            AppError::Validation(errors) | AppError::Refused(errors) => json!({ "errors": errors }),
            AppError::Unauthorized(m) => {
                let mut r =
                    (status, Json(json!({ "errors": { "authorization": [m] } }))).into_response();
                r.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
                return r;
            }
            AppError::Forbidden(m) => json!({ "errors": { "authorization": [m] } }),
            AppError::UnsupportedMediaType(m) => json!({ "errors": { "content-type": [m] } }),
            AppError::PayloadTooLarge(m) => json!({ "errors": { "body": [m] } }),
            other => json!({ "error": other.public_message() }),
        };
        (status, Json(body)).into_response()
    }
}

/// The same errors for pages: an HTML page with the status and a human message.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = self.0.public_message();
        super::pages::error_page(status, &message)
    }
}
