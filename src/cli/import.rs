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
    /// A library folder: each EPUB/PDF an ebook, each folder of audio files an audiobook;
    /// matched to the catalog by ISBN or title and author; files folio cannot read go to
    /// DIR.rejects.csv. Running it again adds nothing that is there
    Files(FilesArgs),
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    /// The folder to scan
    dir: PathBuf,
    /// Say what would be imported, write nothing
    #[arg(long)]
    dry_run: bool,
    /// Stop at the first file folio cannot take, before writing anything
    #[arg(long)]
    strict: bool,
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
    if let ImportCommand::Files(args) = &command {
        return files(args, settings).await;
    }
    let (args, user) = match &command {
        ImportCommand::Goodbooks(args)
        | ImportCommand::Discogs(args)
        | ImportCommand::Catalog(args) => (args, None),
        ImportCommand::Goodreads(goodreads) => (&goodreads.import, goodreads.user.as_deref()),
        ImportCommand::Files(_) => unreachable!("scanned above"),
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
        ImportCommand::Files(_) => unreachable!("scanned above"),
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

async fn files(args: &FilesArgs, settings: &Settings) -> Result<(), CommandError> {
    if !args.dir.is_dir() {
        return Err(CommandError::usage(format!(
            "{} is not a folder",
            args.dir.display()
        )));
    }
    let storage = super::open_storage(settings)?;
    let db = connect(settings).await?;
    crate::db::schema::init(&db).await?;
    let options = import::files::ScanOptions {
        dry_run: args.dry_run,
        strict: args.strict,
    };
    let started = Instant::now();
    let result = import::files::scan(&db, &storage, &args.dir, options).await;
    db.close().await;
    let summary = result.map_err(|e| match e {
        ImportError::Strict { .. } => CommandError::usage(e.to_string()),
        other => CommandError::failed(other.to_string()),
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if args.dry_run {
        println!(
            "Found {} books in {} in {seconds:.1} s: {} would be imported, {} already imported \
             (nothing to do); {} files rejected. Nothing was written (--dry-run).",
            summary.found,
            args.dir.display(),
            summary.created,
            summary.unchanged,
            summary.rejected
        );
    } else {
        println!(
            "Found {} books in {} in {seconds:.1} s: {} added as new books, {} to books already \
             in the catalog, {} already imported (nothing to do); {} files rejected.",
            summary.found,
            args.dir.display(),
            summary.created,
            summary.matched,
            summary.unchanged,
            summary.rejected
        );
    }
    if summary.rejected > 0 {
        println!(
            "Rejected files, with the reason for each: {}",
            import::rejects_path(&args.dir).display()
        );
    }
    Ok(())
}
