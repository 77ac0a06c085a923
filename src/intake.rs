//! Applicant intake use cases: sign up, verify the email, ask for a new link. Each runs in one
//! transaction that writes the state change, its audit entry and any email together.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::application::{NewApplication, Status};
use crate::domain::email::EmailAddress;
use crate::domain::now;
use crate::domain::screening::{self, Outcome};
use crate::domain::token::hash_token;
use crate::store::outbox::{self, NewEmail};
use crate::store::{applications, tokens, Db, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: Uuid,
    pub status: Status,
    /// False when the email already had an application; nothing new was stored.
    pub created: bool,
}

/// Where a signup came from, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub enum Channel {
    Form,
    Api,
    Seed,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Form => "form",
            Channel::Api => "api",
            Channel::Seed => "seed",
        }
    }
}

/// Signups are written by one task in batches: every signup waiting when a transaction starts
/// goes into it, with one multi-row statement per table. SQLite has a single writer and each
/// statement is a round trip to its connection thread, so a transaction per signup caps throughput
/// at a few hundred a second; batching amortizes that without making any one signup wait for a
/// timer (a lone signup is written at once).
#[derive(Clone)]
pub struct Intake {
    jobs: mpsc::Sender<Job>,
}

struct Job {
    app: NewApplication,
    channel: Channel,
    reply: oneshot::Sender<Result<Submitted, StoreError>>,
}

/// Most signups in one transaction; keeps statements well under both engines' bind limits.
const MAX_BATCH: usize = 64;

impl Intake {
    /// Starts the writer task; it stops when the last `Intake` handle is dropped.
    pub fn start(db: Db, settings: Arc<Settings>) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(db, settings, rx));
        Self { jobs: tx }
    }

    /// Stores a new application after screening it, or, for an email we already have, changes
    /// nothing but (at most once per cooldown) sends the verification email again.
    pub async fn submit(
        &self,
        app: NewApplication,
        channel: Channel,
    ) -> Result<Submitted, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            app,
            channel,
            reply,
        };
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn write_batches(db: Db, settings: Arc<Settings>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch: Vec<Job> = std::mem::take(&mut jobs);
        let input: Vec<(&NewApplication, Channel)> =
            batch.iter().map(|j| (&j.app, j.channel)).collect();
        match write_batch(&db, &settings, &input).await {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            // One bad signup must not fail the others: write each on its own.
            Err(e) if batch.len() > 1 => {
                tracing::warn!(error = %e, signups = batch.len(), "signup batch failed; writing one by one");
                for job in batch {
                    let one = write_batch(&db, &settings, &[(&job.app, job.channel)]).await;
                    let _ = job.reply.send(one.map(|mut r| r.remove(0)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "signup failed");
                let job = batch.into_iter().next().expect("one job");
                let _ = job.reply.send(Err(StoreError::Batch(e.to_string())));
            }
        }
    }
}

/// One transaction for all `apps`; results in the same order.
async fn write_batch(
    db: &Db,
    settings: &Settings,
    apps: &[(&NewApplication, Channel)],
) -> Result<Vec<Submitted>, StoreError> {
    let now = now();
    struct Screened {
        id: Uuid,
        status: Status,
        results: Vec<screening::RuleResult>,
    }
    let screened: Vec<Screened> = apps
        .iter()
        .map(|(app, _)| {
            let (outcome, results) =
                screening::screen(app, &settings.screening_rules, &settings.markets);
            let status = match outcome {
                Outcome::Pass => Status::Applied,
                Outcome::Waitlisted => Status::Waitlisted,
                Outcome::Rejected => Status::Rejected,
            };
            Screened {
                id: Uuid::now_v7(),
                status,
                results,
            }
        })
        .collect();
    let mut tx = db.begin().await?;
    let mut rows: Vec<(Uuid, &NewApplication, &str)> = apps
        .iter()
        .zip(&screened)
        .map(|((app, _), s)| (s.id, *app, s.status.as_str()))
        .collect();
    // Instances inserting overlapping emails take the unique-index locks in the same order, so
    // they wait for each other instead of deadlocking (PostgreSQL).
    rows.sort_by(|a, b| a.1.email.as_str().cmp(b.1.email.as_str()));
    let inserted = applications::insert_many_if_new(&mut tx, &rows, now).await?;
    let is_new = |s: &Screened| inserted.contains(&s.id);

    let screening_rows: Vec<(Uuid, &[screening::RuleResult])> = screened
        .iter()
        .filter(|s| is_new(s))
        .map(|s| (s.id, s.results.as_slice()))
        .collect();
    applications::insert_screening(&mut tx, &screening_rows, now).await?;

    let mut events = Vec::new();
    let mut emails = Vec::new();
    for ((app, channel), s) in apps.iter().zip(&screened).filter(|(_, s)| is_new(s)) {
        events.push(applications::NewEvent {
            application_id: s.id,
            kind: "applied",
            detail: json!({
                "channel": channel.as_str(),
                "status": s.status.as_str(),
                "screening": s.results,
            }),
            actor: "applicant",
        });
        if matches!(channel, Channel::Seed) {
            continue;
        }
        let reasons: Vec<&str> = s
            .results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .map(|r| r.reason.as_str())
            .collect();
        let (template, key) = match s.status {
            Status::Rejected => ("application_rejected", format!("rejected:{}", s.id)),
            _ => ("verify_email", format!("verify:{}:0", s.id)),
        };
        emails.push(NewEmail {
            idempotency_key: key,
            template,
            recipient: app.email.as_str(),
            payload: json!({
                "application_id": s.id,
                "name": app.full_name,
                "waitlisted": s.status == Status::Waitlisted,
                "reasons": reasons,
            }),
        });
    }
    applications::record_events(&mut tx, &events, now).await?;
    outbox::enqueue_many(&mut tx, &emails, now).await?;

    let mut out = Vec::with_capacity(apps.len());
    for ((app, _), s) in apps.iter().zip(&screened) {
        if is_new(s) {
            out.push(Submitted {
                id: s.id,
                status: s.status,
                created: true,
            });
            continue;
        }
        // The address was already stored, or came earlier in this batch.
        let existing = applications::find_by_email_tx(&mut tx, app.email.as_str())
            .await?
            .ok_or(StoreError::NotFound)?;
        send_new_link(&mut tx, settings, &existing, "duplicate_signup").await?;
        out.push(Submitted {
            id: existing.id,
            status: Status::parse(&existing.status).unwrap_or(Status::Applied),
            created: false,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// Queues a fresh link if the last went out longer ago than the cooldown: a verification link
/// while the email is unconfirmed, else a link to the status page. Says nothing either way:
/// callers answer the same regardless, so the response does not reveal whether an address is
/// known.
async fn send_new_link(
    tx: &mut Tx,
    settings: &Settings,
    app: &applications::ApplicationRow,
    why: &str,
) -> Result<(), StoreError> {
    let now = now();
    let not_after = now - Duration::seconds(settings.verify_resend_cooldown_secs);
    if !applications::claim_link_resend(tx, app.id, now, not_after).await? {
        return Ok(());
    }
    let verified = app.email_verified_at.is_some();
    let (template, key, kind) = if verified {
        (
            "status_link",
            format!("status:{}:{}", app.id, now.timestamp_micros()),
            "status_link_sent",
        )
    } else {
        (
            "verify_email",
            format!("verify:{}:{}", app.id, now.timestamp_micros()),
            "verification_resent",
        )
    };
    let reasons = applications::failed_reasons_tx(tx, app.id).await?;
    outbox::enqueue(
        tx,
        NewEmail {
            idempotency_key: key,
            template,
            recipient: &app.email,
            payload: json!({
                "application_id": app.id,
                "name": app.full_name,
                "waitlisted": app.status == Status::Waitlisted.as_str(),
                "reasons": reasons,
            }),
        },
        now,
    )
    .await?;
    applications::record_event(tx, app.id, kind, json!({ "reason": why }), "applicant", now)
        .await?;
    Ok(())
}

/// "Send me a new link": same rules and same silence as a repeat signup.
pub async fn request_new_link(
    db: &Db,
    settings: &Settings,
    email: &EmailAddress,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    if let Some(app) = applications::find_by_email_tx(&mut tx, email.as_str()).await? {
        send_new_link(&mut tx, settings, &app, "requested_new_link").await?;
    }
    tx.commit().await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The link worked: the email is confirmed and the application moved on (or stays
    /// waitlisted).
    Done { id: Uuid, status: Status },
    /// The link was used before and the email is confirmed. Says so without showing the
    /// application, since a used link may have been forwarded.
    AlreadyUsed,
    /// Expired or unknown: offer a new link.
    Invalid,
}

pub async fn verify_email(db: &Db, presented: &str) -> Result<Verified, StoreError> {
    let hash = hash_token(presented);
    let now = now();
    let mut tx = db.begin().await?;
    let Some(id) = tokens::consume(&mut tx, &hash, tokens::VERIFY_EMAIL, now).await? else {
        drop(tx);
        let used = tokens::find(db, &hash, tokens::VERIFY_EMAIL)
            .await?
            .is_some_and(|t| t.used_at.is_some());
        return Ok(if used {
            Verified::AlreadyUsed
        } else {
            Verified::Invalid
        });
    };
    let first = applications::mark_email_verified(&mut tx, id, now).await?;
    let app = applications::get_tx(&mut tx, id).await?;
    let status = Status::parse(&app.status).unwrap_or(Status::Verified);
    // Confirmed through another link meanwhile: this live link still shows the status, but the
    // confirmation email went out the first time.
    if first {
        applications::record_event(
            &mut tx,
            id,
            "email_verified",
            json!({ "status": status.as_str() }),
            "applicant",
            now,
        )
        .await?;
        // A verified applicant with a quiz to take gets the invitation, which carries the
        // status link too; everyone else gets the plain confirmation.
        let invited =
            status == Status::Verified && crate::assessment::invite(db, &mut tx, &app, now).await?;
        if !invited {
            outbox::enqueue(
                &mut tx,
                NewEmail {
                    idempotency_key: format!("verified:{id}"),
                    template: "email_verified",
                    recipient: &app.email,
                    payload: json!({
                        "application_id": id,
                        "name": app.full_name,
                        "waitlisted": status == Status::Waitlisted,
                    }),
                },
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Verified::Done { id, status })
}

/// The application behind a status link, if the link is live.
pub async fn application_for_status_token(
    db: &Db,
    presented: &str,
) -> Result<Option<Uuid>, StoreError> {
    let t = tokens::find(db, &hash_token(presented), tokens::STATUS).await?;
    Ok(t.filter(|t| t.expires_at > now()).map(|t| t.application_id))
}
