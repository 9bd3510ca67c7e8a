//! The rules accounts are held to, over real HTTP: unique names and addresses, the abuse
//! limits, and referral links. Helpers are in `support/api.rs`.

use reqwest::Response;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, expect, fields, follow, items, problem};

backend_tests!(
    usernames_and_emails_are_unique_without_regard_to_case,
    non_ascii_emails_are_unique_without_regard_to_case,
    failed_sign_ins_lock_the_account_with_retry_after,
    sign_in_and_register_attempts_are_limited_per_address,
    referral_links_count_clicks_and_sign_ups,
    unknown_and_self_referrals_are_refused,
    clicks_count_once_per_visitor_and_are_limited_per_address,
);

// ---------------------------------------------------------------------------------------------
// Uniqueness
// ---------------------------------------------------------------------------------------------

async fn usernames_and_emails_are_unique_without_regard_to_case(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, ada) = api.sign_up("Ada").await;
    let register = |username: &str, email: &str| {
        api.post(
            "/auth/register",
            None,
            json!({"username": username, "email": email, "password": PASSWORD}),
        )
    };

    let taken = problem(register("aDA", "other@example.org").await, 409, "conflict").await;
    assert_eq!(fields(&taken), ["username"]);
    let taken = problem(register("other", "ADA@EXAMPLE.ORG").await, 409, "conflict").await;
    assert_eq!(fields(&taken), ["email"]);
    assert_eq!(api.t.count("user").await, 1);

    // Changing to an address someone else has, in another case, is the same conflict.
    api.register("bob").await;
    let taken = problem(
        api.patch(
            "/me",
            Some(&ada.access),
            json!({"email": "BOB@example.org", "current_password": PASSWORD}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(fields(&taken), ["email"]);
}

/// Email addresses may hold any letter; "É" and "é" are one address to PostgreSQL's lower()
/// and must be on SQLite too.
async fn non_ascii_emails_are_unique_without_regard_to_case(backend: Backend) {
    let api = Api::start(&backend).await;
    let body = json!({"username": "elise", "email": "Élise@example.org", "password": PASSWORD});
    expect(api.post("/auth/register", None, body).await, 201).await;

    let body = json!({"username": "other", "email": "élise@example.org", "password": PASSWORD});
    let taken = problem(
        api.post("/auth/register", None, body).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(fields(&taken), ["email"]);
    api.login("éLISE@example.org", PASSWORD).await;
}

// ---------------------------------------------------------------------------------------------
// Abuse limits
// ---------------------------------------------------------------------------------------------

/// The Retry-After of a 429, in seconds.
async fn retry_after(response: Response) -> u64 {
    let header = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    problem(response, 429, "too-many-requests").await;
    header
        .expect("a 429 says when to retry")
        .parse()
        .expect("Retry-After in seconds")
}

async fn failed_sign_ins_lock_the_account_with_retry_after(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_LOGIN_MAX_FAILURES", "3")]).await;
    api.register("ada").await;
    api.register("bob").await;

    for attempt in 1..=3 {
        let wrong = api.try_login("ada", "not the password").await;
        assert_eq!(wrong.status(), 401, "failure {attempt}");
    }
    let wait = retry_after(api.try_login("ada", PASSWORD).await).await;
    assert!((1..=900).contains(&wait), "within the window: {wait}");
    assert_eq!(
        api.try_login("ADA", PASSWORD).await.status(),
        429,
        "in any case"
    );

    api.login("bob", PASSWORD).await;
}

async fn sign_in_and_register_attempts_are_limited_per_address(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_AUTH_ATTEMPTS_PER_MINUTE", "4")]).await;
    api.register("ada").await; // 1
    api.login("ada", PASSWORD).await; // 2
    assert_eq!(api.try_login("nobody", PASSWORD).await.status(), 401); // 3
    let invalid = json!({"username": "x", "email": "no", "password": "short"});
    assert_eq!(
        api.post("/auth/register", None, invalid).await.status(),
        422
    ); // 4

    let wait = retry_after(api.try_login("ada", PASSWORD).await).await;
    assert!((1..=60).contains(&wait), "within the minute: {wait}");
    let body = json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD});
    retry_after(api.post("/auth/register", None, body).await).await;
    assert_eq!(api.t.count("user").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Referral links
// ---------------------------------------------------------------------------------------------

/// The caller's one referral link, with its numbers.
async fn only_link(api: &Api, bearer: &str) -> Value {
    let page = expect(api.get("/me/referral-links", Some(bearer)).await, 200).await;
    assert_eq!(items(&page).len(), 1);
    items(&page)[0].clone()
}

async fn referral_links_count_clicks_and_sign_ups(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, ada) = api.sign_up("ada").await;

    let link = expect(
        api.post(
            "/me/referral-links",
            Some(&ada.access),
            json!({"code": "ada-friends"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(link["code"], "ada-friends");
    assert_eq!(link["url"], "/r/ada-friends");
    assert_eq!(
        (&link["clicks"], &link["signups"], &link["purchases"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert!(link["created_at"].is_string());

    let taken = problem(
        api.post(
            "/me/referral-links",
            Some(&ada.access),
            json!({"code": "ada-friends"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(fields(&taken), ["code"]);

    let clicked = follow(&api, "ada-friends").await;
    assert_eq!(clicked.status(), 302);
    let landing = clicked.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(landing, "/register?ref=ada-friends");
    // The web app's registration form fills the code in.
    let form = crate::support::browser::Browser::new(&api.server)
        .page(&landing)
        .await;
    assert!(form.contains("name=\"referral_code\" value=\"ada-friends\""));
    assert_eq!(only_link(&api, &ada.access).await["clicks"], 1);

    let body = json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD, "referral_code": "ada-friends"});
    expect(api.post("/auth/register", None, body).await, 201).await;
    let stats = only_link(&api, &ada.access).await;
    assert_eq!(stats["clicks"], 1);
    assert_eq!(stats["signups"], 1, "bob is counted for ada's link");
    assert_eq!(stats["purchases"], 0);

    // A link without a chosen code gets one that works the same.
    let bob = api.login("bob", PASSWORD).await;
    let generated = expect(
        api.post("/me/referral-links", Some(&bob.access), json!({}))
            .await,
        201,
    )
    .await;
    let code = generated["code"].as_str().unwrap();
    assert!(code.len() >= 3, "{code}");
    assert_eq!(generated["url"], format!("/r/{code}"));
    assert_eq!(follow(&api, code).await.status(), 302);
    assert_eq!(only_link(&api, &bob.access).await["clicks"], 1);
    assert_eq!(
        only_link(&api, &ada.access).await["clicks"],
        1,
        "clicks are per link"
    );
}

async fn unknown_and_self_referrals_are_refused(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, ada) = api.sign_up("ada").await;
    expect(
        api.post(
            "/me/referral-links",
            Some(&ada.access),
            json!({"code": "ada-friends"}),
        )
        .await,
        201,
    )
    .await;

    problem(follow(&api, "no-such-code").await, 404, "not-found").await;

    let unknown = json!({"username": "bob", "email": "bob@example.org", "password": PASSWORD, "referral_code": "no-such-code"});
    let refused = problem(
        api.post("/auth/register", None, unknown).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["referral_code"]);

    // Ada, signed in, signing someone up through her own link.
    let own = json!({"username": "sock", "email": "sock@example.org", "password": PASSWORD, "referral_code": "ada-friends"});
    let refused = problem(
        api.post("/auth/register", Some(&ada.access), own).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["referral_code"]);

    // Ada, signed out, with her own address again: in another case and with a +tag.
    let own = json!({"username": "sock2", "email": "ADA+again@Example.org", "password": PASSWORD, "referral_code": "ada-friends"});
    let refused = problem(
        api.post("/auth/register", None, own).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["referral_code"]);

    assert_eq!(api.t.count("user").await, 1);
    let stats = only_link(&api, &ada.access).await;
    assert_eq!(
        (&stats["clicks"], &stats["signups"]),
        (&json!(0), &json!(0))
    );
}

/// A visitor following the same link again counts once, and one address following links
/// without end is refused: a click is an anonymous write.
async fn clicks_count_once_per_visitor_and_are_limited_per_address(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, ada) = api.sign_up("ada").await;
    let link = json!({"code": "ada-friends"});
    expect(
        api.post("/me/referral-links", Some(&ada.access), link)
            .await,
        201,
    )
    .await;

    for _ in 0..5 {
        assert_eq!(follow(&api, "ada-friends").await.status(), 302);
    }
    assert_eq!(
        only_link(&api, &ada.access).await["clicks"],
        1,
        "one visitor, one click"
    );

    let mut refused = None;
    for _ in 0..40 {
        let response = follow(&api, "ada-friends").await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 302);
    }
    let refused = refused.expect("40 more clicks from one address within a minute are limited");
    assert!(refused.headers().contains_key("retry-after"));
    problem(refused, 429, "too-many-requests").await;
    assert_eq!(only_link(&api, &ada.access).await["clicks"], 1);
}
