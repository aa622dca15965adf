//! `catalogue.json`: what the checkout function publishes to its table. Built from the typed
//! site with the shared crate's types, sorted by SKU so the file is byte-stable.

use crate::diagnostic::Diagnostic;
use crate::model::{Chalet, Contents, ContentsWhileSerialising, Product, Site};
use chalet_types::{Catalogue, CatalogueItem, CatalogueMarket, FulfilmentOptions, OrganiserContact, Route};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::collections::BTreeMap;

/// The catalogue as one value: what [`catalogue_json`] must write, made the plain way (the
/// build itself streams it).
#[cfg(test)]
pub fn catalogue(site: &Site, strings: &BTreeMap<String, String>) -> Catalogue {
    let mut items: Vec<CatalogueItem> = site
        .chalets
        .iter()
        .flat_map(|c| chalet_items(site, c, &c.read_contents().expect("contents")))
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
/// e-mails. Each item is made only as it is written, one chalet's contents read at a time: at
/// 20,000 products the list of items was 12 MB held beside the 14 MB of text it became.
/// `Err` when a chalet's contents cannot be read back ([`Chalet::read_contents`]).
pub fn catalogue_json(site: &Site, strings: &BTreeMap<String, String>) -> Result<String, Diagnostic> {
    /// [`Catalogue`]'s fields, in its order, its items made one at a time.
    #[derive(serde::Serialize)]
    struct Streamed<'a> {
        version: u32,
        market: CatalogueMarket,
        items: Items<'a>,
    }
    struct Items<'a> {
        site: &'a Site,
        /// The chalets in SKU order (a chalet's SKUs all begin with its slug, so its items sort
        /// together): the file is byte-stable.
        order: Vec<&'a Chalet>,
        contents: ContentsWhileSerialising,
    }
    impl Serialize for Items<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let count = self.order.iter().map(|c| c.items.len()).sum();
            let mut seq = s.serialize_seq(Some(count))?;
            for c in &self.order {
                let contents = self.contents.read(c)?;
                let mut products: Vec<&Product> = contents.products.iter().collect();
                products.sort_by(|a, b| a.sku.cmp(&b.sku));
                for p in products {
                    seq.serialize_element(&item(self.site, c, p))?;
                }
            }
            seq.end()
        }
    }
    let mut order: Vec<&Chalet> = site.chalets.iter().map(|c| &**c).collect();
    order.sort_by(|a, b| a.slug.cmp(&b.slug));
    let streamed = Streamed {
        version: Catalogue::VERSION,
        market: market(site, strings),
        items: Items {
            site,
            order,
            contents: ContentsWhileSerialising::default(),
        },
    };
    let text = serde_json::to_string_pretty(&streamed).map(|text| text + "\n");
    (streamed.items.contents).finish(text, chalet_types::routes::CATALOGUE, "the catalogue")
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
pub fn chalet_items(site: &Site, c: &Chalet, contents: &Contents) -> Vec<CatalogueItem> {
    contents.products.iter().map(|p| item(site, c, p)).collect()
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
