//! Registrations: the artisan's fee, as the market published it (the fee minus the sponsors'
//! share), paid through a Checkout Session — on its own (`POST /registrations`) or for an
//! application sent online (`crate::applications`). The webhook records the paid ones.

use crate::AppState;
use crate::basket;
use crate::error::{ApiError, chain};
use crate::payments::{self, Meta, NewSession, SessionKind};
use crate::routes::{MAX_BODY, random_id, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chalet_types::{ErrorCode, routes};
use serde_json::{Value, json};
use std::collections::HashMap;

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
    let session = registration_session(&st, &req.chalet_name, &req.artisan, &req.email, None).await?;
    Ok(Json(json!({ "id": session.session_id, "url": session.url })))
}

/// A registration's Checkout Session, with what it was made from, checked.
#[derive(Debug)]
pub(crate) struct Registration {
    pub session_id: String,
    pub url: String,
    pub chalet_name: String,
    pub artisan: String,
    pub email: String,
}

/// A Checkout Session for the registration fee as the market published it (the fee minus the
/// sponsors' share): for `POST /registrations`, and for an application (`application` its id,
/// carried in the metadata so the webhook marks it paid).
pub(crate) async fn registration_session(
    st: &AppState,
    chalet_name: &str,
    artisan: &str,
    email: &str,
    application: Option<&str>,
) -> Result<Registration, ApiError> {
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
    let (chalet_name, artisan) = (clean(chalet_name, "chalet_name")?, clean(artisan, "artisan")?);
    let email = basket::valid_email(email)
        .ok_or_else(|| ApiError::invalid(ErrorCode::InvalidEmail, "the e-mail address is not valid"))?;
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
    let mut metadata = HashMap::from([
        (Meta::Kind.as_str().into(), SessionKind::Registration.as_str().into()),
        (Meta::ChaletName.as_str().into(), chalet_name.clone()),
        (Meta::Artisan.as_str().into(), artisan.clone()),
    ]);
    if let Some(id) = application {
        metadata.insert(Meta::Application.as_str().into(), id.to_string());
    }
    let session = st
        .stripe
        .create(
            NewSession {
                lines: vec![payments::SessionLine {
                    name: format!("{} — {}", market.language.labels().registration, market.name),
                    description: Some(chalet_name.clone()),
                    unit_amount: fee,
                    quantity: 1,
                }],
                reference: &reference,
                metadata,
                success_url: routes::registration_url(site, true),
                cancel_url: routes::registration_url(site, false),
                locale: Some(market.language.code()),
                email: Some(&email),
                currency: market.currency,
                shipping_countries: None,
                collect_phone: false,
            },
            &format!("registration-{reference}"),
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %chain(&e), "Stripe refused a registration session");
            if e.refused_param() == Some("customer_email") {
                return ApiError::invalid(ErrorCode::InvalidEmail, "the e-mail address is not valid");
            }
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::PaymentUnavailable,
                "payment is not available right now; please try again",
            )
        })?;
    Ok(Registration {
        session_id: session.id,
        url: session.url,
        chalet_name,
        artisan,
        email,
    })
}
