//! The web app as a browser meets it, checked on the server side: registering, signing in and
//! out with the session cookie and its flags, browsing, searching and a book's page,
//! commenting, forms refused without their CSRF token or from another site, errors as pages,
//! and both languages.

use serde_json::json;

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, id};
use crate::support::books::epub;
use crate::support::browser::{Browser, csrf_token, set_cookie, text};
use crate::support::user::{admin, new_book, new_edition, upload};

backend_tests!(
    a_reader_registers_browses_comments_and_signs_out,
    a_session_ends_at_once_when_signed_out_or_disabled,
    buying_in_test_mode_puts_the_edition_in_the_library,
    a_book_page_pages_its_comments_newest_first,
);

#[tokio::test]
async fn forms_without_their_token_or_from_another_site_are_refused() {
    let api = Api::start(&Backend::Sqlite).await;
    api.register("ada").await;
    let browser = Browser::new(&api.server);
    let page = browser.page("/signin").await;
    let token = csrf_token(&page);
    let sign_in = [("username", "ada"), ("password", PASSWORD)];

    // No token, a token made up, a token of another browser's seed: refused, nobody signed in.
    let missing = browser.post_raw("/signin", &sign_in).await;
    let made_up = [("csrf", "00".repeat(32).as_str()), sign_in[0], sign_in[1]]
        .map(|(k, v)| (k, v.to_string()));
    let made_up: Vec<(&str, &str)> = made_up.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let forged = browser.post_raw("/signin", &made_up).await;
    let other = Browser::new(&api.server);
    let with_ours = [("csrf", token.as_str()), sign_in[0], sign_in[1]];
    let stolen = other.post_raw("/signin", &with_ours).await;
    for response in [missing, forged, stolen] {
        assert_eq!(response.status(), 403);
        assert!(set_cookie(&response, "folio_session").is_none());
        let body = text(&response.text().await.unwrap());
        assert!(body.contains("Not allowed"), "{body}");
        assert!(body.contains("form has expired"), "{body}");
    }

    // The right token from another site's page: refused before the form is read.
    let cross = browser
        .client
        .post(api.server.url("/signin"))
        .header("accept", "text/html")
        .header("origin", "https://evil.example")
        .form(&with_ours)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(set_cookie(&cross, "folio_session").is_none());
    let cross_site = browser
        .client
        .post(api.server.url("/signin"))
        .header("sec-fetch-site", "cross-site")
        .form(&with_ours)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);

    // The same form, sent properly, signs in.
    let signed_in = browser.post_raw("/signin", &with_ours).await;
    assert_eq!(signed_in.status(), 303);
    assert!(set_cookie(&signed_in, "folio_session").is_some());
}

#[tokio::test]
async fn cookies_are_http_only_lax_and_secure_over_https() {
    let api = Api::start(&Backend::Sqlite).await;
    api.register("ada").await;

    let plain = Browser::new(&api.server);
    let first = plain.open("/").await;
    let csrf = set_cookie(&first, "folio_csrf").expect("a first visit gets its CSRF seed");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax"),
        "{csrf}"
    );
    let response = plain.sign_in("ada").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    let session = set_cookie(&response, "folio_session").unwrap();
    assert!(session.contains("; HttpOnly"), "{session}");
    assert!(session.contains("; SameSite=Lax"), "{session}");
    assert!(session.contains("; Path=/"), "{session}");
    assert!(session.contains("; Max-Age=2592000"), "30 days: {session}");
    assert!(!session.contains("Secure"), "plain HTTP: {session}");

    // Behind a TLS proxy that says so.
    let proxied = Browser::new(&api.server);
    let page = proxied.page("/signin").await;
    let fields = [
        ("csrf", csrf_token(&page)),
        ("username", "ada".into()),
        ("password", PASSWORD.into()),
    ];
    let response = proxied
        .client
        .post(api.server.url("/signin"))
        .header("x-forwarded-proto", "https")
        .form(&fields)
        .send()
        .await
        .unwrap();
    let session = set_cookie(&response, "folio_session").unwrap();
    assert!(session.ends_with("; Secure"), "{session}");

    // Or as configured.
    let api = Api::start_with(&Backend::Sqlite, &[("FOLIO_COOKIE_SECURE", "true")]).await;
    api.register("ada").await;
    let browser = Browser::new(&api.server);
    let first = browser.open("/").await;
    assert!(
        set_cookie(&first, "folio_csrf")
            .unwrap()
            .ends_with("; Secure")
    );
    let session = set_cookie(&browser.sign_in("ada").await, "folio_session").unwrap();
    assert!(session.ends_with("; Secure"), "{session}");
}

async fn a_reader_registers_browses_comments_and_signs_out(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let dune = new_book(&admin, "Dune").await;
    new_book(&admin, "Emma").await;
    let ebook = json!({"format": "ebook", "price_minor": 1299, "currency": "EUR"});
    new_edition(&admin, dune, ebook).await;

    let browser = Browser::new(&api.server);
    let home = browser.page("/").await;
    assert!(home.contains("<main id=\"main\">"));
    assert!(
        text(&home).contains("Dune"),
        "the home page shows new books"
    );
    assert!(text(&home).contains("Sign in"));

    // A registration with a password too short: the form again, input kept but the password.
    let bad = [
        ("username", "reader"),
        ("email", "reader@example.com"),
        ("password", "short"),
    ];
    let refused = browser.submit("/register", "/register", &bad).await;
    assert_eq!(refused.status(), 422);
    let form = refused.text().await.unwrap();
    assert!(
        form.contains("value=\"reader@example.com\""),
        "the email is kept"
    );
    assert!(
        !form.contains("value=\"short\""),
        "the password is never sent back"
    );
    assert!(form.contains("id=\"r-password\"") && form.contains("aria-invalid=\"true\""));

    browser.register("reader").await;
    let home = text(&browser.page("/").await);
    assert!(
        home.contains("reader") && home.contains("Sign out"),
        "{home}"
    );

    // Search finds the book; its page shows the edition's price and what to do.
    let found = text(&browser.page("/search?q=dun").await);
    assert!(
        found.contains("Results for “dun”") && found.contains("Dune"),
        "{found}"
    );
    assert!(!found.contains("Emma"), "{found}");
    // A typo is forgiven, and the page says what it searched for instead.
    let found = text(&browser.page("/search?q=Dunee").await);
    assert!(
        found.contains("Showing results for “dune”") && found.contains("Dune"),
        "{found}"
    );
    let exact = text(&browser.page("/search?q=dune").await);
    assert!(!exact.contains("Showing results for"), "{exact}");
    let by_format = text(&browser.page("/search?format=ebook").await);
    assert!(by_format.contains("Dune") && !by_format.contains("Emma"));
    let book = text(&browser.page(&format!("/books/{dune}")).await);
    assert!(book.contains("Author of Dune"), "{book}");
    assert!(book.contains("E-book") && book.contains("€12.99"), "{book}");
    assert!(book.contains("Buy"), "{book}");

    // A comment with a rating, shown with its stars; then taken back.
    let path = format!("/books/{dune}");
    let fields = [("text", "A <b>desert</b> epic."), ("rating", "4")];
    let posted = browser
        .submit(&path, &format!("/books/{dune}/comments"), &fields)
        .await;
    assert_eq!(posted.status(), 303);
    let page = browser.page(&path).await;
    assert!(
        page.contains("A &#60;b&#62;desert&#60;/b&#62; epic."),
        "escaped, not markup"
    );
    assert!(!page.contains("<b>desert"));
    assert!(page.contains("aria-label=\"4 stars of 5\""));
    assert!(text(&page).contains("Rated 4.0 of 5"), "{}", text(&page));
    assert!(
        !page.contains("id=\"c-text\""),
        "one comment each: no second form"
    );
    let comment = page.split("action=\"/comments/").nth(1).unwrap();
    let comment_id = comment.split('"').next().unwrap().to_string();
    // Rewritten, with another rating.
    let edited = browser
        .submit(
            &path,
            &format!("/comments/{comment_id}"),
            &[("text", "A desert epic, again."), ("rating", "5")],
        )
        .await;
    assert_eq!(edited.status(), 303);
    let page = browser.page(&path).await;
    assert!(
        text(&page).contains("A desert epic, again.")
            && page.contains("aria-label=\"5 stars of 5\"")
    );
    let deleted = browser
        .submit(&path, &format!("/comments/{comment_id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), 303);
    assert!(text(&browser.page(&path).await).contains("No comments yet."));

    // Signing out clears the cookie and ends the sign-in.
    let out = browser.submit("/", "/signout", &[]).await;
    assert_eq!(out.status(), 303);
    let cleared = set_cookie(&out, "folio_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(text(&browser.page("/").await).contains("Sign in"));
}

async fn a_session_ends_at_once_when_signed_out_or_disabled(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let reader_id = id(&api.register("reader").await);
    let browser = Browser::new(&api.server);
    let response = browser.sign_in("reader").await;
    let cookie = set_cookie(&response, "folio_session").unwrap();
    let value = cookie.split(';').next().unwrap().to_string();

    // The cookie replayed by another client after signing out works no more.
    let replay = || async {
        let page = api
            .server
            .client
            .get(api.server.url("/"))
            .header("cookie", &value)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text(&page).contains("Sign out")
    };
    assert!(replay().await, "the cookie signs in");
    assert_eq!(browser.submit("/", "/signout", &[]).await.status(), 303);
    assert!(!replay().await, "a signed-out cookie is a visitor's");

    // Disabling the account ends a live browser sign-in on its next page.
    browser.sign_in("reader").await;
    assert!(text(&browser.page("/").await).contains("Sign out"));
    admin
        .patch(&format!("/users/{reader_id}"), json!({"disabled": true}))
        .await;
    assert!(text(&browser.page("/").await).contains("Sign in"));
    // And signing in again is refused, on the form, with why.
    let again = browser.sign_in("reader").await;
    assert_eq!(again.status(), 403);
    assert!(text(&again.text().await.unwrap()).contains("This account is disabled."));
}

#[tokio::test]
async fn pages_speak_english_and_russian() {
    let api = Api::start(&Backend::Sqlite).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Мастер и Маргарита").await;
    let edition =
        json!({"format": "ebook", "price_minor": 129_900, "currency": "RUB", "pages": 480});
    new_edition(&admin, book, edition).await;
    let path = format!("/books/{book}");

    // The browser's language picks Russian: the page's language, its words, its numbers.
    let russian = Browser::speaking(&api.server, "ru-RU,ru;q=0.9,en;q=0.5");
    let page = russian.page(&path).await;
    assert!(page.starts_with("<!doctype html>\n<html lang=\"ru\">"));
    let words = text(&page);
    for expected in [
        "Издания",
        "Электронная",
        "480 страниц",
        "1\u{202f}299,00\u{a0}₽",
        "Оценок пока нет",
        "Войти",
    ] {
        assert!(words.contains(expected), "{expected} in {words}");
    }
    let missing = russian.open("/books/999999").await;
    assert_eq!(missing.status(), 404);
    assert!(text(&missing.text().await.unwrap()).contains("Страница не найдена"));

    // English for an English browser, with the same numbers written the English way.
    let english = Browser::speaking(&api.server, "en-GB");
    let words = text(&english.page(&path).await);
    for expected in [
        "Editions",
        "E-book",
        "480 pages",
        "₽1,299.00",
        "Not rated yet",
    ] {
        assert!(words.contains(expected), "{expected} in {words}");
    }

    // The switch overrides the browser, and brings the reader back to the same page.
    let switched = russian
        .submit(&path, "/lang", &[("lang", "en"), ("next", &path)])
        .await;
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], path.as_str());
    assert!(
        set_cookie(&switched, "folio_lang")
            .unwrap()
            .starts_with("folio_lang=en;")
    );
    assert!(text(&russian.page(&path).await).contains("Editions"));
}

#[tokio::test]
async fn errors_are_pages_for_browsers_and_problems_for_programs() {
    let api = Api::start(&Backend::Sqlite).await;
    let browser = Browser::new(&api.server);

    let missing = browser.open("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let request_id = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!request_id.is_empty());
    let words = text(&missing.text().await.unwrap());
    assert!(words.contains("Page not found"), "{words}");
    assert!(words.contains("Go to the home page"));

    let bad = browser.open("/books/not-a-number").await;
    assert_eq!(bad.status(), 422);
    assert!(text(&bad.text().await.unwrap()).contains("Please check what you entered"));

    // A program asking for JSON keeps getting problems, at the API and beside it.
    for path in ["/no/such/page", "/api/v1/books/999999"] {
        let response = api.server.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }

    // A page that needs a reader sends a visitor to sign in, and back after.
    let fields = [("text", "Hello")];
    api.register("ada").await;
    let page = browser.page("/").await;
    let token = csrf_token(&page);
    let mut form = vec![("csrf", token.as_str())];
    form.extend_from_slice(&fields);
    let response = browser.post_raw("/books/1/comments", &form).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/signin?next="), "{location}");
}

#[tokio::test]
async fn assets_are_content_addressed_and_cached_for_a_year() {
    let api = Api::start(&Backend::Sqlite).await;
    let browser = Browser::new(&api.server);
    let home = browser.page("/").await;
    let css = home
        .split("rel=\"stylesheet\" href=\"/static/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        css.starts_with("app.") && css.ends_with(".css") && css.len() > 12,
        "{css}"
    );
    let response = browser.open(&format!("/static/{css}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
    assert_eq!(
        browser.open("/static/app.0000000000.css").await.status(),
        404
    );

    // Every page forbids inline and foreign scripts.
    let response = browser.open("/").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!home.contains("<script>"), "no inline script");
}

/// The value of the hidden field `name` in the first form that has one.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name}"));
    page[at + name.len() + 15..]
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

async fn buying_in_test_mode_puts_the_edition_in_the_library(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_PAYMENT_TEST_MODE", "true")]).await;
    let admin = admin(&api).await;
    let dune = new_book(&admin, "Dune").await;
    let ebook = json!({"format": "ebook", "price_minor": 1299, "currency": "EUR"});
    let edition = new_edition(&admin, dune, ebook).await;
    let bytes = epub("Dune", "9780441013593", 0);
    let file =
        crate::support::api::id(&upload(&admin, edition, "dune.epub", bytes.clone()).await[0]);

    let browser = Browser::new(&api.server);
    browser.register("reader").await;
    let path = format!("/books/{dune}");
    let page = browser.page(&path).await;
    assert!(text(&page).contains("€12.99"));
    let key = hidden(&page, "key");
    let buy = format!("/editions/{edition}/buy");

    // A double click: the same key twice, one purchase, both sent to its checkout.
    let first = browser.submit(&path, &buy, &[("key", &key)]).await;
    let second = browser.submit(&path, &buy, &[("key", &key)]).await;
    assert_eq!(first.status(), 303);
    let checkout = first.headers()["location"].to_str().unwrap().to_string();
    assert!(checkout.starts_with("/checkout/"), "{checkout}");
    assert_eq!(second.headers()["location"], checkout.as_str());
    assert_eq!(api.t.count("purchase").await, 1);
    // A new drawing of the page (another key) finds the pending purchase, not a second one.
    let again = browser.page(&path).await;
    let third = browser
        .submit(&path, &buy, &[("key", &hidden(&again, "key"))])
        .await;
    assert_eq!(third.headers()["location"], checkout.as_str());
    assert_eq!(api.t.count("purchase").await, 1);

    // Not paid yet: the file is not the reader's.
    let id = checkout.trim_start_matches("/checkout/");
    let words = text(&browser.page(&format!("/purchases/{id}")).await);
    assert!(words.contains("Waiting for the payment"), "{words}");
    let refused = browser.open(&format!("/files/{file}/content")).await;
    assert_eq!(refused.status(), 403);

    let words = text(&browser.page(&checkout).await);
    assert!(words.contains("Test mode: no money moves") && words.contains("€12.99"));
    let paid = browser
        .submit(&checkout, &checkout, &[("outcome", "paid")])
        .await;
    assert_eq!(paid.status(), 303);
    assert_eq!(
        paid.headers()["location"],
        format!("/purchases/{id}").as_str()
    );
    let words = text(&browser.page(&format!("/purchases/{id}")).await);
    assert!(
        words.contains("Paid. The edition is in your library."),
        "{words}"
    );
    // The webhook's event was recorded as a provider's would be.
    assert_eq!(api.t.count("payment_event").await, 1);

    // A public edition of another book is on the library's free shelf.
    let emma = new_book(&admin, "Emma").await;
    let free = new_edition(&admin, emma, json!({"format": "ebook", "access": "public"})).await;
    upload(&admin, free, "emma.epub", epub("Emma", "9780141439587", 0)).await;
    let library = browser.page("/library").await;
    let words = text(&library);
    assert!(words.contains("Dune"), "{words}");
    let shelf = words
        .split("Free to read and hear")
        .nth(1)
        .expect("a free shelf");
    assert!(shelf.contains("Emma") && !shelf.contains("Dune"), "{shelf}");
    assert!(library.contains(&format!("href=\"/read/{free}\"")));
    assert!(library.contains(&format!("href=\"/read/{edition}\"")));
    assert!(library.contains(&format!("href=\"/files/{file}/content\"")));
    let download = browser.open(&format!("/files/{file}/content")).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let book = text(&browser.page(&path).await);
    assert!(
        book.contains("Yours to read") && !book.contains("Buy"),
        "{book}"
    );
}

#[tokio::test]
async fn buy_sends_the_reader_to_the_providers_checkout_when_one_is_set() {
    let checkout = "https://pay.example/c?order={purchase_id}&amount={amount_minor}&cur={currency}";
    let api = Api::start_with(&Backend::Sqlite, &[("FOLIO_CHECKOUT_URL", checkout)]).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Emma").await;
    let edition = json!({"format": "ebook", "price_minor": 500, "currency": "JPY"});
    let edition = new_edition(&admin, book, edition).await;
    let browser = Browser::new(&api.server);
    browser.register("reader").await;
    let path = format!("/books/{book}");
    let key = hidden(&browser.page(&path).await, "key");
    let response = browser
        .submit(&path, &format!("/editions/{edition}/buy"), &[("key", &key)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "https://pay.example/c?order=1&amount=500&cur=JPY"
    );
    // Without test mode there is no test checkout to pay at.
    assert_eq!(browser.open("/checkout/1").await.status(), 404);
    let words = text(&browser.page("/purchases/1").await);
    assert!(words.contains("Waiting for the payment") && words.contains("Go to payment"));
}

/// The `n` of each "Comment number n" on a page, in the order shown.
fn comment_numbers(html: &str) -> Vec<u32> {
    html.split("Comment number ")
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap()
        })
        .collect()
}

async fn a_book_page_pages_its_comments_newest_first(backend: Backend) {
    let api = Api::start(&backend).await;
    let keeper = admin(&api).await;
    let book = new_book(&keeper, "Much Discussed").await;
    // 23 readers' comments written in one unit of work, so several share a timestamp and the
    // page's cursor must tell them apart by id.
    let tx = api.t.db.begin().await.unwrap();
    for n in 1..=23 {
        let user = folio::repo::user::insert(
            &*tx,
            folio::repo::user::NewUser {
                username: format!("reader{n}"),
                email: format!("reader{n}@example.org"),
                password_hash: "not a hash".into(),
                role: folio::entity::enums::UserRole::Reader,
                referred_by_link_id: None,
            },
        )
        .await
        .unwrap();
        let text = format!("Comment number {n}.");
        folio::repo::comment::insert(&*tx, user.id, book, text, Some(4))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let browser = Browser::new(&api.server);
    let first = browser.page(&format!("/books/{book}")).await;
    assert_eq!(comment_numbers(&first), (4..=23).rev().collect::<Vec<_>>());
    let more = first
        .split("?comments_after=")
        .nth(1)
        .expect("a link to more comments")
        .split('#')
        .next()
        .unwrap()
        .to_string();
    let second = browser
        .page(&format!("/books/{book}?comments_after={more}"))
        .await;
    assert_eq!(comment_numbers(&second), [3, 2, 1]);
    assert!(
        !second.contains("rel=\"next\""),
        "the last page links to no more: {second}"
    );
    assert_eq!(
        browser.open("/books/999999").await.status(),
        404,
        "a book that is not there"
    );
}
