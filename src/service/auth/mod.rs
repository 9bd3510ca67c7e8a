//! Signing in: passwords, rotating refresh tokens with reuse detection, access tokens, API keys,
//! and the abuse limits around them.

pub mod password;
mod rate_limit;
pub mod token;
mod verified;

use std::net::IpAddr;
use std::time::Duration;

use crate::config::{AuthSettings, Secret};
use crate::db::{Database, DbError};
use crate::entity::enums::UserRole;
use crate::entity::user;
use crate::repo;
use crate::service::validate;
use crate::service::{ServiceError, ServiceResult};
use crate::telemetry::metrics;
use password::Hasher;
pub use rate_limit::SlidingWindow;
use rate_limit::{Refused, Window};
use token::AccessTokens;
use verified::Verified;

/// Where a generated signing key is kept when `FOLIO_SECRET_KEY` is not set.
const SIGNING_KEY_SETTING: &str = "token_signing_key";
/// API keys start with this, so they are recognisable in a config file or a leak scanner.
pub const API_KEY_PREFIX: &str = "fol_";
/// `last_used_at` of an API key is written at most this often, not on every request.
const API_KEY_TOUCH_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

const BAD_CREDENTIALS: &str = "Incorrect username or password.";
const BAD_TOKEN: &str = "The access token or API key is missing, invalid or expired.";

/// Who is asking, once their credentials checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub role: UserRole,
    /// The sign-in an access token belongs to; `None` for an API key.
    pub session_id: Option<i64>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }

    /// The sign-in behind this request. Creating keys and changing the email or password need
    /// one: an API key is a credential handed to a program, and a leaked key must not be able
    /// to mint more keys or take the account over.
    pub fn require_session(&self, action: &str) -> ServiceResult<i64> {
        self.session_id.ok_or_else(|| {
            ServiceError::Forbidden(format!(
                "{action} needs a signed-in session: sign in with your password and use the \
                 access token, not an API key."
            ))
        })
    }

    fn of(user: &user::Model, session_id: Option<i64>) -> Self {
        Self {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role,
            session_id,
        }
    }
}

/// What a sign-in or a refresh hands out.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

pub struct AuthService {
    db: Database,
    access: AccessTokens,
    refresh_ttl: Duration,
    /// Failed sign-ins per name typed and client address ([`failure_key`]).
    failures_per_login: Window,
    attempts_per_address: Window,
    hasher: Hasher,
    /// Passwords recently checked for HTTP Basic sign-ins.
    verified: Verified,
}

impl AuthService {
    /// Loads the signing key: `FOLIO_SECRET_KEY`, or one generated on the first start and
    /// kept in the database so tokens survive restarts.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.new",
        skip_all,
        err(level = "debug")
    )]
    pub async fn new(
        db: Database,
        secret: Option<&Secret>,
        settings: &AuthSettings,
    ) -> Result<Self, DbError> {
        let key = match secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => {
                let generated = hex::encode(token::random_secret("").as_bytes());
                let tx = db.begin().await?;
                let key =
                    repo::app_setting::get_or_insert(&*tx, SIGNING_KEY_SETTING, generated).await?;
                tx.commit().await?;
                key.into_bytes()
            }
        };
        password::warm_up();
        Ok(Self {
            db: db.clone(),
            access: AccessTokens::new(key, settings.access_token_ttl),
            refresh_ttl: settings.refresh_token_ttl,
            failures_per_login: Window::new(
                &db,
                "failed-sign-ins",
                settings.login_max_failures,
                settings.login_failure_window,
            ),
            attempts_per_address: Window::new(
                &db,
                "attempts-per-address",
                settings.auth_attempts_per_minute,
                Duration::from_secs(60),
            ),
            hasher: Hasher::new(
                settings.password_hash_concurrency,
                settings.password_hash_wait,
            ),
            verified: Verified::default(),
        })
    }

    /// Counts a sign-in or registration attempt from `address`; refuses past the limit.
    pub async fn throttle_address(&self, address: IpAddr) -> ServiceResult<()> {
        self.attempts_per_address
            .hit(&address.to_string())
            .await
            .map_err(refused)
    }

    /// Signs in with a username or email and a password, from `address` (an attempt counted
    /// against the address's limit first). A wrong username and a wrong password are the same
    /// error, take the same time and count the same way.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.login",
        skip_all,
        err(level = "debug")
    )]
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
        address: IpAddr,
    ) -> ServiceResult<(Tokens, user::Model)> {
        let user = self
            .check_login(identifier, password, address, true)
            .await?;
        let refresh_token = token::random_secret("");
        let session_id = self.start_session(user.id, Some(&refresh_token)).await?;
        Ok((self.tokens(user.id, session_id, refresh_token), user))
    }

    /// Signs a browser in, as [`login`](Self::login) does an app: the sign-in's credential is
    /// one signed token that lives as long as a refresh token would, for an `HttpOnly` cookie
    /// (the web app never sees it, so it needs no refresh). Every request checks that its
    /// sign-in is live, so signing out or disabling the account ends it at once.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.login_browser",
        skip_all,
        err(level = "debug")
    )]
    pub async fn login_browser(
        &self,
        identifier: &str,
        password: &str,
        address: IpAddr,
    ) -> ServiceResult<(String, user::Model)> {
        self.browser_session(identifier, password, address, true)
            .await
    }

    /// [`login_browser`](Self::login_browser) right after a registration in the same request,
    /// whose attempt the registration already counted against the address.
    pub async fn login_browser_registered(
        &self,
        identifier: &str,
        password: &str,
        address: IpAddr,
    ) -> ServiceResult<(String, user::Model)> {
        self.browser_session(identifier, password, address, false)
            .await
    }

    async fn browser_session(
        &self,
        identifier: &str,
        password: &str,
        address: IpAddr,
        count_attempt: bool,
    ) -> ServiceResult<(String, user::Model)> {
        let user = self
            .check_login(identifier, password, address, count_attempt)
            .await?;
        let session_id = self.start_session(user.id, None).await?;
        let token = self.access.issue_for(user.id, session_id, self.refresh_ttl);
        Ok((token, user))
    }

    /// How long a browser's sign-in lasts.
    pub fn browser_session_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// A key for signing something else than tokens (the web app's CSRF tokens), derived from
    /// the token signing key so it needs no setting of its own and changes with it.
    pub fn derived_key(&self, purpose: &str) -> Vec<u8> {
        self.access.derive_key(purpose)
    }

    /// The account a name and password belong to, under the sign-in limits; its outcome is
    /// counted for the metrics (a fault, such as a database down, is no sign-in's outcome).
    async fn check_login(
        &self,
        identifier: &str,
        password: &str,
        address: IpAddr,
        count_attempt: bool,
    ) -> ServiceResult<user::Model> {
        let checked = self
            .check_login_limited(identifier, password, address, count_attempt)
            .await;
        match &checked {
            Ok(_) => metrics::sign_in("ok"),
            Err(ServiceError::RateLimited { .. }) => metrics::sign_in("limited"),
            Err(ServiceError::Unauthenticated(_) | ServiceError::Forbidden(_)) => {
                metrics::sign_in("failed")
            }
            Err(_) => {}
        }
        checked
    }

    async fn check_login_limited(
        &self,
        identifier: &str,
        password: &str,
        address: IpAddr,
        count_attempt: bool,
    ) -> ServiceResult<user::Model> {
        if count_attempt {
            self.throttle_address(address).await?;
        }
        let identifier = identifier.trim();
        // The attempt counts as a failure before the password is checked, so that parallel
        // guesses cannot all pass the limit before any of them is counted; a right password
        // or an attempt that never reached a verdict gives it back.
        let attempt = self
            .failures_per_login
            .reserve(&failure_key(identifier, address))
            .await
            .map_err(refused)?;
        // A name no account can have is an unknown account, answered like any other.
        let plausible = validate::text(identifier, 1, 254).is_ok();
        let user = match plausible {
            true => repo::user::find_by_login(self.db.reader(), identifier).await?,
            false => None,
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        if !self.hasher.verify(password.to_string(), stored).await? {
            attempt.keep();
            return Err(ServiceError::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        let user = user.expect("a verified password has an account");
        if user.disabled {
            return Err(ServiceError::Forbidden("This account is disabled.".into()));
        }
        attempt.clear_all().await;
        self.keep_kosync_key(user.id, password).await;
        Ok(user)
    }

    /// The password hasher every hash and check goes through, bounded to the cores.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// Opens a sign-in, with a refresh token when `refresh_token` is given.
    async fn start_session(&self, user_id: i64, refresh_token: Option<&str>) -> ServiceResult<i64> {
        let expires_at = crate::db::now() + self.refresh_ttl;
        let digest = refresh_token.map(token::digest);
        let session = self
            .db
            .write(|tx| {
                Box::pin(async move {
                    // Under the account's row lock: an admin disabling it meanwhile either
                    // sees this sign-in and revokes it, or is seen here.
                    let user = repo::user::lock(&**tx, user_id).await?;
                    if user.is_none_or(|u| u.disabled) {
                        return Err(ServiceError::Forbidden("This account is disabled.".into()));
                    }
                    let session = repo::session::create(&**tx, user_id).await?;
                    if let Some(digest) = digest {
                        repo::session::add_refresh_token(&**tx, session.id, digest, expires_at)
                            .await?;
                    }
                    Ok::<_, ServiceError>(session)
                })
            })
            .await?;
        Ok(session.id)
    }

    fn tokens(&self, user_id: i64, session_id: i64, refresh_token: String) -> Tokens {
        Tokens {
            access_token: self.access.issue(user_id, session_id),
            refresh_token,
            expires_in: self.access.ttl().as_secs(),
        }
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once: presenting a
    /// used one again means it was stolen or replayed, and the whole sign-in is revoked.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.refresh",
        skip_all,
        err(level = "debug")
    )]
    pub async fn refresh(&self, refresh_token: &str) -> ServiceResult<Tokens> {
        let digest = token::digest(refresh_token);
        let next = token::random_secret("");
        let next_digest = token::digest(&next);
        let expires_at = crate::db::now() + self.refresh_ttl;
        enum Outcome {
            Rotated { user_id: i64, session_id: i64 },
            Replayed,
            Refused,
        }
        let outcome = self
            .db
            .write(|tx| {
                Box::pin(async move {
                    let Some((token, session)) =
                        repo::session::find_refresh_token(&**tx, &digest).await?
                    else {
                        return Ok(Outcome::Refused);
                    };
                    if session.revoked_at.is_some() || token.expires_at <= crate::db::now() {
                        return Ok(Outcome::Refused);
                    }
                    // The account is checked before the token is used: a refusal must not use
                    // it up, or the next honest refresh would look like a replay.
                    let live = repo::user::find(&**tx, session.user_id).await?;
                    if live.is_none_or(|u| u.disabled) {
                        return Ok(Outcome::Refused);
                    }
                    if !repo::session::use_refresh_token(&**tx, token.id).await? {
                        repo::session::revoke(&**tx, session.id).await?;
                        return Ok(Outcome::Replayed);
                    }
                    repo::session::add_refresh_token(&**tx, session.id, next_digest, expires_at)
                        .await?;
                    Ok::<_, DbError>(Outcome::Rotated {
                        user_id: session.user_id,
                        session_id: session.id,
                    })
                })
            })
            .await?;
        match outcome {
            Outcome::Rotated {
                user_id,
                session_id,
            } => Ok(self.tokens(user_id, session_id, next)),
            Outcome::Replayed => {
                tracing::warn!("a used refresh token was presented again; the sign-in is revoked");
                Err(ServiceError::Unauthenticated(
                    "This refresh token was already used; the sign-in has been revoked.".into(),
                ))
            }
            Outcome::Refused => Err(ServiceError::Unauthenticated(
                "The refresh token is invalid, expired or revoked.".into(),
            )),
        }
    }

    /// Ends the sign-in: its access tokens stop working at once and its refresh tokens too.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.logout",
        skip_all,
        fields(session_id),
        err(level = "debug")
    )]
    pub async fn logout(&self, session_id: i64) -> ServiceResult<()> {
        self.db
            .write(|tx| Box::pin(async move { repo::session::revoke(&**tx, session_id).await }))
            .await?;
        Ok(())
    }

    /// Ends every sign-in of the account, this one included ("sign out everywhere"): browsers,
    /// apps and their refresh tokens. API keys are credentials of their own and stay.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.logout_everywhere",
        skip_all,
        err(level = "debug")
    )]
    pub async fn logout_everywhere(&self, who: &Principal) -> ServiceResult<u64> {
        let user_id = who.user_id;
        Ok(self
            .db
            .write(|tx| {
                Box::pin(async move { repo::session::revoke_all_but(&**tx, user_id, None).await })
            })
            .await?)
    }

    /// The account's sign-ins still in use (at most 100, newest first): browsers and apps.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.sign_ins",
        skip_all,
        err(level = "debug")
    )]
    pub async fn sign_ins(
        &self,
        who: &Principal,
    ) -> ServiceResult<Vec<repo::session::LiveSession>> {
        let since = crate::db::now() - self.refresh_ttl;
        Ok(repo::session::live_of(self.db.reader(), who.user_id, since, 100).await?)
    }

    /// Ends one of the account's own sign-ins; another's, or one already ended, is NotFound.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.end_sign_in",
        skip_all,
        fields(session_id),
        err(level = "debug")
    )]
    pub async fn end_sign_in(&self, who: &Principal, session_id: i64) -> ServiceResult<()> {
        let user_id = who.user_id;
        let ended = self
            .db
            .write(|tx| {
                Box::pin(async move { repo::session::revoke_of(&**tx, user_id, session_id).await })
            })
            .await?;
        if !ended {
            return Err(ServiceError::NotFound("sign-in".into()));
        }
        Ok(())
    }

    /// Ends the sign-in a refresh token belongs to, for clients holding only that.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.logout_by_refresh_token",
        skip_all,
        err(level = "debug")
    )]
    pub async fn logout_by_refresh_token(&self, refresh_token: &str) -> ServiceResult<()> {
        let digest = token::digest(refresh_token);
        let found = repo::session::find_refresh_token(self.db.reader(), &digest).await?;
        let (_, session) = found
            .ok_or_else(|| ServiceError::Unauthenticated("The refresh token is invalid.".into()))?;
        self.logout(session.id).await
    }

    /// Checks a bearer credential: an API key (by its prefix) or an access token.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.authenticate",
        skip_all,
        err(level = "debug")
    )]
    pub async fn authenticate(&self, credential: &str) -> ServiceResult<Principal> {
        if credential.starts_with(API_KEY_PREFIX) {
            return self.authenticate_api_key(credential).await;
        }
        let claims = self
            .access
            .verify(credential)
            .ok_or_else(|| ServiceError::Unauthenticated(BAD_TOKEN.into()))?;
        let user_id = claims
            .user_id()
            .ok_or_else(|| ServiceError::Unauthenticated(BAD_TOKEN.into()))?;
        // Every signed-in request asks this: a bounded read, on SQLite on the request's thread.
        let session_id = claims.sid;
        let user = self
            .db
            .read_bounded(move |read| Box::pin(repo::session::live_user(read, session_id, user_id)))
            .await?
            .ok_or_else(|| ServiceError::Unauthenticated(BAD_TOKEN.into()))?;
        if user.disabled {
            return Err(ServiceError::Unauthenticated(
                "This account is disabled.".into(),
            ));
        }
        Ok(Principal::of(&user, Some(claims.sid)))
    }

    #[tracing::instrument(
        level = "info",
        name = "service.auth.authenticate_api_key",
        skip_all,
        err(level = "debug")
    )]
    pub async fn authenticate_api_key(&self, key: &str) -> ServiceResult<Principal> {
        let found = repo::api_key::find_with_user(self.db.reader(), &token::digest(key)).await?;
        let (key, user) = found.ok_or_else(|| ServiceError::Unauthenticated(BAD_TOKEN.into()))?;
        if user.disabled {
            return Err(ServiceError::Unauthenticated(
                "This account is disabled.".into(),
            ));
        }
        let stale = key
            .last_used_at
            .is_none_or(|at| crate::db::now() - at > API_KEY_TOUCH_INTERVAL);
        if stale {
            // Bookkeeping, not the request's business: it must not slow or fail the request.
            let db = self.db.clone();
            tokio::spawn(async move {
                let touched = db
                    .write(|tx| Box::pin(async move { repo::api_key::touch(&**tx, key.id).await }))
                    .await;
                if let Err(e) = touched {
                    tracing::warn!(error = %e, "could not record an API key's last use");
                }
            });
        }
        Ok(Principal::of(&user, None))
    }

    /// Signs a request in with HTTP Basic credentials, as e-reader apps send them with every
    /// request: a username (or email) and either the password or one of the account's API
    /// keys. A password checked in the last minutes is not hashed again (see [`Verified`]);
    /// the account is read every time, so a disabled account or a revoked key is refused at
    /// once. Checks that hash count against the sign-in limits like [`Self::login`], from
    /// `address`. No session is started: the principal has none, like an API key's.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.authenticate_basic",
        skip_all,
        err(level = "debug")
    )]
    pub async fn authenticate_basic(
        &self,
        login: &str,
        secret: &str,
        address: IpAddr,
    ) -> ServiceResult<Principal> {
        let login = login.trim();
        if secret.starts_with(API_KEY_PREFIX) {
            match self.authenticate_api_key(secret).await {
                Ok(principal)
                    if repo::user::fold(login) == repo::user::fold(&principal.username) =>
                {
                    return Ok(principal);
                }
                Ok(_) => return Err(ServiceError::Unauthenticated(BAD_CREDENTIALS.into())),
                // Not a key: perhaps a password that happens to start like one.
                Err(ServiceError::Unauthenticated(_)) => {}
                Err(other) => return Err(other),
            }
        }
        let plausible = validate::text(login, 1, 254).is_ok();
        let user = match plausible {
            true => repo::user::find_by_login(self.db.reader(), login).await?,
            false => None,
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let principal = self
            .check_remembered(login, user, secret, stored, address)
            .await?;
        self.keep_kosync_key(principal.user_id, secret).await;
        Ok(principal)
    }

    /// Signs a KOReader sync request in: the account's username and its key, the MD5 of the
    /// password, checked against the verifier kept beside the password's hash. As with
    /// [`Self::authenticate_basic`], a key checked in the last minutes is not hashed again,
    /// the account is read every time, and checks that hash count against the sign-in limits.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.authenticate_kosync",
        skip_all,
        err(level = "debug")
    )]
    pub async fn authenticate_kosync(
        &self,
        login: &str,
        key: &str,
        address: IpAddr,
    ) -> ServiceResult<Principal> {
        let login = login.trim();
        let plausible = validate::text(login, 1, 254).is_ok() && !key.is_empty();
        let user = match plausible {
            true => repo::user::find_by_login(self.db.reader(), login).await?,
            false => None,
        };
        let stored = match &user {
            Some(user) => repo::kosync::key_hash(self.db.reader(), user.id).await?,
            None => None,
        };
        self.check_remembered(login, user, key, stored, address)
            .await
    }

    /// Checks `secret` against `stored`, a hash of `user`'s (`None` where there is no such
    /// account or hash, answered alike): at once when it checked out in the last minutes
    /// ([`Verified`]), else with Argon2id, counted against the sign-in limits from `address`
    /// like [`Self::login`]. A disabled account is refused either way.
    async fn check_remembered(
        &self,
        login: &str,
        user: Option<user::Model>,
        secret: &str,
        stored: Option<String>,
        address: IpAddr,
    ) -> ServiceResult<Principal> {
        if let (Some(user), Some(hash)) = (&user, &stored)
            && self
                .verified
                .contains(&Verified::key(user.id, secret, hash))
        {
            return principal_unless_disabled(user);
        }
        self.throttle_address(address).await?;
        let attempt = self
            .failures_per_login
            .reserve(&failure_key(login, address))
            .await
            .map_err(refused)?;
        if !self
            .hasher
            .verify(secret.to_string(), stored.clone())
            .await?
        {
            attempt.keep();
            return Err(ServiceError::Unauthenticated(BAD_CREDENTIALS.into()));
        }
        attempt.clear_all().await;
        let user = user.expect("a verified secret has an account");
        let hash = stored.expect("a verified secret has a hash");
        self.verified
            .remember(Verified::key(user.id, secret, &hash));
        principal_unless_disabled(&user)
    }

    /// Gives an account from before KOReader sync its verifier, from the password just
    /// checked (registration and password changes write it themselves). Derived data: a
    /// failure is logged, not the sign-in's, and the next sign-in tries again.
    async fn keep_kosync_key(&self, user_id: i64, password: &str) {
        let kept = async {
            if repo::kosync::key_hash(self.db.reader(), user_id)
                .await?
                .is_some()
            {
                return Ok::<_, ServiceError>(());
            }
            let hash = self.hasher.hash(super::kosync::key_of(password)).await?;
            self.db
                .write(|tx| {
                    Box::pin(async move {
                        repo::kosync::set_key_hash(&**tx, user_id, hash, crate::db::now()).await
                    })
                })
                .await?;
            Ok(())
        };
        if let Err(e) = kept.await {
            tracing::warn!(user_id, error = %e, "could not keep the KOReader sync key");
        }
    }

    /// Changes the password after checking the current one, from a signed-in session only.
    /// Every other sign-in ends, and the account's API keys are revoked unless the request
    /// keeps them: whoever learnt the old password may have made keys with it.
    #[tracing::instrument(
        level = "info",
        name = "service.auth.change_password",
        skip_all,
        err(level = "debug")
    )]
    pub async fn change_password(
        &self,
        who: &Principal,
        change: PasswordChange,
    ) -> ServiceResult<Revoked> {
        let keep_session = who.require_session("Changing the password")?;
        let user = repo::user::find(self.db.reader(), who.user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("user".into()))?;
        check_current_password(
            &self.hasher,
            &user,
            &change.current_password,
            "old_password",
        )
        .await?;
        validate::Checks::default()
            .check(
                "new_password",
                validate::password(&change.new_password, &user.username, &user.email),
            )
            .finish()?;
        let kosync_hash = self
            .hasher
            .hash(super::kosync::key_of(&change.new_password))
            .await?;
        let hash = self.hasher.hash(change.new_password).await?;
        let (user_id, keep_api_keys) = (who.user_id, change.keep_api_keys);
        let revoked = self
            .db
            .write(|tx| {
                Box::pin(async move {
                    let changes = repo::user::UserChanges {
                        password_hash: Some(hash),
                        ..Default::default()
                    };
                    repo::user::update(&**tx, user, changes).await?;
                    repo::kosync::set_key_hash(&**tx, user_id, kosync_hash, crate::db::now())
                        .await?;
                    let sessions =
                        repo::session::revoke_all_but(&**tx, user_id, Some(keep_session)).await?;
                    let api_keys = match keep_api_keys {
                        true => 0,
                        false => repo::api_key::delete_all(&**tx, user_id).await?,
                    };
                    Ok::<_, DbError>(Revoked { sessions, api_keys })
                })
            })
            .await?;
        Ok(revoked)
    }
}

/// A password change as asked for.
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
    /// Leave the account's API keys working (they are revoked otherwise).
    pub keep_api_keys: bool,
}

/// What a password change ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revoked {
    pub sessions: u64,
    pub api_keys: u64,
}

/// Refuses unless `given` is the account's password: changing the email or the password asks
/// for it again, so that a stolen access token alone cannot take the account over. A wrong
/// one is a 422 naming `field`.
#[tracing::instrument(
    level = "info",
    name = "service.auth.check_current_password",
    skip_all,
    err(level = "debug")
)]
pub async fn check_current_password(
    hasher: &Hasher,
    user: &user::Model,
    given: &str,
    field: &str,
) -> ServiceResult<()> {
    let stored = Some(user.password_hash.clone());
    if hasher.verify(given.to_string(), stored).await? {
        Ok(())
    } else {
        Err(ServiceError::invalid(field, "is not the current password"))
    }
}

/// What failed sign-ins are counted under: the name as typed (case-folded) and the client's
/// address.
///
/// The address, so that someone elsewhere who fails on purpose locks out only themselves, not
/// the account's owner. The name as typed, not the account it names, so that an unknown name
/// counts exactly as a known one: were failures on "ada" to lock "ada@example.org", a 429 on
/// an address would say whose address it is. An account's username and email are thus counted
/// apart, which gives one address twice the limit's guesses per window at most.
fn principal_unless_disabled(user: &user::Model) -> ServiceResult<Principal> {
    match user.disabled {
        true => Err(ServiceError::Unauthenticated(
            "This account is disabled.".into(),
        )),
        false => Ok(Principal::of(user, None)),
    }
}

fn failure_key(identifier: &str, address: IpAddr) -> String {
    format!("{address} {}", repo::user::fold(identifier))
}

fn refused(refusal: Refused) -> ServiceError {
    match refusal {
        Refused::Wait(wait) => rate_limited(wait),
        Refused::Db(e) => e.into(),
    }
}

fn rate_limited(wait: Duration) -> ServiceError {
    ServiceError::RateLimited {
        retry_after_secs: wait.as_secs().max(1),
    }
}
