//! The HTTP handlers. Each reads its input defensively (size, content type, shape), calls the
//! store and Stripe, and answers JSON.

use crate::AppState;
use crate::basket;
use crate::dynamo::{Completion, ReserveError};
use crate::error::{ApiError, chain};
use crate::payments::{self, Meta, NewSession, SessionKind, WebhookEvent, WebhookRejection};
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Random hex of `bytes` bytes.
fn random_id(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS has randomness");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Reads the body up to `limit` bytes; JSON bodies must say so.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize, json_only: bool) -> Result<Bytes, ApiError> {
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
    let skus: Vec<_> = lines.iter().map(|(s, _)| s.clone()).collect();
    let (stocked, market) = tokio::try_join!(st.store.items(&skus), st.store.market()).map_err(ApiError::internal)?;
    let market = market.unwrap_or_default();
    let active: Vec<_> = stocked.iter().filter(|s| s.active).map(|s| s.item.clone()).collect();
    let priced = basket::price(&lines, &active, &req.fulfilment)?;
    // One transaction writes the reservation and moves every limited line's counters.
    let limited = priced
        .lines
        .iter()
        .filter(|l| matches!(l.item.stock, chalet_types::Stock::Limited(_)))
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
    let reservation_id = random_id(16);
    let t = now();
    match st.store.reserve(&reservation_id, &priced, &stocked, t).await {
        Ok(_) => {}
        Err(ReserveError::OutOfStock { sku, remaining }) => {
            let name = priced
                .lines
                .iter()
                .find(|l| l.item.sku == sku)
                .map(|l| l.item.name.clone())
                .unwrap_or_default();
            return Err(ApiError::with(
                StatusCode::CONFLICT,
                ErrorCode::OutOfStock,
                format!("only {remaining} left of {name}"),
                json!({ "sku": sku.to_string(), "name": name, "remaining": remaining }),
            ));
        }
        Err(ReserveError::Changed(sku)) => {
            return Err(ApiError::with(
                StatusCode::CONFLICT,
                ErrorCode::CatalogueChanged,
                "this product changed while you were shopping; reload the page",
                json!({ "sku": sku.to_string() }),
            ));
        }
        Err(ReserveError::Store(e)) => return Err(ApiError::internal(e)),
    }
    let site = &st.config.site_url;
    let new = NewSession {
        lines: payments::session_lines(&priced, market.language),
        reference: &reservation_id,
        metadata: HashMap::from([
            (Meta::Kind.as_str().to_string(), SessionKind::Order.as_str().to_string()),
            (Meta::Reservation.as_str().to_string(), reservation_id.clone()),
        ]),
        success_url: routes::checkout_success_url(site),
        cancel_url: routes::checkout_cancel_url(site),
        locale: req.locale.as_deref(),
        email: req.email.as_deref(),
        currency: market.currency,
        now: t,
    };
    match st.stripe.create(new).await {
        Ok(session) => {
            tracing::info!(reservation = %reservation_id, session = %session.id, lines = priced.lines.len(), total = priced.total.cents(), "checkout session created");
            Ok(Json(json!({ "id": session.id, "url": session.url })))
        }
        Err(e) => {
            tracing::error!(reservation = %reservation_id, error = %chain(&e), "Stripe refused the session; releasing the stock");
            if let Err(release) = st.store.release(&reservation_id).await {
                tracing::error!(reservation = %reservation_id, error = %chain(&release), "could not release a reservation");
            }
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::PaymentUnavailable,
                "payment is not available right now; please try again",
            ))
        }
    }
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
        WebhookEvent::Completed(session) => match SessionKind::of(&session.metadata) {
            SessionKind::Registration => {
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
                tracing::info!(session = %session.id, "registration recorded");
            }
            SessionKind::Order => {
                let Some(reservation) = session.metadata.get(Meta::Reservation.as_str()) else {
                    tracing::warn!(session = %session.id, "completed session without a reservation: ignored");
                    return Ok(Json(json!({ "received": true })));
                };
                let outcome = st
                    .store
                    .complete(reservation, &session, &st.codes_key)
                    .await
                    .map_err(ApiError::internal)?;
                tracing::info!(session = %session.id, ?outcome, "payment completed");
                if outcome == Completion::UnknownReservation {
                    tracing::error!(session = %session.id, "paid session for an unknown reservation");
                }
            }
        },
        WebhookEvent::Expired(session) => {
            if let Some(reservation) = session.metadata.get(Meta::Reservation.as_str()) {
                let released = st.store.release(reservation).await.map_err(ApiError::internal)?;
                tracing::info!(session = %session.id, released, "session expired");
            }
        }
        WebhookEvent::Other(kind) => tracing::info!(kind = %kind, "event ignored"),
    }
    Ok(Json(json!({ "received": true })))
}

/// `GET /orders/{session_id}`: the paid order, grouped by chalet. The session id is the credential.
/// An order not recorded yet answers `202 {"status": "pending"}`, never 404: behind CloudFront a
/// 404 would become the site's HTML error page, and the order page polls until the webhook lands.
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
    let (order, market) =
        tokio::try_join!(st.store.order(&session_id), st.store.market()).map_err(ApiError::internal)?;
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let Some(order) = order else {
        return Ok((StatusCode::ACCEPTED, no_store, Json(json!({ "status": "pending" }))).into_response());
    };
    let currency = market.unwrap_or_default().currency;
    let chalets: Vec<Value> = order
        .fulfilment
        .iter()
        .map(|f| {
            let lines: Vec<Value> = order
                .lines
                .iter()
                .filter(|l| l.sku.chalet == f.chalet)
                .map(|l| json!({ "sku": l.sku, "name": l.name, "unit_price": l.unit_price, "quantity": l.quantity, "voucher_codes": l.voucher_codes }))
                .collect();
            json!({ "chalet": f.chalet, "chalet_name": f.chalet_name, "fulfilment": f.choice, "shipping_fee": f.shipping_fee, "lines": lines })
        })
        .collect();
    let body = json!({ "status": "paid", "id": order.id, "created": order.created, "chalets": chalets, "total": order.total, "currency": currency });
    Ok((no_store, Json(body)).into_response())
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

#[derive(serde::Deserialize)]
struct RegistrationRequest {
    chalet_name: String,
    artisan: String,
    email: String,
}

/// `POST /registrations`: a Checkout Session for the registration fee (fee minus sponsors' share).
pub async fn register(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, MAX_BODY, true).await?;
    let req: RegistrationRequest = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            "send {chalet_name, artisan, email}",
        )
    })?;
    let clean = |s: &str, what: &'static str| {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 120 {
            Err(ApiError::invalid(
                ErrorCode::InvalidRegistration,
                format!("{what} must be 1 to 120 characters"),
            ))
        } else {
            Ok(t.to_string())
        }
    };
    let (chalet_name, artisan) = (clean(&req.chalet_name, "chalet_name")?, clean(&req.artisan, "artisan")?);
    if !req.email.contains('@') || req.email.len() > 254 {
        return Err(ApiError::invalid(
            ErrorCode::InvalidEmail,
            "the e-mail address is not valid",
        ));
    }
    let closed = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RegistrationsClosed,
            "registrations are not open",
        )
    };
    let market = st
        .store
        .market()
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(closed)?;
    let fee = market.registration_fee.ok_or_else(closed)?;
    let site = &st.config.site_url;
    let reference = random_id(16);
    let session = st
        .stripe
        .create(NewSession {
            lines: vec![payments::SessionLine {
                name: format!("{} — {}", market.language.labels().registration, market.name),
                description: Some(chalet_name.clone()),
                unit_amount: fee,
                quantity: 1,
            }],
            reference: &reference,
            metadata: HashMap::from([
                (Meta::Kind.as_str().into(), SessionKind::Registration.as_str().into()),
                (Meta::ChaletName.as_str().into(), chalet_name),
                (Meta::Artisan.as_str().into(), artisan),
            ]),
            success_url: routes::registration_url(site, true),
            cancel_url: routes::registration_url(site, false),
            locale: Some(market.language.code()),
            email: Some(&req.email),
            currency: market.currency,
            now: now(),
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %chain(&e), "Stripe refused a registration session");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::PaymentUnavailable,
                "payment is not available right now; please try again",
            )
        })?;
    Ok(Json(json!({ "id": session.id, "url": session.url })))
}

/// One structured log line per request, with a request id (Lambda's, or a new one).
pub async fn request_log(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| random_id(8), str::to_string);
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    tracing::info!(request_id = %id, %method, %path, status, ms = started.elapsed().as_millis() as u64, "request");
    response
}
