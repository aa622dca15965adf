//! `chalet check` on a content folder given in memory — what the application form runs in the
//! artisan's browser, compiled to WebAssembly (`form/`). The same stages in the same order as
//! the build's checks: [`validate`](crate::validate) then the image plan and its warnings, each
//! the very function `chalet check` calls, so the form says what the command line says.

use crate::diagnostic::Diagnostics;
use crate::images::{ImagePlan, checks, plan};
use crate::load::ContentFiles;
use crate::model::Site;
use crate::render::{Content, OutputFile};
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

/// The chalet's pages as the site would show them: its page and each product's, rendered by
/// the market's own templates (what the form's live preview shows).
#[derive(Debug)]
pub struct Preview {
    /// (path of the page under the site root, HTML), the chalet's page first.
    pub pages: Vec<(String, String)>,
    /// Each image derivative the pages name (`images/…`), with the photo it is made from
    /// (its path in the content folder): in the browser the photo itself stands in for it.
    pub images: BTreeMap<String, String>,
    pub diags: Diagnostics,
}

/// Checks `files` like [`check`] and, when nothing is wrong, renders every chalet's pages with
/// `theme`. Errors are the same diagnostics as `chalet check`'s.
pub fn preview(
    files: &ContentFiles,
    photos: &BTreeMap<String, Vec<u8>>,
    theme: &crate::theme::Theme,
) -> Result<Preview, Diagnostics> {
    let Checked { site, plan, diags } = check(files, photos);
    let Some(site) = site else { return Err(diags) };
    let renderer = crate::render::Renderer::new(&site, theme, &plan)?;
    let mut pages = Vec::new();
    let mut errors = Diagnostics::default();
    for kind in crate::routes::chalet_pages(&site) {
        match renderer.render_page(kind) {
            Ok(OutputFile {
                content: Content::Bytes(html),
                ..
            }) => pages.push((kind.route(&site).path(), String::from_utf8_lossy(&html).into_owned())),
            Ok(_) => {}
            Err(d) => errors.push(d),
        }
    }
    if errors.has_errors() {
        return Err(errors);
    }
    let images = plan
        .images
        .iter()
        .flat_map(|i| i.named().map(|(_, n)| (n.out, i.rel.clone())))
        .collect();
    Ok(Preview { pages, images, diags })
}
