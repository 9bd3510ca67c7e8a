//! Local disk: the store, and the two paths that bypass `object_store` (moving an upload into
//! place, streaming a file in pieces).

use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;

use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;

use super::{ByteStream, StorageError};

mod nowait;

/// Reads in pieces of this size: large enough that a download is a few hundred reads per
/// 100 MiB, small enough that 32 downloads at once hold 8 MiB.
const READ_BUFFER: usize = 256 * 1024;

pub fn store(root: &Path) -> Result<LocalFileSystem, StorageError> {
    Ok(LocalFileSystem::new_with_prefix(root)?)
}

pub fn path_of(root: &Path, key: &Key) -> std::path::PathBuf {
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
///
/// A download is mostly pages the kernel already caches, so the file is opened and read on
/// the async side when that cannot wait for the disk (see [`nowait`]), and on the blocking
/// pool when it would. Each piece's buffer is allocated and freed on the async side either
/// way: memory allocated on the blocking pool's many short-lived threads stayed with their
/// allocator heaps long after the bytes were sent, which is how a burst of downloads once left
/// the server at several times its working size.
pub async fn read(
    root: &Path,
    key: &Key,
    range: Option<Range<u64>>,
) -> Result<ByteStream, StorageError> {
    let path = path_of(root, key);
    let file = match nowait::open(&path)? {
        Some(file) => file,
        None => blocking(move || std::fs::File::open(path)).await?,
    };
    let Range { start, end } = match range {
        Some(range) => range,
        // The inode is in memory once the file is open: no wait for the disk.
        None => 0..file.metadata()?.len(),
    };
    let file = Arc::new(file);
    Ok(futures_util::stream::try_unfold(start, move |at| {
        let file = Arc::clone(&file);
        async move {
            if at >= end {
                return Ok(None);
            }
            let wanted = (end - at).min(READ_BUFFER as u64) as usize;
            let mut piece = BytesMut::zeroed(wanted);
            let read = match nowait::read_at(&file, &mut piece, at)? {
                Some(read) => read,
                None => {
                    let (read, filled) = blocking(move || {
                        let read = file.read_at(&mut piece, at)?;
                        Ok((read, piece))
                    })
                    .await?;
                    piece = filled;
                    read
                }
            };
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            piece.truncate(read);
            Ok(Some((piece.freeze(), at + read as u64)))
        }
    })
    .boxed())
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::TryStreamExt;

    use super::*;

    async fn collect(stream: ByteStream) -> Vec<u8> {
        let pieces: Vec<Bytes> = stream.try_collect().await.unwrap();
        pieces.concat()
    }

    #[tokio::test]
    async fn reads_whole_files_and_ranges_across_pieces() {
        let root = tempfile::tempdir().unwrap();
        let key = Key::from("objects/ab/abcdef");
        let bytes: Vec<u8> = (0..READ_BUFFER * 2 + 1000)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::create_dir_all(root.path().join("objects/ab")).unwrap();
        std::fs::write(path_of(root.path(), &key), &bytes).unwrap();

        assert_eq!(
            collect(read(root.path(), &key, None).await.unwrap()).await,
            bytes
        );
        let range = READ_BUFFER as u64 - 10..READ_BUFFER as u64 * 2 + 20;
        let part = collect(read(root.path(), &key, Some(range.clone())).await.unwrap()).await;
        assert_eq!(part, &bytes[range.start as usize..range.end as usize]);
    }

    #[tokio::test]
    async fn a_missing_object_is_not_found() {
        let root = tempfile::tempdir().unwrap();
        let missing = read(root.path(), &Key::from("objects/ab/absent"), None).await;
        assert!(matches!(missing, Err(StorageError::NotFound)));
    }

    #[tokio::test]
    async fn a_file_shorter_than_its_range_is_an_error_not_a_short_body() {
        let root = tempfile::tempdir().unwrap();
        let key = Key::from("objects/ab/short");
        std::fs::create_dir_all(root.path().join("objects/ab")).unwrap();
        std::fs::write(path_of(root.path(), &key), b"twelve bytes").unwrap();
        let stream = read(root.path(), &key, Some(0..100)).await.unwrap();
        let err = stream.try_collect::<Vec<Bytes>>().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
