//! `catalogue.json`: what the checkout function publishes to its table. Built from the typed
//! site with the shared crate's types, sorted by SKU so the file is byte-stable.

use crate::model::{Chalet, Product, Site};
use chalet_types::{Catalogue, CatalogueItem, CatalogueMarket, FulfilmentOptions, OrganiserContact, Route};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::collections::BTreeMap;

/// The catalogue as one value: what [`catalogue_json`] must write, made the plain way (the
/// build itself streams it).
#[cfg(test)]
pub fn catalogue(site: &Site, strings: &BTreeMap<String, String>) -> Catalogue {
    let mut items: Vec<CatalogueItem> = site.chalets.iter().flat_map(|c| chalet_items(site, c)).collect();
    items.sort_by(|a, b| a.sku.cmp(&b.sku));
    Catalogue {
        version: Catalogue::VERSION,
        market: market(site, strings),
        items,
    }
}

/// `catalogue.json` (pretty, one newline at the end), with the theme's `mail_*` strings (prefix
/// dropped) for the receipts the function sends — one place translates the site and its
/// e-mails. Each item is made only as it is written: at 20,000 products the list of items was
/// 12 MB held beside the 14 MB of text it became.
pub fn catalogue_json(site: &Site, strings: &BTreeMap<String, String>) -> serde_json::Result<String> {
    /// [`Catalogue`]'s fields, in its order, its items made one at a time.
    #[derive(serde::Serialize)]
    struct Streamed<'a> {
        version: u32,
        market: CatalogueMarket,
        items: Items<'a>,
    }
    struct Items<'a> {
        site: &'a Site,
        /// (chalet, product) in SKU order: the file is byte-stable.
        order: Vec<(&'a Chalet, &'a Product)>,
    }
    impl Serialize for Items<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.order.len()))?;
            for (c, p) in &self.order {
                seq.serialize_element(&item(self.site, c, p))?;
            }
            seq.end()
        }
    }
    let mut order: Vec<(&Chalet, &Product)> = site
        .chalets
        .iter()
        .flat_map(|c| c.products.iter().map(move |p| (&**c, p)))
        .collect();
    order.sort_by(|a, b| a.1.sku.cmp(&b.1.sku));
    let streamed = Streamed {
        version: Catalogue::VERSION,
        market: market(site, strings),
        items: Items { site, order },
    };
    serde_json::to_string_pretty(&streamed).map(|text| text + "\n")
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

/// One chalet's items, in its products' order: all the catalogue holds of that chalet (its
/// items sort together by SKU, which starts with the chalet), so a build can tell from these
/// alone whether the catalogue changed ([`crate::render`]'s lists).
pub fn chalet_items(site: &Site, c: &Chalet) -> Vec<CatalogueItem> {
    c.products.iter().map(|p| item(site, c, p)).collect()
}

fn item(site: &Site, c: &Chalet, p: &Product) -> CatalogueItem {
    CatalogueItem {
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
        url: site.market.base_url.join(&Route::Product(&p.sku).path()),
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
        assert_eq!(text, serde_json::to_string_pretty(&whole).expect("json") + "\n");
        let back: Catalogue = serde_json::from_str(&text).expect("a catalogue");
        assert_eq!(back, whole);
        // Sorted by SKU even where the chalets' own order is not.
        let mut reversed = site.clone();
        reversed.chalets.reverse();
        assert_eq!(catalogue_json(&reversed, &strings).expect("json"), text);
    }
}
