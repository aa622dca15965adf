//! Stripe Connect's separate charges and transfers, as far as a marketplace uses them
//! ("Create separate charges and transfers", docs.stripe.com/connect/separate-charges-and-transfers;
//! "Create a transfer", "Create a transfer reversal", API reference):
//!
//! - `POST /v1/transfers` `amount`, `currency`, `destination` (required), `source_transaction`,
//!   `transfer_group`, `description`, `metadata[…]`, `expand[]`; honours `Idempotency-Key`. The
//!   destination must be a connected account; with `source_transaction` the charge must exist, be
//!   in the transfer's currency, and its transfers together may not exceed its amount; without it
//!   the platform's *available* balance must cover the transfer ("Insufficient Funds").
//! - `GET /v1/transfers` (`transfer_group`, `destination`, `created`, pages), `GET /v1/transfers/{id}`.
//! - `POST /v1/transfers/{id}/reversals` `amount` (default: what is left), `description`,
//!   `metadata[…]`: never more than is left, and — for a `transfer_group` transfer — "only if the
//!   destination account has enough balance to cover the reversal" (`balance_insufficient`).
//! - Control: `POST /__control/accounts` `{id?}` makes a connected account; `POST
//!   /__control/accounts/{id}/payout` pays its whole balance out (so a reversal finds nothing);
//!   `GET /__control/accounts/{id}` shows its balance.

// A refusal here is the HTTP answer itself, handed straight back by the handler: boxing it
// would only add derefs to a dev-only server.
#![allow(clippy::result_large_err)]

use crate::balance::{Movement, available, list_query};
use crate::{StandIn, faults, new_id, now, stripe_error};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn error(status: StatusCode, code: &str, param: Option<&str>, message: String) -> Response {
    (
        status,
        Json(json!({ "error": { "type": "invalid_request_error", "code": code, "param": param, "message": message } })),
    )
        .into_response()
}

fn form(body: &str) -> Result<Vec<(String, String)>, Response> {
    serde_urlencoded::from_str(body)
        .map_err(|_| stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", "Invalid form body"))
}

/// A call's parameters by name, and its metadata.
type Params = (BTreeMap<String, String>, BTreeMap<String, String>);

/// Checks a create call's parameters against those it takes; returns them by name, with the
/// metadata apart.
fn params(pairs: &[(String, String)], allowed: &[&str]) -> Result<Params, Response> {
    let mut out = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(key) = k.strip_prefix("metadata[").and_then(|m| m.strip_suffix(']')) {
            if key.len() > 40 || v.len() > 500 {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "parameter_invalid",
                    Some(k),
                    "Metadata keys are at most 40 characters and values at most 500.".into(),
                ));
            }
            metadata.insert(key.to_string(), v.clone());
        } else if k.starts_with("expand[") {
        } else if allowed.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        } else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "parameter_unknown",
                Some(k),
                format!("Received unknown parameter: {k}"),
            ));
        }
    }
    Ok((out, metadata))
}

fn positive(p: &BTreeMap<String, String>, name: &str) -> Result<Option<i64>, Response> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(a) if a > 0 => Ok(Some(a)),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "parameter_invalid",
                Some(name),
                format!("Invalid positive integer: {v}"),
            )),
        },
    }
}

fn missing(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "parameter_missing",
        Some(name),
        format!("Missing required param: {name}."),
    )
}

fn unauthorised() -> Response {
    stripe_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "Invalid API Key provided.",
    )
}

/// Replays an idempotent call, or runs `act` and saves its answer under the key.
fn idempotent(
    s: &StandIn,
    headers: &HeaderMap,
    request: Value,
    act: impl FnOnce(&mut crate::Store) -> Result<Value, Response>,
) -> Response {
    let key = match crate::idempotency_key(headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((status, body)) = key
        .as_ref()
        .and_then(|k| faults::replay(store.idempotent.get(k), &request))
    {
        return (status, Json(body)).into_response();
    }
    store
        .requests
        .push(json!({ "endpoint": request[0], "params": request[1] }));
    match act(&mut store) {
        Ok(body) => {
            if let Some(k) = key {
                let saved = faults::Saved {
                    request,
                    status: 200,
                    body: body.clone(),
                };
                store.idempotent.insert(k, saved);
            }
            Json(body).into_response()
        }
        Err(r) => r,
    }
}

pub(crate) async fn create(State(s): State<StandIn>, headers: HeaderMap, body: String) -> Response {
    if !s.authorised(&headers) {
        return unauthorised();
    }
    let pairs = match form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let allowed = [
        "amount",
        "currency",
        "destination",
        "source_transaction",
        "transfer_group",
        "description",
        "source_type",
    ];
    let (p, metadata) = match params(&pairs, &allowed) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let amount = match positive(&p, "amount") {
        Ok(Some(a)) => a,
        Ok(None) => return missing("amount"),
        Err(r) => return r,
    };
    let (Some(currency), Some(destination)) = (p.get("currency").cloned(), p.get("destination").cloned()) else {
        return missing(if p.contains_key("currency") {
            "destination"
        } else {
            "currency"
        });
    };
    let request = json!(["transfer", pairs]);
    idempotent(&s, &headers, request, |store| {
        if !store.accounts.contains_key(&destination) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "resource_missing",
                Some("destination"),
                format!("No such destination: '{destination}'"),
            ));
        }
        match p.get("source_transaction") {
            Some(ch) => {
                let Some(charge) = store.charges.values().find(|c| c["id"] == json!(ch)) else {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "resource_missing",
                        Some("source_transaction"),
                        format!("No such charge: '{ch}'"),
                    ));
                };
                if charge["currency"] != json!(currency) {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "parameter_invalid",
                        Some("currency"),
                        format!(
                            "The currency of source_transaction's balance transaction ({}) must be the same as the transfer currency ({currency}).",
                            charge["currency"].as_str().unwrap_or("")
                        ),
                    ));
                }
                let already: i64 = store
                    .transfers
                    .values()
                    .filter(|t| t["source_transaction"] == json!(ch))
                    .filter_map(|t| t["amount"].as_i64())
                    .sum();
                let room = charge["amount"].as_i64().unwrap_or(0) - already;
                if amount > room {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "balance_insufficient",
                        Some("amount"),
                        format!("Insufficient funds in the source transaction: {room} left to transfer."),
                    ));
                }
            }
            None if available(store, &currency) < amount => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "balance_insufficient",
                    None,
                    "Insufficient funds in Stripe account.".into(),
                ));
            }
            None => {}
        }
        let id = new_id("tr");
        let txn = s.record_balance(
            store,
            Movement {
                kind: "transfer",
                reporting_category: "transfer",
                amount: -amount,
                fee: 0,
                currency: &currency,
                source: &id,
                description: p.get("description").map(String::as_str),
            },
        );
        let mut t = (*s.transfer_template).clone();
        for (k, v) in [
            ("id", json!(id)),
            ("amount", json!(amount)),
            ("amount_reversed", json!(0)),
            ("balance_transaction", json!(txn)),
            ("created", json!(now())),
            ("currency", json!(currency)),
            ("description", json!(p.get("description"))),
            ("destination", json!(destination)),
            ("destination_payment", json!(new_id("py"))),
            ("metadata", json!(metadata)),
            ("reversed", json!(false)),
            ("source_transaction", json!(p.get("source_transaction"))),
            ("transfer_group", json!(p.get("transfer_group"))),
            (
                "reversals",
                json!({ "object": "list", "data": [], "has_more": false, "total_count": 0, "url": format!("/v1/transfers/{id}/reversals") }),
            ),
        ] {
            t[k] = v;
        }
        *store.accounts.entry(destination.clone()).or_default() += amount;
        store.transfers.insert(id, t.clone());
        Ok(t)
    })
}

pub(crate) async fn reverse(
    State(s): State<StandIn>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    if !s.authorised(&headers) {
        return unauthorised();
    }
    let pairs = match form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (p, metadata) = match params(&pairs, &["amount", "description", "refund_application_fee"]) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let wanted = match positive(&p, "amount") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let request = json!(["reversal", [id.clone(), pairs]]);
    idempotent(&s, &headers, request, |store| {
        let Some(transfer) = store.transfers.get(&id).cloned() else {
            return Err(stripe_error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                &format!("No such transfer: '{id}'"),
            ));
        };
        let left = transfer["amount"].as_i64().unwrap_or(0) - transfer["amount_reversed"].as_i64().unwrap_or(0);
        let amount = wanted.unwrap_or(left);
        if left <= 0 || amount > left {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "parameter_invalid",
                Some("amount"),
                format!("Transfer {id} has {left} left to reverse; {amount} is more."),
            ));
        }
        let destination = transfer["destination"].as_str().unwrap_or_default().to_string();
        let balance = store.accounts.get(&destination).copied().unwrap_or(0);
        if balance < amount {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "balance_insufficient",
                Some("amount"),
                format!(
                    "The destination account {destination} has {balance} available, not enough to reverse {amount}."
                ),
            ));
        }
        let currency = transfer["currency"].as_str().unwrap_or_default().to_string();
        let rid = new_id("trr");
        let txn = s.record_balance(
            store,
            Movement {
                kind: "transfer_refund",
                reporting_category: "transfer_reversal",
                amount,
                fee: 0,
                currency: &currency,
                source: &rid,
                description: p.get("description").map(String::as_str),
            },
        );
        let mut r = (*s.reversal_template).clone();
        for (k, v) in [
            ("id", json!(rid)),
            ("amount", json!(amount)),
            ("balance_transaction", json!(txn)),
            ("created", json!(now())),
            ("currency", json!(currency)),
            ("metadata", json!(metadata)),
            ("transfer", json!(id)),
        ] {
            r[k] = v;
        }
        *store.accounts.entry(destination).or_default() -= amount;
        if let Some(t) = store.transfers.get_mut(&id) {
            let reversed = t["amount_reversed"].as_i64().unwrap_or(0) + amount;
            t["amount_reversed"] = json!(reversed);
            t["reversed"] = json!(reversed == t["amount"].as_i64().unwrap_or(0));
            if let Some(list) = t["reversals"]["data"].as_array_mut() {
                list.insert(0, r.clone());
            }
            t["reversals"]["total_count"] = json!(t["reversals"]["data"].as_array().map_or(0, Vec::len));
        }
        store.reversals.push(r.clone());
        Ok(r)
    })
}

pub(crate) async fn list(State(s): State<StandIn>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if !s.authorised(&headers) {
        return unauthorised();
    }
    let q = match list_query(raw.as_deref(), &["transfer_group", "destination"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    let mut all: Vec<Value> = store
        .transfers
        .values()
        .filter(|t| q.keeps(t, str::to_string))
        .cloned()
        .collect();
    all.sort_by(|a, b| (b["created"].as_i64(), b["id"].as_str()).cmp(&(a["created"].as_i64(), a["id"].as_str())));
    q.page(all, "/v1/transfers")
}

pub(crate) async fn retrieve(State(s): State<StandIn>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !s.authorised(&headers) {
        return unauthorised();
    }
    match s.store.lock().unwrap_or_else(|e| e.into_inner()).transfers.get(&id) {
        Some(t) => Json(t.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such transfer: '{id}'"),
        ),
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct NewAccount {
    id: Option<String>,
}

/// `POST /__control/accounts` `{id?}`: a connected account (as if onboarded), balance 0.
pub(crate) async fn open_account(State(s): State<StandIn>, body: Option<Json<NewAccount>>) -> Json<Value> {
    let id = body
        .and_then(|b| b.0.id)
        .unwrap_or_else(|| new_id("acct").replace("acct_", "acct_1"));
    s.store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .accounts
        .entry(id.clone())
        .or_default();
    Json(json!({ "id": id, "balance": 0 }))
}

/// `GET /__control/accounts/{id}`: its balance.
pub(crate) async fn account(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    match s.store.lock().unwrap_or_else(|e| e.into_inner()).accounts.get(&id) {
        Some(b) => Json(json!({ "id": id, "balance": b })).into_response(),
        None => stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "No such account"),
    }
}

/// `POST /__control/accounts/{id}/payout`: the account's balance goes to its bank.
pub(crate) async fn payout(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    match store.accounts.get_mut(&id) {
        Some(b) => {
            let paid = std::mem::take(b);
            Json(json!({ "id": id, "paid_out": paid, "balance": 0 })).into_response()
        }
        None => stripe_error(StatusCode::NOT_FOUND, "invalid_request_error", "No such account"),
    }
}
