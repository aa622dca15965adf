//! A chalet's contents — its `about` text and its products — held, or left in the validation
//! cache until a page or a list asks for them.

use super::{Card, Chalet, ImageId, Markdown, Product, ProductPrint, exact_length};
use chalet_types::Slug;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// What only a chalet's own pages and the market's lists read: its `about` text and its
/// products. A chalet taken from an earlier build leaves them in the validation cache until
/// they are asked for ([`Chalet::contents`]): at 20,000 products, a rebuild after one edit held
/// 14 MB of products it did not show.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contents {
    pub about: Option<Markdown>,
    /// Read back at its exact length: a list read from JSON grows by doubling.
    #[serde(deserialize_with = "exact_length")]
    pub products: Vec<Product>,
    /// Each product's digest, in the same order ([`Chalet::sealed`]).
    #[serde(deserialize_with = "exact_length")]
    pub digests: Vec<u128>,
}

impl Contents {
    /// The print of its product `pi`.
    pub fn print(&self, pi: usize) -> Option<ProductPrint> {
        Some(ProductPrint {
            digest: *self.digests.get(pi)?,
            images: self.products.get(pi)?.image_ids().into(),
        })
    }

    /// Renumbers its images (`ids`: the site's id of each of the chalet's own).
    fn remap(&mut self, ids: &[ImageId]) {
        let map = |id: &mut ImageId| *id = ids[*id];
        if let Some(about) = &mut self.about {
            about.images.iter_mut().for_each(|(_, id)| map(id));
        }
        for p in &mut self.products {
            p.images.iter_mut().for_each(|i| map(&mut i.id));
            p.description.images.iter_mut().for_each(|(_, id)| map(id));
        }
    }
}

/// A chalet's [`Contents`]: held, or left in the validation cache and read when asked.
#[derive(Clone, Debug, Default)]
pub enum Body {
    Held(Arc<Contents>),
    Kept(Arc<KeptContents>),
    /// A chalet read back without its body: never rendered (an error, not a panic).
    #[default]
    Missing,
}

/// Why a chalet read back without its body has no contents.
const MISSING: &str = "was read back without its products";

impl Body {
    /// Its contents; a kept chalet's read back and let go.
    fn read(&self) -> Result<Arc<Contents>, String> {
        match self {
            Body::Held(contents) => Ok(contents.clone()),
            Body::Kept(kept) => kept.read(),
            Body::Missing => Err(MISSING.into()),
        }
    }

    /// Its contents; a kept chalet's read back the first time and kept for its other pages.
    fn loaded(&self) -> Result<&Arc<Contents>, String> {
        match self {
            Body::Held(contents) => Ok(contents),
            Body::Kept(kept) => kept.loaded.get_or_init(|| kept.read()).as_ref().map_err(String::clone),
            Body::Missing => Err(MISSING.into()),
        }
    }

    /// Renumbers its images (see [`Chalet::remap`]); a kept chalet's when they are read.
    pub(super) fn remap(&mut self, ids: &[ImageId]) {
        match self {
            Body::Held(contents) => Arc::make_mut(contents).remap(ids),
            Body::Kept(kept) => {
                // Its own numbering, or one given by an earlier build of this process: composed.
                let ids = if kept.ids.is_empty() {
                    ids.to_vec()
                } else {
                    kept.ids.iter().map(|&i| ids[i]).collect()
                };
                *kept = Arc::new(KeptContents {
                    body: kept.body.clone(),
                    ids,
                    loaded: OnceLock::new(),
                });
            }
            Body::Missing => {}
        }
    }
}

/// A chalet's [`Card`]: held, or left in the validation cache and read when asked.
#[derive(Clone, Debug, Default)]
pub enum CardPart {
    Held(Arc<Card>),
    Kept(Arc<KeptCard>),
    /// A chalet read back without its card: never shown (an error, not a panic).
    #[default]
    Missing,
}

/// The card of a chalet taken from the validation cache.
#[derive(Debug)]
pub struct KeptCard {
    part: crate::source::KeptBody,
    /// Once a page or a list asked ([`Chalet::card`]); boxed, so a card not asked for takes
    /// no room for one.
    loaded: OnceLock<Result<Box<Card>, String>>,
}

impl KeptCard {
    #[cfg(test)]
    pub fn is_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }
}

/// The contents of a chalet taken from the validation cache.
#[derive(Debug)]
pub struct KeptContents {
    body: crate::source::KeptBody,
    /// The site's id of each of the chalet's own images (empty: the same numbering).
    ids: Vec<ImageId>,
    /// Once one of its pages asked ([`Chalet::contents`]).
    loaded: OnceLock<Result<Arc<Contents>, String>>,
}

impl KeptContents {
    #[cfg(test)]
    pub fn is_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    fn read(&self) -> Result<Arc<Contents>, String> {
        if let Some(loaded) = self.loaded.get() {
            return loaded.clone();
        }
        let mut contents: Contents = self.body.decode()?;
        if !self.ids.is_empty() {
            contents.remap(&self.ids);
        }
        Ok(Arc::new(contents))
    }
}

impl Chalet {
    /// Its contents for a page: read back from the validation cache the first time for a kept
    /// chalet, and kept for its other pages. `Err` when they, or a text they show, cannot be
    /// had as they were validated (another build replaced them meanwhile).
    pub fn contents(&self) -> Result<Arc<Contents>, crate::diagnostic::Diagnostic> {
        let contents = self
            .body
            .loaded()
            .map_err(|message| unreadable(&self.source, message))?;
        let files = contents
            .about
            .iter()
            .chain(contents.products.iter().map(|p| &p.description));
        for md in files {
            md.file
                .readable()
                .map_err(|message| unreadable(&md.file.display(), message))?;
        }
        Ok(contents.clone())
    }

    /// The slug of its product `pi` (its page's address); `None` when its contents cannot be
    /// read back, which the page's rendering reports.
    pub fn product_slug(&self, pi: usize) -> Option<&Slug> {
        Some(&self.body.loaded().ok()?.products.get(pi)?.sku.product)
    }

    /// The print of its product `pi`: its first product's without reading its contents.
    pub fn print(&self, pi: usize) -> Option<ProductPrint> {
        match pi {
            0 => self.first.clone(),
            _ => self.body.loaded().ok()?.print(pi),
        }
    }

    /// Its contents for the market's lists, which read every chalet once and no text: a kept
    /// chalet's are read and let go.
    pub fn read_contents(&self) -> Result<Arc<Contents>, crate::diagnostic::Diagnostic> {
        self.body.read().map_err(|message| unreadable(&self.source, message))
    }

    /// Its contents when this build validated it (what the validation cache keeps).
    pub fn held(&self) -> Option<&Contents> {
        match &self.body {
            Body::Held(c) => Some(c),
            _ => None,
        }
    }

    /// Its card: read back from the validation cache the first time for a kept chalet, and
    /// kept. `Err` when it cannot be had as validated (another build replaced it meanwhile).
    pub fn card(&self) -> Result<&Card, crate::diagnostic::Diagnostic> {
        match &self.card {
            CardPart::Held(card) => Ok(card.as_ref()),
            CardPart::Kept(kept) => match kept.loaded.get_or_init(|| kept.part.decode().map(Box::new)) {
                Ok(card) => Ok(&**card),
                Err(e) => Err(e.clone()),
            },
            CardPart::Missing => Err("was read back without its card".to_string()),
        }
        .map_err(|message| unreadable(&self.source, message))
    }

    /// Its card when this build validated it (what the validation cache keeps).
    pub fn held_card(&self) -> Option<&Card> {
        match &self.card {
            CardPart::Held(card) => Some(card),
            _ => None,
        }
    }

    /// A chalet read back from the validation cache gets its contents and its card from there.
    pub fn keep_in(&mut self, [body, card]: [crate::source::KeptBody; 2]) {
        self.body = Body::Kept(Arc::new(KeptContents {
            body,
            ids: Vec::new(),
            loaded: OnceLock::new(),
        }));
        self.card = CardPart::Kept(Arc::new(KeptCard {
            part: card,
            loaded: OnceLock::new(),
        }));
    }
}

/// A chalet's contents, or a text of theirs, that cannot be had as validated.
fn unreadable(path: &str, message: String) -> crate::diagnostic::Diagnostic {
    crate::diagnostic::Diagnostic {
        severity: crate::diagnostic::Severity::Error,
        path: path.to_string(),
        line: 1,
        col: 1,
        message,
        hint: Some("build again: this build did not see the file as it is now".into()),
    }
}
