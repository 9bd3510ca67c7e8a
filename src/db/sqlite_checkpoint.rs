//! SQLite's WAL checkpoints, off the commit path.
//!
//! In WAL mode a commit appends its pages to the log, and a checkpoint copies them back into
//! the database file. SQLite's default runs the checkpoint inside the commit that takes the log
//! past 1,000 pages: one purchase in about sixty waited for a copy and an `fsync`, holding the
//! writer (and every unit of work queued behind it) while it did. Here the writer never
//! checkpoints in the normal run of things. A thread of its own, on a connection of its own,
//! runs a `PASSIVE` checkpoint at most every [`EVERY`] while there are commits to copy: it
//! takes no lock a writer or a reader needs, so commits and reads go on while it works, and a
//! page written by many commits of that moment (an index's last leaf) is copied once rather
//! than once per sixty commits (bench/README.md has the figures).
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
    pub(super) fn start(path: &Path, busy_timeout: Duration) -> Result<Self, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .and_then(|conn| conn.busy_timeout(busy_timeout).map(|()| conn))
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("folio-checkpoint".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared, &conn)
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

    /// Stops the thread and waits for a checkpoint under way to finish.
    pub(super) fn stop(&self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
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
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared, conn: &Connection) {
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
        // A failed checkpoint loses nothing (the pages stay in the log for the next one, or
        // the writer's backstop); it is said once per failure.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(0)
        });
        if let Err(e) = done {
            tracing::warn!(error = %e, "a background WAL checkpoint failed");
        }
    }
}
