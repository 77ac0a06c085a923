//! The applicant's status page: where the application stands, what happens next, and, while a
//! quiz is open to them, the way back into it with the time left.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::link_invalid;
use crate::domain::application::Status;
use crate::domain::time;
use crate::store::{applications, attempts};
use crate::usecases::assessment::{self, Gate};
use crate::usecases::intake;
use crate::web::{pages, AppError, AppState, PageError};

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
        Status::Offered => "Look in your email for the offer of a place in a pilot group, and answer it there.",
        Status::Onboarding => "Work through the onboarding steps we emailed you; we'll tell you when you can go live.",
        Status::Live => "You are a live support agent. Thank you for being part of the team.",
        Status::Paused => "Your shifts are paused. Reply to any email from us when you are ready to come back.",
        Status::Withdrawn => "You withdrew this application. To apply again, reply to any email from us.",
        Status::Offboarded => "You are no longer working with us. Thank you for the work you did.",
    }
}

/// `status_token` is the link the page was opened with, which its buttons post back to.
async fn render_status(
    s: &AppState,
    id: Uuid,
    status_token: &str,
    just_verified: bool,
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
            let (left, _) = super::quiz::remaining(a);
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
    Ok(pages::render(
        StatusCode::OK,
        "status",
        "Your application",
        json!({
            "just_verified": just_verified,
            "name": app.full_name,
            "applied_on": time::date(app.created_at, tz),
            "status_label": status.label(),
            "token": status_token,
            "next_step": next_step(status),
            "reasons": reasons,
            "result": result,
            "quiz": quiz,
            "status_token": status_token,
        }),
    ))
}
