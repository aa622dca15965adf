//! Each chalet's private link to its orders: a token that is an HMAC of the chalet's slug under
//! a key only the organisers hold (`LINKS_KEY`), so no table of links exists to leak, a link
//! opens one chalet's orders and no other's, and changing the key revokes every link at once.
//! `GET /chalets/{slug}/orders?token=…` answers that chalet's order shares (built when the order
//! was recorded with only what the artisan needs: its lines, and the address for shipping or the
//! name and phone for a pickup), as JSON or, at `…/orders.csv`, as a spreadsheet.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalet_types::{ErrorCode, Slug};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;

/// What is signed: versioned, so a token can never be mistaken for another use of the key.
fn message(slug: &Slug) -> String {
    format!("chalet-orders:v1:{slug}")
}

fn mac(key: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key")
}

/// The token of `slug`'s link (64 hexadecimal digits).
pub fn token(key: &str, slug: &Slug) -> String {
    let mut m = mac(key);
    m.update(message(slug).as_bytes());
    chalet_types::hex(&m.finalize().into_bytes())
}

/// Whether `token` opens `slug`'s orders, compared in constant time.
pub fn verify(key: &str, slug: &Slug, token: &str) -> bool {
    let Some(bytes) = unhex(token) else {
        return false;
    };
    let mut m = mac(key);
    m.update(message(slug).as_bytes());
    m.verify_slice(&bytes).is_ok()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The chalet's private link: the artisans' page on the site (`…/atelier/#chalet=…&token=…`).
pub fn page_link(site: &chalet_types::SiteUrl, key: &str, slug: &Slug) -> String {
    chalet_types::routes::workshop_link(site, slug, &token(key, slug))
}

/// The chalet's orders from the function itself (`…/api/chalets/<slug>/orders.csv?token=…`).
pub fn link(site: &chalet_types::SiteUrl, key: &str, slug: &Slug, csv: bool) -> String {
    let file = if csv { "orders.csv" } else { "orders" };
    format!(
        "{}{}/chalets/{slug}/{file}?token={}",
        site.as_str(),
        chalet_types::routes::API_DIR,
        token(key, slug)
    )
}

/// The links' key, or 503 when the stack has none.
pub(crate) fn key(st: &AppState) -> Result<&str, ApiError> {
    st.config.links_key.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::LinksUnavailable,
            "artisans' links are not set up (LINKS_KEY)",
        )
    })
}

/// The chalet a path names, once its link's token is checked: 403 for a missing, wrong,
/// tampered or revoked one.
pub(crate) fn authorised(st: &AppState, slug: &str, token: Option<&str>) -> Result<Slug, ApiError> {
    let key = key(st)?;
    let forbidden = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this link is not valid (or no longer): ask the organisers for a new one",
        )
    };
    let slug = Slug::parse(slug).map_err(|_| forbidden())?;
    match token {
        Some(token) if verify(key, &slug, token) => Ok(slug),
        _ => Err(forbidden()),
    }
}

/// The link's token: `Authorization: Bearer …` (the artisans' page sends it so, keeping it out
/// of URLs and their logs), else `?token=` (a spreadsheet's download link).
pub(crate) fn token_of<'a>(headers: &'a HeaderMap, query: &'a HashMap<String, String>) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| query.get("token").map(String::as_str))
}

/// The chalet's order shares, after the token.
async fn shares(
    st: &AppState,
    slug: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let slug = authorised(st, slug, token_of(headers, query))?;
    st.store.chalet_shares(&slug).await.map_err(ApiError::internal)
}

/// Private and never cached anywhere, nor its address sent on.
const PRIVATE: [(header::HeaderName, &str); 2] = [
    (header::CACHE_CONTROL, "private, no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// `GET /chalets/{slug}/orders?token=…`
pub async fn orders(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let shares = shares(&st, &slug, &headers, &query).await?;
    Ok((PRIVATE, axum::Json(json!({ "chalet": slug, "orders": shares }))).into_response())
}

/// `GET /chalets/{slug}/orders.csv?token=…`: one row per line sold.
pub async fn orders_csv(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let shares = shares(&st, &slug, &headers, &query).await?;
    let disposition = format!("attachment; filename=\"{slug}-orders.csv\"");
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((PRIVATE, headers, csv(&shares)).into_response())
}

pub const CSV_HEADER: [&str; 15] = [
    "order",
    "created",
    "sku",
    "product",
    "quantity",
    "unit_price",
    "line_total",
    "personalisation",
    "voucher_codes",
    "fulfilment",
    "ship_to",
    "name",
    "phone",
    "handover",
    "tracking_url",
];

/// The shares as CSV (RFC 4180: quoted where needed, CRLF), amounts in euros with two decimals.
pub fn csv(shares: &[Value]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_HEADER.iter().map(|h| h.to_string()));
    for share in shares {
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for line in share["lines"].as_array().into_iter().flatten() {
            let cents = |v: &Value| v.as_i64().unwrap_or(0);
            let quantity = line["quantity"].as_i64().unwrap_or(0);
            let euros = |c: i64| chalet_types::Money::from_cents(c).to_decimal_string();
            let codes: Vec<String> = line["voucher_codes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            push_row(
                &mut out,
                [
                    text(&share["order"]),
                    text(&share["created"]),
                    text(&line["sku"]),
                    text(&line["name"]),
                    quantity.to_string(),
                    euros(cents(&line["unit_price"])),
                    euros(cents(&line["unit_price"]) * quantity),
                    text(&line["personalisation"]),
                    codes.join(" "),
                    text(&share["fulfilment"]["choice"]),
                    ship_to(&share["ship_to"]),
                    text(&share["name"]),
                    text(&share["phone"]),
                    text(&share["handover"]),
                    text(&share["tracking_url"]),
                ]
                .into_iter(),
            );
        }
    }
    out
}

fn ship_to(v: &Value) -> String {
    match v {
        Value::Object(map) => map
            .values()
            .filter_map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .or_else(|| x.as_object().map(|_| ship_to(x)))
            })
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// `12` or `12.50`: digits, and at most one point with digits after it.
fn plain_decimal(n: &str) -> bool {
    let (whole, cents) = n.split_once('.').unwrap_or((n, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(cents)
}

pub(crate) fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells
        .map(|c| {
            // A cell starting with = + - @ is a formula to a spreadsheet: neutralised, unless it
            // is a plain negative amount (`-12.50`), which a spreadsheet must read as a number.
            let amount = c.strip_prefix('-').is_some_and(plain_decimal);
            let c = if c.starts_with(['=', '+', '-', '@']) && !amount {
                format!("'{c}")
            } else {
                c
            };
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_chalet_only_and_dies_with_its_key() {
        let (a, b) = (
            Slug::parse("chez-lina").expect("slug"),
            Slug::parse("chez-marc").expect("slug"),
        );
        let t = token("key-one", &a);
        assert_eq!(t.len(), 64);
        assert!(verify("key-one", &a, &t));
        assert!(!verify("key-one", &b, &t), "another chalet");
        assert!(!verify("key-two", &a, &t), "a rotated key");
        let mut tampered = t.clone().into_bytes();
        tampered[10] = if tampered[10] == b'0' { b'1' } else { b'0' };
        assert!(!verify("key-one", &a, &String::from_utf8(tampered).expect("ascii")));
        assert!(!verify("key-one", &a, "short"));
        assert!(!verify("key-one", &a, &"zz".repeat(32)));
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let share = json!({ "order": "cs_1", "created": 5, "fulfilment": { "chalet": "a", "choice": "pickup" },
            "name": "=HYPERLINK(\"x\")", "phone": "+32 4", "lines": [
            { "sku": "a/b", "name": "Bougie, rouge", "quantity": 2, "unit_price": 1490, "personalisation": "Léa \"la\"" } ] });
        let text = csv(&[share]);
        let rows: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(rows[0], CSV_HEADER.join(","));
        assert_eq!(
            rows[1],
            "cs_1,5,a/b,\"Bougie, rouge\",2,14.90,29.80,\"Léa \"\"la\"\"\",,pickup,,\"'=HYPERLINK(\"\"x\"\")\",'+32 4,,"
        );
    }

    #[test]
    fn negative_amounts_stay_numbers_and_other_dashes_are_defused() {
        let mut out = String::new();
        push_row(
            &mut out,
            ["-12.50", "-3", "-1+1", "-", "-.5", "-2.", "12.50"]
                .map(String::from)
                .into_iter(),
        );
        assert_eq!(out, "-12.50,-3,'-1+1,'-,'-.5,'-2.,12.50\r\n");
    }
}
