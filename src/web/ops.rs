//! For operators: liveness, readiness and Prometheus metrics. `/healthz` and `/readyz` are
//! public. `/metrics` is not: on the public port it answers only with `ONRAMP_METRICS_TOKEN` as a
//! bearer token (and is not there at all without one); `ONRAMP_METRICS_BIND` serves it on an
//! address of its own, for a network only Prometheus reaches.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::domain::token::hash_token;

/// What the metrics address (`ONRAMP_METRICS_BIND`) serves: metrics without a token, and health.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// `/metrics` on the public port: only with the configured bearer token.
pub async fn metrics_with_token(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = s.settings.metrics_token.as_deref() else {
        return super::PageError(super::AppError::NotFound(
            "We couldn't find that page. Check the address, or start again from the home page.",
        ))
        .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as hashes, so the time taken says nothing about how much of it matched.
    if hash_token(presented.trim()) != hash_token(expected) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "Send the metrics token as 'Authorization: Bearer <token>'.\n",
        )
            .into_response();
    }
    metrics(State(s)).await
}

/// A readiness probe gives up after about a second (Kubernetes' default); answer before it does,
/// so a database that hangs reads as "not ready" rather than as a probe that timed out.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

pub async fn readyz(State(s): State<AppState>) -> Response {
    match tokio::time::timeout(READY_WITHIN, s.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Err(_) => {
            tracing::warn!("database did not answer within {READY_WITHIN:?}");
            (StatusCode::SERVICE_UNAVAILABLE, "database not answering").into_response()
        }
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let out = s.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
