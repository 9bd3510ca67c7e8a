//! Clients that hold connections without finishing a request: a connection that sent part of
//! its headers, or nothing, or went quiet after a response, is closed after the header
//! timeout; and past the connection cap new connections wait instead of being served, so a
//! slow client costs a slot for seconds, not for ever.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::Backend;
use crate::support::api::Api;

/// Reads until the server closes the connection; how long that took, or `None` within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + wait).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_do_not_finish_a_request_are_closed_after_the_header_timeout() {
    let vars = [("FOLIO_HEADER_TIMEOUT_SECS", "1")];
    let Api { t: _t, server } = Api::start_with(&Backend::Sqlite, &vars).await;
    let wait = Duration::from_secs(5);

    let mut partial = TcpStream::connect(server.addr).await.unwrap();
    partial
        .write_all(b"GET /health HTTP/1.1\r\nHost: folio\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: folio\r\n\r\n")
        .await
        .unwrap();
    let mut response = [0u8; 1024];
    let read = idle.read(&mut response).await.unwrap();
    assert!(
        response[..read].starts_with(b"HTTP/1.1 200"),
        "the request is served"
    );

    for (what, stream) in [
        ("half a header", &mut partial),
        ("nothing", &mut silent),
        ("an idle keep-alive", &mut idle),
    ] {
        let closed = closed_within(stream, wait).await;
        assert!(
            closed.is_some(),
            "a connection that sent {what} is still open after {wait:?}"
        );
    }
    assert_eq!(server.get("/health").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_new_connection_waits_for_a_free_slot() {
    let vars = [
        ("FOLIO_MAX_CONNECTIONS", "2"),
        ("FOLIO_HEADER_TIMEOUT_SECS", "2"),
    ];
    let Api { t: _t, server } = Api::start_with(&Backend::Sqlite, &vars).await;
    let mut holders = vec![
        TcpStream::connect(server.addr).await.unwrap(),
        TcpStream::connect(server.addr).await.unwrap(),
    ];
    // Let folio accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let status = server.get("/health").await.status();
    let waited = started.elapsed();
    assert_eq!(status, 200, "served once a slot is free");
    assert!(
        waited >= Duration::from_secs(1),
        "served after {waited:?}, while two silent connections held both slots"
    );
    for holder in &mut holders {
        assert!(
            closed_within(holder, Duration::from_secs(5))
                .await
                .is_some()
        );
    }
}
