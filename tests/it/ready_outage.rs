//! `/ready` follows PostgreSQL going away and coming back, with no restart.
//!
//! The outage is made by a TCP relay of the test's own between folio and the shared server:
//! stopping the relay cuts every connection and refuses new ones, exactly what folio sees when
//! its database host goes down, while the shared server keeps serving the other tests.

use std::time::{Duration, Instant};

use folio::config::DatabaseUrl;
use folio::db::Database;
use reqwest::StatusCode;

use crate::support::api::assert_problem;
use crate::support::relay::Relay;
use crate::support::{Backend, TestDb, TestServer};

async fn ready_status(server: &TestServer) -> StatusCode {
    server.get("/ready").await.status()
}

async fn wait_for(server: &TestServer, wanted: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = ready_status(server).await;
        if status == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/ready stayed {status}, wanted {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_postgres_is_down_and_200_once_it_is_back() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let t = TestDb::migrated(&backend).await;
    let DatabaseUrl::Postgres { url } = &t.url else {
        unreachable!()
    };
    let (mut relay, relayed) = Relay::to(url).await;
    let db = Database::connect(&relayed, 2).await.unwrap();
    let server = TestServer::start(t.settings(), db).await;

    assert_eq!(ready_status(&server).await, StatusCode::OK);
    assert_eq!(server.get("/health").await.status(), StatusCode::OK);

    relay.stop();
    wait_for(&server, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_problem(server.get("/ready").await, 503, "service-unavailable").await;
    assert_eq!(
        server.get("/health").await.status(),
        StatusCode::OK,
        "liveness does not depend on the database"
    );

    relay.resume().await;
    wait_for(&server, StatusCode::OK).await;
    server.shutdown().await;
    relay.stop();
}
