//! Who may do what, over real HTTP: API keys in either header, anonymous callers, readers on
//! admin endpoints, and users reaching for each other's keys and links.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, assert_unauthorized, expect, id, items, problem};

backend_tests!(
    api_keys_work_in_either_header_until_revoked,
    anonymous_requests_get_401_with_www_authenticate,
    readers_get_403_on_admin_endpoints,
    users_never_reach_each_others_things,
    an_api_key_cannot_create_keys_or_change_the_email_or_password,
);

async fn api_keys_work_in_either_header_until_revoked(backend: Backend) {
    let api = Api::start(&backend).await;
    let (ada, tokens) = api.sign_up("ada").await;

    let created = expect(
        api.post(
            "/me/api-keys",
            Some(&tokens.access),
            json!({"name": "Kobo"}),
        )
        .await,
        201,
    )
    .await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("fol_"), "{key}");
    assert_eq!(created["name"], "Kobo");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert!(created["created_at"].is_string());
    assert!(created["last_used_at"].is_null());

    let listed = expect(api.get("/me/api-keys", Some(&tokens.access)).await, 200).await;
    assert_eq!(items(&listed).len(), 1);
    assert_eq!(items(&listed)[0]["id"], created["id"]);
    assert_eq!(items(&listed)[0]["prefix"], created["prefix"]);
    assert!(
        items(&listed)[0].get("key").is_none(),
        "the key is shown once only"
    );
    assert!(listed["next_cursor"].is_null());

    let x_api_key = |key: String| {
        let request = api
            .server
            .client
            .get(api.server.url("/api/v1/me"))
            .header("x-api-key", key);
        async move { request.send().await.unwrap() }
    };
    let me = expect(api.get("/me", Some(&key)).await, 200).await;
    assert_eq!(me["id"], ada["id"]);
    let me = expect(x_api_key(key.clone()).await, 200).await;
    assert_eq!(me["id"], ada["id"]);

    let path = format!("/me/api-keys/{}", id(&created));
    expect(api.delete(&path, Some(&tokens.access)).await, 204).await;
    assert_unauthorized(api.get("/me", Some(&key)).await, "a revoked key as bearer").await;
    assert_unauthorized(x_api_key(key).await, "a revoked key as X-Api-Key").await;
    problem(
        api.delete(&path, Some(&tokens.access)).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        api.me_status(&tokens.access).await,
        200,
        "the sign-in is not the key"
    );
}

// ---------------------------------------------------------------------------------------------
// Who may do what
// ---------------------------------------------------------------------------------------------

/// Every endpoint that needs a signed-in user, with a body it would accept.
fn signed_in_endpoints() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/me", None),
        (
            Method::PATCH,
            "/me",
            Some(json!({"email": "x@example.org", "current_password": PASSWORD})),
        ),
        (
            Method::POST,
            "/me/password",
            Some(json!({"old_password": PASSWORD, "new_password": "another passphrase"})),
        ),
        (Method::POST, "/me/api-keys", Some(json!({"name": "k"}))),
        (Method::GET, "/me/api-keys", None),
        (Method::DELETE, "/me/api-keys/1", None),
        (Method::POST, "/me/referral-links", Some(json!({}))),
        (Method::GET, "/me/referral-links", None),
        (Method::POST, "/auth/logout", None),
        (Method::GET, "/users", None),
        (Method::PATCH, "/users/1", Some(json!({"disabled": true}))),
    ]
}

async fn anonymous_requests_get_401_with_www_authenticate(backend: Backend) {
    let api = Api::start(&backend).await;
    api.register("ada").await;
    for (method, path, body) in signed_in_endpoints() {
        let what = format!("anonymous {method} {path}");
        assert_unauthorized(
            api.call(method.clone(), path, None, body.as_ref()).await,
            &what,
        )
        .await;
        let what = format!("{method} {path} with a made-up token");
        assert_unauthorized(
            api.call(method.clone(), path, Some("made.up.token"), body.as_ref())
                .await,
            &what,
        )
        .await;
        let what = format!("{method} {path} with a made-up API key");
        assert_unauthorized(
            api.call(method, path, Some("fol_madeup"), body.as_ref())
                .await,
            &what,
        )
        .await;
    }
    // Credentials that are sent must be right, even where none are needed.
    let body = json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD});
    assert_unauthorized(
        api.post("/auth/register", Some("made.up.token"), body)
            .await,
        "register with a bad token",
    )
    .await;
    assert_eq!(api.t.count("user").await, 1);
}

async fn readers_get_403_on_admin_endpoints(backend: Backend) {
    let api = Api::start(&backend).await;
    let (ada, reader) = api.sign_up("ada").await;
    let key = expect(
        api.post("/me/api-keys", Some(&reader.access), json!({"name": "k"}))
            .await,
        201,
    )
    .await;
    let key = key["key"].as_str().unwrap();

    for bearer in [reader.access.as_str(), key] {
        problem(api.get("/users", Some(bearer)).await, 403, "forbidden").await;
        let path = format!("/users/{}", id(&ada));
        problem(
            api.patch(&path, Some(bearer), json!({"role": "admin"}))
                .await,
            403,
            "forbidden",
        )
        .await;
    }
    let me = expect(api.get("/me", Some(&reader.access)).await, 200).await;
    assert_eq!(me["role"], "reader", "a reader cannot promote themselves");

    // The same requests as an admin, by token and by key.
    api.make_admin(id(&ada)).await;
    expect(api.get("/users", Some(&reader.access)).await, 200).await;
    expect(api.get("/users", Some(key)).await, 200).await;
}

async fn users_never_reach_each_others_things(backend: Backend) {
    let api = Api::start(&backend).await;
    let (ada, a) = api.sign_up("ada").await;
    let (_, b) = api.sign_up("bob").await;
    let a_key = expect(
        api.post("/me/api-keys", Some(&a.access), json!({"name": "ada's"}))
            .await,
        201,
    )
    .await;
    let b_key = expect(
        api.post("/me/api-keys", Some(&b.access), json!({"name": "bob's"}))
            .await,
        201,
    )
    .await;
    let a_link = expect(
        api.post(
            "/me/referral-links",
            Some(&a.access),
            json!({"code": "ada-link"}),
        )
        .await,
        201,
    )
    .await;
    let b_link = expect(
        api.post(
            "/me/referral-links",
            Some(&b.access),
            json!({"code": "bob-link"}),
        )
        .await,
        201,
    )
    .await;

    let b_key_path = format!("/me/api-keys/{}", id(&b_key));
    let refused = problem(
        api.delete(&b_key_path, Some(&a.access)).await,
        404,
        "not-found",
    )
    .await;
    let never_was = problem(
        api.delete("/me/api-keys/999999", Some(&a.access)).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        refused["detail"], never_was["detail"],
        "another's key looks like no key at all"
    );
    assert_eq!(
        api.me_status(b_key["key"].as_str().unwrap()).await,
        200,
        "bob's key still works"
    );

    let ids_in = |page: Value| items(&page).iter().map(id).collect::<Vec<_>>();
    let a_keys = ids_in(expect(api.get("/me/api-keys", Some(&a.access)).await, 200).await);
    assert_eq!(a_keys, [id(&a_key)]);
    let a_links = ids_in(expect(api.get("/me/referral-links", Some(&a.access)).await, 200).await);
    assert_eq!(a_links, [id(&a_link)]);
    let b_links = ids_in(expect(api.get("/me/referral-links", Some(&b.access)).await, 200).await);
    assert_eq!(b_links, [id(&b_link)]);

    // Ada's API key is Ada, whatever else it is sent with.
    let by_key = expect(
        api.get("/me", Some(a_key["key"].as_str().unwrap())).await,
        200,
    )
    .await;
    let by_token = expect(api.get("/me", Some(&a.access)).await, 200).await;
    for me in [by_key, by_token] {
        assert_eq!(me["id"], ada["id"]);
        assert_eq!(me["email"], "ada@example.org");
    }
    let changed = expect(
        api.patch(
            "/me",
            Some(&a.access),
            json!({"email": "ada@new.example", "current_password": PASSWORD}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["email"], "ada@new.example");
    let bob = expect(api.get("/me", Some(&b.access)).await, 200).await;
    assert_eq!(
        bob["email"], "bob@example.org",
        "PATCH /me changed only the caller"
    );
}

async fn an_api_key_cannot_create_keys_or_change_the_email_or_password(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, ada) = api.sign_up("ada").await;
    let key = expect(
        api.post("/me/api-keys", Some(&ada.access), json!({"name": "Kobo"}))
            .await,
        201,
    )
    .await;
    let key = key["key"].as_str().unwrap();

    let attempts = [
        (Method::POST, "/me/api-keys", json!({"name": "another"})),
        (
            Method::PATCH,
            "/me",
            json!({"email": "thief@example.org", "current_password": PASSWORD}),
        ),
        (
            Method::POST,
            "/me/password",
            json!({"old_password": PASSWORD, "new_password": "the thief's passphrase"}),
        ),
    ];
    for (method, path, body) in attempts {
        let refused = problem(
            api.call(method.clone(), path, Some(key), Some(&body)).await,
            403,
            "forbidden",
        )
        .await;
        let detail = refused["detail"].as_str().unwrap();
        assert!(
            detail.contains("signed-in session"),
            "{method} {path}: {detail}"
        );
    }

    let keys = expect(api.get("/me/api-keys", Some(&ada.access)).await, 200).await;
    assert_eq!(items(&keys).len(), 1, "no key was minted");
    let me = expect(api.get("/me", Some(key)).await, 200).await;
    assert_eq!(me["email"], "ada@example.org");
    api.login("ada", PASSWORD).await;
}
