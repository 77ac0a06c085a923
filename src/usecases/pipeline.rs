//! Moving an application through the stages after the quiz, and notes on it: the rules are
//! `domain::pipeline`'s; here each change is made in one transaction with its event on the
//! applicant's timeline and its audit row.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::pipeline::{MoveError, Pipeline};
use crate::store::audit::{self, Entry};
use crate::store::{applications, outbox, Db, StoreError, Tx};

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

/// The emails a move may send, with what they say.
pub const MOVE_TEMPLATES: &[(&str, &str)] = &[
    (
        "stage_update",
        "Tell the applicant their new stage and what comes next",
    ),
    (
        "application_declined",
        "Decline politely (only with a move to rejected)",
    ),
];

/// Checks a move's email template: one of `MOVE_TEMPLATES`, and the decline only when
/// rejecting. The message names what to do.
pub fn check_template(template: Option<&str>, to: &str) -> Result<(), String> {
    let Some(t) = template else { return Ok(()) };
    if !MOVE_TEMPLATES.iter().any(|(name, _)| *name == t) {
        let names: Vec<&str> = MOVE_TEMPLATES.iter().map(|(n, _)| *n).collect();
        return Err(format!("Choose one of the emails: {}.", names.join(", ")));
    }
    if t == "application_declined" && to != crate::domain::pipeline::REJECTED {
        return Err("The decline email goes only with a move to rejected.".into());
    }
    Ok(())
}

/// What a move's email says about the new stage: the data the template renders with.
pub fn move_email_payload(pipeline: &Pipeline, id: Uuid, name: &str, to: &str) -> Value {
    use crate::domain::pipeline::Kind;
    let stage = pipeline.stage(to);
    let next_step = match stage.map(|s| s.kind) {
        Some(Kind::Shortlisted) => Some("a recruiter will contact you about the next step."),
        Some(Kind::Review(_)) => Some("a recruiter will get in touch to arrange this step."),
        Some(Kind::OnHold) => Some("we will come back to you as soon as a place opens."),
        Some(Kind::Offered) => {
            Some("your offer arrives in a separate email, with a link to accept it.")
        }
        _ => None,
    };
    json!({
        "application_id": id,
        "name": name,
        "stage_label": stage.map_or(to, |s| s.label.as_str()),
        "next_step": next_step,
    })
}

/// One applicant a move is asked for: found and checked, or why not.
pub type MoveOutcome = Result<Moved, MoveError>;

/// Moves the applicants read (under lock) in `apps` to `to`, those the pipeline allows, with
/// one event, one audit row and (with `template`) one outbox email each, all in `tx`. The
/// email's idempotency key is `email_key` and the applicant's id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_in_tx(
    tx: &mut Tx,
    pipeline: &Pipeline,
    actor: &str,
    apps: &[applications::ApplicationRow],
    to: &str,
    reason: Option<&str>,
    template: Option<&str>,
    email_key: &str,
    at: DateTime<Utc>,
) -> Result<Vec<(Uuid, MoveOutcome)>, StoreError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let outcomes: Vec<(Uuid, MoveOutcome)> = apps
        .iter()
        .map(|a| {
            let checked = pipeline.check_move(&a.status, to, reason).map(|()| Moved {
                from: a.status.clone(),
                to: to.to_string(),
            });
            (a.id, checked)
        })
        .collect();
    let moved: Vec<(&applications::ApplicationRow, &Moved)> = apps
        .iter()
        .zip(&outcomes)
        .filter_map(|(a, (_, o))| o.as_ref().ok().map(|m| (a, m)))
        .collect();
    if moved.is_empty() {
        return Ok(outcomes);
    }
    let ids: Vec<Uuid> = moved.iter().map(|(a, _)| a.id).collect();
    applications::set_stage_many(tx, &ids, to, at).await?;
    // Leaving the offered stage other than by accepting closes the open offer; leaving
    // onboarding other than by going live gives the seat back.
    let left = |stage: &str| -> Vec<Uuid> {
        moved
            .iter()
            .filter(|(_, m)| m.from == stage)
            .map(|(a, _)| a.id)
            .collect()
    };
    if to != "onboarding" {
        crate::store::cohorts::withdraw_offers(tx, &left("offered"), at).await?;
    }
    if to != "live" {
        crate::store::cohorts::release_seats(tx, &left("onboarding"), at).await?;
    }
    // An agent's stage changes move their market's live count; leaving for good (offboarded,
    // or rejected or withdrawn from live or paused) ends their time as an agent.
    for (a, m) in &moved {
        if super::reports::live_step(&m.from, to).is_none() {
            continue;
        }
        if let Some(cohort) = crate::store::cohorts::seat_of(tx, a.id).await? {
            super::reports::record_live_step(tx, &cohort.market, &m.from, to, at).await?;
        }
        if matches!(m.from.as_str(), "live" | "paused") && !matches!(to, "live" | "paused") {
            crate::store::cohorts::set_offboarded(tx, a.id, at).await?;
        }
    }
    let events: Vec<applications::NewEvent> = moved
        .iter()
        .map(|(a, m)| applications::NewEvent {
            application_id: a.id,
            kind: "moved",
            detail: json!({ "from": m.from, "to": to, "reason": reason, "email": template }),
            actor,
        })
        .collect();
    applications::record_events(tx, &events, at).await?;
    let subjects: Vec<String> = ids.iter().map(|id| format!("application:{id}")).collect();
    let entries: Vec<Entry> = moved
        .iter()
        .zip(&subjects)
        .map(|((_, m), subject)| Entry {
            actor,
            action: "application.move",
            subject,
            before: Some(json!({ "stage": m.from })),
            after: Some(json!({ "stage": to, "reason": reason, "email": template })),
        })
        .collect();
    audit::record_many(tx, &entries, at).await?;
    let changes: Vec<serde_json::Value> = moved
        .iter()
        .map(|(a, m)| json!({ "application_id": a.id, "from": m.from, "to": to, "reason": reason }))
        .collect();
    super::webhooks::notify(tx, "application.stage_changed", &changes, at).await?;
    if let Some(t) = template {
        let emails: Vec<outbox::NewEmail> = moved
            .iter()
            .map(|(a, _)| outbox::NewEmail {
                idempotency_key: format!("{email_key}:{}", a.id),
                template: t,
                recipient: &a.email,
                payload: move_email_payload(pipeline, a.id, &a.full_name, to),
            })
            .collect();
        outbox::enqueue_many(tx, &emails, at).await?;
    }
    Ok(outcomes)
}

/// A move into `live`, `paused` or `offboarded` that the flow has is still refused as a plain
/// move: activation checks the checklist and the start date, and pausing and offboarding
/// need a reason, so those go through the cohort's steps (`usecases::onboarding`).
///
/// `expired` is refused too: only the verify_reminder job moves applicants there, a week after
/// their last verification email.
pub fn agent_step_only(pipeline: &Pipeline, from: &str, to: &str) -> Option<MoveError> {
    if to == "expired" {
        return Some(MoveError::NotAllowed(
            "Applications expire on their own when the email is not confirmed in time; reject \
             or withdraw the application instead."
                .into(),
        ));
    }
    let agent_stage = matches!(to, "live" | "paused" | "offboarded");
    (agent_stage && pipeline.check_move(from, to, None).is_ok()).then(|| {
        MoveError::NotAllowed(
            "Agents go live, pause and leave through their cohort: use activate, pause, resume \
             or offboard on the cohort's page (or the API), which check the checklist and \
             record the reason."
                .into(),
        )
    })
}

/// Moves application `id` to stage `to`, if the pipeline allows it from where it stands now
/// (read under a row lock, so two moves at once are checked one after the other), and queues
/// `template` to the applicant in the same transaction. `actor` is `staff:<id>` or
/// `api_key:<id>`.
pub async fn move_application(
    db: &Db,
    pipeline: &Pipeline,
    actor: &str,
    id: Uuid,
    to: &str,
    reason: Option<&str>,
    template: Option<&str>,
) -> Result<Moved, MoveFailure> {
    let at = db.now();
    let mut tx = db.begin().await?;
    let app = applications::get_for_update(&mut tx, id).await?;
    if let Some(why) = agent_step_only(pipeline, &app.status, to) {
        return Err(MoveFailure::Refused(why));
    }
    let key = format!("move:{}", Uuid::now_v7());
    let mut outcomes = move_in_tx(
        &mut tx,
        pipeline,
        actor,
        std::slice::from_ref(&app),
        to,
        reason,
        template,
        &key,
        at,
    )
    .await?;
    let (_, outcome) = outcomes.pop().expect("one outcome per applicant");
    let moved = outcome.map_err(MoveFailure::Refused)?;
    tx.commit().await?;
    Ok(moved)
}

/// Adds a note to an application's timeline; the audit row records that a note was added
/// (and its length), not what it says.
pub async fn add_note(db: &Db, actor: &str, id: Uuid, body: &str) -> Result<(), MoveFailure> {
    let at = db.now();
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
    let at = db.now();
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

/// One thing that happened to an application.
#[derive(Debug, Clone)]
pub struct TimelineItem {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor: String,
    pub detail: Value,
}

/// Everything that happened to an application, oldest first: its events (signup, screening,
/// quiz, moves with who and why, notes, tags) and every email with its outbox state.
pub async fn timeline(db: &Db, id: Uuid) -> Result<Vec<TimelineItem>, StoreError> {
    let mut items: Vec<TimelineItem> = applications::events(db, id)
        .await?
        .into_iter()
        .map(|e| TimelineItem {
            at: e.created_at,
            detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
            kind: e.kind,
            actor: e.actor,
        })
        .collect();
    for m in outbox::for_application(db, id).await? {
        items.push(TimelineItem {
            at: m.created_at,
            kind: "email".into(),
            actor: "system".into(),
            detail: json!({
                "template": m.template,
                "status": m.status,
                "error": m.last_error,
                "sent_at": m.sent_at,
            }),
        });
    }
    items.sort_by_key(|t| t.at);
    Ok(items)
}

/// Why a merge was refused.
#[derive(Debug, thiserror::Error)]
pub enum MergeFailure {
    #[error("no such application")]
    NotFound,
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Merges two applications of one person (same address without dots or `+tag`, or same phone):
/// the older one stays, the newer one's timeline, notes, tags, quiz attempts and emails move to
/// it, a `merged` event and an audit row record it, and the newer record is deleted. One
/// transaction. Returns the id that stays.
pub async fn merge(db: &Db, actor: &str, a: Uuid, b: Uuid) -> Result<Uuid, MergeFailure> {
    if a == b {
        return Err(MergeFailure::Refused(
            "An applicant cannot be merged with themselves.",
        ));
    }
    let at = db.now();
    let mut tx = db.begin().await?;
    let mut apps = applications::get_many_for_update(&mut tx, &[a, b]).await?;
    if apps.len() != 2 {
        return Err(MergeFailure::NotFound);
    }
    apps.sort_by_key(|x| (x.created_at, x.id));
    let (keep, gone) = (&apps[0], &apps[1]);
    if !crate::store::applicants::same_person(&mut tx, keep.id, gone.id).await? {
        return Err(MergeFailure::Refused(
            "These applicants share neither an address (dots and +tag aside) nor a phone number.",
        ));
    }
    let open = crate::store::attempts::open_among(&mut tx, &[keep.id, gone.id]).await?;
    if open > 1 {
        return Err(MergeFailure::Refused(
            "Both records have a quiz attempt running: merge them once one has finished.",
        ));
    }
    crate::store::applicants::move_history(&mut tx, gone.id, keep.id).await?;
    let detail = json!({ "merged": gone.id, "merged_stage": gone.status });
    applications::record_event(&mut tx, keep.id, "merged", detail, actor, at).await?;
    let subject = format!("application:{}", keep.id);
    let entry = Entry {
        actor,
        action: "application.merge",
        subject: &subject,
        before: Some(json!({ "kept": keep.id, "merged": gone.id, "merged_stage": gone.status })),
        after: Some(json!({ "kept": keep.id })),
    };
    audit::record(&mut tx, entry, at).await?;
    tx.commit().await?;
    Ok(keep.id)
}
