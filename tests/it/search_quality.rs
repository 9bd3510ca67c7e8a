//! Search quality: a goodbooks-format catalog of 55 well-known books with the traps real
//! catalogs have (printed titles that are not the work's, series notes, box sets and
//! companions sharing the novels' words, accents, several scripts, years that look like
//! titles), imported as a new user would, then searched the way readers type. Each query
//! must bring the book the reader meant first, on SQLite and PostgreSQL alike.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;
use crate::support::process::{folio, run};
use crate::support::user::admin_token;

backend_tests!(
    known_items_come_first,
    typos_follow_the_length_rule_and_never_the_first_letter,
    exact_matches_rank_above_corrected_ones_whatever_their_popularity,
    the_edition_keeps_its_printed_title_and_the_book_its_series,
    a_search_reads_the_catalog_as_it_is_now,
    both_ways_of_reading_tiers_page_alike,
);

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/search/goodbooks.csv"
);

/// A server over the fixture catalog, imported with `folio import goodbooks`.
async fn catalog(backend: &Backend) -> Api {
    let api = Api::start(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (output, out, err) = run(folio(dir.path())
        .args(["import", "goodbooks", FIXTURE])
        .env("DATABASE_URL", api.t.url_string()));
    assert!(output.status.success(), "{out}{err}");
    assert!(out.contains("55 created"), "{out}");
    api
}

async fn search(api: &Api, query: &str) -> Value {
    let q = utf8_percent_encode(query, NON_ALPHANUMERIC);
    read(api, &format!("/books?q={q}&limit=5")).await
}

/// The titles (the work's, as the catalog keeps it) of a search's first results.
async fn titles(api: &Api, query: &str) -> Vec<String> {
    search(api, query).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_string())
        .collect()
}

async fn known_items_come_first(backend: Backend) {
    let api = catalog(&backend).await;
    let philosopher = "Harry Potter and the Philosopher's Stone";
    let orwell = "Nineteen Eighty-Four";
    let cases: &[(&str, &str)] = &[
        // The title printed on the edition.
        ("1984", orwell),
        ("sorcerer's stone", philosopher),
        ("Harry Potter and the Sorcerer's Stone", philosopher),
        ("girl with the dragon tattoo", "Män som hatar kvinnor"),
        ("the kite runner", "The Kite Runner"),
        ("norwegian wood", "ノルウェイの森 [Noruwei no mori]"),
        // The work's own title.
        ("nineteen eighty-four", orwell),
        ("philosopher's stone", philosopher),
        ("man som hatar kvinnor", "Män som hatar kvinnor"),
        ("die verwandlung", "Die Verwandlung"),
        ("cien años de soledad", "Cien años de soledad"),
        ("преступление и наказание", "Преступление и наказание"),
        // Series.
        ("millennium larsson", "Män som hatar kvinnor"),
        ("song of ice and fire", "A Game of Thrones"),
        ("dune chronicles", "Dune"),
        ("hunger games", "The Hunger Games"),
        // An author and words of the title; an author's whole name.
        ("harry potter rowling", philosopher),
        ("tolkien hobbit", "The Hobbit or There and Back Again"),
        ("hosseini kite", "The Kite Runner"),
        ("austen pride", "Pride and Prejudice"),
        ("agatha christie", "And Then There Were None"),
        ("gabriel garcia marquez", "Cien años de soledad"),
        ("harper lee mockingbird", "To Kill a Mockingbird"),
        ("murakami", "ノルウェイの森 [Noruwei no mori]"),
        // ISBNs: 13 digits, an ISBN-10 with hyphens, an ISBN-13 with hyphens.
        ("9781001583808", "The Great Gatsby"),
        ("1-000633-52-7", orwell),
        ("978-1-00205-894-7", "Dune"),
        // One typo.
        ("hobit tolkien", "The Hobbit or There and Back Again"),
        ("kite runer hosseini", "The Kite Runner"),
        ("pride prejdice austen", "Pride and Prejudice"),
        ("hobit", "The Hobbit or There and Back Again"),
        ("gatbsy", "The Great Gatsby"),
        // Two typos in a long word, one in each of two words.
        (
            "extremly loud incredibley close",
            "Extremely Loud and Incredibly Close",
        ),
        ("dostoevsky crime", "Преступление и наказание"),
        // Accents, either way.
        ("bronte wuthering", "Wuthering Heights"),
        ("les miserables", "Les Misérables"),
        ("Brontë Jane", "Jane Eyre"),
        // Prefixes, as typed so far.
        ("harr pott", philosopher),
        ("baskerv", "The Hound of the Baskervilles"),
    ];
    assert!(cases.len() >= 30);
    let mut wrong = vec![];
    for (query, expected) in cases {
        let found = titles(&api, query).await;
        if found.first().map(String::as_str) != Some(*expected) {
            wrong.push(format!(
                "{query:?}: expected {expected:?} first, got {found:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The novels come before the box sets and companions with the same words.
    let top: Vec<String> = titles(&api, "harry potter rowling").await[..3].to_vec();
    for title in &top {
        assert!(
            !title.contains("Boxed") && !title.contains("Collection"),
            "{top:?}"
        );
    }
    // A year is not a title: "1984" finds Orwell, not the books published in 1984.
    let found = titles(&api, "1984").await;
    assert_eq!(found, vec![orwell.to_string()], "{found:?}");
}

async fn typos_follow_the_length_rule_and_never_the_first_letter(backend: Backend) {
    let api = catalog(&backend).await;
    let first = |query: &'static str| {
        let api = &api;
        async move { titles(api, query).await.first().cloned() }
    };
    // Four letters: no typo forgiven ("dnue" is "dune" with two letters swapped).
    assert_eq!(first("dnue").await, None);
    // Five to eight: one.
    assert_eq!(
        first("hobit").await.as_deref(),
        Some("The Hobbit or There and Back Again")
    );
    assert_eq!(first("gatsbyy").await.as_deref(), Some("The Great Gatsby"));
    assert_eq!(first("gaatsbyy").await, None, "two typos in eight letters");
    // Nine or more: two.
    assert_eq!(
        first("incrediblyyy").await.as_deref(),
        Some("Extremely Loud and Incredibly Close")
    );
    assert_eq!(first("inncrediblyyy").await, None, "three typos");
    // Never the first letter.
    assert_eq!(first("gobbit").await, None);
    assert_eq!(first("jatsby").await, None);

    // A corrected search says what it read: of "hobit"'s candidates, "habit" is in more books
    // here, but the first result was found by "hobbit".
    let page = search(&api, "hobit tolkien").await;
    assert_eq!(page["corrected"], serde_json::json!({"hobit": "hobbit"}));
    let page = search(&api, "hobit").await;
    assert_eq!(page["corrected"], serde_json::json!({"hobit": "hobbit"}));
    assert_eq!(
        page["items"][0]["title"],
        "The Hobbit or There and Back Again"
    );
    let page = search(&api, "hobbit tolkien").await;
    assert_eq!(page["corrected"], serde_json::json!({}));
}

async fn exact_matches_rank_above_corrected_ones_whatever_their_popularity(backend: Backend) {
    let api = catalog(&backend).await;
    // "horse" is one letter from "house": The House of the Spirits is better known, but the
    // exact match comes first and the corrected one after it.
    let found = titles(&api, "horse").await;
    assert_eq!(
        found,
        vec!["The Horse and His Boy", "La casa de los espíritus"],
        "{found:?}"
    );
    // Nothing was corrected: the word found a book as typed.
    assert_eq!(
        search(&api, "horse").await["corrected"],
        serde_json::json!({})
    );
}

async fn the_edition_keeps_its_printed_title_and_the_book_its_series(backend: Backend) {
    let api = catalog(&backend).await;
    let page = search(&api, "1984").await;
    let book = &page["items"][0];
    assert_eq!(book["title"], "Nineteen Eighty-Four");
    assert_eq!(book["editions"][0]["title"], "1984");
    assert_eq!(book["editions"][0]["isbn"], "9781000633528");

    let page = search(&api, "sorcerer's stone").await;
    let book = &page["items"][0];
    assert_eq!(book["series"], "Harry Potter");
    assert_eq!(book["series_number"], 1.0);
    assert_eq!(
        book["editions"][0]["title"],
        "Harry Potter and the Sorcerer's Stone"
    );

    // The series filters, whatever the case; a box set is in it without a number.
    let page = read(&api, "/books?series=harry%20POTTER&limit=20").await;
    let mut series: Vec<(String, Value)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["title"].as_str().unwrap().to_string(),
                b["series_number"].clone(),
            )
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(series.len(), 6, "{series:?}");
    assert!(series.contains(&("Harry Potter Boxed Set, Books 1-5".into(), Value::Null)));
    assert!(series.contains(&(
        "Harry Potter and the Cursed Child".into(),
        serde_json::json!(8.0)
    )));
}

/// A query's reading is kept between searches (service::catalog::search): a book added or
/// removed changes what the same text finds at once, corrections included.
async fn a_search_reads_the_catalog_as_it_is_now(backend: Backend) {
    let api = catalog(&backend).await;
    let admin = admin_token(&api).await;
    let author = create(
        &api,
        &admin,
        "/authors",
        serde_json::json!({"name": "Yevgeny Zamyatin"}),
    )
    .await;
    // Twice, so the second is the kept reading.
    for _ in 0..2 {
        let page = search(&api, "zamyatn").await;
        assert_eq!(page["items"], serde_json::json!([]), "{page}");
        assert_eq!(page["corrected"], serde_json::json!({}));
    }

    let book = create(
        &api,
        &admin,
        "/books",
        serde_json::json!({"title": "We", "author_ids": [id(&author)]}),
    )
    .await;
    let page = search(&api, "zamyatn").await;
    assert_eq!(page["items"][0]["title"], "We", "{page}");
    assert_eq!(
        page["corrected"],
        serde_json::json!({"zamyatn": "zamyatin"})
    );

    let deleted = api
        .delete(&format!("/books/{}", id(&book)), Some(&admin))
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(titles(&api, "zamyatin").await, Vec::<String>::new());
    assert_eq!(titles(&api, "zamyatn").await, Vec::<String>::new());
}

/// PostgreSQL reads a search's tiers one of two ways, by how many books its words find
/// (`repo::search::Plan`): each tier's matches off the GIN index then sorted, or the key index
/// walked until a page is full. Both must give the same pages, cursor after cursor (on SQLite
/// the one way twice).
async fn both_ways_of_reading_tiers_page_alike(backend: Backend) {
    use folio::repo::book::{BookFilter, BookOrder, SortKey, list};
    let api = catalog(&backend).await;
    let db = &api.t.db;
    let relevance = BookOrder {
        key: SortKey::Relevance,
        descending: false,
    };
    for query in [
        "harry potter",
        "the",
        "hobit",
        "stone",
        "agatha christie",
        "pott",
    ] {
        let q = query.to_string();
        let analysis = db
            .read(move |read| {
                Box::pin(async move { folio::service::catalog::search::analyze(read, &q).await })
            })
            .await
            .unwrap()
            .unwrap();
        let mut pages = vec![];
        for books in [Some(1), None] {
            let mut terms = analysis.terms.clone();
            for word in &mut terms.words {
                word.books = books;
            }
            let filter = BookFilter {
                search: Some(terms),
                ..Default::default()
            };
            let (mut after, mut ids) = (None, vec![]);
            loop {
                let page = list(db.reader(), &filter, relevance, after.clone(), 3)
                    .await
                    .unwrap();
                ids.extend(page.rows.iter().map(|r| (r.book.id, r.relevance)));
                let Some(last) = page.rows.last().filter(|_| page.has_more) else {
                    break;
                };
                after = Some((last.sort_value(relevance.key), last.book.id));
            }
            pages.push(ids);
        }
        assert!(!pages[0].is_empty(), "{query}: {:?}", analysis.terms);
        assert_eq!(pages[0], pages[1], "{query}");
    }
}
