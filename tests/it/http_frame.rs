//! The server frame over real HTTP: probes, request ids, problem+json for unknown routes.

use reqwest::StatusCode;
use serde_json::Value;

use crate::backend_tests;
use crate::support::api::{Api, assert_problem};
use crate::support::{Backend, TestDb, TestServer};

backend_tests!(
    health_and_ready_answer_200,
    every_response_carries_a_request_id,
    unknown_routes_and_methods_are_problem_json,
);

async fn health_and_ready_answer_200(backend: Backend) {
    let Api { t: _t, server } = Api::start(&backend).await;
    let health = server.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let ready = server.get("/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres { .. } => "postgres",
    };
    assert_eq!(body["database"], expected);
    server.shutdown().await;
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let Api { t: _t, server } = Api::start(&backend).await;
    let generated = server.get("/health").await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "a generated id is a UUID: {id}"
    );

    let other = server.get("/health").await;
    assert_ne!(
        other.headers()["x-request-id"].to_str().unwrap(),
        id,
        "ids are per request"
    );

    let echoed = server
        .client
        .get(server.url("/no/such/route"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), StatusCode::NOT_FOUND);
    assert_eq!(echoed.headers()["x-request-id"], "client-chosen-42");
}

async fn unknown_routes_and_methods_are_problem_json(backend: Backend) {
    let Api { t: _t, server } = Api::start(&backend).await;
    let missing = server.get("/api/v1/nothing-here").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_problem(missing, 404, "not-found").await;

    let wrong_method = server
        .client
        .delete(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_problem(wrong_method, 405, "method-not-allowed").await;
}

/// A request that is still arriving when shutdown starts is answered before the server stops.
#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let t = TestDb::migrated(&Backend::Sqlite).await;
    let server = TestServer::start(t.settings(), t.db.clone()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: folio\r\n")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "the server waits for the request in flight"
    );

    stream.write_all(b"\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    tokio::time::timeout(std::time::Duration::from_secs(5), stopping)
        .await
        .expect("the server stops once the request is answered")
        .unwrap();
}

/// A body refused before its end (here a JSON body over the 1 MiB limit, refused when the first
/// MiB is read) is still read to its end before the refusal goes: the client that is still
/// sending reads the 413 instead of a connection reset under it, and the connection serves the
/// next request.
#[tokio::test]
async fn a_client_still_sending_a_refused_body_reads_the_refusal() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let t = TestDb::migrated(&Backend::Sqlite).await;
    let server = TestServer::start(t.settings(), t.db.clone()).await;
    let length = 2 << 20;
    let mut body = br#"{"username": ""#.to_vec();
    body.resize(length, b'x');
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/register HTTP/1.1\r\nHost: folio\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(1_300_000);
    stream.write_all(first).await.unwrap();
    // Long enough for the server to have read past its limit and made its answer.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stream
        .write_all(rest)
        .await
        .expect("the rest of the body is taken");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: folio\r\nConnection: close\r\n\r\n")
        .await
        .expect("the next request is taken");
    let mut answers = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answers),
    )
    .await
    .expect("both answers come")
    .expect("the connection is not reset");
    assert!(answers.starts_with("HTTP/1.1 413"), "{answers}");
    assert!(
        answers.contains("request body is too large"),
        "the refusal says why: {answers}"
    );
    assert!(
        answers.contains("HTTP/1.1 200"),
        "the same connection answers the next request: {answers}"
    );
    server.shutdown().await;
}
