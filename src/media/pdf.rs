//! Reading PDF files.

use std::path::Path;

use super::{MediaError, Metadata};

/// Checks that the file at `path` is a whole, readable PDF and reads its metadata.
pub fn read(path: &Path) -> Result<Metadata, MediaError> {
    let _ = path;
    todo!("issue 16: pdf")
}
