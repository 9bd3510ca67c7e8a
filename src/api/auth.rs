//! `/auth`: register, sign in (JSON or OAuth2 password form), refresh, sign out.

use super::json::JsonResponse;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ClientAddress, JsonOrForm, MaybeUser, parse_json};
use super::users::UserResponse;
use super::{ApiError, AppState, Problem};
use crate::service::accounts::{self, Registration};
use crate::service::auth::Tokens;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–50 letters, digits, `_`, `.` or `-`; unique without regard to case.
    #[schema(
        example = "ada",
        min_length = 3,
        max_length = 50,
        pattern = r"^[A-Za-z0-9_.\-]+$"
    )]
    username: String,
    #[schema(example = "ada@example.org", max_length = 254)]
    email: String,
    /// At least 10 characters, not one of the most common passwords.
    #[schema(
        example = "correct horse battery staple",
        min_length = 10,
        max_length = 1000
    )]
    password: String,
    /// The code of the referral link the user came through.
    referral_code: Option<String>,
}

/// Register a reader account
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new account", body = UserResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an unknown referral code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn register(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    MaybeUser(caller): MaybeUser,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, JsonResponse<UserResponse>), ApiError> {
    state.auth.throttle_address(address).await?;
    let form = Registration {
        username: body.username,
        email: body.email,
        password: body.password,
        referral_code: body.referral_code,
    };
    let hasher = state.auth.hasher();
    let user = accounts::register(&state.db, hasher, form, caller.as_ref()).await?;
    Ok((StatusCode::CREATED, JsonResponse(UserResponse::from(user))))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    #[schema(example = "ada")]
    username: String,
    password: String,
    /// Sent by OAuth2 clients (`password`); ignored.
    #[allow(dead_code)]
    grant_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Exchange at `/auth/refresh` for new tokens; each works once.
    refresh_token: String,
    #[schema(example = "bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: u64,
}

impl From<Tokens> for TokenResponse {
    fn from(tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "bearer",
            expires_in: tokens.expires_in,
        }
    }
}

/// Sign in
///
/// Takes JSON, or the OAuth2 password form the docs page's Authorize button sends. A wrong
/// username and a wrong password are the same 401.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Incorrect username or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor a form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for the account, or attempts from this address", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonOrForm(body): JsonOrForm<LoginRequest>,
) -> Result<JsonResponse<TokenResponse>, ApiError> {
    let (tokens, _) = state
        .auth
        .login(&body.username, &body.password, address)
        .await?;
    Ok(JsonResponse(tokens.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// Exchange a refresh token for new tokens
///
/// The refresh token is used up. Presenting a used one again revokes the whole sign-in.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing refresh_token", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<JsonResponse<TokenResponse>, ApiError> {
    Ok(JsonResponse(
        state.auth.refresh(&body.refresh_token).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct LogoutRequest {
    /// For clients that hold only a refresh token.
    refresh_token: Option<String>,
}

/// Sign out
///
/// Revokes the sign-in of the access token sent, or of the refresh token in the body: its
/// access and refresh tokens stop working at once.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional when an access token is sent"),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid access token or refresh token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ())
)]
async fn logout(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    if let Some(session_id) = caller.as_ref().and_then(|c| c.session_id) {
        state.auth.logout(session_id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let refresh_token = if body.is_empty() {
        None
    } else {
        parse_json::<LogoutRequest>(&body)?.refresh_token
    };
    match refresh_token {
        Some(token) => {
            state.auth.logout_by_refresh_token(&token).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::Unauthorized(
            "Send the access token of the sign-in to end, or its refresh_token.".into(),
        )),
    }
}
