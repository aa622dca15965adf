//! Making the derivatives the cache lacks. Parallel over sources, one decoded source per worker
//! at a time, so a market of thousands of photos never holds them all in memory.
//! No metadata survives: encoders receive raw pixels only, so EXIF (GPS, camera serials), XMP
//! and ICC chunks of the source are never copied.

use super::cache::Cache;
use super::index::SourceIndex;
use super::plan::{Derivative, Format, ImagePlan, PlannedImage};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::fs::write_atomic;
use crate::model::ImageSettings;
use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageEncoder};
use rayon::prelude::*;
use std::io::Cursor;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessReport {
    /// Derivatives encoded by this build.
    pub encoded: usize,
    /// Derivatives found in the cache.
    pub reused: usize,
}

struct Outcome {
    encoded: usize,
    color: Option<(String, [u8; 3])>,
}

/// Makes what the cache lacks; records each source's average colour in the plan and the index.
pub fn process(
    plan: &mut ImagePlan,
    cache: &Cache,
    settings: &ImageSettings,
    index: &mut SourceIndex,
) -> (ProcessReport, Diagnostics) {
    let results: Vec<Result<Outcome, Diagnostic>> = plan
        .images
        .par_iter()
        .map(|img| process_one(img, cache, settings))
        .collect();
    let total = plan.derivative_count();
    let mut report = ProcessReport::default();
    let mut diags = Diagnostics::default();
    // Colours are new only for photos just encoded: the positions are looked up then.
    let mut positions: Option<std::collections::HashMap<String, usize>> = None;
    for r in results {
        match r {
            Ok(o) => {
                report.encoded += o.encoded;
                if let Some((rel, c)) = o.color {
                    index.set_color(&rel, c);
                    let positions = positions.get_or_insert_with(|| {
                        plan.images
                            .iter()
                            .enumerate()
                            .map(|(i, p)| (p.rel.clone(), i))
                            .collect()
                    });
                    if let Some(&i) = positions.get(&rel) {
                        plan.images[i].info.color = Some(c);
                    }
                }
            }
            Err(d) => diags.push(d),
        }
    }
    report.reused = total.saturating_sub(report.encoded);
    (report, diags)
}

fn process_one(img: &PlannedImage, cache: &Cache, settings: &ImageSettings) -> Result<Outcome, Diagnostic> {
    // A cache as the last build left it holds every derivative: none is named.
    if cache.settled() && img.info.color.is_some() {
        return Ok(Outcome {
            encoded: 0,
            color: None,
        });
    }
    let missing: Vec<(&Derivative, String)> = img
        .named()
        .map(|(d, n)| (d, n.cache_file))
        .filter(|(_, name)| !cache.contains(name))
        .collect();
    if missing.is_empty() && img.info.color.is_some() {
        return Ok(Outcome {
            encoded: 0,
            color: None,
        });
    }
    let fail = |message: String| Diagnostic {
        severity: Severity::Error,
        path: img.origin.path.clone(),
        line: img.origin.line,
        col: img.origin.col,
        message,
        hint: Some("export it again as JPEG or PNG".into()),
    };
    let pixels = decode(img, settings).map_err(|e| fail(format!("image `{}` cannot be decoded: {e}", img.rel)))?;
    let color = average_color(&pixels);
    for (d, name) in &missing {
        let bytes = encode(&pixels, d, img.quality)
            .map_err(|e| fail(format!("image `{}` cannot be converted: {e}", img.rel)))?;
        write_atomic(&cache.path(name), &bytes).map_err(|e| fail(format!("cannot write to the image cache: {e}")))?;
    }
    Ok(Outcome {
        encoded: missing.len(),
        color: Some((img.rel.clone(), color)),
    })
}

/// Decoded, upright pixels: RGB8, or RGBA8 when the source has transparency. 16-bit, grey and
/// CMYK sources are converted here; alpha is kept, never flattened to black.
#[derive(Debug)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    pub data: Vec<u8>,
}

fn decode(img: &PlannedImage, settings: &ImageSettings) -> Result<Pixels, String> {
    let bytes = std::fs::read(&img.source).map_err(|e| e.to_string())?;
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(settings.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > settings.max_pixels {
        return Err(format!("{w}×{h} pixels is above the limit"));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    let alpha = image.color().has_alpha();
    let (width, height) = (image.width(), image.height());
    let data = if alpha {
        image.into_rgba8().into_raw()
    } else {
        image.into_rgb8().into_raw()
    };
    Ok(Pixels {
        width,
        height,
        alpha,
        data,
    })
}

fn resize(p: &Pixels, width: u32, height: u32) -> Result<Vec<u8>, String> {
    let pixel_type = if p.alpha {
        fr::PixelType::U8x4
    } else {
        fr::PixelType::U8x3
    };
    if (width, height) == (p.width, p.height) {
        return Ok(p.data.clone());
    }
    let src = fr::images::ImageRef::new(p.width, p.height, &p.data, pixel_type).map_err(|e| e.to_string())?;
    let mut dst = fr::images::Image::new(width, height, pixel_type);
    // Lanczos3 for sharp downscales; alpha is premultiplied during the resize so edges stay clean.
    let options = fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    Ok(dst.into_vec())
}

fn encode(p: &Pixels, d: &Derivative, quality: u8) -> Result<Vec<u8>, String> {
    let buf = resize(p, d.width, d.height)?;
    let color = if p.alpha {
        image::ExtendedColorType::Rgba8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    match d.format {
        Format::Webp => {
            let enc = if p.alpha {
                webp::Encoder::from_rgba(&buf, d.width, d.height)
            } else {
                webp::Encoder::from_rgb(&buf, d.width, d.height)
            };
            out.extend_from_slice(&enc.encode(f32::from(quality)));
        }
        Format::Jpeg => {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .write_image(&buf, d.width, d.height, color)
                .map_err(|e| e.to_string())?;
        }
        Format::Png => {
            image::codecs::png::PngEncoder::new(&mut out)
                .write_image(&buf, d.width, d.height, color)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(out)
}

/// The average colour, weighted by opacity: the placeholder behind a loading image.
fn average_color(p: &Pixels) -> [u8; 3] {
    let step = if p.alpha { 4 } else { 3 };
    let (mut sum, mut weight) = ([0u64; 3], 0u64);
    // Every 7th pixel is plenty for an average and keeps this cheap on 12-megapixel photos.
    for px in p.data.chunks_exact(step).step_by(7) {
        let a = if p.alpha { u64::from(px[3]) } else { 255 };
        for c in 0..3 {
            sum[c] += u64::from(px[c]) * a;
        }
        weight += a;
    }
    if weight == 0 {
        return [255, 255, 255];
    }
    [
        (sum[0] / weight) as u8,
        (sum[1] / weight) as u8,
        (sum[2] / weight) as u8,
    ]
}
