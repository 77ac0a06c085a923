//! Who may call what: every route of the site, pages and API alike, is listed once in
//! `routes`, with the audience allowed on it. The router is built from this list, and each
//! route's guard is made from its row, so a route cannot exist without one. The staff
//! navigation reads its roles from here too.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use super::admin::{self, PasswordChange};
use super::api::{self, ApiKey};
use super::limits::RateLimits;
use super::{manager, ops, public, AppError, AppState};
use crate::domain::staff::{KeyRole, Role};

/// The audience of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Whoever holds the applicant link in the path (`{token}`); the handler checks the link.
    Link,
    /// Any signed-in staff member, even one who must first change a printed password: their
    /// own account (changing the password).
    OwnAccount,
    /// A signed-in staff member of one of these roles.
    Staff(&'static [Role]),
    /// An API key with one of these roles.
    Key(&'static [KeyRole]),
    /// Prometheus, with the metrics token (or on the metrics address).
    Metrics,
}

pub const EVERY_STAFF_ROLE: &[Role] = &[Role::Admin, Role::Recruiter, Role::Manager];
pub const RECRUITING: &[Role] = &[Role::Admin, Role::Recruiter];
pub const ADMINS: &[Role] = &[Role::Admin];
pub const EVERY_KEY_ROLE: &[KeyRole] = &KeyRole::ALL;
pub const RECRUITING_KEYS: &[KeyRole] = &[KeyRole::Recruiter, KeyRole::Admin];
/// Keys that may read applicants: managers read, they do not act.
pub const ADMIN_KEYS: &[KeyRole] = &[KeyRole::Admin];
pub const READING_KEYS: &[KeyRole] = &[KeyRole::Recruiter, KeyRole::Manager, KeyRole::Admin];
/// The managers' report and the headcount behind it.
pub const REPORTING: &[Role] = &[Role::Admin, Role::Manager];
pub const REPORTING_KEYS: &[KeyRole] = &[KeyRole::Manager, KeyRole::Admin];

/// One row of the table: a method and path, who may call it, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn row(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

/// Every route of the public port. Paths under `/admin` and `/api` are written in full.
pub fn routes(limits: &RateLimits) -> Vec<Route> {
    use admin::{
        applicants, cohorts, emails, jobs, outbox_page, questions, quizzes, team, webhooks,
    };
    use public::{apply, offer, quiz, status, unsubscribe, verify};
    use Access::*;
    let (g, p) = (Method::GET, Method::POST);
    vec![
        // The public site.
        row(g.clone(), "/", Public, get(public::home)),
        row(g.clone(), "/privacy", Public, get(public::privacy)),
        row(g.clone(), "/static/app.css", Public, get(public::css)),
        row(g.clone(), "/static/app.js", Public, get(public::js)),
        row(g.clone(), "/favicon.ico", Public, get(public::favicon)),
        row(g.clone(), "/apply", Public, get(apply::show)),
        row(
            p.clone(),
            "/apply",
            Public,
            // Limited inside the handler (`RateLimits::signup_wait`), which keeps the form.
            post(apply::submit),
        ),
        row(g.clone(), "/apply/thanks", Public, get(apply::thanks)),
        row(
            p.clone(),
            "/apply/fix",
            Public,
            post(apply::fix).route_layer(limits.links()),
        ),
        row(
            g.clone(),
            "/verify/resend",
            Public,
            get(verify::resend_form),
        ),
        row(
            p.clone(),
            "/verify/resend",
            Public,
            post(verify::resend).route_layer(limits.links()),
        ),
        row(
            p.clone(),
            "/links/renew",
            Public,
            post(verify::renew).route_layer(limits.links()),
        ),
        // What an applicant's links open.
        row(g.clone(), "/verify/{token}", Link, get(verify::show)),
        row(p.clone(), "/verify/{token}", Link, post(verify::confirm)),
        row(g.clone(), "/status/{token}", Link, get(status::show)),
        row(
            p.clone(),
            "/status/{token}/checklist/{item}",
            Link,
            post(status::tick),
        ),
        row(g.clone(), "/offer/{token}", Link, get(offer::show)),
        row(p.clone(), "/offer/{token}", Link, post(offer::answer)),
        row(
            p.clone(),
            "/offer/{token}/status",
            Link,
            post(offer::to_status),
        ),
        row(
            p.clone(),
            "/status/{token}/offer",
            Link,
            post(status::open_offer),
        ),
        row(
            g.clone(),
            "/unsubscribe/{token}",
            Link,
            get(unsubscribe::show),
        ),
        row(
            p.clone(),
            "/unsubscribe/{token}",
            Link,
            post(unsubscribe::confirm),
        ),
        row(
            p.clone(),
            "/status/{token}/quiz",
            Link,
            post(status::open_quiz),
        ),
        row(
            g.clone(),
            "/status/{token}/export",
            Link,
            get(status::export),
        ),
        row(g.clone(), "/quiz/{token}", Link, get(quiz::show)),
        row(p.clone(), "/quiz/{token}/start", Link, post(quiz::start)),
        row(g.clone(), "/quiz/{token}/q/{n}", Link, get(quiz::question)),
        row(p.clone(), "/quiz/{token}/q/{n}", Link, post(quiz::answer)),
        row(g.clone(), "/quiz/{token}/review", Link, get(quiz::review)),
        row(p.clone(), "/quiz/{token}/submit", Link, post(quiz::submit)),
        row(
            p.clone(),
            "/quiz/{token}/status",
            Link,
            post(quiz::to_status),
        ),
        // Staff.
        row(g.clone(), "/admin/login", Public, get(admin::login_form)),
        row(
            p.clone(),
            "/admin/login",
            Public,
            post(admin::login).route_layer(limits.sign_in()),
        ),
        row(p.clone(), "/admin/logout", Public, post(admin::logout)),
        row(
            g.clone(),
            "/admin/password",
            OwnAccount,
            get(admin::password_form),
        ),
        row(
            p.clone(),
            "/admin/password",
            OwnAccount,
            post(admin::change_password).route_layer(limits.sign_in()),
        ),
        row(
            p.clone(),
            "/admin/password/time-zone",
            OwnAccount,
            post(admin::set_time_zone),
        ),
        row(
            g.clone(),
            "/admin",
            Staff(EVERY_STAFF_ROLE),
            get(admin::home),
        ),
        row(
            g.clone(),
            "/admin/applicants",
            Staff(EVERY_STAFF_ROLE),
            get(applicants::list),
        ),
        row(
            g.clone(),
            "/admin/applicants.csv",
            Staff(EVERY_STAFF_ROLE),
            get(applicants::csv),
        ),
        row(
            p.clone(),
            "/admin/applicants/bulk",
            Staff(RECRUITING),
            post(applicants::bulk_confirm),
        ),
        row(
            p.clone(),
            "/admin/applicants/bulk/run",
            Staff(RECRUITING),
            post(applicants::bulk_run),
        ),
        row(
            g.clone(),
            "/admin/applicants/{id}",
            Staff(EVERY_STAFF_ROLE),
            get(applicants::detail),
        ),
        row(
            p.clone(),
            "/admin/applicants/{id}/move",
            Staff(RECRUITING),
            post(applicants::move_one),
        ),
        row(
            p.clone(),
            "/admin/applicants/{id}/notes",
            Staff(RECRUITING),
            post(applicants::add_note),
        ),
        row(
            p.clone(),
            "/admin/applicants/{id}/tags",
            Staff(RECRUITING),
            post(applicants::set_tag),
        ),
        row(
            p.clone(),
            "/admin/applicants/{id}/merge",
            Staff(RECRUITING),
            post(applicants::merge),
        ),
        row(
            g.clone(),
            "/admin/cohorts",
            Staff(EVERY_STAFF_ROLE),
            get(cohorts::list),
        ),
        row(
            p.clone(),
            "/admin/cohorts",
            Staff(RECRUITING),
            post(cohorts::create),
        ),
        row(
            g.clone(),
            "/admin/cohorts/{id}",
            Staff(EVERY_STAFF_ROLE),
            get(cohorts::detail),
        ),
        row(
            p.clone(),
            "/admin/cohorts/{id}/status",
            Staff(RECRUITING),
            post(cohorts::set_status),
        ),
        row(
            p.clone(),
            "/admin/cohorts/{id}/activate",
            Staff(RECRUITING),
            post(cohorts::activate_ready),
        ),
        row(
            p.clone(),
            "/admin/cohorts/{id}/members/{member}/checklist",
            Staff(RECRUITING),
            post(cohorts::save_ticks),
        ),
        row(
            p.clone(),
            "/admin/cohorts/{id}/checklist",
            Staff(RECRUITING),
            post(cohorts::save_grid),
        ),
        row(
            p.clone(),
            "/admin/cohorts/{id}/members/{member}/step",
            Staff(RECRUITING),
            post(cohorts::step),
        ),
        row(
            g.clone(),
            "/admin/questions",
            Staff(RECRUITING),
            get(questions::list),
        ),
        row(
            p.clone(),
            "/admin/questions",
            Staff(RECRUITING),
            post(questions::create),
        ),
        row(
            g.clone(),
            "/admin/questions/new",
            Staff(RECRUITING),
            get(questions::new_form),
        ),
        row(
            g.clone(),
            "/admin/questions/{slug}",
            Staff(RECRUITING),
            get(questions::edit_form),
        ),
        row(
            p.clone(),
            "/admin/questions/{slug}",
            Staff(RECRUITING),
            post(questions::update),
        ),
        row(
            g.clone(),
            "/admin/quizzes",
            Staff(RECRUITING),
            get(quizzes::list),
        ),
        row(
            p.clone(),
            "/admin/quizzes",
            Staff(RECRUITING),
            post(quizzes::create),
        ),
        row(
            g.clone(),
            "/admin/quizzes/new",
            Staff(RECRUITING),
            get(quizzes::new_form),
        ),
        row(
            g.clone(),
            "/admin/quizzes/{slug}",
            Staff(RECRUITING),
            get(quizzes::edit_form),
        ),
        row(
            p.clone(),
            "/admin/quizzes/{slug}",
            Staff(RECRUITING),
            post(quizzes::update),
        ),
        row(
            g.clone(),
            "/admin/quizzes/{slug}/analysis",
            Staff(RECRUITING),
            get(quizzes::analysis_page),
        ),
        row(
            g.clone(),
            "/admin/quizzes/{slug}/analysis.json",
            Staff(RECRUITING),
            get(quizzes::analysis_session_json),
        ),
        row(
            g.clone(),
            "/admin/emails",
            Staff(RECRUITING),
            get(emails::list),
        ),
        row(
            p.clone(),
            "/admin/emails/{id}/retry",
            Staff(RECRUITING),
            post(emails::retry),
        ),
        row(
            g.clone(),
            "/admin/users",
            Staff(ADMINS),
            get(team::users_page),
        ),
        row(p.clone(), "/admin/users", Staff(ADMINS), post(team::invite)),
        row(
            p.clone(),
            "/admin/users/{id}/role",
            Staff(ADMINS),
            post(team::set_role),
        ),
        row(
            p.clone(),
            "/admin/users/{id}/disable",
            Staff(ADMINS),
            post(team::deactivate),
        ),
        row(
            g.clone(),
            "/admin/audit",
            Staff(ADMINS),
            get(team::audit_page),
        ),
        // The managers' report.
        row(
            g.clone(),
            "/reports",
            Staff(REPORTING),
            get(manager::reports),
        ),
        row(
            g.clone(),
            "/reports/replacement.csv",
            Staff(REPORTING),
            get(manager::replacement_csv),
        ),
        row(
            p.clone(),
            "/reports/headcount",
            Staff(REPORTING),
            post(manager::record_headcount),
        ),
        row(
            g.clone(),
            "/admin/webhooks",
            Staff(ADMINS),
            get(webhooks::list),
        ),
        row(g.clone(), "/admin/jobs", Staff(ADMINS), get(jobs::list)),
        row(
            g.clone(),
            "/admin/outbox",
            Staff(ADMINS),
            get(outbox_page::list),
        ),
        row(
            g.clone(),
            "/admin/outbox/preview/{template}",
            Staff(ADMINS),
            get(outbox_page::preview),
        ),
        row(
            g.clone(),
            "/admin/outbox/preview/{template}/html",
            Staff(ADMINS),
            get(outbox_page::preview_html),
        ),
        row(
            p.clone(),
            "/admin/outbox/{id}/retry",
            Staff(ADMINS),
            post(outbox_page::retry),
        ),
        row(
            p.clone(),
            "/admin/outbox/{id}/cancel",
            Staff(ADMINS),
            post(outbox_page::cancel),
        ),
        row(
            p.clone(),
            "/admin/jobs/{name}/run",
            Staff(ADMINS),
            post(jobs::run),
        ),
        row(
            p.clone(),
            "/admin/jobs/{name}/switch",
            Staff(ADMINS),
            post(jobs::switch),
        ),
        row(
            p.clone(),
            "/admin/webhooks",
            Staff(ADMINS),
            post(webhooks::create),
        ),
        row(
            p.clone(),
            "/admin/webhooks/{id}/delete",
            Staff(ADMINS),
            post(webhooks::delete),
        ),
        row(
            p.clone(),
            "/admin/webhooks/{id}/enable",
            Staff(ADMINS),
            post(webhooks::enable),
        ),
        // A staff invitation: the handler checks the single-use link in the path.
        row(
            g.clone(),
            "/admin/invite/{token}",
            Public,
            get(team::invite_form),
        ),
        row(
            p.clone(),
            "/admin/invite/{token}",
            Public,
            post(team::accept_invite).route_layer(limits.links()),
        ),
        // The API.
        row(g.clone(), "/api/openapi.json", Public, get(api::openapi)),
        row(
            p.clone(),
            "/api/v1/applications",
            Key(EVERY_KEY_ROLE),
            post(api::applications::create).route_layer(limits.api_signup()),
        ),
        row(
            g.clone(),
            "/api/v1/applications",
            Key(READING_KEYS),
            get(api::applicants::list),
        ),
        row(
            g.clone(),
            "/api/v1/applications.csv",
            Key(READING_KEYS),
            get(api::applicants::csv),
        ),
        row(
            g.clone(),
            "/api/v1/applications/{id}",
            Key(READING_KEYS),
            get(api::applications::get_one),
        ),
        row(
            g.clone(),
            "/api/v1/applications/{id}/timeline",
            Key(READING_KEYS),
            get(api::applications::timeline),
        ),
        row(
            g.clone(),
            "/api/v1/applications/{id}/export",
            Key(ADMIN_KEYS),
            get(api::applications::export),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/erasure",
            Key(ADMIN_KEYS),
            post(api::applications::erase),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/tags",
            Key(RECRUITING_KEYS),
            post(api::applications::add_tag),
        ),
        row(
            Method::DELETE,
            "/api/v1/applications/{id}/tags/{tag}",
            Key(RECRUITING_KEYS),
            axum::routing::delete(api::applications::remove_tag),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/notes",
            Key(RECRUITING_KEYS),
            post(api::applications::create_note),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/moves",
            Key(RECRUITING_KEYS),
            post(api::applications::create_move),
        ),
        row(
            g.clone(),
            "/api/v1/audit",
            Key(ADMIN_KEYS),
            get(api::applications::audit_log),
        ),
        row(
            p.clone(),
            "/api/v1/cohorts",
            Key(RECRUITING_KEYS),
            post(api::cohorts::create),
        ),
        row(
            g.clone(),
            "/api/v1/cohorts/{id}",
            Key(READING_KEYS),
            get(api::cohorts::get_one),
        ),
        row(
            g.clone(),
            "/api/v1/cohorts",
            Key(READING_KEYS),
            get(api::cohorts::list),
        ),
        row(
            p.clone(),
            "/api/v1/cohorts/{id}/status",
            Key(RECRUITING_KEYS),
            post(api::cohorts::set_status),
        ),
        row(
            p.clone(),
            "/api/v1/cohorts/{id}/activate",
            Key(RECRUITING_KEYS),
            post(api::cohorts::activate_ready),
        ),
        row(
            p.clone(),
            "/api/v1/cohorts/{id}/offers",
            Key(RECRUITING_KEYS),
            post(api::cohorts::create_offers),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/checklist/{item}",
            Key(RECRUITING_KEYS),
            post(api::cohorts::tick),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/activate",
            Key(RECRUITING_KEYS),
            post(api::cohorts::activate),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/pause",
            Key(RECRUITING_KEYS),
            post(api::cohorts::pause),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/resume",
            Key(RECRUITING_KEYS),
            post(api::cohorts::resume),
        ),
        row(
            p.clone(),
            "/api/v1/applications/{id}/offboard",
            Key(RECRUITING_KEYS),
            post(api::cohorts::offboard),
        ),
        row(
            g.clone(),
            "/api/v1/quizzes/{slug}/item-analysis",
            Key(RECRUITING_KEYS),
            get(api::quizzes::item_analysis),
        ),
        row(
            g.clone(),
            "/api/v1/reports/replacement",
            Key(REPORTING_KEYS),
            get(api::reports::replacement),
        ),
        row(
            g.clone(),
            "/api/v1/reports/forecast",
            Key(REPORTING_KEYS),
            get(api::reports::forecast),
        ),
        row(
            g.clone(),
            "/api/v1/reports/funnel",
            Key(REPORTING_KEYS),
            get(api::reports::funnel),
        ),
        row(
            g.clone(),
            "/api/v1/reports/fairness",
            Key(REPORTING_KEYS),
            get(api::reports::fairness),
        ),
        row(
            g.clone(),
            "/api/v1/reports/quality",
            Key(REPORTING_KEYS),
            get(api::reports::quality),
        ),
        row(
            p.clone(),
            "/api/v1/headcount",
            Key(REPORTING_KEYS),
            post(api::reports::record_headcount),
        ),
        row(
            g.clone(),
            "/api/v1/headcount",
            Key(REPORTING_KEYS),
            get(api::reports::list_headcount),
        ),
        row(
            p.clone(),
            "/api/v1/webhooks",
            Key(ADMIN_KEYS),
            post(api::webhooks::create),
        ),
        row(
            g.clone(),
            "/api/v1/webhooks",
            Key(ADMIN_KEYS),
            get(api::webhooks::list),
        ),
        row(
            Method::DELETE,
            "/api/v1/webhooks/{id}",
            Key(ADMIN_KEYS),
            axum::routing::delete(api::webhooks::delete),
        ),
        // Operators.
        row(g.clone(), "/healthz", Public, get(|| async { "ok" })),
        row(g.clone(), "/readyz", Public, get(ops::readyz)),
        row(g, "/metrics", Metrics, get(ops::metrics_with_token)),
    ]
}

/// The roles a staff page is open to, from the table (for the navigation).
pub fn staff_roles(path: &str) -> &'static [Role] {
    static ROLES: std::sync::LazyLock<Vec<(&'static str, &'static [Role])>> =
        std::sync::LazyLock::new(|| {
            let limits = RateLimits::new(
                &super::limits::RateLimitSettings::default(),
                &[],
                std::sync::Arc::default(),
            );
            routes(&limits)
                .into_iter()
                .filter(|r| r.method == Method::GET)
                .filter_map(|r| match r.access {
                    Access::Staff(roles) => Some((r.path, roles)),
                    _ => None,
                })
                .collect()
        });
    ROLES
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(&[], |(_, r)| r)
}

/// The router for every row, each behind the guard its access calls for. Staff routes also
/// refuse cross-site form posts.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut r = Router::new();
    for route in routes(&state.limits) {
        let handler = match route.access {
            Access::Public | Access::Link | Access::Metrics => route.handler,
            Access::OwnAccount | Access::Staff(_) => route
                .handler
                .route_layer(axum::middleware::from_fn_with_state(
                    (state.clone(), route.access),
                    staff_guard,
                ))
                .route_layer(axum::middleware::from_fn(admin::same_site_only)),
            Access::Key(roles) => route
                .handler
                .route_layer(axum::middleware::from_fn_with_state(
                    (state.clone(), roles),
                    key_guard,
                )),
        };
        let handler = if route.path.starts_with("/admin") && route.access == Access::Public {
            handler.route_layer(axum::middleware::from_fn(admin::same_site_only))
        } else {
            handler
        };
        r = r.route(route.path, handler);
    }
    r
}

/// Signs the person in from their session and checks their role against the row. The staff
/// member found goes to the handler in the request's extensions, so it is looked up once.
async fn staff_guard(
    State((s, access)): State<(AppState, Access)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let PasswordChange(staff, must_change) =
        match PasswordChange::from_request_parts(&mut parts, &s).await {
            Ok(p) => p,
            Err(r) => return r,
        };
    match access {
        Access::OwnAccount => {}
        Access::Staff(_) if must_change => {
            return Redirect::to("/admin/password").into_response();
        }
        Access::Staff(roles) if !roles.contains(&staff.role) => {
            return staff.error(StatusCode::FORBIDDEN, admin::NOT_FOR_YOUR_ROLE);
        }
        _ => {}
    }
    parts.extensions.insert(PasswordChange(staff, must_change));
    next.run(Request::from_parts(parts, body)).await
}

/// Checks the API key against the row's roles; the key goes on to the handler.
async fn key_guard(
    State((s, roles)): State<(AppState, &'static [KeyRole])>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let key = match ApiKey::from_request_parts(&mut parts, &s).await {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    if !roles.contains(&key.role) {
        return AppError::Forbidden(
            "This API key's role does not allow this call. Ask an admin for a key with the role it needs.",
        )
        .into_response();
    }
    parts.extensions.insert(key);
    next.run(Request::from_parts(parts, body)).await
}
