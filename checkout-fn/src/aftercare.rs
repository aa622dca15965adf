//! After the sale: refunds and disputes are recorded on the order, the voucher codes they take
//! back are voided (a refunded restaurant voucher must not stay valid), and refunded goods go
//! back into stock when the refund says so. Driven by Stripe's events (`charge.refunded`,
//! `charge.dispute.created`, `charge.dispute.closed`), so a refund made in the Stripe dashboard
//! is recorded exactly like one made with `checkout-fn refund`, and each only once.

use crate::AppState;
use crate::dynamo::{Dynamo, Item, StoreError, corrupt, err, get_n, get_s, key, n, s};
use crate::payments::{DisputeInfo, RefundInfo};
use crate::settle::SettleError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chalet_types::table::*;
use chalet_types::{Kind, Money, Order, OrderDispute, OrderRefund, RefundedLine, Sku, VoucherCode};
use std::collections::HashMap;

/// Refund metadata written by `checkout-fn refund`: `sku:qty,sku:qty`.
pub const LINES_META: &str = "lines";
/// Refund metadata: `true` puts the refunded goods back into stock.
pub const RESTOCK_META: &str = "restock";
/// Refund metadata: the order (session id) the refund is for.
pub const ORDER_META: &str = "order";

/// How many times an amendment is retried when another one changed the order first.
const AMEND_RETRIES: usize = 8;

/// What an event changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Aftercare {
    /// The payment is not an order's (a registration fee, or another integration's).
    NotAnOrder,
    /// Nothing new (a redelivery).
    Unchanged,
    /// Refunds or a dispute recorded; codes voided.
    Recorded { refunds: usize, voided: usize },
}

impl Dynamo {
    /// The order a payment belongs to.
    pub async fn order_of_payment(&self, payment_intent: &str) -> Result<Option<String>, StoreError> {
        let found = self
            .get(key(format!("{PAYMENT_PREFIX}{payment_intent}"), PAYMENT_KEY))
            .await?;
        Ok(found.as_ref().and_then(|i| get_s(i, attr::ORDER)).map(str::to_string))
    }

    /// The order and its version (0 before any amendment).
    async fn order_versioned(&self, id: &str) -> Result<Option<(Order, i64)>, StoreError> {
        let found = self.get(key(format!("{ORDER_PREFIX}{id}"), ORDER_KEY)).await?;
        let Some(item) = found.as_ref() else { return Ok(None) };
        let order: Order = serde_json::from_str(get_s(item, attr::BODY).unwrap_or("")).map_err(corrupt("order"))?;
        Ok(Some((order, get_n(item, attr::VERSION).unwrap_or(0))))
    }

    /// Writes `order` if nobody amended it since `version`, with `extra` actions (stock) in the
    /// same transaction. `Ok(false)`: someone did; read again and retry.
    async fn amend(&self, order: &Order, version: i64, extra: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        let body = serde_json::to_string(order).map_err(corrupt("order"))?;
        // Names through placeholders: none of them may collide with DynamoDB's reserved words.
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("{ORDER_PREFIX}{}", order.id), ORDER_KEY)))
            .update_expression("SET #b = :body, #v = :next")
            .condition_expression(
                "attribute_exists(#pk) AND (#v = :version OR (attribute_not_exists(#v) AND :version = :zero))",
            )
            .expression_attribute_names("#b", attr::BODY)
            .expression_attribute_names("#v", attr::VERSION)
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":body", s(body))
            .expression_attribute_values(":next", n(version + 1))
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(err)?;
        let mut actions = vec![TransactWriteItem::builder().update(update).build()];
        actions.extend(extra);
        self.transact_idempotent(actions).await
    }

    /// Voids these codes where they are still `issued` (a redeemed code stays redeemed).
    /// Idempotent; returns how many changed now.
    pub async fn void_codes(&self, codes: &[&VoucherCode]) -> Result<usize, StoreError> {
        let mut voided = 0;
        for code in codes {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(format!("{CODE_PREFIX}{}", code.as_str()), CODE_KEY)))
                .update_expression("SET #s = :voided")
                .condition_expression("#s = :issued")
                .expression_attribute_names("#s", attr::STATUS)
                .expression_attribute_values(":voided", s(CodeStatus::Voided.as_str()))
                .expression_attribute_values(":issued", s(CodeStatus::Issued.as_str()))
                .send()
                .await;
            match result {
                Ok(_) => voided += 1,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(err(e)),
            }
        }
        Ok(voided)
    }

    /// A code's status (`None`: no such code).
    pub async fn code_status(&self, code: &VoucherCode) -> Result<Option<CodeStatus>, StoreError> {
        let found = self
            .get(key(format!("{CODE_PREFIX}{}", code.as_str()), CODE_KEY))
            .await?;
        Ok(found
            .as_ref()
            .and_then(|i: &Item| get_s(i, attr::STATUS))
            .and_then(CodeStatus::parse))
    }

    /// The stock update that gives `quantity` sold units of `sku` back.
    fn restock(&self, sku: &Sku, quantity: u32) -> Result<TransactWriteItem, StoreError> {
        let (pk, sk) = catalogue_key(sku);
        self.update(
            key(pk, sk),
            "SET committed = committed - :q, sold = sold - :q",
            Some("sold >= :q"),
            HashMap::from([(":q".into(), n(quantity))]),
        )
    }
}

/// Units of each line already refunded by earlier refunds.
fn refunded_so_far(order: &Order) -> HashMap<&Sku, u32> {
    let mut out: HashMap<&Sku, u32> = HashMap::new();
    for r in &order.refunds {
        for l in &r.lines {
            *out.entry(&l.sku).or_default() += l.quantity;
        }
    }
    out
}

/// Which lines a refund gave back: as its metadata says (`checkout-fn refund`), else — a refund
/// made in the dashboard — everything left when it refunds all that is left, else the one line
/// whose remaining amount (or one unit of which) it equals. Ambiguous: no lines.
pub fn attribute(order: &Order, refund: &RefundInfo) -> Vec<RefundedLine> {
    let done = refunded_so_far(order);
    let left = |sku: &Sku, bought: u32| bought.saturating_sub(done.get(sku).copied().unwrap_or(0));
    if let Some(spec) = refund.metadata.get(LINES_META) {
        return parse_lines(spec)
            .into_iter()
            .filter_map(|(sku, q)| {
                let line = order.lines.iter().find(|l| l.sku == sku)?;
                let quantity = q.unwrap_or(line.quantity).min(left(&line.sku, line.quantity));
                (quantity > 0).then_some(RefundedLine { sku, quantity })
            })
            .collect();
    }
    let remaining: Vec<RefundedLine> = order
        .lines
        .iter()
        .filter(|l| left(&l.sku, l.quantity) > 0)
        .map(|l| RefundedLine {
            sku: l.sku.clone(),
            quantity: left(&l.sku, l.quantity),
        })
        .collect();
    let refunded: i64 = order.refunds.iter().map(|r| r.amount.cents()).sum();
    if refund.amount.cents() == order.total.cents() - refunded {
        return remaining;
    }
    let price = |sku: &Sku| {
        order
            .lines
            .iter()
            .find(|l| l.sku == *sku)
            .map_or(0, |l| l.unit_price.cents())
    };
    let whole: Vec<&RefundedLine> = remaining
        .iter()
        .filter(|r| price(&r.sku) * i64::from(r.quantity) == refund.amount.cents())
        .collect();
    if let [one] = whole.as_slice() {
        return vec![(*one).clone()];
    }
    let unit: Vec<&RefundedLine> = remaining
        .iter()
        .filter(|r| price(&r.sku) == refund.amount.cents())
        .collect();
    if let [one] = unit.as_slice() {
        return vec![RefundedLine {
            sku: one.sku.clone(),
            quantity: 1,
        }];
    }
    Vec::new()
}

/// `sku:qty,sku` → SKUs with optional quantities (malformed parts are skipped).
pub fn parse_lines(spec: &str) -> Vec<(Sku, Option<u32>)> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .filter_map(|part| {
            let (sku, q) = match part.trim().rsplit_once(':') {
                Some((sku, q)) => (sku, Some(q.parse().ok()?)),
                None => (part.trim(), None),
            };
            Some((Sku::parse(sku)?, q))
        })
        .collect()
}

/// The codes a refund of `lines` takes back: for each voucher line, that many codes not redeemed.
async fn codes_for(st: &AppState, order: &Order, lines: &[RefundedLine]) -> Result<Vec<VoucherCode>, StoreError> {
    let mut out = Vec::new();
    for r in lines {
        let Some(line) = order.lines.iter().find(|l| l.sku == r.sku) else {
            continue;
        };
        let mut wanted = r.quantity as usize;
        for code in &line.voucher_codes {
            if wanted == 0 {
                break;
            }
            if st.store.code_status(code).await? != Some(CodeStatus::Redeemed) {
                out.push(code.clone());
                wanted -= 1;
            }
        }
    }
    Ok(out)
}

/// `charge.refunded`: every refund of the payment not yet on its order is recorded, its codes
/// voided and, if asked, its goods restocked.
pub async fn record_refunds(st: &AppState, payment_intent: &str) -> Result<Aftercare, SettleError> {
    let Some(order_id) = st.store.order_of_payment(payment_intent).await? else {
        return Ok(Aftercare::NotAnOrder);
    };
    let refunds = st.stripe.refunds(payment_intent).await?;
    for _ in 0..AMEND_RETRIES {
        let Some((mut order, version)) = st.store.order_versioned(&order_id).await? else {
            return Ok(Aftercare::NotAnOrder);
        };
        let new: Vec<&RefundInfo> = refunds
            .iter()
            .rev() // Stripe lists newest first; record oldest first
            .filter(|r| matches!(r.status.as_deref(), Some("succeeded") | Some("pending") | None))
            .filter(|r| !order.refunds.iter().any(|o| o.id == r.id))
            .collect();
        if new.is_empty() {
            return Ok(Aftercare::Unchanged);
        }
        let mut voided = 0;
        let mut stock = Vec::new();
        for r in &new {
            let lines = attribute(&order, r);
            // Voided before the refund is recorded: if this stops halfway, the redelivery
            // finds the refund unrecorded and voids again (idempotent), never the reverse.
            let codes = codes_for(st, &order, &lines).await?;
            voided += st.store.void_codes(&codes.iter().collect::<Vec<_>>()).await?;
            let restock = r.metadata.get(RESTOCK_META).is_some_and(|v| v == "true");
            if restock {
                for l in &lines {
                    let limited_goods = order.lines.iter().any(|o| o.sku == l.sku && o.voucher_codes.is_empty());
                    if limited_goods && is_limited(st, &l.sku).await? {
                        stock.push(st.store.restock(&l.sku, l.quantity)?);
                    }
                }
            }
            if lines.is_empty() {
                order.needs_attention = true;
            }
            order.refunds.push(OrderRefund {
                id: r.id.clone(),
                amount: r.amount,
                restocked: restock && !lines.is_empty(),
                lines,
            });
        }
        if st.store.amend(&order, version, stock).await? {
            return Ok(Aftercare::Recorded {
                refunds: new.len(),
                voided,
            });
        }
    }
    Err(SettleError::Store(StoreError::Conflicts))
}

async fn is_limited(st: &AppState, sku: &Sku) -> Result<bool, StoreError> {
    Ok(st
        .store
        .items(std::slice::from_ref(sku))
        .await?
        .first()
        .is_some_and(|s| s.total.is_some() && s.item.kind != Kind::Voucher))
}

/// `charge.dispute.created` / `…closed`: the dispute is recorded (or its status updated); a new
/// dispute voids the order's unredeemed codes, as a refund would.
pub async fn record_dispute(st: &AppState, dispute: &DisputeInfo) -> Result<Aftercare, SettleError> {
    let Some(pi) = &dispute.payment_intent else {
        return Ok(Aftercare::NotAnOrder);
    };
    let Some(order_id) = st.store.order_of_payment(pi).await? else {
        return Ok(Aftercare::NotAnOrder);
    };
    for _ in 0..AMEND_RETRIES {
        let Some((mut order, version)) = st.store.order_versioned(&order_id).await? else {
            return Ok(Aftercare::NotAnOrder);
        };
        let entry = OrderDispute {
            id: dispute.id.clone(),
            amount: dispute.amount,
            reason: dispute.reason.clone(),
            status: dispute.status.clone(),
        };
        let mut voided = 0;
        match order.disputes.iter_mut().find(|d| d.id == dispute.id) {
            Some(known) if *known == entry => return Ok(Aftercare::Unchanged),
            Some(known) => *known = entry,
            None => {
                let codes: Vec<&VoucherCode> = order.lines.iter().flat_map(|l| &l.voucher_codes).collect();
                voided = st.store.void_codes(&codes).await?;
                order.disputes.push(entry);
            }
        }
        if st.store.amend(&order, version, Vec::new()).await? {
            return Ok(Aftercare::Recorded { refunds: 0, voided });
        }
    }
    Err(SettleError::Store(StoreError::Conflicts))
}

/// What `checkout-fn refund` asks Stripe for: the amount of these lines (all that is left when
/// none are named) and the metadata the event's bookkeeping reads.
pub fn refund_request(
    order: &Order,
    wanted: &[(Sku, Option<u32>)],
    restock: bool,
) -> Result<(Option<Money>, HashMap<String, String>), String> {
    let done = refunded_so_far(order);
    let mut lines = Vec::new();
    let mut amount = Money::ZERO;
    for (sku, q) in wanted {
        let line = order
            .lines
            .iter()
            .find(|l| l.sku == *sku)
            .ok_or_else(|| format!("the order has no line {sku}"))?;
        let left = line.quantity.saturating_sub(done.get(sku).copied().unwrap_or(0));
        let quantity = q.unwrap_or(left);
        if quantity == 0 || quantity > left {
            return Err(format!("{sku}: {left} unit(s) left to refund, not {quantity}"));
        }
        amount = amount
            .checked_add(line.unit_price.checked_mul(quantity).ok_or("amount overflow")?)
            .ok_or("amount overflow")?;
        lines.push(format!("{sku}:{quantity}"));
    }
    let mut metadata = HashMap::from([
        (ORDER_META.to_string(), order.id.clone()),
        (RESTOCK_META.to_string(), restock.to_string()),
    ]);
    if lines.is_empty() {
        // Everything left, shipping included: Stripe refunds the rest of the charge.
        let all: Vec<String> = order
            .lines
            .iter()
            .filter_map(|l| {
                let left = l.quantity.saturating_sub(done.get(&l.sku).copied().unwrap_or(0));
                (left > 0).then(|| format!("{}:{left}", l.sku))
            })
            .collect();
        metadata.insert(LINES_META.into(), all.join(","));
        return Ok((None, metadata));
    }
    metadata.insert(LINES_META.into(), lines.join(","));
    Ok((Some(amount), metadata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chalet_types::{ChaletFulfilment, FulfilmentChoice, OrderLine};

    fn order() -> Order {
        let line = |sku: &str, cents: i64, quantity: u32| {
            OrderLine::plain(Sku::parse(sku).expect("sku"), Money::from_cents(cents), quantity)
        };
        let a = Sku::parse("t/menu").expect("sku");
        Order {
            id: "cs_1".into(),
            created: "2026-12-03T10:00:00Z".into(),
            email: None,
            name: None,
            phone: None,
            ship_to: None,
            lines: vec![line("t/menu", 5500, 2), line("t/bon", 5000, 1)],
            fulfilment: vec![ChaletFulfilment {
                chalet: a.chalet.clone(),
                chalet_name: "T".into(),
                choice: FulfilmentChoice::Pickup,
                shipping_fee: Money::ZERO,
                pickup_at: None,
                gift_note: None,
            }],
            total: Money::from_cents(16_000),
            payment_intent: Some("pi_1".into()),
            needs_attention: false,
            refunds: Vec::new(),
            disputes: Vec::new(),
        }
    }

    fn refund(cents: i64, metadata: &[(&str, &str)]) -> RefundInfo {
        RefundInfo {
            id: "re_1".into(),
            amount: Money::from_cents(cents),
            metadata: metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            status: Some("succeeded".into()),
        }
    }

    fn names(lines: &[RefundedLine]) -> Vec<(String, u32)> {
        lines.iter().map(|l| (l.sku.to_string(), l.quantity)).collect()
    }

    #[test]
    fn refunds_are_matched_to_lines_by_metadata_then_by_amount() {
        let o = order();
        assert_eq!(
            names(&attribute(&o, &refund(5500, &[(LINES_META, "t/menu:1")]))),
            vec![("t/menu".into(), 1)]
        );
        assert_eq!(names(&attribute(&o, &refund(16_000, &[]))).len(), 2, "everything");
        assert_eq!(
            names(&attribute(&o, &refund(11_000, &[]))),
            vec![("t/menu".into(), 2)],
            "the whole menu line"
        );
        assert_eq!(
            names(&attribute(&o, &refund(5000, &[]))),
            vec![("t/bon".into(), 1)],
            "one unit of the only line at that price"
        );
        assert!(
            attribute(&o, &refund(1234, &[])).is_empty(),
            "ambiguous: the organiser looks"
        );
    }

    #[test]
    fn a_refund_request_prices_its_lines_and_refuses_more_than_is_left() {
        let mut o = order();
        let menu = Sku::parse("t/menu").expect("sku");
        let (amount, meta) = refund_request(&o, &[(menu.clone(), Some(1))], true).expect("valid");
        assert_eq!(amount, Some(Money::from_cents(5500)));
        assert_eq!(meta[LINES_META], "t/menu:1");
        assert_eq!(meta[RESTOCK_META], "true");
        o.refunds.push(OrderRefund {
            id: "re_0".into(),
            amount: Money::from_cents(11_000),
            lines: vec![RefundedLine {
                sku: menu.clone(),
                quantity: 2,
            }],
            restocked: false,
        });
        assert!(
            refund_request(&o, &[(menu, None)], false).is_err(),
            "nothing left of it"
        );
        let (amount, meta) = refund_request(&o, &[], false).expect("the rest");
        assert_eq!((amount, meta[LINES_META].as_str()), (None, "t/bon:1"));
        assert_eq!(
            parse_lines("a/b:2, c/d ,bad,e/f:x"),
            vec![
                (Sku::parse("a/b").expect("sku"), Some(2)),
                (Sku::parse("c/d").expect("sku"), None)
            ]
        );
    }
}
