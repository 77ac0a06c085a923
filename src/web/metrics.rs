//! Request counts and latencies in Prometheus text format, kept in process. Per-route labels use
//! the route pattern (`/verify/{token}`), never the concrete path, so tokens stay out of metrics.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let mut lat = self.latency.lock().expect("metrics lock");
        let h = lat
            .entry((method.to_string(), route.to_string()))
            .or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Appends the HTTP metrics to `out`.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP onramp_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE onramp_http_requests_total counter\n");
        for ((m, r, s), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "onramp_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP onramp_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE onramp_http_request_duration_seconds histogram\n");
        for ((m, r), h) in self.latency.lock().expect("metrics lock").iter() {
            let labels = format!("method=\"{m}\",route=\"{r}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "onramp_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "onramp_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "onramp_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "onramp_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
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
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    metrics.observe(&method, &route, resp.status().as_u16(), start.elapsed());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("POST", "/apply", 303, Duration::from_millis(3));
        m.observe("POST", "/apply", 303, Duration::from_millis(30));
        m.observe("POST", "/apply", 422, Duration::from_millis(1));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains(
            "onramp_http_requests_total{method=\"POST\",route=\"/apply\",status=\"303\"} 2"
        ));
        assert!(out.contains("route=\"/apply\",le=\"0.005\"} 2"));
        assert!(out.contains("route=\"/apply\",le=\"+Inf\"} 3"));
    }
}
