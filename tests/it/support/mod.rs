//! Test support: fresh databases per test, a server on port 0, row fixtures.

pub mod api;
pub mod books;
pub mod browser;
pub mod fixtures;
pub mod opds;
pub mod process;
pub mod relay;
mod server;
pub mod shop;
pub mod store;
pub mod user;

use folio::config::{DatabaseUrl, Settings};
use folio::db::{Database, schema};
use sqlx::Connection;
use url::Url;

pub use server::TestServer;

/// Runs each named `async fn(Backend)` once per backend:
/// `backend_tests!(my_test)` makes `sqlite::my_test` and `postgres::my_test`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::support::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )+
        }
    };
}

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The server to make per-test databases on.
    Postgres {
        admin_url: Url,
    },
}

impl Backend {
    /// PostgreSQL from `FOLIO_TEST_POSTGRES_URL`. Unset: a local run skips (and says so);
    /// under CI that is a failure, never a silent skip.
    pub fn postgres() -> Option<Self> {
        match std::env::var("FOLIO_TEST_POSTGRES_URL") {
            Ok(raw) if !raw.trim().is_empty() => Some(Self::Postgres {
                admin_url: Url::parse(raw.trim()).expect("FOLIO_TEST_POSTGRES_URL is a URL"),
            }),
            _ if std::env::var_os("CI").is_some() => {
                panic!("CI is set but FOLIO_TEST_POSTGRES_URL is not: PostgreSQL tests must run")
            }
            _ => {
                eprintln!("skipped on PostgreSQL: FOLIO_TEST_POSTGRES_URL is not set");
                None
            }
        }
    }
}

/// `FOLIO_TEST_LOG=1 cargo test …` shows folio's log in the output of a failing test (the
/// filter is `FOLIO_LOG`'s, else `info`); unset, tests log nothing. Every test database calls
/// it, so every test that touches folio gets it.
pub fn init_test_log() {
    // Every test that builds an HTTP client needs the TLS provider folio installs at start-up.
    folio::storage::install_tls_provider();
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("FOLIO_TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_env("FOLIO_LOG")
                .unwrap_or_else(|_| "info".into());
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

/// A database of the test's own, removed when the test ends.
pub struct TestDb {
    pub db: Database,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    /// The test's file storage (`FOLIO_STORAGE_URL`), on every backend.
    pub files: tempfile::TempDir,
    postgres: Option<(Url, String)>,
}

impl TestDb {
    /// A fresh database with folio's schema.
    pub async fn migrated(backend: &Backend) -> Self {
        let test_db = Self::empty(backend).await;
        schema::init(&test_db.db).await.expect("migrations apply");
        test_db
    }

    /// A fresh SQLite database with folio's schema at `url`, in a folder the caller keeps.
    pub async fn migrated_at(url: DatabaseUrl) -> Self {
        init_test_log();
        let db = Database::connect(&url, 4).await.expect("SQLite opens");
        schema::init(&db).await.expect("migrations apply");
        Self {
            db,
            url,
            _dir: None,
            files: tempfile::tempdir().expect("temp dir"),
            postgres: None,
        }
    }

    /// A fresh database with nothing in it.
    pub async fn empty(backend: &Backend) -> Self {
        init_test_log();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::Sqlite {
                    path: dir.path().join("folio.db"),
                };
                let db = Database::connect(&url, 4).await.expect("SQLite opens");
                Self {
                    db,
                    url,
                    _dir: Some(dir),
                    files: tempfile::tempdir().expect("temp dir"),
                    postgres: None,
                }
            }
            Backend::Postgres { admin_url } => {
                let name = format!("folio_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
                    .await
                    .expect("the PostgreSQL test server answers");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .expect("CREATE DATABASE");
                let _ = admin.close().await;
                let mut url = admin_url.clone();
                url.set_path(&name);
                let url = DatabaseUrl::Postgres { url };
                let db = Database::connect(&url, 4).await.expect("PostgreSQL opens");
                Self {
                    db,
                    url,
                    _dir: None,
                    files: tempfile::tempdir().expect("temp dir"),
                    postgres: Some((admin_url.clone(), name)),
                }
            }
        }
    }

    /// Settings pointing at this database, as `folio serve` would read them.
    pub fn settings(&self) -> Settings {
        self.settings_with(&[])
    }

    /// Settings pointing at this database, with some variables set (`FOLIO_LOGIN_MAX_FAILURES`…).
    pub fn settings_with(&self, vars: &[(&str, &str)]) -> Settings {
        let url = self.url_string();
        let files = self.files.path().display().to_string();
        Settings::from_lookup(|name| {
            let given = vars.iter().find(|(key, _)| *key == name);
            match (name, given) {
                (_, Some((_, value))) => Some(value.to_string()),
                ("DATABASE_URL", None) => Some(url.clone()),
                ("FOLIO_STORAGE_URL", None) => Some(files.clone()),
                _ => None,
            }
        })
        .expect("test settings are valid")
    }

    /// The value to put in `DATABASE_URL` for a `folio` process.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres { url } => url.to_string(),
        }
    }

    /// The database file, on SQLite.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.url {
            DatabaseUrl::Sqlite { path } => Some(path.clone()),
            DatabaseUrl::Postgres { .. } => None,
        }
    }

    /// Makes the account named `username` an admin through the repository (no HTTP way to),
    /// for tests that drive a `folio serve` process.
    pub async fn make_admin(&self, username: &str) {
        let tx = self.db.begin().await.unwrap();
        let user = folio::repo::user::find_by_login(&*tx, username)
            .await
            .unwrap()
            .expect("the user exists");
        let changes = folio::repo::user::UserChanges {
            role: Some(folio::entity::enums::UserRole::Admin),
            ..Default::default()
        };
        folio::repo::user::update(&*tx, user, changes)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// The number of rows in `table`, read straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\"");
        let row = self
            .db
            .reader()
            .query_one_raw(sea_orm::Statement::from_string(self.db.backend(), sql))
            .await
            .expect("count query")
            .expect("a count row");
        row.try_get::<i64>("", "n").expect("count column")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop cannot await; a plain thread with its own runtime removes the database.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url.as_str()).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}
