//! The artisan says a share is handed over: `POST /chalets/{slug}/orders/{order}/handover`
//! `{token, status: "ready" | "shipped", tracking_url?}` — ready for pickup (a pickup share) or
//! shipped (a shipping share, with an optional tracking link). The shopper gets an e-mail each
//! time the state changes (the same state twice sends nothing), and the chalet's order list
//! shows it.

use crate::AppState;
use crate::dynamo::{StoreError, get_s, key, n, s};
use crate::error::ApiError;
use crate::mail::Composed;
use crate::orders::MarketRow;
use crate::routes::{MAX_BODY, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chalet_types::catalogue::HANDOVER_MAIL_WORDS;
use chalet_types::html::escape as esc;
use chalet_types::table::*;
use chalet_types::{ChaletFulfilment, ErrorCode, FulfilmentChoice, Order, Slug};
use serde_json::{Value, json};
use std::fmt::Write;

chalet_types::wire_enum! {
    /// How far a chalet's share of an order has gone.
    pub enum Handover {
        /// A pickup share is ready at the chalet.
        Ready = "ready",
        /// A shipping share is on its way.
        Shipped = "shipped",
    }
}

/// On a chalet's share of an order: its [`Handover`], when, and the parcel's tracking link.
pub const HANDOVER: &str = "handover";
pub const HANDOVER_AT: &str = "handover_at";
pub const TRACKING_URL: &str = "tracking_url";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    token: String,
    status: String,
    #[serde(default)]
    tracking_url: Option<String>,
}

/// `POST /chalets/{slug}/orders/{order}/handover`.
pub async fn handover(
    State(st): State<AppState>,
    Path((slug, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, MAX_BODY, true).await?;
    let req: Request = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            "send {token, status: ready | shipped, tracking_url?}",
        )
    })?;
    let slug = crate::links::authorised(&st, &slug, Some(&req.token))?;
    let invalid = |m: &str| ApiError::invalid(ErrorCode::InvalidHandover, m.to_string());
    let status = Handover::parse(&req.status).ok_or_else(|| invalid("status is `ready` or `shipped`"))?;
    let tracking = match req.tracking_url.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) if status != Handover::Shipped => {
            return Err(invalid(&format!("a tracking link goes with `shipped`, not {t}")));
        }
        Some(t) if t.len() <= 500 && t.starts_with("https://") && !t.contains(char::is_whitespace) => {
            Some(t.to_string())
        }
        Some(_) => return Err(invalid("tracking_url must be an https:// address")),
    };
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::OrderNotFound,
            "this chalet has no such order",
        )
    };
    let plausible = order_id.starts_with("cs_")
        && order_id.len() <= 255
        && order_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !plausible {
        return Err(not_found());
    }
    let share_key = || key(format!("{ORDER_PREFIX}{order_id}"), format!("{CHALET_PREFIX}{slug}"));
    let share = st
        .store
        .get(share_key())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_found)?;
    let fulfilment: Option<ChaletFulfilment> = get_s(&share, attr::BODY)
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|b| serde_json::from_value(b["fulfilment"].clone()).ok());
    let Some(fulfilment) = fulfilment else {
        return Err(ApiError::internal(std::io::Error::other(
            "an order share without its fulfilment",
        )));
    };
    match (fulfilment.choice, status) {
        (FulfilmentChoice::Pickup, Handover::Ready) | (FulfilmentChoice::Shipping, Handover::Shipped) => {}
        (FulfilmentChoice::Pickup, _) => return Err(invalid("this order is picked up at the chalet: say `ready`")),
        (FulfilmentChoice::Shipping, _) => return Err(invalid("this order is shipped: say `shipped`")),
    }
    let changed = record(&st, share_key(), status, tracking.as_deref())
        .await
        .map_err(ApiError::internal)?;
    let mut mailed = false;
    if changed && let Some(mailer) = &st.config.mail {
        let (order, market) =
            tokio::try_join!(st.store.order(&order_id), st.store.market()).map_err(ApiError::internal)?;
        let market = market.unwrap_or_default();
        if let (Some(order), true) = (order, HANDOVER_MAIL_WORDS.iter().all(|k| market.mail.contains_key(*k)))
            && let Some(to) = order.email.clone()
        {
            let url = chalet_types::routes::checkout_success_url(&st.config.site_url)
                .replace("{CHECKOUT_SESSION_ID}", &order.id);
            let message = compose(&order, &fulfilment, status, tracking.as_deref(), &market, &url);
            match mailer.send(&to, &message).await {
                Ok(()) => mailed = true,
                // The state is recorded; the shopper still has the order page.
                Err(e) => tracing::warn!(error = %e, "the shopper could not be told of the handover"),
            }
        }
    }
    Ok(Json(
        json!({ "status": status.as_str(), "changed": changed, "mailed": mailed }),
    ))
}

/// Records the state; `false` when the share was in it already.
async fn record(
    st: &AppState,
    share: crate::dynamo::Item,
    status: Handover,
    tracking: Option<&str>,
) -> Result<bool, StoreError> {
    let update = st
        .store
        .client
        .update_item()
        .table_name(&st.store.table)
        .set_key(Some(share))
        .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#h) OR #h <> :h)")
        .expression_attribute_names("#pk", PARTITION_KEY)
        .expression_attribute_names("#h", HANDOVER)
        .expression_attribute_names("#at", HANDOVER_AT)
        .expression_attribute_values(":h", s(status.as_str()))
        .expression_attribute_values(":at", n(crate::now()));
    let update = match tracking {
        Some(t) => update
            .update_expression("SET #h = :h, #at = :at, #t = :t")
            .expression_attribute_names("#t", TRACKING_URL)
            .expression_attribute_values(":t", s(t)),
        None => update.update_expression("SET #h = :h, #at = :at"),
    };
    crate::dynamo::conditional(update.send().await)
}

/// The shopper's e-mail: this chalet's part of the order is ready, or on its way.
pub fn compose(
    order: &Order,
    share: &ChaletFulfilment,
    status: Handover,
    tracking: Option<&str>,
    market: &MarketRow,
    order_url: &str,
) -> Composed {
    let words = crate::notify::share_words(order, share, market);
    let fill = |k: &str| words.get(k);
    let (subject, intro) = match status {
        Handover::Ready => ("ready_subject", "ready_intro"),
        Handover::Shipped => ("shipped_subject", "shipped_intro"),
    };
    let lang = market.language;
    let (mut text, mut html) = (String::new(), String::new());
    let _ = writeln!(text, "{}\n", fill(intro));
    let _ = write!(html, "{}<p>{}</p><ul>", crate::mail::html_open(lang), esc(&fill(intro)));
    for line in order.lines.iter().filter(|l| l.sku.chalet == share.chalet) {
        let _ = writeln!(text, "- {} × {}", line.quantity, line.name);
        let _ = write!(html, "<li>{} × {}</li>", line.quantity, esc(&line.name));
    }
    html.push_str("</ul>");
    if let (Handover::Ready, Some(at)) = (status, &share.pickup_at) {
        let _ = writeln!(text, "\n{}: {at}", fill("pickup_at"));
        let _ = write!(html, "<p>{}: {}</p>", esc(&fill("pickup_at")), esc(at));
    }
    if let Some(t) = tracking {
        let _ = writeln!(text, "\n{}: {t}", fill("tracking"));
        let _ = write!(html, "<p><a href=\"{}\">{}</a></p>", esc(t), esc(&fill("tracking")));
    }
    let _ = writeln!(text, "\n{}: {order_url}\n\n{}", fill("view_order"), fill("footer"));
    let _ = write!(
        html,
        "<p><a href=\"{}\">{}</a></p><p>{}</p></body></html>",
        esc(order_url),
        esc(&fill("view_order")),
        esc(&fill("footer"))
    );
    Composed {
        subject: fill(subject),
        text,
        html,
        ..Default::default()
    }
}

impl crate::dynamo::Dynamo {
    /// A chalet's order shares, oldest first, each with its handover (`handover`,
    /// `handover_at`, `tracking_url`) when there is one.
    pub async fn chalet_shares(&self, chalet: &Slug) -> Result<Vec<Value>, StoreError> {
        let items = self.index_items(&format!("{CHALET_PREFIX}{chalet}")).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let mut share: Value = serde_json::from_str(get_s(item, attr::BODY)?).ok()?;
                if let Some(h) = get_s(item, HANDOVER) {
                    share[HANDOVER] = json!(h);
                    share[HANDOVER_AT] = json!(crate::dynamo::get_n(item, HANDOVER_AT));
                    share[TRACKING_URL] = json!(get_s(item, TRACKING_URL));
                }
                Some(share)
            })
            .collect())
    }
}
