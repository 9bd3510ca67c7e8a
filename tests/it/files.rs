//! Editions' files over real HTTP, on local disk and on a real S3 server: uploads judged by
//! their bytes, downloads with ranges and validators, who may fetch what, and storage kept in
//! step with the rows by deletes, `folio storage gc` and `folio storage check`.

use futures_util::TryStreamExt;
use reqwest::multipart::{Form, Part};
use reqwest::{Method as M, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::support::api::{Api, assert_unauthorized, expect, problem};
use crate::support::books::{epub, noise, pdf};
use crate::support::process::{folio, run};
use crate::support::shop::{SECRET_VAR, bought, settle};
use crate::support::store::Store;
use crate::support::user::{N, User, admin, new_book, new_edition, user};
use crate::support::{Backend, TestDb};
use folio::storage::Storage;

backend_tests!(
    an_ebook_is_uploaded_listed_and_downloaded_whole_or_in_ranges,
    files_are_judged_by_their_bytes_and_a_refused_upload_leaves_nothing,
    who_may_download_follows_the_editions_access,
    a_deleted_files_bytes_go_unless_another_edition_holds_them,
    an_upload_over_the_limit_is_refused_and_leaves_nothing,
    an_upload_cut_off_by_its_client_leaves_nothing,
    gc_and_check_keep_storage_and_rows_in_step,
);

/// The same tests with the files on a real S3 server (SeaweedFS under CI).
mod on_s3 {
    use super::*;

    macro_rules! s3_tests {
        ($($name:ident),+ $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = Store::s3() {
                    super::$name(Backend::Sqlite, store).await
                }
            }
        )+};
    }

    s3_tests!(
        an_ebook_is_uploaded_listed_and_downloaded_whole_or_in_ranges_on,
        files_are_judged_by_their_bytes_and_a_refused_upload_leaves_nothing_on,
        who_may_download_follows_the_editions_access_on,
        a_deleted_files_bytes_go_unless_another_edition_holds_them_on,
        gc_and_check_keep_storage_and_rows_in_step_on,
    );
}

/// A server with its files in `store`, and that storage opened beside it, to look at.
struct Shelf {
    api: Api,
    storage: Storage,
    vars: Vec<(String, String)>,
}

async fn shelf(backend: &Backend, store: &Store, extra: &[(&str, &str)]) -> Shelf {
    let mut vars = store.vars();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let borrowed: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let t = TestDb::migrated(backend).await;
    let settings = t.settings_with(&borrowed);
    let storage = Storage::open(&settings.storage).expect("storage opens");
    let server = crate::support::TestServer::start(settings, t.db.clone()).await;
    Shelf {
        api: Api { t, server },
        storage,
        vars,
    }
}

impl Shelf {
    /// How many objects the storage holds.
    async fn objects(&self) -> usize {
        let listed: Vec<_> = self
            .storage
            .list()
            .try_collect()
            .await
            .expect("storage lists");
        listed.len()
    }

    /// Temporary upload files left in the upload directory.
    fn parts_left(&self) -> usize {
        std::fs::read_dir(self.storage.upload_dir())
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// `folio storage …` against this server's database and storage.
    fn storage_command(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut command = folio(dir.path());
        command
            .args(["storage"])
            .args(args)
            .env("DATABASE_URL", self.api.t.url_string())
            .env("FOLIO_STORAGE_URL", self.api.t.files.path());
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        let (output, out, err) = run(&mut command);
        (output.status.code(), out, err)
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `POST /editions/{id}/files` with these `(name, bytes)` parts, as `who` (or nobody).
async fn upload(api: &Api, token: Option<&str>, edition: i64, files: &[(&str, &[u8])]) -> Response {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part(
            "file",
            Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    }
    let url = api.server.url(&format!("/api/v1/editions/{edition}/files"));
    let mut request = api.server.client.post(url).multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the upload reaches the server")
}

async fn uploaded(admin: &User<'_>, edition: i64, files: &[(&str, &[u8])]) -> Vec<Value> {
    let added = expect(
        upload(admin.api, Some(&admin.token), edition, files).await,
        201,
    )
    .await;
    added.as_array().expect("a list of files").clone()
}

/// `GET /files/{id}/content` with these headers, as `token` (or nobody).
async fn fetch(api: &Api, token: Option<&str>, file: &Value, headers: &[(&str, &str)]) -> Response {
    fetch_with(api, M::GET, token, file, "", headers).await
}

async fn fetch_with(
    api: &Api,
    method: M,
    token: Option<&str>,
    file: &Value,
    query: &str,
    headers: &[(&str, &str)],
) -> Response {
    let path = format!(
        "{}{query}",
        file["content_url"].as_str().expect("content_url")
    );
    let mut request = api.server.client.request(method, api.server.url(&path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .expect("the download reaches the server")
}

fn header<'r>(response: &'r Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn body(response: Response, status: u16) -> Vec<u8> {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{:?}",
        response.headers()
    );
    response.bytes().await.unwrap().to_vec()
}

async fn an_ebook_is_uploaded_listed_and_downloaded_whole_or_in_ranges(backend: Backend) {
    an_ebook_is_uploaded_listed_and_downloaded_whole_or_in_ranges_on(backend, Store::Local).await
}

async fn an_ebook_is_uploaded_listed_and_downloaded_whole_or_in_ranges_on(
    backend: Backend,
    store: Store,
) {
    let shelf = shelf(&backend, &store, &[]).await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "Dune").await;
    let edition = new_edition(&admin, book, json!({"format": "ebook", "access": "public"})).await;
    let book_file = epub("Дюна", "9780306406157", 300_000);
    let size = book_file.len();

    let added = uploaded(&admin, edition, &[("Дюна.epub", &book_file)]).await;
    let file = &added[0];
    assert_eq!(file["name"], "Дюна.epub");
    assert_eq!(file["media_type"], "application/epub+zip");
    assert_eq!(file["size"], size);
    assert_eq!(file["sha256"], sha256(&book_file));
    assert_eq!(file["position"], 1);
    assert_eq!(file["edition_id"], edition);
    let listed = expect(
        api.get(&format!("/editions/{edition}/files"), None).await,
        200,
    )
    .await;
    assert_eq!(listed, json!([file]));
    assert_eq!(shelf.objects().await, 1);
    assert_eq!(shelf.parts_left(), 0, "the upload's temporary file is gone");

    // The whole file, with what a client needs to save it and ask again cheaply.
    let whole = fetch(api, None, file, &[]).await;
    let etag = format!("\"{}\"", sha256(&book_file));
    assert_eq!(header(&whole, "etag"), etag);
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    assert_eq!(header(&whole, "content-type"), "application/epub+zip");
    assert_eq!(header(&whole, "content-length"), size.to_string());
    assert_eq!(
        header(&whole, "content-disposition"),
        "attachment; filename=\"____.epub\"; filename*=UTF-8''%D0%94%D1%8E%D0%BD%D0%B0.epub"
    );
    assert_eq!(body(whole, 200).await, book_file);

    // Ranges: bounded, open-ended, a suffix, one running past the end.
    for (range, expected) in [
        ("bytes=100-199", 100..200),
        (&format!("bytes={}-", size - 5), size - 5..size),
        ("bytes=-10", size - 10..size),
        (&format!("bytes=0-{}", size + 1000), 0..size),
    ] {
        let part = fetch(api, None, file, &[("range", range)]).await;
        assert_eq!(
            header(&part, "content-range"),
            format!("bytes {}-{}/{size}", expected.start, expected.end - 1),
            "{range}"
        );
        assert_eq!(
            body(part, 206).await,
            book_file[expected].to_vec(),
            "{range}"
        );
    }
    let outside = fetch(api, None, file, &[("range", &format!("bytes={size}-"))]).await;
    assert_eq!(header(&outside, "content-range"), format!("bytes */{size}"));
    problem(outside, 416, "range-not-satisfiable").await;

    // Validators: the ETag answers 304; an If-Range naming another version gets it whole.
    let current = fetch(api, None, file, &[("if-none-match", &etag)]).await;
    assert_eq!(header(&current, "etag"), etag);
    assert!(body(current, 304).await.is_empty());
    let stale = [("range", "bytes=0-9"), ("if-range", "\"0000\"")];
    assert_eq!(
        body(fetch(api, None, file, &stale).await, 200).await.len(),
        size
    );
    let fresh = [("range", "bytes=0-9"), ("if-range", etag.as_str())];
    assert_eq!(
        body(fetch(api, None, file, &fresh).await, 206).await,
        book_file[..10]
    );

    // HEAD: the headers alone; inline for reading in the browser.
    let head = fetch_with(api, M::HEAD, None, file, "", &[]).await;
    assert_eq!(header(&head, "content-length"), size.to_string());
    assert!(body(head, 200).await.is_empty());
    let inline = fetch_with(api, M::GET, None, file, "?inline=1", &[]).await;
    assert!(header(&inline, "content-disposition").starts_with("inline; "));

    // A later upload comes after: a PDF of the same edition.
    let second = uploaded(&admin, edition, &[("notes.pdf", &pdf("Notes"))]).await;
    assert_eq!(second[0]["position"], 2);
    assert_eq!(second[0]["media_type"], "application/pdf");
    assert_eq!(shelf.objects().await, 2);
}

async fn files_are_judged_by_their_bytes_and_a_refused_upload_leaves_nothing(backend: Backend) {
    files_are_judged_by_their_bytes_and_a_refused_upload_leaves_nothing_on(backend, Store::Local)
        .await
}

async fn files_are_judged_by_their_bytes_and_a_refused_upload_leaves_nothing_on(
    backend: Backend,
    store: Store,
) {
    let shelf = shelf(&backend, &store, &[]).await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "Solaris").await;
    let ebook = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let audiobook = new_edition(&admin, book, json!({"format": "audiobook"})).await;
    let print = new_edition(&admin, book, json!({"format": "print"})).await;
    let good = epub("Solaris", "9780306406157", 1000);
    let program = std::fs::read("/bin/true").expect("a program to rename");
    let random = noise(50_000);
    let a_pdf = pdf("Solaris");

    // (edition, files sent, the field refused, what its message says)
    type Refusal<'a> = (i64, Vec<(&'a str, &'a [u8])>, &'a str, &'a str);
    let refusals: Vec<Refusal> = vec![
        (
            ebook,
            vec![("random.epub", &random)],
            "files[0]",
            "'random.epub' is not in a format",
        ),
        (
            ebook,
            vec![("cut.epub", &good[..good.len() / 2])],
            "files[0]",
            "'cut.epub' ",
        ),
        (
            audiobook,
            vec![("game.mp3", &program)],
            "files[0]",
            "'game.mp3' is not in a format",
        ),
        (
            audiobook,
            vec![("solaris.pdf", &a_pdf)],
            "files[0]",
            "an audiobook edition takes",
        ),
        (
            ebook,
            vec![("ok.epub", &good), ("bad.epub", b"PK\x03\x04 not really")],
            "files[1]",
            "'bad.epub'",
        ),
        (
            print,
            vec![("solaris.epub", &good)],
            "files",
            "print edition holds no files",
        ),
    ];
    for (edition, files, field, says) in refusals {
        let refused = upload(api, Some(&admin.token), edition, &files).await;
        let refused = problem(refused, 422, "validation-error").await;
        let error = refused["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no error for {field}: {refused}"))
            .clone();
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{error} does not say {says}"
        );
    }
    let truncated = upload(
        api,
        Some(&admin.token),
        ebook,
        &[("cut.epub", &good[..good.len() / 2])],
    )
    .await;
    let truncated = problem(truncated, 422, "validation-error").await;
    assert!(truncated.to_string().contains("EPUB"), "{truncated}");

    assert_eq!(
        api.t.count("edition_file").await,
        0,
        "no row for a refused file"
    );
    assert_eq!(shelf.objects().await, 0, "no object for a refused file");
    assert_eq!(shelf.parts_left(), 0, "no temporary file left");

    // Not multipart, not an admin, not an edition: refused before anything is read.
    let json = admin
        .send(M::POST, &format!("/editions/{ebook}/files"), json!({}))
        .await;
    problem(json, 415, "unsupported-media-type").await;
    let reader = user(api, "reader").await;
    let as_reader = upload(api, Some(&reader.token), ebook, &[("ok.epub", &good)]).await;
    problem(as_reader, 403, "forbidden").await;
    assert_unauthorized(
        upload(api, None, ebook, &[("ok.epub", &good)]).await,
        "uploads",
    )
    .await;
    let nowhere = upload(api, Some(&admin.token), 999_999, &[("ok.epub", &good)]).await;
    problem(nowhere, 404, "not-found").await;
    assert_eq!(shelf.objects().await, 0);
}

async fn who_may_download_follows_the_editions_access(backend: Backend) {
    who_may_download_follows_the_editions_access_on(backend, Store::Local).await
}

async fn who_may_download_follows_the_editions_access_on(backend: Backend, store: Store) {
    let shelf = shelf(&backend, &store, &[SECRET_VAR]).await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "Roadside Picnic").await;
    let priced = json!({"format": "ebook", "price_minor": 999, "currency": "EUR"});
    let for_buyers = new_edition(&admin, book, priced).await;
    let for_members = new_edition(
        &admin,
        book,
        json!({"format": "ebook", "access": "members"}),
    )
    .await;
    let for_all = new_edition(&admin, book, json!({"format": "ebook", "access": "public"})).await;
    let bytes = epub("Roadside Picnic", "9780306406157", 2000);
    let mut files = vec![];
    for edition in [for_buyers, for_members, for_all] {
        files.push(
            uploaded(&admin, edition, &[("picnic.epub", &bytes)])
                .await
                .remove(0),
        );
    }
    let [bought_file, members_file, public_file] = [&files[0], &files[1], &files[2]];
    assert_eq!(shelf.objects().await, 1, "the same bytes are stored once");

    // Nobody signed in: only the public edition.
    assert_unauthorized(fetch(api, None, bought_file, &[]).await, "a bought edition").await;
    assert_unauthorized(
        fetch(api, None, members_file, &[]).await,
        "a members' edition",
    )
    .await;
    assert_eq!(
        body(fetch(api, None, public_file, &[]).await, 200).await,
        bytes
    );

    // A reader: members' and public editions; the one for sale says how to buy it.
    let reader = user(api, "reader").await;
    let refused = fetch(api, Some(&reader.token), bought_file, &[]).await;
    let refused = problem(refused, 403, "forbidden").await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("POST /api/v1/purchases"), "{detail}");
    assert!(detail.contains(&for_buyers.to_string()), "{detail}");
    for file in [members_file, public_file] {
        assert_eq!(
            body(fetch(api, Some(&reader.token), file, &[]).await, 200).await,
            bytes
        );
    }
    // An admin may fetch anything.
    assert_eq!(
        body(fetch(api, Some(&admin.token), bought_file, &[]).await, 200).await,
        bytes
    );

    // Bought and paid: the reader may, by token and by API key; pending is not paid.
    let purchase = bought(&reader, "buy-picnic", for_buyers).await;
    let pending = fetch(api, Some(&reader.token), bought_file, &[]).await;
    problem(pending, 403, "forbidden").await;
    let paid = settle(api, &purchase, "paid", "evt_paid").await;
    assert_eq!(
        body(fetch(api, Some(&reader.token), bought_file, &[]).await, 200).await,
        bytes
    );
    let key = reader
        .post("/me/api-keys", json!({"name": "e-reader"}))
        .await;
    let key = key["key"].as_str().unwrap();
    let by_key = fetch(api, None, bought_file, &[("x-api-key", key)]).await;
    assert_eq!(body(by_key, 200).await, bytes);

    // A refund takes it away at once.
    settle(api, &paid, "refunded", "evt_refund").await;
    let refunded = fetch(api, Some(&reader.token), bought_file, &[]).await;
    problem(refunded, 403, "forbidden").await;
}

async fn a_deleted_files_bytes_go_unless_another_edition_holds_them(backend: Backend) {
    a_deleted_files_bytes_go_unless_another_edition_holds_them_on(backend, Store::Local).await
}

async fn a_deleted_files_bytes_go_unless_another_edition_holds_them_on(
    backend: Backend,
    store: Store,
) {
    let shelf = shelf(&backend, &store, &[]).await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "Hard to Be a God").await;
    let public = json!({"format": "ebook", "access": "public"});
    let [first, second, third] = [
        new_edition(&admin, book, public.clone()).await,
        new_edition(&admin, book, public.clone()).await,
        new_edition(&admin, book, public).await,
    ];
    let shared = epub("Hard to Be a God", "9780306406157", 5000);
    let a = uploaded(&admin, first, &[("god.epub", &shared)])
        .await
        .remove(0);
    let b = uploaded(&admin, second, &[("god.epub", &shared)])
        .await
        .remove(0);
    assert_eq!(shelf.objects().await, 1);

    // The same bytes again in one edition are a conflict, not a second copy.
    let again = upload(api, Some(&admin.token), first, &[("copy.epub", &shared)]).await;
    problem(again, 409, "conflict").await;

    let reader = user(api, "reader").await;
    reader
        .fail(M::DELETE, &format!("/files/{}", a["id"]), N, 403)
        .await;
    admin.delete(&format!("/files/{}", a["id"])).await;
    assert_eq!(
        shelf.objects().await,
        1,
        "the second edition still holds the bytes"
    );
    assert_eq!(body(fetch(api, None, &b, &[]).await, 200).await, shared);
    problem(fetch(api, None, &a, &[]).await, 404, "not-found").await;
    admin.delete(&format!("/files/{}", b["id"])).await;
    assert_eq!(shelf.objects().await, 0, "nothing names the bytes any more");
    admin
        .fail(M::DELETE, &format!("/files/{}", b["id"]), N, 404)
        .await;

    // Positions close up: deleting the first of two leaves the other first.
    let pair = uploaded(
        &admin,
        third,
        &[("one.pdf", &pdf("One")), ("two.pdf", &pdf("Two"))],
    )
    .await;
    assert_eq!(
        (pair[0]["position"].clone(), pair[1]["position"].clone()),
        (json!(1), json!(2))
    );
    admin.delete(&format!("/files/{}", pair[0]["id"])).await;
    let left = admin.get(&format!("/editions/{third}/files")).await;
    assert_eq!(left[0]["id"], pair[1]["id"]);
    assert_eq!(left[0]["position"], 1);
}

async fn an_upload_over_the_limit_is_refused_and_leaves_nothing(backend: Backend) {
    let shelf = shelf(
        &backend,
        &Store::Local,
        &[("FOLIO_MAX_UPLOAD_BYTES", "100000")],
    )
    .await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "Monday Begins on Saturday").await;
    let edition = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let big = epub("Monday", "9780306406157", 150_000);
    let refused = upload(api, Some(&admin.token), edition, &[("big.epub", &big)]).await;
    let refused = problem(refused, 413, "payload-too-large").await;
    assert!(
        refused["detail"].as_str().unwrap().contains("100000"),
        "{refused}"
    );
    // Two parts that fit one by one but not together.
    let half = epub("Monday", "9780306406157", 55_000);
    let other = epub("Monday 2", "9780306406157", 55_000);
    let both = upload(
        api,
        Some(&admin.token),
        edition,
        &[("a.epub", &half), ("b.epub", &other)],
    )
    .await;
    problem(both, 413, "payload-too-large").await;
    assert_eq!(shelf.objects().await, 0);
    assert_eq!(shelf.parts_left(), 0);
    assert_eq!(api.t.count("edition_file").await, 0);
    // The upload limit is this route's: the JSON API keeps its 1 MiB.
    let description = "x".repeat(2 << 20);
    let too_big = admin
        .send(
            M::POST,
            "/books",
            json!({"title": "t", "description": description}),
        )
        .await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A file within the limit goes in.
    uploaded(
        &admin,
        edition,
        &[("small.epub", &epub("Small", "9780306406157", 1000))],
    )
    .await;
}

async fn an_upload_cut_off_by_its_client_leaves_nothing(backend: Backend) {
    use tokio::io::AsyncWriteExt;

    let shelf = shelf(&backend, &Store::Local, &[]).await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "The Doomed City").await;
    let edition = new_edition(&admin, book, json!({"format": "ebook"})).await;
    // Half of a 2 MB part is sent, then the connection is dropped.
    let body_start = "--cut\r\ncontent-disposition: form-data; name=\"file\"; filename=\"city.epub\"\r\n\
                      content-type: application/epub+zip\r\n\r\n";
    let head = format!(
        "POST /api/v1/editions/{edition}/files HTTP/1.1\r\nhost: 127.0.0.1\r\n\
         authorization: Bearer {}\r\ncontent-type: multipart/form-data; boundary=cut\r\n\
         content-length: {}\r\n\r\n{body_start}",
        admin.token,
        body_start.len() + 2_000_000
    );
    let mut stream = tokio::net::TcpStream::connect(api.server.addr)
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&noise(1_000_000)).await.unwrap();
    stream.flush().await.unwrap();
    // The part is being written to its temporary file…
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while shelf.parts_left() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(shelf.parts_left(), 1, "the upload was being staged");
    drop(stream);
    // … and gone once the client is.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while shelf.parts_left() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(shelf.parts_left(), 0, "no temporary file left");
    assert_eq!(shelf.objects().await, 0);
    assert_eq!(api.t.count("edition_file").await, 0);
}

async fn gc_and_check_keep_storage_and_rows_in_step(backend: Backend) {
    gc_and_check_keep_storage_and_rows_in_step_on(backend, Store::Local).await
}

async fn gc_and_check_keep_storage_and_rows_in_step_on(backend: Backend, store: Store) {
    let shelf = shelf(&backend, &store, &[]).await;
    let api = &shelf.api;
    let admin = admin(api).await;
    let book = new_book(&admin, "The Snail on the Slope").await;
    let edition = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let kept = epub("Kept", "9780306406157", 3000);
    let stray = epub("Stray", "9780306406157", 3000);
    uploaded(&admin, edition, &[("kept.epub", &kept)]).await;
    let (code, out, err) = shelf.storage_command(&["check"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("checked 1 files, 0 broken, 0 orphan objects"),
        "{out}"
    );

    // An object whose row never came (a crash between storing and committing).
    let stray_file = uploaded(&admin, edition, &[("stray.epub", &stray)])
        .await
        .remove(0);
    sqlx_delete_file_row(api, stray_file["id"].as_i64().unwrap()).await;
    let (_, out, _) = shelf.storage_command(&["check"]);
    assert!(
        out.contains(&format!("orphan object {}", sha256(&stray))),
        "{out}"
    );

    // Too young for the default gc, listed by a dry run, removed by a real one.
    let (code, out, err) = shelf.storage_command(&["gc"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("removed: 0 objects"), "{out}");
    let (_, out, _) = shelf.storage_command(&["gc", "--dry-run", "--min-age", "0"]);
    assert!(
        out.contains(&format!("would remove object {}", sha256(&stray))),
        "{out}"
    );
    assert_eq!(shelf.objects().await, 2);
    let (code, out, err) = shelf.storage_command(&["gc", "--min-age", "0"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("removed: 1 objects"), "{out}");
    assert_eq!(shelf.objects().await, 1);
    let kept_file = &admin.get(&format!("/editions/{edition}/files")).await[0];
    assert_eq!(
        body(fetch(api, Some(&admin.token), kept_file, &[]).await, 200).await,
        kept
    );

    // A row whose object is gone: check says which and fails.
    let hash = folio::storage::ContentHash::parse(&sha256(&kept)).unwrap();
    shelf.storage.delete(&hash).await.unwrap();
    let (code, out, _) = shelf.storage_command(&["check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("file {}: its object is missing", kept_file["id"])),
        "{out}"
    );
}

/// Deletes a file's row behind folio's back, leaving its object: what a crash between storing
/// an upload and committing its row leaves.
async fn sqlx_delete_file_row(api: &Api, id: i64) {
    use sea_orm::ConnectionTrait;
    let sql = format!("DELETE FROM edition_file WHERE id = {id}");
    api.t
        .db
        .write(|tx| {
            Box::pin(async move {
                tx.execute_unprepared(&sql).await?;
                Ok::<_, folio::db::DbError>(())
            })
        })
        .await
        .expect("the row is deleted");
}

/// `folio serve` runs storage gc on its schedule: at start when it never ran, removing the
/// object no row names that is older than `FOLIO_STORAGE_GC_MIN_AGE` and keeping the one
/// younger (an upload may be about to name it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_removes_what_no_row_names_on_its_schedule() {
    use crate::support::process::Served;

    let t = TestDb::migrated(&Backend::Sqlite).await;
    let storage = Storage::open(&t.settings().storage).unwrap();
    let old = storage
        .store_bytes(bytes::Bytes::from_static(b"an upload a crash left"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let young = storage
        .store_bytes(bytes::Bytes::from_static(b"an upload about to commit"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut served, _) = Served::start(
        dir.path(),
        &[
            ("DATABASE_URL", t.url_string()),
            ("FOLIO_STORAGE_URL", t.files.path().display().to_string()),
            ("FOLIO_STORAGE_GC_EVERY", "1h".into()),
            ("FOLIO_STORAGE_GC_MIN_AGE", "2s".into()),
        ],
    );
    let done = served.wait_for("a scheduled storage gc", |l| {
        l["message"] == "scheduled storage gc done"
    });
    assert_eq!(done["removed"], 1, "{done}");
    assert_eq!(done["too_recent"], 1, "{done}");
    assert!(served.stop().success());
    assert!(storage.stat(&old).await.unwrap().is_none());
    assert!(storage.stat(&young).await.unwrap().is_some());
}
