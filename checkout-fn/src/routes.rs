//! The HTTP handlers. Each reads its input defensively (size, content type, shape), calls the
//! store and Stripe, and answers JSON.

use crate::AppState;
use crate::basket;
use crate::dynamo::ReserveError;
use crate::error::{ApiError, chain};
use crate::payments::{self, Meta, NewSession, SessionKind, WebhookEvent, WebhookRejection};
use crate::settle::{self, Settled};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chalet_types::table::MAX_TRANSACTION_ACTIONS;
use chalet_types::{ErrorCode, Slug, routes};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Request bodies above this are refused (`413`).
pub const MAX_BODY: usize = 64 * 1024;
/// Stripe events can be larger than baskets.
pub const MAX_WEBHOOK_BODY: usize = 512 * 1024;

use crate::now;

/// Random hex of `bytes` bytes.
pub(crate) fn random_id(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS has randomness");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads the body up to `limit` bytes; JSON bodies must say so.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    json_only: bool,
) -> Result<Bytes, ApiError> {
    if json_only {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct
            .split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send the request as application/json",
            ));
        }
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("requests are limited to {} KB", limit / 1024),
        )
    };
    // Read up to a bounded excess before refusing: answering while the client is still sending
    // makes the connection reset, and the client would never see the 413.
    match axum::body::to_bytes(body, DRAIN_LIMIT).await {
        Ok(bytes) if bytes.len() <= limit => Ok(bytes),
        _ => Err(too_large()),
    }
}

/// How much of an oversized body is read (and dropped) so the 413 reaches the client.
const DRAIN_LIMIT: usize = 1024 * 1024;

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such endpoint")
}

/// `POST /checkout`: price, reserve, then open a Stripe Checkout Session.
pub async fn checkout(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, MAX_BODY, true).await?;
    let req = basket::parse(&bytes)?;
    let lines = basket::validate_shape(&req)?;
    // *Pay* pressed again for the same basket: the earlier session must not keep its stock too.
    if let Some(previous) = req.replaces.as_deref().filter(|r| is_reservation_id(r)) {
        match settle::cancel(&st, previous, false).await {
            Ok(done) => tracing::info!(outcome = ?done, "earlier reservation of this basket cancelled"),
            Err(e) => tracing::warn!(error = %chain(&e), "could not cancel the earlier reservation"),
        }
    }
    // Each SKU once: lines of a personalised product share one, and a batch read takes a key once.
    let skus: Vec<_> = basket::units_per_sku(lines.iter().map(|l| (&l.sku, l.quantity)))
        .into_iter()
        .map(|(sku, _)| sku)
        .collect();
    let (mut stocked, market) =
        tokio::try_join!(st.store.items(&skus), st.store.market()).map_err(ApiError::internal)?;
    let market = market.unwrap_or_default();
    let active: Vec<_> = stocked.iter().filter(|s| s.active).map(|s| s.item.clone()).collect();
    let mut priced = basket::price(&lines, &active, &req.fulfilment)?;
    basket::add_gift_notes(&mut priced, &req.gift_notes)?;
    let shipping_countries = basket::shipping_countries(&priced, &market.shipping_countries)?;
    // One transaction writes the reservation and moves every limited SKU's counters.
    let limited = skus
        .iter()
        .filter(|sku| {
            active
                .iter()
                .any(|i| i.sku == **sku && matches!(i.stock, chalet_types::Stock::Limited(_)))
        })
        .count();
    if limited + 1 > MAX_TRANSACTION_ACTIONS {
        return Err(ApiError::invalid(
            ErrorCode::TooManyLines,
            format!(
                "a basket holds at most {} different products with limited stock",
                MAX_TRANSACTION_ACTIONS - 1
            ),
        ));
    }
    let session_lines = payments::session_lines(&priced, market.language);
    if session_lines.len() > payments::MAX_SESSION_LINES {
        return Err(ApiError::invalid(
            ErrorCode::TooManyLines,
            format!(
                "with one shipping line per chalet that ships, this basket would need {} lines; Stripe takes at most {}",
                session_lines.len(),
                payments::MAX_SESSION_LINES
            ),
        ));
    }
    let email = req.email.as_deref().and_then(basket::valid_email);
    let client = client_key(&headers, &st.codes_key);
    let reservation_id = random_id(16);
    let mut attempt = 0;
    let t = loop {
        attempt += 1;
        let t = now();
        match st
            .store
            .reserve(&reservation_id, &priced, &stocked, t, client.as_deref())
            .await
        {
            Ok(_) => break t,
            Err(ReserveError::OutOfStock { sku, remaining, held }) => {
                let line = priced.lines.iter().find(|l| l.item.sku == sku);
                let asked: i64 = priced
                    .lines
                    .iter()
                    .filter(|l| l.item.sku == sku)
                    .map(|l| i64::from(l.quantity))
                    .sum::<i64>()
                    .max(1);
                // Units came back between the refused write and the re-read: try again.
                if remaining >= asked && attempt < 3 {
                    stocked = st.store.items(&skus).await.map_err(ApiError::internal)?;
                    continue;
                }
                return Err(out_of_stock(line, sku, remaining.min(asked - 1), held, t));
            }
            Err(ReserveError::Changed(sku)) => {
                return Err(ApiError::with(
                    StatusCode::CONFLICT,
                    ErrorCode::CatalogueChanged,
                    "this product changed while you were shopping; reload the page",
                    json!({ "sku": sku.to_string() }),
                ));
            }
            Err(ReserveError::TooManyOpen) => {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::TooManyReservations,
                    format!(
                        "you already have {} payments open: finish or cancel one (an abandoned one closes by itself within {} minutes)",
                        crate::dynamo::MAX_OPEN_PER_CLIENT,
                        payments::SESSION_MINUTES + 1
                    ),
                ));
            }
            Err(ReserveError::Store(e)) => return Err(ApiError::internal(e)),
        }
    };
    let site = &st.config.site_url;
    let new = NewSession {
        lines: session_lines,
        reference: &reservation_id,
        metadata: HashMap::from([
            (Meta::Kind.as_str().to_string(), SessionKind::Order.as_str().to_string()),
            (Meta::Reservation.as_str().to_string(), reservation_id.clone()),
        ]),
        success_url: routes::checkout_success_url(site),
        cancel_url: routes::checkout_cancel_url(site, &reservation_id),
        locale: req.locale.as_deref(),
        email: email.as_deref(),
        currency: market.currency,
        // An address only when something ships; a phone when goods are picked up (vouchers
        // are sent by e-mail), unless the market turned it off.
        shipping_countries,
        collect_phone: market.collect_phone
            && priced.chalets.iter().any(|c| {
                c.choice == chalet_types::FulfilmentChoice::Pickup
                    && priced
                        .lines
                        .iter()
                        .any(|l| l.item.chalet == c.chalet && l.item.kind != chalet_types::Kind::Voucher)
            }),
    };
    let key = format!("checkout-{reservation_id}");
    match st.stripe.create(new, &key).await {
        Ok(session) => {
            if let Err(e) = st.store.attach_session(&reservation_id, &session.id).await {
                // The reconciler releases it once any session for it must have expired.
                tracing::warn!(reservation = %reservation_id, error = %chain(&e), "could not note the session on its reservation");
            }
            tracing::info!(reservation = %reservation_id, lines = priced.lines.len(), total = priced.total.cents(), held_for = now() - t, "checkout session created");
            Ok(Json(
                json!({ "id": session.id, "url": session.url, "reservation": reservation_id }),
            ))
        }
        Err(e) => {
            tracing::error!(reservation = %reservation_id, error = %chain(&e), "no Checkout Session; releasing the stock");
            if let Err(release) = st.store.release(&reservation_id).await {
                tracing::error!(reservation = %reservation_id, error = %chain(&release), "could not release a reservation");
            }
            if e.refused_param() == Some("customer_email") {
                return Err(ApiError::invalid(
                    ErrorCode::InvalidEmail,
                    "the e-mail address is not valid",
                ));
            }
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::PaymentUnavailable,
                "payment is not available right now; please try again",
            ))
        }
    }
}

/// `409 out_of_stock`, telling sold units from units held in other baskets, which come back
/// when those sessions expire unpaid.
fn out_of_stock(
    line: Option<&basket::PricedLine>,
    sku: chalet_types::Sku,
    remaining: i64,
    held: i64,
    now: i64,
) -> ApiError {
    let name = line.map(|l| l.item.name.clone()).unwrap_or_default();
    let mut message = format!("only {} left of {name}", remaining.max(0));
    let mut details =
        json!({ "sku": sku.to_string(), "name": name, "remaining": remaining.max(0), "held": held.max(0) });
    if held > 0 {
        let back_by = payments::rfc3339(now + payments::SESSION_BOUND_SECONDS);
        message.push_str(&format!(
            "; {held} more are in other shoppers' baskets and come back by {back_by} if not paid"
        ));
        details["back_by"] = json!(back_by);
    }
    ApiError::with(StatusCode::CONFLICT, ErrorCode::OutOfStock, message, details)
}

/// Who is asking, for the cap on open reservations: the viewer's address CloudFront puts in
/// `True-Client-IP` (overwriting anything the client sent; `infra/template.yaml`), keyed so the
/// table never holds an address. No header (local development): no cap.
fn client_key(headers: &HeaderMap, key: &[u8]) -> Option<String> {
    use hmac::{Hmac, Mac};
    let ip: std::net::IpAddr = headers.get("true-client-ip")?.to_str().ok()?.trim().parse().ok()?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).ok()?;
    mac.update(format!("client\n{ip}").as_bytes());
    Some(chalet_types::hex(&mac.finalize().into_bytes()[..16]))
}

/// Reservation ids are 32 lowercase hex digits (`random_id(16)`).
fn is_reservation_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `POST /checkout/{reservation}/cancel`: the shopper came back from Stripe without paying. The
/// session is expired at Stripe (so it cannot be paid later) and the stock released at once.
/// Idempotent; the reservation id, like a session id, is the credential.
pub async fn cancel(State(st): State<AppState>, Path(reservation): Path<String>) -> Result<Json<Value>, ApiError> {
    if !is_reservation_id(&reservation) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::NotFound,
            "this is not a reservation reference",
        ));
    }
    let done = settle::cancel(&st, &reservation, false).await.map_err(|e| {
        tracing::error!(error = %chain(&e), "could not cancel a reservation");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            ErrorCode::PaymentUnavailable,
            "the payment service could not be reached; the basket is released when the payment page expires",
        )
    })?;
    let status = match done {
        Settled::Recorded | Settled::AlreadyRecorded => "paid",
        Settled::Open | Settled::Processing => "pending",
        _ => "released",
    };
    Ok(Json(json!({ "status": status })))
}

/// `POST /webhook`: Stripe's events, verified against the raw body. 2xx only once durable.
pub async fn webhook(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, MAX_WEBHOOK_BODY, false).await?;
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut verified = payments::verify(&bytes, signature, &st.webhook_secret.get());
    if verified.as_ref().is_err_and(|r| *r == WebhookRejection::BadSignature)
        && let Some(fresh) = st.webhook_secret.refresh().await
    {
        verified = payments::verify(&bytes, signature, &fresh);
    }
    let event = verified.map_err(|r| match r {
        WebhookRejection::BadSignature => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadSignature,
            "the event's signature is not valid",
        ),
        WebhookRejection::Malformed => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadEvent,
            "the event could not be read",
        ),
    })?;
    match event {
        WebhookEvent::Completed(session) | WebhookEvent::AsyncSucceeded(session)
            if SessionKind::of(&session.metadata) == SessionKind::Registration =>
        {
            if session.state != payments::SessionState::Paid {
                tracing::info!("registration paid with a delayed method: waiting for it to settle");
                return Ok(Json(json!({ "received": true })));
            }
            let details = json!({
                "session": session.id,
                "created": session.created,
                "chalet_name": session.metadata.get(Meta::ChaletName.as_str()),
                "artisan": session.metadata.get(Meta::Artisan.as_str()),
                "email": session.email,
            });
            st.store
                .record_registration(&session.id, &session.created, &details)
                .await
                .map_err(ApiError::internal)?;
            if let Some(application) = session.metadata.get(Meta::Application.as_str()) {
                let known = st
                    .store
                    .application_paid(application, &session.id)
                    .await
                    .map_err(ApiError::internal)?;
                if !known {
                    tracing::error!(application = %application, "a paid registration names an unknown application");
                }
            }
            tracing::info!("registration recorded");
        }
        WebhookEvent::Completed(session) | WebhookEvent::AsyncSucceeded(session) | WebhookEvent::Expired(session) => {
            let Some(reservation) = session.metadata.get(Meta::Reservation.as_str()) else {
                tracing::warn!(
                    kind = SessionKind::of(&session.metadata).as_str(),
                    "session event without a reservation: ignored"
                );
                return Ok(Json(json!({ "received": true })));
            };
            let outcome = settle::settle(&st, reservation, &session, false)
                .await
                .map_err(ApiError::internal)?;
            tracing::info!(reservation = %reservation, ?outcome, "session settled");
            if outcome == Settled::UnknownReservation {
                // A paid order must never be acknowledged unrecorded: Stripe retries a 5xx for
                // three days, long enough for someone to look.
                tracing::error!(reservation = %reservation, "paid session for a reservation that is not in the table");
                return Err(ApiError::internal("paid session without its reservation"));
            }
        }
        // After the sale: a 500 when it cannot be recorded, so Stripe delivers it again.
        WebhookEvent::Refunded { payment_intent } => {
            let outcome = crate::aftercare::record_refunds(&st, &payment_intent)
                .await
                .map_err(ApiError::internal)?;
            tracing::info!(?outcome, "refunds recorded");
        }
        WebhookEvent::Dispute(dispute) => {
            let outcome = crate::aftercare::record_dispute(&st, &dispute)
                .await
                .map_err(ApiError::internal)?;
            tracing::info!(?outcome, status = %dispute.status, "dispute recorded");
        }
        WebhookEvent::Other(kind) => tracing::info!(kind = %kind, "event ignored"),
    }
    Ok(Json(json!({ "received": true })))
}

/// `GET /orders/{session_id}`: the paid order, grouped by chalet. The session id is the credential.
/// An order not recorded yet is asked about at Stripe and, if paid, recorded now through the same
/// path as the webhook (Stripe: fulfil from both). Until then `202 {"status": "pending"}`, never
/// 404: behind CloudFront a 404 would become the site's HTML error page; the order page polls.
pub async fn order(State(st): State<AppState>, Path(session_id): Path<String>) -> Result<Response, ApiError> {
    let plausible = session_id.len() <= 255
        && session_id.starts_with("cs_")
        && session_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !plausible {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::OrderNotFound,
            "this is not an order reference",
        ));
    }
    let (mut order, market) =
        tokio::try_join!(st.store.order(&session_id), st.store.market()).map_err(ApiError::internal)?;
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    if order.is_none() && record_if_paid(&st, &session_id).await {
        order = st.store.order(&session_id).await.map_err(ApiError::internal)?;
    }
    let Some(order) = order else {
        return Ok((StatusCode::ACCEPTED, no_store, Json(json!({ "status": "pending" }))).into_response());
    };
    let currency = market.unwrap_or_default().currency;
    // Each voucher code with its signed payload and the QR code drawing it.
    let qr = |l: &chalet_types::OrderLine| -> Vec<Value> {
        let until = order.voucher_valid_until(l);
        l.voucher_codes
            .iter()
            .map(|code| {
                let payload = crate::voucher_qr::payload(&st.voucher_signing, code, &l.sku, until);
                let drawn = crate::voucher_qr::qr_path(&payload);
                json!({ "code": code, "payload": payload, "size": drawn.as_ref().map(|d| d.0), "path": drawn.map(|d| d.1) })
            })
            .collect()
    };
    let chalets: Vec<Value> = order
        .fulfilment
        .iter()
        .map(|f| {
            let lines: Vec<Value> = order
                .lines
                .iter()
                .filter(|l| l.sku.chalet == f.chalet)
                .map(|l| json!({ "sku": l.sku, "name": l.name, "unit_price": l.unit_price, "quantity": l.quantity, "voucher_codes": l.voucher_codes, "voucher": l.voucher, "valid_until": (!l.voucher_codes.is_empty()).then(|| order.voucher_valid_until(l)).flatten(), "voucher_qr": qr(l), "personalisation": l.personalisation }))
                .collect();
            let mut share = json!({ "chalet": f.chalet, "chalet_name": f.chalet_name, "fulfilment": f.choice, "shipping_fee": f.shipping_fee, "lines": lines, "gift_note": f.gift_note });
            match f.choice {
                chalet_types::FulfilmentChoice::Shipping => share["ship_to"] = json!(order.ship_to),
                chalet_types::FulfilmentChoice::Pickup => share["pickup_at"] = json!(f.pickup_at),
            }
            share
        })
        .collect();
    let body = json!({ "status": "paid", "id": order.id, "reference": order.reference(), "created": order.created, "chalets": chalets, "total": order.total, "currency": currency });
    Ok((no_store, Json(body)).into_response())
}

/// Asks Stripe about a session the webhook has not reported yet; records it if paid. Any
/// failure just means "not yet": the page asks again, and the webhook still comes.
async fn record_if_paid(st: &AppState, session_id: &str) -> bool {
    let session = match st.stripe.retrieve(session_id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(error = %chain(&e), "order page: Stripe not asked successfully");
            return false;
        }
    };
    let Some(reservation) = session
        .metadata
        .get(Meta::Reservation.as_str())
        .filter(|_| session.state == payments::SessionState::Paid)
    else {
        return false;
    };
    match settle::settle(st, reservation, &session, false).await {
        Ok(outcome) => {
            tracing::info!(reservation = %reservation, ?outcome, "order page: session settled");
            matches!(outcome, Settled::Recorded | Settled::AlreadyRecorded)
        }
        Err(e) => {
            tracing::error!(reservation = %reservation, error = %chain(&e), "order page: could not record a paid session");
            false
        }
    }
}

/// `GET /availability?chalet=<slug>`: what remains of each SKU (`null`: made to order).
pub async fn availability(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let chalet = q.get("chalet").and_then(|c| Slug::parse(c).ok()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidChalet,
            "give ?chalet=<chalet-slug>",
        )
    })?;
    let items = st.store.availability(&chalet).await.map_err(ApiError::internal)?;
    let body: serde_json::Map<String, Value> = items
        .iter()
        .map(|s| (s.item.sku.to_string(), json!(s.remaining())))
        .collect();
    // Short caching keeps a busy chalet from hammering the table while staying nearly live.
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=10")],
        Json(json!({ "chalet": chalet, "remaining": body })),
    )
        .into_response())
}

/// The path as logged: session ids and reservation ids are credentials (`/orders/{id}` shows an
/// order, `/checkout/{id}/cancel` cancels one), so any segment that looks like one is masked.
pub fn redact_path(path: &str) -> String {
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            let reservation = s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
            if s.starts_with("cs_") || reservation || s.len() > 64 {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    segments.join("/")
}

/// One structured log line per request, with a request id (Lambda's, or a new one).
pub async fn request_log(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| random_id(8), str::to_string);
    let (method, path) = (req.method().clone(), redact_path(req.uri().path()));
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    tracing::info!(request_id = %id, %method, %path, status, ms = started.elapsed().as_millis() as u64, "request");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_never_hold_a_session_or_reservation() {
        assert_eq!(redact_path("/api/orders/cs_test_a1B2c3"), "/api/orders/{id}");
        assert_eq!(
            redact_path("/checkout/0123456789abcdef0123456789abcdef/cancel"),
            "/checkout/{id}/cancel"
        );
        assert_eq!(redact_path("/availability"), "/availability");
        assert_eq!(redact_path("/api/checkout"), "/api/checkout");
    }
}
