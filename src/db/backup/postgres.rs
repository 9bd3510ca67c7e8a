//! PostgreSQL backups and restores through PostgreSQL's own client tools: `pg_dump`'s custom
//! format, read back with `pg_restore`, and a restore run by `psql` as one transaction. The
//! password goes to each tool in its environment, never its arguments, which any user of the
//! machine can list.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{BackupError, BackupInfo, io, refuse_newer, sync_parent, with_suffix};
use crate::migration::{FUNCTIONS, MIGRATION_TABLE, TABLES};

/// A backup of a PostgreSQL database with `pg_dump` (custom format), checked with
/// `pg_restore --list`.
pub fn backup_postgres(url: &url::Url, target: &Path) -> Result<BackupInfo, BackupError> {
    if target.exists() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let partial = with_suffix(target, ".partial");
    let mut dump = tool("pg_dump", url);
    dump.args(["--format=custom", "--no-owner", "--file"])
        .arg(&partial);
    let made = run(dump, "pg_dump").and_then(|()| {
        let listing = list(&partial).map_err(|problem| BackupError::Damaged {
            path: partial.clone(),
            problem,
        })?;
        if !holds_folio(&listing) {
            return Err(BackupError::Damaged {
                path: partial.clone(),
                problem: "pg_restore cannot list it as a folio database".into(),
            });
        }
        fs::rename(&partial, target).map_err(io(format!("renaming {}", partial.display())))?;
        sync_parent(target);
        Ok(())
    });
    if made.is_err() {
        let _ = fs::remove_file(&partial);
    }
    made?;
    Ok(BackupInfo {
        path: target.to_path_buf(),
        created_at: Utc::now(),
        folio_version: env!("CARGO_PKG_VERSION").into(),
        migrations: vec![],
        objects: 0,
        bytes: fs::metadata(target).map(|m| m.len()).unwrap_or(0),
    })
}

/// What a `pg_dump` archive says about itself: when it was made and the migrations of the
/// schema it holds. Refuses a file that is not an archive or not of a folio database.
pub fn inspect_postgres(path: &Path) -> Result<BackupInfo, BackupError> {
    let not_a_backup = |why: &str| BackupError::NotABackup(path.to_path_buf(), why.to_string());
    if !path.is_file() {
        return Err(not_a_backup("no such file"));
    }
    let listing = list(path).map_err(|problem| {
        // pg_dump's custom format begins with its magic: one that then fails to list is cut
        // short or damaged, anything else is not an archive at all.
        let mut magic = [0u8; 5];
        let is_archive = fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok_and(|()| &magic == b"PGDMP");
        if is_archive {
            BackupError::Damaged {
                path: path.to_path_buf(),
                problem,
            }
        } else {
            not_a_backup("not a pg_dump archive")
        }
    })?;
    if !holds_folio(&listing) {
        return Err(not_a_backup("it holds no folio schema"));
    }
    let output = Command::new("pg_restore")
        .args(["--data-only", "--file=-", "--table", MIGRATION_TABLE])
        .arg(path)
        .output()
        .map_err(|e| missing_tool("pg_restore", e))?;
    if !output.status.success() {
        return Err(BackupError::Damaged {
            path: path.to_path_buf(),
            problem: first_line(&output.stderr),
        });
    }
    let migrations = copied_first_column(&String::from_utf8_lossy(&output.stdout));
    if migrations.is_empty() {
        return Err(not_a_backup("its schema lists no migrations"));
    }
    let created_at = listing
        .lines()
        .find_map(|l| {
            l.trim_start_matches(';')
                .trim()
                .strip_prefix("Archive created at ")
        })
        .and_then(|t| {
            NaiveDateTime::parse_from_str(t.trim_end_matches(" UTC"), "%Y-%m-%d %H:%M:%S").ok()
        })
        .map(|t| t.and_utc())
        .or_else(|| {
            Some(DateTime::<Utc>::from(
                fs::metadata(path).ok()?.modified().ok()?,
            ))
        })
        .unwrap_or_else(Utc::now);
    Ok(BackupInfo {
        path: path.to_path_buf(),
        created_at,
        folio_version: String::new(),
        migrations,
        objects: 0,
        bytes: fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    })
}

/// Replaces folio's tables in the database at `url` with the archive's. Refuses what
/// [`inspect_postgres`] refuses and a schema with a migration not in `known`; with `keep`,
/// first backs the database up there. The restore runs as one transaction (folio's tables and
/// functions dropped, then `pg_restore`'s script, through `psql` stopping at the first error,
/// committed only when the whole script went through), so one that fails leaves the database
/// as it was.
///
/// The caller holds the serving lock ([`crate::db::instance`]): no server uses the database
/// and none starts until the restore is over.
pub fn restore_postgres(
    url: &url::Url,
    backup: &Path,
    known: &[String],
    keep: Option<&Path>,
) -> Result<BackupInfo, BackupError> {
    let info = inspect_postgres(backup)?;
    refuse_newer(&info, known)?;
    if let Some(keep) = keep {
        backup_postgres(url, keep)?;
    }
    let applied = apply(url, backup);
    // Nothing was replaced: the copy of the database as it is would only mislead.
    if let (Err(_), Some(keep)) = (&applied, keep) {
        let _ = fs::remove_file(keep);
    }
    applied.map(|()| info)
}

/// Runs the archive's script into the database as one transaction.
fn apply(url: &url::Url, backup: &Path) -> Result<(), BackupError> {
    let mut script = Command::new("pg_restore")
        .args(["--no-owner", "--no-privileges", "--no-comments", "--file=-"])
        .arg(backup)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_tool("pg_restore", e))?;
    let mut psql = tool("psql", url);
    psql.args([
        "--no-psqlrc",
        "--quiet",
        "--set=ON_ERROR_STOP=1",
        "--file=-",
    ])
    // The drops' "does not exist, skipping" notices are not worth a line each.
    .env("PGOPTIONS", "-c client_min_messages=warning")
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut apply = psql.spawn().map_err(|e| missing_tool("psql", e))?;
    // The transaction is committed only after the whole script went through: a pg_restore
    // that stops half way (a damaged archive) leaves psql at the end of its input inside the
    // transaction, and psql's exit rolls it back.
    let mut into = apply.stdin.take().expect("piped stdin");
    let mut from = script.stdout.take().expect("piped stdout");
    let fed = into
        .write_all(format!("BEGIN;\n{}", drop_folio()).as_bytes())
        .and_then(|()| std::io::copy(&mut from, &mut into).map(drop));
    // Closed, so a pg_restore still writing after psql stopped gets a broken pipe, not a wait.
    std::mem::drop(from);
    let made = script
        .wait_with_output()
        .map_err(io("running pg_restore"))?;
    let committed = match (&fed, made.status.success()) {
        (Ok(()), true) => into.write_all(b"COMMIT;\n"),
        _ => Ok(()),
    };
    std::mem::drop(into);
    let applied = apply.wait_with_output().map_err(io("running psql"))?;
    let damaged = || BackupError::Damaged {
        path: backup.to_path_buf(),
        problem: first_line(&made.stderr),
    };
    // pg_restore failing after psql took all it wrote is the archive's fault; failing after
    // psql stopped taking it is psql's.
    if fed.is_ok() && !made.status.success() {
        return Err(damaged());
    }
    if !applied.status.success() {
        return Err(BackupError::Unsupported(format!(
            "psql failed, nothing was restored: {}",
            first_line(&applied.stderr)
        )));
    }
    if !made.status.success() {
        return Err(damaged());
    }
    fed.and(committed)
        .map_err(io("passing the restore to psql"))
}

/// The statements a restore begins with: folio's tables and functions dropped, so the
/// database holds the archive's schema only, whichever folio made the one it replaces.
fn drop_folio() -> String {
    let mut sql = String::new();
    for table in TABLES {
        sql.push_str(&format!("DROP TABLE IF EXISTS \"{table}\" CASCADE;\n"));
    }
    for function in FUNCTIONS {
        sql.push_str(&format!("DROP FUNCTION IF EXISTS {function}() CASCADE;\n"));
    }
    sql
}

/// `tool` (`pg_dump`, `psql`) aimed at `url`'s database, with its password in the environment.
fn tool(tool: &str, url: &url::Url) -> Command {
    let mut bare = url.clone();
    let password = bare.password().map(str::to_string);
    let _ = bare.set_password(None);
    let mut command = Command::new(tool);
    command.arg("--dbname").arg(bare.as_str());
    if let Some(password) = password {
        let password = percent_encoding::percent_decode_str(&password).decode_utf8_lossy();
        command.env("PGPASSWORD", password.as_ref());
    }
    command
}

/// `pg_restore --list`: the archive's table of contents, or why it cannot be read.
fn list(path: &Path) -> Result<String, String> {
    let listed = Command::new("pg_restore")
        .arg("--list")
        .arg(path)
        .output()
        .map_err(|e| missing_tool("pg_restore", e).to_string())?;
    if !listed.status.success() {
        return Err(first_line(&listed.stderr));
    }
    Ok(String::from_utf8_lossy(&listed.stdout).into_owned())
}

/// Whether a listing has folio's migration table.
fn holds_folio(listing: &str) -> bool {
    listing
        .lines()
        .any(|l| l.contains(" TABLE ") && l.split_whitespace().any(|w| w == MIGRATION_TABLE))
}

/// The first column of the rows of the first `COPY … FROM stdin` block in a script.
fn copied_first_column(script: &str) -> Vec<String> {
    script
        .lines()
        .skip_while(|l| !l.starts_with("COPY "))
        .skip(1)
        .take_while(|l| *l != "\\.")
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

fn first_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .next()
        .unwrap_or("no message")
        .to_string()
}

fn run(mut command: Command, tool: &str) -> Result<(), BackupError> {
    let output = command.output().map_err(|e| missing_tool(tool, e))?;
    if output.status.success() {
        return Ok(());
    }
    Err(BackupError::Unsupported(format!(
        "{tool} failed: {}",
        first_line(&output.stderr)
    )))
}

fn missing_tool(tool: &str, e: std::io::Error) -> BackupError {
    match e.kind() {
        std::io::ErrorKind::NotFound => BackupError::Unsupported(format!(
            "{tool} is not installed: PostgreSQL backups and restores need PostgreSQL's client \
             tools (Debian: apt-get install postgresql-client, of the server's major version \
             or later)"
        )),
        _ => BackupError::Io {
            what: format!("running {tool}"),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_block_gives_its_first_column() {
        let script = "--\nSET x = 1;\nCOPY public.seaql_migrations (version, applied_at) FROM stdin;\n\
                      m0001_init\t1700000000\nm0002_more\t1700000001\n\\.\n\nSELECT 1;\n";
        assert_eq!(copied_first_column(script), ["m0001_init", "m0002_more"]);
        assert!(copied_first_column("SELECT 1;\n").is_empty());
    }

    #[test]
    fn a_listing_holds_folio_only_with_its_migration_table() {
        let folio = "; Archive created at 2026-12-04 15:00:00 UTC\n\
                     215; 1259 16390 TABLE public seaql_migrations postgres\n";
        assert!(holds_folio(folio));
        let other = "215; 1259 16390 TABLE public orders postgres\n\
                     ; seaql_migrations mentioned in a comment\n";
        assert!(!holds_folio(other));
    }
}
