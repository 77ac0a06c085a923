//! What recruiters see, under `/admin`: sign-in, the question bank, quizzes and their item
//! analysis. Staff sign in with email and password; the session lives in the database and the
//! cookie holds only a random token (HttpOnly, SameSite=Strict). State-changing requests that a
//! browser marks as cross-site are refused.

pub mod applicants;
pub mod cohorts;
pub mod emails;
pub mod jobs;
pub mod outbox_page;
pub mod questions;
pub mod quizzes;
pub mod team;
pub mod webhooks;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

pub use quizzes::analysis_json;

use super::pages::errors_context;
use super::{form, pages, AppError, AppState, PageError};
use crate::domain::email::EmailAddress;
use crate::domain::staff::Role;
use crate::domain::token::{hash_token, SecretToken};
use crate::domain::FieldErrors;
use crate::store::{applications, outbox, sessions, sign_ins, users};

/// `__Host-`: the browser keeps it only if it is `Secure`, for `Path=/` and without a
/// `Domain`, so no other host (a sibling subdomain) can set or shadow it. Browsers count
/// `http://localhost` and `http://127.0.0.1` as secure, so plain-http development works there.
const COOKIE: &str = "__Host-onramp_staff";

/// Refuses state-changing requests unless the browser says they come from this site: by
/// `Sec-Fetch-Site` (`same-origin`, or `none` for one the person typed), else by an `Origin`
/// naming this host. `Origin: null` (a sandboxed frame, a redirect chain, a `file:` page) is
/// foreign, and a request with neither header is refused: every browser in use sends one of
/// them on a POST, so only a non-browser client lacks both, and staff use the API for that.
pub async fn same_site_only(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let h = req.headers();
        let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin = h.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let origin_ok = match (origin, host) {
            (Some(o), Some(host)) if o != "null" => {
                o.split_once("://").is_some_and(|(_, rest)| rest == host)
            }
            _ => false,
        };
        let allowed = match site {
            Some(s) => (s == "same-origin" || s == "none") && (origin.is_none() || origin_ok),
            None => origin_ok,
        };
        if !allowed {
            return pages::error_page(
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so we did not act on it. Open the page here and try again.",
            );
        }
    }
    next.run(req).await
}

/// A signed-in staff member, of any role.
#[derive(Clone)]
pub struct Staff {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// The zone their pages show times in: their own choice, else the instance's.
    pub tz: chrono_tz::Tz,
    /// Whether `tz` is their own choice.
    pub own_tz: bool,
    /// The hash of this session's token.
    session: String,
}

/// Signed in, but with a password that must be replaced first (a generated one that was
/// shown in a log): only the password page and sign-out are open to them.
#[derive(Clone)]
pub struct PasswordChange(pub Staff, pub bool);

/// The staff sections of the navigation. It shows a person only what their role may open, as
/// the access table (`web::access`) says.
const SECTIONS: &[(&str, &str, &str)] = &[
    ("home", "/admin", "Home"),
    ("applicants", "/admin/applicants", "Applicants"),
    ("cohorts", "/admin/cohorts", "Cohorts"),
    ("reports", "/reports", "Reports"),
    ("questions", "/admin/questions", "Question bank"),
    ("quizzes", "/admin/quizzes", "Quizzes"),
    ("emails", "/admin/emails", "Emails"),
    ("users", "/admin/users", "Staff"),
    ("audit", "/admin/audit", "Audit log"),
    ("webhooks", "/admin/webhooks", "Webhooks"),
    ("jobs", "/admin/jobs", "Jobs"),
    ("outbox", "/admin/outbox", "Outbox"),
];

impl Staff {
    /// A moment as this staff member reads it: their zone, named ("2026-12-07 14:05 CET").
    pub fn time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    pub fn may_recruit(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Recruiter)
    }

    /// What the layout shows a signed-in person: who they are, their navigation with `section`
    /// marked as the current one, and a way to sign out.
    pub fn shell(&self, section: &str) -> Value {
        let nav: Vec<Value> = SECTIONS
            .iter()
            .filter(|(_, href, _)| super::access::staff_roles(href).contains(&self.role))
            .map(|(id, href, label)| json!({ "href": href, "label": label, "current": *id == section }))
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

    /// An irreversible action asks once more. Unless its form says `confirm=yes`, this is the
    /// page that names what will happen and to whom, whose button posts the same form again,
    /// confirmed, beside a way back; None when the form is confirmed. No script needed.
    pub fn confirm_first(&self, pairs: &form::Pairs, ask: Confirm<'_>) -> Option<Response> {
        if form::first(pairs, "confirm") == Some("yes") {
            return None;
        }
        let fields: Vec<Value> = pairs
            .iter()
            .filter(|(k, _)| k != "confirm")
            .filter_map(|(k, v)| v.as_ref().ok().map(|v| json!({ "name": k, "value": v })))
            .collect();
        Some(self.page(
            StatusCode::OK,
            "admin_confirm",
            ask.title,
            ask.section,
            json!({
                "title": ask.title,
                "what": ask.what,
                "button": ask.button,
                "action": ask.action,
                "back": ask.back,
                "fields": fields,
            }),
        ))
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

impl FromRequestParts<AppState> for PasswordChange {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        // The route's guard (see `access`) looked the session up already.
        if let Some(found) = parts.extensions.get::<PasswordChange>() {
            return Ok(found.clone());
        }
        let token = session_token(&parts.headers).map(|t| hash_token(&t));
        let user = match &token {
            Some(h) => sessions::user(&s.db, h, s.db.now())
                .await
                .map_err(|e| PageError::from(e).into_response())?,
            None => None,
        };
        let (Some(u), Some(session)) = (user, token) else {
            return Err(sign_in_first(parts));
        };
        let role = Role::parse(&u.role).ok_or_else(|| {
            PageError(AppError::Internal(anyhow::anyhow!("unknown staff role"))).into_response()
        })?;
        let own: Option<chrono_tz::Tz> = u.time_zone.as_deref().and_then(|z| z.parse().ok());
        Ok(PasswordChange(
            Staff {
                id: u.id,
                email: u.email,
                role,
                tz: own.unwrap_or(s.settings.jobs.time_zone),
                own_tz: own.is_some(),
                session,
            },
            u.must_change_password,
        ))
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let PasswordChange(staff, must_change) =
            PasswordChange::from_request_parts(parts, s).await?;
        if must_change {
            return Err(Redirect::to("/admin/password").into_response());
        }
        Ok(staff)
    }
}

/// The answer to a staff member whose role may not open a page.
pub const NOT_FOR_YOUR_ROLE: &str = "This page is for recruiters and admins. Your home page shows what you can use; ask an admin if you need more.";

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
            return Err(staff.error(StatusCode::FORBIDDEN, NOT_FOR_YOUR_ROLE));
        }
        Ok(Recruiter(staff))
    }
}

/// What a confirmation page asks (see `Staff::confirm_first`).
pub struct Confirm<'a> {
    /// The page's heading, such as "Reject Ana Lind?".
    pub title: &'a str,
    /// What will happen, to whom, and what cannot be undone.
    pub what: &'a str,
    /// The confirming button, such as "Yes, reject Ana Lind".
    pub button: &'a str,
    /// Where the confirmed form goes (the same action).
    pub action: &'a str,
    /// The way back without doing it.
    pub back: &'a str,
    /// The navigation section the page belongs to.
    pub section: &'a str,
}

pub async fn home(staff: Staff, State(s): State<AppState>) -> Result<Response, PageError> {
    let by_status = applications::count_by_status(&s.db).await?;
    let stages = crate::domain::pipeline::Pipeline::new(&s.settings.pipeline)
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let pipeline: Vec<Value> = stages
        .stages()
        .iter()
        .map(|st| {
            let n = by_status
                .iter()
                .find(|(k, _)| *k == st.id)
                .map_or(0, |(_, n)| *n);
            json!({ "label": st.label, "count": n, "stage": st.id })
        })
        .collect();
    let total: i64 = by_status.iter().map(|(_, n)| n).sum();
    if !staff.may_recruit() {
        let today = s.db.now().date_naive();
        let filter = crate::domain::reports::Filter::parse(None, None, None, today)
            .expect("the default filter is valid");
        let weeks = crate::usecases::reports::replacement(&s.db, &filter, today).await?;
        let forecast = crate::usecases::reports::forecast(
            &s.db,
            &filter,
            None,
            s.settings.forecast_weeks,
            today,
        )
        .await?;
        let latest = weeks.last();
        let pilot = json!({
            "live": latest.map_or(0, |w| w.live),
            "outsourced": latest.map_or(0, |w| w.outsourced),
            "ratio": crate::web::manager::percent(latest.and_then(|w| w.ratio)),
            "forecast": forecast.summary,
        });
        return Ok(staff.page(
            StatusCode::OK,
            "manager_home",
            "Reports",
            "home",
            json!({ "pipeline": pipeline, "total": total, "pilot": pilot }),
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

pub async fn login_form(RawQuery(query): RawQuery) -> Response {
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

pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let at = s.db.now();
    // A client that failed too often in a row waits, whichever address it tries: locking the
    // client rather than the account keeps an attacker from locking out a known admin.
    let client = sign_ins::client_subject(s.limits.client(peer.ip(), &headers));
    if let Some(until) = sign_ins::locked_until(&s.db, &client, at).await? {
        s.metrics.refused("sign_in_locked");
        let minutes = (until - at).num_minutes() + 1;
        let mut errors = FieldErrors::new();
        crate::domain::add_error(
            &mut errors,
            "password",
            format!(
                "Too many failed sign-ins from your connection. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
        );
        let mut r = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            field(&pairs, "email"),
            field(&pairs, "next"),
            &errors,
        );
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from((until - at).num_seconds().max(1)),
        );
        return Ok(r);
    }
    let email_raw = field(&pairs, "email").to_string();
    let next = safe_next(field(&pairs, "next"))
        .unwrap_or("/admin")
        .to_string();
    // Passwords are taken as typed: spaces at either end are part of them.
    let password = untrimmed(&pairs, "password");
    let mut errors = FieldErrors::new();
    let email = EmailAddress::parse(&email_raw);
    if email.is_err() {
        crate::domain::add_error(&mut errors, "email", "Enter your work email address.");
    }
    if password.is_empty() {
        crate::domain::add_error(&mut errors, "password", "Enter your password.");
    }
    let user = match &email {
        Ok(e) if errors.is_empty() => users::credentials(&s.db, e.as_str()).await?,
        _ => None,
    };
    // A locked or disabled account is checked against the dummy hash like an unknown one, and
    // answers exactly as a wrong password does: the answer tells an attacker nothing.
    let open = user.as_ref().filter(|u| !u.shut(at));
    let ok = errors.is_empty()
        && crate::usecases::staff::check_password(password, open.map(|u| u.password_hash.clone()))
            .await
        && open.is_some();
    let Some(user) = user.clone().filter(|_| ok) else {
        if errors.is_empty() {
            // Failures count per submitted address whether or not an account has it, so the
            // slow-down is the same for a real address and an unknown one.
            let window = chrono::Duration::minutes(s.settings.sign_in_lock_minutes);
            let address = sign_ins::address_subject(&email_raw);
            let failures =
                sign_ins::record_failure(&s.db, &address, at, at - window, i64::MAX, at).await?;
            let client_failures = sign_ins::record_failure(
                &s.db,
                &client,
                at,
                at - window,
                s.settings.sign_in_lock_after,
                at + window,
            )
            .await?;
            // The same writes whether or not the account exists, so the timing is the same.
            match &user {
                Some(u) => {
                    tracing::warn!(user_id = %u.id, failures_in_a_row = failures, client_failures, "staff sign-in failed");
                }
                None => tracing::warn!(
                    failures_in_a_row = failures,
                    client_failures,
                    "staff sign-in failed: no such account"
                ),
            }
            s.metrics.refused("sign_in_failed");
            // Each failure in a row answers a little later, so guessing gets slow before the
            // lock; the wait holds no thread and no connection to the database.
            tokio::time::sleep(failure_delay(failures)).await;
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
    users::record_sign_in(&s.db, user.id).await?;
    sign_ins::clear(&s.db, &[&sign_ins::address_subject(&email_raw), &client]).await?;
    sessions::delete_expired(&s.db, at).await?;
    let token = SecretToken::generate();
    let expires = at + chrono::Duration::hours(s.settings.staff_session_hours);
    sessions::create(&s.db, &token.hash(), user.id, at, expires).await?;
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
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

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    if let Some(t) = session_token(&headers) {
        sessions::delete(&s.db, &hash_token(&t), s.db.now()).await?;
    }
    let mut r = Redirect::to("/admin/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-onramp_staff=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(r)
}

pub async fn password_form(
    PasswordChange(staff, forced): PasswordChange,
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form::query(q);
    let done = field(&q, "done") == "1";
    let mut page = password_page(
        &staff,
        s.db.now(),
        StatusCode::OK,
        forced,
        done,
        &FieldErrors::new(),
    );
    if field(&q, "done") == "tz" {
        page = zone_page(&staff, &s, StatusCode::OK, true, "", &FieldErrors::new());
    }
    page
}

/// The account page with the time zone form's outcome: saved, or what is wrong with it.
fn zone_page(
    staff: &Staff,
    s: &AppState,
    status: StatusCode,
    saved: bool,
    typed: &str,
    errors: &FieldErrors,
) -> Response {
    let (summary, fe) = errors_context(errors);
    render_account(
        staff,
        s.db.now(),
        s.settings.jobs.time_zone,
        status,
        json!({
            "forced": false, "done": false, "zone_saved": saved, "zone_typed": typed,
            "errors": summary, "fe": fe,
        }),
        errors,
    )
}

/// `POST /admin/password/time-zone`: the zone this staff member reads times in (`time_zone`,
/// an IANA name such as Europe/Stockholm; empty for the instance's).
pub async fn set_time_zone(
    PasswordChange(staff, _): PasswordChange,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let raw = field(&pairs, "time_zone").trim().to_string();
    let zone = match raw.as_str() {
        "" => None,
        z => match z.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz.name().to_string()),
            Err(_) => {
                let mut errors = FieldErrors::new();
                crate::domain::add_error(
                    &mut errors,
                    "time_zone",
                    "Choose a time zone from the list, such as Europe/Stockholm.",
                );
                return Ok(zone_page(
                    &staff,
                    &s,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    false,
                    &raw,
                    &errors,
                ));
            }
        },
    };
    let mut tx = s.db.begin().await?;
    users::set_time_zone(&mut tx, staff.id, zone.as_deref()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/password?done=tz").into_response())
}

fn password_page(
    staff: &Staff,
    now: chrono::DateTime<chrono::Utc>,
    status: StatusCode,
    forced: bool,
    done: bool,
    errors: &FieldErrors,
) -> Response {
    let (summary, fe) = errors_context(errors);
    render_account(
        staff,
        now,
        // Not the staff member's own zone: shown as the default only when it is not theirs.
        staff.tz,
        status,
        json!({ "forced": forced, "done": done, "errors": summary, "fe": fe }),
        errors,
    )
}

/// The account page: the password form and the time zone form. `extra` holds each form's
/// outcome; `instance_tz` is the zone used when a staff member has not chosen one.
fn render_account(
    staff: &Staff,
    now: chrono::DateTime<chrono::Utc>,
    instance_tz: chrono_tz::Tz,
    status: StatusCode,
    mut extra: Value,
    errors: &FieldErrors,
) -> Response {
    let current = if staff.own_tz { staff.tz.name() } else { "" };
    let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    names.sort_unstable();
    let zones: Vec<Value> = names
        .iter()
        .map(|n| json!({ "value": n, "selected": *n == current }))
        .collect();
    let default_tz = if staff.own_tz {
        None
    } else {
        Some(instance_tz.name())
    };
    if let Some(o) = extra.as_object_mut() {
        o.insert("email".into(), json!(staff.email));
        o.insert(
            "min_len".into(),
            json!(crate::domain::staff::MIN_PASSWORD_LEN),
        );
        o.insert("zones".into(), json!(zones));
        o.insert("zone_now".into(), json!(staff.time(now)));
        o.insert("zone_name".into(), json!(staff.tz.name()));
        o.insert("zone_default".into(), json!(default_tz));
    }
    pages::render_in(
        status,
        "admin_password",
        &pages::form_title("Change your password", errors),
        extra,
        &staff.shell(""),
    )
}

/// Changes the signed-in person's own password: the current one is checked first (a
/// session left open is not enough), and every other session of theirs ends.
pub async fn change_password(
    PasswordChange(staff, forced): PasswordChange,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let [current, new, confirm] = ["current", "new", "confirm"].map(|f| untrimmed(&pairs, f));
    let mut errors = FieldErrors::new();
    let min = crate::domain::staff::MIN_PASSWORD_LEN;
    if current.is_empty() {
        crate::domain::add_error(&mut errors, "current", "Enter your current password.");
    }
    if new.chars().count() < min {
        crate::domain::add_error(
            &mut errors,
            "new",
            format!("Choose a new password of at least {min} characters."),
        );
    } else if new == current {
        crate::domain::add_error(
            &mut errors,
            "new",
            "Choose a password different from the current one.",
        );
    }
    if confirm != new {
        crate::domain::add_error(&mut errors, "confirm", "Type the same new password again.");
    }
    if errors.is_empty() {
        let hash = users::credentials(&s.db, &staff.email)
            .await?
            .map(|c| c.password_hash);
        if !crate::usecases::staff::check_password(current, hash).await {
            crate::domain::add_error(&mut errors, "current", "That is not your current password.");
        }
    }
    if !errors.is_empty() {
        return Ok(password_page(
            &staff,
            s.db.now(),
            StatusCode::UNPROCESSABLE_ENTITY,
            forced,
            false,
            &errors,
        ));
    }
    crate::usecases::staff::change_own_password(&s.db, staff.id, &staff.session, &new).await?;
    tracing::info!(user_id = %staff.id, "staff password changed");
    Ok(Redirect::to("/admin/password?done=1").into_response())
}

/// How long the answer to the `n`th failed sign-in in a row waits: nothing for the first
/// two, then doubling from a quarter of a second, at most four seconds.
pub fn failure_delay(n: i64) -> std::time::Duration {
    if n < 3 {
        return std::time::Duration::ZERO;
    }
    let ms = 250u64 << (n - 3).min(4);
    std::time::Duration::from_millis(ms)
}

/// One field of a form exactly as typed, for passwords (spaces at either end are part of them);
/// "" when absent or not UTF-8.
pub(crate) fn untrimmed(pairs: &form::Pairs, name: &str) -> String {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref().ok())
        .unwrap_or("")
        .to_string()
}

/// One field of a URL-encoded form, trimmed; "" when absent or not UTF-8.
pub fn field<'a>(pairs: &'a form::Pairs, name: &str) -> &'a str {
    form::first(pairs, name).unwrap_or("")
}
