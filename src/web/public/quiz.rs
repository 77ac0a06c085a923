//! The applicant's quiz: rules and result, one page per question, review and submit. Everything
//! hangs off the quiz link's token; the attempt is found through it, and an attempt id posted by
//! a form must belong to the token's applicant.
//!
//! Choices are posted as their position on the page (1, 2, 3 …) in this attempt's shuffled
//! order, never as the bank's keys, so the page gives away nothing about the original order.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::link_invalid;
use crate::domain::add_error;
use crate::domain::quiz::{Answer, Kind, QuizDef};
use crate::domain::{time, FieldErrors};
use crate::store::applications;
use crate::store::attempts::{self, AttemptRow, Item};
use crate::usecases::assessment::{self, category_label, percent, Gate, Overview, Saved, Started};
use crate::web::form::{self, Pairs};
use crate::web::{pages, AppError, AppState, PageError};
use chrono_tz::Tz;

const EXPIRED: &str = "This quiz link has expired or is not valid.";

async fn applicant(s: &AppState, token: &str) -> Result<Option<Uuid>, PageError> {
    Ok(assessment::application_for_token(&s.db, token).await?)
}

fn quiz_url(token: &str, rest: &str) -> String {
    format!("/quiz/{token}{rest}")
}

/// The rules before starting, the running attempt, or the result.
pub async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(app_id) = applicant(&s, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    let ov = assessment::overview(&s.db, &s.settings, app_id).await?;
    if ov.gate == Gate::InProgress {
        let a = ov.latest.as_ref().expect("in progress");
        let items = attempts::items(&s.db, a.id).await?;
        let first_open = items
            .iter()
            .find(|i| i.answer.is_none())
            .map_or(1, |i| i.position);
        return Ok(Redirect::to(&quiz_url(&token, &format!("/q/{first_open}"))).into_response());
    }
    Ok(pages::render(
        StatusCode::OK,
        "quiz",
        "Skills quiz",
        overview_context(&s, &ov, &token),
    ))
}

fn overview_context(s: &AppState, ov: &Overview, token: &str) -> Value {
    let tz = s.settings.time_zone(&ov.app.country);
    let def = ov.quiz.as_ref().map(|(_, d)| d);
    let result = ov
        .latest
        .as_ref()
        .filter(|a| a.status == attempts::SCORED)
        .map(|a| result_context(a, tz));
    let (ready, cooling, passed, exhausted, not_open) = (
        matches!(ov.gate, Gate::Ready { .. }),
        match ov.gate {
            Gate::CoolingDown(t) => Some(time::date_time(t, tz)),
            _ => None,
        },
        ov.gate == Gate::Passed,
        ov.gate == Gate::Exhausted,
        ov.gate == Gate::NotOpen,
    );
    json!({
        "token": token,
        "name": ov.app.full_name,
        "quiz": def.map(rules_context),
        "attempts_left": def.map_or(0, |d| (i64::from(d.max_attempts) - ov.attempts_used).max(0)),
        "retake": ov.attempts_used > 0,
        "ready": ready,
        "cooling_until": cooling,
        "passed": passed,
        "exhausted": exhausted,
        "not_open": not_open,
        "result": result,
    })
}

fn rules_context(d: &QuizDef) -> Value {
    let marks: Vec<Value> = d
        .category_pass_percent
        .iter()
        .map(|(c, p)| json!({ "label": category_label(c), "percent": p }))
        .collect();
    json!({
        "title": d.title,
        "questions": d.question_count(),
        "minutes": d.time_limit_minutes,
        "pass_percent": d.pass_percent,
        "max_attempts": d.max_attempts,
        "cooldown_hours": d.cooldown_hours,
        "category_marks": marks,
    })
}

/// An attempt's outcome as the applicant sees it: scores only, never the key.
pub fn result_context(a: &AttemptRow, tz: Tz) -> Value {
    let categories: Vec<Value> = assessment::category_scores(a)
        .iter()
        .map(|c| {
            json!({
                "label": category_label(&c.category),
                "percent": percent(c.score_bp),
                "pass_percent": c.pass_bp.map(percent),
                "passed": c.passed(),
            })
        })
        .collect();
    json!({
        "number": a.number,
        "percent": a.score_bp.map_or(0, percent),
        "passed": a.passed == Some(true),
        "timed_out": a.finished_by.as_deref() == Some("timed_out"),
        "finished_on": a.finished_at.map(|t| time::date(t, tz)),
        "categories": categories,
    })
}

/// "Go to my status page" from any quiz page: a fresh status link, straight to it.
pub async fn to_status(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match applicant(&s, &token).await? {
        Some(id) => super::to_status_page(&s, id).await,
        None => Ok(link_invalid(EXPIRED, &token)),
    }
}

pub async fn start(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(app_id) = applicant(&s, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    match assessment::start(&s.db, &s.settings, app_id).await? {
        Started::Running(_) => Ok(Redirect::to(&quiz_url(&token, "/q/1")).into_response()),
        // The page explains why (cooldown, no attempts left …).
        Started::Refused(_) => {
            let ov = assessment::overview(&s.db, &s.settings, app_id).await?;
            Ok(pages::render(
                StatusCode::CONFLICT,
                "quiz",
                "Skills quiz",
                overview_context(&s, &ov, &token),
            ))
        }
    }
}

/// The applicant's running attempt and its items, or where to send them instead: anything but
/// an attempt still open goes to the overview, which closes an attempt whose time ran out.
async fn running(s: &AppState, token: &str) -> Result<Result<Running, Response>, PageError> {
    let Some(app_id) = applicant(s, token).await? else {
        return Ok(Err(link_invalid(EXPIRED, token)));
    };
    match attempts::latest(&s.db, app_id).await? {
        Some(a) if a.status == attempts::OPEN && a.closes_at >= s.db.now() => {
            let items = attempts::items(&s.db, a.id).await?;
            let country = applications::get(&s.db, app_id).await?.country;
            Ok(Ok((a, items, s.settings.time_zone(&country))))
        }
        _ => Ok(Err(Redirect::to(&quiz_url(token, "")).into_response())),
    }
}

/// The running attempt, its items, and the applicant's time zone.
type Running = (AttemptRow, Vec<Item>, Tz);

/// Time left until the deadline, as the page shows it, and in seconds for the countdown.
pub fn remaining(attempt: &AttemptRow, now: chrono::DateTime<chrono::Utc>) -> (String, i64) {
    let secs = (attempt.deadline - now).num_seconds().max(0);
    (format!("{} min {:02} s", secs / 60, secs % 60), secs)
}

pub async fn question(
    State(s): State<AppState>,
    Path((token, n)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let run = match running(&s, &token).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    let (_, items, _) = &run;
    let Some(item) = items.iter().find(|i| i.position == n) else {
        return Err(PageError(AppError::NotFound(
            "This quiz has no question with that number.",
        )));
    };
    Ok(question_page(
        StatusCode::OK,
        s.db.now(),
        &token,
        &run,
        item,
        item.parsed_answer().as_ref(),
        &FieldErrors::new(),
    ))
}

fn question_page(
    status: StatusCode,
    now: chrono::DateTime<chrono::Utc>,
    token: &str,
    (attempt, items, tz): &Running,
    item: &Item,
    answer: Option<&Answer>,
    errors: &FieldErrors,
) -> Response {
    let picked: Vec<&str> = answer.map(Answer::picked).unwrap_or_default();
    let (best, worst) = match answer {
        Some(Answer::Judgement { best, worst }) => (Some(best.as_str()), Some(worst.as_str())),
        _ => (None, None),
    };
    let choices: Vec<Value> = item
        .choice_order
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let c = item.question.choices.iter().find(|c| &c.key == key)?;
            Some(json!({
                "value": i + 1,
                "text": c.text,
                "checked": picked.contains(&key.as_str()),
                "best": best == Some(key.as_str()),
                "worst": worst == Some(key.as_str()),
            }))
        })
        .collect();
    let (left, left_secs) = remaining(attempt, now);
    let nav: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "n": i.position,
                "answered": i.answer.is_some(),
                "current": i.position == item.position,
            })
        })
        .collect();
    let total = items.len() as i64;
    let (summary, _) = pages::errors_context(errors);
    let title = format!("Question {} of {}", item.position, total);
    pages::render(
        status,
        "quiz_question",
        &pages::form_title(&title, errors),
        json!({
            "token": token,
            "attempt": attempt.id,
            "position": item.position,
            "total": total,
            "is_last": item.position == total,
            "has_prev": item.position > 1,
            "remaining_secs": left_secs,
            "remaining": left,
            "deadline": time::clock(attempt.deadline, *tz),
            "deadline_ms": attempt.deadline.timestamp_millis(),
            "question_id": item.question_version_id,
            "prompt": item.question.prompt,
            "single": item.question.kind == Kind::Single,
            "multiple": item.question.kind == Kind::Multiple,
            "judgement": item.question.kind == Kind::Judgement,
            "choices": choices,
            "nav": nav,
            "errors": summary,
            "answer_error": errors.get("answer").map(|m| m.join(" ")),
            "best_error": errors.get("best").map(|m| m.join(" ")),
            "worst_error": errors.get("worst").map(|m| m.join(" ")),
            "question_error": errors.get("question").map(|m| m.join(" ")),
        }),
    )
}

fn values<'a>(pairs: &'a Pairs, name: &str) -> Vec<Result<&'a str, ()>> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_deref().map_err(|_| ()))
        .collect()
}

/// A posted choice position back to the bank's key, through this attempt's order.
fn key_at(item: &Item, value: &str) -> Option<String> {
    let i: usize = value.trim().parse().ok()?;
    item.choice_order.get(i.checked_sub(1)?).cloned()
}

/// The answer a question form carries: None when nothing was picked (skipping is allowed),
/// errors by field when something was picked that this question does not offer.
fn read_answer(item: &Item, pairs: &Pairs) -> Result<Option<Answer>, FieldErrors> {
    let mut errors = FieldErrors::new();
    const NOT_OFFERED: &str = "Pick from the choices shown for this question.";
    let answer = match item.question.kind {
        Kind::Single | Kind::Multiple => {
            let raw = values(pairs, "answer");
            let mut keys = Vec::new();
            for v in &raw {
                match v.ok().and_then(|v| key_at(item, v)) {
                    Some(k) if !keys.contains(&k) => keys.push(k),
                    Some(_) => {}
                    None => add_error(&mut errors, "answer", NOT_OFFERED),
                }
            }
            if item.question.kind == Kind::Single && keys.len() > 1 {
                add_error(&mut errors, "answer", "Pick one answer.");
            }
            match (keys.is_empty(), item.question.kind) {
                (true, _) => None,
                (false, Kind::Single) => Some(Answer::Single(keys.remove(0))),
                _ => Some(Answer::Multiple(keys)),
            }
        }
        Kind::Judgement => {
            let pick = |field: &str, errors: &mut FieldErrors| match form::first(pairs, field) {
                None | Some("") => None,
                Some(v) => {
                    let k = key_at(item, v);
                    if k.is_none() {
                        add_error(errors, field, NOT_OFFERED);
                    }
                    k
                }
            };
            let best = pick("best", &mut errors);
            let worst = pick("worst", &mut errors);
            match (best, worst) {
                (Some(best), Some(worst)) => Some(Answer::Judgement { best, worst }),
                (None, None) => None,
                (Some(_), None) => {
                    add_error(&mut errors, "worst", "Pick the worst reply too.");
                    None
                }
                (None, Some(_)) => {
                    add_error(&mut errors, "best", "Pick the best reply too.");
                    None
                }
            }
        }
    };
    if errors.is_empty() {
        if let Some(a) = &answer {
            if let Err(m) = item.question.accepts(a) {
                let field = if item.question.kind == Kind::Judgement {
                    "worst"
                } else {
                    "answer"
                };
                add_error(&mut errors, field, m);
            }
        }
    }
    if errors.is_empty() {
        Ok(answer)
    } else {
        Err(errors)
    }
}

/// The posted attempt must be this applicant's running attempt. Anything else (another
/// applicant's attempt, a made-up id) is not found, and nothing is stored.
fn check_attempt(pairs: &Pairs, attempt: Option<&AttemptRow>) -> Result<(), PageError> {
    match (
        form::first(pairs, "attempt").and_then(|v| v.parse::<Uuid>().ok()),
        attempt,
    ) {
        (Some(id), Some(a)) if id == a.id => Ok(()),
        _ => Err(PageError(AppError::NotFound(
            "We couldn't find that quiz attempt. Open the quiz again from the link in your email.",
        ))),
    }
}

pub async fn answer(
    State(s): State<AppState>,
    Path((token, n)): Path<(String, i64)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let run = match running(&s, &token).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    let (attempt, items, _) = &run;
    check_attempt(&pairs, Some(attempt))?;
    let Some(item) = items.iter().find(|i| i.position == n) else {
        return Err(PageError(AppError::NotFound(
            "This quiz has no question with that number.",
        )));
    };
    let mut errors = FieldErrors::new();
    if form::first(&pairs, "question").and_then(|v| v.parse::<Uuid>().ok())
        != Some(item.question_version_id)
    {
        add_error(
            &mut errors,
            "question",
            "This answer is for a question that is not in this place in your quiz. Answer the question shown.",
        );
    }
    let answer = match read_answer(item, &pairs) {
        Ok(a) if errors.is_empty() => a,
        Ok(_) => None,
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    if !errors.is_empty() {
        return Ok(question_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            s.db.now(),
            &token,
            &run,
            item,
            item.parsed_answer().as_ref(),
            &errors,
        ));
    }
    if let Some(a) = &answer {
        if assessment::save_answer(&s.db, attempt, n, a).await? == Saved::Closed {
            // Too late: the overview closes and scores the attempt and shows the result.
            return Ok(Redirect::to(&quiz_url(&token, "")).into_response());
        }
    }
    let total = items.len() as i64;
    let target = match form::first(&pairs, "go").unwrap_or("next") {
        "prev" => format!("/q/{}", (n - 1).max(1)),
        "review" => "/review".to_string(),
        other => match other.parse::<i64>() {
            Ok(k) if (1..=total).contains(&k) => format!("/q/{k}"),
            _ if n >= total => "/review".to_string(),
            _ => format!("/q/{}", n + 1),
        },
    };
    Ok(Redirect::to(&quiz_url(&token, &target)).into_response())
}

pub async fn review(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let run = match running(&s, &token).await? {
        Ok(r) => r,
        Err(redirect) => return Ok(redirect),
    };
    let (attempt, items, _) = &run;
    let rows: Vec<Value> = items
        .iter()
        .map(|i| json!({ "n": i.position, "answered": i.answer.is_some() }))
        .collect();
    let unanswered = items.iter().filter(|i| i.answer.is_none()).count();
    let (left, left_secs) = remaining(attempt, s.db.now());
    Ok(pages::render(
        StatusCode::OK,
        "quiz_review",
        "Check and submit",
        json!({
            "token": token,
            "attempt": attempt.id,
            "items": rows,
            "unanswered": unanswered,
            "remaining": left,
            "remaining_secs": left_secs,
            "deadline_ms": attempt.deadline.timestamp_millis(),
        }),
    ))
}

/// Submits the attempt. Submitting twice, or after the scheduler closed it, lands on the same
/// result page and changes nothing.
pub async fn submit(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let Some(app_id) = applicant(&s, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    let latest = attempts::latest(&s.db, app_id).await?;
    check_attempt(&pairs, latest.as_ref())?;
    let attempt = latest.expect("checked above");
    if attempt.status == attempts::OPEN {
        let by = if s.db.now() > attempt.closes_at {
            "timed_out"
        } else {
            "submitted"
        };
        assessment::finish(&s.db, &s.settings, attempt.id, by).await?;
    }
    Ok(Redirect::to(&quiz_url(&token, "")).into_response())
}
