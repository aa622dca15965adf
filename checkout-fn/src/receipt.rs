//! The receipt a shopper gets by e-mail once an order is paid: composed from the order and the
//! theme's words (pure, [`compose`]), and sent once per order ([`send_once`]) however many times
//! the webhook, the order page or the reconciler settle it.

use crate::AppState;
use crate::dynamo::{StoreError, key};
use crate::mail::{Composed, Words, html_open};
use crate::orders::MarketRow;
use chalet_types::catalogue::RECEIPT_WORDS;
// Artisans', organisers' and shoppers' text is escaped in the HTML part.
use chalet_types::html::escape as esc;
use chalet_types::table::*;
use chalet_types::{Date, FulfilmentChoice, Language, Order, PostalAddress};
use std::fmt::Write;

/// The theme's words the receipt needs and the catalogue did not bring.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the published catalogue has no receipt words {}: rebuild with a theme that has them and publish again", .0.join(", "))]
pub struct MissingWords(pub Vec<&'static str>);

fn address(a: &PostalAddress) -> String {
    let town = [a.postal_code.as_deref(), a.city.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [
        Some(a.name.as_str()),
        a.line1.as_deref(),
        a.line2.as_deref(),
        Some(town.as_str()),
        a.country.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// The receipt of `order`, in the market's language, linking to `order_url`.
pub fn compose(order: &Order, market: &MarketRow, order_url: &str) -> Result<Composed, MissingWords> {
    let missing: Vec<&'static str> = RECEIPT_WORDS
        .iter()
        .copied()
        .filter(|k| !market.mail.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(MissingWords(missing));
    }
    let lang: Language = market.language;
    let money = |m: chalet_types::Money| m.format(lang);
    let organiser = market
        .organiser
        .as_ref()
        .map(|o| match &o.email {
            Some(e) => format!("{} <{e}>", o.name),
            None => o.name.clone(),
        })
        .unwrap_or_else(|| market.name.clone());
    let w = Words {
        map: &market.mail,
        fill: vec![
            ("market", market.name.clone()),
            ("reference", order.reference()),
            ("name", order.name.clone().unwrap_or_default()),
            ("organiser", organiser),
        ],
    };
    let colon = if lang == Language::Fr { "\u{202f}:" } else { ":" };
    let bought = Date::parse(order.created.get(..10).unwrap_or_default());
    let (mut text, mut html) = (String::new(), String::new());
    let greeting = if order.name.is_some() {
        w.get("greeting")
    } else {
        w.get("greeting").replace(" {name}", "").replace("{name}", "")
    };
    let _ = writeln!(text, "{greeting}\n\n{}\n", w.get("intro"));
    let _ = write!(
        html,
        "{}<p>{}</p><p>{}</p><p><strong>{}{colon} {}</strong>",
        html_open(lang),
        esc(&greeting),
        esc(&w.get("intro")),
        esc(&w.get("reference")),
        esc(&order.reference()),
    );
    let _ = writeln!(text, "{}{colon} {}", w.get("reference"), order.reference());
    if let Some(d) = bought {
        let _ = writeln!(text, "{}{colon} {}", w.get("date"), d.format(lang));
        let _ = write!(html, "<br>{}{colon} {}", esc(&w.get("date")), d.format(lang));
    }
    html.push_str("</p>");
    for share in &order.fulfilment {
        let _ = writeln!(text, "\n— {} —", share.chalet_name);
        let _ = write!(
            html,
            "<h2 style=\"font-size:1.1em\">{}</h2><ul>",
            esc(&share.chalet_name)
        );
        for l in order.lines.iter().filter(|l| l.sku.chalet == share.chalet) {
            let amount = l.unit_price.checked_mul(l.quantity).map(money).unwrap_or_default();
            let _ = writeln!(text, "{} × {} — {amount}", l.quantity, l.name);
            let _ = write!(html, "<li>{} × {} — {amount}", l.quantity, esc(&l.name));
            if let Some(p) = &l.personalisation {
                let _ = writeln!(text, "    {}{colon} {p}", w.get("personalisation"));
                let _ = write!(
                    html,
                    "<br><em>{}{colon} {}</em>",
                    esc(&w.get("personalisation")),
                    esc(p)
                );
            }
            // The exemption as the product page worded it (CDE art. VI.53).
            if let Some(why) = l
                .withdrawal
                .and_then(|x| market.mail.get(&format!("no_withdrawal_{}", x.as_str())))
            {
                let _ = writeln!(text, "    {why}");
                let _ = write!(html, "<br><small>{}</small>", esc(why));
            }
            if !l.voucher_codes.is_empty() {
                // Twelve months from the purchase when the artisan gave no date (Belgian
                // practice for gift vouchers, and the market's default).
                let until = l
                    .voucher
                    .as_ref()
                    .and_then(|v| v.valid_until)
                    .or_else(|| bought.map(Date::a_year_later));
                let _ = writeln!(text, "    {}{colon}", w.get("codes"));
                let _ = write!(html, "<br>{}{colon}<ul>", esc(&w.get("codes")));
                for code in &l.voucher_codes {
                    let _ = writeln!(text, "      {}", code.as_str());
                    let _ = write!(
                        html,
                        "<li><code style=\"font-size:1.2em;letter-spacing:.1em\">{}</code></li>",
                        esc(code.as_str())
                    );
                }
                html.push_str("</ul>");
                if let Some(d) = until {
                    let _ = writeln!(text, "    {} {}", w.get("valid_until"), d.format(lang));
                    let _ = write!(html, "{} {}", esc(&w.get("valid_until")), d.format(lang));
                }
                if let Some(terms) = l.voucher.as_ref().and_then(|v| v.terms.as_deref()) {
                    let _ = writeln!(text, "    {}{colon} {terms}", w.get("terms"));
                    let _ = write!(html, "<br>{}{colon} {}", esc(&w.get("terms")), esc(terms));
                }
            }
            html.push_str("</li>");
        }
        html.push_str("</ul>");
        let vouchers_only = order
            .lines
            .iter()
            .filter(|l| l.sku.chalet == share.chalet)
            .all(|l| !l.voucher_codes.is_empty());
        match share.choice {
            FulfilmentChoice::Shipping => {
                let fee = if share.shipping_fee == chalet_types::Money::ZERO {
                    w.get("free")
                } else {
                    money(share.shipping_fee)
                };
                let _ = writeln!(text, "{}{colon} {fee}", w.get("shipping"));
                let _ = write!(html, "<p>{}{colon} {}", esc(&w.get("shipping")), esc(&fee));
                if let Some(a) = &order.ship_to {
                    let _ = writeln!(text, "{}{colon} {}", w.get("shipped_to"), address(a));
                    let _ = write!(html, "<br>{}{colon} {}", esc(&w.get("shipped_to")), esc(&address(a)));
                }
                html.push_str("</p>");
            }
            FulfilmentChoice::Pickup if !vouchers_only => {
                let at = share.pickup_at.clone().unwrap_or_default();
                let _ = writeln!(text, "{}{colon} {at}", w.get("pickup_at"));
                let _ = write!(html, "<p>{}{colon} {}</p>", esc(&w.get("pickup_at")), esc(&at));
            }
            FulfilmentChoice::Pickup => {}
        }
        if let Some(note) = &share.gift_note {
            let _ = writeln!(text, "{}{colon} « {note} »", w.get("gift_note"));
            let _ = write!(html, "<p>{}{colon} « {} »</p>", esc(&w.get("gift_note")), esc(note));
        }
    }
    let total = money(order.total);
    let _ = writeln!(text, "\n{}{colon} {total}\n", w.get("total"));
    let _ = writeln!(text, "{}{colon} {order_url}\n", w.get("view_order"));
    let _ = writeln!(
        text,
        "{}\n\n{}\n\n{}",
        w.get("withdrawal"),
        w.get("contact"),
        w.get("footer")
    );
    let _ = write!(
        html,
        "<p style=\"font-size:1.2em\"><strong>{}{colon} {total}</strong></p>\
         <p><a href=\"{}\">{}</a></p><p style=\"font-size:.9em\">{}</p><p>{}</p><p style=\"color:#6b5a4e\">{}</p>\
         </body></html>",
        esc(&w.get("total")),
        esc(order_url),
        esc(&w.get("view_order")),
        esc(&w.get("withdrawal")),
        esc(&w.get("contact")),
        esc(&w.get("footer")),
    );
    Ok(Composed {
        subject: w.get("subject"),
        text,
        html,
        ..Default::default()
    })
}

/// What [`send_once`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    Sent,
    /// Sent before, or being sent by another delivery right now.
    AlreadyTaken,
    /// No mail settings, no e-mail address, or no words: nothing to send.
    NotSent,
    /// The send failed: left pending for the next delivery or the reconciler.
    Failed,
}

/// Sends the receipt of the order recorded for `session_id` unless it was sent. A claim written
/// conditionally on the order stops two deliveries arriving together from both sending; a sent
/// receipt is recorded on the order and leaves the pending-receipts index. Never fails the
/// caller: the order is recorded whatever happens here.
pub async fn send_once(st: &AppState, session_id: &str) -> Receipt {
    match try_send(st, session_id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %crate::error::chain(&e), "the receipt could not be sent; it stays pending");
            Receipt::Failed
        }
    }
}

async fn try_send(st: &AppState, session_id: &str) -> Result<Receipt, StoreError> {
    let Some(mailer) = &st.config.mail else {
        return Ok(Receipt::NotSent);
    };
    let (order, market) = tokio::try_join!(st.store.order(session_id), st.store.market())?;
    let (Some(order), market) = (order, market.unwrap_or_default()) else {
        return Ok(Receipt::NotSent);
    };
    let Some(to) = order.email.clone() else {
        return Ok(Receipt::NotSent);
    };
    let mut message = match compose(&order, &market, &order_url(st, session_id)) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "no receipt sent");
            return Ok(Receipt::NotSent);
        }
    };
    let words = Words {
        map: &market.mail,
        fill: Vec::new(),
    };
    message.attachments.extend(crate::voucher_sheet::sheet(
        &order,
        market.language,
        &words,
        &st.voucher_signing,
    ));
    let marks = crate::mail_once::Marks {
        claim: attr::RECEIPT_CLAIM,
        sent: attr::RECEIPT_SENT,
        // A sent receipt leaves the pending-receipts index.
        remove_when_sent: &[CHALET_INDEX_PARTITION_KEY, CHALET_INDEX_SORT_KEY],
    };
    let order_key = key(format!("{ORDER_PREFIX}{session_id}"), ORDER_KEY);
    match crate::mail_once::send(&st.store, order_key, marks, mailer, &to, &message).await? {
        crate::mail_once::Outcome::Sent => {
            tracing::info!(order = %order.reference(), "receipt sent");
            Ok(Receipt::Sent)
        }
        crate::mail_once::Outcome::Taken => Ok(Receipt::AlreadyTaken),
        crate::mail_once::Outcome::Failed(e) => {
            tracing::warn!(order = %order.reference(), error = %e, "the receipt could not be sent; it stays pending");
            Ok(Receipt::Failed)
        }
    }
}

/// The order page's address for this order (the session id is the shopper's credential).
fn order_url(st: &AppState, session_id: &str) -> String {
    chalet_types::routes::checkout_success_url(&st.config.site_url).replace("{CHECKOUT_SESSION_ID}", session_id)
}

/// The orders whose receipt is still to send (the sparse `RECEIPT` partition of the by-chalet
/// index), oldest first, as session ids.
pub async fn pending(st: &AppState) -> Result<Vec<String>, StoreError> {
    let items = st.store.index_items(RECEIPTS_INDEX_KEY).await?;
    Ok(items
        .iter()
        .filter_map(|i| {
            crate::dynamo::get_s(i, PARTITION_KEY)?
                .strip_prefix(ORDER_PREFIX)
                .map(str::to_string)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalet_types::{ChaletFulfilment, Money, OrderLine, OrganiserContact, Sku, VoucherCode, VoucherTerms};
    use std::collections::BTreeMap;

    fn words() -> BTreeMap<String, String> {
        RECEIPT_WORDS
            .iter()
            .map(|k| (k.to_string(), format!("[{k}]")))
            .chain([
                ("subject".to_string(), "{market}: order {reference}".to_string()),
                ("greeting".to_string(), "Hello {name},".to_string()),
                ("contact".to_string(), "Questions: {organiser}".to_string()),
            ])
            .collect()
    }

    fn order() -> Order {
        let line = |sku: &str, quantity: u32| OrderLine {
            sku: Sku::parse(sku).expect("sku"),
            name: "Bague <martelée>".into(),
            unit_price: Money::from_cents(8900),
            quantity,
            voucher_codes: Vec::new(),
            personalisation: None,
            voucher: None,
            withdrawal: None,
        };
        let mut ring = line("perron/bague", 1);
        ring.personalisation = Some("54 & <b>".into());
        let mut menu = line("table/menu", 2);
        menu.voucher_codes = vec![VoucherCode::from_entropy([1; 10]), VoucherCode::from_entropy([2; 10])];
        menu.voucher = Some(VoucherTerms {
            valid_until: None,
            terms: Some("Du mardi au jeudi".into()),
        });
        let share = |chalet: &str, choice, pickup_at: Option<&str>| ChaletFulfilment {
            chalet: chalet_types::Slug::parse(chalet).expect("slug"),
            chalet_name: format!("Chalet {chalet}"),
            choice,
            shipping_fee: Money::from_cents(590),
            pickup_at: pickup_at.map(str::to_string),
            gift_note: None,
        };
        let mut shipped = share("perron", FulfilmentChoice::Shipping, None);
        shipped.gift_note = Some("Joyeux Noël".into());
        Order {
            id: "cs_test_a1b2c3d4e5f6".into(),
            created: "2028-02-29T10:00:00Z".into(),
            email: Some("anne@example.org".into()),
            name: Some("Anne".into()),
            phone: None,
            ship_to: Some(PostalAddress {
                name: "Anne Martin".into(),
                line1: Some("Rue Neuve 1".into()),
                line2: None,
                postal_code: Some("4000".into()),
                city: Some("Liège".into()),
                country: Some("BE".into()),
            }),
            lines: vec![ring, menu],
            fulfilment: vec![
                shipped,
                share("table", FulfilmentChoice::Pickup, Some("Place du Marché")),
            ],
            total: Money::from_cents(8900 + 2 * 8900 + 590),
            payment_intent: None,
            needs_attention: false,
            refunds: Vec::new(),
            disputes: Vec::new(),
        }
    }

    #[test]
    fn a_receipt_holds_lines_codes_validity_address_and_contact_escaped_in_html() {
        let market = MarketRow {
            name: "Marché".into(),
            organiser: Some(OrganiserContact {
                name: "Liège Centre".into(),
                email: Some("info@marche.example".into()),
            }),
            mail: words(),
            ..MarketRow::default()
        };
        let m = compose(&order(), &market, "https://m.example/commande/?session_id=cs_x").expect("composed");
        assert_eq!(m.subject, "Marché: order C3D4E5F6");
        for part in [&m.text, &m.html] {
            assert!(part.contains("Hello Anne,") && part.contains("[codes]"));
            assert!(part.contains(VoucherCode::from_entropy([1; 10]).as_str()));
            assert!(part.contains(VoucherCode::from_entropy([2; 10]).as_str()));
            // No date given: twelve months from the purchase (29 February → 28 February).
            assert!(part.contains("[valid_until] 28/02/2029"), "{part}");
            assert!(part.contains("Du mardi au jeudi"));
            assert!(part.contains("Rue Neuve 1, 4000 Liège, BE"));
            assert!(part.contains("Joyeux Noël"));
            assert!(
                !part.contains("Place du Marché"),
                "a vouchers-only share has no pickup place"
            );
            assert!(part.contains("[withdrawal]"));
            assert!(part.contains("Questions: Liège Centre"));
        }
        assert!(m.text.contains("54 & <b>") && m.text.contains("Bague <martelée>"));
        assert!(
            m.html.contains("54 &amp; &lt;b&gt;") && !m.html.contains("<b>"),
            "shopper text is escaped"
        );
        assert!(m.html.contains("Bague &lt;martelée&gt;"));
        assert!(
            m.text.contains("178,00 €") || m.text.contains("178,00\u{a0}€"),
            "{}",
            m.text
        );
    }

    #[test]
    fn no_words_no_receipt() {
        let mut market = MarketRow {
            mail: words(),
            ..MarketRow::default()
        };
        market.mail.remove("withdrawal");
        assert_eq!(
            compose(&order(), &market, "u").err(),
            Some(MissingWords(vec!["withdrawal"]))
        );
    }
}
