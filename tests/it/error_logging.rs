//! A fault is logged once, with its request id and its causes; a client's mistake not at all.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::process::Served;

/// The log lines of one request that carry an error, after its response line arrived.
fn error_lines(served: &mut Served, request_id: &str) -> Vec<Value> {
    let of_request = |line: &Value| line["span"]["request_id"] == request_id;
    served.wait_for("the response line", |line| {
        of_request(line) && line["message"] == "response"
    });
    // Anything still on its way from the server's log writer.
    while served.next_line(Duration::from_millis(300)).is_some() {}
    served
        .seen
        .iter()
        .filter(|line| of_request(line) && !line["error"].is_null())
        .cloned()
        .collect()
}

async fn get(client: &reqwest::Client, url: String, request_id: &str) -> u16 {
    let response = client
        .get(url)
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_is_logged_once_with_its_request_id_and_its_causes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("folio.db");
    let (mut served, address) = Served::start(
        dir.path(),
        &[
            ("DATABASE_URL", format!("sqlite://{}", file.display())),
            (
                "FOLIO_SECRET_KEY",
                "a-secret-key-of-32-bytes-or-more!!".into(),
            ),
        ],
    );
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{address}/api/v1{path}");

    // A client's mistake is answered, not logged as a fault.
    assert_eq!(
        get(&client, url("/books/424242"), "missing-book").await,
        404
    );
    assert_eq!(
        error_lines(&mut served, "missing-book"),
        Vec::<Value>::new()
    );

    // A table gone from under the server: every statement on it fails, a fault of the
    // installation the client cannot act on.
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch("ALTER TABLE category RENAME TO category_elsewhere")
        .unwrap();
    assert_eq!(get(&client, url("/categories"), "broken-table").await, 500);
    let logged = error_lines(&mut served, "broken-table");
    assert_eq!(logged.len(), 1, "one line for the fault: {logged:#?}");
    assert_eq!(logged[0]["level"], "ERROR");
    let error = logged[0]["error"].as_str().unwrap();
    assert!(
        error.contains("no such table"),
        "the cause is in the line: {error}"
    );
    conn.execute_batch("ALTER TABLE category_elsewhere RENAME TO category")
        .unwrap();

    // The database busy past its timeout (another process holds the write lock): 503, and
    // one warning, not one per layer that saw it.
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let registered = client
        .post(url("/auth/register"))
        .header("x-request-id", "write-locked")
        .json(&json!({
            "username": "ada",
            "email": "ada@example.org",
            "password": "a-long-Enough-passphrase",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 503);
    let logged = error_lines(&mut served, "write-locked");
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(logged.len(), 1, "one line for the outage: {logged:#?}");
    assert_eq!(logged[0]["level"], "WARN");
    served.stop();
}
