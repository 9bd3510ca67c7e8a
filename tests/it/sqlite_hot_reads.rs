//! On SQLite, `Database::read` runs repo functions on rusqlite (`db::sqlite_reads`); the same
//! functions run on SeaORM's connections in a unit of work, on PostgreSQL, and through
//! `Database::reader`. These tests hold the two drivers to the same answers: every column of
//! every book, every sort order and cursor, search ranks, and everything a book shows.

use chrono::NaiveDate;
use folio::db::DbError;
use folio::entity::enums::{ContributorRole, EditionFormat};
use folio::repo::book::{BookFields, BookFilter, BookOrder, SortKey};
use folio::repo::book_view;
use folio::repo::edition::EditionFields;

use crate::support::fixtures as fx;
use crate::support::{Backend, TestDb};

/// Books that differ in every column a book has: absent and present optional fields, shared
/// titles (so ties fall to the id), accents, and editions with every field set. The last book
/// has parts whose shown order is not their ids' order: authors credited newest first,
/// categories by name, a second edition with its contributors credited newest first.
async fn seed(t: &TestDb) -> Vec<i64> {
    let tx = t.db.begin().await.unwrap();
    let author = folio::repo::author::insert(&*tx, "Émile Zola".into(), None)
        .await
        .unwrap();
    let narrator = folio::repo::author::insert(&*tx, "A Narrator".into(), None)
        .await
        .unwrap();
    let category = folio::repo::category::insert(&*tx, "Novels".into(), "novels".into(), None)
        .await
        .unwrap();
    let titles = [
        "Germinal",
        "L'Assommoir",
        "germinal",
        "Nana",
        "Thérèse Raquin",
        "Au Bonheur des Dames",
        "Nana",
    ];
    let mut ids = vec![];
    for (i, title) in titles.iter().enumerate() {
        let i = i as i32;
        let full = i % 2 == 0;
        let book = folio::repo::book::insert(
            &*tx,
            BookFields {
                title: title.to_string(),
                subtitle: full.then(|| format!("Les Rougon-Macquart {i}")),
                description: full.then(|| "Une « histoire » naturelle\net sociale".into()),
                original_year: (i != 3).then_some(1870 + i % 3),
                language: full.then(|| "fr".into()),
                series: full.then(|| "Les Rougon-Macquart".into()),
                series_number: full.then_some(f64::from(i)),
                popularity_prior: i64::from(i),
            },
        )
        .await
        .unwrap();
        folio::repo::book::set_authors(&*tx, book.id, &[author.id])
            .await
            .unwrap();
        if full {
            folio::repo::book::set_categories(&*tx, book.id, &[category.id])
                .await
                .unwrap();
            fx::narrated_edition(
                &*tx,
                book.id,
                EditionFields {
                    format: EditionFormat::Audiobook,
                    // ISBNs are unique: one edition has one, the others none.
                    isbn: (i == 0).then(|| "9780140447422".into()),
                    catalog_number: Some(format!("CAT-{i}")),
                    publisher: Some("Penguin".into()),
                    release_date: NaiveDate::from_ymd_opt(2004, 2, 29),
                    language: Some("en".into()),
                    pages: Some(592),
                    duration_seconds: Some(86_399),
                    price_minor: Some(1299),
                    currency: Some("EUR".into()),
                    access: Default::default(),
                    title: (i == 0).then(|| "The Belly of Paris".into()),
                    subtitle: None,
                },
                narrator.id,
            )
            .await
            .unwrap();
        }
        ids.push(book.id);
    }

    let book = *ids.last().unwrap();
    let translator = folio::repo::author::insert(&*tx, "B Translator".into(), None)
        .await
        .unwrap();
    let classics = folio::repo::category::insert(&*tx, "Classics".into(), "classics".into(), None)
        .await
        .unwrap();
    folio::repo::book::set_authors(&*tx, book, &[translator.id, author.id])
        .await
        .unwrap();
    folio::repo::book::set_categories(&*tx, book, &[category.id, classics.id])
        .await
        .unwrap();
    for format in [EditionFormat::Print, EditionFormat::Ebook] {
        let edition = folio::repo::edition::insert(&*tx, book, fx::bare_edition(format, None))
            .await
            .unwrap();
        folio::repo::edition::set_contributors(
            &*tx,
            edition.id,
            &[
                (translator.id, ContributorRole::Translator),
                (narrator.id, ContributorRole::Illustrator),
            ],
        )
        .await
        .unwrap();
    }
    folio::repo::search::refresh(&*tx, &ids).await.unwrap();
    tx.commit().await.unwrap();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_book_reads_the_same_through_rusqlite_as_through_the_orm() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let ids = seed(&t).await;

    for id in ids.iter().copied().chain([i64::MAX]) {
        let orm = folio::repo::book::find(t.db.reader(), id).await.unwrap();
        let fast =
            t.db.read_bounded(move |read| Box::pin(folio::repo::book::find(read, id)))
                .await
                .unwrap();
        assert_eq!(fast, orm, "book {id}");
        // A book by id is read with its parts in one statement of its own.
        if let Some(book) = orm {
            let orm = book_view::load(t.db.reader(), vec![book.clone()])
                .await
                .unwrap();
            let fast =
                t.db.read(move |read| Box::pin(book_view::load(read, vec![book])))
                    .await
                    .unwrap();
            assert_eq!(fast, orm, "book {id} with its parts");
        }
    }

    let books = folio::repo::book::list(
        t.db.reader(),
        &BookFilter::default(),
        order(SortKey::Created, false),
        None,
        100,
    )
    .await
    .unwrap()
    .rows
    .into_iter()
    .map(|row| row.book)
    .collect::<Vec<_>>();
    assert_eq!(books.len(), ids.len());
    // A page of several books, which SQLite reads as plain rows rather than JSON: through
    // SeaORM (sqlx's readers) and through rusqlite.
    let orm = book_view::load(t.db.reader(), books.clone()).await.unwrap();
    let fast =
        t.db.read(move |read| Box::pin(book_view::load(read, books)))
            .await
            .unwrap();
    assert_eq!(fast, orm);
    // And as each book alone reads, through the one JSON statement.
    let mut one_by_one = vec![];
    for book in &fast {
        let alone = book_view::load(t.db.reader(), vec![book.book.clone()]);
        one_by_one.extend(alone.await.unwrap());
    }
    assert_eq!(fast, one_by_one);
    assert!(
        fast.iter()
            .any(|view| view.editions.iter().any(|e| !e.contributors.is_empty())),
        "the comparison covers editions with contributors"
    );
    // What the comparison means to a reader: parts in credit and name order, not id order.
    let last = fast
        .iter()
        .find(|v| v.book.id == *ids.last().unwrap())
        .unwrap();
    let names = |v: &[String]| v.join(", ");
    assert_eq!(
        names(
            &last
                .authors
                .iter()
                .map(|a| a.name.clone())
                .collect::<Vec<_>>()
        ),
        "B Translator, Émile Zola"
    );
    assert_eq!(
        names(
            &last
                .categories
                .iter()
                .map(|c| c.slug.clone())
                .collect::<Vec<_>>()
        ),
        "classics, novels"
    );
    // Its audiobook from the loop, then the print and ebook editions added after.
    assert_eq!(last.editions.len(), 3);
    for edition in &last.editions[1..] {
        let credits: Vec<_> = edition.contributors.iter().map(|c| c.role).collect();
        assert_eq!(
            credits,
            [ContributorRole::Translator, ContributorRole::Illustrator]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_and_cursor_pages_the_same_through_rusqlite() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    seed(&t).await;
    let plain = BookFilter::default();
    let searching = BookFilter {
        search: Some(folio::repo::search::Terms {
            words: vec![folio::repo::search::Word {
                text: "nan".into(),
                is_term: true,
                extensions: None,
                corrections: vec!["nana".into()],
                books: None,
            }],
            phrase: vec!["nan".into()],
            phrase_possible: true,
            author_name: false,
        }),
        ..Default::default()
    };
    let mut cases = vec![];
    for key in [SortKey::Title, SortKey::Year, SortKey::Created] {
        for descending in [false, true] {
            cases.push((plain.clone(), order(key, descending)));
            cases.push((searching.clone(), order(key, descending)));
        }
    }
    cases.push((searching.clone(), order(SortKey::Relevance, false)));

    for (filter, order) in cases {
        // Two books a page, so every sort order crosses several cursors, ties and NULLs.
        let mut after = None;
        let mut seen = 0;
        loop {
            let orm = folio::repo::book::list(t.db.reader(), &filter, order, after.clone(), 2)
                .await
                .unwrap();
            let (f, a) = (filter.clone(), after.clone());
            let fast =
                t.db.read(move |read| {
                    Box::pin(async move { folio::repo::book::list(read, &f, order, a, 2).await })
                })
                .await
                .unwrap();
            assert_eq!(fast.rows, orm.rows, "{order:?} after {after:?}");
            assert_eq!(fast.has_more, orm.has_more, "{order:?} after {after:?}");
            seen += orm.rows.len();
            if !orm.has_more {
                break;
            }
            let last = orm.rows.last().unwrap();
            after = Some((last.sort_value(order.key), last.book.id));
        }
        let expected = if filter.search.is_some() { 2 } else { 7 };
        assert_eq!(seen, expected, "{order:?} with {filter:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_of_another_order_is_refused_by_both_paths() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    seed(&t).await;
    let after = Some((folio::repo::book::SortValue::Year(Some(1871)), 1));
    let (orm_after, fast_after) = (after.clone(), after);
    let title = order(SortKey::Title, false);

    let orm =
        folio::repo::book::list(t.db.reader(), &BookFilter::default(), title, orm_after, 2).await;
    let fast =
        t.db.read(move |read| {
            Box::pin(async move {
                folio::repo::book::list(read, &BookFilter::default(), title, fast_after, 2).await
            })
        })
        .await;
    assert!(matches!(orm, Err(DbError::Invalid { .. })));
    assert!(matches!(fast, Err(DbError::Invalid { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_reads_the_same_through_rusqlite_as_through_the_orm() {
    use folio::entity::enums::UserRole;
    use folio::repo::{session, user};
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let tx = t.db.begin().await.unwrap();
    let referrer = user::insert(&*tx, new_user("Ada", UserRole::Admin, None))
        .await
        .unwrap();
    let link = folio::repo::referral::insert(&*tx, referrer.id, "ada-link".into())
        .await
        .unwrap();
    let reader = user::insert(&*tx, new_user("Bö", UserRole::Reader, Some(link.id)))
        .await
        .unwrap();
    let mut sessions = vec![];
    for who in [&referrer, &reader] {
        sessions.push((who.id, session::create(&*tx, who.id).await.unwrap().id));
    }
    tx.commit().await.unwrap();

    let live = |session_id: i64, user_id: i64| {
        let db = t.db.clone();
        async move {
            let orm = session::live_user(db.reader(), session_id, user_id)
                .await
                .unwrap();
            let fast = db
                .read_bounded(move |read| Box::pin(session::live_user(read, session_id, user_id)))
                .await
                .unwrap();
            assert_eq!(fast, orm, "session {session_id} of user {user_id}");
            fast
        }
    };
    for (user_id, session_id) in sessions.iter().copied() {
        let found = live(session_id, user_id).await.expect("signed in");
        assert_eq!(found.id, user_id);
    }
    let (reader_id, reader_session) = sessions[1];
    assert_eq!(
        live(reader_session, reader_id)
            .await
            .unwrap()
            .referred_by_link_id,
        Some(link.id)
    );
    // Another's sign-in, or one signed out, finds nobody.
    assert_eq!(live(sessions[0].1, reader_id).await, None);
    let tx = t.db.begin().await.unwrap();
    session::revoke(&*tx, reader_session).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(live(reader_session, reader_id).await, None);
}

fn new_user(
    name: &str,
    role: folio::entity::enums::UserRole,
    referred_by_link_id: Option<i64>,
) -> folio::repo::user::NewUser {
    folio::repo::user::NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        password_hash: "$argon2id$not-a-real-hash".into(),
        role,
        referred_by_link_id,
    }
}

fn order(key: SortKey, descending: bool) -> BookOrder {
    BookOrder { key, descending }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_keep_working_after_reads_that_panicked() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let ids = seed(&t).await;

    // More panics than the pool has connections, on both paths: each panics its request,
    // and a connection or a permit lost with it would leave later reads waiting.
    for _ in 0..20 {
        let db = t.db.clone();
        let off_thread = tokio::spawn(async move {
            db.read(|_| -> folio::db::ReadFuture<'_, (), DbError> { panic!("a read that panics") })
                .await
        });
        assert!(off_thread.await.unwrap_err().is_panic());
        let db = t.db.clone();
        let inline = tokio::spawn(async move {
            db.read_bounded(|_| -> folio::db::ReadFuture<'_, (), DbError> {
                panic!("an inline read that panics")
            })
            .await
        });
        assert!(inline.await.unwrap_err().is_panic());
    }

    let id = ids[0];
    let found = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        t.db.read_bounded(move |read| Box::pin(folio::repo::book::find(read, id))),
    )
    .await
    .expect("a connection is free at once")
    .unwrap();
    assert_eq!(found.map(|b| b.id), Some(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_database_closes_the_hot_readers_and_checkpoints_the_wal() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let ids = seed(&t).await;
    let id = ids[0];
    t.db.read(move |read| Box::pin(folio::repo::book::find(read, id)))
        .await
        .unwrap();
    let folio::config::DatabaseUrl::Sqlite { path } = &t.url else {
        unreachable!("an SQLite test database")
    };
    let wal = path.with_extension("db-wal");
    assert!(wal.exists(), "the writes went to the WAL first");

    t.db.clone().close().await;

    let after =
        t.db.read(move |read| Box::pin(folio::repo::book::find(read, id)))
            .await;
    assert!(matches!(after, Err(DbError::Unavailable(_))), "{after:?}");
    // The writer closed last, so SQLite folded the WAL into the file and removed it.
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the WAL was checkpointed at close"
    );
}

/// Giving the page caches back when idle (`Database::release_idle_memory`, run by `serve` a few
/// seconds after the last request) leaves every connection serving: the same answers after it,
/// writes going through, and reads running alongside it unharmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_go_on_after_the_idle_caches_are_freed() {
    use crate::support::api::{Api, expect};
    use crate::support::user::{admin, new_book};

    let api = Api::start(&Backend::Sqlite).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Germinal").await;
    let path = format!("/books/{book}");
    let before = admin.get(&path).await;
    api.t.db.release_idle_memory().await;
    assert_eq!(admin.get(&path).await, before);

    let reads: Vec<_> = (0..16)
        .map(|_| {
            let (client, url) = (
                api.server.client.clone(),
                api.server.url(&format!("/api/v1{path}")),
            );
            tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
        })
        .collect();
    api.t.db.release_idle_memory().await;
    for read in reads {
        assert_eq!(read.await.unwrap(), 200);
    }
    let comment = serde_json::json!({"text": "Still writing after the caches went"});
    expect(
        admin
            .send(
                reqwest::Method::POST,
                &format!("/books/{book}/comments"),
                comment,
            )
            .await,
        201,
    )
    .await;
    api.t.db.release_idle_memory().await;
    assert_eq!(api.t.count("comment").await, 1);
}

/// Reads that count to a billion, minutes of work, on every hot reader the test database has
/// (4); aborting a task drops its read's future.
fn hold_every_hot_reader(
    db: &folio::db::Database,
) -> Vec<tokio::task::JoinHandle<Result<Vec<i64>, DbError>>> {
    let long = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) \
                SELECT count(*) FROM n";
    (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.read(move |read| {
                    Box::pin(async move { read.rows(long, &[], |row| row.get(0)).await })
                })
                .await
            })
        })
        .collect()
}

/// A read whose request goes away (the client left, the request timed out) stops: its
/// statement is interrupted and its connection comes back to the pool at once. Before, a
/// runaway read held its connection until it finished, however long, and reads after it found
/// no reader ("no SQLite reader came free in time").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_whose_request_went_away_gives_its_connection_back_at_once() {
    use std::time::{Duration, Instant};

    let t = TestDb::migrated(&Backend::Sqlite).await;
    let reads = hold_every_hot_reader(&t.db);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for read in &reads {
        assert!(!read.is_finished(), "the long reads are running");
        read.abort();
    }

    let started = Instant::now();
    let one: Vec<i64> = t
        .db
        .read(|read| Box::pin(async move { read.rows("SELECT 1", &[], |row| row.get(0)).await }))
        .await
        .expect("a reader is free again");
    assert_eq!(one, [1]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the next read waited {:?} for a reader (the pool's wait is 5 s)",
        started.elapsed()
    );
}

/// `/ready` asks every set of connections that serves requests, SQLite's hot readers included:
/// with every one of them held by a runaway read the catalog cannot be served, and the probe
/// says so; once they are free again it says ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_no_hot_reader_comes_free() {
    use std::time::{Duration, Instant};

    use crate::support::TestServer;

    let t = TestDb::migrated(&Backend::Sqlite).await;
    let server = TestServer::start(t.settings(), t.db.clone()).await;
    assert_eq!(server.get("/ready").await.status(), 200);

    let reads = hold_every_hot_reader(&t.db);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server.get("/ready").await.status(),
        503,
        "no hot reader is free"
    );

    for read in &reads {
        read.abort();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.get("/ready").await.status() != 200 {
        assert!(
            Instant::now() < deadline,
            "/ready stayed 503 once the readers were free"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
}
