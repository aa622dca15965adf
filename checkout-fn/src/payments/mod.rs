//! Stripe, through async-stripe: Checkout Sessions for baskets and registrations here; refunds
//! and disputes in [`aftercare`]; webhook events verified against the raw body in [`webhook`].
//! `STRIPE_API_BASE` points it at a local stand-in.

use crate::basket::PricedBasket;
use crate::now;
use chalet_types::{Currency, FulfilmentChoice, Language, Money};
use std::collections::HashMap;
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes as Method, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, ExpireCheckoutSession, RetrieveCheckoutSession,
};
use stripe_shared::{CheckoutSessionLocale, CheckoutSessionMode};

mod aftercare;
pub mod balance;
mod webhook;
pub use aftercare::{DisputeInfo, RefundInfo};
pub use webhook::{WebhookEvent, WebhookRejection, verify};

chalet_types::wire_enum! {
    /// The metadata keys our Checkout Sessions carry (Stripe gives them back on every event).
    pub enum Meta {
        /// What the session pays for: [`SessionKind`].
        Kind = "kind",
        /// The reservation holding the basket's stock.
        Reservation = "reservation",
        /// A registration's chalet and artisan.
        ChaletName = "chalet_name",
        Artisan = "artisan",
        /// The application a registration belongs to (`POST /applications`).
        Application = "application",
    }
}

chalet_types::wire_enum! {
    /// What a Checkout Session pays for (its `kind` metadata).
    pub enum SessionKind {
        Order = "order",
        Registration = "registration",
    }
}

impl SessionKind {
    /// A session's kind from its metadata; sessions made before the key existed were orders.
    pub fn of(metadata: &HashMap<String, String>) -> SessionKind {
        metadata
            .get(Meta::Kind.as_str())
            .and_then(|k| SessionKind::parse(k))
            .unwrap_or(SessionKind::Order)
    }
}

/// Checkout Sessions expire after 30 minutes, Stripe's minimum; the reservation is released by
/// the expiry webhook, by a cancel, or by the reconciler.
pub const SESSION_MINUTES: i64 = 30;
/// Added to `expires_at`: Stripe refuses anything under 30 minutes *by its own clock*
/// ("expires_at … at least 30 minutes from Checkout Session creation", Create a Checkout Session).
pub const EXPIRY_MARGIN_SECONDS: i64 = 60;
/// The longest a session stays payable after its reservation was written: the session length,
/// the margin, and the whole Stripe phase of a checkout.
pub const SESSION_BOUND_SECONDS: i64 = SESSION_MINUTES * 60 + EXPIRY_MARGIN_SECONDS + STRIPE_BUDGET.as_secs() as i64;

/// Each Stripe call's attempt is abandoned after this…
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);
/// …and a call (all its attempts) after this, well under the function's 25 s timeout so that the
/// stock can still be released and the shopper answered.
pub const STRIPE_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);
const MAX_ATTEMPTS: u32 = 3;
/// "You can specify up to 100 line items" (Create a Checkout Session, `line_items`); shipping
/// lines count.
pub const MAX_SESSION_LINES: usize = 100;

#[derive(Clone)]
pub struct Stripe {
    client: stripe::Client,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stripe")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedSession {
    pub id: String,
    pub url: String,
}

chalet_types::wire_enum! {
    /// Where a Checkout Session stands, as far as stock and orders care.
    pub enum SessionState {
        /// Open and payable until its `expires_at`.
        Open = "open",
        /// Completed and paid (or nothing to pay): a sale.
        Paid = "paid",
        /// Completed, but a delayed payment method has not settled yet: not a sale yet.
        Processing = "processing",
        Expired = "expired",
    }
}

/// What a session tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidSession {
    pub id: String,
    /// RFC 3339 time the payment was recorded: the event's, or the moment the session was found paid.
    pub created: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// `collected_information.shipping_details` (API version 2025-03-31 and later).
    pub ship_to: Option<chalet_types::PostalAddress>,
    pub payment_intent: Option<String>,
    pub metadata: HashMap<String, String>,
    pub state: SessionState,
    /// Unix seconds.
    pub expires_at: i64,
}

impl PaidSession {
    fn from_stripe(s: &stripe_shared::CheckoutSession, at: i64) -> PaidSession {
        use stripe_shared::{CheckoutSessionPaymentStatus as Pay, CheckoutSessionStatus as Status};
        let state = match (&s.status, &s.payment_status) {
            (Some(Status::Complete), Pay::Paid | Pay::NoPaymentRequired) => SessionState::Paid,
            (Some(Status::Complete), _) => SessionState::Processing,
            (Some(Status::Expired), _) => SessionState::Expired,
            _ => SessionState::Open,
        };
        PaidSession {
            id: s.id.to_string(),
            created: rfc3339(at),
            email: s
                .customer_details
                .as_ref()
                .and_then(|d| d.email.clone())
                .or_else(|| s.customer_email.clone()),
            name: s.customer_details.as_ref().and_then(|d| d.name.clone()),
            phone: s.customer_details.as_ref().and_then(|d| d.phone.clone()),
            ship_to: s
                .collected_information
                .as_ref()
                .and_then(|c| c.shipping_details.as_ref())
                .map(|d| chalet_types::PostalAddress {
                    name: d.name.clone(),
                    line1: d.address.line1.clone(),
                    line2: d.address.line2.clone(),
                    postal_code: d.address.postal_code.clone(),
                    city: d.address.city.clone(),
                    country: d.address.country.clone(),
                }),
            payment_intent: s.payment_intent.as_ref().map(|p| p.id().to_string()),
            metadata: s.metadata.clone().unwrap_or_default(),
            state,
            expires_at: s.expires_at,
        }
    }
}

/// What Stripe said when it refused, reduced to what may be logged: its error code, the
/// parameter and the request id — never its message, which can quote the shopper's e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeFailure {
    /// The HTTP status, or `None` when no answer came (timeout, connection).
    pub status: Option<u16>,
    pub code: Option<String>,
    pub param: Option<String>,
    pub request_id: Option<String>,
    /// For failures without an answer: what happened (no Stripe text in it).
    pub transport: Option<&'static str>,
}

impl std::fmt::Display for StripeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "Stripe answered {status}")?,
            None => write!(f, "Stripe did not answer ({})", self.transport.unwrap_or("transport"))?,
        }
        for (label, value) in [
            ("code", &self.code),
            ("param", &self.param),
            ("request", &self.request_id),
        ] {
            if let Some(v) = value {
                write!(f, " {label}={v}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for StripeFailure {}

impl StripeFailure {
    fn from_error(e: &stripe::StripeError) -> StripeFailure {
        let mut out = StripeFailure {
            status: None,
            code: None,
            param: None,
            request_id: None,
            transport: None,
        };
        match e {
            stripe::StripeError::Stripe(api, status) => {
                out.status = Some(*status);
                out.code = api.code.as_ref().map(|c| c.as_str().to_string());
                out.param = api.param.clone();
                // `request_log_url` ends with the request id (`…/logs/req_…`).
                out.request_id = api
                    .request_log_url
                    .as_deref()
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|id| id.starts_with("req_"))
                    .map(str::to_string);
            }
            stripe::StripeError::Timeout => out.transport = Some("timed out"),
            stripe::StripeError::ClientError(_) => out.transport = Some("connection failed"),
            stripe::StripeError::JSONDeserialize(_) => out.transport = Some("unreadable answer"),
            stripe::StripeError::ConfigError(_) => out.transport = Some("client configuration"),
        }
        out
    }

    /// Worth another attempt with the same idempotency key: no answer, rate limited, a
    /// conflicting concurrent request, or Stripe's own trouble ("Error handling", Stripe docs).
    pub fn transient(&self) -> bool {
        match self.status {
            None => self.transport != Some("client configuration"),
            Some(s) => s == 409 || s == 429 || s >= 500,
        }
    }
}

/// Why Stripe could not give us a session, with the cause kept for the log.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the Stripe client could not be built")]
    Client(#[source] crate::error::Cause),
    #[error("Stripe refused or did not answer")]
    Stripe(#[source] StripeFailure),
    #[error("Stripe returned a session without a URL")]
    NoUrl,
}

impl PaymentError {
    /// The parameter Stripe refused, if it refused one (a 4xx about the request).
    pub fn refused_param(&self) -> Option<&str> {
        match self {
            PaymentError::Stripe(f)
                if f.status
                    .is_some_and(|s| (400..500).contains(&s) && s != 409 && s != 429) =>
            {
                f.param.as_deref()
            }
            _ => None,
        }
    }
}

/// A line as Stripe shows it to the shopper.
#[derive(Debug)]
pub struct SessionLine {
    pub name: String,
    pub description: Option<String>,
    pub unit_amount: Money,
    pub quantity: u32,
}

fn locale(code: Option<&str>) -> CheckoutSessionLocale {
    match code.map(|c| c.split(['-', '_']).next().unwrap_or("")) {
        Some("fr") => CheckoutSessionLocale::Fr,
        Some("nl") => CheckoutSessionLocale::Nl,
        Some("de") => CheckoutSessionLocale::De,
        Some("en") => CheckoutSessionLocale::En,
        _ => CheckoutSessionLocale::Auto,
    }
}

/// The shopper's lines, plus one shipping line per chalet that ships for a fee, labelled in the
/// market's language.
pub fn session_lines(basket: &PricedBasket, language: Language) -> Vec<SessionLine> {
    let mut lines: Vec<SessionLine> = basket
        .lines
        .iter()
        .map(|l| SessionLine {
            name: l.item.name.clone(),
            description: Some(l.item.chalet_name.clone()),
            unit_amount: l.item.price,
            quantity: l.quantity,
        })
        .collect();
    for c in basket
        .chalets
        .iter()
        .filter(|c| c.choice == FulfilmentChoice::Shipping && c.shipping_fee > Money::ZERO)
    {
        lines.push(SessionLine {
            name: format!("{} — {}", language.labels().shipping, c.chalet_name),
            description: None,
            unit_amount: c.shipping_fee,
            quantity: 1,
        });
    }
    lines
}

pub struct NewSession<'a> {
    pub lines: Vec<SessionLine>,
    pub reference: &'a str,
    pub metadata: HashMap<String, String>,
    pub success_url: String,
    pub cancel_url: String,
    pub locale: Option<&'a str>,
    pub email: Option<&'a str>,
    pub currency: Currency,
    /// Collect a shipping address in these countries (something in the basket ships).
    pub shipping_countries: Option<Vec<String>>,
    /// Ask for a phone number (something is picked up).
    pub collect_phone: bool,
}

// Shoppers' e-mail addresses stay out of logs.
impl std::fmt::Debug for NewSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("lines", &self.lines)
            .field("reference", &self.reference)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

fn stripe_currency(c: Currency) -> stripe_types::Currency {
    match c {
        Currency::Eur => stripe_types::Currency::EUR,
    }
}

impl Stripe {
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Stripe, PaymentError> {
        let mut builder = stripe::ClientBuilder::new(secret_key).timeout(ATTEMPT_TIMEOUT);
        if let Some(base) = api_base {
            builder = builder.url(base);
        }
        Ok(Stripe {
            client: builder
                .build()
                .map_err(|e| PaymentError::Client(e.to_string().into()))?,
        })
    }

    /// Creates the session, retrying transient failures with `idempotency_key` (derived from what
    /// the session is for, never random: a retry after a lost answer must get the same session
    /// back, not a second one holding the same stock). Returns it with its `expires_at`.
    pub async fn create(&self, s: NewSession<'_>, idempotency_key: &str) -> Result<CreatedSession, PaymentError> {
        let items: Vec<CreateCheckoutSessionLineItems> = s
            .lines
            .iter()
            .map(|l| {
                let mut product = stripe_checkout::checkout_session::ProductData::new(l.name.clone());
                product.description = l.description.clone();
                let mut price = CreateCheckoutSessionLineItemsPriceData::new(stripe_currency(s.currency));
                price.unit_amount = Some(l.unit_amount.cents());
                // Catalogue prices include VAT: enabling Stripe Tax later must not add it on top.
                price.tax_behavior = Some(
                    stripe_checkout::checkout_session::CreateCheckoutSessionLineItemsPriceDataTaxBehavior::Inclusive,
                );
                price.product_data = Some(product);
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price_data = Some(price);
                item.quantity = Some(u64::from(l.quantity));
                item
            })
            .collect();
        // Computed once, just before the first attempt: every retry must send the same parameters.
        let expires_at = now() + SESSION_MINUTES * 60 + EXPIRY_MARGIN_SECONDS;
        let mut req = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(items)
            .success_url(s.success_url)
            .cancel_url(s.cancel_url)
            .client_reference_id(s.reference)
            // The PaymentIntent carries the reference too: refund and dispute events name it.
            .payment_intent_data({
                let mut data = stripe_checkout::checkout_session::CreateCheckoutSessionPaymentIntentData::new();
                data.metadata = Some(s.metadata.clone());
                data
            })
            .metadata(s.metadata)
            .expires_at(expires_at)
            .locale(locale(s.locale))
            .allowed_payment_method_types(vec![Method::Card, Method::Bancontact]);
        if let Some(email) = s.email {
            req = req.customer_email(email);
        }
        if let Some(countries) = &s.shipping_countries {
            use stripe_checkout::checkout_session::{
                CreateCheckoutSessionShippingAddressCollection as Collect,
                CreateCheckoutSessionShippingAddressCollectionAllowedCountries as Country,
            };
            let allowed: Vec<Country> = countries.iter().filter_map(|c| c.parse().ok()).collect();
            req = req.shipping_address_collection(Collect::new(allowed));
        }
        if s.collect_phone {
            req = req.phone_number_collection(
                stripe_checkout::checkout_session::CreateCheckoutSessionPhoneNumberCollection::new(true),
            );
        }
        let session = self.send_idempotent(&req, idempotency_key).await?;
        let url = session.url.ok_or(PaymentError::NoUrl)?;
        Ok(CreatedSession {
            id: session.id.to_string(),
            url,
        })
    }

    /// A session as it stands now.
    pub async fn retrieve(&self, id: &str) -> Result<PaidSession, PaymentError> {
        let session = self
            .with_retries(|| {
                let call = RetrieveCheckoutSession::new(id);
                async move { call.send(&self.client).await }
            })
            .await?;
        Ok(PaidSession::from_stripe(&session, now()))
    }

    /// Expires an open session so it can no longer be paid ("Expire a Checkout Session": only
    /// `open` sessions can be expired). Returns the session's state afterwards: a session
    /// already paid or expired is reported as such, not as an error.
    pub async fn expire(&self, id: &str) -> Result<SessionState, PaymentError> {
        match self
            .with_retries(|| {
                let call = ExpireCheckoutSession::new(id);
                async move { call.send(&self.client).await }
            })
            .await
        {
            Ok(s) => Ok(PaidSession::from_stripe(&s, now()).state),
            Err(PaymentError::Stripe(f)) if f.status == Some(400) => Ok(self.retrieve(id).await?.state),
            Err(e) => Err(e),
        }
    }

    /// Runs `call` until it succeeds, fails for good, or the budget is spent; transient failures
    /// are retried after a short, growing, jittered pause.
    /// Sends `req` under one idempotency key for every attempt: a retry of a call Stripe already
    /// acted on is answered with the saved response, not done twice ("Idempotent requests").
    pub(crate) async fn send_idempotent<R>(&self, req: &R, idempotency_key: &str) -> Result<R::Output, PaymentError>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        let key = IdempotencyKey::new(idempotency_key).map_err(|e| PaymentError::Client(e.to_string().into()))?;
        self.with_retries(|| {
            let call = req
                .customize()
                .request_strategy(RequestStrategy::Idempotent(key.clone()));
            async move { call.send(&self.client).await }
        })
        .await
    }

    async fn with_retries<T, F, Fut>(&self, mut call: F) -> Result<T, PaymentError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, stripe::StripeError>>,
    {
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match call().await {
                Ok(v) => return Ok(v),
                Err(e) => StripeFailure::from_error(&e),
            };
            let pause = std::time::Duration::from_millis(250 * u64::from(attempt) + crate::jitter_ms(256));
            let next_fits = started.elapsed() + pause + ATTEMPT_TIMEOUT <= STRIPE_BUDGET;
            if !failure.transient() || attempt >= MAX_ATTEMPTS || !next_fits {
                return Err(PaymentError::Stripe(failure));
            }
            tracing::warn!(error = %failure, attempt, "Stripe call failed; retrying with the same idempotency key");
            tokio::time::sleep(pause).await;
        }
    }
}

/// `2026-12-01T10:00:00Z` from Unix seconds (proleptic Gregorian, UTC).
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = chalet_types::date::utc(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_failures_keep_code_param_and_request_id_but_never_the_message() {
        let api: stripe_shared::ApiErrors = serde_json::from_value(serde_json::json!({
            "type": "invalid_request_error",
            "code": "email_invalid",
            "param": "customer_email",
            "message": "Invalid email address: anne@example.org",
            "request_log_url": "https://dashboard.stripe.com/test/logs/req_abc123"
        }))
        .expect("Stripe's error shape");
        let failure = StripeFailure::from_error(&stripe::StripeError::Stripe(Box::new(api), 400));
        let text = failure.to_string();
        assert!(!text.contains("anne@example.org"), "{text}");
        assert_eq!(
            text,
            "Stripe answered 400 code=email_invalid param=customer_email request=req_abc123"
        );
        assert!(!failure.transient());
        assert_eq!(PaymentError::Stripe(failure).refused_param(), Some("customer_email"));
        let throttled = StripeFailure::from_error(&stripe::StripeError::Stripe(
            Box::new(serde_json::from_value(serde_json::json!({ "type": "rate_limit_error" })).expect("shape")),
            429,
        ));
        assert!(throttled.transient());
        assert!(StripeFailure::from_error(&stripe::StripeError::Timeout).transient());
    }

    #[test]
    fn formats_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_795_000_000),
            "2026-11-18T11:06:40Z",
            "checked against Python's datetime"
        );
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
