//! After the sale: a payment's refunds as Stripe lists them, refunds made from the CLI, and
//! disputes as their events carry them.

use super::*;

/// A refund as Stripe lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundInfo {
    pub id: String,
    pub amount: Money,
    pub metadata: HashMap<String, String>,
    /// Only `succeeded` (or `pending`) refunds give anything back.
    pub status: Option<String>,
}

/// A dispute, as its events carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeInfo {
    pub id: String,
    pub payment_intent: Option<String>,
    pub amount: Money,
    pub reason: String,
    pub status: String,
}

impl Stripe {
    /// Every refund of a payment ("List all refunds", `payment_intent` filter; at most 100, far
    /// more than one order's lines).
    pub async fn refunds(&self, payment_intent: &str) -> Result<Vec<RefundInfo>, PaymentError> {
        let list = self
            .with_retries(|| {
                let call = stripe_core::refund::ListRefund::new()
                    .payment_intent(payment_intent)
                    .limit(100);
                async move { call.send(&self.client).await }
            })
            .await?;
        Ok(list.data.iter().map(refund_info).collect())
    }

    /// Asks Stripe for a refund of `amount` (all that is left when `None`). The bookkeeping is
    /// the `charge.refunded` event's, whoever made the refund.
    pub async fn refund(
        &self,
        payment_intent: &str,
        amount: Option<Money>,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<RefundInfo, PaymentError> {
        let mut req = stripe_core::refund::CreateRefund::new()
            .payment_intent(payment_intent)
            .metadata(metadata);
        if let Some(a) = amount {
            req = req.amount(a.cents());
        }
        let refund = self.send_idempotent(&req, idempotency_key).await?;
        Ok(refund_info(&refund))
    }
}

fn refund_info(r: &stripe_shared::Refund) -> RefundInfo {
    RefundInfo {
        id: r.id.to_string(),
        amount: Money::from_cents(r.amount),
        metadata: r.metadata.clone().unwrap_or_default(),
        status: r.status.clone(),
    }
}
