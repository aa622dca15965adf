//! What the law asks a chalet and a product to say: who sells (`trader:`), the allergens of
//! Regulation 1169/2011 as a closed list, the net quantity of food, the right of withdrawal and
//! its exemptions, a voucher's validity, and where the seller is paid (`payouts:`). Each rule is
//! checked with its position and a hint.

use crate::diagnostic::did_you_mean;
use crate::model::{Trader, Voucher};
use crate::yaml::{Fields, Node, Reader};
use chalet_types::legal::{Allergen, EnterpriseNumberError, NetQuantity, WithdrawalExemption, enterprise_number};
use chalet_types::{Date, Kind, Personalisation};

pub(crate) const TRADER_FIELDS: &[&str] = &["legal_name", "kind", "enterprise_number", "address"];
pub(crate) const PAYOUTS_FIELDS: &[&str] = &["stripe_account"];

/// `trader: { legal_name, kind: trader | private, enterprise_number, address }`. Missing
/// altogether: a warning, since a market may be migrating; wrong: errors.
pub(super) fn trader(r: &mut Reader, f: &Fields) -> Option<Trader> {
    let Some(node) = f.get("trader") else {
        r.warning(
            f.pos,
            "this chalet does not say who sells: the law asks for the seller's legal name, address and enterprise number"
                .to_string(),
            Some("add `trader: { legal_name: \"…\", enterprise_number: \"0123.456.749\", address: \"…\" }` (or `kind: private`)".into()),
        );
        return None;
    };
    let tf = r.fields(node, "trader", TRADER_FIELDS)?;
    let legal_name = r
        .required(&tf, "legal_name", "trader", "\"Anaïs Dethier SRL\"")
        .and_then(|n| r.text(n, "legal_name"));
    let address = r
        .required(&tf, "address", "trader", "\"Rue Neuve 1, 4000 Liège\"")
        .and_then(|n| r.text(n, "address"));
    let private = match tf.get("kind") {
        None => Some(false),
        Some(n) => match r.text(n, "kind").as_deref() {
            Some("trader") => Some(false),
            Some("private") => Some(true),
            Some(other) => {
                r.error(
                    n.pos,
                    format!("kind `{other}` is not a kind of seller"),
                    Some("use `trader` (a business, the default) or `private` (a private person)".into()),
                );
                None
            }
            None => None,
        },
    };
    let number = match (tf.get("enterprise_number"), private) {
        (Some(n), Some(true)) => {
            r.error(
                n.pos,
                "a private seller has no enterprise number".to_string(),
                Some("remove it, or write `kind: trader`".into()),
            );
            None
        }
        (Some(n), _) => r.text(n, "enterprise_number").and_then(|t| checked_number(r, n, &t)),
        (None, Some(false)) => {
            r.error(
                node.pos,
                "a trader must give its enterprise number".to_string(),
                Some("add `enterprise_number: \"0123.456.749\"` (KBO/BCE), or another EU VAT number".into()),
            );
            None
        }
        (None, _) => None,
    };
    Some(Trader {
        legal_name: legal_name?,
        private: private?,
        enterprise_number: number,
        address: address?,
    })
}

fn checked_number(r: &mut Reader, n: &Node, text: &str) -> Option<String> {
    let looks_belgian = {
        let t = text.trim();
        t.starts_with(['0', '1']) || t.to_uppercase().starts_with("BE")
    };
    if looks_belgian {
        return match enterprise_number(text) {
            Ok(n) => Some(n),
            Err(EnterpriseNumberError::Shape) => {
                r.error(
                    n.pos,
                    format!("`{text}` is not a Belgian enterprise number"),
                    Some("ten digits starting with 0 or 1, like `0123.456.749`".into()),
                );
                None
            }
            Err(EnterpriseNumberError::CheckDigits { expected }) => {
                r.error(
                    n.pos,
                    format!("`{text}` is not a valid enterprise number: its check digits are wrong"),
                    Some(format!(
                        "with these first eight digits the last two are {expected}: check the number on the KBO/BCE"
                    )),
                );
                None
            }
        };
    }
    let found = chalet_types::legal::eu_vat_number(text);
    if found.is_none() {
        r.error(
            n.pos,
            format!("`{text}` is neither a Belgian enterprise number nor an EU VAT number"),
            Some("write it as on your invoices: `0123.456.749`, `FR12345678901`, `NL123456789B01`…".into()),
        );
    }
    found
}

/// The allergens, each one of the fourteen of Annex II, in any of the four languages.
pub(super) fn allergens(r: &mut Reader, f: &Fields, kind: Option<Kind>) -> Vec<Allergen> {
    let Some(node) = f.get("allergens") else {
        return Vec::new();
    };
    if kind.is_some_and(|k| k != Kind::Food) {
        r.warning(
            node.pos,
            "allergens are listed but the product is not `kind: food`".to_string(),
            Some("add `kind: food`".into()),
        );
    }
    let mut out = Vec::new();
    for item in r.list(node, "allergens") {
        let Some(text) = r.text(item, "an allergen") else {
            continue;
        };
        match Allergen::read(&text) {
            Some(a) if !out.contains(&a) => out.push(a),
            Some(_) => {}
            None => {
                let hint = did_you_mean(&text.to_lowercase(), Allergen::spellings()).map_or_else(
                    || "the fourteen of Regulation 1169/2011: gluten, crustacés, œufs, poisson, arachides, soja, lait, fruits à coque, céleri, moutarde, sésame, sulfites, lupin, mollusques".to_string(),
                    |s| format!("did you mean `{s}`?"),
                );
                r.error(
                    item.pos,
                    format!("`{text}` is not one of the fourteen allergens"),
                    Some(hint),
                );
            }
        }
    }
    out
}

/// `net_quantity: "250 g"` for food (a warning when food lacks it: its price per kilogram or
/// litre must be shown).
pub(super) fn net_quantity(r: &mut Reader, f: &Fields, kind: Option<Kind>) -> Option<NetQuantity> {
    let Some(node) = f.get("net_quantity") else {
        if kind == Some(Kind::Food) {
            r.warning(
                f.pos,
                "food without its net quantity: its price per kilogram or litre cannot be shown".to_string(),
                Some("add `net_quantity: \"250 g\"` (g, kg, ml, cl or l)".into()),
            );
        }
        return None;
    };
    let text = r.text(node, "net_quantity")?;
    let q = NetQuantity::parse(&text);
    if q.is_none() {
        r.error(
            node.pos,
            format!("`{text}` is not a net quantity"),
            Some("a number and a unit: `250 g`, `1,5 kg`, `75 cl`, `500 ml`, `1 l`".into()),
        );
    }
    q
}

/// Why this product has no right of withdrawal, from what its fields already say or what it
/// declares (`perishable: true` for food, `sealed_hygiene: true`); `None`: 14 days.
pub(super) fn withdrawal(
    r: &mut Reader,
    f: &Fields,
    kind: Option<Kind>,
    personalisation: Option<&Personalisation>,
    voucher: Option<&Voucher>,
    private_seller: bool,
) -> Option<WithdrawalExemption> {
    let mut flag = |name: &str, hint: &str| {
        let n = f.get(name)?;
        r.yes_no(n, name, hint).filter(|b| *b).map(|_| n.pos)
    };
    let perishable = flag("perishable", "`perishable: true` for food that keeps only days");
    let sealed = flag(
        "sealed_hygiene",
        "`sealed_hygiene: true` for sealed goods that cannot be returned once opened",
    );
    if let (Some(pos), Some(k)) = (perishable, kind)
        && k != Kind::Food
    {
        r.error(
            pos,
            "only food can be perishable".to_string(),
            Some("add `kind: food`, or remove `perishable`".into()),
        );
    }
    if private_seller {
        Some(WithdrawalExemption::PrivateSeller)
    } else if personalisation.is_some_and(|p| p.required) {
        Some(WithdrawalExemption::Personalised)
    } else if perishable.is_some() {
        Some(WithdrawalExemption::Perishable)
    } else if sealed.is_some() {
        Some(WithdrawalExemption::SealedHygiene)
    } else if voucher.is_some_and(|v| v.date.is_some()) {
        Some(WithdrawalExemption::DatedService)
    } else {
        None
    }
}

/// A voucher valid for less than twelve months from the day it can first be bought (the
/// market's opening, else today) gets a warning: Belgian practice, and what shoppers expect.
pub(super) fn voucher_validity(r: &mut Reader, node: &Node, voucher: &Voucher, from: Date) {
    // A voucher for one date (New Year's Eve's dinner) is valid until then, by nature.
    if let Some(until) = voucher.valid_until
        && voucher.date.is_none()
        && until < from.a_year_later()
    {
        r.warning(
            node.pos,
            format!("this voucher is valid for less than twelve months (until {until}, sold from {from})"),
            Some(format!(
                "give it at least a year: `valid_until: {}`",
                from.a_year_later()
            )),
        );
    }
}

/// `payouts: { stripe_account: acct_… }`: where `checkout-fn transfers` pays the chalet.
pub(super) fn payouts(r: &mut Reader, node: &Node) -> Option<String> {
    let pf = r.fields(node, "payouts", PAYOUTS_FIELDS)?;
    let n = pf.get("stripe_account")?;
    let id = r.text(n, "stripe_account")?;
    let tail = id.strip_prefix("acct_").unwrap_or_default();
    if (8..=64).contains(&tail.len()) && tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Some(id)
    } else {
        r.error(
            n.pos,
            format!("`{id}` is not a Stripe account id"),
            Some("copy it from the Stripe dashboard (Connect → Accounts): it starts with `acct_`".into()),
        );
        None
    }
}
