//! S3 and S3-compatible servers (SeaweedFS, MinIO, Garage, R2…).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig, WriteMultipart};
use tokio::io::AsyncReadExt;

use super::StorageError;
use crate::config::S3Location;

/// Files up to this size go up in one request; larger ones in parts of this size.
const PART: usize = 8 * 1024 * 1024;
/// Parts in flight at once: 4 × 8 MiB held for one upload.
const PARTS_IN_FLIGHT: usize = 4;

pub fn store(location: &S3Location) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&location.bucket)
        .with_region(&location.region)
        // Path-style requests (`endpoint/bucket/key`), which every S3-compatible server takes.
        .with_virtual_hosted_style_request(false)
        .with_client_options(
            ClientOptions::new()
                // The overall timeout would cover streaming a whole audiobook to a slow
                // reader; a connection that stops answering is caught by the connect timeout
                // and the retries instead.
                .with_timeout_disabled()
                .with_connect_timeout(Duration::from_secs(5))
                .with_allow_http(
                    location
                        .endpoint
                        .as_ref()
                        .is_some_and(|e| e.scheme() == "http"),
                ),
        )
        // Fewer and shorter than the 3-minute default: a request waiting on storage is a
        // reader waiting on a download.
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..Default::default()
        });
    if let Some(endpoint) = &location.endpoint {
        builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
    }
    if let (Some(id), Some(secret)) = (&location.access_key_id, &location.secret_access_key) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret.expose());
    }
    let s3 = builder.build()?;
    if location.prefix.is_empty() {
        Ok(Arc::new(s3))
    } else {
        Ok(Arc::new(PrefixStore::new(
            s3,
            location.prefix.trim_end_matches('/'),
        )))
    }
}

/// Uploads the file at `path` under `key`: one request when small, else a multipart upload
/// that S3 makes visible only when completed and that is aborted on any error.
pub async fn upload_file(
    store: &dyn ObjectStore,
    path: &Path,
    key: &Key,
) -> Result<(), StorageError> {
    let mut file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    if size <= PART as u64 {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).await?;
        store.put(key, bytes.into()).await?;
        return Ok(());
    }
    let mut upload = WriteMultipart::new_with_chunk_size(store.put_multipart(key).await?, PART);
    match send_parts(&mut file, &mut upload).await {
        Ok(()) => {
            upload.finish().await?;
            Ok(())
        }
        Err(e) => {
            // Dropping an upload does not abort it; its parts would be kept (and billed).
            if let Err(abort) = upload.abort().await {
                tracing::warn!(error = %abort, "could not abort a failed multipart upload");
            }
            Err(e)
        }
    }
}

async fn send_parts(
    file: &mut tokio::fs::File,
    upload: &mut WriteMultipart,
) -> Result<(), StorageError> {
    let mut buffer = vec![0; 1024 * 1024];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        upload.write(&buffer[..read]);
    }
}
