//! `/purchases`, `/me/purchases`, `/me/library`, and the payment provider's webhook.

use super::json::JsonResponse;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiJson, ApiQuery, CurrentUser, parse_json};
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, FieldError, Problem};
use crate::config::Secret;
use crate::entity::enums::{EditionFormat, PurchaseStatus};
use crate::entity::purchase;
use crate::service::ServiceError;
use crate::service::payments::{self, Applied, PaymentEvent, SignatureHeader, Unreadable};
use crate::service::store::{self, LibraryRow, PurchaseFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_purchase, list_purchases))
        .routes(routes!(my_purchases))
        .routes(routes!(my_library))
        .routes(routes!(payment_webhook))
}

#[derive(Serialize, ToSchema)]
pub struct PurchaseResponse {
    id: i64,
    user_id: i64,
    edition_id: i64,
    status: PurchaseStatus,
    /// The price when the purchase was made, in minor units (cents).
    #[schema(example = 1299)]
    amount_minor: i64,
    #[schema(example = "EUR")]
    currency: String,
    /// The payment provider's reference, once it sent one.
    provider_ref: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<purchase::Model> for PurchaseResponse {
    fn from(p: purchase::Model) -> Self {
        Self {
            id: p.id,
            user_id: p.user_id,
            edition_id: p.edition_id,
            status: p.status,
            amount_minor: p.amount_minor,
            currency: p.currency,
            provider_ref: p.provider_ref,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreatePurchaseRequest {
    edition_id: i64,
}

/// Buy an edition
///
/// Needs an `Idempotency-Key` header (a UUID, say): the same key with the same body returns the
/// same purchase (200, `Idempotent-Replayed: true`), so a retry after a timeout never buys twice;
/// the same key with another body is a 422. The price is copied from the edition now; the
/// purchase starts `pending` until the payment provider's webhook confirms it. An edition you
/// own, or have a pending purchase of, is a 409 naming `edition_id`: one purchase at a time.
#[utoipa::path(
    post, path = "/purchases", tag = "store",
    params(("Idempotency-Key" = String, Header, description = "A unique key per purchase attempt, 1–255 visible ASCII characters")),
    request_body = CreatePurchaseRequest,
    responses(
        (status = 201, description = "The new purchase, pending", body = PurchaseResponse),
        (status = 200, description = "The purchase this key made before", body = PurchaseResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The edition is already in your library, or a purchase of it is pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No key, a key reused with another body, an unknown edition, or one without a price", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_purchase(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePurchaseRequest>,
) -> Result<Response, ApiError> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                IDEMPOTENCY_KEY,
                "the header is required, so that a retried request cannot buy twice",
            )])
        })?
        .to_string();
    let purchased = store::purchase(&state.db, &me, body.edition_id, key)
        .await
        .map_err(|e| key_as_header(e.into()))?;
    let body = JsonResponse(PurchaseResponse::from(purchased.purchase));
    Ok(if purchased.created {
        (StatusCode::CREATED, body).into_response()
    } else {
        let replayed = [("idempotent-replayed", HeaderValue::from_static("true"))];
        (StatusCode::OK, replayed, body).into_response()
    })
}

/// The header a purchase's key comes in.
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A refusal of the key names the header the client sent it in, not the service's field.
fn key_as_header(error: ApiError) -> ApiError {
    match error {
        ApiError::Validation(mut errors) => {
            for e in errors.iter_mut().filter(|e| e.field == store::KEY_FIELD) {
                e.field = IDEMPOTENCY_KEY.into();
            }
            ApiError::Validation(errors)
        }
        other => other,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurchaseListParams {
    status: Option<PurchaseStatus>,
    user_id: Option<i64>,
    edition_id: Option<i64>,
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// All purchases, newest first (admin)
#[utoipa::path(
    get, path = "/purchases", tag = "store",
    params(PurchaseListParams),
    responses(
        (status = 200, description = "A page of purchases", body = Page<PurchaseResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_purchases(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(params): ApiQuery<PurchaseListParams>,
) -> Result<JsonResponse<Page<PurchaseResponse>>, ApiError> {
    let page = PageParams::of(params.limit, params.cursor);
    let filter = PurchaseFilter {
        user_id: params.user_id,
        edition_id: params.edition_id,
        status: params.status,
    };
    let found = store::page(&state.db, filter, page.after()?, page.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |p| p.id,
        PurchaseResponse::from,
    )))
}

/// Your purchases, newest first
#[utoipa::path(
    get, path = "/me/purchases", tag = "store",
    params(PageParams),
    responses(
        (status = 200, description = "A page of your purchases", body = Page<PurchaseResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn my_purchases(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<PurchaseResponse>>, ApiError> {
    let filter = PurchaseFilter {
        user_id: Some(me.user_id),
        ..Default::default()
    };
    let found = store::page(&state.db, filter, page.after()?, page.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |p| p.id,
        PurchaseResponse::from,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct LibraryItem {
    edition_id: i64,
    book_id: i64,
    title: String,
    format: EditionFormat,
    purchase_id: i64,
    purchased_at: DateTime<Utc>,
}

impl From<LibraryRow> for LibraryItem {
    fn from(row: LibraryRow) -> Self {
        Self {
            edition_id: row.edition_id,
            book_id: row.book_id,
            title: row.title,
            format: row.format,
            purchase_id: row.purchase_id,
            purchased_at: row.purchased_at,
        }
    }
}

/// Your library: the editions you own
///
/// An edition is yours once its purchase is paid, and no longer once it is refunded.
#[utoipa::path(
    get, path = "/me/library", tag = "store",
    params(PageParams),
    responses(
        (status = 200, description = "A page of the editions you own", body = Page<LibraryItem>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn my_library(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<LibraryItem>>, ApiError> {
    let found = store::library(&state.db, &me, page.after()?, page.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |r| r.purchase_id,
        LibraryItem::from,
    )))
}

/// A payment provider's event.
#[derive(Deserialize, ToSchema)]
pub struct WebhookEvent {
    /// The provider's id for this event; an id seen before for the same purchase is
    /// acknowledged and ignored, and one seen for another purchase is a 409.
    #[schema(example = "evt_1Q2w3E")]
    event_id: String,
    purchase_id: i64,
    /// `paid`, `failed` or `refunded`.
    status: PurchaseStatus,
    #[schema(example = "pi_3Nd8")]
    provider_ref: Option<String>,
    /// Must equal the purchase's amount.
    amount_minor: i64,
    /// Must equal the purchase's currency.
    currency: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookReceipt {
    received: bool,
    /// `true` when this event had been applied before and changed nothing now.
    duplicate: bool,
    purchase: Option<PurchaseResponse>,
}

/// The webhook secret; a server without one cannot check a signature, so it refuses (503).
fn webhook_secret(state: &AppState) -> Result<&Secret, ApiError> {
    state
        .settings
        .payment_webhook_secret
        .as_ref()
        .ok_or_else(|| {
            tracing::error!(
                "a payment webhook arrived but FOLIO_PAYMENT_WEBHOOK_SECRET is not set"
            );
            ApiError::Unavailable("The payment webhook is not configured on this server.".into())
        })
}

/// The header the payment provider signs a webhook's body in.
const FOLIO_SIGNATURE: &str = "Folio-Signature";

/// The `Folio-Signature` header, parsed and within its limits. An extractor of the request's
/// parts, so it runs before the body is read: a header too long or with too many `v1` entries
/// is refused (400) without waiting for, or buffering, a body it will never be checked against.
struct WebhookSignature(SignatureHeader);

impl FromRequestParts<AppState> for WebhookSignature {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        webhook_secret(state)?;
        let header = parts.headers.get(FOLIO_SIGNATURE).ok_or_else(|| {
            ApiError::Unauthorized(format!("The {FOLIO_SIGNATURE} header is missing."))
        })?;
        let header = header.to_str().map_err(|_| {
            ApiError::Unauthorized(format!("The {FOLIO_SIGNATURE} header is not ASCII."))
        })?;
        let signature = SignatureHeader::parse(header).map_err(|why| match why {
            Unreadable::TooLong => ApiError::BadRequest(format!(
                "The {FOLIO_SIGNATURE} header is longer than {} bytes.",
                payments::MAX_HEADER_BYTES
            )),
            Unreadable::TooManySignatures => ApiError::BadRequest(format!(
                "The {FOLIO_SIGNATURE} header has more than {} v1 signatures.",
                payments::MAX_SIGNATURES
            )),
            incomplete => ServiceError::from(incomplete).into(),
        })?;
        Ok(Self(signature))
    }
}

/// Payment webhook (for the payment provider)
///
/// Signed with `Folio-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with
/// FOLIO_PAYMENT_WEBHOOK_SECRET>`. A missing or wrong signature, or one older than five minutes,
/// is a 401 and changes nothing. A header longer than 4 KiB or with more than five `v1` entries
/// is a 400, refused before the body is read. Transitions: pending → paid or failed,
/// paid → refunded; any other is a 409.
#[utoipa::path(
    post, path = "/payments/webhook", tag = "store",
    params(("Folio-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    request_body = WebhookEvent,
    responses(
        (status = 200, description = "Received (applied, or a duplicate acknowledged)", body = WebhookReceipt),
        (status = 400, description = "Malformed JSON, or a Folio-Signature header longer than 4 KiB or with more than five v1 entries", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, wrong or stale signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such purchase", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not an allowed transition, or an event id already used for another purchase", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or amount and currency not the purchase's", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No webhook secret is configured", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn payment_webhook(
    State(state): State<AppState>,
    WebhookSignature(signature): WebhookSignature,
    body: Bytes,
) -> Result<JsonResponse<WebhookReceipt>, ApiError> {
    signature.verify(webhook_secret(&state)?, &body, Utc::now().timestamp())?;
    let event: WebhookEvent = parse_json(&body)?;
    if event.event_id.is_empty() || event.event_id.len() > 255 {
        return Err(ApiError::Validation(vec![FieldError::new(
            "event_id",
            "must be 1 to 255 characters",
        )]));
    }
    let applied = payments::apply(
        &state.db,
        PaymentEvent {
            event_id: event.event_id,
            purchase_id: event.purchase_id,
            status: event.status,
            provider_ref: event.provider_ref,
            amount_minor: event.amount_minor,
            currency: event.currency,
        },
    )
    .await?;
    Ok(JsonResponse(match applied {
        Applied::Moved(purchase) => WebhookReceipt {
            received: true,
            duplicate: false,
            purchase: Some(purchase.into()),
        },
        Applied::Duplicate => WebhookReceipt {
            received: true,
            duplicate: true,
            purchase: None,
        },
    }))
}
