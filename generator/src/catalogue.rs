//! `catalogue.json`: what the checkout function publishes to its table. Built from the typed
//! site with the shared crate's types, sorted by SKU so the file is byte-stable.

use crate::model::{Chalet, Site};
use chalet_types::{Catalogue, CatalogueItem, CatalogueMarket, FulfilmentOptions, OrganiserContact, Route};
use std::collections::BTreeMap;

/// The catalogue, with the theme's `mail_*` strings (prefix dropped) for the receipts the
/// function sends: one place translates the site and its e-mails.
pub fn catalogue(site: &Site, strings: &BTreeMap<String, String>) -> Catalogue {
    let m = &site.market;
    let mut items: Vec<CatalogueItem> = site.chalets.iter().flat_map(|c| chalet_items(site, c)).collect();
    items.sort_by(|a, b| a.sku.cmp(&b.sku));
    Catalogue {
        version: Catalogue::VERSION,
        market: CatalogueMarket {
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
        },
        items,
    }
}

/// One chalet's items, in its products' order: all the catalogue holds of that chalet (its
/// items sort together by SKU, which starts with the chalet), so a build can tell from these
/// alone whether the catalogue changed ([`crate::render`]'s lists).
pub fn chalet_items(site: &Site, c: &Chalet) -> Vec<CatalogueItem> {
    let m = &site.market;
    c.products
        .iter()
        .map(|p| CatalogueItem {
            sku: p.sku.clone(),
            name: p.name.clone(),
            chalet: c.slug.clone(),
            chalet_name: c.name.clone(),
            chalet_email: c.contact.email.clone(),
            chalet_digest: c.contact.daily_digest,
            stripe_account: c.stripe_account.clone(),
            price: p.price,
            stock: p.stock,
            kind: p.kind,
            fulfilment: FulfilmentOptions {
                pickup: c.pickup.is_some(),
                shipping: c.shipping,
                pickup_at: c.pickup.clone(),
                ship_countries: c.ship_countries.clone(),
            },
            url: m.base_url.join(&Route::Product(&p.sku).path()),
            voucher_valid_until: p.voucher.as_ref().and_then(|v| v.valid_until),
            voucher_terms: p.voucher.as_ref().and_then(|v| v.terms.clone()),
            personalisation: p.personalisation.clone(),
            withdrawal: p.withdrawal,
        })
        .collect()
}
