//! Every page of the site and the file it is written to, through `chalet_types::routes` (the one
//! definition the checkout function and the theme's script share). Rendering, the sitemap,
//! `catalogue.json`, the search index and deploy's classification all ask here; so does the
//! collision check, which makes two sources claiming one output file an error instead of a
//! silent overwrite.

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{Origin, Site};
use chalet_types::routes::{self, Route};

/// One page of the site, as a small descriptor: its context is built only when it is rendered,
/// so memory stays flat however many products the market has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// One of [`Route::FIXED`]. The pages the theme's script fills in (basket, order
    /// confirmation, search results) are rendered only when the theme has their template.
    Fixed(Route<'static>),
    Category(usize),
    Page(usize),
    Chalet(usize),
    Product(usize, usize),
}

impl PageKind {
    /// The page's route, with the slugs it needs from the site.
    pub fn route(self, site: &Site) -> Route<'_> {
        match self {
            PageKind::Fixed(route) => route,
            PageKind::Category(i) => Route::Category(&site.market.categories[i].slug),
            PageKind::Page(i) => Route::Page(&site.pages[i].slug),
            PageKind::Chalet(ci) => Route::Chalet(&site.chalets[ci].slug),
            PageKind::Product(ci, pi) => {
                let c = &site.chalets[ci];
                Route::Product {
                    chalet: &c.slug,
                    // Contents that cannot be read back: rendering the page reports it.
                    product: c.product_slug(pi).unwrap_or(&c.slug),
                }
            }
        }
    }

    /// The chalet whose unit it belongs to: its page and its products'.
    pub fn chalet(self) -> Option<usize> {
        match self {
            PageKind::Chalet(ci) | PageKind::Product(ci, _) => Some(ci),
            _ => None,
        }
    }

    /// The template that renders it.
    pub fn template(self) -> &'static str {
        match self {
            PageKind::Fixed(Route::Home) => "index.html",
            PageKind::Fixed(Route::Sponsors) => "sponsors.html",
            PageKind::Fixed(Route::NotFound) => "404.html",
            PageKind::Fixed(Route::Basket) => "basket.html",
            PageKind::Fixed(Route::Order) => "order.html",
            PageKind::Fixed(Route::Search) => "search.html",
            PageKind::Fixed(Route::Marketplace) => "marketplace.html",
            PageKind::Fixed(Route::Accessibility) => "accessibility.html",
            PageKind::Fixed(Route::Withdrawal) => "withdrawal.html",
            PageKind::Fixed(Route::Workshop) => "atelier.html",
            PageKind::Fixed(Route::VoucherDesk) => "atelier-bons.html",
            PageKind::Fixed(_) => "page.html",
            PageKind::Category(_) => "category.html",
            PageKind::Page(_) => "page.html",
            PageKind::Chalet(_) => "chalet.html",
            PageKind::Product(..) => "product.html",
        }
    }

    /// Pages a search engine should list (the script-filled ones say nothing without a shopper).
    pub fn in_sitemap(self) -> bool {
        !matches!(
            self,
            PageKind::Fixed(
                Route::NotFound | Route::Basket | Route::Order | Route::Search | Route::Workshop | Route::VoucherDesk
            )
        )
    }
}

/// Every page of the site, in a stable order. The script-filled pages only when the theme has
/// their template; built-in pages come first, so a content page colliding with one is the
/// one reported.
pub fn pages(site: &Site, has_template: impl Fn(&str) -> bool) -> Vec<PageKind> {
    let mut pages = market_pages(site, has_template);
    pages.reserve_exact(site.chalets.len() + site.product_count());
    pages.extend(chalet_pages(site));
    pages
}

/// The chalets' pages, in [`pages`]' order: each chalet's own, then its products'.
pub fn chalet_pages(site: &Site) -> impl Iterator<Item = PageKind> + Clone + '_ {
    site.chalets.iter().enumerate().flat_map(|(ci, c)| {
        std::iter::once(PageKind::Chalet(ci)).chain((0..c.product_count).map(move |pi| PageKind::Product(ci, pi)))
    })
}

/// The pages besides the chalets' (the fixed ones, categories, free pages), in [`pages`]' order.
pub fn market_pages(site: &Site, has_template: impl Fn(&str) -> bool) -> Vec<PageKind> {
    // Home, sponsors and 404 always; the script-filled and legal pages when the theme has them.
    let mut pages: Vec<PageKind> = Route::FIXED.into_iter().map(PageKind::Fixed).collect();
    pages.retain(|p| {
        let optional = matches!(
            p,
            PageKind::Fixed(
                Route::Basket
                    | Route::Order
                    | Route::Search
                    | Route::Marketplace
                    | Route::Accessibility
                    | Route::Withdrawal
                    | Route::Workshop
                    | Route::VoucherDesk
            )
        );
        !optional || has_template(p.template())
    });
    pages.extend((0..site.market.categories.len()).map(PageKind::Category));
    pages.extend((0..site.pages.len()).map(PageKind::Page));
    pages
}

/// The site's pages by their places in [`pages`]' order, the chalets' counted out rather than
/// listed (21,000 at L were 0.5 MB).
#[derive(Debug)]
pub struct Places {
    market: Vec<PageKind>,
    /// Where each chalet's run of pages (its own, then its products') begins.
    starts: Vec<usize>,
}

impl Places {
    pub fn new(site: &Site, has_template: impl Fn(&str) -> bool) -> Places {
        let market = market_pages(site, has_template);
        let starts = site
            .chalets
            .iter()
            .scan(market.len(), |next, c| {
                let start = *next;
                *next += 1 + c.product_count;
                Some(start)
            })
            .collect();
        Places { market, starts }
    }

    /// The page at place `p` (below [`pages`]' length).
    pub fn get(&self, p: usize) -> PageKind {
        if p < self.market.len() {
            return self.market[p];
        }
        let ci = self.starts.partition_point(|&s| s <= p) - 1;
        match p - self.starts[ci] {
            0 => PageKind::Chalet(ci),
            n => PageKind::Product(ci, n - 1),
        }
    }
}

/// Who wants to write an output file.
#[derive(Clone, Debug)]
enum Claim {
    Builtin(&'static str),
    Content { origin: Origin, what: String },
}

fn claim(site: &Site, page: PageKind) -> Claim {
    if let Some(name) = page.route(site).builtin_name() {
        return Claim::Builtin(name);
    }
    let at = |path: &str| Origin {
        path: path.to_string(),
        line: 1,
        col: 1,
    };
    match page {
        PageKind::Category(i) => {
            let c = &site.market.categories[i];
            Claim::Content {
                origin: c.origin.clone(),
                what: format!("category `{}`", c.slug),
            }
        }
        PageKind::Page(i) => {
            let p = &site.pages[i];
            Claim::Content {
                origin: at(&p.body.file.display()),
                what: format!("page `{}`", p.slug),
            }
        }
        PageKind::Chalet(ci) => {
            let c = &site.chalets[ci];
            Claim::Content {
                origin: at(&c.source),
                what: format!("chalet `{}`", c.slug),
            }
        }
        PageKind::Product(ci, pi) => {
            // Its file is in its chalet's contents (read only now, when two paths meet).
            let c = &site.chalets[ci];
            let contents = c.read_contents().ok();
            let product = contents.as_ref().and_then(|b| b.products.get(pi));
            Claim::Content {
                origin: at(&product.map_or(c.source.clone(), |p| p.description.file.display())),
                what: format!(
                    "product `{}`",
                    product.map_or(c.slug.to_string(), |p| p.sku.to_string())
                ),
            }
        }
        _ => Claim::Builtin("a page of the market"),
    }
}

/// Two sources that would be written to one file (compared without case, since the site may be
/// built or served on a case-insensitive disk), as positioned errors at the content that loses.
/// Every page kind is checked, and the root files (`sitemap.xml`, `catalogue.json`, …) too.
pub fn collisions(site: &Site) -> Vec<Diagnostic> {
    // Who wrote each file first, by lowercased output path (`None`: a file the market writes
    // itself); what a page claims is only spelled out when two meet.
    // Every script-filled page counts, whether or not this theme renders it.
    let places = Places::new(site, |_| true);
    // Each path by the hash of its lowered form (20,000 paths at 1,000 chalets, kept as strings,
    // were megabytes); when two hashes meet, the paths themselves are compared.
    fn lowered(output: &str) -> std::borrow::Cow<'_, str> {
        // Slugs are lower-case already: most paths need no lowered copy.
        if output.bytes().any(|b| !b.is_ascii() || b.is_ascii_uppercase()) {
            output.to_lowercase().into()
        } else {
            output.into()
        }
    }
    let builtins = [routes::SITEMAP, routes::ROBOTS, routes::CATALOGUE, routes::SEARCH_INDEX];
    // Every claim as its lowered path's hash (32 bits: two paths sharing one are compared, not
    // confused) above its place (the built-in files first, then the pages in order), sorted:
    // claims on one file sit together, the first writer first. One `u64` a claim, not a map.
    let claimant = |i: usize| -> Result<PageKind, &str> {
        match i.checked_sub(builtins.len()) {
            Some(p) => Ok(places.get(p)),
            None => Err(builtins[i]),
        }
    };
    let output_of = |c: Result<PageKind, &str>| c.map_or_else(str::to_string, |p| p.route(site).output());
    let key = |output: &str| xxhash_rust::xxh3::xxh3_64(lowered(output).as_bytes()) >> 32;
    let pages = places.market.iter().copied().chain(chalet_pages(site));
    // A product's page is `chalets/<chalet>/<product>/`: its chalet's folder name and its own
    // file's, both lower-case slugs, and no fixed page is that deep (test below). Only another
    // product of its own folder could have its address, and a chalet taken from the validation
    // cache is the folder an earlier build checked: its products are not read back for this.
    let checked = |p: &PageKind| match p {
        PageKind::Product(ci, _) => site.chalets[*ci].held().is_some(),
        _ => true,
    };
    let mut keys: Vec<u64> = builtins
        .iter()
        .map(|f| Some(f.to_string()))
        .chain(pages.map(|p| checked(&p).then(|| p.route(site).output())))
        .enumerate()
        .filter_map(|(i, output)| {
            Some((key(&output?) << 32) | u64::from(u32::try_from(i).expect("fewer than 4 billion pages")))
        })
        .collect();
    keys.sort_unstable();
    let place = |k: u64| (k & u64::from(u32::MAX)) as usize;
    let mut out = Vec::new();
    for (n, &k) in keys.iter().enumerate() {
        let hash = k >> 32;
        let earlier = keys[..n].iter().rev().take_while(|e| *e >> 32 == hash);
        let Some(Ok(page)) = (n > 0 && keys[n - 1] >> 32 == hash).then(|| claimant(place(k))) else {
            continue;
        };
        let output = page.route(site).output();
        // Two paths with one hash are not one file: the first earlier claim on this very file.
        let Some(first) = earlier
            .map(|&e| claimant(place(e)))
            .filter(|c| lowered(&output_of(*c)) == lowered(&output))
            .last()
        else {
            continue;
        };
        let first = first.ok();
        let Claim::Content { origin, what } = claim(site, page) else {
            continue; // two built-ins never collide; the route tests guard that
        };
        let old = first.map_or(Claim::Builtin("a file the market writes itself"), |p| claim(site, p));
        let (message, hint) = match old {
            Claim::Builtin(name) => (
                format!("{what} would be written to `{output}`, which is {name}"),
                "rename it: that address belongs to the market".to_string(),
            ),
            Claim::Content {
                origin: first,
                what: first_what,
            } => (
                format!("{what} would be written to `{output}`, which {first_what} already writes"),
                format!(
                    "{first_what} is at {}:{}:{}; rename one of them",
                    first.path, first.line, first.col
                ),
            ),
        };
        out.push(Diagnostic {
            severity: Severity::Error,
            path: origin.path,
            line: origin.line,
            col: origin.col,
            message,
            hint: Some(hint),
        });
    }
    out
}
