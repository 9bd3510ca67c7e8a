//! KOReader's names for a document: the "binary" id, an MD5 of 1 KiB samples of the file at
//! 0 and at 1 KiB × 4^i (i = 0…10, up to 1 GiB), taken until a sample would start at or past
//! the end (`util.partialMD5` in KOReader: its first offset is LuaJIT's `lshift(1024, -2)`,
//! which wraps to 0); and the "file name" id, the MD5 of the file's name.

use std::ops::Range;

use md5::{Digest, Md5};

const SAMPLE: u64 = 1024;

/// The byte ranges KOReader samples of a file of `size` bytes, in order.
pub fn samples(size: u64) -> Vec<Range<u64>> {
    std::iter::once(0)
        .chain((0..=10).map(|i| SAMPLE << (2 * i)))
        .take_while(|&offset| offset < size)
        .map(|offset| offset..(offset + SAMPLE).min(size))
        .collect()
}

/// The binary id of a file from its samples' bytes, in order.
pub fn binary_id<'a>(samples: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut md5 = Md5::new();
    for sample in samples {
        md5.update(sample);
    }
    hex::encode(md5.finalize())
}

/// The file-name id: the MD5 of the name a reader's device keeps the file under.
pub fn name_id(name: &str) -> String {
    md5_hex(name)
}

/// The lowercase hex MD5 of a text: also how KOReader turns a password into its sync key.
pub fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id as KOReader computes it, written from its description: seek, read up to 1 KiB,
    /// stop at the end.
    fn by_the_description(bytes: &[u8]) -> String {
        let mut md5 = Md5::new();
        let offsets = [0u64]
            .into_iter()
            .chain((0..=10).map(|i| 1024u64 * 4u64.pow(i)));
        for offset in offsets {
            let Some(rest) = bytes.get(offset as usize..).filter(|r| !r.is_empty()) else {
                break;
            };
            md5.update(&rest[..rest.len().min(1024)]);
        }
        hex::encode(md5.finalize())
    }

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn ids_match_koreader_s_sampling_at_every_size() {
        // Under 1 KiB, between sample offsets, exactly at one, and over 1 MiB.
        for len in [
            0, 1, 700, 1024, 1025, 3000, 4096, 20_000, 1_048_576, 1_300_000,
        ] {
            let file = bytes(len);
            let ranges = samples(len as u64);
            let read = ranges
                .iter()
                .map(|r| &file[r.start as usize..r.end as usize]);
            assert_eq!(binary_id(read), by_the_description(&file), "{len} bytes");
        }
        // The samples themselves: a 20,000-byte file is read at 0, 1 KiB, 4 KiB and 16 KiB.
        assert_eq!(
            samples(20_000),
            [0..1024, 1024..2048, 4096..5120, 16384..17408]
        );
        assert_eq!(samples(1024), vec![(0..1024)]);
        assert!(samples(0).is_empty());
    }

    #[test]
    fn an_empty_file_and_a_name_have_the_plain_md5() {
        assert_eq!(binary_id([]), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(name_id("book.epub"), hex::encode(Md5::digest(b"book.epub")));
        assert_eq!(name_id(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
