//! Moving an application through the stages after the quiz, and notes on it: the rules are
//! `domain::pipeline`'s; here each change is made in one transaction with its event on the
//! applicant's timeline and its audit row.

use serde_json::json;
use uuid::Uuid;

use crate::domain::now;
use crate::domain::pipeline::{MoveError, Pipeline};
use crate::store::audit::{self, Entry};
use crate::store::{applications, Db, StoreError};

/// A move made: the stage it came from and the one it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub from: String,
    pub to: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveFailure {
    #[error("no such application")]
    NotFound,
    #[error("move refused: {0:?}")]
    Refused(MoveError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for MoveFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => MoveFailure::NotFound,
            other => MoveFailure::Store(other),
        }
    }
}

/// Moves application `id` to stage `to`, if the pipeline allows it from where it stands now
/// (read under a row lock, so two moves at once are checked one after the other). `actor` is
/// `staff:<id>` or `api_key:<id>`.
pub async fn move_application(
    db: &Db,
    pipeline: &Pipeline,
    actor: &str,
    id: Uuid,
    to: &str,
    reason: Option<&str>,
) -> Result<Moved, MoveFailure> {
    let at = now();
    let mut tx = db.begin().await?;
    let app = applications::get_for_update(&mut tx, id).await?;
    pipeline
        .check_move(&app.status, to, reason)
        .map_err(MoveFailure::Refused)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    applications::move_status(&mut tx, id, &[&app.status], to, at).await?;
    let detail = json!({ "from": app.status, "to": to, "reason": reason });
    applications::record_event(&mut tx, id, "moved", detail.clone(), actor, at).await?;
    let subject = format!("application:{id}");
    let entry = Entry {
        actor,
        action: "application.move",
        subject: &subject,
        before: Some(json!({ "stage": app.status })),
        after: Some(json!({ "stage": to, "reason": reason })),
    };
    audit::record(&mut tx, entry, at).await?;
    tx.commit().await?;
    Ok(Moved {
        from: app.status,
        to: to.to_string(),
    })
}

/// Adds a note to an application's timeline; the audit row records that a note was added
/// (and its length), not what it says.
pub async fn add_note(db: &Db, actor: &str, id: Uuid, body: &str) -> Result<(), MoveFailure> {
    let at = now();
    let mut tx = db.begin().await?;
    applications::get_for_update(&mut tx, id).await?;
    applications::record_event(&mut tx, id, "note", json!({ "body": body }), actor, at).await?;
    let subject = format!("application:{id}");
    let entry = Entry {
        actor,
        action: "application.note",
        subject: &subject,
        before: None,
        after: Some(json!({ "note_chars": body.chars().count() })),
    };
    audit::record(&mut tx, entry, at).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds (or with `on` false, removes) a tag, with its timeline event and audit row when it
/// changes anything. Whether it did.
pub async fn set_tag(
    db: &Db,
    actor: &str,
    id: Uuid,
    tag: &str,
    on: bool,
) -> Result<bool, MoveFailure> {
    let at = now();
    let mut tx = db.begin().await?;
    applications::get_for_update(&mut tx, id).await?;
    let changed = if on {
        crate::store::tags::add(&mut tx, id, tag, at).await?
    } else {
        crate::store::tags::remove(&mut tx, id, tag).await?
    };
    if changed {
        let (kind, action) = if on {
            ("tagged", "application.tag")
        } else {
            ("untagged", "application.untag")
        };
        applications::record_event(&mut tx, id, kind, json!({ "tag": tag }), actor, at).await?;
        let subject = format!("application:{id}");
        let entry = Entry {
            actor,
            action,
            subject: &subject,
            before: Some(json!({ "tag": tag, "present": !on })),
            after: Some(json!({ "tag": tag, "present": on })),
        };
        audit::record(&mut tx, entry, at).await?;
    }
    tx.commit().await?;
    Ok(changed)
}
