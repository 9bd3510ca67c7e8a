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
    /// A Goodreads "Export Library" CSV; with --user, that reader's ratings, reviews and
    /// reading too
    Goodreads(GoodreadsArgs),
    /// A Discogs collection export CSV (vinyl records; other formats are rejected)
    Discogs(ImportArgs),
    /// folio's own JSON export (folio export books --format json), to restore or move a catalog
    Catalog(ImportArgs),
}

#[derive(Debug, Args)]
pub struct GoodreadsArgs {
    #[command(flatten)]
    import: ImportArgs,
    /// The folio user (username or email) whose Goodreads library this is: their ratings and
    /// reviews become their comments, their read and currently-reading shelves their progress
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
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
    let (args, user) = match &command {
        ImportCommand::Goodbooks(args)
        | ImportCommand::Discogs(args)
        | ImportCommand::Catalog(args) => (args, None),
        ImportCommand::Goodreads(goodreads) => (&goodreads.import, goodreads.user.as_deref()),
    };
    let db = connect(settings).await?;
    crate::db::schema::init(&db).await?;
    let options = ImportOptions {
        strict: args.strict,
        batch_size: args.batch_size as usize,
    };
    let started = Instant::now();
    let result = match &command {
        ImportCommand::Goodbooks(_) => import::goodbooks::import(&db, &args.file, options).await,
        ImportCommand::Goodreads(_) => {
            import::goodreads::import(&db, &args.file, options, user).await
        }
        ImportCommand::Discogs(_) => import::discogs::import(&db, &args.file, options).await,
        ImportCommand::Catalog(_) => import::folio_export::import(&db, &args.file, options).await,
    };
    db.close().await;
    let summary = result.map_err(|e| match e {
        ImportError::Strict { .. }
        | ImportError::Format { .. }
        | ImportError::UnknownUser { .. } => CommandError::usage(e.to_string()),
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
