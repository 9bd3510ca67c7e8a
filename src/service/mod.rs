//! The rules of the domain: who may do what, and what a valid change is. Services take the
//! database, run their work in units of work, and speak [`ServiceError`].

pub mod accounts;
pub mod acquisition;
pub mod api_keys;
pub mod auth;
pub mod backups;
pub mod book_page;
pub mod catalog;
pub mod comments;
pub mod covers;
pub mod files;
pub mod jobs;
pub mod kosync;
pub mod moves;
pub mod notes;
pub mod payments;
pub mod progress;
pub mod referrals;
pub mod store;
pub mod validate;
pub mod webhooks;

use crate::db::{DbError, Unique};

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// The service layer's one error type. What a caller can act on has a variant of its own;
/// everything else is [`ServiceError::Internal`], which keeps its cause for the log.
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
    /// No such thing as the request names: what it names ("book", "edition").
    #[error("no such {0}")]
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
    /// The database did not answer (unreachable, or busy past its timeout); nothing was done.
    #[error(transparent)]
    Unavailable(DbError),
    /// The disk under the database is full; nothing was written.
    #[error(transparent)]
    StorageFull(DbError),
    /// The file storage cannot be reached or is full; nothing was stored.
    #[error(transparent)]
    FileStorage(crate::storage::StorageError),
    /// A fault of folio's own (a failed query, a hashing failure, a broken invariant): logged
    /// with its causes, never shown.
    #[error("{message}")]
    Internal {
        message: String,
        #[source]
        cause: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// Whether this is the clash on `unique` a unit of work met (see [`Unique`]).
    pub fn conflicts_on(&self, unique: Unique) -> bool {
        matches!(self, Self::Conflict { field, .. } if field == unique.field)
    }

    /// A broken invariant, said in words.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
            cause: None,
        }
    }

    /// A failure of something folio relies on, with the error that caused it.
    pub fn failed(
        message: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            message: message.into(),
            cause: Some(cause.into()),
        }
    }
}

/// What a database error means to a caller. A row that is missing, a value that is taken and
/// a database that is down or full are answers; anything else is folio's fault, kept whole.
impl From<DbError> for ServiceError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::NotFound(what) => Self::NotFound(what),
            DbError::Conflict { field, reason } => Self::Conflict {
                detail: format!("{field} {reason}"),
                field,
            },
            DbError::Invalid { field } => Self::invalid(&field, "value is not allowed"),
            err @ DbError::Unavailable(_) => Self::Unavailable(err),
            err @ DbError::StorageFull(_) => Self::StorageFull(err),
            err @ DbError::Internal(_) => Self::failed("a database statement failed", err),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
