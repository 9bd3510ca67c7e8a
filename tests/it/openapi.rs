//! The OpenAPI document: a snapshot, so API changes show up in review, and checks that every
//! operation declares its security and its error responses.
//!
//! After an intended API change: `FOLIO_UPDATE_SNAPSHOTS=1 cargo test openapi`.

use folio::config::Settings;
use serde_json::Value;

use crate::support::{Backend, TestDb, TestServer};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");

fn document() -> Value {
    let settings = Settings::from_lookup(|_| None).unwrap();
    serde_json::to_value(folio::api::openapi(&settings)).unwrap()
}

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let current = serde_json::to_string_pretty(&document()).unwrap() + "\n";
    if std::env::var_os("FOLIO_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &current).unwrap();
        return;
    }
    let saved = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        saved == current,
        "the OpenAPI document changed; review it and run FOLIO_UPDATE_SNAPSHOTS=1 cargo test openapi"
    );
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut found = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    found
}

#[test]
fn every_operation_declares_security_and_its_errors() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["bearer", "oauth2", "api_key"] {
        assert!(schemes.contains_key(scheme), "security scheme {scheme}");
    }
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"], "/api/v1/auth/login",
        "the docs page's Authorize button signs in at the login endpoint"
    );
    let ops = operations(&doc);
    assert!(ops.len() >= 15, "{} operations", ops.len());
    for (method, path, op) in ops {
        let name = format!("{method} {path}");
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no security"));
        let public = security
            .iter()
            .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{name} {status} has no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{name} {status} is documented as problem+json"
                );
            }
        }
        if !public {
            assert!(responses.contains_key("401"), "{name} documents 401");
        }
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{name} has a tag"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name} has a summary"
        );
    }
}

/// The served document is the one checked above, titled from `APP_TITLE`, and the docs page
/// is served by folio itself.
#[tokio::test]
async fn the_document_and_docs_page_are_served() {
    let t = TestDb::migrated(&Backend::Sqlite).await;
    let settings = t.settings_with(&[
        ("APP_TITLE", "Corner <Bookshop>"),
        ("APP_DESCRIPTION", "Ours"),
    ]);
    let server = TestServer::start(settings, t.db.clone()).await;
    let served: Value = server.get("/api/openapi.json").await.json().await.unwrap();
    assert_eq!(served["info"]["title"], "Corner <Bookshop>");
    assert_eq!(served["info"]["description"], "Ours");
    assert_eq!(served["paths"], document()["paths"]);

    let page = server.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<title>Corner &lt;Bookshop&gt;</title>"),
        "{html}"
    );
    let initializer = server
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/api/openapi.json"));
    for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"] {
        assert_eq!(
            server.get(asset).await.status(),
            200,
            "{asset} is served locally"
        );
    }
}
