//! Taking a skills quiz: who may start, the fixed draw, saving answers against the server's
//! clock, and scoring, with the status change and its email in the same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::application::Status;
use crate::domain::quiz::{
    self, rest_scores, score_attempt, Answer, CategoryScore, ItemSums, ItemToScore, QuizDef,
};
use crate::domain::token::{hash_token, SecretToken};
use crate::store::attempts::{self, AttemptRow, Item, NewItem};
use crate::store::outbox::{self, NewEmail};
use crate::store::{applications, quizzes, tokens, Db, StoreError, Tx};

/// Statuses from which an applicant may start an attempt.
const CAN_TAKE: [&str; 2] = ["verified", "quiz_failed"];

/// The applicant behind a quiz link, if the link is live.
pub async fn application_for_token(db: &Db, presented: &str) -> Result<Option<Uuid>, StoreError> {
    let t = tokens::find(db, &hash_token(presented), tokens::QUIZ).await?;
    Ok(t.filter(|t| t.expires_at > db.now())
        .map(|t| t.application_id))
}

/// The quiz an applicant takes, chosen by market and languages.
pub async fn quiz_for_application(
    db: &Db,
    app: &applications::ApplicationRow,
) -> Result<Option<(Uuid, QuizDef)>, StoreError> {
    let all = quizzes::quizzes(db).await?;
    let langs: Vec<&str> = app.languages.split(',').collect();
    Ok(quiz::quiz_for(&all, |(_, d)| d, &app.country, &langs).cloned())
}

/// Queues the quiz invitation for a freshly verified applicant, if a quiz applies. Returns
/// whether one was queued.
pub async fn invite(
    db: &Db,
    tx: &mut Tx,
    app: &applications::ApplicationRow,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some((_, def)) = quiz_for_application(db, app).await? else {
        return Ok(false);
    };
    queue_invitation(tx, app, &def, now).await?;
    Ok(true)
}

/// Queues the invitation to quiz `def` (once per application).
pub async fn queue_invitation(
    tx: &mut Tx,
    app: &applications::ApplicationRow,
    def: &QuizDef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbox::enqueue(
        tx,
        NewEmail {
            idempotency_key: format!("quiz_invitation:{}", app.id),
            template: "quiz_invitation",
            recipient: &app.email,
            payload: json!({
                "application_id": app.id,
                "name": app.full_name,
                "quiz_title": def.title,
                "questions": def.question_count(),
                "minutes": def.time_limit_minutes,
                "max_attempts": def.max_attempts,
                "pass_percent": def.pass_percent,
            }),
        },
        now,
    )
    .await
}

/// Where an applicant stands with their quiz.
#[derive(Debug, Clone)]
pub struct Overview {
    pub app: applications::ApplicationRow,
    pub quiz: Option<(Uuid, QuizDef)>,
    /// The latest attempt, after closing it if its time ran out.
    pub latest: Option<AttemptRow>,
    pub attempts_used: i64,
    pub gate: Gate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// May start attempt number `next`.
    Ready { next: i64 },
    /// An attempt is running.
    InProgress,
    /// Failed; may try again from this time.
    CoolingDown(DateTime<Utc>),
    /// Passed: nothing more to take.
    Passed,
    /// Every attempt is used.
    Exhausted,
    /// Not at the quiz stage (not verified, waitlisted, rejected or moved on), or no quiz fits.
    NotOpen,
}

pub fn category_scores(a: &AttemptRow) -> Vec<CategoryScore> {
    a.category_scores
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default()
}

/// Reads where the applicant stands. An open attempt past its closing time is closed and
/// scored first, so a read never shows an attempt that should be over.
pub async fn overview(
    db: &Db,
    settings: &Settings,
    application_id: Uuid,
) -> Result<Overview, StoreError> {
    let mut latest = attempts::latest(db, application_id).await?;
    if let Some(a) = &latest {
        if a.status == attempts::OPEN && a.closes_at < db.now() {
            finish(db, settings, a.id, "timed_out").await?;
            latest = attempts::latest(db, application_id).await?;
        }
    }
    let app = applications::get(db, application_id).await?;
    let quiz = match &latest {
        // The quiz this applicant already takes, even if another would be picked today.
        Some(a) => quizzes::quiz_by_id(db, a.quiz_id).await?,
        None => quiz_for_application(db, &app).await?,
    };
    let elsewhere = attempts::by_same_person(db, application_id).await?;
    let attempts_used = latest.as_ref().map_or(0, |a| a.number) + elsewhere.used;
    let gate = gate(
        &app,
        quiz.as_ref().map(|q| &q.1),
        latest.as_ref(),
        elsewhere,
        db.now(),
    );
    Ok(Overview {
        app,
        quiz,
        latest,
        attempts_used,
        gate,
    })
}

/// Where the applicant stands with the quiz. `elsewhere` is the attempts the same person made
/// under another address: they count toward the attempts, and one running or just finished
/// there holds this one back for the cooldown as its own would.
fn gate(
    app: &applications::ApplicationRow,
    def: Option<&QuizDef>,
    latest: Option<&AttemptRow>,
    elsewhere: attempts::Elsewhere,
    now: DateTime<Utc>,
) -> Gate {
    if let Some(a) = latest {
        if a.status == attempts::OPEN {
            return Gate::InProgress;
        }
        if a.passed == Some(true) {
            return Gate::Passed;
        }
    }
    let Some(def) = def else {
        return Gate::NotOpen;
    };
    if !CAN_TAKE.contains(&app.status.as_str()) || app.email_verified_at.is_none() {
        return Gate::NotOpen;
    }
    let used = latest.map_or(0, |a| a.number) + elsewhere.used;
    if used >= i64::from(def.max_attempts) {
        return Gate::Exhausted;
    }
    let last_end = latest.and_then(|a| a.finished_at).max(elsewhere.last_end);
    if let Some(finished) = last_end {
        let until = finished + Duration::hours(i64::from(def.cooldown_hours));
        if until > now {
            return Gate::CoolingDown(until);
        }
    }
    Gate::Ready {
        next: latest.map_or(0, |a| a.number) + 1,
    }
}

/// A fresh quiz link for an applicant with a quiz to start, a running attempt, or a retry to
/// wait for, so the status page can take them back to it. None when there is no quiz to open.
pub async fn quiz_link(
    db: &Db,
    settings: &Settings,
    application_id: Uuid,
) -> Result<Option<SecretToken>, StoreError> {
    let ov = overview(db, settings, application_id).await?;
    if !matches!(
        ov.gate,
        Gate::Ready { .. } | Gate::InProgress | Gate::CoolingDown(_)
    ) {
        return Ok(None);
    }
    let ttl = Duration::days(settings.status_token_ttl_days);
    let token = tokens::issue(db, application_id, tokens::QUIZ, ttl, db.now()).await?;
    Ok(Some(token))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new attempt, or the one already running (a double click starts one).
    Running(Uuid),
    /// Not allowed now; the gate says why.
    Refused(Gate),
}

/// Starts an attempt: draws the questions and fixes their order and the order of each
/// question's choices. The checks are repeated under the write lock, so two starts at once give
/// one attempt.
pub async fn start(
    db: &Db,
    settings: &Settings,
    application_id: Uuid,
) -> Result<Started, StoreError> {
    let ov = overview(db, settings, application_id).await?;
    let ((quiz_id, def), next) = match (&ov.gate, &ov.quiz) {
        (Gate::Ready { next }, Some(q)) => (q.clone(), *next),
        (Gate::InProgress, _) => {
            return Ok(Started::Running(ov.latest.expect("in progress").id));
        }
        (g, _) => return Ok(Started::Refused(g.clone())),
    };
    let pools = quizzes::pools(db).await?;
    let drawn = quiz::draw(&def, &pools, &mut rand::thread_rng())
        .map_err(|e| StoreError::Batch(format!("quiz {}: {e}", def.slug)))?;
    let ids: Vec<Uuid> = drawn.iter().map(|(_, id)| *id).collect();
    let versions = quizzes::versions(db, &ids).await?;
    let items: Vec<NewItem> = {
        let mut rng = rand::thread_rng();
        drawn
            .into_iter()
            .map(|(category, id)| {
                let q = &versions[&id];
                NewItem {
                    question_version_id: id,
                    category,
                    weight_bp: quizzes::weight_bp(q.weight),
                    choice_order: quiz::shuffled_keys(q, &mut rng),
                }
            })
            .collect()
    };
    let now = db.now();
    let mut tx = db.begin().await?;
    let latest = attempts::latest_tx(&mut tx, application_id).await?;
    let app = applications::get_tx(&mut tx, application_id).await?;
    let elsewhere = attempts::by_same_person_tx(&mut tx, application_id).await?;
    match gate(&app, Some(&def), latest.as_ref(), elsewhere, now) {
        Gate::Ready { next: n } if n == next => {}
        Gate::InProgress => return Ok(Started::Running(latest.expect("in progress").id)),
        other => return Ok(Started::Refused(other)),
    }
    let id = Uuid::now_v7();
    let deadline = now + Duration::minutes(i64::from(def.time_limit_minutes));
    let closes_at = deadline + Duration::seconds(settings.quiz_grace_secs);
    let definition = serde_json::to_string(&def).expect("quiz definitions serialize");
    let created = attempts::create(
        &mut tx,
        id,
        application_id,
        quiz_id,
        next,
        &definition,
        now,
        deadline,
        closes_at,
        &items,
    )
    .await;
    match created {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            let running = attempts::latest(db, application_id).await?;
            return Ok(match running {
                Some(a) if a.status == attempts::OPEN => Started::Running(a.id),
                _ => Started::Refused(Gate::NotOpen),
            });
        }
        Err(e) => return Err(e),
    }
    applications::record_event(
        &mut tx,
        application_id,
        "quiz_started",
        json!({ "quiz": def.slug, "attempt": next }),
        "applicant",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Started::Running(id))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    Saved,
    /// The attempt is over (submitted, or out of time): nothing was stored.
    Closed,
}

/// Saves an answer to item `position` of the applicant's open attempt. The caller has checked
/// that the answer fits the question.
pub async fn save_answer(
    db: &Db,
    attempt: &AttemptRow,
    position: i64,
    answer: &Answer,
) -> Result<Saved, StoreError> {
    let now = db.now();
    if attempt.status != attempts::OPEN || now > attempt.closes_at {
        return Ok(Saved::Closed);
    }
    let mut tx = db.begin().await?;
    let since = attempts::last_answer_at_tx(&mut tx, attempt.id)
        .await?
        .map_or(attempt.started_at, |t| t.max(attempt.started_at));
    let seconds = (now - since).num_seconds().max(0);
    let json = serde_json::to_string(answer).expect("answers serialize");
    let saved = attempts::save_answer(&mut tx, attempt.id, position, &json, seconds, now).await?;
    tx.commit().await?;
    Ok(if saved { Saved::Saved } else { Saved::Closed })
}

/// Closes and scores an attempt: per-question scores, the overall and category scores, the
/// item statistics, the applicant's status and the result email, in one transaction. Returns
/// false when the attempt was already finished, so double submits are harmless.
pub async fn finish(
    db: &Db,
    settings: &Settings,
    attempt_id: Uuid,
    by: &str,
) -> Result<bool, StoreError> {
    // Read what scoring needs before taking the write lock (on SQLite, the one writer); only
    // the answers can still change, and that is checked again under the lock.
    let attempt = attempts::get(db, attempt_id).await?;
    if attempt.status != attempts::OPEN {
        return Ok(false);
    }
    let items = attempts::items(db, attempt_id).await?;
    finish_read(db, settings, attempt, items, by).await
}

/// `finish` from the attempt and items read before the claim. Public so a test can save an
/// answer between that read and the claim, and see it counted.
pub async fn finish_read(
    db: &Db,
    settings: &Settings,
    attempt: AttemptRow,
    mut items: Vec<Item>,
    by: &str,
) -> Result<bool, StoreError> {
    let attempt_id = attempt.id;
    let def = attempt.quiz_def()?;
    let app = applications::get(db, attempt.application_id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    if !attempts::claim_finish(&mut tx, attempt_id, by, now).await? {
        return Ok(false);
    }
    let read_up_to = items.iter().filter_map(|i| i.answered_at).max();
    if attempts::last_answer_at_tx(&mut tx, attempt_id).await? != read_up_to {
        // An answer was saved between the read and the claim.
        items = attempts::items_tx(&mut tx, attempt_id).await?;
    }
    let answers = counted_answers(&attempt, &items);
    let score = score_items(&def, &items, &answers);
    let positions: Vec<i64> = items.iter().map(|i| i.position).collect();
    attempts::record_score(&mut tx, attempt_id, &positions, &score).await?;
    quizzes::add_item_stats(
        &mut tx,
        attempt.quiz_id,
        &item_sums(&items, &answers, &score.items),
    )
    .await?;

    let status = if score.passed {
        Status::QuizPassed
    } else {
        Status::QuizFailed
    };
    let moved = applications::move_status(&mut tx, app.id, &CAN_TAKE, status.as_str(), now).await?;
    applications::record_event(
        &mut tx,
        app.id,
        "quiz_scored",
        json!({
            "quiz": def.slug,
            "attempt": attempt.number,
            "score_bp": score.total_bp,
            "passed": score.passed,
            "finished_by": by,
        }),
        "system",
        now,
    )
    .await?;
    if moved {
        let attempts_left = i64::from(def.max_attempts) - attempt.number;
        // In the applicant's own time zone, with the zone named.
        let retry_on = (!score.passed && attempts_left > 0).then(|| {
            crate::domain::time::date_time(
                now + Duration::hours(i64::from(def.cooldown_hours)),
                settings.time_zone(&app.country),
            )
        });
        let categories: Vec<serde_json::Value> = score
            .categories
            .iter()
            .map(|c| {
                json!({
                    "label": category_label(&c.category),
                    "percent": percent(c.score_bp),
                    "passed": c.passed(),
                })
            })
            .collect();
        outbox::enqueue(
            &mut tx,
            NewEmail {
                idempotency_key: format!("quiz_result:{attempt_id}"),
                template: if score.passed {
                    "quiz_passed"
                } else {
                    "quiz_failed"
                },
                recipient: &app.email,
                payload: json!({
                    "application_id": app.id,
                    "name": app.full_name,
                    "quiz_title": def.title,
                    "percent": percent(score.total_bp),
                    "pass_percent": def.pass_percent,
                    "categories": categories,
                    "timed_out": by == "timed_out",
                    "retry_on": retry_on,
                    "attempts_left": attempts_left.max(0),
                }),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The answers that count: saved before the attempt closed.
fn counted_answers(attempt: &AttemptRow, items: &[Item]) -> Vec<Option<Answer>> {
    items
        .iter()
        .map(|i| {
            i.parsed_answer()
                .filter(|_| i.answered_at.is_some_and(|t| t <= attempt.closes_at))
        })
        .collect()
}

fn score_items(def: &QuizDef, items: &[Item], answers: &[Option<Answer>]) -> quiz::AttemptScore {
    let to_score: Vec<ItemToScore<'_>> = items
        .iter()
        .zip(answers)
        .map(|(i, a)| ItemToScore {
            question: &i.question,
            category: &i.category,
            weight_bp: i.weight_bp,
            answer: a.as_ref(),
        })
        .collect();
    score_attempt(def, &to_score)
}

/// This attempt's contribution to the per-item statistics.
fn item_sums(
    items: &[Item],
    answers: &[Option<Answer>],
    scores: &[i64],
) -> BTreeMap<Uuid, ItemSums> {
    let weights: Vec<i64> = items.iter().map(|i| i.weight_bp).collect();
    let rest = rest_scores(&weights, scores);
    let mut sums: BTreeMap<Uuid, ItemSums> = BTreeMap::new();
    for (((item, answer), score), rest) in items.iter().zip(answers).zip(scores).zip(rest) {
        let picked: Vec<&str> = answer.as_ref().map(Answer::picked).unwrap_or_default();
        sums.entry(item.question_version_id)
            .or_default()
            .add(*score, rest, item.seconds, &picked);
    }
    sums
}

/// Closes and scores every attempt whose time ran out. The scheduler runs it; reads do the same
/// for the attempt they show. Returns how many it closed.
pub async fn close_expired(db: &Db, settings: &Settings) -> Result<usize, StoreError> {
    let mut closed = 0;
    loop {
        let due = attempts::due_to_close(db, db.now(), 100).await?;
        if due.is_empty() {
            return Ok(closed);
        }
        for id in due {
            if finish(db, settings, id, "timed_out").await? {
                closed += 1;
            }
        }
    }
}

/// Basis points as a whole-number percent, rounded down.
pub fn percent(bp: i64) -> i64 {
    bp / 100
}

/// How a category is named to applicants.
pub fn category_label(c: &str) -> String {
    match c.strip_prefix("language:") {
        Some(code) => format!(
            "Language: {}",
            crate::domain::iso::language_name(code).unwrap_or(code)
        ),
        None => match c {
            "tone" => "Tone and empathy".into(),
            "product" => "Product and payments".into(),
            "policy" => "Policy".into(),
            "fraud" => "Fraud awareness".into(),
            other => other.replace('_', " "),
        },
    }
}
