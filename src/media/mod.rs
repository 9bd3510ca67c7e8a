//! What a file is and what it holds, judged by its bytes, never by its name or the type a
//! client claimed: the formats folio takes for an edition (EPUB, PDF, MP3, MP4 audio, Ogg,
//! FLAC) and for a cover (JPEG, PNG, WebP), and the metadata, chapters, table of contents and
//! cover art inside them.
//!
//! Everything a file contains is untrusted: sizes are capped before anything is read into
//! memory, archives are not inflated past what they declare, XML is read without DTDs or
//! external entities, and images are decoded under limits. Reading is blocking (files are
//! parsed from a temporary file on disk, since ZIP, MP4 and PDF keep what matters at the end);
//! callers run it on a blocking thread.
//!
//! Sits beside `text`: it knows no table, rule or HTTP. Which format fits which edition, and
//! which ISBN is valid, are the services' rules.

pub mod audio;
pub mod epub;
pub mod image;
pub mod koreader;
pub mod pdf;
pub mod sniff;

use std::fmt;
use std::path::Path;

/// A file format folio recognises by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Epub,
    Pdf,
    /// MPEG-1/2 audio layer III, with or without ID3 tags.
    Mp3,
    /// An MP4 container with an audio track (M4B, M4A; AAC or ALAC).
    Mp4Audio,
    /// Ogg with Opus or Vorbis audio.
    Ogg,
    Flac,
    Jpeg,
    Png,
    Webp,
}

impl Format {
    /// The media type it is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Epub => "application/epub+zip",
            Format::Pdf => "application/pdf",
            Format::Mp3 => "audio/mpeg",
            Format::Mp4Audio => "audio/mp4",
            Format::Ogg => "audio/ogg",
            Format::Flac => "audio/flac",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }

    /// The format a stored media type names (the inverse of [`Format::media_type`]).
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        ALL.into_iter().find(|f| f.media_type() == media_type)
    }

    /// The usual file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Epub => "epub",
            Format::Pdf => "pdf",
            Format::Mp3 => "mp3",
            Format::Mp4Audio => "m4b",
            Format::Ogg => "ogg",
            Format::Flac => "flac",
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }

    pub fn is_ebook(self) -> bool {
        matches!(self, Format::Epub | Format::Pdf)
    }

    pub fn is_audio(self) -> bool {
        matches!(
            self,
            Format::Mp3 | Format::Mp4Audio | Format::Ogg | Format::Flac
        )
    }

    pub fn is_image(self) -> bool {
        matches!(self, Format::Jpeg | Format::Png | Format::Webp)
    }

    /// A short name for messages ("EPUB", "MP3").
    pub fn name(self) -> &'static str {
        match self {
            Format::Epub => "EPUB",
            Format::Pdf => "PDF",
            Format::Mp3 => "MP3",
            Format::Mp4Audio => "MP4 audio",
            Format::Ogg => "Ogg",
            Format::Flac => "FLAC",
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
        }
    }
}

const ALL: [Format; 9] = [
    Format::Epub,
    Format::Pdf,
    Format::Mp3,
    Format::Mp4Audio,
    Format::Ogg,
    Format::Flac,
    Format::Jpeg,
    Format::Png,
    Format::Webp,
];

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a person did for a work, as a file credits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Author,
    Narrator,
    Translator,
    Editor,
    Illustrator,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Creator {
    pub name: String,
    pub role: Role,
}

/// A chapter mark inside one audio file, from its start.
#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    pub title: String,
    pub start_seconds: f64,
}

/// An entry of an ebook's table of contents (EPUB 3 nav or EPUB 2 NCX), in reading order.
#[derive(Debug, Clone, PartialEq)]
pub struct TocEntry {
    pub title: String,
    /// The target inside the book, relative to the package document (`text/ch01.xhtml#s2`).
    pub href: String,
    /// The index in the spine of the document the entry points at, when it is in the spine.
    pub spine_position: Option<u32>,
    /// 0 for a top-level entry.
    pub depth: u8,
}

/// An image embedded in a file (an EPUB's cover, an audio file's front cover). Not yet
/// checked: it becomes a cover only after [`image::check`] decodes it.
#[derive(Clone, PartialEq)]
pub struct Picture {
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Picture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Picture({} bytes)", self.bytes.len())
    }
}

/// The largest embedded picture read (an EPUB's cover entry, an audio file's artwork).
pub const MAX_PICTURE_BYTES: u64 = 16 * 1024 * 1024;

/// What a file says about itself. Every field is as the file wrote it (trimmed; markup
/// removed from descriptions); none is checked against the catalog's rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub creators: Vec<Creator>,
    /// As written (`en`, `en-US`, `eng`).
    pub language: Option<String>,
    /// Every identifier that claims or looks like an ISBN, reduced to its digits (and a final
    /// `X`), in the order the file lists them. The caller checks them.
    pub isbn_candidates: Vec<String>,
    pub publisher: Option<String>,
    /// As written (`2019`, `2019-04-02`, `2019-04-02T00:00:00Z`).
    pub date: Option<String>,
    /// Plain text.
    pub description: Option<String>,
    /// A PDF's page count.
    pub pages: Option<u32>,
    /// An audio file's playing time.
    pub duration_seconds: Option<f64>,
    /// Audio tags.
    pub album: Option<String>,
    pub track_number: Option<u32>,
    pub disc_number: Option<u32>,
    /// An audio file's chapter marks, in order.
    pub chapters: Vec<Chapter>,
    /// An ebook's table of contents, in order.
    pub toc: Vec<TocEntry>,
    /// An EPUB's spine documents' sizes (uncompressed bytes), in reading order: where a
    /// fraction of the book falls (KOReader's positions name a spine document).
    pub spine_sizes: Vec<u64>,
    pub cover: Option<Picture>,
}

/// A file judged: its format and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    pub format: Format,
    pub metadata: Metadata,
}

/// Why a file was refused. The messages complete "The file … " in an answer to a client.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "is not in a format folio takes (EPUB, PDF, MP3, M4B/M4A, Ogg/Opus, FLAC, JPEG, PNG, WebP)"
    )]
    Unrecognised,
    #[error("looks like {format} but {reason}")]
    Damaged { format: Format, reason: String },
    #[error("could not be read: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    pub fn damaged(format: Format, reason: impl Into<String>) -> Self {
        MediaError::Damaged {
            format,
            reason: reason.into(),
        }
    }
}

/// Judges the file at `path` by its bytes and reads what it holds. Blocking.
pub fn inspect(path: &Path) -> Result<Inspected, MediaError> {
    let format = sniff::sniff_file(path)?.ok_or(MediaError::Unrecognised)?;
    let metadata = match format {
        Format::Epub => epub::read(path)?,
        Format::Pdf => pdf::read(path)?,
        Format::Mp3 | Format::Mp4Audio | Format::Ogg | Format::Flac => audio::read(path, format)?,
        Format::Jpeg | Format::Png | Format::Webp => {
            let bytes = std::fs::read(path)?;
            image::check(&bytes)?;
            Metadata::default()
        }
    };
    Ok(Inspected { format, metadata })
}
