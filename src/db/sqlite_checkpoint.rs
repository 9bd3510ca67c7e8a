//! SQLite's WAL checkpoints, off the commit path.
//!
//! In WAL mode a commit appends its pages to the log, and a checkpoint copies them back into
//! the database file. SQLite's default runs the checkpoint inside the commit that takes the log
//! past 1,000 pages: one purchase in about sixty waited for the copy and its `fsync`, holding
//! the writer (and every unit of work queued behind it) while it did. Here the writer does not
//! checkpoint in the normal run of things. A thread of its own, on a connection of its own,
//! runs a `PASSIVE` checkpoint at most every [`EVERY`] while there are commits to copy; it
//! takes no lock a writer or a reader needs, so commits and reads go on while it copies.
//!
//! Under steady load commits never stop arriving, so SQLite never finds the log copied whole
//! and never starts it again from its beginning: it would only grow. Once it holds
//! [`RESTART_PAGES`], the thread copies the last few pages with the writer held for that
//! moment, and the next commit starts the log again. (Without that the log grew to the
//! backstop, and the backstop's checkpoint inside a commit doubled the comments' p99.)
//!
//! The writer keeps SQLite's own checkpoint as a backstop at [`BACKSTOP_PAGES`]: should this
//! thread fall behind or fail, the log still cannot grow without bound.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::DbError;

/// How long commits gather before their pages are copied back.
const EVERY: Duration = Duration::from_millis(20);
/// The log's length (pages) from which the thread copies the rest with the writer held, so
/// that the log starts again: SQLite's own checkpoint mark (4 MiB with 4 KiB pages). Larger
/// marks copied less often and served more purchases a second, but comments (which touch
/// pages all over the catalog) waited longer at p99 (bench/README.md).
const RESTART_PAGES: i64 = 1_000;
/// The log's length (pages) at which a commit checkpoints by itself after all: 40 MiB of log
/// with 4 KiB pages, reached only when this thread cannot keep up.
pub(super) const BACKSTOP_PAGES: i64 = 10_000;

#[derive(Default)]
struct State {
    /// Commits happened since the last checkpoint began.
    dirty: bool,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The checkpointing thread of one database. Dropping it stops the thread without waiting;
/// [`Self::stop`] waits for it.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens the thread's connection and starts it.
    pub(super) fn start(
        path: &Path,
        busy_timeout: Duration,
        writer: Arc<tokio::sync::Mutex<Option<Connection>>>,
    ) -> Result<Self, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .and_then(|conn| conn.busy_timeout(busy_timeout).map(|()| conn))
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("folio-checkpoint".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared, &conn, &writer)
            })
            .map_err(|e| DbError::Unavailable(format!("cannot start a thread: {e}")))?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A unit of work committed: its pages are copied back soon.
    pub(super) fn committed(&self) {
        let mut state = self.shared.lock();
        if !state.dirty {
            state.dirty = true;
            self.shared.wake.notify_one();
        }
    }

    /// Tells the thread to stop; it does once a checkpoint under way finishes.
    fn tell_stop(&self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
    }

    /// Stops the thread and waits for a checkpoint under way to finish.
    pub(super) fn stop(&self) {
        self.tell_stop();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.tell_stop();
    }
}

fn run(shared: &Shared, conn: &Connection, writer: &tokio::sync::Mutex<Option<Connection>>) {
    loop {
        let mut state = shared.lock();
        while !state.dirty && !state.stop {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        // Let the moment's commits gather, unless told to stop.
        let (mut state, _) = shared
            .wake
            .wait_timeout_while(state, EVERY, |state| !state.stop)
            .unwrap_or_else(PoisonError::into_inner);
        if state.stop {
            return;
        }
        state.dirty = false;
        drop(state);
        // The copying, while units of work go on; then, once the log is long, the rest with
        // the writer held, so that the next commit starts the log again.
        let log = checkpoint(conn);
        if log.is_some_and(|pages| pages >= RESTART_PAGES) {
            let held = writer.blocking_lock();
            if held.is_some() {
                checkpoint(conn);
            }
        }
    }
}

/// A `PASSIVE` checkpoint: copies what it can without waiting for anyone; says how long the
/// log is (pages). A failed one loses nothing (the pages stay in the log for the next one, or
/// the writer's backstop).
fn checkpoint(conn: &Connection) -> Option<i64> {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        row.get::<_, i64>(1)
    });
    match done {
        Ok(log) => Some(log),
        Err(e) => {
            tracing::warn!(error = %e, "a background WAL checkpoint failed");
            None
        }
    }
}
