//! Sends queued webhook deliveries: claimed in batches under a lease, POSTed as JSON with
//! `X-Onramp-Timestamp` and `X-Onramp-Signature: sha256=<hex>` (HMAC-SHA256 with the
//! endpoint's secret over `timestamp + "." + body`), and marked delivered on a 2xx answer or
//! retried with exponential backoff. An endpoint with 10 failed attempts within 24 hours is
//! disabled, with the reason stored for the admin page.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use crate::domain::webhooks::signature;
use crate::store::webhooks::{self, Claimed};
use crate::store::Db;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 12;
/// Failed attempts within `FAILURE_WINDOW` that disable an endpoint.
pub const DISABLE_AFTER: i64 = 10;
pub const FAILURE_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// First retry delay; it doubles each attempt, up to `RETRY_MAX`.
pub const RETRY_BASE: chrono::Duration = chrono::Duration::seconds(30);
pub const RETRY_MAX: chrono::Duration = chrono::Duration::hours(1);
/// The longest one POST may take, connection included.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: i64 = 32;
const IN_FLIGHT: usize = 8;
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// The delay before retry number `attempts` (1 after the first failure).
pub fn backoff(attempts: i64) -> chrono::Duration {
    let factor = 2i64.saturating_pow(attempts.clamp(1, 20) as u32 - 1);
    (RETRY_BASE * factor as i32).min(RETRY_MAX)
}

pub struct Sender {
    db: Db,
    client: reqwest::Client,
    worker: String,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Endpoints this round disabled.
    pub disabled: usize,
}

enum Outcome {
    Delivered,
    Retried,
    Failed,
}

impl Sender {
    pub fn new(db: Db) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .connect_timeout(SEND_TIMEOUT)
            // A redirect would send the signed body somewhere nobody registered.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("onramp-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            db,
            client,
            worker: format!("webhooks-{}", Uuid::now_v7()),
        })
    }

    /// Sends what is due now.
    pub async fn round(&self) -> anyhow::Result<Round> {
        self.round_at(self.db.now()).await
    }

    /// Sends what is due at `at` (tests move time forward with it).
    pub async fn round_at(&self, at: DateTime<Utc>) -> anyhow::Result<Round> {
        let claimed = webhooks::claim(&self.db, &self.worker, at, at + LEASE, BATCH).await?;
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let outcomes: Vec<anyhow::Result<(Outcome, bool)>> = futures_util::stream::iter(claimed)
            .map(|d| async move { self.send(d, at).await })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for o in outcomes {
            let (outcome, disabled) = o?;
            match outcome {
                Outcome::Delivered => round.delivered += 1,
                Outcome::Retried => round.retried += 1,
                Outcome::Failed => round.failed += 1,
            }
            round.disabled += usize::from(disabled);
        }
        Ok(round)
    }

    async fn send(&self, d: Claimed, at: DateTime<Utc>) -> anyhow::Result<(Outcome, bool)> {
        let timestamp = at.timestamp();
        let result = self
            .client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("x-onramp-event", &d.event)
            .header("x-onramp-delivery", d.id.to_string())
            .header("x-onramp-timestamp", timestamp.to_string())
            .header(
                "x-onramp-signature",
                signature(&d.secret, timestamp, &d.body),
            )
            .body(d.body.clone())
            .send()
            .await;
        let (ok, status, error) = match result {
            Ok(r) if r.status().is_success() => (true, Some(i64::from(r.status().as_u16())), None),
            Ok(r) => (
                false,
                Some(i64::from(r.status().as_u16())),
                Some(format!("HTTP {}", r.status())),
            ),
            Err(e) if e.is_timeout() => (
                false,
                None,
                Some(format!("timed out after {SEND_TIMEOUT:?}")),
            ),
            Err(e) => (false, None, Some(format!("could not connect: {e}"))),
        };
        if ok {
            webhooks::finish(&self.db, &self.worker, &d, true, status, None, None, at).await?;
            return Ok((Outcome::Delivered, false));
        }
        let next = (d.attempts < MAX_ATTEMPTS).then(|| at + backoff(d.attempts));
        webhooks::finish(
            &self.db,
            &self.worker,
            &d,
            false,
            status,
            error.as_deref(),
            next,
            at,
        )
        .await?;
        tracing::warn!(webhook = %d.webhook_id, event = %d.event, error = ?error, "webhook delivery failed");
        let failures =
            webhooks::failures_since(&self.db, d.webhook_id, at - FAILURE_WINDOW).await?;
        let disabled = failures >= DISABLE_AFTER
            && webhooks::disable(
                &self.db,
                d.webhook_id,
                &format!(
                    "Disabled on {} UTC after {failures} failed deliveries in 24 hours. The last \
                     one: {}. Fix the endpoint, then enable it again: waiting deliveries go out.",
                    at.format("%Y-%m-%d %H:%M"),
                    error.as_deref().unwrap_or("failed")
                ),
                at,
            )
            .await?;
        let outcome = if next.is_some() {
            Outcome::Retried
        } else {
            Outcome::Failed
        };
        Ok((outcome, disabled))
    }

    /// Sends until `stop` turns true, polling every `poll` when nothing is due.
    pub async fn run(self, poll: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            let idle = match self.round().await {
                Ok(r) => r.claimed == 0,
                Err(e) => {
                    tracing::error!(error = %e, "webhook round failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            } else if *stop.borrow() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        assert_eq!(backoff(1), chrono::Duration::seconds(30));
        assert_eq!(backoff(2), chrono::Duration::seconds(60));
        assert_eq!(backoff(5), chrono::Duration::seconds(480));
        assert_eq!(backoff(8), chrono::Duration::hours(1));
        assert_eq!(backoff(30), chrono::Duration::hours(1));
    }
}
