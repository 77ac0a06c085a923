//! What applicants see: the signup form, email verification, the skills quiz and their status
//! page. The pages every link shares (a link that no longer works, a link already used) live
//! here, each with the one action that gets the person going again.

pub mod apply;
pub mod offer;
pub mod quiz;
pub mod status;
pub mod unsubscribe;
pub mod verify;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

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

/// A fresh status link for applicant `id`, and the redirect to it: the way from a quiz or
/// offer page (whose own link the applicant holds) to their status page.
pub async fn to_status_page(
    s: &AppState,
    id: uuid::Uuid,
) -> Result<axum::response::Response, super::PageError> {
    let token = crate::usecases::intake::status_link(&s.db, &s.settings, id).await?;
    Ok(axum::response::Redirect::to(&format!("/status/{}", token.as_str())).into_response())
}

pub async fn home(axum::extract::State(s): axum::extract::State<AppState>) -> impl IntoResponse {
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

pub async fn privacy(axum::extract::State(s): axum::extract::State<AppState>) -> impl IntoResponse {
    pages::render(
        axum::http::StatusCode::OK,
        "privacy",
        "Privacy notice",
        json!({
            "months": s.settings.jobs.retention_months,
            "agent_months": s.settings.jobs.agent_retention_months,
        }),
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::JS,
    )
}

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::CSS,
    )
}

/// The site's icon, which browsers ask for on every page.
pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        pages::FAVICON,
    )
}
