//! Recognising a format from a file's first bytes.
//!
//! Each check reads only the fixed structures at the start of a format (magic numbers, the
//! first ZIP entry, the first Ogg page, the first MP4 box, the first MPEG audio frames), so a
//! file is judged by what it is and not by what it is called. A match is only a claim: the
//! format's reader confirms it by reading the whole structure.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::{Format, MediaError};

/// How many leading bytes [`sniff`] looks at.
pub const HEAD_BYTES: usize = 4096;

/// How far into a file `%PDF-` may start: readers accept junk before the header (a mail
/// gateway's prefix, a BOM) within the first kilobyte.
const PDF_HEADER_WINDOW: usize = 1024;

/// The format the leading bytes of a file announce, if any. A match here is only a claim; the
/// format's own reader confirms it.
pub fn sniff(head: &[u8]) -> Option<Format> {
    let head = &head[..head.len().min(HEAD_BYTES)];
    if is_pdf(head) {
        Some(Format::Pdf)
    } else if head.starts_with(b"PK\x03\x04") {
        // A ZIP is only an EPUB when it says so first; any other archive is not taken.
        is_epub(head).then_some(Format::Epub)
    } else if head.starts_with(b"fLaC") {
        Some(Format::Flac)
    } else if head.starts_with(b"OggS") {
        is_ogg_audio(head).then_some(Format::Ogg)
    } else if is_mp4_audio(head) {
        Some(Format::Mp4Audio)
    } else if head.starts_with(b"\xFF\xD8\xFF") {
        Some(Format::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else if is_mp3(head) {
        Some(Format::Mp3)
    } else {
        None
    }
}

/// [`sniff`] on the first [`HEAD_BYTES`] of the file at `path`.
pub fn sniff_file(path: &Path) -> Result<Option<Format>, MediaError> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    File::open(path)?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(sniff(&head))
}

fn is_pdf(head: &[u8]) -> bool {
    let window = &head[..head.len().min(PDF_HEADER_WINDOW)];
    window.windows(5).any(|w| w == b"%PDF-")
}

/// The OCF rule: an EPUB's first entry is `mimetype`, stored uncompressed, holding
/// `application/epub+zip`, so its type shows at a fixed place in the file.
fn is_epub(head: &[u8]) -> bool {
    const NAME: &[u8] = b"mimetype";
    const CONTENT: &[u8] = b"application/epub+zip";
    let (Some(method), Some(name_len), Some(extra_len)) =
        (le_u16(head, 8), le_u16(head, 26), le_u16(head, 28))
    else {
        return false;
    };
    let name_start = 30;
    let data_start = name_start + usize::from(name_len) + usize::from(extra_len);
    method == 0
        && head.get(name_start..name_start + usize::from(name_len)) == Some(NAME)
        && head
            .get(data_start..)
            .is_some_and(|data| data.starts_with(CONTENT))
}

/// An Ogg stream folio takes: its first page carries an Opus or Vorbis identification header
/// (other codecs in Ogg, such as Theora video, are not audiobooks).
fn is_ogg_audio(head: &[u8]) -> bool {
    // The page header is 27 bytes, then one lacing value per segment, then the packet data.
    let Some(&segments) = head.get(26) else {
        return false;
    };
    let data_start = 27 + usize::from(segments);
    head.get(data_start..)
        .is_some_and(|data| data.starts_with(b"OpusHead") || data.starts_with(b"\x01vorbis"))
}

/// Brands of the `ftyp` box that audio MP4 files carry. The generic ones (`isom`, `mp42`) are
/// shared with video; the audio reader later insists on an audio track.
const MP4_AUDIO_BRANDS: [&[u8; 4]; 13] = [
    b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso4",
    b"iso5", b"iso6", b"dash",
];

fn is_mp4_audio(head: &[u8]) -> bool {
    if head.get(4..8) != Some(b"ftyp") {
        return false;
    }
    let Some(size) = be_u32(head, 0) else {
        return false;
    };
    // Major brand, minor version, then compatible brands up to the box's end.
    let end = usize::try_from(size).unwrap_or(usize::MAX).min(head.len());
    if end < 16 {
        return false;
    }
    let major = &head[8..12];
    let compatible = head[16..end].chunks_exact(4);
    std::iter::once(major).chain(compatible).any(|brand| {
        MP4_AUDIO_BRANDS
            .iter()
            .any(|known| brand == known.as_slice())
    })
}

/// MP3: an ID3v2 tag, or (with no tag) two MPEG audio layer III frames in a row at the start.
/// One frame header alone is 11 set bits and a few fields, which random bytes match often
/// enough; the second header, exactly one frame length further, makes that vanishingly rare.
fn is_mp3(head: &[u8]) -> bool {
    if is_id3v2(head) {
        return true;
    }
    let Some(first) = FrameHeader::parse(head) else {
        return false;
    };
    head.get(first.length..)
        .and_then(FrameHeader::parse)
        .is_some_and(|second| second.same_stream(&first))
}

/// `ID3`, a major version 2–4, a revision that is not 0xFF, and a size in four 7-bit bytes.
fn is_id3v2(head: &[u8]) -> bool {
    match head.get(..10) {
        Some([b'I', b'D', b'3', major, revision, _flags, size @ ..]) => {
            (2..=4).contains(major) && *revision != 0xFF && size.iter().all(|b| b & 0x80 == 0)
        }
        _ => false,
    }
}

/// The fields of an MPEG audio layer III frame header that identify a stream and give the
/// frame's length.
#[derive(Debug, PartialEq)]
struct FrameHeader {
    /// 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, as the header codes it.
    version: u8,
    sample_rate: u32,
    length: usize,
}

impl FrameHeader {
    fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let &[b0, b1, b2, b3, ..] = bytes else {
            return None;
        };
        let sync = b0 == 0xFF && b1 & 0xE0 == 0xE0;
        let version = (b1 >> 3) & 0b11;
        let layer = (b1 >> 1) & 0b11;
        let bitrate_index = usize::from(b2 >> 4);
        let rate_index = usize::from((b2 >> 2) & 0b11);
        let padding = usize::from((b2 >> 1) & 1);
        let emphasis = b3 & 0b11;
        // Version 1 and emphasis 2 are reserved; layer 1 (coded 01) is layer III; bitrate 0
        // (free format) and 15 and sample rate 3 are not usable.
        if !sync || version == 1 || layer != 1 || emphasis == 2 {
            return None;
        }
        if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
            return None;
        }
        let (kbps, sample_rate, coefficient) = match version {
            3 => (MPEG1_KBPS[bitrate_index], MPEG1_RATES[rate_index], 144),
            2 => (MPEG2_KBPS[bitrate_index], MPEG1_RATES[rate_index] / 2, 72),
            _ => (MPEG2_KBPS[bitrate_index], MPEG1_RATES[rate_index] / 4, 72),
        };
        let length = (coefficient * kbps * 1000 / sample_rate) as usize + padding;
        Some(FrameHeader {
            version,
            sample_rate,
            length,
        })
    }

    fn same_stream(&self, other: &FrameHeader) -> bool {
        self.version == other.version && self.sample_rate == other.sample_rate
    }
}

/// Layer III bitrates in kbit/s by index (0 and 15 are rejected before lookup).
const MPEG1_KBPS: [u32; 16] = [
    0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
];
const MPEG2_KBPS: [u32; 16] = [
    0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
];
/// MPEG-1 sample rates; MPEG-2 halves them and MPEG-2.5 quarters them.
const MPEG1_RATES: [u32; 4] = [44_100, 48_000, 32_000, 0];

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([pair[0], pair[1]]))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let quad: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(quad))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic byte generator (SplitMix64), so "random" inputs are the same on every run.
    fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..len).map(|_| next() as u8).collect()
    }

    /// An MPEG-1 layer III frame header: 128 kbit/s, 44.1 kHz, no padding (417 bytes a frame).
    const MP3_FRAME_HEADER: [u8; 4] = [0xFF, 0xFB, 0x90, 0x64];
    const MP3_FRAME_LEN: usize = 417;

    fn mp3_frames(count: usize) -> Vec<u8> {
        let mut frame = vec![0u8; MP3_FRAME_LEN];
        frame[..4].copy_from_slice(&MP3_FRAME_HEADER);
        frame.repeat(count)
    }

    fn zip_with_first_entry(name: &[u8], method: u16, content: &[u8]) -> Vec<u8> {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(&20u16.to_le_bytes()); // version needed
        bytes.extend_from_slice(&0u16.to_le_bytes()); // flags
        bytes.extend_from_slice(&method.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]); // time, date, crc
        bytes.extend_from_slice(&(content.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(content.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes()); // extra length
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(content);
        bytes
    }

    fn ogg_first_page(packet: &[u8]) -> Vec<u8> {
        let mut page = b"OggS\x00\x02".to_vec();
        page.extend_from_slice(&[0; 20]); // granule, serial, sequence, checksum
        page.push(1); // one segment
        page.push(packet.len() as u8);
        page.extend_from_slice(packet);
        page
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len() as u32;
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"ftyp");
        bytes.extend_from_slice(major);
        bytes.extend_from_slice(&[0, 0, 2, 0]);
        for brand in compatible {
            bytes.extend_from_slice(*brand);
        }
        bytes.extend_from_slice(b"\0\0\0\x08free");
        bytes
    }

    #[test]
    fn pdf_header_at_start_or_within_the_first_kilobyte() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), Some(Format::Pdf));
        let mut prefixed = vec![b' '; 1000];
        prefixed.extend_from_slice(b"%PDF-1.4\n");
        assert_eq!(sniff(&prefixed), Some(Format::Pdf));
        let mut too_late = vec![b' '; 2000];
        too_late.extend_from_slice(b"%PDF-1.4\n");
        assert_eq!(sniff(&too_late), None);
    }

    #[test]
    fn epub_is_a_zip_whose_first_entry_is_a_stored_mimetype() {
        let epub = zip_with_first_entry(b"mimetype", 0, b"application/epub+zip");
        assert_eq!(sniff(&epub), Some(Format::Epub));
    }

    #[test]
    fn other_zips_are_not_epub() {
        let other_name = zip_with_first_entry(b"word/document.xml", 0, b"application/epub+zip");
        let other_type = zip_with_first_entry(b"mimetype", 0, b"application/vnd.oasis");
        let compressed = zip_with_first_entry(b"mimetype", 8, b"application/epub+zip");
        for zip in [other_name, other_type, compressed] {
            assert_eq!(sniff(&zip), None);
        }
        assert_eq!(sniff(b"PK\x03\x04"), None, "a cut-off header");
    }

    #[test]
    fn flac() {
        assert_eq!(sniff(b"fLaC\x00\x00\x00\x22"), Some(Format::Flac));
    }

    #[test]
    fn ogg_only_with_opus_or_vorbis() {
        assert_eq!(
            sniff(&ogg_first_page(b"OpusHead\x01\x02")),
            Some(Format::Ogg)
        );
        assert_eq!(
            sniff(&ogg_first_page(b"\x01vorbis\x00\x00")),
            Some(Format::Ogg)
        );
        assert_eq!(sniff(&ogg_first_page(b"\x80theora\x03")), None);
        assert_eq!(sniff(b"OggS\x00"), None, "a cut-off page header");
    }

    #[test]
    fn mp4_audio_by_major_or_compatible_brand() {
        assert_eq!(sniff(&ftyp(b"M4B ", &[])), Some(Format::Mp4Audio));
        assert_eq!(sniff(&ftyp(b"M4A ", &[b"isom"])), Some(Format::Mp4Audio));
        assert_eq!(sniff(&ftyp(b"XXXX", &[b"mp42"])), Some(Format::Mp4Audio));
        assert_eq!(sniff(&ftyp(b"qt  ", &[b"qt  "])), None);
        assert_eq!(sniff(b"\x00\x00\x00\x08ftyp"), None, "a box too small");
    }

    #[test]
    fn mp3_with_an_id3_tag() {
        assert_eq!(sniff(b"ID3\x04\x00\x00\x00\x00\x01\x7F"), Some(Format::Mp3));
        assert_eq!(sniff(b"ID3\x09\x00\x00\x00\x00\x00\x00"), None);
        assert_eq!(sniff(b"ID3\x03\x00\x00\x80\x00\x00\x00"), None);
    }

    #[test]
    fn mp3_without_a_tag_needs_two_frames_in_a_row() {
        assert_eq!(sniff(&mp3_frames(3)), Some(Format::Mp3));
        assert_eq!(sniff(&mp3_frames(1)), None, "one frame alone");
        let mut broken = mp3_frames(2);
        broken[MP3_FRAME_LEN + 1] = 0x00; // the second header loses its sync
        assert_eq!(sniff(&broken), None);
    }

    #[test]
    fn mpeg_headers_with_reserved_fields_are_not_frames() {
        let mut layer_one = mp3_frames(2);
        layer_one[1] = 0xFF; // layer I
        assert_eq!(sniff(&layer_one), None);
        let mut free_bitrate = mp3_frames(2);
        free_bitrate[2] = 0x00;
        assert_eq!(sniff(&free_bitrate), None);
        let mut bad_rate = mp3_frames(2);
        bad_rate[2] = 0x9C; // sample rate index 3
        assert_eq!(sniff(&bad_rate), None);
    }

    #[test]
    fn images() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(Format::Png));
        assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WAVEfmt "), None, "a WAV file");
    }

    #[test]
    fn programs_text_and_nothing_are_not_taken() {
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00"), None);
        assert_eq!(sniff(b"Chapter 1\n\nIt was a dark and stormy night."), None);
        assert_eq!(sniff(b"<html><body>hello</body></html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn random_bytes_are_never_mp3() {
        for seed in 0..200 {
            let bytes = seeded_bytes(seed, HEAD_BYTES);
            assert_ne!(sniff(&bytes), Some(Format::Mp3), "seed {seed}");
        }
    }

    #[test]
    fn random_bytes_after_a_frame_sync_are_not_mp3() {
        // The hardest case: a valid first header, then noise.
        for seed in 0..200 {
            let mut bytes = seeded_bytes(seed, HEAD_BYTES);
            bytes[..4].copy_from_slice(&MP3_FRAME_HEADER);
            assert_eq!(sniff(&bytes), None, "seed {seed}");
        }
    }

    #[test]
    fn the_fixtures_sniff_as_what_they_are() {
        let fixture = |name: &str| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/media")
                .join(name)
        };
        for (name, format) in [
            ("lighthouse-epub3.epub", Format::Epub),
            ("lighthouse-epub2.epub", Format::Epub),
            ("rain.pdf", Format::Pdf),
            ("rain-encrypted.pdf", Format::Pdf),
        ] {
            let sniffed = sniff_file(&fixture(name)).expect("fixture readable");
            assert_eq!(sniffed, Some(format), "{name}");
        }
    }

    #[test]
    fn a_real_program_is_not_taken() {
        if let Ok(program) = std::fs::read("/bin/true") {
            assert_eq!(sniff(&program), None);
        }
    }

    #[test]
    fn sniff_file_reads_the_head_of_a_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("upload");
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(3 * HEAD_BYTES, 0);
        std::fs::write(&path, bytes).expect("write");
        assert_eq!(sniff_file(&path).expect("readable"), Some(Format::Png));
        assert!(matches!(
            sniff_file(&dir.path().join("missing")),
            Err(MediaError::Io(_))
        ));
    }
}
