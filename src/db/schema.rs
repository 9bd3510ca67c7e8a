//! Creating, upgrading, inspecting and dropping folio's schema (`folio db …`).

use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

use super::{Database, DbError};
use crate::migration::{Migrator, TABLES};

/// One migration and whether this database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// The advisory lock PostgreSQL migrations run under: any number 64 bits hold, the same in
/// every folio.
const MIGRATION_LOCK: i64 = 0x666f_6c69_6f5f_6d67; // "folio_mg"

/// Applies every pending migration and returns their names (empty: nothing to do).
///
/// On PostgreSQL several instances may start at once: each takes a session-level advisory
/// lock on a connection of its own first, so one migrates while the others wait, then find
/// nothing pending. The lock goes with the session, so an instance that dies mid-migration
/// frees it (and its migration's transaction rolls back).
pub async fn init(db: &Database) -> Result<Vec<String>, DbError> {
    if db.backend() != DbBackend::Postgres {
        return apply_pending(db.writer()).await;
    }
    let pool = db.writer().get_postgres_connection_pool();
    let options = (*pool.connect_options()).clone();
    // No maintenance task (see `connect::postgres`).
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(DbError::from_connect)?;
    let conn = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(one);
    let lock = |sql: &'static str| {
        sea_orm::Statement::from_sql_and_values(DbBackend::Postgres, sql, [MIGRATION_LOCK.into()])
    };
    conn.execute_raw(lock("SELECT pg_advisory_lock($1)"))
        .await?;
    let applied = apply_pending(&conn).await;
    let _ = conn
        .execute_raw(lock("SELECT pg_advisory_unlock($1)"))
        .await;
    let _ = conn.close().await;
    applied
}

async fn apply_pending(conn: &sea_orm::DatabaseConnection) -> Result<Vec<String>, DbError> {
    let pending: Vec<String> = Migrator::get_pending_migrations(conn)
        .await?
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    if !pending.is_empty() {
        Migrator::up(conn, None).await?;
    }
    Ok(pending)
}

/// Every migration folio knows, applied or pending, in order. Changes nothing.
pub async fn status(db: &Database) -> Result<Vec<MigrationState>, DbError> {
    let migrations = if has_migration_table(db).await? {
        Migrator::get_migration_with_status(db.writer()).await?
    } else {
        Migrator::get_migration_files()
    };
    Ok(migrations
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_string(),
            applied: m.status() == MigrationStatus::Applied,
        })
        .collect())
}

/// Drops folio's tables (and only folio's) in one transaction; returns the ones that existed.
pub async fn drop_all(db: &Database) -> Result<Vec<String>, DbError> {
    let existing = existing_tables(db).await?;
    let to_drop: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|table| existing.iter().any(|e| e == table))
        .collect();
    let tx = db.writer().begin().await?;
    for table in &to_drop {
        let cascade = if db.backend() == DbBackend::Postgres {
            " CASCADE"
        } else {
            ""
        };
        tx.execute_unprepared(&format!("DROP TABLE IF EXISTS \"{table}\"{cascade}"))
            .await?;
    }
    if db.backend() == DbBackend::Postgres {
        for function in crate::migration::FUNCTIONS {
            tx.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {function}() CASCADE"))
                .await?;
        }
    }
    tx.commit().await?;
    Ok(to_drop.into_iter().map(String::from).collect())
}

/// The tables in the database's current schema, whoever made them. SQLite's full-text index
/// counts as one table: the shadow tables FTS5 keeps beside it are its insides.
pub async fn existing_tables(db: &Database) -> Result<Vec<String>, DbError> {
    let sql = match db.backend() {
        DbBackend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        }
        _ => {
            "SELECT t.name FROM sqlite_master t \
             WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
               AND NOT EXISTS (SELECT 1 FROM sqlite_master v \
                   WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
                     AND t.name LIKE v.name || '\\_%' ESCAPE '\\') \
             ORDER BY 1"
        }
    };
    let rows = db
        .writer()
        .query_all_raw(sea_orm::Statement::from_string(db.backend(), sql))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "name").map_err(DbError::from))
        .collect()
}

async fn has_migration_table(db: &Database) -> Result<bool, DbError> {
    Ok(existing_tables(db)
        .await?
        .iter()
        .any(|t| t == crate::migration::MIGRATION_TABLE))
}
