//! The catalogue: every SKU the market sells, as `chalet build` writes it to `catalogue.json`
//! and the checkout function publishes it to its table. Prices are integer cents.

use crate::routes::SiteUrl;
use crate::{Currency, Date, Language, Money, Sku, Slug};
use serde::{Deserialize, Serialize};

/// What a product is: it decides allergens (food), codes (voucher) and the withdrawal right.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Goods,
    Food,
    Voucher,
}

impl Kind {
    pub const ALL: [&'static str; 3] = ["goods", "food", "voucher"];

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "goods" => Some(Kind::Goods),
            "food" => Some(Kind::Food),
            "voucher" => Some(Kind::Voucher),
            _ => None,
        }
    }
}

/// How many units exist. Made-to-order products are never out of stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "quantity")]
pub enum Stock {
    MadeToOrder,
    Limited(u32),
}

/// Products with this many or fewer left show "only N left".
pub const LOW_STOCK: u32 = 3;

/// What a shopper is told about a product's stock. The wire name (`"sold_out"`) is what the
/// theme's templates and script compare with, handed to them from [`Availability::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    MadeToOrder,
    InStock,
    Low,
    SoldOut,
}

impl Availability {
    pub const ALL: [Availability; 4] = [
        Availability::MadeToOrder,
        Availability::InStock,
        Availability::Low,
        Availability::SoldOut,
    ];

    /// From what remains (`None`: made to order).
    pub fn of(remaining: Option<u32>) -> Availability {
        match remaining {
            None => Availability::MadeToOrder,
            Some(0) => Availability::SoldOut,
            Some(n) if n <= LOW_STOCK => Availability::Low,
            Some(_) => Availability::InStock,
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            Availability::MadeToOrder => "made_to_order",
            Availability::InStock => "in_stock",
            Availability::Low => "low",
            Availability::SoldOut => "sold_out",
        }
    }

    /// schema.org's `ItemAvailability`, for search engines.
    pub fn schema_org(self) -> &'static str {
        match self {
            Availability::MadeToOrder => "https://schema.org/PreOrder",
            Availability::InStock => "https://schema.org/InStock",
            Availability::Low => "https://schema.org/LimitedAvailability",
            Availability::SoldOut => "https://schema.org/SoldOut",
        }
    }
}

impl Stock {
    /// What remains before anything is sold: `None` for made to order.
    pub fn quantity(self) -> Option<u32> {
        match self {
            Stock::MadeToOrder => None,
            Stock::Limited(n) => Some(n),
        }
    }
}

/// A chalet's shipping terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipping {
    pub price: Money,
    /// Orders from this chalet at or above this amount ship for free.
    pub free_from: Option<Money>,
}

impl Shipping {
    /// The fee for a chalet's subtotal.
    pub fn fee_for(&self, subtotal: Money) -> Money {
        match self.free_from {
            Some(threshold) if subtotal >= threshold => Money::ZERO,
            _ => self.price,
        }
    }
}

/// Which ways a chalet hands over what it sells. Pickup details are for shoppers, not the function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentOptions {
    pub pickup: bool,
    pub shipping: Option<Shipping>,
}

/// One sellable product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub sku: Sku,
    pub name: String,
    pub chalet: Slug,
    pub chalet_name: String,
    pub price: Money,
    pub stock: Stock,
    pub kind: Kind,
    pub fulfilment: FulfilmentOptions,
    /// Absolute URL of the product page (Stripe shows it; the function never fetches it).
    pub url: String,
    pub voucher_valid_until: Option<Date>,
}

/// Market-wide settings the function needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueMarket {
    pub name: String,
    pub base_url: SiteUrl,
    pub currency: Currency,
    pub language: Language,
    /// The registration fee an artisan pays: the fee minus the sponsors' reduction.
    pub registration_fee: Option<Money>,
    /// Where shipped goods may go: ISO 3166-1 alpha-2 codes, as Stripe's
    /// `shipping_address_collection[allowed_countries]` takes them.
    #[serde(default = "default_shipping_countries")]
    pub shipping_countries: Vec<String>,
    /// Whether Checkout asks for a phone number when something is picked up (the artisan
    /// recognises the shopper by it).
    #[serde(default = "yes")]
    pub collect_phone: bool,
}

/// Belgium and its neighbours: where a Liège market ships unless `market.yaml` says otherwise.
pub fn default_shipping_countries() -> Vec<String> {
    ["BE", "NL", "LU", "FR", "DE"].map(String::from).to_vec()
}

fn yes() -> bool {
    true
}

/// Two ASCII capital letters: the shape of an ISO 3166-1 alpha-2 code.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The whole of `catalogue.json`. Items are sorted by SKU so the file is byte-stable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub version: u32,
    pub market: CatalogueMarket,
    pub items: Vec<CatalogueItem>,
}

impl Catalogue {
    pub const VERSION: u32 = 1;

    pub fn item(&self, sku: &Sku) -> Option<&CatalogueItem> {
        self.items
            .binary_search_by(|i| i.sku.cmp(sku))
            .ok()
            .map(|i| &self.items[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_shipping_from_threshold() {
        let s = Shipping {
            price: Money::from_cents(590),
            free_from: Some(Money::from_cents(6000)),
        };
        assert_eq!(s.fee_for(Money::from_cents(5999)), Money::from_cents(590));
        assert_eq!(s.fee_for(Money::from_cents(6000)), Money::ZERO);
        let always = Shipping { free_from: None, ..s };
        assert_eq!(always.fee_for(Money::from_cents(1_000_000)), Money::from_cents(590));
    }

    #[test]
    fn availability_from_remaining_and_wire_names() {
        assert_eq!(Availability::of(None), Availability::MadeToOrder);
        assert_eq!(Availability::of(Some(0)), Availability::SoldOut);
        assert_eq!(Availability::of(Some(LOW_STOCK)), Availability::Low);
        assert_eq!(Availability::of(Some(LOW_STOCK + 1)), Availability::InStock);
        for a in Availability::ALL {
            assert_eq!(
                serde_json::to_string(&a).expect("serialises"),
                format!("\"{}\"", a.wire())
            );
        }
    }

    #[test]
    fn stock_serialises_explicitly() {
        let json = serde_json::to_string(&Stock::Limited(3)).expect("serialises");
        assert_eq!(json, r#"{"type":"limited","quantity":3}"#);
        let back: Stock = serde_json::from_str(r#"{"type":"made_to_order"}"#).expect("parses");
        assert_eq!(back, Stock::MadeToOrder);
    }
}
