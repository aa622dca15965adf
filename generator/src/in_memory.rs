//! `chalet check` on a content folder given in memory — what the application form runs in the
//! artisan's browser, compiled to WebAssembly (`form/`). The same stages in the same order as
//! the build's checks: [`validate`](crate::validate) then the image plan and its warnings, each
//! the very function `chalet check` calls, so the form says what the command line says.

use crate::diagnostic::Diagnostics;
use crate::images::{ImagePlan, checks, plan};
use crate::load::ContentFiles;
use crate::model::Site;
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct Checked {
    /// The site, when the content has no errors.
    pub site: Option<Site>,
    pub plan: ImagePlan,
    pub diags: Diagnostics,
}

/// Checks `files`, reading photos from `photos` (by path relative to the content folder).
pub fn check(files: &ContentFiles, photos: &BTreeMap<String, Vec<u8>>) -> Checked {
    let validated = crate::validate::validate(files);
    let mut diags = validated.diags;
    let settings = validated
        .site
        .as_ref()
        .map(|s| s.market.images.clone())
        .unwrap_or_default();
    let (plan, d) = plan::plan_in_memory(&validated.images, photos, &settings);
    diags.extend(d);
    diags.extend(checks::warnings(&validated.images, &plan));
    let site = validated.site.filter(|_| !diags.has_errors());
    Checked { site, plan, diags }
}
