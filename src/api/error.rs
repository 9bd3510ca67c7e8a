//! The API's one error type and its single rendering: `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
pub use crate::service::FieldError;
use crate::service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict { field: String, detail: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// Busy with work of one kind (password hashing): 503 without a log line, since a burst of
    /// sign-ins would otherwise write one per request turned away.
    #[error("{detail}")]
    Busy {
        detail: String,
        retry_after_secs: u64,
    },
    /// The database did not answer. Marks its response so that the outage middleware can stop
    /// later requests from waiting on it.
    #[error("database unavailable")]
    DatabaseUnavailable,
    /// The disk under the database is full; nothing was written.
    #[error("insufficient storage")]
    InsufficientStorage,
    /// The message goes to the log only; the client learns nothing of the internals.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An error, as RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, `urn:folio:problem:<kind>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:folio:problem:validation-error")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// The fields at fault (validation errors and conflicts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// On a response: the request failed because the database did not answer.
#[derive(Clone, Copy, Debug)]
pub struct DatabaseUnavailable;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy { .. } | Self::DatabaseUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable problem type; the URN needs no host to resolve.
    fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict { .. } => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Validation(_) => "validation-error",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Unavailable(_) | Self::Busy { .. } | Self::DatabaseUnavailable => {
                "service-unavailable"
            }
            Self::InsufficientStorage => "insufficient-storage",
            Self::Internal(_) => "internal-error",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (detail, errors) = match self {
            Self::Validation(errors) => (
                "The request has invalid fields; see errors.".to_string(),
                errors.clone(),
            ),
            Self::Conflict { field, detail } => {
                (detail.clone(), vec![FieldError::new(field, detail)])
            }
            Self::TooManyRequests { retry_after_secs } => (
                format!("Too many requests; retry after {retry_after_secs} seconds."),
                vec![],
            ),
            Self::PayloadTooLarge => ("The request body is too large.".to_string(), vec![]),
            Self::UnsupportedMediaType => {
                ("Send the body as application/json.".to_string(), vec![])
            }
            Self::MethodNotAllowed => {
                ("This path does not accept that method.".to_string(), vec![])
            }
            Self::DatabaseUnavailable => (
                "The database is unavailable; try again shortly.".to_string(),
                vec![],
            ),
            Self::InsufficientStorage => (
                "The server's disk is full, so nothing was saved. Try again once the operator \
                 has freed space."
                    .to_string(),
                vec![],
            ),
            Self::Internal(_) => (
                "An unexpected error occurred. The server log has the details under this \
                 response's x-request-id."
                    .to_string(),
                vec![],
            ),
            Self::BadRequest(d)
            | Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::Unavailable(d)
            | Self::Busy { detail: d, .. } => (d.clone(), vec![]),
        };
        Problem {
            kind: format!("urn:folio:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(message) => tracing::error!(error = %message, "request failed"),
            Self::Unavailable(message) => tracing::warn!(error = %message, "service unavailable"),
            _ => {}
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).expect("a problem serialises");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        let retry_after = match &self {
            Self::TooManyRequests { retry_after_secs }
            | Self::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Unavailable(_) | Self::DatabaseUnavailable => Some(5),
            // A full disk is freed by a person, not in seconds.
            Self::InsufficientStorage => Some(60),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if matches!(self, Self::Unauthorized(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, Self::DatabaseUnavailable) {
            response.extensions_mut().insert(DatabaseUnavailable);
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Conflict { field, reason } => Self::Conflict {
                detail: format!("{field} {reason}"),
                field,
            },
            DbError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            DbError::Invalid { field } => {
                Self::Validation(vec![FieldError::new(field, "value is not allowed")])
            }
            DbError::Unavailable(message) => {
                tracing::warn!(error = %message, "database unavailable");
                Self::DatabaseUnavailable
            }
            // Logged once per episode where it is noticed (`db::error`), not per request.
            DbError::StorageFull(_) => Self::InsufficientStorage,
            DbError::Internal(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Validation(errors) => Self::Validation(errors),
            ServiceError::Malformed(message) => Self::BadRequest(message),
            ServiceError::Unauthenticated(message) => Self::Unauthorized(message),
            ServiceError::Forbidden(message) => Self::Forbidden(message),
            ServiceError::NotFound(what) => Self::NotFound(format!("No such {what}.")),
            ServiceError::Conflict { field, detail } => Self::Conflict { field, detail },
            ServiceError::RateLimited { retry_after_secs } => {
                Self::TooManyRequests { retry_after_secs }
            }
            ServiceError::Busy {
                detail,
                retry_after_secs,
            } => Self::Busy {
                detail,
                retry_after_secs,
            },
            ServiceError::Db(db) => db.into(),
            ServiceError::Internal(message) => Self::Internal(message),
        }
    }
}
