//! A page of books with authors, categories, editions and contributors costs a fixed number
//! of statements, whatever its size: no query per row.

use std::sync::atomic::Ordering;

use folio::entity::enums::EditionFormat;
use folio::repo::book::BookFields;
use serde_json::Value;

use crate::backend_tests;
use crate::support::fixtures as fx;
use crate::support::{Backend, TestDb, TestServer};

backend_tests!(a_page_of_books_costs_the_same_statements_at_any_size);

/// 120 books, each with two authors, a category, and two editions with a narrator.
async fn seed(t: &TestDb) {
    let tx = t.db.begin().await.unwrap();
    let narrator = folio::repo::author::insert(&*tx, "A Narrator".into(), None)
        .await
        .unwrap();
    let category = folio::repo::category::insert(&*tx, "Novels".into(), "novels".into(), None)
        .await
        .unwrap();
    let mut ids = vec![];
    for i in 0..120 {
        let book = folio::repo::book::insert(
            &*tx,
            BookFields {
                title: format!("Book {i:03}"),
                original_year: Some(1900 + i),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        ids.push(book.id);
        let first = folio::repo::author::insert(&*tx, format!("First {i}"), None)
            .await
            .unwrap();
        let second = folio::repo::author::insert(&*tx, format!("Second {i}"), None)
            .await
            .unwrap();
        folio::repo::book::set_authors(&*tx, book.id, &[first.id, second.id])
            .await
            .unwrap();
        folio::repo::book::set_categories(&*tx, book.id, &[category.id])
            .await
            .unwrap();
        for format in [EditionFormat::Ebook, EditionFormat::Audiobook] {
            fx::narrated_edition(
                &*tx,
                book.id,
                fx::bare_edition(format, Some(999)),
                narrator.id,
            )
            .await
            .unwrap();
        }
    }
    folio::repo::search::refresh(&*tx, &ids).await.unwrap();
    tx.commit().await.unwrap();
}

async fn a_page_of_books_costs_the_same_statements_at_any_size(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    seed(&t).await;
    let mut db = t.db.clone();
    let statements = db.count_statements();
    let server = TestServer::start(t.settings(), db).await;

    let mut cost = vec![];
    for limit in [1, 10, 100] {
        statements.store(0, Ordering::SeqCst);
        let page: Value = server
            .get(&format!(
                "/api/v1/books?limit={limit}&category=novels&format=ebook"
            ))
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), limit);
        for book in items {
            assert_eq!(book["authors"].as_array().unwrap().len(), 2);
            assert_eq!(book["categories"][0]["slug"], "novels");
            let editions = book["editions"].as_array().unwrap();
            assert_eq!(editions.len(), 2);
            assert_eq!(editions[0]["contributors"][0]["role"], "narrator");
        }
        cost.push(statements.load(Ordering::SeqCst));
    }
    assert!(cost[0] > 0, "statements are counted");
    // The category by slug, its subtree, the page, then the authors, categories, editions,
    // covers and contributors of the whole page: aggregated to JSON in one statement, or on
    // SQLite, for more than one book, one plain statement each (src/repo/book_view.rs says
    // why). A page of one book reads its parts as a book by id does, in the one statement.
    let parts = match backend {
        Backend::Sqlite => 5,
        Backend::Postgres { .. } => 1,
    };
    assert_eq!(
        cost,
        [3 + 1, 3 + parts, 3 + parts],
        "pages of 1, 10 and 100 books: a fixed number of statements, not one per row"
    );

    // A search page too: the vocabulary's generation, the word looked up in the vocabulary
    // (what it begins; four letters have no typo to correct), the page off the first tier,
    // which fills it, then the same parts. The same search again reuses the word's reading.
    for (time, reading) in [("first", 1), ("second", 0)] {
        statements.store(0, Ordering::SeqCst);
        let found: Value = server
            .get("/api/v1/books?q=book&limit=100")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found["items"].as_array().unwrap().len(), 100);
        assert_eq!(
            statements.load(Ordering::SeqCst),
            2 + reading + parts,
            "the {time} search page: the generation, the word's vocabulary (once), the page, \
             then the same parts"
        );
    }

    // An OPDS feed: the same page and parts, then every edition's files at once (and, for a
    // signed-in reader, their purchases at once): 20 entries, not 20 more statements.
    for feed in ["/opds/v1.2/new", "/opds/v2/categories/novels"] {
        statements.store(0, Ordering::SeqCst);
        let body = server.get(feed).await.text().await.unwrap();
        assert!(
            body.matches("Book ").count() >= 20,
            "{feed}: a page of 20 entries"
        );
        // A category's feed finds it and its children, and the listing finds it and its
        // subtree again.
        let category = if feed.contains("categories") { 4 } else { 0 };
        assert_eq!(
            statements.load(Ordering::SeqCst),
            category + 1 + parts + 1,
            "{feed}: the category, the page, its parts, the editions' files"
        );
    }
}
