//! Photo metadata removed before a photo enters the content repository, which is often public:
//! a phone's JPEG carries the GPS position of the artisan's workshop (their home, often), the
//! camera's serial number and the time to the second.
//!
//! The pixels are never re-encoded: segments are dropped, so the photo stays byte-for-byte the
//! same image. What a photo needs to look right is kept: JFIF, the ICC colour profile, Adobe's
//! colour transform, and the EXIF *orientation*, rewritten as a minimal EXIF holding only it
//! (without it a portrait photo would turn on its side).

/// A photo without its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stripped {
    pub data: Vec<u8>,
    /// What was removed ("EXIF", "comments"…), each once.
    pub removed: Vec<&'static str>,
}

/// The photo without its metadata; `Ok(None)` when there was nothing to remove. An error means
/// the file is not the format it claims, read this far.
pub fn strip(kind: &str, data: &[u8]) -> Result<Option<Stripped>, String> {
    let (out, removed) = match kind {
        "jpeg" => jpeg(data)?,
        "png" => png(data)?,
        "webp" => webp(data)?,
        _ => return Ok(None),
    };
    Ok((!removed.is_empty()).then_some(Stripped { data: out, removed }))
}

fn add(removed: &mut Vec<&'static str>, what: &'static str) {
    if !removed.contains(&what) {
        removed.push(what);
    }
}

// ---------------------------------------------------------------- JPEG

fn jpeg(data: &[u8]) -> Result<(Vec<u8>, Vec<&'static str>), String> {
    const BAD: &str = "is not a complete JPEG";
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(BAD.into());
    }
    let orientation = orientation(data);
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut removed = Vec::new();
    let mut wrote_orientation = false;
    let mut i = 2;
    loop {
        // A marker: 0xFF (fill bytes allowed), then its code.
        while data.get(i) == Some(&0xFF) && data.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(0xFF), Some(&code)) = (data.get(i), data.get(i + 1)) else {
            return Err(BAD.into());
        };
        i += 2;
        if code == 0xD9 {
            // End of image. Anything after it (a phone's depth map or a second picture) is
            // not the photo and goes too.
            out.extend_from_slice(&[0xFF, 0xD9]);
            if i < data.len() {
                add(&mut removed, "data after the image");
            }
            return Ok((out, removed));
        }
        if (0xD0..=0xD7).contains(&code) || code == 0x01 {
            out.extend_from_slice(&[0xFF, code]);
            continue;
        }
        let len = match (data.get(i), data.get(i + 1)) {
            (Some(&a), Some(&b)) => usize::from(a) << 8 | usize::from(b),
            _ => return Err(BAD.into()),
        };
        let Some(segment) = data.get(i..i + len).filter(|_| len >= 2) else {
            return Err(BAD.into());
        };
        let body = &segment[2..];
        let keep = match code {
            0xE0 => true,                                       // JFIF
            0xE2 if body.starts_with(b"ICC_PROFILE\0") => true, // colour profile
            0xEE if body.starts_with(b"Adobe") => true,         // colour transform
            0xE1 => {
                // The minimal EXIF this function writes is written again below, not "removed".
                let ours = orientation.is_some_and(|o| exif_orientation(o)[2..] == *segment);
                if !ours {
                    add(&mut removed, if body.starts_with(b"Exif\0\0") { "EXIF" } else { "XMP" });
                }
                false
            }
            0xE2..=0xEF => {
                add(&mut removed, "other application data");
                false
            }
            0xFE => {
                add(&mut removed, "comments");
                false
            }
            _ => true,
        };
        if !wrote_orientation && (code == 0xDB || code == 0xC4 || (0xC0..=0xCF).contains(&code) || code == 0xDA) {
            // Before the first table or frame: where EXIF stood.
            if let Some(o) = orientation.filter(|o| *o != 1) {
                out.extend_from_slice(&exif_orientation(o));
            }
            wrote_orientation = true;
        }
        if keep {
            out.extend_from_slice(&[0xFF, code]);
            out.extend_from_slice(segment);
        }
        i += len;
        if code == 0xDA {
            // Entropy-coded data runs until a marker that is neither stuffing nor a restart.
            let start = i;
            while i + 1 < data.len() && !(data[i] == 0xFF && data[i + 1] != 0 && !(0xD0..=0xD7).contains(&data[i + 1]))
            {
                i += 1;
            }
            if i + 1 >= data.len() {
                return Err(BAD.into());
            }
            out.extend_from_slice(&data[start..i]);
        }
    }
}

/// The EXIF orientation (1–8), read by the same decoder that builds the site.
fn orientation(data: &[u8]) -> Option<u8> {
    use image::ImageDecoder;
    use image::metadata::Orientation;
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(data)).ok()?;
    Some(match decoder.orientation().ok()? {
        Orientation::NoTransforms => 1,
        Orientation::FlipHorizontal => 2,
        Orientation::Rotate180 => 3,
        Orientation::FlipVertical => 4,
        Orientation::Rotate90FlipH => 5,
        Orientation::Rotate90 => 6,
        Orientation::Rotate270FlipH => 7,
        Orientation::Rotate270 => 8,
    })
}

/// An APP1 segment whose EXIF holds the orientation and nothing else.
fn exif_orientation(o: u8) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec(); // big-endian TIFF, IFD0 at 8
    exif.extend_from_slice(&[0, 1]); // one entry
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0]); // Orientation, SHORT ×1
    exif.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
    let len = (exif.len() + 2) as u16;
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&len.to_be_bytes());
    segment.extend_from_slice(&exif);
    segment
}

// ---------------------------------------------------------------- PNG

fn png(data: &[u8]) -> Result<(Vec<u8>, Vec<&'static str>), String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const BAD: &str = "is not a complete PNG";
    if !data.starts_with(SIGNATURE) {
        return Err(BAD.into());
    }
    let mut out = SIGNATURE.to_vec();
    let mut removed = Vec::new();
    let mut i = SIGNATURE.len();
    while i < data.len() {
        let Some(head) = data.get(i..i + 8) else {
            return Err(BAD.into());
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let Some(chunk) = data.get(i..i + 12 + len) else {
            return Err(BAD.into());
        };
        match kind {
            b"tEXt" | b"zTXt" | b"iTXt" => add(&mut removed, "text (author, software, XMP)"),
            b"eXIf" => add(&mut removed, "EXIF"),
            b"tIME" => add(&mut removed, "time"),
            _ => out.extend_from_slice(chunk),
        }
        i += 12 + len;
        if kind == b"IEND" {
            if i < data.len() {
                add(&mut removed, "data after the image");
            }
            return Ok((out, removed));
        }
    }
    Err(BAD.into())
}

// ---------------------------------------------------------------- WebP

fn webp(data: &[u8]) -> Result<(Vec<u8>, Vec<&'static str>), String> {
    const BAD: &str = "is not a complete WebP";
    if data.len() < 12 || &data[..4] != b"RIFF" || &data[8..12] != b"WEBP" {
        return Err(BAD.into());
    }
    let mut body = Vec::with_capacity(data.len());
    let mut removed = Vec::new();
    let mut i = 12;
    let end = (u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize + 8).min(data.len());
    let mut vp8x_at = None;
    while i + 8 <= end {
        let kind = &data[i..i + 4];
        let len = u32::from_le_bytes([data[i + 4], data[i + 5], data[i + 6], data[i + 7]]) as usize;
        let padded = len + (len & 1);
        let Some(chunk) = data.get(i..i + 8 + padded).or_else(|| data.get(i..i + 8 + len)) else {
            return Err(BAD.into());
        };
        match kind {
            b"EXIF" => add(&mut removed, "EXIF"),
            b"XMP " => add(&mut removed, "XMP"),
            _ => {
                if kind == b"VP8X" {
                    vp8x_at = Some(body.len());
                }
                body.extend_from_slice(chunk);
            }
        }
        i += 8 + padded;
    }
    if removed.is_empty() {
        return Ok((data.to_vec(), removed));
    }
    if let Some(at) = vp8x_at {
        // The flags byte announces EXIF (0x08) and XMP (0x04) chunks that are no longer there.
        body[at + 8] &= !0x0C;
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Ok((out, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real JPEG from the encoder, with EXIF (orientation 6 and a GPS tag), XMP, a comment and
    /// a trailer inserted as a phone would.
    pub(crate) fn phone_jpeg() -> Vec<u8> {
        let img = image::RgbImage::from_fn(16, 8, |x, _| image::Rgb([x as u8 * 10, 80, 200]));
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut plain)
            .encode_image(&img)
            .expect("encodes");
        let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x02".to_vec();
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
        tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]); // GPS IFD pointer
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(b"GPS 50.6326N 5.5797E");
        let segment = |code: u8, body: &[u8]| {
            let mut s = vec![0xFF, code];
            s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            s.extend_from_slice(body);
            s
        };
        let mut out = plain[..2].to_vec();
        out.extend(segment(0xE1, &tiff));
        out.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"));
        out.extend(segment(0xFE, b"Shot on a phone"));
        out.extend_from_slice(&plain[2..]);
        out.extend_from_slice(b"TRAILER depth map");
        out
    }

    #[test]
    fn a_phone_jpeg_loses_its_metadata_and_keeps_its_pixels_and_orientation() {
        let photo = phone_jpeg();
        assert_eq!(orientation(&photo), Some(6));
        let Stripped { data: clean, removed } = strip("jpeg", &photo).expect("reads").expect("had metadata");
        assert_eq!(removed, ["EXIF", "XMP", "comments", "data after the image"]);
        for secret in [&b"GPS 50.6326N"[..], b"xmpmeta", b"Shot on", b"TRAILER"] {
            assert!(!clean.windows(secret.len()).any(|w| w == secret), "{secret:?} left");
        }
        assert_eq!(orientation(&clean), Some(6), "the photo must stay upright");
        let before = image::load_from_memory(&photo).expect("decodes").to_rgb8();
        let after = image::load_from_memory(&clean).expect("decodes").to_rgb8();
        assert_eq!(before, after, "pixels unchanged");
        assert_eq!(strip("jpeg", &clean).expect("reads"), None, "nothing left to remove");
    }

    #[test]
    fn png_text_and_webp_exif_go() {
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
        let mut png_bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png_bytes), image::ImageFormat::Png)
            .expect("png");
        // A tEXt chunk after IHDR (CRC not checked by the stripper; the chunk is dropped).
        let text = b"\0\0\0\x0ctEXtAuthor\0Anais\0\0\0\0";
        let mut with_text = png_bytes[..33].to_vec();
        with_text.extend_from_slice(text);
        with_text.extend_from_slice(&png_bytes[33..]);
        let Stripped { data: clean, removed } = strip("png", &with_text).expect("reads").expect("had text");
        assert_eq!(removed, ["text (author, software, XMP)"]);
        assert_eq!(clean, png_bytes);

        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0EXIF\x03\0\0\0GPS\0".to_vec();
        let size = (webp.len() - 8) as u32;
        webp[4..8].copy_from_slice(&size.to_le_bytes());
        let Stripped { data: clean, removed } = strip("webp", &webp).expect("reads").expect("had EXIF");
        assert_eq!(removed, ["EXIF"]);
        assert_eq!(clean.len(), 12 + 18);
        assert_eq!(clean[20], 0, "EXIF flag cleared");
        assert_eq!(
            u32::from_le_bytes([clean[4], clean[5], clean[6], clean[7]]) as usize,
            clean.len() - 8
        );
    }

    #[test]
    fn truncated_files_are_refused_not_guessed() {
        let photo = phone_jpeg();
        assert!(strip("jpeg", &photo[..photo.len() / 2]).is_err());
        assert!(strip("png", b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR").is_err());
    }
}
