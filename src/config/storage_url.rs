//! Where the books' files are kept: a directory on local disk or an S3 bucket, from
//! `FOLIO_STORAGE_URL` and the S3 variables beside it.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use super::{ConfigError, DatabaseUrl, Secret};

/// The object storage folio keeps files in.
#[derive(Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A directory on local disk (created when missing).
    Local { root: PathBuf },
    /// A bucket (and a key prefix in it) on S3 or any S3-compatible server.
    S3(S3Location),
}

/// An S3 bucket and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Keys start with it; empty, or ending in `/`.
    pub prefix: String,
    /// An S3-compatible server (`http://127.0.0.1:8333`); AWS itself when unset.
    pub endpoint: Option<Url>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// The object storage and the limits on what goes into it.
#[derive(Clone, Debug)]
pub struct StorageSettings {
    pub url: StorageUrl,
    /// Where an upload is written while it is hashed and checked, before it is stored. On local
    /// storage, inside its directory (so storing it is a rename); else beside the database.
    pub upload_dir: PathBuf,
    /// The largest file one upload may send (`FOLIO_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
}

impl StorageSettings {
    pub(super) fn from_settings(
        get: &impl Fn(&str) -> Option<String>,
        database: &DatabaseUrl,
    ) -> Result<Self, ConfigError> {
        let url = StorageUrl::from_settings(get, database)?;
        let upload_dir = match (get("FOLIO_UPLOAD_DIR"), &url) {
            (Some(dir), _) => PathBuf::from(dir.trim()),
            (None, StorageUrl::Local { root }) => root.join(".uploads"),
            (None, StorageUrl::S3(_)) => default_root(database).with_file_name("folio-uploads"),
        };
        let max_upload_bytes = super::number(
            get,
            "FOLIO_MAX_UPLOAD_BYTES",
            DEFAULT_MAX_UPLOAD_BYTES,
            1024..=1 << 40,
        )?;
        Ok(Self {
            url,
            upload_dir,
            max_upload_bytes,
        })
    }
}

/// 4 GiB: a long audiobook in one M4B file.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 << 30;

/// The directory files go to by default: `folio-files/` beside the SQLite database, or in the
/// working directory on PostgreSQL.
pub fn default_root(database: &DatabaseUrl) -> PathBuf {
    let beside = match database {
        DatabaseUrl::Sqlite { path } => path.parent().unwrap_or(Path::new("")),
        DatabaseUrl::Postgres { .. } => Path::new(""),
    };
    beside.join("folio-files")
}

impl StorageUrl {
    /// Reads `FOLIO_STORAGE_URL` (`file:///abs/path`, a plain path, or `s3://bucket/prefix`)
    /// with `FOLIO_S3_ENDPOINT`, `FOLIO_S3_REGION`, `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`.
    pub(super) fn from_settings(
        get: &impl Fn(&str) -> Option<String>,
        database: &DatabaseUrl,
    ) -> Result<Self, ConfigError> {
        const VAR: &str = "FOLIO_STORAGE_URL";
        let Some(raw) = get(VAR) else {
            return Ok(StorageUrl::Local {
                root: default_root(database),
            });
        };
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("s3://") {
            return s3(rest, get).map(StorageUrl::S3);
        }
        if raw.starts_with("file:") {
            if !raw.starts_with("file:///") {
                return Err(ConfigError::new(
                    VAR,
                    "a file: URL needs an absolute path (file:///srv/books)",
                ));
            }
            let url = Url::parse(raw).map_err(|e| ConfigError::new(VAR, format!("{e}")))?;
            let root = url.to_file_path().map_err(|()| {
                ConfigError::new(
                    VAR,
                    "a file: URL needs an absolute path (file:///srv/books)",
                )
            })?;
            return Ok(StorageUrl::Local { root });
        }
        if raw.contains("://") {
            return Err(ConfigError::new(
                VAR,
                "expected file:///path, s3://bucket/prefix or a directory",
            ));
        }
        Ok(StorageUrl::Local {
            root: PathBuf::from(raw),
        })
    }

    /// The URL without secrets, for logs and `folio` commands that print settings.
    pub fn redacted(&self) -> String {
        match self {
            StorageUrl::Local { root } => format!("file://{}", root.display()),
            StorageUrl::S3(s3) => {
                let mut shown = format!("s3://{}/{}", s3.bucket, s3.prefix);
                if let Some(endpoint) = &s3.endpoint {
                    let mut endpoint = endpoint.clone();
                    // An endpoint may carry credentials; they are never shown.
                    let _ = endpoint.set_username("");
                    let _ = endpoint.set_password(None);
                    shown.push_str(&format!(" at {endpoint}"));
                }
                shown
            }
        }
    }
}

fn s3(rest: &str, get: &impl Fn(&str) -> Option<String>) -> Result<S3Location, ConfigError> {
    const VAR: &str = "FOLIO_STORAGE_URL";
    // Credentials in the URL (`s3://KEY:SECRET@bucket/…`) would end up in shell histories and
    // process lists; they belong in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    if rest.contains('@') {
        return Err(ConfigError::new(
            VAR,
            "put S3 credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL",
        ));
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        return Err(ConfigError::new(
            VAR,
            format!("'{bucket}' is not an S3 bucket name (3-63 of a-z, 0-9, '-', '.')"),
        ));
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let endpoint = get("FOLIO_S3_ENDPOINT")
        .map(|raw| {
            Url::parse(raw.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    ConfigError::new(
                        "FOLIO_S3_ENDPOINT",
                        "expected an http:// or https:// URL such as http://127.0.0.1:8333",
                    )
                })
        })
        .transpose()?;
    let access_key_id = get("AWS_ACCESS_KEY_ID").map(|v| v.trim().to_string());
    let secret_access_key = get("AWS_SECRET_ACCESS_KEY").map(Secret::new);
    if access_key_id.is_some() != secret_access_key.is_some() {
        return Err(ConfigError::new(
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set together or not at all",
        ));
    }
    Ok(S3Location {
        bucket: bucket.to_string(),
        prefix,
        endpoint,
        region: get("FOLIO_S3_REGION")
            .or_else(|| get("AWS_REGION"))
            .map_or_else(|| "us-east-1".to_string(), |r| r.trim().to_string()),
        access_key_id,
        secret_access_key,
    })
}

impl fmt::Debug for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageUrl({})", self.redacted())
    }
}

impl fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)], database: &str) -> Result<StorageUrl, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        StorageSettings::from_settings(
            &|name| vars.get(name).map(|v| v.to_string()),
            &DatabaseUrl::parse(database).unwrap(),
        )
        .map(|settings| settings.url)
    }

    #[test]
    fn files_default_to_a_folder_beside_the_sqlite_database() {
        let local = |root: &str| StorageUrl::Local { root: root.into() };
        assert_eq!(
            parse(&[], "sqlite:///srv/folio/folio.db").unwrap(),
            local("/srv/folio/folio-files")
        );
        assert_eq!(
            parse(&[], "sqlite://folio.db").unwrap(),
            local("folio-files")
        );
        assert_eq!(
            parse(&[], "postgres://db/folio").unwrap(),
            local("folio-files")
        );
        assert_eq!(
            parse(
                &[("FOLIO_STORAGE_URL", "file:///data/books")],
                "sqlite://x.db"
            )
            .unwrap(),
            local("/data/books")
        );
        assert_eq!(
            parse(&[("FOLIO_STORAGE_URL", "books")], "sqlite://x.db").unwrap(),
            local("books")
        );
    }

    #[test]
    fn s3_takes_its_endpoint_region_and_keys_and_never_shows_the_secret() {
        let url = parse(
            &[
                ("FOLIO_STORAGE_URL", "s3://folio-books/shop/one/"),
                ("FOLIO_S3_ENDPOINT", "http://127.0.0.1:8333"),
                ("FOLIO_S3_REGION", "eu-central-1"),
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
            ],
            "sqlite://x.db",
        )
        .unwrap();
        let StorageUrl::S3(s3) = &url else {
            panic!("expected S3, got {url:?}");
        };
        assert_eq!(s3.bucket, "folio-books");
        assert_eq!(s3.prefix, "shop/one/");
        assert_eq!(s3.region, "eu-central-1");
        assert_eq!(
            s3.endpoint.as_ref().unwrap().as_str(),
            "http://127.0.0.1:8333/"
        );
        assert_eq!(
            s3.secret_access_key.as_ref().unwrap().expose(),
            "very-secret-key"
        );
        for shown in [format!("{url:?}"), url.to_string(), url.redacted()] {
            assert!(!shown.contains("very-secret-key"), "{shown}");
            assert!(shown.contains("s3://folio-books/shop/one/"), "{shown}");
        }
    }

    #[test]
    fn bad_storage_settings_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("FOLIO_STORAGE_URL", "s3://A_Bucket")],
                "FOLIO_STORAGE_URL",
            ),
            (
                &[("FOLIO_STORAGE_URL", "s3://key:secret@bucket")],
                "FOLIO_STORAGE_URL",
            ),
            (
                &[("FOLIO_STORAGE_URL", "ftp://host/x")],
                "FOLIO_STORAGE_URL",
            ),
            (
                &[("FOLIO_STORAGE_URL", "file:relative")],
                "FOLIO_STORAGE_URL",
            ),
            (
                &[("FOLIO_MAX_UPLOAD_BYTES", "4GB")],
                "FOLIO_MAX_UPLOAD_BYTES",
            ),
            (
                &[
                    ("FOLIO_STORAGE_URL", "s3://bucket"),
                    ("FOLIO_S3_ENDPOINT", "127.0.0.1:8333"),
                ],
                "FOLIO_S3_ENDPOINT",
            ),
            (
                &[
                    ("FOLIO_STORAGE_URL", "s3://bucket"),
                    ("AWS_ACCESS_KEY_ID", "only-the-id"),
                ],
                "AWS_SECRET_ACCESS_KEY",
            ),
        ];
        for (vars, variable) in cases {
            let err = parse(vars, "sqlite://x.db").unwrap_err();
            assert_eq!(err.variable, *variable, "{vars:?} gave {err}");
            assert!(!err.to_string().contains("secret@"), "{err}");
        }
    }
}
