//! Headers that keep responses safe in browsers and caches, and the request id a client may
//! send: `nosniff` everywhere, `no-store` on tokens and on everything a signed-in request gets,
//! a locked-down docs page that keeps no credentials, and only short, plain request ids echoed.

use serde_json::json;

use crate::support::Backend;
use crate::support::api::{Api, PASSWORD};

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_is_nosniff_and_signed_in_ones_are_not_stored() {
    let api = Api::start(&Backend::Sqlite).await;
    let (_, tokens) = api.sign_up("ada").await;

    let anonymous = api.get("/books", None).await;
    assert_eq!(
        header(&anonymous, "x-content-type-options"),
        Some("nosniff")
    );
    assert_eq!(
        header(&anonymous, "cache-control"),
        None,
        "public reads may be cached"
    );
    let missing = api.get("/no/such/path", None).await;
    assert_eq!(header(&missing, "x-content-type-options"), Some("nosniff"));

    let login = api
        .post(
            "/auth/login",
            None,
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        header(&login, "cache-control"),
        Some("no-store"),
        "tokens are never stored"
    );
    let refresh = api.refresh(&tokens.refresh).await;
    assert_eq!(header(&refresh, "cache-control"), Some("no-store"));
    let me = api.get("/me", Some(&tokens.access)).await;
    assert_eq!(header(&me, "cache-control"), Some("no-store"));
    assert_eq!(header(&me, "x-content-type-options"), Some("nosniff"));
    let books = api.get("/books", Some(&tokens.access)).await;
    assert_eq!(
        header(&books, "cache-control"),
        Some("no-store"),
        "signed in, even a public list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_runs_only_its_own_files_is_never_framed_and_keeps_no_credentials() {
    let api = Api::start(&Backend::Sqlite).await;
    let page = api.server.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let policy = header(&page, "content-security-policy")
        .expect("a policy")
        .to_string();
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert_eq!(header(&page, "x-frame-options"), Some("DENY"));
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>"),
        "no inline script for the policy to allow"
    );

    let start = api
        .server
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        start.contains("\"persistAuthorization\": false"),
        "credentials are not kept in localStorage: {start}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_short_plain_request_ids_are_echoed() {
    use reqwest::header::HeaderValue;

    let api = Api::start(&Backend::Sqlite).await;
    let echoed = |id: HeaderValue| {
        let request = api
            .server
            .client
            .get(api.server.url("/health"))
            .header("x-request-id", id);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            header(&response, "x-request-id").unwrap().to_string()
        }
    };
    let plain = format!("trace-{}", "a".repeat(58));
    assert_eq!(plain.len(), 64);
    let kept = echoed(HeaderValue::from_str(&plain).unwrap()).await;
    assert_eq!(kept, plain, "a plain id of 64 characters is kept");
    for refused in [
        format!("{plain}b").into_bytes(),
        b"a b".to_vec(),
        b"a/b".to_vec(),
        b"a\tb".to_vec(),
        "\u{e9}t\u{e9}".as_bytes().to_vec(),
        vec![b'x'; 60_000],
    ] {
        let answered = echoed(HeaderValue::from_bytes(&refused).unwrap()).await;
        assert!(
            uuid::Uuid::parse_str(&answered).is_ok(),
            "a generated id instead of {:?}: {answered}",
            String::from_utf8_lossy(&refused)
        );
    }
}
