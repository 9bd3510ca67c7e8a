//! Input the server must survive, over real HTTP: hostile strings in every text field, paging
//! through users, and bodies it must refuse. Helpers are in `support/api.rs`.

use reqwest::Response;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, expect, fields, follow, id, items, problem, refused};

backend_tests!(
    hostile_strings_are_stored_intact_or_refused,
    hostile_sign_in_names_are_just_wrong,
    users_are_paged_by_cursor,
    malformed_requests_are_client_errors,
);

// ---------------------------------------------------------------------------------------------
// Hostile strings
// ---------------------------------------------------------------------------------------------

const DROP_TABLE: &str = "'; DROP TABLE \"user\"; --";

/// Quotes, SQL, a NUL character, and 10 kB of emoji.
fn hostile() -> Vec<String> {
    vec![
        r#"it's "quoted""#.to_string(),
        DROP_TABLE.to_string(),
        "nul\u{0}inside".to_string(),
        "🙂".repeat(2600),
    ]
}

/// The hostile strings, also shaped like email addresses so they get past a shape check.
fn hostile_emails() -> Vec<String> {
    let mut emails = hostile();
    emails.extend([
        r#"o'hara"q@example.org"#.to_string(),
        r#"';DROP/**/TABLE"user";--@example.org"#.to_string(),
        "nul\u{0}@example.org".to_string(),
        format!("{}@example.org", "🙂".repeat(2600)),
        "🙂@example.org".to_string(),
    ]);
    emails
}

/// Short names for assertion messages: 10 kB of emoji would drown them.
fn shown(value: &str) -> String {
    let short: String = value.chars().take(30).collect();
    format!("{short:?} ({} chars)", value.chars().count())
}

/// The answer to a hostile value: 2xx with `sent` echoed intact at `pointer` (true), or a 422
/// naming `field` (false). Anything else, a 500 above all, fails the test.
async fn intact_or_refused(response: Response, field: &str, sent: &str, pointer: &str) -> bool {
    let status = response.status().as_u16();
    let body = expect(response, status).await;
    match status {
        200 | 201 => {
            assert_eq!(
                body.pointer(pointer).and_then(Value::as_str),
                Some(sent),
                "{field} = {} comes back intact",
                shown(sent)
            );
            true
        }
        422 => {
            assert_eq!(
                fields(&body),
                [field],
                "{field} = {} is refused by name",
                shown(sent)
            );
            false
        }
        _ => panic!("{field} = {}: {status} {body}", shown(sent)),
    }
}

async fn hostile_strings_are_stored_intact_or_refused(backend: Backend) {
    // Many sign-ins and registrations in a minute, on purpose.
    let api = Api::start_with(&backend, &[("FOLIO_AUTH_ATTEMPTS_PER_MINUTE", "1000")]).await;
    let (_, ada) = api.sign_up("ada").await;
    let mut users = 1;
    let register = |username: String, email: String, password: String| {
        api.post(
            "/auth/register",
            None,
            json!({"username": username, "email": email, "password": password}),
        )
    };

    for (n, value) in hostile().into_iter().enumerate() {
        let email = format!("username{n}@example.org");
        let response = register(value.clone(), email, PASSWORD.into()).await;
        users += usize::from(intact_or_refused(response, "username", &value, "/username").await);
    }

    let mut stored_emails = vec![];
    for (n, value) in hostile_emails().into_iter().enumerate() {
        let response = register(format!("email{n}"), value.clone(), PASSWORD.into()).await;
        if intact_or_refused(response, "email", &value, "/email").await {
            users += 1;
            stored_emails.push(value);
        }
    }
    assert!(
        stored_emails.contains(&r#"o'hara"q@example.org"#.to_string()),
        "a valid address with quotes is kept"
    );
    for email in &stored_emails {
        // Signing in by the stored address finds it again.
        api.login(email, PASSWORD).await;
    }

    for (n, value) in hostile().into_iter().enumerate() {
        let password = format!("{value}{value}"); // past the minimum length where short
        let username = format!("password{n}");
        let response = register(
            username.clone(),
            format!("{username}@example.org"),
            password.clone(),
        )
        .await;
        let status = response.status().as_u16();
        let body = expect(response, status).await;
        match status {
            201 => {
                users += 1;
                api.login(&username, &password).await; // intact: the same password signs in
                assert_eq!(
                    api.try_login(&username, &format!("{password}x"))
                        .await
                        .status(),
                    401
                );
            }
            422 => assert_eq!(fields(&body), ["password"], "password {}", shown(&password)),
            _ => panic!("password {}: {status} {body}", shown(&password)),
        }
    }

    let mut kept_names = vec![];
    for value in hostile() {
        let response = api
            .post("/me/api-keys", Some(&ada.access), json!({"name": value}))
            .await;
        if intact_or_refused(response, "name", &value, "/name").await {
            kept_names.push(value);
        }
    }
    assert!(
        kept_names.contains(&DROP_TABLE.to_string()),
        "SQL is just a name"
    );
    let listed = expect(api.get("/me/api-keys", Some(&ada.access)).await, 200).await;
    let listed: Vec<_> = items(&listed)
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, kept_names, "the list shows the names as given");

    for value in hostile() {
        let response = api
            .post(
                "/me/referral-links",
                Some(&ada.access),
                json!({"code": value}),
            )
            .await;
        if intact_or_refused(response, "code", &value, "/code").await {
            assert_eq!(
                follow(&api, &value).await.status(),
                302,
                "code {}",
                shown(&value)
            );
        } else {
            let followed = follow(&api, &value).await;
            assert_eq!(followed.status(), 404, "/r/ {}", shown(&value));
        }
        let body = json!({"username": "referred", "email": "referred@example.org", "password": PASSWORD, "referral_code": value});
        let refused = problem(
            api.post("/auth/register", None, body).await,
            422,
            "validation-error",
        )
        .await;
        assert_eq!(
            fields(&refused),
            ["referral_code"],
            "referral_code {}",
            shown(&value)
        );
    }

    for value in hostile_emails() {
        if stored_emails.contains(&value) {
            continue; // taken by the registrations above
        }
        let response = api
            .patch(
                "/me",
                Some(&ada.access),
                json!({"email": value, "current_password": PASSWORD}),
            )
            .await;
        intact_or_refused(response, "email", &value, "/email").await;
    }
    let final_email = r#"ada"o'hara@example.org"#;
    let changed = api
        .patch(
            "/me",
            Some(&ada.access),
            json!({"email": final_email, "current_password": PASSWORD}),
        )
        .await;
    assert!(intact_or_refused(changed, "email", final_email, "/email").await);
    let me = expect(api.get("/me", Some(&ada.access)).await, 200).await;
    assert_eq!(me["email"], final_email);

    // The database is still there and still works.
    assert_eq!(api.t.count("user").await, users as i64);
    api.register("after").await;
    assert_eq!(api.t.count("user").await, users as i64 + 1);
    api.login("after", PASSWORD).await;
}

/// A sign-in name that no account can have is a wrong username like any other: 401, not 500.
async fn hostile_sign_in_names_are_just_wrong(backend: Backend) {
    let api = Api::start(&backend).await;
    api.register("ada").await;
    for value in hostile_emails() {
        let response = api.try_login(&value, PASSWORD).await;
        let status = response.status().as_u16();
        let body = expect(response, status).await;
        assert!(
            matches!(status, 401 | 422),
            "signing in as {}: {status} {body}",
            shown(&value)
        );
    }
    api.login("ada", PASSWORD).await;
}

// ---------------------------------------------------------------------------------------------
// Paging and malformed requests
// ---------------------------------------------------------------------------------------------

async fn users_are_paged_by_cursor(backend: Backend) {
    let api = Api::start(&backend).await;
    let (admin, tokens) = api.sign_up("admin").await;
    api.make_admin(id(&admin)).await;
    let mut all = vec![id(&admin)];
    for name in ["bea", "cyd", "dee", "eve"] {
        all.push(id(&api.register(name).await));
    }

    let mut seen = vec![];
    let mut pages = 0;
    let mut path = "/users?limit=2".to_string();
    loop {
        let page = expect(api.get(&path, Some(&tokens.access)).await, 200).await;
        pages += 1;
        assert!(items(&page).len() <= 2);
        seen.extend(items(&page).iter().map(id));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/users?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(seen, all, "every user once, oldest first");
    assert_eq!(pages, 3);

    for limit in ["0", "101", "many"] {
        let refused = problem(
            api.get(&format!("/users?limit={limit}"), Some(&tokens.access))
                .await,
            422,
            "validation-error",
        )
        .await;
        assert_eq!(fields(&refused), ["limit"], "limit={limit}");
    }
    expect(api.get("/users?limit=100", Some(&tokens.access)).await, 200).await;
    refused(
        api.get("/users?cursor=garbage", Some(&tokens.access)).await,
        "cursor",
    )
    .await;
}

async fn malformed_requests_are_client_errors(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_MAX_BODY_BYTES", "1024")]).await;
    let url = api.server.url("/api/v1/auth/register");
    let post = |content_type: &'static str, body: String| {
        let request = api
            .server
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        async move { request.send().await.unwrap() }
    };

    let big = json!({"username": "ada", "email": "ada@example.org", "password": "p".repeat(2000)});
    problem(
        post("application/json", big.to_string()).await,
        413,
        "payload-too-large",
    )
    .await;
    problem(
        post("application/json", "{\"username\": ".into()).await,
        400,
        "bad-request",
    )
    .await;
    let fine =
        json!({"username": "ada", "email": "ada@example.org", "password": PASSWORD}).to_string();
    problem(
        post("text/plain", fine.clone()).await,
        415,
        "unsupported-media-type",
    )
    .await;
    let missing = json!({"username": "ada", "email": "ada@example.org"}).to_string();
    let refused = problem(
        post("application/json", missing).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["password"]);
    assert_eq!(api.t.count("user").await, 0);

    expect(post("application/json; charset=utf-8", fine).await, 201).await;
}
