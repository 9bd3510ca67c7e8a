//! Outbound webhooks against receivers the tests run on 127.0.0.1: signatures checked by the
//! Standard Webhooks rules (implemented here, not folio's), retries with the same
//! `webhook-id`, a receiver that is down, a rolled-back change, SSRF refusals, a server killed
//! between commit and delivery, and three workers sharing one queue on PostgreSQL.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use folio::config::WebhookSettings;
use folio::db::{Database, DbError};
use folio::service::webhooks::{self, Event};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::backend_tests;
use crate::support::api::{Api, expect, refused};
use crate::support::process::{self, Served, import, sign_in};
use crate::support::user::{User, user};
use crate::support::{Backend, TestDb, fixtures};

backend_tests!(
    a_receiver_gets_every_event_signed_by_the_standard_webhooks_rules,
    a_receiver_that_fails_three_times_gets_the_event_with_the_same_id,
    a_receiver_that_is_down_leaves_the_delivery_pending_with_its_next_try,
    a_rolled_back_purchase_emits_nothing,
    endpoints_on_private_addresses_and_unknown_events_are_refused,
    an_endpoint_failing_too_long_is_disabled_and_says_why,
    a_rotated_secret_signs_beside_the_new_one,
    an_import_sends_a_book_created_for_each_book_it_adds,
);

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
struct Plan {
    got: Vec<Received>,
    /// Statuses to answer, in order; 200 once they are used up.
    answers: VecDeque<u16>,
    /// Requests being handled now, and the most there ever were at once.
    in_flight: usize,
    most_at_once: usize,
}

/// A webhook receiver on 127.0.0.1.
struct Receiver {
    url: String,
    plan: Arc<Mutex<Plan>>,
    task: JoinHandle<()>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, answers)
    }

    fn on(listener: tokio::net::TcpListener, answers: &[u16]) -> Self {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let plan = Arc::new(Mutex::new(Plan {
            answers: answers.iter().copied().collect(),
            ..Plan::default()
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(plan.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, plan, task }
    }

    fn got(&self) -> Vec<Received> {
        self.plan.lock().unwrap().got.clone()
    }

    /// Waits (up to 30 s) until `count` requests came.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.got();
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(plan): State<Arc<Mutex<Plan>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let answer = {
        let mut plan = plan.lock().unwrap();
        plan.in_flight += 1;
        plan.most_at_once = plan.most_at_once.max(plan.in_flight);
        plan.got.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: String::from_utf8(body.to_vec()).unwrap(),
        });
        plan.answers.pop_front().unwrap_or(200)
    };
    // A receiver takes a moment: two deliveries to it at once would overlap here.
    tokio::time::sleep(Duration::from_millis(2)).await;
    plan.lock().unwrap().in_flight -= 1;
    StatusCode::from_u16(answer).unwrap()
}

/// Whether `received` carries a valid signature by `secret`, checked as a Standard Webhooks
/// library does: HMAC-SHA256 of `id.timestamp.body` with the base64-decoded key after `whsec_`,
/// any of the space-separated `v1,` signatures.
fn verifies(received: &Received, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    received
        .signature
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

fn settings(first_retry_ms: u64) -> WebhookSettings {
    WebhookSettings {
        allow_private: true,
        retry_for: Duration::from_secs(86_400),
        first_retry: Duration::from_millis(first_retry_ms),
        disable_after: Duration::from_secs(5 * 86_400),
    }
}

/// A server allowed to call 127.0.0.1, with a delivery worker beside it.
struct Shop {
    api: Api,
    worker: JoinHandle<()>,
}

impl Shop {
    async fn start(backend: &Backend, worker: WebhookSettings) -> Self {
        let vars = [
            ("FOLIO_WEBHOOK_ALLOW_PRIVATE", "true"),
            crate::support::shop::SECRET_VAR,
        ];
        let api = Api::start_with(backend, &vars).await;
        let worker = tokio::spawn(webhooks::run_worker(api.t.db.clone(), worker));
        Self { api, worker }
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

async fn admin(api: &Api) -> User<'_> {
    let keeper = user(api, "keeper").await;
    api.make_admin(keeper.id).await;
    keeper
}

/// Registers `url` for `events`; the endpoint with its secret.
async fn register(admin: &User<'_>, url: &str, events: &[&str]) -> Value {
    admin
        .post("/webhooks", json!({"url": url, "events": events}))
        .await
}

async fn a_receiver_gets_every_event_signed_by_the_standard_webhooks_rules(backend: Backend) {
    let shop = Shop::start(&backend, settings(50)).await;
    let api = &shop.api;
    let receiver = Receiver::start(&[]).await;
    let keeper = admin(api).await;
    let events = [
        "book.created",
        "user.registered",
        "comment.created",
        "purchase.created",
        "purchase.paid",
    ];
    let endpoint = register(&keeper, &receiver.url, &events).await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{endpoint}");
    let listed = keeper.get("/webhooks").await;
    assert_eq!(listed[0]["id"], endpoint["id"]);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );

    let book = keeper.post("/books", json!({"title": "Delivered"})).await;
    let book_id = book["id"].as_i64().unwrap();
    let edition = {
        let tx = api.t.db.begin().await.unwrap();
        let edition = fixtures::edition(&*tx, book_id, Some(700)).await.unwrap();
        tx.commit().await.unwrap();
        edition.id
    };
    let reader = user(api, "reader").await;
    reader
        .post(
            &format!("/books/{book_id}/comments"),
            json!({"text": "Good.", "rating": 4}),
        )
        .await;
    let purchase = crate::support::shop::bought(&reader, "k1", edition).await;
    crate::support::shop::settle(api, &purchase, "paid", "evt_1").await;

    // The book, the reader's registration (the keeper's came before the endpoint), the
    // comment, the purchase twice.
    let got = receiver.wait_for(5).await;
    let kinds: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "book.created",
            "user.registered",
            "comment.created",
            "purchase.created",
            "purchase.paid"
        ],
        "one endpoint's events arrive in the order they happened"
    );
    for received in &got {
        assert!(verifies(received, &secret), "{received:?}");
        assert!(!verifies(
            received,
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ));
        let sent_at: i64 = received.timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
        let body: Value = serde_json::from_str(&received.body).unwrap();
        assert_eq!(body["id"], json!(received.id));
        assert!(received.id.starts_with("msg_"));
    }
    let paid: Value = serde_json::from_str(&got[4].body).unwrap();
    assert_eq!(paid["data"]["id"], purchase["id"]);
    assert_eq!(paid["data"]["status"], "paid");
    assert_eq!(paid["data"]["amount_minor"], 700);
    let registered: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(registered["data"]["username"], "reader");
    assert!(!got[1].body.contains("argon2"), "never a password hash");
}

/// A book an import adds is a `book.created` like one made over the API, its authors named
/// whether the import brought them or the catalog had them; a row matching a book adds none.
async fn an_import_sends_a_book_created_for_each_book_it_adds(backend: Backend) {
    let shop = Shop::start(&backend, settings(50)).await;
    let api = &shop.api;
    let receiver = Receiver::start(&[]).await;
    let keeper = admin(api).await;
    let known = keeper
        .post("/authors", json!({"name": "Iris Keeper"}))
        .await;
    let endpoint = register(&keeper, &receiver.url, &["book.created"]).await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();

    use crate::import::{HEADER, row};
    let csv = [
        HEADER.to_string(),
        row(
            "",
            "",
            "Iris Keeper, Noor Tide, Iris Keeper",
            "1990.0",
            "Harbour Lights",
            "Harbour Lights",
            "eng",
        ),
        row(
            "",
            "",
            "Noor Tide",
            "2001.0",
            "Second Tide",
            "Second Tide",
            "eng",
        ),
        // The first book again, by its title and first author: matched, not added.
        row(
            "",
            "9780000000019",
            "Iris Keeper",
            "1990.0",
            "Harbour Lights",
            "Harbour Lights",
            "eng",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("books.csv"), csv.join("\n") + "\n").unwrap();
    let (code, out, err) = import(dir.path(), &api.t, "goodbooks", &["books.csv"]);
    assert_eq!(code, Some(0), "{out}{err}");

    let got = receiver.wait_for(2).await;
    // Anything more would have come by now: the worker polls every 250 ms.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got_all = receiver.got();
    assert_eq!(got_all.len(), 2, "two books added, two events: {got_all:?}");
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| {
            assert!(verifies(r, &secret), "{r:?}");
            serde_json::from_str(&r.body).unwrap()
        })
        .collect();
    assert!(bodies.iter().all(|b| b["type"] == "book.created"));
    let (first, second) = (&bodies[0]["data"], &bodies[1]["data"]);
    assert_eq!(first["title"], "Harbour Lights");
    assert_eq!(second["title"], "Second Tide");
    for data in [first, second] {
        let book = keeper.get(&format!("/books/{}", data["id"])).await;
        assert_eq!(
            book["title"], data["title"],
            "the event names the stored book"
        );
        assert_eq!(data["original_year"], book["original_year"]);
    }
    let names = |data: &Value| -> Vec<(i64, String)> {
        data["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["id"].as_i64().unwrap(),
                    a["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let first_authors = names(first);
    assert_eq!(
        first_authors
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["Iris Keeper", "Noor Tide"],
        "in credit order, each once"
    );
    assert_eq!(
        first_authors[0].0,
        known["id"].as_i64().unwrap(),
        "the catalog's author"
    );
    assert_eq!(
        names(second),
        [first_authors[1].clone()],
        "the author the import added, by the same id in both books"
    );
}

async fn a_receiver_that_fails_three_times_gets_the_event_with_the_same_id(backend: Backend) {
    let shop = Shop::start(&backend, settings(50)).await;
    let receiver = Receiver::start(&[500, 500, 503]).await;
    let keeper = admin(&shop.api).await;
    let endpoint = register(&keeper, &receiver.url, &["book.created"]).await;
    keeper.post("/books", json!({"title": "Retried"})).await;

    let got = receiver.wait_for(4).await;
    assert_eq!(got.len(), 4, "three failures, then the success");
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "the same webhook-id each time"
    );
    let id = endpoint["id"].as_i64().unwrap();
    let deliveries = settled(&keeper, id).await;
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["attempts"], 4);
    assert_eq!(delivery["event_id"], json!(got[0].id));
    let codes: Vec<i64> = delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 500, 503, 200]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.got().len(), 4, "nothing more once delivered");
}

/// The endpoint's deliveries once none is pending (up to 30 s).
async fn settled(admin: &User<'_>, endpoint: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = admin.get(&format!("/webhooks/{endpoint}/deliveries")).await;
        let pending = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["status"] == "pending");
        if !pending || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_receiver_that_is_down_leaves_the_delivery_pending_with_its_next_try(backend: Backend) {
    let shop = Shop::start(&backend, settings(200)).await;
    let keeper = admin(&shop.api).await;
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let endpoint = register(&keeper, &format!("http://{closed}/hook"), &["book.created"]).await;
    keeper.post("/books", json!({"title": "Waiting"})).await;
    let id = endpoint["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let delivery = loop {
        let page = keeper.get(&format!("/webhooks/{id}/deliveries")).await;
        let delivery = page["items"][0].clone();
        if delivery["attempts"].as_i64().unwrap_or(0) >= 2 || Instant::now() > deadline {
            break delivery;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivery["status"], "pending", "{delivery}");
    assert!(delivery["attempts"].as_i64().unwrap() >= 2, "{delivery}");
    assert!(delivery["last_status_code"].is_null());
    assert!(!delivery["last_error"].as_str().unwrap().is_empty());
    let next = crate::support::api::time(&delivery["next_attempt_at"]);
    assert!(
        next > chrono::Utc::now() - chrono::Duration::seconds(1),
        "{delivery}"
    );
    let log = delivery["attempt_log"].as_array().unwrap();
    assert!(log.len() >= 2 && log.iter().all(|a| a["status_code"].is_null()));
}

async fn a_rolled_back_purchase_emits_nothing(backend: Backend) {
    let shop = Shop::start(&backend, settings(50)).await;
    let api = &shop.api;
    let receiver = Receiver::start(&[]).await;
    let keeper = admin(api).await;
    register(
        &keeper,
        &receiver.url,
        &["purchase.created", "book.created"],
    )
    .await;
    let (edition, buyer) = {
        let tx = api.t.db.begin().await.unwrap();
        let book = fixtures::book(&*tx, "Unsold").await.unwrap();
        let edition = fixtures::edition(&*tx, book.id, Some(100)).await.unwrap();
        let buyer = fixtures::user(&*tx, "buyer").await.unwrap();
        tx.commit().await.unwrap();
        (edition, buyer)
    };
    // A purchase written and its event emitted, in a unit of work that then fails.
    let failed: Result<(), DbError> = api
        .t
        .db
        .write(|tx| {
            Box::pin(async move {
                let new = folio::repo::purchase::NewPurchase {
                    user_id: buyer.id,
                    edition_id: edition.id,
                    amount_minor: 100,
                    currency: "EUR".into(),
                    idempotency_key: "rolled-back".into(),
                    request_fingerprint: "x".into(),
                };
                let made = folio::repo::purchase::insert(&**tx, new).await?;
                let event = Event::new("purchase.created", json!({"id": made.id}));
                webhooks::emit(&**tx, event).await?;
                Err(DbError::Unavailable(
                    "the change failed after the event".into(),
                ))
            })
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(api.t.count("purchase").await, 0);
    assert_eq!(api.t.count("webhook_event").await, 0);
    assert_eq!(api.t.count("webhook_delivery").await, 0);
    // A committed change after it is delivered, and is the only one.
    keeper.post("/books", json!({"title": "Sold"})).await;
    let got = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_now = receiver.got();
    assert_eq!(got_now.len(), 1, "{got:?}");
    assert!(got_now[0].body.contains("book.created"));
}

async fn endpoints_on_private_addresses_and_unknown_events_are_refused(backend: Backend) {
    // This server is not allowed to call private addresses.
    let api = Api::start(&backend).await;
    let keeper = admin(&api).await;
    let reader = user(&api, "reader").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "ftp://example.com/hook",
        "https://user:pass@example.com/hook",
        "not a url",
    ] {
        let body = json!({"url": url, "events": ["book.created"]});
        refused(
            keeper.send(reqwest::Method::POST, "/webhooks", body).await,
            "url",
        )
        .await;
    }
    for events in [json!([]), json!(["book.burned"])] {
        let body = json!({"url": "https://example.com/hook", "events": events});
        refused(
            keeper.send(reqwest::Method::POST, "/webhooks", body).await,
            "events",
        )
        .await;
    }
    let body = json!({"url": "https://example.com/hook", "events": ["book.created"]});
    let answer = reader.send(reqwest::Method::POST, "/webhooks", body).await;
    expect(answer, 403).await;
    assert_eq!(api.t.count("webhook_endpoint").await, 0);
}

async fn an_endpoint_failing_too_long_is_disabled_and_says_why(backend: Backend) {
    let quick = WebhookSettings {
        disable_after: Duration::ZERO,
        ..settings(50)
    };
    let shop = Shop::start(&backend, quick).await;
    let receiver = Receiver::start(&[500, 500, 500, 500]).await;
    let keeper = admin(&shop.api).await;
    let endpoint = register(&keeper, &receiver.url, &["book.created"]).await;
    keeper.post("/books", json!({"title": "Unheard"})).await;
    let id = endpoint["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let shown = loop {
        let shown = keeper.get(&format!("/webhooks/{id}")).await;
        if shown["active"] == false || Instant::now() > deadline {
            break shown;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shown["active"], false, "{shown}");
    let reason = shown["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains("failed since") && reason.contains("500"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.got().len(),
        1,
        "a disabled endpoint gets nothing more"
    );

    // Turned on again, it gets the pending delivery.
    let on = keeper
        .patch(&format!("/webhooks/{id}"), json!({"active": true}))
        .await;
    assert!(on["disabled_reason"].is_null());
}

async fn a_rotated_secret_signs_beside_the_new_one(backend: Backend) {
    let shop = Shop::start(&backend, settings(50)).await;
    let receiver = Receiver::start(&[]).await;
    let keeper = admin(&shop.api).await;
    let endpoint = register(&keeper, &receiver.url, &["book.created"]).await;
    let old = endpoint["secret"].as_str().unwrap().to_string();
    let id = endpoint["id"].as_i64().unwrap();
    let rotated = keeper
        .send(
            reqwest::Method::POST,
            &format!("/webhooks/{id}/rotate-secret"),
            json!(null),
        )
        .await;
    let rotated = expect(rotated, 200).await;
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    keeper.post("/books", json!({"title": "Rotated"})).await;
    let got = receiver.wait_for(1).await;
    assert!(
        verifies(&got[0], &new) && verifies(&got[0], &old),
        "{:?}",
        got[0]
    );
    assert_eq!(got[0].signature.split(' ').count(), 2);
}

/// The retry page a user sees after a delivery failed: by hand it goes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_can_be_retried_by_hand() {
    let short = WebhookSettings {
        retry_for: Duration::ZERO,
        ..settings(50)
    };
    let shop = Shop::start(&Backend::Sqlite, short).await;
    let receiver = Receiver::start(&[500]).await;
    let keeper = admin(&shop.api).await;
    let endpoint = register(&keeper, &receiver.url, &["book.created"]).await;
    keeper.post("/books", json!({"title": "Again"})).await;
    let id = endpoint["id"].as_i64().unwrap();
    let page = settled(&keeper, id).await;
    let delivery = &page["items"][0];
    assert_eq!(
        delivery["status"], "failed",
        "no retry period: failed at once"
    );
    let delivery_id = delivery["id"].as_i64().unwrap();
    let retried = keeper
        .send(
            reqwest::Method::POST,
            &format!("/webhooks/{id}/deliveries/{delivery_id}/retry"),
            json!(null),
        )
        .await;
    expect(retried, 202).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id, "the same event, the same webhook-id");
    let page = settled(&keeper, id).await;
    assert_eq!(page["items"][0]["status"], "delivered");
}

/// `folio serve` killed after the change committed and before its event reached the receiver
/// (which was down): started again, it delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_commit_and_delivery_delivers_after_restart() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let envs = vec![
        ("DATABASE_URL", t.url_string()),
        ("FOLIO_STORAGE_URL", t.files.path().display().to_string()),
        (
            "FOLIO_SECRET_KEY",
            "a-secret-key-of-32-bytes-or-more!!".to_string(),
        ),
        ("FOLIO_WEBHOOK_ALLOW_PRIVATE", "true".to_string()),
        ("FOLIO_WEBHOOK_FIRST_RETRY_MS", "100".to_string()),
    ];
    let (mut served, address) = Served::start(dir.path(), &envs);
    let http = reqwest::Client::new();
    let api = |path: &str| format!("http://{address}/api/v1{path}");
    process::register(&http, &address, "keeper").await;
    t.make_admin("keeper").await;
    let token = sign_in(&http, &address, "keeper").await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let registered = http
        .post(api("/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": url, "events": ["book.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let created = http
        .post(api("/books"))
        .bearer_auth(&token)
        .json(&json!({"title": "Survivor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "the change is acknowledged");
    // The receiver is down: the first attempt fails. Then the server dies without a goodbye.
    let deadline = Instant::now() + Duration::from_secs(30);
    while attempts(&t).await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    served.child.kill().unwrap();
    served.child.wait().unwrap();

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let receiver = Receiver::on(listener, &[]);
    let (mut served, _) = Served::start(dir.path(), &envs);
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "delivered after the restart");
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "book.created");
    assert_eq!(body["data"]["title"], "Survivor");
    assert!(served.stop().success());
}

async fn attempts(t: &TestDb) -> i64 {
    t.count("webhook_attempt").await
}

/// 1,000 events to four endpoints with three workers (three instances' connections) sharing
/// the queue on PostgreSQL: each event delivered once, no endpoint ever sent two at once, and
/// each endpoint's events in the order they happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_deliver_a_thousand_events_each_once_in_order() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let receivers = [
        Receiver::start(&[]).await,
        Receiver::start(&[]).await,
        Receiver::start(&[]).await,
        Receiver::start(&[]).await,
    ];
    for receiver in &receivers {
        let tx = t.db.begin().await.unwrap();
        let events = ["book.created".to_string()];
        let made =
            folio::repo::webhook::insert_endpoint(&*tx, &receiver.url, &events, "whsec_AAAA", 0)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        assert!(made.active);
    }
    // The events, each in its own unit of work, numbered.
    for n in 0..250 {
        let tx = t.db.begin().await.unwrap();
        webhooks::emit(&*tx, Event::new("book.created", json!({"n": n})))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut workers = vec![];
    for _ in 0..3 {
        let db = Database::connect(&t.url, 4).await.unwrap();
        workers.push(tokio::spawn(webhooks::run_worker(db, settings(50))));
    }
    for receiver in &receivers {
        let got = receiver.wait_for(250).await;
        let numbers: Vec<i64> = got
            .iter()
            .map(|r| {
                serde_json::from_str::<Value>(&r.body).unwrap()["data"]["n"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(numbers, (0..250).collect::<Vec<_>>(), "each once, in order");
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for r in &got {
            *ids.entry(r.id.as_str()).or_default() += 1;
        }
        assert!(ids.values().all(|n| *n == 1), "no event twice");
        assert_eq!(
            receiver.plan.lock().unwrap().most_at_once,
            1,
            "one at a time"
        );
    }
    for worker in workers {
        worker.abort();
    }
    assert_eq!(t.count("webhook_delivery").await, 1_000);
}
