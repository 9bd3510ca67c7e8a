//! The web app's EPUB reader and audiobook player over HTTP: chapters rendered from the stored
//! file (on local disk and on S3), an untrusted book rendering nothing live, the place saved
//! and restored wherever it was made, and a reader who has not bought the edition offered to.

use serde_json::json;

use crate::backend_tests;
use crate::support::api::Api;
use crate::support::books::{epub_with, fixture};
use crate::support::browser::{Browser, text};
use crate::support::shop::{SECRET_VAR, bought, settle};
use crate::support::store::Store;
use crate::support::user::{admin, new_book, new_edition, signed_in, upload};
use crate::support::{Backend, TestDb, TestServer};

backend_tests!(
    the_reader_follows_the_one_progress_across_chapters_and_formats,
    the_player_plays_the_tracks_as_one_book_from_the_one_progress,
);

mod on_s3 {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chapters_are_read_from_a_book_stored_on_s3() {
        if let Some(store) = super::Store::s3() {
            super::chapters_render_from_the_stored_file(store).await
        }
    }
}

#[tokio::test]
async fn chapters_are_read_from_a_book_stored_on_local_disk() {
    chapters_render_from_the_stored_file(Store::Local).await
}

const PIXEL: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

/// A book of three chapters whose first holds every trick a hostile EPUB might try.
fn hostile_book() -> Vec<u8> {
    let first = r##"<h1 id="start">The Beginning</h1>
<script>window.stolen = document.cookie</script>
<p onmouseover="alert(1)">First words. <a href="javascript:alert(2)">click</a>
<a href="c2.xhtml#middle">to the middle</a> <a href="#start">to the top</a></p>
<img src="https://tracker.example/p.gif" alt="tracker"/><img src="img/pixel.png" alt="a pixel"/>
<iframe src="https://example.org/"></iframe><svg onload="alert(3)"></svg>
<link rel="stylesheet" href="https://evil.example/x.css"/>"##;
    let second = r#"<h1>The Middle</h1><p id="middle">Second words.</p>"#;
    let third = r#"<h1>The End</h1><p>Last words.</p>"#;
    epub_with(
        "Three Parts",
        "9780000000002",
        &[("Beginning", first), ("Middle", second), ("End", third)],
        &[
            ("img/pixel.png", "image/png", PIXEL),
            ("c.css", "text/css", b"p{margin:0}"),
        ],
        0,
    )
}

async fn chapters_render_from_the_stored_file(store: Store) {
    let vars = store.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let server = TestServer::start(t.settings_with(&vars), t.db.clone()).await;
    let api = Api { t, server };
    let admin = admin(&api).await;
    let book = new_book(&admin, "Three Parts").await;
    let edition = new_edition(&admin, book, json!({"format": "ebook", "access": "public"})).await;
    upload(&admin, edition, "three.epub", hostile_book()).await;

    // A visitor may read a public edition; the first chapter without a place saved.
    let browser = Browser::new(&api.server);
    let page = browser.page(&format!("/read/{edition}")).await;
    let words = text(&page);
    assert!(
        words.contains("The Beginning") && words.contains("First words."),
        "{words}"
    );
    assert!(words.contains("Chapter 1 of 3"), "{words}");
    let article = page
        .split("id=\"chapter\"")
        .nth(1)
        .unwrap()
        .split("</article>")
        .next()
        .unwrap();
    for live in [
        "<script",
        "onmouseover",
        "javascript:",
        "tracker.example",
        "<iframe",
        "onload",
        "evil.example",
    ] {
        assert!(!article.contains(live), "{live} is live in {article}");
    }
    assert!(
        !page.contains("evil.example"),
        "a remote stylesheet is not linked"
    );
    assert!(
        article.contains(&format!("href=\"/read/{edition}?chapter=2#book-middle\"")),
        "{article}"
    );
    assert!(article.contains("href=\"#book-start\""), "{article}");
    let image = format!("/read/{edition}/res/OEBPS/img/pixel.png");
    assert!(article.contains(&format!("src=\"{image}\"")), "{article}");

    // The book's picture comes from the file; a chapter is never served as a page of its own.
    let pixel = browser.open(&image).await;
    assert_eq!(pixel.status(), 200);
    assert_eq!(pixel.headers()["content-type"], "image/png");
    assert!(
        pixel.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(pixel.bytes().await.unwrap().as_ref(), PIXEL);
    let chapter_file = browser
        .open(&format!("/read/{edition}/res/OEBPS/c1.xhtml"))
        .await;
    assert_eq!(chapter_file.status(), 404);
    let outside = browser
        .open(&format!("/read/{edition}/res/META-INF/container.xml"))
        .await;
    assert_eq!(outside.status(), 404);

    // Chapter 2 by its link, with next and previous.
    let second = browser.page(&format!("/read/{edition}?chapter=2")).await;
    let words = text(&second);
    assert!(
        words.contains("Second words.") && words.contains("Chapter 2 of 3"),
        "{words}"
    );
    assert!(second.contains(&format!("href=\"/read/{edition}?chapter=1\"")));
    assert!(second.contains(&format!("href=\"/read/{edition}?chapter=3\"")));
}

async fn the_reader_follows_the_one_progress_across_chapters_and_formats(backend: Backend) {
    let api = Api::start_with(&backend, &[SECRET_VAR]).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Three Parts").await;
    let ebook = json!({"format": "ebook", "price_minor": 500, "currency": "EUR"});
    let ebook = new_edition(&admin, book, ebook).await;
    upload(&admin, ebook, "three.epub", hostile_book()).await;
    let audio = json!({"format": "audiobook", "duration_seconds": 3600, "access": "public"});
    let audiobook = new_edition(&admin, book, audio).await;

    let browser = Browser::new(&api.server);
    browser.register("reader").await;

    // Not bought: a 403 page that offers to buy it, in the reader's language.
    let refused = browser.open(&format!("/read/{ebook}")).await;
    assert_eq!(refused.status(), 403);
    let words = text(&refused.text().await.unwrap());
    assert!(
        words.contains("Buy this edition to read it") && words.contains("€5.00"),
        "{words}"
    );

    // Bought through the API, paid by the provider's webhook: the reader opens it.
    let reader = signed_in(&api, "reader").await;
    let purchase = bought(&reader, "key-1", ebook).await;
    settle(&api, &purchase, "paid", "evt-1").await;

    // Saving a place needs the page's token in its header.
    let page = browser.page(&format!("/read/{ebook}?chapter=2")).await;
    let attribute = |name: &str| {
        let at = format!("data-{name}=\"");
        page.split(&at)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let token = attribute("csrf");
    // Halfway through chapter 2, as the page's script computes it from the chapters' sizes.
    let [start, size, total] =
        ["start", "size", "total"].map(|n| attribute(n).parse::<f64>().unwrap());
    let halfway = (start + size / 2.0) / total;
    let save = |token: Option<String>, body: serde_json::Value| {
        let mut request = browser
            .client
            .post(api.server.url(&format!("/read/{ebook}/position")))
            .header("origin", api.server.url("").trim_end_matches('/'))
            .json(&body);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.send()
    };
    let forged = save(None, json!({"percent": halfway, "chapter": 2}))
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let saved = save(
        Some(token.clone()),
        json!({"percent": halfway, "chapter": 2}),
    )
    .await
    .unwrap();
    assert_eq!(saved.status(), 200);
    let progress = reader.get(&format!("/me/progress/{book}")).await;
    assert_eq!(progress["percent"], halfway);
    assert_eq!(progress["edition_id"], ebook);

    // Opened again without a chapter: where the reader was.
    let words = text(&browser.page(&format!("/read/{ebook}")).await);
    assert!(words.contains("Chapter 2 of 3"), "{words}");

    // A place made by listening (the audiobook at 95 %) opens the last chapter.
    reader
        .put(
            &format!("/me/progress/{book}"),
            json!({"percent": 0.95, "edition_id": audiobook, "locator": "3420"}),
        )
        .await;
    let words = text(&browser.page(&format!("/read/{ebook}")).await);
    assert!(
        words.contains("Chapter 3 of 3") && words.contains("Last words."),
        "{words}"
    );
}

async fn the_player_plays_the_tracks_as_one_book_from_the_one_progress(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Two Tracks").await;
    let audio = json!({"format": "audiobook", "access": "members"});
    let audiobook = new_edition(&admin, book, audio).await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixture("track1.mp3")).file_name("1.mp3"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixture("track2.mp3")).file_name("2.mp3"),
        );
    let sent = api
        .server
        .client
        .post(
            api.server
                .url(&format!("/api/v1/editions/{audiobook}/files")),
        )
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let tracks = crate::support::api::expect(sent, 201).await;
    let first = tracks[0]["id"].as_i64().unwrap();

    // A members' edition: a visitor is asked to sign in first.
    let browser = Browser::new(&api.server);
    let visitor = browser.open(&format!("/listen/{audiobook}")).await;
    assert_eq!(visitor.status(), 303);
    assert!(
        visitor.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/signin?next=")
    );

    browser.register("listener").await;
    let page = browser.page(&format!("/listen/{audiobook}")).await;
    let words = text(&page);
    assert!(
        words.contains("Chapters") && words.contains("First half") && words.contains("Second half"),
        "{words}"
    );
    assert!(
        words.contains("0:02"),
        "the second half starts 2.5 s in: {words}"
    );
    let plan = page
        .split("id=\"plan\">")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(plan).unwrap();
    let hrefs: Vec<&str> = plan["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["href"].as_str().unwrap())
        .collect();
    assert_eq!(hrefs.len(), 2, "{plan}");
    assert_eq!(hrefs[0], format!("/files/{first}/content?inline=1"));
    let attribute = |page: &str, name: &str| {
        let at = format!("data-{name}=\"");
        page.split(&at)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(attribute(&page, "start"), "0", "nothing heard yet");
    let total: f64 = attribute(&page, "total").parse().unwrap();
    assert!(
        (10.0..10.5).contains(&total),
        "two tracks of about 5 s: {total}"
    );

    // The browser's audio asks for ranges of the track, as the player seeks.
    let part = browser
        .client
        .get(api.server.url(hrefs[0]))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-type"], "audio/mpeg");
    assert_eq!(part.bytes().await.unwrap().len(), 100);

    // The place, saved as sendBeacon sends it (the token in the body), is where it opens next.
    let token = attribute(&page, "csrf");
    let beacon = browser
        .client
        .post(api.server.url(&format!("/listen/{audiobook}/position")))
        .header("origin", api.server.url("").trim_end_matches('/'))
        .header("content-type", "application/json")
        .body(json!({"seconds": 7.0, "total": total, "csrf": token}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(beacon.status(), 200);
    let page = browser.page(&format!("/listen/{audiobook}")).await;
    let start: f64 = attribute(&page, "start").parse().unwrap();
    assert!((start - 7.0).abs() < 0.01, "{start}");
    let stolen = browser
        .client
        .post(api.server.url(&format!("/listen/{audiobook}/position")))
        .header("content-type", "application/json")
        .body(json!({"seconds": 1.0, "total": total}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 403, "no token, no save");

    // A place made in an ebook of the same book (a fifth of the way) starts the player there.
    let listener = signed_in(&api, "listener").await;
    listener
        .put(&format!("/me/progress/{book}"), json!({"percent": 0.2}))
        .await;
    let page = browser.page(&format!("/listen/{audiobook}")).await;
    let start: f64 = attribute(&page, "start").parse().unwrap();
    assert!((start - 0.2 * total).abs() < 0.01, "{start}");
}
