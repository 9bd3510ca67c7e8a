//! Argon2id password hashing, always off the async threads.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

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

pub async fn hash(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("password hashing task failed: {e}")))?
}

/// Checks `password` against `stored`, or against a decoy when there is no account.
pub async fn verify(password: String, stored: Option<String>) -> ServiceResult<bool> {
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| DECOY_HASH.clone());
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        exists && matches
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("password check task failed: {e}")))
}

/// Computes the decoy hash now, so the first failed sign-in is not faster than the rest.
pub fn warm_up() {
    LazyLock::force(&DECOY_HASH);
}
