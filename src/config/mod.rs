//! Settings: real environment variables over `.env` over defaults, read once at start-up and
//! passed down. A bad value is a [`ConfigError`] naming the variable; `main` exits with 2.

mod database_url;
mod proxies;
mod secret;
mod storage_url;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub use database_url::DatabaseUrl;
pub use proxies::{Cidr, TrustedProxies};
pub use secret::Secret;
pub use storage_url::{S3Location, StorageSettings, StorageUrl};

/// Everything folio reads from its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// Where `serve` answers Prometheus' scrapes (`FOLIO_METRICS_BIND`): a listener of its own,
    /// never the public one, and off unless set.
    pub metrics_bind: Option<SocketAddr>,
    /// Scheduled backups in `serve` (`FOLIO_BACKUP_DIR`, `FOLIO_BACKUP_EVERY`,
    /// `FOLIO_BACKUP_KEEP`); off unless the folder is set.
    pub backups: Option<BackupSchedule>,
    /// Scheduled `storage gc` in `serve` (`FOLIO_STORAGE_GC_EVERY`,
    /// `FOLIO_STORAGE_GC_MIN_AGE`); on by default, `off` turns it off.
    pub storage_gc: Option<GcSchedule>,
    pub webhooks: WebhookSettings,
    pub app_title: String,
    pub app_description: String,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// Connections in the pool (PostgreSQL) or reader connections (SQLite).
    pub db_pool_size: u32,
    pub secret_key: Option<Secret>,
    pub payment_webhook_secret: Option<Secret>,
    pub auth: AuthSettings,
    pub limits: RequestLimits,
    pub connections: ConnectionLimits,
    pub storage: StorageSettings,
    /// Whether KOReader may create accounts through `/kosync/users/create`
    /// (`FOLIO_KOSYNC_REGISTRATION`, off by default).
    pub kosync_registration: bool,
    /// Whether the web app's cookies are `Secure` (`FOLIO_COOKIE_SECURE`); unset, they are
    /// when the request came over HTTPS (`X-Forwarded-Proto: https` from a TLS proxy).
    pub cookie_secure: Option<bool>,
    /// A payment provider's hosted checkout page (`FOLIO_CHECKOUT_URL`), with `{purchase_id}`,
    /// `{amount_minor}` and `{currency}` filled in: where the web app's "Buy" sends a reader.
    pub checkout_url: Option<String>,
    /// A built-in checkout page that confirms or fails a payment by the signed webhook a
    /// provider would send (`FOLIO_PAYMENT_TEST_MODE`, off by default): for trying the shop.
    pub payment_test_mode: bool,
}

/// Token lifetimes and the abuse limits on signing in and registering.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Failed sign-ins allowed per account within `login_failure_window`.
    pub login_max_failures: u32,
    pub login_failure_window: Duration,
    /// Sign-in and registration attempts allowed per client address per minute.
    pub auth_attempts_per_minute: u32,
    /// Where `/r/{code}` sends people, with `?ref=code` added.
    pub signup_url: String,
    /// Password hashes and checks run at once (each holds ~19 MiB); default one per core.
    pub password_hash_concurrency: usize,
    /// How long a hash or check waits for its turn before the request is answered 503.
    pub password_hash_wait: Duration,
}

/// How outbound webhooks are delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether endpoints may be on private, loopback or link-local addresses
    /// (`FOLIO_WEBHOOK_ALLOW_PRIVATE`; tests and closed networks).
    pub allow_private: bool,
    /// How long a delivery is retried before it is marked failed (`FOLIO_WEBHOOK_RETRY_FOR`).
    pub retry_for: Duration,
    /// The wait before the first retry, doubled for each next one
    /// (`FOLIO_WEBHOOK_FIRST_RETRY_MS`).
    pub first_retry: Duration,
    /// How long an endpoint may fail before it is disabled (`FOLIO_WEBHOOK_DISABLE_AFTER`).
    pub disable_after: Duration,
}

/// When and where `serve` makes backups, and how many it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSchedule {
    pub dir: std::path::PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// How often `serve` removes the objects no row names, and how old one must be to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcSchedule {
    pub every: Duration,
    /// An object younger than this may be an upload about to commit its row.
    pub min_age: Duration,
}

/// Limits on the connections clients hold open.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Connections open at once; past it new ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Whose `X-Forwarded-For` gives the client's address (`FOLIO_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may stay idle before its next request begins.
    pub header_read_timeout: Duration,
}

/// Limits every request is held to.
#[derive(Clone, Debug)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A setting that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://folio.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";
const DEFAULT_POOL_SIZE: u32 = 8;
/// `info` for folio; the drivers' chatter (PostgreSQL notices, migration steps folio reports
/// itself, the S3 client's retries, whose outcome folio reports) only from `warn`.
/// `FOLIO_LOG=debug` shows every statement.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm_migration=warn,object_store=warn";

impl Settings {
    /// Reads the process environment over `.env` in the working directory (when present).
    pub fn load() -> Result<Self, ConfigError> {
        let dotenv = read_dotenv(Path::new(".env"))?;
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
        })
    }

    /// Builds settings from any source of variables; `load` and the tests share this.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // An empty variable means "not set", as in most shells' `VAR= cmd` idiom.
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url = database_url(&get)?;
        let storage = StorageSettings::from_settings(&get, &database_url)?;
        let bind = get("FOLIO_BIND")
            .unwrap_or_else(|| DEFAULT_BIND.to_string())
            .trim()
            .parse::<SocketAddr>()
            .map_err(|_| {
                ConfigError::new("FOLIO_BIND", "expected an address such as 127.0.0.1:8000")
            })?;
        let metrics_bind = get("FOLIO_METRICS_BIND")
            .map(|raw| raw.trim().parse::<SocketAddr>())
            .transpose()
            .map_err(|_| {
                ConfigError::new(
                    "FOLIO_METRICS_BIND",
                    "expected an address such as 127.0.0.1:9464",
                )
            })?;
        let backups = match get("FOLIO_BACKUP_DIR") {
            None => None,
            Some(dir) => Some(BackupSchedule {
                dir: dir.trim().into(),
                every: interval(&get, "FOLIO_BACKUP_EVERY", Duration::from_secs(86_400))?,
                keep: number(&get, "FOLIO_BACKUP_KEEP", 7, 1..=10_000)? as usize,
            }),
        };
        let storage_gc = match get("FOLIO_STORAGE_GC_EVERY").as_deref().map(str::trim) {
            Some("off") => None,
            _ => Some(GcSchedule {
                every: interval(&get, "FOLIO_STORAGE_GC_EVERY", Duration::from_secs(86_400))?,
                min_age: interval(&get, "FOLIO_STORAGE_GC_MIN_AGE", Duration::from_secs(3_600))?,
            }),
        };
        let trusted_proxies = match get("FOLIO_TRUSTED_PROXIES") {
            Some(list) => TrustedProxies::parse(&list).map_err(|entry| {
                ConfigError::new(
                    "FOLIO_TRUSTED_PROXIES",
                    format!(
                        "'{entry}' is not an address or network; expected a list such as \
                         127.0.0.1, 10.0.0.0/8"
                    ),
                )
            })?,
            None => TrustedProxies::default(),
        };
        let webhooks = WebhookSettings {
            allow_private: flag(&get, "FOLIO_WEBHOOK_ALLOW_PRIVATE")?.unwrap_or(false),
            retry_for: interval(&get, "FOLIO_WEBHOOK_RETRY_FOR", Duration::from_secs(86_400))?,
            first_retry: Duration::from_millis(number(
                &get,
                "FOLIO_WEBHOOK_FIRST_RETRY_MS",
                5_000,
                10..=3_600_000,
            )?),
            disable_after: interval(
                &get,
                "FOLIO_WEBHOOK_DISABLE_AFTER",
                Duration::from_secs(5 * 86_400),
            )?,
        };
        let log_format = match get("FOLIO_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "FOLIO_LOG_FORMAT",
                    format!("expected 'pretty' or 'json', got '{other}'"),
                ));
            }
        };
        let db_pool_size = number(
            &get,
            "FOLIO_DB_POOL_SIZE",
            DEFAULT_POOL_SIZE.into(),
            1..=1000,
        )? as u32;
        let log_filter = get("FOLIO_LOG").unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string());
        tracing_subscriber::EnvFilter::try_new(&log_filter)
            .map_err(|e| ConfigError::new("FOLIO_LOG", format!("invalid filter: {e}")))?;

        let kosync_registration = flag(&get, "FOLIO_KOSYNC_REGISTRATION")?.unwrap_or(false);
        let cookie_secure = flag(&get, "FOLIO_COOKIE_SECURE")?;
        let payment_test_mode = flag(&get, "FOLIO_PAYMENT_TEST_MODE")?.unwrap_or(false);
        let checkout_url = get("FOLIO_CHECKOUT_URL").map(|u| u.trim().to_string());
        if let Some(url) = &checkout_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::new(
                "FOLIO_CHECKOUT_URL",
                "expected an http:// or https:// address, such as \
                 https://pay.example/checkout?order={purchase_id}",
            ));
        }
        // The test checkout signs its webhook like a provider; without a configured secret it
        // signs with one made for this run, which no outside sender knows.
        let payment_webhook_secret = get("FOLIO_PAYMENT_WEBHOOK_SECRET")
            .map(Secret::new)
            .or_else(|| {
                payment_test_mode
                    .then(|| Secret::new(crate::service::auth::token::random_secret("test_")))
            });
        Ok(Self {
            kosync_registration,
            cookie_secure,
            checkout_url,
            payment_test_mode,
            database_url,
            bind,
            metrics_bind,
            backups,
            storage_gc,
            webhooks,
            app_title: get("APP_TITLE").unwrap_or_else(|| "folio".to_string()),
            app_description: get("APP_DESCRIPTION")
                .unwrap_or_else(|| "A self-hosted e-library and audio store.".to_string()),
            log_filter,
            log_format,
            db_pool_size,
            secret_key: get("FOLIO_SECRET_KEY").map(Secret::new),
            payment_webhook_secret,
            auth: AuthSettings {
                access_token_ttl: seconds(&get, "FOLIO_ACCESS_TOKEN_TTL_SECS", 900, 60..=86_400)?,
                refresh_token_ttl: Duration::from_secs(
                    86_400 * number(&get, "FOLIO_REFRESH_TOKEN_TTL_DAYS", 30, 1..=365)?,
                ),
                login_max_failures: number(&get, "FOLIO_LOGIN_MAX_FAILURES", 10, 1..=10_000)?
                    as u32,
                login_failure_window: seconds(
                    &get,
                    "FOLIO_LOGIN_FAILURE_WINDOW_SECS",
                    900,
                    1..=86_400,
                )?,
                auth_attempts_per_minute: number(
                    &get,
                    "FOLIO_AUTH_ATTEMPTS_PER_MINUTE",
                    60,
                    1..=100_000,
                )? as u32,
                signup_url: get("FOLIO_SIGNUP_URL")
                    .unwrap_or_else(|| DEFAULT_SIGNUP_URL.to_string()),
                password_hash_concurrency: number(
                    &get,
                    "FOLIO_PASSWORD_HASH_CONCURRENCY",
                    crate::service::auth::password::default_concurrency() as u64,
                    1..=1024,
                )? as usize,
                password_hash_wait: Duration::from_millis(number(
                    &get,
                    "FOLIO_PASSWORD_HASH_WAIT_MS",
                    crate::service::auth::password::DEFAULT_QUEUE_WAIT.as_millis() as u64,
                    0..=60_000,
                )?),
            },
            limits: RequestLimits {
                max_body_bytes: number(&get, "FOLIO_MAX_BODY_BYTES", 1 << 20, 1024..=1 << 30)?
                    as usize,
                request_timeout: seconds(&get, "FOLIO_REQUEST_TIMEOUT_SECS", 30, 1..=3600)?,
            },
            connections: ConnectionLimits {
                max_connections: number(&get, "FOLIO_MAX_CONNECTIONS", 1024, 1..=1_000_000)?
                    as usize,
                trusted_proxies,
                header_read_timeout: seconds(&get, "FOLIO_HEADER_TIMEOUT_SECS", 10, 1..=3600)?,
            },
            storage,
        })
    }
}

/// The web app's registration form, where a referral link lands by default (it reads `ref`).
pub const DEFAULT_SIGNUP_URL: &str = "/register";

/// `true` or `false`, or `None` when unset.
fn flag(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<bool>, ConfigError> {
    match get(variable).as_deref().map(str::trim) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ConfigError::new(
            variable,
            format!("expected 'true' or 'false', got '{other}'"),
        )),
    }
}

/// A whole number within `range`, or `default` when unset.
fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(variable) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            ConfigError::new(
                variable,
                format!(
                    "expected a whole number from {} to {}, got '{raw}'",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// A period such as `30m`, `6h` or `1d` (minutes, hours, days; at least a minute).
fn interval(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = get(variable) else {
        return Ok(default);
    };
    let text = raw.trim();
    let (count, unit) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1),
        Some((at, 'm')) => (&text[..at], 60),
        Some((at, 'h')) => (&text[..at], 3_600),
        Some((at, 'd')) => (&text[..at], 86_400),
        _ => ("", 0),
    };
    count
        .parse::<u64>()
        .ok()
        .filter(|n| unit > 0 && (1..=100_000).contains(n))
        .map(|n| Duration::from_secs(n * unit))
        .ok_or_else(|| {
            ConfigError::new(
                variable,
                format!("expected seconds, minutes, hours or days such as 30s, 30m, 6h or 1d, got '{raw}'"),
            )
        })
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    number(get, variable, default, range).map(Duration::from_secs)
}

/// `DATABASE_URL`, else the seed apps' `DB_HOST`…`DB_PASS`, else the embedded SQLite file.
fn database_url(get: &impl Fn(&str) -> Option<String>) -> Result<DatabaseUrl, ConfigError> {
    if let Some(raw) = get("DATABASE_URL") {
        return DatabaseUrl::parse(&raw).map_err(|e| ConfigError::new("DATABASE_URL", e));
    }
    let parts = ["DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASS"];
    if parts.iter().all(|name| get(name).is_none()) {
        return Ok(DatabaseUrl::parse(DEFAULT_DATABASE_URL).expect("default URL parses"));
    }
    let host = get("DB_HOST").ok_or_else(|| {
        ConfigError::new(
            "DB_HOST",
            "required when DATABASE_URL is unset and other DB_* are set",
        )
    })?;
    let name = get("DB_NAME")
        .ok_or_else(|| ConfigError::new("DB_NAME", "required when DB_HOST is set"))?;
    let port = match get("DB_PORT") {
        None => 5432,
        Some(raw) => raw
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                ConfigError::new(
                    "DB_PORT",
                    format!("expected a port from 1 to 65535, got '{raw}'"),
                )
            })?,
    };
    DatabaseUrl::from_parts(
        host.trim(),
        port,
        name.trim(),
        get("DB_USER").as_deref(),
        get("DB_PASS").as_deref(),
    )
    .map_err(|e| ConfigError::new("DB_HOST", e))
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let entries = dotenvy::from_path_iter(path)
        .map_err(|e| ConfigError::new(".env", format!("cannot read: {e}")))?;
    entries
        .map(|entry| entry.map_err(|e| ConfigError::new(".env", e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_run_on_an_embedded_sqlite_file() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite {
                path: "folio.db".into()
            }
        );
        assert_eq!(s.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert!(s.log_filter.starts_with("info"));
        assert_eq!(s.app_title, "folio");
        assert!(s.db_pool_size >= 1);
        assert_eq!(s.auth.access_token_ttl, Duration::from_secs(15 * 60));
        assert_eq!(s.auth.refresh_token_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(s.auth.login_max_failures, 10);
        assert_eq!(s.auth.login_failure_window, Duration::from_secs(15 * 60));
        assert_eq!(s.auth.auth_attempts_per_minute, 60);
        assert!(s.auth.password_hash_concurrency >= 1);
        assert_eq!(s.auth.password_hash_wait, Duration::from_secs(5));
        assert_eq!(
            s.storage_gc,
            Some(GcSchedule {
                every: Duration::from_secs(86_400),
                min_age: Duration::from_secs(3_600),
            })
        );
    }

    #[test]
    fn storage_gc_is_tuned_in_any_unit_or_turned_off() {
        let s = settings(&[
            ("FOLIO_STORAGE_GC_EVERY", "6h"),
            ("FOLIO_STORAGE_GC_MIN_AGE", "90s"),
        ])
        .unwrap();
        assert_eq!(
            s.storage_gc,
            Some(GcSchedule {
                every: Duration::from_secs(6 * 3_600),
                min_age: Duration::from_secs(90),
            })
        );
        let off = settings(&[("FOLIO_STORAGE_GC_EVERY", "off")]).unwrap();
        assert_eq!(off.storage_gc, None);
    }

    #[test]
    fn db_parts_compose_a_postgres_url() {
        let s = settings(&[
            ("DB_HOST", "db.internal"),
            ("DB_NAME", "library"),
            ("DB_USER", "app"),
            ("DB_PASS", "pa ss"),
        ])
        .unwrap();
        let DatabaseUrl::Postgres { url } = &s.database_url else {
            panic!("expected PostgreSQL");
        };
        assert_eq!(
            url.as_str(),
            "postgres://app:pa%20ss@db.internal:5432/library"
        );
        assert!(
            !format!("{s:?}").contains("pa ss"),
            "password leaked into Debug"
        );
        assert!(
            !format!("{s:?}").contains("pa%20ss"),
            "password leaked into Debug"
        );

        let s = settings(&[("DB_HOST", "h"), ("DB_PORT", "6543"), ("DB_NAME", "n")]).unwrap();
        assert_eq!(s.database_url.redacted(), "postgres://h:6543/n");
    }

    #[test]
    fn database_url_wins_over_parts() {
        let s = settings(&[
            ("DATABASE_URL", "sqlite+aiosqlite:///./library.db"),
            ("DB_HOST", "ignored"),
        ])
        .unwrap();
        assert!(s.database_url.is_sqlite());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("DATABASE_URL", "mysql://x/y")], "DATABASE_URL"),
            (&[("FOLIO_BIND", "localhost")], "FOLIO_BIND"),
            (&[("FOLIO_METRICS_BIND", ":9464")], "FOLIO_METRICS_BIND"),
            (
                &[("FOLIO_TRUSTED_PROXIES", "10.0.0.0/8, proxy")],
                "FOLIO_TRUSTED_PROXIES",
            ),
            (
                &[("FOLIO_BACKUP_DIR", "b"), ("FOLIO_BACKUP_EVERY", "daily")],
                "FOLIO_BACKUP_EVERY",
            ),
            (
                &[("FOLIO_BACKUP_DIR", "b"), ("FOLIO_BACKUP_EVERY", "0m")],
                "FOLIO_BACKUP_EVERY",
            ),
            (
                &[("FOLIO_STORAGE_GC_EVERY", "weekly")],
                "FOLIO_STORAGE_GC_EVERY",
            ),
            (
                &[("FOLIO_STORAGE_GC_MIN_AGE", "1w")],
                "FOLIO_STORAGE_GC_MIN_AGE",
            ),
            (&[("FOLIO_BIND", "127.0.0.1:99999")], "FOLIO_BIND"),
            (&[("FOLIO_DB_POOL_SIZE", "0")], "FOLIO_DB_POOL_SIZE"),
            (&[("FOLIO_DB_POOL_SIZE", "many")], "FOLIO_DB_POOL_SIZE"),
            (&[("FOLIO_LOG_FORMAT", "xml")], "FOLIO_LOG_FORMAT"),
            (&[("DB_NAME", "x")], "DB_HOST"),
            (&[("DB_HOST", "h")], "DB_NAME"),
            (
                &[("DB_HOST", "h"), ("DB_NAME", "n"), ("DB_PORT", "0")],
                "DB_PORT",
            ),
            (&[("FOLIO_LOG", "[[[")], "FOLIO_LOG"),
            (
                &[("FOLIO_ACCESS_TOKEN_TTL_SECS", "5")],
                "FOLIO_ACCESS_TOKEN_TTL_SECS",
            ),
            (
                &[("FOLIO_LOGIN_MAX_FAILURES", "-1")],
                "FOLIO_LOGIN_MAX_FAILURES",
            ),
            (&[("FOLIO_MAX_BODY_BYTES", "1kb")], "FOLIO_MAX_BODY_BYTES"),
            (
                &[("FOLIO_PASSWORD_HASH_CONCURRENCY", "0")],
                "FOLIO_PASSWORD_HASH_CONCURRENCY",
            ),
            (
                &[("FOLIO_PASSWORD_HASH_WAIT_MS", "90000")],
                "FOLIO_PASSWORD_HASH_WAIT_MS",
            ),
        ];
        for (vars, variable) in cases {
            let err = settings(vars).unwrap_err();
            assert_eq!(err.variable, *variable, "{vars:?} gave {err}");
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = settings(&[
            ("FOLIO_SECRET_KEY", "top-secret-signing-key"),
            ("FOLIO_PAYMENT_WEBHOOK_SECRET", "whsec_abc123"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("top-secret-signing-key"));
        assert!(!shown.contains("whsec_abc123"));
        assert_eq!(s.secret_key.unwrap().expose(), "top-secret-signing-key");
    }

    #[test]
    fn dotenv_file_is_read_and_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "APP_TITLE=\"From dotenv\"\nFOLIO_BIND=127.0.0.1:9000\n",
        )
        .unwrap();
        let dotenv = read_dotenv(&path).unwrap();
        let env: HashMap<&str, &str> = [("FOLIO_BIND", "127.0.0.1:7000")].into();
        let s = Settings::from_lookup(|name| {
            env.get(name)
                .map(|v| v.to_string())
                .or_else(|| dotenv.get(name).cloned())
        })
        .unwrap();
        assert_eq!(s.app_title, "From dotenv");
        assert_eq!(s.bind.port(), 7000);
    }
}
