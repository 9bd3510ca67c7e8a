//! Opening and reading a file only as far as the kernel can without waiting for the disk, so
//! the async side can do it itself: each `None` means "this would wait; use the blocking
//! pool". Serving a cached file this way saves two thread switches per open and per piece,
//! which on a small download is most of the work besides copying the bytes.
//!
//! Linux has both: `openat2` with `RESOLVE_CACHED` (5.12) resolves a path from the dentry
//! cache or refuses with `EAGAIN`, and `preadv2` with `RWF_NOWAIT` (4.14) reads from the page
//! cache or refuses the same way. Older kernels and filesystems that cannot tell answer
//! `EINVAL`, `ENOSYS` or `EOPNOTSUPP`, which are `None` too; elsewhere everything is `None`.

use std::fs::File;
use std::io;
use std::path::Path;

/// The file at `path`, opened for reading if its path is cached.
#[cfg(target_os = "linux")]
pub fn open(path: &Path) -> io::Result<Option<File>> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags, openat2};
    let opened = openat2(
        CWD,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::CACHED,
    );
    match opened {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(e) if would_wait(e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads into `buf` from `at` what the page cache holds there: `Some(bytes read)` (possibly
/// fewer than asked), or `None` when nothing is cached or the end of the file is reached (the
/// blocking read then says which).
#[cfg(target_os = "linux")]
pub fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<Option<usize>> {
    use rustix::io::{ReadWriteFlags, preadv2};
    match preadv2(
        file,
        &mut [io::IoSliceMut::new(buf)],
        at,
        ReadWriteFlags::NOWAIT,
    ) {
        Ok(0) => Ok(None),
        Ok(read) => Ok(Some(read)),
        Err(e) if would_wait(e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(target_os = "linux")]
fn would_wait(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    matches!(
        e,
        Errno::AGAIN | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP
    )
}

#[cfg(not(target_os = "linux"))]
pub fn open(_: &Path) -> io::Result<Option<File>> {
    Ok(None)
}

#[cfg(not(target_os = "linux"))]
pub fn read_at(_: &File, _: &mut [u8], _: u64) -> io::Result<Option<usize>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_cached_file_is_opened_and_read_without_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"the bytes of a book")
            .unwrap();
        // Just written: its path and pages are in the kernel's caches.
        let file = open(&path).unwrap().expect("a cached path opens at once");
        let mut buf = [0u8; 9];
        assert_eq!(read_at(&file, &mut buf, 4).unwrap(), Some(9));
        assert_eq!(&buf, b"bytes of ");
        assert_eq!(read_at(&file, &mut buf, 19).unwrap(), None, "at the end");
    }
}
