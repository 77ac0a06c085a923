use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use super::verify::link_invalid;
use crate::domain::application::Status;
use crate::intake;
use crate::store::applications;
use crate::web::{pages, AppState, PageError};

pub async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match intake::application_for_status_token(&s.db, &token).await? {
        Some(id) => render_status(&s, id, false).await,
        None => Ok(link_invalid(
            "This status link has expired. Ask for a new confirmation link, or look for a newer email from us.",
        )),
    }
}

fn next_step(status: Status) -> &'static str {
    match status {
        Status::Applied => "Open the link in the email we sent you to confirm your address.",
        Status::Verified => "Next is a short, timed skills quiz. The link to start it comes by email (\"Your skills quiz is ready\"); set aside a quiet half hour for it.",
        Status::Waitlisted => "You don't need to do anything. We'll write to you as soon as we can offer you a place.",
        Status::Rejected => "We can't take this application forward. If your situation changes, or you think we got something wrong, reply to any email from us and a person will look at it.",
        Status::QuizPassed => "A recruiter will read your application within a few working days and email you about a place in an upcoming pilot group.",
        Status::QuizFailed => "If you have attempts left, you can take the quiz again with the link in your quiz email once the waiting time has passed.",
    }
}

pub async fn render_status(
    s: &AppState,
    id: Uuid,
    just_verified: bool,
) -> Result<Response, PageError> {
    let app = applications::get(&s.db, id).await?;
    let status = Status::parse(&app.status).unwrap_or(Status::Applied);
    let reasons: Vec<String> = applications::screening(&s.db, id)
        .await?
        .into_iter()
        .filter(|r| r.outcome != "pass")
        .map(|r| r.reason)
        .collect();
    let quiz = crate::store::attempts::latest(&s.db, id)
        .await?
        .filter(|a| a.status == crate::store::attempts::SCORED)
        .map(|a| super::quiz::result_context(&a));
    Ok(pages::render(
        StatusCode::OK,
        "status",
        "Your application",
        json!({
            "just_verified": just_verified,
            "name": app.full_name,
            "applied_on": app.created_at.format("%-d %B %Y").to_string(),
            "status_label": status.label(),
            "next_step": next_step(status),
            "reasons": reasons,
            "quiz": quiz,
        }),
    ))
}
