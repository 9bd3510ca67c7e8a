//! Reading audio files: duration, tags, chapters and artwork.
//!
//! Tags and durations come from `lofty`, which reads every format folio takes. Before it runs,
//! a cheap structural check of our own confirms the file is what it claims (lofty searches a
//! whole file for an MP3 frame, so random bytes can pass as MP3; and a cut-off MP4 with its
//! index first still reports a full duration). MP4 chapters come from `mp4ameta`, which reads
//! both the QuickTime chapter track and the Nero chapter list.
//!
//! Every size is bounded: lofty's allocations by its thread-local allocation limit, mp4ameta's
//! by the size of the MP4 index we let it read, ours by the constants below.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use lofty::config::{GlobalOptions, ParseOptions, ParsingMode, apply_global_options};
use lofty::error::AllocationError;
use lofty::file::{AudioFile, TaggedFile, TaggedFileExt};
use lofty::flac::FlacFile;
use lofty::id3::v2::{Frame, Id3v2Tag};
use lofty::mp4::Mp4File;
use lofty::mpeg::MpegFile;
use lofty::ogg::tag::VorbisComments;
use lofty::ogg::{OpusFile, VorbisFile};
use lofty::picture::PictureType;
use lofty::tag::{Accessor, ItemKey, Tag};

use super::{Chapter, Creator, Format, MAX_PICTURE_BYTES, MediaError, Metadata, Picture, Role};

/// The largest single allocation lofty may make. A tag block holds the cover picture and the
/// text around it (an MP4 `ilst` is read whole), so this leaves room over
/// [`MAX_PICTURE_BYTES`]; pictures past that limit are then dropped by [`cover`].
const LOFTY_ALLOCATION_LIMIT: usize = 2 * MAX_PICTURE_BYTES as usize;

/// The largest MP4 index (`moov` box) read. mp4ameta sizes its buffers by the boxes inside
/// it; 64 MiB holds the sample tables of an audiobook of well over 24 hours.
const MAX_MP4_INDEX_BYTES: u64 = 64 * 1024 * 1024;

/// Top-level MP4 boxes walked before giving up (a fragmented file has two per fragment).
const MAX_MP4_TOP_LEVEL_BOXES: u32 = 1_000_000;

/// Chapters kept, and the longest chapter title kept (in bytes), so that a file cannot make
/// the metadata itself huge.
const MAX_CHAPTERS: usize = 5_000;
const MAX_CHAPTER_TITLE_BYTES: usize = 1_000;

/// How far past its tags an MP3's first audio frame may start (encoder padding, junk).
const MAX_MP3_JUNK_BYTES: usize = 4_096;

/// Consecutive MP3 frames that must follow one another for the file to count as MP3. Three
/// chained headers by chance in random bytes is a probability near 2⁻⁶⁰.
const MP3_FRAMES_TO_CHAIN: usize = 3;

/// The ID3v2 tags stacked at the start of an MP3 that are skipped before its audio.
const MAX_ID3V2_TAGS: usize = 8;

/// Checks that the file at `path` is playable audio of `format` with a real duration, and
/// reads its tags, chapters and artwork.
pub fn read(path: &Path, format: Format) -> Result<Metadata, MediaError> {
    let file = File::open(path)?;
    let length = file.metadata()?.len();
    let mut reader = BufReader::new(file);
    // Lofty's options are per thread, and callers run this on a pool of blocking threads:
    // set them on every call rather than once.
    apply_global_options(GlobalOptions::new().allocation_limit(LOFTY_ALLOCATION_LIMIT));
    let parsed = match format {
        Format::Mp3 => read_mp3(&mut reader, length)?,
        Format::Mp4Audio => read_mp4(&mut reader, length)?,
        Format::Ogg => read_ogg(&mut reader)?,
        Format::Flac => read_flac(&mut reader)?,
        _ => return Err(MediaError::damaged(format, "is not an audio format")),
    };
    metadata(format, parsed)
}

/// What a format's reader hands on: lofty's format-neutral view, and the chapters read from
/// the format's own structures.
struct Parsed {
    file: TaggedFile,
    chapters: Vec<Chapter>,
}

type Reader = BufReader<File>;

fn read_mp3(reader: &mut Reader, length: u64) -> Result<Parsed, MediaError> {
    check_mp3_frames(reader, length)?;
    let file: MpegFile = parse(reader, Format::Mp3)?;
    let chapters = file.id3v2().map(id3_chapters).unwrap_or_default();
    Ok(Parsed {
        file: file.into(),
        chapters,
    })
}

fn read_mp4(reader: &mut Reader, length: u64) -> Result<Parsed, MediaError> {
    check_mp4_boxes(reader, length)?;
    let file: Mp4File = parse(reader, Format::Mp4Audio)?;
    Ok(Parsed {
        file: file.into(),
        chapters: mp4_chapters(reader),
    })
}

fn read_ogg(reader: &mut Reader) -> Result<Parsed, MediaError> {
    match ogg_codec(reader)? {
        OggCodec::Opus => {
            let file: OpusFile = parse(reader, Format::Ogg)?;
            let chapters = vorbis_chapters(file.vorbis_comments());
            Ok(Parsed {
                file: file.into(),
                chapters,
            })
        }
        OggCodec::Vorbis => {
            let file: VorbisFile = parse(reader, Format::Ogg)?;
            let chapters = vorbis_chapters(file.vorbis_comments());
            Ok(Parsed {
                file: file.into(),
                chapters,
            })
        }
    }
}

fn read_flac(reader: &mut Reader) -> Result<Parsed, MediaError> {
    let file: FlacFile = parse(reader, Format::Flac)?;
    let chapters = file
        .vorbis_comments()
        .map(vorbis_chapters)
        .unwrap_or_default();
    Ok(Parsed {
        file: file.into(),
        chapters,
    })
}

/// Parses the file with lofty. When a tag is too large for the allocation limit, tries again
/// without cover art, then without tags: an oversized tag does not make the audio unplayable.
fn parse<F: AudioFile>(reader: &mut Reader, format: Format) -> Result<F, MediaError> {
    let attempts = [
        // Best-attempt parsing (the default) skips a malformed tag item rather than
        // refusing the file over it.
        ParseOptions::new().parsing_mode(ParsingMode::BestAttempt),
        ParseOptions::new().read_cover_art(false),
        ParseOptions::new().read_cover_art(false).read_tags(false),
    ];
    for options in attempts {
        reader.seek(SeekFrom::Start(0))?;
        match F::read_from(reader, options) {
            Ok(file) => return Ok(file),
            Err(e) if hit_allocation_limit(&e) => continue,
            Err(e) => return Err(unreadable(format, &e)),
        }
    }
    Err(MediaError::damaged(
        format,
        "holds a block of data larger than folio reads",
    ))
}

fn hit_allocation_limit(error: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<AllocationError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The innermost cause of a lofty error, which is the one that says what was wrong
/// ("file contains no audio tracks") rather than where ("failed to parse Mp4 file").
fn unreadable(format: Format, error: &(dyn StdError + 'static)) -> MediaError {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let cut_short = innermost
        .downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::UnexpectedEof);
    let reason = if cut_short {
        "is cut short: its audio stops before its headers say it should".to_owned()
    } else {
        format!("its audio could not be read ({innermost})")
    };
    MediaError::damaged(format, reason)
}

fn metadata(format: Format, parsed: Parsed) -> Result<Metadata, MediaError> {
    let Parsed { file, chapters } = parsed;
    let duration = file.properties().duration().as_secs_f64();
    if !duration.is_finite() || duration <= 0.0 {
        return Err(MediaError::damaged(
            format,
            "has no playing time (its duration reads as zero)",
        ));
    }
    let tags = tags_in_order(&file);
    Ok(Metadata {
        title: text(&tags, &[ItemKey::TrackTitle]),
        creators: creators(&tags),
        language: text(&tags, &[ItemKey::Language]),
        publisher: text(&tags, &[ItemKey::Publisher, ItemKey::Label]),
        date: text(
            &tags,
            &[
                ItemKey::RecordingDate,
                ItemKey::Year,
                ItemKey::ReleaseDate,
                ItemKey::OriginalReleaseDate,
            ],
        ),
        description: text(&tags, &[ItemKey::Description, ItemKey::Comment]),
        duration_seconds: Some(duration),
        album: text(&tags, &[ItemKey::AlbumTitle]),
        track_number: tags.iter().find_map(|t| t.track()),
        disc_number: tags.iter().find_map(|t| t.disk()),
        chapters,
        cover: cover(&tags),
        ..Metadata::default()
    })
}

/// The file's tags, its format's main one first (ID3v2 before ID3v1 in an MP3), so that a
/// field is taken from the richest tag that has it.
fn tags_in_order(file: &TaggedFile) -> Vec<&Tag> {
    let primary = file.primary_tag();
    primary
        .into_iter()
        .chain(
            file.tags()
                .iter()
                .filter(|t| Some(t.tag_type()) != primary.map(Tag::tag_type)),
        )
        .collect()
}

/// The first non-blank value of the first key that has one, trimmed.
fn text(tags: &[&Tag], keys: &[ItemKey]) -> Option<String> {
    keys.iter().find_map(|key| {
        tags.iter()
            .flat_map(|tag| tag.get_strings(*key))
            .find_map(clean)
    })
}

fn clean(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Artists and album artists are the authors. Composer is the narrator: audiobook tools
/// (Audiobookshelf, and the taggers that prepare files for it) write the narrator there, as
/// no audio tag has a field of its own for it; music files, where a composer is a composer,
/// are not what folio sells.
fn creators(tags: &[&Tag]) -> Vec<Creator> {
    let roles = [
        (ItemKey::TrackArtist, Role::Author),
        (ItemKey::TrackArtists, Role::Author),
        (ItemKey::AlbumArtist, Role::Author),
        (ItemKey::Composer, Role::Narrator),
    ];
    let mut creators: Vec<Creator> = Vec::new();
    for (key, role) in roles {
        for name in tags
            .iter()
            .flat_map(|t| t.get_strings(key))
            .filter_map(clean)
        {
            let creator = Creator { name, role };
            if !creators.contains(&creator) {
                creators.push(creator);
            }
        }
    }
    creators
}

/// The first front cover, else the first picture, leaving out any past
/// [`MAX_PICTURE_BYTES`].
fn cover(tags: &[&Tag]) -> Option<Picture> {
    let pictures = || {
        tags.iter()
            .flat_map(|t| t.pictures())
            .filter(|p| !p.data().is_empty() && p.data().len() as u64 <= MAX_PICTURE_BYTES)
    };
    pictures()
        .find(|p| p.pic_type() == PictureType::CoverFront)
        .or_else(|| pictures().next())
        .map(|p| Picture {
            bytes: p.data().to_vec(),
        })
}

/// Chapters sorted by start, capped in number and title length. A chapter without a title
/// is named by its position, since a list of blank entries helps no listener.
fn finish_chapters(mut chapters: Vec<(f64, Option<String>)>) -> Vec<Chapter> {
    chapters.retain(|(start, _)| start.is_finite() && *start >= 0.0);
    chapters.sort_by(|a, b| a.0.total_cmp(&b.0));
    chapters.truncate(MAX_CHAPTERS);
    chapters
        .into_iter()
        .enumerate()
        .map(|(i, (start_seconds, title))| Chapter {
            title: title
                .as_deref()
                .and_then(clean)
                .map(|t| truncate(t, MAX_CHAPTER_TITLE_BYTES))
                .unwrap_or_else(|| format!("Chapter {}", i + 1)),
            start_seconds,
        })
        .collect()
}

fn truncate(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

// --- MP3 ---------------------------------------------------------------------------------

/// ID3v2 `CHAP` frames (lofty parses them, with their embedded `TIT2`), by start time.
fn id3_chapters(tag: &Id3v2Tag) -> Vec<Chapter> {
    let chapters = tag
        .iter()
        .filter_map(|frame| match frame {
            Frame::Chapter(chapter) => Some((
                f64::from(chapter.times.start) / 1000.0,
                chapter.title().map(str::to_owned),
            )),
            _ => None,
        })
        .take(MAX_CHAPTERS)
        .collect();
    finish_chapters(chapters)
}

/// Confirms that MPEG audio layer III frames start right after the file's ID3v2 tags (give
/// or take [`MAX_MP3_JUNK_BYTES`]) and follow one another.
fn check_mp3_frames(reader: &mut Reader, length: u64) -> Result<(), MediaError> {
    let audio_start = skip_id3v2_tags(reader)?;
    if audio_start > length {
        return Err(MediaError::damaged(
            Format::Mp3,
            "is cut short: its ID3 tag runs past the end of the file",
        ));
    }
    reader.seek(SeekFrom::Start(audio_start))?;
    let window_len = MAX_MP3_JUNK_BYTES + MP3_FRAMES_TO_CHAIN * MAX_MP3_FRAME_BYTES;
    let mut window = Vec::with_capacity(window_len);
    reader
        .by_ref()
        .take(window_len as u64)
        .read_to_end(&mut window)?;
    let found = (0..window.len().min(MAX_MP3_JUNK_BYTES)).any(|at| frames_chain(&window, at));
    if found {
        Ok(())
    } else {
        Err(MediaError::damaged(
            Format::Mp3,
            "has no MPEG audio frames where its audio should start",
        ))
    }
}

/// The offset just past the ID3v2 tags at the start of the file (0 if there are none).
fn skip_id3v2_tags(reader: &mut Reader) -> Result<u64, MediaError> {
    let mut offset = 0u64;
    for _ in 0..MAX_ID3V2_TAGS {
        reader.seek(SeekFrom::Start(offset))?;
        let mut header = [0u8; 10];
        if read_fully(reader, &mut header)? < header.len() || &header[..3] != b"ID3" {
            break;
        }
        // The size is "syncsafe": four 7-bit bytes, not counting the header or a footer.
        if header[6..].iter().any(|b| b & 0x80 != 0) {
            return Err(MediaError::damaged(Format::Mp3, "has a malformed ID3 tag"));
        }
        let size = header[6..]
            .iter()
            .fold(0u64, |size, b| (size << 7) | u64::from(*b));
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        offset += 10 + size + footer;
    }
    Ok(offset)
}

/// Reads until `buf` is full or the file ends; the number of bytes read.
fn read_fully(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The longest layer III frame: MPEG-1 at 320 kb/s and 32 kHz, 1,440 bytes plus padding.
const MAX_MP3_FRAME_BYTES: usize = 1_441;

/// What a layer III frame header says that matters for finding the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mp3Frame {
    /// The version bits and the sample rate: equal in every frame of a stream.
    stream: (u8, u32),
    length: usize,
}

/// Whether [`MP3_FRAMES_TO_CHAIN`] frames of one stream follow each other from `at`.
fn frames_chain(window: &[u8], at: usize) -> bool {
    let mut position = at;
    let mut stream = None;
    for _ in 0..MP3_FRAMES_TO_CHAIN {
        let Some(frame) = window.get(position..).and_then(mp3_frame) else {
            return false;
        };
        if stream.is_some_and(|s| s != frame.stream) {
            return false;
        }
        stream = Some(frame.stream);
        position += frame.length;
    }
    true
}

/// Decodes an MPEG audio layer III frame header at the start of `bytes`.
fn mp3_frame(bytes: &[u8]) -> Option<Mp3Frame> {
    let &[b0, b1, b2, _, ..] = bytes else {
        return None;
    };
    // 11 sync bits, then version (2 bits: 0 = MPEG-2.5, 1 = reserved, 2 = MPEG-2,
    // 3 = MPEG-1) and layer (2 bits: 1 = layer III).
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b1 >> 3) & 0b11;
    let layer = (b1 >> 1) & 0b11;
    if version == 1 || layer != 1 {
        return None;
    }
    let mpeg1 = version == 3;
    // Index 0 is "free format" (no length in the header) and 15 is invalid.
    let bitrate_index = usize::from(b2 >> 4);
    let kbps: &[u32; 14] = if mpeg1 {
        &[
            32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ]
    } else {
        &[8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
    };
    let bitrate = *kbps.get(bitrate_index.checked_sub(1)?)? * 1000;
    let rates: [u32; 3] = match version {
        3 => [44_100, 48_000, 32_000],
        2 => [22_050, 24_000, 16_000],
        _ => [11_025, 12_000, 8_000],
    };
    let sample_rate = *rates.get(usize::from((b2 >> 2) & 0b11))?;
    let padding = u32::from((b2 >> 1) & 1);
    let samples_per_byte_factor = if mpeg1 { 144 } else { 72 };
    let length = samples_per_byte_factor * bitrate / sample_rate + padding;
    Some(Mp3Frame {
        stream: (version, sample_rate),
        length: usize::try_from(length).ok()?,
    })
}

// --- MP4 ---------------------------------------------------------------------------------

/// Walks the top-level boxes: each must end inside the file (a cut-off upload is refused even
/// when its index comes first and still claims the full length), and the index (`moov`) must
/// be there and no larger than [`MAX_MP4_INDEX_BYTES`].
fn check_mp4_boxes(reader: &mut Reader, length: u64) -> Result<(), MediaError> {
    let damaged = |reason: String| MediaError::damaged(Format::Mp4Audio, reason);
    let mut offset = 0u64;
    let mut has_index = false;
    for _ in 0..MAX_MP4_TOP_LEVEL_BOXES {
        if offset >= length {
            break;
        }
        reader.seek(SeekFrom::Start(offset))?;
        let (kind, size) = read_box_header(reader, length - offset)?;
        // Every M4A/M4B starts with its file type box; without it the rest is not MP4, and
        // the messages below would only describe noise.
        if offset == 0 && &kind != b"ftyp" {
            return Err(damaged(
                "does not start with an MP4 file type (`ftyp`) box".to_owned(),
            ));
        }
        let end = offset.checked_add(size).filter(|end| *end <= length);
        let Some(end) = end else {
            return Err(damaged(format!(
                "is cut short: its `{}` box runs past the end of the file",
                fourcc(kind)
            )));
        };
        if &kind == b"moov" {
            if size > MAX_MP4_INDEX_BYTES {
                return Err(damaged(format!(
                    "has an index (`moov` box) of {} MiB; folio reads up to {} MiB",
                    size / (1024 * 1024),
                    MAX_MP4_INDEX_BYTES / (1024 * 1024)
                )));
            }
            has_index = true;
        }
        offset = end;
    }
    if offset < length {
        return Err(damaged("has more boxes than folio reads".to_owned()));
    }
    if !has_index {
        return Err(damaged(
            "has no index (`moov` box), so its length cannot be read".to_owned(),
        ));
    }
    Ok(())
}

/// A box's type and its whole size, header included. Size 0 means "to the end of the file";
/// size 1 means a 64-bit size follows the type.
fn read_box_header(reader: &mut Reader, remaining: u64) -> Result<([u8; 4], u64), MediaError> {
    let malformed = || MediaError::damaged(Format::Mp4Audio, "has a malformed box header");
    let mut header = [0u8; 16];
    let available = usize::try_from(remaining.min(16)).unwrap_or(16);
    let read = read_fully(reader, &mut header[..available])?;
    if read < 8 {
        return Err(malformed());
    }
    let [s0, s1, s2, s3, t0, t1, t2, t3, ..] = header;
    let kind = [t0, t1, t2, t3];
    let size = match u32::from_be_bytes([s0, s1, s2, s3]) {
        0 => remaining,
        1 if read == 16 => {
            let [.., l0, l1, l2, l3, l4, l5, l6, l7] = header;
            u64::from_be_bytes([l0, l1, l2, l3, l4, l5, l6, l7])
        }
        size => u64::from(size),
    };
    let header_len = if u32::from_be_bytes([s0, s1, s2, s3]) == 1 {
        16
    } else {
        8
    };
    if size < header_len {
        return Err(malformed());
    }
    Ok((kind, size))
}

/// A box type for a message: its four letters, or hex when they are not printable.
fn fourcc(kind: [u8; 4]) -> String {
    if kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        kind.iter().map(|&b| char::from(b)).collect()
    } else {
        kind.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The chapter track (QuickTime chapters, what Apple's players show) or, when there is none,
/// the Nero chapter list (`chpl`). The track is preferred because its times are in the
/// track's own timescale, while `chpl` times are in a unit writers disagree on.
///
/// Chapters are extra to a playable file: when they cannot be read, the file is kept without
/// them.
fn mp4_chapters(reader: &mut Reader) -> Vec<Chapter> {
    let config = mp4ameta::ReadConfig {
        read_chapter_list: true,
        read_chapter_track: true,
        ..mp4ameta::ReadConfig::NONE
    };
    let tag = match reader
        .seek(SeekFrom::Start(0))
        .map_err(mp4ameta::Error::from)
        .and_then(|_| mp4ameta::Tag::read_with(reader, &config))
    {
        Ok(tag) => tag,
        Err(error) => {
            tracing::debug!(%error, "MP4 chapters unreadable; the file is read without them");
            return Vec::new();
        }
    };
    let chapters = if tag.chapter_track().is_empty() {
        tag.chapter_list()
    } else {
        tag.chapter_track()
    };
    finish_chapters(
        chapters
            .iter()
            .take(MAX_CHAPTERS)
            .map(|c| (c.start.as_secs_f64(), Some(c.title.clone())))
            .collect(),
    )
}

// --- Ogg and FLAC ------------------------------------------------------------------------

enum OggCodec {
    Opus,
    Vorbis,
}

/// The codec of an Ogg file's first stream, from its first packet's signature.
fn ogg_codec(reader: &mut Reader) -> Result<OggCodec, MediaError> {
    // A page header is 27 bytes then one byte per segment; the first packet follows.
    let mut page = [0u8; 27 + 255 + 8];
    reader.seek(SeekFrom::Start(0))?;
    let read = read_fully(reader, &mut page)?;
    let page = &page[..read];
    if !page.starts_with(b"OggS") {
        return Err(MediaError::damaged(
            Format::Ogg,
            "does not start with an Ogg page",
        ));
    }
    let packet = page
        .get(26)
        .and_then(|segments| page.get(27 + usize::from(*segments)..))
        .unwrap_or_default();
    if packet.starts_with(b"OpusHead") {
        Ok(OggCodec::Opus)
    } else if packet.starts_with(b"\x01vorbis") {
        Ok(OggCodec::Vorbis)
    } else {
        Err(MediaError::damaged(
            Format::Ogg,
            "holds neither Opus nor Vorbis audio",
        ))
    }
}

/// Chapters written as Vorbis comments: `CHAPTER001=00:01:02.500` and
/// `CHAPTER001NAME=Title` (the convention of the Ogg chapter extension and of ffmpeg).
fn vorbis_chapters(comments: &VorbisComments) -> Vec<Chapter> {
    let mut by_index: BTreeMap<u32, (Option<f64>, Option<String>)> = BTreeMap::new();
    for (key, value) in comments.items() {
        let Some(rest) = key
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("CHAPTER"))
            .and_then(|_| key.get(7..))
        else {
            continue;
        };
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (Ok(index), suffix) = (rest[..digits].parse::<u32>(), &rest[digits..]) else {
            continue;
        };
        if by_index.len() >= MAX_CHAPTERS && !by_index.contains_key(&index) {
            continue;
        }
        let entry = by_index.entry(index).or_default();
        if suffix.is_empty() {
            entry.0 = parse_timestamp(value);
        } else if suffix.eq_ignore_ascii_case("NAME") {
            entry.1 = Some(value.to_owned());
        }
    }
    finish_chapters(
        by_index
            .into_values()
            .filter_map(|(start, title)| Some((start?, title)))
            .collect(),
    )
}

/// `HH:MM:SS.fff` (also `MM:SS.fff` or plain seconds) in seconds.
fn parse_timestamp(text: &str) -> Option<f64> {
    let mut seconds = 0.0;
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let (last, units) = parts.split_last()?;
    for unit in units {
        let value: u32 = unit.parse().ok()?;
        seconds = (seconds + f64::from(value)) * 60.0;
    }
    let last: f64 = last.parse().ok()?;
    (last.is_finite() && last >= 0.0).then_some(seconds + last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/media");

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(FIXTURES).join(name)
    }

    fn read_fixture(name: &str, format: Format) -> Metadata {
        read(&fixture(name), format).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn assert_duration(metadata: &Metadata, expected: f64) {
        let duration = metadata.duration_seconds.expect("a duration");
        assert!(
            (duration - expected).abs() <= 0.2,
            "duration {duration}, expected {expected}"
        );
    }

    fn creator(name: &str, role: Role) -> Creator {
        Creator {
            name: name.to_owned(),
            role,
        }
    }

    fn chapters(metadata: &Metadata) -> Vec<(&str, f64)> {
        metadata
            .chapters
            .iter()
            .map(|c| {
                (
                    c.title.as_str(),
                    (c.start_seconds * 1000.0).round() / 1000.0,
                )
            })
            .collect()
    }

    /// A scratch file holding `bytes`, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str, bytes: &[u8]) -> Scratch {
            let path = std::env::temp_dir()
                .join(format!("folio-media-audio-{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).expect("write scratch file");
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn assert_damaged(result: Result<Metadata, MediaError>, expected: Format) -> String {
        match result {
            Err(MediaError::Damaged { format, reason }) => {
                assert_eq!(format, expected);
                reason
            }
            other => panic!("expected Damaged({expected}), got {other:?}"),
        }
    }

    /// Seeded xorshift bytes: random-looking, the same on every run.
    fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn reads_an_m4b_audiobook() {
        let book = read_fixture("book.m4b", Format::Mp4Audio);
        assert_duration(&book, 20.0);
        assert_eq!(book.title.as_deref(), Some("The Sine Book"));
        assert_eq!(book.album.as_deref(), Some("The Sine Book"));
        assert_eq!(
            book.creators,
            [
                creator("Ada Author", Role::Author),
                creator("Nick Narrator", Role::Narrator)
            ]
        );
        assert_eq!(book.date.as_deref(), Some("2019"));
        assert_eq!(book.description.as_deref(), Some("A short book of tones."));
        assert_eq!(
            chapters(&book),
            [("Opening", 0.0), ("The Middle", 7.0), ("Closing", 14.5)]
        );
    }

    #[test]
    fn an_m4b_cover_is_a_checked_jpeg() {
        let book = read_fixture("book.m4b", Format::Mp4Audio);
        let cover = book.cover.expect("a cover");
        let info = super::super::image::check(&cover.bytes).unwrap();
        assert_eq!(
            (info.format, info.width, info.height),
            (Format::Jpeg, 300, 200)
        );
    }

    #[test]
    fn m4b_chapter_track_and_list_agree() {
        // book.m4b has both; either one alone gives the same chapters.
        let mut reader = BufReader::new(File::open(fixture("book.m4b")).unwrap());
        let tag = mp4ameta::Tag::read_with(&mut reader, &mp4ameta::ReadConfig::DEFAULT).unwrap();
        let titles = |list: &[mp4ameta::Chapter]| {
            list.iter()
                .map(|c| (c.title.clone(), c.start.as_millis()))
                .collect::<Vec<_>>()
        };
        assert_eq!(titles(tag.chapter_track()), titles(tag.chapter_list()));
        assert_eq!(tag.chapter_track().len(), 3);
    }

    #[test]
    fn reads_mp3_tags_chapters_and_cover() {
        let track = read_fixture("track1.mp3", Format::Mp3);
        assert_duration(&track, 5.1);
        assert_eq!(track.title.as_deref(), Some("Track One"));
        assert_eq!(track.album.as_deref(), Some("Two Tracks"));
        assert_eq!(track.creators, [creator("Ada Author", Role::Author)]);
        assert_eq!(track.track_number, Some(1));
        assert_eq!(track.publisher.as_deref(), Some("Tone Press"));
        assert_eq!(track.language.as_deref(), Some("eng"));
        assert_eq!(track.date.as_deref(), Some("2021-05-04"));
        assert_eq!(
            chapters(&track),
            [("First half", 0.0), ("Second half", 2.5)]
        );
        let cover = track.cover.expect("a cover");
        assert_eq!(
            super::super::image::check(&cover.bytes).unwrap().format,
            Format::Jpeg
        );
    }

    #[test]
    fn reads_a_plain_mp3() {
        let track = read_fixture("track2.mp3", Format::Mp3);
        assert_duration(&track, 5.1);
        assert_eq!(track.title.as_deref(), Some("Track Two"));
        assert_eq!(track.track_number, Some(2));
        assert_eq!(track.disc_number, Some(1));
        assert!(track.chapters.is_empty());
        assert!(track.cover.is_none());
    }

    #[test]
    fn reads_opus_with_vorbis_comment_chapters() {
        let opus = read_fixture("tone.opus", Format::Ogg);
        assert_duration(&opus, 3.0);
        assert_eq!(opus.title.as_deref(), Some("Opus Tone"));
        assert_eq!(
            opus.creators,
            [
                creator("Ada Author", Role::Author),
                creator("Nick Narrator", Role::Narrator)
            ]
        );
        assert_eq!(opus.language.as_deref(), Some("en"));
        assert_eq!(chapters(&opus), [("Beginning", 0.0), ("Ending", 1.25)]);
    }

    #[test]
    fn reads_ogg_vorbis() {
        let vorbis = read_fixture("tone.ogg", Format::Ogg);
        assert_duration(&vorbis, 2.0);
        assert_eq!(vorbis.title.as_deref(), Some("Vorbis Tone"));
        assert_eq!(vorbis.creators, [creator("Ada Author", Role::Author)]);
    }

    #[test]
    fn reads_flac() {
        let flac = read_fixture("tone.flac", Format::Flac);
        assert_duration(&flac, 2.0);
        assert_eq!(flac.title.as_deref(), Some("FLAC Tone"));
        assert_eq!(flac.album.as_deref(), Some("Tones"));
        assert_eq!(flac.date.as_deref(), Some("2020"));
        assert_eq!(chapters(&flac), [("Beginning", 0.0), ("Ending", 1.25)]);
    }

    #[test]
    fn random_bytes_are_not_audio() {
        let noise = Scratch::new("noise.mp3", &random_bytes(64 * 1024, 0x5EED));
        for format in [Format::Mp3, Format::Mp4Audio, Format::Ogg, Format::Flac] {
            assert_damaged(read(&noise.0, format), format);
        }
        let reason = assert_damaged(read(&noise.0, Format::Mp3), Format::Mp3);
        assert_eq!(
            reason,
            "has no MPEG audio frames where its audio should start"
        );
    }

    #[test]
    fn an_m4b_cut_in_half_is_damaged() {
        let bytes = std::fs::read(fixture("book.m4b")).unwrap();
        let half = Scratch::new("half.m4b", &bytes[..bytes.len() / 2]);
        let reason = assert_damaged(read(&half.0, Format::Mp4Audio), Format::Mp4Audio);
        assert!(reason.starts_with("is cut short"), "{reason}");
    }

    #[test]
    fn an_mp3_cut_inside_its_tag_is_damaged() {
        // track1.mp3's ID3 tag holds the cover, so its first 5,000 bytes are all tag.
        let bytes = std::fs::read(fixture("track1.mp3")).unwrap();
        let cut = Scratch::new("cut-tag.mp3", &bytes[..5_000]);
        let reason = assert_damaged(read(&cut.0, Format::Mp3), Format::Mp3);
        assert_eq!(
            reason,
            "is cut short: its ID3 tag runs past the end of the file"
        );
    }

    #[test]
    fn an_mp4_without_audio_is_damaged() {
        let reason = assert_damaged(
            read(&fixture("video-only.mp4"), Format::Mp4Audio),
            Format::Mp4Audio,
        );
        assert!(reason.contains("no audio"), "{reason}");
    }

    #[test]
    fn a_file_read_as_the_wrong_format_is_damaged() {
        assert_damaged(read(&fixture("tone.flac"), Format::Mp3), Format::Mp3);
        assert_damaged(read(&fixture("track1.mp3"), Format::Ogg), Format::Ogg);
        assert_damaged(read(&fixture("tone.opus"), Format::Flac), Format::Flac);
        let reason = assert_damaged(
            read(&fixture("tone.ogg"), Format::Mp4Audio),
            Format::Mp4Audio,
        );
        assert_eq!(reason, "does not start with an MP4 file type (`ftyp`) box");
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let result = read(&fixture("no-such-file.mp3"), Format::Mp3);
        assert!(matches!(result, Err(MediaError::Io(_))), "{result:?}");
    }

    #[test]
    fn no_truncation_panics() {
        let fixtures = [
            ("book.m4b", Format::Mp4Audio),
            ("track1.mp3", Format::Mp3),
            ("tone.opus", Format::Ogg),
            ("tone.ogg", Format::Ogg),
            ("tone.flac", Format::Flac),
        ];
        for (name, format) in fixtures {
            let bytes = std::fs::read(fixture(name)).unwrap();
            for end in (0..bytes.len()).step_by(997) {
                let cut = Scratch::new(&format!("cut-{end}-{name}"), &bytes[..end]);
                // Only Ok or Err: reaching the next line at all is the assertion.
                let _ = read(&cut.0, format);
            }
        }
    }

    fn picture(bytes: Vec<u8>, kind: PictureType) -> lofty::picture::Picture {
        lofty::picture::Picture::unchecked(bytes)
            .pic_type(kind)
            .build()
    }

    #[test]
    fn the_front_cover_is_preferred_and_oversized_pictures_are_left_out() {
        let mut tag = Tag::new(lofty::tag::TagType::Id3v2);
        tag.push_picture(picture(vec![1], PictureType::Other));
        tag.push_picture(picture(vec![2], PictureType::CoverFront));
        assert_eq!(cover(&[&tag]).map(|p| p.bytes), Some(vec![2]));

        let mut tag = Tag::new(lofty::tag::TagType::Id3v2);
        let too_big = vec![0; usize::try_from(MAX_PICTURE_BYTES).unwrap() + 1];
        tag.push_picture(picture(too_big, PictureType::CoverFront));
        tag.push_picture(picture(vec![3], PictureType::Other));
        assert_eq!(cover(&[&tag]).map(|p| p.bytes), Some(vec![3]));
    }

    #[test]
    fn parses_vorbis_chapter_timestamps() {
        assert_eq!(parse_timestamp("00:00:00.000"), Some(0.0));
        assert_eq!(parse_timestamp("01:02:03.500"), Some(3723.5));
        assert_eq!(parse_timestamp("02:03.5"), Some(123.5));
        assert_eq!(parse_timestamp("-1"), None);
        assert_eq!(parse_timestamp("00:xx:00"), None);
        assert_eq!(parse_timestamp("1:2:3:4"), None);
    }

    #[test]
    fn reads_mp3_frame_headers() {
        // MPEG-1 layer III, 128 kb/s, 44.1 kHz, no padding: 417 bytes.
        let frame = mp3_frame(&[0xFF, 0xFB, 0x90, 0x00]).unwrap();
        assert_eq!(frame.length, 417);
        // Layer I, free format, reserved version: not layer III frames.
        assert_eq!(mp3_frame(&[0xFF, 0xFF, 0x90, 0x00]), None);
        assert_eq!(mp3_frame(&[0xFF, 0xFB, 0x00, 0x00]), None);
        assert_eq!(mp3_frame(&[0xFF, 0xEB, 0x90, 0x00]), None);
        assert_eq!(mp3_frame(&[0xFF, 0xFB]), None);
    }
}
