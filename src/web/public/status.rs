//! The applicant's status page: where the application stands, what happens next, and, while a
//! quiz is open to them, the way back into it with the time left.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::link_invalid;
use crate::domain::application::Status;
use crate::domain::{time, FieldErrors};
use crate::store::{applications, attempts};
use crate::usecases::assessment::{self, Gate};
use crate::usecases::intake;
use crate::usecases::onboarding::{self, Onboarding, StepFailure, Ticker};
use crate::web::{form, pages, AppError, AppState, PageError};

const EXPIRED: &str = "This status link has expired or is not valid.";

pub async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    // `?confirmed=1` after confirming the email, for the thank-you.
    let confirmed = query.as_deref() == Some("confirmed=1");
    match intake::application_for_status_token(&s.db, &token).await? {
        Some(id) => render_status(&s, id, &token, confirmed).await,
        None => Ok(link_invalid(EXPIRED, &token)),
    }
}

/// The applicant's own data, as a JSON download (GDPR access and portability).
pub async fn export(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(id) = intake::application_for_status_token(&s.db, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    let data = crate::usecases::privacy::export(&s.db, id).await?;
    crate::usecases::privacy::record_export(&s.db, "applicant", id).await?;
    s.metrics.exported("json");
    Ok((
        [
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-application.json\"",
            ),
            (axum::http::header::CONTENT_TYPE, "application/json"),
        ],
        serde_json::to_string_pretty(&data).map_err(|e| AppError::Internal(e.into()))?,
    )
        .into_response())
}

/// "Start the quiz" / "Continue your quiz": a fresh quiz link, straight into it.
/// The applicant ticks (`done=true`) or unticks (`done=false`) one of their own onboarding
/// items; the equipment check also sends `bandwidth_mbps`. A problem shows on the status page,
/// naming the field.
pub async fn tick(
    State(s): State<AppState>,
    Path((token, item)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let Some(id) = intake::application_for_status_token(&s.db, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    let problem = |code: StatusCode, field: &str, message: String| {
        let mut errors = FieldErrors::new();
        crate::domain::add_error(&mut errors, field, message);
        (code, errors)
    };
    let done = match form::first(&pairs, "done") {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "item",
            "Use the button beside the item to mark it done or not done.".into(),
        )),
    };
    let bandwidth = match form::first(&pairs, "bandwidth_mbps").map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.replace(',', ".").parse::<f64>().map(Some).map_err(|_| {
            problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bandwidth_mbps",
                "Enter the bandwidth as a number of Mbit/s, such as 50.".into(),
            )
        }),
    };
    let outcome = match (done, bandwidth) {
        (Ok(done), Ok(bandwidth)) => {
            match onboarding::tick(
                &s.db,
                Ticker::Applicant,
                id,
                &item,
                done,
                bandwidth,
                s.db.now(),
            )
            .await
            {
                Ok(_) => Ok(()),
                Err(StepFailure::Invalid(e)) => Err((StatusCode::UNPROCESSABLE_ENTITY, e)),
                Err(StepFailure::Refused(e)) => Err((StatusCode::CONFLICT, e)),
                Err(StepFailure::NotFound(m)) => {
                    Err(problem(StatusCode::CONFLICT, "item", m.to_string()))
                }
                Err(StepFailure::Store(e)) => return Err(AppError::from(e).into()),
            }
        }
        (Err(p), _) | (_, Err(p)) => Err(p),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/status/{token}#checklist")).into_response()),
        Err((code, errors)) => {
            // The figure typed stays in its field, to correct rather than type again.
            let typed = form::first(&pairs, "bandwidth_mbps").unwrap_or("");
            render_status_with(&s, id, &token, false, code, &errors, typed).await
        }
    }
}

pub async fn open_quiz(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(id) = intake::application_for_status_token(&s.db, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    match assessment::quiz_link(&s.db, &s.settings, id).await? {
        Some(quiz) => Ok(Redirect::to(&format!("/quiz/{}", quiz.as_str())).into_response()),
        // Nothing to open any more (the attempt ended meanwhile): the status page says why.
        None => Ok(Redirect::to(&format!("/status/{token}")).into_response()),
    }
}

/// "Open my offer": a fresh link to the applicant's open offer, straight into it.
pub async fn open_offer(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(id) = intake::application_for_status_token(&s.db, &token).await? else {
        return Ok(link_invalid(EXPIRED, &token));
    };
    match crate::usecases::cohorts::offer_link(&s.db, &s.settings, id).await? {
        Some(offer) => Ok(Redirect::to(&format!("/offer/{}", offer.as_str())).into_response()),
        // Answered or ended meanwhile: the status page says where things stand.
        None => Ok(Redirect::to(&format!("/status/{token}")).into_response()),
    }
}

fn next_step(status: Status) -> &'static str {
    match status {
        Status::Applied => "Open the link in the email we sent you to confirm your address.",
        Status::Verified => "Next is a short, timed skills quiz. Set aside a quiet half hour, then start it from here or from the link in your quiz email.",
        Status::Waitlisted => "You don't need to do anything. We'll write to you as soon as we can offer you a place.",
        Status::Rejected => "We can't take this application forward. If your situation changes, or you think we got something wrong, reply to any email from us and a person will look at it.",
        Status::QuizPassed => "A recruiter will read your application within a few working days and email you about a place in an upcoming pilot group.",
        Status::QuizFailed => "If you have attempts left, you can take the quiz again once the waiting time has passed.",
        Status::Shortlisted | Status::InReview => "A recruiter is looking at your application and will email you about the next step.",
        Status::OnHold => "Your application is paused for now. We'll email you when we can take it further.",
        Status::Offered => "Answer the offer of a place in a pilot group: open it with the button above or from the offer email.",
        Status::Onboarding => "Work through your onboarding checklist above: mark your own steps as you finish them, and a recruiter marks the rest. We'll email you when you can go live.",
        Status::Live => "You are a live support agent. Thank you for being part of the team.",
        Status::Paused => "Your shifts are paused. Reply to any email from us when you are ready to come back.",
        Status::Withdrawn => "You withdrew this application. To apply again, reply to any email from us.",
        Status::Offboarded => "You are no longer working with us. Thank you for the work you did.",
        Status::Expired => "Your email address was not confirmed within a week, so this application closed. You are welcome to apply again with the same address: fill in the form on the home page.",
    }
}

/// `status_token` is the link the page was opened with, which its buttons post back to.
async fn render_status(
    s: &AppState,
    id: Uuid,
    status_token: &str,
    just_verified: bool,
) -> Result<Response, PageError> {
    render_status_with(
        s,
        id,
        status_token,
        just_verified,
        StatusCode::OK,
        &FieldErrors::new(),
        "",
    )
    .await
}

/// The applicant's cohort, offer and onboarding checklist, for the status page.
fn cohort_context(o: &Onboarding, status_token: &str, place: Option<i64>) -> Value {
    let offer = match o.offer.status.as_str() {
        "pending" => "Waiting for your answer",
        "accepted" => "Accepted: your seat is confirmed",
        "waitlisted" => "On the waitlist: the cohort was full when you accepted",
        "declined" => "Declined",
        _ => "Expired",
    };
    let checklist: Vec<Value> = o
        .checklist
        .iter()
        .map(|i| {
            let t = o.ticks.iter().find(|t| t.item_key == i.key);
            json!({
                "key": i.key,
                "label": i.label,
                "required": i.required,
                "done": t.is_some(),
                "value": t.and_then(|t| t.value),
                "mine": i.ticked_by == "applicant",
                "bandwidth": i.records.is_some(),
                "action": format!("/status/{status_token}/checklist/{}", i.key),
            })
        })
        .collect();
    json!({
        "name": o.cohort.name,
        "start_date": time::date_of(o.cohort.start_date),
        "offer": offer,
        "accepted": o.offer.status == "accepted",
        "pending": o.offer.status == "pending",
        "waitlisted": o.offer.status == "waitlisted",
        "place": place,
        "done": o.ticks.len(),
        "total": o.checklist.len(),
        "checklist": checklist,
    })
}

async fn render_status_with(
    s: &AppState,
    id: Uuid,
    status_token: &str,
    just_verified: bool,
    code: StatusCode,
    errors: &FieldErrors,
    typed_bandwidth: &str,
) -> Result<Response, PageError> {
    let app = applications::get(&s.db, id).await?;
    let tz = s.settings.time_zone(&app.country);
    let reasons: Vec<String> = applications::screening(&s.db, id)
        .await?
        .into_iter()
        .filter(|r| r.outcome != "pass")
        .map(|r| r.reason)
        .collect();
    // Reading the overview also closes an attempt whose time ran out.
    let ov = assessment::overview(&s.db, &s.settings, id).await?;
    let result = ov
        .latest
        .as_ref()
        .filter(|a| a.status == attempts::SCORED)
        .map(|a| super::quiz::result_context(a, tz));
    let status = Status::of_stage(&ov.app.status);
    let quiz: Value = match (&ov.gate, &ov.latest) {
        (Gate::InProgress, Some(a)) => {
            let items = attempts::items(&s.db, a.id).await?;
            let (left, _) = super::quiz::remaining(a, s.db.now());
            json!({
                "in_progress": true,
                "time_left": left,
                "ends": time::clock(a.deadline, tz),
                "answered": items.iter().filter(|i| i.answer.is_some()).count(),
                "total": items.len(),
                "action": "Continue my quiz",
            })
        }
        (Gate::Ready { next }, _) => json!({
            "ready": true,
            "retake": *next > 1,
            "action": if *next > 1 { "Start a new attempt" } else { "Start the quiz" },
        }),
        (Gate::CoolingDown(until), _) => json!({
            "cooling_until": time::date_time(*until, tz),
            "action": "Go to my quiz",
        }),
        _ => Value::Null,
    };
    let onboarding = onboarding::of_applicant(&s.db, id).await?;
    let place = match &onboarding {
        Some(o) if o.offer.status == "waitlisted" => {
            Some(crate::store::cohorts::waitlist_place(&s.db, &o.offer).await?)
        }
        _ => None,
    };
    let cohort = onboarding
        .as_ref()
        .map(|o| cohort_context(o, status_token, place));
    let next = match place {
        Some(n) => format!(
            "You are number {n} in line for a seat. If one opens before the cohort starts, \
             we'll email you an offer to accept; you don't need to do anything until then."
        ),
        None => next_step(status).to_string(),
    };
    let (summary, _) = pages::errors_context(errors);
    Ok(pages::render(
        code,
        "status",
        &pages::form_title("Your application", errors),
        json!({
            "cohort": cohort,
            "errors": summary,
            "just_verified": just_verified,
            "name": app.full_name,
            "applied_on": time::date(app.created_at, tz),
            "status_label": status.label(),
            "token": status_token,
            "next_step": next,
            "reasons": reasons,
            "result": result,
            "quiz": quiz,
            "status_token": status_token,
            "typed_bandwidth": typed_bandwidth,
            "bandwidth_error": errors.get("bandwidth_mbps").map(|m| m.join(" ")),
        }),
    ))
}
