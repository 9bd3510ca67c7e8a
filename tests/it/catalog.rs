//! The catalog over real HTTP: create, read, update and delete authors, categories and books,
//! with every response field checked. See also
//! `catalog_editions` (editions and ISBNs), `catalog_rules` (who may write, conflicts,
//! cascades, malformed requests), `catalog_listing` (keyset pages, filters) and
//! `catalog_search` (full-text search).

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;
use crate::support::user::admin_token;

backend_tests!(authors_crud, categories_crud, books_crud);

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

async fn authors_crud(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;

    let body = json!({"name": "  Emily Brontë ", "bio": "Poet and novelist."});
    let emily = create(&api, &admin, "/authors", body).await;
    assert_eq!(
        keys(&emily),
        ["bio", "created_at", "id", "name", "updated_at"]
    );
    assert_eq!(emily["name"], "Emily Brontë", "the name is trimmed");
    assert_eq!(emily["bio"], "Poet and novelist.");
    assert_eq!(emily["created_at"], emily["updated_at"]);
    let path = format!("/authors/{}", id(&emily));
    assert_eq!(read(&api, &path).await, emily, "reads are public");

    let cleared = change(&api, &admin, &path, json!({"bio": null})).await;
    assert_eq!(cleared["bio"], Value::Null, "null clears");
    assert_eq!(cleared["name"], "Emily Brontë", "an absent field stays");
    let renamed = change(&api, &admin, &path, json!({"name": "Emily Jane Brontë"})).await;
    assert_eq!(renamed["name"], "Emily Jane Brontë");
    assert_eq!(renamed["bio"], Value::Null);
    assert_eq!(renamed["id"], emily["id"]);
    assert_eq!(renamed["created_at"], emily["created_at"]);
    assert!(time(&renamed["updated_at"]) >= time(&emily["updated_at"]));
    assert_eq!(read(&api, &path).await, renamed);

    for name in ["Charlotte Brontë", "Émile Zola", "Anne Brontë"] {
        create(&api, &admin, "/authors", json!({"name": name})).await;
    }
    // Sorted by the folded name: "émile" between "charlotte" and "emily".
    let all = read(&api, "/authors").await;
    let everyone = [
        "Anne Brontë",
        "Charlotte Brontë",
        "Émile Zola",
        "Emily Jane Brontë",
    ];
    assert_eq!(strings(&all, "name"), everyone);
    assert_eq!(all["next_cursor"], Value::Null);
    let sisters = ["Anne Brontë", "Charlotte Brontë", "Emily Jane Brontë"];
    let searches: [(&str, &[&str]); 8] = [
        ("bron", &sisters),
        ("BRONT", &sisters),
        ("brontë", &sisters),
        ("émi", &["Émile Zola", "Emily Jane Brontë"]),
        ("EMI", &["Émile Zola", "Emily Jane Brontë"]),
        ("jane", &["Emily Jane Brontë"]),
        ("ily", &[]),
        ("zz", &[]),
    ];
    for (q, expected) in searches {
        let found = read(&api, &format!("/authors?q={q}")).await;
        assert_eq!(strings(&found, "name"), expected, "q={q}");
    }

    let first = read(&api, "/authors?limit=3").await;
    assert_eq!(strings(&first, "name"), everyone[..3]);
    let cursor = first["next_cursor"].as_str().expect("more follow");
    let rest = read(&api, &format!("/authors?limit=3&cursor={cursor}")).await;
    assert_eq!(strings(&rest, "name"), everyone[3..]);
    assert_eq!(rest["next_cursor"], Value::Null);

    for bad in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"bio": "x"}),
    ] {
        refused(api.post("/authors", Some(&admin), bad).await, "name").await;
    }
    refused(
        api.patch(&path, Some(&admin), json!({"name": ""})).await,
        "name",
    )
    .await;

    expect(api.delete(&path, Some(&admin)).await, 204).await;
    problem(api.get(&path, None).await, 404, "not-found").await;
    assert_eq!(api.t.count("author").await, 3);
}

async fn categories_crud(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;

    let sf = create(
        &api,
        &admin,
        "/categories",
        json!({"name": "Science Fiction"}),
    )
    .await;
    assert_eq!(
        keys(&sf),
        [
            "created_at",
            "id",
            "name",
            "parent_id",
            "slug",
            "updated_at"
        ]
    );
    assert_eq!(sf["name"], "Science Fiction");
    assert_eq!(sf["slug"], "science-fiction", "made from the name");
    assert_eq!(sf["parent_id"], Value::Null);
    let body = json!({"name": "Space Opera", "parent_id": id(&sf)});
    let opera = create(&api, &admin, "/categories", body).await;
    assert_eq!(opera["slug"], "space-opera");
    assert_eq!(opera["parent_id"], sf["id"]);
    let body = json!({"name": "Fantasy", "slug": "fantasy-fiction"});
    let fantasy = create(&api, &admin, "/categories", body).await;
    assert_eq!(fantasy["slug"], "fantasy-fiction", "a slug given is kept");

    assert_eq!(read(&api, &format!("/categories/{}", id(&sf))).await, sf);
    assert_eq!(read(&api, "/categories/science-fiction").await, sf);
    let all = read(&api, "/categories").await;
    let names = ["Fantasy", "Science Fiction", "Space Opera"];
    assert_eq!(strings(&all, "name"), names, "sorted by name");
    for parent in [id(&sf).to_string(), "science-fiction".to_string()] {
        let children = read(&api, &format!("/categories?parent={parent}")).await;
        assert_eq!(ids(&children), [id(&opera)], "parent={parent}");
    }
    assert!(items(&read(&api, "/categories?parent=fantasy-fiction").await).is_empty());
    let first = read(&api, "/categories?limit=2").await;
    assert_eq!(strings(&first, "name"), names[..2]);
    let cursor = first["next_cursor"].as_str().expect("more follow");
    let rest = read(&api, &format!("/categories?limit=2&cursor={cursor}")).await;
    assert_eq!(strings(&rest, "name"), names[2..]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let post = |body: Value| api.post("/categories", Some(&admin), body);
    refused(
        post(json!({"name": "Sci-Fi", "slug": "Sci-Fi"})).await,
        "slug",
    )
    .await;
    refused(
        post(json!({"name": "Nineteen", "slug": "1984"})).await,
        "slug",
    )
    .await;
    refused(post(json!({"name": "", "slug": "empty"})).await, "name").await;
    refused(
        post(json!({"name": "Orphan", "parent_id": 999_999})).await,
        "parent_id",
    )
    .await;

    // PATCH by slug; the old slug stops answering.
    let body = json!({"name": "Space Operas", "slug": "space-operas"});
    let renamed = change(&api, &admin, "/categories/space-opera", body).await;
    assert_eq!(renamed["id"], opera["id"]);
    assert_eq!(renamed["name"], "Space Operas");
    assert_eq!(renamed["slug"], "space-operas");
    assert_eq!(renamed["parent_id"], sf["id"], "an absent parent stays");
    problem(
        api.get("/categories/space-opera", None).await,
        404,
        "not-found",
    )
    .await;

    // No category under itself or its own sub-categories.
    let sf_path = format!("/categories/{}", id(&sf));
    for parent in [id(&opera), id(&sf), 999_999] {
        let body = json!({"parent_id": parent});
        refused(api.patch(&sf_path, Some(&admin), body).await, "parent_id").await;
    }
    let opera_path = format!("/categories/{}", id(&opera));
    let moved = change(
        &api,
        &admin,
        &opera_path,
        json!({"parent_id": id(&fantasy)}),
    )
    .await;
    assert_eq!(moved["parent_id"], fantasy["id"]);
    let top = change(&api, &admin, &opera_path, json!({"parent_id": null})).await;
    assert_eq!(top["parent_id"], Value::Null, "null makes it top-level");
    change(&api, &admin, &opera_path, json!({"parent_id": id(&sf)})).await;

    // A category with children stays; deleting a leaf untags its books.
    let body = json!({"title": "Dune", "category_ids": [id(&opera), id(&fantasy)]});
    let book = create(&api, &admin, "/books", body).await;
    let conflict = problem(api.delete(&sf_path, Some(&admin)).await, 409, "conflict").await;
    assert_eq!(fields(&conflict), ["id"]);
    expect(
        api.delete("/categories/space-operas", Some(&admin)).await,
        204,
    )
    .await;
    let untagged = read(&api, &format!("/books/{}", id(&book))).await;
    assert_eq!(
        untagged["categories"],
        json!([{"id": id(&fantasy), "name": "Fantasy", "slug": "fantasy-fiction"}])
    );
    expect(api.delete(&sf_path, Some(&admin)).await, 204).await;
    problem(api.get(&sf_path, None).await, 404, "not-found").await;
    assert_eq!(api.t.count("category").await, 1);
    assert_eq!(api.t.count("book_category").await, 1);
}

async fn books_crud(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let ursula = create(
        &api,
        &admin,
        "/authors",
        json!({"name": "Ursula K. Le Guin"}),
    )
    .await;
    let other = create(&api, &admin, "/authors", json!({"name": "Anon Ymous"})).await;
    let sf = create(
        &api,
        &admin,
        "/categories",
        json!({"name": "Science Fiction"}),
    )
    .await;

    let body = json!({
        "title": "  The Left Hand of Darkness ",
        "subtitle": "A novel",
        "description": "Genly Ai visits Gethen.",
        "original_year": 1969,
        "language": "EN",
        "author_ids": [id(&other), id(&ursula)],
        "category_ids": [id(&sf)],
    });
    let book = create(&api, &admin, "/books", body).await;
    assert_eq!(
        keys(&book),
        [
            "authors",
            "categories",
            "cover",
            "created_at",
            "description",
            "editions",
            "id",
            "language",
            "original_year",
            "rating",
            "series",
            "series_number",
            "subtitle",
            "title",
            "updated_at"
        ]
    );
    assert_eq!(book["cover"], Value::Null, "no cover until one is set");
    assert_eq!(book["title"], "The Left Hand of Darkness", "trimmed");
    assert_eq!(book["subtitle"], "A novel");
    assert_eq!(book["description"], "Genly Ai visits Gethen.");
    assert_eq!(book["original_year"], 1969);
    assert_eq!(book["language"], "en", "normalised");
    assert_eq!(
        book["authors"],
        json!([
            {"id": id(&other), "name": "Anon Ymous"},
            {"id": id(&ursula), "name": "Ursula K. Le Guin"},
        ]),
        "in credit order, not by name or id"
    );
    assert_eq!(
        book["categories"],
        json!([{"id": id(&sf), "name": "Science Fiction", "slug": "science-fiction"}])
    );
    assert_eq!(book["editions"], json!([]));
    assert_eq!(book["rating"], json!({"average": 0.0, "count": 0}));
    let path = format!("/books/{}", id(&book));
    assert_eq!(read(&api, &path).await, book);

    let body = json!({"subtitle": null, "language": "en-us", "author_ids": [id(&ursula)]});
    let changed = change(&api, &admin, &path, body).await;
    assert_eq!(changed["subtitle"], Value::Null, "null clears");
    assert_eq!(changed["language"], "en-US");
    assert_eq!(
        changed["authors"],
        json!([{"id": id(&ursula), "name": "Ursula K. Le Guin"}])
    );
    for unchanged in [
        "title",
        "description",
        "original_year",
        "categories",
        "created_at",
    ] {
        assert_eq!(
            changed[unchanged], book[unchanged],
            "{unchanged} was absent"
        );
    }
    assert!(time(&changed["updated_at"]) >= time(&book["updated_at"]));
    let body = json!({"category_ids": [], "original_year": null, "title": "Left Hand"});
    let changed = change(&api, &admin, &path, body).await;
    assert_eq!(changed["categories"], json!([]));
    assert_eq!(changed["original_year"], Value::Null);
    assert_eq!(changed["title"], "Left Hand");
    assert_eq!(changed["authors"].as_array().unwrap().len(), 1);
    assert_eq!(read(&api, &path).await, changed);

    let post = |body: Value| api.post("/books", Some(&admin), body);
    refused(post(json!({"title": ""})).await, "title").await;
    refused(post(json!({"title": "   "})).await, "title").await;
    refused(
        post(json!({"title": "T", "author_ids": [999_999]})).await,
        "author_ids",
    )
    .await;
    let twice = json!({"title": "T", "author_ids": [id(&ursula), id(&ursula)]});
    refused(post(twice).await, "author_ids").await;
    refused(
        post(json!({"title": "T", "category_ids": [999_999]})).await,
        "category_ids",
    )
    .await;
    refused(
        post(json!({"title": "T", "language": "english"})).await,
        "language",
    )
    .await;
    refused(
        post(json!({"title": "T", "original_year": 99_999})).await,
        "original_year",
    )
    .await;
    refused(
        api.patch(&path, Some(&admin), json!({"title": ""})).await,
        "title",
    )
    .await;
    let body = json!({"author_ids": [999_999]});
    refused(api.patch(&path, Some(&admin), body).await, "author_ids").await;
    assert_eq!(
        read(&api, &path).await,
        changed,
        "refused changes change nothing"
    );
    assert_eq!(api.t.count("book").await, 1);

    expect(api.delete(&path, Some(&admin)).await, 204).await;
    problem(api.get(&path, None).await, 404, "not-found").await;
    problem(api.delete(&path, Some(&admin)).await, 404, "not-found").await;
    assert_eq!(api.t.count("book_author").await, 0);
}
