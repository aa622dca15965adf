//! What `chalet check` says about images that are usable but will disappoint: too small for the
//! largest slot they fill, or heavier than an artisan's upload should be.

use super::ImagePlan;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::model::{ImageRole, ImageSource};

/// Product photos and covers are shown up to 640 CSS pixels wide: 1280 device pixels on a phone.
pub const MIN_WIDTH: u32 = 1280;
/// Above this, an upload is heavier than any phone photo needs to be.
pub const SIZE_BUDGET: u64 = 10 * 1024 * 1024;

pub fn warnings(sources: &[ImageSource], plan: &ImagePlan) -> Diagnostics {
    let mut out = Diagnostics::default();
    // The first place each image is used, by path (a lookup per image: 6,200 photos made a
    // search through the list each a fifth of a rebuild).
    let mut first: std::collections::HashMap<&str, &ImageSource> =
        std::collections::HashMap::with_capacity(sources.len());
    for s in sources {
        first.entry(s.rel.as_str()).or_insert(s);
    }
    for p in &plan.images {
        let Some(src) = first.get(p.rel.as_str()) else {
            continue;
        };
        let mut warn = |message: String, hint: &str| {
            out.push(Diagnostic {
                severity: Severity::Warning,
                path: src.origin.path.clone(),
                line: src.origin.line,
                col: src.origin.col,
                message,
                hint: Some(hint.to_string()),
            })
        };
        if matches!(src.role, ImageRole::Product | ImageRole::Cover) && p.info.width < MIN_WIDTH {
            warn(
                format!(
                    "image `{}` is {} pixels wide; it will look soft on large screens",
                    p.rel, p.info.width
                ),
                "use a photo at least 1280 pixels wide",
            );
        }
        if p.info.size > SIZE_BUDGET {
            warn(
                format!("image `{}` is {:.1} MB", p.rel, p.info.size as f64 / 1_048_576.0),
                "10 MB is plenty: export at a lower quality or size to keep uploads quick",
            );
        }
    }
    out
}
