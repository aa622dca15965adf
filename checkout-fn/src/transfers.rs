//! `checkout-fn transfers [--dry-run]`: each chalet with a Stripe connected account
//! (`payouts: { stripe_account: acct_… }`) is paid its share of every order — Connect's
//! "separate charges and transfers": one transfer per chalet and order, `transfer_group` = the
//! order, `source_transaction` = its charge (so it may go before the charge is available).
//!
//! What a share pays is [`crate::split`]'s net (gross − its part of Stripe's fee − commission),
//! less the refunds already made, less what the chalet owes back. A refund after the transfer
//! reverses that much of it; when the connected account no longer holds it (paid out to the
//! bank), Stripe refuses (`balance_insufficient`) and the amount becomes the chalet's debt,
//! netted on its next transfers. Exactly once, whatever fails when:
//! - the transfer's idempotency key is the order and chalet, and before creating one the order's
//!   transfer group is listed at Stripe, so a run that died after Stripe acted and before the
//!   table heard of it adopts the transfer instead of paying twice (keys live 24 hours);
//! - the record (`ORDER#…`/`PAYOUT#…`) is written only if absent, then amended under a version,
//!   with the debt's change in the same transaction; a reversal's key is the order, chalet and
//!   refund.
//!
//! Orders with an open or lost dispute are held; registrations are not orders and never move.

use crate::AppState;
use crate::dynamo::{Dynamo, StoreError, corrupt, err, get_n, get_s, key, n, s};
use crate::payments::PaymentError;
use crate::payments::balance::NewTransfer;
use crate::split;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chalet_types::table::*;
use chalet_types::{Money, Order, Slug};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What was paid one chalet for one order, as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub account: String,
    /// Absent when nothing was sent (all refunded, or all netted against a debt).
    pub transfer: Option<String>,
    pub amount: Money,
    pub reversed: Money,
    /// Of the share, what went to pay the chalet's debt instead.
    pub netted: Money,
    /// The order's refunds already counted (in the amount, or reversed, or made a debt).
    pub refunds: Vec<String>,
}

/// One thing a run did (or, dry, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Transfer {
        order: String,
        chalet: Slug,
        amount: Money,
        account: String,
        transfer: Option<String>,
        netted: Money,
    },
    Nothing {
        order: String,
        chalet: Slug,
        netted: Money,
    },
    Reverse {
        order: String,
        chalet: Slug,
        amount: Money,
        transfer: String,
    },
    /// Refunded after the transfer, and not reversible: owed back.
    Owed {
        order: String,
        chalet: Slug,
        amount: Money,
    },
    Held {
        order: String,
        why: &'static str,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let eur = |m: &Money| m.to_decimal_string();
        match self {
            Step::Transfer {
                order,
                chalet,
                amount,
                account,
                transfer,
                netted,
            } => {
                write!(f, "transfer {order} {chalet} {} -> {account}", eur(amount))?;
                if let Some(t) = transfer {
                    write!(f, " ({t})")?;
                }
                if netted.cents() > 0 {
                    write!(f, ", {} netted against its debt", eur(netted))?;
                }
                Ok(())
            }
            Step::Nothing { order, chalet, netted } => {
                write!(
                    f,
                    "nothing to send {order} {chalet} ({} netted against its debt)",
                    eur(netted)
                )
            }
            Step::Reverse {
                order,
                chalet,
                amount,
                transfer,
            } => {
                write!(f, "reverse {order} {chalet} {} of {transfer}", eur(amount))
            }
            Step::Owed { order, chalet, amount } => {
                write!(
                    f,
                    "owed back {order} {chalet} {}: netted on its next transfer",
                    eur(amount)
                )
            }
            Step::Held { order, why } => write!(f, "held {order}: {why}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the table could not be read or written")]
    Store(#[from] StoreError),
    #[error("Stripe refused or did not answer")]
    Stripe(#[from] PaymentError),
}

/// What the chalet is still owed for its part of `order`, before any debt: its net, less every
/// refund made so far.
pub fn owed(order: &Order, chalet: &Slug, fee: Money, commission_bp: u32) -> Money {
    let share = split::shares(order, fee, commission_bp)
        .into_iter()
        .find(|s| &s.chalet == chalet)
        .map_or(0, |s| s.net().cents());
    let refunded: i64 = order
        .refunds
        .iter()
        .flat_map(|r| split::refund_shares(order, r, commission_bp))
        .filter(|r| &r.chalet == chalet)
        .map(|r| r.net().cents())
        .sum();
    Money::from_cents(share - refunded)
}

/// A refund's take from the chalet's net.
fn refund_part(order: &Order, refund: &chalet_types::OrderRefund, chalet: &Slug, commission_bp: u32) -> Money {
    split::refund_shares(order, refund, commission_bp)
        .into_iter()
        .find(|r| &r.chalet == chalet)
        .map_or(Money::ZERO, |r| r.net())
}

fn held(order: &Order) -> Option<&'static str> {
    if order.disputes.iter().any(|d| d.status != "won") {
        return Some("its payment is disputed");
    }
    if order.payment_intent.is_none() || order.total.cents() <= 0 {
        return Some("no payment to transfer from");
    }
    None
}

impl Dynamo {
    /// A chalet's payout record for an order, with its version.
    async fn payout(&self, order: &str, chalet: &Slug) -> Result<Option<(Payout, i64)>, StoreError> {
        let found = self
            .get(key(
                format!("{ORDER_PREFIX}{order}"),
                format!("{PAYOUT_PREFIX}{chalet}"),
            ))
            .await?;
        let Some(item) = found.as_ref() else { return Ok(None) };
        let body = serde_json::from_str(get_s(item, attr::BODY).unwrap_or("")).map_err(corrupt("payout"))?;
        Ok(Some((body, get_n(item, attr::VERSION).unwrap_or(0))))
    }

    /// What a chalet owes back.
    pub async fn debt(&self, chalet: &Slug) -> Result<Money, StoreError> {
        let found = self.get(key(format!("{DEBT_PREFIX}{chalet}"), DEBT_KEY)).await?;
        Ok(Money::from_cents(
            found.as_ref().and_then(|i| get_n(i, attr::OWED)).unwrap_or(0),
        ))
    }

    /// Writes the payout (new when `version` is `None`, else only over that version) and changes
    /// the chalet's debt by `debt_change`, in one transaction. `Ok(false)`: another run did first.
    async fn save_payout(
        &self,
        order: &str,
        chalet: &Slug,
        payout: &Payout,
        version: Option<i64>,
        debt_change: i64,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_string(payout).map_err(corrupt("payout"))?;
        let k = key(format!("{ORDER_PREFIX}{order}"), format!("{PAYOUT_PREFIX}{chalet}"));
        let mut actions = Vec::new();
        match version {
            None => {
                let mut item = k;
                item.insert(attr::BODY.into(), s(body));
                item.insert(attr::VERSION.into(), n(0));
                actions.push(self.put(item, true)?);
            }
            Some(v) => {
                // Names through placeholders: none may collide with DynamoDB's reserved words.
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(k))
                    .update_expression("SET #b = :body, #v = :next")
                    .condition_expression("#v = :version")
                    .expression_attribute_names("#b", attr::BODY)
                    .expression_attribute_names("#v", attr::VERSION)
                    .expression_attribute_values(":body", s(body))
                    .expression_attribute_values(":next", n(v + 1))
                    .expression_attribute_values(":version", n(v))
                    .build()
                    .map_err(err)?;
                actions.push(TransactWriteItem::builder().update(update).build());
            }
        }
        if debt_change != 0 {
            // A debt never goes below zero: netting takes at most what is owed.
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(format!("{DEBT_PREFIX}{chalet}"), DEBT_KEY)))
                .update_expression("ADD #o :change")
                .condition_expression("attribute_not_exists(#o) OR #o >= :floor")
                .expression_attribute_names("#o", attr::OWED)
                .expression_attribute_values(":change", n(debt_change))
                .expression_attribute_values(":floor", n(-debt_change))
                .build()
                .map_err(err)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        self.transact_idempotent(actions).await
    }
}

/// Runs every order through; `dry`: only says what it would do.
pub async fn run(st: &AppState, dry: bool) -> Result<Vec<Step>, TransferError> {
    let market = st.store.market().await?.unwrap_or_default();
    let mut orders = st.store.all_orders().await?;
    orders.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    let mut accounts: HashMap<Slug, Option<String>> = HashMap::new();
    let mut steps = Vec::new();
    for order in &orders {
        let mut chalets = Vec::new();
        for c in order.chalets() {
            if !accounts.contains_key(c) {
                let items = st.store.availability(c).await?;
                accounts.insert(c.clone(), items.iter().find_map(|i| i.item.stripe_account.clone()));
            }
            if let Some(Some(acct)) = accounts.get(c) {
                chalets.push((c.clone(), acct.clone()));
            }
        }
        if chalets.is_empty() {
            continue;
        }
        if let Some(why) = held(order) {
            steps.push(Step::Held {
                order: order.id.clone(),
                why,
            });
            continue;
        }
        let mut charge = None;
        for (chalet, account) in chalets {
            match st.store.payout(&order.id, &chalet).await? {
                None => {
                    if charge.is_none() {
                        let pi = order.payment_intent.as_deref().unwrap_or_default();
                        charge = st.stripe.charge_of(pi).await?;
                    }
                    let Some(ch) = charge.as_ref() else {
                        steps.push(Step::Held {
                            order: order.id.clone(),
                            why: "its charge is not settled at Stripe",
                        });
                        break;
                    };
                    steps.extend(
                        first_transfer(
                            st,
                            order,
                            &chalet,
                            &account,
                            ch,
                            market.currency,
                            market.commission_bp,
                            dry,
                        )
                        .await?,
                    );
                }
                Some((payout, version)) => {
                    steps.extend(later_refunds(st, order, &chalet, payout, version, market.commission_bp, dry).await?);
                }
            }
        }
    }
    Ok(steps)
}

#[allow(clippy::too_many_arguments)]
async fn first_transfer(
    st: &AppState,
    order: &Order,
    chalet: &Slug,
    account: &str,
    charge: &crate::payments::balance::ChargeInfo,
    currency: chalet_types::Currency,
    bp: u32,
    dry: bool,
) -> Result<Vec<Step>, TransferError> {
    let owed = owed(order, chalet, charge.fee, bp).cents().max(0);
    let debt = st.store.debt(chalet).await?.cents().max(0);
    let netted = debt.min(owed);
    let amount = owed - netted;
    let mut payout = Payout {
        account: account.to_string(),
        transfer: None,
        amount: Money::from_cents(amount),
        reversed: Money::ZERO,
        netted: Money::from_cents(netted),
        refunds: order.refunds.iter().map(|r| r.id.clone()).collect(),
    };
    if amount > 0 && !dry {
        let found = st
            .stripe
            .transfers_in_group(&order.id)
            .await?
            .into_iter()
            .find(|t| t.metadata.get("chalet").map(String::as_str) == Some(chalet.as_str()));
        let t = match found {
            Some(t) => t,
            None => {
                let metadata = HashMap::from([
                    ("order".to_string(), order.id.clone()),
                    ("chalet".to_string(), chalet.to_string()),
                ]);
                let new = NewTransfer {
                    amount: payout.amount,
                    currency,
                    destination: account,
                    source_transaction: &charge.id,
                    transfer_group: &order.id,
                    metadata,
                };
                st.stripe
                    .transfer(&new, &format!("transfer-{}-{chalet}", order.id))
                    .await?
            }
        };
        // What Stripe holds is the truth: an adopted transfer may be of another amount.
        payout.amount = t.amount;
        payout.transfer = Some(t.id);
    }
    if !dry && !st.store.save_payout(&order.id, chalet, &payout, None, -netted).await? {
        return Ok(Vec::new());
    }
    let step = if amount > 0 {
        Step::Transfer {
            order: order.id.clone(),
            chalet: chalet.clone(),
            amount: payout.amount,
            account: account.to_string(),
            transfer: payout.transfer,
            netted: payout.netted,
        }
    } else {
        Step::Nothing {
            order: order.id.clone(),
            chalet: chalet.clone(),
            netted: payout.netted,
        }
    };
    Ok(vec![step])
}

/// Refunds made since the chalet was paid: each reverses its part of the transfer, or becomes
/// the chalet's debt.
async fn later_refunds(
    st: &AppState,
    order: &Order,
    chalet: &Slug,
    mut payout: Payout,
    mut version: i64,
    bp: u32,
    dry: bool,
) -> Result<Vec<Step>, TransferError> {
    let mut steps = Vec::new();
    let new: Vec<&chalet_types::OrderRefund> = order
        .refunds
        .iter()
        .filter(|r| !payout.refunds.contains(&r.id))
        .collect();
    for refund in new {
        let part = refund_part(order, refund, chalet, bp).cents().max(0);
        let left = payout.amount.cents() - payout.reversed.cents();
        let mut take = part.min(left).max(0);
        if let (Some(transfer), true) = (payout.transfer.clone(), take > 0) {
            if !dry {
                let metadata = HashMap::from([
                    ("order".to_string(), order.id.clone()),
                    ("chalet".to_string(), chalet.to_string()),
                    ("refund".to_string(), refund.id.clone()),
                ]);
                let key = format!("reversal-{}-{chalet}-{}", order.id, refund.id);
                match st
                    .stripe
                    .reverse(&transfer, Money::from_cents(take), metadata, &key)
                    .await
                {
                    Ok(()) => {}
                    Err(PaymentError::Stripe(f)) if f.code.as_deref() == Some("balance_insufficient") => take = 0,
                    Err(e) => return Err(e.into()),
                }
            }
            if take > 0 {
                steps.push(Step::Reverse {
                    order: order.id.clone(),
                    chalet: chalet.clone(),
                    amount: Money::from_cents(take),
                    transfer,
                });
            }
        } else {
            take = 0;
        }
        let owed_back = part - take;
        if owed_back > 0 {
            steps.push(Step::Owed {
                order: order.id.clone(),
                chalet: chalet.clone(),
                amount: Money::from_cents(owed_back),
            });
        }
        payout.reversed = Money::from_cents(payout.reversed.cents() + take);
        payout.refunds.push(refund.id.clone());
        if !dry {
            if !st
                .store
                .save_payout(&order.id, chalet, &payout, Some(version), owed_back)
                .await?
            {
                // Another run counted it first.
                return Ok(Vec::new());
            }
            version += 1;
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalet_types::{OrderDispute, OrderLine, Sku};

    fn order() -> Order {
        let line = |sku: &str, cents: i64, quantity: u32| {
            OrderLine::plain(Sku::parse(sku).expect("sku"), Money::from_cents(cents), quantity)
        };
        Order {
            id: "cs_test_t".into(),
            created: "2026-12-02T09:00:00Z".into(),
            email: None,
            name: None,
            phone: None,
            ship_to: None,
            lines: vec![line("a/x", 1_000, 1), line("b/y", 3_000, 1)],
            fulfilment: Vec::new(),
            total: Money::from_cents(4_000),
            payment_intent: Some("pi_t".into()),
            needs_attention: false,
            refunds: Vec::new(),
            disputes: Vec::new(),
        }
    }

    #[test]
    fn what_is_owed_is_the_net_less_refunds() {
        let mut o = order();
        let a = Slug::parse("a").expect("slug");
        // Fee 85 shared 1:3 → 21.25 → 21 (b takes the larger remainder: 63.75 → 64).
        assert_eq!(owed(&o, &a, Money::from_cents(85), 1_000).cents(), 1_000 - 21 - 100);
        o.refunds.push(chalet_types::OrderRefund {
            id: "re_1".into(),
            amount: Money::from_cents(1_000),
            lines: vec![chalet_types::RefundedLine {
                sku: Sku::parse("a/x").expect("sku"),
                quantity: 1,
            }],
            restocked: false,
        });
        // The refund takes 1,000 less its commission (100): the fee stays the chalet's.
        assert_eq!(owed(&o, &a, Money::from_cents(85), 1_000).cents(), -21);
    }

    #[test]
    fn disputed_orders_are_held_until_won() {
        let mut o = order();
        assert_eq!(held(&o), None);
        o.disputes.push(OrderDispute {
            id: "dp_1".into(),
            amount: o.total,
            reason: "fraudulent".into(),
            status: "needs_response".into(),
        });
        assert!(held(&o).is_some());
        o.disputes[0].status = "won".into();
        assert_eq!(held(&o), None);
    }
}
