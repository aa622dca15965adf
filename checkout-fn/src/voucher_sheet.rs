//! The printable vouchers attached to a receipt: one card per code sold, as the order page
//! prints them — the restaurant, what the voucher is for, the issue date, until when it is
//! valid, its terms, the code, and the QR code of its signed payload ([`crate::voucher_qr`]), so
//! a restaurant can check it offline. One self-contained HTML file (inline SVG, no script, no
//! remote resource): it opens and prints from any mail client's attachment.

use crate::mail::{Attachment, Words};
use chalet_types::html::escape as esc;
use chalet_types::{Date, Language, Order};
use ring::signature::Ed25519KeyPair;
use std::fmt::Write as _;

/// The sheet of `order`'s vouchers, `None` when it sold none.
pub fn sheet(order: &Order, lang: Language, w: &Words<'_>, key: &Ed25519KeyPair) -> Option<Attachment> {
    let colon = if lang == Language::Fr { "\u{202f}:" } else { ":" };
    let issued = Date::parse(order.created.get(..10).unwrap_or_default());
    let mut cards = String::new();
    for line in order.lines.iter().filter(|l| !l.voucher_codes.is_empty()) {
        let restaurant = order
            .fulfilment
            .iter()
            .find(|f| f.chalet == line.sku.chalet)
            .map_or_else(|| line.sku.chalet.to_string(), |f| f.chalet_name.clone());
        let until = order.voucher_valid_until(line);
        for code in &line.voucher_codes {
            let payload = crate::voucher_qr::payload(key, code, &line.sku, until);
            let qr = crate::voucher_qr::qr_path(&payload).map_or_else(String::new, |(side, d)| {
                format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"160\" height=\"160\" \
                     role=\"img\" aria-label=\"QR {code}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" \
                     fill=\"#fff\"/><path d=\"{d}\" fill=\"#000\"/></svg>",
                    code = esc(code.as_str())
                )
            });
            let _ = write!(
                cards,
                "<section class=\"card\"><div><p class=\"who\">{}</p><h1>{}</h1>\
                 <p class=\"code\">{}</p><p>",
                esc(&restaurant),
                esc(&line.name),
                esc(code.as_str()),
            );
            if let Some(d) = issued {
                let _ = write!(cards, "{}{colon} {}<br>", esc(&w.get("date")), d.format(lang));
            }
            if let Some(d) = until {
                let _ = write!(cards, "{} {}", esc(&w.get("valid_until")), d.format(lang));
            }
            cards.push_str("</p>");
            if let Some(terms) = line.voucher.as_ref().and_then(|v| v.terms.as_deref()) {
                let _ = write!(
                    cards,
                    "<p class=\"terms\">{}{colon} {}</p>",
                    esc(&w.get("terms")),
                    esc(terms)
                );
            }
            let _ = write!(
                cards,
                "<p class=\"ref\">{}{colon} {}</p></div>{qr}</section>",
                esc(&w.get("reference")),
                esc(&order.reference())
            );
        }
    }
    if cards.is_empty() {
        return None;
    }
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:system-ui,sans-serif;margin:1rem}}\
         .card{{display:flex;justify-content:space-between;gap:1rem;border:2px dashed #8a6d3b;border-radius:12px;\
         padding:1rem 1.25rem;margin:0 0 1rem;break-inside:avoid}}.card h1{{font-size:1.3rem;margin:.2rem 0}}\
         .who{{margin:0;color:#6b5a4e}}.code{{font:700 1.5rem/1.2 ui-monospace,monospace;letter-spacing:.12em}}\
         .terms,.ref{{font-size:.9rem}}svg{{flex:none}}</style></head><body>{cards}</body></html>",
        lang.code(),
        esc(&w.get("codes")),
    );
    Some(Attachment {
        name: format!("vouchers-{}.html", order.reference().to_lowercase()),
        content_type: "text/html; charset=utf-8",
        body: html,
    })
}
