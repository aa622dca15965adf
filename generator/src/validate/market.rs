//! `market.yaml`: the market's identity, categories, sponsors and registration fee.

use super::Validator;
use crate::diagnostic::did_you_mean;
use crate::model::{Category, Image, ImageSettings, Market, Organiser, Registration, Sponsor};
use crate::yaml::{Node, Pos, Reader, Value};
use chalet_types::{Currency, Language, SiteUrl};
use std::collections::HashSet;

pub(crate) const MARKET_FIELDS: &[&str] = &[
    "name",
    "tagline",
    "base_url",
    "language",
    "currency",
    "theme",
    "checkout_url",
    "opens",
    "closes",
    "organiser",
    "registration",
    "shipping_countries",
    "collect_phone",
    "commission_percent",
    "categories",
    "sponsors",
    "images",
];
pub(crate) const ORGANISER_FIELDS: &[&str] = &["name", "email"];
pub(crate) const REGISTRATION_FIELDS: &[&str] = &["fee", "sponsor_reduction"];
pub(crate) const CATEGORY_FIELDS: &[&str] = &["slug", "name"];
pub(crate) const SPONSOR_FIELDS: &[&str] = &["name", "url", "logo"];
pub(crate) const IMAGE_SETTINGS_FIELDS: &[&str] = &["widths", "fallback_width", "quality", "max_megapixels"];

pub(super) fn validate(v: &mut Validator) -> Option<Market> {
    let Some(file) = v.text("market.yaml") else {
        v.file_error(
            "market.yaml",
            "the market has no market.yaml".into(),
            Some("create content/market.yaml with at least name, base_url and categories".into()),
        );
        return None;
    };
    let root = v.yaml_file(file)?;
    let mut r = v.reader(file);
    let f = r.fields(&root, "market.yaml", MARKET_FIELDS)?;

    let name = r
        .required(&f, "name", "market.yaml", "Marché de Noël")
        .and_then(|n| r.text(n, "name"));
    let base_url = r
        .required(&f, "base_url", "market.yaml", "https://marche.example/")
        .and_then(|n| site_url(&mut r, n));
    let language = match f.get("language") {
        None => Some(Language::Fr),
        Some(n) => r.text(n, "language").and_then(|t| {
            let lang = Language::parse(&t);
            if lang.is_none() {
                r.error(
                    n.pos,
                    format!("language `{t}` is not supported"),
                    Some(format!("use one of: {}", Language::codes())),
                );
            }
            lang
        }),
    };
    let currency = match f.get("currency") {
        None => Some(Currency::Eur),
        Some(n) => r.text(n, "currency").and_then(|c| {
            if let Some(c) = Currency::parse(&c) {
                Some(c)
            } else {
                r.error(
                    n.pos,
                    format!("currency `{c}` is not supported"),
                    Some("the market sells in euros: `currency: EUR`".into()),
                );
                None
            }
        }),
    };
    let theme_origin = r.origin(f.get("theme").map_or(Pos { line: 1, col: 1 }, |n| n.pos));
    // A theme name is joined to the themes folder: only a slug can never leave it.
    let theme = match f.get("theme") {
        None => "default".to_string(),
        Some(n) => match r.text(n, "theme") {
            Some(t) if chalet_types::Slug::parse(&t).is_ok() => t,
            Some(t) => {
                r.error(
                    n.pos,
                    format!("theme `{t}` is not a theme name"),
                    Some("name a folder of the themes folder, e.g. `theme: default`".into()),
                );
                "default".to_string()
            }
            None => "default".to_string(),
        },
    };
    let checkout_url = f.get("checkout_url").and_then(|n| {
        let t = r.text(n, "checkout_url")?;
        if t.starts_with('/') && !t.starts_with("//") {
            Some(t.trim_end_matches('/').to_string())
        } else {
            absolute_url(&mut r, n, "checkout_url").map(|u| u.trim_end_matches('/').to_string())
        }
    });
    let opens = f.get("opens").and_then(|n| r.date(n, "opens"));
    let closes = f.get("closes").and_then(|n| r.date(n, "closes"));
    if let (Some(o), Some(c), Some(n)) = (opens, closes, f.get("closes"))
        && c < o
    {
        r.error(n.pos, format!("the market closes ({c}) before it opens ({o})"), None);
    }
    let organiser = f.get("organiser").and_then(|n| {
        let of = r.fields(n, "organiser", ORGANISER_FIELDS)?;
        let name = r
            .required(&of, "name", "organiser", "Comité des fêtes")
            .and_then(|n| r.text(n, "organiser name"))?;
        let email = of.get("email").and_then(|n| email(&mut r, n, "organiser email"));
        Some(Organiser { name, email })
    });
    let registration = f.get("registration").and_then(|n| {
        let rf = r.fields(n, "registration", REGISTRATION_FIELDS)?;
        let fee = r
            .required(&rf, "fee", "registration", "\"150.00\"")
            .and_then(|n| r.money(n, "fee"))?;
        let reduction = match rf.get("sponsor_reduction") {
            Some(n) => {
                let red = r.money(n, "sponsor_reduction")?;
                if red > fee {
                    r.error(
                        n.pos,
                        "the sponsors' reduction is larger than the fee".to_string(),
                        None,
                    );
                }
                red
            }
            None => chalet_types::Money::ZERO,
        };
        Some(Registration {
            fee,
            sponsor_reduction: reduction,
        })
    });
    let shipping_countries = match f.get("shipping_countries") {
        None => chalet_types::catalogue::default_shipping_countries(),
        Some(n) => r.country_codes(n, "shipping_countries"),
    };
    let collect_phone = f.get("collect_phone").map_or(Some(true), |n| {
        r.yes_no(
            n,
            "collect_phone",
            "`collect_phone: false` stops Checkout asking pickup shoppers for a phone",
        )
    });
    let collect_phone = collect_phone.unwrap_or(true);
    let commission_bp = f.get("commission_percent").map_or(0, |n| commission(&mut r, n));
    let tagline = r.opt_text(&f, "tagline", "tagline");
    let images = f
        .get("images")
        .map_or_else(ImageSettings::default, |n| image_settings(&mut r, n));
    let categories = categories(&mut r, &f.get("categories"), f.pos);
    let sponsors = sponsors(v, file, f.get("sponsors"));

    Some(Market {
        name: name?,
        tagline,
        base_url: base_url?,
        language: language?,
        currency: currency?,
        theme,
        theme_origin,
        checkout_url,
        opens,
        closes,
        organiser,
        registration,
        shipping_countries,
        collect_phone,
        commission_bp,
        categories,
        sponsors,
        images,
    })
}

/// `commission_percent: 5` (or `2.5`): the organisers' share of each chalet's sales, in basis
/// points; at most two decimals, 0 to 100.
fn commission(r: &mut Reader, node: &Node) -> u32 {
    let text = match &node.value {
        Value::Number(s) | Value::Str(s) => s.trim().replace(',', "."),
        _ => String::new(),
    };
    // A percentage with two decimals is written like an amount in cents.
    match chalet_types::Money::parse(&text).map(|m| m.cents()) {
        Ok(bp @ 0..=10_000) => bp as u32,
        _ => {
            r.error(
                node.pos,
                format!("commission_percent `{text}` is not a percentage from 0 to 100"),
                Some("write it like `5` or `2.5`: the organisers' share of each chalet's sales".into()),
            );
            0
        }
    }
}

/// `images: { widths: [320, 640, 1280], fallback_width: 640, quality: 80, max_megapixels: 50 }`
fn image_settings(r: &mut Reader, node: &Node) -> ImageSettings {
    let mut s = ImageSettings::default();
    let Some(f) = r.fields(node, "images", IMAGE_SETTINGS_FIELDS) else {
        return s;
    };
    let width = |r: &mut Reader, n: &Node, what: &str| {
        r.count(n, what).filter(|w| {
            let ok = (16..=8192).contains(w);
            if !ok {
                r.error(n.pos, format!("{what} {w} must be between 16 and 8192 pixels"), None);
            }
            ok
        })
    };
    if let Some(n) = f.get("widths") {
        let widths: Vec<u32> = r
            .list(n, "widths")
            .into_iter()
            .filter_map(|n| width(r, n, "a width"))
            .collect();
        if !widths.is_empty() {
            s.widths = widths;
        }
    }
    if let Some(w) = f.get("fallback_width").and_then(|n| width(r, n, "fallback_width")) {
        s.fallback_width = w;
    }
    if let Some(n) = f.get("quality")
        && let Some(q) = r.count(n, "quality")
    {
        if (1..=100).contains(&q) {
            s.quality = q as u8;
        } else {
            r.error(n.pos, format!("quality {q} must be between 1 and 100"), None);
        }
    }
    if let Some(mp) = f.get("max_megapixels").and_then(|n| r.count(n, "max_megapixels")) {
        s.max_pixels = u64::from(mp.max(1)) * 1_000_000;
    }
    s
}

fn categories(r: &mut Reader, node: &Option<&Node>, pos: Pos) -> Vec<Category> {
    let Some(node) = node else {
        r.error(
            pos,
            "market.yaml is missing its required field `categories`".to_string(),
            Some("add a list like:\ncategories:\n  - { slug: bougies, name: Bougies }".into()),
        );
        return Vec::new();
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for item in r.list(node, "categories") {
        let Some(cf) = r.fields(item, "a category", CATEGORY_FIELDS) else {
            continue;
        };
        let slug_node = r.required(&cf, "slug", "this category", "bougies");
        let slug = slug_node.and_then(|n| r.slug(n, "category slug"));
        let name = r
            .required(&cf, "name", "this category", "Bougies")
            .and_then(|n| r.text(n, "category name"));
        if let (Some(slug), Some(name), Some(n)) = (slug, name, slug_node) {
            if !seen.insert(slug.clone()) {
                r.error(
                    n.pos,
                    format!("category `{slug}` is declared twice"),
                    Some("each category slug must be unique".into()),
                );
                continue;
            }
            let origin = r.origin(n.pos);
            out.push(Category { slug, name, origin });
        }
    }
    if out.is_empty() && matches!(node.value, Value::Seq(ref s) if s.is_empty()) {
        r.error(node.pos, "the market needs at least one category".to_string(), None);
    }
    out
}

fn sponsors<'a>(v: &mut Validator<'a>, file: &'a crate::source::SourceFile, node: Option<&Node>) -> Vec<Sponsor> {
    let Some(node) = node else { return Vec::new() };
    let mut out = Vec::new();
    let items: Vec<&Node> = v.reader(file).list(node, "sponsors");
    for item in items {
        let mut r = v.reader(file);
        let Some(sf) = r.fields(item, "a sponsor", SPONSOR_FIELDS) else {
            continue;
        };
        let name = r
            .required(&sf, "name", "this sponsor", "Ville de Liège")
            .and_then(|n| r.text(n, "sponsor name"));
        let url = sf.get("url").and_then(|n| absolute_url(&mut r, n, "sponsor url"));
        let logo_ref = sf
            .get("logo")
            .and_then(|n| r.text(n, "sponsor logo").map(|t| (t, n.pos)));
        let logo = logo_ref
            .and_then(|(t, pos)| v.image_ref(&file.rel, &t, pos, crate::model::ImageRole::Sponsor))
            .map(|id| Image { id, alt: name.clone() });
        if let Some(name) = name {
            out.push(Sponsor { name, url, logo });
        }
    }
    out
}

/// The market's address: parsed strictly (see [`SiteUrl`]), so the site cannot point elsewhere.
fn site_url(r: &mut Reader, node: &Node) -> Option<SiteUrl> {
    let t = r.text(node, "base_url")?;
    match SiteUrl::parse(&t) {
        Ok(u) => Some(u),
        Err(e) => {
            r.error(
                node.pos,
                format!("base_url `{t}` is not a usable site address: {e}"),
                Some("write it like https://marche.example/ or https://example.org/marche/".into()),
            );
            None
        }
    }
}

/// An absolute http(s) URL, normalised to end with `/` when it has no path.
pub(super) fn absolute_url(r: &mut Reader, node: &Node, what: &str) -> Option<String> {
    let t = r.text(node, what)?;
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !t.contains(char::is_whitespace) => {
            Some(if host.contains('/') { t } else { format!("{t}/") })
        }
        _ => {
            r.error(
                node.pos,
                format!("{what} `{t}` must be an absolute address starting with https://"),
                None,
            );
            None
        }
    }
}

pub(super) fn email(r: &mut Reader, node: &Node, what: &str) -> Option<String> {
    let t = r.text(node, what)?;
    let ok = t
        .split_once('@')
        .is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !t.contains(char::is_whitespace));
    if !ok {
        r.error(node.pos, format!("{what} `{t}` is not an e-mail address"), None);
        return None;
    }
    Some(t)
}

/// "did you mean" among declared categories.
pub(super) fn category_hint(given: &str, declared: &[Category]) -> String {
    match did_you_mean(given, declared.iter().map(|c| c.slug.as_str())) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = declared.iter().map(|c| c.slug.as_str()).collect();
            format!("declared categories are: {}", all.join(", "))
        }
    }
}
