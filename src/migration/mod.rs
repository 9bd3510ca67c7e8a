//! Versioned schema migrations, one set for SQLite and PostgreSQL.
//!
//! Each migration is a SQL script in `sql/`, rendered for the backend by [`dialect`] and applied
//! inside one transaction on both backends (both have transactional DDL), so a migration that
//! fails half-way, or a process killed during one, leaves the schema as it was.

mod dialect;

use sea_orm::ConnectionTrait;
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
            }),
            Box::new(SqlMigration {
                name: "m0002_book_search",
                sqlite: include_str!("sql/0002_book_search.sqlite.sql"),
                postgres: include_str!("sql/0002_book_search.postgres.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0003_rating_summary",
                sqlite: include_str!("sql/0003_rating_summary.sqlite.sql"),
                postgres: include_str!("sql/0003_rating_summary.postgres.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0004_year_desc_index",
                sqlite: include_str!("sql/0004_year_desc_index.sqlite.sql"),
                postgres: include_str!("sql/0004_year_desc_index.postgres.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0005_one_open_purchase",
                sqlite: include_str!("sql/0005_one_open_purchase.sql"),
                postgres: include_str!("sql/0005_one_open_purchase.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0006_files",
                sqlite: include_str!("sql/0006_files.sql"),
                postgres: include_str!("sql/0006_files.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0007_popular",
                sqlite: include_str!("sql/0007_popular.sql"),
                postgres: include_str!("sql/0007_popular.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0008_kosync",
                sqlite: include_str!("sql/0008_kosync.sql"),
                postgres: include_str!("sql/0008_kosync.sql"),
            }),
            Box::new(SqlMigration {
                name: "m0009_titles_series_popularity",
                sqlite: include_str!("sql/0009_titles_series_popularity.sqlite.sql"),
                postgres: include_str!("sql/0009_titles_series_popularity.postgres.sql"),
            }),
            Box::new(SearchEverything),
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
        let sql = dialect::render(backend, script);
        for statement in dialect::statements(&sql) {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
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
/// triggers compute a book's search key in SQL as `repo::search` does in Rust, and the index
/// is then filled from the tables by `repo::search::rebuild` (the text is folded in Rust), in
/// the migration's transaction: a database is never left with an empty index.
struct SearchEverything;

impl MigrationName for SearchEverything {
    fn name(&self) -> &str {
        "m0010_search_everything"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SearchEverything {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = conn.get_database_backend();
        let script = match backend {
            sea_orm::DbBackend::Postgres => include_str!("sql/0010_search_everything.postgres.sql"),
            _ => include_str!("sql/0010_search_everything.sqlite.sql"),
        };
        let (old, new) = match backend {
            sea_orm::DbBackend::Postgres => ("OLD", "NEW"),
            _ => ("old", "new"),
        };
        let sql = dialect::render(backend, script)
            .replace("{key_old}", &crate::repo::search::key_sql(backend, old))
            .replace("{key_new}", &crate::repo::search::key_sql(backend, new));
        for statement in dialect::statements(&sql) {
            conn.execute_unprepared(&statement).await?;
        }
        crate::repo::search::rebuild(conn)
            .await
            .map_err(|e| DbErr::Migration(format!("rebuilding the search index: {e}")))
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m0010_search_everything cannot be reverted; restore a backup instead".into(),
        ))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// sea-orm-migration's bookkeeping table.
pub const MIGRATION_TABLE: &str = "seaql_migrations";

/// The PostgreSQL functions folio creates (for triggers); `db drop` removes them too.
pub const FUNCTIONS: &[&str] = &[
    "comment_rating_summary",
    "book_activity",
    "book_search_rekey",
];

/// Every table folio creates, in an order that drops referencing tables first.
pub const TABLES: &[&str] = &[
    "book_search",
    "search_term",
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
