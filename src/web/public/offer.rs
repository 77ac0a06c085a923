//! A cohort offer, answered by the applicant through the link in the offer email. Opening the
//! link changes nothing (mail scanners open links first); the page asks for one click to accept
//! or decline, and only that POST answers. `?choice=accept` or `?choice=decline` (the email's
//! two links) only chooses which button comes first.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use uuid::Uuid;

use super::link_invalid;
use crate::domain::token::hash_token;
use crate::domain::{iso, time};
use crate::store::tokens;
use crate::usecases::cohorts::{self, Answer};
use crate::web::form;
use crate::web::{pages, AppState, PageError};

const INVALID: &str = "This offer link has expired or is not valid.";

async fn application_of(s: &AppState, token: &str) -> Result<Option<Uuid>, PageError> {
    let t = tokens::find(&s.db, &hash_token(token), tokens::OFFER).await?;
    Ok(t.filter(|t| t.expires_at > s.db.now())
        .map(|t| t.application_id))
}

pub async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(id) = application_of(&s, &token).await? else {
        return Ok(link_invalid(INVALID, &token));
    };
    let decline_first = query.as_deref() == Some("choice=decline");
    render(&s, id, &token, decline_first, StatusCode::OK).await
}

async fn render(
    s: &AppState,
    id: Uuid,
    token: &str,
    decline_first: bool,
    code: StatusCode,
) -> Result<Response, PageError> {
    let Some((offer, cohort)) = cohorts::offer_of(&s.db, id).await? else {
        return Ok(link_invalid(INVALID, token));
    };
    let tz = s.settings.time_zone(&cohort.market);
    let closed = cohort.marked.as_deref() == Some("closed");
    let open = crate::store::cohorts::OPEN.contains(&offer.status.as_str())
        && offer.expires_at > s.db.now()
        && !closed;
    let waitlisted = offer.status == "waitlisted" && !closed;
    let place = if waitlisted {
        Some(crate::store::cohorts::waitlist_place(&s.db, &offer).await?)
    } else {
        None
    };
    let (heading, message) = match offer.status.as_str() {
        "accepted" => (
            "Your seat is confirmed",
            "Welcome aboard. Your onboarding checklist is on your status page.",
        ),
        "declined" => (
            "You declined this offer",
            "Thank you for letting us know. Your application stays with us for a later cohort.",
        ),
        "waitlisted" if !closed => (
            "You are on the waitlist",
            "The cohort was full when you accepted, so you are on its waitlist. You don't need \
             to do anything now.",
        ),
        _ if closed => (
            "This cohort has closed",
            "The cohort closed before your answer reached us, so its seats are no longer \
             offered. Your application stays with us, and a recruiter will be in touch about \
             the next cohort.",
        ),
        _ if !open => (
            "This offer has expired",
            "The time to answer has passed. Your application stays with us, and a recruiter \
             will be in touch about the next cohort.",
        ),
        _ => ("A seat in our pilot is yours to take", ""),
    };
    let full = code == StatusCode::CONFLICT && !closed;
    let choice_error = code == StatusCode::UNPROCESSABLE_ENTITY;
    Ok(pages::render(
        code,
        "offer",
        heading,
        json!({
            "token": token,
            "heading": heading,
            "message": message,
            // A waitlisted person has nothing to accept: a seat that opens comes as a new
            // offer by email. They may leave the waitlist.
            "open": open && !full && !waitlisted,
            "waitlisted": waitlisted,
            "place": place,
            "hold": crate::domain::time::in_words(s.settings.offer_ttl.duration()),
            "full": full,
            "choice_error": choice_error,
            "decline_first": decline_first,
            "cohort": cohort.name,
            "market": iso::country_name(&cohort.market).unwrap_or(&cohort.market),
            "language": iso::language_name(&cohort.language).unwrap_or(&cohort.language),
            "start_date": time::date_of(cohort.start_date),
            "expires": time::date_time(offer.expires_at, tz),
        }),
    ))
}

/// "Go to my status page" from the offer page: a fresh status link, straight to it.
pub async fn to_status(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match application_of(&s, &token).await? {
        Some(id) => super::to_status_page(&s, id).await,
        None => Ok(link_invalid(INVALID, &token)),
    }
}

/// The answer: `choice=accept` or `choice=decline`.
pub async fn answer(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let Some(id) = application_of(&s, &token).await? else {
        return Ok(link_invalid(INVALID, &token));
    };
    let accept = match form::first(&pairs, "choice") {
        Some("accept") => true,
        Some("decline") => false,
        _ => return render(&s, id, &token, false, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let pipeline = s.pipeline()?;
    match cohorts::answer(&s.db, &pipeline, id, accept, s.db.now()).await? {
        Answer::Full | Answer::Closed => render(&s, id, &token, false, StatusCode::CONFLICT).await,
        _ => Ok(Redirect::to(&format!("/offer/{token}")).into_response()),
    }
}
