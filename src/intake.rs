//! Applicant intake use cases: sign up, verify the email, ask for a new link. Each runs in one
//! transaction that writes the state change, its audit entry and any email together.

use chrono::Duration;
use serde_json::json;
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
    fn as_str(self) -> &'static str {
        match self {
            Channel::Form => "form",
            Channel::Api => "api",
            Channel::Seed => "seed",
        }
    }
}

/// Stores a new application after screening it, or, for an email we already have, changes
/// nothing but (at most once per cooldown) sends the verification email again.
pub async fn submit(
    db: &Db,
    settings: &Settings,
    app: &NewApplication,
    channel: Channel,
) -> Result<Submitted, StoreError> {
    let now = now();
    let (outcome, results) = screening::screen(app, &settings.screening_rules, &settings.markets);
    let status = match outcome {
        Outcome::Pass => Status::Applied,
        Outcome::Waitlisted => Status::Waitlisted,
        Outcome::Rejected => Status::Rejected,
    };
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    if !applications::insert_if_new(&mut tx, id, app, status.as_str(), now).await? {
        let existing = applications::find_by_email_tx(&mut tx, app.email.as_str())
            .await?
            .ok_or(StoreError::NotFound)?;
        resend_verification(&mut tx, settings, &existing, "duplicate_signup").await?;
        tx.commit().await?;
        return Ok(Submitted {
            id: existing.id,
            status: Status::parse(&existing.status).unwrap_or(Status::Applied),
            created: false,
        });
    }
    applications::insert_screening(&mut tx, id, &results, now).await?;
    applications::record_event(
        &mut tx,
        id,
        "applied",
        &json!({ "channel": channel.as_str(), "status": status.as_str(), "screening": results }),
        "applicant",
        now,
    )
    .await?;
    let reasons: Vec<&str> = results
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(|r| r.reason.as_str())
        .collect();
    if !matches!(channel, Channel::Seed) {
        let (template, key) = match status {
            Status::Rejected => ("application_rejected", format!("rejected:{id}")),
            _ => ("verify_email", format!("verify:{id}:0")),
        };
        outbox::enqueue(
            &mut tx,
            &NewEmail {
                idempotency_key: key,
                template,
                recipient: app.email.as_str(),
                payload: json!({
                    "application_id": id,
                    "name": app.full_name,
                    "waitlisted": status == Status::Waitlisted,
                    "reasons": reasons,
                }),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Submitted {
        id,
        status,
        created: true,
    })
}

/// Queues another verification email if the applicant still needs one and the last went out
/// longer ago than the cooldown. Says nothing either way: callers answer the same regardless, so
/// the response does not reveal whether an address is known.
async fn resend_verification(
    tx: &mut Tx,
    settings: &Settings,
    app: &applications::ApplicationRow,
    why: &str,
) -> Result<(), StoreError> {
    let now = now();
    let not_after = now - Duration::seconds(settings.verify_resend_cooldown_secs);
    if !applications::claim_verify_resend(tx, app.id, now, not_after).await? {
        return Ok(());
    }
    let reasons = applications::failed_reasons_tx(tx, app.id).await?;
    outbox::enqueue(
        tx,
        &NewEmail {
            idempotency_key: format!("verify:{}:{}", app.id, now.timestamp_micros()),
            template: "verify_email",
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
    applications::record_event(
        tx,
        app.id,
        "verification_resent",
        &json!({ "reason": why }),
        "applicant",
        now,
    )
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
        resend_verification(&mut tx, settings, &app, "requested_new_link").await?;
    }
    tx.commit().await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The link worked; the application is now verified (or stays waitlisted).
    Done { id: Uuid, status: Status },
    /// The link was already used, but the email is verified: show the status, not an error.
    AlreadyVerified { id: Uuid, status: Status },
    /// Expired, unknown or used without a verified email: offer a new link.
    Invalid,
}

pub async fn verify_email(db: &Db, presented: &str) -> Result<Verified, StoreError> {
    let hash = hash_token(presented);
    let now = now();
    let mut tx = db.begin().await?;
    let Some(id) = tokens::consume(&mut tx, &hash, tokens::VERIFY_EMAIL, now).await? else {
        drop(tx);
        // Distinguish a second click on a good link from a bad link.
        if let Some(t) = tokens::find(db, &hash, tokens::VERIFY_EMAIL).await? {
            let app = applications::get(db, t.application_id).await?;
            if app.email_verified_at.is_some() {
                return Ok(Verified::AlreadyVerified {
                    id: app.id,
                    status: Status::parse(&app.status).unwrap_or(Status::Verified),
                });
            }
        }
        return Ok(Verified::Invalid);
    };
    if !applications::mark_email_verified(&mut tx, id, now).await? {
        // Verified through another link meanwhile; this one is spent but harmless.
        tx.commit().await?;
        let app = applications::get(db, id).await?;
        return Ok(Verified::AlreadyVerified {
            id,
            status: Status::parse(&app.status).unwrap_or(Status::Verified),
        });
    }
    let app = applications::get_tx(&mut tx, id).await?;
    let status = Status::parse(&app.status).unwrap_or(Status::Verified);
    applications::record_event(
        &mut tx,
        id,
        "email_verified",
        &json!({ "status": status.as_str() }),
        "applicant",
        now,
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        &NewEmail {
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
