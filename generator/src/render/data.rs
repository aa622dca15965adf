//! Machine-readable data the pages carry beside their HTML: schema.org JSON-LD for search
//! engines, the small configuration the theme's script reads, and the search index.
//! All of it is JSON; [`script_safe`] makes it safe inside a `<script>` data block.

use super::view::{ChaletCard, ProductView, Views};
use crate::model::Site;
use chalet_types::language::SymbolAt;
use chalet_types::routes::{self, Endpoint};
use chalet_types::{Availability, Currency, ErrorCode, LOW_STOCK};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// JSON inside `<script type="application/ld+json">` ends at the first `</script`, whatever the
/// JSON says: escape every `<` (and the two line separators old parsers choke on).
pub fn script_safe(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A product as schema.org `Product` with one `Offer`: price, currency and availability.
pub fn product_ld(p: &ProductView, chalet: &ChaletCard, canonical: &str, currency: Currency) -> String {
    let availability = p.card.availability.schema_org();
    let mut v = json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.card.name,
        "sku": p.card.sku,
        "description": p.summary,
        "url": canonical,
        "brand": { "@type": "Brand", "name": chalet.name },
        "offers": {
            "@type": "Offer",
            "url": canonical,
            "price": p.card.price_decimal,
            "priceCurrency": currency.code(),
            "availability": availability,
            "seller": { "@type": "Organization", "name": chalet.name },
        },
    });
    if let Some(image) = &p.image_url {
        v["image"] = json!([image]);
    }
    script_safe(&v)
}

/// `availability_is.sold_out == "sold_out"`: the wire names of [`Availability`], for templates
/// and the script to compare with.
pub fn availability_names() -> BTreeMap<&'static str, &'static str> {
    Availability::ALL.iter().map(|a| (a.wire(), a.wire())).collect()
}

/// What `market.js` needs: where the site and the checkout function live, the routes it links
/// to and calls, the function's error codes and the stock states (all from `chalet-types`, so
/// the script spells none of them), how money is written, and the UI strings whose keys start
/// with `js_` (the prefix dropped).
pub fn script_config(views: &Views, strings: &BTreeMap<String, String>) -> String {
    let m = &views.site.market;
    let t: BTreeMap<&str, &str> = strings
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("js_")?, v.as_str())))
        .collect();
    let urls = views.site_urls();
    let style = m.language.number_style();
    let errors: BTreeMap<&str, &str> = ErrorCode::ALL.iter().map(|c| (c.as_str(), c.as_str())).collect();
    script_safe(&json!({
        "root": views.root,
        "checkout": m.checkout_url,
        "lang": m.language,
        "currency": m.currency,
        "money": {
            "group": style.group,
            "decimal": style.decimal,
            "symbol": m.currency.symbol(),
            "symbol_at": match style.symbol {
                SymbolAt::After => "after",
                SymbolAt::Before => "before",
                SymbolAt::BeforeSpaced => "before_spaced",
            },
        },
        "routes": {
            "chalet": views.url(&routes::chalet_path("{chalet}")),
            "product": views.url(&routes::product_path("{chalet}", "{product}")),
            "basket": urls.basket,
            "order": urls.order,
            "catalogue": urls.catalogue,
            "search_index": urls.search_index,
            "api": {
                "checkout": Endpoint::Checkout.as_str(),
                "cancel": Endpoint::Cancel.as_str(),
                "availability": Endpoint::Availability.as_str(),
                "order": Endpoint::Order.as_str(),
                "applications": Endpoint::Applications.as_str(),
                "chalet_orders": Endpoint::ChaletOrders.as_str(),
                "chalet_orders_csv": Endpoint::ChaletOrdersCsv.as_str(),
                "handover": Endpoint::Handover.as_str(),
                "staff_pin": Endpoint::StaffPin.as_str(),
                "redeem": Endpoint::RedeemVoucher.as_str(),
                "undo": Endpoint::UndoVoucher.as_str(),
                "voucher_key": Endpoint::VoucherKey.as_str(),
            },
        },
        "params": {
            "session": routes::SESSION_PARAM,
            "cancelled": routes::CANCELLED_PARAM,
            "registered": routes::REGISTERED_PARAM,
        },
        "errors": errors,
        "availability": availability_names(),
        "max_quantity": chalet_types::MAX_QUANTITY,
        "low_stock": LOW_STOCK,
        "t": t,
    }))
}

/// The search index: every chalet and product with the words a shopper may type (names,
/// chalet, artisan, town, category, tags). Accents are folded by the script, not here, so
/// results can show the names as written. A JSON list of each chalet's [`search_part`], one
/// chalet's contents read at a time.
/// `Err` when a chalet's contents cannot be read back ([`crate::model::Chalet::read_contents`]).
pub fn search_index(site: &Site, views: &Views) -> Result<String, crate::diagnostic::Diagnostic> {
    let mut text = super::lists::Joined::new("[".to_string(), true);
    for c in &site.chalets {
        let contents = c.read_contents()?;
        text.push(&search_part(views, c, &contents)?);
    }
    Ok(text.finish(|_| "]"))
}

/// A chalet's entries in the search index as written there, each after its `,`. `Err` when
/// its card cannot be read back ([`crate::model::Chalet::card`]).
pub fn search_part(
    views: &Views,
    c: &crate::model::Chalet,
    contents: &crate::model::Contents,
) -> Result<String, crate::diagnostic::Diagnostic> {
    let mut out = String::new();
    for entry in search_entries(views, c, c.card()?, contents) {
        out.push(',');
        // Plain strings: nothing in an entry can fail to serialise.
        out.push_str(&serde_json::to_string(&entry).unwrap_or_default());
    }
    Ok(out)
}

/// One entry of the search index, typed rather than a `json!` map (a third of the time at 3,000
/// products); fields in the order a map would sort its keys, so the file stays as it was.
#[derive(Debug, Serialize)]
pub struct SearchEntry<'a> {
    d: String,
    k: String,
    n: &'a str,
    u: String,
}

/// A chalet's entries in the search index: itself, then its products. The index is these,
/// chalet after chalet.
pub fn search_entries<'a>(
    views: &Views,
    c: &crate::model::Chalet,
    card: &'a crate::model::Card,
    contents: &'a crate::model::Contents,
) -> Vec<SearchEntry<'a>> {
    let category = views.category_name(c.category.as_str());
    let mut entries = Vec::with_capacity(contents.products.len() + 1);
    entries.push(SearchEntry {
        n: &card.name,
        d: format!("{} · {}", card.artisan, card.town),
        k: format!(
            "{} {} {}",
            category,
            card.tagline.as_deref().unwrap_or(""),
            card.artisan
        ),
        u: views.chalet_url(c),
    });
    for p in &contents.products {
        entries.push(SearchEntry {
            n: &p.name,
            d: format!("{} · {}", card.name, views.money(p.price)),
            k: format!("{} {} {}", card.name, category, p.tags.join(" ")),
            u: views.product_url(p),
        });
    }
    entries
}
