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

/// Which ways a chalet hands over what it sells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentOptions {
    pub pickup: bool,
    pub shipping: Option<Shipping>,
    /// Where and when goods are picked up, as the artisan wrote it: the receipt repeats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_at: Option<String>,
    /// The countries this chalet ships to, when it narrows the market's `shipping_countries`
    /// (empty: all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ship_countries: Vec<String>,
}

/// A product made for one shopper: the text asked for per basket line (a ring size, a name
/// to engrave). Lines of one product with different texts are different lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Personalisation {
    /// The question, in the market's language ("Taille de la bague").
    pub label: String,
    pub required: bool,
    /// In characters (Unicode scalar values), 1 to [`Personalisation::LONGEST`].
    pub max_length: u32,
}

impl Personalisation {
    /// The longest text a product may ask for: enough for an engraving or a size and a remark,
    /// small enough to store on every reservation and order line.
    pub const LONGEST: u32 = 200;
    /// When a product does not say.
    pub const DEFAULT_LENGTH: u32 = 60;

    /// The text trimmed, or why it is refused: `Err(None)` when it is required and missing,
    /// `Err(Some(n))` when it is `n` characters over the limit.
    pub fn check(&self, text: Option<&str>) -> Result<Option<String>, Option<u32>> {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        match text {
            None if self.required => Err(None),
            None => Ok(None),
            Some(t) => {
                let len = t.chars().count() as u32;
                if len > self.max_length || t.chars().any(|c| c.is_control()) {
                    Err(Some(len.saturating_sub(self.max_length).max(1)))
                } else {
                    Ok(Some(t.to_string()))
                }
            }
        }
    }
}

/// One sellable product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub sku: Sku,
    pub name: String,
    pub chalet: Slug,
    pub chalet_name: String,
    /// Where the chalet hears of each new paid order: its contact e-mail (`chalet.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chalet_email: Option<String>,
    /// Whether that address also gets the day's orders in one e-mail each morning
    /// (`contact: { daily_digest: true }`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chalet_digest: bool,
    pub price: Money,
    pub stock: Stock,
    pub kind: Kind,
    pub fulfilment: FulfilmentOptions,
    /// Absolute URL of the product page (Stripe shows it; the function never fetches it).
    pub url: String,
    pub voucher_valid_until: Option<Date>,
    /// A voucher's terms ("valable du mardi au jeudi"): the receipt prints them with the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher_terms: Option<String>,
    /// Asked of the shopper per basket line when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalisation: Option<Personalisation>,
    /// Why the shopper has no right of withdrawal (absent: 14 days), for the basket and receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<crate::legal::WithdrawalExemption>,
    /// The chalet's Stripe connected account (`payouts: { stripe_account: acct_… }`): its share
    /// of each order is transferred there by `checkout-fn transfers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_account: Option<String>,
}

/// Who runs the market, as receipts name them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganiserContact {
    pub name: String,
    pub email: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organiser: Option<OrganiserContact>,
    /// The organisers' commission on each chalet's sales, in basis points (`commission_percent:
    /// 5` in `market.yaml` is 500); 0 when there is none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commission_bp: u32,
    /// The receipt's words in the market's language: the theme's `mail_*` strings, so the
    /// e-mail and the site say the same things and are translated in one place.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub mail: std::collections::BTreeMap<String, String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The words a receipt is written with: the theme's `mail_<key>` strings. `chalet check` warns
/// when a theme lacks one, and the function sends no receipt rather than one with holes.
/// `{market}`, `{reference}`, `{name}` and `{organiser}` are filled in.
pub const RECEIPT_WORDS: [&str; 19] = [
    "subject",
    "greeting",
    "intro",
    "reference",
    "date",
    "pickup_at",
    "shipped_to",
    "shipping",
    "free",
    "total",
    "personalisation",
    "gift_note",
    "codes",
    "valid_until",
    "terms",
    "view_order",
    "withdrawal",
    "contact",
    "footer",
];

/// The theme's words (`mail_chalet_*`, prefix `mail_` dropped) of the e-mail telling a chalet of
/// a new paid order.
pub const CHALET_MAIL_WORDS: [&str; 4] = ["chalet_subject", "chalet_intro", "chalet_pickup_by", "chalet_orders"];

/// The theme's words (`mail_digest_*`, prefix `mail_` dropped) of a chalet's daily digest.
pub const DIGEST_MAIL_WORDS: [&str; 4] = ["digest_subject", "digest_intro", "digest_sold", "digest_waiting"];

/// The theme's words (`mail_*`, prefix dropped) of the e-mails telling a shopper that a chalet's
/// part of the order is ready for pickup, or shipped.
pub const HANDOVER_MAIL_WORDS: [&str; 5] = [
    "ready_subject",
    "ready_intro",
    "shipped_subject",
    "shipped_intro",
    "tracking",
];

/// The words `catalogue.json` carries for the receipt, from a theme's strings: the `mail_*` ones
/// (prefix dropped) and the `no_withdrawal_*` ones (kept), which word a line's exemption as the
/// product page does.
pub fn receipt_words(
    strings: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    strings
        .iter()
        .filter_map(|(k, v)| match k.strip_prefix("mail_") {
            Some(word) => Some((word.to_string(), v.clone())),
            None => k.starts_with("no_withdrawal_").then(|| (k.clone(), v.clone())),
        })
        .collect()
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
    fn personalisation_trims_requires_and_bounds() {
        let p = Personalisation {
            label: "Taille".into(),
            required: true,
            max_length: 5,
        };
        assert_eq!(p.check(Some("  54 ")), Ok(Some("54".into())));
        assert_eq!(p.check(None), Err(None));
        assert_eq!(p.check(Some("   ")), Err(None));
        assert_eq!(p.check(Some("123456")), Err(Some(1)));
        assert_eq!(
            p.check(Some("ééééé")),
            Ok(Some("ééééé".into())),
            "characters, not bytes"
        );
        assert_eq!(p.check(Some("a\u{7}b")), Err(Some(1)), "no control characters");
        let optional = Personalisation { required: false, ..p };
        assert_eq!(optional.check(Some("")), Ok(None));
    }

    #[test]
    fn stock_serialises_explicitly() {
        let json = serde_json::to_string(&Stock::Limited(3)).expect("serialises");
        assert_eq!(json, r#"{"type":"limited","quantity":3}"#);
        let back: Stock = serde_json::from_str(r#"{"type":"made_to_order"}"#).expect("parses");
        assert_eq!(back, Stock::MadeToOrder);
    }
}
