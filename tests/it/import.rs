//! `folio import goodbooks` as a user runs it: the file's traps, rejects, --strict, a second
//! run adding nothing, and an import killed half-way then run again.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::backend_tests;
use crate::support::process::{folio, import, run};
use crate::support::{Backend, TestDb};

backend_tests!(
    goodbooks_rows_are_understood_and_bad_ones_rejected,
    a_strict_import_with_a_bad_row_imports_nothing,
    an_import_killed_half_way_completes_when_run_again,
    an_exported_catalog_imports_into_an_empty_database_unchanged,
    a_user_export_holds_their_things_only,
    rows_of_one_file_match_each_other_and_ids_are_never_reused,
    a_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported,
    a_row_the_catalog_rules_refuse_is_rejected_and_the_rest_imported,
);

pub(crate) const HEADER: &str = "book_id,goodreads_book_id,best_book_id,work_id,books_count,isbn,isbn13,authors,original_publication_year,original_title,title,language_code,average_rating,ratings_count,work_ratings_count,work_text_reviews_count,ratings_1,ratings_2,ratings_3,ratings_4,ratings_5,image_url,small_image_url";

/// A goodbooks row with the columns that matter; the rest are filler.
pub(crate) fn row(
    isbn: &str,
    isbn13: &str,
    authors: &str,
    year: &str,
    original_title: &str,
    title: &str,
    language: &str,
) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!(
        "1,2,3,4,5,{isbn},{isbn13},{},{year},{},{},{language},4.1,10,10,1,1,1,1,1,1,http://x/img.jpg,http://x/s.jpg",
        quote(authors),
        quote(original_title),
        quote(title)
    )
}

fn fixture() -> String {
    [
        HEADER.to_string(),
        // isbn13 in scientific notation (digits lost) and isbn without its leading zero.
        row(
            "439023483",
            "9.78043902348e+12",
            "Suzanne Collins",
            "2008.0",
            "The Hunger Games",
            "The Hunger Games (The Hunger Games, #1)",
            "eng",
        ),
        // Two authors, comma-joined; en-US.
        row(
            "439554934",
            "9.78043955493e+12",
            "J.K. Rowling, Mary GrandPré",
            "1997.0",
            "Harry Potter and the Philosopher's Stone",
            "Harry Potter and the Sorcerer's Stone",
            "en-US",
        ),
        // A lost zero whose check digit does not hold once restored: no ISBN is invented.
        row(
            "439023484",
            "9.78043902348e+12",
            "Someone Else",
            "2001.0",
            "",
            "A Book Without A Known ISBN",
            "en-GB",
        ),
        // A negative year, an empty language, a whole isbn13.
        row(
            "",
            "9780140449136",
            "Homer, Robert Fagles",
            "-750.0",
            "Ὀδύσσεια",
            "The Odyssey",
            "",
        ),
        // Bad rows: no title at all; a year that is not a year.
        row("", "", "Nobody", "1999.0", "", "", "eng"),
        row(
            "",
            "",
            "Late Author",
            "someday",
            "Undated",
            "Undated",
            "eng",
        ),
    ]
    .join("\n")
        + "\n"
}

/// Books, search entries, and books without authors, read in one statement (one snapshot).
async fn kill_snapshot(t: &TestDb) -> (i64, i64, i64) {
    let row = one_row(
        t,
        "SELECT (SELECT COUNT(*) FROM book), (SELECT COUNT(*) FROM book_search), \
         (SELECT COUNT(*) FROM book b WHERE NOT EXISTS \
           (SELECT 1 FROM book_author ba WHERE ba.book_id = b.id))",
    )
    .await;
    (
        row.try_get_by_index::<i64>(0).unwrap(),
        row.try_get_by_index::<i64>(1).unwrap(),
        row.try_get_by_index::<i64>(2).unwrap(),
    )
}

async fn scalar(t: &TestDb, sql: &str) -> i64 {
    one_row(t, sql).await.try_get_by_index::<i64>(0).unwrap()
}

async fn one_row(t: &TestDb, sql: &str) -> sea_orm::QueryResult {
    use sea_orm::ConnectionTrait;
    t.db.reader()
        .query_one_raw(sea_orm::Statement::from_string(t.db.backend(), sql))
        .await
        .unwrap()
        .unwrap()
}

async fn goodbooks_rows_are_understood_and_bad_ones_rejected(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("books.csv");
    std::fs::write(&file, fixture()).unwrap();

    let (code, out, err) = import(dir.path(), &t, "goodbooks", &["books.csv"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Read 6 rows"), "{out}");
    assert!(out.contains("4 created, 0 matched, 2 rejected"), "{out}");

    let rejects = std::fs::read_to_string(dir.path().join("books.rejects.csv")).unwrap();
    let mut lines = rejects.lines();
    assert!(
        lines.next().unwrap().ends_with(",reason"),
        "the header gains a reason column"
    );
    let reasons: Vec<&str> = lines.collect();
    assert_eq!(reasons.len(), 2, "{rejects}");
    assert!(reasons[0].ends_with("no title"), "{rejects}");
    assert!(reasons[1].contains("someday"), "{rejects}");

    // What landed, through the API a user would use.
    let server = crate::support::TestServer::start(t.settings(), t.db.clone()).await;
    let get = |path: String| {
        let server = &server;
        async move {
            server
                .get(&path)
                .await
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let hunger = get("/api/v1/editions?isbn=0439023483".into()).await;
    assert_eq!(
        hunger["items"][0]["isbn"], "9780439023481",
        "the lost zero is restored"
    );
    let potter = get("/api/v1/books?q=philosopher".into()).await;
    let potter = &potter["items"][0];
    assert_eq!(
        potter["title"], "Harry Potter and the Philosopher's Stone",
        "the original title"
    );
    assert_eq!(potter["authors"][0]["name"], "J.K. Rowling");
    assert_eq!(potter["authors"][1]["name"], "Mary GrandPré");
    assert_eq!(potter["language"], "en", "en-US is folded to en");
    let unknown = get("/api/v1/books?q=without%20known".into()).await;
    assert_eq!(
        unknown["items"][0]["editions"].as_array().unwrap().len(),
        0,
        "no ISBN is invented when the restored check digit fails"
    );
    let odyssey = get("/api/v1/books?q=odyssey%20homer".into()).await;
    let odyssey = &odyssey["items"][0];
    assert_eq!(
        odyssey["title"], "Ὀδύσσεια",
        "the book has its original title"
    );
    assert_eq!(
        odyssey["editions"][0]["title"], "The Odyssey",
        "and is found by the title printed on its edition"
    );
    let homer = get("/api/v1/books?q=homer".into()).await;
    assert_eq!(homer["items"][0]["original_year"], -750);
    assert_eq!(homer["items"][0]["language"], serde_json::Value::Null);
    assert_eq!(homer["items"][0]["editions"][0]["isbn"], "9780140449136");
    assert_eq!(
        get("/api/v1/books?language=en".into()).await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A second run of the same file adds nothing.
    let (code, out, _) = import(dir.path(), &t, "goodbooks", &["books.csv"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("0 created, 4 matched, 2 rejected"), "{out}");
    assert_eq!(t.count("book").await, 4);
    assert_eq!(t.count("edition").await, 3);
    assert_eq!(t.count("author").await, 6);
}

/// One byte that is not UTF-8 rejects its row, not the import: the bad row comes after the
/// first batch and the first handover (1,000 rows each), and the rows on both sides land.
async fn a_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_imported(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    const BEFORE: usize = 1100;
    const AFTER: usize = 5;
    let good = |i: usize| {
        let author = format!("Author {}", i % 50);
        row(
            "",
            "",
            &author,
            "1990.0",
            "",
            &format!("Book number {i}"),
            "eng",
        )
    };
    // Latin-1, not UTF-8. Quoted only where needed, as the rejects file writes a row, so that
    // its bytes there can be compared with these.
    let bad: &[u8] = b"1,2,3,4,5,,,Bad Author,1990.0,,Caf\xE9 Society,eng,4.1,10,10,1,1,1,1,1,1,\
        http://x/img.jpg,http://x/s.jpg";
    let lines = std::iter::once(HEADER.as_bytes().to_vec())
        .chain((0..BEFORE).map(|i| good(i).into_bytes()))
        .chain([bad.to_vec()])
        .chain((BEFORE..BEFORE + AFTER).map(|i| good(i).into_bytes()));
    let mut csv = vec![];
    for line in lines {
        csv.extend(line);
        csv.push(b'\n');
    }
    std::fs::write(dir.path().join("books.csv"), csv).unwrap();
    let reason = "invalid UTF-8 in column 'title' (byte offset 3 in the field)";

    // Under --strict it stops the import, as any bad row does.
    let (code, out, err) = import(dir.path(), &t, "goodbooks", &["books.csv", "--strict"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains(&format!("row {}: {reason}", BEFORE + 1)),
        "{err}"
    );
    assert_eq!(t.count("book").await, 0);
    assert!(!dir.path().join("books.rejects.csv").exists());

    let (code, out, err) = import(dir.path(), &t, "goodbooks", &["books.csv"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("Read {} rows", BEFORE + AFTER + 1)),
        "{out}"
    );
    let counts = format!("{} created, 0 matched, 1 rejected", BEFORE + AFTER);
    assert!(out.contains(&counts), "{out}");
    assert_eq!(t.count("book").await as usize, BEFORE + AFTER);
    let last = format!(
        "SELECT count(*) FROM book WHERE title = 'Book number {}'",
        BEFORE + AFTER - 1
    );
    assert_eq!(scalar(&t, &last).await, 1, "the rows after the bad one");

    let rejects = std::fs::read(dir.path().join("books.rejects.csv")).unwrap();
    let lines: Vec<&[u8]> = rejects.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 3, "{}", String::from_utf8_lossy(&rejects));
    assert_eq!(lines[0], format!("{HEADER},reason").as_bytes());
    let rest = lines[1].strip_prefix(bad).unwrap_or_else(|| {
        panic!(
            "the row as read, byte for byte: {}",
            String::from_utf8_lossy(lines[1])
        )
    });
    assert_eq!(rest, format!(",{reason}").as_bytes());
    assert_eq!(lines[2], b"", "one rejected row");
}

/// Rows are matched against the rows before them in the same batch as well as the catalog, and
/// the ids a batch takes up front never collide with ids given out before.
async fn rows_of_one_file_match_each_other_and_ids_are_never_reused(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    // A book that is deleted again: its id must not come back.
    let first = [
        HEADER.to_string(),
        row("", "", "Old Author", "1900.0", "Gone", "Gone", "eng"),
    ]
    .join("\n");
    std::fs::write(dir.path().join("first.csv"), first + "\n").unwrap();
    let (code, out, err) = import(dir.path(), &t, "goodbooks", &["first.csv"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let gone_id = scalar(&t, "SELECT max(id) FROM book").await;
    t.db.write(|tx| {
        Box::pin(async move {
            use sea_orm::ConnectionTrait;
            tx.execute_unprepared("DELETE FROM book").await?;
            Ok::<_, folio::db::DbError>(())
        })
    })
    .await
    .unwrap();

    let rows = [
        HEADER.to_string(),
        row(
            "",
            "9780439023481",
            "Suzanne Collins",
            "2008.0",
            "The Hunger Games",
            "x",
            "eng",
        ),
        // Same title and first author, another ISBN: the same book gains a second edition.
        row(
            "",
            "9780553383041",
            "Suzanne Collins, Editor",
            "2008.0",
            "the hunger  games!",
            "x",
            "eng",
        ),
        // The first row's ISBN under another title: matched by its ISBN.
        row(
            "",
            "9780439023481",
            "Someone",
            "2010.0",
            "Renamed",
            "x",
            "eng",
        ),
        // The same author on a new book: one author row, credited twice.
        row(
            "",
            "",
            "Suzanne Collins",
            "2010.0",
            "Mockingjay",
            "x",
            "eng",
        ),
    ]
    .join("\n");
    std::fs::write(dir.path().join("books.csv"), rows + "\n").unwrap();
    let (code, out, err) = import(dir.path(), &t, "goodbooks", &["books.csv"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 created, 2 matched, 0 rejected"), "{out}");
    assert_eq!(t.count("book").await, 2);
    // The two ISBNs, and Mockingjay's edition printed "x" (a title of its own).
    assert_eq!(t.count("edition").await, 3);
    assert_eq!(
        scalar(
            &t,
            "SELECT count(*) FROM author WHERE name = 'Suzanne Collins'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(&t, "SELECT count(*) FROM author WHERE name = 'Editor'").await,
        0,
        "a matched book's credits are left as they are"
    );
    assert!(scalar(&t, "SELECT min(id) FROM book").await > gone_id);

    let server = crate::support::TestServer::start(t.settings(), t.db.clone()).await;
    let hunger = server
        .get("/api/v1/books?q=hunger")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let hunger = &hunger["items"][0];
    let mut isbns: Vec<&str> = hunger["editions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["isbn"].as_str().unwrap())
        .collect();
    isbns.sort();
    assert_eq!(isbns, ["9780439023481", "9780553383041"]);
    let mockingjay = server
        .get("/api/v1/books?q=mockingjay%20collins")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        mockingjay["items"][0]["authors"][0]["id"],
        hunger["authors"][0]["id"]
    );
}

/// A row is held to the rules a book made over the API is held to, by the services that own
/// them: the title's and each author's length and characters, the year. A title with a NUL
/// (which PostgreSQL cannot store) used to stop the import there with a database error; it is
/// rejected with its reason like any bad row, and the batches around it import.
async fn a_row_the_catalog_rules_refuse_is_rejected_and_the_rest_imported(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let long_title = "T".repeat(501);
    let long_name = "A".repeat(301);
    let rows = [
        HEADER.to_string(),
        row("", "", "Jane Austen", "1815.0", "Emma", "Emma", "eng"),
        row("", "", "Someone", "2001.0", "Nul\0Title", "", "eng"),
        row("", "", "Someone", "2001.0", &long_title, "", "eng"),
        row("", "", &long_name, "2001.0", "Long Name", "", "eng"),
        row("", "", "Someone", "3000.0", "Far Future", "", "eng"),
        row(
            "",
            "",
            "Toni Morrison",
            "1987.0",
            "Beloved",
            "Beloved",
            "eng",
        ),
    ];
    std::fs::write(dir.path().join("books.csv"), rows.join("\n") + "\n").unwrap();

    let (code, out, err) = import(
        dir.path(),
        &t,
        "goodbooks",
        &["books.csv", "--batch-size", "2"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 created, 0 matched, 4 rejected"), "{out}");
    assert_eq!(t.count("book").await, 2);
    let mut rejects = csv::Reader::from_path(dir.path().join("books.rejects.csv")).unwrap();
    let reasons: Vec<String> = rejects
        .records()
        .map(|row| row.unwrap().iter().next_back().unwrap().to_string())
        .collect();
    let latest = chrono::Datelike::year(&chrono::Utc::now()) + 5;
    assert_eq!(
        reasons,
        [
            "title: must not contain control characters".to_string(),
            "title: must be at most 500 characters".to_string(),
            "authors[0]: must be at most 300 characters".to_string(),
            format!("original_year: must be from -5000 to {latest}"),
        ]
    );
}

async fn a_strict_import_with_a_bad_row_imports_nothing(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("books.csv"), fixture()).unwrap();
    let (code, _, err) = import(dir.path(), &t, "goodbooks", &["books.csv", "--strict"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("row 5") && err.contains("no title"), "{err}");
    for table in ["book", "author", "edition"] {
        assert_eq!(t.count(table).await, 0, "--strict wrote nothing to {table}");
    }
    assert!(!dir.path().join("books.rejects.csv").exists());
}

async fn an_import_killed_half_way_completes_when_run_again(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    const ROWS: usize = 6000;
    let mut csv = vec![HEADER.to_string()];
    for i in 0..ROWS {
        let authors = format!("Author {}, Second {}", i % 700, i % 13);
        csv.push(row(
            "",
            "",
            &authors,
            "1990.0",
            &format!("Book number {i}"),
            "",
            "eng",
        ));
    }
    std::fs::write(dir.path().join("big.csv"), csv.join("\n") + "\n").unwrap();

    let mut child = folio(dir.path())
        .args(["import", "goodbooks", "big.csv", "--batch-size", "50"])
        .env("DATABASE_URL", t.url_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for some batches to land, then kill it without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let books = t.count("book").await;
        if books >= 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the import made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // PostgreSQL finishes a COMMIT the killed client had already sent; wait for it, so the
    // counts below are final. Each reading is one statement: one snapshot of all three.
    let mut settled = kill_snapshot(&t).await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = kill_snapshot(&t).await;
        if again == settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the database kept changing after the kill"
        );
        settled = again;
    }
    let (books, searchable, orphans) = settled;
    let at_kill = books as usize;
    assert!(
        at_kill < ROWS,
        "the import was stopped half-way ({at_kill} of {ROWS})"
    );

    // Whole batches or nothing: every book has its authors and its search entry.
    assert_eq!(orphans, 0, "no book without its authors");
    assert_eq!(searchable as usize, at_kill, "every book is searchable");
    assert_eq!(at_kill % 50, 0, "only whole batches were committed");

    let (code, out, err) = import(
        dir.path(),
        &t,
        "goodbooks",
        &["big.csv", "--batch-size", "500"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("{} created, {at_kill} matched", ROWS - at_kill)),
        "{out}"
    );
    assert_eq!(t.count("book").await as usize, ROWS);
    assert_eq!(t.count("book_search").await as usize, ROWS);
}

/// Export the catalog, import it into an empty database, export again: the same catalog.
async fn an_exported_catalog_imports_into_an_empty_database_unchanged(backend: Backend) {
    use folio::entity::enums::EditionFormat;
    use folio::repo::book::BookFields;
    use folio::repo::edition::EditionFields;

    let source = TestDb::migrated(&backend).await;
    let tx = source.db.begin().await.unwrap();
    let narrator = folio::repo::author::insert(&*tx, "Kobna Holdbrook-Smith".into(), None)
        .await
        .unwrap();
    let fantasy = folio::repo::category::insert(&*tx, "Fantasy".into(), "fantasy".into(), None)
        .await
        .unwrap();
    let gothic = folio::repo::category::insert(&*tx, "Gothic".into(), "gothic".into(), None)
        .await
        .unwrap();
    let mut ids = vec![];
    for (i, (title, authors, isbn)) in [
        (
            "A Wizard of Earthsea",
            vec!["Ursula K. Le Guin"],
            Some("9780553383041"),
        ),
        ("Wuthering Heights", vec!["Emily Brontë"], None),
        (
            "Good Omens",
            vec!["Terry Pratchett", "Neil Gaiman"],
            Some("9780060853983"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let book = folio::repo::book::insert(
            &*tx,
            BookFields {
                title: title.into(),
                subtitle: (i == 2).then(|| "The Nice and Accurate Prophecies".into()),
                description: Some(format!("Description of {title}, with \"quotes\" and ü.")),
                original_year: Some(1847 + i as i32 * 60),
                language: Some("en".into()),
                series: (i == 0).then(|| "Earthsea".into()),
                series_number: (i == 0).then_some(1.0),
                popularity_prior: 1000 * i as i64,
            },
        )
        .await
        .unwrap();
        let mut author_ids = vec![];
        for name in authors {
            author_ids.push(
                folio::repo::author::insert(&*tx, name.into(), None)
                    .await
                    .unwrap()
                    .id,
            );
        }
        folio::repo::book::set_authors(&*tx, book.id, &author_ids)
            .await
            .unwrap();
        folio::repo::book::set_categories(
            &*tx,
            book.id,
            &[if i == 1 { gothic.id } else { fantasy.id }],
        )
        .await
        .unwrap();
        let edition = |format, isbn: Option<&str>, price| EditionFields {
            format,
            isbn: isbn.map(str::to_string),
            catalog_number: None,
            publisher: Some("A Publisher".into()),
            release_date: chrono::NaiveDate::from_ymd_opt(2001, 2, 3),
            language: Some("en".into()),
            pages: (format == EditionFormat::Print).then_some(300),
            duration_seconds: (format == EditionFormat::Audiobook).then_some(36_000),
            price_minor: price,
            currency: price.map(|_| "EUR".to_string()),
            access: Default::default(),
            // The print edition of the first book carries a title of its own.
            title: (i == 0 && format == EditionFormat::Print).then(|| "Earthsea 1".into()),
            subtitle: (i == 0 && format == EditionFormat::Print).then(|| "The Wizard".into()),
        };
        folio::repo::edition::insert(
            &*tx,
            book.id,
            edition(EditionFormat::Print, isbn, Some(1299)),
        )
        .await
        .unwrap();
        crate::support::fixtures::narrated_edition(
            &*tx,
            book.id,
            edition(EditionFormat::Audiobook, None, None),
            narrator.id,
        )
        .await
        .unwrap();
        ids.push(book.id);
    }
    folio::repo::search::refresh(&*tx, &ids).await.unwrap();
    tx.commit().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let export = |t: &TestDb, file: &str| {
        let (output, out, err) = run(folio(dir.path())
            .args(["export", "books", "--format", "json", "-o", file])
            .env("DATABASE_URL", t.url_string()));
        assert!(output.status.success(), "{out}{err}");
        let books: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(file)).unwrap()).unwrap();
        let mut without_ids: Vec<String> = books
            .into_iter()
            .map(|mut b| {
                b.as_object_mut().unwrap().remove("id");
                b.to_string()
            })
            .collect();
        without_ids.sort();
        without_ids
    };
    let exported = export(&source, "first.json");
    assert_eq!(exported.len(), 3);
    assert!(
        exported
            .iter()
            .any(|b| b.contains("Kobna Holdbrook-Smith") && b.contains("narrator"))
    );
    let earthsea = exported
        .iter()
        .find(|b| b.contains("A Wizard of Earthsea"))
        .unwrap();
    for part in [
        r#""series":"Earthsea""#,
        r#""series_number":1.0"#,
        r#""title":"Earthsea 1""#,
        r#""subtitle":"The Wizard""#,
    ] {
        assert!(earthsea.contains(part), "{part} in {earthsea}");
    }
    assert!(
        exported
            .iter()
            .any(|b| b.contains(r#""popularity_prior":2000"#))
    );

    let target = TestDb::migrated(&backend).await;
    let (output, out, err) = run(folio(dir.path())
        .args(["import", "catalog", "first.json"])
        .env("DATABASE_URL", target.url_string()));
    assert!(output.status.success(), "{out}{err}");
    assert!(out.contains("3 created, 0 matched, 0 rejected"), "{out}");
    assert_eq!(export(&target, "second.json"), exported, "the same catalog");

    let (_, out, _) = run(folio(dir.path())
        .args(["import", "catalog", "first.json"])
        .env("DATABASE_URL", target.url_string()));
    assert!(
        out.contains("0 created, 3 matched"),
        "a second import adds nothing: {out}"
    );

    // The CSV export has one row per edition.
    let (output, _, _) = run(folio(dir.path())
        .args(["export", "books", "--format", "csv", "-o", "books.csv"])
        .env("DATABASE_URL", target.url_string()));
    assert!(output.status.success());
    let csv = std::fs::read_to_string(dir.path().join("books.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6, "a header and six editions");
}

/// `folio export user NAME`: that user's comments, progress, notes and purchases, and nobody
/// else's.
async fn a_user_export_holds_their_things_only(backend: Backend) {
    use crate::support::fixtures as fx;
    let t = TestDb::migrated(&backend).await;
    let tx = t.db.begin().await.unwrap();
    let book = fx::book(&*tx, "Piranesi").await.unwrap();
    let edition = fx::edition(&*tx, book.id, Some(999)).await.unwrap();
    for name in ["exported", "someone-else"] {
        let user = fx::user(&*tx, name).await.unwrap();
        fx::comment(&*tx, user.id, book.id, Some(4)).await.unwrap();
        fx::progress(&*tx, user.id, book.id, 0.5).await.unwrap();
        fx::note(&*tx, user.id, book.id).await.unwrap();
        fx::purchase(&*tx, user.id, edition.id).await.unwrap();
    }
    tx.commit().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (output, out, err) = run(folio(dir.path())
        .args(["export", "user", "exported"])
        .env("DATABASE_URL", t.url_string()));
    assert!(output.status.success(), "{err}");
    let export: serde_json::Value = serde_json::from_str(&out).expect("the export is JSON");
    assert_eq!(export["user"]["username"], "exported");
    for section in ["comments", "progress", "notes", "purchases"] {
        assert_eq!(
            export[section].as_array().map(Vec::len),
            Some(1),
            "{section}: {out}"
        );
    }
    assert_eq!(export["comments"][0]["rating"], 4);
    assert_eq!(export["progress"][0]["percent"], 0.5);
    assert_eq!(export["purchases"][0]["amount_minor"], 999);
    assert!(!out.contains("someone-else"));

    let (output, _, err) = run(folio(dir.path())
        .args(["export", "user", "nobody"])
        .env("DATABASE_URL", t.url_string()));
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("no user is named 'nobody'"), "{err}");
}
