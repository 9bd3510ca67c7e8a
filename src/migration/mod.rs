//! Versioned schema migrations, one set for SQLite and PostgreSQL.
//!
//! Each migration is a SQL script in `sql/`, rendered for the backend by [`dialect`] and applied
//! inside one transaction on both backends (both have transactional DDL), so a migration that
//! fails half-way, or a process killed during one, leaves the schema as it was.

mod dialect;

use futures_util::future::BoxFuture;
use sea_orm::{ConnectionTrait, DbBackend};
pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(SqlMigration {
                name: "m0001_initial_schema",
                sqlite: include_str!("sql/0001_initial.sql"),
                postgres: include_str!("sql/0001_initial.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0002_book_search",
                sqlite: include_str!("sql/0002_book_search.sqlite.sql"),
                postgres: include_str!("sql/0002_book_search.postgres.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0003_rating_summary",
                sqlite: include_str!("sql/0003_rating_summary.sqlite.sql"),
                postgres: include_str!("sql/0003_rating_summary.postgres.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0004_year_desc_index",
                sqlite: include_str!("sql/0004_year_desc_index.sqlite.sql"),
                postgres: include_str!("sql/0004_year_desc_index.postgres.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0005_one_open_purchase",
                sqlite: include_str!("sql/0005_one_open_purchase.sql"),
                postgres: include_str!("sql/0005_one_open_purchase.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0006_files",
                sqlite: include_str!("sql/0006_files.sql"),
                postgres: include_str!("sql/0006_files.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0007_popular",
                sqlite: include_str!("sql/0007_popular.sql"),
                postgres: include_str!("sql/0007_popular.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0008_kosync",
                sqlite: include_str!("sql/0008_kosync.sql"),
                postgres: include_str!("sql/0008_kosync.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0009_titles_series_popularity",
                sqlite: include_str!("sql/0009_titles_series_popularity.sqlite.sql"),
                postgres: include_str!("sql/0009_titles_series_popularity.postgres.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0010_search_everything",
                sqlite: include_str!("sql/0010_search_everything.sqlite.sql"),
                postgres: include_str!("sql/0010_search_everything.postgres.sql"),
                fill_in: search_keys,
                then: Some(rebuild_search),
            }),
            Box::new(SqlMigration {
                name: "m0011_search_generation",
                sqlite: include_str!("sql/0011_search_generation.sqlite.sql"),
                postgres: include_str!("sql/0011_search_generation.postgres.sql"),
                then: Some(compact_search),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0012_webhooks",
                sqlite: include_str!("sql/0012_webhooks.sql"),
                postgres: include_str!("sql/0012_webhooks.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0013_shared_limits_and_jobs",
                sqlite: include_str!("sql/0013_shared_limits_and_jobs.sql"),
                postgres: include_str!("sql/0013_shared_limits_and_jobs.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0014_import_rows",
                sqlite: include_str!("sql/0014_import_rows.sql"),
                postgres: include_str!("sql/0014_import_rows.sql"),
                ..SqlMigration::PLAIN
            }),
            Box::new(SqlMigration {
                name: "m0015_webhook_queue_heads",
                sqlite: include_str!("sql/0015_webhook_queue_heads.sql"),
                postgres: include_str!("sql/0015_webhook_queue_heads.sql"),
                ..SqlMigration::PLAIN
            }),
        ]
    }
}

/// A forward-only migration from a SQL script, the same for both backends where the SQL allows
/// it, one each where the backends differ (full-text search). folio does not ship
/// down-migrations: going back is restoring a backup, which is what an operator wants after a
/// bad upgrade anyway.
struct SqlMigration {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// Fills in the script's own placeholders, after [`dialect::render`]'s.
    fill_in: fn(DbBackend, String) -> String,
    /// Runs after the script, in its transaction: what SQL alone cannot do.
    then: Option<AfterScript>,
}

/// A migration's step after its script, given the migration's connection.
type AfterScript = for<'c> fn(&'c SchemaManagerConnection<'c>) -> BoxFuture<'c, Result<(), DbErr>>;

impl SqlMigration {
    /// A script and nothing more.
    const PLAIN: Self = Self {
        name: "",
        sqlite: "",
        postgres: "",
        fill_in: |_, sql| sql,
        then: None,
    };
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = conn.get_database_backend();
        let script = match backend {
            sea_orm::DbBackend::Postgres => self.postgres,
            _ => self.sqlite,
        };
        let sql = (self.fill_in)(backend, dialect::render(backend, script));
        for statement in dialect::statements(&sql) {
            conn.execute_unprepared(&statement).await?;
        }
        match self.then {
            Some(then) => then(conn).await,
            None => Ok(()),
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(format!(
            "{} cannot be reverted; restore a backup instead",
            self.name
        )))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// m0010: the search index rebuilt over everything a reader might remember (issue 19). Its
/// triggers compute a book's search key in SQL as `repo::search` does in Rust (`{key_old}`,
/// `{key_new}`).
fn search_keys(backend: DbBackend, sql: String) -> String {
    let (old, new) = match backend {
        DbBackend::Postgres => ("OLD", "NEW"),
        _ => ("old", "new"),
    };
    sql.replace("{key_old}", &crate::repo::search::key_sql(backend, old))
        .replace("{key_new}", &crate::repo::search::key_sql(backend, new))
}

/// m0010's index is then filled from the tables by `repo::search::rebuild` (the text is folded
/// in Rust), in the migration's transaction: a database is never left with an empty index.
fn rebuild_search<'c>(conn: &'c SchemaManagerConnection<'c>) -> BoxFuture<'c, Result<(), DbErr>> {
    Box::pin(async move {
        crate::repo::search::rebuild(conn)
            .await
            .map_err(|e| DbErr::Migration(format!("rebuilding the search index: {e}")))
    })
}

/// m0011 also merges the index m0010 (or years of imports) left in many pieces.
fn compact_search<'c>(conn: &'c SchemaManagerConnection<'c>) -> BoxFuture<'c, Result<(), DbErr>> {
    Box::pin(async move {
        crate::repo::search::compact(conn)
            .await
            .map_err(|e| DbErr::Migration(format!("merging the search index: {e}")))
    })
}

/// sea-orm-migration's bookkeeping table.
pub const MIGRATION_TABLE: &str = "seaql_migrations";

/// The PostgreSQL functions folio creates (for triggers); `db drop` removes them too.
pub const FUNCTIONS: &[&str] = &[
    "comment_rating_summary",
    "book_activity",
    "book_search_rekey",
    "search_generation_next",
];

/// Every table folio creates, in an order that drops referencing tables first.
pub const TABLES: &[&str] = &[
    "import_rows",
    "rate_limit_event",
    "job_run",
    "webhook_attempt",
    "webhook_delivery",
    "webhook_event",
    "webhook_endpoint",
    "book_search",
    "search_term",
    "search_generation",
    "kosync_key",
    "kosync_progress",
    "koreader_file",
    "api_key",
    "refresh_token",
    "auth_session",
    "payment_event",
    "purchase",
    "note",
    "edition_file",
    "book_cover",
    "progress",
    "comment",
    "referral_link",
    "user",
    "edition_contributor",
    "edition",
    "book_category",
    "book_author",
    "book",
    "category",
    "author",
    "app_setting",
    MIGRATION_TABLE,
];
