//! Reading audio files: duration, tags, chapters and artwork.

use std::path::Path;

use super::{Format, MediaError, Metadata};

/// Checks that the file at `path` is playable audio of `format` with a real duration, and
/// reads its tags, chapters and artwork.
pub fn read(path: &Path, format: Format) -> Result<Metadata, MediaError> {
    let _ = (path, format);
    todo!("issue 16: audio")
}
