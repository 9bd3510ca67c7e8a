//! Prometheus metrics: every name folio exports, the recorder `serve` installs when
//! `FOLIO_METRICS_BIND` is set, and the text a scrape gets.
//!
//! Code that counts something calls the `metrics` facade (`counter!`, `gauge!`,
//! `histogram!`) with a name from here, as it would log through `tracing`: nothing is passed
//! down. Without a recorder (the metrics listener off, `folio import`, the tests' in-process
//! servers) every call does nothing; the request layer asks [`enabled`] first so that it does
//! not even build its labels.
//!
//! Names follow Prometheus' conventions: `_total` for counters, base units (`_seconds`,
//! `_bytes`), labels with few values (a route as declared, never the path a client sent).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Label, Unit, counter};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::histograms::{BucketedRecorder, Histograms};

/// Requests answered, by `method`, `route` (as declared, `unmatched` when none matched) and
/// `status` class (`2xx` … `5xx`).
pub const HTTP_REQUESTS: &str = "folio_http_requests_total";
/// Time to the response's head, with the same labels. A download's body streams after it.
pub const HTTP_DURATION: &str = "folio_http_request_duration_seconds";
/// Requests being handled right now.
pub const HTTP_IN_FLIGHT: &str = "folio_http_requests_in_flight";

/// Connections a pool holds now, by `pool`.
pub const POOL_SIZE: &str = "folio_db_pool_connections";
/// The most connections a pool opens.
pub const POOL_MAX: &str = "folio_db_pool_max_connections";
/// Connections lent out now.
pub const POOL_IN_USE: &str = "folio_db_pool_in_use";
/// Callers waiting for a connection now; `pool="sqlite_writer"` is the SQLite writer's queue.
pub const POOL_WAITING: &str = "folio_db_pool_waiting";
/// How long a caller waited for its connection.
pub const POOL_ACQUIRE: &str = "folio_db_pool_acquire_seconds";
/// Units of work ended, by `outcome`: `committed` or `rolled_back`.
pub const UNITS_OF_WORK: &str = "folio_db_units_of_work_total";

/// Purchases made (`status="pending"`) and settled (`paid`, `failed`, `refunded`).
pub const PURCHASES: &str = "folio_purchases_total";
/// Sign-ins by `outcome`: `ok`, `failed` (a wrong name or password), `limited` (refused by
/// the rate limits or the failed-sign-in lock before any password was checked).
pub const SIGN_INS: &str = "folio_sign_ins_total";
/// Rows of catalog imports by `outcome`: `created`, `matched`, `rejected`, since the database
/// was made (read from it at each scrape: `folio import` is a process of its own).
pub const IMPORT_ROWS: &str = "folio_import_rows_total";
/// Outbound webhook attempts by `outcome`: `delivered`, `retrying` (failed, tried again
/// later), `failed` (failed, retry period over).
pub const WEBHOOK_DELIVERIES: &str = "folio_webhook_deliveries_total";
/// Bytes of stored files sent to clients (downloads, audio, covers).
pub const STORAGE_SERVED: &str = "folio_storage_served_bytes_total";

/// Backups made, by `outcome`: `ok` (written and checked) or `failed`.
pub const BACKUPS: &str = "folio_backups_total";
/// When the last backup that was checked whole finished (Unix seconds).
pub const LAST_BACKUP: &str = "folio_backup_last_success_timestamp_seconds";

/// Scheduled storage gc turns, by `outcome`: `ok` or `failed`.
pub const STORAGE_GC: &str = "folio_storage_gc_total";
/// Objects scheduled storage gc removed (no row named them).
pub const STORAGE_GC_REMOVED: &str = "folio_storage_gc_removed_objects_total";

/// Seconds since this process started serving.
pub const UPTIME: &str = "folio_uptime_seconds";
/// Always 1; the labels say which folio this is (`version`) on which database (`backend`).
pub const BUILD_INFO: &str = "folio_build_info";

/// Latency buckets from half a millisecond (a book by id) to ten seconds (a slow search
/// under load, a pool timeout).
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the exporter does its upkeep (forgetting what idle timeouts say to forget).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether a recorder is installed: callers that would build labels ask this first.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The installed recorder's side that renders a scrape.
pub struct Exporter {
    handle: PrometheusHandle,
    histograms: Arc<Histograms>,
    process: metrics_process::Collector,
    started: Instant,
}

/// What a pool holds at a scrape.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub pool: &'static str,
    pub size: u32,
    pub max: u32,
    pub in_use: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct InstallError(String);

/// Installs the process's recorder (once: a second call fails) and describes every metric.
/// Call it before the database connects, whose pools take their handles as they open.
/// Must run inside the tokio runtime: it spawns the histograms' upkeep.
pub fn install(backend: &'static str) -> Result<Exporter, InstallError> {
    let prometheus = PrometheusBuilder::new().build_recorder();
    let handle = prometheus.handle();
    let histograms = Arc::new(Histograms::new(SECONDS_BUCKETS));
    let recorder = BucketedRecorder {
        prometheus,
        histograms: histograms.clone(),
    };
    metrics::set_global_recorder(recorder).map_err(|e| InstallError(e.to_string()))?;
    ENABLED.store(true, Ordering::Relaxed);
    describe();
    let process = metrics_process::Collector::default();
    process.describe();
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "backend" => backend)
        .set(1.0);
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            upkeep.run_upkeep();
        }
    });
    Ok(Exporter {
        handle,
        histograms,
        process,
        started: Instant::now(),
    })
}

impl Exporter {
    /// The text format for one scrape: the figures read at scrape time (pools, process,
    /// uptime) set first, then everything rendered.
    pub fn render(&self, pools: &[PoolStats], import_rows: &[(String, i64)]) -> String {
        for (outcome, rows) in import_rows {
            let outcome = match outcome.as_str() {
                "created" => "created",
                "matched" => "matched",
                _ => "rejected",
            };
            metrics::counter!(IMPORT_ROWS, "outcome" => outcome).absolute(*rows as u64);
        }
        for stats in pools {
            let pool = stats.pool;
            metrics::gauge!(POOL_SIZE, "pool" => pool).set(stats.size);
            metrics::gauge!(POOL_MAX, "pool" => pool).set(stats.max);
            metrics::gauge!(POOL_IN_USE, "pool" => pool).set(stats.in_use);
        }
        self.process.collect();
        metrics::gauge!(UPTIME).set(self.started.elapsed().as_secs_f64());
        let mut text = self.handle.render();
        text.push_str(&self.histograms.render());
        text
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered");
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response's head"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being handled");
    describe_gauge!(POOL_SIZE, "Database connections a pool holds");
    describe_gauge!(POOL_MAX, "The most connections a pool opens");
    describe_gauge!(POOL_IN_USE, "Database connections lent out");
    describe_gauge!(POOL_WAITING, "Callers waiting for a database connection");
    describe_histogram!(
        POOL_ACQUIRE,
        Unit::Seconds,
        "Time a caller waited for a database connection"
    );
    describe_counter!(UNITS_OF_WORK, "Units of work committed or rolled back");
    describe_counter!(PURCHASES, "Purchases made and settled, by status");
    describe_counter!(SIGN_INS, "Sign-ins by outcome");
    describe_counter!(IMPORT_ROWS, "Catalog import rows by outcome");
    describe_counter!(WEBHOOK_DELIVERIES, "Outbound webhook attempts by outcome");
    describe_counter!(
        STORAGE_SERVED,
        Unit::Bytes,
        "Bytes of stored files sent to clients"
    );
    describe_counter!(BACKUPS, "Backups made, by outcome");
    describe_gauge!(
        LAST_BACKUP,
        Unit::Seconds,
        "When the last checked backup finished (Unix time)"
    );
    describe_counter!(STORAGE_GC, "Scheduled storage gc turns, by outcome");
    describe_counter!(
        STORAGE_GC_REMOVED,
        "Objects no row named, removed by scheduled storage gc"
    );
    describe_gauge!(UPTIME, Unit::Seconds, "Seconds since folio started serving");
    describe_gauge!(BUILD_INFO, "folio's version and database backend");
}

/// A pool's live handles, taken once when it opens: a wait is two atomic steps and a sample,
/// with no lookup by name.
#[derive(Clone)]
pub struct PoolMetrics {
    waiting: Gauge,
    acquire: Histogram,
}

impl PoolMetrics {
    pub fn new(pool: &'static str) -> Self {
        Self {
            waiting: metrics::gauge!(POOL_WAITING, "pool" => pool),
            acquire: metrics::histogram!(POOL_ACQUIRE, "pool" => pool),
        }
    }

    /// Counts the caller as waiting until the returned guard drops, when its wait is
    /// recorded: a caller that gives up (a timeout, a dropped request) is counted too.
    pub fn waiting(&self) -> Waiting<'_> {
        self.waiting.increment(1.0);
        Waiting {
            pool: self,
            since: Instant::now(),
        }
    }

    /// A connection taken without waiting.
    pub fn acquired_at_once(&self) {
        self.acquire.record(0.0);
    }
}

pub struct Waiting<'p> {
    pool: &'p PoolMetrics,
    since: Instant,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.pool.waiting.decrement(1.0);
        self.pool.acquire.record(self.since.elapsed().as_secs_f64());
    }
}

/// One request being handled: in flight from [`Handling::begin`] until dropped, counted and
/// timed by [`Handling::answered`]. A request whose client left before the answer is no
/// longer in flight but is not counted as answered.
pub struct Handling {
    started: Instant,
}

fn in_flight() -> &'static Gauge {
    static IN_FLIGHT: OnceLock<Gauge> = OnceLock::new();
    IN_FLIGHT.get_or_init(|| metrics::gauge!(HTTP_IN_FLIGHT))
}

impl Handling {
    pub fn begin() -> Self {
        in_flight().increment(1.0);
        Self {
            started: Instant::now(),
        }
    }

    /// `route` is the route as declared; `method` any method a client sent (one folio does not
    /// serve is `other`, so a client cannot add labels).
    pub fn answered(self, method: &str, route: &str, status: u16) {
        let method = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len() - 1);
        let status = match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        let (count, time) = route_handles(route, method, status);
        count.increment(1);
        time.record(self.started.elapsed().as_secs_f64());
    }
}

/// The methods a request is counted under; anything else is the last, `other`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
];
const STATUSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A route's counter and histogram per method and status class.
type RouteHandles = [[Option<(Counter, Histogram)>; STATUSES.len()]; METHODS.len()];

/// The handles of a route's requests, taken from the recorder once per route, method and
/// status: a request then costs a map lookup under a read lock and two atomic steps, with no
/// labels built and nothing allocated.
fn route_handles(route: &str, method: usize, status: usize) -> (Counter, Histogram) {
    static ROUTES: OnceLock<RwLock<HashMap<Box<str>, Box<RouteHandles>>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(RwLock::default);
    if let Some(handles) = routes
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
        .and_then(|r| r[method][status].clone())
    {
        return handles;
    }
    let labels = [
        ("method", METHODS[method]),
        ("route", route),
        ("status", STATUSES[status]),
    ];
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.to_string()))
        .collect();
    let made = (
        metrics::counter!(HTTP_REQUESTS, labels.clone()),
        metrics::histogram!(HTTP_DURATION, labels),
    );
    let mut routes = routes.write().unwrap_or_else(PoisonError::into_inner);
    let slot = &mut routes.entry(route.into()).or_default()[method][status];
    slot.get_or_insert(made).clone()
}

impl Drop for Handling {
    fn drop(&mut self) {
        in_flight().decrement(1.0);
    }
}

/// A unit of work ended. (This and the other cached handles are taken at first use, which
/// `serve` makes after installing the recorder; without one they stay no-ops.)
pub fn unit_of_work(committed: bool) {
    static COMMITTED: OnceLock<Counter> = OnceLock::new();
    static ROLLED_BACK: OnceLock<Counter> = OnceLock::new();
    let counter = match committed {
        true => COMMITTED.get_or_init(|| counter!(UNITS_OF_WORK, "outcome" => "committed")),
        false => ROLLED_BACK.get_or_init(|| counter!(UNITS_OF_WORK, "outcome" => "rolled_back")),
    };
    counter.increment(1);
}

/// A purchase made (`pending`) or settled.
pub fn purchase(status: &'static str) {
    static BY_STATUS: OnceLock<RwLock<HashMap<&'static str, Counter>>> = OnceLock::new();
    let by_status = BY_STATUS.get_or_init(RwLock::default);
    let known = by_status
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(status)
        .cloned();
    let counter = known.unwrap_or_else(|| {
        let made = counter!(PURCHASES, "status" => status);
        let mut by_status = by_status.write().unwrap_or_else(PoisonError::into_inner);
        by_status.entry(status).or_insert(made).clone()
    });
    counter.increment(1);
}

/// A sign-in's outcome: `ok`, `failed` or `limited`.
pub fn sign_in(outcome: &'static str) {
    metrics::counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// A webhook attempt's outcome.
pub fn webhook_delivery(outcome: &'static str) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}

/// A backup's outcome.
pub fn backup<T, E>(made: &Result<T, E>) {
    let outcome = if made.is_ok() { "ok" } else { "failed" };
    metrics::counter!(BACKUPS, "outcome" => outcome).increment(1);
    if made.is_ok() {
        metrics::gauge!(LAST_BACKUP).set(chrono::Utc::now().timestamp() as f64);
    }
}

/// A scheduled storage gc turn's outcome.
pub fn storage_gc(done: &Result<crate::service::files::GcReport, crate::service::ServiceError>) {
    let outcome = if done.is_ok() { "ok" } else { "failed" };
    metrics::counter!(STORAGE_GC, "outcome" => outcome).increment(1);
    if let Ok(report) = done {
        metrics::counter!(STORAGE_GC_REMOVED).increment(report.removed.len() as u64);
    }
}

/// The counter of bytes served from storage, for a body that adds as it streams.
pub fn storage_served() -> Counter {
    metrics::counter!(STORAGE_SERVED)
}
