//! Stage 2: turn the loaded files into the typed [`Site`], collecting every problem.
//!
//! Pure: it reads only [`ContentFiles`] (texts in memory, other files as a listing), so it can
//! be run on an upload before anything is written, and re-run per file for incremental builds.
//!
//! - [`market`]: reads `market.yaml`
//! - [`chalet`]: reads `chalets/<slug>/chalet.yaml`, `about.md`, `products/*.md`
//! - [`pages`]: reads `pages/*.md`
//! - [`paths`]: resolves image references inside the content folder

mod chalet;
mod legal;
mod market;
mod pages;
pub mod paths;
mod personalisation;
pub mod reuse;

#[cfg(feature = "native")]
pub(crate) use chalet::probably_meant;
/// The fields each part of the content may have: what the readers accept and the JSON Schemas
/// list (`crate::schema`).
pub(crate) mod fields {
    pub(crate) use super::chalet::{
        CHALET_FIELDS, CONTACT_FIELDS, FULFILMENT_FIELDS, IMAGE_FIELDS, PERSONALISATION_FIELDS, PRODUCT_FIELDS,
        SHIPPING_FIELDS, VOUCHER_FIELDS,
    };
    pub(crate) use super::legal::{PAYOUTS_FIELDS, TRADER_FIELDS};
    pub(crate) use super::market::{
        CATEGORY_FIELDS, IMAGE_SETTINGS_FIELDS, MARKET_FIELDS, ORGANISER_FIELDS, REGISTRATION_FIELDS, SPONSOR_FIELDS,
    };
}

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::frontmatter;
use crate::load::ContentFiles;
use crate::markdown;
use crate::model::{ImageId, ImageRole, ImageSource, Markdown, Origin, Site};
use crate::source::SourceFile;
use crate::yaml::{self, Embed, Node, Pos, Reader};
use std::collections::HashMap;
use std::sync::Arc;

/// What validation yields: the site when there is no error, and in any case every image the
/// content references (so image problems are reported together with everything else).
#[derive(Debug)]
pub struct Validated {
    pub site: Option<Site>,
    pub images: Vec<ImageSource>,
    pub diags: Diagnostics,
    /// The chalets validated afresh that a later build may take again, by folder.
    pub fresh: Vec<(String, reuse::Entry)>,
}

/// Validates everything; returns the site only when there is no error (warnings allowed).
pub fn validate(files: &ContentFiles) -> Validated {
    validate_reusing(files, reuse::Reuse::default())
}

/// [`validate`], taking the chalets `reuse` holds instead of validating them again (their
/// files need not even be read).
pub fn validate_reusing(files: &ContentFiles, reuse: reuse::Reuse) -> Validated {
    let mut v = Validator {
        files,
        diags: Diagnostics::default(),
        images: Vec::new(),
        image_ids: HashMap::new(),
    };
    for r in &files.refused {
        v.file_error(&r.rel, r.message.clone(), r.hint.clone());
    }
    let market = market::validate(&mut v);
    let rules = market.as_ref().map_or(
        chalet::MarketRules {
            categories: &[],
            shipping_countries: &[],
            opens: None,
        },
        chalet::MarketRules::of,
    );
    // Only when `market.yaml` validates does the key hold, and only then is anything taken.
    let reuse = if market.is_some() { reuse } else { Default::default() };
    let (chalets, fresh) = chalet::validate_all(&mut v, rules, reuse);
    let pages = pages::validate_all(&mut v);
    v.unused_entries();
    let Validator { mut diags, images, .. } = v;
    let site = match market {
        Some(market) if !diags.has_errors() => Some(Site {
            market,
            chalets,
            pages,
            images: images.clone(),
        }),
        _ => None,
    };
    // Two sources writing one file would silently overwrite each other: refuse the site.
    let clashes = site.as_ref().map(crate::routes::collisions).unwrap_or_default();
    let site = site.filter(|_| clashes.is_empty());
    clashes.into_iter().for_each(|d| diags.push(d));
    Validated {
        site,
        images,
        diags,
        fresh,
    }
}

/// Shared state while validating: the files, the problems, the images referenced so far.
pub(crate) struct Validator<'a> {
    files: &'a ContentFiles,
    diags: Diagnostics,
    images: Vec<ImageSource>,
    image_ids: HashMap<String, ImageId>,
}

impl<'a> Validator<'a> {
    fn new(files: &'a ContentFiles) -> Validator<'a> {
        Validator {
            files,
            diags: Diagnostics::default(),
            images: Vec::new(),
            image_ids: HashMap::new(),
        }
    }

    /// Takes in an image found by another validator; the same file always gets the same id.
    fn adopt_image(&mut self, img: ImageSource) -> ImageId {
        if let Some(&id) = self.image_ids.get(&img.rel) {
            return id;
        }
        let id = self.images.len();
        self.image_ids.insert(img.rel.clone(), id);
        self.images.push(img);
        id
    }

    fn file_error(&mut self, rel: &str, message: String, hint: Option<String>) {
        self.diag(Severity::Error, rel, Pos { line: 1, col: 1 }, message, hint);
    }

    fn file_warning(&mut self, rel: &str, message: String, hint: Option<String>) {
        self.diag(Severity::Warning, rel, Pos { line: 1, col: 1 }, message, hint);
    }

    fn diag(&mut self, severity: Severity, rel: &str, pos: Pos, message: String, hint: Option<String>) {
        self.diags.push(Diagnostic {
            severity,
            path: self.files.display(rel),
            line: pos.line,
            col: pos.col,
            message,
            hint,
        });
    }

    fn text(&self, rel: &str) -> Option<&'a Arc<SourceFile>> {
        self.files.texts.get(rel)
    }

    /// Parses a whole YAML file.
    fn yaml_file(&mut self, file: &SourceFile) -> Option<Node> {
        yaml::parse(file, file.text(), Embed::default(), &mut self.diags)
    }

    /// Splits a Markdown file; returns its front matter tree and its body.
    fn markdown_file(&mut self, file: &'a Arc<SourceFile>, example: &str) -> Option<(Node, Markdown)> {
        let split = match frontmatter::split(file.text()) {
            Ok(s) => s,
            Err(frontmatter::SplitError::Missing) => {
                self.file_error(
                    &file.rel,
                    "this file must start with front matter between two `---` lines".into(),
                    Some(format!("start the file with:\n---\n{example}\n---")),
                );
                return None;
            }
            Err(frontmatter::SplitError::Unclosed) => {
                self.file_error(
                    &file.rel,
                    "the front matter is never closed".into(),
                    Some("add a line `---` after the last field".into()),
                );
                return None;
            }
        };
        let node = yaml::parse(
            file,
            split.yaml,
            Embed {
                offset: split.yaml_offset,
            },
            &mut self.diags,
        )?;
        let body = self.markdown_body(file, split.body_offset, split.body.len());
        Some((node, body))
    }

    /// A Markdown text with its images resolved relative to its file.
    /// The model shares the listing's file (a clone of every text was half a clean build's
    /// texts in memory, and all of `serve`'s).
    fn markdown_body(&mut self, file: &Arc<SourceFile>, offset: usize, len: usize) -> Markdown {
        let text = &file.text()[offset..offset + len];
        let mut images = Vec::new();
        // Too deep or too many images: refused here, never rendered (rendering such text is
        // quadratic), and its images are not even resolved.
        let refs = match markdown::scan(text) {
            Ok(refs) => refs,
            Err((at, message, hint)) => {
                let (line, col) = file.position(offset + at);
                self.diag(Severity::Error, &file.rel, Pos { line, col }, message, Some(hint));
                Vec::new()
            }
        };
        for (dest, at) in refs {
            let (line, col) = file.position(offset + at);
            if let Some(id) = self.image_ref(&file.rel, &dest, Pos { line, col }, ImageRole::Inline) {
                images.push((dest, id));
            }
        }
        Markdown {
            file: file.clone(),
            offset,
            len,
            images,
        }
    }

    fn reader(&mut self, file: &'a SourceFile) -> Reader<'_> {
        Reader {
            file,
            diags: &mut self.diags,
        }
    }

    /// An image named in `from` (a file relative to the content root): it must be an image file
    /// inside the content folder. Returns its id; the same file always gets the same id.
    fn image_ref(&mut self, from: &str, reference: &str, pos: Pos, role: ImageRole) -> Option<ImageId> {
        let resolved = match paths::resolve_image(self.files, from, reference) {
            Ok(rel) => rel,
            Err(problem) => {
                let (message, hint) = problem.explain(reference);
                self.diag(Severity::Error, from, pos, message, hint);
                return None;
            }
        };
        if let Some(&id) = self.image_ids.get(&resolved) {
            return Some(id);
        }
        let id = self.images.len();
        let origin = Origin {
            path: self.files.display(from),
            line: pos.line,
            col: pos.col,
        };
        let meta = self.files.others.get(&resolved).unwrap_or_default();
        self.images.push(ImageSource {
            rel: resolved.clone(),
            origin,
            role,
            len: meta.len,
            mtime_ns: meta.mtime_ns,
        });
        self.image_ids.insert(resolved, id);
        Some(id)
    }

    /// Files at the top level that nothing reads are probably misplaced: say so.
    fn unused_entries(&mut self) {
        let known = ["market.yaml", "chalets/", "pages/", "sponsors/", "images/"];
        let stray: Vec<String> = self
            .files
            .text_stamps
            .keys()
            .filter(|rel| !known.iter().any(|k| *rel == *k || rel.starts_with(k)))
            .map(str::to_string)
            .collect();
        for rel in stray {
            self.file_warning(
                &rel,
                "this file is not part of the market and is ignored".into(),
                Some("chalets go in chalets/<slug>/, free pages in pages/<slug>.md".into()),
            );
        }
    }
}

/// Only `market.yaml`, for tools that need the categories without judging every chalet.
pub fn market_only(files: &ContentFiles) -> Option<crate::model::Market> {
    let mut v = Validator {
        files,
        diags: Diagnostics::default(),
        images: Vec::new(),
        image_ids: HashMap::new(),
    };
    market::validate(&mut v)
}
