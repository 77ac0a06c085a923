//! HTTP: one router per audience, merged here with the shared middleware.

pub mod access;
pub mod admin;
pub mod api;
pub mod chart;
pub mod error;
pub mod form;
pub mod headers;
pub mod limits;
pub mod listing;
pub mod manager;
pub mod metrics;
pub mod ops;
pub mod pages;
pub mod public;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{AppError, PageError};

use crate::config::Settings;
use crate::store::Db;

/// What every handler can reach. Built once at start-up.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub intake: crate::usecases::intake::Intake,
    pub settings: Arc<Settings>,
    pub metrics: Arc<metrics::Metrics>,
    pub limits: Arc<limits::RateLimits>,
    /// The email templates, for previews.
    pub renderer: Arc<crate::email::templates::Renderer>,
}

impl AppState {
    /// The stages and moves from the settings (checked at start, so this only fails if the
    /// settings changed under a running process).
    pub fn pipeline(&self) -> Result<crate::domain::pipeline::Pipeline, AppError> {
        crate::domain::pipeline::Pipeline::new(&self.settings.pipeline)
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

use headers::REQUEST_ID;

pub fn router(state: AppState) -> Router {
    pages::init();
    let limit = state.settings.max_body_bytes;
    Router::new()
        .merge(access::router(&state))
        .fallback(|| async {
            PageError(AppError::NotFound(
                "We couldn't find that page. Check the address, or start again from the home page.",
            ))
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        // The whole request, reading its body included (handlers read it inside this), has a
        // deadline: a client that sends its body a byte at a time is answered 408 and let go.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.settings.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::new())
        .layer(
            // One span per request, named by route pattern: no tokens, names or emails in logs.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".into());
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route)
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            headers::Https(state.settings.base_url().starts_with("https://")),
            headers::security_headers,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(headers::only_uuid_request_ids))
        .with_state(state)
}
