//! The command line: `folio serve`, `folio db …`.

mod db;
mod export;
mod import;
mod seed;
mod serve;
mod storage;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::db::{Database, DbError};

#[derive(Debug, Parser)]
#[command(
    name = "folio",
    version,
    about = "A self-hosted e-library and audio store server",
    long_about = "A self-hosted e-library and audio store server.\n\n\
        Settings come from environment variables, then a .env file in the working directory, \
        then defaults. DATABASE_URL picks the database (default: sqlite://folio.db)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (applies pending migrations first)
    Serve(serve::ServeArgs),
    /// Create, upgrade, inspect or drop the database schema
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Manage accounts
    #[command(subcommand)]
    User(user::UserCommand),
    /// Import a catalog from an export file
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Export the catalog or a user's data
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Build a large catalog from real rows repeated, for benchmarks
    Seed(seed::SeedArgs),
    /// Check the file storage and remove objects nothing names
    #[command(subcommand)]
    Storage(storage::StorageCommand),
}

/// An error a command reports to the user; `main` prints it and exits with its code.
#[derive(Debug)]
pub struct CommandError {
    pub message: String,
    pub exit_code: u8,
}

impl CommandError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: 2,
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: 1,
        }
    }
}

impl From<DbError> for CommandError {
    fn from(err: DbError) -> Self {
        Self::failed(err.to_string())
    }
}

impl From<CommandError> for ExitCode {
    fn from(err: CommandError) -> Self {
        eprintln!("folio: {}", err.message);
        ExitCode::from(err.exit_code)
    }
}

pub async fn run(cli: Cli, settings: Settings) -> Result<(), CommandError> {
    match cli.command {
        Command::Serve(args) => serve::run(args, settings).await,
        Command::Db(command) => db::run(command, &settings).await,
        Command::User(command) => user::run(command, &settings).await,
        Command::Import(command) => import::run(command, &settings).await,
        Command::Export(command) => export::run(command, &settings).await,
        Command::Seed(args) => seed::run(args, &settings).await,
        Command::Storage(command) => storage::run(command, &settings).await,
    }
}

/// Opens the file storage, or explains which could not be opened (secrets redacted).
fn open_storage(settings: &Settings) -> Result<crate::storage::Storage, CommandError> {
    crate::storage::Storage::open(&settings.storage).map_err(|e| {
        CommandError::failed(format!(
            "cannot open the file storage {} (FOLIO_STORAGE_URL): {}",
            settings.storage.url,
            chain(&e)
        ))
    })
}

/// An error and its causes, one after another: what a command prints.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        // A wrapper that shows its cause in its own words already said this one.
        let said = e.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = e.source();
    }
    text
}

/// Connects, or explains which database could not be reached (password redacted).
async fn connect(settings: &Settings) -> Result<Database, CommandError> {
    Database::connect(&settings.database_url, settings.db_pool_size)
        .await
        .map_err(|e| {
            CommandError::failed(format!(
                "cannot open the database {}: {e}",
                settings.database_url
            ))
        })
}
