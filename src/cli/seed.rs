//! `folio seed --books N --from FILE`: a benchmark catalog.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::{CommandError, connect};
use crate::config::Settings;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many books the catalog should have
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    books: u64,
    /// A goodbooks-10k books.csv whose rows are repeated
    #[arg(long = "from")]
    source: PathBuf,
    /// Books written per transaction
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_size: u32,
}

pub async fn run(args: SeedArgs, settings: &Settings) -> Result<(), CommandError> {
    let db = connect(settings).await?;
    crate::db::schema::init(&db).await?;
    let started = Instant::now();
    let result =
        crate::import::seed::seed(&db, &args.source, args.books, args.batch_size as usize).await;
    db.close().await;
    let summary = result.map_err(|e| CommandError::failed(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Seeded {} books in {seconds:.1} s ({:.0} books/s): {} created, {} already there.",
        summary.read,
        summary.read as f64 / seconds.max(0.001),
        summary.created,
        summary.matched
    );
    Ok(())
}
