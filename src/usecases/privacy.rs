//! Personal data: an applicant's data as JSON (for an admin, and for the applicant through their
//! status link), and erasure. Erasure anonymises the personal fields and keeps what reports
//! count, the stage history and the audit trail, which records that an erasure happened and
//! never the erased values. The erased address may apply again, as a new person.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::store::audit::{self, Entry};
use crate::store::{applications, attempts, outbox, tokens, Db, StoreError};

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
    let erased_address = format!("erased-{}@erased.invalid", id.simple());
    let mut tx = db.begin().await?;
    applications::get_for_update(&mut tx, id).await?;
    applications::erase_personal(&mut tx, id, &erased_address, at).await?;
    outbox::erase_for_application(&mut tx, id, &erased_address).await?;
    tokens::delete_for_application(&mut tx, id).await?;
    applications::record_event(&mut tx, id, "erased", json!({}), actor, at).await?;
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
