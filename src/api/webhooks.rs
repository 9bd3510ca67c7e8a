//! `/webhooks`: endpoints that folio tells about purchases, comments, books, files and
//! registrations, signed by the Standard Webhooks rules; their deliveries and retries (admin).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use super::json::JsonResponse;
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, Problem};
use crate::repo::webhook::{Attempt, Endpoint};
use crate::service::webhooks::{self, Changes, DeliveryHistory, NewEndpoint};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct EndpointResponse {
    id: i64,
    #[schema(example = "https://shop.example/hooks/folio")]
    url: String,
    /// The events it gets.
    #[schema(example = json!(["purchase.paid", "purchase.refunded"]))]
    events: Vec<String>,
    /// Whether deliveries go out; an endpoint failing for days is turned off.
    active: bool,
    /// Why it was turned off, when folio did it.
    disabled_reason: Option<String>,
    /// Since when its deliveries have been failing, if they are.
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Endpoint> for EndpointResponse {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            events: e.events,
            active: e.active,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(time),
            created_at: time(e.created_at),
            updated_at: time(e.updated_at),
        }
    }
}

/// An endpoint with its signing secret: the only answers that show it.
#[derive(Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointResponse,
    /// `whsec_<base64>`, as Standard Webhooks libraries take it. Shown once.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

impl From<Endpoint> for EndpointWithSecret {
    fn from(e: Endpoint) -> Self {
        let secret = e.secret.clone();
        Self {
            endpoint: e.into(),
            secret,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateEndpointRequest {
    /// http or https; its host must resolve to public addresses only (unless
    /// `FOLIO_WEBHOOK_ALLOW_PRIVATE=true`).
    #[schema(example = "https://shop.example/hooks/folio")]
    url: String,
    /// One or more of `purchase.created`, `purchase.paid`, `purchase.failed`,
    /// `purchase.refunded`, `comment.created`, `book.created`, `book.updated`, `book.deleted`,
    /// `edition.file_added`, `user.registered`.
    events: Vec<String>,
}

/// Register a webhook endpoint (admin)
///
/// Every event it asks for, from now on, is delivered to it as a signed JSON `POST` (headers
/// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), retried
/// with backoff for a day. The answer shows the signing secret, this once.
#[utoipa::path(
    post, path = "/webhooks", tag = "webhooks",
    request_body = CreateEndpointRequest,
    responses(
        (status = 201, description = "The endpoint, with its secret", body = EndpointWithSecret),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL that is not http(s), resolves to a private address, or unknown events", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_endpoint(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateEndpointRequest>,
) -> Result<(StatusCode, JsonResponse<EndpointWithSecret>), ApiError> {
    let new = NewEndpoint {
        url: body.url,
        events: body.events,
    };
    let allow_private = state.settings.webhooks.allow_private;
    let made = webhooks::create(&state.db, &admin, new, allow_private).await?;
    Ok((StatusCode::CREATED, JsonResponse(made.into())))
}

/// List webhook endpoints (admin)
#[utoipa::path(
    get, path = "/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint, oldest first", body = Vec<EndpointResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_endpoints(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<JsonResponse<Vec<EndpointResponse>>, ApiError> {
    let all = webhooks::list(&state.db, &admin).await?;
    Ok(JsonResponse(all.into_iter().map(Into::into).collect()))
}

/// A webhook endpoint (admin)
#[utoipa::path(
    get, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = EndpointResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn get_endpoint(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<JsonResponse<EndpointResponse>, ApiError> {
    Ok(JsonResponse(
        webhooks::get(&state.db, &admin, id).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateEndpointRequest {
    url: Option<String>,
    events: Option<Vec<String>>,
    /// `true` turns a disabled endpoint on again, forgetting why it was off.
    active: Option<bool>,
}

/// Change a webhook endpoint (admin)
#[utoipa::path(
    patch, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    request_body = UpdateEndpointRequest,
    responses(
        (status = 200, description = "The endpoint", body = EndpointResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid URL or events", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_endpoint(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateEndpointRequest>,
) -> Result<JsonResponse<EndpointResponse>, ApiError> {
    let changes = Changes {
        url: body.url,
        events: body.events,
        active: body.active,
    };
    let allow_private = state.settings.webhooks.allow_private;
    let changed = webhooks::update(&state.db, &admin, id, changes, allow_private).await?;
    Ok(JsonResponse(changed.into()))
}

/// Delete a webhook endpoint (admin)
///
/// Its pending deliveries are dropped with it.
#[utoipa::path(
    delete, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_endpoint(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state.db, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an endpoint's signing secret (admin)
///
/// The answer shows the new secret, this once. For a day deliveries carry two signatures, by
/// the new secret and the old, so the receiver can change over without losing an event.
#[utoipa::path(
    post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = EndpointWithSecret),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn rotate_secret(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<JsonResponse<EndpointWithSecret>, ApiError> {
    Ok(JsonResponse(
        webhooks::rotate(&state.db, &admin, id).await?.into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct AttemptResponse {
    at: DateTime<Utc>,
    /// The receiver's HTTP status; absent when it could not be reached.
    status_code: Option<i32>,
    /// What went wrong, if anything.
    error: Option<String>,
    latency_ms: i32,
}

impl From<Attempt> for AttemptResponse {
    fn from(a: Attempt) -> Self {
        Self {
            at: time(a.attempted_at),
            status_code: a.status_code,
            error: a.error,
            latency_ms: a.latency_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryResponse {
    id: i64,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    #[schema(example = "msg_2f1c0c7e9b7d4a8e8f3a1d2c4b5e6f70")]
    event_id: String,
    #[schema(example = "purchase.paid")]
    event_type: String,
    /// `pending` (due or waiting for its next try), `delivered` or `failed`.
    status: String,
    attempts: i32,
    /// When it is tried next, while pending.
    next_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    last_latency_ms: Option<i32>,
    created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    attempt_log: Vec<AttemptResponse>,
}

impl From<DeliveryHistory> for DeliveryResponse {
    fn from(h: DeliveryHistory) -> Self {
        let d = h.delivery;
        Self {
            id: d.id,
            event_id: d.message_id,
            event_type: d.kind,
            next_attempt_at: (d.status == "pending")
                .then_some(d.next_attempt_at)
                .flatten()
                .map(time),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            last_latency_ms: d.last_latency_ms,
            created_at: time(d.created_at),
            attempt_log: h.attempts.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListParams {
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// An endpoint's deliveries, newest first (admin)
#[utoipa::path(
    get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "Endpoint id"), DeliveryListParams),
    responses(
        (status = 200, description = "A page of deliveries with their attempts", body = Page<DeliveryResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_deliveries(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<DeliveryListParams>,
) -> Result<JsonResponse<Page<DeliveryResponse>>, ApiError> {
    let page = PageParams::of(params.limit, params.cursor.clone());
    let limit = page.limit()?;
    let before = page.after::<i64>()?;
    let (rows, more) = webhooks::deliveries(&state.db, &admin, id, before, limit as i64).await?;
    Ok(JsonResponse(Page::new(
        rows,
        more,
        |h| h.delivery.id,
        DeliveryResponse::from,
    )))
}

/// Send a delivery again now (admin)
///
/// A failed delivery, or one a receiver says it lost, is queued at once and retried for
/// another retry period.
#[utoipa::path(
    post, path = "/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(
        ("id" = i64, Path, description = "Endpoint id"),
        ("delivery_id" = i64, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery of this endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn retry_delivery(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath((id, delivery_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    webhooks::retry(&state.db, &admin, id, delivery_id).await?;
    Ok(StatusCode::ACCEPTED)
}
