//! Editions over real HTTP: create, read, update and delete with every field checked, the
//! checks on their fields, and ISBNs in any spelling stored and found as one ISBN-13.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;
use crate::support::user::admin_token;

backend_tests!(editions_crud, isbns_in_any_spelling_are_one_isbn_13);

async fn editions_crud(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let narrator = create(&api, &admin, "/authors", json!({"name": "Roy Dotrice"})).await;
    let translator = create(&api, &admin, "/authors", json!({"name": "Tess Lator"})).await;
    let book = create(
        &api,
        &admin,
        "/books",
        json!({"title": "A Game of Thrones"}),
    )
    .await;
    let book_editions = format!("/books/{}/editions", id(&book));

    let body = json!({
        "format": "audiobook",
        "isbn": "978-0-306-40615-7",
        "publisher": "Random House Audio",
        "release_date": "2020-05-01",
        "language": "EN",
        "duration_seconds": 122_400,
        "price_minor": 1999,
        "currency": "eur",
        "contributors": [
            {"author_id": id(&narrator), "role": "narrator"},
            {"author_id": id(&translator), "role": "translator"},
        ],
    });
    let audio = create(&api, &admin, &book_editions, body).await;
    let expected = json!({
        "id": id(&audio),
        "book_id": id(&book),
        "format": "audiobook",
        "isbn": "9780306406157",
        "catalog_number": null,
        "publisher": "Random House Audio",
        "release_date": "2020-05-01",
        "language": "en",
        "pages": null,
        "duration_seconds": 122_400,
        "price_minor": 1999,
        "currency": "EUR",
        "access": "buyers",
        "contributors": [
            {"author_id": id(&narrator), "name": "Roy Dotrice", "role": "narrator"},
            {"author_id": id(&translator), "name": "Tess Lator", "role": "translator"},
        ],
        "created_at": audio["created_at"],
        "updated_at": audio["updated_at"],
        "title": null,
        "subtitle": null,
    });
    assert_eq!(audio, expected);
    assert!(audio["created_at"].is_string());
    let path = format!("/editions/{}", id(&audio));
    assert_eq!(read(&api, &path).await, audio);
    let listed = read(&api, &book_editions).await;
    assert_eq!(listed["items"], json!([audio]));
    assert_eq!(
        read(&api, &format!("/books/{}", id(&book))).await["editions"],
        json!([audio])
    );

    let body = json!({
        "publisher": null,
        "price_minor": 2499,
        "contributors": [{"author_id": id(&translator), "role": "translator"}],
    });
    let changed = change(&api, &admin, &path, body).await;
    assert_eq!(changed["publisher"], Value::Null);
    assert_eq!(changed["price_minor"], 2499);
    assert_eq!(changed["currency"], "EUR", "an absent currency stays");
    assert_eq!(changed["isbn"], "9780306406157");
    assert_eq!(
        changed["contributors"],
        json!([{"author_id": id(&translator), "name": "Tess Lator", "role": "translator"}])
    );
    let free = change(
        &api,
        &admin,
        &path,
        json!({"price_minor": null, "currency": null}),
    )
    .await;
    assert_eq!(
        (&free["price_minor"], &free["currency"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(read(&api, &path).await, free);

    let body = json!({"format": "vinyl", "catalog_number": "SHVL 804", "publisher": "Harvest"});
    let vinyl = create(&api, &admin, &book_editions, body).await;
    assert_eq!(vinyl["isbn"], Value::Null);
    assert_eq!(vinyl["catalog_number"], "SHVL 804");
    assert_eq!(
        ids(&read(&api, "/editions?format=vinyl").await),
        [id(&vinyl)]
    );
    assert_eq!(
        ids(&read(&api, "/editions").await),
        [id(&audio), id(&vinyl)]
    );

    let post = |body: Value| api.post(&book_editions, Some(&admin), body);
    let contributor = |author_id: i64, role: &str| json!([{"author_id": author_id, "role": role}]);
    refused(
        post(json!({"format": "print", "price_minor": 999})).await,
        "currency",
    )
    .await;
    let body = json!({"format": "print", "price_minor": 999, "currency": "XYZ"});
    refused(post(body).await, "currency").await;
    refused(
        post(json!({"format": "print", "currency": "EUR"})).await,
        "price_minor",
    )
    .await;
    let body = json!({"format": "vinyl", "isbn": "9780804429573"});
    refused(post(body).await, "isbn").await;
    let body = json!({"format": "print", "contributors": contributor(999_999, "editor")});
    refused(post(body).await, "contributors").await;
    let body = json!({"format": "print", "contributors": contributor(id(&narrator), "singer")});
    assert_eq!(post(body).await.status(), 422, "an unknown role");
    refused(post(json!({"format": "scroll"})).await, "format").await;
    let body = json!({"format": "print", "release_date": "2020-13-45"});
    refused(post(body).await, "release_date").await;
    refused(post(json!({"format": "print", "pages": 0})).await, "pages").await;
    // The audiobook keeps its ISBN, which a vinyl record cannot have.
    refused(
        api.patch(&path, Some(&admin), json!({"format": "vinyl"}))
            .await,
        "isbn",
    )
    .await;
    assert_eq!(
        api.t.count("edition").await,
        2,
        "nothing refused was stored"
    );

    expect(api.delete(&path, Some(&admin)).await, 204).await;
    problem(api.get(&path, None).await, 404, "not-found").await;
    assert_eq!(ids(&read(&api, &book_editions).await), [id(&vinyl)]);
    assert_eq!(api.t.count("edition_contributor").await, 0);
}

async fn isbns_in_any_spelling_are_one_isbn_13(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin_token(&api).await;
    let book = id(&create(&api, &admin, "/books", json!({"title": "Signs"})).await);
    let editions = format!("/books/{book}/editions");
    let add = |isbn: &str| {
        api.post(
            &editions,
            Some(&admin),
            json!({"format": "print", "isbn": isbn}),
        )
    };

    let hyphenated = expect(add("0-306-40615-2").await, 201).await;
    assert_eq!(hyphenated["isbn"], "9780306406157", "ISBN-10 with hyphens");
    let with_x = expect(add("080442957X").await, 201).await;
    assert_eq!(with_x["isbn"], "9780804429573", "ISBN-10 ending in X");
    let thirteen = expect(add("ISBN 978-3-16-148410-0").await, 201).await;
    assert_eq!(
        thirteen["isbn"], "9783161484100",
        "ISBN-13 with a prefix and hyphens"
    );

    for wrong in [
        "0-306-40615-3",
        "978-0-306-40615-8",
        "12345",
        "977-0-306-40615-7",
        "03064O6152",
    ] {
        refused(add(wrong).await, "isbn").await;
    }
    // The same ISBN in another spelling is the same ISBN.
    for same in ["978-0-306-40615-7", "0306406152"] {
        let body = problem(add(same).await, 409, "conflict").await;
        assert_eq!(fields(&body), ["isbn"], "{same}");
    }
    let path = format!("/editions/{}", id(&with_x));
    let body = problem(
        api.patch(&path, Some(&admin), json!({"isbn": "0-306-40615-2"}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(fields(&body), ["isbn"]);
    assert_eq!(api.t.count("edition").await, 3);

    for spelling in [
        "0-306-40615-2",
        "0306406152",
        "9780306406157",
        "978-0-306-40615-7",
        "ISBN%20978%200%20306%2040615%207",
    ] {
        let found = read(&api, &format!("/editions?isbn={spelling}")).await;
        assert_eq!(ids(&found), [id(&hyphenated)], "isbn={spelling}");
    }
    for spelling in ["080442957x", "978-0-8044-2957-3"] {
        let found = read(&api, &format!("/editions?isbn={spelling}")).await;
        assert_eq!(ids(&found), [id(&with_x)], "isbn={spelling}");
    }
    let combined = read(&api, "/editions?isbn=0306406152&format=ebook").await;
    assert!(items(&combined).is_empty(), "the ISBN is a print edition's");
    assert!(items(&read(&api, "/editions?isbn=9791032305560").await).is_empty());
    refused(api.get("/editions?isbn=0-306-40615-3", None).await, "isbn").await;

    // Clearing and re-spelling an ISBN on PATCH.
    let cleared = change(&api, &admin, &path, json!({"isbn": null})).await;
    assert_eq!(cleared["isbn"], Value::Null);
    let set = change(&api, &admin, &path, json!({"isbn": "0-8044-2957-x"})).await;
    assert_eq!(set["isbn"], "9780804429573");
}
