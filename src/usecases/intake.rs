//! Applicant intake use cases: sign up, verify the email, ask for a new link. Each runs in one
//! transaction that writes the state change, its audit entry and any email together.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::application::{NewApplication, Status};
use crate::domain::email::EmailAddress;
use crate::domain::screening::{self, Outcome};
use crate::domain::token::{hash_token, SecretToken};
use crate::store::outbox::{self, NewEmail, RENEWS_LINKS};
use crate::store::{applications, tokens, Db, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: Uuid,
    /// The stage id: for a new application its screening outcome, for a repeat wherever the
    /// existing one stands.
    pub status: String,
    /// False when the email already had an application; nothing new was stored.
    pub created: bool,
}

/// Where a signup came from, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub enum Channel {
    Form,
    Api,
    Seed,
    /// `onramp applicants import`: applicants from another ATS, who get the usual emails.
    Import,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Form => "form",
            Channel::Api => "api",
            Channel::Seed => "seed",
            Channel::Import => "import",
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
    /// Hash of the signup receipt the browser keeps, which lets it correct a mistyped address
    /// for a little while (see `correct_email`).
    receipt: Option<String>,
    reply: oneshot::Sender<Result<Submitted, StoreError>>,
}

/// How long a signup receipt lets the browser that signed up correct its address.
pub const RECEIPT_TTL_MINUTES: i64 = 60;

/// Corrections one application allows, so a receipt cannot be used to send mail anywhere.
const MAX_CORRECTIONS: i64 = 3;

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
        self.submit_with_receipt(app, channel, None).await
    }

    /// `submit`, storing `receipt` (a token hash) for a new application so the browser holding
    /// the token can correct a mistyped address. A repeat signup stores no receipt.
    pub async fn submit_with_receipt(
        &self,
        app: NewApplication,
        channel: Channel,
        receipt: Option<String>,
    ) -> Result<Submitted, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            app,
            channel,
            receipt,
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
        let input: Vec<Signup> = batch
            .iter()
            .map(|j| (&j.app, j.channel, j.receipt.as_deref()))
            .collect();
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
                    let one = write_batch(
                        &db,
                        &settings,
                        &[(&job.app, job.channel, job.receipt.as_deref())],
                    )
                    .await;
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

/// One signup in a batch: the application, where it came from, and its receipt's hash.
type Signup<'a> = (&'a NewApplication, Channel, Option<&'a str>);

/// One transaction for all `apps`; results in the same order.
async fn write_batch(
    db: &Db,
    settings: &Settings,
    apps: &[Signup<'_>],
) -> Result<Vec<Submitted>, StoreError> {
    let now = db.now();
    struct Screened {
        id: Uuid,
        status: Status,
        results: Vec<screening::RuleResult>,
    }
    let screened: Vec<Screened> = apps
        .iter()
        .map(|(app, ..)| {
            let (outcome, results) = screening::screen(
                app,
                &settings.screening_rules,
                &settings.markets,
                settings.min_age,
            );
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
        .map(|((app, ..), s)| (s.id, *app, s.status.as_str()))
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

    let receipts: Vec<tokens::NewToken> = apps
        .iter()
        .zip(&screened)
        .filter(|(_, s)| is_new(s))
        .filter_map(|((_, _, receipt), s)| {
            receipt.map(|hash| tokens::NewToken {
                hash: hash.to_string(),
                application_id: s.id,
                purpose: tokens::SIGNUP_RECEIPT,
                expires_at: now + Duration::minutes(RECEIPT_TTL_MINUTES),
                replaces: false,
            })
        })
        .collect();
    tokens::insert_many(&mut tx, &receipts, now).await?;

    let mut events = Vec::new();
    let mut emails = Vec::new();
    for ((app, channel, _), s) in apps.iter().zip(&screened).filter(|(_, s)| is_new(s)) {
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
    for ((app, ..), s) in apps.iter().zip(&screened) {
        if is_new(s) {
            out.push(Submitted {
                id: s.id,
                status: s.status.as_str().to_string(),
                created: true,
            });
            continue;
        }
        // The address was already stored, or came earlier in this batch.
        let mut existing = applications::find_by_email_tx(&mut tx, app.email.as_str())
            .await?
            .ok_or(StoreError::NotFound)?;
        if existing.status == Status::Expired.as_str() {
            // The address never confirmed and the application closed: applying again reopens
            // it, with a fresh verification link and reminders as for a new signup.
            existing = reopen_expired(&mut tx, existing, db.now()).await?;
        }
        send_new_link(&mut tx, settings, &existing, "duplicate_signup", db.now()).await?;
        out.push(Submitted {
            id: existing.id,
            status: existing.status.clone(),
            created: false,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// Returns an expired application to `applied`, so its address can confirm again.
async fn reopen_expired(
    tx: &mut Tx,
    app: applications::ApplicationRow,
    now: DateTime<Utc>,
) -> Result<applications::ApplicationRow, StoreError> {
    if applications::move_status(tx, app.id, &[Status::Expired.as_str()], "applied", now).await? {
        crate::store::reminders::forget(tx, app.id, crate::usecases::reminders::VERIFY).await?;
        applications::record_event(tx, app.id, "reapplied", json!({}), "applicant", now).await?;
    }
    applications::get_tx(tx, app.id).await
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
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let not_after = now - Duration::seconds(settings.verify_resend_cooldown_secs);
    if !applications::claim_link_resend(tx, app.id, now, not_after).await? {
        return Ok(());
    }
    queue_link(tx, app, why, now).await
}

/// Queues the link `app` needs now (see `send_new_link`), without the cooldown.
async fn queue_link(
    tx: &mut Tx,
    app: &applications::ApplicationRow,
    why: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
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
    // The applicant asked for a new link, or changed the address: the new one ends the links
    // sent before. A repeat signup (which anyone can make with the address) ends nothing.
    let renews = matches!(why, RENEWED_LINK | REQUESTED_NEW_LINK | EMAIL_CORRECTED);
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
                (RENEWS_LINKS): renews,
            }),
        },
        now,
    )
    .await?;
    applications::record_event(tx, app.id, kind, json!({ "reason": why }), "applicant", now)
        .await?;
    Ok(())
}

/// "Wrong address? Send it here instead", from the page after signing up. With a live receipt
/// for an application whose email is not confirmed yet, the address is corrected, links already
/// sent to the old one stop working, and a new verification link goes to the new one. Anything
/// else (no receipt, an expired one, an address already confirmed) is treated as a request for
/// a new link at the new address. Either way the answer is the same.
pub async fn correct_email(
    db: &Db,
    settings: &Settings,
    receipt: Option<&str>,
    new_email: &EmailAddress,
) -> Result<(), StoreError> {
    // A signup for the new address can commit between our check and our write; the unique
    // index then refuses the write, and the second pass finds the address taken.
    match correct_email_once(db, settings, receipt, new_email).await {
        Err(StoreError::Conflict(_)) => correct_email_once(db, settings, receipt, new_email).await,
        other => other,
    }
}

async fn correct_email_once(
    db: &Db,
    settings: &Settings,
    receipt: Option<&str>,
    new_email: &EmailAddress,
) -> Result<(), StoreError> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let target = match receipt {
        Some(hash) => {
            tokens::live_application_tx(&mut tx, hash, tokens::SIGNUP_RECEIPT, now).await?
        }
        None => None,
    };
    if let Some(id) = target {
        // Locked first, as confirming a link and minting one at send time do, so that the
        // checks below still hold when we write, and links being minted right now are
        // committed before we expire them.
        let app = applications::get_for_update(&mut tx, id).await?;
        let corrections =
            applications::count_events_tx(&mut tx, id, &[EMAIL_CORRECTED, CORRECTION_REFUSED])
                .await?;
        if app.email_verified_at.is_none()
            && app.status != Status::Rejected.as_str()
            && corrections < MAX_CORRECTIONS
            && !app.email.eq_ignore_ascii_case(new_email.as_str())
        {
            // Whatever happens next, links to the old address stop working, and mail to it
            // that has not gone yet never goes: the answer must not tell whether the new
            // address belongs to someone else.
            tokens::expire_unused(&mut tx, id, tokens::VERIFY_EMAIL, now).await?;
            outbox::cancel_unsent(
                &mut tx,
                &format!("verify:{id}:"),
                &app.email,
                "the applicant corrected the address",
                now,
            )
            .await?;
            let taken = applications::find_by_email_tx(&mut tx, new_email.as_str()).await?;
            let Some(existing) = taken else {
                applications::set_email(&mut tx, id, new_email.as_str()).await?;
                applications::record_event(
                    &mut tx,
                    id,
                    EMAIL_CORRECTED,
                    json!({ "by": "signup receipt" }),
                    "applicant",
                    now,
                )
                .await?;
                let corrected = applications::get_tx(&mut tx, id).await?;
                queue_link(&mut tx, &corrected, EMAIL_CORRECTED, now).await?;
                return tx.commit().await;
            };
            applications::record_event(
                &mut tx,
                id,
                CORRECTION_REFUSED,
                json!({ "reason": "the address belongs to another application" }),
                "applicant",
                now,
            )
            .await?;
            send_new_link(&mut tx, settings, &existing, REQUESTED_NEW_LINK, db.now()).await?;
            return tx.commit().await;
        }
    }
    if let Some(existing) = applications::find_by_email_tx(&mut tx, new_email.as_str()).await? {
        send_new_link(&mut tx, settings, &existing, REQUESTED_NEW_LINK, db.now()).await?;
    }
    tx.commit().await
}

/// Why a link was sent, for the ones the applicant asked for.
const RENEWED_LINK: &str = "renewed_link";
const REQUESTED_NEW_LINK: &str = "requested_new_link";

/// Events that use up one of an application's `MAX_CORRECTIONS`.
const EMAIL_CORRECTED: &str = "email_corrected";
const CORRECTION_REFUSED: &str = "email_correction_refused";

/// "Email me a new link", from a page whose link no longer works (expired, used, or an old
/// quiz link): the link the applicant needs now goes to the address on file. A token we never
/// issued does nothing, and the answer is the same.
pub async fn renew_link(db: &Db, settings: &Settings, presented: &str) -> Result<(), StoreError> {
    let Some(id) = tokens::application_of(db, &hash_token(presented)).await? else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    let app = applications::get_tx(&mut tx, id).await?;
    send_new_link(&mut tx, settings, &app, RENEWED_LINK, db.now()).await?;
    tx.commit().await
}

/// "Send me a new link": same rules and same silence as a repeat signup.
pub async fn request_new_link(
    db: &Db,
    settings: &Settings,
    email: &EmailAddress,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    if let Some(app) = applications::find_by_email_tx(&mut tx, email.as_str()).await? {
        send_new_link(&mut tx, settings, &app, REQUESTED_NEW_LINK, db.now()).await?;
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

/// What a verification link would do if used now, without using it: a mail scanner that opens
/// the link must not confirm the address, so the page asks first.
pub async fn check_verify_link(db: &Db, presented: &str) -> Result<Verified, StoreError> {
    match tokens::find(db, &hash_token(presented), tokens::VERIFY_EMAIL).await? {
        Some(t) if t.used_at.is_some() => Ok(Verified::AlreadyUsed),
        Some(t) if t.expires_at > db.now() => {
            let app = applications::get(db, t.application_id).await?;
            Ok(Verified::Done {
                id: t.application_id,
                status: Status::of_stage(&app.status),
            })
        }
        _ => Ok(Verified::Invalid),
    }
}

pub async fn verify_email(db: &Db, presented: &str) -> Result<Verified, StoreError> {
    let hash = hash_token(presented);
    let now = db.now();
    let mut tx = db.begin().await?;
    // The application row is locked before the link, in the order an address correction
    // takes them, so the two cannot deadlock and a correction's checks hold while it writes.
    if let Some(t) = tokens::find(db, &hash, tokens::VERIFY_EMAIL).await? {
        applications::get_for_update(&mut tx, t.application_id).await?;
    }
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
    let status = Status::of_stage(&app.status);
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
        let invited = status == Status::Verified
            && crate::usecases::assessment::invite(db, &mut tx, &app, now).await?;
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

/// A new link to the application's status page.
pub async fn status_link(
    db: &Db,
    settings: &Settings,
    application_id: Uuid,
) -> Result<SecretToken, StoreError> {
    let ttl = Duration::days(settings.status_token_ttl_days);
    tokens::issue(db, application_id, tokens::STATUS, ttl, db.now()).await
}

/// The application behind a status link, if the link is live.
pub async fn application_for_status_token(
    db: &Db,
    presented: &str,
) -> Result<Option<Uuid>, StoreError> {
    let t = tokens::find(db, &hash_token(presented), tokens::STATUS).await?;
    Ok(t.filter(|t| t.expires_at > db.now())
        .map(|t| t.application_id))
}
