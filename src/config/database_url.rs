//! Database URLs: folio's own spellings, the SQLAlchemy spellings the seed apps used, and
//! redaction of passwords for anything that prints a URL.

use std::fmt;
use std::path::PathBuf;

use url::Url;

/// Which database a URL points at, already normalised for the drivers.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite database file (created when missing).
    Sqlite { path: PathBuf },
    /// A PostgreSQL server, as a `postgres://` URL the driver accepts.
    Postgres { url: Url },
}

impl DatabaseUrl {
    /// Parses `sqlite://…`, `sqlite:…`, `postgres://…`, `postgresql://…` and the SQLAlchemy
    /// forms `sqlite+aiosqlite:///…` and `postgresql+asyncpg://…`.
    ///
    /// SQLite paths follow two conventions, because both are in use:
    /// - folio's (and sqlx's): `sqlite://folio.db` is relative, `sqlite:///srv/folio.db` absolute;
    /// - SQLAlchemy's, for any `sqlite+driver:` scheme: `sqlite+aiosqlite:///./library.db` is
    ///   relative (three slashes), `sqlite+aiosqlite:////srv/library.db` absolute (four).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (scheme, rest) = raw.split_once(':').ok_or_else(|| {
            "expected a URL such as sqlite://folio.db or postgres://host/db".to_string()
        })?;
        let (base, driver) = match scheme.split_once('+') {
            Some((base, driver)) => (base, Some(driver)),
            None => (scheme, None),
        };
        match base.to_ascii_lowercase().as_str() {
            "sqlite" => Self::parse_sqlite(rest, driver.is_some()),
            "postgres" | "postgresql" => Self::parse_postgres(rest),
            other => Err(format!(
                "unsupported database scheme '{other}' (use sqlite:// or postgres://)"
            )),
        }
    }

    fn parse_sqlite(rest: &str, sqlalchemy: bool) -> Result<Self, String> {
        let without_query = rest.split_once('?').map_or(rest, |(path, _)| path);
        let path = if sqlalchemy {
            // SQLAlchemy: `sqlite:///relative`, `sqlite:////absolute`.
            without_query.strip_prefix("///").ok_or_else(|| {
                "SQLAlchemy SQLite URLs look like sqlite+aiosqlite:///./file.db".to_string()
            })?
        } else {
            without_query.strip_prefix("//").unwrap_or(without_query)
        };
        if path.is_empty() {
            return Err("the SQLite URL names no file".into());
        }
        if path == ":memory:" || path.starts_with("file::memory:") {
            return Err("in-memory SQLite is not supported: folio keeps its data in a file".into());
        }
        Ok(Self::Sqlite {
            path: PathBuf::from(path),
        })
    }

    fn parse_postgres(rest: &str) -> Result<Self, String> {
        let url =
            Url::parse(&format!("postgres:{rest}")).map_err(|e| format!("invalid URL: {e}"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the PostgreSQL URL names no host".into());
        }
        Ok(Self::Postgres { url })
    }

    /// Composes a PostgreSQL URL from the seed apps' `DB_*` parts, escaping user and password.
    pub fn from_parts(
        host: &str,
        port: u16,
        name: &str,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<Self, String> {
        let mut url = Url::parse("postgres://localhost/").expect("static URL parses");
        url.set_host(Some(host))
            .map_err(|e| format!("invalid host '{host}': {e}"))?;
        url.set_port(Some(port)).expect("postgres URLs take a port");
        url.set_path(name);
        if let Some(user) = user {
            url.set_username(user).expect("postgres URLs take a user");
        }
        if let Some(password) = password {
            url.set_password(Some(password))
                .expect("postgres URLs take a password");
        }
        Ok(Self::Postgres { url })
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }

    /// The URL with any password replaced, safe for logs and status output.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite://{}", path.display()),
            Self::Postgres { url } => {
                let mut shown = url.clone();
                if shown.password().is_some() {
                    let _ = shown.set_password(Some("***"));
                }
                // libpq and sqlx also take the password as a query parameter.
                if url
                    .query_pairs()
                    .any(|(k, _)| k.eq_ignore_ascii_case("password"))
                {
                    let pairs: Vec<(String, String)> = url
                        .query_pairs()
                        .map(|(k, v)| {
                            let v = if k.eq_ignore_ascii_case("password") {
                                "***".to_string()
                            } else {
                                v.into_owned()
                            };
                            (k.into_owned(), v)
                        })
                        .collect();
                    shown.query_pairs_mut().clear().extend_pairs(pairs);
                }
                shown.to_string()
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_path(raw: &str) -> String {
        match DatabaseUrl::parse(raw).unwrap() {
            DatabaseUrl::Sqlite { path } => path.display().to_string(),
            other => panic!("expected SQLite, got {other}"),
        }
    }

    #[test]
    fn folio_sqlite_urls() {
        assert_eq!(sqlite_path("sqlite://folio.db"), "folio.db");
        assert_eq!(sqlite_path("sqlite:folio.db"), "folio.db");
        assert_eq!(sqlite_path("sqlite:///srv/folio.db"), "/srv/folio.db");
        assert_eq!(sqlite_path("sqlite://data/f.db?mode=rwc"), "data/f.db");
    }

    #[test]
    fn sqlalchemy_sqlite_urls() {
        assert_eq!(
            sqlite_path("sqlite+aiosqlite:///./library.db"),
            "./library.db"
        );
        assert_eq!(
            sqlite_path("sqlite+aiosqlite:///audio_store.db"),
            "audio_store.db"
        );
        assert_eq!(
            sqlite_path("sqlite+aiosqlite:////srv/lib.db"),
            "/srv/lib.db"
        );
    }

    #[test]
    fn postgres_urls_in_every_spelling() {
        for raw in [
            "postgres://u:p@db.example:5433/folio",
            "postgresql://u:p@db.example:5433/folio",
            "postgresql+asyncpg://u:p@db.example:5433/folio",
        ] {
            let DatabaseUrl::Postgres { url } = DatabaseUrl::parse(raw).unwrap() else {
                panic!("{raw} is PostgreSQL");
            };
            assert_eq!(url.scheme(), "postgres");
            assert_eq!(url.host_str(), Some("db.example"));
            assert_eq!(url.port(), Some(5433));
            assert_eq!(url.path(), "/folio");
            assert_eq!(url.password(), Some("p"));
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = DatabaseUrl::parse("mysql://x/y").unwrap_err();
        assert!(err.contains("unsupported database scheme 'mysql'"), "{err}");
        assert!(DatabaseUrl::parse("folio.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
        assert!(DatabaseUrl::parse("sqlite+aiosqlite://x.db").is_err());
        assert!(DatabaseUrl::parse("postgres:///db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl::parse("postgres://folio:s3cret@db/folio").unwrap();
        assert_eq!(url.redacted(), "postgres://folio:***@db/folio");
        assert!(!format!("{url:?} {url}").contains("s3cret"));
        let url = DatabaseUrl::parse("postgres://folio@db/folio?sslmode=require&password=s3cret")
            .unwrap();
        assert_eq!(
            url.redacted(),
            "postgres://folio@db/folio?sslmode=require&password=***"
        );
    }

    #[test]
    fn parts_are_escaped() {
        let url = DatabaseUrl::from_parts("db", 5432, "lib", Some("app"), Some("p@ss:/w")).unwrap();
        let DatabaseUrl::Postgres { url } = url else {
            panic!("parts make PostgreSQL")
        };
        assert_eq!(url.as_str(), "postgres://app:p%40ss%3A%2Fw@db:5432/lib");
    }
}
