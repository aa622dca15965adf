//! The typed market after validation. From here on no `String` stands in for a price, a slug,
//! a date or a choice; images are indices into [`Site::images`].

use chalet_types::legal::{Allergen, NetQuantity, WithdrawalExemption};
use chalet_types::{Currency, Date, Kind, Language, Money, Personalisation, Shipping, SiteUrl, Sku, Slug, Stock};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod body;

pub use body::{Body, CardPart, Contents, KeptContents};

use crate::fingerprint::Fingerprint;
use crate::source::SourceFile;

/// How image derivatives are made (`market.yaml` `images:`); part of every cache key, so
/// changing it re-encodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageSettings {
    /// The width ladder for WebP derivatives; a source is never upscaled.
    pub widths: Vec<u32>,
    /// The width of the single JPEG/PNG fallback.
    pub fallback_width: u32,
    /// Lossy quality, 1–100, for WebP and JPEG.
    pub quality: u8,
    /// Sources above this many pixels are refused before decoding.
    pub max_pixels: u64,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            widths: vec![320, 640, 960, 1280, 1920],
            fallback_width: 960,
            quality: 80,
            max_pixels: 50_000_000,
        }
    }
}

/// Where something was written, for diagnostics raised by later stages (images, templates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub path: String,
    pub line: usize,
    pub col: usize,
}

/// What an image is used for, which decides how large it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageRole {
    Product,
    Cover,
    Logo,
    Inline,
    Sponsor,
}

/// One image file the content references, once however often it is referenced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSource {
    /// Path relative to the content folder, `/`-separated.
    pub rel: String,
    /// The first place that references it.
    pub origin: Origin,
    pub role: ImageRole,
    /// Size and modification time when the content was loaded (the image index's freshness key).
    pub len: u64,
    pub mtime_ns: i128,
}

pub type ImageId = usize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: ImageId,
    pub alt: Option<String>,
}

/// Markdown text with the file it came from, its images already resolved to ids.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Markdown {
    #[serde(with = "crate::source::shared")]
    pub file: Arc<SourceFile>,
    pub offset: usize,
    pub len: usize,
    /// Image destinations as written in the Markdown, with what they resolve to.
    pub images: Vec<(String, ImageId)>,
}

impl Markdown {
    pub fn text(&self) -> &str {
        &self.file.text()[self.offset..self.offset + self.len]
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    pub slug: Slug,
    pub name: String,
    /// Where its slug is declared in `market.yaml`.
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sponsor {
    pub name: String,
    pub url: Option<String>,
    pub logo: Option<Image>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organiser {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    pub fee: Money,
    pub sponsor_reduction: Money,
}

impl Registration {
    pub fn payable(&self) -> Money {
        self.fee.saturating_sub(self.sponsor_reduction)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Market {
    pub name: String,
    pub tagline: Option<String>,
    pub base_url: SiteUrl,
    pub language: Language,
    pub currency: Currency,
    pub theme: String,
    /// Where `theme:` is written (`market.yaml:1:1` when it is not): problems finding the
    /// theme are reported there.
    pub theme_origin: Origin,
    pub checkout_url: Option<String>,
    pub opens: Option<Date>,
    pub closes: Option<Date>,
    pub organiser: Option<Organiser>,
    pub registration: Option<Registration>,
    /// Where shipped goods may go (ISO 3166-1 alpha-2).
    pub shipping_countries: Vec<String>,
    /// Ask for a phone number when something is picked up.
    pub collect_phone: bool,
    /// The organisers' commission on each chalet's sales, in basis points (`commission_percent`).
    pub commission_bp: u32,
    pub categories: Vec<Category>,
    pub sponsors: Vec<Sponsor>,
    pub images: ImageSettings,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// One e-mail each morning with the day before's orders, besides one per order.
    #[serde(default)]
    pub daily_digest: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voucher {
    pub valid_until: Option<Date>,
    pub terms: Option<String>,
    /// The one date the voucher is for (a dinner on New Year's Eve): no right of withdrawal.
    pub date: Option<Date>,
}

/// Who sells, as the law asks it shown (Directive 2011/83/EU art. 6; the Omnibus Directive's
/// marketplace duties, art. 6a).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trader {
    pub legal_name: String,
    /// A private person selling: EU consumer law does not apply to the purchase.
    pub private: bool,
    /// A KBO/BCE number (`0123.456.749`) or another EU VAT number; traders only.
    pub enterprise_number: Option<String>,
    /// A geographic address.
    pub address: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Product {
    pub sku: Sku,
    pub name: String,
    pub price: Money,
    pub stock: Stock,
    pub kind: Kind,
    pub images: Vec<Image>,
    pub tags: Vec<String>,
    pub allergens: Vec<Allergen>,
    /// Food's net quantity, for the price per kilogram or litre.
    pub net_quantity: Option<NetQuantity>,
    /// Why the shopper cannot withdraw from this purchase; `None`: 14 days.
    pub withdrawal: Option<WithdrawalExemption>,
    pub voucher: Option<Voucher>,
    /// What the shopper is asked per basket line (`personalisation:`).
    pub personalisation: Option<Personalisation>,
    pub description: Markdown,
}

impl Product {
    /// Every image its pages may show. Each field is named (no `..`): a new field does not
    /// compile until it is sorted here, so a page showing a new image is rebuilt when that
    /// image changes (see `render::memo`).
    pub fn image_ids(&self) -> Vec<ImageId> {
        let Product {
            sku: _,
            name: _,
            price: _,
            stock: _,
            kind: _,
            images,
            tags: _,
            allergens: _,
            net_quantity: _,
            withdrawal: _,
            voucher: _,
            personalisation: _,
            description,
        } = self;
        let mut ids: Vec<_> = images.iter().map(|i| i.id).collect();
        ids.extend(description.images.iter().map(|(_, id)| *id));
        ids
    }
}

/// What a product's fingerprint is made of besides its images' files: its digest (a hash of the
/// product as validation made it, its images by their place in its chalet's own list: see
/// [`Chalet::digest`]) and the images it shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProductPrint {
    pub digest: u128,
    pub images: Box<[ImageId]>,
}

/// What a chalet says of itself: its card on the square, its page's header, who sells and how
/// it delivers. A chalet taken from the validation cache leaves it there until a page or a list
/// shows it ([`Chalet::card`]): a thousand cards were a third of a rebuild's memory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Card {
    pub name: String,
    pub artisan: String,
    pub town: String,
    pub tagline: Option<String>,
    pub contact: Contact,
    pub trader: Option<Trader>,
    pub pickup: Option<String>,
    pub shipping: Option<Shipping>,
    /// The countries it ships to when it narrows the market's list (empty: all of them).
    pub ship_countries: Vec<String>,
    /// Its Stripe connected account (`payouts: { stripe_account: acct_… }`): never shown on the
    /// site, only handed to the checkout function.
    pub stripe_account: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Chalet {
    pub slug: Slug,
    /// Its `chalet.yaml`, as diagnostics name it.
    pub source: String,
    pub category: Slug,
    pub cover: Option<Image>,
    pub logo: Option<Image>,
    /// Set by [`Chalet::sealed`] or [`Chalet::keep_in`].
    #[serde(skip)]
    pub(crate) card: CardPart,
    /// The images its `about` text shows.
    pub about_images: Vec<ImageId>,
    /// How many products it has; they, and their digests, are in its [`Contents`].
    pub product_count: usize,
    /// Its first product's print: what the other chalets of its category show of it (their
    /// product pages' neighbours), known without reading its contents.
    pub first: Option<ProductPrint>,
    /// Every image its products show, in order: what its pages' fingerprints and the image plan
    /// need of them. (Each product's slug and digest, held for 20,000 products, were a third
    /// of a rebuild's memory; they are read with the contents when one of its pages is made.)
    pub product_images: Box<[ImageId]>,
    /// A hash of everything above as validation made it, its images by their place in the
    /// chalet's own list (before they are numbered across the site): what the incremental
    /// build compares, kept with a chalet taken from the last build instead of hashing it again.
    pub digest: u128,
    /// The same for what a product page shows of its chalet: everything but `about` and the
    /// products (of which only the number).
    pub head: u128,
    /// Its contents; set by [`Chalet::sealed`] or [`Chalet::keep_in`].
    #[serde(skip)]
    pub(crate) body: Body,
}

fn exact_length<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    let mut v = Vec::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

impl Chalet {
    /// Renumbers its images into the site's (`ids`: the site's id of each of its own); a kept
    /// chalet's contents are renumbered when read.
    pub fn remap(&mut self, ids: &[ImageId]) {
        let map = |id: &mut ImageId| *id = ids[*id];
        self.cover
            .iter_mut()
            .chain(self.logo.iter_mut())
            .for_each(|i| map(&mut i.id));
        self.about_images.iter_mut().for_each(map);
        self.product_images.iter_mut().for_each(map);
        if let Some(first) = &mut self.first {
            first.images.iter_mut().for_each(map);
        }
        self.body.remap(ids);
    }

    /// A chalet as validation makes it, with its card and contents, `images` being its own list
    /// (what its image ids index): its products' digests, its counts and its digests set. Each
    /// digest hashes `Debug` forms (derived everywhere, so no field can be forgotten) and the
    /// files the images are. The whole is hashed from the head, `about` and the products'
    /// digests, so no text is formatted twice.
    pub fn sealed(mut self, card: Card, mut contents: Contents, images: &[ImageSource]) -> Chalet {
        let rels = |ids: &[ImageId]| -> Vec<&str> { ids.iter().map(|&id| images[id].rel.as_str()).collect() };
        contents.digests = contents
            .products
            .iter()
            .map(|p| {
                let mut f = Fingerprint::default();
                f.add_debug(p);
                f.add_debug(&rels(&p.image_ids()));
                f.finish()
            })
            .collect();
        self.product_count = contents.products.len();
        self.first = contents.print(0);
        self.product_images = contents.products.iter().flat_map(Product::image_ids).collect();
        self.about_images = contents
            .about
            .iter()
            .flat_map(|a| a.images.iter().map(|(_, id)| *id))
            .collect();
        let Chalet {
            slug,
            source,
            category,
            cover,
            logo,
            card: _,
            about_images: _,
            product_count,
            first: _,
            product_images: _,
            digest: _,
            head: _,
            body: _,
        } = &self;
        let Card {
            name,
            artisan,
            town,
            tagline,
            contact,
            trader,
            pickup,
            shipping,
            ship_countries,
            stripe_account,
        } = &card;
        let mut f = Fingerprint::default();
        f.add_debug(&(
            (slug, source, name, artisan, town, category, tagline, cover, logo),
            (
                contact,
                trader,
                pickup,
                shipping,
                ship_countries,
                stripe_account,
                product_count,
            ),
        ));
        f.add_debug(&rels(&self.head_image_ids()));
        let head = f.finish();
        let mut f = Fingerprint::default();
        f.add(&head.to_le_bytes());
        f.add_debug(&contents.about);
        for digest in &contents.digests {
            f.add(&digest.to_le_bytes());
        }
        f.add_debug(&rels(&self.image_ids()));
        self.digest = f.finish();
        self.head = head;
        self.card = CardPart::Held(Arc::new(card));
        self.body = Body::Held(Arc::new(contents));
        self
    }

    /// The images of what a product page shows of the chalet (see [`Chalet::head`]).
    pub fn head_image_ids(&self) -> Vec<ImageId> {
        self.cover.iter().chain(&self.logo).map(|i| i.id).collect()
    }

    /// Every image its pages may show. Each field is named (no `..`), as in
    /// [`Product::image_ids`].
    pub fn image_ids(&self) -> Vec<ImageId> {
        let Chalet {
            slug: _,
            source: _,
            category: _,
            cover: _,
            logo: _,
            card: _,
            about_images,
            product_count: _,
            first: _,
            product_images,
            digest: _,
            head: _,
            body: _,
        } = self;
        let mut ids = self.head_image_ids();
        ids.extend(about_images);
        ids.extend(product_images);
        ids
    }
}

#[derive(Clone, Debug)]
pub struct Page {
    pub slug: Slug,
    pub title: String,
    pub description: Option<String>,
    pub body: Markdown,
}

/// The whole validated market.
#[derive(Clone, Debug)]
pub struct Site {
    pub market: Market,
    /// Shared: a chalet taken from the last build (`serve` keeps them in memory) is not copied.
    pub chalets: Vec<Arc<Chalet>>,
    pub pages: Vec<Page>,
    pub images: Vec<ImageSource>,
}

impl Site {
    pub fn product_count(&self) -> usize {
        self.chalets.iter().map(|c| c.product_count).sum()
    }
}
