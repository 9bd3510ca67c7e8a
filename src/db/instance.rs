//! One server per SQLite database: `serve` holds an exclusive lock on `<database>.lock` for as
//! long as it runs, so a second `serve` on the same file refuses to start (two writers'
//! processes would each believe their caches, their checkpoint thread and their rate limits
//! are the only ones), and `db restore` refuses while a server runs. Other commands (`import`,
//! `export`, `db backup`) may run beside a server and take no lock.
//!
//! The lock is the operating system's (`flock`), released when the process ends however it
//! ends, so a crashed server leaves nothing to clean up. The file itself stays.
//!
//! On PostgreSQL any number of servers share a database, and the lock is an advisory lock
//! ([`PostgresServing`]): each `serve` holds it shared, `db restore` takes it exclusive. A
//! restore then refuses while any server runs, and a server started during a restore waits for
//! it to end before it migrates or serves.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::DbError;

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct SqliteLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another folio server is using {database} (it holds {lock})")]
    Held { database: PathBuf, lock: PathBuf },
    #[error("cannot open {lock}: {source}")]
    Io {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SqliteLock {
    /// Takes the lock of `database`, or says who has it, without waiting.
    pub fn try_hold(database: &Path) -> Result<Self, LockError> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io = |source| LockError::Io {
            lock: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held {
                database: database.to_path_buf(),
                lock: path,
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// The advisory lock servers hold shared and a restore exclusive: any number 64 bits hold, the
/// same in every folio.
const SERVING_LOCK: i64 = 0x666f_6c69_6f5f_7376; // "folio_sv"

/// How often a server checks that the connection holding its lock is alive. After the
/// database restarts, a restore started before the next check would not see this server: the
/// check is a ping on an idle connection, so it is kept short.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// `serve`'s hold on a PostgreSQL database: the serving lock, shared, on a connection of its
/// own that a task keeps (and takes again on a new connection when the database restarted
/// under it). Dropping it ends the task and the session, which releases the lock.
#[derive(Debug)]
pub struct PostgresServing {
    task: tokio::task::JoinHandle<()>,
}

impl PostgresServing {
    /// Takes the lock shared, waiting while a restore holds it.
    pub async fn hold(url: &url::Url) -> Result<Self, DbError> {
        let options = options(url, "folio")?;
        let mut conn = shared(&options).await?;
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(CHECK_EVERY).await;
                if conn.ping().await.is_ok() {
                    continue;
                }
                match shared(&options).await {
                    Ok(again) => conn = again,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot take the serving lock again; retrying")
                    }
                }
            }
        });
        Ok(Self { task })
    }
}

impl Drop for PostgresServing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn shared(options: &PgConnectOptions) -> Result<PgConnection, DbError> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .map_err(DbError::from_connect)?;
    if !ask(&mut conn, "SELECT pg_try_advisory_lock_shared($1)").await? {
        tracing::info!("a restore is running; waiting for it to end");
        // Waits for the lock; the answer (the function returns void) says nothing.
        ask(&mut conn, "SELECT pg_advisory_lock_shared($1) IS NULL").await?;
    }
    Ok(conn)
}

/// A restore's hold on a PostgreSQL database: the serving lock, exclusive, released when the
/// connection drops.
pub struct PostgresRestoring {
    conn: PgConnection,
}

impl PostgresRestoring {
    /// Takes the lock exclusive without waiting: `None` while a server holds it.
    pub async fn try_hold(url: &url::Url) -> Result<Option<Self>, DbError> {
        let mut conn = PgConnection::connect_with(&options(url, "folio restore")?)
            .await
            .map_err(DbError::from_connect)?;
        let free = ask(&mut conn, "SELECT pg_try_advisory_lock($1)").await?;
        Ok(free.then_some(Self { conn }))
    }

    /// Ends the session, which releases the lock.
    pub async fn release(self) {
        let _ = self.conn.close().await;
    }

    /// Whether the database has folio's schema (something a restore would replace).
    pub async fn has_folio(&mut self) -> Result<bool, DbError> {
        sqlx::query_scalar("SELECT to_regclass($1::text) IS NOT NULL")
            .bind(crate::migration::MIGRATION_TABLE)
            .fetch_one(&mut self.conn)
            .await
            .map_err(DbError::from_connect)
    }
}

/// Runs `sql`, a question about the serving lock, on `conn`.
async fn ask(conn: &mut PgConnection, sql: &'static str) -> Result<bool, DbError> {
    sqlx::query_scalar(sql)
        .bind(SERVING_LOCK)
        .fetch_one(conn)
        .await
        .map_err(DbError::from_connect)
}

fn options(url: &url::Url, application: &str) -> Result<PgConnectOptions, DbError> {
    Ok(PgConnectOptions::from_url(url)
        .map_err(DbError::from_connect)?
        .application_name(application))
}
