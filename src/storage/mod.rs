//! The books' bytes: one [`Storage`] over local disk or an S3 bucket, chosen from
//! `FOLIO_STORAGE_URL` as the database is chosen from its URL.
//!
//! Objects are named by the SHA-256 of their bytes, so the same bytes are stored once and a
//! name never points at other bytes. An object becomes visible only when whole: on local disk
//! an upload's temporary file is renamed into place; on S3 a multipart upload is completed (and
//! aborted on any error). Nothing above this module knows the shape of a key.
//!
//! Built on the `object_store` crate (Apache Arrow): local disk and S3 behind one API, with
//! ranged reads, listing and multipart uploads. Two paths bypass it on local disk because the
//! filesystem does them better: storing an upload is a `rename` of the file already written
//! (no copy of a 2 GiB audiobook), and reading is positioned reads of 256 KiB pieces, done on
//! the async side while the kernel has the pages cached.

mod hash;
mod local;
mod s3;
mod staging;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};

pub use hash::{ContentHash, Hasher};
pub use staging::{PART_SUFFIX, Staged, Staging, StagingError};

use crate::config::{StorageSettings, StorageUrl};

/// A stream of an object's bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    /// The disk is full (local storage).
    #[error("the storage is full")]
    Full(#[source] std::io::Error),
    /// S3 did not answer, or answered with an error; the cause says which.
    #[error("the storage is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("storage failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            object_store::Error::Generic { .. } => StorageError::Unavailable(Box::new(e)),
            other => StorageError::Failed(Box::new(other)),
        }
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound,
            std::io::ErrorKind::StorageFull => StorageError::Full(e),
            _ => StorageError::Failed(Box::new(e)),
        }
    }
}

/// An object as a listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub hash: ContentHash,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// Where files are kept. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn ObjectStore>,
    /// Local disk's directory, for the paths that bypass `object_store`.
    local_root: Option<PathBuf>,
    upload_dir: PathBuf,
    max_upload_bytes: u64,
    shown: String,
}

/// Objects live under `objects/`, fanned out by their first two hex digits so no directory
/// holds millions of entries.
const OBJECTS: &str = "objects";

fn key(hash: &ContentHash) -> Key {
    let hex = hash.as_str();
    Key::from_iter([OBJECTS, &hex[..2], hex])
}

/// Makes `ring` the process's TLS provider, once. The S3 client's TLS (rustls, through
/// reqwest) needs one installed; `ring` is chosen at build time over aws-lc-rs (see
/// Cargo.toml), and installing it here is what makes that choice take effect.
pub fn install_tls_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Already installed by someone else in this process: theirs stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Storage {
    /// Opens the storage the settings name, creating local directories as needed. Does not
    /// contact S3; [`Storage::check_reachable`] does.
    pub fn open(settings: &StorageSettings) -> Result<Self, StorageError> {
        install_tls_provider();
        std::fs::create_dir_all(&settings.upload_dir)?;
        let (store, local_root): (Arc<dyn ObjectStore>, _) = match &settings.url {
            StorageUrl::Local { root } => {
                std::fs::create_dir_all(root.join(OBJECTS))?;
                let root = root.canonicalize()?;
                (Arc::new(local::store(&root)?), Some(root))
            }
            StorageUrl::S3(location) => (s3::store(location)?, None),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                local_root,
                upload_dir: settings.upload_dir.clone(),
                max_upload_bytes: settings.max_upload_bytes,
                shown: settings.url.redacted(),
            }),
        })
    }

    /// The storage's URL without secrets.
    pub fn describe(&self) -> &str {
        &self.inner.shown
    }

    /// Where uploads are written while they are hashed and checked.
    pub fn upload_dir(&self) -> &Path {
        &self.inner.upload_dir
    }

    /// The largest file one upload may send.
    pub fn max_upload_bytes(&self) -> u64 {
        self.inner.max_upload_bytes
    }

    /// Starts an upload: a temporary file in the upload directory that refuses more than
    /// `limit` bytes (what is left of the upload limit for this request).
    pub async fn stage(&self, limit: u64) -> Result<Staging, StorageError> {
        Staging::create(&self.inner.upload_dir, limit).await
    }

    /// Stores a staged upload as its object (see [`Storage::store_file`]).
    pub async fn store_staged(&self, staged: &Staged) -> Result<(), StorageError> {
        self.store_file(staged.path(), staged.hash()).await
    }

    /// Answers whether the storage can be reached (for `/ready` and start-up): a missing
    /// object is an answer, a network error or a refused signature is not.
    pub async fn check_reachable(&self) -> Result<(), StorageError> {
        match self
            .inner
            .store
            .head(&Key::from("folio-readiness-probe"))
            .await
        {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// An object's size and when it was last written, or `None` when there is no such object.
    pub async fn stat(&self, hash: &ContentHash) -> Result<Option<StoredObject>, StorageError> {
        match self.inner.store.head(&key(hash)).await {
            Ok(meta) => Ok(Some(StoredObject {
                hash: hash.clone(),
                size: meta.size,
                last_modified: meta.last_modified,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Temporary upload files last written before `cutoff`: what a crash left behind.
    pub fn stale_uploads(&self, cutoff: DateTime<Utc>) -> Result<Vec<PathBuf>, StorageError> {
        let mut stale = vec![];
        for entry in std::fs::read_dir(&self.inner.upload_dir)? {
            let entry = entry?;
            let modified: DateTime<Utc> = entry.metadata()?.modified()?.into();
            let is_part = entry.file_name().to_string_lossy().ends_with(PART_SUFFIX);
            if is_part && modified < cutoff {
                stale.push(entry.path());
            }
        }
        Ok(stale)
    }

    /// Stores the file at `path` (already hashed to `hash`) as its object. On local disk the
    /// file is moved into place, so it is gone afterwards; on S3 it is uploaded and left for
    /// the caller to remove. Storing bytes that are already stored is harmless.
    #[tracing::instrument(level = "debug", name = "storage.store_file", skip_all, fields(hash = %hash))]
    pub async fn store_file(&self, path: &Path, hash: &ContentHash) -> Result<(), StorageError> {
        match &self.inner.local_root {
            Some(root) => local::move_into_place(root, path, &key(hash)).await,
            None => s3::upload_file(self.inner.store.as_ref(), path, &key(hash)).await,
        }
    }

    /// Stores small bytes held in memory (a cover's thumbnail).
    pub async fn store_bytes(&self, bytes: Bytes) -> Result<ContentHash, StorageError> {
        let hash = ContentHash::of(&bytes);
        self.inner.store.put(&key(&hash), bytes.into()).await?;
        Ok(hash)
    }

    /// The bytes of `range` (the whole object when `None`) of an object, as a stream. The
    /// caller has checked the range against the object's size.
    pub async fn read(
        &self,
        hash: &ContentHash,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StorageError> {
        if let Some(root) = &self.inner.local_root {
            return local::read(root, &key(hash), range).await;
        }
        let options = object_store::GetOptions {
            range: range.map(object_store::GetRange::Bounded),
            ..Default::default()
        };
        let found = self.inner.store.get_opts(&key(hash), options).await?;
        Ok(found
            .into_stream()
            .map_err(|e| std::io::Error::other(StorageError::from(e)))
            .boxed())
    }

    /// A path on local disk holding the object, for readers that need to seek (an EPUB's
    /// ZIP directory is at its end). On local disk, the object itself; on S3, a copy in the
    /// upload directory's `cache/`, fetched once, streamed to disk (never held in memory) and
    /// renamed into place whole. The copies are derived data: deleting them loses nothing.
    #[tracing::instrument(level = "debug", name = "storage.local_copy", skip_all, fields(hash = %hash))]
    pub async fn local_copy(&self, hash: &ContentHash) -> Result<PathBuf, StorageError> {
        if let Some(root) = &self.inner.local_root {
            return Ok(local::path_of(root, &key(hash)));
        }
        let dir = self.inner.upload_dir.join("cache");
        let path = dir.join(hash.as_str());
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        tokio::fs::create_dir_all(&dir).await?;
        let partial = dir.join(format!(
            "{}.{}.partial",
            hash.as_str(),
            uuid::Uuid::new_v4()
        ));
        let fetched = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            let mut stream = self.read(hash, None).await?;
            while let Some(chunk) = stream.next().await {
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk?).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut file).await?;
            tokio::fs::rename(&partial, &path).await?;
            Ok::<_, StorageError>(())
        }
        .await;
        if fetched.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        fetched.map(|()| path)
    }

    /// Removes an object; one already gone is not an error.
    #[tracing::instrument(level = "debug", name = "storage.delete", skip_all, fields(hash = %hash))]
    pub async fn delete(&self, hash: &ContentHash) -> Result<(), StorageError> {
        match self.inner.store.delete(&key(hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every stored object. Entries under `objects/` that are not named by a hash (nothing
    /// folio wrote) are skipped.
    pub fn list(&self) -> impl Stream<Item = Result<StoredObject, StorageError>> + Send + use<> {
        self.inner
            .store
            .list(Some(&Key::from(OBJECTS)))
            .map_err(StorageError::from)
            .try_filter_map(|meta| async move {
                let name = meta.location.filename().unwrap_or_default();
                Ok(ContentHash::parse(name).ok().map(|hash| StoredObject {
                    hash,
                    size: meta.size,
                    last_modified: meta.last_modified,
                }))
            })
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Storage({})", self.inner.shown)
    }
}
