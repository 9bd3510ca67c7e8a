//! `folio export …`: the catalog, or one user's data, to standard output or a file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CommandError, connect};
use crate::config::Settings;
use crate::export::{self, BookFormat, ExportError};

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The catalog: books with authors, categories and editions
    Books(BooksArgs),
    /// One user's comments, progress, notes and purchases, as JSON
    User(UserArgs),
}

#[derive(Debug, Args)]
pub struct BooksArgs {
    #[arg(long, value_enum, default_value_t = BookFormat::Json)]
    format: BookFormat,
    /// Write here instead of standard output
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    /// The username
    name: String,
    /// Write here instead of standard output
    #[arg(long, short)]
    output: Option<PathBuf>,
}

fn sink(output: &Option<PathBuf>) -> Result<Box<dyn Write>, CommandError> {
    Ok(match output {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|e| {
            CommandError::failed(format!("cannot create {}: {e}", path.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

pub async fn run(command: ExportCommand, settings: &Settings) -> Result<(), CommandError> {
    let db = connect(settings).await?;
    crate::db::schema::init(&db).await?;
    let result = match &command {
        ExportCommand::Books(args) => {
            let mut out = sink(&args.output)?;
            export::books(&db, args.format, &mut out)
                .await
                .map(|count| {
                    tracing::info!(books = count, "exported the catalog");
                })
        }
        ExportCommand::User(args) => {
            let mut out = sink(&args.output)?;
            export::user(&db, &args.name, &mut out).await
        }
    };
    db.close().await;
    result.map_err(|e| match e {
        ExportError::NoSuchUser(_) => CommandError::usage(e.to_string()),
        other => CommandError::failed(other.to_string()),
    })
}
