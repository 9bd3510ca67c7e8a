//! `folio db init | status | drop`: the seeds' `init_db()`, `create_all` and `drop_all`.

use clap::{Args, Subcommand};

use super::{CommandError, connect};
use crate::config::Settings;
use crate::db::schema;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the schema, or upgrade it by applying pending migrations (safe to repeat)
    Init,
    /// List applied and pending migrations
    Status,
    /// Drop every table folio created, with all their data
    Drop(DropArgs),
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
    let db = connect(settings).await?;
    let outcome = match command {
        DbCommand::Init => init(&db, &target).await,
        DbCommand::Status => status(&db, &target).await,
        DbCommand::Drop(_) => drop(&db, &target).await,
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

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
