//! Sign-in and registration as an attacker would try them (issue 14): parallel guesses, bursts
//! that would exhaust memory, look-alike passwords, lockouts forced from elsewhere, and answers
//! that tell a known name from an unknown one.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::Response;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, expect, fields, problem};

backend_tests!(
    parallel_wrong_sign_ins_are_evaluated_at_most_up_to_the_limit,
    a_burst_beyond_the_hashing_slots_is_answered_503_with_retry_after,
    passwords_are_normalised_and_judged_as_they_look,
    failures_from_one_address_do_not_lock_out_another,
    unknown_and_known_names_are_answered_alike,
);

/// Sign-ins sent all at once; their responses.
async fn sign_ins_at_once(api: &Api, n: usize, username: &str, password: &str) -> Vec<Response> {
    let body = json!({"username": username, "password": password});
    let url = api.server.url("/api/v1/auth/login");
    let mut sent = tokio::task::JoinSet::new();
    for _ in 0..n {
        let request = api.server.client.post(&url).json(&body);
        sent.spawn(async move { request.send().await.expect("the server answers") });
    }
    sent.join_all().await
}

fn count(responses: &[Response], status: u16) -> usize {
    responses
        .iter()
        .filter(|r| r.status().as_u16() == status)
        .count()
}

/// 50 wrong guesses at once against a limit of 10: only 10 are checked, the rest are 429.
async fn parallel_wrong_sign_ins_are_evaluated_at_most_up_to_the_limit(backend: Backend) {
    let api = Api::start_with(
        &backend,
        &[
            ("FOLIO_LOGIN_MAX_FAILURES", "10"),
            ("FOLIO_AUTH_ATTEMPTS_PER_MINUTE", "1000"),
            // Every guess waits its turn rather than being turned away: only the limit decides.
            ("FOLIO_PASSWORD_HASH_WAIT_MS", "60000"),
        ],
    )
    .await;
    api.register("ada").await;

    let responses = sign_ins_at_once(&api, 50, "ada", "not the password").await;
    let (wrong, limited) = (count(&responses, 401), count(&responses, 429));
    assert_eq!(wrong, 10, "guesses checked: {wrong} of 50; 429: {limited}");
    assert_eq!(limited, 40);
}

/// One hashing slot and no queue: of 12 sign-ins at once some are turned away with 503 and
/// Retry-After instead of all hashing together; the server signs in again afterwards.
async fn a_burst_beyond_the_hashing_slots_is_answered_503_with_retry_after(backend: Backend) {
    let api = Api::start_with(
        &backend,
        &[
            ("FOLIO_PASSWORD_HASH_CONCURRENCY", "1"),
            ("FOLIO_PASSWORD_HASH_WAIT_MS", "0"),
            // Each sign-in holds a failure until its password checks out; not the point here.
            ("FOLIO_LOGIN_MAX_FAILURES", "100"),
        ],
    )
    .await;
    api.register("ada").await;

    let responses = sign_ins_at_once(&api, 12, "ada", PASSWORD).await;
    let (signed_in, busy) = (count(&responses, 200), count(&responses, 503));
    assert!(signed_in >= 1, "one at a time still gets through");
    assert!(busy >= 1, "none turned away: {signed_in} signed in of 12");
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(signed_in + busy, 12, "{statuses:?}");
    for response in responses.into_iter().filter(|r| r.status() == 503) {
        let retry = response.headers().get("retry-after").cloned();
        assert!(retry.is_some_and(|v| v.to_str().unwrap().parse::<u64>().is_ok()));
        problem(response, 503, "service-unavailable").await;
    }
    api.login("ada", PASSWORD).await;
}

async fn register(api: &Api, username: &str, password: &str) -> Response {
    let email = format!("{username}@example.org");
    let body = json!({"username": username, "email": email, "password": password});
    api.post("/auth/register", None, body).await
}

async fn refused_password(api: &Api, password: &str, why: &str) {
    let refused = problem(
        register(api, "eve", password).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["password"], "{why}: {refused}");
}

async fn passwords_are_normalised_and_judged_as_they_look(backend: Backend) {
    let api = Api::start(&backend).await;
    refused_password(&api, &" ".repeat(10), "ten spaces").await;
    refused_password(&api, &"\u{200B}".repeat(10), "ten zero-width spaces").await;
    refused_password(&api, "p\u{0430}ssword12", "Cyrillic а in a common password").await;
    refused_password(&api, "EVE@example.org", "the email").await;
    let body =
        json!({"username": "evelyn.long", "email": "e@example.org", "password": "Evelyn.Long"});
    let refused = problem(
        api.post("/auth/register", None, body).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["password"], "the username: {refused}");

    // Composed on one keyboard, decomposed on another: the same password.
    let composed = "cr\u{e8}me br\u{fb}l\u{e9}e forever";
    let decomposed = "cre\u{300}me bru\u{302}le\u{301}e forever";
    expect(register(&api, "ada", composed).await, 201).await;
    api.login("ada", decomposed).await;
    expect(register(&api, "bob", decomposed).await, 201).await;
    api.login("bob", composed).await;

    // A new password is held to the same rules.
    let token = api.login("ada", composed).await.access;
    let change = json!({"old_password": decomposed, "new_password": "ada@example.org"});
    let refused = problem(
        api.post("/me/password", Some(&token), change).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["new_password"]);
}

/// A client whose connections come from `address` (any of 127.0.0.0/8 reaches the server on
/// Linux's loopback), so one test can sign in from two places.
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .expect("a client bound to a loopback address")
}

async fn login_from(api: &Api, client: &reqwest::Client, username: &str, password: &str) -> u16 {
    let body = json!({"username": username, "password": password});
    let url = api.server.url("/api/v1/auth/login");
    let response = client.post(url).json(&body).send().await.unwrap();
    response.status().as_u16()
}

/// Someone at 127.0.0.2 failing on purpose locks out only themselves: the owner at 127.0.0.1
/// still signs in.
async fn failures_from_one_address_do_not_lock_out_another(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_LOGIN_MAX_FAILURES", "3")]).await;
    api.register("ada").await;
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 2));
    for _ in 0..3 {
        assert_eq!(login_from(&api, &attacker, "ada", "guess guess").await, 401);
    }
    assert_eq!(login_from(&api, &attacker, "ada", PASSWORD).await, 429);

    let owner = client_from(Ipv4Addr::LOCALHOST);
    assert_eq!(login_from(&api, &owner, "ada", PASSWORD).await, 200);
}

/// Status, Retry-After and body, with the seconds to wait taken out of the body.
async fn answer(response: Response) -> (u16, bool, Value) {
    let status = response.status().as_u16();
    let retry = response.headers().contains_key("retry-after");
    let mut body: Value = response.json().await.unwrap();
    if let Some(detail) = body["detail"].as_str() {
        body["detail"] = detail.replace(|c: char| c.is_ascii_digit(), "").into();
    }
    (status, retry, body)
}

/// The answers to: the limit's worth of failures under one name, one more, then the other
/// spelling of the same (or, when unknown, the same kind of) account.
async fn answers(api: &Api, first: &str, then: &str) -> Vec<(u16, bool, Value)> {
    let mut seen = vec![];
    for _ in 0..4 {
        seen.push(answer(api.try_login(first, "wrong password").await).await);
    }
    seen.push(answer(api.try_login(then, "wrong password").await).await);
    seen
}

/// An unknown username or email is answered exactly as a known one, and failures under a
/// username do not lock its email, so a 429 cannot tell whose address an email is.
async fn unknown_and_known_names_are_answered_alike(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_LOGIN_MAX_FAILURES", "3")]).await;
    api.register("ada").await;
    let known = answers(&api, "ada", "ada@example.org").await;
    let unknown = answers(&api, "zed", "zed@example.org").await;
    assert_eq!(known, unknown);
    let statuses: Vec<u16> = known.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [401, 401, 401, 429, 401]);
}
