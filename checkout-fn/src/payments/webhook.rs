//! Stripe's webhook: the signature checked over the raw body, and the event reduced to what
//! the function acts on.

use super::*;

/// A verified webhook event, reduced to what the function acts on.
#[derive(Debug)]
pub enum WebhookEvent {
    /// `checkout.session.completed`: a sale if `state` is `Paid`; `Processing` waits for the
    /// `async_payment_*` event of a delayed payment method.
    Completed(PaidSession),
    /// `checkout.session.async_payment_succeeded`.
    AsyncSucceeded(PaidSession),
    /// `checkout.session.expired`, or `…async_payment_failed`: the stock goes back.
    Expired(PaidSession),
    /// `charge.refunded` (full or partial): the payment's refunds are read and recorded.
    Refunded {
        payment_intent: String,
    },
    /// `charge.dispute.created` / `charge.dispute.closed`.
    Dispute(DisputeInfo),
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
    // The event's time is when the payment happened; it is the same on every redelivery.
    let at = event.created;
    use stripe_webhook::EventObject as E;
    Ok(match event.data.object {
        E::CheckoutSessionCompleted(s) => WebhookEvent::Completed(PaidSession::from_stripe(&s, at)),
        E::CheckoutSessionAsyncPaymentSucceeded(s) => {
            let mut paid = PaidSession::from_stripe(&s, at);
            // Stripe sets `payment_status: paid` on this event's session; say so even if not.
            paid.state = SessionState::Paid;
            WebhookEvent::AsyncSucceeded(paid)
        }
        E::CheckoutSessionExpired(s) => WebhookEvent::Expired(PaidSession::from_stripe(&s, at)),
        E::CheckoutSessionAsyncPaymentFailed(s) => {
            // Completed but never paid: as good as expired for the stock.
            let mut failed = PaidSession::from_stripe(&s, at);
            failed.state = SessionState::Expired;
            WebhookEvent::Expired(failed)
        }
        E::ChargeRefunded(c) => match &c.payment_intent {
            Some(pi) => WebhookEvent::Refunded {
                payment_intent: pi.id().to_string(),
            },
            None => WebhookEvent::Other("charge.refunded without a payment intent".into()),
        },
        E::ChargeDisputeCreated(d) | E::ChargeDisputeClosed(d) => WebhookEvent::Dispute(DisputeInfo {
            id: d.id.to_string(),
            payment_intent: d.payment_intent.as_ref().map(|p| p.id().to_string()),
            amount: Money::from_cents(d.amount),
            reason: d.reason.clone(),
            status: d.status.as_str().to_string(),
        }),
        _ => WebhookEvent::Other(event.type_.to_string()),
    })
}
