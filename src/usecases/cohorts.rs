//! Pilot cohorts: making one (with its checklist copied from the template and an audit row, in
//! one transaction), reading one, offering its seats, and the applicants' answers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::cohorts::{NewCohort, DEFAULT_TEMPLATE};
use crate::domain::pipeline::Pipeline;
use crate::domain::{add_error, iso, time, FieldErrors};
use crate::store::audit::{self, Entry};
use crate::store::cohorts::{self, CohortRow, ItemRow};
use crate::store::{applications, outbox, Db, StoreError, Tx};
use crate::usecases::pipeline;

#[derive(Debug, thiserror::Error)]
pub enum CreateFailure {
    /// The request names something that cannot be: a taken name, an owner who is not an
    /// active recruiter.
    #[error("the cohort was not created")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes a cohort. Its owner is the active recruiter or admin with `owner_email`, or `owner`
/// (the staff member creating it) when no address is given; an API key without an address
/// leaves it empty until a recruiter takes it. The checklist is copied from the default
/// template.
pub async fn create(
    db: &Db,
    actor: &str,
    owner: Option<Uuid>,
    c: &NewCohort,
    now: DateTime<Utc>,
) -> Result<CohortRow, CreateFailure> {
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    let owner_id = match &c.owner_email {
        Some(email) => match cohorts::staff_by_email(&mut tx, email.as_str()).await? {
            Some((id, role)) if role == "recruiter" || role == "admin" => Some(id),
            _ => {
                let mut errors = FieldErrors::new();
                add_error(
                    &mut errors,
                    "owner_email",
                    "No active recruiter has this address: the owner must be a recruiter or an admin.",
                );
                return Err(CreateFailure::Invalid(errors));
            }
        },
        None => owner,
    };
    match cohorts::insert(&mut tx, id, c, owner_id, DEFAULT_TEMPLATE, actor, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let mut errors = FieldErrors::new();
            add_error(
                &mut errors,
                "name",
                "A cohort with this name exists: choose another name.",
            );
            return Err(CreateFailure::Invalid(errors));
        }
        Err(e) => return Err(e.into()),
    }
    let after = json!({
        "name": c.name, "market": c.market, "language": c.language,
        "start_date": c.start_date, "capacity": c.capacity, "owner": owner_id,
        "waitlist": c.waitlist,
    });
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "cohort.create",
            subject: &format!("cohort:{id}"),
            before: None,
            after: Some(after),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    cohorts::get(db, id)
        .await?
        .ok_or_else(|| StoreError::NotFound.into())
}

/// A cohort, its checklist, and everyone offered a seat; None when there is no such cohort.
#[allow(clippy::type_complexity)]
pub async fn read(
    db: &Db,
    id: Uuid,
) -> Result<Option<(CohortRow, Vec<ItemRow>, Vec<cohorts::MemberRow>)>, StoreError> {
    let Some(cohort) = cohorts::get(db, id).await? else {
        return Ok(None);
    };
    let checklist = cohorts::checklist(db, id).await?;
    Ok(Some((cohort, checklist, cohorts::members(db, id).await?)))
}

/// What happened to one applicant of an offer request.
#[derive(Debug, Clone, PartialEq)]
pub enum OfferOutcome {
    Offered { offer_id: Uuid },
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OfferFailure {
    #[error("no such cohort")]
    NoCohort,
    /// A closed cohort takes no more offers.
    #[error("the cohort is closed")]
    Closed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Offers seats of cohort `cohort_id` to applicants `ids` (each once, in the order given): each
/// one on the shortlist or in a review stage, with no open offer and no seat, moves to
/// `offered` and gets the offer email (accept and decline links, and the status link), with a
/// timeline event and audit rows, all in one transaction. The others are reported with why.
pub async fn offer(
    db: &Db,
    settings: &Settings,
    pipeline: &Pipeline,
    actor: &str,
    cohort_id: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, OfferOutcome)>, OfferFailure> {
    let mut tx = db.begin().await?;
    let cohort = cohorts::get_tx(&mut tx, cohort_id)
        .await?
        .ok_or(OfferFailure::NoCohort)?;
    if cohort.marked.as_deref() == Some("closed") {
        return Err(OfferFailure::Closed);
    }
    let outcomes = offer_in_tx(&mut tx, settings, pipeline, actor, &cohort, ids, now).await?;
    tx.commit().await?;
    Ok(outcomes)
}

pub const CLOSED: &str = "The cohort is closed: it takes no more offers.";

/// `offer` inside the caller's transaction (a bulk action), for an open cohort.
pub(crate) async fn offer_in_tx(
    tx: &mut Tx,
    settings: &Settings,
    pipeline: &Pipeline,
    actor: &str,
    cohort: &CohortRow,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, OfferOutcome)>, StoreError> {
    let mut wanted: Vec<Uuid> = Vec::with_capacity(ids.len());
    for id in ids {
        if !wanted.contains(id) {
            wanted.push(*id);
        }
    }
    let apps = applications::get_many_for_update(tx, &wanted).await?;
    let held: HashMap<Uuid, String> = cohorts::offers_among(tx, &wanted)
        .await?
        .into_iter()
        .collect();
    let mut outcomes: HashMap<Uuid, OfferOutcome> = HashMap::new();
    let mut candidates = Vec::new();
    for id in &wanted {
        let refused = |m: &str| OfferOutcome::Refused(m.to_string());
        match (
            apps.iter().find(|a| a.id == *id),
            held.get(id).map(String::as_str),
        ) {
            (None, _) => {
                outcomes.insert(*id, refused("No application has this id."));
            }
            (Some(_), Some("accepted")) => {
                outcomes.insert(
                    *id,
                    refused("The applicant already has a seat in a cohort."),
                );
            }
            (Some(_), Some(_)) => {
                outcomes.insert(*id, refused("The applicant already has an open offer."));
            }
            (Some(a), None) => candidates.push(a.clone()),
        }
    }
    let key = format!("offer:{}", Uuid::now_v7());
    let moved = pipeline::move_in_tx(
        tx,
        pipeline,
        actor,
        &candidates,
        OFFERED,
        None,
        None,
        &key,
        now,
    )
    .await?;
    let expires_at = now + settings.offer_ttl.duration();
    let mut offers = Vec::new();
    let mut emails = Vec::new();
    let mut events = Vec::new();
    let tz = settings.time_zone(&cohort.market);
    for (id, result) in moved {
        match result {
            Ok(_) => {
                let offer_id = Uuid::now_v7();
                offers.push((offer_id, id));
                outcomes.insert(id, OfferOutcome::Offered { offer_id });
                let app = candidates.iter().find(|a| a.id == id).expect("a candidate");
                emails.push((offer_id, app));
                events.push(applications::NewEvent {
                    application_id: id,
                    kind: "offer",
                    detail: json!({ "cohort": cohort.name, "cohort_id": cohort.id,
                                    "expires_at": expires_at }),
                    actor,
                });
            }
            Err(e) => {
                let (_, why) = e.field_and_message(pipeline.reject_reasons());
                outcomes.insert(id, OfferOutcome::Refused(format!("Not offered: {why}")));
            }
        }
    }
    cohorts::insert_offers(tx, cohort.id, &offers, expires_at, actor, now).await?;
    applications::record_events(tx, &events, now).await?;
    let queued: Vec<outbox::NewEmail> = emails
        .iter()
        .map(|(offer_id, app)| outbox::NewEmail {
            idempotency_key: format!("offer:{offer_id}"),
            template: OFFER_TEMPLATE,
            recipient: &app.email,
            payload: offer_payload(app, cohort, expires_at, tz, false),
        })
        .collect();
    outbox::enqueue_many(tx, &queued, now).await?;
    Ok(wanted
        .into_iter()
        .map(|id| {
            let o = outcomes.remove(&id).expect("an outcome per applicant");
            (id, o)
        })
        .collect())
}

/// What the offer email shows: the cohort, and until when the links work. `reopened` when a
/// seat freed up for someone on the waitlist.
fn offer_payload(
    app: &applications::ApplicationRow,
    cohort: &CohortRow,
    expires_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    reopened: bool,
) -> serde_json::Value {
    json!({
        "application_id": app.id,
        "name": app.full_name,
        "cohort": cohort.name,
        "market": iso::country_name(&cohort.market).unwrap_or(&cohort.market),
        "language": iso::language_name(&cohort.language).unwrap_or(&cohort.language),
        "start_date": time::date_of(cohort.start_date),
        "expires": time::date_time(expires_at, tz),
        "reopened": reopened,
    })
}

/// Offers each seat that is free again (a member left before going live, or the capacity
/// grew) to the next person on the cohort's waitlist, oldest first: their waitlisted offer
/// becomes pending for another `offer_ttl`, and the offer email goes out again, saying a seat
/// opened. One transaction; returns how many were offered.
pub async fn promote_waitlist(
    db: &Db,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    const ACTOR: &str = "waitlist";
    let mut tx = db.begin().await?;
    let due = cohorts::promotable(&mut tx).await?;
    let expires_at = now + settings.offer_ttl.duration();
    let mut done = 0;
    for (offer_id, cohort_id) in due {
        let Some(cohort) = cohorts::get_tx(&mut tx, cohort_id).await? else {
            continue;
        };
        let Some(offer) = cohorts::offer_by_id(&mut tx, offer_id).await? else {
            continue;
        };
        if !cohorts::reopen_offer(&mut tx, offer_id, expires_at, now).await? {
            continue;
        }
        let app = applications::get_tx(&mut tx, offer.application_id).await?;
        let tz = settings.time_zone(&cohort.market);
        outbox::enqueue(
            &mut tx,
            outbox::NewEmail {
                idempotency_key: format!("offer:{offer_id}:reopened:{}", now.timestamp_micros()),
                template: OFFER_TEMPLATE,
                recipient: &app.email,
                payload: offer_payload(&app, &cohort, expires_at, tz, true),
            },
            now,
        )
        .await?;
        let detail = json!({ "offer": offer_id, "cohort_id": cohort_id, "expires_at": expires_at });
        applications::record_events(
            &mut tx,
            &[applications::NewEvent {
                application_id: app.id,
                kind: "offer_reopened",
                detail: detail.clone(),
                actor: ACTOR,
            }],
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            Entry {
                actor: ACTOR,
                action: "offer.reopen",
                subject: &format!("application:{}", app.id),
                before: Some(json!({ "offer": "waitlisted" })),
                after: Some(detail),
            },
            now,
        )
        .await?;
        done += 1;
    }
    tx.commit().await?;
    Ok(done)
}

pub const OFFER_TEMPLATE: &str = "cohort_offer";
const OFFERED: &str = "offered";

/// An applicant's answer to their offer, and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A seat is theirs; they are onboarding.
    Accepted,
    /// The cohort was full and has a waitlist: they are on it.
    Waitlisted,
    /// The cohort was full: nothing changed.
    Full,
    /// The cohort was closed before the answer: nothing changed.
    Closed,
    Declined,
    /// The offer ran out before the answer.
    Expired,
    /// There is no open offer to answer (already answered, or none).
    NothingOpen,
}

/// Answers applicant `application_id`'s open offer. Accepting takes a seat if one is free and
/// moves them to `onboarding`; a full cohort puts them on its waitlist when it has one and
/// otherwise refuses. Declining, or answering after the offer expired, returns them to the
/// shortlist. Each outcome in one transaction, with a timeline event and an audit row.
pub async fn answer(
    db: &Db,
    pipeline: &Pipeline,
    application_id: Uuid,
    accept: bool,
    now: DateTime<Utc>,
) -> Result<Answer, StoreError> {
    const ACTOR: &str = "applicant";
    let mut tx = db.begin().await?;
    let app = applications::get_for_update(&mut tx, application_id).await?;
    let Some(offer) = cohorts::latest_offer(&mut tx, application_id).await? else {
        return Ok(Answer::NothingOpen);
    };
    // An offer stands only while the applicant is in the offered stage.
    if app.status != OFFERED {
        return Ok(Answer::NothingOpen);
    }
    if !cohorts::OPEN.contains(&offer.status.as_str()) {
        return Ok(Answer::NothingOpen);
    }
    // Leaving a waitlist is a decline whenever it comes; the offer's first deadline does not
    // apply to a place in the queue.
    let leaving_waitlist = !accept && offer.status == "waitlisted";
    let (outcome, offer_to, stage_to) = if offer.expires_at <= now && !leaving_waitlist {
        (Answer::Expired, "expired", Some("shortlisted"))
    } else if !accept {
        (Answer::Declined, "declined", Some("shortlisted"))
    } else if cohorts::take_seat(&mut tx, offer.cohort_id, now).await? {
        (Answer::Accepted, "accepted", Some("onboarding"))
    } else {
        let cohort = cohorts::get_tx(&mut tx, offer.cohort_id).await?;
        if cohort
            .as_ref()
            .is_some_and(|c| c.marked.as_deref() == Some("closed"))
        {
            return Ok(Answer::Closed);
        }
        if !cohort.is_some_and(|c| c.waitlist) {
            return Ok(Answer::Full);
        }
        if offer.status == "waitlisted" {
            return Ok(Answer::Waitlisted);
        }
        (Answer::Waitlisted, "waitlisted", None)
    };
    if !cohorts::decide_offer(&mut tx, offer.id, cohorts::OPEN, offer_to, now).await? {
        return Ok(Answer::NothingOpen);
    }
    if let Some(to) = stage_to {
        let key = format!("answer:{}", offer.id);
        pipeline::move_in_tx(
            &mut tx,
            pipeline,
            ACTOR,
            std::slice::from_ref(&app),
            to,
            None,
            None,
            &key,
            now,
        )
        .await?;
    }
    let detail = json!({ "offer": offer.id, "cohort_id": offer.cohort_id, "answer": offer_to });
    applications::record_events(
        &mut tx,
        &[applications::NewEvent {
            application_id,
            kind: "offer_answer",
            detail: detail.clone(),
            actor: ACTOR,
        }],
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        Entry {
            actor: ACTOR,
            action: "offer.answer",
            subject: &format!("application:{application_id}"),
            before: Some(json!({ "offer": offer.status })),
            after: Some(detail),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A fresh link to the applicant's open offer (pending, or a place on a waitlist), for the
/// status page's "Open my offer"; None when no offer is open.
pub async fn offer_link(
    db: &Db,
    settings: &Settings,
    application_id: Uuid,
) -> Result<Option<crate::domain::token::SecretToken>, StoreError> {
    let open = offer_of(db, application_id)
        .await?
        .is_some_and(|(o, _)| cohorts::OPEN.contains(&o.status.as_str()));
    if !open {
        return Ok(None);
    }
    let ttl = settings.offer_ttl.duration();
    let token = crate::store::tokens::issue(
        db,
        application_id,
        crate::store::tokens::OFFER,
        ttl,
        db.now(),
    )
    .await?;
    Ok(Some(token))
}

/// The applicant's latest offer with its cohort, for their offer page.
pub async fn offer_of(
    db: &Db,
    application_id: Uuid,
) -> Result<Option<(cohorts::OfferRow, CohortRow)>, StoreError> {
    let Some(offer) = cohorts::latest_offer_read(db, application_id).await? else {
        return Ok(None);
    };
    let cohort = cohorts::get(db, offer.cohort_id).await?;
    Ok(cohort.map(|c| (offer, c)))
}

#[derive(Debug, thiserror::Error)]
pub enum MarkFailure {
    #[error("no such cohort")]
    NoCohort,
    /// The cohort's status does not allow it; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Marks cohort `id` `live` or `closed` (see `domain::cohorts::check_mark`), with an audit
/// row. A closed cohort takes no more offers and no more accepts.
pub async fn mark(
    db: &Db,
    actor: &str,
    id: Uuid,
    to: &str,
    now: DateTime<Utc>,
) -> Result<CohortRow, MarkFailure> {
    use crate::domain::cohorts::{check_mark, CohortStatus};
    let mut tx = db.begin().await?;
    let cohort = cohorts::get_tx(&mut tx, id)
        .await?
        .ok_or(MarkFailure::NoCohort)?;
    let current = CohortStatus::of(
        cohort.start_date,
        cohort.marked.as_deref(),
        now.date_naive(),
    );
    check_mark(current, to, cohort.start_date).map_err(MarkFailure::Refused)?;
    cohorts::set_marked(&mut tx, id, to, now).await?;
    audit::record(
        &mut tx,
        Entry {
            actor,
            action: "cohort.status",
            subject: &format!("cohort:{id}"),
            before: Some(json!({ "status": current.as_str() })),
            after: Some(json!({ "status": to })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    cohorts::get(db, id).await?.ok_or(MarkFailure::NoCohort)
}

/// What activating every ready member did: who went live, and who did not with why.
#[derive(Debug, Default)]
pub struct Activated {
    pub live: Vec<Uuid>,
    pub not_ready: Vec<(Uuid, String)>,
}

/// Activates every member of cohort `id` in onboarding whose required checklist is done (each
/// in its own transaction, as one activation is); the others are reported with why.
pub async fn activate_ready(
    db: &Db,
    pipeline: &Pipeline,
    actor: &str,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Activated, StoreError> {
    use crate::usecases::onboarding::{self, Step, StepFailure};
    let mut out = Activated::default();
    for m in cohorts::members(db, id).await? {
        if m.offer_status != "accepted" || m.stage != "onboarding" {
            continue;
        }
        match onboarding::take(
            db,
            pipeline,
            actor,
            m.application_id,
            Step::Activate,
            None,
            now,
        )
        .await
        {
            Ok(_) => out.live.push(m.application_id),
            Err(StepFailure::Refused(errors) | StepFailure::Invalid(errors)) => {
                let why = errors.into_values().flatten().collect::<Vec<_>>().join(" ");
                out.not_ready.push((m.application_id, why));
            }
            Err(StepFailure::NotFound(why)) => out.not_ready.push((m.application_id, why.into())),
            Err(StepFailure::Store(e)) => return Err(e),
        }
    }
    Ok(out)
}
