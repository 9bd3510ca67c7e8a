//! Migrations: the same schema on an empty database of either backend; `init` is idempotent.

use folio::db::schema;
use folio::migration::TABLES;

use crate::backend_tests;
use crate::support::{Backend, TestDb};

backend_tests!(
    migrations_create_every_table_on_an_empty_database,
    init_twice_changes_nothing_the_second_time,
    drop_removes_folio_tables_and_init_recreates_them,
    upgrading_settles_repeated_pending_purchases_before_indexing_them,
);

/// A database from before one open purchase per edition was enforced, holding the repeats the
/// old code allowed, upgrades: of a buyer's pending purchases of one edition the oldest stays
/// pending, and one already covered by a paid purchase fails; paid ones are untouched.
async fn upgrading_settles_repeated_pending_purchases_before_indexing_them(backend: Backend) {
    use folio::entity::enums::PurchaseStatus;
    use folio::migration::{Migrator, MigratorTrait};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};

    use crate::support::fixtures as fx;

    let t = TestDb::empty(&backend).await;
    let conn = &sea_orm::Database::connect(t.url_string()).await.unwrap();
    Migrator::up(conn, Some(4))
        .await
        .expect("the schema before m0005");
    let user = fx::user(conn, "ada").await.unwrap();
    let book_id = book_before_m0009(conn).await;
    let mut purchases = vec![];
    for statuses in [
        &[
            PurchaseStatus::Pending,
            PurchaseStatus::Pending,
            PurchaseStatus::Pending,
        ][..],
        &[PurchaseStatus::Paid, PurchaseStatus::Pending][..],
    ] {
        // Written as the schema of then has it: the entity knows later columns.
        let edition = edition_before_m0006(conn, book_id).await;
        for status in statuses {
            let purchase = fx::purchase(conn, user.id, edition).await.unwrap();
            let mut active: folio::entity::purchase::ActiveModel = purchase.into();
            active.status = Set(*status);
            purchases.push(active.update(conn).await.unwrap());
        }
    }

    Migrator::up(conn, None).await.expect("the upgrade applies");
    let mut after = vec![];
    for purchase in &purchases {
        let found = folio::entity::purchase::Entity::find_by_id(purchase.id)
            .one(conn)
            .await
            .unwrap()
            .unwrap();
        after.push(found.status);
    }
    use PurchaseStatus::*;
    assert_eq!(after, [Pending, Failed, Failed, Paid, Failed]);
}

async fn migrations_create_every_table_on_an_empty_database(backend: Backend) {
    let t = TestDb::empty(&backend).await;
    assert!(schema::existing_tables(&t.db).await.unwrap().is_empty());
    let before = schema::status(&t.db).await.unwrap();
    assert!(!before.is_empty() && before.iter().all(|m| !m.applied));

    let applied = schema::init(&t.db).await.unwrap();
    assert_eq!(applied.len(), before.len());

    let mut tables = schema::existing_tables(&t.db).await.unwrap();
    tables.sort();
    let mut expected: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(tables, expected, "the schema has exactly folio's tables");
    assert!(
        schema::status(&t.db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );
}

async fn init_twice_changes_nothing_the_second_time(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    crate::support::fixtures::author(&*t.db.begin().await.unwrap(), "Kept")
        .await
        .unwrap();
    let tables = schema::existing_tables(&t.db).await.unwrap();

    let applied = schema::init(&t.db).await.unwrap();
    assert!(applied.is_empty(), "second init applied {applied:?}");
    assert_eq!(schema::existing_tables(&t.db).await.unwrap(), tables);
}

async fn drop_removes_folio_tables_and_init_recreates_them(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dropped = schema::drop_all(&t.db).await.unwrap();
    assert_eq!(dropped.len(), TABLES.len());
    assert!(schema::existing_tables(&t.db).await.unwrap().is_empty());
    assert!(
        schema::status(&t.db)
            .await
            .unwrap()
            .iter()
            .all(|m| !m.applied)
    );

    schema::init(&t.db).await.unwrap();
    let tables = schema::existing_tables(&t.db).await.unwrap();
    assert_eq!(tables.len(), TABLES.len(), "{tables:?}");
}

/// Every foreign key is the leading column of some index, so joins and the cascades on
/// delete never scan a whole table. Read from SQLite's catalog; the DDL is the same on both.
#[tokio::test]
async fn every_foreign_key_has_an_index() {
    use sea_orm::ConnectionTrait;
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let rows = |sql: &str| {
        let statement = sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, sql);
        async { t.db.reader().query_all_raw(statement).await.unwrap() }
    };
    // An index's first column, or a table's INTEGER PRIMARY KEY (the rowid itself, which
    // SQLite lists as no index: `book_cover.book_id`).
    let indexed: Vec<(String, String)> = rows(
        "SELECT m.name AS tbl, ii.name AS col FROM sqlite_master m \
         JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
         WHERE m.type = 'table' AND ii.seqno = 0 AND ii.name IS NOT NULL \
         UNION SELECT m.name, ti.name FROM sqlite_master m JOIN pragma_table_info(m.name) ti \
         WHERE m.type = 'table' AND ti.pk = 1 AND upper(ti.type) = 'INTEGER'",
    )
    .await
    .iter()
    .map(|r| (r.try_get("", "tbl").unwrap(), r.try_get("", "col").unwrap()))
    .collect();
    let foreign_keys: Vec<(String, String)> = rows(
        "SELECT m.name AS tbl, fk.\"from\" AS col FROM sqlite_master m \
         JOIN pragma_foreign_key_list(m.name) fk WHERE m.type = 'table'",
    )
    .await
    .iter()
    .map(|r| (r.try_get("", "tbl").unwrap(), r.try_get("", "col").unwrap()))
    .collect();
    assert!(
        foreign_keys.len() > 20,
        "the catalog lists the foreign keys"
    );
    let missing: Vec<_> = foreign_keys
        .iter()
        .filter(|fk| !indexed.contains(fk))
        .collect();
    assert!(
        missing.is_empty(),
        "foreign keys without an index: {missing:?}"
    );
}

/// PostgreSQL reads its ascending indexes backwards with NULLs first, so books newest first
/// with those without a year last (`sort=-year`) needs an index of its own, or every page
/// sorts the whole catalog (357 ms a page on a million books). The planner, kept off
/// sequential scans so that a small table answers as a large one would, must read the order
/// straight off an index, from the start and from a cursor.
#[tokio::test]
async fn postgres_reads_newest_first_off_an_index_without_sorting() {
    use sea_orm::{ConnectionTrait, Statement};

    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let tx = t.db.begin().await.unwrap();
    tx.execute_unprepared("SET LOCAL enable_seqscan = off")
        .await
        .unwrap();
    for cursor in [
        "",
        "WHERE (original_year, id) < (1990, 500) ",
        "WHERE original_year IS NULL AND id < 500 ",
    ] {
        let sql = format!(
            "EXPLAIN SELECT id FROM book {cursor}\
             ORDER BY original_year DESC NULLS LAST, id DESC LIMIT 21"
        );
        let plan: Vec<String> = tx
            .query_all_raw(Statement::from_string(t.db.backend(), sql))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap())
            .collect();
        assert!(
            plan.iter().any(|step| step.contains("Index"))
                && !plan.iter().any(|step| step.contains("Sort")),
            "{cursor:?}: {plan:#?}"
        );
    }
}

/// An ebook edition priced 9.99 EUR, inserted with the columns it had before migration 0006.
/// A book as the schema before m0009 has it (the entity knows later columns).
async fn book_before_m0009(conn: &sea_orm::DatabaseConnection) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = conn.get_database_backend();
    let now = chrono::Utc::now();
    let sql = folio::repo::numbered(
        backend,
        "INSERT INTO book (title, title_folded, created_at, updated_at) \
         VALUES ('Villette', 'villette', ?, ?) RETURNING id",
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            vec![now.into(), now.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn edition_before_m0006(conn: &sea_orm::DatabaseConnection, book_id: i64) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = conn.get_database_backend();
    let now = chrono::Utc::now();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO edition (book_id, format, price_minor, currency, created_at, updated_at) \
             VALUES ($1, 'ebook', 999, 'EUR', $2, $2) RETURNING id"
        }
        _ => {
            "INSERT INTO edition (book_id, format, price_minor, currency, created_at, updated_at) \
             VALUES (?, 'ebook', 999, 'EUR', ?, ?) RETURNING id"
        }
    };
    let values: Vec<sea_orm::Value> = match backend {
        sea_orm::DbBackend::Postgres => vec![book_id.into(), now.into()],
        _ => vec![book_id.into(), now.into(), now.into()],
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "id").unwrap()
}
