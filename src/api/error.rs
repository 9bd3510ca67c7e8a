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
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A `Range` outside the file; the answer says how large it is.
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
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
    DatabaseUnavailable(#[source] Option<Box<dyn std::error::Error + Send + Sync>>),
    /// The disk under the database is full; nothing was written.
    #[error("insufficient storage")]
    InsufficientStorage,
    /// The file storage cannot be reached (503) or is full (507); logged with its cause.
    #[error("file storage: {0}")]
    FileStorage(#[source] crate::storage::StorageError),
    /// The error and its causes go to the log only; the client learns nothing of the internals.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
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
    #[schema(value_type = Vec<FieldErrorSchema>)]
    pub errors: Vec<FieldError>,
}

// The OpenAPI schema of the service's `FieldError`, which knows nothing of OpenAPI. The doc
// comment below is the schema's description.
/// A problem with one field of a request.
#[derive(utoipa::ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)] // describes the JSON; never built
struct FieldErrorSchema {
    field: String,
    message: String,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// On a response: the request failed because the database did not answer.
#[derive(Clone, Copy, Debug)]
pub struct DatabaseUnavailable;

/// On a response: the fault behind it, for the one log line the request middleware writes
/// (`middleware::log_response`), inside the request's span, so with its request id. Only
/// faults are here (a 500, an unavailable service); a client's mistake is not logged.
#[derive(Clone, Debug)]
pub struct Failure {
    pub level: tracing::Level,
    /// What happened, with every cause after a colon.
    pub chain: String,
}

impl Failure {
    fn of(level: tracing::Level, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut cause = error.source();
        while let Some(e) = cause {
            chain.push_str(": ");
            chain.push_str(&e.to_string());
            cause = e.source();
        }
        Self { level, chain }
    }
}

impl ApiError {
    /// Storage trouble met in the API itself (staging an upload, opening a download), meant as
    /// the services mean it.
    pub fn from_storage(err: crate::storage::StorageError) -> Self {
        ServiceError::from(err).into()
    }

    /// A fault of folio's own, said in words; logged, never shown.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into().into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy { .. } | Self::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Self::FileStorage(crate::storage::StorageError::Full(_)) => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            Self::FileStorage(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            Self::Validation(_) => "validation-error",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Unavailable(_) | Self::Busy { .. } | Self::DatabaseUnavailable(_) => {
                "service-unavailable"
            }
            Self::InsufficientStorage => "insufficient-storage",
            Self::FileStorage(crate::storage::StorageError::Full(_)) => "insufficient-storage",
            Self::FileStorage(_) => "service-unavailable",
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
            Self::RangeNotSatisfiable { size } => (
                format!("The range is outside the file, which is {size} bytes."),
                vec![],
            ),
            Self::MethodNotAllowed => {
                ("This path does not accept that method.".to_string(), vec![])
            }
            Self::DatabaseUnavailable(_) => (
                "The database is unavailable; try again shortly.".to_string(),
                vec![],
            ),
            Self::InsufficientStorage => (
                "The server's disk is full, so nothing was saved. Try again once the operator \
                 has freed space."
                    .to_string(),
                vec![],
            ),
            Self::FileStorage(crate::storage::StorageError::Full(_)) => (
                "The file storage is full, so nothing was stored. Try again once the operator \
                 has freed space."
                    .to_string(),
                vec![],
            ),
            Self::FileStorage(_) => (
                "The file storage is unavailable; try again shortly.".to_string(),
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
            | Self::PayloadTooLarge(d)
            | Self::UnsupportedMediaType(d)
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
        let failure = match &self {
            Self::Internal(error) => Some(Failure::of(tracing::Level::ERROR, error.as_ref())),
            Self::DatabaseUnavailable(Some(cause)) => {
                Some(Failure::of(tracing::Level::WARN, cause.as_ref()))
            }
            Self::FileStorage(cause) => Some(Failure::of(tracing::Level::WARN, cause)),
            Self::Unavailable(_) | Self::DatabaseUnavailable(None) => {
                Some(Failure::of(tracing::Level::WARN, &self))
            }
            _ => None,
        };
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
            Self::Unavailable(_) | Self::DatabaseUnavailable(_) => Some(5),
            Self::FileStorage(crate::storage::StorageError::Full(_)) => Some(60),
            Self::FileStorage(_) => Some(5),
            // A full disk is freed by a person, not in seconds.
            Self::InsufficientStorage => Some(60),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Self::RangeNotSatisfiable { size } = &self {
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("digits are a header"),
            );
        }
        if matches!(self, Self::Unauthorized(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, Self::DatabaseUnavailable(_)) {
            response.extensions_mut().insert(DatabaseUnavailable);
        }
        if let Some(failure) = failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}

/// Straight from the database layer (a handler's own probe): meant as the services mean it.
impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        ServiceError::from(err).into()
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
            ServiceError::Unavailable(cause) => Self::DatabaseUnavailable(Some(Box::new(cause))),
            // Logged once per episode where it is noticed (`db::error`), not per request.
            ServiceError::StorageFull(_) => Self::InsufficientStorage,
            ServiceError::FileStorage(cause) => Self::FileStorage(cause),
            internal @ ServiceError::Internal { .. } => Self::Internal(Box::new(internal)),
        }
    }
}
