//! Prometheus metrics, scraped from a real `folio serve` as Prometheus would: its own listener,
//! the text format parsed, and the figures moving with what the test did over HTTP.

use folio::config::Secret;
use folio::service::payments::sign;
use prom_text_format_parser::{Metric, Scrape, Type, ValueType};
use reqwest::Client;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::process::{Served, register, sign_in};
use crate::support::{Backend, TestDb, books, fixtures};

backend_tests!(a_scrape_shows_requests_by_route_sales_sign_ins_pools_and_the_process);

const WEBHOOK_SECRET: &str = "whsec_metrics_test";

/// A `folio serve` on the test's database with its metrics listener on a free port; its
/// public address and its metrics address.
fn serve(t: &TestDb) -> (Served, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (mut served, address) = Served::start(
        dir.path(),
        &[
            ("DATABASE_URL", t.url_string()),
            ("FOLIO_STORAGE_URL", t.files.path().display().to_string()),
            ("FOLIO_METRICS_BIND", "127.0.0.1:0".into()),
            (
                "FOLIO_SECRET_KEY",
                "a-secret-key-of-32-bytes-or-more!!".into(),
            ),
            ("FOLIO_PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("FOLIO_WEBHOOK_ALLOW_PRIVATE", "true".into()),
        ],
    );
    let line = served.wait_for("the metrics listener", |l| l["metrics_address"].is_string());
    let metrics = line["metrics_address"].as_str().unwrap().to_string();
    (served, address, metrics)
}

async fn a_scrape_shows_requests_by_route_sales_sign_ins_pools_and_the_process(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let (book, edition) = {
        let tx = t.db.begin().await.unwrap();
        let book = fixtures::book(&*tx, "Metered").await.unwrap();
        let edition = fixtures::edition(&*tx, book.id, Some(500)).await.unwrap();
        tx.commit().await.unwrap();
        (book.id, edition.id)
    };
    // An import before the server starts (a process of its own): twice, so rows are created,
    // then matched; one row has no title and is rejected each time.
    let csv = [
        crate::import::HEADER.to_string(),
        crate::import::row(
            "",
            "",
            "Ursula K. Le Guin",
            "1968",
            "",
            "A Wizard of Earthsea",
            "eng",
        ),
        crate::import::row(
            "",
            "",
            "Ursula K. Le Guin",
            "1974",
            "",
            "The Dispossessed",
            "eng",
        ),
        crate::import::row("", "", "Nobody", "2000", "", "", "eng"),
    ]
    .join("\n");
    let import_dir = tempfile::tempdir().unwrap();
    std::fs::write(import_dir.path().join("books.csv"), csv).unwrap();
    for said in [
        "2 created, 0 matched, 1 rejected",
        "0 created, 2 matched, 1 rejected",
    ] {
        let (code, out, err) =
            crate::support::process::import(import_dir.path(), &t, "goodbooks", &["books.csv"]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains(said), "{out}");
    }
    let (_served, address, metrics) = serve(&t);
    let http = Client::new();
    let api = |path: &str| format!("http://{address}/api/v1{path}");

    // Two accounts, one made an admin (no HTTP way to), three sign-ins: two right, one wrong.
    for name in ["keeper", "reader"] {
        register(&http, &address, name).await;
    }
    t.make_admin("keeper").await;
    let keeper = sign_in(&http, &address, "keeper").await;
    let reader = sign_in(&http, &address, "reader").await;
    let wrong = json!({"username": "reader", "password": "not the password at all"});
    let refused = http
        .post(api("/auth/login"))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Three reads of the book and one of a book that does not exist.
    for _ in 0..3 {
        let found = http
            .get(api(&format!("/books/{book}")))
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200);
    }
    let missing = http.get(api("/books/999999")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // A receiver told of paid purchases.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let told = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(receiver, told).await });
    let endpoint = json!({"url": hook, "events": ["purchase.paid"]});
    let registered = http
        .post(api("/webhooks"))
        .bearer_auth(&keeper)
        .json(&endpoint)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);

    // A file on the edition, bought, paid for by the provider's webhook, and downloaded.
    let epub = books::epub("Metered", "9780306406157", 10_000);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(epub.clone()).file_name("metered.epub"),
    );
    let added = http
        .post(api(&format!("/editions/{edition}/files")))
        .bearer_auth(&keeper)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let file = added.json::<Value>().await.unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    let bought = http
        .post(api("/purchases"))
        .bearer_auth(&reader)
        .header("Idempotency-Key", "metered-1")
        .json(&json!({"edition_id": edition}))
        .send()
        .await
        .unwrap();
    assert_eq!(bought.status(), 201);
    let purchase: Value = bought.json().await.unwrap();
    let event = json!({
        "event_id": "evt_metered", "purchase_id": purchase["id"], "status": "paid",
        "provider_ref": "pi_metered", "amount_minor": purchase["amount_minor"],
        "currency": purchase["currency"],
    });
    let body = serde_json::to_vec(&event).unwrap();
    let signature = sign(
        &Secret::new(WEBHOOK_SECRET),
        &body,
        chrono::Utc::now().timestamp(),
    );
    let paid = http
        .post(api("/payments/webhook"))
        .header("Folio-Signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    let download = http
        .get(api(&format!("/files/{file}/content")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().len(), epub.len());

    // The figures are on the metrics listener only.
    let public = http
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "the public listener has no /metrics");
    let mut scrape = scrape(&http, &metrics).await;
    // The payment's event reaches the receiver a moment after the payment.
    let delivered = |s: &Figures| {
        s.0.iter()
            .any(|m| m.name == "folio_webhook_deliveries_total")
            .then(|| {
                s.value(
                    "folio_webhook_deliveries_total",
                    &[("outcome", "delivered")],
                )
            })
    };
    for _ in 0..100 {
        if delivered(&scrape) == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        scrape = self::scrape(&http, &metrics).await;
    }
    assert_eq!(
        delivered(&scrape),
        Some(1.0),
        "the webhook delivery is counted"
    );

    let book_route = [("method", "GET"), ("route", "/api/v1/books/{id}")];
    let ok = [book_route.as_slice(), &[("status", "2xx")]].concat();
    let not_found = [book_route.as_slice(), &[("status", "4xx")]].concat();
    assert_eq!(scrape.value("folio_http_requests_total", &ok), 3.0);
    assert_eq!(scrape.value("folio_http_requests_total", &not_found), 1.0);
    assert_eq!(
        scrape.histogram_count("folio_http_request_duration_seconds", &ok),
        3.0
    );
    let routes = scrape.routes();
    assert!(routes.contains(&"/api/v1/files/{id}/content"), "{routes:?}");
    assert!(
        routes.iter().all(|r| !r.contains("999999")),
        "routes are labelled by template, never by the path a client sent: {routes:?}"
    );
    let login = [("method", "POST"), ("route", "/api/v1/auth/login")];
    let login_refused = [login.as_slice(), &[("status", "4xx")]].concat();
    assert_eq!(
        scrape.value("folio_http_requests_total", &login_refused),
        1.0
    );
    assert_eq!(scrape.value("folio_http_requests_in_flight", &[]), 0.0);

    assert_eq!(
        scrape.value("folio_purchases_total", &[("status", "pending")]),
        1.0
    );
    assert_eq!(
        scrape.value("folio_purchases_total", &[("status", "paid")]),
        1.0
    );
    for (outcome, rows) in [("created", 2.0), ("matched", 2.0), ("rejected", 2.0)] {
        let counted = scrape.value("folio_import_rows_total", &[("outcome", outcome)]);
        assert_eq!(counted, rows, "{outcome}");
    }
    assert_eq!(
        scrape.value("folio_sign_ins_total", &[("outcome", "ok")]),
        2.0
    );
    assert_eq!(
        scrape.value("folio_sign_ins_total", &[("outcome", "failed")]),
        1.0
    );
    assert_eq!(
        scrape.value("folio_storage_served_bytes_total", &[]),
        epub.len() as f64
    );
    // Two registrations, two sign-ins, an upload, a purchase and its payment at least.
    let committed = scrape.value("folio_db_units_of_work_total", &[("outcome", "committed")]);
    assert!(committed >= 7.0, "{committed} units of work committed");

    let pools: &[&str] = match backend {
        Backend::Sqlite => &["sqlite_writer", "sqlite_readers", "sqlite_orm_readers"],
        Backend::Postgres { .. } => &["postgres"],
    };
    for pool in pools {
        let max = scrape.value("folio_db_pool_max_connections", &[("pool", pool)]);
        let size = scrape.value("folio_db_pool_connections", &[("pool", pool)]);
        let in_use = scrape.value("folio_db_pool_in_use", &[("pool", pool)]);
        assert!(
            max >= 1.0 && size <= max && in_use <= size,
            "{pool}: {in_use}, {size} of {max}"
        );
    }
    let (waits_pool, waited) = match backend {
        Backend::Sqlite => ("sqlite_writer", 7.0),
        Backend::Postgres { .. } => ("postgres", 7.0),
    };
    let waits = scrape.histogram_count("folio_db_pool_acquire_seconds", &[("pool", waits_pool)]);
    assert!(waits >= waited, "{waits} waits for {waits_pool}");
    // Nobody waits once the load is over. The server's own background work (the webhook
    // worker's look every 250 ms, the serving lock's ping) may be taking a connection at the
    // moment of a scrape, so a few scrapes a moment apart are looked at.
    let mut waiting = scrape.value("folio_db_pool_waiting", &[("pool", waits_pool)]);
    for _ in 0..20 {
        if waiting == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waiting = self::scrape(&http, &metrics)
            .await
            .value("folio_db_pool_waiting", &[("pool", waits_pool)]);
    }
    assert_eq!(waiting, 0.0, "{waits_pool}: waiting once idle");

    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres { .. } => "postgres",
    };
    let build = [
        ("version", env!("CARGO_PKG_VERSION")),
        ("backend", backend_name),
    ];
    assert_eq!(scrape.value("folio_build_info", &build), 1.0);
    assert!(scrape.value("process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert!(scrape.value("process_open_fds", &[]) >= 3.0);
    assert!(scrape.value("process_cpu_seconds_total", &[]) > 0.0);
    assert!(scrape.value("folio_uptime_seconds", &[]) > 0.0);
    let help = &scrape.metric("folio_http_requests_total").help_desc;
    assert!(help.is_some(), "metrics carry HELP");

    // Scrapes are not the API's requests: a second one leaves its figures as they were.
    let again = self::scrape(&http, &metrics).await;
    assert_eq!(again.value("folio_http_requests_total", &ok), 3.0);
}

async fn scrape(http: &Client, metrics: &str) -> Figures {
    let answer = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = answer.text().await.unwrap();
    let parsed = Scrape::parse(&text).unwrap_or_else(|e| panic!("{e:?} in:\n{text}"));
    Figures(parsed.metrics)
}

/// A scrape's metrics, looked up by name and exact labels.
struct Figures(Vec<Metric>);

impl Figures {
    fn metric(&self, name: &str) -> &Metric {
        let found = self.0.iter().find(|m| m.name == name);
        found.unwrap_or_else(|| panic!("no metric {name} in the scrape"))
    }

    /// The one sample of `name` of this kind whose labels are exactly `labels`.
    fn sample(&self, name: &str, kind: ValueType, labels: &[(&str, &str)]) -> f64 {
        let metric = self.metric(name);
        let found: Vec<f64> = metric
            .samples
            .iter()
            .filter(|s| s.value.value_type == kind)
            .filter(|s| {
                s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
            })
            .map(|s| s.value.value.as_f64())
            .collect();
        match found.as_slice() {
            [one] => *one,
            _ => panic!(
                "{} samples of {name} {labels:?} in {metric:#?}",
                found.len()
            ),
        }
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.sample(name, ValueType::Sample, labels)
    }

    /// A histogram's observations (its `_count`).
    fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        assert_eq!(self.metric(name).kind, Type::Histogram, "{name}");
        self.sample(name, ValueType::Count, labels)
    }

    /// Every value the `route` label takes.
    fn routes(&self) -> Vec<&str> {
        let labels = self
            .0
            .iter()
            .flat_map(|m| &m.samples)
            .flat_map(|s| s.labels.iter());
        labels
            .filter(|l| l.key == "route")
            .map(|l| l.value.as_str())
            .collect()
    }
}
