//! The money after the sale, as Stripe's balance records it: balance transactions of a period
//! (statements), a payment's charge and fee, and Connect's transfers and reversals (payouts to
//! chalets with a connected account).

use super::*;
use stripe_shared::BalanceTransactionSource as Src;

/// Where a movement of the balance comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Charge {
        id: String,
        payment_intent: Option<String>,
    },
    Refund {
        id: String,
        payment_intent: Option<String>,
    },
    Transfer {
        id: String,
        metadata: HashMap<String, String>,
    },
    Reversal {
        id: String,
        metadata: HashMap<String, String>,
    },
    /// Anything else (a dispute's adjustment, a payout, Stripe's own fees…): its id.
    Other(String),
}

/// One balance transaction. Amounts are signed, as Stripe gives them (a refund is negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub id: String,
    /// Stripe's `type`: `charge`, `refund`, `transfer`, `transfer_refund`, `adjustment`…
    pub kind: String,
    pub amount: Money,
    pub fee: Money,
    pub net: Money,
    /// Unix seconds.
    pub created: i64,
    pub source: Source,
}

/// A payment's charge: what a transfer names as its source, and Stripe's fee on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeInfo {
    pub id: String,
    pub amount: Money,
    pub fee: Money,
}

/// A transfer to a connected account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferInfo {
    pub id: String,
    pub destination: String,
    pub amount: Money,
    pub reversed: Money,
    pub metadata: HashMap<String, String>,
}

/// What to send a connected account.
#[derive(Clone, Debug)]
pub struct NewTransfer<'a> {
    pub amount: Money,
    pub currency: Currency,
    pub destination: &'a str,
    /// The charge the money comes from: the transfer may go before the charge is available.
    pub source_transaction: &'a str,
    /// The order (its session id): every transfer of one order is one group.
    pub transfer_group: &'a str,
    pub metadata: HashMap<String, String>,
}

fn expandable_id<T: stripe_types::Object>(e: &stripe_types::Expandable<T>) -> String
where
    T::Id: std::fmt::Display,
{
    e.id().to_string()
}

fn movement(t: &stripe_shared::BalanceTransaction) -> Movement {
    let source = match t.source.as_ref() {
        None => Source::Other(String::new()),
        Some(s) => match s.as_object() {
            Some(Src::Charge(c)) => Source::Charge {
                id: c.id.to_string(),
                payment_intent: c.payment_intent.as_ref().map(expandable_id),
            },
            Some(Src::Refund(r)) => Source::Refund {
                id: r.id.to_string(),
                payment_intent: r.payment_intent.as_ref().map(expandable_id),
            },
            Some(Src::Transfer(tr)) => Source::Transfer {
                id: tr.id.to_string(),
                metadata: tr.metadata.clone(),
            },
            Some(Src::TransferReversal(r)) => Source::Reversal {
                id: r.id.to_string(),
                metadata: r.metadata.clone().unwrap_or_default(),
            },
            _ => Source::Other(s.id().to_string()),
        },
    };
    Movement {
        id: t.id.to_string(),
        kind: t.type_.as_str().to_string(),
        amount: Money::from_cents(t.amount),
        fee: Money::from_cents(t.fee),
        net: Money::from_cents(t.net),
        created: t.created,
        source,
    }
}

fn transfer_info(t: &stripe_shared::Transfer) -> TransferInfo {
    TransferInfo {
        id: t.id.to_string(),
        destination: t.destination.as_ref().map(expandable_id).unwrap_or_default(),
        amount: Money::from_cents(t.amount),
        reversed: Money::from_cents(t.amount_reversed),
        metadata: t.metadata.clone(),
    }
}

/// Stripe's page size limit for lists ("limit … between 1 and 100").
const PAGE: i64 = 100;

impl Stripe {
    /// Every balance transaction created in `[from, to)` (Unix seconds), with its source
    /// expanded ("List all balance transactions", `expand[]=data.source`), newest first.
    pub async fn balance(&self, from: i64, to: i64) -> Result<Vec<Movement>, PaymentError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let bounds = stripe_types::RangeBoundsTs {
                gte: Some(from),
                lt: Some(to),
                ..Default::default()
            };
            let page = self
                .with_retries(|| {
                    let mut call = stripe_core::balance_transaction::ListBalanceTransaction::new()
                        .created(stripe_types::RangeQueryTs::Bounds(bounds))
                        .expand(vec!["data.source".to_string()])
                        .limit(PAGE);
                    if let Some(a) = &after {
                        call = call.starting_after(a.clone());
                    }
                    async move { call.send(&self.client).await }
                })
                .await?;
            out.extend(page.data.iter().map(movement));
            match (page.has_more, page.data.last()) {
                (true, Some(last)) => after = Some(last.id.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// The charge of a payment, with Stripe's fee from its balance transaction; `None` while it
    /// has none (a delayed payment not settled).
    pub async fn charge_of(&self, payment_intent: &str) -> Result<Option<ChargeInfo>, PaymentError> {
        let list = self
            .with_retries(|| {
                let call = stripe_core::charge::ListCharge::new()
                    .payment_intent(payment_intent)
                    .expand(vec!["data.balance_transaction".to_string()])
                    .limit(PAGE);
                async move { call.send(&self.client).await }
            })
            .await?;
        let paid = list.data.iter().find(|c| c.paid && c.status.as_str() == "succeeded");
        Ok(paid.and_then(|c| {
            let fee = c.balance_transaction.as_ref()?.as_object()?.fee;
            Some(ChargeInfo {
                id: c.id.to_string(),
                amount: Money::from_cents(c.amount),
                fee: Money::from_cents(fee),
            })
        }))
    }

    /// The transfers of one group (an order), so a transfer made by a run that died before
    /// recording it is found rather than made again.
    pub async fn transfers_in_group(&self, group: &str) -> Result<Vec<TransferInfo>, PaymentError> {
        let list = self
            .with_retries(|| {
                let call = stripe_connect::transfer::ListTransfer::new()
                    .transfer_group(group)
                    .limit(PAGE);
                async move { call.send(&self.client).await }
            })
            .await?;
        Ok(list.data.iter().map(transfer_info).collect())
    }

    /// Sends a connected account its part ("Create a transfer"), once per key.
    pub async fn transfer(&self, t: &NewTransfer<'_>, idempotency_key: &str) -> Result<TransferInfo, PaymentError> {
        let req = stripe_connect::transfer::CreateTransfer::new(stripe_currency(t.currency), t.destination)
            .amount(t.amount.cents())
            .source_transaction(t.source_transaction)
            .transfer_group(t.transfer_group)
            .metadata(t.metadata.clone());
        let created = self.send_idempotent(&req, idempotency_key).await?;
        Ok(transfer_info(&created))
    }

    /// Takes `amount` back from a transfer ("Create a transfer reversal"), once per key. Stripe
    /// refuses (`balance_insufficient`) when the connected account no longer holds it.
    pub async fn reverse(
        &self,
        transfer: &str,
        amount: Money,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        let req = stripe_connect::transfer_reversal::CreateIdTransferReversal::new(transfer)
            .amount(amount.cents())
            .metadata(metadata);
        self.send_idempotent(&req, idempotency_key).await.map(|_| ())
    }
}
