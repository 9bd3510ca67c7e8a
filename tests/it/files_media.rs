//! What folio reads from the files over real HTTP and from a library folder: audiobooks'
//! durations, chapters and Readium manifest, metadata filling what an edition lacks, covers
//! and thumbnails, and `folio import files`.

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::api::{Api, expect, problem};
use crate::support::books::{epub, fixture, noise, pdf};
use crate::support::process::{folio, run};
use crate::support::user::{N, User, admin, new_book, new_edition, user};
use crate::support::{Backend, TestDb};

backend_tests!(
    audiobooks_give_durations_chapters_covers_and_a_readium_manifest,
    uploads_fill_what_the_edition_lacks_and_never_overwrite,
    covers_are_decoded_thumbnailed_and_served_by_content,
    a_library_folder_is_scanned_once_and_what_cannot_be_read_is_rejected,
);

async fn upload(admin: &User<'_>, edition: i64, query: &str, files: &[(&str, Vec<u8>)]) -> Value {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
        form = form.part("file", part);
    }
    let api = &admin.api.server;
    let url = api.url(&format!("/api/v1/editions/{edition}/files{query}"));
    let sent = api
        .client
        .post(url)
        .bearer_auth(&admin.token)
        .multipart(form);
    expect(sent.send().await.unwrap(), 201).await
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 0.5)
}

async fn audiobooks_give_durations_chapters_covers_and_a_readium_manifest(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "The Sine Book").await;
    let m4b = new_edition(&admin, book, json!({"format": "audiobook"})).await;
    let tracks = new_edition(&admin, book, json!({"format": "audiobook"})).await;

    // One M4B: its duration, its three chapters, its artwork as the book's cover.
    let added = upload(&admin, m4b, "", &[("book.m4b", fixture("book.m4b"))]).await;
    assert_eq!(added[0]["media_type"], "audio/mp4");
    assert!(close(&added[0]["duration_seconds"], 20.0), "{added}");
    let read = admin.get(&format!("/editions/{m4b}/metadata")).await;
    let metadata = &read[0]["metadata"];
    assert_eq!(metadata["title"], "The Sine Book");
    assert_eq!(metadata["has_cover"], true);
    let chapters: Vec<&str> = metadata["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(chapters, ["Opening", "The Middle", "Closing"]);
    assert!(
        close(&metadata["chapters"][1]["start_seconds"], 7.0),
        "{metadata}"
    );
    let creators = &metadata["creators"];
    assert!(
        creators
            .as_array()
            .unwrap()
            .contains(&json!({"name": "Nick Narrator", "role": "narrator"})),
        "{creators}"
    );
    let shown = admin.get(&format!("/books/{book}")).await;
    assert!(
        shown["cover"]["thumb"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/covers/"),
        "{shown}"
    );

    // Two MP3 tracks in one upload, in order; chapters from the first's CHAP frames, and the
    // second, which has none, one chapter at its start.
    let added = upload(
        &admin,
        tracks,
        "",
        &[
            ("01.mp3", fixture("track1.mp3")),
            ("02.mp3", fixture("track2.mp3")),
        ],
    )
    .await;
    assert_eq!(added[0]["position"], 1);
    assert_eq!(added[1]["position"], 2);
    let manifest = api.get(&format!("/editions/{tracks}/manifest"), None).await;
    assert_eq!(
        manifest.headers()["content-type"],
        "application/audiobook+json"
    );
    let manifest: Value = manifest.json().await.unwrap();
    assert_eq!(
        manifest["metadata"]["conformsTo"],
        "https://readium.org/webpub-manifest/profiles/audiobook"
    );
    let order = manifest["readingOrder"].as_array().unwrap();
    assert_eq!(order.len(), 2);
    assert_eq!(
        order[0]["href"],
        format!("/api/v1/files/{}/content", added[0]["id"])
    );
    assert_eq!(order[0]["type"], "audio/mpeg");
    assert!(close(&order[0]["duration"], 5.0), "{order:?}");
    assert!(close(&manifest["metadata"]["duration"], 10.0), "{manifest}");
    let toc: Vec<(String, String)> = manifest["toc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap().into(),
                c["href"].as_str().unwrap().into(),
            )
        })
        .collect();
    let first = format!("/api/v1/files/{}/content", added[0]["id"]);
    let second = format!("/api/v1/files/{}/content", added[1]["id"]);
    assert_eq!(
        toc,
        [
            ("First half".into(), format!("{first}#t=0")),
            ("Second half".into(), format!("{first}#t=2.5")),
            ("Track Two".into(), format!("{second}#t=0")),
        ]
    );
    validate_manifest(&manifest);

    // Only an audiobook with files has a manifest.
    let ebook = new_edition(&admin, book, json!({"format": "ebook"})).await;
    problem(
        api.get(&format!("/editions/{ebook}/manifest"), None).await,
        404,
        "not-found",
    )
    .await;
}

/// The manifest against the Readium schemas.
fn validate_manifest(manifest: &Value) {
    let document = serde_json::to_vec_pretty(manifest).unwrap();
    crate::support::opds::validate(&document, "json", Some("manifest"), "the manifest");
}

async fn uploads_fill_what_the_edition_lacks_and_never_overwrite(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Nineteen Eighty-Four").await;
    let empty = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let set = new_edition(&admin, book, json!({"format": "ebook", "language": "fr"})).await;
    let audio = new_edition(&admin, book, json!({"format": "audiobook"})).await;

    // Without ?apply nothing changes; with it, what is empty is filled.
    upload(
        &admin,
        empty,
        "",
        &[("1984.epub", epub("1984", "9780306406157", 100))],
    )
    .await;
    let untouched = admin.get(&format!("/editions/{empty}")).await;
    assert_eq!(untouched["isbn"], Value::Null);
    let other = epub("1984 again", "9780306406157", 200);
    upload(&admin, set, "?apply=true", &[("1984b.epub", other)]).await;
    let filled = admin.get(&format!("/editions/{set}")).await;
    assert_eq!(filled["isbn"], "9780306406157", "{filled}");
    assert_eq!(filled["publisher"], "Test Press");
    assert_eq!(filled["language"], "fr", "set before: kept");

    // An ISBN another edition has is left out, the rest still filled.
    upload(&admin, empty, "?apply=true", &[("notes.pdf", pdf("Notes"))]).await;
    let pages = admin.get(&format!("/editions/{empty}")).await;
    assert_eq!(pages["pages"], 1, "{pages}");
    assert_eq!(pages["isbn"], Value::Null);

    // An audiobook's playing time is its tracks' sum.
    let tracks = [
        ("1.mp3", fixture("track1.mp3")),
        ("2.mp3", fixture("track2.mp3")),
    ];
    upload(&admin, audio, "?apply=true", &tracks).await;
    let timed = admin.get(&format!("/editions/{audio}")).await;
    assert_eq!(timed["duration_seconds"], 10, "{timed}");
}

async fn covers_are_decoded_thumbnailed_and_served_by_content(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Covers").await;
    let server = &api.server;
    let put = |bytes: Vec<u8>, token: String| {
        let url = server.url(&format!("/api/v1/books/{book}/cover"));
        let request = server.client.put(url).bearer_auth(token).body(bytes);
        async move { request.send().await.unwrap() }
    };

    let urls = expect(put(fixture("cover.webp"), admin.token.clone()).await, 200).await;
    let thumb = server
        .client
        .get(server.url(urls["thumb"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    assert_eq!(
        thumb.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = thumb.headers()["etag"].to_str().unwrap().to_string();
    let image = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (160, 90));
    let medium = api
        .get(&format!("/books/{book}/cover?size=medium"), None)
        .await;
    assert_eq!(medium.headers()["cache-control"], "public, max-age=300");
    let medium = image::load_from_memory(&medium.bytes().await.unwrap()).unwrap();
    assert_eq!(medium.width(), 480);
    let full = api.get(&format!("/books/{book}/cover"), None).await;
    assert_eq!(full.headers()["content-type"], "image/webp");
    assert_eq!(full.bytes().await.unwrap().to_vec(), fixture("cover.webp"));
    let again = server
        .client
        .get(server.url(urls["thumb"].as_str().unwrap()))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let shown = admin.get(&format!("/books/{book}")).await;
    assert_eq!(shown["cover"], urls);

    // Not images, and images too large to decode safely, are refused; nothing changes.
    let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bomb.extend_from_slice(&30_000u32.to_be_bytes());
    bomb.extend_from_slice(&30_000u32.to_be_bytes());
    bomb.extend_from_slice(b"\x08\x02\0\0\0\0\0\0\0");
    for bad in [noise(5000), bomb, fixture("cover.jpg")[..3000].to_vec()] {
        let refused = put(bad, admin.token.clone()).await;
        let refused = problem(refused, 422, "validation-error").await;
        assert_eq!(refused["errors"][0]["field"], "cover", "{refused}");
    }
    assert_eq!(admin.get(&format!("/books/{book}")).await["cover"], urls);
    let reader = user(&api, "reader").await;
    problem(
        put(fixture("cover.png"), reader.token.clone()).await,
        403,
        "forbidden",
    )
    .await;

    // Only covers are served by hash: not an edition's file, whatever its hash.
    let edition = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let file = upload(
        &admin,
        edition,
        "",
        &[("b.epub", epub("B", "9780306406157", 10))],
    )
    .await;
    let sha = file[0]["sha256"].as_str().unwrap();
    problem(
        api.get(&format!("/covers/{sha}"), None).await,
        404,
        "not-found",
    )
    .await;
    problem(api.get("/covers/not-a-hash", None).await, 404, "not-found").await;
    let none = new_book(&admin, "Coverless").await;
    problem(
        api.get(&format!("/books/{none}/cover"), None).await,
        404,
        "not-found",
    )
    .await;
    reader
        .fail(M::GET, &format!("/books/{book}/cover?size=huge"), N, 422)
        .await;
}

/// `folio import files DIR` against the test's database and storage.
fn scan(t: &TestDb, dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let work = tempfile::tempdir().unwrap();
    let mut command = folio(work.path());
    command
        .args(["import", "files"])
        .arg(dir)
        .args(args)
        .env("DATABASE_URL", t.url_string())
        .env("FOLIO_STORAGE_URL", t.files.path());
    let (output, out, err) = run(&mut command);
    (output.status.code(), out, err)
}

async fn a_library_folder_is_scanned_once_and_what_cannot_be_read_is_rejected(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    // A book already in the catalog, with an ebook edition of the ISBN the EPUB carries.
    let known = new_book(&admin, "Known Book").await;
    let isbn = json!({"format": "ebook", "isbn": "9780306406157"});
    let known_edition = new_edition(&admin, known, isbn).await;

    let library = tempfile::tempdir().unwrap();
    let root = library.path().join("library");
    let write = |path: &str, bytes: &[u8]| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(
        "Le Guin/The Dispossessed.epub",
        &epub("The Dispossessed", "9780306406157", 100),
    );
    write("Orwell/Animal Farm.pdf", &pdf("Animal Farm"));
    write("Two Tracks/CD2/01.mp3", &fixture("track2.mp3"));
    write("Two Tracks/CD1/01.mp3", &fixture("track1.mp3"));
    write("Two Tracks/cover.jpg", &fixture("cover.jpg"));
    write("Sines/The Sine Book.m4b", &fixture("book.m4b"));
    write("Sines/notes.txt", b"not a book");
    let cut = epub("Cut", "9780306406157", 5000);
    write("Broken/cut.epub", &cut[..cut.len() / 2]);

    // A dry run judges everything and writes nothing.
    let books_before = api.t.count("book").await;
    let (code, out, err) = scan(&api.t, &root, &["--dry-run"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("4 would be imported"), "{out}");
    assert_eq!(api.t.count("book").await, books_before);
    assert_eq!(api.t.count("edition_file").await, 0);

    let (code, out, err) = scan(&api.t, &root, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Found 5 books"), "{out}");
    assert!(
        out.contains("3 added as new books, 1 to books already in the catalog"),
        "{out}"
    );
    assert!(out.contains("2 files rejected"), "{out}");
    let rejects = std::fs::read_to_string(library.path().join("library.rejects.csv")).unwrap();
    assert!(rejects.starts_with("path,reason\n"), "{rejects}");
    assert!(
        rejects.contains("notes.txt") && rejects.contains("is not a file folio takes"),
        "{rejects}"
    );
    assert!(
        rejects.contains("cut.epub") && rejects.contains("EPUB"),
        "{rejects}"
    );

    // The EPUB went to the edition its ISBN names; the tracks are one audiobook, disc by disc.
    let files = admin.get(&format!("/editions/{known_edition}/files")).await;
    assert_eq!(files[0]["name"], "The Dispossessed.epub");
    let found = admin.get("/books?q=two+tracks").await;
    let audiobook = &found["items"][0];
    assert_eq!(audiobook["title"], "Two Tracks");
    assert_eq!(audiobook["authors"][0]["name"], "Ada Author");
    assert!(
        audiobook["cover"].is_object(),
        "the folder's cover.jpg: {audiobook}"
    );
    let edition = audiobook["editions"][0]["id"].as_i64().unwrap();
    assert_eq!(audiobook["editions"][0]["duration_seconds"], 10);
    let tracks = admin.get(&format!("/editions/{edition}/files")).await;
    let sizes: Vec<i64> = tracks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["size"].as_i64().unwrap())
        .collect();
    assert_eq!(
        sizes,
        [
            fixture("track1.mp3").len() as i64,
            fixture("track2.mp3").len() as i64
        ]
    );
    let farm = admin.get("/books?q=animal+farm").await;
    assert_eq!(farm["items"][0]["authors"][0]["name"], "Test Author");
    assert_eq!(farm["items"][0]["editions"][0]["pages"], 1);

    // Again: nothing new, and it says so.
    let (books, files) = (api.t.count("book").await, api.t.count("edition_file").await);
    let (code, out, err) = scan(&api.t, &root, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("0 added as new books, 0 to books already in the catalog, 4 already imported"),
        "{out}"
    );
    assert_eq!(api.t.count("book").await, books);
    assert_eq!(api.t.count("edition_file").await, files);

    // The catalog's export names each file by its metadata and hash (the bytes stay stored).
    let work = tempfile::tempdir().unwrap();
    let mut export = folio(work.path());
    export
        .args(["export", "books", "--format", "json", "-o", "books.json"])
        .env("DATABASE_URL", api.t.url_string());
    let (output, _, err) = run(&mut export);
    assert!(output.status.success(), "{err}");
    let exported: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("books.json")).unwrap()).unwrap();
    let two_tracks = exported
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["title"] == "Two Tracks")
        .expect("exported");
    let exported_files = &two_tracks["editions"][0]["files"];
    assert_eq!(exported_files[0]["sha256"], tracks[0]["sha256"]);
    assert_eq!(exported_files[1]["position"], 2);
    assert_eq!(exported_files[1]["media_type"], "audio/mpeg");
    assert!(two_tracks["cover_sha256"].is_string());

    // --strict stops at the first file it cannot take.
    let (code, _, err) = scan(&api.t, &root, &["--strict"]);
    assert_eq!(code, Some(2), "{err}");
}
