//! Every image the content references goes through this one pipeline:
//!
//! 1. [`plan`] — for each source: its content hash, oriented size and alpha (from the
//!    [`index`] when the file is unchanged, otherwise from its header — pixels are never decoded
//!    here, and anything over the pixel limit is refused before a decoder could allocate it);
//!    then every derivative's width, format, cache key and URL. Templates get all of it.
//! 2. [`process`] — derivatives missing from the [`cache`] are made in parallel (one decoded
//!    source per core at a time, so memory stays bounded): EXIF orientation applied, metadata
//!    dropped (encoders are given pixels only), resized with `fast_image_resize`, encoded to
//!    lossy WebP (libwebp) plus a JPEG fallback, or PNG when the source has transparency.
//!
//! The write stage then links cached files into the site; an unchanged image costs a `stat`.

pub mod cache;
pub mod checks;
pub mod index;
pub mod plan;
pub mod process;

pub use plan::{Derivative, Format, ImagePlan, PlannedImage, plan};
pub use process::{ProcessReport, process};

use serde::Serialize;

/// How derivatives are made; part of every cache key, so changing it re-encodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageSettings {
    /// The width ladder for WebP derivatives; a source is never upscaled.
    pub widths: Vec<u32>,
    /// The width of the single JPEG/PNG fallback.
    pub fallback_width: u32,
    /// Lossy quality, 1–100, for WebP and JPEG.
    pub quality: u8,
    /// Sources above this many pixels are refused before decoding.
    pub max_pixels: u64,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            widths: vec![320, 640, 960, 1280, 1920],
            fallback_width: 960,
            quality: 80,
            max_pixels: 50_000_000,
        }
    }
}

/// Bumped when the processing code changes what it produces for the same settings.
pub const PIPELINE_VERSION: u32 = 1;
