//! Sends queued email. Rows are claimed in batches under a lease, rendered, sent concurrently up
//! to the SMTP pool size, and marked sent, retried with exponential backoff, or failed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

use super::{Mailer, Renderer, SendError};
use crate::config::Settings;
use crate::domain::application::Status;
use crate::domain::now;
use crate::domain::token::SecretToken;
use crate::store::{self, outbox, tokens, Db};

pub struct Dispatcher {
    db: Db,
    mailer: Mailer,
    renderer: Arc<Renderer>,
    settings: Arc<Settings>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    /// Identifies this dispatcher's leases; unique per process start.
    worker: String,
    stopping: AtomicBool,
}

/// What one round did, so callers (and tests) can tell an empty queue from work done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

enum Outcome {
    Sent,
    Retried,
    Failed,
    Skipped,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        mailer: Mailer,
        renderer: Arc<Renderer>,
        settings: Arc<Settings>,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = settings.mail.from.parse()?;
        let reply_to = match &settings.mail.reply_to {
            Some(r) => Some(r.parse()?),
            None => None,
        };
        Ok(Self {
            db,
            mailer,
            renderer,
            settings,
            from,
            reply_to,
            worker: format!("dispatcher-{}", Uuid::now_v7()),
            stopping: AtomicBool::new(false),
        })
    }

    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Claims one batch of due rows and delivers them.
    pub async fn run_once(&self) -> anyhow::Result<Round> {
        let now = now();
        let lease = now + chrono::Duration::seconds(self.settings.outbox.lease_secs);
        let rows = outbox::claim(
            &self.db,
            &self.worker,
            now,
            lease,
            self.settings.outbox.batch_size,
        )
        .await?;
        let mut round = Round {
            claimed: rows.len(),
            ..Round::default()
        };
        let outcomes: Vec<anyhow::Result<Outcome>> = futures_util::stream::iter(rows)
            .map(|row| self.deliver(row))
            .buffer_unordered(self.settings.mail.pool_size as usize)
            .collect()
            .await;
        for o in outcomes {
            match o? {
                Outcome::Sent => round.sent += 1,
                Outcome::Retried => round.retried += 1,
                Outcome::Failed => round.failed += 1,
                Outcome::Skipped => {}
            }
        }
        Ok(round)
    }

    /// Runs until `shutdown` turns true: rounds back to back while there is work, a short sleep
    /// when the queue is empty. Sends in flight finish; claimed rows not yet sent are released.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.settings.outbox.poll_interval_ms);
        let mut wake = {
            let me = self.clone();
            let mut rx = shutdown.clone();
            tokio::spawn(async move {
                let _ = rx.wait_for(|s| *s).await;
                me.stopping.store(true, Ordering::SeqCst);
            })
        };
        loop {
            if *shutdown.borrow() {
                break;
            }
            let pause = match self.run_once().await {
                Ok(r) if r.claimed > 0 => Duration::ZERO,
                Ok(_) => idle,
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed");
                    idle.max(Duration::from_secs(1))
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        wake.abort();
        let _ = (&mut wake).await;
        match outbox::release(&self.db, &self.worker).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released outbox leases"),
            Err(e) => tracing::error!(error = %e, "could not release outbox leases"),
        }
    }

    async fn deliver(&self, row: outbox::Claimed) -> anyhow::Result<Outcome> {
        if self.stopping.load(Ordering::SeqCst) {
            // Left claimed; `run` releases it so another instance sends it promptly.
            return Ok(Outcome::Skipped);
        }
        let message = match self.build(&row).await {
            Ok(m) => m,
            Err(e) => {
                // A message we cannot build will not build on retry either.
                tracing::error!(outbox_id = %row.id, template = %row.template, error = %e, "email could not be built");
                outbox::mark_failed(
                    &self.db,
                    row.id,
                    &self.worker,
                    &format!("could not build the message: {e:#}"),
                    now(),
                )
                .await?;
                return Ok(Outcome::Failed);
            }
        };
        let result = self
            .mailer
            .send(message, &row.id.to_string(), self.settings.send_timeout())
            .await;
        let now = now();
        Ok(match result {
            Ok(response) => {
                outbox::mark_sent(&self.db, row.id, &self.worker, &response, now).await?;
                tracing::info!(outbox_id = %row.id, template = %row.template, "email sent");
                Outcome::Sent
            }
            Err(SendError::Permanent(e)) => {
                tracing::warn!(outbox_id = %row.id, error = %e, "email rejected permanently");
                outbox::mark_failed(&self.db, row.id, &self.worker, &e, now).await?;
                Outcome::Failed
            }
            Err(SendError::Temporary(e)) if row.attempts >= self.settings.outbox.max_attempts => {
                let msg = format!("gave up after {} attempts: {e}", row.attempts);
                tracing::warn!(outbox_id = %row.id, error = %msg, "email failed");
                outbox::mark_failed(&self.db, row.id, &self.worker, &msg, now).await?;
                Outcome::Failed
            }
            Err(SendError::Temporary(e)) => {
                let next = now + self.backoff(row.attempts);
                tracing::warn!(outbox_id = %row.id, attempt = row.attempts, error = %e, retry_at = %next, "email send failed, will retry");
                outbox::mark_retry(&self.db, row.id, &self.worker, &e, next).await?;
                Outcome::Retried
            }
        })
    }

    /// Delay before retry number `attempts` (1-based): base, 2×base, 4×base … capped.
    pub fn backoff(&self, attempts: i64) -> chrono::Duration {
        let o = &self.settings.outbox;
        let secs = (o.retry_base_secs * 2f64.powi((attempts - 1).clamp(0, 30) as i32))
            .min(o.retry_max_secs);
        chrono::Duration::milliseconds((secs * 1000.0) as i64)
    }

    async fn build(&self, row: &outbox::Claimed) -> anyhow::Result<Message> {
        if !self.renderer.has(&row.template) {
            anyhow::bail!("unknown email template {:?}", row.template);
        }
        let mut data: Value = serde_json::from_str(&row.payload)?;
        self.add_links(&row.template, &mut data).await?;
        let content = self.renderer.render(&row.template, &data)?;
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(row.recipient.parse()?)
            .subject(content.subject)
            // Derived from the outbox row, so a resend after a crash carries the same id.
            .message_id(Some(format!("<{}@{}>", row.id, domain)));
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        Ok(builder.multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(content.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(content.html),
                ),
        )?)
    }

    /// Links carry secrets, so they are minted here, at send time, and never stored in the
    /// outbox: only their hash reaches the database.
    async fn add_links(&self, template: &str, data: &mut Value) -> anyhow::Result<()> {
        let (purpose, ttl, key) = match template {
            "verify_email" => (
                tokens::VERIFY_EMAIL,
                chrono::Duration::hours(self.settings.verify_token_ttl_hours),
                "verify_url",
            ),
            "email_verified" => (
                tokens::STATUS,
                chrono::Duration::days(self.settings.status_token_ttl_days),
                "status_url",
            ),
            _ => return Ok(()),
        };
        let app_id: Uuid = data["application_id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("payload has no application_id"))?
            .parse()?;
        let token = SecretToken::generate();
        let now = now();
        let mut tx = self.db.begin().await?;
        tokens::insert(&mut tx, &token.hash(), app_id, purpose, now + ttl, now).await?;
        let app = store::applications::get_tx(&mut tx, app_id).await?;
        tx.commit().await?;
        let path = if purpose == tokens::VERIFY_EMAIL {
            "verify"
        } else {
            "status"
        };
        data[key] = json!(format!(
            "{}/{path}/{}",
            self.settings.base_url(),
            token.as_str()
        ));
        data["expires_days"] = json!(self.settings.verify_token_ttl_hours / 24);
        let status = Status::parse(&app.status).unwrap_or(Status::Applied);
        data["status_label"] = json!(status.label());
        Ok(())
    }
}

/// Sends everything that is due now, round after round, until a round finds nothing. For tests,
/// `onramp outbox drain`, and seed runs.
pub async fn drain(d: &Dispatcher) -> anyhow::Result<Round> {
    let mut total = Round::default();
    loop {
        let r = d.run_once().await?;
        if r.claimed == 0 {
            return Ok(total);
        }
        total.claimed += r.claimed;
        total.sent += r.sent;
        total.retried += r.retried;
        total.failed += r.failed;
    }
}
