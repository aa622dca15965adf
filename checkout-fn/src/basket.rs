//! The shopper's basket, from untrusted JSON to a priced order. Pure: the catalogue items are
//! passed in, so every rule here is unit- and property-tested without a database.
//! Prices, names and shipping fees come from the catalogue, never from the request.

use crate::error::ApiError;
use axum::http::StatusCode;
use chalet_types::{CatalogueItem, ErrorCode, FulfilmentChoice, MAX_GIFT_NOTE, Money, Personalisation, Sku, Slug};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub const MAX_LINES: usize = 100;
pub use chalet_types::MAX_QUANTITY;

/// `POST /checkout` as sent. Unknown fields are tolerated (a client sending `price` is ignored,
/// never believed); types are checked strictly.
#[derive(Debug, Deserialize)]
pub struct CheckoutRequest {
    pub items: Vec<RequestLine>,
    #[serde(default)]
    pub fulfilment: BTreeMap<String, String>,
    pub locale: Option<String>,
    pub email: Option<String>,
    /// The reservation of an earlier *Pay* for this basket, cancelled before a new one is made.
    #[serde(default)]
    pub replaces: Option<String>,
    /// Per chalet slug, a word for its gift wrapping (at most [`MAX_GIFT_NOTE`] characters).
    #[serde(default)]
    pub gift_notes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct RequestLine {
    pub sku: String,
    /// Signed, so that `-1` is answered as "quantity must be 1–99", not as bad JSON.
    pub quantity: i64,
    /// The shopper's text for a personalised product. Lines of one product with different
    /// texts are different lines.
    #[serde(default)]
    pub personalisation: Option<String>,
}

/// A line whose shape is valid: a real SKU, a quantity in range, a text within the longest any
/// product may ask for. Whether the product wants the text is decided with the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapedLine {
    pub sku: Sku,
    pub quantity: u32,
    pub personalisation: Option<String>,
}

/// Parses the body. Shape errors are `400 invalid_json`.
pub fn parse(body: &[u8]) -> Result<CheckoutRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let message = format!(
            "the request is not a valid basket: {}",
            e.to_string().split(" at line").next().unwrap_or("")
        );
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidJson, message)
    })
}

/// What can be checked without the catalogue: sizes, quantities, SKU syntax, duplicates.
pub fn validate_shape(req: &CheckoutRequest) -> Result<Vec<ShapedLine>, ApiError> {
    if req.items.is_empty() {
        return Err(ApiError::invalid(ErrorCode::EmptyBasket, "the basket is empty"));
    }
    if req.items.len() > MAX_LINES {
        return Err(ApiError::invalid(
            ErrorCode::TooManyLines,
            format!("a basket holds at most {MAX_LINES} different products"),
        ));
    }
    if let Some(email) = &req.email
        && valid_email(email).is_none()
    {
        return Err(ApiError::invalid(
            ErrorCode::InvalidEmail,
            "the e-mail address is not valid",
        ));
    }
    let mut lines: Vec<ShapedLine> = Vec::with_capacity(req.items.len());
    for line in &req.items {
        let Some(sku) = Sku::parse(&line.sku) else {
            return Err(ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::UnknownSku,
                "this product does not exist",
                json!({ "sku": truncate(&line.sku) }),
            ));
        };
        if line.quantity < 1 || line.quantity > i64::from(MAX_QUANTITY) {
            return Err(ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidQuantity,
                format!("quantities go from 1 to {MAX_QUANTITY}"),
                json!({ "sku": sku.to_string() }),
            ));
        }
        let text = line.personalisation.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if text.is_some_and(|t| t.chars().count() > Personalisation::LONGEST as usize) {
            return Err(ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::PersonalisationTooLong,
                format!(
                    "a personalisation holds at most {} characters",
                    Personalisation::LONGEST
                ),
                json!({ "sku": sku.to_string(), "max_length": Personalisation::LONGEST }),
            ));
        }
        let personalisation = text.map(str::to_string);
        if lines
            .iter()
            .any(|l| l.sku == sku && l.personalisation == personalisation)
        {
            return Err(ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::DuplicateSku,
                "each product appears once, with its quantity",
                json!({ "sku": sku.to_string() }),
            ));
        }
        lines.push(ShapedLine {
            sku,
            quantity: line.quantity as u32,
            personalisation,
        });
    }
    Ok(lines)
}

/// Each SKU once with the units the basket wants of it (lines of a personalised product add up).
pub fn units_per_sku<'a>(lines: impl IntoIterator<Item = (&'a Sku, u32)>) -> Vec<(Sku, u32)> {
    let mut out: Vec<(Sku, u32)> = Vec::new();
    for (sku, quantity) in lines {
        match out.iter_mut().find(|(s, _)| s == sku) {
            Some((_, q)) => *q += quantity,
            None => out.push((sku.clone(), quantity)),
        }
    }
    out
}

/// The address trimmed, if it has the shape Stripe accepts: one `@` with a local part and a
/// dotted domain, no spaces or control characters, at most 254 bytes (RFC 5321's path limit).
pub fn valid_email(raw: &str) -> Option<String> {
    let email = raw.trim();
    let (local, domain) = email.split_once('@')?;
    let ok = email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && email
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>' && c != ',');
    ok.then(|| email.to_string())
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

/// One priced line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedLine {
    pub item: CatalogueItem,
    pub quantity: u32,
    /// The shopper's text, checked against the product's [`Personalisation`].
    pub personalisation: Option<String>,
}

/// Per chalet: the choice and the fee the catalogue says it costs for this subtotal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedChalet {
    pub chalet: Slug,
    pub chalet_name: String,
    pub choice: FulfilmentChoice,
    pub subtotal: Money,
    pub shipping_fee: Money,
    /// Where and when to pick up, for the receipt (pickup only).
    pub pickup_at: Option<String>,
    pub gift_note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedBasket {
    pub lines: Vec<PricedLine>,
    pub chalets: Vec<PricedChalet>,
    pub total: Money,
}

/// The text a line carries, checked against what its product asks.
fn personalise(item: &CatalogueItem, text: Option<&str>) -> Result<Option<String>, ApiError> {
    let sku = item.sku.to_string();
    let Some(asked) = &item.personalisation else {
        return match text {
            None => Ok(None),
            Some(_) => Err(ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::PersonalisationNotAccepted,
                "this product is not personalised",
                json!({ "sku": sku }),
            )),
        };
    };
    asked.check(text).map_err(|over| match over {
        None => ApiError::with(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PersonalisationRequired,
            format!("this product needs an answer to “{}”", asked.label),
            json!({ "sku": sku, "label": asked.label }),
        ),
        Some(_) => ApiError::with(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::PersonalisationTooLong,
            format!(
                "“{}” holds at most {} characters, without line breaks",
                asked.label, asked.max_length
            ),
            json!({ "sku": sku, "label": asked.label, "max_length": asked.max_length }),
        ),
    })
}

/// Prices the basket from catalogue items (`found`, possibly missing some SKUs).
pub fn price(
    lines: &[ShapedLine],
    found: &[CatalogueItem],
    fulfilment: &BTreeMap<String, String>,
) -> Result<PricedBasket, ApiError> {
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        let Some(item) = found.iter().find(|i| i.sku == line.sku) else {
            return Err(ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::UnknownSku,
                "this product is not for sale",
                json!({ "sku": line.sku.to_string() }),
            ));
        };
        priced.push(PricedLine {
            item: item.clone(),
            quantity: line.quantity,
            personalisation: personalise(item, line.personalisation.as_deref())?,
        });
    }
    let mut chalets: Vec<PricedChalet> = Vec::new();
    let mut total = Money::ZERO;
    let overflow = || ApiError::invalid(ErrorCode::TooLarge, "this basket is too large");
    for line in &priced {
        let amount = line.item.price.checked_mul(line.quantity).ok_or_else(overflow)?;
        total = total.checked_add(amount).ok_or_else(overflow)?;
        match chalets.iter_mut().find(|c| c.chalet == line.item.chalet) {
            Some(c) => c.subtotal = c.subtotal.checked_add(amount).ok_or_else(overflow)?,
            None => chalets.push(PricedChalet {
                chalet: line.item.chalet.clone(),
                chalet_name: line.item.chalet_name.clone(),
                choice: FulfilmentChoice::Pickup,
                subtotal: amount,
                shipping_fee: Money::ZERO,
                pickup_at: None,
                gift_note: None,
            }),
        }
    }
    for c in &mut chalets {
        let options = &priced
            .iter()
            .find(|l| l.item.chalet == c.chalet)
            .map(|l| l.item.fulfilment.clone())
            .unwrap_or_default();
        let all_vouchers = priced
            .iter()
            .filter(|l| l.item.chalet == c.chalet)
            .all(|l| l.item.kind == chalet_types::Kind::Voucher);
        let chosen = fulfilment.get(c.chalet.as_str()).map(String::as_str);
        let refuse = |what: &str| {
            ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidFulfilment,
                format!("this chalet does not offer {what}"),
                json!({ "chalet": c.chalet.to_string() }),
            )
        };
        c.choice = match chosen {
            Some("pickup") if options.pickup => {
                c.pickup_at = options.pickup_at.clone();
                FulfilmentChoice::Pickup
            }
            Some("pickup") => return Err(refuse("pickup")),
            Some("shipping") => {
                let shipping = options.shipping.ok_or_else(|| refuse("shipping"))?;
                c.shipping_fee = shipping.fee_for(c.subtotal);
                FulfilmentChoice::Shipping
            }
            Some(_) => return Err(refuse("that kind of delivery")),
            // Vouchers are sent by e-mail: nothing to choose.
            None if all_vouchers => FulfilmentChoice::Pickup,
            None => {
                return Err(ApiError::with(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::FulfilmentRequired,
                    "choose pickup or shipping for this chalet",
                    json!({ "chalet": c.chalet.to_string() }),
                ));
            }
        };
        total = total.checked_add(c.shipping_fee).ok_or_else(overflow)?;
    }
    Ok(PricedBasket {
        lines: priced,
        chalets,
        total,
    })
}

/// Puts each gift note on its chalet's share: trimmed, at most [`MAX_GIFT_NOTE`] characters
/// (line breaks allowed, other control characters not), for a chalet in the basket.
pub fn add_gift_notes(basket: &mut PricedBasket, notes: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (chalet, note) in notes {
        let note = note.trim();
        if note.is_empty() {
            continue;
        }
        let refuse = |message: String| {
            ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidGiftNote,
                message,
                json!({ "chalet": truncate(chalet), "max_length": MAX_GIFT_NOTE }),
            )
        };
        let Some(share) = basket.chalets.iter_mut().find(|c| c.chalet.as_str() == chalet) else {
            return Err(refuse("a gift note is for a chalet in the basket".into()));
        };
        if note.chars().count() > MAX_GIFT_NOTE || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(refuse(format!("a gift note holds at most {MAX_GIFT_NOTE} characters")));
        }
        share.gift_note = Some(note.to_string());
    }
    Ok(())
}

/// Where Checkout may ship this basket: `None` when nothing ships, else the market's countries
/// narrowed by every shipping chalet that narrows them, in the market's order.
pub fn shipping_countries(basket: &PricedBasket, market: &[String]) -> Result<Option<Vec<String>>, ApiError> {
    let shipping: Vec<&PricedChalet> = basket
        .chalets
        .iter()
        .filter(|c| c.choice == FulfilmentChoice::Shipping)
        .collect();
    if shipping.is_empty() {
        return Ok(None);
    }
    let mut countries: Vec<String> = market.to_vec();
    for c in &shipping {
        let narrowed = basket
            .lines
            .iter()
            .find(|l| l.item.chalet == c.chalet)
            .map(|l| &l.item.fulfilment.ship_countries)
            .filter(|list| !list.is_empty());
        if let Some(list) = narrowed {
            countries.retain(|code| list.contains(code));
        }
    }
    if countries.is_empty() {
        return Err(ApiError::with(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NoCommonShippingCountry,
            "these chalets ship to different countries: choose pickup for one of them, or pay for them separately",
            json!({ "chalets": shipping.iter().map(|c| c.chalet.to_string()).collect::<Vec<_>>() }),
        ));
    }
    Ok(Some(countries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalet_types::{FulfilmentOptions, Kind, Shipping, Stock};
    use proptest::prelude::*;

    fn item(sku: &str, cents: i64, kind: Kind, pickup: bool, shipping: Option<(i64, i64)>) -> CatalogueItem {
        let sku = Sku::parse(sku).expect("sku");
        CatalogueItem {
            chalet: sku.chalet.clone(),
            chalet_name: "Chalet".into(),
            chalet_email: None,
            chalet_digest: false,
            stripe_account: None,
            name: sku.product.to_string(),
            sku,
            price: Money::from_cents(cents),
            stock: Stock::Limited(5),
            kind,
            fulfilment: FulfilmentOptions {
                pickup,
                shipping: shipping.map(|(p, f)| Shipping {
                    price: Money::from_cents(p),
                    free_from: Some(Money::from_cents(f)),
                }),
                pickup_at: pickup.then(|| "Place du Marché".to_string()),
                ship_countries: Vec::new(),
            },
            url: String::new(),
            voucher_valid_until: None,
            voucher_terms: None,
            personalisation: None,
            withdrawal: None,
        }
    }

    fn shaped(sku: &str, quantity: u32) -> ShapedLine {
        ShapedLine {
            sku: Sku::parse(sku).expect("sku"),
            quantity,
            personalisation: None,
        }
    }

    fn code(r: Result<impl std::fmt::Debug, ApiError>) -> &'static str {
        match r {
            Err(ApiError::Client { code, .. }) => code.as_str(),
            other => panic!("expected a client error, got {other:?}"),
        }
    }

    #[test]
    fn prices_from_the_catalogue_and_charges_shipping_below_the_threshold() {
        let body = br#"{"items":[{"sku":"a/bougie","quantity":2,"price":1},{"sku":"b/bon","quantity":1}],"fulfilment":{"a":"shipping"}}"#;
        let req = parse(body).expect("parses");
        let lines = validate_shape(&req).expect("valid");
        let cat = [
            item("a/bougie", 1490, Kind::Goods, true, Some((590, 6000))),
            item("b/bon", 5000, Kind::Voucher, false, None),
        ];
        let basket = price(&lines, &cat, &req.fulfilment).expect("priced");
        assert_eq!(basket.total, Money::from_cents(2 * 1490 + 590 + 5000));
        assert_eq!(basket.chalets[0].shipping_fee, Money::from_cents(590));
        assert_eq!(
            basket.chalets[1].choice,
            FulfilmentChoice::Pickup,
            "vouchers need no choice"
        );
    }

    #[test]
    fn refuses_each_bad_input_with_its_own_code() {
        let cat = [item("a/p", 100, Kind::Goods, true, None)];
        let run = |body: &str| -> Result<PricedBasket, ApiError> {
            let req = parse(body.as_bytes())?;
            let lines = validate_shape(&req)?;
            price(&lines, &cat, &req.fulfilment)
        };
        assert_eq!(code(run("{")), "invalid_json");
        for bad in [
            "a@b",
            "@b.example",
            "a b@c.example",
            "a@@b.example",
            "a@b..example",
            "a@b.example,c@d.example",
        ] {
            assert_eq!(
                code(run(&format!(
                    r#"{{"items":[{{"sku":"a/p","quantity":1}}],"email":"{bad}"}}"#
                ))),
                "invalid_email",
                "{bad}"
            );
        }
        assert_eq!(
            valid_email("  Anne@Atelier.example \n").as_deref(),
            Some("Anne@Atelier.example")
        );
        assert_eq!(code(run(r#"{"items":[]}"#)), "empty_basket");
        assert_eq!(
            code(run(r#"{"items":[{"sku":"a/p","quantity":0}]}"#)),
            "invalid_quantity"
        );
        assert_eq!(
            code(run(r#"{"items":[{"sku":"a/p","quantity":-3}]}"#)),
            "invalid_quantity"
        );
        assert_eq!(
            code(run(r#"{"items":[{"sku":"a/p","quantity":100}]}"#)),
            "invalid_quantity"
        );
        assert_eq!(
            code(run(
                r#"{"items":[{"sku":"a/zz","quantity":1}],"fulfilment":{"a":"pickup"}}"#
            )),
            "unknown_sku"
        );
        assert_eq!(code(run(r#"{"items":[{"sku":"../etc","quantity":1}]}"#)), "unknown_sku");
        assert_eq!(
            code(run(r#"{"items":[{"sku":"a/p","quantity":1}]}"#)),
            "fulfilment_required"
        );
        assert_eq!(
            code(run(
                r#"{"items":[{"sku":"a/p","quantity":1}],"fulfilment":{"a":"shipping"}}"#
            )),
            "invalid_fulfilment"
        );
        assert_eq!(
            code(run(
                r#"{"items":[{"sku":"a/p","quantity":1},{"sku":"a/p","quantity":2}]}"#
            )),
            "duplicate_sku"
        );
        let many: Vec<String> = (0..101)
            .map(|i| format!(r#"{{"sku":"a/p{i}","quantity":1}}"#))
            .collect();
        assert_eq!(
            code(run(&format!(r#"{{"items":[{}]}}"#, many.join(",")))),
            "too_many_lines"
        );
    }

    #[test]
    fn personalised_lines_are_checked_against_the_product_and_kept_apart() {
        let mut ring = item("a/bague", 8900, Kind::Goods, true, None);
        ring.personalisation = Some(Personalisation {
            label: "Taille".into(),
            required: true,
            max_length: 10,
        });
        let cat = [ring, item("a/p", 100, Kind::Goods, true, None)];
        let run = |body: &str| -> Result<PricedBasket, ApiError> {
            let req = parse(body.as_bytes())?;
            let lines = validate_shape(&req)?;
            let mut b = price(&lines, &cat, &req.fulfilment)?;
            add_gift_notes(&mut b, &req.gift_notes)?;
            Ok(b)
        };
        let ring = |text: &str| format!(r#"{{"sku":"a/bague","quantity":1,"personalisation":{text}}}"#);
        let basket = |lines: &[String]| format!(r#"{{"items":[{}],"fulfilment":{{"a":"pickup"}}}}"#, lines.join(","));
        assert_eq!(code(run(&basket(&[ring("null")]))), "personalisation_required");
        assert_eq!(code(run(&basket(&[ring("\"  \"")]))), "personalisation_required");
        assert_eq!(
            code(run(&basket(&[ring("\"12345678901\"")]))),
            "personalisation_too_long"
        );
        let long = "x".repeat(Personalisation::LONGEST as usize + 1);
        assert_eq!(
            code(run(&basket(&[ring(&format!("\"{long}\""))]))),
            "personalisation_too_long"
        );
        assert_eq!(
            code(run(&basket(&[
                r#"{"sku":"a/p","quantity":1,"personalisation":"54"}"#.to_string()
            ]))),
            "personalisation_not_accepted"
        );
        // Two sizes are two lines; the same size twice is a duplicate.
        let b = run(&basket(&[ring("\" 54 \""), ring("\"58\"")])).expect("two sizes");
        assert_eq!(b.lines.len(), 2);
        assert_eq!(b.lines[0].personalisation.as_deref(), Some("54"));
        assert_eq!(b.total, Money::from_cents(2 * 8900));
        let units = units_per_sku(b.lines.iter().map(|l| (&l.item.sku, l.quantity)));
        assert_eq!(units, vec![(Sku::parse("a/bague").expect("sku"), 2)]);
        assert_eq!(code(run(&basket(&[ring("\"54\""), ring("\"54 \"")]))), "duplicate_sku");
        // Gift notes: for a chalet of the basket, bounded.
        let with_note = |chalet: &str, note: &str| {
            format!(
                r#"{{"items":[{}],"fulfilment":{{"a":"pickup"}},"gift_notes":{{"{chalet}":"{note}"}}}}"#,
                ring("\"54\"")
            )
        };
        let b = run(&with_note("a", " Joyeux Noël ")).expect("a note");
        assert_eq!(b.chalets[0].gift_note.as_deref(), Some("Joyeux Noël"));
        assert_eq!(b.chalets[0].pickup_at.as_deref(), Some("Place du Marché"));
        assert_eq!(code(run(&with_note("z", "hello"))), "invalid_gift_note");
        assert_eq!(
            code(run(&with_note("a", &"x".repeat(MAX_GIFT_NOTE + 1)))),
            "invalid_gift_note"
        );
    }

    #[test]
    fn shipping_countries_are_the_market_s_narrowed_by_each_shipping_chalet() {
        let market = ["BE", "NL", "FR"].map(String::from).to_vec();
        let mut a = item("a/x", 1000, Kind::Goods, true, Some((500, 9000)));
        a.fulfilment.ship_countries = vec!["FR".into(), "BE".into()];
        let mut b = item("b/y", 1000, Kind::Goods, true, Some((500, 9000)));
        b.fulfilment.ship_countries = vec!["NL".into()];
        let c = item("c/z", 1000, Kind::Goods, true, Some((500, 9000)));
        let cat = [a, b, c];
        let countries = |choices: &[(&str, &str)]| {
            let lines: Vec<ShapedLine> = choices.iter().map(|(s, _)| shaped(s, 1)).collect();
            let f = choices
                .iter()
                .map(|(s, how)| (s.split('/').next().expect("chalet").to_string(), how.to_string()))
                .collect();
            shipping_countries(&price(&lines, &cat, &f).expect("priced"), &market)
        };
        assert_eq!(countries(&[("a/x", "pickup")]).expect("fine"), None);
        assert_eq!(
            countries(&[("a/x", "shipping"), ("c/z", "shipping")]).expect("fine"),
            Some(vec!["BE".to_string(), "FR".to_string()]),
            "the market's order, narrowed by a"
        );
        assert_eq!(
            countries(&[("a/x", "shipping"), ("b/y", "pickup")]).expect("fine"),
            Some(vec!["BE".to_string(), "FR".to_string()]),
            "a chalet picked up narrows nothing"
        );
        assert_eq!(
            code(countries(&[("a/x", "shipping"), ("b/y", "shipping")])),
            "no_common_shipping_country"
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_any_json(s in "\\PC{0,200}") {
            if let Ok(req) = parse(s.as_bytes()) {
                let _ = validate_shape(&req);
            }
        }

        #[test]
        fn totals_equal_the_sum_of_their_parts(q1 in 1u32..=99, q2 in 1u32..=99, ship in any::<bool>()) {
            let cat = [item("a/x", 1490, Kind::Goods, true, Some((590, 6000))), item("a/y", 333, Kind::Food, true, Some((590, 6000)))];
            let lines = vec![shaped("a/x", q1), shaped("a/y", q2)];
            let f = BTreeMap::from([("a".to_string(), if ship { "shipping" } else { "pickup" }.to_string())]);
            let b = price(&lines, &cat, &f).expect("priced");
            let goods = 1490 * i64::from(q1) + 333 * i64::from(q2);
            let fee = if ship && goods < 6000 { 590 } else { 0 };
            prop_assert_eq!(b.total.cents(), goods + fee);
        }
    }
}
