//! A chalet folder: `chalet.yaml`, `about.md` and `products/<slug>.md`.

use super::Validator;
use super::market::{absolute_url, category_hint, email};
use super::personalisation::personalisation;
use super::reuse::{Entry, Reuse};
use crate::diagnostic::Severity;
use crate::model::{Card, Category, Chalet, Contact, Contents, Image, ImageId, ImageRole, Product, Voucher};
use crate::yaml::{Fields, Node, Pos, Reader, Value, slug_hint};
use chalet_types::{Kind, Shipping, Sku, Slug, Stock};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const CHALET_FIELDS: &[&str] = &[
    "name",
    "artisan",
    "town",
    "category",
    "tagline",
    "cover",
    "logo",
    "contact",
    "trader",
    "fulfilment",
    "payouts",
];
pub(crate) const PRODUCT_FIELDS: &[&str] = &[
    "name",
    "price",
    "stock",
    "kind",
    "images",
    "tags",
    "allergens",
    "voucher",
    "personalisation",
    "net_quantity",
    "perishable",
    "sealed_hygiene",
];
pub(crate) const CONTACT_FIELDS: &[&str] = &["email", "phone", "website", "daily_digest"];
pub(crate) const FULFILMENT_FIELDS: &[&str] = &["pickup", "shipping"];
pub(crate) const SHIPPING_FIELDS: &[&str] = &["price", "free_from", "countries"];
pub(crate) const VOUCHER_FIELDS: &[&str] = &["valid_until", "terms", "date"];
pub(crate) const IMAGE_FIELDS: &[&str] = &["src", "alt"];
pub(crate) const PERSONALISATION_FIELDS: &[&str] = &["label", "required", "max_length"];

/// The market's settings a chalet is checked against.
#[derive(Clone, Copy, Debug)]
pub(super) struct MarketRules<'m> {
    pub categories: &'m [Category],
    /// A chalet may narrow these, never widen them.
    pub shipping_countries: &'m [String],
    /// When the market opens: vouchers are sold from then on.
    pub opens: Option<chalet_types::Date>,
}

impl<'m> MarketRules<'m> {
    pub fn of(market: &'m crate::model::Market) -> MarketRules<'m> {
        MarketRules {
            categories: &market.categories,
            shipping_countries: &market.shipping_countries,
            opens: market.opens,
        }
    }
}

/// Every `chalets/<slug>/` folder, in slug order; with the chalets validated afresh that a
/// later build may take again.
pub(super) fn validate_all(
    v: &mut Validator,
    rules: MarketRules,
    mut reuse: Reuse,
) -> (Vec<Arc<Chalet>>, Vec<(String, Entry)>) {
    // A chalet folder is any folder directly under chalets/ holding at least one file.
    // Borrowed from the listing: 9,000 files (M with photos) would be two strings each.
    // A chalet taken from the last build needs no list of its files (20,000 names at L):
    // whether it is taken is asked once per folder, and kept beside its list.
    let mut folders: BTreeMap<&str, (bool, Vec<&str>)> = BTreeMap::new();
    // Refused files (too large, unreadable) belong to their folder too: already reported, they
    // must not be reported again as missing.
    for rel in v.files.all_paths() {
        if let Some(rest) = rel.strip_prefix("chalets/") {
            match rest.split_once('/') {
                Some((folder, inner)) => {
                    let (kept, list) = folders.entry(folder).or_insert_with(|| (reuse.has(folder), Vec::new()));
                    if !*kept {
                        list.push(inner);
                    }
                }
                None => v.file_warning(
                    rel,
                    "files directly in chalets/ are ignored".into(),
                    Some("each chalet is a folder: chalets/<slug>/chalet.yaml".into()),
                ),
            }
        }
    }
    // Chalets are independent: each is validated on its own (in parallel), then merged in slug
    // order, its image ids mapped onto the site's.
    let files = v.files;
    let work: Vec<_> = folders
        .iter()
        .map(|(folder, (_, inner))| (folder, inner, reuse.take(folder)))
        .collect();
    let reuse = &reuse;
    let results: Vec<(Option<Arc<Chalet>>, Validator, Option<Entry>)> = work
        .into_par_iter()
        .map(|(folder, inner, kept)| {
            let mut local = Validator::new(files);
            if let Some((chalet, images, diags)) = kept {
                local.images = images;
                local.diags = diags;
                return (Some(chalet), local, None);
            }
            let chalet = validate_one(&mut local, folder, inner, rules).map(Arc::new);
            let diags: Vec<_> = local.diags.iter().cloned().collect();
            let entry = reuse.entry(files, folder, &chalet, &local.images, &diags);
            (chalet, local, entry)
        })
        .collect();
    let mut out = Vec::new();
    let mut fresh = Vec::new();
    // (A kept chalet's warnings are deferred: not counted here.)
    v.diags
        .reserve(results.iter().map(|(_, local, _)| local.diags.iter().count()).sum());
    for ((chalet, local, entry), folder) in results.into_iter().zip(folders.keys()) {
        if let Some(e) = entry {
            fresh.push((folder.to_string(), e));
        }
        v.diags.extend(local.diags);
        let ids: Vec<ImageId> = local.images.into_iter().map(|img| v.adopt_image(img)).collect();
        if let Some(mut c) = chalet {
            // The chalet's own numbering is often the site's (no images, or the first chalet
            // with some): then the chalet is shared as it is, not copied.
            if ids.iter().enumerate().any(|(local, &site)| local != site) {
                Arc::make_mut(&mut c).remap(&ids);
            }
            out.push(c);
        }
    }
    (out, fresh)
}

fn validate_one(v: &mut Validator, folder: &str, inner: &[&str], rules: MarketRules) -> Option<Chalet> {
    let categories = rules.categories;
    let base = format!("chalets/{folder}");
    let yaml_rel = format!("{base}/chalet.yaml");
    let slug = match Slug::parse(folder) {
        Ok(s) => Some(s),
        Err(e) => {
            let rel = if v.files.exists(&yaml_rel) {
                yaml_rel.clone()
            } else {
                format!("{base}/{}", inner[0])
            };
            v.file_error(
                &rel,
                format!("chalet folder `{folder}` is not a valid slug: {e}"),
                slug_hint(folder).map(|h| format!("rename the folder: {h}")),
            );
            None
        }
    };
    let Some(file) = v.text(&yaml_rel) else {
        if !inner.contains(&"chalet.yaml") {
            v.file_error(
                &yaml_rel,
                "this chalet folder has no chalet.yaml".into(),
                Some(format!("run `chalet new {folder}` to see a complete example")),
            );
        }
        return None;
    };
    let root = v.yaml_file(file)?;
    let mut r = v.reader(file);
    let f = r.fields(&root, "chalet.yaml", CHALET_FIELDS)?;
    let name = r
        .required(&f, "name", "chalet.yaml", "La Cire d'Anaïs")
        .and_then(|n| r.text(n, "name"));
    let artisan = r
        .required(&f, "artisan", "chalet.yaml", "Anaïs Dethier")
        .and_then(|n| r.text(n, "artisan"));
    let town = r
        .required(&f, "town", "chalet.yaml", "Liège")
        .and_then(|n| r.text(n, "town"));
    let category = r.required(&f, "category", "chalet.yaml", "bougies").and_then(|n| {
        let slug = r.slug(n, "category")?;
        if !categories.iter().any(|c| c.slug == slug) && !categories.is_empty() {
            r.error(
                n.pos,
                format!("category `{slug}` is not declared in market.yaml"),
                Some(category_hint(slug.as_str(), categories)),
            );
            return None;
        }
        Some(slug)
    });
    let tagline = r.opt_text(&f, "tagline", "tagline");
    let contact = f.get("contact").and_then(|n| contact(&mut r, n)).unwrap_or_default();
    let trader = super::legal::trader(&mut r, &f);
    let fulfilment = fulfilment(&mut r, &f, rules.shipping_countries);
    let stripe_account = f.get("payouts").and_then(|n| super::legal::payouts(&mut r, n));
    let cover_ref = image_field(&mut r, &f, "cover");
    let logo_ref = image_field(&mut r, &f, "logo");
    let cover = cover_ref
        .and_then(|(t, pos)| v.image_ref(&yaml_rel, &t, pos, ImageRole::Cover))
        .map(|id| Image { id, alt: None });
    let logo = logo_ref
        .and_then(|(t, pos)| v.image_ref(&yaml_rel, &t, pos, ImageRole::Logo))
        .map(|id| Image { id, alt: None });

    let about = match v.text(&format!("{base}/about.md")) {
        Some(about) => Some(v.markdown_body(about, 0, about.text().len())),
        None => {
            v.file_warning(
                &yaml_rel,
                "this chalet has no about.md: shoppers like to know the artisan's story".into(),
                None,
            );
            None
        }
    };
    for &other in inner {
        let top_level_text =
            !other.contains('/') && (other.ends_with(".md") || other.ends_with(".yaml") || other.ends_with(".yml"));
        if top_level_text && other != "chalet.yaml" && other != "about.md" {
            v.file_warning(
                &format!("{base}/{other}"),
                "this file is not used".into(),
                Some("products go in products/<slug>.md".into()),
            );
        } else if let Some(meant) = probably_meant(other) {
            v.file_warning(
                &format!("{base}/{other}"),
                "this file is not read: the name is not one a chalet folder uses".into(),
                Some(format!("did you mean `{meant}`?")),
            );
        }
    }

    let mut products = Vec::new();
    for &other in inner {
        let Some(file_name) = other.strip_prefix("products/") else {
            continue;
        };
        if file_name.contains('/') {
            continue; // images in sub-folders of products/ are fine
        }
        if let Some(stem) = file_name.strip_suffix(".md") {
            let rel = format!("{base}/{other}");
            let seller = Seller {
                chalet: slug.as_ref(),
                private: trader.as_ref().is_some_and(|t| t.private),
            };
            if let Some(p) = product(v, &rel, stem, seller, rules) {
                products.push(p);
            }
        }
    }
    let product_files = inner
        .iter()
        .filter(|f| f.starts_with("products/") && f.ends_with(".md"))
        .count();
    if product_files == 0 {
        v.file_warning(
            &yaml_rel,
            "this chalet has no products yet".into(),
            Some(format!("add {base}/products/<product-slug>.md")),
        );
    }

    let (pickup, shipping, ship_countries, fulfilment_pos) = fulfilment?;
    let all_vouchers = !products.is_empty() && products.iter().all(|p: &Product| p.kind == Kind::Voucher);
    if pickup.is_none() && shipping.is_none() && !all_vouchers {
        let mut r = v.reader(file);
        r.error(
            fulfilment_pos,
            "this chalet sells goods but offers neither pickup nor shipping".to_string(),
            Some("add under `fulfilment:` a `pickup: \"address and hours\"` or `shipping: { price: \"5.90\" }`".into()),
        );
        return None;
    }
    Some(
        Chalet {
            slug: slug?,
            source: file.display(),
            category: category?,
            cover,
            logo,
            card: Default::default(),
            about_images: Vec::new(),
            product_count: 0,
            first: None,
            product_images: Box::default(),
            digest: 0,
            head: 0,
            body: Default::default(),
        }
        .sealed(
            Card {
                name: name?,
                artisan: artisan?,
                town: town?,
                tagline,
                contact,
                trader,
                pickup,
                shipping,
                ship_countries,
                stripe_account,
            },
            Contents {
                about,
                products,
                digests: Vec::new(),
            },
            &v.images,
        ),
    )
}

/// The name a text file of a chalet folder probably meant, when it is not exactly one the
/// folder uses: `Chalet.YAML` → `chalet.yaml`, `products/lantern.MD` → `products/lantern.md`,
/// `products/garland.markdown` → `products/garland.md`.
pub(crate) fn probably_meant(name: &str) -> Option<String> {
    let (dir, file) = name.rsplit_once('/').map_or(("", name), |(d, f)| (d, f));
    let (stem, ext) = file.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    let fixed_ext = match ext.as_str() {
        "md" | "markdown" | "mdown" if dir.eq_ignore_ascii_case("products") || dir.is_empty() => "md",
        "yaml" | "yml" if dir.is_empty() => "yaml",
        _ => return None,
    };
    let stem = if dir.is_empty() {
        stem.to_ascii_lowercase()
    } else {
        stem.to_string()
    };
    let meant = match dir {
        "" if fixed_ext == "yaml" && stem == "chalet" => "chalet.yaml".to_string(),
        "" if fixed_ext == "md" && stem == "about" => "about.md".to_string(),
        "" => return None,
        _ => format!("products/{}.{fixed_ext}", chalet_types::slugify(&stem)),
    };
    (meant != name).then_some(meant)
}

fn image_field(r: &mut Reader, f: &Fields, name: &str) -> Option<(String, Pos)> {
    let n = f.get(name)?;
    r.text(n, name).map(|t| (t, n.pos))
}

fn contact(r: &mut Reader, node: &Node) -> Option<Contact> {
    let cf = r.fields(node, "contact", CONTACT_FIELDS)?;
    let email = cf.get("email").and_then(|n| email(r, n, "contact email"));
    let daily_digest = match cf.get("daily_digest") {
        None => false,
        Some(n) => {
            let wanted = r.yes_no(
                n,
                "daily_digest",
                "`daily_digest: true` sends one e-mail each morning with the day before's orders",
            )?;
            if wanted && email.is_none() && cf.get("email").is_none() {
                r.error(
                    n.pos,
                    "a daily digest needs an address to go to",
                    Some("add `email:` beside it in `contact`".into()),
                );
            }
            wanted
        }
    };
    Some(Contact {
        email,
        phone: r.opt_text(&cf, "phone", "phone"),
        website: cf.get("website").and_then(|n| absolute_url(r, n, "website")),
        daily_digest,
    })
}

type FulfilmentParts = (Option<String>, Option<Shipping>, Vec<String>, Pos);

fn fulfilment(r: &mut Reader, f: &Fields, market_countries: &[String]) -> Option<FulfilmentParts> {
    let Some(node) = f.get("fulfilment") else {
        return Some((None, None, Vec::new(), f.pos));
    };
    let mut countries = Vec::new();
    let ff = r.fields(node, "fulfilment", FULFILMENT_FIELDS)?;
    let pickup = r.opt_text(&ff, "pickup", "pickup");
    let shipping = match ff.get("shipping") {
        None => None,
        Some(n) => {
            let sf = r.fields(n, "shipping", SHIPPING_FIELDS)?;
            if let Some(cn) = sf.get("countries") {
                countries = r.country_codes(cn, "countries");
                let outside: Vec<&String> = countries.iter().filter(|c| !market_countries.contains(c)).collect();
                if !outside.is_empty() && !market_countries.is_empty() {
                    r.error(
                        cn.pos,
                        format!(
                            "the market does not ship to {}",
                            outside.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        Some(format!(
                            "a chalet narrows the market's `shipping_countries` ({}); it cannot add to them",
                            market_countries.join(", ")
                        )),
                    );
                }
            }
            let price = r
                .required(&sf, "price", "shipping", "\"5.90\"")
                .and_then(|n| r.money(n, "shipping price"))?;
            let free_from = match sf.get("free_from") {
                Some(n) => Some(r.money(n, "free_from")?),
                None => None,
            };
            Some(Shipping { price, free_from })
        }
    };
    Some((pickup, shipping, countries, node.pos))
}

/// The chalet a product is sold from, as its rules need it.
#[derive(Clone, Copy, Debug)]
struct Seller<'a> {
    chalet: Option<&'a Slug>,
    /// A private person: no right of withdrawal on anything they sell.
    private: bool,
}

fn product(v: &mut Validator, rel: &str, stem: &str, seller: Seller, rules: MarketRules) -> Option<Product> {
    let chalet = seller.chalet;
    let product_slug = match Slug::parse(stem) {
        Ok(s) => Some(s),
        Err(e) => {
            v.file_error(
                rel,
                format!("product file name `{stem}` is not a valid slug: {e}"),
                slug_hint(stem).map(|h| format!("rename the file: {h}")),
            );
            None
        }
    };
    let file = v.text(rel)?;
    let (root, description) = v.markdown_file(file, "name: Bougie au sapin\nprice: \"14.90\"")?;
    let mut r = v.reader(file);
    let f = r.fields(&root, "the product", PRODUCT_FIELDS)?;
    let name = r
        .required(&f, "name", "the product", "Bougie au sapin")
        .and_then(|n| r.text(n, "name"));
    let price = r
        .required(&f, "price", "the product", "\"14.90\"")
        .and_then(|n| r.money(n, "price"));
    let stock = match f.get("stock") {
        None => Some(Stock::MadeToOrder),
        Some(n) => r.count(n, "stock").map(Stock::Limited),
    };
    let kind = match f.get("kind") {
        None => Some(Kind::Goods),
        Some(n) => r.text(n, "kind").and_then(|t| {
            let k = Kind::parse(&t);
            if k.is_none() {
                let hint = crate::diagnostic::did_you_mean(&t, Kind::ALL).map_or_else(
                    || format!("use one of: {}", Kind::ALL.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                r.error(n.pos, format!("kind `{t}` is not a kind of product"), Some(hint));
            }
            k
        }),
    };
    let tags = r.text_list(&f, "tags", "a tag");
    let allergens = super::legal::allergens(&mut r, &f, kind);
    let net_quantity = super::legal::net_quantity(&mut r, &f, kind);
    let voucher = match f.get("voucher") {
        None => None,
        Some(n) => {
            if kind.is_some_and(|k| k != Kind::Voucher) {
                r.error(
                    n.pos,
                    "voucher terms are given but the product is not `kind: voucher`".to_string(),
                    Some("add `kind: voucher`".into()),
                );
            }
            let vf = r.fields(n, "voucher", VOUCHER_FIELDS);
            vf.map(|vf| {
                let voucher = Voucher {
                    valid_until: vf.get("valid_until").and_then(|n| r.date(n, "valid_until")),
                    terms: r.opt_text(&vf, "terms", "terms"),
                    date: vf.get("date").and_then(|n| r.date(n, "date")),
                };
                if let (Some(from), Some(at)) = (rules.opens, vf.get("valid_until")) {
                    super::legal::voucher_validity(&mut r, at, &voucher, from);
                }
                voucher
            })
        }
    };
    let personalisation = f.get("personalisation").and_then(|n| personalisation(&mut r, n));
    let withdrawal = super::legal::withdrawal(
        &mut r,
        &f,
        kind,
        personalisation.as_ref(),
        voucher.as_ref(),
        seller.private,
    );
    // images: [file] or [{src, alt}]
    let mut image_refs = Vec::new();
    if let Some(n) = f.get("images") {
        for item in r.list(n, "images") {
            match &item.value {
                Value::Map(_) => {
                    let Some(imf) = r.fields(item, "an image", IMAGE_FIELDS) else {
                        continue;
                    };
                    let src = r
                        .required(&imf, "src", "this image", "bougie.jpg")
                        .and_then(|n| r.text(n, "src").map(|t| (t, n.pos)));
                    let alt = r.opt_text(&imf, "alt", "alt");
                    if let Some((t, pos)) = src {
                        image_refs.push((t, pos, alt));
                    }
                }
                _ => {
                    if let Some(t) = r.text(item, "an image") {
                        image_refs.push((t, item.pos, None));
                    }
                }
            }
        }
    }
    let mut images = Vec::new();
    for (t, pos, alt) in image_refs {
        if alt.is_none() {
            v.diag(
                Severity::Warning,
                rel,
                pos,
                format!("image `{t}` has no alt text"),
                Some(format!(
                    "write it as `- {{ src: {t}, alt: \"what the photo shows\" }}`: screen readers read it aloud"
                )),
            );
        }
        if let Some(id) = v.image_ref(rel, &t, pos, ImageRole::Product) {
            images.push(Image { id, alt });
        }
    }
    Some(Product {
        sku: Sku::new(chalet?.clone(), product_slug?),
        name: name?,
        price: price?,
        stock: stock?,
        kind: kind?,
        images,
        tags,
        allergens,
        net_quantity,
        withdrawal,
        voucher,
        personalisation,
        description,
    })
}
