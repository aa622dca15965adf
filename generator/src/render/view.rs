//! What templates see: plain serialisable views of the typed site, with prices formatted for the
//! market's language, URLs made, Markdown rendered and images resolved. Templates only lay out.

use crate::diagnostic::Diagnostic;
use crate::i18n::{date_range, long_date, og_locale};
use crate::images::ImagePlan;
use crate::markdown::{self, escape};
use crate::model::{Card, Chalet, Contents, Image, Markdown, Product, Site};
use chalet_types::routes::{self, Route};
use chalet_types::{Availability, Kind, Language, MAX_QUANTITY, Money};
use pulldown_cmark::HeadingLevel;
use serde::Serialize;

/// Everything a template needs for a responsive, layout-stable image:
/// `<picture><source type="image/webp" srcset="{{ srcset }}" sizes="…"><img src="{{ src }}"
/// width="{{ width }}" height="{{ height }}" alt="{{ alt }}"></picture>`, with `color` for a
/// placeholder background.
#[derive(Clone, Debug, Serialize)]
pub struct ImageView {
    /// The JPEG (or PNG) fallback.
    pub src: String,
    pub fallback_type: &'static str,
    /// Intrinsic size of the fallback: sets the aspect ratio, so nothing shifts while loading.
    pub width: u32,
    pub height: u32,
    /// WebP derivatives, `url 320w, url 640w, …`.
    pub srcset: String,
    /// The smallest WebP, for thumbnails.
    pub thumb: String,
    /// Average colour (`#rrggbb`), the placeholder shown before the image arrives.
    pub color: String,
    pub alt: String,
}

/// The fixed pages and files, as root-relative URLs: templates never spell a site path.
#[derive(Clone, Debug, Serialize)]
pub struct SiteUrls {
    pub home: String,
    pub sponsors: String,
    pub basket: String,
    pub order: String,
    pub search: String,
    /// The pages the law asks for (the theme may leave them out; the default theme has them).
    pub marketplace: String,
    pub accessibility: String,
    pub withdrawal: String,
    pub catalogue: String,
    pub search_index: String,
    /// The call for exhibitors (a free page the market may have).
    pub apply: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Link {
    pub title: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SponsorView {
    pub name: String,
    pub url: Option<String>,
    pub logo: Option<ImageView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MarketView {
    pub name: String,
    pub tagline: Option<String>,
    pub base_url: String,
    /// The URL path the site lives under (`/` or `/marche/`).
    pub root: String,
    pub lang: Language,
    /// `fr_BE`: Open Graph's locale.
    pub og_locale: &'static str,
    pub currency: &'static str,
    pub checkout_url: Option<String>,
    pub dates: Option<String>,
    pub organiser_name: Option<String>,
    pub organiser_email: Option<String>,
    pub registration_fee: Option<String>,
    pub sponsor_reduction: Option<String>,
    pub registration_payable: Option<String>,
    pub categories: Vec<CategoryView>,
    pub sponsors: Vec<SponsorView>,
    pub pages: Vec<Link>,
    /// On the pages that list the chalets only (see [`Views::market_listing`]), as are the
    /// categories' `chalets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chalet_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_count: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CategoryView {
    pub slug: String,
    pub name: String,
    pub url: String,
    /// Whether a chalet is in it: every page's navigation can leave an empty aisle out.
    pub empty: bool,
    /// Its chalets' cards, on the pages that list them only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chalets: Option<Vec<ChaletCard>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChaletCard {
    pub slug: String,
    pub name: String,
    pub artisan: String,
    pub town: String,
    pub tagline: Option<String>,
    pub url: String,
    pub category: String,
    pub category_name: String,
    pub category_url: String,
    pub cover: Option<ImageView>,
    pub logo: Option<ImageView>,
    pub product_count: usize,
    /// Which of the theme's chalet fronts (wood, roof and awning colours) this chalet gets:
    /// derived from the slug, so a chalet keeps its look from build to build.
    pub variant: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShippingView {
    pub price: String,
    pub price_cents: i64,
    pub free_from: Option<String>,
    pub free_from_cents: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChaletView {
    #[serde(flatten)]
    pub card: ChaletCard,
    pub about_html: String,
    pub summary: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub pickup: Option<String>,
    pub shipping: Option<ShippingView>,
    /// Who sells (legal name, trader or private person, enterprise number, address).
    pub trader: Option<TraderView>,
    pub products: Vec<ProductCard>,
    /// The cover's absolute URL, for Open Graph.
    pub cover_url: Option<String>,
}

/// A chalet on the marketplace page: who sells and how to reach them.
#[derive(Clone, Debug, Serialize)]
pub struct SellerView {
    pub name: String,
    pub url: String,
    pub legal_name: Option<String>,
    pub private: bool,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TraderView {
    pub legal_name: String,
    pub private: bool,
    pub enterprise_number: Option<String>,
    pub address: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProductCard {
    pub sku: String,
    pub slug: String,
    pub name: String,
    pub url: String,
    pub price: String,
    pub price_cents: i64,
    /// `14.90`, as schema.org and Open Graph want it.
    pub price_decimal: String,
    /// Templates compare it with `availability_is.sold_out` (and so on), never with words.
    pub availability: Availability,
    pub stock: Option<u32>,
    /// The most a shopper can put in the basket: the stock, at most [`MAX_QUANTITY`].
    pub max_quantity: u32,
    pub kind: Kind,
    pub image: Option<ImageView>,
    pub chalet: String,
    pub chalet_name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProductView {
    #[serde(flatten)]
    pub card: ProductCard,
    pub description_html: String,
    pub summary: String,
    pub images: Vec<ImageView>,
    pub tags: Vec<String>,
    /// The allergens' names in the market's language (Regulation 1169/2011 Annex II).
    pub allergens: Vec<&'static str>,
    /// `27,60 €/kg`: food's price per kilogram or litre (Code of Economic Law, book VI).
    pub unit_price: Option<String>,
    /// The theme string saying the right of withdrawal: `withdrawal_14_days`, or
    /// `no_withdrawal_<reason>` (`perishable`, `personalised`, `sealed_hygiene`, `dated_service`).
    pub withdrawal: String,
    pub voucher_valid_until: Option<String>,
    pub voucher_terms: Option<String>,
    /// The question asked per basket line, with its bounds.
    pub personalisation: Option<chalet_types::Personalisation>,
    /// The first photo's absolute URL, for Open Graph and JSON-LD.
    pub image_url: Option<String>,
}

/// Builds views; holds what every view needs.
#[derive(Debug)]
pub struct Views<'a> {
    pub site: &'a Site,
    pub images: &'a ImagePlan,
    pub root: String,
    /// Every image's view (without alt text), made once when first shown: pages reuse them
    /// instead of formatting the same `srcset` strings again, and a rebuild names only the
    /// derivatives of the pages it makes (6,200 photos, 37,200 derivatives).
    image_views: Vec<std::sync::OnceLock<ImageView>>,
}

impl<'a> Views<'a> {
    pub fn new(site: &'a Site, images: &'a ImagePlan) -> Views<'a> {
        let root = site.market.base_url.root().to_string();
        let image_views = images.images.iter().map(|_| std::sync::OnceLock::new()).collect();
        Views {
            site,
            images,
            root,
            image_views,
        }
    }

    fn lang(&self) -> Language {
        self.site.market.language
    }

    pub fn money(&self, m: Money) -> String {
        m.format(self.lang())
    }

    /// A root-relative URL (`/marche/chalets/x/`) for a path relative to the site root.
    pub fn url(&self, path: &str) -> String {
        self.site.market.base_url.path_of(path)
    }

    /// A URL path of the site (`/marche/images/x.jpg`) made absolute with the market's address.
    pub fn absolute(&self, url: &str) -> String {
        let rel = url.strip_prefix(self.root.as_str()).unwrap_or(url);
        self.site.market.base_url.join(rel)
    }

    /// The fixed pages and files templates link to (`urls.basket`, `urls.search_index`, …).
    pub fn site_urls(&self) -> SiteUrls {
        let page = |r: Route| self.url(&r.path());
        SiteUrls {
            home: page(Route::Home),
            sponsors: page(Route::Sponsors),
            basket: page(Route::Basket),
            order: page(Route::Order),
            search: page(Route::Search),
            marketplace: page(Route::Marketplace),
            accessibility: page(Route::Accessibility),
            withdrawal: page(Route::Withdrawal),
            catalogue: self.url(routes::CATALOGUE),
            search_index: self.url(routes::SEARCH_INDEX),
            apply: self.url(&format!("{}/", routes::APPLY_PAGE)),
        }
    }

    pub fn image(&self, img: &Image, fallback_alt: &str) -> ImageView {
        self.image_by_id(img.id, img.alt.clone().unwrap_or_else(|| fallback_alt.to_string()))
    }

    fn image_by_id(&self, id: usize, alt: String) -> ImageView {
        ImageView {
            alt,
            ..self.image_view(id).clone()
        }
    }

    fn image_view(&self, id: usize) -> &ImageView {
        self.image_views[id].get_or_init(|| image_view(&self.root, &self.images.images[id]))
    }

    /// A fingerprint of image `id`'s view, without making it: the view is made from the site's
    /// root, the image's recipe (its derivatives' names and sizes) and its colour.
    pub fn image_fingerprint(&self, id: usize) -> u128 {
        let p = &self.images.images[id];
        let mut f = super::memo::Fingerprint::default();
        f.add(self.root.as_bytes());
        f.add(&p.recipe().to_le_bytes());
        f.add(&p.info.color.map_or([0, 0, 0, 0], |[r, g, b]| [1, r, g, b]));
        f.finish()
    }

    /// `top`: the heading level the text's own headings start at in this slot of the page.
    pub fn markdown(&self, md: &Markdown, top: HeadingLevel) -> String {
        let picture = |dest: &str, alt: &str| -> Option<String> {
            let id = md.images.iter().find(|(d, _)| d == dest)?.1;
            // `alt` arrives escaped; the view's own fields are URLs and numbers.
            Some(picture_html(
                &self.image_by_id(id, String::new()),
                alt,
                "(max-width: 45rem) 100vw, 45rem",
            ))
        };
        markdown::render(md.text(), top, &picture)
    }

    /// The market as every page sees it: its settings and categories, not its chalets. Each
    /// card is in the fingerprint of every page that may show it, so a page with every card
    /// would be rendered again whenever any chalet's name, cover or product count changed —
    /// a product added would re-render the market — and 1,000 cards (2 MB of template values)
    /// would be held by every rebuild. The square and the category pages list the chalets:
    /// they get [`Views::market_listing`].
    pub fn market(&self) -> MarketView {
        let categories = self.site.market.categories.iter();
        self.market_view(categories.map(|c| self.category_alone(c)).collect(), false)
    }

    /// [`Views::market`] with every category's chalets' cards and the counts: the `market` of
    /// the pages that list the chalets. `Err` when a chalet's card cannot be read back.
    pub fn market_listing(&self) -> Result<MarketView, Diagnostic> {
        let categories = self.site.market.categories.iter();
        let categories = categories.map(|c| self.category_listed(c)).collect::<Result<_, _>>()?;
        Ok(self.market_view(categories, true))
    }

    /// The market with `categories`; with the counts when `listing`.
    fn market_view(&self, categories: Vec<CategoryView>, listing: bool) -> MarketView {
        let m = &self.site.market;
        MarketView {
            name: m.name.clone(),
            tagline: m.tagline.clone(),
            base_url: m.base_url.to_string(),
            root: self.root.clone(),
            lang: m.language,
            og_locale: og_locale(m.language),
            currency: m.currency.code(),
            checkout_url: m.checkout_url.clone(),
            dates: date_range(m.opens, m.closes, m.language),
            organiser_name: m.organiser.as_ref().map(|o| o.name.clone()),
            organiser_email: m.organiser.as_ref().and_then(|o| o.email.clone()),
            registration_fee: m.registration.map(|r| self.money(r.fee)),
            sponsor_reduction: m
                .registration
                .filter(|r| r.sponsor_reduction > Money::ZERO)
                .map(|r| self.money(r.sponsor_reduction)),
            registration_payable: m.registration.map(|r| self.money(r.payable())),
            categories,
            sponsors: m
                .sponsors
                .iter()
                .map(|s| SponsorView {
                    name: s.name.clone(),
                    url: s.url.clone(),
                    logo: s.logo.as_ref().map(|l| self.image(l, &s.name)),
                })
                .collect(),
            pages: self
                .site
                .pages
                .iter()
                .map(|p| Link {
                    title: p.title.clone(),
                    url: self.url(&Route::Page(&p.slug).path()),
                })
                .collect(),
            chalet_count: listing.then_some(self.site.chalets.len()),
            product_count: listing.then(|| self.site.product_count()),
        }
    }

    /// A category with the cards of its chalets. `Err` when a chalet's card cannot be read
    /// back.
    fn category_listed(&self, c: &crate::model::Category) -> Result<CategoryView, Diagnostic> {
        let chalets = self.site.chalets.iter().filter(|ch| ch.category == c.slug);
        Ok(CategoryView {
            chalets: Some(chalets.map(|ch| self.chalet_card(ch)).collect::<Result<_, _>>()?),
            ..self.category_alone(c)
        })
    }

    /// A category without its chalets' cards.
    fn category_alone(&self, c: &crate::model::Category) -> CategoryView {
        CategoryView {
            slug: c.slug.to_string(),
            name: c.name.clone(),
            url: self.url(&Route::Category(&c.slug).path()),
            empty: !self.site.chalets.iter().any(|ch| ch.category == c.slug),
            chalets: None,
        }
    }

    /// A category's display name (its slug if the market does not declare it).
    pub fn category_name<'s>(&'s self, slug: &'s str) -> &'s str {
        let categories = &self.site.market.categories;
        categories
            .iter()
            .find(|k| k.slug.as_str() == slug)
            .map_or(slug, |k| k.name.as_str())
    }

    pub fn chalet_url(&self, c: &Chalet) -> String {
        self.url(&Route::Chalet(&c.slug).path())
    }

    pub fn product_url(&self, p: &Product) -> String {
        self.url(&Route::product(&p.sku).path())
    }

    /// `Err` when its card cannot be read back ([`Chalet::card`]), as for every view below
    /// that shows what a chalet says of itself.
    pub fn chalet_card(&self, c: &Chalet) -> Result<ChaletCard, Diagnostic> {
        let category_name = self.category_name(c.category.as_str()).to_string();
        let category_url = self.url(&Route::Category(&c.category).path());
        let card = c.card()?;
        Ok(ChaletCard {
            slug: c.slug.to_string(),
            name: card.name.clone(),
            artisan: card.artisan.clone(),
            town: card.town.clone(),
            tagline: card.tagline.clone(),
            url: self.chalet_url(c),
            category: c.category.to_string(),
            category_name,
            category_url,
            cover: c.cover.as_ref().map(|i| self.image(i, &card.name)),
            logo: c.logo.as_ref().map(|i| self.image(i, &card.name)),
            product_count: c.product_count,
            variant: variant(c.slug.as_str()),
        })
    }

    pub fn chalet(&self, c: &Chalet, contents: &Contents) -> Result<ChaletView, Diagnostic> {
        let card = c.card()?;
        Ok(ChaletView {
            card: self.chalet_card(c)?,
            about_html: contents
                .about
                .as_ref()
                .map(|a| self.markdown(a, HeadingLevel::H3))
                .unwrap_or_default(),
            summary: contents
                .about
                .as_ref()
                .map(|a| markdown::summary(a.text(), 155))
                .or_else(|| card.tagline.clone())
                .unwrap_or_default(),
            email: card.contact.email.clone(),
            phone: card.contact.phone.clone(),
            website: card.contact.website.clone(),
            pickup: card.pickup.clone(),
            shipping: self.shipping(card),
            trader: card.trader.as_ref().map(|t| TraderView {
                legal_name: t.legal_name.clone(),
                private: t.private,
                enterprise_number: t.enterprise_number.clone(),
                address: t.address.clone(),
            }),
            products: contents
                .products
                .iter()
                .map(|p| self.product_card(c, p))
                .collect::<Result<_, _>>()?,
            cover_url: c.cover.as_ref().map(|i| self.absolute(&self.image_view(i.id).src)),
        })
    }

    /// Every chalet with who sells and how to reach them: the marketplace page's list.
    pub fn sellers(&self) -> Result<Vec<SellerView>, Diagnostic> {
        self.site
            .chalets
            .iter()
            .map(|c| {
                let card = c.card()?;
                Ok(SellerView {
                    name: card.name.clone(),
                    url: self.url(&Route::Chalet(&c.slug).path()),
                    legal_name: card.trader.as_ref().map(|t| t.legal_name.clone()),
                    private: card.trader.as_ref().is_some_and(|t| t.private),
                    email: card.contact.email.clone(),
                    phone: card.contact.phone.clone(),
                })
            })
            .collect()
    }

    pub fn shipping(&self, card: &Card) -> Option<ShippingView> {
        card.shipping.map(|s| ShippingView {
            price: self.money(s.price),
            price_cents: s.price.cents(),
            free_from: s.free_from.map(|f| self.money(f)),
            free_from_cents: s.free_from.map(|f| f.cents()),
        })
    }

    pub fn product_card(&self, c: &Chalet, p: &Product) -> Result<ProductCard, Diagnostic> {
        let stock = p.stock.quantity();
        let availability = Availability::of(stock);
        Ok(ProductCard {
            sku: p.sku.to_string(),
            slug: p.sku.product.to_string(),
            name: p.name.clone(),
            url: self.product_url(p),
            price: self.money(p.price),
            price_cents: p.price.cents(),
            price_decimal: p.price.to_decimal_string(),
            availability,
            stock,
            max_quantity: stock.unwrap_or(MAX_QUANTITY).min(MAX_QUANTITY),
            kind: p.kind,
            image: p.images.first().map(|i| self.image(i, &p.name)),
            chalet: c.slug.to_string(),
            chalet_name: c.card()?.name.clone(),
        })
    }

    pub fn product(&self, c: &Chalet, p: &Product) -> Result<ProductView, Diagnostic> {
        Ok(ProductView {
            card: self.product_card(c, p)?,
            description_html: self.markdown(&p.description, HeadingLevel::H2),
            summary: markdown::summary(p.description.text(), 155),
            images: p.images.iter().map(|i| self.image(i, &p.name)).collect(),
            tags: p.tags.clone(),
            allergens: p.allergens.iter().map(|a| a.name(self.lang())).collect(),
            unit_price: p.net_quantity.map(|q| {
                let (per, unit) = q.unit_price(p.price);
                format!("{}/{unit}", self.money(per))
            }),
            withdrawal: p.withdrawal.map_or_else(
                || "withdrawal_14_days".to_string(),
                |w| format!("no_withdrawal_{}", w.as_str()),
            ),
            voucher_valid_until: p
                .voucher
                .as_ref()
                .and_then(|v| v.valid_until)
                .map(|d| long_date(d, self.lang())),
            voucher_terms: p.voucher.as_ref().and_then(|v| v.terms.clone()),
            personalisation: p.personalisation.clone(),
            image_url: p.images.first().map(|i| self.absolute(&self.image_view(i.id).src)),
        })
    }
}

fn image_view(root: &str, p: &crate::images::PlannedImage) -> ImageView {
    use std::fmt::Write as _;
    // Written in place, each derivative named once.
    let mut srcset = String::with_capacity(p.modern.len() * (root.len() + 64));
    let mut thumb = String::new();
    for (i, d) in p.modern.iter().enumerate() {
        let out = p.names(d).out;
        let comma = if i == 0 { "" } else { ", " };
        let _ = write!(srcset, "{comma}{root}{out} {}w", d.width);
        if i == 0 {
            thumb = format!("{root}{out}");
        }
    }
    let c = p.info.color.unwrap_or([238, 232, 224]);
    ImageView {
        src: format!("{root}{}", p.names(&p.fallback).out),
        fallback_type: p.fallback.format.mime(),
        width: p.fallback.width,
        height: p.fallback.height,
        srcset,
        thumb,
        color: format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]),
        alt: String::new(),
    }
}

/// The `<picture>` markup for an image inside Markdown (themes write their own for the rest).
pub fn picture_html(v: &ImageView, alt_escaped: &str, sizes: &str) -> String {
    format!(
        r#"<picture><source type="image/webp" srcset="{}" sizes="{sizes}"><img src="{}" width="{}" height="{}" alt="{alt_escaped}" loading="lazy" decoding="async"></picture>"#,
        escape(&v.srcset),
        escape(&v.src),
        v.width,
        v.height
    )
}

/// The number of chalet fronts the default theme draws (`.v0` … `.v5`).
const VARIANTS: u32 = 6;

fn variant(slug: &str) -> u32 {
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    let h = slug
        .bytes()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    h % VARIANTS
}
