//! What applicants see: the signup form, email verification, the skills quiz and their status
//! page. The pages every link shares (a link that no longer works, a link already used) live
//! here, each with the one action that gets the person going again.

mod apply;
pub mod quiz;
mod status;
mod verify;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::limits::RateLimits;
use super::{pages, AppState};

/// A link that has expired, was never ours, or was replaced: says so, and offers a new link to
/// the address on file in one click (the form carries the presented token back), or to an
/// address typed in. Both answer the same whether or not we know the link or the address.
pub fn link_invalid(reason: &str, token: &str) -> axum::response::Response {
    pages::render(
        axum::http::StatusCode::GONE,
        "link_invalid",
        "Link no longer works",
        json!({ "reason": reason, "token": token, "email": "", "error": null, "errors": [] }),
    )
}

/// A single-use link that was used already: nothing is wrong, and the status page is one click
/// away (sent to the address on file). Shows nothing of the application, since a used link may
/// have been forwarded.
pub fn link_used(token: &str) -> axum::response::Response {
    pages::render(
        axum::http::StatusCode::GONE,
        "link_used",
        "Email already confirmed",
        json!({ "token": token }),
    )
}

pub fn router(limits: &RateLimits) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/privacy", get(privacy))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route(
            "/apply",
            get(apply::show)
                .post(apply::submit)
                .route_layer(limits.signup()),
        )
        .route("/apply/thanks", get(apply::thanks))
        .route("/apply/fix", post(apply::fix).route_layer(limits.links()))
        .route(
            "/verify/resend",
            get(verify::resend_form)
                .post(verify::resend)
                .route_layer(limits.links()),
        )
        .route("/verify/{token}", get(verify::show).post(verify::confirm))
        .route(
            "/links/renew",
            post(verify::renew).route_layer(limits.links()),
        )
        .route("/status/{token}", get(status::show))
        .route("/status/{token}/quiz", post(status::open_quiz))
        .route("/quiz/{token}", get(quiz::show))
        .route("/quiz/{token}/start", post(quiz::start))
        .route(
            "/quiz/{token}/q/{n}",
            get(quiz::question).post(quiz::answer),
        )
        .route("/quiz/{token}/review", get(quiz::review))
        .route("/quiz/{token}/submit", post(quiz::submit))
}

async fn home(axum::extract::State(s): axum::extract::State<AppState>) -> impl IntoResponse {
    let markets: Vec<&str> = s
        .settings
        .markets
        .iter()
        .filter_map(|m| crate::domain::iso::country_name(&m.country))
        .collect();
    let min_hours = s
        .settings
        .markets
        .iter()
        .map(|m| m.min_weekly_hours)
        .min()
        .unwrap_or(5);
    pages::render(
        axum::http::StatusCode::OK,
        "home",
        "Remote customer support jobs",
        json!({ "markets": markets.join(", "), "min_hours": min_hours }),
    )
}

async fn privacy() -> impl IntoResponse {
    pages::render(
        axum::http::StatusCode::OK,
        "privacy",
        "Privacy notice",
        json!({}),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::JS,
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::CSS,
    )
}
