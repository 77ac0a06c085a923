//! Onboarding a cohort member: ticking their checklist, activating them once every required item
//! is done and their cohort has started, and pausing, resuming and offboarding a live agent. Each
//! step is one transaction with its timeline event and audit row; activation and offboarding
//! queue their email in it.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::domain::pipeline::{MoveError, Pipeline};
use crate::domain::{add_error, FieldErrors};
use crate::store::audit::{self, Entry};
use crate::store::cohorts::{self, ItemRow, TickRow};
use crate::store::{applications, outbox, Db, StoreError};
use crate::usecases::{pipeline, webhooks};

/// Why a step was not taken.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// No such application, or it holds no seat in a cohort, or the cohort has no such item.
    #[error("{0}")]
    NotFound(&'static str),
    /// The input is wrong (422), naming the field.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The state does not allow the step (409), naming what stands in the way.
    #[error("refused")]
    Refused(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(field: &str, message: impl Into<String>) -> StepFailure {
    let mut errors = FieldErrors::new();
    add_error(&mut errors, field, message);
    StepFailure::Refused(errors)
}

fn invalid(field: &str, message: impl Into<String>) -> StepFailure {
    let mut errors = FieldErrors::new();
    add_error(&mut errors, field, message);
    StepFailure::Invalid(errors)
}

/// Who ticks: staff or a key (any item), or the applicant on their status page (only the
/// items marked `ticked_by = "applicant"`).
#[derive(Debug, Clone, Copy)]
pub enum Ticker<'a> {
    Staff(&'a str),
    Applicant,
}

impl Ticker<'_> {
    fn actor(&self) -> &str {
        match self {
            Ticker::Staff(actor) => actor,
            Ticker::Applicant => "applicant",
        }
    }
}

/// The most a bandwidth figure may be, in Mbit/s.
pub const BANDWIDTH_MAX: f64 = 10_000.0;

/// Ticks (or, with `done` false, unticks) checklist item `key` of member `application_id`.
/// An item that records a figure (the equipment check's `bandwidth_mbps`) needs it to be ticked.
/// Returns the cohort's checklist and the member's ticks after the change.
pub async fn tick(
    db: &Db,
    by: Ticker<'_>,
    application_id: Uuid,
    key: &str,
    done: bool,
    value: Option<f64>,
    now: DateTime<Utc>,
) -> Result<(Vec<ItemRow>, Vec<TickRow>), StepFailure> {
    let actor = by.actor();
    let mut tx = db.begin().await?;
    let cohort = cohorts::seat_of(&mut tx, application_id)
        .await?
        .ok_or(StepFailure::NotFound(
            "This applicant holds no seat in a cohort.",
        ))?;
    let item = cohorts::item(&mut tx, cohort.id, key)
        .await?
        .ok_or(StepFailure::NotFound(
            "The cohort's checklist has no such item.",
        ))?;
    if matches!(by, Ticker::Applicant) && item.ticked_by != "applicant" {
        return Err(refused(
            "item",
            format!("A recruiter ticks \"{}\" for you.", item.label),
        ));
    }
    let value = match (&item.records, done, value) {
        (Some(field), true, None) => {
            return Err(invalid(
                field,
                format!(
                    "Enter the measured bandwidth in Mbit/s to tick \"{}\".",
                    item.label
                ),
            ))
        }
        (Some(field), true, Some(v)) if !(v > 0.0 && v <= BANDWIDTH_MAX) => {
            return Err(invalid(
                field,
                format!("Enter a bandwidth above 0 and at most {BANDWIDTH_MAX} Mbit/s."),
            ))
        }
        (Some(_), true, v) => v,
        _ => None,
    };
    let changed = if done {
        cohorts::tick(&mut tx, application_id, cohort.id, key, value, actor, now).await?;
        true
    } else {
        cohorts::untick(&mut tx, application_id, key).await?
    };
    if changed {
        let detail = json!({ "item": key, "done": done, "value": value });
        applications::record_events(
            &mut tx,
            &[applications::NewEvent {
                application_id,
                kind: "checklist",
                detail: detail.clone(),
                actor,
            }],
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            Entry {
                actor,
                action: "checklist.tick",
                subject: &format!("application:{application_id}"),
                before: None,
                after: Some(detail),
            },
            now,
        )
        .await?;
    }
    let ticks = cohorts::ticks_of(&mut tx, application_id).await?;
    tx.commit().await?;
    Ok((cohorts::checklist(db, cohort.id).await?, ticks))
}

/// A step in a live agent's life, and the stage it moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Activate,
    Pause,
    Resume,
    Offboard,
}

impl Step {
    pub fn stage(self) -> &'static str {
        match self {
            Step::Activate | Step::Resume => "live",
            Step::Pause => "paused",
            Step::Offboard => "offboarded",
        }
    }

    /// The email the step sends, if any.
    fn template(self) -> Option<&'static str> {
        match self {
            Step::Activate => Some("agent_activated"),
            Step::Offboard => Some("agent_offboarded"),
            Step::Pause | Step::Resume => None,
        }
    }

    /// The webhook event the step sends, besides `application.stage_changed`.
    fn event(self) -> Option<&'static str> {
        match self {
            Step::Activate => Some("agent.activated"),
            Step::Pause => Some("agent.paused"),
            Step::Offboard => Some("agent.offboarded"),
            Step::Resume => None,
        }
    }

    fn allowed_from(self) -> &'static [&'static str] {
        match self {
            Step::Activate => &["onboarding"],
            Step::Pause => &["live"],
            Step::Resume => &["paused"],
            Step::Offboard => &["live", "paused"],
        }
    }
}

pub const REASON_MAX: usize = 500;

/// Checks the reason pause, resume and offboard need: 1 to `REASON_MAX` characters.
pub fn parse_reason(raw: Option<&str>) -> Result<String, FieldErrors> {
    let reason = raw.map(str::trim).unwrap_or("");
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        let mut errors = FieldErrors::new();
        add_error(
            &mut errors,
            "reason",
            format!("Give the reason, in 1 to {REASON_MAX} characters."),
        );
        return Err(errors);
    }
    Ok(reason.to_string())
}

/// Takes `step` for member `application_id`. Activation needs the onboarding stage, the
/// cohort's start date reached (in UTC) and every required checklist item done; it records
/// `went_live_at` the first time. Pause, resume and offboard need `reason`.
pub async fn take(
    db: &Db,
    pipeline_: &Pipeline,
    actor: &str,
    application_id: Uuid,
    step: Step,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, StepFailure> {
    let mut tx = db.begin().await?;
    let app = match applications::get_for_update(&mut tx, application_id).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => {
            return Err(StepFailure::NotFound("No application has this id."))
        }
        Err(e) => return Err(e.into()),
    };
    let cohort = cohorts::seat_of(&mut tx, application_id)
        .await?
        .ok_or(StepFailure::NotFound(
            "This applicant holds no seat in a cohort.",
        ))?;
    if !step.allowed_from().contains(&app.status.as_str()) {
        let label = |s: &str| {
            pipeline_
                .stage(s)
                .map_or(s.to_string(), |s| s.label.clone())
        };
        let from: Vec<String> = step.allowed_from().iter().map(|s| label(s)).collect();
        return Err(refused(
            "stage",
            format!(
                "The applicant is in {}; this step is for an applicant in {}.",
                label(&app.status),
                from.join(" or ")
            ),
        ));
    }
    if step == Step::Activate {
        if now.date_naive() < cohort.start_date {
            return Err(refused(
                "start_date",
                format!(
                    "The cohort starts on {}: activation is allowed from its start date.",
                    cohort.start_date
                ),
            ));
        }
        let missing = cohorts::required_not_done(&mut tx, application_id, cohort.id).await?;
        if !missing.is_empty() {
            let n = missing.len();
            let items = if n == 1 { "item is" } else { "items are" };
            return Err(refused(
                "checklist",
                format!(
                    "{n} required checklist {items} not done: {}.",
                    missing.join(", ")
                ),
            ));
        }
    }
    let key = format!("{}:{}", step.stage(), Uuid::now_v7());
    let mut outcomes = pipeline::move_in_tx(
        &mut tx,
        pipeline_,
        actor,
        std::slice::from_ref(&app),
        step.stage(),
        reason,
        None,
        &key,
        now,
    )
    .await?;
    if let Some((_, Err(e))) = outcomes.pop() {
        let message = match e {
            MoveError::NotAllowed(m) => m,
            other => other.field_and_message(pipeline_.reject_reasons()).1,
        };
        return Err(refused("stage", message));
    }
    // The move recorded the live count and, for offboarding, the day they left.
    if step == Step::Activate {
        cohorts::set_went_live(&mut tx, application_id, cohort.id, now).await?;
    }
    if let Some(event) = step.event() {
        let data = json!({
            "application_id": application_id, "cohort_id": cohort.id, "market": cohort.market,
            "from": app.status, "to": step.stage(), "reason": reason, "at": now,
        });
        webhooks::notify(&mut tx, event, &[data], now).await?;
    }
    if let Some(template) = step.template() {
        outbox::enqueue(
            &mut tx,
            outbox::NewEmail {
                idempotency_key: key.clone(),
                template,
                recipient: &app.email,
                payload: json!({
                    "application_id": app.id,
                    "name": app.full_name,
                    "cohort": cohort.name,
                }),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(step.stage().to_string())
}

/// What an applicant's status page shows of their cohort: their latest offer, its cohort, the
/// cohort's checklist and their ticks (none before they accept).
pub struct Onboarding {
    pub offer: cohorts::OfferRow,
    pub cohort: cohorts::CohortRow,
    pub checklist: Vec<ItemRow>,
    pub ticks: Vec<TickRow>,
}

pub async fn of_applicant(db: &Db, application_id: Uuid) -> Result<Option<Onboarding>, StoreError> {
    let Some((offer, cohort)) = crate::usecases::cohorts::offer_of(db, application_id).await?
    else {
        return Ok(None);
    };
    let (checklist, ticks) = if offer.status == "accepted" {
        (
            cohorts::checklist(db, cohort.id).await?,
            cohorts::ticks_of_read(db, application_id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Some(Onboarding {
        offer,
        cohort,
        checklist,
        ticks,
    }))
}
