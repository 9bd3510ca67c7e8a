//! PostgreSQL going away in the middle of writes, as a shop's database host does: a write whose
//! COMMIT went through is answered as saved (never a 503 inviting a retry that would save it
//! twice), no pooled connection is left inside a transaction, and while the database is known
//! to be down requests are refused at once instead of each waiting out the pool timeout.

use std::time::{Duration, Instant};

use folio::config::DatabaseUrl;
use folio::db::Database;
use serde_json::{Value, json};

use crate::support::api::{Api, expect, id};
use crate::support::relay::Relay;
use crate::support::user::{admin, new_book, user};
use crate::support::{Backend, TestDb, TestServer};

/// A server whose database connections run through a relay the test can cut.
async fn relayed_api() -> Option<(Api, Relay)> {
    let backend = Backend::postgres()?;
    let t = TestDb::migrated(&backend).await;
    let DatabaseUrl::Postgres { url } = &t.url else {
        unreachable!()
    };
    let (relay, relayed) = Relay::to(url).await;
    let db = Database::connect(&relayed, 4).await.unwrap();
    let server = TestServer::start(t.settings(), db).await;
    Some((Api { t, server }, relay))
}

/// Connections of this test's database idling inside a transaction, asked on the server itself.
async fn idle_in_transaction(t: &TestDb) -> i64 {
    use sea_orm::ConnectionTrait;
    let sql = "SELECT count(*) FROM pg_stat_activity \
               WHERE datname = current_database() AND state LIKE 'idle in transaction%'";
    t.db.reader()
        .query_one_raw(sea_orm::Statement::from_string(t.db.backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// Sends the write with the relay armed to cut right after its COMMIT is answered; the write
/// must come back as saved, and the relay must have cut. Then the database comes back, and the
/// test waits until folio serves again: the connections the cut killed fail one request each
/// (a 503 a client may retry safely, as it found nothing written) until they are replaced.
async fn saved_across_a_cut(
    api: &Api,
    relay: &mut Relay,
    write: impl AsyncFnOnce() -> reqwest::Response,
    status: u16,
) -> Value {
    relay.stop_after_next_commit();
    let body = expect(write().await, status).await;
    assert!(
        relay.stopped_after_commit(),
        "the database went away after the COMMIT"
    );
    relay.resume().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while api.server.get("/api/v1/books").await.status() != 200 {
        assert!(
            Instant::now() < deadline,
            "folio did not serve again after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_committed_just_before_the_database_goes_away_are_answered_as_saved() {
    let Some((api, mut relay)) = relayed_api().await else {
        return;
    };
    let admin = admin(&api).await;
    let book = new_book(&admin, "The Go-Between").await;
    let reader = user(&api, "reader").await;
    let post = |path: &str, body: Value| {
        let (path, body) = (path.to_string(), body);
        let user = &reader;
        async move || user.send(reqwest::Method::POST, &path, body).await
    };

    let comment = saved_across_a_cut(
        &api,
        &mut relay,
        post(
            &format!("/books/{book}/comments"),
            json!({"text": "The past is a foreign country"}),
        ),
        201,
    )
    .await;
    assert_eq!(comment["text"], "The past is a foreign country");
    let edited = saved_across_a_cut(
        &api,
        &mut relay,
        async || {
            let path = format!("/comments/{}", id(&comment));
            reader
                .send(reqwest::Method::PATCH, &path, json!({"rating": 5}))
                .await
        },
        200,
    )
    .await;
    assert_eq!(edited["rating"], 5);

    let created = saved_across_a_cut(
        &api,
        &mut relay,
        async || {
            let body = json!({"title": "Eustace and Hilda"});
            admin.send(reqwest::Method::POST, "/books", body).await
        },
        201,
    )
    .await;
    assert_eq!(created["title"], "Eustace and Hilda");
    let patched = saved_across_a_cut(
        &api,
        &mut relay,
        async || {
            let path = format!("/books/{}", id(&created));
            admin
                .send(
                    reqwest::Method::PATCH,
                    &path,
                    json!({"original_year": 1947}),
                )
                .await
        },
        200,
    )
    .await;
    assert_eq!(patched["original_year"], 1947);

    let edition = saved_across_a_cut(
        &api,
        &mut relay,
        async || {
            let path = format!("/books/{book}/editions");
            admin
                .send(reqwest::Method::POST, &path, json!({"format": "ebook"}))
                .await
        },
        201,
    )
    .await;
    assert_eq!(edition["format"], "ebook");
    let repriced = saved_across_a_cut(
        &api,
        &mut relay,
        async || {
            let path = format!("/editions/{}", id(&edition));
            let body = json!({"price_minor": 499, "currency": "EUR"});
            admin.send(reqwest::Method::PATCH, &path, body).await
        },
        200,
    )
    .await;
    assert_eq!(repriced["price_minor"], 499);

    // Each write was made once: nothing invited a retry.
    assert_eq!(api.t.count("comment").await, 1);
    assert_eq!(api.t.count("book").await, 2);
    assert_eq!(api.t.count("edition").await, 1);
    assert_eq!(
        idle_in_transaction(&api.t).await,
        0,
        "no connection is left in a transaction"
    );
    api.server.shutdown().await;
    relay.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_known_down_requests_are_refused_at_once() {
    let Some((api, mut relay)) = relayed_api().await else {
        return;
    };
    let admin = admin(&api).await;
    let book = new_book(&admin, "The Shrimp and the Anemone").await;
    let path = format!("/api/v1/books/{book}");
    assert_eq!(api.server.get(&path).await.status(), 200);

    relay.stop();
    // The first request finds out (and may wait for its connection to fail)…
    assert_eq!(api.server.get(&path).await.status(), 503);
    // …the ones after it do not wait.
    for _ in 0..5 {
        let started = Instant::now();
        let response = api.server.get(&path).await;
        let waited = started.elapsed();
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert!(
            waited < Duration::from_secs(1),
            "a request while the database is known down waited {waited:?} (pool timeout: 5 s)"
        );
    }
    assert_eq!(api.server.get("/health").await.status(), 200);

    // Back: requests are served again within a few seconds, with no restart.
    relay.resume().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while api.server.get(&path).await.status() != 200 {
        assert!(
            Instant::now() < deadline,
            "requests stayed refused after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.server.shutdown().await;
    relay.stop();
}
