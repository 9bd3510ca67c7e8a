//! Recognising a format from a file's first bytes.

use std::path::Path;

use super::{Format, MediaError};

/// How many leading bytes [`sniff`] looks at.
pub const HEAD_BYTES: usize = 4096;

/// The format the leading bytes of a file announce, if any. A match here is only a claim; the
/// format's own reader confirms it.
pub fn sniff(head: &[u8]) -> Option<Format> {
    let _ = head;
    todo!("issue 16: sniffing")
}

/// [`sniff`] on the first [`HEAD_BYTES`] of the file at `path`.
pub fn sniff_file(path: &Path) -> Result<Option<Format>, MediaError> {
    let _ = path;
    todo!("issue 16: sniffing")
}
