//! `folio import goodreads` and `folio import discogs` as a user runs them, on exports written
//! here in the sites' real formats: what lands in the catalog (seen through the API), what a
//! reader's `--user` import makes theirs, rejects, `--strict`, and second runs that add nothing.
//! Bytes that are not UTF-8 and empty files in every format, `folio import catalog` too.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::api::{Api, PASSWORD, id, items, read, time};
use crate::support::process::{folio, import, run, run_with_input};
use crate::support::user::{N, signed_in};
use crate::support::{Backend, TestDb};

backend_tests!(
    a_goodreads_export_is_understood_and_a_second_run_adds_nothing,
    the_older_goodreads_export_reads_the_same,
    a_goodreads_import_for_a_user_brings_their_ratings_reviews_and_shelves,
    a_discogs_collection_becomes_vinyl_editions,
    a_strict_import_with_a_bad_row_imports_nothing,
    a_goodreads_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported,
    a_discogs_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported,
    an_empty_file_says_so_in_every_format,
    a_catalog_line_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported,
    a_catalog_book_whose_edition_breaks_a_rule_is_rejected_and_the_rest_imported,
    a_catalog_book_whose_other_parts_break_a_rule_is_rejected_and_the_rest_imported,
    an_empty_catalog_exports_and_imports_as_nothing,
);

// ---------------------------------------------------------------------------------------------
// Goodreads "Export Library"
// ---------------------------------------------------------------------------------------------

/// The current export: 24 columns.
const CURRENT: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,\
    My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,\
    Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,\
    Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies";

/// The older export: 31 columns, `Recommended For`, `Condition`, `BCID` and others besides.
const OLDER: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,\
    My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,\
    Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,\
    Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Recommended For,\
    Recommended By,Owned Copies,Original Purchase Date,Original Purchase Location,\
    Condition,Condition Description,BCID";

type Fields = &'static [(&'static str, &'static str)];

/// ISBNs as spreadsheet formulas; the series in the title; a read book with a review.
const HUNGER_GAMES: Fields = &[
    ("Book Id", "2767052"),
    ("Title", "The Hunger Games (The Hunger Games, #1)"),
    ("Author", "Suzanne Collins"),
    ("Author l-f", "Collins, Suzanne"),
    ("ISBN", "=\"0439023483\""),
    ("ISBN13", "=\"9780439023481\""),
    ("My Rating", "5"),
    ("Average Rating", "4.32"),
    ("Publisher", "Scholastic Press"),
    ("Binding", "Hardcover"),
    ("Number of Pages", "374"),
    ("Year Published", "2008"),
    ("Original Publication Year", "2008"),
    ("Date Read", "2012/03/04"),
    ("Date Added", "2011/12/01"),
    ("Exclusive Shelf", "read"),
    ("My Review", "Could not put it down.<br/><br/>Really."),
    ("Read Count", "1"),
    ("Owned Copies", "0"),
    ("Recommended For", "Anyone, really"),
    ("Condition", "Like new"),
    ("BCID", "123-4567890"),
];

/// Only an ISBN-10; 0 pages is unknown; read, rated without a review, no Date Read.
const DUNE: Fields = &[
    ("Book Id", "234225"),
    ("Title", "Dune (Dune, #1)"),
    ("Author", "Frank Herbert"),
    ("Author l-f", "Herbert, Frank"),
    ("ISBN", "=\"0441172717\""),
    ("ISBN13", "=\"\""),
    ("My Rating", "4"),
    ("Average Rating", "4.27"),
    ("Publisher", "Ace Books"),
    ("Binding", "Mass Market Paperback"),
    ("Number of Pages", "0"),
    ("Year Published", "1990"),
    ("Original Publication Year", "1965"),
    ("Date Added", "2015/06/07"),
    ("Exclusive Shelf", "read"),
    ("Read Count", "1"),
];

/// An ebook; Additional Authors, comma-joined, repeating the main one; currently reading.
const GOOD_OMENS: Fields = &[
    ("Book Id", "12067"),
    (
        "Title",
        "Good Omens: The Nice and Accurate Prophecies of Agnes Nutter, Witch",
    ),
    ("Author", "Terry Pratchett"),
    ("Author l-f", "Pratchett, Terry"),
    ("Additional Authors", "Neil Gaiman, Terry Pratchett"),
    ("ISBN", "=\"\""),
    ("ISBN13", "=\"9780060853983\""),
    ("My Rating", "0"),
    ("Average Rating", "4.25"),
    ("Publisher", "William Morrow"),
    ("Binding", "Kindle Edition"),
    ("Number of Pages", "412"),
    ("Year Published", "2006"),
    ("Original Publication Year", "1990"),
    ("Date Added", "2024/01/02"),
    ("Bookshelves", "currently-reading"),
    ("Bookshelves with positions", "currently-reading (#1)"),
    ("Exclusive Shelf", "currently-reading"),
];

/// An audiobook without an ISBN (`=""` in both columns); its narrator among the authors;
/// only on the to-read shelf.
const HAIL_MARY: Fields = &[
    ("Book Id", "54493401"),
    ("Title", "Project Hail Mary"),
    ("Author", "Andy Weir"),
    ("Author l-f", "Weir, Andy"),
    ("Additional Authors", "Ray Porter"),
    ("ISBN", "=\"\""),
    ("ISBN13", "=\"\""),
    ("My Rating", "0"),
    ("Average Rating", "4.52"),
    ("Publisher", "Audible Studios"),
    ("Binding", "Audible Audio"),
    ("Year Published", "2021"),
    ("Original Publication Year", "2021"),
    ("Date Added", "2023/05/06"),
    ("Exclusive Shelf", "to-read"),
];

/// No title: rejected.
const UNTITLED: Fields = &[
    ("Book Id", "99"),
    ("Author", "Anonymous"),
    ("ISBN", "=\"\""),
    ("ISBN13", "=\"\""),
    ("My Rating", "3"),
    ("Exclusive Shelf", "read"),
    ("Date Read", "2020/01/01"),
];

/// The export with `header`: each row fills the columns it names (those the header has),
/// the rest empty, quoted as Goodreads quotes (`"=""0439023483"""`).
fn goodreads_csv(header: &str, rows: &[Fields]) -> String {
    let columns: Vec<&str> = header.split(',').collect();
    let mut csv = csv::Writer::from_writer(vec![]);
    csv.write_record(&columns).unwrap();
    for row in rows {
        let value = |column: &&str| row.iter().find(|(name, _)| name == column).map(|f| f.1);
        csv.write_record(columns.iter().map(|c| value(c).unwrap_or("")))
            .unwrap();
    }
    String::from_utf8(csv.into_inner().unwrap()).unwrap()
}

/// The library every Goodreads test imports: four books, the bad row last.
fn library(header: &str) -> String {
    goodreads_csv(
        header,
        &[HUNGER_GAMES, DUNE, GOOD_OMENS, HAIL_MARY, UNTITLED],
    )
}

// ---------------------------------------------------------------------------------------------
// Running folio
// ---------------------------------------------------------------------------------------------

/// Runs the import, expects success, and answers the summary line.
fn import_ok(dir: &Path, t: &TestDb, kind: &str, args: &[&str]) -> String {
    let (code, out, err) = import(dir, t, kind, args);
    assert_eq!(code, Some(0), "folio import {kind} {args:?}: {out}{err}");
    let summary = out.lines().next().unwrap_or_default().to_string();
    assert!(summary.starts_with("Read "), "{out}");
    summary
}

/// The summary says `read` rows and these counts ("Read 5 rows in 0.1 s (…): 4 created, …").
fn assert_summary(summary: &str, read: u64, created: u64, matched: u64, rejected: u64) {
    assert!(
        summary.starts_with(&format!("Read {read} rows in ")),
        "{summary}"
    );
    let counts = format!(": {created} created, {matched} matched, {rejected} rejected.");
    assert!(
        summary.ends_with(&counts),
        "expected {counts:?} in {summary:?}"
    );
}

/// `folio user create` with [`PASSWORD`] on standard input.
fn create_user(dir: &Path, t: &TestDb, username: &str) {
    let (output, _, err) = run_with_input(
        folio(dir)
            .args(["user", "create", "--username", username, "--password-stdin"])
            .args(["--email", &format!("{username}@example.org")])
            .env("DATABASE_URL", t.url_string()),
        &format!("{PASSWORD}\n"),
    );
    assert!(output.status.success(), "user create: {err}");
}

/// The one book a search finds.
async fn the_book(api: &Api, query: &str) -> Value {
    let page = read(api, &format!("/books?q={}", query.replace(' ', "%20"))).await;
    assert_eq!(items(&page).len(), 1, "one book for {query:?}: {page}");
    page["items"][0].clone()
}

/// The one edition with this ISBN.
async fn the_edition(api: &Api, isbn: &str) -> Value {
    let page = read(api, &format!("/editions?isbn={isbn}")).await;
    assert_eq!(items(&page).len(), 1, "one edition for {isbn}: {page}");
    page["items"][0].clone()
}

fn names(book: &Value) -> Vec<&str> {
    book["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect()
}

fn noon(date: &str) -> DateTime<Utc> {
    format!("{date}T12:00:00Z").parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Goodreads
// ---------------------------------------------------------------------------------------------

/// What `library()` puts in the catalog, whichever header it was written with.
async fn assert_the_library_is_in_the_catalog(api: &Api) {
    // The Hunger Games: found by its ISBN-10 too, series dropped from the title.
    let hunger = the_edition(api, "0439023483").await;
    assert_eq!(hunger["isbn"], "9780439023481");
    assert_eq!(hunger["format"], "print", "Hardcover");
    assert_eq!(hunger["publisher"], "Scholastic Press");
    assert_eq!(hunger["pages"], 374);
    let book = read(api, &format!("/books/{}", hunger["book_id"])).await;
    assert_eq!(book["title"], "The Hunger Games");
    assert_eq!(names(&book), ["Suzanne Collins"]);
    assert_eq!(book["original_year"], 2008);

    // Dune: only an ISBN-10, its leading zero kept from the formula.
    let dune = the_edition(api, "9780441172719").await;
    assert_eq!(dune["format"], "print", "Mass Market Paperback");
    assert_eq!(dune["publisher"], "Ace Books");
    assert_eq!(dune["pages"], N, "0 pages is unknown");
    let book = read(api, &format!("/books/{}", dune["book_id"])).await;
    assert_eq!(book["title"], "Dune");
    assert_eq!(
        book["original_year"], 1965,
        "the original year, not this edition's"
    );

    // Good Omens: the Kindle edition is an ebook; the main author first, not repeated.
    let omens = the_book(api, "good omens").await;
    assert_eq!(
        omens["title"],
        "Good Omens: The Nice and Accurate Prophecies of Agnes Nutter, Witch"
    );
    assert_eq!(names(&omens), ["Terry Pratchett", "Neil Gaiman"]);
    assert_eq!(omens["original_year"], 1990);
    let editions = omens["editions"].as_array().unwrap();
    assert_eq!(editions.len(), 1, "{omens}");
    assert_eq!(editions[0]["format"], "ebook", "Kindle Edition");
    assert_eq!(editions[0]["isbn"], "9780060853983");
    assert_eq!(editions[0]["pages"], 412);

    // Project Hail Mary: `=""` is no ISBN; Audible Audio is an audiobook.
    let mary = the_book(api, "hail mary").await;
    assert_eq!(names(&mary), ["Andy Weir", "Ray Porter"]);
    let editions = mary["editions"].as_array().unwrap();
    assert_eq!(editions.len(), 1, "{mary}");
    assert_eq!(editions[0]["format"], "audiobook", "Audible Audio");
    assert_eq!(editions[0]["isbn"], N);
    assert_eq!(editions[0]["publisher"], "Audible Studios");

    assert_eq!(api.t.count("book").await, 4);
    assert_eq!(api.t.count("edition").await, 4);
    assert_eq!(api.t.count("author").await, 6);
}

async fn a_goodreads_export_is_understood_and_a_second_run_adds_nothing(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("library.csv"), library(CURRENT)).unwrap();

    let summary = import_ok(dir.path(), &t, "goodreads", &["library.csv"]);
    assert_summary(&summary, 5, 4, 0, 1);

    // The bad row, as it was read, with its reason.
    let rejects = dir.path().join("library.rejects.csv");
    let mut rejects = csv::Reader::from_path(rejects).unwrap();
    let header = rejects.headers().unwrap().clone();
    assert_eq!(header.len(), 25, "the 24 columns and a reason");
    assert_eq!(&header[24], "reason");
    let rows: Vec<csv::StringRecord> = rejects.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(&rows[0][2], "Anonymous");
    assert_eq!(&rows[0][5], "=\"\"", "written back as read");
    assert_eq!(&rows[0][24], "no title");

    let api = Api::serve(t).await;
    assert_the_library_is_in_the_catalog(&api).await;
    assert_eq!(
        api.t.count("comment").await,
        0,
        "no --user: no reader's part"
    );
    assert_eq!(api.t.count("progress").await, 0);

    // Run again: every book is recognised, nothing is added.
    let summary = import_ok(dir.path(), &api.t, "goodreads", &["library.csv"]);
    assert_summary(&summary, 5, 0, 4, 1);
    assert_the_library_is_in_the_catalog(&api).await;
}

async fn the_older_goodreads_export_reads_the_same(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let older = library(OLDER);
    assert_eq!(older.lines().next().unwrap().split(',').count(), 31);
    std::fs::write(dir.path().join("older.csv"), older).unwrap();
    std::fs::write(dir.path().join("current.csv"), library(CURRENT)).unwrap();

    let summary = import_ok(dir.path(), &t, "goodreads", &["older.csv"]);
    assert_summary(&summary, 5, 4, 0, 1);
    let rejects = std::fs::read_to_string(dir.path().join("older.rejects.csv")).unwrap();
    assert!(
        rejects.lines().next().unwrap().ends_with(",BCID,reason"),
        "{rejects}"
    );
    assert!(rejects.trim_end().ends_with(",no title"), "{rejects}");

    let api = Api::serve(t).await;
    assert_the_library_is_in_the_catalog(&api).await;

    // The same library in the current format is the same books.
    let summary = import_ok(dir.path(), &api.t, "goodreads", &["current.csv"]);
    assert_summary(&summary, 5, 0, 4, 1);
    assert_the_library_is_in_the_catalog(&api).await;
}

async fn a_goodreads_import_for_a_user_brings_their_ratings_reviews_and_shelves(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("library.csv"), library(CURRENT)).unwrap();

    // An unknown user is refused before anything is read.
    let (code, out, err) = import(
        dir.path(),
        &t,
        "goodreads",
        &["library.csv", "--user", "nobody"],
    );
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("no folio user 'nobody'"), "{err}");
    assert_eq!(t.count("book").await, 0, "nothing was imported");
    assert!(!dir.path().join("library.rejects.csv").exists());

    create_user(dir.path(), &t, "reader");
    let args = ["library.csv", "--user", "reader"];
    let summary = import_ok(dir.path(), &t, "goodreads", &args);
    assert_summary(&summary, 5, 4, 0, 1);

    let api = Api::serve(t).await;
    let hunger = the_edition(&api, "9780439023481").await;
    let (hunger_book, hunger_edition) = (hunger["book_id"].as_i64().unwrap(), id(&hunger));
    let dune = the_edition(&api, "9780441172719").await;
    let dune_book = dune["book_id"].as_i64().unwrap();
    let omens = id(&the_book(&api, "good omens").await);
    let mary = id(&the_book(&api, "hail mary").await);

    // A review with its rating becomes their comment; its <br/>s are line breaks.
    let comments = read(&api, &format!("/books/{hunger_book}/comments")).await;
    let comments = items(&comments);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0]["user"]["username"], "reader");
    assert_eq!(comments[0]["rating"], 5);
    assert_eq!(comments[0]["text"], "Could not put it down.\n\nReally.");
    let book = read(&api, &format!("/books/{hunger_book}")).await;
    assert_eq!(book["rating"], json!({"average": 5.0, "count": 1}));
    // A rating alone still makes a comment, saying where it came from.
    let comments = read(&api, &format!("/books/{dune_book}/comments")).await;
    let comments = items(&comments);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0]["user"]["username"], "reader");
    assert_eq!(comments[0]["rating"], 4);
    assert_eq!(comments[0]["text"], "Rated 4/5 on Goodreads.");
    // Rated 0 and no review: nothing to say.
    for book in [omens, mary] {
        let comments = read(&api, &format!("/books/{book}/comments")).await;
        assert!(items(&comments).is_empty(), "{comments}");
    }
    assert_eq!(api.t.count("comment").await, 2);

    // Their shelves, as they see them once signed in.
    let reader = signed_in(&api, "reader").await;
    let progress = reader.get("/me/progress").await;
    let progress = items(&progress);
    let of = |book: i64| {
        progress
            .iter()
            .find(|p| p["book_id"] == book)
            .unwrap_or_else(|| panic!("no progress for book {book}: {progress:?}"))
    };
    // read: finished, dated Date Read, on the row's edition.
    let read = of(hunger_book);
    assert_eq!(read["status"], "finished");
    assert_eq!(read["percent"].as_f64(), Some(1.0));
    assert_eq!(time(&read["updated_at"]), noon("2012-03-04"), "Date Read");
    assert_eq!(read["edition_id"], hunger_edition);
    assert_eq!(read["device"], "Goodreads");
    // read without a Date Read: dated Date Added.
    let read = of(dune_book);
    assert_eq!(read["status"], "finished");
    assert_eq!(read["percent"].as_f64(), Some(1.0));
    assert_eq!(time(&read["updated_at"]), noon("2015-06-07"), "Date Added");
    // currently-reading: reading, at the start.
    let reading = of(omens);
    assert_eq!(reading["status"], "reading");
    assert_eq!(reading["percent"].as_f64(), Some(0.0));
    // to-read says nothing about reading.
    assert_eq!(progress.len(), 3, "nothing for to-read: {progress:?}");
    assert!(progress.iter().all(|p| p["book_id"] != mary));
    let before = reader.get("/me/progress").await;

    // Run again (naming them by email this time): no second comment, no progress changed.
    let args = ["library.csv", "--user", "reader@example.org"];
    let summary = import_ok(dir.path(), &api.t, "goodreads", &args);
    assert_summary(&summary, 5, 0, 4, 1);
    assert_eq!(api.t.count("comment").await, 2);
    assert_eq!(reader.get("/me/progress").await, before);

    // They read on in folio; a later run does not take them back to the start.
    let place = json!({"percent": 0.5, "device": "kobo"});
    reader.put(&format!("/me/progress/{omens}"), place).await;
    let before = reader.get("/me/progress").await;
    import_ok(dir.path(), &api.t, "goodreads", &args);
    assert_eq!(reader.get("/me/progress").await, before);
    let now = reader.get(&format!("/me/progress/{omens}")).await;
    assert_eq!(now["percent"].as_f64(), Some(0.5));
}

// ---------------------------------------------------------------------------------------------
// Discogs
// ---------------------------------------------------------------------------------------------

const DISCOGS_HEADER: &str = "Catalog#,Artist,Title,Label,Format,Rating,Released,release_id,\
    CollectionFolder,Date Added,Collection Media Condition,Collection Sleeve Condition,\
    Collection Notes";

/// A collection export: three records (one with an unknown year, catalog number and label)
/// and a CD, the bad row last.
fn collection() -> String {
    [
        DISCOGS_HEADER,
        "DGC-24425,Nirvana (2),Nevermind,DGC,\"LP, Album\",5,1991,367084,Uncategorized,\
         2020-11-12 12:24:52,Near Mint (NM or M-),Very Good Plus (VG+),",
        "SHVL 804,Pink Floyd,The Dark Side Of The Moon,Harvest,\"LP, Album, Gat\",5,1973,\
         1873013,Uncategorized,2021-02-03 10:00:00,Very Good Plus (VG+),Very Good (VG),\
         \"With both posters, stickers\"",
        "none,Au Pairs,You,Not On Label (Au Pairs Self-released),\"7\"\", EP\",,0,7530535,\
         Uncategorized,2020-11-12 12:24:52,,,",
        "VP 4121,Barrington Levy,Teach The Youth,17 North Parade,\"CD, Comp\",,2008,1403829,\
         Uncategorized,2020-11-12 12:24:52,,,",
    ]
    .join("\n")
        + "\n"
}

async fn a_discogs_collection_becomes_vinyl_editions(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("collection.csv"), collection()).unwrap();

    let summary = import_ok(dir.path(), &t, "discogs", &["collection.csv"]);
    assert_summary(&summary, 4, 3, 0, 1);
    let mut rejects = csv::Reader::from_path(dir.path().join("collection.rejects.csv")).unwrap();
    assert_eq!(&rejects.headers().unwrap()[13], "reason");
    let rows: Vec<csv::StringRecord> = rejects.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(&rows[0][2], "Teach The Youth");
    assert_eq!(&rows[0][13], "not a vinyl record (Format: CD, Comp)");

    let api = Api::serve(t).await;
    // The artist without Discogs' number; the label as the publisher.
    let nevermind = the_book(&api, "nevermind").await;
    assert_eq!(nevermind["title"], "Nevermind");
    assert_eq!(names(&nevermind), ["Nirvana"]);
    assert_eq!(nevermind["original_year"], 1991);
    let edition = &nevermind["editions"][0];
    assert_eq!(edition["format"], "vinyl");
    assert_eq!(edition["catalog_number"], "DGC-24425");
    assert_eq!(edition["publisher"], "DGC");
    assert_eq!(edition["isbn"], N);
    assert_eq!(nevermind["editions"].as_array().unwrap().len(), 1);
    let moon = the_book(&api, "dark side moon").await;
    assert_eq!(names(&moon), ["Pink Floyd"]);
    assert_eq!(moon["editions"][0]["catalog_number"], "SHVL 804");
    assert_eq!(moon["editions"][0]["publisher"], "Harvest");
    // Year 0, `none` and "Not On Label" are unknowns, not values.
    let you = the_book(&api, "au pairs").await;
    assert_eq!(you["title"], "You");
    assert_eq!(you["original_year"], N, "year 0 is unknown");
    assert_eq!(you["editions"][0]["format"], "vinyl");
    assert_eq!(you["editions"][0]["catalog_number"], N);
    assert_eq!(you["editions"][0]["publisher"], N);
    let vinyl = read(&api, "/editions?format=vinyl").await;
    assert_eq!(items(&vinyl).len(), 3);
    assert!(
        read(&api, "/books?q=barrington").await["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the CD is not in the catalog"
    );

    // Run again: every record is recognised.
    let summary = import_ok(dir.path(), &api.t, "discogs", &["collection.csv"]);
    assert_summary(&summary, 4, 0, 3, 1);
    assert_eq!(api.t.count("book").await, 3);
    assert_eq!(api.t.count("edition").await, 3);

    // The same pressing written another way (and titled another way) is the same record.
    let again = [
        DISCOGS_HEADER,
        "SHVL-804,Pink Floyd,Dark Side Of The Moon,Harvest,LP,,1973,1873013,Uncategorized,\
         2022-01-01 09:00:00,,,",
    ]
    .join("\n")
        + "\n";
    std::fs::write(dir.path().join("again.csv"), again).unwrap();
    let summary = import_ok(dir.path(), &api.t, "discogs", &["again.csv"]);
    assert_summary(&summary, 1, 0, 1, 0);
    assert_eq!(api.t.count("book").await, 3);
    assert_eq!(api.t.count("edition").await, 3);
    let moon = the_book(&api, "dark side moon").await;
    assert_eq!(moon["title"], "The Dark Side Of The Moon", "unchanged");
    assert_eq!(moon["editions"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// --strict
// ---------------------------------------------------------------------------------------------

async fn a_strict_import_with_a_bad_row_imports_nothing(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("library.csv"), library(CURRENT)).unwrap();
    std::fs::write(dir.path().join("collection.csv"), collection()).unwrap();
    create_user(dir.path(), &t, "reader");

    // One row per batch: the good rows before the bad one are written, then undone.
    let args = [
        "library.csv",
        "--strict",
        "--batch-size",
        "1",
        "--user",
        "reader",
    ];
    let (code, out, err) = import(dir.path(), &t, "goodreads", &args);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("row 5: no title"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    let args = ["collection.csv", "--strict", "--batch-size", "1"];
    let (code, out, err) = import(dir.path(), &t, "discogs", &args);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("row 4: not a vinyl record (Format: CD, Comp)"),
        "{err}"
    );

    for table in [
        "book",
        "author",
        "edition",
        "book_author",
        "book_search",
        "comment",
        "progress",
    ] {
        assert_eq!(t.count(table).await, 0, "--strict wrote nothing to {table}");
    }
    assert!(!dir.path().join("library.rejects.csv").exists());
    assert!(!dir.path().join("collection.rejects.csv").exists());
}

// ---------------------------------------------------------------------------------------------
// Bytes that are not UTF-8, and empty files
// ---------------------------------------------------------------------------------------------

/// `text` with its `{E9}` as that one byte: é in Latin-1, which is not UTF-8.
fn latin1(text: &str) -> Vec<u8> {
    let (before, after) = text.split_once("{E9}").expect("a {E9} in the text");
    [before.as_bytes(), b"\xE9", after.as_bytes()].concat()
}

/// The rejects file beside `file`, one row of bytes a line: the header first.
fn rejects_lines(dir: &Path, file: &str) -> Vec<Vec<u8>> {
    let rejects = std::fs::read(dir.join(file)).unwrap();
    let text = String::from_utf8_lossy(&rejects).into_owned();
    let lines: Vec<Vec<u8>> = rejects.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    assert_eq!(lines.last().map(Vec::len), Some(0), "{text}");
    lines[..lines.len() - 1].to_vec()
}

/// The rejects file's row is `bad`, byte for byte, with the reason after it.
fn assert_rejected_as_read(line: &[u8], bad: &[u8], reason: &str) {
    let rest = line.strip_prefix(bad).unwrap_or_else(|| {
        panic!(
            "the row as read, byte for byte: {}",
            String::from_utf8_lossy(line)
        )
    });
    assert_eq!(String::from_utf8_lossy(rest), format!(",{reason}"));
}

/// A row of the library whose title is not UTF-8 is rejected as read; a batch is written
/// before it and the row after it comes in.
async fn a_goodreads_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported(
    backend: Backend,
) {
    const CAFE: Fields = &[
        ("Book Id", "7"),
        ("Title", "Caf{E9} Society"),
        ("Author", "Someone"),
        ("ISBN", "=\"\""),
        ("ISBN13", "=\"\""),
        ("Exclusive Shelf", "read"),
    ];
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let text = goodreads_csv(CURRENT, &[HUNGER_GAMES, DUNE, GOOD_OMENS, CAFE, HAIL_MARY]);
    let bad = latin1(text.lines().nth(4).unwrap());
    std::fs::write(dir.path().join("library.csv"), latin1(&text)).unwrap();

    let summary = import_ok(
        dir.path(),
        &t,
        "goodreads",
        &["library.csv", "--batch-size", "2"],
    );
    assert_summary(&summary, 5, 4, 0, 1);
    assert_eq!(t.count("book").await, 4);
    let api = Api::serve(t).await;
    the_book(&api, "hail mary").await;

    let lines = rejects_lines(dir.path(), "library.rejects.csv");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], format!("{CURRENT},reason").into_bytes());
    let reason = "invalid UTF-8 in column 'Title' (byte offset 3 in the field)";
    assert_rejected_as_read(&lines[1], &bad, reason);
}

/// A record whose artist is not UTF-8 is rejected as read, beside the CD rejected for its
/// format; a batch is written before it and the record after it comes in.
async fn a_discogs_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported(
    backend: Backend,
) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = "TAC-1,Caf{E9} Tacuba,Re,WEA,\"LP, Album\",,1994,42,Uncategorized,\
        2020-11-12 12:24:52,,,";
    let collection = collection();
    let mut lines: Vec<&str> = collection.lines().collect();
    lines.insert(3, bad);
    std::fs::write(
        dir.path().join("collection.csv"),
        latin1(&(lines.join("\n") + "\n")),
    )
    .unwrap();

    let args = ["collection.csv", "--batch-size", "2"];
    let summary = import_ok(dir.path(), &t, "discogs", &args);
    assert_summary(&summary, 5, 3, 0, 2);
    assert_eq!(t.count("book").await, 3);
    let api = Api::serve(t).await;
    the_book(&api, "au pairs").await;

    let rejects = rejects_lines(dir.path(), "collection.rejects.csv");
    assert_eq!(rejects.len(), 3);
    assert_eq!(rejects[0], format!("{DISCOGS_HEADER},reason").into_bytes());
    let reason = "invalid UTF-8 in column 'Artist' (byte offset 3 in the field)";
    assert_rejected_as_read(&rejects[1], &latin1(bad), reason);
    assert!(
        rejects[2].ends_with(b",\"not a vinyl record (Format: CD, Comp)\""),
        "{}",
        String::from_utf8_lossy(&rejects[2])
    );
}

/// An empty file is refused as one, whatever the format: not for a column it lacks.
async fn an_empty_file_says_so_in_every_format(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    for kind in ["goodbooks", "goodreads", "discogs", "catalog"] {
        for content in ["", "\n\n", " \r\n\t\n", "\u{FEFF}\n"] {
            std::fs::write(dir.path().join("empty.csv"), content).unwrap();
            let (code, out, err) = import(dir.path(), &t, kind, &["empty.csv"]);
            assert_eq!(code, Some(2), "{kind} {content:?}: {out}{err}");
            assert!(
                err.contains("empty.csv is an empty file"),
                "{kind} {content:?}: {err}"
            );
            assert!(!err.contains("column"), "{kind} {content:?}: {err}");
        }
    }
    assert!(!dir.path().join("empty.rejects.csv").exists());
    assert_eq!(t.count("book").await, 0);
}

/// A line of `folio export books --format json`: one book, as the export writes it.
fn exported_book(title: &str, author: &str) -> Vec<u8> {
    json!({
        "id": 1,
        "title": title,
        "subtitle": null,
        "authors": [author],
        "original_year": 2001,
        "language": "en",
        "categories": [{"name": "Fiction", "slug": "fiction"}],
        "editions": [
            {"format": "ebook", "price_minor": 999, "currency": "EUR", "contributors": []}
        ],
    })
    .to_string()
    .into_bytes()
}

/// folio's own export with a book whose title is not UTF-8, after the first batch: that line
/// is rejected exactly as read, and the books after it come in.
async fn a_catalog_line_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported(
    backend: Backend,
) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    // `{"title":"Caf` is 13 bytes: the 0xFF is at byte offset 13 of its line.
    let bad_book = [
        br#"{"title":"Caf"#.as_slice(),
        b"\xFF",
        br#" Society","authors":["Someone"]}"#,
    ]
    .concat();
    let books = [
        exported_book("Emma", "Jane Austen"),
        exported_book("Persuasion", "Jane Austen"),
        exported_book("Middlemarch", "George Eliot"),
        bad_book.clone(),
        exported_book("Beloved", "Toni Morrison"),
        exported_book("Piranesi", "Susanna Clarke"),
    ];
    // As the export writes it: `[`, one book a line with a comma after all but the last, `]`.
    let export = [b"[\n".as_slice(), &books.join(b",\n".as_slice()), b"\n]\n"].concat();
    std::fs::write(dir.path().join("catalog.json"), export).unwrap();
    let bad_line = [bad_book.as_slice(), b","].concat();
    let reason = "invalid UTF-8 at byte offset 13 of the line";

    // Under --strict it stops the import, as any bad row does.
    let args = ["catalog.json", "--strict", "--batch-size", "2"];
    let (code, out, err) = import(dir.path(), &t, "catalog", &args);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains(&format!("row 4: {reason}")), "{err}");
    assert_eq!(t.count("book").await, 0);
    assert!(!dir.path().join("catalog.rejects.csv").exists());

    let args = ["catalog.json", "--batch-size", "2"];
    let summary = import_ok(dir.path(), &t, "catalog", &args);
    assert_summary(&summary, 6, 5, 0, 1);
    assert_eq!(t.count("book").await, 5);
    assert_eq!(t.count("edition").await, 5);

    let mut rejects = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(dir.path().join("catalog.rejects.csv"))
        .unwrap();
    let rows: Vec<csv::ByteRecord> = rejects.byte_records().map(Result::unwrap).collect();
    assert_eq!(
        rows,
        [
            csv::ByteRecord::from(vec!["book", "reason"]),
            csv::ByteRecord::from(vec![bad_line.as_slice(), reason.as_bytes()]),
        ],
        "the header, then the bad line byte for byte with its reason"
    );

    let api = Api::serve(t).await;
    let piranesi = the_book(&api, "piranesi").await;
    assert_eq!(names(&piranesi), ["Susanna Clarke"], "{piranesi}");
}

/// An exported edition is held to the editions service's rules, as one made over the API: a
/// bad ISBN check digit or a price without a currency rejects its book with the reason, and the
/// other books import (before, the database refused the batch and the import stopped).
async fn a_catalog_book_whose_edition_breaks_a_rule_is_rejected_and_the_rest_imported(
    backend: Backend,
) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let book = |title: &str, edition: Value| {
        serde_json::to_vec(&json!({
            "id": 1, "title": title, "authors": ["Someone"], "categories": [],
            "editions": [edition],
        }))
        .unwrap()
    };
    let books = [
        exported_book("Emma", "Jane Austen"),
        book(
            "Bad Digit",
            json!({"format": "print", "isbn": "9780141439519", "contributors": []}),
        ),
        book(
            "No Currency",
            json!({"format": "ebook", "price_minor": 500, "contributors": []}),
        ),
        exported_book("Beloved", "Toni Morrison"),
    ];
    let export = [b"[\n".as_slice(), &books.join(b",\n".as_slice()), b"\n]\n"].concat();
    std::fs::write(dir.path().join("catalog.json"), export).unwrap();

    let summary = import_ok(
        dir.path(),
        &t,
        "catalog",
        &["catalog.json", "--batch-size", "2"],
    );
    assert_summary(&summary, 4, 2, 0, 2);
    assert_eq!(t.count("book").await, 2);
    let rejects = std::fs::read_to_string(dir.path().join("catalog.rejects.csv")).unwrap();
    assert!(
        rejects.contains("Bad Digit") && rejects.contains("edition 1: isbn"),
        "{rejects}"
    );
    assert!(
        rejects.contains("No Currency") && rejects.contains("edition 1: currency"),
        "{rejects}"
    );
}

/// The rest of an exported book is held to its services' rules too: a contributor's name
/// longer than an author's may be (before, the database refused the batch and the import
/// stopped), a category slug that is not one (before, stored as it was), a title with a NUL
/// (which PostgreSQL cannot store). Each rejects its book with the reason; the rest import.
async fn a_catalog_book_whose_other_parts_break_a_rule_is_rejected_and_the_rest_imported(
    backend: Backend,
) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let book = |title: &str, categories: Value, contributors: Value| {
        serde_json::to_vec(&json!({
            "id": 1, "title": title, "authors": ["Someone"], "categories": categories,
            "editions": [{"format": "audiobook", "contributors": contributors}],
        }))
        .unwrap()
    };
    let long_name = "N".repeat(301);
    let books = [
        exported_book("Emma", "Jane Austen"),
        book(
            "Long Narrator",
            json!([]),
            json!([{"name": long_name, "role": "narrator"}]),
        ),
        book(
            "Bad Slug",
            json!([{"name": "Sci-Fi", "slug": "Sci Fi!"}]),
            json!([]),
        ),
        book("Nul\u{0}Title", json!([]), json!([])),
        exported_book("Beloved", "Toni Morrison"),
    ];
    let export = [b"[\n".as_slice(), &books.join(b",\n".as_slice()), b"\n]\n"].concat();
    std::fs::write(dir.path().join("catalog.json"), export).unwrap();

    let summary = import_ok(
        dir.path(),
        &t,
        "catalog",
        &["catalog.json", "--batch-size", "2"],
    );
    assert_summary(&summary, 5, 2, 0, 3);
    assert_eq!(t.count("book").await, 2);
    assert_eq!(t.count("author").await, 2, "no narrator was made");
    assert_eq!(
        t.count("category").await,
        1,
        "fiction, from Emma and Beloved"
    );
    let mut rejects = csv::Reader::from_path(dir.path().join("catalog.rejects.csv")).unwrap();
    let reasons: Vec<String> = rejects
        .records()
        .map(|row| row.unwrap()[1].to_string())
        .collect();
    assert_eq!(
        reasons,
        [
            "edition 1: contributor: name: must be at most 300 characters",
            "category 'Sci Fi!': slug: must be lower-case letters and digits in words joined by '-'",
            "title: must not contain control characters",
        ]
    );
}

/// An empty catalog exports as `[` and `]`: not an empty file, so it imports, as nothing.
async fn an_empty_catalog_exports_and_imports_as_nothing(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let (output, out, err) = run(folio(dir.path())
        .args(["export", "books", "--format", "json", "-o", "catalog.json"])
        .env("DATABASE_URL", t.url_string()));
    assert!(output.status.success(), "{out}{err}");

    let summary = import_ok(dir.path(), &t, "catalog", &["catalog.json"]);
    assert_summary(&summary, 0, 0, 0, 0);
    assert!(!dir.path().join("catalog.rejects.csv").exists());
}
