//! Charges, refunds and disputes: what happens to a payment after the sale.
//!
//! A paid session leaves a charge (Stripe's `charge` fixture, filled in). `POST /v1/refunds`
//! takes `payment_intent` or `charge`, `amount` (default: what is left), `reason` and `metadata`,
//! refuses more than is left as Stripe does, honours `Idempotency-Key`, and sends
//! `charge.refunded` ("Refund and cancel payments", "Create a refund", Stripe docs).
//! `GET /v1/refunds?payment_intent=` lists them. Disputes are opened and closed by control calls
//! (`charge.dispute.created`, `charge.dispute.closed`), as the card network would.

use crate::{StandIn, faults, new_id, now, stripe_error};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

impl StandIn {
    /// Records a dispute's movement of the balance (an `adjustment`) and lists it, whole, in the
    /// dispute's `balance_transactions`, as Stripe's dispute object does.
    fn dispute_movement(&self, store: &mut crate::Store, d: &mut Value, category: &str, amount: i64, fee: i64) {
        let currency = d["currency"].as_str().unwrap_or_default().to_string();
        let id = d["id"].as_str().unwrap_or_default().to_string();
        let movement = crate::balance::Movement {
            kind: "adjustment",
            reporting_category: category,
            amount,
            fee,
            currency: &currency,
            source: &id,
            description: None,
        };
        self.record_balance(store, movement);
        if let (Some(list), Some(txn)) = (d["balance_transactions"].as_array_mut(), store.balance.last()) {
            list.push(txn.clone());
        }
    }
}

/// Stripe's fee on a dispute in the EEA, in cents.
const DISPUTE_FEE: i64 = 2_000;

/// The charge a paid session leaves behind, keyed by its PaymentIntent.
pub(crate) fn charge_for(template: &Value, session: &Value, payment_intent: &str) -> Value {
    let mut c = template.clone();
    let amount = session["amount_total"].as_i64().unwrap_or(0);
    for (k, v) in [
        ("id", json!(new_id("ch"))),
        ("amount", json!(amount)),
        ("amount_captured", json!(amount)),
        ("amount_refunded", json!(0)),
        ("refunded", json!(false)),
        ("captured", json!(true)),
        ("paid", json!(true)),
        ("status", json!("succeeded")),
        ("disputed", json!(false)),
        ("currency", session["currency"].clone()),
        ("payment_intent", json!(payment_intent)),
        ("created", json!(now())),
        ("metadata", json!({})),
    ] {
        c[k] = v;
    }
    c
}

fn refund_params(pairs: &[(String, String)]) -> Result<BTreeMap<String, String>, Box<Response>> {
    let bad = |param: &str, message: String| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": { "type": "invalid_request_error", "code": "parameter_invalid", "param": param, "message": message } })),
            )
                .into_response(),
        )
    };
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        match k.as_str() {
            "payment_intent" | "charge" => {}
            "amount" if v.parse::<i64>().is_ok_and(|a| a > 0) => {}
            "amount" => return Err(bad(k, format!("Invalid positive integer: {v}"))),
            "reason" if ["duplicate", "fraudulent", "requested_by_customer"].contains(&v.as_str()) => {}
            "reason" => return Err(bad(k, format!("Invalid reason: {v}"))),
            m if m.starts_with("metadata[") && m.ends_with(']') && m.len() <= 9 + 40 + 1 && v.len() <= 500 => {}
            _ => {
                return Err(Box::new(
                    (
                        StatusCode::BAD_REQUEST,
                        Json(json!({ "error": { "type": "invalid_request_error", "code": "parameter_unknown", "param": k, "message": format!("Received unknown parameter: {k}") } })),
                    )
                        .into_response(),
                ));
            }
        }
        out.insert(k.clone(), v.clone());
    }
    if out.contains_key("payment_intent") == out.contains_key("charge") {
        return Err(bad(
            "payment_intent",
            "Give exactly one of payment_intent or charge.".into(),
        ));
    }
    Ok(out)
}

pub(crate) async fn create(State(s): State<StandIn>, headers: HeaderMap, body: String) -> Response {
    if !s.authorised(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
        );
    }
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(&body) else {
        return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", "Invalid form body");
    };
    let params = match refund_params(&pairs) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let key = match crate::idempotency_key(&headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let request = json!(["refund", pairs]);
    let events = {
        let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((status, body)) = key
            .as_ref()
            .and_then(|k| faults::replay(store.idempotent.get(k), &request))
        {
            return (status, Json(body)).into_response();
        }
        let pi = match (params.get("payment_intent"), params.get("charge")) {
            (Some(pi), _) => Some(pi.clone()),
            (_, Some(ch)) => store
                .charges
                .iter()
                .find(|(_, c)| c["id"] == json!(ch))
                .map(|(pi, _)| pi.clone()),
            _ => None,
        };
        let Some(charge) = pi.as_ref().and_then(|pi| store.charges.get_mut(pi)) else {
            let what = params
                .get("payment_intent")
                .or(params.get("charge"))
                .cloned()
                .unwrap_or_default();
            return stripe_error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                &format!("No such payment_intent: '{what}'"),
            );
        };
        let amount = charge["amount"].as_i64().unwrap_or(0);
        let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
        let left = amount - refunded;
        if left <= 0 {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": { "type": "invalid_request_error", "code": "charge_already_refunded", "message": format!("Charge {} has already been refunded.", charge["id"].as_str().unwrap_or("")) } })),
            )
                .into_response();
        }
        let wanted = params.get("amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(left);
        if wanted > left {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": { "type": "invalid_request_error", "code": "amount_too_large", "param": "amount", "message": format!("Refund amount ({wanted}) is greater than unrefunded amount on charge ({left})") } })),
            )
                .into_response();
        }
        charge["amount_refunded"] = json!(refunded + wanted);
        charge["refunded"] = json!(refunded + wanted == amount);
        let charge_now = charge.clone();
        let metadata: HashMap<String, String> = params
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_string(), v.clone())))
            .collect();
        let mut refund = (*s.refund_template).clone();
        for (k, v) in [
            ("id", json!(new_id("re"))),
            ("amount", json!(wanted)),
            ("charge", charge_now["id"].clone()),
            ("payment_intent", json!(pi)),
            ("currency", charge_now["currency"].clone()),
            ("created", json!(now())),
            ("metadata", json!(metadata)),
            ("reason", json!(params.get("reason"))),
            ("status", json!("succeeded")),
        ] {
            refund[k] = v;
        }
        let currency = charge_now["currency"].as_str().unwrap_or_default().to_string();
        let source = refund["id"].as_str().unwrap_or_default().to_string();
        // Stripe keeps the fee of a refunded payment: the refund's fee is 0.
        let movement = crate::balance::Movement {
            kind: "refund",
            reporting_category: "refund",
            amount: -wanted,
            fee: 0,
            currency: &currency,
            source: &source,
            description: None,
        };
        refund["balance_transaction"] = json!(s.record_balance(&mut store, movement));
        store.refunds.push(refund.clone());
        if let Some(k) = key {
            store.idempotent.insert(
                k,
                faults::Saved {
                    request,
                    status: 200,
                    body: refund.clone(),
                },
            );
        }
        store.requests.push(json!({ "endpoint": "refund", "params": pairs }));
        (refund, s.event("charge.refunded", charge_now))
    };
    let (refund, event) = events;
    s.record_and_deliver(event).await;
    Json(refund).into_response()
}

pub(crate) async fn list(
    State(s): State<StandIn>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !s.authorised(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
        );
    }
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    let data: Vec<Value> = store
        .refunds
        .iter()
        .rev()
        .filter(|r| {
            q.get("payment_intent")
                .is_none_or(|pi| r["payment_intent"] == json!(pi))
        })
        .filter(|r| q.get("charge").is_none_or(|ch| r["charge"] == json!(ch)))
        .cloned()
        .collect();
    Json(json!({ "object": "list", "data": data, "has_more": false, "url": "/v1/refunds" })).into_response()
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DisputeBody {
    amount: Option<i64>,
    reason: Option<String>,
    status: Option<String>,
}

/// `POST /__control/payment_intents/{pi}/dispute`: the shopper's bank disputes the payment.
pub(crate) async fn open_dispute(
    State(s): State<StandIn>,
    Path(pi): Path<String>,
    body: Option<Json<DisputeBody>>,
) -> Response {
    let body = body.map(|b| b.0).unwrap_or_default();
    let event = {
        let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
        let Some(charge) = store.charges.get_mut(&pi) else {
            return stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "No such payment_intent");
        };
        charge["disputed"] = json!(true);
        let mut d = (*s.dispute_template).clone();
        for (k, v) in [
            ("id", json!(new_id("dp"))),
            (
                "amount",
                json!(body.amount.unwrap_or_else(|| charge["amount"].as_i64().unwrap_or(0))),
            ),
            ("charge", charge["id"].clone()),
            ("payment_intent", json!(pi)),
            ("currency", charge["currency"].clone()),
            ("created", json!(now())),
            ("reason", json!(body.reason.unwrap_or_else(|| "fraudulent".into()))),
            ("status", json!("needs_response")),
        ] {
            d[k] = v;
        }
        // The disputed amount leaves the balance with Stripe's dispute fee (€20 in the EEA,
        // "Pricing updates for businesses based in the EEA"): one `adjustment`.
        let amount = d["amount"].as_i64().unwrap_or(0);
        let id = d["id"].as_str().unwrap_or_default().to_string();
        s.dispute_movement(&mut store, &mut d, "dispute", -amount, DISPUTE_FEE);
        store.disputes.insert(id, d.clone());
        s.event("charge.dispute.created", d)
    };
    let delivered = s.record_and_deliver(event.clone()).await;
    Json(json!({ "event": event, "delivered": delivered })).into_response()
}

/// `POST /__control/disputes/{id}/close` `{status: "won" | "lost"}`.
pub(crate) async fn close_dispute(
    State(s): State<StandIn>,
    Path(id): Path<String>,
    body: Option<Json<DisputeBody>>,
) -> Response {
    let status = body.and_then(|b| b.0.status).unwrap_or_else(|| "lost".into());
    if status != "won" && status != "lost" {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "status is won or lost",
        );
    }
    let event = {
        let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
        let Some(d) = store.disputes.get_mut(&id) else {
            return stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "No such dispute");
        };
        d["status"] = json!(status);
        let mut d = d.clone();
        if status == "won" {
            // Won: the amount comes back (the fee stays Stripe's).
            let amount = d["amount"].as_i64().unwrap_or(0);
            let id = d["id"].as_str().unwrap_or_default().to_string();
            s.dispute_movement(&mut store, &mut d, "dispute_reversal", amount, 0);
            store.disputes.insert(id, d.clone());
        }
        s.event("charge.dispute.closed", d)
    };
    let delivered = s.record_and_deliver(event.clone()).await;
    Json(json!({ "event": event, "delivered": delivered })).into_response()
}
