//! `checkout-fn`: the market's one server-side piece, as one router (`app(state)`) that runs
//! under AWS Lambda or as a plain local HTTP server.
//!
//! It takes money, so it trusts nothing it is sent: baskets are priced from the catalogue
//! ([`basket`]), stock is reserved atomically ([`dynamo`]), webhooks are verified against the raw
//! body ([`payments`]) and recorded exactly once; errors are specific 4xx JSON or a bland 5xx
//! ([`error`]). It must not log secrets, card data or shoppers' e-mail addresses.
//!
//! - [`config`]: the environment, checked at cold start; [`orders`]: paid orders and registrations
//! - [`routes`]: the HTTP handlers; [`codes`]: voucher codes; [`publish`]: the table's contents
//! - [`secrets`]: the webhook secret (re-read when it changes) and the CloudFront origin check

pub mod aftercare;
pub mod applications;
pub mod basket;
pub mod codes;
pub mod config;
pub mod digest;
pub mod dynamo;
pub mod error;
pub mod handover;
pub mod lambda;
pub mod ledger;
pub mod links;
pub mod mail;
pub mod mail_once;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod publish;
pub mod purge;
pub mod receipt;
pub mod reconcile;
pub mod registrations;
pub mod routes;
pub mod secrets;
pub mod settle;
pub mod split;
pub mod staff_pin;
pub mod statements;
pub mod transfers;
pub mod uploads;
pub mod voucher_qr;
pub mod voucher_sheet;
pub mod vouchers;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post};
use chalet_types::routes::Endpoint;
use std::sync::Arc;
use tower_http::cors::CorsLayer;

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A random pause length in `0..below` milliseconds, to spread retries that would collide in step.
pub(crate) fn jitter_ms(below: u64) -> u64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u64::from(u16::from_le_bytes(b)) % below.max(1)
}

/// What every request handler shares; built once per process.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<config::Config>,
    pub store: dynamo::Dynamo,
    pub stripe: payments::Stripe,
    pub codes_key: Arc<Vec<u8>>,
    /// What vouchers' QR codes are signed with, derived once like `codes_key`.
    pub voucher_signing: Arc<ring::signature::Ed25519KeyPair>,
    pub webhook_secret: Arc<secrets::WebhookSecret>,
}

impl AppState {
    pub fn new(config: config::Config, store: dynamo::Dynamo, stripe: payments::Stripe) -> AppState {
        AppState::with_source(config, store, stripe, None)
    }

    /// With the parameter store the webhook secret came from, so a changed one is picked up.
    pub fn with_source(
        config: config::Config,
        store: dynamo::Dynamo,
        stripe: payments::Stripe,
        source: Option<config::SecretSource>,
    ) -> AppState {
        let codes_key = Arc::new(codes::codes_key(&config.voucher_codes_key));
        let voucher_signing = Arc::new(voucher_qr::signing_key(&config.voucher_codes_key));
        let webhook_secret = Arc::new(secrets::WebhookSecret::new(
            config.stripe_webhook_secret.clone(),
            source,
        ));
        AppState {
            config: Arc::new(config),
            store,
            stripe,
            codes_key,
            voucher_signing,
            webhook_secret,
        }
    }
}

/// The whole HTTP surface. Paths work both at the root and under `/api` (how CloudFront
/// forwards them), so the same router serves local development and production.
pub fn app(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_str(state.config.site_url.origin()).unwrap_or(HeaderValue::from_static("null")))
        .allow_methods([Method::GET, Method::POST])
        // The artisans' page sends its link's token as `Authorization: Bearer`.
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .max_age(std::time::Duration::from_secs(3600));
    let routes = Router::new()
        .route(Endpoint::Health.as_str(), get(routes::health))
        .route(Endpoint::Checkout.as_str(), post(routes::checkout))
        .route(Endpoint::Cancel.as_str(), post(routes::cancel))
        .route(Endpoint::Webhook.as_str(), post(routes::webhook))
        .route(Endpoint::Order.as_str(), get(routes::order))
        .route(Endpoint::Availability.as_str(), get(routes::availability))
        .route(Endpoint::Registrations.as_str(), post(registrations::register))
        .route(Endpoint::Applications.as_str(), post(applications::apply))
        .route(Endpoint::ChaletOrders.as_str(), get(links::orders))
        .route(Endpoint::ChaletOrdersCsv.as_str(), get(links::orders_csv))
        .route(Endpoint::Handover.as_str(), post(handover::handover))
        .route(Endpoint::StaffPin.as_str(), get(staff_pin::show).post(staff_pin::set))
        .route(Endpoint::RedeemVoucher.as_str(), post(vouchers::redeem))
        .route(Endpoint::UndoVoucher.as_str(), post(vouchers::undo))
        .route(Endpoint::VoucherKey.as_str(), get(vouchers::public_key));
    let origin_secrets = Arc::new(state.config.origin_verify_secrets.clone());
    Router::new()
        .merge(routes.clone())
        .nest(&format!("/{}", chalet_types::routes::API_DIR), routes)
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            origin_secrets,
            secrets::origin_check,
        ))
        .layer(axum::middleware::from_fn(routes::request_log))
        .layer(cors)
        .with_state(state)
}
