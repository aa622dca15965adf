//! A paid order: one per completed Checkout Session. Lines keep the name and unit price the
//! shopper paid (copied from the catalogue at checkout), so later catalogue edits never
//! rewrite history.

use crate::{Date, Money, Sku, Slug};
use serde::{Deserialize, Serialize};

/// The most of one product a basket line may hold: the site's quantity fields stop here and the
/// checkout function refuses more.
pub const MAX_QUANTITY: u32 = 99;

/// What the shopper chose for one chalet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FulfilmentChoice {
    Pickup,
    Shipping,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: u32,
    /// One code per unit for voucher products; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voucher_codes: Vec<VoucherCode>,
    /// What the shopper wrote for a personalised product (a ring size, a name to engrave).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalisation: Option<String>,
    /// A voucher's validity and terms as sold: printed with its codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<VoucherTerms>,
    /// Why this line has no right of withdrawal (absent: 14 days), as sold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<crate::legal::WithdrawalExemption>,
}

impl OrderLine {
    /// A plain line: no codes, personalisation, voucher terms or exemption.
    pub fn plain(sku: Sku, unit_price: Money, quantity: u32) -> OrderLine {
        OrderLine {
            name: sku.product.to_string(),
            sku,
            unit_price,
            quantity,
            voucher_codes: Vec::new(),
            personalisation: None,
            voucher: None,
            withdrawal: None,
        }
    }
}

/// A voucher's validity and terms, copied from the catalogue at checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherTerms {
    pub valid_until: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

/// Per chalet: how the goods are handed over and what shipping cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaletFulfilment {
    pub chalet: Slug,
    pub chalet_name: String,
    pub choice: FulfilmentChoice,
    pub shipping_fee: Money,
    /// Where and when to pick up (pickup shares), as the chalet wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_at: Option<String>,
    /// A word for the gift wrapping, for this chalet's parcel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_note: Option<String>,
}

/// The longest gift note a shopper may write per chalet, in characters.
pub const MAX_GIFT_NOTE: usize = 200;

/// A voucher code: 16 characters from a 32-symbol alphabet without 0/O and 1/I (80 bits),
/// shown in groups of four (`K7QM-…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VoucherCode(String);

impl VoucherCode {
    /// Crockford-like alphabet without the look-alikes 0, O, 1 and I.
    pub const ALPHABET: &'static [u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    pub const LEN: usize = 16;

    /// Builds a code from 10 random bytes (80 bits). The caller supplies the randomness.
    pub fn from_entropy(bytes: [u8; 10]) -> VoucherCode {
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let mut out = String::with_capacity(Self::LEN + 3);
        for i in 0..Self::LEN {
            if i > 0 && i.is_multiple_of(4) {
                out.push('-');
            }
            let shift = 5 * (Self::LEN - 1 - i);
            out.push(char::from(Self::ALPHABET[((bits >> shift) & 31) as usize]));
        }
        VoucherCode(out)
    }

    /// A code as a person types it: any case, with spaces or hyphens between groups.
    pub fn parse(text: &str) -> Option<VoucherCode> {
        let code: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let valid = code.len() == Self::LEN && code.bytes().all(|b| Self::ALPHABET.contains(&b));
        if !valid {
            return None;
        }
        // Written as issued: groups of four joined by hyphens.
        let groups: Vec<&str> = (0..Self::LEN).step_by(4).map(|i| &code[i..i + 4]).collect();
        Some(VoucherCode(groups.join("-")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod voucher_code_tests {
    use super::VoucherCode;

    #[test]
    fn a_typed_code_is_the_issued_code() {
        let issued = VoucherCode::from_entropy([0x5a; 10]);
        let typed = issued.as_str().replace('-', " ").to_lowercase();
        assert_eq!(VoucherCode::parse(&typed), Some(issued.clone()));
        assert_eq!(VoucherCode::parse(&issued.as_str().replace('-', "")), Some(issued));
        assert_eq!(
            VoucherCode::parse("ABCD-EFGH-JKLM-NPQ0"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(VoucherCode::parse("ABCD"), None);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The Checkout Session id: unguessable, and the shopper's credential for `GET /orders/{id}`.
    pub id: String,
    /// RFC 3339 time the payment completed.
    pub created: String,
    pub email: Option<String>,
    /// The shopper's name and phone, as Checkout collected them: pickup shares carry them so the
    /// artisan recognises the shopper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Where the shipping chalets send the goods (only when one ships).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_to: Option<PostalAddress>,
    pub lines: Vec<OrderLine>,
    pub fulfilment: Vec<ChaletFulfilment>,
    pub total: Money,
    pub payment_intent: Option<String>,
    /// Set when the payment arrived after the reservation had been released (stock was taken
    /// again without a check), or a refund could not be matched to lines: the organiser should
    /// look at it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_attention: bool,
    /// Refunds made at Stripe (through `checkout-fn refund` or the dashboard), each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<OrderRefund>,
    /// Disputes opened by the shopper's bank, with their latest status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<OrderDispute>,
}

/// A postal address, as Checkout collected it (`collected_information.shipping_details`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub name: String,
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// One refund of an order: how much, and which lines it gave back (when known).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefund {
    /// Stripe's refund id (`re_…`): the same refund is never recorded twice.
    pub id: String,
    pub amount: Money,
    /// The lines refunded, with quantities; empty when the refund matched no lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<RefundedLine>,
    /// Whether the refunded goods went back into stock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restocked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundedLine {
    pub sku: Sku,
    pub quantity: u32,
}

/// A dispute (chargeback) on an order's payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDispute {
    /// Stripe's dispute id (`dp_…`).
    pub id: String,
    pub amount: Money,
    pub reason: String,
    /// Stripe's status: `needs_response`, `under_review`, `won`, `lost`…
    pub status: String,
}

/// [`Order::reference`] of an order id.
pub fn reference_of(id: &str) -> String {
    let start = id.char_indices().rev().nth(7).map_or(0, |(i, _)| i);
    id[start..].to_uppercase()
}

impl Order {
    /// Until when a voucher line of this order may be honoured: the date it was sold with,
    /// else twelve months from the purchase (the legal minimum the market keeps).
    pub fn voucher_valid_until(&self, line: &OrderLine) -> Option<Date> {
        line.voucher
            .as_ref()
            .and_then(|v| v.valid_until)
            .or_else(|| Some(Date::parse(self.created.get(..10)?)?.a_year_later()))
    }

    /// What the shopper and the artisan call the order: the last eight characters of its
    /// session id, upper-cased (not the id itself, which is the credential to the order page).
    pub fn reference(&self) -> String {
        reference_of(&self.id)
    }

    /// The chalets this order touches, each once, in line order: the keys of the per-chalet index.
    pub fn chalets(&self) -> Vec<&Slug> {
        let mut seen: Vec<&Slug> = Vec::new();
        for l in &self.lines {
            if !seen.contains(&&l.sku.chalet) {
                seen.push(&l.sku.chalet);
            }
        }
        seen
    }

    /// Sum of lines plus shipping; `None` on overflow.
    pub fn computed_total(&self) -> Option<Money> {
        let mut t = Money::ZERO;
        for l in &self.lines {
            t = t.checked_add(l.unit_price.checked_mul(l.quantity)?)?;
        }
        for f in &self.fulfilment {
            t = t.checked_add(f.shipping_fee)?;
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn voucher_codes_avoid_lookalikes() {
        let c = VoucherCode::from_entropy([0xff; 10]);
        assert_eq!(c.as_str().len(), 19);
        assert!(!c.as_str().contains(['0', 'O', '1', 'I']));
    }

    #[test]
    fn orders_round_trip_through_json() {
        let sku = crate::Sku::parse("a/b").expect("sku");
        let order = Order {
            id: "cs_test_1".into(),
            created: "2026-12-01T10:00:00Z".into(),
            email: None,
            name: None,
            phone: None,
            ship_to: None,
            lines: vec![OrderLine {
                sku: sku.clone(),
                name: "B".into(),
                unit_price: Money::from_cents(150),
                quantity: 2,
                voucher_codes: vec![VoucherCode::from_entropy([7; 10])],
                personalisation: Some("54".into()),
                voucher: None,
                withdrawal: Some(crate::legal::WithdrawalExemption::Personalised),
            }],
            fulfilment: vec![ChaletFulfilment {
                chalet: sku.chalet.clone(),
                chalet_name: "A".into(),
                choice: FulfilmentChoice::Shipping,
                shipping_fee: Money::from_cents(590),
                pickup_at: None,
                gift_note: Some("Joyeux Noël".into()),
            }],
            total: Money::from_cents(890),
            payment_intent: Some("pi_1".into()),
            needs_attention: false,
            refunds: Vec::new(),
            disputes: Vec::new(),
        };
        assert_eq!(order.computed_total(), Some(order.total));
        let back: Order = serde_json::from_str(&serde_json::to_string(&order).expect("json")).expect("parse");
        assert_eq!(back, order);

        // A voucher is valid until the date it was sold with, else a year from the purchase.
        let mut line = order.lines[0].clone();
        assert_eq!(order.voucher_valid_until(&line), Date::parse("2027-12-01"));
        line.voucher = Some(VoucherTerms {
            valid_until: Date::parse("2027-06-30"),
            terms: None,
        });
        assert_eq!(order.voucher_valid_until(&line), Date::parse("2027-06-30"));
    }

    proptest! {
        #[test]
        fn distinct_entropy_gives_distinct_codes(a in any::<[u8; 10]>(), b in any::<[u8; 10]>()) {
            prop_assume!(a != b);
            prop_assert_ne!(VoucherCode::from_entropy(a), VoucherCode::from_entropy(b));
        }
    }
}
