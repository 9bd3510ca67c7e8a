//! The unit of work commits only work that returned Ok; an error, a panic or a drop half-way
//! leaves no rows behind. Concurrent writers on one SQLite file all succeed.

use folio::db::DbError;

use crate::backend_tests;
use crate::support::fixtures as fx;
use crate::support::{Backend, TestDb};

backend_tests!(
    work_that_fails_half_way_leaves_no_rows,
    work_that_panics_half_way_leaves_no_rows,
    a_unit_of_work_dropped_without_commit_leaves_no_rows,
    work_that_returns_ok_is_committed,
    sixty_four_concurrent_writers_all_succeed,
    a_failed_commit_leaves_the_next_unit_of_work_a_real_transaction,
    a_write_whose_request_goes_away_half_way_leaves_no_rows,
    models_written_in_a_unit_of_work_read_back_whole,
);

#[derive(Debug)]
enum WorkError {
    Db(DbError),
    Refused,
}

impl From<DbError> for WorkError {
    fn from(err: DbError) -> Self {
        Self::Db(err)
    }
}

async fn work_that_fails_half_way_leaves_no_rows(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let result: Result<(), WorkError> =
        t.db.write(|tx| {
            Box::pin(async move {
                let author = fx::author(&**tx, "Half").await?;
                let book = fx::book(&**tx, "Written").await?;
                fx::credit(&**tx, book.id, &[author.id]).await?;
                Err(WorkError::Refused)
            })
        })
        .await;
    assert!(matches!(result, Err(WorkError::Refused)));
    for table in ["author", "book", "book_author"] {
        assert_eq!(
            t.count(table).await,
            0,
            "{table} has no rows from the failed work"
        );
    }

    // A database error half-way (a duplicate) rolls back the earlier inserts too.
    let result: Result<(), WorkError> =
        t.db.write(|tx| {
            Box::pin(async move {
                fx::book(&**tx, "Before the failure").await?;
                fx::author(&**tx, "Twin").await?;
                fx::author(&**tx, "Twin").await?;
                Ok(())
            })
        })
        .await;
    assert!(matches!(
        result,
        Err(WorkError::Db(DbError::Conflict { .. }))
    ));
    assert_eq!(t.count("book").await, 0);
    assert_eq!(t.count("author").await, 0);
}

async fn work_that_panics_half_way_leaves_no_rows(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let db = t.db.clone();
    let task = tokio::spawn(async move {
        let _: Result<(), DbError> = db
            .write(|tx| {
                Box::pin(async move {
                    fx::author(&**tx, "Doomed").await?;
                    panic!("the work panics after its first insert");
                })
            })
            .await;
    });
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(t.count("author").await, 0);
    // The writer is usable afterwards: the rollback released it.
    t.db.write(|tx| Box::pin(async move { fx::author(&**tx, "After").await }))
        .await
        .unwrap();
    assert_eq!(t.count("author").await, 1);
}

async fn a_unit_of_work_dropped_without_commit_leaves_no_rows(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    {
        let tx = t.db.begin().await.unwrap();
        fx::author(&*tx, "Never committed").await.unwrap();
    }
    assert_eq!(t.count("author").await, 0);
}

async fn work_that_returns_ok_is_committed(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let book =
        t.db.write(|tx| {
            Box::pin(async move {
                let author = fx::author(&**tx, "Jane Austen").await?;
                let book = fx::book(&**tx, "Emma").await?;
                fx::credit(&**tx, book.id, &[author.id]).await?;
                Ok::<_, DbError>(book)
            })
        })
        .await
        .unwrap();
    assert_eq!(book.title, "Emma");
    assert_eq!(t.count("book_author").await, 1);
}

/// A request that goes away while its unit of work is under way (the client left, the request
/// timed out): the write's future is dropped between two of its statements. Nothing it wrote
/// stays, and the writer it held serves the next write at once.
async fn a_write_whose_request_goes_away_half_way_leaves_no_rows(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let (written, wrote) = tokio::sync::oneshot::channel();
    let db = t.db.clone();
    let request = tokio::spawn(async move {
        let _: Result<(), DbError> = db
            .write(|tx| {
                Box::pin(async move {
                    fx::author(&**tx, "Half written").await?;
                    let _ = written.send(());
                    // Waits for something that never comes, as a slow upload would.
                    std::future::pending::<()>().await;
                    Ok(())
                })
            })
            .await;
    });
    wrote.await.expect("the first statement ran");
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    assert_eq!(
        t.count("author").await,
        0,
        "nothing of the dropped write stays"
    );
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        t.db.write(|tx| Box::pin(async move { fx::author(&**tx, "Next").await })),
    )
    .await
    .expect("the writer is free again at once");
    next.unwrap();
    assert_eq!(t.count("author").await, 1);
}

/// What a unit of work reads back is what it wrote, field for field: on SQLite's writer every
/// value takes the type its entity declares (a year, a page count, a price, a date, a float, a
/// timestamp), and the readers, another driver, read the same.
async fn models_written_in_a_unit_of_work_read_back_whole(backend: Backend) {
    use folio::entity::enums::EditionFormat;
    use folio::entity::{book, edition};
    use folio::repo::book::BookFields;
    use sea_orm::EntityTrait;

    let t = TestDb::migrated(&backend).await;
    let (book, edition) =
        t.db.write(|tx| {
            Box::pin(async move {
                let fields = BookFields {
                    title: "Pride and Prejudice".into(),
                    subtitle: Some("A Novel".into()),
                    original_year: Some(1813),
                    language: Some("en".into()),
                    series: Some("Austen's Novels".into()),
                    series_number: Some(2.5),
                    popularity_prior: 3_000_000_000,
                    ..Default::default()
                };
                let written = folio::repo::book::insert(&**tx, fields).await?;
                let mut fields = fx::bare_edition(EditionFormat::Audiobook, Some(1299));
                fields.release_date = chrono::NaiveDate::from_ymd_opt(2003, 4, 29);
                fields.pages = Some(432);
                fields.duration_seconds = Some(41_520);
                let edition = folio::repo::edition::insert(&**tx, written.id, fields).await?;
                let book = book::Entity::find_by_id(written.id).one(&**tx).await?;
                assert_eq!(
                    book.as_ref(),
                    Some(&written),
                    "the book reads back as written"
                );
                assert_eq!(book.as_ref().unwrap().original_year, Some(1813));
                assert_eq!(edition.pages, Some(432));
                assert_eq!(
                    edition.release_date,
                    chrono::NaiveDate::from_ymd_opt(2003, 4, 29)
                );
                Ok::<_, DbError>((written, edition))
            })
        })
        .await
        .unwrap();
    let read = t.db.reader();
    assert_eq!(
        book::Entity::find_by_id(book.id).one(read).await.unwrap(),
        Some(book)
    );
    assert_eq!(
        edition::Entity::find_by_id(edition.id)
            .one(read)
            .await
            .unwrap(),
        Some(edition)
    );
}

/// Every writer gets its own unit of work at the same moment; on SQLite they queue for the
/// one writer connection instead of failing with "database is locked".
async fn sixty_four_concurrent_writers_all_succeed(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(64));
    let writers: Vec<_> = (0..64)
        .map(|i| {
            let db = t.db.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                db.write(|tx| {
                    Box::pin(async move {
                        let book = fx::book(&**tx, &format!("Book {i}")).await?;
                        let author = fx::author(&**tx, &format!("Author {i}")).await?;
                        fx::credit(&**tx, book.id, &[author.id]).await?;
                        Ok::<_, DbError>(())
                    })
                })
                .await
            })
        })
        .collect();
    for writer in writers {
        writer
            .await
            .unwrap()
            .expect("every concurrent write succeeds");
    }
    assert_eq!(t.count("book").await, 64);
    assert_eq!(t.count("book_author").await, 64);
}

/// Another process writing the same SQLite file at the same moment (an import beside the
/// server): a unit of work that reads, then writes after the other committed, still succeeds,
/// and so does the other write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_beside_another_process_writing_the_same_file_succeeds() {
    use sqlx::ConnectOptions;
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let path = t.sqlite_path().expect("SQLite");
    let mut other = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .unwrap();

    let unit = t.db.begin().await.unwrap();
    // The unit of work reads first, as services do (is the book there? is the name taken?).
    use sea_orm::ConnectionTrait;
    let read =
        sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT COUNT(*) FROM author");
    unit.query_one_raw(read).await.unwrap();
    let other_write = tokio::spawn(async move {
        sqlx::query("INSERT INTO author (name, name_folded, created_at, updated_at) VALUES ('Other process', 'other process', '2026-01-01', '2026-01-01')")
            .execute(&mut other)
            .await
            .map(|_| ())
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    fx::author(&*unit, "Written after").await.unwrap();
    unit.commit().await.expect("the unit of work commits");
    other_write
        .await
        .unwrap()
        .expect("the other process's write goes through after it");
    assert_eq!(t.count("author").await, 2);
}

/// Committed pages reach the database file without any commit copying them: folio's
/// checkpoint thread does it (`db/sqlite_checkpoint.rs`). A hundred small commits leave the WAL
/// far below SQLite's own 1,000-page checkpoint, so the rows are in the file only if that thread
/// copied them; a copy of the file alone, without its WAL, shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_pages_reach_the_database_file_off_the_commit_path() {
    use std::time::{Duration, Instant};
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let path = t.sqlite_path().expect("SQLite");
    for i in 0..100 {
        t.db.write(|tx| Box::pin(async move { fx::author(&**tx, &format!("Author {i}")).await }))
            .await
            .unwrap();
    }
    let wal = path.with_extension("db-wal");
    let frames = std::fs::metadata(&wal).map_or(0, |m| m.len().saturating_sub(32) / (4096 + 24));
    assert!(
        frames < 1000,
        "the WAL holds {frames} pages: SQLite's own checkpoint never ran"
    );

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("file-alone.db");
    let deadline = Instant::now() + Duration::from_secs(10);
    let in_file = loop {
        std::fs::copy(&path, &copy).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let authors = conn
            .query_row("SELECT count(*) FROM author", [], |row| {
                row.get::<_, i64>(0)
            })
            .unwrap_or(0);
        drop(conn);
        let _ = std::fs::remove_file(copy.with_extension("db-wal"));
        if authors == 100 || Instant::now() > deadline {
            break authors;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(in_file, 100, "the committed rows were copied into the file");
}

/// A write whose request goes away while it waits for another process's write lock (an import
/// beside the server): its `BEGIN` finishes on the blocking thread it waited on, after nobody
/// wants it any more, and must not keep the lock. Another process gets it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_while_it_waits_for_the_lock_does_not_keep_it() {
    use std::time::{Duration, Instant};
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let path = t.sqlite_path().expect("SQLite");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let db = t.db.clone();
    let write = tokio::spawn(async move {
        db.write(|tx| Box::pin(async move { fx::author(&**tx, "Never").await }))
            .await
    });
    // Long enough to be waiting on the lock, then the request goes away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    write.abort();
    assert!(write.await.unwrap_err().is_cancelled());
    other.execute_batch("COMMIT").unwrap();

    // The abandoned `BEGIN` now takes the lock on its thread (its busy handler looks again
    // within 100 ms), and must give it back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    other.busy_timeout(Duration::ZERO).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match other.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => break,
            Err(e) => assert!(
                Instant::now() < deadline,
                "the write lock is still held after the request went away: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(t.count("author").await, 0);
}

/// A request cancelled while its unit of work is starting (the client went away, the request
/// timed out) must not leave its connection inside a transaction: the next request on that
/// connection would otherwise run in the stale transaction and hold its locks. sqlx 0.9.0
/// leaves exactly that behind when `BEGIN` is cancelled between being sent and answered on
/// PostgreSQL (transact-rs/sqlx#4385); SQLite's driver finishes `BEGIN` on its own thread.
///
/// The window is a round trip wide, so the test widens it: folio talks to PostgreSQL through a
/// relay that holds every answer back a little, and the work is dropped once the server has
/// run `BEGIN` but before its answer is through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_of_work_cancelled_while_it_begins_leaves_no_transaction_open() {
    use std::time::{Duration, Instant};

    use folio::config::DatabaseUrl;
    use folio::db::Database;
    use sea_orm::{ConnectionTrait, Statement};

    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let DatabaseUrl::Postgres { url } = &t.url else {
        unreachable!()
    };
    let mut slow = url.clone();
    slow.set_host(Some("127.0.0.1")).unwrap();
    slow.set_port(Some(slow_relay(url).await)).unwrap();
    // One connection, so whatever the cancelled work leaves behind is what the next use gets.
    let db = Database::connect(&DatabaseUrl::Postgres { url: slow }, 1)
        .await
        .unwrap();
    let text = |db: &Database, sql: &str| {
        let (reader, sql) = (db.reader().clone(), sql.to_string());
        async move {
            let row = reader
                .query_one_raw(Statement::from_string(reader.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0).unwrap()
        }
    };
    let idle_in_transaction = "SELECT (count(*) > 0)::text FROM pg_stat_activity \
         WHERE datname = current_database() AND state = 'idle in transaction'";
    text(&db, "SELECT 'connected'").await;

    let mut work =
        Box::pin(db.write(|_tx| Box::pin(std::future::pending::<Result<(), DbError>>())));
    // Step the work until the server has run its `BEGIN` (its answer is still in the relay).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let _ = tokio::time::timeout(Duration::ZERO, &mut work).await;
        if text(&t.db, idle_in_transaction).await == "true" {
            break;
        }
        assert!(Instant::now() < deadline, "the server never ran BEGIN");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(work);

    // In a transaction `now()` stands still; each statement of its own gets a later one.
    let first = text(&db, "SELECT now()::text").await;
    let second = text(&db, "SELECT now()::text").await;
    assert_ne!(
        first, second,
        "statements after the cancelled work run in transactions of their own"
    );
    assert_eq!(
        text(&t.db, idle_in_transaction).await,
        "false",
        "no connection is left idle in a transaction"
    );
    db.close().await;
}

/// A relay on 127.0.0.1 to the server at `url` that passes requests on at once and holds each
/// answer back 20 ms. Returns its port.
async fn slow_relay(url: &url::Url) -> u16 {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    let upstream = (
        url.host_str().unwrap().to_string(),
        url.port().unwrap_or(5432),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream.clone()).await else {
                continue;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
            });
            tokio::spawn(async move {
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Runs `sql` in a unit of work of its own.
async fn exec(db: &folio::db::Database, sql: &'static str) -> Result<(), DbError> {
    use sea_orm::ConnectionTrait;
    db.write(|tx| {
        Box::pin(async move {
            tx.execute_unprepared(sql)
                .await
                .map(|_| ())
                .map_err(DbError::from)
        })
    })
    .await
}

/// What the work after a failed COMMIT must be: a transaction of its own, whose rows others see
/// once it commits and nobody sees when it fails, with the write lock free again afterwards.
async fn assert_units_of_work_are_real_transactions(t: &TestDb) {
    let failed: Result<(), WorkError> =
        t.db.write(|tx| {
            Box::pin(async move {
                fx::author(&**tx, "Rolled back").await?;
                Err(WorkError::Refused)
            })
        })
        .await;
    assert!(matches!(failed, Err(WorkError::Refused)));
    t.db.write(|tx| Box::pin(async move { fx::author(&**tx, "Committed").await }))
        .await
        .expect("a write after the failed COMMIT commits");
    // Counted through the reader, another connection: the row is committed, not held in a
    // transaction the writer still has open.
    assert_eq!(
        t.count("author").await,
        1,
        "exactly the committed author is seen"
    );
    if let Some(path) = t.sqlite_path() {
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .expect("another connection takes the write lock at once");
    }
}

/// A COMMIT refused by the database (a deferred foreign key checked only then): the unit of
/// work fails with a clear error, and the one after it is a real transaction.
async fn a_failed_commit_leaves_the_next_unit_of_work_a_real_transaction(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    exec(
        &t.db,
        "CREATE TABLE test_parent (id INTEGER PRIMARY KEY); \
         CREATE TABLE test_child (parent_id INTEGER REFERENCES test_parent (id) \
         DEFERRABLE INITIALLY DEFERRED)",
    )
    .await
    .unwrap();
    let unit = t.db.begin().await.unwrap();
    use sea_orm::ConnectionTrait;
    unit.execute_unprepared("INSERT INTO test_child (parent_id) VALUES (42)")
        .await
        .expect("a deferred key is not checked before COMMIT");
    let refused = unit
        .commit()
        .await
        .expect_err("COMMIT checks the deferred key");
    assert!(
        matches!(refused, DbError::NotFound(_)),
        "a missing parent reads as not found: {refused:?}"
    );
    assert_eq!(t.count("test_child").await, 0);
    assert_units_of_work_are_real_transactions(&t).await;
}

/// SQLite rolls a transaction back by itself when the database cannot grow (SQLITE_FULL, here
/// from `max_page_count`; a full disk does the same). The unit of work fails as storage full,
/// the writer that still counted a transaction open is replaced, and the next unit of work is
/// a real transaction, not a SAVEPOINT inside one that never commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_of_work_on_a_full_sqlite_database_leaves_the_next_one_a_real_transaction() {
    use sea_orm::ConnectionTrait;
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let full: Result<(), DbError> =
        t.db.write(|tx| {
            Box::pin(async move {
                // The limit holds for this connection only: a fresh writer has none.
                let pages = tx
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Sqlite,
                        "PRAGMA page_count",
                    ))
                    .await?
                    .expect("a page count")
                    .try_get_by_index::<i64>(0)?;
                tx.execute_unprepared(&format!("PRAGMA max_page_count = {pages}"))
                    .await?;
                fx::author(&**tx, "Before the limit").await?;
                let long_bio = "x".repeat(64 * 1024);
                tx.execute_unprepared(&format!("UPDATE author SET bio = '{long_bio}'"))
                    .await?;
                Ok(())
            })
        })
        .await;
    assert!(
        matches!(full, Err(DbError::StorageFull(_))),
        "a database that cannot grow reads as storage full: {full:?}"
    );
    assert_eq!(t.count("author").await, 0);
    assert_units_of_work_are_real_transactions(&t).await;
}
