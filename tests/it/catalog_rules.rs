//! The catalog's rules over real HTTP: only admins write, unique names and slugs name the field
//! that collides, credited authors stay, a book takes its editions with it, malformed bodies
//! and unknown ids are the client's errors.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;
use crate::support::user::admin_token;

backend_tests!(
    every_catalog_write_needs_an_admin,
    conflicts_name_the_field_and_deletes_cascade_or_refuse,
    malformed_bodies_and_unknown_ids_are_client_errors,
    concurrent_category_moves_never_make_a_cycle,
);

const TABLES: [&str; 8] = [
    "author",
    "category",
    "book",
    "book_author",
    "book_category",
    "edition",
    "edition_contributor",
    "book_search",
];

async fn every_catalog_write_needs_an_admin(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let (_, reader) = api.sign_up("reader").await;

    let author = id(&create(
        &api,
        &admin,
        "/authors",
        json!({"name": "Ursula K. Le Guin"}),
    )
    .await);
    let category = id(&create(&api, &admin, "/categories", json!({"name": "Fantasy"})).await);
    let body = json!({"title": "Earthsea", "author_ids": [author], "category_ids": [category]});
    let book = id(&create(&api, &admin, "/books", body).await);
    let contributors = json!([{"author_id": author, "role": "illustrator"}]);
    let body = json!({"format": "print", "isbn": "0306406152", "contributors": contributors});
    let edition = id(&create(&api, &admin, &format!("/books/{book}/editions"), body).await);

    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/authors".into(),
            Some(json!({"name": "Someone"})),
        ),
        (
            Method::PATCH,
            format!("/authors/{author}"),
            Some(json!({"name": "Renamed"})),
        ),
        (Method::DELETE, format!("/authors/{author}"), None),
        (
            Method::POST,
            "/categories".into(),
            Some(json!({"name": "Horror"})),
        ),
        (
            Method::PATCH,
            format!("/categories/{category}"),
            Some(json!({"name": "Renamed"})),
        ),
        (
            Method::PATCH,
            "/categories/fantasy".into(),
            Some(json!({"slug": "renamed"})),
        ),
        (Method::DELETE, format!("/categories/{category}"), None),
        (Method::DELETE, "/categories/fantasy".into(), None),
        (
            Method::POST,
            "/books".into(),
            Some(json!({"title": "Another"})),
        ),
        (
            Method::PATCH,
            format!("/books/{book}"),
            Some(json!({"title": "Renamed"})),
        ),
        (Method::DELETE, format!("/books/{book}"), None),
        (
            Method::POST,
            format!("/books/{book}/editions"),
            Some(json!({"format": "ebook"})),
        ),
        (
            Method::PATCH,
            format!("/editions/{edition}"),
            Some(json!({"pages": 12})),
        ),
        (Method::DELETE, format!("/editions/{edition}"), None),
    ];
    let paths = [
        format!("/authors/{author}"),
        format!("/categories/{category}"),
        format!("/books/{book}"),
        format!("/editions/{edition}"),
    ];
    let before = snapshot(&api, &paths).await;

    for (method, path, body) in &writes {
        let what = format!("{method} {path}");
        let anonymous = api.call(method.clone(), path, None, body.as_ref()).await;
        assert_unauthorized(anonymous, &format!("{what} without credentials")).await;
        let as_reader = api
            .call(method.clone(), path, Some(&reader.access), body.as_ref())
            .await;
        assert_eq!(as_reader.status(), 403, "{what} as a reader");
        problem(as_reader, 403, "forbidden").await;
    }
    assert_eq!(
        snapshot(&api, &paths).await,
        before,
        "no refused write changed anything"
    );
    assert_eq!(before.0, [1, 1, 1, 1, 1, 1, 1, 1]);
}

/// Row counts of the catalog's tables, and the bodies at `paths`.
async fn snapshot(api: &Api, paths: &[String]) -> (Vec<i64>, Vec<Value>) {
    let mut bodies = vec![];
    for path in paths {
        bodies.push(read(api, path).await);
    }
    (counts(api).await, bodies)
}

async fn counts(api: &Api) -> Vec<i64> {
    let mut counts = vec![];
    for table in TABLES {
        counts.push(api.t.count(table).await);
    }
    counts
}

async fn conflicts_name_the_field_and_deletes_cascade_or_refuse(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let conflict = |response: reqwest::Response, field: &'static str| async move {
        let body = problem(response, 409, "conflict").await;
        assert_eq!(fields(&body), [field], "{body}");
    };

    // Authors: a name is one author's.
    let ursula = id(&create(
        &api,
        &admin,
        "/authors",
        json!({"name": "Ursula K. Le Guin"}),
    )
    .await);
    let other = id(&create(&api, &admin, "/authors", json!({"name": "Someone Else"})).await);
    let same = json!({"name": "Ursula K. Le Guin"});
    conflict(
        api.post("/authors", Some(&admin), same.clone()).await,
        "name",
    )
    .await;
    let path = format!("/authors/{other}");
    conflict(api.patch(&path, Some(&admin), same).await, "name").await;

    // Categories: slugs and names are unique, however the slug came about.
    create(
        &api,
        &admin,
        "/categories",
        json!({"name": "Science Fiction"}),
    )
    .await;
    let post = |body: Value| api.post("/categories", Some(&admin), body);
    conflict(post(json!({"name": "Science-Fiction"})).await, "slug").await;
    conflict(
        post(json!({"name": "SF", "slug": "science-fiction"})).await,
        "slug",
    )
    .await;
    conflict(
        post(json!({"name": "Science Fiction", "slug": "sf"})).await,
        "name",
    )
    .await;
    create(&api, &admin, "/categories", json!({"name": "Fantasy"})).await;
    let body = json!({"slug": "science-fiction"});
    conflict(
        api.patch("/categories/fantasy", Some(&admin), body).await,
        "slug",
    )
    .await;
    let body = json!({"name": "Science Fiction"});
    conflict(
        api.patch("/categories/fantasy", Some(&admin), body).await,
        "name",
    )
    .await;
    assert_eq!(api.t.count("author").await, 2);
    assert_eq!(api.t.count("category").await, 2);

    // An author credited on a book, or only on an edition, stays.
    let body = json!({"title": "Earthsea", "author_ids": [ursula]});
    let book = id(&create(&api, &admin, "/books", body).await);
    let contributors = json!([{"author_id": other, "role": "narrator"}]);
    let body = json!({"format": "audiobook", "isbn": "0306406152", "contributors": contributors});
    let edition = id(&create(&api, &admin, &format!("/books/{book}/editions"), body).await);
    let body = json!({"format": "ebook", "contributors": contributors});
    let ebook = id(&create(&api, &admin, &format!("/books/{book}/editions"), body).await);
    for author in [ursula, other] {
        let response = api
            .delete(&format!("/authors/{author}"), Some(&admin))
            .await;
        conflict(response, "id").await;
    }
    assert_eq!(api.t.count("author").await, 2);
    change(
        &api,
        &admin,
        &format!("/books/{book}"),
        json!({"author_ids": []}),
    )
    .await;
    expect(
        api.delete(&format!("/authors/{ursula}"), Some(&admin))
            .await,
        204,
    )
    .await;

    // Deleting the book deletes its editions and their credits.
    expect(
        api.delete(&format!("/books/{book}"), Some(&admin)).await,
        204,
    )
    .await;
    for edition in [edition, ebook] {
        problem(
            api.get(&format!("/editions/{edition}"), None).await,
            404,
            "not-found",
        )
        .await;
    }
    let listing = api.get(&format!("/books/{book}/editions"), None).await;
    problem(listing, 404, "not-found").await;
    assert!(items(&read(&api, "/editions?isbn=0306406152").await).is_empty());
    for table in [
        "book",
        "edition",
        "edition_contributor",
        "book_author",
        "book_search",
    ] {
        assert_eq!(api.t.count(table).await, 0, "{table}");
    }
    // Nothing credits the narrator any more.
    expect(
        api.delete(&format!("/authors/{other}"), Some(&admin)).await,
        204,
    )
    .await;
}

async fn malformed_bodies_and_unknown_ids_are_client_errors(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let author = id(&create(&api, &admin, "/authors", json!({"name": "Frank Herbert"})).await);
    create(&api, &admin, "/categories", json!({"name": "Fantasy"})).await;
    let book = id(&create(&api, &admin, "/books", json!({"title": "Dune"})).await);
    let body = json!({"format": "ebook"});
    let edition = id(&create(&api, &admin, &format!("/books/{book}/editions"), body).await);
    let before = counts(&api).await;

    let writes = [
        (Method::POST, "/authors".to_string()),
        (Method::PATCH, format!("/authors/{author}")),
        (Method::POST, "/categories".to_string()),
        (Method::PATCH, "/categories/fantasy".to_string()),
        (Method::POST, "/books".to_string()),
        (Method::PATCH, format!("/books/{book}")),
        (Method::POST, format!("/books/{book}/editions")),
        (Method::PATCH, format!("/editions/{edition}")),
    ];
    for (method, path) in &writes {
        for broken in ["{\"name\": ", "{\"title\": \"x\",}", "not json", ""] {
            let response = api
                .server
                .client
                .request(method.clone(), api.server.url(&format!("/api/v1{path}")))
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body(broken)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{method} {path} with {broken:?}");
            problem(response, 400, "bad-request").await;
        }
    }
    // Well-formed JSON of the wrong shape is a 422 naming the field.
    refused(
        api.post("/books", Some(&admin), json!({"title": 5})).await,
        "title",
    )
    .await;
    let body = json!({"title": "T", "author_ids": "1"});
    refused(api.post("/books", Some(&admin), body).await, "author_ids").await;
    refused(
        api.post("/authors", Some(&admin), json!("Frank")).await,
        "body",
    )
    .await;

    let missing = [
        "/authors/999999",
        "/categories/999999",
        "/categories/no-such-slug",
        "/books/999999",
        "/editions/999999",
    ];
    for path in missing {
        problem(api.get(path, None).await, 404, "not-found").await;
        let response = api.patch(path, Some(&admin), json!({})).await;
        problem(response, 404, "not-found").await;
        problem(api.delete(path, Some(&admin)).await, 404, "not-found").await;
    }
    let listing = api.get("/books/999999/editions", None).await;
    problem(listing, 404, "not-found").await;
    let body = json!({"format": "print"});
    problem(
        api.post("/books/999999/editions", Some(&admin), body).await,
        404,
        "not-found",
    )
    .await;
    problem(
        api.get("/books?category=no-such-slug", None).await,
        404,
        "not-found",
    )
    .await;
    problem(
        api.get("/categories?parent=no-such-slug", None).await,
        404,
        "not-found",
    )
    .await;

    // A non-numeric id is a 422 (which names the field `path`, not `id`).
    for path in [
        "/authors/abc",
        "/books/abc",
        "/editions/abc",
        "/books/abc/editions",
    ] {
        problem(api.get(path, None).await, 422, "validation-error").await;
    }
    for path in ["/authors/abc", "/books/abc", "/editions/abc"] {
        let response = api.delete(path, Some(&admin)).await;
        problem(response, 422, "validation-error").await;
    }

    let after = counts(&api).await;
    assert_eq!(after, before, "no malformed request changed anything");
}

/// The ancestors of a category, nearest first; panics on a cycle.
async fn ancestors(api: &Api, category: i64) -> Vec<i64> {
    let mut seen = vec![];
    let mut at = read(api, &format!("/categories/{category}")).await;
    while let Some(parent) = at["parent_id"].as_i64() {
        assert!(
            parent != category && !seen.contains(&parent),
            "a cycle through {category}: {seen:?} then {parent}"
        );
        seen.push(parent);
        at = read(api, &format!("/categories/{parent}")).await;
    }
    seen
}

/// Two admins' requests, each acyclic on its own, that together would put X under Y and Y
/// under X: fired at once, many times, exactly one wins and the tree stays a tree.
async fn concurrent_category_moves_never_make_a_cycle(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    for round in 0..20 {
        let new = |name: String| create(&api, &admin, "/categories", json!({"name": name}));
        let x = id(&new(format!("X {round}")).await);
        let y = id(&new(format!("Y {round}")).await);

        let (x_path, y_path) = (format!("/categories/{x}"), format!("/categories/{y}"));
        let (x_under_y, y_under_x) = tokio::join!(
            api.patch(&x_path, Some(&admin), json!({"parent_id": y})),
            api.patch(&y_path, Some(&admin), json!({"parent_id": x})),
        );
        let mut statuses = [x_under_y.status().as_u16(), y_under_x.status().as_u16()];
        for category in [x, y] {
            assert!(ancestors(&api, category).await.len() <= 1, "round {round}");
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 422], "round {round}: exactly one move wins");
    }
}
