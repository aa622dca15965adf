//! `catalogue.json`: what the checkout function publishes to its table. Built from the typed
//! site with the shared crate's types, sorted by SKU so the file is byte-stable.

use crate::diagnostic::Diagnostic;
use crate::model::{Card, Chalet, Contents, Product, Site};
use chalet_types::{Catalogue, CatalogueItem, CatalogueMarket, FulfilmentOptions, OrganiserContact, Route};
use std::collections::BTreeMap;

/// The catalogue as one value: what [`catalogue_json`] must write, made the plain way (the
/// build itself streams it).
#[cfg(test)]
pub fn catalogue(site: &Site, strings: &BTreeMap<String, String>) -> Catalogue {
    let mut items: Vec<CatalogueItem> = site
        .chalets
        .iter()
        .flat_map(|c| {
            let (contents, card) = (c.read_contents().expect("contents"), c.card().expect("card"));
            contents
                .products
                .iter()
                .map(|p| item(site, c, card, p))
                .collect::<Vec<_>>()
        })
        .collect();
    items.sort_by(|a, b| a.sku.cmp(&b.sku));
    Catalogue {
        version: Catalogue::VERSION,
        market: market(site, strings),
        items,
    }
}

/// `catalogue.json` (pretty, one newline at the end), with the theme's `mail_*` strings (prefix
/// dropped) for the receipts the function sends — one place translates the site and its
/// e-mails. Made as [`head`], each chalet's [`part`] (in SKU order: a chalet's SKUs all begin
/// with its slug, so its items sort together and the file is byte-stable) and [`tail`]: the
/// pieces a rebuild splices ([`crate::render`]'s lists). One chalet's contents are read at a
/// time: at 20,000 products the list of items was 12 MB held beside the 14 MB of text.
/// `Err` when a chalet's contents cannot be read back ([`Chalet::read_contents`]).
pub fn catalogue_json(site: &Site, strings: &BTreeMap<String, String>) -> Result<String, Diagnostic> {
    let mut order: Vec<&Chalet> = site.chalets.iter().map(|c| &**c).collect();
    order.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut text = crate::render::lists::Joined::new(head(site, strings)?, true);
    for c in order {
        let contents = c.read_contents()?;
        text.push(&part(site, c, &contents)?);
    }
    Ok(text.finish(tail))
}

/// The catalogue's text before its first item: the pretty form of the catalogue without items,
/// up to its list's `[`.
pub fn head(site: &Site, strings: &BTreeMap<String, String>) -> Result<String, Diagnostic> {
    #[derive(serde::Serialize)]
    struct Empty {
        version: u32,
        market: CatalogueMarket,
        items: [CatalogueItem; 0],
    }
    let empty = Empty {
        version: Catalogue::VERSION,
        market: market(site, strings),
        items: [],
    };
    let text = serde_json::to_string_pretty(&empty).map_err(|e| unwritable(&e))?;
    text.strip_suffix("]\n}")
        .map(str::to_string)
        .ok_or_else(|| unwritable(&"no list of items"))
}

/// The catalogue's text after its items (`any`: whether it has one).
pub fn tail(any: bool) -> &'static str {
    if any { "\n  ]\n}\n" } else { "]\n}\n" }
}

/// A chalet's items as the pretty catalogue writes them, each after its separator (`,`, a new
/// line, the list's indentation): all the catalogue holds of that chalet.
pub fn part(site: &Site, c: &Chalet, contents: &Contents) -> Result<String, Diagnostic> {
    let mut products: Vec<&Product> = contents.products.iter().collect();
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    let card = c.card()?;
    let mut out = String::new();
    for p in products {
        let json = serde_json::to_string_pretty(&item(site, c, card, p)).map_err(|e| unwritable(&e))?;
        // Two levels in: the object's own lines indented as the list's elements are.
        out.push_str(",\n    ");
        out.push_str(&json.replace('\n', "\n    "));
    }
    Ok(out)
}

fn unwritable(e: &dyn std::fmt::Display) -> Diagnostic {
    Diagnostic {
        severity: crate::diagnostic::Severity::Error,
        path: chalet_types::routes::CATALOGUE.to_string(),
        line: 1,
        col: 1,
        message: format!("the catalogue could not be written: {e}"),
        hint: None,
    }
}

fn market(site: &Site, strings: &BTreeMap<String, String>) -> CatalogueMarket {
    let m = &site.market;
    CatalogueMarket {
        name: m.name.clone(),
        base_url: m.base_url.clone(),
        currency: m.currency,
        language: m.language,
        registration_fee: m.registration.map(|r| r.payable()),
        shipping_countries: m.shipping_countries.clone(),
        collect_phone: m.collect_phone,
        commission_bp: m.commission_bp,
        organiser: m.organiser.as_ref().map(|o| OrganiserContact {
            name: o.name.clone(),
            email: o.email.clone(),
        }),
        mail: chalet_types::catalogue::receipt_words(strings),
    }
}

fn item(site: &Site, c: &Chalet, card: &Card, p: &Product) -> CatalogueItem {
    CatalogueItem {
        sku: p.sku.clone(),
        name: p.name.clone(),
        chalet: c.slug.clone(),
        chalet_name: card.name.clone(),
        chalet_email: card.contact.email.clone(),
        chalet_digest: card.contact.daily_digest,
        stripe_account: card.stripe_account.clone(),
        price: p.price,
        stock: p.stock,
        kind: p.kind,
        fulfilment: FulfilmentOptions {
            pickup: card.pickup.is_some(),
            shipping: card.shipping,
            pickup_at: card.pickup.clone(),
            ship_countries: card.ship_countries.clone(),
        },
        url: site.market.base_url.join(&Route::product(&p.sku).path()),
        voucher_valid_until: p.voucher.as_ref().and_then(|v| v.valid_until),
        voucher_terms: p.voucher.as_ref().and_then(|v| v.terms.clone()),
        personalisation: p.personalisation.clone(),
        withdrawal: p.withdrawal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_file_is_the_catalogue_serialised_whole() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../content");
        let files = crate::load::load(&root, "content").expect("example content");
        let site = crate::validate::validate(&files)
            .site
            .expect("example market validates");
        let strings = BTreeMap::from([("mail_subject".to_string(), "Votre commande".to_string())]);
        let whole = catalogue(&site, &strings);
        assert!(
            whole.items.len() > 10,
            "the example market sells: {}",
            whole.items.len()
        );
        let text = catalogue_json(&site, &strings).expect("json");
        assert!(text.ends_with("}\n"));
        assert_eq!(text, serde_json::to_string_pretty(&whole).expect("json") + "\n");
        let back: Catalogue = serde_json::from_str(&text).expect("a catalogue");
        assert_eq!(back, whole);
        // Sorted by SKU even where the chalets' own order is not.
        let mut reversed = site.clone();
        reversed.chalets.reverse();
        assert_eq!(catalogue_json(&reversed, &strings).expect("json"), text);
    }
}
