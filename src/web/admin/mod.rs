//! What recruiters see, under `/admin`: sign-in, the question bank, quizzes and their item
//! analysis. Staff sign in with email and password; the session lives in the database and the
//! cookie holds only a random token (HttpOnly, SameSite=Strict). State-changing requests that a
//! browser marks as cross-site are refused.

mod emails;
mod questions;
mod quizzes;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use uuid::Uuid;

pub use quizzes::analysis_json;

use super::pages::errors_context;
use super::{form, pages, AppError, AppState, PageError};
use crate::domain::application::Status;
use crate::domain::email::EmailAddress;
use crate::domain::staff::Role;
use crate::domain::token::{hash_token, SecretToken};
use crate::domain::{now, FieldErrors};
use crate::store::{applications, outbox, sessions, users};

const COOKIE: &str = "onramp_staff";

pub fn router(limits: &super::limits::RateLimits) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(
            "/login",
            get(login_form).post(login).route_layer(limits.sign_in()),
        )
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
        .route("/emails", get(emails::list))
        .route("/emails/{id}/retry", post(emails::retry))
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

/// A signed-in staff member, of any role.
pub struct Staff {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
}

/// The staff pages, with the roles that may open each. The navigation shows a person only what
/// their role may use.
const SECTIONS: &[(&str, &str, &str, &[Role])] = &[
    (
        "home",
        "/admin",
        "Home",
        &[Role::Admin, Role::Recruiter, Role::Manager],
    ),
    (
        "questions",
        "/admin/questions",
        "Question bank",
        &[Role::Admin, Role::Recruiter],
    ),
    (
        "quizzes",
        "/admin/quizzes",
        "Quizzes",
        &[Role::Admin, Role::Recruiter],
    ),
    (
        "emails",
        "/admin/emails",
        "Emails",
        &[Role::Admin, Role::Recruiter],
    ),
];

impl Staff {
    pub fn may_recruit(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Recruiter)
    }

    /// What the layout shows a signed-in person: who they are, their navigation with `section`
    /// marked as the current one, and a way to sign out.
    pub fn shell(&self, section: &str) -> Value {
        let nav: Vec<Value> = SECTIONS
            .iter()
            .filter(|(.., roles)| roles.contains(&self.role))
            .map(|(id, href, label, _)| json!({ "href": href, "label": label, "current": *id == section }))
            .collect();
        json!({ "email": self.email, "role": self.role.as_str(), "nav": nav })
    }

    /// A page in the staff layout.
    pub fn page(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        section: &str,
        ctx: Value,
    ) -> Response {
        pages::render_in(status, template, title, ctx, &self.shell(section))
    }

    /// An error page that keeps the staff navigation.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        pages::error_page_in(status, message, &self.shell(""))
    }

    pub fn not_found(&self, message: &str) -> Response {
        self.error(StatusCode::NOT_FOUND, message)
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    super::cookie(headers, COOKIE)
}

/// The sign-in page, with the page that was asked for as where to go after (GET only: a form
/// posted without a session cannot be replayed after signing in).
fn sign_in_first(parts: &Parts) -> Response {
    // Inside the nested router the URI has lost its `/admin` prefix; the original has it.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let wanted = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|_| parts.method == Method::GET)
        .and_then(safe_next);
    match wanted {
        Some(next) if next != "/admin" => Redirect::to(&format!(
            "/admin/login?next={}",
            percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
        ))
        .into_response(),
        _ => Redirect::to("/admin/login").into_response(),
    }
}

/// Where to go after signing in: only a path on this site (`/admin/…`), never another host
/// (`//evil.example`, `https://…`, `/\\evil`), so the sign-in page cannot be used to send people
/// elsewhere.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with("/admin")
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2000;
    ok.then_some(next)
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let user = match session_token(&parts.headers) {
            Some(t) => sessions::user(&s.db, &hash_token(&t), now())
                .await
                .map_err(|e| PageError::from(e).into_response())?,
            None => None,
        };
        let Some(u) = user else {
            return Err(sign_in_first(parts));
        };
        let role = Role::parse(&u.role).ok_or_else(|| {
            PageError(AppError::Internal(anyhow::anyhow!("unknown staff role"))).into_response()
        })?;
        Ok(Staff {
            id: u.id,
            email: u.email,
            role,
        })
    }
}

/// A signed-in staff member who may work with applicants and quizzes (recruiter or admin).
pub struct Recruiter(pub Staff);

impl std::ops::Deref for Recruiter {
    type Target = Staff;
    fn deref(&self) -> &Staff {
        &self.0
    }
}

impl FromRequestParts<AppState> for Recruiter {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let staff = Staff::from_request_parts(parts, s).await?;
        if !staff.may_recruit() {
            return Err(staff.error(
                StatusCode::FORBIDDEN,
                "This page is for recruiters and admins. Your home page shows what you can use; ask an admin if you need more.",
            ));
        }
        Ok(Recruiter(staff))
    }
}

async fn home(staff: Staff, State(s): State<AppState>) -> Result<Response, PageError> {
    let by_status = applications::count_by_status(&s.db).await?;
    let pipeline: Vec<Value> = Status::ALL
        .iter()
        .map(|st| {
            let n = by_status
                .iter()
                .find(|(k, _)| k == st.as_str())
                .map_or(0, |(_, n)| *n);
            json!({ "label": st.staff_label(), "count": n })
        })
        .collect();
    let total: i64 = by_status.iter().map(|(_, n)| n).sum();
    if !staff.may_recruit() {
        return Ok(staff.page(
            StatusCode::OK,
            "manager_home",
            "Reports",
            "home",
            json!({ "pipeline": pipeline, "total": total }),
        ));
    }
    let failed = outbox::count_by_status(&s.db)
        .await?
        .into_iter()
        .find(|(k, _)| k == outbox::FAILED)
        .map_or(0, |(_, n)| n);
    Ok(staff.page(
        StatusCode::OK,
        "admin_home",
        "Recruiting",
        "home",
        json!({ "pipeline": pipeline, "total": total, "failed_emails": failed }),
    ))
}

async fn login_form(RawQuery(query): RawQuery) -> Response {
    let pairs = form::query(query);
    let next = safe_next(field(&pairs, "next")).unwrap_or("");
    login_page(StatusCode::OK, "", next, &FieldErrors::new())
}

fn login_page(status: StatusCode, email: &str, next: &str, errors: &FieldErrors) -> Response {
    let (summary, fe) = errors_context(errors);
    pages::render(
        status,
        "admin_login",
        &pages::form_title("Staff sign-in", errors),
        json!({ "email": email, "next": next, "errors": summary, "fe": fe }),
    )
}

async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let email_raw = field(&pairs, "email").to_string();
    let next = safe_next(field(&pairs, "next"))
        .unwrap_or("/admin")
        .to_string();
    // Passwords are taken as typed: spaces at either end are part of them.
    let password = pairs
        .iter()
        .find(|(n, _)| n == "password")
        .and_then(|(_, v)| v.as_deref().ok())
        .unwrap_or("")
        .to_string();
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(&email_raw);
    if email.is_err() {
        crate::domain::add_error(&mut errors, "email", "Enter your work email address.");
    }
    if password.is_empty() {
        crate::domain::add_error(&mut errors, "password", "Enter your password.");
    }
    let user = match email {
        Ok(e) if errors.is_empty() => users::credentials(&s.db, e.as_str()).await?,
        _ => None,
    };
    // Checked against a dummy hash when the email is unknown, so timing does not reveal it.
    let ok = match (&user, errors.is_empty()) {
        (_, false) => false,
        (u, true) => {
            crate::staff::check_password(
                password.clone(),
                u.as_ref().map(|u| u.password_hash.clone()),
            )
            .await
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
            field(&pairs, "next"),
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
    let mut r = Redirect::to(&next).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(r)
}

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
    form::first(pairs, name).unwrap_or("")
}
