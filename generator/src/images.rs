//! Stage 3: every referenced image, planned before rendering so that templates know each
//! image's URL and size. Output names carry a content hash so a CDN can cache them forever.
//!
//! This stage reads image headers only (never decodes pixels) and refuses anything over the
//! pixel limit before a decoder could be asked to allocate it.

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::model::ImageSource;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Images above this many pixels are refused (a decompression bomb fits in a few kilobytes).
pub const MAX_PIXELS: u64 = 50_000_000;

/// One image as the site will serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedImage {
    /// Site-relative output path, e.g. `images/bougie-sapin.3f2a1b4c5d.jpg`.
    pub out: String,
    pub width: u32,
    pub height: u32,
    pub source: PathBuf,
}

/// Indexed like [`crate::model::Site::images`].
#[derive(Clone, Debug, Default)]
pub struct ImagePlan {
    pub images: Vec<PlannedImage>,
}

pub fn plan(sources: &[ImageSource], content_root: &Path) -> (ImagePlan, Diagnostics) {
    let results: Vec<Result<PlannedImage, Diagnostic>> =
        sources.par_iter().map(|img| plan_one(img, content_root)).collect();
    let mut plan = ImagePlan::default();
    let mut diags = Diagnostics::default();
    for r in results {
        match r {
            Ok(p) => plan.images.push(p),
            Err(d) => diags.push(d),
        }
    }
    (plan, diags)
}

fn plan_one(img: &ImageSource, root: &Path) -> Result<PlannedImage, Diagnostic> {
    let problem = |message: String, hint: Option<&str>| Diagnostic {
        severity: Severity::Error,
        path: img.origin.path.clone(),
        line: img.origin.line,
        col: img.origin.col,
        message,
        hint: hint.map(str::to_string),
    };
    let source = root.join(&img.rel);
    let bytes =
        std::fs::read(&source).map_err(|e| problem(format!("image `{}` cannot be read: {e}", img.rel), None))?;
    let size = imagesize::blob_size(&bytes).map_err(|_| {
        problem(
            format!(
                "`{}` is not a readable image (corrupt, truncated or an unsupported format)",
                img.rel
            ),
            Some("export it again as JPEG or PNG"),
        )
    })?;
    let (w, h) = (size.width as u64, size.height as u64);
    if w == 0 || h == 0 {
        return Err(problem(format!("image `{}` has no pixels", img.rel), None));
    }
    if w * h > MAX_PIXELS {
        return Err(problem(
            format!(
                "image `{}` is {w}×{h} pixels, above the {} megapixel limit",
                img.rel,
                MAX_PIXELS / 1_000_000
            ),
            Some("resize it to at most 4000 pixels wide"),
        ));
    }
    let hash = Sha256::digest(&bytes);
    let hex: String = hash.iter().take(5).map(|b| format!("{b:02x}")).collect();
    let file = img.rel.rsplit('/').next().unwrap_or(&img.rel);
    let (stem, ext) = file.rsplit_once('.').unwrap_or((file, "bin"));
    let stem = crate::yaml::slugify(stem);
    let stem = if stem.is_empty() { "image".to_string() } else { stem };
    Ok(PlannedImage {
        out: format!("images/{stem}.{hex}.{}", ext.to_ascii_lowercase()),
        width: w as u32,
        height: h as u32,
        source,
    })
}
