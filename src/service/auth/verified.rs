//! Secrets recently checked against an account's stored hash, so that a client sending its
//! credentials with every request (an e-reader app with HTTP Basic, KOReader's sync) pays for
//! one Argon2id check, not one per request.
//!
//! An entry is the SHA-256 of the account, the secret presented and the stored hash it was
//! checked against: a changed password (a new stored hash) matches no entry, so nothing has to
//! be forgotten by hand, and the memory holds no secret. Whether the account is disabled is
//! still read on every request by the caller; only the hash check is skipped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a checked secret is taken without a new check.
const TTL: Duration = Duration::from_secs(15 * 60);
/// At most this many entries; past it, expired ones go, and if none has, all do.
const CAPACITY: usize = 10_000;

type Key = [u8; 32];

#[derive(Default)]
pub struct Verified {
    entries: Mutex<HashMap<Key, Instant>>,
}

impl Verified {
    /// The entry for `secret` checked against `stored_hash` of account `user_id`.
    pub fn key(user_id: i64, secret: &str, stored_hash: &str) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(user_id.to_be_bytes());
        for part in [secret, stored_hash] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize().into()
    }

    /// Whether `key` was remembered less than the TTL ago.
    pub fn contains(&self, key: &Key) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).is_some_and(|at| at.elapsed() < TTL)
    }

    pub fn remember(&self, key: Key) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, at| at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_known_only_with_the_hash_it_was_checked_against() {
        let verified = Verified::default();
        verified.remember(Verified::key(1, "correct horse", "$argon2id$old"));
        assert!(verified.contains(&Verified::key(1, "correct horse", "$argon2id$old")));
        assert!(!verified.contains(&Verified::key(1, "correct horse", "$argon2id$new")));
        assert!(!verified.contains(&Verified::key(1, "wrong horse", "$argon2id$old")));
        assert!(!verified.contains(&Verified::key(2, "correct horse", "$argon2id$old")));
    }
}
