//! The site's addresses, defined once: every page kind's path, the files beside the pages, the
//! names a free page may not take, and the URLs the checkout function sends shoppers back to.
//! The generator renders, lists and checks its outputs through this module; the function builds
//! its Stripe success and cancel URLs from it; the theme's script gets its route templates from
//! the configuration the generator writes from it. Nothing else spells a site path.

use crate::{Sku, Slug};
use std::fmt;

/// Where chalet pages live: `chalets/<chalet>/`, products below them.
pub const CHALETS: &str = "chalets";
const CATEGORIES: &str = "categories";
const SPONSORS: &str = "sponsors";
const BASKET: &str = "basket";
const ORDER: &str = "order";
const SEARCH: &str = "search";
// The pages the law asks for: how the marketplace works, the accessibility statement, and the
// right of withdrawal with its model form.
const MARKETPLACE: &str = "marketplace";
const ACCESSIBILITY: &str = "accessibility";
const WITHDRAWAL: &str = "withdrawal";
/// The artisans' page: a chalet's orders, opened by its private link (`#chalet=…&token=…`).
const WORKSHOP: &str = "atelier";
/// Below it, where a restaurant's staff honour vouchers (the same link's fragment).
const VOUCHER_DESK: &str = "bons";
const NOT_FOUND: &str = "404.html";

/// Files at the site root besides the pages.
pub const SITEMAP: &str = "sitemap.xml";
pub const ROBOTS: &str = "robots.txt";
pub const CATALOGUE: &str = "catalogue.json";
pub const SEARCH_INDEX: &str = "search.json";
/// Hashed theme files and image derivatives: immutable, cached forever.
pub const ASSETS_DIR: &str = "assets";
pub const IMAGES_DIR: &str = "images";
/// The path CloudFront forwards to the checkout function.
pub const API_DIR: &str = "api";
/// The free page artisans register from (`content/pages/exposer.md`); the registration
/// payment returns there.
pub const APPLY_PAGE: &str = "exposer";

// The checkout function's endpoints, relative to its base URL (`checkout_url`, e.g. `/api`).
// The function's router is built from these, and the theme's script gets them in its
// configuration; `{session_id}` is filled in by the caller.
crate::wire_enum! {
    /// One endpoint of the function; `as_str()` is its path (axum's `{param}` syntax).
    pub enum Endpoint {
        Health = "/health",
        Checkout = "/checkout",
        /// Gives a reservation's stock back at once (the shopper left Stripe's page).
        Cancel = "/checkout/{reservation}/cancel",
        Webhook = "/webhook",
        Order = "/orders/{session_id}",
        Availability = "/availability",
        Registrations = "/registrations",
        /// An artisan's application: a registration paid with its chalet's zip uploaded.
        Applications = "/applications",
        /// A chalet's orders, behind its private link's token (`?token=`); also as CSV.
        ChaletOrders = "/chalets/{slug}/orders",
        ChaletOrdersCsv = "/chalets/{slug}/orders.csv",
        /// The artisan says a share is ready for pickup or shipped (with its link's token).
        Handover = "/chalets/{slug}/orders/{order}/handover",
        /// The staff PIN a restaurant sets (with its link's token) for its waiters to redeem
        /// vouchers with: `GET` whether one is set, `POST {pin}` sets it, `POST {pin: null}` ends it.
        StaffPin = "/chalets/{slug}/pin",
        /// A restaurant honours a voucher (with its chalet's token or staff PIN), or takes that back.
        RedeemVoucher = "/vouchers/{code}/redeem",
        UndoVoucher = "/vouchers/{code}/undo",
        /// The public key vouchers' QR codes are signed with (Ed25519).
        VoucherKey = "/vouchers/key",
    }
}

/// Query parameters of the pages Stripe sends shoppers back to.
pub const SESSION_PARAM: &str = "session_id";
pub const CANCELLED_PARAM: &str = "cancelled";
/// The query parameter of the page a paid registration returns to (the application form's).
pub const REGISTERED_PARAM: &str = "inscription";

/// One page of the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    Home,
    Sponsors,
    NotFound,
    Basket,
    Order,
    Search,
    Marketplace,
    Accessibility,
    Withdrawal,
    Workshop,
    VoucherDesk,
    Category(&'a Slug),
    Page(&'a Slug),
    Chalet(&'a Slug),
    /// A product's page, by its chalet's slug and its own (what its SKU is made of).
    Product {
        chalet: &'a Slug,
        product: &'a Slug,
    },
}

/// `chalets/<chalet>/`; with `"{chalet}"` it is the template the theme's script fills in.
pub fn chalet_path(chalet: &str) -> String {
    format!("{CHALETS}/{chalet}/")
}

/// `chalets/<chalet>/<product>/`.
pub fn product_path(chalet: &str, product: &str) -> String {
    format!("{CHALETS}/{chalet}/{product}/")
}

impl<'a> Route<'a> {
    /// The page of the product `sku`.
    pub fn product(sku: &'a Sku) -> Route<'a> {
        Route::Product {
            chalet: &sku.chalet,
            product: &sku.product,
        }
    }
}

impl Route<'_> {
    /// The fixed routes, each once.
    pub const FIXED: [Route<'static>; 11] = [
        Route::Home,
        Route::Sponsors,
        Route::NotFound,
        Route::Basket,
        Route::Order,
        Route::Search,
        Route::Marketplace,
        Route::Accessibility,
        Route::Withdrawal,
        Route::Workshop,
        Route::VoucherDesk,
    ];

    /// The path relative to the site root, as in its URL: `""`, `chalets/x/`, `404.html`.
    pub fn path(&self) -> String {
        match self {
            Route::Home => String::new(),
            Route::Sponsors => format!("{SPONSORS}/"),
            Route::NotFound => NOT_FOUND.to_string(),
            Route::Basket => format!("{BASKET}/"),
            Route::Order => format!("{ORDER}/"),
            Route::Search => format!("{SEARCH}/"),
            Route::Marketplace => format!("{MARKETPLACE}/"),
            Route::Accessibility => format!("{ACCESSIBILITY}/"),
            Route::Withdrawal => format!("{WITHDRAWAL}/"),
            Route::Workshop => format!("{WORKSHOP}/"),
            Route::VoucherDesk => format!("{WORKSHOP}/{VOUCHER_DESK}/"),
            Route::Category(c) => format!("{CATEGORIES}/{c}/"),
            Route::Page(p) => format!("{p}/"),
            Route::Chalet(c) => chalet_path(c.as_str()),
            Route::Product { chalet, product } => product_path(chalet.as_str(), product.as_str()),
        }
    }

    /// What a fixed page is, for messages when content claims its address.
    pub fn builtin_name(&self) -> Option<&'static str> {
        Some(match self {
            Route::Home => "the market square",
            Route::Sponsors => "the sponsors page",
            Route::NotFound => "the not-found page",
            Route::Basket => "the basket page",
            Route::Order => "the order confirmation page shoppers return to from Stripe",
            Route::Search => "the search page",
            Route::Marketplace => "the marketplace information page",
            Route::Accessibility => "the accessibility statement",
            Route::Withdrawal => "the right of withdrawal and its model form",
            Route::Workshop => "the artisans' page of their orders",
            Route::VoucherDesk => "the restaurants' page for honouring vouchers",
            _ => return None,
        })
    }

    /// The file under the output folder: folders get `index.html`.
    pub fn output(&self) -> String {
        output_for(&self.path())
    }
}

/// The file that serves a site path: `chalets/x/` → `chalets/x/index.html`.
pub fn output_for(path: &str) -> String {
    if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    }
}

/// The first path segments the market uses itself, with what they are, so a free page
/// (`<slug>/`) cannot take them: every fixed page, the folders of chalets, categories, assets,
/// images and the API, and the names of the root files (`sitemap` for `sitemap.xml`, to keep
/// addresses unambiguous).
pub fn reserved_page_names() -> Vec<(&'static str, &'static str)> {
    let mut names: Vec<(&'static str, &'static str)> = Route::FIXED
        .iter()
        .filter_map(|r| {
            let path: &'static str = match r {
                Route::Home => return None,
                Route::Sponsors => SPONSORS,
                Route::NotFound => NOT_FOUND,
                Route::Basket => BASKET,
                Route::Order => ORDER,
                Route::Search => SEARCH,
                Route::Marketplace => MARKETPLACE,
                Route::Accessibility => ACCESSIBILITY,
                Route::Withdrawal => WITHDRAWAL,
                Route::Workshop => WORKSHOP,
                _ => return None,
            };
            let stem = path.split_once('.').map_or(path, |(stem, _)| stem);
            Some((stem, r.builtin_name().unwrap_or("a page of the market")))
        })
        .collect();
    names.extend([
        (CHALETS, "where chalet pages live"),
        (CATEGORIES, "where category pages live"),
        (ASSETS_DIR, "where the theme's files are published"),
        (IMAGES_DIR, "where images are published"),
        (API_DIR, "the checkout function's address"),
        ("index", "the market square"),
    ]);
    for file in [SITEMAP, ROBOTS, CATALOGUE, SEARCH_INDEX] {
        let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
        names.push((stem, "a file the market writes itself"));
    }
    names
}

/// What a reserved page name is used for, if it is reserved.
pub fn reserved(name: &str) -> Option<&'static str> {
    reserved_page_names()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, what)| what)
}

/// A chalet's private link to its orders: the artisans' page, the chalet and its token in the
/// fragment — which browsers never send to a server, so the token stays out of every log and
/// `Referer`; the page sends it to the function in a header.
pub fn workshop_link(site: &SiteUrl, chalet: &Slug, token: &str) -> String {
    format!("{}#chalet={chalet}&token={token}", site.join(&Route::Workshop.path()))
}

/// Where Stripe sends a shopper after paying (Stripe fills in `{CHECKOUT_SESSION_ID}`).
pub fn checkout_success_url(site: &SiteUrl) -> String {
    format!(
        "{}?{SESSION_PARAM}={{CHECKOUT_SESSION_ID}}",
        site.join(&Route::Order.path())
    )
}

/// Where Stripe sends a shopper who gave up: the basket, which says so and cancels the
/// reservation (`?cancelled=<reservation>`) so its stock comes back at once.
pub fn checkout_cancel_url(site: &SiteUrl, reservation: &str) -> String {
    format!("{}?{CANCELLED_PARAM}={reservation}", site.join(&Route::Basket.path()))
}

/// The registration page, after paying (`?inscription=<session>`) or giving up.
pub fn registration_url(site: &SiteUrl, paid: bool) -> String {
    let page = site.join(&format!("{APPLY_PAGE}/"));
    if paid {
        format!("{page}?{REGISTERED_PARAM}={{CHECKOUT_SESSION_ID}}")
    } else {
        page
    }
}

/// The market's public address: `http(s)://host[:port]/[path/]`, always ending with `/`, its
/// path kept. Parsed strictly, because every link, asset and canonical URL is built on it: a
/// backslash, `//`, a user name or a dot segment could move the whole site to another host.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteUrl {
    full: String,
    /// Byte index of the path's leading `/` in `full`.
    path_at: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteUrlError {
    /// Not `http://` or `https://`.
    Scheme,
    /// No host, or a host with characters a host name cannot have (`@`, `\`, spaces…).
    Host,
    /// A port that is not a number from 1 to 65535.
    Port,
    /// A path with empty, `.` or `..` segments, backslashes or characters URLs escape.
    Path,
    /// A query (`?`) or fragment (`#`).
    QueryOrFragment,
}

impl fmt::Display for SiteUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SiteUrlError::Scheme => "it must start with https:// (or http://)",
            SiteUrlError::Host => "it must name a host such as marche.example",
            SiteUrlError::Port => "its port must be a number from 1 to 65535",
            SiteUrlError::Path => {
                "its path may hold only letters, digits, `-`, `_`, `.` and `~` between single slashes"
            }
            SiteUrlError::QueryOrFragment => "it cannot have a query (`?`) or a fragment (`#`)",
        })
    }
}

impl std::error::Error for SiteUrlError {}

impl SiteUrl {
    pub fn parse(text: &str) -> Result<SiteUrl, SiteUrlError> {
        let t = text.trim();
        let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("https://") {
            ("https://", &t[8..])
        } else if lower.starts_with("http://") {
            ("http://", &t[7..])
        } else {
            return Err(SiteUrlError::Scheme);
        };
        if rest.contains(['?', '#']) {
            return Err(SiteUrlError::QueryOrFragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !host_ok {
            return Err(SiteUrlError::Host);
        }
        if let Some(p) = port
            && !(p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0))
        {
            return Err(SiteUrlError::Port);
        }
        let inner = path.trim_start_matches('/');
        if path.starts_with("//") {
            return Err(SiteUrlError::Path);
        }
        let inner = inner.strip_suffix('/').unwrap_or(inner);
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        };
        if !inner.is_empty() && !inner.split('/').all(segment_ok) {
            return Err(SiteUrlError::Path);
        }
        let authority = authority.to_ascii_lowercase();
        let path = if inner.is_empty() {
            "/".to_string()
        } else {
            format!("/{inner}/")
        };
        let full = format!("{scheme}{authority}{path}");
        Ok(SiteUrl {
            path_at: scheme.len() + authority.len(),
            full,
        })
    }

    /// `https://x.example/marche/`
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The URL path the site lives under: `/` or `/marche/`.
    pub fn root(&self) -> &str {
        &self.full[self.path_at..]
    }

    /// `https://x.example`: what browsers send as `Origin` (CORS).
    pub fn origin(&self) -> &str {
        &self.full[..self.path_at]
    }

    /// An absolute URL for a path relative to the site root (`chalets/x/`).
    pub fn join(&self, rel: &str) -> String {
        format!("{}{}", self.full, rel.trim_start_matches('/'))
    }

    /// A root-relative URL (`/marche/chalets/x/`), what pages link with.
    pub fn path_of(&self, rel: &str) -> String {
        format!("{}{}", self.root(), rel.trim_start_matches('/'))
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl serde::Serialize for SiteUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.full)
    }
}

impl<'de> serde::Deserialize<'de> for SiteUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SiteUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_once_keeping_the_sub_path() {
        for (given, full, root) in [
            ("https://x.example", "https://x.example/", "/"),
            ("https://x.example/", "https://x.example/", "/"),
            ("https://x.example/marche", "https://x.example/marche/", "/marche/"),
            ("https://X.Example/marche/", "https://x.example/marche/", "/marche/"),
            ("http://127.0.0.1:1225/a/b", "http://127.0.0.1:1225/a/b/", "/a/b/"),
        ] {
            let u = SiteUrl::parse(given).expect(given);
            assert_eq!((u.as_str(), u.root()), (full, root), "{given}");
        }
        let u = SiteUrl::parse("https://x.example/marche").expect("valid");
        assert_eq!(u.origin(), "https://x.example");
        assert_eq!(u.join("chalets/a/"), "https://x.example/marche/chalets/a/");
        assert_eq!(u.path_of("basket/"), "/marche/basket/");
    }

    #[test]
    fn refuses_what_could_leave_the_host() {
        for bad in [
            "https://marche.example/\\evil.example/",
            "https://marche.example//evil.example/",
            "//evil.example/",
            "https://user@evil.example/",
            "https://marche.example/../x/",
            "https://marche.example/a//b/",
            "https:///x",
            "ftp://x.example/",
            "https://x.example/?q=1",
            "https://x.example:99999/",
            "https://x .example/",
            "https://x.example/a b/",
        ] {
            assert!(SiteUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn routes_and_outputs() {
        let c = Slug::parse("atelier").expect("slug");
        let sku = Sku::parse("atelier/bougie").expect("sku");
        assert_eq!(Route::Home.output(), "index.html");
        assert_eq!(Route::NotFound.output(), "404.html");
        assert_eq!(Route::Chalet(&c).output(), "chalets/atelier/index.html");
        assert_eq!(Route::product(&sku).path(), "chalets/atelier/bougie/");
        assert_eq!(chalet_path("{chalet}"), "chalets/{chalet}/");
        for fixed in Route::FIXED {
            let first = fixed.path().split(['/', '.']).next().unwrap_or("").to_string();
            assert!(
                first.is_empty() || reserved(&first).is_some(),
                "{first} must be reserved"
            );
        }
    }

    #[test]
    fn the_function_sends_shoppers_back_under_the_sub_path() {
        let site = SiteUrl::parse("https://x.example/marche").expect("valid");
        assert_eq!(
            checkout_success_url(&site),
            "https://x.example/marche/order/?session_id={CHECKOUT_SESSION_ID}"
        );
        assert_eq!(
            checkout_cancel_url(&site, "r1"),
            "https://x.example/marche/basket/?cancelled=r1"
        );
    }
}
