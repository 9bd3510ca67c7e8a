//! Cover images: checked by decoding them under limits, and thumbnails.
//!
//! A cover is only accepted once it has been decoded in full: a header can claim anything, and
//! a file that stops half-way or hides a decompression bomb must be refused before a browser
//! (or the thumbnailer) meets it. Decoding runs under [`image::Limits`], and the declared size
//! is checked against [`MAX_SIDE`] first so that the refusal can say what was wrong.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use super::{Format, MediaError};

/// A decoded image's format and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// The widest and tallest cover taken, in pixels. Print-quality covers are around 3,000 px
/// tall; 12,000 leaves room for any real scan while keeping a decoded RGBA image under
/// [`MAX_DECODE_BYTES`].
pub const MAX_SIDE: u32 = 12_000;

/// The most memory the decoder may allocate for one image (pixels and its own buffers).
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// JPEG quality of thumbnails: small files with no visible blocking at cover sizes.
const THUMBNAIL_QUALITY: u8 = 82;

/// Decodes `bytes` (JPEG, PNG or WebP) under limits: a decompression bomb or an image too
/// large to hold is refused, not allocated.
pub fn check(bytes: &[u8]) -> Result<ImageInfo, MediaError> {
    let (format, image) = decode(bytes)?;
    Ok(ImageInfo {
        format,
        width: image.width(),
        height: image.height(),
    })
}

/// A JPEG `width` pixels wide (never wider than the original) of the image in `bytes`.
pub fn thumbnail(bytes: &[u8], width: u32) -> Result<Vec<u8>, MediaError> {
    let (format, image) = decode(bytes)?;
    let resized = shrink_to_width(&image, width.max(1));
    encode_jpeg(&flatten_onto_white(&resized), format)
}

/// The format `bytes` start like, among the three folio takes for covers.
fn guess(bytes: &[u8]) -> Result<(Format, ImageFormat), MediaError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok((Format::Jpeg, ImageFormat::Jpeg)),
        Ok(ImageFormat::Png) => Ok((Format::Png, ImageFormat::Png)),
        Ok(ImageFormat::WebP) => Ok((Format::Webp, ImageFormat::WebP)),
        _ => Err(MediaError::Unrecognised),
    }
}

/// The limits a decode runs under. `Limits` is non-exhaustive, so it is built from its
/// default rather than a struct literal.
fn limits(max_side: Option<u32>) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = max_side;
    limits.max_image_height = max_side;
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn reader(bytes: &[u8], format: ImageFormat, limits: Limits) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader
}

/// Reads the declared size from the header alone, refuses one past [`MAX_SIDE`] with a
/// message that says so, then decodes every pixel under the full limits.
fn decode(bytes: &[u8]) -> Result<(Format, DynamicImage), MediaError> {
    let (format, image_format) = guess(bytes)?;
    // Reading the header allocates nothing per pixel; without the side limits here, the
    // declared size comes back and the refusal can name it.
    let (width, height) = reader(bytes, image_format, limits(None))
        .into_dimensions()
        .map_err(|e| damaged(format, &e))?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(too_large(format, width, height));
    }
    if width == 0 || height == 0 {
        return Err(MediaError::damaged(
            format,
            "has no pixels (0 wide or high)",
        ));
    }
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(MediaError::damaged(format, "is cut short"));
    }
    let image = reader(bytes, image_format, limits(Some(MAX_SIDE)))
        .decode()
        .map_err(|e| damaged(format, &e))?;
    Ok((format, image))
}

/// Whether the JPEG ends its last scan with an end-of-image marker.
///
/// The JPEG decoder fills a file that stops mid-scan with grey and reports success, so a
/// half-uploaded cover would be taken. Inside scan data a 0xFF byte is always stuffed
/// (`FF 00`), so an `FF D9` after the last start-of-scan (`FF DA`) is the real end of the
/// image; anything after it (some cameras append data) is allowed. An EXIF thumbnail's own
/// markers come before the main scan and do not count.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (last(0xDA), last(0xD9)) {
        (Some(scan), Some(end)) => end > scan,
        _ => false,
    }
}

fn too_large(format: Format, width: u32, height: u32) -> MediaError {
    MediaError::damaged(
        format,
        format!(
            "is {width}×{height} pixels; the largest cover folio takes is {MAX_SIDE}×{MAX_SIDE}"
        ),
    )
}

/// A short reason for a decoder's error. The decoders' own messages are technical, so they
/// go in parentheses after a sentence a user can act on.
fn damaged(format: Format, error: &ImageError) -> MediaError {
    let reason = match error {
        ImageError::Limits(_) => format!(
            "needs more than {} MiB of memory to decode; folio refuses it",
            MAX_DECODE_BYTES / (1024 * 1024)
        ),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "is cut short".to_owned()
        }
        other => format!("could not be decoded ({other})"),
    };
    MediaError::damaged(format, reason)
}

/// `image` scaled to `width` with its aspect ratio kept, or unchanged when it is already that
/// narrow (a thumbnail is never upscaled).
///
/// Covers can be thousands of pixels wide and thumbnails a few hundred, so a direct
/// Catmull-Rom resize would run a wide filter over every source pixel. `thumbnail` first
/// (a fast box-like reduction) to twice the target, then Catmull-Rom for the last step: the
/// speed of the first with nearly the sharpness of the second.
fn shrink_to_width(image: &DynamicImage, width: u32) -> DynamicImage {
    if image.width() <= width {
        return image.clone();
    }
    let height = scaled_height(image.width(), image.height(), width);
    let coarse = if image.width() > width * 4 {
        image.thumbnail_exact(width * 2, height * 2)
    } else {
        image.clone()
    };
    coarse.resize_exact(width, height, FilterType::CatmullRom)
}

/// The height that keeps the aspect ratio at `new_width`, at least one pixel.
fn scaled_height(width: u32, height: u32, new_width: u32) -> u32 {
    let scaled = u64::from(height) * u64::from(new_width) / u64::from(width.max(1));
    u32::try_from(scaled).unwrap_or(u32::MAX).max(1)
}

/// JPEG has no alpha: transparent pixels are blended onto white (what a cover shows on a
/// page), rather than dropped to whatever colour the transparent pixels happen to hold.
fn flatten_onto_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| {
            let c = u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a));
            // At most 255 * 255 / 255: always fits a byte.
            u8::try_from(c / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

fn encode_jpeg(image: &RgbImage, format: Format) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY)
        .encode_image(image)
        .map_err(|e| damaged(format, &e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/media");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
    }

    fn assert_damaged(result: Result<ImageInfo, MediaError>, expected: Format) -> String {
        match result {
            Err(MediaError::Damaged { format, reason }) => {
                assert_eq!(format, expected);
                reason
            }
            other => panic!("expected Damaged({expected}), got {other:?}"),
        }
    }

    /// A PNG chunk: length, type, data, CRC-32 of type and data.
    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&[kind.as_slice(), data].concat());
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A PNG whose header declares `width`×`height` (`bit_depth`, colour type `colour`) and
    /// whose data is a short zlib stream of zeros: the shape of a decompression bomb.
    fn png_declaring(width: u32, height: u32, bit_depth: u8, colour: u8) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[bit_depth, colour, 0, 0, 0]);
        // zlib: header, one stored block of 1024 zero bytes, Adler-32 of those zeros.
        let mut idat = vec![0x78, 0x01, 0x01, 0x00, 0x04, 0xFF, 0xFB];
        idat.extend_from_slice(&[0; 1024]);
        idat.extend_from_slice(&0x0400_0001u32.to_be_bytes());
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"IHDR", &ihdr));
        png.extend(png_chunk(b"IDAT", &idat));
        png.extend(png_chunk(b"IEND", &[]));
        png
    }

    /// The fixture JPEG with its frame header (SOF0) rewritten to claim `width`×`height`:
    /// every other header is real, so the decoder gets as far as the size.
    fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
        let mut jpeg = fixture("cover.jpg");
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline JPEG");
        jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        jpeg
    }

    fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(image::guess_format(bytes).unwrap(), ImageFormat::Jpeg);
        let info = check(bytes).expect("a thumbnail decodes");
        assert_eq!(info.format, Format::Jpeg);
        (info.width, info.height)
    }

    #[test]
    fn checks_each_cover_format() {
        let cases = [
            ("cover.jpg", Format::Jpeg, 300, 200),
            ("cover.png", Format::Png, 120, 80),
            ("cover.webp", Format::Webp, 640, 360),
        ];
        for (name, format, width, height) in cases {
            let info = check(&fixture(name)).unwrap();
            assert_eq!(
                info,
                ImageInfo {
                    format,
                    width,
                    height
                },
                "{name}"
            );
        }
    }

    #[test]
    fn thumbnails_are_jpegs_of_the_asked_width_with_the_aspect_kept() {
        let webp = fixture("cover.webp");
        assert_eq!(jpeg_size(&thumbnail(&webp, 160).unwrap()), (160, 90));
        assert_eq!(jpeg_size(&thumbnail(&webp, 480).unwrap()), (480, 270));
        let jpeg = fixture("cover.jpg");
        assert_eq!(jpeg_size(&thumbnail(&jpeg, 160).unwrap()), (160, 106));
    }

    #[test]
    fn a_narrow_image_is_not_upscaled() {
        let png = fixture("cover.png");
        assert_eq!(jpeg_size(&thumbnail(&png, 160).unwrap()), (120, 80));
    }

    #[test]
    fn transparency_is_flattened_onto_white() {
        // cover.png is opaque on its left half and fully transparent on its right.
        let thumb = thumbnail(&fixture("cover.png"), 160).unwrap();
        let image = image::load_from_memory(&thumb).unwrap().to_rgb8();
        let [r, g, b] = image.get_pixel(110, 40).0;
        assert!(r > 240 && g > 240 && b > 240, "got {r},{g},{b}");
    }

    #[test]
    fn other_formats_are_unrecognised() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        for bytes in [&gif[..], b"", b"plain text, not an image"] {
            assert!(matches!(check(bytes), Err(MediaError::Unrecognised)));
            assert!(matches!(
                thumbnail(bytes, 160),
                Err(MediaError::Unrecognised)
            ));
        }
    }

    #[test]
    fn a_huge_png_is_refused_by_its_header() {
        let bomb = png_declaring(30_000, 30_000, 8, 6);
        let reason = assert_damaged(check(&bomb), Format::Png);
        assert_eq!(
            reason,
            "is 30000×30000 pixels; the largest cover folio takes is 12000×12000"
        );
        assert!(matches!(
            thumbnail(&bomb, 160),
            Err(MediaError::Damaged { .. })
        ));
    }

    #[test]
    fn a_png_within_the_sides_but_past_the_memory_limit_is_refused() {
        // 12,000² pixels of 16-bit RGBA would be 1.1 GB decoded.
        let bomb = png_declaring(12_000, 12_000, 16, 6);
        let reason = assert_damaged(check(&bomb), Format::Png);
        assert!(reason.contains("memory"), "{reason}");
    }

    #[test]
    fn a_huge_jpeg_header_is_refused() {
        let reason = assert_damaged(check(&jpeg_declaring(30_000, 30_000)), Format::Jpeg);
        assert!(reason.starts_with("is 30000×30000 pixels"), "{reason}");
    }

    #[test]
    fn truncated_images_are_damaged() {
        for (name, format) in [
            ("cover.jpg", Format::Jpeg),
            ("cover.png", Format::Png),
            ("cover.webp", Format::Webp),
        ] {
            let bytes = fixture(name);
            assert_damaged(check(&bytes[..bytes.len() / 2]), format);
        }
    }

    #[test]
    fn no_truncation_panics() {
        for name in ["cover.jpg", "cover.png", "cover.webp"] {
            let bytes = fixture(name);
            for end in (0..bytes.len()).step_by(97) {
                let _ = check(&bytes[..end]);
            }
        }
    }
}
