//! The rules of the domain: who may do what, and what a valid change is. Services take the
//! database, run their work in units of work, and speak [`ServiceError`].

pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod catalog;
pub mod comments;
pub mod notes;
pub mod payments;
pub mod progress;
pub mod referrals;
pub mod store;
pub mod validate;

use crate::db::DbError;

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The service layer's one error type.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A request malformed beyond field validation (a header over its limits). The message is
    /// safe to show.
    #[error("{0}")]
    Malformed(String),
    /// Missing or unusable credentials. The message is safe to show.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{detail}")]
    Conflict { field: String, detail: String },
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    /// Too much work of one kind at once (password hashing); nothing was done. Expected under
    /// a burst, so not a fault worth logging.
    #[error("{detail}")]
    Busy {
        detail: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    /// A fault of folio's own (a hashing failure, a broken invariant); logged, never shown.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
