//! `/r/{code}`: the shareable end of a referral link.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiPath;
use super::{ApiError, AppState, Problem};
use crate::service::referrals;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(follow_referral_link))
}

/// Follow a referral link
///
/// Counts a click and redirects to the sign-up page (`FOLIO_SIGNUP_URL`) with `?ref=<code>`.
#[utoipa::path(
    get, path = "/r/{code}", tag = "referrals",
    params(("code" = String, Path, description = "The link's code")),
    responses(
        (status = 302, description = "Redirect to the sign-up page", headers(("location" = String))),
        (status = 404, description = "No link has this code", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn follow_referral_link(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    let target = referrals::follow(&state.db, &code, &state.settings.auth.signup_url).await?;
    let location = HeaderValue::try_from(target)
        .map_err(|_| ApiError::Internal("FOLIO_SIGNUP_URL makes an invalid Location".into()))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}
