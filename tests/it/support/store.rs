//! Where a test's files go: the test database's directory, or a fresh prefix of a real S3
//! bucket (SeaweedFS under CI).

/// Where a test's files go.
#[derive(Clone)]
pub enum Store {
    /// The test database's own temporary directory.
    Local,
    /// A fresh prefix in the bucket of `FOLIO_TEST_S3_URL`.
    S3(Vec<(String, String)>),
}

impl Store {
    /// `FOLIO_TEST_S3_URL` (`http://127.0.0.1:8333/bucket`) with the keys in
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. Unset: a local run skips (and says so);
    /// under CI that is a failure.
    pub fn s3() -> Option<Store> {
        let Ok(raw) = std::env::var("FOLIO_TEST_S3_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the S3 tests: set FOLIO_TEST_S3_URL (.ci/run starts SeaweedFS)"
            );
            eprintln!("skipped: FOLIO_TEST_S3_URL is not set");
            return None;
        };
        let url = url::Url::parse(&raw).expect("FOLIO_TEST_S3_URL is a URL");
        let bucket = url.path().trim_matches('/').to_string();
        let endpoint = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        let endpoint = match url.port() {
            Some(port) => format!("{endpoint}:{port}"),
            None => endpoint,
        };
        let prefix = uuid::Uuid::new_v4().simple().to_string();
        let mut vars = vec![
            (
                "FOLIO_STORAGE_URL".into(),
                format!("s3://{bucket}/{prefix}"),
            ),
            ("FOLIO_S3_ENDPOINT".into(), endpoint),
        ];
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            if let Ok(value) = std::env::var(key) {
                vars.push((key.into(), value));
            }
        }
        Some(Store::S3(vars))
    }

    pub fn vars(&self) -> Vec<(String, String)> {
        match self {
            Store::Local => vec![],
            Store::S3(vars) => vars.clone(),
        }
    }
}
