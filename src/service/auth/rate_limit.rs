//! Sliding-window counters for the abuse limits on signing in and registering.
//!
//! [`Window`] counts where every server of a database sees it: on SQLite, whose database one
//! server serves, in the process ([`SlidingWindow`]; a restart forgetting the counts costs an
//! attacker a restart's worth of attempts at most); on PostgreSQL, where several instances may
//! serve one database behind a load balancer, in the database (`repo::limits`), so the 11th
//! failed sign-in is refused whichever instance it reaches. A round trip or four per sign-in
//! is little beside the password check's 50 ms of Argon2id, so no Redis is needed for it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::DbBackend;
use sha2::{Digest, Sha256};

use crate::db::{Database, DbError};
use crate::repo;

/// A limit: `limit` events per key within `window`, counted in the process or the database.
pub enum Window {
    Local(SlidingWindow),
    Shared(Box<Shared>),
}

/// Counted in the database (PostgreSQL).
pub struct Shared {
    db: Database,
    /// Which limit this is: part of each key, so two limits never count each other's events.
    name: &'static str,
    limit: u32,
    window: Duration,
}

/// Why an event was not counted.
pub enum Refused {
    /// The window is full; try again after this long.
    Wait(Duration),
    /// The shared counter could not be read.
    Db(DbError),
}

impl From<DbError> for Refused {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

fn now_ms() -> i64 {
    crate::db::now().timestamp_millis()
}

impl Window {
    /// In the database when several instances may share it (PostgreSQL), else in memory.
    pub fn new(db: &Database, name: &'static str, limit: u32, window: Duration) -> Self {
        match db.backend() {
            DbBackend::Postgres => Self::Shared(Box::new(Shared {
                db: db.clone(),
                name,
                limit,
                window,
            })),
            _ => Self::Local(SlidingWindow::new(limit, window)),
        }
    }

    /// Records an event for `key`, or refuses it when the window is full.
    pub async fn hit(&self, key: &str) -> Result<(), Refused> {
        match self {
            Self::Local(local) => local.hit(key).map_err(Refused::Wait),
            Self::Shared(shared) => shared.hit(key).await.map(|_| ()),
        }
    }

    /// Records an event up front, given back unless [`Held::keep`] is called (see
    /// [`SlidingWindow::reserve`]).
    pub async fn reserve(&self, key: &str) -> Result<Held<'_>, Refused> {
        match self {
            Self::Local(local) => local.reserve(key).map(Held::Local).map_err(Refused::Wait),
            Self::Shared(shared) => {
                let id = shared.hit(key).await?;
                Ok(Held::Shared(Box::new(SharedHeld {
                    db: shared.db.clone(),
                    key: shared.key(key),
                    id,
                    kept: false,
                })))
            }
        }
    }
}

impl Shared {
    fn key(&self, key: &str) -> String {
        hex::encode(Sha256::digest(format!("{}:{key}", self.name)))
    }

    async fn hit(&self, key: &str) -> Result<i64, Refused> {
        let key = self.key(key);
        let now = now_ms();
        let window = self.window.as_millis() as i64;
        let since = now - window;
        let limit = i64::from(self.limit);
        // Now and then, the events of keys nobody uses any more go.
        if rand::random::<u8>() == 0 {
            let _ = repo::limits::sweep(self.db.reader(), since - window).await;
        }
        let counted = self
            .db
            .write(|tx| {
                Box::pin(async move { repo::limits::hit(&**tx, &key, now, since, limit).await })
            })
            .await?;
        counted.map_err(|oldest| {
            Refused::Wait(Duration::from_millis(
                (oldest + window - now).max(1_000) as u64
            ))
        })
    }
}

/// An event counted before the outcome is known.
pub enum Held<'a> {
    Local(Reservation<'a>),
    Shared(Box<SharedHeld>),
}

pub struct SharedHeld {
    db: Database,
    key: String,
    id: i64,
    kept: bool,
}

impl Held<'_> {
    /// The event stands (a wrong password).
    pub fn keep(self) {
        match self {
            Self::Local(local) => local.keep(),
            Self::Shared(mut shared) => shared.kept = true,
        }
    }

    /// Forgets every event of the key, this one included (a right password).
    pub async fn clear_all(self) {
        match self {
            Self::Local(local) => local.clear_all(),
            Self::Shared(mut shared) => {
                shared.kept = true;
                let key = shared.key.clone();
                let cleared = shared
                    .db
                    .write(|tx| Box::pin(async move { repo::limits::clear(&**tx, &key).await }))
                    .await;
                if let Err(e) = cleared {
                    tracing::warn!(error = %e, "could not clear a sign-in's failures");
                }
            }
        }
    }
}

impl Drop for SharedHeld {
    /// As a [`Reservation`]'s: anything but a verdict gives the attempt back, in a task of its
    /// own since a drop cannot wait.
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let (db, id) = (self.db.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = db
                    .write(|tx| Box::pin(async move { repo::limits::release(&**tx, id).await }))
                    .await;
            });
        }
    }
}

/// Past this many keys, keys with no recent events are swept out on the next write.
const SWEEP_ABOVE: usize = 10_000;

pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when `key` has used up its events in the window; records nothing.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut events = self.events.lock().expect("rate limiter lock");
        match events.get_mut(key) {
            Some(times) => self.remaining(times, now),
            None => Ok(()),
        }
    }

    /// Records an event for `key`, or refuses it with the time to wait when the window is full.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        self.record(key).map(|_| ())
    }

    /// Records an event for `key` up front, to be given back unless [`Reservation::keep`] is
    /// called: checking and counting in one step under the lock is what stops parallel
    /// attempts from all passing the check before any of them is counted.
    pub fn reserve(&self, key: &str) -> Result<Reservation<'_>, Duration> {
        let at = self.record(key)?;
        Ok(Reservation {
            window: self,
            key: key.to_string(),
            at,
            kept: false,
        })
    }

    fn record(&self, key: &str) -> Result<Instant, Duration> {
        let now = Instant::now();
        let mut events = self.events.lock().expect("rate limiter lock");
        if events.len() > SWEEP_ABOVE {
            let window = self.window;
            events.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let times = events.entry(key.to_string()).or_default();
        self.remaining(times, now)?;
        times.push_back(now);
        Ok(now)
    }

    /// Takes back one event recorded at `at`, if the window still holds it.
    fn release(&self, key: &str, at: Instant) {
        let mut events = self.events.lock().expect("rate limiter lock");
        if let Some(times) = events.get_mut(key)
            && let Some(index) = times.iter().position(|t| *t == at)
        {
            times.remove(index);
        }
    }

    /// Forgets `key`, as after a successful sign-in.
    pub fn clear(&self, key: &str) {
        self.events.lock().expect("rate limiter lock").remove(key);
    }

    fn remaining(&self, times: &mut VecDeque<Instant>, now: Instant) -> Result<(), Duration> {
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() < self.limit {
            return Ok(());
        }
        let oldest = *times.front().expect("a full window has events");
        Err(self.window.saturating_sub(now.duration_since(oldest)))
    }
}

/// An event counted before the outcome is known; given back when dropped unless kept.
pub struct Reservation<'a> {
    window: &'a SlidingWindow,
    key: String,
    at: Instant,
    kept: bool,
}

impl Reservation<'_> {
    /// The event stands (a wrong password).
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Forgets every event of the key, this one included (a right password).
    pub fn clear_all(mut self) {
        self.kept = true;
        self.window.clear(&self.key);
    }
}

impl Drop for Reservation<'_> {
    /// Anything but a verdict on the password gives the attempt back: a hashing queue that
    /// was full, a database error, a client gone before the answer.
    fn drop(&mut self) {
        if !self.kept {
            self.window.release(&self.key, self.at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_per_key_and_clears() {
        let limiter = SlidingWindow::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            limiter.hit("a").unwrap();
        }
        let wait = limiter.hit("a").unwrap_err();
        assert!(wait > Duration::from_secs(58) && wait <= Duration::from_secs(60));
        assert!(limiter.check("a").is_err());
        assert!(limiter.hit("b").is_ok(), "keys are counted apart");
        limiter.clear("a");
        assert!(limiter.hit("a").is_ok());
    }

    #[test]
    fn reservations_count_at_once_and_are_given_back_unless_kept() {
        let limiter = SlidingWindow::new(2, Duration::from_secs(60));
        let first = limiter.reserve("k").unwrap();
        let second = limiter.reserve("k").unwrap();
        assert!(
            limiter.reserve("k").is_err(),
            "both held before any verdict"
        );
        drop(second);
        first.keep();
        limiter.reserve("k").unwrap().keep();
        assert!(limiter.reserve("k").is_err());
    }

    #[test]
    fn events_leave_the_window() {
        let limiter = SlidingWindow::new(1, Duration::from_millis(30));
        limiter.hit("k").unwrap();
        assert!(limiter.hit("k").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.hit("k").is_ok());
    }
}
