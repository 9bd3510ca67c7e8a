//! An upload on its way in: written to a temporary file while its SHA-256 and size are
//! counted, so a 2 GiB audiobook is never held in memory, and judged there before it is stored.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncWriteExt, BufWriter};

use super::{ContentHash, Hasher, StorageError};

/// Temporary files end in this; `folio storage gc` removes old ones a crash left behind.
pub const PART_SUFFIX: &str = ".part";

/// Why an upload could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    #[error("the file is larger than the {limit} bytes an upload may send")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A temporary file being written.
pub struct Staging {
    file: BufWriter<tokio::fs::File>,
    staged: Staged,
    hasher: Hasher,
    limit: u64,
}

impl Staging {
    pub(super) async fn create(dir: &Path, limit: u64) -> Result<Self, StorageError> {
        let path = dir.join(format!("{}{PART_SUFFIX}", uuid::Uuid::new_v4()));
        let file = tokio::fs::File::create(&path).await?;
        Ok(Self {
            file: BufWriter::with_capacity(256 * 1024, file),
            staged: Staged {
                path,
                size: 0,
                hash: None,
            },
            hasher: Hasher::default(),
            limit,
        })
    }

    /// Appends `bytes`; past the limit the upload is refused and its file removed.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), StagingError> {
        self.staged.size += bytes.len() as u64;
        if self.staged.size > self.limit {
            return Err(StagingError::TooLarge { limit: self.limit });
        }
        self.hasher.update(bytes);
        self.file
            .write_all(bytes)
            .await
            .map_err(StorageError::from)?;
        Ok(())
    }

    /// The whole file, written out and hashed.
    pub async fn finish(mut self) -> Result<Staged, StorageError> {
        self.file.flush().await?;
        self.staged.hash = Some(self.hasher.finish());
        Ok(self.staged)
    }
}

/// A whole upload on disk, hashed. Its file is removed when this is dropped (a refused or
/// failed upload leaves nothing), unless storing it moved the file away already.
pub struct Staged {
    path: PathBuf,
    size: u64,
    hash: Option<ContentHash>,
}

impl Staged {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn hash(&self) -> &ContentHash {
        self.hash
            .as_ref()
            .expect("a staged file is hashed when finished")
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Gone already when local storage moved it into place.
        let _ = std::fs::remove_file(&self.path);
    }
}
