//! Every image the content references goes through this one pipeline:
//!
//! 1. [`plan`] — for each source: its content hash, oriented size and alpha (from the
//!    [`index`] when the file is unchanged, otherwise from its header ([`inspect`]) — pixels are
//!    never decoded here, and anything over the pixel limit is refused before a decoder could
//!    allocate it);
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
pub mod inspect;
pub mod plan;
#[cfg(feature = "native")]
pub mod process;

pub use plan::{Derivative, Format, ImagePlan, PlannedImage, plan};
#[cfg(feature = "native")]
pub use process::{ProcessReport, process};

/// Bumped when the processing code changes what it produces for the same settings.
pub const PIPELINE_VERSION: u32 = 1;
