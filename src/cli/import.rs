//! `folio import …`: bring a catalog in from an export.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use super::{CommandError, connect};
use crate::config::Settings;
use crate::import::{self, ImportError, ImportOptions, Summary};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The goodbooks-10k books.csv (23 columns)
    Goodbooks(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import
    file: PathBuf,
    /// Stop at the first bad row and import nothing (default: reject bad rows into
    /// FILE.rejects.csv and import the rest)
    #[arg(long)]
    strict: bool,
    /// Rows written per transaction
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_size: u32,
}

pub async fn run(command: ImportCommand, settings: &Settings) -> Result<(), CommandError> {
    let ImportCommand::Goodbooks(args) = command;
    let db = connect(settings).await?;
    crate::db::schema::init(&db).await?;
    let options = ImportOptions {
        strict: args.strict,
        batch_size: args.batch_size as usize,
    };
    let started = Instant::now();
    let result = import::goodbooks::import(&db, &args.file, options).await;
    db.close().await;
    let summary = result.map_err(|e| match e {
        ImportError::Strict { .. } | ImportError::Format { .. } => {
            CommandError::usage(e.to_string())
        }
        other => CommandError::failed(other.to_string()),
    })?;
    report(&args.file, &summary, started.elapsed().as_secs_f64());
    Ok(())
}

fn report(file: &std::path::Path, summary: &Summary, seconds: f64) {
    let rate = summary.read as f64 / seconds.max(0.001);
    println!(
        "Read {} rows in {seconds:.1} s ({rate:.0} rows/s): {} created, {} matched, {} rejected.",
        summary.read, summary.created, summary.matched, summary.rejected
    );
    if summary.rejected > 0 {
        println!(
            "Rejected rows, with the reason for each: {}",
            import::rejects_path(file).display()
        );
    }
}
