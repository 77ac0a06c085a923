//! What recruiters see, under `/admin`: sign-in, the question bank, quizzes and their item
//! analysis. Staff sign in with email and password; the session lives in the database and the
//! cookie holds only a random token (HttpOnly, SameSite=Strict). State-changing requests that a
//! browser marks as cross-site are refused.

mod questions;
mod quizzes;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use uuid::Uuid;

pub use quizzes::analysis_json;

use super::{form, pages, AppError, AppState, PageError};
use crate::domain::email::EmailAddress;
use crate::domain::token::{hash_token, SecretToken};
use crate::domain::{now, staff, FieldErrors};
use crate::store::sessions;

const COOKIE: &str = "onramp_staff";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/questions", get(questions::list).post(questions::create))
        .route("/questions/new", get(questions::new_form))
        .route(
            "/questions/{slug}",
            get(questions::edit_form).post(questions::update),
        )
        .route("/quizzes", get(quizzes::list).post(quizzes::create))
        .route("/quizzes/new", get(quizzes::new_form))
        .route(
            "/quizzes/{slug}",
            get(quizzes::edit_form).post(quizzes::update),
        )
        .route("/quizzes/{slug}/analysis", get(quizzes::analysis_page))
        .route(
            "/quizzes/{slug}/analysis.json",
            get(quizzes::analysis_session_json),
        )
        .layer(axum::middleware::from_fn(same_site_only))
}

/// Refuses state-changing requests that the browser says come from another site
/// (`Sec-Fetch-Site`), or whose `Origin` is not this host. Browsers without either header still
/// have the SameSite=Strict cookie between them and a forged request.
async fn same_site_only(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let h = req.headers();
        let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross_site = matches!(site, Some(s) if s != "same-origin" && s != "none");
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let foreign_origin = match (h.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
            (Some(origin), Some(host)) => {
                let origin_host = origin.split("://").nth(1).unwrap_or(origin);
                origin != "null" && origin_host != host
            }
            (Some(_), None) => true,
            _ => false,
        };
        if cross_site || foreign_origin {
            return pages::error_page(
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so we did not act on it. Open the page here and try again.",
            );
        }
    }
    next.run(req).await
}

/// A signed-in staff member who may manage quizzes (recruiter or admin).
pub struct Recruiter {
    pub id: Uuid,
    pub email: String,
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for Recruiter {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let user = match session_token(&parts.headers) {
            Some(t) => sessions::user(&s.db, &hash_token(&t), now())
                .await
                .map_err(|e| PageError::from(e).into_response())?,
            None => None,
        };
        match user {
            None => Err(Redirect::to("/admin/login").into_response()),
            Some(u) if u.role == "recruiter" || u.role == "admin" => Ok(Recruiter {
                id: u.id,
                email: u.email,
            }),
            Some(_) => Err(pages::error_page(
                StatusCode::FORBIDDEN,
                "Quizzes are managed by recruiters and admins. Ask an admin if you need access.",
            )),
        }
    }
}

/// The error summary and per-field messages a form template shows.
pub fn errors_context(errors: &FieldErrors) -> (Vec<Value>, Value) {
    let summary = errors
        .iter()
        .map(|(f, m)| json!({ "field": f.replace(['.', ':'], "-"), "message": m.join(" ") }))
        .collect();
    let by_field: serde_json::Map<String, Value> = errors
        .iter()
        .map(|(f, m)| (f.clone(), json!(m.join(" "))))
        .collect();
    (summary, Value::Object(by_field))
}

async fn home(staff: Recruiter) -> Response {
    pages::render(
        StatusCode::OK,
        "admin_home",
        "Recruiting",
        json!({ "email": staff.email }),
    )
}

async fn login_form() -> Response {
    login_page(StatusCode::OK, "", &FieldErrors::new())
}

fn login_page(status: StatusCode, email: &str, errors: &FieldErrors) -> Response {
    let (summary, fe) = errors_context(errors);
    pages::render(
        status,
        "admin_login",
        &pages::form_title("Staff sign-in", errors),
        json!({ "email": email, "errors": summary, "fe": fe }),
    )
}

async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.as_deref().ok())
            .unwrap_or("")
            .to_string()
    };
    let (email_raw, password) = (get("email"), get("password"));
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(&email_raw);
    if email.is_err() {
        crate::domain::add_error(&mut errors, "email", "Enter your work email address.");
    }
    if password.is_empty() {
        crate::domain::add_error(&mut errors, "password", "Enter your password.");
    }
    let user = match email {
        Ok(e) if errors.is_empty() => sessions::credentials(&s.db, e.as_str()).await?,
        _ => None,
    };
    // Verify against a dummy hash when the email is unknown, so timing does not reveal it.
    let ok = match &user {
        Some(u) => staff::verify_password(&password, &u.password_hash),
        None => {
            staff::verify_password(&password, DUMMY_HASH.as_str());
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        if errors.is_empty() {
            crate::domain::add_error(
                &mut errors,
                "password",
                "That email and password don't match an account.",
            );
        }
        return Ok(login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &email_raw,
            &errors,
        ));
    };
    let token = SecretToken::generate();
    let now = now();
    let expires = now + chrono::Duration::hours(s.settings.staff_session_hours);
    sessions::create(&s.db, &token.hash(), user.id, now, expires).await?;
    let secure = if s.settings.base_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        token.as_str(),
        s.settings.staff_session_hours * 3600
    );
    let mut r = Redirect::to("/admin").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(r)
}

static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    staff::hash_password("not-a-real-password-at-all").expect("hashing a constant")
});

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    if let Some(t) = session_token(&headers) {
        sessions::delete(&s.db, &hash_token(&t), now()).await?;
    }
    let mut r = Redirect::to("/admin/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("onramp_staff=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}

/// One field of a URL-encoded form, trimmed; "" when absent or not UTF-8.
pub fn field<'a>(pairs: &'a form::Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref().ok())
        .map(str::trim)
        .unwrap_or("")
}

pub fn not_found(what: &'static str) -> PageError {
    PageError(AppError::NotFound(what))
}
