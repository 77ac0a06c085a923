//! Personal data: an applicant's data as JSON (for an admin, and for the applicant through their
//! status link), and erasure. Erasure anonymises the personal fields and keeps what reports
//! count, the stage history and the audit trail, which records that an erasure happened and
//! never the erased values. The erased address may apply again, as a new person.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::store::audit::{self, Entry};
use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::store::{applications, attempts, outbox, tokens, Db, StoreError, Tx};

/// Everything stored about one applicant.
pub async fn export(db: &Db, id: Uuid) -> Result<Value, StoreError> {
    let a = applications::get(db, id).await?;
    let screening: Vec<Value> = applications::screening(db, id)
        .await?
        .into_iter()
        .map(|r| json!({ "rule": r.rule_id, "outcome": r.outcome, "reason": r.reason }))
        .collect();
    let events: Vec<Value> = applications::events(db, id)
        .await?
        .into_iter()
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
            json!({ "at": e.created_at, "kind": e.kind, "by": e.actor, "detail": detail })
        })
        .collect();
    let emails: Vec<Value> = outbox::for_application(db, id)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "template": m.template, "to": m.recipient, "status": m.status,
                "queued_at": m.created_at, "sent_at": m.sent_at,
            })
        })
        .collect();
    let quiz: Vec<Value> = attempts::all_for_application(db, id)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "attempt": t.number, "status": t.status, "started_at": t.started_at,
                "finished_at": t.finished_at, "score_percent": t.score_bp.map(|b| b as f64 / 100.0),
                "passed": t.passed,
            })
        })
        .collect();
    Ok(json!({
        "application": {
            "id": a.id, "full_name": a.full_name, "email": a.email, "phone": a.phone,
            "country": a.country, "area": a.area,
            "languages": a.languages.split(',').filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            "weekly_hours": a.weekly_hours, "student": a.student, "customer": a.customer,
            "adult": a.adult, "equipment": a.equipment, "motivation": a.motivation,
            "utm_source": a.utm_source, "utm_campaign": a.utm_campaign, "ref": a.ref_code,
            "stage": a.status, "email_verified_at": a.email_verified_at,
            "applied_at": a.created_at, "updated_at": a.updated_at,
        },
        "tags": crate::store::tags::of(db, id).await?,
        "screening": screening,
        "timeline": events,
        "emails": emails,
        "quiz_attempts": quiz,
    }))
}

/// Records that `actor` exported an applicant's data.
pub async fn record_export(db: &Db, actor: &str, id: Uuid) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let subject = format!("application:{id}");
    let entry = Entry {
        actor,
        action: "application.export",
        subject: &subject,
        before: None,
        after: None,
    };
    audit::record(&mut tx, entry, db.now()).await?;
    tx.commit().await
}

/// Erases an applicant's personal data, in one transaction with its audit row.
pub async fn erase(db: &Db, actor: &str, id: Uuid) -> Result<(), StoreError> {
    let at = db.now();
    let mut tx = db.begin().await?;
    applications::get_for_update(&mut tx, id).await?;
    erase_in_tx(&mut tx, actor, id, at).await?;
    let subject = format!("application:{id}");
    let entry = Entry {
        actor,
        action: "application.erase",
        subject: &subject,
        before: None,
        after: Some(json!({ "personal_data": "erased" })),
    };
    audit::record(&mut tx, entry, at).await?;
    tx.commit().await
}

/// The address an erased application keeps: unique to it, and never deliverable.
pub fn erased_address(id: Uuid) -> String {
    format!("erased-{}@erased.invalid", id.simple())
}

/// Anonymises application `id` (locked by the caller) inside `tx`: personal fields, its emails'
/// addresses and its links; a timeline event records it.
async fn erase_in_tx(
    tx: &mut Tx,
    actor: &str,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let erased_address = erased_address(id);
    applications::erase_personal(tx, id, &erased_address, at).await?;
    outbox::erase_for_application(tx, id, &erased_address).await?;
    tokens::delete_for_application(tx, id).await?;
    applications::record_event(tx, id, "erased", json!({}), actor, at).await
}

/// `retention_purge`: applications that ended (rejected, withdrawn, expired, failed the quiz)
/// more than `retention_months` ago, those left on the waitlist of cohorts closed that long
/// ago, and agents offboarded more than `agent_retention_months` ago are anonymised as an
/// erasure does it, a batch per transaction with one audit row per batch. Webhook deliveries
/// older than `retention_months` are deleted, and failed sign-ins a day old are forgotten.
/// Returns how many applications were anonymised.
pub async fn purge(db: &Db, settings: &Settings, now: DateTime<Utc>) -> Result<usize, StoreError> {
    const ACTOR: &str = "retention_purge";
    const BATCH: i64 = 200;
    let months_ago = |months: u32| {
        now.checked_sub_months(chrono::Months::new(months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    let cutoff = months_ago(settings.jobs.retention_months);
    let agent_cutoff = months_ago(settings.jobs.agent_retention_months);
    // Failed sign-ins name client addresses: kept a day, or while they hold a lock.
    crate::store::sign_ins::forget(db, now - chrono::Duration::days(1), now).await?;
    super::bulk::forget_confirmations(db, now - chrono::Duration::days(1)).await?;
    crate::store::webhooks::forget_deliveries(db, cutoff).await?;
    let mut done = 0;
    loop {
        let due = applications::purgeable(db, cutoff, agent_cutoff, BATCH).await?;
        if due.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        let still: Vec<Uuid> = applications::get_many_for_update(&mut tx, &due)
            .await?
            .into_iter()
            .filter(|a| {
                PURGED_STAGES.contains(&a.status.as_str()) && a.email != erased_address(a.id)
            })
            .map(|a| a.id)
            .collect();
        // All of the batch changed meanwhile (a rare race): nothing to purge, nothing to audit.
        if still.is_empty() {
            break;
        }
        for id in &still {
            erase_in_tx(&mut tx, ACTOR, *id, now).await?;
        }
        let entry = Entry {
            actor: ACTOR,
            action: "application.retention_purge",
            subject: "applications",
            before: None,
            after: Some(json!({
                "anonymised": still.len(),
                "application_ids": still,
                "ended_before": cutoff,
                "agents_offboarded_before": agent_cutoff,
                "stages": PURGED_STAGES,
            })),
        };
        audit::record(&mut tx, entry, now).await?;
        tx.commit().await?;
        done += still.len();
    }
    Ok(done)
}

/// The stages whose applications the retention purge anonymises once old enough (the
/// waitlisted once their cohorts closed).
pub const PURGED_STAGES: [&str; 6] = [
    "rejected",
    "withdrawn",
    "expired",
    "quiz_failed",
    "waitlisted",
    "offboarded",
];
