//! Stage 4: data + templates → files in memory. Pure: nothing here reads or writes the disk,
//! so the whole output can be snapshot-tested and, later, re-rendered page by page.
//!
//! - [`view`]: the serialisable views templates receive.
//! - [`data`]: JSON-LD, the script's configuration and the search index.
//! - [`memo`]: each page's fingerprint, so a rebuild renders only the pages whose inputs changed.
//! - [`lists`]: the sitemap, search index and catalogue, made again only when they would change.

pub mod data;
pub mod lists;
pub mod memo;
mod templates;
pub mod view;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::images::ImagePlan;
use crate::model::{ImageId, Site};
pub use crate::routes::PageKind;
use crate::theme::Theme;
use chalet_types::routes;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use templates::{template_error, templates};
use view::Views;

/// How many other products a product page shows.
const NEIGHBOURS: usize = 4;

/// One file of the built site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// Path under the output folder, `/`-separated.
    pub path: String,
    pub content: Content,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A page whose inputs did not change since the last build: the output folder already
    /// holds it, with this hash (see [`memo`]).
    Unchanged {
        hash: u128,
    },
    /// A market-wide list made of pieces of the one the output holds and of new text (see
    /// [`lists`]).
    Spliced(crate::write::Splice),
}

/// Templates compiled once, with the market-wide values in Tera's global context.
#[derive(Debug)]
pub struct Renderer<'a> {
    site: &'a Site,
    theme: &'a Theme,
    views: Views<'a>,
    tera: tera::Tera,
    assets: Assets,
    /// The market's pages (fixed ones, categories, free pages); the chalets' are counted out
    /// by [`Renderer::pages`].
    pages: Vec<PageKind>,
    /// What every page is rendered from besides its own context and templates: global values.
    global: memo::Fingerprint,
    /// Each template's fingerprint with the templates it extends and includes.
    template_fps: rustc_hash::FxHashMap<String, u128>,
    /// Each chalet's fingerprints: its whole model and every image it shows (its page); what
    /// product pages show of it (its head and its cover and logo). A product's, with its images
    /// (its page, and the cards showing it elsewhere), is made when asked
    /// ([`Renderer::product_fingerprint`]): 20,000 of them were 0.3 MB held through a rebuild.
    chalet_fps: Vec<ChaletFingerprints>,
    /// Every chalet's head fingerprint, folded in order: what the pages listing the chalets
    /// (the square, the categories, the sellers) show of them.
    listing_fp: u128,
    /// Each image's view, fingerprinted once (from what it is made of, not made).
    image_fps: Vec<u128>,
}

#[derive(Debug)]
struct ChaletFingerprints {
    whole: u128,
    head: u128,
}

/// `digest` with the fingerprints of the images `ids` (by their place in `image_fps`).
fn with_images(image_fps: &[u128], digest: u128, ids: impl IntoIterator<Item = ImageId>) -> u128 {
    let mut f = memo::Fingerprint::default();
    f.add(&digest.to_le_bytes());
    for id in ids {
        f.add(&image_fps[id].to_le_bytes());
    }
    f.finish()
}

impl<'a> Renderer<'a> {
    pub fn new(site: &'a Site, theme: &'a Theme, images: &'a ImagePlan) -> Result<Renderer<'a>, Diagnostics> {
        let mut tera = templates(theme)?;
        let views = Views::new(site, images);
        let market = views.market();
        let assets = assets(theme, &views.root);
        let mut fp = memo::Fingerprint::default();
        fp.add(env!("CARGO_PKG_VERSION").as_bytes());
        let texts: Vec<(&str, &str)> = theme
            .templates
            .iter()
            .map(|t| (t.name.as_str(), t.file.text()))
            .collect();
        let template_fps = memo::template_fingerprints(&texts)
            .into_iter()
            .map(|(n, fp)| (n.to_string(), fp))
            .collect();
        // Views also read the market's model (language, address, categories) directly.
        fp.add_debug(&site.market);
        // Each image's view fingerprinted once (from what it is made of, not made): a chalet's
        // images are in its page's fingerprint, its head's and its products'.
        let image_fps: Vec<u128> = (0..images.images.len())
            .into_par_iter()
            .map(|id| views.image_fingerprint(id))
            .collect();
        let chalet_fps = site
            .chalets
            .par_iter()
            .map(|c| ChaletFingerprints {
                whole: with_images(&image_fps, c.digest, c.image_ids()),
                head: with_images(&image_fps, c.head, c.head_image_ids()),
            })
            .collect::<Vec<_>>();
        let mut listing = memo::Fingerprint::default();
        for c in &chalet_fps {
            listing.add(&c.head.to_le_bytes());
        }
        let listing_fp = listing.finish();
        let global = tera.global_context();
        // Into Tera's context and the fingerprint, then let go. No chalet is in it: the pages
        // that list them make their cards when they are rendered (see `Views::market`).
        put_global(global, &mut fp, "market", &market);
        drop(market);
        put_global(global, &mut fp, "assets", &assets.urls);
        put_global(global, &mut fp, "t", &theme.strings);
        put_global(global, &mut fp, "urls", &views.site_urls());
        put_global(global, &mut fp, "availability_is", &data::availability_names());
        let config = data::script_config(&views, &theme.strings);
        put_global(global, &mut fp, "config_json", &config);
        let pages = crate::routes::market_pages(site, |t| tera.contains_template(t));
        Ok(Renderer {
            site,
            theme,
            views,
            tera,
            assets,
            pages,
            global: fp,
            template_fps,
            chalet_fps,
            listing_fp,
            image_fps,
        })
    }

    /// Every page of the site, in [`crate::routes::pages`]' order. The chalets' are counted out
    /// as they are asked for, not held (21,000 at L, 0.5 MB through a rebuild).
    pub fn pages(&self) -> impl Iterator<Item = PageKind> + Clone + '_ {
        self.pages.iter().copied().chain(crate::routes::chalet_pages(self.site))
    }

    /// How many pages [`Renderer::pages`] gives.
    pub fn page_count(&self) -> usize {
        self.pages.len() + self.site.chalets.len() + self.site.product_count()
    }

    /// Where each of the theme's static files is published, as this renderer names them.
    pub fn asset_paths(&self) -> &BTreeMap<String, String> {
        &self.assets.paths
    }

    /// The page's path relative to the site root, as in its URL (`chalets/x/`, `404.html`).
    fn url_rel(&self, page: PageKind) -> String {
        page.route(self.site).path()
    }

    pub fn output_path(&self, page: PageKind) -> String {
        page.route(self.site).output()
    }

    /// Renders one page. Pure: the same page always gives the same bytes.
    pub fn render_page(&self, page: PageKind) -> Result<OutputFile, Diagnostic> {
        self.render_page_with(page, &memo::Memo::none())
    }

    /// Renders one page, or takes it from the previous build when `memo` says its inputs are
    /// unchanged (its fingerprint is recorded in `memo` either way).
    pub fn render_page_with(&self, page: PageKind, memo: &memo::Memo) -> Result<OutputFile, Diagnostic> {
        let path = self.output_path(page);
        let unchanged = |fp: u128| {
            memo.reuse(&path, fp).map(|hash| OutputFile {
                path: path.clone(),
                content: Content::Unchanged { hash },
            })
        };
        // Chalet and product pages — nearly all of them — are recognised from the model,
        // before their views are made; the few others from their context.
        let source = self.source_fingerprint(page);
        if let Some(file) = source.and_then(unchanged) {
            return Ok(file);
        }
        // Only the others' contexts need hashing.
        let fingerprint = source.is_none().then(|| self.page_base(page.template()));
        let (template, context) = self.context(page, fingerprint)?;
        if let Some(file) = context.fingerprint.as_ref().and_then(|fp| unchanged(fp.finish())) {
            return Ok(file);
        }
        match self.tera.render(template, &context.values) {
            Ok(html) => Ok(OutputFile {
                path,
                content: Content::Bytes(html.into_bytes()),
            }),
            Err(e) => Err(template_error(self.theme, template, &e)),
        }
    }

    /// A page's fingerprint from what its views are made of, for the pages whose views are
    /// costly to make: the market-wide values and its templates, and for a chalet or product
    /// page its chalet's model and images (for a product whose chalet has too few products to
    /// fill the neighbours, every chalet of the same category), for a page listing the chalets
    /// (the square, a category, the sellers) every chalet's head — their cards, their sellers
    /// and their number. `None` for the others: they are known by their context.
    fn source_fingerprint(&self, page: PageKind) -> Option<u128> {
        let mut fp = self.page_base(page.template());
        match page {
            PageKind::Chalet(ci) => fp.add(&self.chalet_fps[ci].whole.to_le_bytes()),
            PageKind::Product(ci, pi) => self.add_product_page(&mut fp, ci, pi)?,
            PageKind::Fixed(routes::Route::Home | routes::Route::Marketplace) | PageKind::Category(_) => {
                fp.add(self.url_rel(page).as_bytes());
                fp.add(&self.listing_fp.to_le_bytes());
            }
            _ => return None,
        }
        Some(fp.finish())
    }

    /// What a product page shows besides its template and the market: its chalet's head,
    /// itself, and the cards of its neighbours (which may be another chalet's) — not its
    /// siblings' descriptions. By what they are, never by their places in the market: a chalet
    /// added at the front would otherwise change every product page's fingerprint. `None` when
    /// its chalet's contents cannot be read back (its rendering says so).
    fn add_product_page(&self, fp: &mut memo::Fingerprint, ci: usize, pi: usize) -> Option<()> {
        for (cj, pj) in std::iter::once((ci, pi)).chain(self.neighbour_ids(ci, pi)) {
            fp.add(&self.chalet_fps[cj].head.to_le_bytes());
            fp.add(&self.product_fingerprint(cj, pj)?.to_le_bytes());
        }
        Some(())
    }

    /// A product's fingerprint: its digest and its images'. Another chalet's first product's
    /// (a neighbour's) is known without reading that chalet's contents.
    fn product_fingerprint(&self, ci: usize, pi: usize) -> Option<u128> {
        let print = self.site.chalets[ci].print(pi)?;
        Some(with_images(&self.image_fps, print.digest, print.images.iter().copied()))
    }

    /// Each chalet's slug with the fingerprint of its unit — its page and its products' pages
    /// ([`memo`]'s units): made of what their fingerprints ([`Renderer::source_fingerprint`])
    /// are made of, so the unit's changes when one of theirs does — without reading its
    /// products. Its whole fingerprint holds its head, each product's digest and every image it
    /// shows; what else its product pages show is the first products of other chalets of its
    /// category, when it has few of its own.
    pub fn units(&self) -> Vec<(String, u128)> {
        let chalet = self.page_base(PageKind::Chalet(0).template()).finish();
        let product = self.page_base(PageKind::Product(0, 0).template()).finish();
        self.site
            .chalets
            .par_iter()
            .enumerate()
            .map(|(ci, c)| {
                let mut fp = memo::Fingerprint::default();
                fp.add(&chalet.to_le_bytes());
                fp.add(&self.chalet_fps[ci].whole.to_le_bytes());
                fp.add(&product.to_le_bytes());
                if c.product_count > 0 {
                    // The same others for each of its products (see `neighbour_ids`).
                    for (cj, pj) in self.neighbour_ids(ci, 0).into_iter().filter(|&(cj, _)| cj != ci) {
                        fp.add(&self.chalet_fps[cj].head.to_le_bytes());
                        fp.add(&self.product_fingerprint(cj, pj).unwrap_or_default().to_le_bytes());
                    }
                }
                (c.slug.to_string(), fp.finish())
            })
            .collect()
    }

    /// What every page's fingerprint starts from: the market-wide values and its templates.
    fn page_base(&self, template: &str) -> memo::Fingerprint {
        let mut fp = self.global.clone();
        fp.add(template.as_bytes());
        let templates = self.template_fps.get(template).copied().unwrap_or_default();
        fp.add(&templates.to_le_bytes());
        fp
    }

    /// The page's template context; with `fingerprint`, every value is hashed into it too.
    /// `Err` when the contents of a chalet it shows cannot be read back
    /// ([`crate::model::Chalet::contents`]).
    fn context(
        &self,
        page: PageKind,
        fingerprint: Option<memo::Fingerprint>,
    ) -> Result<(&'static str, PageContext), Diagnostic> {
        let (site, views) = (self.site, &self.views);
        let rel = self.url_rel(page);
        let template = page.template();
        let mut ctx = PageContext {
            values: tera::Context::new(),
            fingerprint,
        };
        ctx.insert("url", views.url(&rel));
        let canonical = site.market.base_url.join(&rel);
        ctx.insert("canonical", canonical.clone());
        match page {
            PageKind::Fixed(routes::Route::Marketplace) => ctx.insert("sellers", views.sellers()?),
            PageKind::Fixed(routes::Route::Home) => ctx.insert("market", views.market_listing()?),
            PageKind::Fixed(_) => {}
            PageKind::Category(i) => {
                // Its own category as the market lists it: its cards are made once.
                let market = views.market_listing()?;
                ctx.insert("market", &market);
                ctx.insert("category", &market.categories[i]);
            }
            PageKind::Page(i) => {
                let p = &site.pages[i];
                ctx.insert(
                    "page",
                    view::Link {
                        title: p.title.clone(),
                        url: views.url(&rel),
                    },
                );
                ctx.insert("body_html", views.markdown(&p.body, pulldown_cmark::HeadingLevel::H2));
                // The artisans' page carries the application form (its kit is beside it).
                if p.slug.as_str() == routes::APPLY_PAGE {
                    ctx.insert("apply_kit", views.url(&crate::apply::kit_path()));
                }
                let description = p
                    .description
                    .clone()
                    .unwrap_or_else(|| crate::markdown::summary(p.body.text(), 155));
                ctx.insert("description", description);
            }
            PageKind::Chalet(ci) => {
                let c = &site.chalets[ci];
                ctx.insert("chalet", views.chalet(c, &*c.contents()?)?);
            }
            PageKind::Product(ci, pi) => {
                let c = &site.chalets[ci];
                let card = views.chalet_card(c)?;
                let product = views.product(c, &c.contents()?.products[pi])?;
                ctx.insert(
                    "json_ld",
                    data::product_ld(&product, &card, &canonical, site.market.currency),
                );
                ctx.insert("chalet", card);
                ctx.insert("chalet_pickup", &c.card()?.pickup);
                ctx.insert("chalet_shipping", views.shipping(c.card()?));
                ctx.insert("product", product);
                ctx.insert("neighbours", self.neighbours(ci, pi)?);
            }
        }
        Ok((template, ctx))
    }

    /// Up to [`NEIGHBOURS`] other products' cards: see [`Renderer::neighbour_ids`].
    fn neighbours(&self, ci: usize, pi: usize) -> Result<Vec<view::ProductCard>, Diagnostic> {
        let chalets = &self.site.chalets;
        self.neighbour_ids(ci, pi)
            .into_iter()
            .map(|(cj, pj)| {
                let c = &chalets[cj];
                self.views.product_card(c, &c.contents()?.products[pj])
            })
            .collect()
    }

    /// Up to [`NEIGHBOURS`] other products, as (chalet, product) indices: the chalet's own
    /// first, then the first product of each other chalet of the same category.
    fn neighbour_ids(&self, ci: usize, pi: usize) -> Vec<(usize, usize)> {
        let chalets = &self.site.chalets;
        let c = &chalets[ci];
        let mut out: Vec<_> = (0..c.product_count)
            .filter(|&j| j != pi)
            .map(|j| (ci, j))
            .take(NEIGHBOURS)
            .collect();
        if out.len() < NEIGHBOURS {
            let others = chalets
                .iter()
                .enumerate()
                .filter(|(_, o)| o.category == c.category && o.slug != c.slug && o.product_count > 0);
            out.extend(others.map(|(cj, _)| (cj, 0)).take(NEIGHBOURS - out.len()));
        }
        out
    }

    /// Everything that is not a templated page: sitemap, robots.txt, catalogue, assets, images.
    /// The paths [`Renderer::other_files`] writes, known before any is made: a first build
    /// makes the folders first.
    pub fn other_paths(&self, images: &ImagePlan) -> Vec<String> {
        let mut paths: Vec<String> = [routes::SITEMAP, routes::ROBOTS, routes::SEARCH_INDEX, routes::CATALOGUE]
            .map(String::from)
            .into();
        paths.extend(self.assets.files.iter().map(|(path, _)| path.clone()));
        paths.extend(images.images.iter().flat_map(|i| i.named().map(|(_, n)| n.out)));
        paths
    }

    /// The files besides the pages; the market's lists only when they changed since the build
    /// `memo` remembers, and then spliced from the ones in `out` when it holds them (see
    /// [`lists`]).
    pub fn other_files(&self, memo: &memo::Memo, out: Option<&Path>) -> Result<Vec<OutputFile>, Diagnostic> {
        let site = self.site;
        let base = &site.market.base_url;
        let lists = self.list_state(memo.lists())?;
        let make = |file: usize| -> Result<OutputFile, Diagnostic> {
            let path = lists::FILES[file].to_string();
            let prev = memo.lists();
            if let Some(hash) = prev.and_then(|prev| prev.unchanged(&lists, file)) {
                return Ok(OutputFile {
                    path,
                    content: Content::Unchanged { hash },
                });
            }
            if let (Some(prev), Some(out)) = (prev, out)
                && let Some(splice) = self.list_splice(file, prev, &lists, &out.join(&path))?
            {
                return Ok(OutputFile {
                    path,
                    content: Content::Spliced(splice),
                });
            }
            self.list_text(file).map(|text| bytes(&path, text))
        };
        // Each walks the whole market, apart from the others: side by side, they cost one.
        let (sitemap, (search, catalogue)) = rayon::join(|| make(0), || rayon::join(|| make(1), || make(2)));
        memo.record_lists(lists);
        let mut files = vec![
            sitemap?,
            bytes(
                routes::ROBOTS,
                format!("User-agent: *\nAllow: /\n\nSitemap: {}\n", base.join(routes::SITEMAP)),
            ),
            search?,
            catalogue?,
        ];
        // A theme file's published name carries its hash: one the output already holds is the
        // same file (the bytes are not copied again).
        for (path, i) in &self.assets.files {
            let content = match memo.kept_asset(path) {
                Some(hash) => Content::Unchanged { hash },
                None => Content::Bytes(self.theme.statics[*i].bytes()?),
            };
            files.push(OutputFile {
                path: path.clone(),
                content,
            });
        }
        // The images' derivatives are the write stage's groups, one per photo
        // ([`crate::write::Group`]), not files of their own here.
        Ok(files)
    }
}

/// A page's template context and, when it is recognised by it, its fingerprint fed as values
/// go in: everything a template sees goes through [`PageContext::insert`], so nothing escapes.
struct PageContext {
    values: tera::Context,
    fingerprint: Option<memo::Fingerprint>,
}

impl PageContext {
    fn insert<T: serde::Serialize>(&mut self, key: &'static str, value: T) {
        if let Some(fp) = &mut self.fingerprint {
            fp.add(key.as_bytes());
            fp.add_json(&value);
        }
        self.values.insert(key, &value);
    }
}

/// A market-wide value: into Tera's global context and into every page's fingerprint.
fn put_global<T: serde::Serialize + ?Sized>(
    global: &mut tera::Context,
    fp: &mut memo::Fingerprint,
    key: &'static str,
    value: &T,
) {
    fp.add(key.as_bytes());
    fp.add_json(value);
    global.insert(key, value);
}

fn bytes(path: &str, text: String) -> OutputFile {
    OutputFile {
        path: path.to_string(),
        content: Content::Bytes(text.into_bytes()),
    }
}

/// Static files with a content hash in their name, so they can be cached forever.
#[derive(Debug)]
struct Assets {
    /// Each static file's published path (`style.css` → `assets/style.<hash>.css`).
    paths: BTreeMap<String, String>,
    urls: BTreeMap<String, String>,
    /// Each static file's published path with its place in the theme's `statics`.
    files: Vec<(String, usize)>,
}

/// Where a theme's static file is published: `assets/<stem>.<hash>.<ext>`, the hash of its
/// bytes, so it can be cached forever; favicons and the like keep their names (browsers ask for
/// them by name).
pub fn asset_path(rel: &str, bytes: &[u8]) -> String {
    published_path(rel, &Sha256::digest(bytes).into())
}

/// [`asset_path`] from the bytes' SHA-256.
pub fn published_path(rel: &str, sha256: &[u8; 32]) -> String {
    let hex = crate::fs::hex(&sha256[..5]);
    match rel.rsplit_once('.') {
        Some((stem, ext)) if !rel.starts_with("favicon") => format!("{}/{stem}.{hex}.{ext}", routes::ASSETS_DIR),
        _ => rel.to_string(),
    }
}

fn assets(theme: &Theme, root: &str) -> Assets {
    // A theme from the form's kit names the files a build already published.
    let (paths, files) = match &theme.published {
        Some(published) => (published.clone(), Vec::new()),
        None => theme
            .statics
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let path = published_path(&s.rel, &s.sha256);
                ((s.rel.clone(), path.clone()), (path, i))
            })
            .unzip(),
    };
    let urls = paths
        .iter()
        .map(|(rel, path)| (rel.clone(), format!("{root}{path}")))
        .collect();
    Assets { paths, urls, files }
}
