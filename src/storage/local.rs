//! Local disk: the store, and the two paths that bypass `object_store` (moving an upload into
//! place, streaming a file with a large buffer).

use std::io::SeekFrom;
use std::ops::Range;
use std::path::Path;

use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{ByteStream, StorageError};

/// Reads in pieces of this size: large enough that a download is a few hundred reads per
/// 100 MiB, small enough that 32 downloads at once hold 8 MiB.
const READ_BUFFER: usize = 256 * 1024;

pub fn store(root: &Path) -> Result<LocalFileSystem, StorageError> {
    Ok(LocalFileSystem::new_with_prefix(root)?)
}

fn path_of(root: &Path, key: &Key) -> std::path::PathBuf {
    // A key's parts are `objects`, two hex digits and a hash: nothing that climbs out of root.
    key.parts()
        .fold(root.to_path_buf(), |path, part| path.join(part.as_ref()))
}

/// Moves the finished upload at `from` to the object's place: one rename on the same disk, so
/// the object appears whole or not at all. From another disk (`FOLIO_UPLOAD_DIR` elsewhere)
/// it is copied beside its place first, then renamed. Flushed to disk before it counts.
pub async fn move_into_place(root: &Path, from: &Path, key: &Key) -> Result<(), StorageError> {
    let to = path_of(root, key);
    let from = from.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<(), StorageError> {
        let dir = to.parent().expect("an object's path has a directory");
        std::fs::create_dir_all(dir)?;
        std::fs::File::open(&from)?.sync_all()?;
        if let Err(e) = std::fs::rename(&from, &to) {
            if e.kind() != std::io::ErrorKind::CrossesDevices {
                return Err(e.into());
            }
            let staging = to.with_extension(format!("partial-{}", uuid::Uuid::new_v4()));
            let copied = std::fs::copy(&from, &staging)
                .and_then(|_| std::fs::File::open(&staging)?.sync_all())
                .and_then(|()| std::fs::rename(&staging, &to));
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&staging);
                return Err(e.into());
            }
            let _ = std::fs::remove_file(&from);
        }
        // The rename itself is durable only once its directory is.
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })
    .await
    .map_err(|e| StorageError::Failed(Box::new(e)))?
}

/// The bytes of `range` (or all) of the object's file, read as they are sent.
pub async fn read(
    root: &Path,
    key: &Key,
    range: Option<Range<u64>>,
) -> Result<ByteStream, StorageError> {
    let mut file = tokio::fs::File::open(path_of(root, key)).await?;
    let (start, length) = match range {
        Some(range) => (range.start, range.end - range.start),
        None => (0, file.metadata().await?.len()),
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await?;
    }
    let reader = file.take(length);
    Ok(tokio_util::io::ReaderStream::with_capacity(reader, READ_BUFFER).boxed())
}
