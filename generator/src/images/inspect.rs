//! A source image's header read and judged before anything is decoded: its format, size,
//! orientation and alpha, and the shapes that are refused (bombs, strips, truncated JPEGs).

use super::index::SourceInfo;
use super::plan::problem;
use crate::diagnostic::Diagnostic;
use crate::model::{ImageSettings, ImageSource};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The longest side a source may have.
pub const MAX_SOURCE_SIDE: u32 = 30_000;
/// How much longer than wide (or wider than tall) a source may be.
pub const MAX_ASPECT: u32 = 20;
/// WebP cannot encode a side longer than this (libwebp's `WEBP_MAX_DIMENSION`); derivatives are
/// planned within it.
pub const WEBP_MAX_SIDE: u32 = 16_383;

/// Reads the header: format, size, orientation, alpha. Refuses bombs before any pixel is decoded.
pub fn inspect(
    img: &ImageSource,
    bytes: &[u8],
    size: u64,
    mtime_ns: i128,
    settings: &ImageSettings,
) -> Result<SourceInfo, Diagnostic> {
    use image::ImageDecoder;
    let unreadable = || {
        problem(
            img,
            format!(
                "`{}` is not a readable image (corrupt, truncated or an unsupported format)",
                img.rel
            ),
            Some("export it again as JPEG or PNG"),
        )
    };
    // The declared size, read without a decoder, so an absurd shape gets its own message.
    if let Ok(size) = imagesize::blob_size(bytes) {
        let side = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        check_shape(img, side(size.width), side(size.height))?;
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    let Some(format) = reader.format() else {
        return Err(unreadable());
    };
    let mut decoder = reader.into_decoder().map_err(|_| unreadable())?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(problem(img, format!("image `{}` has no pixels", img.rel), None));
    }
    if u64::from(w) * u64::from(h) > settings.max_pixels {
        return Err(problem(
            img,
            format!(
                "image `{}` is {w}×{h} pixels, above the {} megapixel limit",
                img.rel,
                settings.max_pixels / 1_000_000
            ),
            Some("resize it to at most 4000 pixels wide"),
        ));
    }
    check_shape(img, w, h)?;
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(problem(
            img,
            format!(
                "image `{}` is truncated: the file ends before the picture does",
                img.rel
            ),
            Some("the upload was probably interrupted: copy the photo again"),
        ));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let (width, height) = if swaps_axes(orientation) { (h, w) } else { (w, h) };
    let alpha = decoder.color_type().has_alpha();
    Ok(SourceInfo {
        size,
        mtime_ns,
        hash: crate::fs::hex(&Sha256::digest(bytes)),
        width,
        height,
        alpha,
        color: None,
    })
}

/// Width × height is not enough: 49,999,999 × 1 is under any pixel limit and still costs
/// gigabytes to resize, and an extreme strip has no sensible derivative.
fn check_shape(img: &ImageSource, w: u32, h: u32) -> Result<(), Diagnostic> {
    let (long, short) = (w.max(h), w.min(h));
    if long > MAX_SOURCE_SIDE {
        return Err(problem(
            img,
            format!(
                "image `{}` is {w}×{h} pixels; a side may be at most {MAX_SOURCE_SIDE}",
                img.rel
            ),
            Some("resize it to at most 4000 pixels on its longer side"),
        ));
    }
    if u64::from(long) > u64::from(short) * u64::from(MAX_ASPECT) {
        return Err(problem(
            img,
            format!(
                "image `{}` is {w}×{h} pixels, more than {MAX_ASPECT} times longer than it is wide",
                img.rel
            ),
            Some("crop it to the part worth showing (a panorama of up to 20:1 is fine)"),
        ));
    }
    Ok(())
}

/// Walks a JPEG's segments and scans to its end-of-image marker. Decoders accept truncated files
/// and fill the missing part with grey; an artisan should hear about it instead. Segments are
/// skipped by length, so an EXIF thumbnail's own markers are never mistaken for the image's.
pub fn jpeg_is_complete(b: &[u8]) -> bool {
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return false;
    }
    let mut i = 2;
    loop {
        // Find the next marker (0xFF fill bytes are allowed before it).
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = b.get(i) else { return false };
        i += 1;
        match marker {
            0xD9 => return true,
            0xD0..=0xD7 | 0x01 => continue,
            _ => {
                let Some(len) = b.get(i..i + 2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
                    return false;
                };
                i += len;
                if marker == 0xDA {
                    // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker.
                    loop {
                        match (b.get(i), b.get(i + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => i += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => i += 1,
                            (None, _) => return false,
                        }
                    }
                }
            }
        }
    }
}

pub fn swaps_axes(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation as O;
    matches!(o, O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_jpegs_are_detected() {
        let mut img = image::RgbImage::new(64, 48);
        img.pixels_mut()
            .enumerate()
            .for_each(|(i, p)| *p = image::Rgb([i as u8, (i / 3) as u8, 7]));
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&img)
            .expect("encode");
        assert!(jpeg_is_complete(&bytes));
        assert!(!jpeg_is_complete(&bytes[..bytes.len() / 2]));
        assert!(!jpeg_is_complete(&bytes[..bytes.len() - 2]));
        assert!(!jpeg_is_complete(b"not a jpeg"));
    }
}
