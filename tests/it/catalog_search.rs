//! `GET /books?q=`: full-text search over titles, subtitles, author names and descriptions,
//! every word a prefix, accents ignored, most relevant first; and an index that follows every
//! write that changes what a book is found by.

use std::collections::HashSet;

use folio::entity::enums::EditionFormat;
use folio::repo::book::BookFields;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;
use crate::support::fixtures as fx;
use crate::support::user::admin_token;

backend_tests!(
    search_finds_prefixes_accents_authors_and_descriptions,
    the_index_follows_renames_and_deletes,
    relevance_pages_visit_every_match_once_when_ranks_tie,
    a_cursor_from_the_default_order_of_a_search_is_another_sorts,
);

/// The ids `GET /books?q=…` answers, in order.
async fn search(api: &Api, query: &str) -> Vec<i64> {
    let page = read(api, &format!("/books?q={query}")).await;
    ids(&page)
}

/// Books with a title and description, inserted and indexed in one unit of work.
async fn insert(api: &Api, books: &[(&str, Option<&str>)]) -> Vec<i64> {
    let tx = api.t.db.begin().await.unwrap();
    let mut ids = vec![];
    for (title, description) in books {
        let fields = BookFields {
            title: title.to_string(),
            description: description.map(str::to_string),
            ..Default::default()
        };
        ids.push(folio::repo::book::insert(&*tx, fields).await.unwrap().id);
    }
    folio::repo::search::refresh(&*tx, &ids).await.unwrap();
    tx.commit().await.unwrap();
    ids
}

/// No book at all.
const NONE: [i64; 0] = [];

fn set(ids: &[i64]) -> HashSet<i64> {
    ids.iter().copied().collect()
}

async fn search_finds_prefixes_accents_authors_and_descriptions(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let author = |name: &'static str| create(&api, &admin, "/authors", json!({"name": name}));
    let emily = id(&author("Emily Brontë").await);
    let rowling = id(&author("J. K. Rowling").await);
    let herbert = id(&author("Frank Herbert").await);
    let fantasy = id(&create(&api, &admin, "/categories", json!({"name": "Fantasy"})).await);
    let book = |body: Value| create(&api, &admin, "/books", body);

    // Created first, so that an id order could not pass for relevance.
    let dune = id(&book(json!({
        "title": "Dune", "original_year": 1965, "author_ids": [herbert],
        "description": "A desert planet, a spice, and a lighthouse keeper's son.",
    }))
    .await);
    let potter = id(&book(json!({
        "title": "Harry Potter and the Philosopher's Stone", "original_year": 1997,
        "language": "en", "author_ids": [rowling], "category_ids": [fantasy],
    }))
    .await);
    let wuthering = id(&book(json!({
        "title": "Wuthering Heights", "subtitle": "A Yorkshire tale", "original_year": 1847,
        "author_ids": [emily],
    }))
    .await);
    let letters = id(&book(json!({
        "title": "Brontë's letters", "original_year": 1900,
        "description": "Correspondence of the sisters.",
    }))
    .await);
    let lighthouse = id(&book(json!({"title": "The Lighthouse", "original_year": 1927})).await);
    let path = format!("/books/{wuthering}/editions");
    create(&api, &admin, &path, json!({"format": "print"})).await;

    let exact: [(&str, Vec<i64>); 15] = [
        ("harr%20pott", vec![potter]),
        ("pott%20harr", vec![potter]),
        ("HARRY", vec![potter]),
        ("harry%20potter%20stone", vec![potter]),
        ("philosopher%27s", vec![potter]),
        ("harry%20dune", vec![]),
        ("rowling", vec![potter]),
        ("j%20k%20rowl", vec![potter]),
        ("emily", vec![wuthering]),
        ("yorkshire", vec![wuthering]),
        ("desert%20planet", vec![dune]),
        ("correspondence", vec![letters]),
        ("lighthouse", vec![lighthouse, dune]),
        ("zzzz", vec![]),
        ("%21%21%21", vec![]),
    ];
    for (q, expected) in &exact {
        assert_eq!(&search(&api, q).await, expected, "q={q}");
    }
    for q in ["bronte", "BRONT", "bront%C3%AB", "BRONT%C3%8B"] {
        let found = search(&api, q).await;
        assert_eq!(found.len(), 2, "q={q}: {found:?}");
        assert_eq!(set(&found), set(&[wuthering, letters]), "q={q}");
    }
    let nothing = read(&api, "/books?q=zzzz").await;
    assert_eq!(
        nothing,
        json!({"items": [], "next_cursor": null, "corrected": {}})
    );

    // With filters, and with an explicit sort instead of relevance.
    let combined: [(String, Vec<i64>); 12] = [
        ("bronte&year_to=1850".into(), vec![wuthering]),
        (format!("bronte&author_id={emily}"), vec![wuthering]),
        ("bronte&format=print".into(), vec![wuthering]),
        ("harry&category=fantasy".into(), vec![potter]),
        ("harry&language=EN".into(), vec![potter]),
        ("harry&language=de".into(), vec![]),
        ("lighthouse&year_from=1950".into(), vec![dune]),
        ("bronte&sort=title".into(), vec![letters, wuthering]),
        ("bronte&sort=-year".into(), vec![letters, wuthering]),
        ("lighthouse&sort=-year".into(), vec![dune, lighthouse]),
        ("lighthouse&sort=created".into(), vec![dune, lighthouse]),
        ("lighthouse&sort=relevance".into(), vec![lighthouse, dune]),
    ];
    for (q, expected) in &combined {
        assert_eq!(&search(&api, q).await, expected, "q={q}");
    }

    // Relevance pages like any other order.
    let first = read(&api, "/books?q=lighthouse&limit=1").await;
    assert_eq!(ids(&first), [lighthouse]);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = read(
        &api,
        &format!("/books?q=lighthouse&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&second), [dune]);
    assert_eq!(second["next_cursor"], Value::Null);
    let first = read(&api, "/books?q=bronte&limit=1&sort=title").await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = read(
        &api,
        &format!("/books?q=bronte&limit=1&sort=title&cursor={cursor}"),
    )
    .await;
    assert_eq!([ids(&first), ids(&second)].concat(), [letters, wuthering]);
}

/// Without `sort`, a search is in relevance order and a plain list in title order; a cursor
/// of one is another sort's cursor for the other, refused like any other sort's.
async fn a_cursor_from_the_default_order_of_a_search_is_another_sorts(backend: Backend) {
    let api = Api::start(&backend).await;
    insert(
        &api,
        &[
            ("Lighthouse", None),
            ("The Lighthouse", None),
            ("Lighthouses", None),
        ],
    )
    .await;

    let searched = read(&api, "/books?q=lighthouse&limit=1").await;
    let relevance = searched["next_cursor"].as_str().expect("a second page");
    let listed = read(&api, "/books?limit=1").await;
    let title = listed["next_cursor"].as_str().expect("a second page");
    // With an explicit sort the mismatch is refused, naming the cursor...
    let explicit = api
        .get(&format!("/books?sort=title&cursor={relevance}"), None)
        .await;
    refused(explicit, "cursor").await;
    // ...and with the default sorts it is the same answer.
    let reused = api.get(&format!("/books?cursor={relevance}"), None).await;
    refused(reused, "cursor").await;
    let reused = api
        .get(&format!("/books?q=lighthouse&cursor={title}"), None)
        .await;
    refused(reused, "cursor").await;
}

async fn the_index_follows_renames_and_deletes(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let mary = id(&create(&api, &admin, "/authors", json!({"name": "Mary Shelley"})).await);
    let body = json!({"title": "Frankenstein", "author_ids": [mary]});
    let frankenstein = id(&create(&api, &admin, "/books", body).await);
    let body = json!({"title": "The Last Man", "author_ids": [mary], "description": "A plague."});
    let last_man = id(&create(&api, &admin, "/books", body).await);
    let both = set(&[frankenstein, last_man]);
    assert_eq!(set(&search(&api, "shelley").await), both);

    // Renaming the author re-indexes every book crediting her.
    let body = json!({"name": "Mary Wollstonecraft Godwin"});
    change(&api, &admin, &format!("/authors/{mary}"), body).await;
    assert_eq!(set(&search(&api, "godwin").await), both);
    assert_eq!(set(&search(&api, "wollstone").await), both);
    assert_eq!(search(&api, "shelley").await, NONE);
    // A change of bio alone leaves the index as it was.
    change(
        &api,
        &admin,
        &format!("/authors/{mary}"),
        json!({"bio": "Novelist."}),
    )
    .await;
    assert_eq!(set(&search(&api, "godwin").await), both);

    // Title, description and subtitle changes.
    let frankenstein_path = format!("/books/{frankenstein}");
    let last_man_path = format!("/books/{last_man}");
    change(
        &api,
        &admin,
        &frankenstein_path,
        json!({"title": "The Modern Prometheus"}),
    )
    .await;
    assert_eq!(search(&api, "prometheus").await, [frankenstein]);
    assert_eq!(search(&api, "frankenstein").await, NONE);
    change(
        &api,
        &admin,
        &last_man_path,
        json!({"description": "A pandemic."}),
    )
    .await;
    assert_eq!(search(&api, "pandemic").await, [last_man]);
    assert_eq!(search(&api, "plague").await, NONE);
    change(
        &api,
        &admin,
        &last_man_path,
        json!({"subtitle": "A future"}),
    )
    .await;
    assert_eq!(search(&api, "future").await, [last_man]);
    change(&api, &admin, &last_man_path, json!({"subtitle": null})).await;
    assert_eq!(search(&api, "future").await, NONE);

    // New authors on a book: found by the new name, no longer by the old.
    let percy = id(&create(&api, &admin, "/authors", json!({"name": "Percy Shelley"})).await);
    change(
        &api,
        &admin,
        &frankenstein_path,
        json!({"author_ids": [percy]}),
    )
    .await;
    assert_eq!(search(&api, "percy").await, [frankenstein]);
    assert_eq!(search(&api, "godwin").await, [last_man]);

    // A deleted book leaves the index; the other stays.
    expect(api.delete(&frankenstein_path, Some(&admin)).await, 204).await;
    assert_eq!(search(&api, "prometheus").await, NONE);
    assert_eq!(search(&api, "percy").await, NONE);
    assert_eq!(search(&api, "godwin").await, [last_man]);
    let body = json!({"title": "Mathilda", "author_ids": [percy]});
    let mathilda = id(&create(&api, &admin, "/books", body).await);
    assert_eq!(search(&api, "percy").await, [mathilda]);
    assert_eq!(search(&api, "prometheus").await, NONE);
    assert_eq!(api.t.count("book_search").await, api.t.count("book").await);
}

/// Identical books rank the same; a page boundary inside the tie loses and repeats nothing.
/// Searching alone, the page is taken among the matches before their books are read; with
/// another filter, after: both visit the same books in the same order.
async fn relevance_pages_visit_every_match_once_when_ranks_tie(backend: Backend) {
    let api = Api::start(&backend).await;
    let books: Vec<(&str, Option<&str>)> = (0..30)
        .map(|i| match i % 3 {
            0 => ("Notes", Some("Kept a lighthouse.")),
            1 => ("Lighthouse", None),
            _ => ("Lighthouse", Some("Unrelated words.")),
        })
        .collect();
    let matching = insert(&api, &books).await;
    insert(&api, &[("Elsewhere", None)]).await;
    let by_description: HashSet<i64> = matching.iter().copied().step_by(3).collect();

    let seen = visit(&api, "q=lighthouse&limit=4").await;
    assert_eq!(seen.len(), 30, "{seen:?}");
    assert_eq!(set(&seen), set(&matching));
    assert!(
        seen[20..].iter().all(|id| by_description.contains(id)),
        "title matches first: {seen:?}"
    );

    use sea_orm::ConnectionTrait;
    let tx = api.t.db.begin().await.unwrap();
    tx.execute_unprepared("UPDATE book SET language = 'en'")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(visit(&api, "q=lighthouse&limit=4&language=en").await, seen);
}

/// Every id of a listing, page after page.
async fn visit(api: &Api, query: &str) -> Vec<i64> {
    let mut seen = vec![];
    let mut path = format!("/books?{query}");
    loop {
        let page = read(api, &path).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/books?{query}&cursor={cursor}"),
            None => return seen,
        }
        assert!(seen.len() <= 100, "pages repeat books: {seen:?}");
    }
}

/// Searches narrowed by a filter, eight at once on a catalog of 5,000 books, leave the rest of
/// the catalog answering: each runs its full-text match once, so none holds a reader for long.
/// Before, SQLite ran the whole match again for every book the filter let through, and a few
/// such searches held every reader while `GET /books/{id}` waited its turn, then got 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_searches_leave_the_catalog_answering() {
    use std::time::{Duration, Instant};

    let api = Api::start(&Backend::Sqlite).await;
    let first = insert(&api, &[("An atlas of apples", Some("a story"))]).await[0];
    // 4,999 more like it by one author, in a few statements as an import writes them, and a
    // print edition of every book.
    let tx = api.t.db.begin().await.unwrap();
    let anne = fx::author(&*tx, "Anne Author").await.unwrap();
    let more = (2..=5000).map(|i| BookFields {
        title: format!("An atlas of apples {i}"),
        description: Some("a story about apples".into()),
        ..Default::default()
    });
    let mut books = fx::books_in_bulk(&*tx, more.collect(), &[anne.id])
        .await
        .unwrap();
    books.push(first);
    let print = books
        .iter()
        .map(|book| (*book, fx::bare_edition(EditionFormat::Print, None)));
    folio::repo::edition::insert_all(&*tx, print.collect())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(api.t.count("book").await, 5000);

    let searches: Vec<_> = (0..8)
        .map(|_| {
            let (client, url) = (
                api.server.client.clone(),
                api.server.url("/api/v1/books?q=a&format=print"),
            );
            tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    while !searches.iter().all(|s| s.is_finished()) {
        let started = Instant::now();
        let status = api.get(&format!("/books/{first}"), None).await.status();
        assert_eq!(status, 200, "a book reads while searches run");
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for search in searches {
        assert_eq!(search.await.unwrap(), 200);
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a book by id waited {slowest:?} behind filtered searches"
    );
}
