//! No password, token, key or database password reaches the log, at any level.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::process::Served;
use crate::support::{Backend, TestDb};

backend_tests!(no_secret_appears_in_the_logs_at_trace_level);

async fn no_secret_appears_in_the_logs_at_trace_level(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    // PostgreSQL here trusts local connections, so a password in the URL is accepted and
    // unused: exactly what is needed to see whether it leaks.
    let database_url = match &t.url {
        folio::config::DatabaseUrl::Postgres { url } => {
            let mut url = url.clone();
            url.set_password(Some("db-password-in-url")).unwrap();
            url.to_string()
        }
        _ => t.url_string(),
    };
    let signing_key = "signing-key-0123456789-abcdefghij";
    let webhook_secret = "whsec-9876543210-zyxwvu";
    let dir = tempfile::tempdir().unwrap();
    let (mut served, address) = Served::start(
        dir.path(),
        &[
            ("DATABASE_URL", database_url),
            ("FOLIO_LOG", "trace".to_string()),
            ("FOLIO_SECRET_KEY", signing_key.to_string()),
            ("FOLIO_PAYMENT_WEBHOOK_SECRET", webhook_secret.to_string()),
        ],
    );
    let api = |path: &str| format!("http://{address}/api/v1{path}");
    let client = reqwest::Client::new();
    let password = "first-Secret-passphrase";
    let new_password = "second-Secret-passphrase";

    let registered = client
        .post(api("/auth/register"))
        .json(&json!({"username": "leaky", "email": "leaky@example.org", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let wrong = client
        .post(api("/auth/login"))
        .json(&json!({"username": "leaky", "password": "wrong-Secret-guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let tokens: Value = client
        .post(api("/auth/login"))
        .form(&[
            ("grant_type", "password"),
            ("username", "leaky"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    let key: Value = client
        .post(api("/me/api-keys"))
        .bearer_auth(&access)
        .json(&json!({"name": "reader app"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    assert_eq!(
        client
            .get(api("/me"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let renewed: Value = client
        .post(api("/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let renewed_access = renewed["access_token"].as_str().unwrap().to_string();
    let renewed_refresh = renewed["refresh_token"].as_str().unwrap().to_string();
    // A replayed refresh token is logged as an event, without the token.
    let replay = client
        .post(api("/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let signed_in_again: Value = client
        .post(api("/auth/login"))
        .json(&json!({"username": "leaky@example.org", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_again = signed_in_again["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let changed = client
        .post(api("/me/password"))
        .bearer_auth(&access_again)
        .json(&json!({"old_password": password, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let logout = client
        .post(api("/auth/logout"))
        .bearer_auth(&access_again)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);

    served.stop();
    let log: String = served
        .seen
        .iter()
        .map(|line| line.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        log.lines().count() > 20,
        "trace logging is on and was captured ({} lines)",
        log.lines().count()
    );
    let secrets = [
        ("password", password),
        ("new password", new_password),
        ("wrong password", "wrong-Secret-guess"),
        ("access token", access.as_str()),
        ("refreshed access token", renewed_access.as_str()),
        ("refresh token", refresh.as_str()),
        ("rotated refresh token", renewed_refresh.as_str()),
        ("API key", key.as_str()),
        ("signing key", signing_key),
        ("webhook secret", webhook_secret),
        ("database password", "db-password-in-url"),
    ];
    for (what, secret) in secrets {
        assert!(!log.contains(secret), "the {what} appears in the log");
    }
}
