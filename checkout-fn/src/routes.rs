//! The HTTP handlers. Each reads its input defensively (size, content type, shape), calls the
//! store and Stripe, and answers JSON.

use crate::AppState;
use crate::basket;
use crate::dynamo::{Completion, ReserveError};
use crate::error::ApiError;
use crate::payments::{self, NewSession, WebhookEvent, WebhookRejection};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chalet_types::Slug;
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
                "unsupported_media_type",
                "send the request as application/json",
            ));
        }
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
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
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// `POST /checkout`: price, reserve, then open a Stripe Checkout Session.
pub async fn checkout(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(&headers, body, MAX_BODY, true).await?;
    let req = basket::parse(&bytes)?;
    let lines = basket::validate_shape(&req)?;
    let skus: Vec<_> = lines.iter().map(|(s, _)| s.clone()).collect();
    let stocked = st.store.items(&skus).await.map_err(ApiError::internal)?;
    let active: Vec<_> = stocked.iter().filter(|s| s.active).map(|s| s.item.clone()).collect();
    let priced = basket::price(&lines, &active, &req.fulfilment)?;
    if priced
        .lines
        .iter()
        .filter(|l| matches!(l.item.stock, chalet_types::Stock::Limited(_)))
        .count()
        >= 100
    {
        return Err(ApiError::invalid(
            "too_many_lines",
            "a basket holds at most 99 different products with limited stock",
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
                "out_of_stock",
                format!("only {remaining} left of {name}"),
                json!({ "sku": sku.to_string(), "name": name, "remaining": remaining }),
            ));
        }
        Err(ReserveError::Changed(sku)) => {
            return Err(ApiError::with(
                StatusCode::CONFLICT,
                "catalogue_changed",
                "this product changed while you were shopping; reload the page",
                json!({ "sku": sku.to_string() }),
            ));
        }
        Err(ReserveError::Store(e)) => return Err(ApiError::internal(e)),
    }
    let site = &st.config.site_url;
    let new = NewSession {
        lines: payments::session_lines(&priced),
        reference: &reservation_id,
        metadata: HashMap::from([
            ("kind".to_string(), "order".to_string()),
            ("reservation".to_string(), reservation_id.clone()),
        ]),
        success_url: format!("{site}/order/?session_id={{CHECKOUT_SESSION_ID}}"),
        cancel_url: format!("{site}/basket/?cancelled=1"),
        locale: req.locale.as_deref(),
        email: req.email.as_deref(),
        now: t,
    };
    match st.stripe.create(new).await {
        Ok(session) => {
            tracing::info!(reservation = %reservation_id, session = %session.id, lines = priced.lines.len(), total = priced.total.cents(), "checkout session created");
            Ok(Json(json!({ "id": session.id, "url": session.url })))
        }
        Err(e) => {
            tracing::error!(reservation = %reservation_id, error = %e, "Stripe refused the session; releasing the stock");
            if let Err(release) = st.store.release(&reservation_id).await {
                tracing::error!(reservation = %reservation_id, error = %release, "could not release a reservation");
            }
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "payment_unavailable",
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
    let event = payments::verify(&bytes, signature, &st.config.stripe_webhook_secret).map_err(|r| match r {
        WebhookRejection::BadSignature => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "the event's signature is not valid",
        ),
        WebhookRejection::Malformed => {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_event", "the event could not be read")
        }
    })?;
    match event {
        WebhookEvent::Completed(session) => match session.metadata.get("kind").map(String::as_str) {
            Some("registration") => {
                let details = json!({
                    "session": session.id,
                    "created": session.created,
                    "chalet_name": session.metadata.get("chalet_name"),
                    "artisan": session.metadata.get("artisan"),
                    "email": session.email,
                });
                st.store
                    .record_registration(&session.id, &session.created, &details)
                    .await
                    .map_err(ApiError::internal)?;
                tracing::info!(session = %session.id, "registration recorded");
            }
            _ => {
                let Some(reservation) = session.metadata.get("reservation") else {
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
            if let Some(reservation) = session.metadata.get("reservation") {
                let released = st.store.release(reservation).await.map_err(ApiError::internal)?;
                tracing::info!(session = %session.id, released, "session expired");
            }
        }
        WebhookEvent::Other(kind) => tracing::info!(kind = %kind, "event ignored"),
    }
    Ok(Json(json!({ "received": true })))
}

/// `GET /orders/{session_id}`: the paid order, grouped by chalet. The session id is the credential.
pub async fn order(State(st): State<AppState>, Path(session_id): Path<String>) -> Result<Json<Value>, ApiError> {
    let plausible = session_id.len() <= 255
        && session_id.starts_with("cs_")
        && session_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "order_not_found",
            "no paid order has this reference (yet)",
        )
    };
    if !plausible {
        return Err(missing());
    }
    let order = st
        .store
        .order(&session_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(missing)?;
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
    Ok(Json(
        json!({ "id": order.id, "created": order.created, "chalets": chalets, "total": order.total, "currency": "EUR" }),
    ))
}

/// `GET /availability?chalet=<slug>`: what remains of each SKU (`null`: made to order).
pub async fn availability(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let chalet = q
        .get("chalet")
        .and_then(|c| Slug::parse(c).ok())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid_chalet", "give ?chalet=<chalet-slug>"))?;
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
            "invalid_json",
            "send {chalet_name, artisan, email}",
        )
    })?;
    let clean = |s: &str, what: &'static str| {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 120 {
            Err(ApiError::invalid(
                "invalid_registration",
                format!("{what} must be 1 to 120 characters"),
            ))
        } else {
            Ok(t.to_string())
        }
    };
    let (chalet_name, artisan) = (clean(&req.chalet_name, "chalet_name")?, clean(&req.artisan, "artisan")?);
    if !req.email.contains('@') || req.email.len() > 254 {
        return Err(ApiError::invalid("invalid_email", "the e-mail address is not valid"));
    }
    let (fee, market) = st
        .store
        .registration_fee()
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "registrations_closed",
                "registrations are not open",
            )
        })?;
    let site = &st.config.site_url;
    let reference = random_id(16);
    let session = st
        .stripe
        .create(NewSession {
            lines: vec![payments::SessionLine {
                name: format!("Inscription — {market}"),
                description: Some(chalet_name.clone()),
                unit_amount: fee,
                quantity: 1,
            }],
            reference: &reference,
            metadata: HashMap::from([
                ("kind".into(), "registration".into()),
                ("chalet_name".into(), chalet_name),
                ("artisan".into(), artisan),
            ]),
            success_url: format!("{site}/exposer/?inscription={{CHECKOUT_SESSION_ID}}"),
            cancel_url: format!("{site}/exposer/"),
            locale: None,
            email: Some(&req.email),
            now: now(),
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "Stripe refused a registration session");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "payment_unavailable",
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
