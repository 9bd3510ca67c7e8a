//! `folio db backup` and `folio db restore` as an operator runs them: a backup taken while a
//! real server writes, restored into a working server; the refusals; and a restore that gives
//! back exactly the data exported when the backup was made.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Client;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::process::{Served, folio, register, run, sign_in};
use crate::support::{Backend, TestDb, books, fixtures};

backend_tests!(
    a_backup_is_checked_and_never_overwrites_a_file,
    restoring_a_backup_gives_back_the_catalog_and_user_data_exported_when_it_was_made,
);

fn serve(t: &TestDb, dir: &Path) -> (Served, String) {
    Served::start(
        dir,
        &[
            ("DATABASE_URL", t.url_string()),
            ("FOLIO_STORAGE_URL", t.files.path().display().to_string()),
            (
                "FOLIO_SECRET_KEY",
                "a-secret-key-of-32-bytes-or-more!!".into(),
            ),
        ],
    )
}

/// `folio db …` on the test's database: exit code and what it printed (both streams).
fn db_command(t: &TestDb, dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let (output, out, err) = run(folio(dir)
        .arg("db")
        .args(args)
        .env("DATABASE_URL", t.url_string())
        .env("FOLIO_STORAGE_URL", t.files.path().display().to_string()));
    (output.status.code(), format!("{out}{err}"))
}

/// A small library: Le Guin's two books, each with an edition at 9.99, and a reader's comment
/// and purchase of each. The reader.
async fn small_library(db: &folio::db::Database) -> folio::entity::user::Model {
    let tx = db.begin().await.unwrap();
    let author = fixtures::author(&*tx, "Ursula K. Le Guin").await.unwrap();
    let reader = fixtures::user(&*tx, "reader").await.unwrap();
    for title in ["The Dispossessed", "The Lathe of Heaven"] {
        let book = fixtures::book(&*tx, title).await.unwrap();
        fixtures::credit(&*tx, book.id, &[author.id]).await.unwrap();
        let edition = fixtures::edition(&*tx, book.id, Some(999)).await.unwrap();
        fixtures::comment(&*tx, reader.id, book.id, Some(5))
            .await
            .unwrap();
        fixtures::purchase(&*tx, reader.id, edition.id)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    reader
}

/// `folio export books` (`what` = "books") or `folio export user WHAT` from `t`'s database.
fn export(t: &TestDb, dir: &Path, what: &str) -> String {
    let args: Vec<&str> = match what {
        "books" => vec!["export", "books"],
        name => vec!["export", "user", name],
    };
    let (output, out, err) = run(folio(dir).args(args).env("DATABASE_URL", t.url_string()));
    assert!(output.status.success(), "{err}");
    out
}

/// Runs `sql` in a unit of work on `db`.
async fn execute(db: &folio::db::Database, sql: impl Into<String>) {
    use sea_orm::ConnectionTrait;
    let sql = sql.into();
    db.write(|tx| {
        Box::pin(async move {
            tx.execute_unprepared(&sql).await?;
            Ok::<_, folio::db::DbError>(())
        })
    })
    .await
    .unwrap();
}

/// The number (or null) in the first column of the first row `sql` answers on `db`.
async fn number(db: &folio::db::Database, sql: &str) -> Option<i64> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .reader()
        .query_all_raw(Statement::from_string(db.backend(), sql.to_string()))
        .await
        .unwrap();
    rows[0].try_get_by_index(0).unwrap()
}

async fn sign_up(http: &Client, address: &str, name: &str) -> String {
    register(http, address, name).await;
    sign_in(http, address, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_to_a_consistent_working_server() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (book, edition) = {
        let tx = t.db.begin().await.unwrap();
        let book = fixtures::book(&*tx, "Kept").await.unwrap();
        let edition = fixtures::edition(&*tx, book.id, None).await.unwrap();
        tx.commit().await.unwrap();
        (book.id, edition.id)
    };
    let (mut served, address) = serve(&t, dir.path());
    let http = Client::new();
    let keeper = sign_up(&http, &address, "keeper").await;
    t.make_admin("keeper").await;
    let reader = sign_up(&http, &address, "reader").await;

    // One stored file, which the backup's manifest lists.
    let epub = books::epub("Kept", "9780306406157", 1_000);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(epub).file_name("kept.epub"),
    );
    let added = http
        .post(format!("http://{address}/api/v1/editions/{edition}/files"))
        .bearer_auth(&keeper)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);

    // Comments with ratings keep coming while the backup is made (bounded: 400 at most).
    let done = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (http, address, done) = (http.clone(), address.clone(), done.clone());
        async move {
            let mut acknowledged = 0;
            for n in 0..400 {
                if done.load(Ordering::Relaxed) && n > 150 {
                    break;
                }
                let body = json!({"text": format!("comment {n}"), "rating": n % 5 + 1});
                let sent = http
                    .post(format!("http://{address}/api/v1/books/{book}/comments"))
                    .bearer_auth(&reader)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(sent.status(), 201);
                acknowledged += 1;
            }
            acknowledged
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let backup = dir.path().join("under-load.db");
    let (code, said) = tokio::task::spawn_blocking({
        let (dir, backup) = (dir.path().to_path_buf(), backup.clone());
        let url = t.url_string();
        let files = t.files.path().display().to_string();
        move || {
            let (output, out, err) = run(folio(&dir)
                .args(["db", "backup"])
                .arg(&backup)
                .env("DATABASE_URL", url)
                .env("FOLIO_STORAGE_URL", files));
            (output.status.code(), format!("{out}{err}"))
        }
    })
    .await
    .unwrap();
    done.store(true, Ordering::Relaxed);
    let acknowledged = load.await.unwrap();
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("1 stored object listed"), "{said}");

    // The backup is a consistent snapshot: some comments, not all, and the book's rating
    // summary (kept by a trigger in the same transactions) agrees with them exactly.
    let copy = rusqlite::Connection::open(&backup).unwrap();
    let (kept, ratings, sum): (i64, i64, i64) = copy
        .query_row(
            "SELECT count(*), count(rating), coalesce(sum(rating), 0) FROM comment WHERE book_id = ?1",
            [book],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let summary: (i64, i64) = copy
        .query_row(
            "SELECT rating_count, rating_sum FROM book WHERE id = ?1",
            [book],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(summary, (ratings, sum));
    assert!(
        kept > 0 && kept < acknowledged,
        "{kept} of {acknowledged} comments in the backup"
    );
    let listed: i64 = copy
        .query_row("SELECT count(*) FROM folio_backup_object", [], |r| r.get(0))
        .unwrap();
    assert_eq!(listed, 1);
    drop(copy);

    // A restore refuses while the server runs, then puts the backup in place.
    let (code, said) = db_command(&t, dir.path(), &["restore", backup.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("a folio server is using"), "{said}");
    assert!(served.stop().success());
    t.db.clone().close().await;
    // The stored file goes missing meanwhile: the check after the restore says so.
    let object = walk(t.files.path())
        .into_iter()
        .find(|p| !p.to_string_lossy().contains(".uploads"))
        .expect("the stored object");
    std::fs::remove_file(&object).unwrap();
    let (code, said) = db_command(&t, dir.path(), &["restore", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("kept as"),
        "the replaced database is kept: {said}"
    );

    let (mut served, address) = serve(&t, dir.path());
    let page: Value = http
        .get(format!(
            "http://{address}/api/v1/books/{book}/comments?limit=100"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = page["items"].as_array().unwrap().len() as i64;
    assert_eq!(shown, kept.min(100));
    let found: Value = http
        .get(format!("http://{address}/api/v1/books/{book}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["rating"]["count"], json!(ratings), "{found}");
    assert!(served.stop().success());
    let (output, out, err) = run(folio(dir.path())
        .args(["storage", "check"])
        .env("DATABASE_URL", t.url_string())
        .env("FOLIO_STORAGE_URL", t.files.path().display().to_string()));
    assert!(!output.status.success(), "{out}{err}");
    assert!(format!("{out}{err}").contains("missing"), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_is_not_a_folio_backup_or_comes_from_a_newer_folio() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b.db");
    let (code, said) = db_command(&t, dir.path(), &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    t.db.clone().close().await;

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database").unwrap();
    let plain = dir.path().join("plain.db");
    rusqlite::Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let newer = dir.path().join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m9999_from_the_future', 0)",
            [],
        )
        .unwrap();
    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 4096].fill(0xA5);
    std::fs::write(&damaged, bytes).unwrap();

    let before = std::fs::read(t.sqlite_path().unwrap()).unwrap();
    for (file, expected) in [
        (&text, "is not a folio backup"),
        (&plain, "is not a folio backup"),
        (&newer, "comes from a newer folio"),
        (&damaged, "damaged"),
    ] {
        let (code, said) = db_command(&t, dir.path(), &["restore", file.to_str().unwrap()]);
        assert_ne!(code, Some(0), "{said}");
        assert!(said.contains(expected), "{file:?}: {said}");
    }
    let after = std::fs::read(t.sqlite_path().unwrap()).unwrap();
    assert!(
        before == after,
        "a refused restore leaves the database as it was"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        5,
        "a refused restore leaves no files behind"
    );
}

async fn restoring_a_backup_gives_back_the_catalog_and_user_data_exported_when_it_was_made(
    backend: Backend,
) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let reader = small_library(&t.db).await;
    let export = |what: &str| export(&t, dir.path(), what);
    let (books_then, user_then) = (export("books"), export("reader"));
    let backup = dir.path().join("then.db");
    let (code, said) = db_command(&t, dir.path(), &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");

    // Life goes on after the backup: a new book, and the reader's comment on it.
    let tx = t.db.begin().await.unwrap();
    let later = fixtures::book(&*tx, "Always Coming Home").await.unwrap();
    fixtures::comment(&*tx, reader.id, later.id, Some(4))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_ne!(
        export("books"),
        books_then,
        "the catalog changed after the backup"
    );
    assert_ne!(
        export("reader"),
        user_then,
        "the reader's data changed after the backup"
    );
    t.db.clone().close().await;

    let (code, said) = db_command(&t, dir.path(), &["restore", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("The database it replaced is kept as"),
        "{said}"
    );
    assert_eq!(export("books"), books_then);
    assert_eq!(export("reader"), user_then);
}

/// On PostgreSQL, `folio db restore` refuses while a server runs (every `serve` holds the
/// serving lock shared), and refuses a file that is not a folio archive, a newer schema and a
/// damaged archive — each leaving the database as it was. A server started after the restore
/// serves what was restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restore_refuses_a_running_server_and_what_is_not_a_whole_folio_archive() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    // `folio db backup|restore FILE` with FILE in the test's folder.
    let db =
        |verb: &str, file: &str| db_command(&t, dir.path(), &[verb, path(file).to_str().unwrap()]);
    let (mut served, address) = serve(&t, dir.path());
    let http = Client::new();
    sign_up(&http, &address, "ada").await;
    let (code, said) = db("backup", "ada.dump");
    assert_eq!(code, Some(0), "{said}");
    // The future's folio added a migration; its archive is one this folio cannot restore.
    execute(
        &t.db,
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m9999_from_the_future', 0)",
    )
    .await;
    let (code, said) = db("backup", "newer.dump");
    assert_eq!(code, Some(0), "{said}");
    execute(
        &t.db,
        "DELETE FROM seaql_migrations WHERE version = 'm9999_from_the_future'",
    )
    .await;
    sign_up(&http, &address, "bob").await;

    let (code, said) = db("restore", "ada.dump");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("a folio server is using"), "{said}");
    assert!(served.stop().success());

    std::fs::write(path("notes.txt"), "not an archive").unwrap();
    let whole = std::fs::read(path("ada.dump")).unwrap();
    std::fs::write(path("cut.dump"), &whole[..whole.len() * 2 / 3]).unwrap();
    // Listed whole and its migrations readable, but a table's rows are garbage: pg_restore
    // fails half way through the script, after the drops and the schema went to psql.
    garble_a_table(&whole, &path("garbled.dump"));
    let users = || async {
        let db = t.db.clone();
        use sea_orm::{ConnectionTrait, Statement};
        let rows = db
            .reader()
            .query_all_raw(Statement::from_string(
                db.backend(),
                "SELECT username FROM \"user\" ORDER BY username",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", "username").unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(users().await, ["ada", "bob"]);
    let files_before = std::fs::read_dir(dir.path()).unwrap().count();
    for (file, expected) in [
        ("notes.txt", "is not a folio backup"),
        ("newer.dump", "comes from a newer folio"),
        ("cut.dump", "damaged"),
        ("garbled.dump", "damaged"),
    ] {
        let (code, said) = db("restore", file);
        assert_ne!(code, Some(0), "{file}: {said}");
        assert!(said.contains(expected), "{file}: {said}");
        assert_eq!(
            users().await,
            ["ada", "bob"],
            "{file}: the database is as it was"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            files_before,
            "{file}: a refused restore leaves no file"
        );
    }

    let (code, said) = db("restore", "ada.dump");
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(users().await, ["ada"]);
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("folio-replaced-") && n.ends_with(".dump"))
        .collect();
    assert_eq!(kept.len(), 1, "the replaced database is kept: {kept:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        files_before + 1,
        "and nothing else is left"
    );
    let (mut served, address) = serve(&t, dir.path());
    // The restored account signs in (the helper asserts 200).
    sign_in(&http, &address, "ada").await;
    assert!(served.stop().success());
}

async fn a_backup_is_checked_and_never_overwrites_a_file(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let tx = t.db.begin().await.unwrap();
    fixtures::book(&*tx, "Backed up").await.unwrap();
    tx.commit().await.unwrap();
    let file = dir.path().join("backup");
    let (code, said) = db_command(&t, dir.path(), &["backup", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("checked"), "{said}");
    let made = std::fs::read(&file).unwrap();
    match backend {
        // pg_dump's custom format begins with its magic.
        Backend::Postgres { .. } => assert!(made.starts_with(b"PGDMP"), "a pg_dump archive"),
        Backend::Sqlite => assert!(made.starts_with(b"SQLite format 3\0")),
    }
    let (code, said) = db_command(&t, dir.path(), &["backup", file.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("exists already"), "{said}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        made,
        "the existing file is untouched"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no partial file is left");
}

/// Writes to `target` a copy of the archive `whole` with 40 bytes of a table's rows (in the
/// data blocks at the end) overwritten, where `pg_restore` still lists the archive and reads
/// its migrations but fails the full restore.
fn garble_a_table(whole: &[u8], target: &Path) {
    let works = |args: &[&str]| {
        std::process::Command::new("pg_restore")
            .args(args)
            .arg(target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    for back in (200..4000).step_by(100) {
        let mut garbled = whole.to_vec();
        let at = garbled.len() - back;
        garbled[at..at + 40].fill(0x5A);
        std::fs::write(target, &garbled).unwrap();
        if works(&["--list"])
            && works(&["--data-only", "--table=seaql_migrations", "--file=-"])
            && !works(&["--file=-"])
        {
            return;
        }
    }
    panic!("no place in the archive's data breaks only the full restore");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_backs_up_on_schedule_and_removes_the_oldest_only_after_a_good_backup() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    // Three earlier backups, a week old (their content does not matter to pruning), and a file
    // that is not one of folio's, which pruning never touches.
    let week_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 86_400);
    for day in ["20261101", "20261102", "20261103"] {
        let old = backups.join(format!("folio-{day}T000000.000Z.db"));
        std::fs::write(&old, b"old").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(week_ago)
            .unwrap();
    }
    std::fs::write(backups.join("notes.txt"), b"mine").unwrap();

    let (mut served, _) = Served::start(
        dir.path(),
        &[
            ("DATABASE_URL", t.url_string()),
            ("FOLIO_STORAGE_URL", t.files.path().display().to_string()),
            ("FOLIO_BACKUP_DIR", backups.display().to_string()),
            ("FOLIO_BACKUP_EVERY", "1d".into()),
            ("FOLIO_BACKUP_KEEP", "2".into()),
        ],
    );
    let made = served.wait_for("a scheduled backup", |l| {
        l["message"] == "scheduled backup made and checked"
    });
    let made = std::path::PathBuf::from(made["backup"].as_str().unwrap());
    served.wait_for("the oldest removed", |l| {
        l["message"] == "removed an old backup"
    });
    assert!(served.stop().success());

    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let made_name = made.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        left,
        vec![
            "folio-20261103T000000.000Z.db".to_string(),
            made_name,
            "notes.txt".to_string()
        ]
    );
    let copy = rusqlite::Connection::open(&made).unwrap();
    let format: String = copy
        .query_row(
            "SELECT value FROM folio_backup WHERE key = 'format'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(format, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (mut first, address) = serve(&t, dir.path());
    let (output, out, err) = run(folio(dir.path())
        .arg("serve")
        .env("DATABASE_URL", t.url_string())
        .env("FOLIO_BIND", "127.0.0.1:0"));
    assert_eq!(output.status.code(), Some(2), "{out}{err}");
    assert!(err.contains("another folio server is using"), "{err}");
    let health = Client::new()
        .get(format!("http://{address}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the first server keeps serving");
    assert!(first.stop().success());
    // Once it has stopped, the file is free again.
    let (mut second, _) = serve(&t, dir.path());
    assert!(second.stop().success());
}

/// A `folio serve` started on PostgreSQL while a restore holds the database waits for the
/// restore to end (it says so), and then serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_during_a_postgres_restore_waits_for_it() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let url = url::Url::parse(&t.url_string()).unwrap();
    let restoring = folio::db::instance::PostgresRestoring::try_hold(&url)
        .await
        .unwrap()
        .expect("no server holds the database");
    let dir = tempfile::tempdir().unwrap();
    let starting = {
        let (t_url, files) = (t.url_string(), t.files.path().display().to_string());
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            Served::start(
                &dir,
                &[("DATABASE_URL", t_url), ("FOLIO_STORAGE_URL", files)],
            )
        })
    };
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        !starting.is_finished(),
        "the server waits while the restore runs"
    );
    restoring.release().await;
    let (mut served, address) = starting.join().unwrap();
    assert!(
        served
            .seen
            .iter()
            .any(|l| l["message"] == "a restore is running; waiting for it to end"),
        "it said why it waited"
    );
    let ready = Client::new()
        .get(format!("http://{address}/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(served.stop().success());
}

/// `folio db restore` killed while psql is running the archive's script leaves the database
/// as it was: the drops, the schema and the rows are one transaction, which psql's input
/// ending without its COMMIT rolls back. Then the same restore, let run, goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restore_killed_half_way_changes_nothing() {
    use folio::migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("many.dump");
    // Enough rows that the script's COPY and index builds take a while to catch.
    execute(
        &t.db,
        "INSERT INTO author (name, name_folded, created_at, updated_at) \
         SELECT 'Author ' || g, 'author ' || g, now(), now() FROM generate_series(1, 300000) g",
    )
    .await;
    let (code, said) = db_command(&t, dir.path(), &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    execute(
        &t.db,
        "INSERT INTO author (name, name_folded, created_at, updated_at) \
         VALUES ('After the backup', 'after the backup', now(), now())",
    )
    .await;

    // psql's session in this database, inside its transaction.
    const RESTORING: &str = "SELECT count(*) FROM pg_stat_activity \
        WHERE datname = current_database() AND application_name = 'psql' \
        AND xact_start IS NOT NULL";
    let mut restore = folio(dir.path())
        .args(["db", "restore", backup.to_str().unwrap()])
        .env("DATABASE_URL", t.url_string())
        .env("FOLIO_STORAGE_URL", t.files.path().display().to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if number(&t.db, RESTORING).await.unwrap() > 0 {
            restore.kill().unwrap();
            break;
        }
        assert!(
            restore.try_wait().unwrap().is_none(),
            "the restore ended before psql was seen running its script"
        );
        assert!(std::time::Instant::now() < deadline, "psql never started");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    restore.wait().unwrap();
    // psql reads to the end of its input, then leaves; its transaction goes with it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while number(&t.db, RESTORING).await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "psql is still there");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        number(&t.db, "SELECT count(*) FROM author").await.unwrap(),
        300_001,
        "every row as it was"
    );
    assert_eq!(
        number(
            &t.db,
            "SELECT count(*) FROM author WHERE name = 'After the backup'"
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        number(&t.db, "SELECT count(*) FROM seaql_migrations")
            .await
            .unwrap(),
        Migrator::migrations().len() as i64
    );
    let rows = t
        .db
        .reader()
        .query_all_raw(Statement::from_sql_and_values(
            t.db.backend(),
            "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(quote_ident(name)) IS NULL",
            [folio::migration::TABLES.iter().map(|n| n.to_string()).collect::<Vec<_>>().into()],
        ))
        .await
        .unwrap();
    let missing: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect();
    assert!(
        missing.is_empty(),
        "folio's tables are all there; gone: {missing:?}"
    );

    let (code, said) = db_command(&t, dir.path(), &["restore", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(
        number(&t.db, "SELECT count(*) FROM author").await.unwrap(),
        300_000
    );
}

/// `folio db copy --to` moves a library from its SQLite file to PostgreSQL: the catalog and
/// every reader's data export the same from both; a reader signed in on SQLite is still signed
/// in (sessions and the generated signing key came along) and signs in again; search finds
/// the books; a category whose parent came after it and a user brought by a referral link
/// keep their references; a new row takes an id no row ever had. Refused while a server uses the SQLite
/// file, and into a database that already holds folio data, which it leaves as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_library_copied_to_postgres_serves_the_same_data() {
    let Some(postgres) = Backend::postgres() else {
        return;
    };
    let source = TestDb::migrated(&Backend::Sqlite).await;
    let target = TestDb::migrated(&postgres).await;
    let dir = tempfile::tempdir().unwrap();
    small_library(&source.db).await;
    let last_book = {
        let last = number(&source.db, "SELECT max(id) FROM book")
            .await
            .unwrap();
        // A book made and deleted: its id is never given again, on either backend.
        let tx = source.db.begin().await.unwrap();
        let gone = fixtures::book(&*tx, "Withdrawn").await.unwrap();
        tx.commit().await.unwrap();
        execute(
            &source.db,
            format!("DELETE FROM book WHERE id = {}", gone.id),
        )
        .await;
        assert!(gone.id > last);
        gone.id
    };
    // A category made before its parent, a thousand categories apart (pages of the copy),
    // and a reader brought by another's referral link: references a copy in id order would
    // write before what they name.
    for sql in [
        "INSERT INTO category (name, slug, created_at, updated_at) \
         VALUES ('Anarres', 'anarres', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
         INSERT INTO category (name, slug, created_at, updated_at) \
         SELECT 'Shelf ' || i, 'shelf-' || i, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' \
         FROM n",
        "INSERT INTO category (name, slug, created_at, updated_at) \
         VALUES ('Hainish', 'hainish', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        "UPDATE category SET parent_id = (SELECT id FROM category WHERE slug = 'hainish') \
         WHERE slug = 'anarres'",
        // A real number that takes seventeen significant digits to be itself again: SQLite's
        // CAST to text keeps fifteen, its printf sixteen unless told otherwise.
        "UPDATE book SET series = 'Hainish Cycle', series_number = 0.1 + 0.2 \
         WHERE title = 'The Lathe of Heaven'",
        "INSERT INTO referral_link (owner_id, code, clicks, created_at) \
         SELECT id, 'shevek', 3, '2026-01-01T00:00:00Z' FROM \"user\" WHERE username = 'reader'",
    ] {
        execute(&source.db, sql).await;
    }
    let tx = source.db.begin().await.unwrap();
    let friend = fixtures::user(&*tx, "friend").await.unwrap();
    tx.commit().await.unwrap();
    execute(
        &source.db,
        format!(
            "UPDATE \"user\" SET referred_by_link_id = (SELECT id FROM referral_link) \
             WHERE id = {}",
            friend.id
        ),
    )
    .await;

    // A reader registers and signs in on the SQLite server (no FOLIO_SECRET_KEY: the key
    // folio generates is kept in the database).
    let start = |t: &TestDb| {
        Served::start(
            dir.path(),
            &[
                ("DATABASE_URL", t.url_string()),
                (
                    "FOLIO_STORAGE_URL",
                    source.files.path().display().to_string(),
                ),
            ],
        )
    };
    let http = Client::new();
    let (mut served, address) = start(&source);
    register(&http, &address, "ada").await;
    let token = sign_in(&http, &address, "ada").await;
    let copy = || {
        let (output, out, err) = run(folio(dir.path())
            .args(["db", "copy", "--to", &target.url_string()])
            .env("DATABASE_URL", source.url_string()));
        (output.status.code(), format!("{out}{err}"))
    };
    let (code, said) = copy();
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("another folio server is using"), "{said}");
    let missing = dir.path().join("no-such.db");
    let (output, _, err) = run(folio(dir.path())
        .args(["db", "copy", "--to", &target.url_string()])
        .env("DATABASE_URL", format!("sqlite://{}", missing.display())));
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("there is no SQLite database"), "{err}");
    assert!(!missing.exists(), "a mistyped path makes no database");
    assert_eq!(target.count("book").await, 0, "nothing copied");
    assert!(served.stop().success());

    // SQLite keeps a NUL character in text; PostgreSQL refuses it. The copy fails on that
    // table, and what it had written of the others is gone with it.
    execute(
        &source.db,
        "UPDATE book SET description = 'A' || char(0) || 'B' WHERE title = 'The Dispossessed'",
    )
    .await;
    let (code, said) = copy();
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("copying book"), "{said}");
    for table in ["author", "book", "user", "category"] {
        assert_eq!(target.count(table).await, 0, "nothing left in {table}");
    }
    execute(
        &source.db,
        "UPDATE book SET description = NULL WHERE title = 'The Dispossessed'",
    )
    .await;

    let before: Vec<String> = ["books", "reader", "ada"]
        .iter()
        .map(|what| export(&source, dir.path(), what))
        .collect();

    assert!(before[0].contains("0.30000000000000004"), "{}", before[0]);
    let (code, said) = copy();
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("the search index rebuilt there"), "{said}");
    let after: Vec<String> = ["books", "reader", "ada"]
        .iter()
        .map(|what| export(&target, dir.path(), what))
        .collect();
    assert_eq!(
        after, before,
        "the catalog and readers' data export the same"
    );
    for sql in [
        "SELECT count(*) FROM category c JOIN category p ON p.id = c.parent_id \
         WHERE c.slug = 'anarres' AND p.slug = 'hainish'",
        "SELECT count(*) FROM \"user\" u JOIN referral_link l ON l.id = u.referred_by_link_id \
         WHERE u.username = 'friend' AND l.code = 'shevek' AND l.clicks = 3",
    ] {
        assert_eq!(number(&target.db, sql).await, Some(1), "{sql}");
    }

    let (mut served, address) = start(&target);
    let me = http
        .get(format!("http://{address}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "still signed in after the move");
    sign_in(&http, &address, "ada").await;
    let found: Value = http
        .get(format!("http://{address}/api/v1/books?q=lathe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"][0]["title"], "The Lathe of Heaven", "{found}");
    assert!(served.stop().success());
    let tx = target.db.begin().await.unwrap();
    let new = fixtures::book(&*tx, "Always Coming Home").await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        new.id > last_book,
        "a new row takes a new id, never a deleted row's: {} after {last_book}",
        new.id
    );

    let books = target.count("book").await;
    let (code, said) = copy();
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("already holds folio data"), "{said}");
    assert_eq!(target.count("book").await, books, "left as it was");
}
