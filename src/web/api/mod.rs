//! JSON API for integrations, under `/api`. Every call needs an API key (`onramp apikey create`),
//! sent as `Authorization: Bearer <key>`.

mod applications;
mod quizzes;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
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
    paths(applications::create, applications::get_one, quizzes::item_analysis),
    components(schemas(
        applications::ApplicationIn,
        applications::Created,
        applications::ApplicationOut,
        applications::ScreeningOut,
        applications::ErrorsOut,
        crate::domain::application::Status
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

pub fn router(limits: &super::limits::RateLimits) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/applications",
            post(applications::create).route_layer(limits.api_signup()),
        )
        .route("/v1/applications/{id}", get(applications::get_one))
        .route(
            "/v1/quizzes/{slug}/item-analysis",
            get(quizzes::item_analysis),
        )
        .route("/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A caller that presented a live API key, and what the key may do.
pub struct ApiKey {
    pub role: KeyRole,
}

impl ApiKey {
    /// Refuses (403) a key whose role is not one of `allowed`.
    pub fn require(&self, allowed: &[KeyRole]) -> Result<(), AppError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "This API key's role does not allow this call. Ask an admin for a key with the role it needs.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, AppError> {
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
        api_keys::touch(&s.db, id, crate::domain::now()).await?;
        // A role this build does not know (written by a newer one) gets the narrowest.
        Ok(ApiKey {
            role: KeyRole::parse(&role).unwrap_or(KeyRole::Intake),
        })
    }
}
