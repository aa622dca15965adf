//! Stripe, through async-stripe: Checkout Sessions for baskets and registrations, and webhook
//! events verified against the raw body. `STRIPE_API_BASE` points it at a local stand-in.

use crate::basket::PricedBasket;
use chalet_types::{Currency, FulfilmentChoice, Language, Money};
use std::collections::HashMap;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes as Method, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData,
};
use stripe_shared::{CheckoutSessionLocale, CheckoutSessionMode};

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

/// Checkout Sessions expire after 30 minutes; the reservation is released by the expiry webhook.
pub const SESSION_MINUTES: i64 = 30;

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

/// What a paid session tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidSession {
    pub id: String,
    /// RFC 3339, from the session's creation time (stable across deliveries).
    pub created: String,
    pub email: Option<String>,
    pub payment_intent: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// Why Stripe could not give us a session, with the cause kept for the log.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the Stripe client could not be built")]
    Client(#[source] crate::error::Cause),
    #[error("Stripe refused or did not answer")]
    Stripe(#[source] stripe::StripeError),
    #[error("Stripe returned a session without a URL")]
    NoUrl,
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
    pub now: i64,
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
        let mut builder = stripe::ClientBuilder::new(secret_key);
        if let Some(base) = api_base {
            builder = builder.url(base);
        }
        Ok(Stripe {
            client: builder
                .build()
                .map_err(|e| PaymentError::Client(e.to_string().into()))?,
        })
    }

    pub async fn create(&self, s: NewSession<'_>) -> Result<CreatedSession, PaymentError> {
        let items: Vec<CreateCheckoutSessionLineItems> = s
            .lines
            .iter()
            .map(|l| {
                let mut product = stripe_checkout::checkout_session::ProductData::new(l.name.clone());
                product.description = l.description.clone();
                let mut price = CreateCheckoutSessionLineItemsPriceData::new(stripe_currency(s.currency));
                price.unit_amount = Some(l.unit_amount.cents());
                price.product_data = Some(product);
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price_data = Some(price);
                item.quantity = Some(u64::from(l.quantity));
                item
            })
            .collect();
        let mut req = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(items)
            .success_url(s.success_url)
            .cancel_url(s.cancel_url)
            .client_reference_id(s.reference)
            .metadata(s.metadata)
            .expires_at(s.now + SESSION_MINUTES * 60)
            .locale(locale(s.locale))
            .allowed_payment_method_types(vec![Method::Card, Method::Bancontact]);
        if let Some(email) = s.email {
            req = req.customer_email(email);
        }
        let session = req.send(&self.client).await.map_err(PaymentError::Stripe)?;
        let url = session.url.ok_or(PaymentError::NoUrl)?;
        Ok(CreatedSession {
            id: session.id.to_string(),
            url,
        })
    }
}

/// A verified webhook event, reduced to what the function acts on.
#[derive(Debug)]
pub enum WebhookEvent {
    Completed(PaidSession),
    Expired(PaidSession),
    Other(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum WebhookRejection {
    BadSignature,
    Malformed,
}

/// Verifies `Stripe-Signature` over the raw body (HMAC-SHA256, any of several `v1` values,
/// 5-minute tolerance) and parses the event.
pub fn verify(body: &[u8], signature: &str, secret: &str) -> Result<WebhookEvent, WebhookRejection> {
    let payload = std::str::from_utf8(body).map_err(|_| WebhookRejection::Malformed)?;
    let event = stripe_webhook::Webhook::construct_event(payload, signature, secret).map_err(|e| match e {
        stripe_webhook::WebhookError::BadParse(_) => WebhookRejection::Malformed,
        _ => WebhookRejection::BadSignature,
    })?;
    let paid = |s: &stripe_shared::CheckoutSession| PaidSession {
        id: s.id.to_string(),
        created: rfc3339(s.created),
        email: s
            .customer_details
            .as_ref()
            .and_then(|d| d.email.clone())
            .or_else(|| s.customer_email.clone()),
        payment_intent: s.payment_intent.as_ref().map(|p| p.id().to_string()),
        metadata: s.metadata.clone().unwrap_or_default(),
    };
    Ok(match event.data.object {
        stripe_webhook::EventObject::CheckoutSessionCompleted(s) => WebhookEvent::Completed(paid(&s)),
        stripe_webhook::EventObject::CheckoutSessionExpired(s) => WebhookEvent::Expired(paid(&s)),
        _ => WebhookEvent::Other(event.type_.to_string()),
    })
}

/// `2026-12-01T10:00:00Z` from Unix seconds (proleptic Gregorian, UTC).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
