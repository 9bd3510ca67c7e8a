//! Failing fast while PostgreSQL is known to be down.
//!
//! With the server gone, every request would wait out the pool's checkout timeout (sqlx keeps
//! retrying a refused connection until then) before answering 503: five seconds per request, a
//! queue of clients and their retries piling up. Once a request has found the database
//! unavailable, the database counts as down: requests are refused at once while one probe in the
//! background asks it again every quarter second, and the first answer lifts the refusal.
//!
//! SQLite has no such state: it is a file beside the process, and "unavailable" there means a
//! lock held past the busy timeout by someone else, which says nothing of the next request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};

/// How often the probe asks, and how long one ask may take.
const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(super) struct Outage {
    down: AtomicBool,
}

impl Outage {
    pub(super) fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Records that a request found the database unavailable, and starts the one probe that
    /// lifts the state once the database answers again.
    pub(super) fn report(self: &Arc<Self>, reader: &DatabaseConnection) {
        if self.down.swap(true, Ordering::AcqRel) {
            return; // A probe is already running.
        }
        tracing::warn!("the database is down: requests are refused at once until it answers");
        let (outage, reader) = (self.clone(), reader.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                if reader.get_postgres_connection_pool().is_closed() {
                    return; // folio is shutting down.
                }
                let ask = reader.execute_unprepared("SELECT 1");
                if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, ask).await {
                    outage.down.store(false, Ordering::Release);
                    tracing::info!("the database answers again");
                    return;
                }
            }
        });
    }
}
