//! `/me`: the signed-in user's own account, password, API keys and referral links.

use super::json::JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use super::pagination::{Page, PageParams};
use super::users::UserResponse;
use super::{ApiError, AppState, Problem};
use crate::entity::api_key;
use crate::service::auth::PasswordChange;
use crate::service::referrals::LinkStats;
use crate::service::{accounts, api_keys, referrals};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(create_referral_link, list_referral_links))
}

/// Your account
#[utoipa::path(
    get, path = "/me", tag = "me",
    responses(
        (status = 200, description = "Your account", body = UserResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn get_me(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<JsonResponse<UserResponse>, ApiError> {
    Ok(JsonResponse(
        accounts::get(&state.db, me.user_id).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateMeRequest {
    #[schema(example = "new-address@example.org")]
    email: String,
    /// Your password, asked again before the email moves.
    current_password: String,
}

/// Change your email
///
/// Needs a signed-in session (an access token, not an API key) and your current password.
#[utoipa::path(
    patch, path = "/me", tag = "me",
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "Your updated account", body = UserResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email, or a wrong current password", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_me(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> Result<JsonResponse<UserResponse>, ApiError> {
    let hasher = state.auth.hasher();
    let user =
        accounts::update_email(&state.db, hasher, &me, body.email, &body.current_password).await?;
    Ok(JsonResponse(user.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// Your current password (also accepted as `current_password`).
    #[serde(alias = "current_password")]
    old_password: String,
    new_password: String,
    /// Keep your API keys working; by default the change revokes them.
    #[serde(default)]
    keep_api_keys: bool,
}

/// What a password change ended.
#[derive(Serialize, ToSchema)]
pub struct PasswordChangedResponse {
    /// Your other sign-ins, now signed out.
    sessions_revoked: u64,
    /// Your API keys, now revoked (0 with `keep_api_keys`).
    api_keys_revoked: u64,
}

/// Change your password
///
/// Needs a signed-in session (an access token, not an API key). Every other sign-in is
/// revoked, and so are your API keys unless `keep_api_keys` is true; the sign-in making this
/// request stays signed in.
#[utoipa::path(
    post, path = "/me/password", tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; what it revoked", body = PasswordChangedResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong old password, or a weak new one", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn change_password(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<JsonResponse<PasswordChangedResponse>, ApiError> {
    let change = PasswordChange {
        current_password: body.old_password,
        new_password: body.new_password,
        keep_api_keys: body.keep_api_keys,
    };
    let revoked = state.auth.change_password(&me, change).await?;
    Ok(JsonResponse(PasswordChangedResponse {
        sessions_revoked: revoked.sessions,
        api_keys_revoked: revoked.api_keys,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// What the key is for, 1–100 characters.
    #[schema(example = "Kobo e-reader", min_length = 1, max_length = 100)]
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyResponse {
    id: i64,
    name: String,
    /// The key's first characters, to tell keys apart.
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for ApiKeyResponse {
    fn from(key: api_key::Model) -> Self {
        Self {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewApiKeyResponse {
    #[serde(flatten)]
    details: ApiKeyResponse,
    /// The key itself, shown this once. Send it as `Authorization: Bearer <key>` or `X-Api-Key`.
    key: String,
}

/// Create an API key
///
/// Needs a signed-in session (an access token): an API key cannot create keys.
#[utoipa::path(
    post, path = "/me/api-keys", tag = "me",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The new key, shown once", body = NewApiKeyResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_api_key(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, JsonResponse<NewApiKeyResponse>), ApiError> {
    let (model, key) = api_keys::create(&state.db, &me, body.name).await?;
    let details = ApiKeyResponse::from(model);
    Ok((
        StatusCode::CREATED,
        JsonResponse(NewApiKeyResponse { details, key }),
    ))
}

/// Your API keys
#[utoipa::path(
    get, path = "/me/api-keys", tag = "me",
    params(PageParams),
    responses(
        (status = 200, description = "Your keys (never the keys themselves)", body = Page<ApiKeyResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_api_keys(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<ApiKeyResponse>>, ApiError> {
    let found = api_keys::page(&state.db, &me, params.after()?, params.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |k| k.id,
        ApiKeyResponse::from,
    )))
}

/// Revoke an API key
#[utoipa::path(
    delete, path = "/me/api-keys/{id}", tag = "me",
    params(("id" = i64, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no key with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn revoke_api_key(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke(&state.db, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CreateReferralLinkRequest {
    /// 3–32 letters, digits, `-` or `_`; a random code when absent.
    #[schema(
        example = "ada-friends",
        min_length = 3,
        max_length = 32,
        pattern = r"^[A-Za-z0-9_\-]+$"
    )]
    code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralLinkResponse {
    id: i64,
    code: String,
    /// The path to share; it counts a click and redirects to the sign-up page.
    #[schema(example = "/r/ada-friends")]
    url: String,
    clicks: i64,
    /// Accounts registered with this code.
    signups: i64,
    /// Paid purchases by those accounts.
    purchases: i64,
    created_at: DateTime<Utc>,
}

impl From<LinkStats> for ReferralLinkResponse {
    fn from(link: LinkStats) -> Self {
        Self {
            url: format!("/r/{}", link.code),
            id: link.id,
            code: link.code,
            clicks: link.clicks,
            signups: link.signups,
            purchases: link.purchases,
            created_at: link.created_at,
        }
    }
}

/// Create a referral link
#[utoipa::path(
    post, path = "/me/referral-links", tag = "me",
    request_body = CreateReferralLinkRequest,
    responses(
        (status = 201, description = "The new link", body = ReferralLinkResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_referral_link(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<CreateReferralLinkRequest>,
) -> Result<(StatusCode, JsonResponse<ReferralLinkResponse>), ApiError> {
    let link = referrals::create(&state.db, &me, body.code).await?;
    Ok((StatusCode::CREATED, JsonResponse(link.into())))
}

/// Your referral links, with what they brought
#[utoipa::path(
    get, path = "/me/referral-links", tag = "me",
    params(PageParams),
    responses(
        (status = 200, description = "Your links with clicks, sign-ups and purchases", body = Page<ReferralLinkResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_referral_links(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<ReferralLinkResponse>>, ApiError> {
    let found = referrals::page(&state.db, &me, params.after()?, params.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |l| l.id,
        ReferralLinkResponse::from,
    )))
}
