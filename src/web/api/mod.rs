//! JSON API for integrations, under `/api`. Every call needs an API key (`onramp apikey create`),
//! sent as `Authorization: Bearer <key>`.

pub mod applicants;
pub mod applications;
pub mod cohorts;
pub mod quizzes;
pub mod reports;
pub mod webhooks;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{AppError, AppState};
use crate::domain::staff::KeyRole;
use crate::domain::token::hash_token;
use crate::store::api_keys;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onramp API",
        description = "Submit and look up applications for remote customer support roles."
    ),
    paths(
        applications::create,
        applicants::list,
        applicants::csv,
        applications::get_one,
        applications::create_move,
        applications::create_note,
        applications::timeline,
        applications::export,
        applications::erase,
        applications::add_tag,
        applications::remove_tag,
        applications::audit_log,
        cohorts::create,
        cohorts::list,
        cohorts::get_one,
        cohorts::set_status,
        cohorts::activate_ready,
        cohorts::create_offers,
        cohorts::tick,
        cohorts::activate,
        cohorts::pause,
        cohorts::resume,
        cohorts::offboard,
        quizzes::item_analysis,
        reports::replacement,
        reports::forecast,
        reports::funnel,
        reports::fairness,
        reports::quality,
        reports::record_headcount,
        reports::list_headcount,
        webhooks::create,
        webhooks::list,
        webhooks::delete
    ),
    components(schemas(
        applications::ApplicationIn,
        applications::Created,
        applications::ApplicationOut,
        applications::ScreeningOut,
        applications::ErrorsOut,
        applications::MoveIn,
        applications::MoveOut,
        applications::NoteIn,
        applications::TagIn,
        cohorts::CohortIn,
        cohorts::OffersIn,
        cohorts::TickIn,
        cohorts::ReasonIn,
        cohorts::StatusIn,
        reports::HeadcountIn,
        webhooks::WebhookIn,
        webhooks::WebhookEvent,
    )),
    modifiers(&BearerAuth),
    security(("api_key" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A caller that presented a live API key, and what the key may do.
#[derive(Clone)]
pub struct ApiKey {
    pub id: uuid::Uuid,
    pub role: KeyRole,
}

impl ApiKey {
    /// Who acts, for timelines and the audit log.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.id)
    }
}

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, AppError> {
        // The route's guard (see `access`) checked the key already.
        if let Some(found) = parts.extensions.get::<ApiKey>() {
            return Ok(found.clone());
        }
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(AppError::Unauthorized(
                "Send your API key as 'Authorization: Bearer <key>'.",
            ))?;
        let Some((id, role)) = api_keys::find_active(&s.db, &hash_token(presented)).await? else {
            return Err(AppError::Unauthorized(
                "This API key is not valid or has been revoked.",
            ));
        };
        api_keys::touch(&s.db, id, s.db.now()).await?;
        // A role this build does not know (written by a newer one) gets the narrowest.
        Ok(ApiKey {
            id,
            role: KeyRole::parse(&role).unwrap_or(KeyRole::Intake),
        })
    }
}
