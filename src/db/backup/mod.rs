//! Backups: a consistent copy of the database made while folio serves, checked before it is
//! called a backup, and a restore that refuses what would lose data.
//!
//! On SQLite a backup is `VACUUM INTO` from a read-only connection (one read transaction, so a
//! consistent snapshot however many commits happen meanwhile, and a compact file) written under
//! a `.partial` name, given a manifest (tables `folio_backup` and `folio_backup_object`: when,
//! which folio, which storage and which objects it held), checked with
//! `PRAGMA integrity_check`, synced, and only then renamed to its name. A file without the
//! manifest is not a folio backup. On PostgreSQL a backup is `pg_dump`'s custom format, checked
//! by `pg_restore --list`.
//!
//! Everything here blocks (files, SQLite, child processes): callers run it on a blocking
//! thread.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

mod postgres;
pub use postgres::{backup_postgres, inspect_postgres, restore_postgres};

/// The manifest's format; a later folio that changes it reads this one still.
const FORMAT: &str = "1";

/// How long a backup's read waits for a checkpoint or another process's exclusive lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a backup says about itself.
#[derive(Clone, Debug)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub created_at: DateTime<Utc>,
    pub folio_version: String,
    /// The migrations applied to the database it copied, in order.
    pub migrations: Vec<String>,
    /// Objects the file storage held (SQLite backups; none on PostgreSQL).
    pub objects: u64,
    pub bytes: u64,
}

/// What a backup records beside the database: its storage and the objects in it.
pub struct Manifest {
    pub storage: String,
    /// `(SHA-256 hex, size)` of every object in the file storage at backup time.
    pub objects: Vec<(String, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already; a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("{0} is not a folio backup ({1})")]
    NotABackup(PathBuf, String),
    #[error("{path} is damaged: {problem}")]
    Damaged { path: PathBuf, problem: String },
    #[error(
        "{path} comes from a newer folio: its schema has migration {migration}, which this \
         folio does not know; restore it with that version or later"
    )]
    NewerSchema { path: PathBuf, migration: String },
    #[error(
        "a folio server is using {0}: stop it first (a restore replaces the database under it)"
    )]
    InUse(PathBuf),
    #[error("{0}")]
    Unsupported(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Sqlite {
        what: String,
        #[source]
        source: rusqlite::Error,
    },
}

pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

fn sqlite(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sqlite { what, source }
}

/// Copies the SQLite database at `database` to `target` with `manifest`, while anything
/// else keeps reading and writing it. Nothing is left at `target` unless the whole backup
/// was written and checked.
pub fn backup_sqlite(
    database: &Path,
    target: &Path,
    manifest: &Manifest,
) -> Result<BackupInfo, BackupError> {
    if target.exists() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let partial = with_suffix(target, ".partial");
    let _ = fs::remove_file(&partial);
    let made = write_sqlite(database, &partial, manifest).and_then(|()| {
        fs::rename(&partial, target).map_err(io(format!("renaming {}", partial.display())))?;
        sync_parent(target);
        inspect_sqlite(target)
    });
    if made.is_err() {
        let _ = fs::remove_file(&partial);
    }
    made
}

fn write_sqlite(database: &Path, partial: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(format!("opening {}", database.display())))?;
    source
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(sqlite("setting the busy timeout"))?;
    let into = partial.to_string_lossy();
    source
        .execute("VACUUM INTO ?1", [into.as_ref()])
        .map_err(sqlite(format!("copying {}", database.display())))?;
    drop(source);

    let copy = Connection::open(partial).map_err(sqlite("opening the copy"))?;
    let now = crate::db::now().to_rfc3339();
    copy.execute_batch(
        "CREATE TABLE folio_backup (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE folio_backup_object (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL);",
    )
    .map_err(sqlite("writing the manifest"))?;
    let facts = [
        ("format", FORMAT),
        ("created_at", now.as_str()),
        ("folio_version", env!("CARGO_PKG_VERSION")),
        ("storage", manifest.storage.as_str()),
    ];
    {
        let tx = copy
            .unchecked_transaction()
            .map_err(sqlite("writing the manifest"))?;
        for (key, value) in facts {
            tx.execute("INSERT INTO folio_backup VALUES (?1, ?2)", [key, value])
                .map_err(sqlite("writing the manifest"))?;
        }
        let mut object = tx
            .prepare("INSERT INTO folio_backup_object VALUES (?1, ?2)")
            .map_err(sqlite("writing the manifest"))?;
        for (hash, size) in &manifest.objects {
            object
                .execute(rusqlite::params![hash, *size as i64])
                .map_err(sqlite("writing the manifest"))?;
        }
        drop(object);
        tx.commit().map_err(sqlite("writing the manifest"))?;
    }
    check_integrity(&copy, partial)?;
    copy.close()
        .map_err(|(_, e)| e)
        .map_err(sqlite("closing the copy"))?;
    File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("syncing {}", partial.display())))
}

fn check_integrity(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check(1)", [], |row| row.get(0))
        .map_err(|e| BackupError::Damaged {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
    if verdict != "ok" {
        return Err(BackupError::Damaged {
            path: path.to_path_buf(),
            problem: verdict,
        });
    }
    Ok(())
}

/// Reads a backup's manifest, checking that it is one and whole.
pub fn inspect_sqlite(path: &Path) -> Result<BackupInfo, BackupError> {
    let not_a_backup = |why: &str| BackupError::NotABackup(path.to_path_buf(), why.to_string());
    if !path.is_file() {
        return Err(not_a_backup("no such file"));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|_| not_a_backup("not an SQLite file"))?;
    let fact = |key: &str| -> Result<Option<String>, rusqlite::Error> {
        conn.query_row(
            "SELECT value FROM folio_backup WHERE key = ?1",
            [key],
            |row| row.get(0),
        )
        .optional()
    };
    let format = match fact("format") {
        Ok(Some(format)) => format,
        Ok(None) => return Err(not_a_backup("its manifest has no format")),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(not_a_backup("not an SQLite file"));
        }
        Err(_) => return Err(not_a_backup("it has no folio_backup manifest")),
    };
    if format != FORMAT {
        return Err(not_a_backup(&format!("manifest format {format}")));
    }
    check_integrity(&conn, path)?;
    let created_at = fact("created_at")
        .ok()
        .flatten()
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| not_a_backup("its manifest has no time"))?;
    let folio_version = fact("folio_version").ok().flatten().unwrap_or_default();
    let migrations = conn
        .prepare("SELECT version FROM seaql_migrations ORDER BY version")
        .and_then(|mut s| {
            s.query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|_| not_a_backup("it holds no folio schema"))?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM folio_backup_object", [], |row| {
            row.get(0)
        })
        .map_err(sqlite("counting the manifest's objects"))?;
    let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupInfo {
        path: path.to_path_buf(),
        created_at,
        folio_version,
        migrations,
        objects: objects as u64,
        bytes,
    })
}

/// Puts the backup at `backup` in place of the SQLite database at `database`. Refuses while a
/// server holds the database (`serve`'s lock), a file that is not a whole folio backup, and
/// one whose schema has a migration not in `known`. The database it replaces is kept beside it
/// as `<name>.replaced-<time>`; a restore that fails leaves it where it was.
pub fn restore_sqlite(
    backup: &Path,
    database: &Path,
    known: &[String],
) -> Result<(BackupInfo, Option<PathBuf>), BackupError> {
    let _held = super::instance::SqliteLock::try_hold(database)
        .map_err(|_| BackupError::InUse(database.to_path_buf()))?;
    let info = inspect_sqlite(backup)?;
    refuse_newer(&info, known)?;
    let staging = with_suffix(database, ".restoring");
    let _ = fs::remove_file(&staging);
    let staged = stage(backup, &staging);
    if staged.is_err() {
        let _ = fs::remove_file(&staging);
    }
    staged?;
    let replaced = if database.exists() {
        let aside = with_suffix(
            database,
            &format!(".replaced-{}", Utc::now().format("%Y%m%dT%H%M%SZ")),
        );
        settle(database)?;
        fs::rename(database, &aside).map_err(io(format!("moving {} aside", database.display())))?;
        Some(aside)
    } else {
        None
    };
    for leftover in ["-wal", "-shm"] {
        let _ = fs::remove_file(with_suffix(database, leftover));
    }
    fs::rename(&staging, database).map_err(io(format!("renaming {}", staging.display())))?;
    sync_parent(database);
    Ok((info, replaced))
}

/// The backup copied to `staging` as a database again: its manifest dropped, WAL on.
fn stage(backup: &Path, staging: &Path) -> Result<(), BackupError> {
    fs::copy(backup, staging).map_err(io(format!("copying {}", backup.display())))?;
    let conn = Connection::open(staging).map_err(sqlite("opening the restored copy"))?;
    conn.execute_batch(
        "DROP TABLE folio_backup; DROP TABLE folio_backup_object; PRAGMA journal_mode = WAL;",
    )
    .map_err(sqlite("preparing the restored copy"))?;
    conn.close()
        .map_err(|(_, e)| e)
        .map_err(sqlite("closing the restored copy"))?;
    File::open(staging)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("syncing {}", staging.display())))
}

/// Folds the database's WAL into its file, so the file moved aside is whole by itself.
fn settle(database: &Path) -> Result<(), BackupError> {
    let conn = Connection::open(database).map_err(sqlite("opening the current database"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sqlite("setting the busy timeout"))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(sqlite("checkpointing the current database"))?;
    conn.close()
        .map_err(|(_, e)| e)
        .map_err(sqlite("closing the current database"))
}

/// Refuses a backup whose schema has a migration not in `known`: a newer folio's.
fn refuse_newer(info: &BackupInfo, known: &[String]) -> Result<(), BackupError> {
    match info.migrations.iter().find(|m| !known.contains(m)) {
        Some(unknown) => Err(BackupError::NewerSchema {
            path: info.path.clone(),
            migration: unknown.clone(),
        }),
        None => Ok(()),
    }
}

pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes a rename durable: the directory's entry, not only the file's bytes.
pub(super) fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}
