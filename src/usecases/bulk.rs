//! Bulk actions on many applicants at once (ticked rows, or a whole filtered list): move, reject
//! with a reason, tag or untag, or send an email. One transaction per submission, keyed: the
//! submission's key is stored with its report in the same transaction, so a double click or
//! a retry gets the first report back and changes nothing twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::cohorts::{offer_in_tx, OfferOutcome, CLOSED};
use super::pipeline::{move_email_payload, move_in_tx};
use crate::config::Settings;
use crate::domain::pipeline::Pipeline;
use crate::store::audit::{self, Entry};
use crate::store::{applications, cohorts, on, outbox, tags, Db, StoreError, Tx};

/// The most applicants one action may touch.
pub const MAX_ROWS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Move {
        to: String,
        reason: Option<String>,
        template: Option<String>,
    },
    AddTag {
        tag: String,
    },
    RemoveTag {
        tag: String,
    },
    Email {
        template: String,
    },
    /// Offer each a seat in a cohort (`name` is the cohort's name, for the report).
    Offer {
        cohort: Uuid,
        name: String,
    },
}

impl Action {
    /// What it does, in words, for the confirmation and the report.
    pub fn describe(&self, pipeline: &Pipeline) -> String {
        match self {
            Action::Move {
                to,
                reason,
                template,
            } => {
                let label = pipeline.stage(to).map_or(to.as_str(), |s| s.label.as_str());
                let mut s = format!("Move to {label}");
                if let Some(r) = reason {
                    s.push_str(&format!(" (reason: {r})"));
                }
                if let Some(t) = template {
                    s.push_str(&format!(" and send the email {t}"));
                }
                s
            }
            Action::AddTag { tag } => format!("Add the tag {tag}"),
            Action::RemoveTag { tag } => format!("Remove the tag {tag}"),
            Action::Email { template } => format!("Send the email {template}"),
            Action::Offer { name, .. } => format!("Offer a seat in the cohort {name}"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Move { .. } => "move",
            Action::AddTag { .. } => "add_tag",
            Action::RemoveTag { .. } => "remove_tag",
            Action::Email { .. } => "email",
            Action::Offer { .. } => "offer",
        }
    }
}

/// What a bulk action did: the applicants changed, those it left alone with why, and whether
/// this is the report of an earlier submission with the same key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub done: usize,
    /// Applicants it did not need to change (already tagged, say).
    pub unchanged: usize,
    pub failed: Vec<Failed>,
    #[serde(default)]
    pub repeated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub id: Uuid,
    pub reason: String,
}

/// Runs `action` on `ids` once per `key`. A key seen before returns its stored report.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    db: &Db,
    settings: &Settings,
    pipeline: &Pipeline,
    actor: &str,
    key: &str,
    ids: &[Uuid],
    action: &Action,
) -> Result<Report, StoreError> {
    let at = db.now();
    let mut tx = db.begin().await?;
    let claimed = claim(&mut tx, key, actor, action, at).await?;
    if !claimed {
        drop(tx);
        let mut report = stored_report(db, key).await?;
        report.repeated = true;
        return Ok(report);
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let apps = applications::get_many_for_update(&mut tx, &ids).await?;
    let mut report = Report::default();
    let found: HashMap<Uuid, &applications::ApplicationRow> =
        apps.iter().map(|a| (a.id, a)).collect();
    for id in &ids {
        if !found.contains_key(id) {
            report.failed.push(Failed {
                id: *id,
                reason: "No application has this id.".into(),
            });
        }
    }
    let email_key = format!("bulk:{key}");
    match action {
        Action::Move {
            to,
            reason,
            template,
        } => {
            // Agents' steps go through their cohort (the checklist, the reason): not moved here.
            let (agents, movable): (Vec<_>, Vec<_>) = apps
                .iter()
                .cloned()
                .partition(|a| super::pipeline::agent_step_only(pipeline, &a.status, to).is_some());
            for a in &agents {
                if let Some(e) = super::pipeline::agent_step_only(pipeline, &a.status, to) {
                    report.failed.push(Failed {
                        id: a.id,
                        reason: e.field_and_message(pipeline.reject_reasons()).1,
                    });
                }
            }
            let outcomes = move_in_tx(
                &mut tx,
                pipeline,
                actor,
                &movable,
                to,
                reason.as_deref(),
                template.as_deref(),
                &email_key,
                at,
            )
            .await?;
            for (id, o) in outcomes {
                match o {
                    Ok(_) => report.done += 1,
                    Err(e) => report.failed.push(Failed {
                        id,
                        reason: e.field_and_message(pipeline.reject_reasons()).1,
                    }),
                }
            }
        }
        Action::AddTag { tag } | Action::RemoveTag { tag } => {
            let on = matches!(action, Action::AddTag { .. });
            let found_ids: Vec<Uuid> = apps.iter().map(|a| a.id).collect();
            let changed = tags::set_many(&mut tx, &found_ids, tag, on, at).await?;
            report.done = changed.len();
            report.unchanged = found_ids.len() - changed.len();
            let (kind, act) = if on {
                ("tagged", "application.tag")
            } else {
                ("untagged", "application.untag")
            };
            let events: Vec<applications::NewEvent> = changed
                .iter()
                .map(|id| applications::NewEvent {
                    application_id: *id,
                    kind,
                    detail: json!({ "tag": tag }),
                    actor,
                })
                .collect();
            applications::record_events(&mut tx, &events, at).await?;
            let subjects: Vec<String> = changed
                .iter()
                .map(|id| format!("application:{id}"))
                .collect();
            let entries: Vec<Entry> = subjects
                .iter()
                .map(|subject| Entry {
                    actor,
                    action: act,
                    subject,
                    before: Some(json!({ "tag": tag, "present": !on })),
                    after: Some(json!({ "tag": tag, "present": on })),
                })
                .collect();
            audit::record_many(&mut tx, &entries, at).await?;
        }
        Action::Email { template } => {
            let emails: Vec<outbox::NewEmail> = apps
                .iter()
                .map(|a| outbox::NewEmail {
                    idempotency_key: format!("{email_key}:{}", a.id),
                    template,
                    recipient: &a.email,
                    payload: move_email_payload(pipeline, a.id, &a.full_name, &a.status),
                })
                .collect();
            outbox::enqueue_many(&mut tx, &emails, at).await?;
            report.done = emails.len();
            let events: Vec<applications::NewEvent> = apps
                .iter()
                .map(|a| applications::NewEvent {
                    application_id: a.id,
                    kind: "email_queued",
                    detail: json!({ "template": template }),
                    actor,
                })
                .collect();
            applications::record_events(&mut tx, &events, at).await?;
            let subjects: Vec<String> = apps
                .iter()
                .map(|a| format!("application:{}", a.id))
                .collect();
            let entries: Vec<Entry> = subjects
                .iter()
                .map(|subject| Entry {
                    actor,
                    action: "application.email",
                    subject,
                    before: None,
                    after: Some(json!({ "template": template })),
                })
                .collect();
            audit::record_many(&mut tx, &entries, at).await?;
        }
        Action::Offer { cohort, .. } => {
            let found_ids: Vec<Uuid> = apps.iter().map(|a| a.id).collect();
            match cohorts::get_tx(&mut tx, *cohort).await? {
                Some(c) if c.marked.as_deref() != Some("closed") => {
                    let outcomes =
                        offer_in_tx(&mut tx, settings, pipeline, actor, &c, &found_ids, at).await?;
                    for (id, o) in outcomes {
                        match o {
                            OfferOutcome::Offered { .. } => report.done += 1,
                            OfferOutcome::Refused(reason) => {
                                report.failed.push(Failed { id, reason })
                            }
                        }
                    }
                }
                found => {
                    let reason = if found.is_some() {
                        CLOSED
                    } else {
                        "No cohort has this id."
                    };
                    report.failed.extend(found_ids.iter().map(|id| Failed {
                        id: *id,
                        reason: reason.into(),
                    }));
                }
            }
        }
    }
    save_report(&mut tx, key, &report).await?;
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "applications.bulk",
            subject: "applications",
            before: None,
            after: Some(json!({
                "action": action, "key": key, "asked": ids.len(), "done": report.done,
                "unchanged": report.unchanged, "failed": report.failed.len(),
            })),
        },
        at,
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Takes the key for this submission; false when it was taken before (on PostgreSQL a second
/// submission waits here until the first commits).
async fn claim(
    tx: &mut Tx,
    key: &str,
    actor: &str,
    action: &Action,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO bulk_actions (idempotency_key, actor, action, request, report, \
        created_at) VALUES ($1, $2, $3, $4, '{}', $5) ON CONFLICT (idempotency_key) DO NOTHING";
    let request = serde_json::to_string(action).expect("actions serialize");
    let n = on!(tx, c => sqlx::query(SQL).bind(key).bind(actor).bind(action.name())
        .bind(request).bind(at).execute(&mut **c).await?.rows_affected());
    Ok(n == 1)
}

async fn save_report(tx: &mut Tx, key: &str, report: &Report) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE bulk_actions SET report = $2 WHERE idempotency_key = $1";
    let json = serde_json::to_string(report).expect("reports serialize");
    on!(tx, c => sqlx::query(SQL).bind(key).bind(json).execute(&mut **c).await.map(|_| ())?);
    Ok(())
}

async fn stored_report(db: &Db, key: &str) -> Result<Report, StoreError> {
    const SQL: &str = "SELECT report FROM bulk_actions WHERE idempotency_key = $1";
    let raw: String = crate::store::on_writer!(db, p => sqlx::query_scalar(SQL).bind(key)
        .fetch_one(p).await?);
    Ok(serde_json::from_str(&raw).unwrap_or_default())
}

/// Keeps the applicants confirmed for an "all matching" action under its key (a confirmation
/// shown twice keeps the first list).
pub async fn remember_confirmed(db: &Db, key: &str, ids: &[Uuid]) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO bulk_confirmations (idempotency_key, application_ids, \
        created_at) VALUES ($1, $2, $3) ON CONFLICT (idempotency_key) DO NOTHING";
    let json = serde_json::to_string(ids).expect("ids serialize");
    crate::store::on_writer!(db, p => sqlx::query(SQL).bind(key).bind(json).bind(db.now())
        .execute(p).await.map(|_| ())?);
    Ok(())
}

/// The applicants confirmed under `key`, if that confirmation was made (and not yet forgotten).
pub async fn confirmed(db: &Db, key: &str) -> Result<Option<Vec<Uuid>>, StoreError> {
    const SQL: &str = "SELECT application_ids FROM bulk_confirmations WHERE idempotency_key = $1";
    let raw: Option<String> = crate::store::on_writer!(db, p => sqlx::query_scalar(SQL)
        .bind(key).fetch_optional(p).await?);
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
}

/// Forgets confirmations made before `before`.
pub async fn forget_confirmations(db: &Db, before: DateTime<Utc>) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM bulk_confirmations WHERE created_at < $1";
    crate::store::on_writer!(db, p => sqlx::query(SQL).bind(before).execute(p).await
        .map(|_| ())?);
    Ok(())
}
