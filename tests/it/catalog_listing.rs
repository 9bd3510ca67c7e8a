//! `GET /books` as a list: keyset pages through a thousand books in every sort order, every
//! filter alone and together, and the checks on its parameters.

use std::collections::HashSet;

use chrono::DateTime;
use folio::repo::book::BookFields;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;
use crate::support::user::admin_token;

backend_tests!(
    keyset_pages_visit_every_book_once_in_every_order,
    filters_narrow_the_list_alone_and_together,
);

/// Case and accent variants of one word fold to one title, so equal sort keys abound. No word
/// is a prefix of another, so every collation orders the folded titles as bytes do.
const WORDS: [&str; 7] = [
    "Émeraude",
    "emeraude",
    "EMERAUDE",
    "Zèbre",
    "zebre",
    "Alpha",
    "mondo",
];
const BOOKS: usize = 1000;

async fn keyset_pages_visit_every_book_once_in_every_order(backend: Backend) {
    let api = Api::start(&backend).await;
    // Straight through folio's library, in one unit of work: a thousand requests would be slow.
    let tx = api.t.db.begin().await.unwrap();
    let mut all = HashSet::new();
    for i in 0..BOOKS {
        let fields = BookFields {
            title: format!("{} {:02}", WORDS[i % WORDS.len()], i % 40),
            // 112 books without a year, so the last page starts inside them; many equal years.
            original_year: match i % 9 {
                0 => None,
                1 => Some(-500),
                _ => Some(1900 + (i % 37) as i32),
            },
            ..Default::default()
        };
        let book = folio::repo::book::insert(&*tx, fields).await.unwrap();
        all.insert(book.id);
    }
    tx.commit().await.unwrap();

    for sort in ["title", "-title", "year", "-year", "created", "-created"] {
        let mut seen: Vec<Value> = vec![];
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/books?sort={sort}&limit=100");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = read(&api, &path).await;
            pages += 1;
            assert!(pages <= 10, "{sort}: more pages than books");
            seen.extend(items(&page).iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => {
                    assert_eq!(
                        items(&page).len(),
                        100,
                        "{sort}: a full page before the last"
                    );
                    cursor = Some(next.to_string());
                }
                None => break,
            }
        }
        assert_eq!(pages, 10, "{sort}");
        let visited: HashSet<i64> = seen.iter().map(id).collect();
        assert_eq!(seen.len(), BOOKS, "{sort}: no book twice");
        assert_eq!(visited, all, "{sort}: every book");
        for pair in seen.windows(2) {
            assert_in_order(sort, &pair[0], &pair[1]);
        }
    }
    // A cursor belongs to its sort; the default sort pages like any other.
    let by_year = read(&api, "/books?sort=year&limit=100").await;
    let year_cursor = by_year["next_cursor"].as_str().unwrap();
    for other in ["title", "-year", "created"] {
        let path = format!("/books?sort={other}&limit=100&cursor={year_cursor}");
        refused(api.get(&path, None).await, "cursor").await;
    }
    for garbage in ["garbage", "e30", "%25%25%25"] {
        let path = format!("/books?cursor={garbage}");
        refused(api.get(&path, None).await, "cursor").await;
    }
    // A cursor that names the right sort but carries another sort's value passes the API's
    // check and is refused by the list's query: the same answer, whichever layer noticed.
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"sort": "title", "value": {"Year": 1871}, "id": 1}).to_string());
    refused(
        api.get(&format!("/books?sort=title&cursor={forged}"), None)
            .await,
        "cursor",
    )
    .await;
    let default = read(&api, "/books?limit=100").await;
    assert_eq!(
        ids(&default),
        ids(&read(&api, "/books?sort=title&limit=100").await)
    );
    let cursor = default["next_cursor"].as_str().unwrap();
    let second = read(&api, &format!("/books?limit=100&cursor={cursor}")).await;
    let titles = |page: &Value| -> Vec<String> {
        items(page)
            .iter()
            .map(|b| folio::text::fold(b["title"].as_str().unwrap()))
            .collect()
    };
    assert!(titles(&default).last() <= titles(&second).first());
}

/// `a` comes before `b` in the documented order of `sort`: title ignoring case and accents;
/// year with books without one last in both directions; creation time.
fn assert_in_order(sort: &str, a: &Value, b: &Value) {
    let descending = sort.starts_with('-');
    let ordered = |x: std::cmp::Ordering| {
        if descending { x.is_ge() } else { x.is_le() }
    };
    let ok = match sort.trim_start_matches('-') {
        "title" => {
            let fold = |book: &Value| folio::text::fold(book["title"].as_str().unwrap());
            ordered(fold(a).cmp(&fold(b)))
        }
        "year" => match (a["original_year"].as_i64(), b["original_year"].as_i64()) {
            (Some(x), Some(y)) => ordered(x.cmp(&y)),
            (_, None) => true,
            (None, Some(_)) => false,
        },
        _ => {
            let at = |book: &Value| {
                DateTime::parse_from_rfc3339(book["created_at"].as_str().unwrap()).unwrap()
            };
            ordered(at(a).cmp(&at(b)))
        }
    };
    assert!(ok, "sort={sort}: {} before {}", summary(a), summary(b));
}

fn summary(book: &Value) -> String {
    let keys = ["id", "title", "original_year", "created_at"];
    keys.map(|k| book[k].to_string()).join(" ")
}

async fn filters_narrow_the_list_alone_and_together(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let author = |name: &'static str| create(&api, &admin, "/authors", json!({"name": name}));
    let (ursula, herbert, tolkien) = (
        id(&author("Ursula K. Le Guin").await),
        id(&author("Frank Herbert").await),
        id(&author("J. R. R. Tolkien").await),
    );
    let category = |name: &'static str, parent: Option<i64>| {
        create(
            &api,
            &admin,
            "/categories",
            json!({"name": name, "parent_id": parent}),
        )
    };
    let fiction = id(&category("Fiction", None).await);
    let sf = id(&category("Science Fiction", Some(fiction)).await);
    let opera = id(&category("Space Opera", Some(sf)).await);
    let fantasy = id(&category("Fantasy", Some(fiction)).await);
    let essays_category = id(&category("Non-fiction", None).await);

    let (api_ref, admin_ref) = (&api, &admin);
    let book = |title: &str,
                year: Option<i32>,
                language: Option<&str>,
                authors: Vec<i64>,
                category: i64| {
        let body = json!({
            "title": title, "original_year": year, "language": language,
            "author_ids": authors, "category_ids": [category],
        });
        async move { id(&create(api_ref, admin_ref, "/books", body).await) }
    };
    let dune = book("Dune", Some(1965), Some("en"), vec![herbert], opera).await;
    let earthsea = book(
        "A Wizard of Earthsea",
        Some(1968),
        Some("EN"),
        vec![ursula],
        fantasy,
    )
    .await;
    let left_hand = book(
        "The Left Hand of Darkness",
        Some(1969),
        Some("en-us"),
        vec![ursula],
        sf,
    )
    .await;
    let hobbit = book("The Hobbit", Some(1937), Some("en"), vec![tolkien], fantasy).await;
    let ringe = book(
        "Der Herr der Ringe",
        Some(1954),
        Some("de"),
        vec![tolkien],
        fantasy,
    )
    .await;
    let essays = book("Essays", None, None, vec![ursula, tolkien], essays_category).await;
    for (book, format) in [
        (dune, "print"),
        (dune, "ebook"),
        (earthsea, "audiobook"),
        (left_hand, "print"),
        (hobbit, "vinyl"),
        (essays, "ebook"),
    ] {
        let path = format!("/books/{book}/editions");
        create(&api, &admin, &path, json!({"format": format})).await;
    }

    let fiction_books = vec![earthsea, ringe, dune, hobbit, left_hand];
    let cases: Vec<(String, Vec<i64>)> = vec![
        (
            String::new(),
            vec![earthsea, ringe, dune, essays, hobbit, left_hand],
        ),
        (
            format!("author_id={ursula}"),
            vec![earthsea, essays, left_hand],
        ),
        (format!("author_id={tolkien}"), vec![ringe, essays, hobbit]),
        ("category=fiction".into(), fiction_books.clone()),
        (format!("category={fiction}"), fiction_books.clone()),
        (format!("category={sf}"), vec![dune, left_hand]),
        ("category=science-fiction".into(), vec![dune, left_hand]),
        ("category=space-opera".into(), vec![dune]),
        ("category=fantasy".into(), vec![earthsea, ringe, hobbit]),
        ("category=non-fiction".into(), vec![essays]),
        ("format=print".into(), vec![dune, left_hand]),
        ("format=ebook".into(), vec![dune, essays]),
        ("format=audiobook".into(), vec![earthsea]),
        ("format=vinyl".into(), vec![hobbit]),
        ("year_from=1965".into(), vec![earthsea, dune, left_hand]),
        ("year_to=1954".into(), vec![ringe, hobbit]),
        ("year_from=1954&year_to=1965".into(), vec![ringe, dune]),
        ("year_from=1968&year_to=1968".into(), vec![earthsea]),
        ("year_from=1970".into(), vec![]),
        ("language=en".into(), vec![earthsea, dune, hobbit]),
        ("language=EN".into(), vec![earthsea, dune, hobbit]),
        ("language=en-US".into(), vec![left_hand]),
        ("language=en_us".into(), vec![left_hand]),
        ("language=de".into(), vec![ringe]),
        (
            format!("author_id={ursula}&category=fiction"),
            vec![earthsea, left_hand],
        ),
        (
            "category=fiction&format=print&year_from=1966".into(),
            vec![left_hand],
        ),
        (format!("author_id={tolkien}&language=de"), vec![ringe]),
        (format!("author_id={herbert}&format=audiobook"), vec![]),
        (
            "category=fantasy&format=vinyl&language=en&year_to=1940".into(),
            vec![hobbit],
        ),
        (
            format!("author_id={ursula}&sort=year"),
            vec![earthsea, left_hand, essays],
        ),
        (
            format!("author_id={ursula}&sort=-year"),
            vec![left_hand, earthsea, essays],
        ),
        (
            "category=fiction&sort=-title".into(),
            vec![left_hand, hobbit, dune, ringe, earthsea],
        ),
        ("format=ebook&sort=-created".into(), vec![essays, dune]),
        ("category=fantasy&limit=2".into(), vec![earthsea, ringe]),
    ];
    for (query, expected) in &cases {
        let page = read(&api, &format!("/books?{query}")).await;
        assert_eq!(&ids(&page), expected, "GET /books?{query}");
    }

    // The sub-categories are looked up at each request: a move shows at once.
    change(
        &api,
        &admin,
        &format!("/categories/{opera}"),
        json!({"parent_id": fantasy}),
    )
    .await;
    let moved = read(&api, "/books?category=fantasy").await;
    assert_eq!(ids(&moved), [earthsea, ringe, dune, hobbit]);
    assert_eq!(
        ids(&read(&api, "/books?category=science-fiction").await),
        [left_hand]
    );

    // The filtered list pages like the whole one.
    let first = read(&api, "/books?category=fiction&limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = read(
        &api,
        &format!("/books?category=fiction&limit=10&cursor={cursor}"),
    )
    .await;
    assert_eq!([ids(&first), ids(&rest)].concat(), fiction_books);
    assert_eq!(rest["next_cursor"], Value::Null);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("sort=bogus", "sort"),
        ("sort=relevance", "sort"),
        ("sort=-relevance", "sort"),
        ("format=scroll", "format"),
        ("year_from=abc", "year_from"),
        ("author_id=abc", "author_id"),
        ("language=english", "language"),
    ] {
        refused(api.get(&format!("/books?{query}"), None).await, field).await;
    }
    expect(api.get("/books?limit=100", None).await, 200).await;
    expect(api.get("/books?limit=1", None).await, 200).await;
}
