//! For operators: liveness, readiness and Prometheus metrics.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::domain::application::Status;
use crate::store::{applications, outbox};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::with_capacity(4096);
    s.metrics.render(&mut out);
    let (apps, mail) = match tokio::try_join!(
        applications::count_by_status(&s.db),
        outbox::count_by_status(&s.db)
    ) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "metrics query failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response();
        }
    };
    out.push_str("# HELP onramp_applications Applications by pipeline status.\n");
    out.push_str("# TYPE onramp_applications gauge\n");
    for st in Status::ALL {
        let n = apps
            .iter()
            .find(|(k, _)| k == st.as_str())
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "onramp_applications{{status=\"{}\"}} {n}", st.as_str());
    }
    out.push_str("# HELP onramp_outbox_emails Emails in the outbox by state.\n");
    out.push_str("# TYPE onramp_outbox_emails gauge\n");
    for st in [outbox::PENDING, outbox::SENT, outbox::FAILED] {
        let n = mail.iter().find(|(k, _)| k == st).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "onramp_outbox_emails{{state=\"{st}\"}} {n}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
