//! The platform's balance as Stripe reports it: a balance transaction for every movement of money
//! (a charge and its fee, a refund, a transfer to a connected account, a transfer's reversal),
//! `GET /v1/balance_transactions` and `/{id}`, and the charges they come from
//! (`GET /v1/charges?payment_intent=`, `/v1/charges/{id}`).
//!
//! As Stripe documents them ("List all balance transactions", "The balance transaction object"):
//! newest first; `created[gt|gte|lt|lte]`, `type`, `source`, `currency`, `payout`, `limit` (1–100,
//! default 10), `starting_after`/`ending_before` cursors, `expand[]=data.source`; anything else is
//! an unknown parameter. Fees are Stripe's standard EEA card price, 1.5 % + €0.25 a charge
//! ("Pricing updates for businesses based in the EEA", support.stripe.com); a refund's fee is 0
//! (Stripe keeps the fee of a refunded payment); a dispute is an `adjustment` of minus its amount
//! with the €20 dispute fee, and a won one gives the amount back.

// A refusal here is the HTTP answer itself, handed straight back by the handler: boxing it
// would only add derefs to a dev-only server.
#![allow(clippy::result_large_err)]

use crate::{StandIn, Store, new_id, now, stripe_error};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Stripe's fee on a card charge of `amount` cents: 1.5 % (rounded to the cent) + 25.
pub fn card_fee(amount: i64) -> i64 {
    (amount * 15 + 500) / 1000 + 25
}

/// How long a card payment stays pending before it is available (Stripe's standard for a new
/// Belgian account is 7 days; the exact figure does not matter to the function).
const PENDING_SECONDS: i64 = 7 * 86_400;

/// What one movement of money is, in Stripe's words.
pub(crate) struct Movement<'a> {
    pub kind: &'a str,
    pub reporting_category: &'a str,
    pub amount: i64,
    pub fee: i64,
    pub currency: &'a str,
    pub source: &'a str,
    pub description: Option<&'a str>,
}

impl StandIn {
    /// Records a balance transaction; returns its id.
    pub(crate) fn record_balance(&self, store: &mut Store, m: Movement<'_>) -> String {
        let mut t = (*self.balance_template).clone();
        let id = new_id("txn");
        let created = now();
        let pending = m.kind == "charge";
        let fee_details = if m.fee == 0 {
            json!([])
        } else {
            json!([{ "amount": m.fee, "application": null, "currency": m.currency, "description": "Stripe processing fees", "type": "stripe_fee" }])
        };
        for (k, v) in [
            ("id", json!(id)),
            ("amount", json!(m.amount)),
            ("fee", json!(m.fee)),
            ("fee_details", fee_details),
            ("net", json!(m.amount - m.fee)),
            ("currency", json!(m.currency)),
            ("created", json!(created)),
            (
                "available_on",
                json!(if pending { created + PENDING_SECONDS } else { created }),
            ),
            ("status", json!(if pending { "pending" } else { "available" })),
            ("type", json!(m.kind)),
            ("reporting_category", json!(m.reporting_category)),
            ("source", json!(m.source)),
            ("description", json!(m.description)),
        ] {
            t[k] = v;
        }
        store.balance.push(t);
        id
    }
}

/// The platform's available balance in `currency`: what a transfer without a source charge
/// draws on.
pub(crate) fn available(store: &Store, currency: &str) -> i64 {
    store
        .balance
        .iter()
        .filter(|t| t["currency"] == currency && t["status"] == "available")
        .filter_map(|t| t["net"].as_i64())
        .sum()
}

fn unknown(param: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": { "type": "invalid_request_error", "code": "parameter_unknown", "param": param, "message": format!("Received unknown parameter: {param}") } })),
    )
        .into_response()
}

fn invalid(param: &str, message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": { "type": "invalid_request_error", "code": "parameter_invalid", "param": param, "message": message } })),
    )
        .into_response()
}

/// A list request's query: filters, page and expansions, checked as Stripe checks them.
pub(crate) struct ListQuery {
    pub filters: Vec<(String, String)>,
    pub limit: usize,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
    pub expand: Vec<String>,
}

/// Parses a list's query; `filters` names the filters this list takes (`created` is checked
/// for its four bounds).
pub(crate) fn list_query(raw: Option<&str>, filters: &[&str]) -> Result<ListQuery, Response> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or_default()).map_err(|_| invalid("query", "Invalid query".into()))?;
    let mut q = ListQuery {
        filters: Vec::new(),
        limit: 10,
        starting_after: None,
        ending_before: None,
        expand: Vec::new(),
    };
    for (k, v) in pairs {
        let base = k.split('[').next().unwrap_or_default();
        match base {
            "limit" => match v.parse::<usize>() {
                Ok(n @ 1..=100) => q.limit = n,
                _ => return Err(invalid("limit", format!("Invalid integer: {v}; limit is 1 to 100"))),
            },
            "starting_after" => q.starting_after = Some(v),
            "ending_before" => q.ending_before = Some(v),
            "expand" => q.expand.push(v),
            "created" => {
                let bound = k.strip_prefix("created");
                if !matches!(bound, Some("" | "[gt]" | "[gte]" | "[lt]" | "[lte]")) || v.parse::<i64>().is_err() {
                    return Err(invalid(&k, format!("Invalid timestamp filter: {k}={v}")));
                }
                q.filters.push((k, v));
            }
            f if filters.contains(&f) && f == k => q.filters.push((k, v)),
            _ => return Err(unknown(&k)),
        }
    }
    Ok(q)
}

impl ListQuery {
    /// Whether an object passes the `created` bounds and the other filters (each compared with
    /// the object's field of that name, or the name `field_of` maps it to).
    pub fn keeps(&self, o: &Value, field_of: impl Fn(&str) -> String) -> bool {
        self.filters.iter().all(|(k, v)| {
            let created = o["created"].as_i64().unwrap_or(0);
            let t = v.parse::<i64>().unwrap_or(0);
            match k.as_str() {
                "created" => created == t,
                "created[gt]" => created > t,
                "created[gte]" => created >= t,
                "created[lt]" => created < t,
                "created[lte]" => created <= t,
                _ => o[field_of(k).as_str()].as_str() == Some(v.as_str()),
            }
        })
    }

    /// One page of `all` (newest first), as Stripe's list object.
    pub fn page(&self, all: Vec<Value>, url: &str) -> Response {
        match self.slice(all) {
            Ok((items, has_more)) => {
                Json(json!({ "object": "list", "data": items, "has_more": has_more, "url": url })).into_response()
            }
            Err(r) => r,
        }
    }

    /// The page's objects and whether more follow.
    fn slice(&self, all: Vec<Value>) -> Result<(Vec<Value>, bool), Response> {
        let mut items = all;
        if let Some(after) = &self.starting_after {
            match items.iter().position(|o| o["id"] == json!(after)) {
                Some(i) => items.drain(..=i).for_each(drop),
                None => return Err(invalid("starting_after", format!("No such object: '{after}'"))),
            }
        }
        if let Some(before) = &self.ending_before {
            match items.iter().position(|o| o["id"] == json!(before)) {
                Some(i) => {
                    // The objects just newer than the cursor; `has_more`: newer ones still.
                    items.truncate(i);
                    let skip = items.len().saturating_sub(self.limit);
                    items.drain(..skip);
                    return Ok((items, skip > 0));
                }
                None => return Err(invalid("ending_before", format!("No such object: '{before}'"))),
            }
        }
        let has_more = items.len() > self.limit;
        items.truncate(self.limit);
        Ok((items, has_more))
    }
}

/// Newest first: Stripe's list order (ties broken by when they were recorded).
fn newest_first(mut v: Vec<Value>) -> Vec<Value> {
    v.reverse();
    v.sort_by_key(|o| std::cmp::Reverse(o["created"].as_i64().unwrap_or(0)));
    v
}

/// The object a balance transaction's `source` names.
fn source_object(store: &Store, id: &str) -> Option<Value> {
    let by_id = |o: &&Value| o["id"] == json!(id);
    store
        .charges
        .values()
        .find(by_id)
        .or_else(|| store.refunds.iter().find(by_id))
        .or_else(|| store.transfers.values().find(by_id))
        .or_else(|| store.reversals.iter().find(by_id))
        .or_else(|| store.disputes.values().find(by_id))
        .cloned()
}

fn refuse_key(s: &StandIn, headers: &HeaderMap) -> Option<Response> {
    (!s.authorised(headers)).then(|| {
        stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
        )
    })
}

pub(crate) async fn list(State(s): State<StandIn>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Some(r) = refuse_key(&s, &headers) {
        return r;
    }
    let q = match list_query(raw.as_deref(), &["type", "source", "currency", "payout"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if let Some(bad) = q.expand.iter().find(|e| e.as_str() != "data.source") {
        return invalid("expand", format!("This property cannot be expanded ({bad})."));
    }
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    let mut all: Vec<Value> = store
        .balance
        .iter()
        .filter(|t| q.keeps(t, |k| if k == "payout" { "__payout".into() } else { k.into() }))
        .cloned()
        .collect();
    if !q.expand.is_empty() {
        for t in &mut all {
            if let Some(o) = t["source"].as_str().and_then(|id| source_object(&store, id)) {
                t["source"] = o;
            }
        }
    }
    q.page(newest_first(all), "/v1/balance_transactions")
}

pub(crate) async fn retrieve(State(s): State<StandIn>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = refuse_key(&s, &headers) {
        return r;
    }
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    match store.balance.iter().find(|t| t["id"] == json!(id)) {
        Some(t) => Json(t.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such balance transaction: '{id}'"),
        ),
    }
}

fn expand_balance(store: &Store, charge: &mut Value, expand: &[String], prefix: &str) -> Result<(), Response> {
    for e in expand {
        if e.strip_prefix(prefix) != Some("balance_transaction") {
            return Err(invalid("expand", format!("This property cannot be expanded ({e}).")));
        }
        let id = charge["balance_transaction"].clone();
        if let Some(t) = store.balance.iter().find(|t| t["id"] == id) {
            charge["balance_transaction"] = t.clone();
        }
    }
    Ok(())
}

pub(crate) async fn charges(State(s): State<StandIn>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    if let Some(r) = refuse_key(&s, &headers) {
        return r;
    }
    let q = match list_query(raw.as_deref(), &["payment_intent", "customer", "transfer_group"]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    let mut all = Vec::new();
    for c in store.charges.values().filter(|c| q.keeps(c, str::to_string)) {
        let mut c = c.clone();
        if let Err(r) = expand_balance(&store, &mut c, &q.expand, "data.") {
            return r;
        }
        all.push(c);
    }
    q.page(newest_first(all), "/v1/charges")
}

pub(crate) async fn charge(
    State(s): State<StandIn>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(r) = refuse_key(&s, &headers) {
        return r;
    }
    let q = match list_query(raw.as_deref(), &[]) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let store = s.store.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut c) = store.charges.values().find(|c| c["id"] == json!(id)).cloned() else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such charge: '{id}'"),
        );
    };
    match expand_balance(&store, &mut c, &q.expand, "") {
        Ok(()) => Json(c).into_response(),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_fee_is_one_and_a_half_percent_and_25_cents_rounded_to_the_cent() {
        assert_eq!(card_fee(10_000), 175);
        assert_eq!(card_fee(1_000), 40);
        // 1.5 % of 2,990 is 44.85 → 45.
        assert_eq!(card_fee(2_990), 70);
        assert_eq!(card_fee(3), 25);
    }

    #[test]
    fn list_queries_refuse_what_stripe_refuses() {
        assert!(list_query(Some("limit=0"), &[]).is_err());
        assert!(list_query(Some("limit=101"), &[]).is_err());
        assert!(list_query(Some("created[after]=1"), &[]).is_err());
        assert!(list_query(Some("colour=red"), &["type"]).is_err());
        let q = list_query(Some("created[gte]=10&created[lt]=20&type=charge&limit=2"), &["type"]).expect("valid");
        assert_eq!(q.limit, 2);
        let keep = |created: i64, kind: &str| q.keeps(&json!({ "created": created, "type": kind }), str::to_string);
        assert!(keep(10, "charge"));
        assert!(!keep(20, "charge"));
        assert!(!keep(9, "charge"));
        assert!(!keep(15, "refund"));
    }

    #[test]
    fn pages_follow_the_cursor_newest_first() {
        let all = newest_first(
            (1..=5)
                .map(|i| json!({ "id": format!("o{i}"), "created": i }))
                .collect(),
        );
        let ids = |q: &str| {
            let (items, more) = list_query(Some(q), &[])
                .expect("valid")
                .slice(all.clone())
                .expect("a page");
            (
                items
                    .iter()
                    .map(|o| o["id"].as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>(),
                more,
            )
        };
        assert_eq!(ids("limit=2"), (vec!["o5".into(), "o4".into()], true));
        assert_eq!(ids("limit=2&starting_after=o4"), (vec!["o3".into(), "o2".into()], true));
        assert_eq!(ids("limit=2&starting_after=o2"), (vec!["o1".into()], false));
        assert_eq!(ids("limit=2&ending_before=o2"), (vec!["o4".into(), "o3".into()], true));
        assert!(
            list_query(Some("starting_after=nope"), &[])
                .expect("valid")
                .slice(all)
                .is_err()
        );
    }
}
