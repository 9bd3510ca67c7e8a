//! The shop keeper's pages over HTTP: a book added and edited with its authors and categories,
//! an edition priced, an EPUB uploaded (streamed, as the page's script sends it) and what it
//! says applied, readers' accounts changed; and nobody else let in.

use serde_json::json;

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, id, ids};
use crate::support::books::{epub, fixture};
use crate::support::browser::{Browser, csrf_token, text};
use crate::support::shop::{SECRET_VAR, bought, settle};
use crate::support::user::{admin, signed_in};

backend_tests!(
    a_keeper_adds_a_book_with_an_edition_and_its_file,
    a_keeper_edits_editions_categories_and_authors
);

async fn a_keeper_adds_a_book_with_an_edition_and_its_file(backend: Backend) {
    let api = Api::start_with(&backend, &[SECRET_VAR]).await;
    let keeper = admin(&api).await;
    let fiction = keeper.post("/categories", json!({"name": "Fiction"})).await;
    let reader_id = id(&api.register("reader").await);

    // A reader is not let in.
    let reader = Browser::new(&api.server);
    reader.sign_in("reader").await;
    assert_eq!(reader.open("/admin").await.status(), 403);

    let browser = Browser::new(&api.server);
    assert_eq!(browser.sign_in("admin").await.status(), 303);
    let dashboard = text(&browser.page("/admin").await);
    assert!(
        dashboard.contains("Add a book") && dashboard.contains("Fiction"),
        "{dashboard}"
    );
    let category = format!("category-{}", id(&fiction));
    let created = browser
        .submit(
            "/admin",
            "/admin/books",
            &[
                ("title", "The Dispossessed"),
                ("authors", "Ursula K. Le Guin, Anne Carson"),
                ("original_year", "1974"),
                ("description", ""),
                (&category, "on"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let page = created.headers()["location"].to_str().unwrap().to_string();
    let book_id: i64 = page.trim_start_matches("/admin/books/").parse().unwrap();
    let book = keeper.get(&format!("/books/{book_id}")).await;
    let authors: Vec<&str> = book["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["Ursula K. Le Guin", "Anne Carson"]);
    assert_eq!(book["categories"][0]["name"], "Fiction");
    assert_eq!(book["original_year"], 1974);

    // An ebook edition at 12.99 EUR, typed as a keeper types a price.
    let added = browser
        .submit(
            &page,
            &format!("/admin/books/{book_id}/editions"),
            &[
                ("format", "ebook"),
                ("access", "buyers"),
                ("price", "12.99"),
                ("currency", "eur"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let book = keeper.get(&format!("/books/{book_id}")).await;
    let edition = &book["editions"][0];
    assert_eq!(
        (
            edition["price_minor"].as_i64(),
            edition["currency"].as_str()
        ),
        (Some(1299), Some("EUR"))
    );
    let edition_id = edition["id"].as_i64().unwrap();

    // The upload as the page's script sends it: multipart, the token in a header, JSON back.
    let html = browser.page(&page).await;
    assert!(
        html.contains("type=\"file\"") && html.contains("<progress"),
        "an upload form with a progress bar"
    );
    let token = csrf_token(&html);
    let file = reqwest::multipart::Part::bytes(epub("The Dispossessed", "9780060512750", 0))
        .file_name("d.epub");
    let uploaded = browser
        .client
        .post(
            api.server
                .url(&format!("/admin/editions/{edition_id}/files")),
        )
        .header("accept", "application/json")
        .header("origin", api.server.url("").trim_end_matches('/'))
        .header("x-csrf-token", &token)
        .multipart(reqwest::multipart::Form::new().part("file", file))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let answer: serde_json::Value = uploaded.json().await.unwrap();
    assert_eq!(answer["added"], json!(["d.epub"]));
    // Without the token nothing is stored.
    let forged = browser
        .client
        .post(
            api.server
                .url(&format!("/admin/editions/{edition_id}/files")),
        )
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(epub("X", "9780060512750", 0)).file_name("x.epub"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(api.t.count("edition_file").await, 1);

    // What the file says is shown; applying it fills what the edition lacks.
    let words = text(&browser.page(&page).await);
    assert!(
        words.contains("d.epub") && words.contains("Test Press") && words.contains("Test Author"),
        "{words}"
    );
    let applied = browser
        .submit(&page, &format!("/admin/editions/{edition_id}/apply"), &[])
        .await;
    assert_eq!(applied.status(), 303);
    let edition = keeper.get(&format!("/editions/{edition_id}")).await;
    assert_eq!(edition["publisher"], "Test Press");
    assert_eq!(edition["isbn"], "9780060512750");

    // A cover, uploaded as the form sends it, shows on the book's page.
    let cover = reqwest::multipart::Part::bytes(fixture("cover.jpg")).file_name("cover.jpg");
    let covered = browser
        .client
        .post(
            api.server
                .url(&format!("/admin/books/{book_id}/cover?csrf={token}")),
        )
        .header("origin", api.server.url("").trim_end_matches('/'))
        .multipart(reqwest::multipart::Form::new().part("cover", cover))
        .send()
        .await
        .unwrap();
    assert_eq!(covered.status(), 303);
    let public = browser.page(&format!("/books/{book_id}")).await;
    assert!(
        public.contains("src=\"/api/v1/covers/"),
        "the book has its cover"
    );

    // Purchases with their webhook events, filtered by status.
    let buyer = signed_in(&api, "reader").await;
    let purchase = bought(&buyer, "web-admin-1", edition_id).await;
    settle(&api, &purchase, "paid", "evt-web-admin").await;
    let words = text(&browser.page("/admin/purchases").await);
    assert!(
        words.contains("€12.99") && words.contains("Paid") && words.contains("evt-web-admin"),
        "{words}"
    );
    let none = text(&browser.page("/admin/purchases?status=failed").await);
    assert!(none.contains("No purchases match."), "{none}");

    // Accounts: the keeper disables the reader, whose browser is signed out at once.
    let users = text(&browser.page("/admin/users").await);
    assert!(
        users.contains("reader") && users.contains("reader@example.org"),
        "{users}"
    );
    let disabled = browser
        .submit(
            "/admin/users",
            &format!("/admin/users/{reader_id}"),
            &[("disabled", "true")],
        )
        .await;
    assert_eq!(disabled.status(), 303);
    assert!(text(&reader.page("/").await).contains("Sign in"));
    assert!(api.try_login("reader", PASSWORD).await.status() == 403);
}

async fn a_keeper_edits_editions_categories_and_authors(backend: Backend) {
    let api = Api::start(&backend).await;
    let keeper = admin(&api).await;
    let browser = Browser::new(&api.server);
    assert_eq!(browser.sign_in("admin").await.status(), 303);

    // Categories: one at the top, one under it, then renamed and moved back to the top. A
    // category cannot go under its own branch.
    let top = browser
        .submit(
            "/admin/categories",
            "/admin/categories",
            &[("name", "Fiction"), ("parent", "")],
        )
        .await;
    assert_eq!(top.status(), 303);
    let fiction = keeper.get("/categories/fiction").await;
    let fiction_id = fiction["id"].as_i64().unwrap().to_string();
    let under = browser
        .submit(
            "/admin/categories",
            "/admin/categories",
            &[("name", "Space opera"), ("parent", &fiction_id)],
        )
        .await;
    assert_eq!(under.status(), 303);
    let opera = keeper.get("/categories/space-opera").await;
    assert_eq!(opera["parent_id"].as_i64(), fiction["id"].as_i64());
    let opera_id = opera["id"].as_i64().unwrap();
    let cycle = browser
        .submit(
            "/admin/categories",
            &format!("/admin/categories/{fiction_id}"),
            &[("name", "Fiction"), ("parent", &opera_id.to_string())],
        )
        .await;
    assert_eq!(cycle.status(), 422);
    let why = text(&cycle.text().await.unwrap());
    assert!(why.contains("cannot be placed under itself"), "{why}");
    let moved = browser
        .submit(
            "/admin/categories",
            &format!("/admin/categories/{opera_id}"),
            &[("name", "Space Opera"), ("parent", "")],
        )
        .await;
    assert_eq!(moved.status(), 303);
    let opera = keeper.get(&format!("/categories/{opera_id}")).await;
    assert_eq!(
        (opera["name"].as_str(), opera["parent_id"].as_i64()),
        (Some("Space Opera"), None)
    );
    assert_eq!(opera["slug"], "space-opera", "its address stays");
    let listed = text(&browser.page("/admin/categories").await);
    assert!(
        listed.contains("Edit Fiction") && listed.contains("Edit Space Opera"),
        "{listed}"
    );

    // A book with an edition at 12.99 EUR for buyers, then 9.50 for members, then free.
    let book = keeper
        .post(
            "/books",
            json!({"title": "The Dispossessed", "author_ids": []}),
        )
        .await;
    let book_id = id(&book);
    let page = format!("/admin/books/{book_id}");
    browser
        .submit(
            &page,
            &format!("/admin/books/{book_id}"),
            &[("title", "The Dispossessed"), ("authors", "Ursula Le Guin")],
        )
        .await;
    browser
        .submit(
            &page,
            &format!("/admin/books/{book_id}/editions"),
            &[
                ("format", "ebook"),
                ("access", "buyers"),
                ("price", "12.99"),
                ("currency", "EUR"),
            ],
        )
        .await;
    let edition_id = keeper.get(&format!("/books/{book_id}")).await["editions"][0]["id"]
        .as_i64()
        .unwrap();
    let html = browser.page(&page).await;
    assert!(
        html.contains("value=\"12.99\""),
        "the edit form shows the price as typed"
    );
    let edit = format!("/admin/editions/{edition_id}");
    let edited = browser
        .submit(
            &page,
            &edit,
            &[
                ("access", "members"),
                ("price", "9.5"),
                ("currency", "eur"),
                ("isbn", "978-0-06-051275-0"),
                ("publisher", "Harper"),
            ],
        )
        .await;
    assert_eq!(edited.status(), 303);
    assert_eq!(
        edited.headers()["location"],
        format!("/admin/books/{book_id}#edition-{edition_id}").as_str()
    );
    let edition = keeper.get(&format!("/editions/{edition_id}")).await;
    assert_eq!(
        (
            edition["access"].as_str(),
            edition["price_minor"].as_i64(),
            edition["currency"].as_str(),
            edition["isbn"].as_str(),
            edition["publisher"].as_str(),
            edition["format"].as_str(),
        ),
        (
            Some("members"),
            Some(950),
            Some("EUR"),
            Some("9780060512750"),
            Some("Harper"),
            Some("ebook")
        )
    );
    let bad = browser
        .submit(
            &page,
            &edit,
            &[
                ("access", "public"),
                ("price", "9.999"),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(
        keeper.get(&format!("/editions/{edition_id}")).await["access"],
        "members",
        "a refused edit changes nothing"
    );
    let free = browser
        .submit(
            &page,
            &edit,
            &[("access", "public"), ("price", ""), ("currency", "EUR")],
        )
        .await;
    assert_eq!(free.status(), 303);
    let edition = keeper.get(&format!("/editions/{edition_id}")).await;
    assert_eq!(
        (
            edition["access"].as_str(),
            edition["price_minor"].as_i64(),
            edition["currency"].as_str()
        ),
        (Some("public"), None, None)
    );

    // The author, linked from the book's page, renamed with a biography; search finds the
    // new name.
    let html = browser.page(&page).await;
    let author_id = html
        .split("href=\"/admin/authors/")
        .nth(1)
        .expect("a link to the author")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let renamed = browser
        .submit(
            &format!("/admin/authors/{author_id}"),
            &format!("/admin/authors/{author_id}"),
            &[
                ("name", "Ursula K. Le Guin"),
                ("bio", "Wrote of Anarres and Urras."),
            ],
        )
        .await;
    assert_eq!(renamed.status(), 303);
    let public = text(&browser.page(&format!("/authors/{author_id}")).await);
    assert!(
        public.contains("Ursula K. Le Guin") && public.contains("Wrote of Anarres"),
        "{public}"
    );
    let found = keeper.get("/books?q=guin").await;
    assert_eq!(ids(&found), [book_id], "{found}");

    // A reader is let into none of it.
    api.register("reader").await;
    let reader = Browser::new(&api.server);
    reader.sign_in("reader").await;
    assert_eq!(reader.open("/admin/categories").await.status(), 403);
    assert_eq!(
        reader
            .open(&format!("/admin/authors/{author_id}"))
            .await
            .status(),
        403
    );
    let refused = reader
        .submit(
            "/",
            &edit,
            &[("access", "buyers"), ("price", "1"), ("currency", "EUR")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        keeper.get(&format!("/editions/{edition_id}")).await["access"],
        "public"
    );
}
