//! The reminder jobs: each finds who is due, then, a batch per transaction, claims the reminder
//! (a `reminders` row), re-reads the applicant under lock and queues the email with it. A tick
//! that fails halfway keeps what it committed; the next tick picks up the rest; a tick run
//! again finds nobody new. Reminders are non-essential mail: an applicant who unsubscribed gets
//! none, while essential mail (a quiz invitation, an offer's release) still goes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::pipeline::Pipeline;
use crate::domain::quiz::QuizDef;
use crate::domain::{iso, time};
use crate::store::applications::{self, ApplicationRow};
use crate::store::outbox::{self, NewEmail};
use crate::store::reminders;
use crate::store::{cohorts, quizzes, Db, StoreError, Tx};
use crate::usecases::{assessment, pipeline};

/// Applicants handled per transaction.
const BATCH: i64 = 500;
const ACTOR: &str = "job";

/// The verification reminder's key in `reminders`.
pub const VERIFY: &str = "verify";
pub const QUIZ_FIRST: &str = "quiz:1";
pub const QUIZ_LAST: &str = "quiz:2";

/// `verify_reminder`: applicants still unconfirmed `verify_expire_after` after their last
/// verification email expire (no email); those unconfirmed `verify_reminder_after` after it get
/// one reminder with a fresh link. Returns how many were expired or reminded.
pub async fn verify(db: &Db, settings: &Settings, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let j = &settings.jobs;
    let pipeline = pipeline_of(settings)?;
    let expire_before = now - j.verify_expire_after.duration();
    let mut done = 0;
    let mut from = reminders::start();
    loop {
        let due = reminders::unverified(db, expire_before, None, from, BATCH).await?;
        let Some(last) = due.last() else { break };
        from = (last.created_at, last.id);
        let ids: Vec<Uuid> = due.iter().map(|a| a.id).collect();
        let mut tx = db.begin().await?;
        // Re-read under lock: one who confirmed meanwhile stays.
        let still: Vec<ApplicationRow> = applications::get_many_for_update(&mut tx, &ids)
            .await?
            .into_iter()
            .filter(|a| a.status == "applied" && a.email_verified_at.is_none())
            .collect();
        let key = format!("expire:{}", now.timestamp_micros());
        let moved = pipeline::move_in_tx(
            &mut tx, &pipeline, ACTOR, &still, "expired", None, None, &key, now,
        )
        .await?;
        tx.commit().await?;
        done += moved.iter().filter(|(_, o)| o.is_ok()).count();
    }
    let remind_before = now - j.verify_reminder_after.duration();
    let mut from = reminders::start();
    loop {
        let due = reminders::unverified(db, remind_before, Some(VERIFY), from, BATCH).await?;
        let Some(last) = due.last() else { break };
        from = (last.created_at, last.id);
        let claims: Vec<(Uuid, String)> = due.iter().map(|a| (a.id, VERIFY.into())).collect();
        let Some((mut tx, apps)) = claim_batch(db, &claims, now).await? else {
            continue;
        };
        let emails: Vec<NewEmail> = apps
            .iter()
            .filter(|a| a.status == "applied" && a.email_verified_at.is_none())
            .map(|a| NewEmail {
                idempotency_key: format!("reminder:verify:{}", a.id),
                template: "verify_reminder",
                recipient: &a.email,
                payload: json!({ "application_id": a.id, "name": a.full_name }),
            })
            .collect();
        outbox::enqueue_many(&mut tx, &emails, now).await?;
        tx.commit().await?;
        done += emails.len();
    }
    Ok(done)
}

/// `quiz_reminder`: verified applicants never invited to a quiz (none existed for them when
/// they confirmed) get their invitation once one does; those invited who have not started get
/// a reminder `quiz_reminder_after` the invitation and a last one `quiz_last_reminder_after`.
pub async fn quiz(db: &Db, settings: &Settings, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut done = 0;
    // Invitations: essential mail, the same email and key as at verification.
    let all = quizzes::quizzes(db).await?;
    let mut from = reminders::start();
    loop {
        let due = reminders::never_invited(db, from, BATCH).await?;
        let Some(last) = due.last() else { break };
        from = (last.created_at, last.id);
        let with_quiz: Vec<(&ApplicationRow, &QuizDef)> = due
            .iter()
            .filter_map(|a| quiz_of(&all, a).map(|d| (a, d)))
            .collect();
        if with_quiz.is_empty() {
            continue;
        }
        let mut tx = db.begin().await?;
        for (a, def) in with_quiz {
            assessment::queue_invitation(&mut tx, a, def, now).await?;
            done += 1;
        }
        tx.commit().await?;
    }
    // Reminders: the last first, so one who is due both after downtime gets only the last.
    let j = &settings.jobs;
    for (kind, after, last) in [
        (QUIZ_LAST, j.quiz_last_reminder_after, true),
        (QUIZ_FIRST, j.quiz_reminder_after, false),
    ] {
        let cutoff = now - after.duration();
        let mut from = reminders::start();
        loop {
            let due = reminders::quiz_not_started(db, cutoff, kind, from, BATCH).await?;
            let Some(last_row) = due.last() else { break };
            from = (last_row.created_at, last_row.id);
            let mut claims: Vec<(Uuid, String)> =
                due.iter().map(|a| (a.id, kind.to_string())).collect();
            if last {
                // The last reminder stands for the first too, so a later tick does not send
                // the first after it.
                claims.extend(due.iter().map(|a| (a.id, QUIZ_FIRST.to_string())));
            }
            let Some((mut tx, apps)) = claim_batch(db, &claims, now).await? else {
                continue;
            };
            done += quiz_emails(&all, &mut tx, &apps, last, now).await?;
            tx.commit().await?;
        }
    }
    Ok(done)
}

/// The quiz `a` takes, by market and languages, among `all`.
fn quiz_of<'q>(all: &'q [(Uuid, QuizDef)], a: &ApplicationRow) -> Option<&'q QuizDef> {
    let langs: Vec<&str> = a.languages.split(',').collect();
    crate::domain::quiz::quiz_for(all, |(_, d)| d, &a.country, &langs).map(|(_, d)| d)
}

async fn quiz_emails(
    all: &[(Uuid, QuizDef)],
    tx: &mut Tx,
    apps: &[ApplicationRow],
    last: bool,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let emails: Vec<NewEmail> = apps
        .iter()
        .filter(|a| a.status == "verified")
        .filter_map(|a| quiz_of(all, a).map(|def| (a, def)))
        .map(|(a, def)| NewEmail {
            idempotency_key: format!("reminder:quiz:{}:{}", a.id, if last { 2 } else { 1 }),
            template: "quiz_reminder",
            recipient: &a.email,
            payload: json!({
                "application_id": a.id,
                "name": a.full_name,
                "quiz_title": def.title,
                "minutes": def.time_limit_minutes,
                "last": last,
            }),
        })
        .collect();
    outbox::enqueue_many(tx, &emails, now).await?;
    Ok(emails.len())
}

/// `idle_nudge`: applicants in a stage longer than its limit (`pipeline.idle_limits`) get one
/// nudge per stay in it; their recruiter finds them under the applicant list's `stuck` filter.
pub async fn idle(db: &Db, settings: &Settings, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let pipeline = pipeline_of(settings)?;
    let mut done = 0;
    for (stage, limit) in pipeline.idle_limits() {
        let label = pipeline
            .stage(stage)
            .map_or(stage.as_str(), |s| s.label.as_str());
        let cutoff = now - *limit;
        let mut from = reminders::start();
        loop {
            let due = reminders::idle(db, stage, cutoff, from, BATCH).await?;
            let Some(last) = due.last() else { break };
            from = (last.stage_since.unwrap_or(last.created_at), last.id);
            let stay = |a: &ApplicationRow| a.stage_since.map_or(0, |t| t.timestamp_micros());
            let claims: Vec<(Uuid, String)> = due
                .iter()
                .map(|a| (a.id, format!("idle:{stage}:{}", stay(a))))
                .collect();
            let Some((mut tx, apps)) = claim_batch(db, &claims, now).await? else {
                continue;
            };
            let due_stay: HashMap<Uuid, i64> = due.iter().map(|a| (a.id, stay(a))).collect();
            let emails: Vec<NewEmail> = apps
                .iter()
                // Still in the stay that was due.
                .filter(|a| &a.status == stage && due_stay.get(&a.id) == Some(&stay(a)))
                .map(|a| {
                    let since = a.stage_since.unwrap_or(a.created_at);
                    NewEmail {
                        idempotency_key: format!("reminder:idle:{}:{stage}:{}", a.id, stay(a)),
                        template: "idle_nudge",
                        recipient: &a.email,
                        payload: json!({
                            "application_id": a.id,
                            "name": a.full_name,
                            "stage": label,
                            "since": time::date(since, settings.time_zone(&a.country)),
                            "onboarding": stage == "onboarding",
                        }),
                    }
                })
                .collect();
            outbox::enqueue_many(&mut tx, &emails, now).await?;
            tx.commit().await?;
            done += emails.len();
        }
    }
    Ok(done)
}

/// Claims `claims` in a new transaction and re-reads, under lock, the applicants whose claim
/// was new: the caller queues their emails and commits. None when nobody is new.
async fn claim_batch(
    db: &Db,
    claims: &[(Uuid, String)],
    now: DateTime<Utc>,
) -> Result<Option<(Tx, Vec<ApplicationRow>)>, StoreError> {
    let mut tx = db.begin().await?;
    let new = reminders::claim(&mut tx, claims, now).await?;
    if new.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Uuid> = new.into_iter().collect();
    let apps = applications::get_many_for_update(&mut tx, &ids).await?;
    Ok(Some((tx, apps)))
}

/// `offer_reminders`: pending offers expiring within `offer_reminder_before` get a reminder
/// (once per offer); expired ones are released (the applicant returns to the shortlist, as
/// when they answer too late); accepted members get reminders `start_reminder_before` and
/// `start_last_reminder_before` their cohort starts, listing their unfinished checklist items.
pub async fn offers(db: &Db, settings: &Settings, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let pipeline = pipeline_of(settings)?;
    let mut done = 0;
    // Release the expired.
    loop {
        let expired = reminders::pending_offers(db, None, now, BATCH).await?;
        if expired.is_empty() {
            break;
        }
        let mut released = 0;
        for o in &expired {
            let answer =
                super::cohorts::answer(db, &pipeline, o.application_id, false, now).await?;
            if matches!(answer, super::cohorts::Answer::Expired) {
                released += 1;
            }
        }
        done += released;
        if released == 0 {
            // Offers left pending whose applicant moved on: nothing more to do here.
            break;
        }
    }
    // Remind those about to expire.
    let until = now + settings.jobs.offer_reminder_before.duration();
    let soon = reminders::pending_offers(db, Some(now), until, 10_000).await?;
    let mut cohort_cache: HashMap<Uuid, Option<cohorts::CohortRow>> = HashMap::new();
    for chunk in soon.chunks(BATCH as usize) {
        let claims: Vec<(Uuid, String)> = chunk
            .iter()
            .map(|o| (o.application_id, format!("offer:{}", o.id)))
            .collect();
        let mut tx = db.begin().await?;
        let new = reminders::claim(&mut tx, &claims, now).await?;
        let mut emails = Vec::new();
        for o in chunk.iter().filter(|o| new.contains(&o.application_id)) {
            let app = applications::get_for_update(&mut tx, o.application_id).await?;
            if app.status != "offered" || app.unsubscribed() {
                continue;
            }
            let cohort = match cohort_cache.entry(o.cohort_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(cohorts::get(db, o.cohort_id).await?)
                }
            };
            let Some(cohort) = cohort.as_ref() else {
                continue;
            };
            let tz = settings.time_zone(&cohort.market);
            emails.push((
                format!("reminder:offer:{}", o.id),
                app.email.clone(),
                json!({
                    "application_id": app.id,
                    "name": app.full_name,
                    "cohort": cohort.name,
                    "start_date": time::date_of(cohort.start_date),
                    "expires": time::date_time(o.expires_at, tz),
                }),
            ));
        }
        let new_emails: Vec<NewEmail> = emails
            .iter()
            .map(|(key, to, payload)| NewEmail {
                idempotency_key: key.clone(),
                template: "offer_reminder",
                recipient: to,
                payload: payload.clone(),
            })
            .collect();
        outbox::enqueue_many(&mut tx, &new_emails, now).await?;
        tx.commit().await?;
        done += new_emails.len();
    }
    done += start_reminders(db, settings, now).await?;
    Ok(done)
}

/// Reminders before a cohort starts, to members who accepted (onboarding), with what they
/// still have to do. The cohort starts at midnight on its start date in its market's zone.
async fn start_reminders(
    db: &Db,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let j = &settings.jobs;
    let mut done = 0;
    for cohort in cohorts::list(db).await? {
        if cohort.marked.is_some() {
            continue;
        }
        let tz = settings.time_zone(&cohort.market);
        let Some(starts) = cohort
            .start_date
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&Utc))
        else {
            continue;
        };
        if starts <= now || now < starts - j.start_reminder_before.duration() {
            continue;
        }
        let last = now >= starts - j.start_last_reminder_before.duration();
        let members: Vec<Uuid> = cohorts::members(db, cohort.id)
            .await?
            .into_iter()
            .filter(|m| m.stage == "onboarding" && m.offer_status == "accepted")
            .map(|m| m.application_id)
            .collect();
        if members.is_empty() {
            continue;
        }
        let checklist = cohorts::checklist(db, cohort.id).await?;
        let ticks = cohorts::ticks_of_cohort(db, cohort.id).await?;
        let which = if last { 1 } else { 3 };
        let kind = format!("start:{which}:{}", cohort.id);
        let mut claims: Vec<(Uuid, String)> =
            members.iter().map(|id| (*id, kind.clone())).collect();
        if last {
            // The last stands for the first too.
            claims.extend(
                members
                    .iter()
                    .map(|id| (*id, format!("start:3:{}", cohort.id))),
            );
        }
        let mut tx = db.begin().await?;
        let new = reminders::claim(&mut tx, &claims, now).await?;
        let ids: Vec<Uuid> = members
            .iter()
            .copied()
            .filter(|id| new.contains(id))
            .collect();
        let apps = applications::get_many_for_update(&mut tx, &ids).await?;
        let mut emails = Vec::new();
        for app in apps
            .iter()
            .filter(|a| a.status == "onboarding" && !a.unsubscribed())
        {
            let todo: Vec<&str> = checklist
                .iter()
                .filter(|i| {
                    !ticks
                        .iter()
                        .any(|t| t.application_id == app.id && t.item_key == i.key)
                })
                .map(|i| i.label.as_str())
                .collect();
            emails.push((
                app,
                json!({
                    "application_id": app.id,
                    "name": app.full_name,
                    "cohort": cohort.name,
                    "market": iso::country_name(&cohort.market).unwrap_or(&cohort.market),
                    "starts": time::date_time(starts, tz),
                    "last": last,
                    "todo": todo,
                }),
            ));
        }
        let new_emails: Vec<NewEmail> = emails
            .iter()
            .map(|(app, payload)| NewEmail {
                idempotency_key: format!("reminder:start:{which}:{}:{}", cohort.id, app.id),
                template: "cohort_start_reminder",
                recipient: &app.email,
                payload: payload.clone(),
            })
            .collect();
        outbox::enqueue_many(&mut tx, &new_emails, now).await?;
        tx.commit().await?;
        done += new_emails.len();
    }
    Ok(done)
}

/// Turns off `application_id`'s non-essential mail (the one-click link), with a timeline event.
/// Reminders queued and not yet sent are cancelled with it (every reminder's key starts
/// `reminder:`).
pub async fn unsubscribe(
    db: &Db,
    application_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let app = applications::get_for_update(&mut tx, application_id).await?;
    let changed = reminders::unsubscribe(&mut tx, application_id, now).await?;
    if changed {
        outbox::cancel_unsent(&mut tx, "reminder:", &app.email, "unsubscribed", now).await?;
        applications::record_event(
            &mut tx,
            application_id,
            "unsubscribed",
            json!({ "from": "reminders" }),
            "applicant",
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

fn pipeline_of(settings: &Settings) -> Result<Pipeline, StoreError> {
    Pipeline::new(&settings.pipeline).map_err(|e| StoreError::Batch(e.to_string()))
}
