//! `folio db init | status | drop`: the seeds' `init_db()`, `create_all` and `drop_all`;
//! `folio db backup | restore`; `folio db copy --to` (SQLite to PostgreSQL).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sea_orm_migration::MigratorTrait;

use super::{CommandError, connect, open_storage};
use crate::config::{DatabaseUrl, Settings};
use crate::db::backup::{self, BackupError};
use crate::db::instance::PostgresRestoring;
use crate::db::schema;
use crate::service::backups;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the schema, or upgrade it by applying pending migrations (safe to repeat)
    Init,
    /// List applied and pending migrations
    Status,
    /// Drop every table folio created, with all their data
    Drop(DropArgs),
    /// Copy the database to FILE while folio keeps serving, checked whole (SQLite: a copy
    /// with the file storage's objects listed; PostgreSQL: pg_dump's custom format)
    Backup(BackupArgs),
    /// Put a backup made by `folio db backup` in place of the database, with every server
    /// stopped. The database it replaces is kept (SQLite: beside it; PostgreSQL: a pg_dump
    /// beside the backup)
    Restore(BackupArgs),
    /// Copy this SQLite database, every row with its id, into an empty PostgreSQL database
    /// (its schema made there), with every server on either stopped; the search index is
    /// rebuilt there. The SQLite file is left as it was
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The PostgreSQL database to copy into: postgres://USER:PASSWORD@HOST/NAME
    #[arg(long, value_name = "URL")]
    to: String,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file
    file: PathBuf,
}

#[derive(Debug, Args)]
pub struct DropArgs {
    /// Confirm that all data in the database is to be deleted
    #[arg(long)]
    yes: bool,
}

pub async fn run(command: DbCommand, settings: &Settings) -> Result<(), CommandError> {
    let target = settings.database_url.to_string();
    if let DbCommand::Drop(DropArgs { yes: false }) = command {
        return Err(CommandError::usage(format!(
            "refusing to drop every table in {target} without --yes"
        )));
    }
    let command = match command {
        DbCommand::Backup(args) => return backup(settings, args.file).await,
        DbCommand::Restore(args) => return restore(settings, args.file).await,
        DbCommand::Copy(args) => return copy(settings, &args.to).await,
        other => other,
    };
    let db = connect(settings).await?;
    let outcome = match command {
        DbCommand::Init => init(&db, &target).await,
        DbCommand::Status => status(&db, &target).await,
        DbCommand::Drop(_) => drop(&db, &target).await,
        DbCommand::Backup(_) | DbCommand::Restore(_) | DbCommand::Copy(_) => {
            unreachable!("handled above")
        }
    };
    db.close().await;
    outcome
}

async fn init(db: &crate::db::Database, target: &str) -> Result<(), CommandError> {
    let had_schema = schema::status(db).await?.iter().any(|m| m.applied);
    let applied = schema::init(db).await?;
    let total = schema::status(db).await?.len();
    match (applied.len(), had_schema) {
        (0, _) => println!(
            "Schema of {target} is up to date ({} applied); nothing to do.",
            plural(total, "migration")
        ),
        (n, false) => {
            println!(
                "Created the schema in {target}: applied {}.",
                plural(n, "migration")
            );
            applied
                .iter()
                .for_each(|name| println!("  applied  {name}"));
        }
        (n, true) => {
            println!(
                "Upgraded the schema of {target}: applied {}.",
                plural(n, "migration")
            );
            applied
                .iter()
                .for_each(|name| println!("  applied  {name}"));
        }
    }
    Ok(())
}

async fn status(db: &crate::db::Database, target: &str) -> Result<(), CommandError> {
    let migrations = schema::status(db).await?;
    println!("Database: {target}");
    for migration in &migrations {
        let state = if migration.applied {
            "applied"
        } else {
            "pending"
        };
        println!("  {state:<8} {}", migration.name);
    }
    let applied = migrations.iter().filter(|m| m.applied).count();
    println!("{applied} applied, {} pending", migrations.len() - applied);
    Ok(())
}

async fn drop(db: &crate::db::Database, target: &str) -> Result<(), CommandError> {
    let dropped = schema::drop_all(db).await?;
    if dropped.is_empty() {
        println!("{target} has no folio tables; nothing to drop.");
    } else {
        println!("Dropped {} from {target}.", plural(dropped.len(), "table"));
    }
    Ok(())
}

async fn backup(settings: &Settings, file: PathBuf) -> Result<(), CommandError> {
    let storage = open_storage(settings)?;
    let made = backups::make(&settings.database_url, &storage, file)
        .await
        .map_err(backup_failed)?;
    println!(
        "Backed up {} to {} ({} bytes{}), checked.",
        settings.database_url,
        made.path.display(),
        made.bytes,
        if settings.database_url.is_sqlite() {
            format!(
                ", {} listed",
                plural(made.objects as usize, "stored object")
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn restore(settings: &Settings, file: PathBuf) -> Result<(), CommandError> {
    let known: Vec<String> = crate::migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let (info, replaced) = match &settings.database_url {
        DatabaseUrl::Sqlite { path } => {
            let (file, database) = (file.clone(), path.clone());
            blocking(move || backup::restore_sqlite(&file, &database, &known)).await?
        }
        DatabaseUrl::Postgres { url } => {
            let shown = settings.database_url.to_string();
            restore_postgres(url, &shown, file.clone(), known).await?
        }
    };
    println!(
        "Restored {} (made {}{}, {}) to {}.",
        file.display(),
        info.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        if info.folio_version.is_empty() {
            String::new()
        } else {
            format!(" by folio {}", info.folio_version)
        },
        plural(info.migrations.len(), "migration"),
        settings.database_url
    );
    if let Some(replaced) = replaced {
        println!(
            "The database it replaced is kept as {}.",
            replaced.display()
        );
    }
    if info.objects > 0 {
        println!(
            "The backup lists {}; `folio storage check` says whether each file's is there.",
            plural(info.objects as usize, "stored object")
        );
    }
    Ok(())
}

/// A PostgreSQL restore under the serving lock, taken exclusive: refused while a server runs,
/// and no server starts until it is over. The database it replaces is backed up first, beside
/// the restored file.
async fn restore_postgres(
    url: &url::Url,
    shown: &str,
    file: PathBuf,
    known: Vec<String>,
) -> Result<(backup::BackupInfo, Option<PathBuf>), CommandError> {
    let cannot_open = |e: crate::db::DbError| {
        CommandError::failed(format!("cannot open the database {shown}: {e}"))
    };
    let mut held = PostgresRestoring::try_hold(url)
        .await
        .map_err(cannot_open)?
        .ok_or_else(|| backup_failed(BackupError::InUse(PathBuf::from(shown))))?;
    let keep = if held.has_folio().await.map_err(cannot_open)? {
        let name = format!(
            "folio-replaced-{}.dump",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        );
        Some(file.parent().unwrap_or(Path::new(".")).join(name))
    } else {
        None
    };
    let url = url.clone();
    let kept = keep.clone();
    let info =
        blocking(move || backup::restore_postgres(&url, &file, &known, kept.as_deref())).await?;
    held.release().await;
    Ok((info, keep))
}

/// `folio db copy --to URL`: the SQLite database under its serving lock (no server may write
/// to it meanwhile), the PostgreSQL one under the restore's (none may start on it), migrated
/// and then filled by `service::moves`.
async fn copy(settings: &Settings, to: &str) -> Result<(), CommandError> {
    let DatabaseUrl::Sqlite { path } = &settings.database_url else {
        return Err(CommandError::usage(
            "folio db copy moves an SQLite database to PostgreSQL; between PostgreSQL \
             databases use `folio db backup` and `folio db restore`",
        ));
    };
    let target = DatabaseUrl::parse(to).map_err(|e| CommandError::usage(e.to_string()))?;
    let DatabaseUrl::Postgres { url } = &target else {
        return Err(CommandError::usage(format!(
            "--to {target} is not a PostgreSQL database (postgres://…)"
        )));
    };
    if !path.is_file() {
        return Err(CommandError::usage(format!(
            "there is no SQLite database at {}",
            path.display()
        )));
    }
    let _source_lock = crate::db::instance::SqliteLock::try_hold(path)
        .map_err(|e| CommandError::usage(format!("{e}: stop it first")))?;
    let cannot_open = |shown: &DatabaseUrl| {
        let shown = shown.to_string();
        move |e: crate::db::DbError| {
            CommandError::failed(format!("cannot open the database {shown}: {e}"))
        }
    };
    let held = PostgresRestoring::try_hold(url)
        .await
        .map_err(cannot_open(&target))?
        .ok_or_else(|| {
            CommandError::usage(format!(
                "a folio server is using {target}: stop it first (a copy fills the database)"
            ))
        })?;
    let source = connect(settings).await?;
    let pending: Vec<String> = schema::status(&source)
        .await?
        .into_iter()
        .filter(|m| !m.applied)
        .map(|m| m.name)
        .collect();
    if !pending.is_empty() {
        return Err(CommandError::usage(format!(
            "{} lacks {} this folio has: run `folio db init` on it first",
            settings.database_url,
            plural(pending.len(), "migration")
        )));
    }
    let destination = crate::db::Database::connect(&target, 2)
        .await
        .map_err(cannot_open(&target))?;
    // Refused before the migrations touch it: an older folio's database with data stays as it
    // was.
    let refused = crate::service::moves::holding_data(destination.reader())
        .await
        .map_err(cannot_open(&target))?;
    if let Some(refused) = refused {
        return Err(CommandError::usage(refused.to_string()));
    }
    schema::init(&destination).await?;
    let started = std::time::Instant::now();
    let moved = crate::service::moves::copy_database(&source, &destination)
        .await
        .map_err(|e| match e {
            crate::service::moves::MoveError::NotEmpty { .. } => CommandError::usage(e.to_string()),
            other => CommandError::failed(super::chain(&other)),
        })?;
    destination.close().await;
    source.close().await;
    held.release().await;
    let rows: u64 = moved.tables.iter().map(|(_, n)| n).sum();
    println!(
        "Copied {} to {target}: {} in {} tables, in {:.1} s; the search index rebuilt there.",
        settings.database_url,
        plural(rows as usize, "row"),
        moved.tables.len(),
        started.elapsed().as_secs_f64()
    );
    for (table, n) in moved.tables.iter().filter(|(_, n)| *n > 0) {
        println!("  {n:>9}  {table}");
    }
    println!(
        "Point DATABASE_URL at it to serve from PostgreSQL. The files stay where \
         FOLIO_STORAGE_URL says; the SQLite file is unchanged."
    );
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, CommandError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CommandError::failed(e.to_string()))?
        .map_err(backup_failed)
}

/// A refusal (an existing file, not a backup, a newer schema, a server running) is the
/// user's to mend: exit status 2.
fn backup_failed(e: BackupError) -> CommandError {
    match e {
        BackupError::Exists(_)
        | BackupError::NotABackup(..)
        | BackupError::NewerSchema { .. }
        | BackupError::InUse(_) => CommandError::usage(e.to_string()),
        other => CommandError::failed(super::chain(&other)),
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
