//! Recognising a format from a file's first bytes. A match is only a claim, which the format's
//! own reader confirms; a name or a client's content type is never asked.

use std::io::Read;
use std::path::Path;

use super::{Format, MediaError};

/// How many leading bytes [`sniff`] looks at.
pub const HEAD_BYTES: usize = 4096;

/// The format the leading bytes of a file announce, if any.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PK\x03\x04") {
        return is_epub(head).then_some(Format::Epub);
    }
    if head.starts_with(b"fLaC") {
        return Some(Format::Flac);
    }
    if head.starts_with(b"OggS") {
        let first_page = &head[..head.len().min(512)];
        let audio =
            find(first_page, b"OpusHead").is_some() || find(first_page, b"\x01vorbis").is_some();
        return audio.then_some(Format::Ogg);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some(Format::Mp4Audio);
    }
    if head.starts_with(b"\xFF\xD8\xFF") {
        return Some(Format::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return Some(Format::Webp);
    }
    // Readers take a PDF whose header comes after a little junk (a mail gateway's line).
    if find(&head[..head.len().min(1024)], b"%PDF-").is_some() {
        return Some(Format::Pdf);
    }
    if head.starts_with(b"ID3") || mpeg_frames_at(head, 0) {
        return Some(Format::Mp3);
    }
    None
}

/// [`sniff`] on the first [`HEAD_BYTES`] of the file at `path`.
pub fn sniff_file(path: &Path) -> Result<Option<Format>, MediaError> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    std::fs::File::open(path)?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(sniff(&head))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An EPUB's ZIP begins with a stored entry named `mimetype` holding `application/epub+zip`
/// (OCF 3.0 §4.3): its local header is 30 bytes, then the name, then the extra field, then the
/// content.
fn is_epub(head: &[u8]) -> bool {
    if head.len() < 30 {
        return false;
    }
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]) as usize;
    let (method, name_len, extra_len) = (u16_at(8), u16_at(26), u16_at(28));
    let name = head.get(30..30 + name_len);
    let content = head.get(30 + name_len + extra_len..);
    method == 0
        && name == Some(b"mimetype".as_slice())
        && content.is_some_and(|c| c.starts_with(b"application/epub+zip"))
}

/// Two MPEG audio layer III frame headers in a row from `at`: one valid-looking header is
/// common in random bytes (1 in a few thousand), two chained by the first's length are not.
fn mpeg_frames_at(head: &[u8], at: usize) -> bool {
    let Some(first) = frame_length(head.get(at..).unwrap_or_default()) else {
        return false;
    };
    frame_length(head.get(at + first..).unwrap_or_default()).is_some()
}

/// The length of the MPEG layer III frame whose header starts `bytes`, if it is one.
fn frame_length(bytes: &[u8]) -> Option<usize> {
    let h = bytes.get(..4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 0b11; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (h[1] >> 1) & 0b11; // 1: layer III
    let bitrate_index = (h[2] >> 4) as usize;
    let rate_index = ((h[2] >> 2) & 0b11) as usize;
    let padding = ((h[2] >> 1) & 1) as usize;
    if version == 1 || layer != 1 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const MPEG1: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const MPEG2: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let (kbps, rate, per_frame) = match version {
        3 => (
            MPEG1[bitrate_index],
            [44_100, 48_000, 32_000][rate_index],
            144,
        ),
        2 => (
            MPEG2[bitrate_index],
            [22_050, 24_000, 16_000][rate_index],
            72,
        ),
        _ => (
            MPEG2[bitrate_index],
            [11_025, 12_000, 8_000][rate_index],
            72,
        ),
    };
    Some(per_frame * kbps * 1000 / rate + padding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/media/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn each_format_is_known_by_its_first_bytes() {
        for (name, format) in [
            ("book.m4b", Format::Mp4Audio),
            ("track1.mp3", Format::Mp3),
            ("tone.opus", Format::Ogg),
            ("tone.ogg", Format::Ogg),
            ("tone.flac", Format::Flac),
            ("cover.jpg", Format::Jpeg),
            ("cover.png", Format::Png),
            ("cover.webp", Format::Webp),
        ] {
            let bytes = fixture(name);
            assert_eq!(
                sniff(&bytes[..bytes.len().min(HEAD_BYTES)]),
                Some(format),
                "{name}"
            );
        }
        assert_eq!(sniff(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), Some(Format::Pdf));
        let mut epub =
            b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x08\0\0\0".to_vec();
        epub.extend_from_slice(b"mimetypeapplication/epub+zipPK");
        assert_eq!(sniff(&epub), Some(Format::Epub));
    }

    #[test]
    fn programs_text_plain_zips_and_noise_are_nothing() {
        let program = std::fs::read("/bin/true").unwrap();
        assert_eq!(sniff(&program[..HEAD_BYTES.min(program.len())]), None);
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None);
        assert_eq!(sniff(b"Once upon a time"), None);
        assert_eq!(
            sniff(b"PK\x03\x04\x14\0\0\0\x08\0"),
            None,
            "a ZIP that is not an EPUB"
        );
        assert_eq!(sniff(b"OggS\0\x02theora"), None, "Ogg video");
        // Noise in many seeds: never MP3 (two chained frame headers), or anything else.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..HEAD_BYTES)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 32) as u8
                })
                .collect();
            assert_eq!(sniff(&noise), None);
        }
    }
}
