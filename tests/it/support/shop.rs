//! Buying over HTTP as a reader does: a purchase, and the payment provider's signed webhook
//! that settles it.

use folio::config::Secret;
use folio::service::payments::sign;
use reqwest::Response;
use serde_json::{Value, json};

use super::TestServer;
use super::api::{Api, expect};
use super::user::{User, pick};

/// The webhook secret of servers started with [`SECRET_VAR`].
pub const SECRET: &str = "whsec_test";
pub const SECRET_VAR: (&str, &str) = ("FOLIO_PAYMENT_WEBHOOK_SECRET", SECRET);

/// `POST /purchases` with this `Idempotency-Key` (or none).
pub async fn buy(user: &User<'_>, key: Option<&str>, edition: i64) -> Response {
    let server = &user.api.server;
    let mut request = server.client.post(server.url("/api/v1/purchases"));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let request = request.bearer_auth(&user.token);
    let body = json!({"edition_id": edition});
    request.json(&body).send().await.unwrap()
}

pub async fn bought(user: &User<'_>, key: &str, edition: i64) -> Value {
    expect(buy(user, Some(key), edition).await, 201).await
}

/// The provider's event about `purchase`, with its amount and currency.
pub fn event(purchase: &Value, status: &str, event_id: &str) -> Value {
    json!({
        "event_id": event_id, "purchase_id": purchase["id"], "status": status,
        "provider_ref": format!("pi_{event_id}"),
        "amount_minor": purchase["amount_minor"], "currency": purchase["currency"],
    })
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Raw bytes to the webhook with this `Folio-Signature`, and no bearer token.
pub async fn deliver(server: &TestServer, body: &[u8], signature: Option<&str>) -> Response {
    let url = server.url("/api/v1/payments/webhook");
    let mut request = server.client.post(url).body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("Folio-Signature", signature);
    }
    let request = request.header("content-type", "application/json");
    request.send().await.unwrap()
}

/// The event, signed now by folio's own helper.
pub async fn webhook(api: &Api, event: &Value) -> Response {
    let body = serde_json::to_vec(event).unwrap();
    let signature = sign(&Secret::new(SECRET), &body, now());
    deliver(&api.server, &body, Some(&signature)).await
}

/// Applies an event to `purchase`; the purchase the receipt shows.
pub async fn settle(api: &Api, purchase: &Value, status: &str, event_id: &str) -> Value {
    let receipt = webhook(api, &event(purchase, status, event_id)).await;
    let receipt = expect(receipt, 200).await;
    let keys = ["received", "duplicate"];
    assert_eq!(pick(&receipt, &keys), json!([true, false]));
    let moved = receipt["purchase"].clone();
    assert_eq!(moved["id"], purchase["id"]);
    assert_eq!(moved["status"], status);
    moved
}
