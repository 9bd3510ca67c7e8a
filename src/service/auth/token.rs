//! Tokens: signed access tokens (JWT, HS256), and opaque secrets (refresh tokens, API keys)
//! that are stored only as SHA-256 digests.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// `{"alg":"HS256","typ":"JWT"}`: the only header folio issues or accepts, which rules out
/// algorithm-confusion tricks (`alg: none`, a public key used as an HMAC secret).
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// What an access token says: who, which sign-in, until when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user id, as a string as JWT wants.
    pub sub: String,
    /// The sign-in (auth_session) it belongs to; revoking that ends the token at once.
    pub sid: i64,
    pub iat: i64,
    pub exp: i64,
}

impl AccessClaims {
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

#[derive(Clone)]
pub struct AccessTokens {
    key: Vec<u8>,
    ttl: Duration,
}

impl AccessTokens {
    pub fn new(key: Vec<u8>, ttl: Duration) -> Self {
        Self { key, ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: i64, session_id: i64) -> String {
        self.issue_for(user_id, session_id, self.ttl)
    }

    /// A token that lives `ttl` rather than the access tokens' lifetime: a browser's.
    pub fn issue_for(&self, user_id: i64, session_id: i64, ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id,
            iat: now,
            exp: now + ttl.as_secs() as i64,
        };
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let signing_input = format!("{HEADER}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signing_input).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token this server signed and that has not expired; `None` otherwise.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        if header != HEADER {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(signing_input).verify_slice(&signature).ok()?;
        let claims: AccessClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (claims.exp > chrono::Utc::now().timestamp()).then_some(claims)
    }

    /// A key for `purpose`, derived from the signing key: HMAC(key, "folio derived key: " +
    /// purpose), so no token signature can be passed off as something else's.
    pub fn derive_key(&self, purpose: &str) -> Vec<u8> {
        let input = format!("folio derived key: {purpose}");
        self.mac(&input).finalize().into_bytes().to_vec()
    }

    fn mac(&self, input: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(input.as_bytes());
        mac
    }
}

/// A new random secret: `prefix` and 256 random bits, URL-safe.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The digest a secret is stored and looked up by. A fast hash is right here: the secrets are
/// 256 random bits, so there is nothing to guess.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            Duration::from_secs(900),
        )
    }

    #[test]
    fn a_token_verifies_with_its_key_only() {
        let token = tokens().issue(42, 7);
        let claims = tokens().verify(&token).expect("valid");
        assert_eq!((claims.user_id(), claims.sid), (Some(42), 7));
        let other = AccessTokens::new(
            b"another key entirely, 32 bytes!!".to_vec(),
            Duration::from_secs(900),
        );
        assert!(other.verify(&token).is_none());
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let t = tokens();
        let token = t.issue(42, 7);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(br#"{"sub":"1","sid":7,"iat":0,"exp":99999999999}"#);
        let forged = format!("{HEADER}.{forged_payload}.{signature}");
        assert!(
            t.verify(&forged).is_none(),
            "payload swapped under the old signature"
        );
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            input.split_once('.').unwrap().1
        );
        assert!(t.verify(&none_alg).is_none());
        assert!(t.verify("not.a.token").is_none());
        assert!(t.verify("").is_none());

        let expired = AccessTokens::new(t.key.clone(), Duration::ZERO).issue(42, 7);
        assert!(t.verify(&expired).is_none());
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        let a = random_secret("fol_");
        assert!(a.starts_with("fol_") && a.len() == 4 + 43);
        assert_ne!(a, random_secret("fol_"));
        assert_eq!(digest(&a), digest(&a));
        assert_eq!(digest(&a).len(), 64);
    }
}
