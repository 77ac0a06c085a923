//! The one-click unsubscribe link that reminders carry (RFC 8058). Opening it changes nothing
//! (mail scanners open links first): the page asks for one click. A POST to the same address
//! unsubscribes, whatever its body, so a mail client's `List-Unsubscribe=One-Click` POST works
//! too. Only reminders and nudges stop; essential mail (verification, quiz invitations,
//! results, offers) still goes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use super::link_invalid;
use crate::domain::token::hash_token;
use crate::store::{applications, tokens};
use crate::web::{pages, AppState, PageError};

const INVALID: &str = "This unsubscribe link has expired or is not valid.";

async fn application_of(s: &AppState, token: &str) -> Result<Option<Uuid>, PageError> {
    let t = tokens::find(&s.db, &hash_token(token), tokens::UNSUBSCRIBE).await?;
    Ok(t.filter(|t| t.expires_at > s.db.now())
        .map(|t| t.application_id))
}

pub async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(id) = application_of(&s, &token).await? else {
        return Ok(link_invalid(INVALID, &token));
    };
    let app = applications::get(&s.db, id).await?;
    Ok(render(&token, app.unsubscribed(), false))
}

pub async fn confirm(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let Some(id) = application_of(&s, &token).await? else {
        return Ok(link_invalid(INVALID, &token));
    };
    crate::usecases::reminders::unsubscribe(&s.db, id, s.db.now()).await?;
    Ok(render(&token, true, true))
}

fn render(token: &str, done: bool, just_now: bool) -> Response {
    let heading = if done {
        "You won't get reminders any more"
    } else {
        "Stop reminder emails?"
    };
    pages::render(
        StatusCode::OK,
        "unsubscribe",
        heading,
        json!({ "token": token, "heading": heading, "done": done, "just_now": just_now }),
    )
}
