//! Argon2id password hashing, always off the async threads and never more at once than the
//! machine has cores.
//!
//! Each hash or check holds about 19 MiB for its duration. Left to the blocking pool (512
//! threads), a burst of sign-ins would hold that many at once (100 parallel sign-ins reached
//! 1.28 GB); and more than one per core only makes each slower. So a [`Hasher`] lets as many run
//! as it has permits, queues the rest briefly, and turns away the ones that waited too long.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::service::{ServiceError, ServiceResult};

/// A hash of a random password, checked when the account does not exist, so that a wrong
/// username costs the same time as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut random = [0u8; 32];
    rand::fill(&mut random);
    Argon2::default()
        .hash_password(&random)
        .expect("hashing random bytes succeeds")
        .to_string()
});

/// How long a sign-in waits for a hashing slot by default before it is answered 503.
pub const DEFAULT_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The number of hashes that may run at once by default: one per core.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The one way passwords are compared: NFKC, so that the same characters typed on different
/// keyboards or input methods (composed or decomposed accents, full-width letters) are the
/// same password.
pub fn normalise(password: &str) -> Cow<'_, str> {
    match is_nfkc_quick(password.chars()) {
        IsNormalized::Yes => Cow::Borrowed(password),
        _ => Cow::Owned(password.nfkc().collect()),
    }
}

/// Runs Argon2id hashes and checks, a bounded number at a time.
#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
    queue_wait: Duration,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(default_concurrency(), DEFAULT_QUEUE_WAIT)
    }
}

impl Hasher {
    pub fn new(concurrency: usize, queue_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_wait,
        }
    }

    /// Hashes the normalised password.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.password.hash",
        skip_all,
        err(level = "debug")
    )]
    pub async fn hash(&self, password: String) -> ServiceResult<String> {
        let normalised = normalise(&password).into_owned();
        drop(password);
        self.run(move || {
            Argon2::default()
                .hash_password(normalised.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| ServiceError::failed("password hashing failed", e.to_string()))
        })
        .await?
    }

    /// Checks `password` against `stored`, or against a decoy when there is no account.
    ///
    /// The normalised form is tried first. Hashes stored before passwords were normalised were
    /// made from the characters as typed, so when those differ from the normalised form they
    /// are tried too: an account registered with a decomposed "é" still signs in with it.
    /// Decoy checks try the same number of forms, so a missing account takes the same time.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.password.verify",
        skip_all,
        err(level = "debug")
    )]
    pub async fn verify(&self, password: String, stored: Option<String>) -> ServiceResult<bool> {
        self.run(move || {
            let exists = stored.is_some();
            let hash = stored.unwrap_or_else(|| DECOY_HASH.clone());
            let normalised = normalise(&password);
            let mut matches = check(&normalised, &hash);
            if !matches && normalised != password.as_str() {
                matches = check(&password, &hash);
            }
            exists && matches
        })
        .await
    }

    /// Runs `work` on the blocking pool once a slot is free, or refuses after the queue wait.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let permit = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            // The slot goes with the work, not the request: a request given up on (a client
            // gone, a timeout) does not free memory still held by its hash.
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ServiceError::failed("password hashing task failed", e))
    }

    async fn slot(&self) -> ServiceResult<OwnedSemaphorePermit> {
        let waiting = self.slots.clone().acquire_owned();
        match tokio::time::timeout(self.queue_wait, waiting).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(ServiceError::internal(
                "the password hashing slots were closed",
            )),
            Err(_elapsed) => Err(ServiceError::Busy {
                detail: "Too many passwords are being checked at once; try again shortly.".into(),
                retry_after_secs: 1,
            }),
        }
    }
}

fn check(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Computes the decoy hash now, so the first failed sign-in is not faster than the rest.
pub fn warm_up() {
    LazyLock::force(&DECOY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_joins_decomposed_accents_and_folds_compatibility_forms() {
        assert_eq!(normalise("cafe\u{301}"), "café");
        assert_eq!(normalise("ｐａｓｓ"), "pass");
        assert!(matches!(normalise("plain ascii"), Cow::Borrowed(_)));
    }

    #[tokio::test]
    async fn a_hash_made_from_the_raw_form_still_verifies() {
        let hasher = Hasher::new(1, Duration::from_secs(5));
        let decomposed = "cafe\u{301} au lait".to_string();
        // As stored before normalising: hashed from the characters as typed.
        let old = Argon2::default()
            .hash_password(decomposed.as_bytes())
            .unwrap()
            .to_string();
        assert!(hasher.verify(decomposed.clone(), Some(old)).await.unwrap());
        let new = hasher.hash(decomposed).await.unwrap();
        assert!(
            hasher
                .verify("café au lait".into(), Some(new))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("café".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_after_the_wait() {
        let hasher = Hasher::new(1, Duration::from_millis(10));
        let _held = hasher.slots.clone().acquire_owned().await.unwrap();
        let refused = hasher.verify("whatever".into(), None).await.unwrap_err();
        assert!(matches!(refused, ServiceError::Busy { .. }), "{refused:?}");
    }
}
