//! KOReader's progress sync as KOReader speaks it, and its pushes and pulls meeting the one
//! progress per book across formats.

use md5::{Digest, Md5};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, expect};
use crate::support::books::epub;
use crate::support::user::{admin, new_book, new_edition, upload, user};

backend_tests!(
    the_protocol_answers_as_the_reference_server_does,
    registration_is_off_unless_turned_on,
    a_push_for_an_epub_moves_the_book_and_a_pull_finds_where_the_audiobook_got_to,
    files_stored_before_koreader_ids_get_them_and_file_names_name_them_too,
    an_account_from_before_kosync_gets_its_key_at_its_next_sign_in,
    guessing_keys_counts_against_the_sign_in_limit,
);

fn md5_hex(text: &[u8]) -> String {
    hex::encode(Md5::digest(text))
}

/// KOReader's binary document id, computed here from its description: 1 KiB at 0 and at
/// 1 KiB × 4^i for i = 0…10, until a sample would start at or past the end.
fn koreader_id(bytes: &[u8]) -> String {
    let mut md5 = Md5::new();
    for offset in std::iter::once(0).chain((0..=10).map(|i| 1024usize << (2 * i))) {
        if offset >= bytes.len() {
            break;
        }
        md5.update(&bytes[offset..bytes.len().min(offset + 1024)]);
    }
    hex::encode(md5.finalize())
}

/// A request as KOReader sends it: its Accept and JSON body, and the auth headers.
async fn send(
    api: &Api,
    method: Method,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<Value>,
) -> Response {
    let mut request = api
        .server
        .client
        .request(method, api.server.url(&format!("/kosync{path}")))
        .header("accept", "application/vnd.koreader.v1+json");
    if let Some((user, key)) = auth {
        request = request
            .header("x-auth-user", user)
            .header("x-auth-key", key);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    request.send().await.unwrap()
}

async fn error(response: Response, status: u16, code: u64) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].is_string(), "{body}");
}

async fn the_protocol_answers_as_the_reference_server_does(backend: Backend) {
    let api = Api::start(&backend).await;
    let reader = user(&api, "reader").await;
    let key = md5_hex(PASSWORD.as_bytes());
    let me = Some(("reader", key.as_str()));

    let health = send(&api, Method::GET, "/healthcheck", None, None).await;
    assert_eq!(expect(health, 200).await, json!({"state": "OK"}));
    let authorized = send(&api, Method::GET, "/users/auth", me, None).await;
    assert_eq!(expect(authorized, 200).await, json!({"authorized": "OK"}));
    // The username in any case, as a folio sign-in takes it.
    let shouting = send(
        &api,
        Method::GET,
        "/users/auth",
        Some(("READER", &key)),
        None,
    )
    .await;
    assert_eq!(shouting.status(), 200);
    error(
        send(
            &api,
            Method::GET,
            "/users/auth",
            Some(("reader", &md5_hex(b"wrong"))),
            None,
        )
        .await,
        401,
        2001,
    )
    .await;
    error(
        send(&api, Method::GET, "/users/auth", None, None).await,
        401,
        2001,
    )
    .await;
    error(
        send(&api, Method::GET, "/syncs/progress/abc", None, None).await,
        401,
        2001,
    )
    .await;

    // An unknown document is an empty object.
    let unknown = send(
        &api,
        Method::GET,
        "/syncs/progress/0123456789abcdef",
        me,
        None,
    )
    .await;
    assert_eq!(expect(unknown, 200).await, json!({}));

    // A push, with a field KOReader does not define: the server sets the timestamp.
    let before = chrono::Utc::now().timestamp();
    let push = json!({"document": "0123456789abcdef", "progress": "/body/DocFragment[3]/body/p[2]/text().0",
                      "percentage": 0.42, "device": "Kobo", "device_id": "K1", "extra": true});
    let pushed = expect(
        send(&api, Method::PUT, "/syncs/progress", me, Some(push)).await,
        200,
    )
    .await;
    assert_eq!(pushed["document"], "0123456789abcdef");
    let stamp = pushed["timestamp"].as_i64().unwrap();
    assert!(stamp >= before && stamp <= chrono::Utc::now().timestamp());
    let pulled = expect(
        send(
            &api,
            Method::GET,
            "/syncs/progress/0123456789abcdef",
            me,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        pulled,
        json!({"document": "0123456789abcdef", "progress": "/body/DocFragment[3]/body/p[2]/text().0",
               "percentage": 0.42, "device": "Kobo", "device_id": "K1", "timestamp": stamp})
    );

    // The last write wins, even backwards; a body sent as text/plain is read all the same.
    let back = json!({"document": "0123456789abcdef", "progress": "/body/DocFragment[1]/body",
                      "percentage": 0.05, "device": "Phone", "device_id": "P1"});
    let sent = api
        .server
        .client
        .put(api.server.url("/kosync/syncs/progress"))
        .header("x-auth-user", "reader")
        .header("x-auth-key", &key)
        .header("content-type", "text/plain")
        .body(back.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let pulled = expect(
        send(
            &api,
            Method::GET,
            "/syncs/progress/0123456789abcdef",
            me,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pulled["percentage"], 0.05);
    assert_eq!(pulled["device"], "Phone");

    // Another reader sees nothing of it.
    let _other = user(&api, "other").await;
    let theirs = send(
        &api,
        Method::GET,
        "/syncs/progress/0123456789abcdef",
        Some(("other", &key)),
        None,
    )
    .await;
    assert_eq!(expect(theirs, 200).await, json!({}));

    // Bad pushes.
    let no_document =
        json!({"progress": "1", "percentage": 0.1, "device": "Kobo", "device_id": "K1"});
    error(
        send(&api, Method::PUT, "/syncs/progress", me, Some(no_document)).await,
        403,
        2004,
    )
    .await;
    let no_percentage =
        json!({"document": "abc", "progress": "1", "device": "Kobo", "device_id": "K1"});
    error(
        send(
            &api,
            Method::PUT,
            "/syncs/progress",
            me,
            Some(no_percentage),
        )
        .await,
        403,
        2003,
    )
    .await;
    let not_json = api
        .server
        .client
        .put(api.server.url("/kosync/syncs/progress"))
        .header("x-auth-user", "reader")
        .header("x-auth-key", &key)
        .body("document=abc")
        .send()
        .await
        .unwrap();
    error(not_json, 403, 2003).await;

    // A disabled account is refused at once, even right after a success.
    api.set_user(reader.id, None, Some(true)).await;
    error(
        send(&api, Method::GET, "/users/auth", me, None).await,
        401,
        2001,
    )
    .await;

    // A changed password changes the key.
    let other = user(&api, "writer").await;
    let change = json!({"old_password": PASSWORD, "new_password": "a brand new passphrase 2"});
    other.send(Method::POST, "/me/password", change).await;
    let old_key = send(
        &api,
        Method::GET,
        "/users/auth",
        Some(("writer", &key)),
        None,
    )
    .await;
    assert_eq!(old_key.status(), 401);
    let new_key = md5_hex(b"a brand new passphrase 2");
    assert_eq!(
        send(
            &api,
            Method::GET,
            "/users/auth",
            Some(("writer", &new_key)),
            None
        )
        .await
        .status(),
        200
    );
}

async fn registration_is_off_unless_turned_on(backend: Backend) {
    let api = Api::start(&backend).await;
    let form = json!({"username": "koreader", "password": md5_hex(b"secret words here")});
    error(
        send(
            &api,
            Method::POST,
            "/users/create",
            None,
            Some(form.clone()),
        )
        .await,
        402,
        2005,
    )
    .await;

    let api = Api::start_with(&backend, &[("FOLIO_KOSYNC_REGISTRATION", "true")]).await;
    let created = send(
        &api,
        Method::POST,
        "/users/create",
        None,
        Some(form.clone()),
    )
    .await;
    assert_eq!(expect(created, 201).await, json!({"username": "koreader"}));
    error(
        send(&api, Method::POST, "/users/create", None, Some(form)).await,
        402,
        2002,
    )
    .await;
    let key = md5_hex(b"secret words here");
    let authorized = send(
        &api,
        Method::GET,
        "/users/auth",
        Some(("koreader", &key)),
        None,
    )
    .await;
    assert_eq!(authorized.status(), 200);
    let bad = json!({"username": "", "password": "not an md5"});
    error(
        send(&api, Method::POST, "/users/create", None, Some(bad)).await,
        403,
        2003,
    )
    .await;
}

async fn a_push_for_an_epub_moves_the_book_and_a_pull_finds_where_the_audiobook_got_to(
    backend: Backend,
) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let reader = user(&api, "reader").await;
    let key = md5_hex(PASSWORD.as_bytes());
    let me = Some(("reader", key.as_str()));

    let book = new_book(&admin, "The Moonstone").await;
    let ebook = new_edition(&admin, book, json!({"format": "ebook", "access": "public"})).await;
    let audio = new_edition(
        &admin,
        book,
        json!({"format": "audiobook", "duration_seconds": 36000}),
    )
    .await;
    let print = new_edition(&admin, book, json!({"format": "print", "pages": 300})).await;
    let bytes = epub("The Moonstone", "", 5000);
    upload(&admin, ebook, "moonstone.epub", bytes.clone()).await;
    let document = koreader_id(&bytes);

    // KOReader reads to 25 % and pushes: the book's one progress moves, in every format.
    let push = json!({"document": document, "progress": "/body/DocFragment[1]/body/p[1]/text().0",
                      "percentage": 0.25, "device": "Kobo", "device_id": "K1"});
    expect(
        send(&api, Method::PUT, "/syncs/progress", me, Some(push)).await,
        200,
    )
    .await;
    let progress = format!("/me/progress/{book}");
    let heard = reader.get(&format!("{progress}?edition_id={audio}")).await;
    assert_eq!(heard["seconds"], 9000, "{heard}");
    assert_eq!(heard["locator"], "/body/DocFragment[1]/body/p[1]/text().0");
    let paper = reader.get(&format!("{progress}?edition_id={print}")).await;
    assert_eq!(paper["page"], 75, "KOReader's page convention: {paper}");

    // A pull straight after gives back what was pushed.
    let pulled = expect(
        send(
            &api,
            Method::GET,
            &format!("/syncs/progress/{document}"),
            me,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        pulled["progress"],
        "/body/DocFragment[1]/body/p[1]/text().0"
    );
    assert_eq!(pulled["device"], "Kobo");

    // On the phone, the audiobook goes on to 80 %.
    reader
        .put(
            &progress,
            json!({"edition_id": audio, "percent": 0.8, "locator": "28800", "device": "Phone"}),
        )
        .await;

    // Back on the e-reader: the chapter holding 80 % of the text (the second of two).
    let pulled = expect(
        send(
            &api,
            Method::GET,
            &format!("/syncs/progress/{document}"),
            me,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pulled["progress"], "/body/DocFragment[2]/body", "{pulled}");
    assert_eq!(pulled["percentage"], 0.8);
    assert_eq!(pulled["device"], "Phone");
    assert_eq!(pulled["document"], document);

    // A web reader's place in this same EPUB edition (a CFI) is not KOReader's: translated.
    let cfi = json!({"edition_id": ebook, "percent": 0.3, "locator": "epubcfi(/6/2!/4/2/1:0)"});
    reader.put(&progress, cfi).await;
    let pulled = expect(
        send(
            &api,
            Method::GET,
            &format!("/syncs/progress/{document}"),
            me,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pulled["progress"], "/body/DocFragment[1]/body", "{pulled}");

    // As the reference server, a push needs no device id.
    let bare =
        json!({"document": document, "progress": "/body/DocFragment[2]/body", "percentage": 0.6});
    expect(
        send(&api, Method::PUT, "/syncs/progress", me, Some(bare)).await,
        200,
    )
    .await;
    assert_eq!(reader.get(&progress).await["percent"], 0.6);
}

async fn files_stored_before_koreader_ids_get_them_and_file_names_name_them_too(backend: Backend) {
    use sea_orm::ConnectionTrait;

    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let reader = user(&api, "reader").await;
    let key = md5_hex(PASSWORD.as_bytes());
    let me = Some(("reader", key.as_str()));
    let book = new_book(&admin, "Lady Audley's Secret").await;
    let ebook = new_edition(&admin, book, json!({"format": "ebook", "access": "public"})).await;
    let bytes = epub("Lady Audley's Secret", "", 300_000);
    upload(&admin, ebook, "audley.epub", bytes.clone()).await;

    // As if stored before KOReader ids were kept: what the server fills when it starts.
    let tx = api.t.db.begin().await.unwrap();
    tx.execute_unprepared("DELETE FROM koreader_file")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let push = |percentage: f64, document: &str| {
        json!({"document": document, "progress": format!("/body/DocFragment[1]/body/p[{}]", (percentage * 10.0) as i64),
               "percentage": percentage, "device": "Kobo", "device_id": "K1"})
    };
    let document = koreader_id(&bytes);
    expect(
        send(
            &api,
            Method::PUT,
            "/syncs/progress",
            me,
            Some(push(0.1, &document)),
        )
        .await,
        200,
    )
    .await;
    let nothing = reader
        .send(Method::GET, &format!("/me/progress/{book}"), Value::Null)
        .await;
    assert_eq!(nothing.status(), 404, "an unknown document moves no book");

    let settings = api.t.settings();
    let storage = folio::storage::Storage::open(&settings.storage).unwrap();
    let filled = folio::service::kosync::identify_missing(&api.t.db, &storage)
        .await
        .unwrap();
    assert_eq!(filled, 1);
    assert_eq!(
        folio::service::kosync::identify_missing(&api.t.db, &storage)
            .await
            .unwrap(),
        0
    );

    // By its bytes (a 300 KB file: samples past 256 KiB) and by its file name.
    expect(
        send(
            &api,
            Method::PUT,
            "/syncs/progress",
            me,
            Some(push(0.3, &document)),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        reader.get(&format!("/me/progress/{book}")).await["percent"],
        0.3
    );
    let by_name = md5_hex(b"audley.epub");
    expect(
        send(
            &api,
            Method::PUT,
            "/syncs/progress",
            me,
            Some(push(0.6, &by_name)),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        reader.get(&format!("/me/progress/{book}")).await["percent"],
        0.6
    );
}

async fn an_account_from_before_kosync_gets_its_key_at_its_next_sign_in(backend: Backend) {
    use sea_orm::ConnectionTrait;

    let api = Api::start(&backend).await;
    user(&api, "reader").await;
    let tx = api.t.db.begin().await.unwrap();
    tx.execute_unprepared("DELETE FROM kosync_key")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let key = md5_hex(PASSWORD.as_bytes());
    let me = Some(("reader", key.as_str()));
    error(
        send(&api, Method::GET, "/users/auth", me, None).await,
        401,
        2001,
    )
    .await;

    api.login("reader", PASSWORD).await;
    let authorized = send(&api, Method::GET, "/users/auth", me, None).await;
    assert_eq!(
        authorized.status(),
        200,
        "a sign-in with the password keeps its key"
    );
}

async fn guessing_keys_counts_against_the_sign_in_limit(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_LOGIN_MAX_FAILURES", "3")]).await;
    user(&api, "reader").await;
    let mut statuses = vec![];
    for guess in 0..5 {
        let key = md5_hex(format!("guess {guess}").as_bytes());
        let tried = send(
            &api,
            Method::GET,
            "/users/auth",
            Some(("reader", &key)),
            None,
        )
        .await;
        statuses.push(tried.status().as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429],
        "three failures, then refused"
    );
    // The right key is refused too while the limit holds: a guesser cannot tell.
    let key = md5_hex(PASSWORD.as_bytes());
    let right = send(
        &api,
        Method::GET,
        "/users/auth",
        Some(("reader", &key)),
        None,
    )
    .await;
    assert_eq!(right.status(), 429);
}
