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
                let author = fx::author(&**tx, "Half").await.map_err(DbError::from)?;
                let book = fx::book(&**tx, "Written").await.map_err(DbError::from)?;
                fx::credit(&**tx, book.id, author.id, 0)
                    .await
                    .map_err(DbError::from)?;
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
                fx::book(&**tx, "Before the failure")
                    .await
                    .map_err(DbError::from)?;
                fx::author(&**tx, "Twin").await.map_err(DbError::from)?;
                fx::author(&**tx, "Twin").await.map_err(DbError::from)?;
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
    t.db.write(|tx| {
        Box::pin(async move { fx::author(&**tx, "After").await.map_err(DbError::from) })
    })
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
                fx::credit(&**tx, book.id, author.id, 0).await?;
                Ok::<_, DbError>(book)
            })
        })
        .await
        .unwrap();
    assert_eq!(book.title, "Emma");
    assert_eq!(t.count("book_author").await, 1);
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
                        fx::credit(&**tx, book.id, author.id, 0).await?;
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
