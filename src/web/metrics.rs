//! Metrics in Prometheus text format, through the `metrics` facade and its Prometheus exporter.
//! Each `Application` has its own recorder (tests run many in one process), so values are
//! recorded through `Metrics::record`. Per-route labels use the route pattern
//! (`/verify/{token}`), never the concrete path, so tokens stay out of metrics.
//!
//! A scrape never touches the database: the gauges of applications by status and emails by
//! state are refreshed by a timer (`metrics_refresh_secs`), so scraping in a loop costs a
//! render of in-memory values and nothing else.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::domain::application::Status;
use crate::store::{applications, outbox, Db, StoreError};

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let m = Self { recorder, handle };
        m.record(|| {
            metrics::describe_counter!(
                "onramp_http_requests_total",
                "HTTP requests by route and status."
            );
            metrics::describe_histogram!(
                "onramp_http_request_duration_seconds",
                metrics::Unit::Seconds,
                "HTTP request latency by route."
            );
            metrics::describe_gauge!("onramp_applications", "Applications by pipeline status.");
            metrics::describe_gauge!("onramp_outbox_emails", "Emails in the outbox by state.");
            metrics::describe_counter!(
                "onramp_refused_total",
                "Requests refused before any work: rate limits, bot traps, locked sign-ins."
            );
            metrics::describe_counter!(
                "onramp_moves_total",
                "Applicants moved between stages, by the stage they went to."
            );
            metrics::describe_counter!(
                "onramp_bulk_actions_total",
                "Bulk actions carried out (not repeats of one), by action."
            );
            metrics::describe_counter!(
                "onramp_bulk_rows_total",
                "Applicants a bulk action changed, by action."
            );
            metrics::describe_counter!(
                "onramp_exports_total",
                "Applicant data exports, by format (csv, json)."
            );
        });
        m
    }
}

impl Metrics {
    /// Runs `f` with this application's recorder, so the `metrics` macros inside it land here.
    pub fn record(&self, f: impl FnOnce()) {
        metrics::with_local_recorder(&self.recorder, f);
    }

    pub fn observe(&self, method: &'static str, route: String, status: u16, elapsed: Duration) {
        self.record(|| {
            counter!("onramp_http_requests_total", "method" => method, "route" => route.clone(),
                "status" => status.to_string())
            .increment(1);
            histogram!("onramp_http_request_duration_seconds", "method" => method, "route" => route)
                .record(elapsed.as_secs_f64());
        });
    }

    /// Applicants moved to stage `to` (a stage id the pipeline checked).
    pub fn moved(&self, to: &str, n: usize) {
        let to = to.to_string();
        self.record(|| counter!("onramp_moves_total", "to" => to).increment(n as u64));
    }

    /// A bulk action carried out, and how many applicants it changed.
    pub fn bulk(&self, action: &'static str, rows: usize) {
        self.record(|| {
            counter!("onramp_bulk_actions_total", "action" => action).increment(1);
            counter!("onramp_bulk_rows_total", "action" => action).increment(rows as u64);
        });
    }

    /// An export of applicant data.
    pub fn exported(&self, format: &'static str) {
        self.record(|| counter!("onramp_exports_total", "format" => format).increment(1));
    }

    /// A request turned away before any work, by `why` (a fixed word, never client data).
    pub fn refused(&self, why: &'static str) {
        self.record(|| counter!("onramp_refused_total", "reason" => why).increment(1));
    }

    /// Counts rows by state and sets the gauges; the timer calls this, never a scrape.
    pub async fn refresh_gauges(&self, db: &Db) -> Result<(), StoreError> {
        let (apps, mail) = tokio::try_join!(
            applications::count_by_status(db),
            outbox::count_by_status(db)
        )?;
        let count = |rows: &[(String, i64)], k: &str| {
            rows.iter().find(|(s, _)| s == k).map_or(0, |(_, n)| *n) as f64
        };
        self.record(|| {
            for st in Status::ALL {
                gauge!("onramp_applications", "status" => st.as_str())
                    .set(count(&apps, st.as_str()));
            }
            for st in outbox::STATES {
                gauge!("onramp_outbox_emails", "state" => st).set(count(&mail, st));
            }
        });
        self.handle.run_upkeep();
        Ok(())
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Refreshes the gauges every `every` until `stop` turns true.
pub async fn refresh_loop(
    metrics: std::sync::Arc<Metrics>,
    db: Db,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Start-up counted already (`Application::build`): the first refresh is one period later.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = metrics.refresh_gauges(&db).await {
                    tracing::warn!(error = %e, "refreshing the metrics gauges failed");
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    // Clients choose the method; only standard ones become labels, so the series stay bounded.
    let method = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    metrics.observe(method, route, resp.status().as_u16(), start.elapsed());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("POST", "/apply".into(), 303, Duration::from_millis(3));
        m.observe("POST", "/apply".into(), 303, Duration::from_millis(30));
        m.observe("POST", "/apply".into(), 422, Duration::from_millis(1));
        let out = m.render();
        assert!(
            out.contains(
                "onramp_http_requests_total{method=\"POST\",route=\"/apply\",status=\"303\"} 2"
            ),
            "{out}"
        );
        assert!(out.contains("route=\"/apply\",le=\"0.005\"} 2"), "{out}");
        assert!(out.contains("route=\"/apply\",le=\"+Inf\"} 3"), "{out}");
        // Another application's recorder sees none of it.
        assert!(!Metrics::default().render().contains("/apply"));
    }
}
