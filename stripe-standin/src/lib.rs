//! A local stand-in for the few Stripe endpoints the checkout function calls, for development and
//! tests only (never shipped). It speaks Stripe's protocol — form-encoded requests, Bearer keys,
//! JSON objects shaped like Stripe's published fixtures, Stripe's error shape — and, like
//! `stripe trigger` against real Stripe, control endpoints make a session paid or expired and
//! deliver the event to a webhook URL, signed as Stripe signs (`Stripe-Signature: t=…,v1=…`).
//!
//! - `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`,
//!   `POST /v1/checkout/sessions/{id}/expire`
//! - `POST /__control/checkout/sessions/{id}/pay|expire` `{webhook_url?, email?}`; with a delayed
//!   payment method, `process` (completed, unpaid) then `succeed` or `fail`
//!   (`deliver: false` withholds the event, as when the function is down)
//! - `POST /__control/events/{id}/resend` `{webhook_url?}`: deliver an event again, or late
//! - `POST /__control/faults` `{faults: [{status?, delay_ms?, stall_ms?}], repeat?}`: the next
//!   create calls answer 429/5xx without acting, act and answer late, or stall before acting
//!   (see [`faults`])
//! - `POST /__control/webhooks` `{withhold?: bool, url?}`: stop (or resume) delivering events,
//!   or send them to `url`
//! - `POST /v1/refunds`, `GET /v1/refunds`, `POST /__control/payment_intents/{pi}/dispute`,
//!   `POST /__control/disputes/{id}/close`: after the sale (see `refunds`)
//! - `GET /v1/balance_transactions`, `GET /v1/charges?payment_intent=`: the money's movements,
//!   with Stripe's fees (see `balance`)
//! - `POST /v1/transfers`, `POST /v1/transfers/{id}/reversals`, `GET /v1/transfers`, and
//!   connected accounts made by `POST /__control/accounts`: Connect (see `connect`)
//! - `GET /__control/events`: every event made so far (`id`, `type`), to resend one
//! - `GET /pay/{id}`: a tiny hosted-checkout page; its button pays and follows `success_url`.
//!
//! Like Stripe, sessions expire by themselves at `expires_at` (and the expired event is sent):
//! [`StandIn::spawn_expiry`] sweeps them every half second.

pub mod balance;
mod connect;
mod control;
pub mod faults;
pub mod params;
mod pay;
mod refunds;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Config {
    pub api_key: String,
    pub webhook_secret: String,
    /// Where events go when a control call names no URL.
    pub webhook_url: Option<String>,
    /// This server's own base URL, for the hosted page links.
    pub base_url: String,
}

#[derive(Debug, Default)]
struct Store {
    sessions: HashMap<String, Value>,
    events: HashMap<String, Value>,
    /// Calls received, by endpoint: tests can assert what the function asked for.
    requests: Vec<Value>,
    /// First responses by `Idempotency-Key`.
    idempotent: HashMap<String, faults::Saved>,
    faults: faults::Plan,
    /// Events are recorded but not delivered (the receiver is "down").
    withhold: bool,
    /// Where events go, when a control call set it (else the configured URL).
    webhook_url: Option<String>,
    /// The charge of each paid session, by PaymentIntent.
    charges: HashMap<String, Value>,
    refunds: Vec<Value>,
    disputes: HashMap<String, Value>,
    /// Every balance transaction, oldest first.
    balance: Vec<Value>,
    transfers: HashMap<String, Value>,
    reversals: Vec<Value>,
    /// Connected accounts and their balances (one currency: the market's).
    accounts: HashMap<String, i64>,
}

#[derive(Clone, Debug)]
pub struct StandIn {
    config: Config,
    store: Arc<Mutex<Store>>,
    http: reqwest::Client,
    session_template: Arc<Value>,
    event_template: Arc<Value>,
    charge_template: Arc<Value>,
    refund_template: Arc<Value>,
    dispute_template: Arc<Value>,
    balance_template: Arc<Value>,
    transfer_template: Arc<Value>,
    reversal_template: Arc<Value>,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `prefix_` + 24 random base62 characters, like Stripe's ids.
pub(crate) fn new_id(prefix: &str) -> String {
    const ALPHA: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    let tail: String = bytes
        .iter()
        .map(|b| char::from(ALPHA[usize::from(*b) % ALPHA.len()]))
        .collect();
    format!("{prefix}_{tail}")
}

/// The `Stripe-Signature` header Stripe sends with an event body.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={sig}")
}

pub(crate) fn stripe_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "type": kind, "message": message } }))).into_response()
}

impl StandIn {
    pub fn new(config: Config) -> StandIn {
        let parse = |s: &str| Arc::new(serde_json::from_str::<Value>(s).expect("embedded fixture is JSON"));
        StandIn {
            config,
            store: Arc::default(),
            http: reqwest::Client::new(),
            session_template: parse(include_str!("fixtures/checkout.session.json")),
            event_template: parse(include_str!("fixtures/event.json")),
            charge_template: parse(include_str!("fixtures/charge.json")),
            refund_template: parse(include_str!("fixtures/refund.json")),
            dispute_template: parse(include_str!("fixtures/dispute.json")),
            balance_template: parse(include_str!("fixtures/balance_transaction.json")),
            transfer_template: parse(include_str!("fixtures/transfer.json")),
            reversal_template: parse(include_str!("fixtures/transfer_reversal.json")),
        }
    }

    /// Expires open sessions whose `expires_at` has passed, as Stripe does, and sends their
    /// `checkout.session.expired` events. Needs a Tokio runtime.
    pub fn spawn_expiry(&self) {
        let s = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                for event in s.expire_due(now()) {
                    if let Some(url) = s.target() {
                        let _ = s.deliver(&event, &url).await;
                    }
                }
            }
        });
    }

    /// The events of the sessions that expired by time at `at`.
    fn expire_due(&self, at: i64) -> Vec<Value> {
        let due: Vec<String> = {
            let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            store
                .sessions
                .iter()
                .filter(|(_, s)| s["status"] == "open" && s["expires_at"].as_i64().is_some_and(|t| t <= at))
                .map(|(id, _)| id.clone())
                .collect()
        };
        due.iter()
            .filter_map(|id| self.transition(id, "expire", &Shopper::default()).ok())
            .collect()
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/checkout/sessions", post(create))
            .route("/v1/checkout/sessions/{id}", get(retrieve))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_api))
            .route("/__control/checkout/sessions/{id}/{action}", post(control::control))
            .route("/__control/events/{id}/resend", post(control::resend))
            .route("/__control/faults", post(control::plan_faults))
            .route("/__control/webhooks", post(control::withhold))
            .route("/v1/refunds", post(refunds::create).get(refunds::list))
            .route("/__control/payment_intents/{pi}/dispute", post(refunds::open_dispute))
            .route("/__control/disputes/{id}/close", post(refunds::close_dispute))
            .route("/v1/balance_transactions", get(balance::list))
            .route("/v1/balance_transactions/{id}", get(balance::retrieve))
            .route("/v1/charges", get(balance::charges))
            .route("/v1/charges/{id}", get(balance::charge))
            .route("/v1/transfers", post(connect::create).get(connect::list))
            .route("/v1/transfers/{id}", get(connect::retrieve))
            .route("/v1/transfers/{id}/reversals", post(connect::reverse))
            .route("/__control/accounts", post(connect::open_account))
            .route("/__control/accounts/{id}", get(connect::account))
            .route("/__control/accounts/{id}/payout", post(connect::payout))
            .route("/__control/requests", get(control::requests))
            .route("/__control/events", get(control::events))
            .route("/pay/{id}", get(pay::page).post(pay::form))
            .with_state(self)
    }

    pub(crate) fn authorised(&self, headers: &HeaderMap) -> bool {
        let expected = format!("Bearer {}", self.config.api_key);
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes())
    }

    /// Where events go now: the URL a control call set, else the configured one.
    fn target(&self) -> Option<String> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.webhook_url.clone().or_else(|| self.config.webhook_url.clone())
    }

    /// Keeps an event (for `resend`) and delivers it where events go; returns what the
    /// receiver answered (or why not).
    pub(crate) async fn record_and_deliver(&self, event: Value) -> Value {
        let id = event["id"].as_str().unwrap_or_default().to_string();
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .insert(id, event.clone());
        match self.target() {
            Some(url) => match self.deliver(&event, &url).await {
                Ok(code) => json!(code),
                Err(e) => json!(e),
            },
            None => Value::Null,
        }
    }

    pub(crate) fn event(&self, kind: &str, object: Value) -> Value {
        let mut e = (*self.event_template).clone();
        e["id"] = json!(new_id("evt"));
        e["type"] = json!(kind);
        e["created"] = json!(now());
        // The API version the pinned async-stripe release was generated for.
        e["api_version"] = json!("2026-09-30.endive");
        e["data"] = json!({ "object": object });
        e["pending_webhooks"] = json!(1);
        e
    }

    /// Signs and POSTs an event; returns the receiver's status code.
    async fn deliver(&self, event: &Value, url: &str) -> Result<u16, String> {
        if self.store.lock().unwrap_or_else(|e| e.into_inner()).withhold {
            return Err("withheld".into());
        }
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let signature = sign(&self.config.webhook_secret, now(), &body);
        let resp = self
            .http
            .post(url)
            .header("Stripe-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }

    /// Moves a session to `complete` (paid) or `expired`; returns the event, or why not.
    fn transition(&self, id: &str, action: &str, shopper: &Shopper) -> Result<Value, Box<Response>> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let Some(session) = store.sessions.get_mut(id) else {
            return Err(Box::new(stripe_error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                &format!("No such checkout.session: '{id}'"),
            )));
        };
        // A session past its `expires_at` can no longer be paid (the sweeper may not have run).
        if action == "pay" && session["status"] == "open" && session["expires_at"].as_i64().is_some_and(|t| t <= now())
        {
            return Err(Box::new(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "This Checkout Session has expired.",
            )));
        }
        // A delayed payment method (SEPA debit…) completes the session unpaid; it settles later.
        let settling = matches!(action, "succeed" | "fail");
        if settling && !(session["status"] == "complete" && session["payment_status"] == "unpaid") {
            return Err(Box::new(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "Only completed, unpaid Checkout Sessions can settle.",
            )));
        }
        if !settling && session["status"] != "open" {
            return Err(Box::new(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "Only Checkout Sessions with a status of open can be changed.",
            )));
        }
        let mut store_charge = None;
        let kind = match action {
            "process" => {
                complete(session, shopper, "unpaid")?;
                "checkout.session.completed"
            }
            "succeed" => {
                session["payment_status"] = json!("paid");
                let pi = session["payment_intent"].as_str().unwrap_or_default().to_string();
                store_charge = Some((pi.clone(), refunds::charge_for(&self.charge_template, session, &pi)));
                "checkout.session.async_payment_succeeded"
            }
            "fail" => "checkout.session.async_payment_failed",
            "pay" => {
                let pi = complete(session, shopper, "paid")?;
                store_charge = Some((pi.clone(), refunds::charge_for(&self.charge_template, session, &pi)));
                "checkout.session.completed"
            }
            _ => {
                session["status"] = json!("expired");
                "checkout.session.expired"
            }
        };
        let object = session.clone();
        let event = self.event(kind, object);
        if let Some((pi, mut charge)) = store_charge {
            let amount = charge["amount"].as_i64().unwrap_or(0);
            if amount > 0 {
                let currency = charge["currency"].as_str().unwrap_or_default().to_string();
                let source = charge["id"].as_str().unwrap_or_default().to_string();
                let movement = balance::Movement {
                    kind: "charge",
                    reporting_category: "charge",
                    amount,
                    fee: balance::card_fee(amount),
                    currency: &currency,
                    source: &source,
                    description: None,
                };
                charge["balance_transaction"] = json!(self.record_balance(&mut store, movement));
            }
            store.charges.insert(pi, charge);
        }
        store
            .events
            .insert(event["id"].as_str().unwrap_or_default().to_string(), event.clone());
        Ok(event)
    }
}

/// What the shopper typed on the payment page (or a test sent to the pay control).
#[derive(serde::Deserialize, Default, Debug, Clone)]
pub struct Shopper {
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// `{line1, line2?, postal_code, city, country}` when the session collects a shipping address.
    pub address: Option<Value>,
}

/// Completes a session as the shopper's payment does: its PaymentIntent (returned), payment
/// status, the customer's details, and the shipping details when the session collects them
/// (`collected_information.shipping_details`, in the pinned API version's shape).
fn complete(session: &mut Value, shopper: &Shopper, payment_status: &str) -> Result<String, Box<Response>> {
    let allowed: Vec<String> = session["shipping_address_collection"]["allowed_countries"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let name = shopper.name.clone().unwrap_or_else(|| "Client Test".into());
    if !allowed.is_empty() {
        let address = shopper.address.clone().unwrap_or_else(
            || json!({ "line1": "Rue Léopold 1", "postal_code": "4000", "city": "Liège", "country": allowed[0] }),
        );
        let country = address["country"].as_str().unwrap_or_default();
        if !allowed.iter().any(|c| c == country) || address["line1"].as_str().is_none_or(str::is_empty) {
            return Err(Box::new(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "The shipping address is incomplete or outside the allowed countries.",
            )));
        }
        let mut full =
            json!({ "city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null });
        for k in ["city", "country", "line1", "line2", "postal_code", "state"] {
            if let Some(v) = address.get(k).filter(|v| !v.is_null()) {
                full[k] = v.clone();
            }
        }
        session["collected_information"] = json!({ "shipping_details": { "name": name, "address": full } });
    }
    let phone_required = session["phone_number_collection"]["enabled"] == true;
    if phone_required && shopper.phone.as_deref().is_some_and(str::is_empty) {
        return Err(Box::new(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "A phone number is required.",
        )));
    }
    let pi = new_id("pi");
    session["status"] = json!("complete");
    session["payment_status"] = json!(payment_status);
    session["payment_intent"] = json!(pi);
    let email = shopper
        .email
        .clone()
        .or_else(|| session["customer_email"].as_str().map(str::to_string));
    let phone = phone_required.then(|| shopper.phone.clone().unwrap_or_else(|| "+32 470 00 00 00".into()));
    session["customer_details"] = json!({
        "email": email.unwrap_or_else(|| "client@example.com".into()),
        "name": name,
        "phone": phone,
        "address": null,
        "tax_exempt": "none",
        "tax_ids": null
    });
    Ok(pi)
}

async fn create(State(s): State<StandIn>, headers: HeaderMap, body: String) -> Response {
    if !s.authorised(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
        );
    }
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(&body) {
        Ok(p) => p,
        Err(_) => return stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", "Invalid form body"),
    };
    let key = match idempotency_key(&headers) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let request = json!(["create", pairs]);
    let fault = s.store.lock().unwrap_or_else(|e| e.into_inner()).faults.take();
    if let Some(ms) = fault.as_ref().and_then(|f| f.stall_ms) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    {
        let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((status, body)) = key
            .as_ref()
            .and_then(|k| faults::replay(store.idempotent.get(k), &request))
        {
            store
                .requests
                .push(json!({ "endpoint": "create", "params": pairs, "replayed": true }));
            return (status, Json(body)).into_response();
        }
    }
    if let Some(code) = fault.as_ref().and_then(|f| f.status) {
        let (status, body) = faults::error_for(code);
        let record = json!({ "endpoint": "create", "params": pairs, "refused": code });
        s.store.lock().unwrap_or_else(|e| e.into_inner()).requests.push(record);
        return (status, Json(body)).into_response();
    }
    let (outcome, session_id) = match params::parse(&pairs, now()) {
        Ok(p) => {
            let id = new_id("cs_test");
            let session = params::session_object(&s.session_template, &id, &p, &s.config.base_url, now());
            let mut store = s.store.lock().unwrap_or_else(|e| e.into_inner());
            store.sessions.insert(id.clone(), session.clone());
            if let Some(k) = key {
                let saved = faults::Saved {
                    request,
                    status: 200,
                    body: session.clone(),
                };
                store.idempotent.insert(k, saved);
            }
            (Json(session).into_response(), Some(id))
        }
        // Failed validation is not saved under the key: the caller may fix and retry.
        Err(e) => ((StatusCode::BAD_REQUEST, Json(e.to_json())).into_response(), None),
    };
    // Each call with the session it produced, so a test can find its own among parallel ones.
    let record = json!({ "endpoint": "create", "params": pairs, "session": session_id });
    s.store.lock().unwrap_or_else(|e| e.into_inner()).requests.push(record);
    if let Some(ms) = fault.and_then(|f| f.delay_ms) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    outcome
}

/// The `Idempotency-Key` header, if any; Stripe refuses keys over 255 characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Box<Response>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(k.to_string())),
        _ => Err(Box::new(stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Idempotency keys must be 1 to 255 characters.",
        ))),
    }
}

async fn retrieve(State(s): State<StandIn>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !s.authorised(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
        );
    }
    match s.store.lock().unwrap_or_else(|e| e.into_inner()).sessions.get(&id) {
        Some(session) => Json(session.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such checkout.session: '{id}'"),
        ),
    }
}

async fn expire_api(State(s): State<StandIn>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !s.authorised(&headers) {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided.",
        );
    }
    match s.transition(&id, "expire", &Shopper::default()) {
        Ok(event) => {
            if let Some(url) = s.target() {
                let _ = s.deliver(&event, &url).await;
            }
            Json(event["data"]["object"].clone()).into_response()
        }
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standin() -> StandIn {
        StandIn::new(Config {
            api_key: "sk".into(),
            webhook_secret: "whsec".into(),
            webhook_url: None,
            base_url: "http://127.0.0.1:1".into(),
        })
    }

    #[test]
    fn sessions_expire_by_themselves_at_expires_at_and_cannot_be_paid_after() {
        let s = standin();
        {
            let mut store = s.store.lock().expect("lock");
            for (id, expires_at) in [("cs_due", 1_000), ("cs_later", 5_000)] {
                let session = json!({ "id": id, "status": "open", "expires_at": expires_at });
                store.sessions.insert(id.into(), session);
            }
        }
        let events = s.expire_due(2_000);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["type"], "checkout.session.expired");
        assert_eq!(events[0]["data"]["object"]["id"], "cs_due");
        let store = s.store.lock().expect("lock");
        assert_eq!(store.sessions["cs_due"]["status"], "expired");
        assert_eq!(store.sessions["cs_later"]["status"], "open");
        drop(store);
        assert!(
            s.transition("cs_due", "pay", &Shopper::default()).is_err(),
            "an expired session cannot be paid"
        );
        // Past its expiry but not swept yet: refused all the same.
        s.store.lock().expect("lock").sessions.insert(
            "cs_stale".into(),
            json!({ "id": "cs_stale", "status": "open", "expires_at": 1 }),
        );
        assert!(s.transition("cs_stale", "pay", &Shopper::default()).is_err());
    }
}
