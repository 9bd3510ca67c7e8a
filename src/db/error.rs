//! The database layer's one error type, and the mapping of driver errors onto it.
//!
//! Constraint names follow `uq_<table>__<field>`, `fk_<table>__<column>`, `ck_<table>__<field>`
//! (see `migration/sql`), so a violation can name the API field it protects on both backends.

use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::{DbErr, RuntimeErr};
use sqlx::error::{DatabaseError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique value is taken, or a row is still referenced by others.
    #[error("conflict on {field}: {reason}")]
    Conflict { field: String, reason: String },
    /// The row, or a row it refers to, does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A value broke a check or NOT NULL constraint the API should have caught first.
    #[error("invalid value for {field}")]
    Invalid { field: String },
    /// The database cannot be reached, or stayed busy past the timeout.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The disk under the database is full: nothing was written, and writes succeed again once
    /// space is freed.
    #[error("the database's disk is full: {0}")]
    StorageFull(String),
    #[error(transparent)]
    Internal(DbErr),
}

/// A unique constraint a service may meet as an answer rather than a fault (a payment event
/// delivered twice at once, an ISBN another edition has), named by the field it protects, as
/// in its name `uq_<table>__<field>`. Repo modules declare the ones of their tables
/// (`repo::purchase::EVENT_ID`), so a service asks [`DbError::violates`] with a constant, never a
/// string of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unique {
    pub field: &'static str,
}

/// What the failing statement was doing: a foreign-key violation means "the row you point at is
/// missing" on a write, and "other rows still point here" on a delete. SQLite's message does not
/// say which, so the caller does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Write,
    Delete,
}

impl DbError {
    /// Whether this is a clash on `unique`.
    pub fn violates(&self, unique: Unique) -> bool {
        matches!(self, Self::Conflict { field, .. } if field == unique.field)
    }

    /// Maps an error from a `DELETE`: a foreign-key violation is a Conflict (still referenced).
    pub fn on_delete(err: DbErr) -> Self {
        classify(err, Operation::Delete)
    }

    /// An error of SQLite's hot readers (rusqlite): busy or locked past the timeout, or a file
    /// that cannot be opened, is the database being unavailable, as with sqlx.
    pub(crate) fn from_rusqlite(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => {
                Self::Unavailable(err.to_string())
            }
            _ => Self::Internal(DbErr::Query(RuntimeErr::Internal(err.to_string()))),
        }
    }

    pub(crate) fn from_connect(err: sqlx::Error) -> Self {
        Self::Unavailable(err.to_string())
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Whether the disk was last seen full. An episode is logged once when it starts and once when
/// a write succeeds again, not once per refused request: a shop whose disk fills under load
/// would otherwise bury the one line that matters. The flag is process-wide because the disk
/// is; a process serves one database.
static STORAGE_FULL: AtomicBool = AtomicBool::new(false);

fn storage_full(message: String) -> DbError {
    if !STORAGE_FULL.swap(true, Ordering::Relaxed) {
        tracing::error!(
            error = %message,
            "the database's disk is full: writes are refused (507) until space is freed"
        );
    }
    DbError::StorageFull(message)
}

/// Whether a disk-full episode is under way: what follows from it is expected, not news.
pub(super) fn in_storage_full_episode() -> bool {
    STORAGE_FULL.load(Ordering::Relaxed)
}

/// Called after every commit: ends a disk-full episode, if one was under way.
pub(super) fn note_committed() {
    if STORAGE_FULL.load(Ordering::Relaxed) && STORAGE_FULL.swap(false, Ordering::Relaxed) {
        tracing::info!("the database's disk has room again: writes succeed");
    }
}

impl From<DbErr> for DbError {
    fn from(err: DbErr) -> Self {
        classify(err, Operation::Write)
    }
}

fn classify(err: DbErr, operation: Operation) -> DbError {
    let sqlx_error = match &err {
        DbErr::ConnectionAcquire(e) => return DbError::Unavailable(e.to_string()),
        DbErr::RecordNotFound(what) => return DbError::NotFound(what.clone()),
        DbErr::RecordNotUpdated => return DbError::NotFound("record".into()),
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e.clone(),
        DbErr::Conn(other) => return DbError::Unavailable(other.to_string()),
        _ => return DbError::Internal(err),
    };
    match &*sqlx_error {
        sqlx::Error::Database(db) => {
            classify_database(db.as_ref(), operation).unwrap_or(DbError::Internal(err))
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => DbError::Unavailable(sqlx_error.to_string()),
        sqlx::Error::RowNotFound => DbError::NotFound("record".into()),
        _ => DbError::Internal(err),
    }
}

fn classify_database(db: &dyn DatabaseError, operation: Operation) -> Option<DbError> {
    match db.kind() {
        ErrorKind::UniqueViolation => Some(DbError::Conflict {
            field: unique_field(db),
            reason: "already exists".into(),
        }),
        ErrorKind::ForeignKeyViolation => Some(foreign_key(db, operation)),
        ErrorKind::CheckViolation | ErrorKind::NotNullViolation => Some(DbError::Invalid {
            field: invalid_field(db),
        }),
        _ if is_unavailable_code(db) => Some(DbError::Unavailable(db.message().to_string())),
        _ if is_storage_full_code(db) => Some(storage_full(db.message().to_string())),
        _ if is_data_exception(db) => Some(DbError::Invalid {
            field: "body".into(),
        }),
        _ => None,
    }
}

/// The API field a constraint protects: the part after `__` in folio's constraint names.
fn field_of_constraint(name: &str) -> Option<&str> {
    name.split_once("__").map(|(_, field)| field)
}

fn unique_field(db: &dyn DatabaseError) -> String {
    if let Some(field) = db.constraint().and_then(field_of_constraint) {
        return field.to_string(); // PostgreSQL names the constraint.
    }
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        && let Some(columns) = pg.detail().and_then(detail_columns)
    {
        return last_column(columns); // An unnamed key, e.g. a primary key: "Key (a, b)=(…)".
    }
    // SQLite: "UNIQUE constraint failed: index 'uq_user__username'" or
    // "UNIQUE constraint failed: book_author.book_id, book_author.author_id".
    let detail = sqlite_detail(db.message());
    if let Some(index) = detail
        .strip_prefix("index '")
        .and_then(|s| s.strip_suffix('\''))
    {
        return field_of_constraint(index).unwrap_or(index).to_string();
    }
    last_column(detail)
}

fn invalid_field(db: &dyn DatabaseError) -> String {
    if let Some(field) = db.constraint().and_then(field_of_constraint) {
        return field.to_string();
    }
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        && let Some(column) = pg.column()
    {
        return column.to_string();
    }
    // SQLite: "CHECK constraint failed: ck_comment__rating", "NOT NULL constraint failed: t.c".
    let detail = sqlite_detail(db.message());
    field_of_constraint(detail).map_or_else(|| last_column(detail), str::to_string)
}

fn foreign_key(db: &dyn DatabaseError, operation: Operation) -> DbError {
    let constraint = db.constraint();
    // PostgreSQL says which side failed; SQLite leaves it to the caller's operation.
    let deleting = match db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        Some(pg) => pg.message().starts_with("update or delete"),
        None => operation == Operation::Delete,
    };
    if deleting {
        let referencing_table = constraint
            .and_then(|c| c.strip_prefix("fk_"))
            .and_then(|c| c.split_once("__"))
            .map(|(table, _)| table);
        let reason = match referencing_table {
            Some(table) => format!("still referenced by {table}"),
            None => "still referenced by other records".to_string(),
        };
        DbError::Conflict {
            field: "id".into(),
            reason,
        }
    } else {
        let column = constraint
            .and_then(field_of_constraint)
            .unwrap_or("a referenced record");
        DbError::NotFound(column.to_string())
    }
}

/// The part of an SQLite constraint message after the colon.
fn sqlite_detail(message: &str) -> &str {
    message
        .split_once(": ")
        .map_or(message, |(_, rest)| rest.trim())
}

/// "Key (user_id, book_id)=(1, 2) already exists." → "user_id, book_id"
fn detail_columns(detail: &str) -> Option<&str> {
    let start = detail.find('(')? + 1;
    let end = start + detail[start..].find(')')?;
    Some(&detail[start..end])
}

/// A multi-column key is named by its last column, which is the one the API sets
/// (`(user_id, idempotency_key)` → `idempotency_key`); `table.column` loses the table, and a
/// case-folded copy (`email_folded`) is reported as the field it folds (`email`).
fn last_column(columns: &str) -> String {
    let last = columns.rsplit(',').next().unwrap_or(columns).trim();
    let column = last.rsplit('.').next().unwrap_or(last);
    column.strip_suffix("_folded").unwrap_or(column).to_string()
}

/// A value the database cannot hold (PostgreSQL class 22: a NUL in text, a number out of
/// range…). Input checks should catch these first; this keeps a missed one a 422, not a 500.
fn is_data_exception(db: &dyn DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
        && db.code().is_some_and(|code| code.starts_with("22"))
}

/// SQLite's SQLITE_FULL (13, any extended code), PostgreSQL's `53100 disk_full`.
fn is_storage_full_code(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        return code == "53100";
    }
    code.parse::<i32>().is_ok_and(|c| c & 0xff == 13)
}

fn is_unavailable_code(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else { return false };
    if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        // Class 08: connection exception; 57P0x: shutting down; 53300: too many connections.
        return code.starts_with("08") || code.starts_with("57P") || code == "53300";
    }
    // SQLite result codes: the low byte 5 is SQLITE_BUSY, 6 SQLITE_LOCKED.
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_constraint_names_and_messages() {
        assert_eq!(field_of_constraint("uq_author__name"), Some("name"));
        assert_eq!(field_of_constraint("uq_referral_link__code"), Some("code"));
        assert_eq!(field_of_constraint("author_pkey"), None);
        assert_eq!(
            last_column("book_author.book_id, book_author.author_id"),
            "author_id"
        );
        assert_eq!(last_column("author.name"), "name");
        assert_eq!(last_column("user.email_folded"), "email");
        assert_eq!(
            detail_columns("Key (user_id, book_id)=(1, 2) already exists."),
            Some("user_id, book_id")
        );
        assert_eq!(
            sqlite_detail("UNIQUE constraint failed: index 'uq_user__email'"),
            "index 'uq_user__email'"
        );
    }
}
