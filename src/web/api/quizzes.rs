use axum::extract::{Path, State};
use axum::Json;

use super::ApiKey;
use crate::web::{AppError, AppState};

/// Item analysis of one quiz, the same data as the recruiters' page.
#[utoipa::path(
    get,
    path = "/api/v1/quizzes/{slug}/item-analysis",
    params(("slug" = String, Path, description = "Quiz id, e.g. agents-sweden")),
    responses(
        (status = 200, description = "Per question version: attempts, enough_attempts, \
            full_credit, facility, discrimination (null when the item or the rest of the test \
            does not vary), mean_seconds, choices with picks and share, and flags (empty until \
            the version has min_attempts attempts)"),
        (status = 401, description = "Missing or invalid API key"),
        (status = 403, description = "The key's role may not read item analysis (recruiter or admin only)"),
        (status = 404, description = "No such quiz"),
    )
)]
pub async fn item_analysis(
    _key: ApiKey,
    State(s): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    crate::web::admin::analysis_json(&s, &slug).await
}
