//! `/r/{code}`: the shareable end of a referral link.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath, ClientAddress};
use super::{ApiError, AppState, Problem};
use crate::service::referrals;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(follow_referral_link))
}

/// Follow a referral link
///
/// Counts a click and redirects to the sign-up page (`FOLIO_SIGNUP_URL`) with `?ref=<code>`.
/// One address's clicks on a link count once an hour, and one address may follow 30 links a
/// minute.
#[utoipa::path(
    get, path = "/r/{code}", tag = "referrals",
    params(("code" = String, Path, description = "The link's code")),
    responses(
        (status = 302, description = "Redirect to the sign-up page", headers(("location" = String))),
        (status = 404, description = "No link has this code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many links followed from this address", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn follow_referral_link(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    let signup = &state.settings.auth.signup_url;
    let limits = &state.referral_clicks;
    let target = referrals::follow(&state.db, limits, address, &code, signup).await?;
    let location = HeaderValue::try_from(target)
        .map_err(|_| ApiError::internal("FOLIO_SIGNUP_URL makes an invalid Location"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}
