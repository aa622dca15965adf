//! Paid orders and registrations: recorded once, read back by session, listed per chalet.
//! Every write here is idempotent, so a redelivered webhook converges on the same records.

use crate::dynamo::{
    Completion, Dynamo, Reservation, ReservationStatus, StoreError, corrupt, err, get_list, get_n, get_s, key, n,
    query_all, s,
};
use chalet_types::table::*;
use chalet_types::{Currency, Kind, Language, Money, Order, OrderLine, VoucherCode};
use std::collections::HashMap;

/// The market-wide settings the function reads from its table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketRow {
    pub name: String,
    pub language: Language,
    pub currency: Currency,
    pub registration_fee: Option<Money>,
    /// Where shipped goods may go (`market.yaml` `shipping_countries`).
    pub shipping_countries: Vec<String>,
    /// Ask pickup shoppers for a phone (`market.yaml` `collect_phone`).
    pub collect_phone: bool,
    /// Who to write to with a question: the receipt's last lines.
    pub organiser: Option<chalet_types::OrganiserContact>,
    /// The receipt's strings, from the theme (`mail_*` keys, prefix dropped).
    pub mail: std::collections::BTreeMap<String, String>,
    /// The organisers' commission in basis points (`market.yaml` `commission_percent`).
    pub commission_bp: u32,
}

impl Default for MarketRow {
    fn default() -> MarketRow {
        MarketRow {
            name: String::new(),
            language: Language::default(),
            currency: Currency::default(),
            registration_fee: None,
            shipping_countries: chalet_types::catalogue::default_shipping_countries(),
            collect_phone: true,
            organiser: None,
            mail: Default::default(),
            commission_bp: 0,
        }
    }
}

impl Dynamo {
    /// Records the paid order exactly once and turns held stock into sold stock.
    /// Every write is idempotent, so a retried or concurrent delivery converges on one order.
    pub async fn complete(
        &self,
        id: &str,
        session: &crate::payments::PaidSession,
        codes_key: &[u8],
        receipt_due: bool,
    ) -> Result<Completion, StoreError> {
        let Some(stored) = self.stored_reservation(id).await? else {
            return Ok(Completion::UnknownReservation);
        };
        let (res, status) = (stored.body, stored.status);
        let order = build_order(&res, session, codes_key, status == ReservationStatus::Released);
        // 1. The order and its per-chalet shares and codes: deterministic, so rewriting is harmless.
        self.put_order(&order, &res, receipt_due).await?;
        // 2. The stock: held → sold (or, for a payment after release, taken again).
        let (from, stock_expr) = match status {
            ReservationStatus::Sold => return Ok(Completion::AlreadyRecorded),
            ReservationStatus::Held => (
                ReservationStatus::Held,
                "SET reserved = reserved - :q, sold = sold + :q",
            ),
            ReservationStatus::Released => {
                tracing::warn!(reservation = %id, "payment completed after its reservation was released; stock taken again");
                (
                    ReservationStatus::Released,
                    "SET committed = committed + :q, sold = sold + :q",
                )
            }
        };
        let mut actions = vec![self.update(
            key(format!("{RESERVATION_PREFIX}{id}"), RESERVATION_KEY),
            &format!(
                "SET #s = :sold, {} = :sid REMOVE {CHALET_INDEX_PARTITION_KEY}, {CHALET_INDEX_SORT_KEY}",
                attr::SESSION_ID
            ),
            Some("#s = :from"),
            HashMap::from([
                (":sold".into(), s(ReservationStatus::Sold.as_str())),
                (":from".into(), s(from.as_str())),
                (":sid".into(), s(&order.id)),
            ]),
        )?];
        for (sku, quantity) in res.held_units() {
            let (pk, sk) = catalogue_key(&sku);
            actions.push(self.update(
                key(pk, sk),
                stock_expr,
                None,
                HashMap::from([(":q".into(), n(quantity))]),
            )?);
        }
        // A sale closes the client's open reservation (a payment after release already did).
        if let (Some(c), ReservationStatus::Held) = (&stored.client, from) {
            actions.push(self.client_count(c, -1, crate::now())?);
        }
        let done = self.transact_idempotent(actions).await?;
        Ok(if done {
            Completion::Recorded
        } else {
            Completion::AlreadyRecorded
        })
    }

    async fn put_order(&self, order: &Order, res: &Reservation, receipt_due: bool) -> Result<(), StoreError> {
        let body = serde_json::to_string(order).map_err(corrupt("order"))?;
        let mut item = key(format!("{ORDER_PREFIX}{}", order.id), ORDER_KEY);
        item.insert(attr::BODY.into(), s(body));
        item.insert(attr::CREATED.into(), s(&order.created));
        item.insert(attr::RESERVATION.into(), s(&res.id));
        if receipt_due {
            // Pending until sent: the reconciler retries what no delivery managed to send.
            item.insert(CHALET_INDEX_PARTITION_KEY.into(), s(RECEIPTS_INDEX_KEY));
            item.insert(
                CHALET_INDEX_SORT_KEY.into(),
                s(format!("{}#{}", order.created, order.id)),
            );
        }
        let mut puts = vec![item];
        for c in &order.fulfilment {
            // What this artisan needs to hand the goods over, and nothing more: a shipping share
            // has the address, a pickup share the name and phone to recognise the shopper.
            let mut share = serde_json::json!({
                "order": order.id,
                "created": order.created,
                "fulfilment": c,
                "lines": order.lines.iter().filter(|l| l.sku.chalet == c.chalet).collect::<Vec<_>>(),
            });
            match c.choice {
                chalet_types::FulfilmentChoice::Shipping => share["ship_to"] = serde_json::json!(order.ship_to),
                chalet_types::FulfilmentChoice::Pickup => {
                    share["name"] = serde_json::json!(order.name);
                    share["phone"] = serde_json::json!(order.phone);
                }
            }
            let mut item = key(
                format!("{ORDER_PREFIX}{}", order.id),
                format!("{CHALET_PREFIX}{}", c.chalet),
            );
            item.insert(
                CHALET_INDEX_PARTITION_KEY.into(),
                s(format!("{CHALET_PREFIX}{}", c.chalet)),
            );
            item.insert(
                CHALET_INDEX_SORT_KEY.into(),
                s(format!("{}#{}", order.created, order.id)),
            );
            item.insert(attr::BODY.into(), s(share.to_string()));
            puts.push(item);
        }
        for l in &order.lines {
            for code in &l.voucher_codes {
                let mut item = key(format!("{CODE_PREFIX}{}", code.as_str()), CODE_KEY);
                item.insert(attr::SKU.into(), s(l.sku.to_string()));
                item.insert(attr::ORDER.into(), s(&order.id));
                item.insert(attr::STATUS.into(), s(CodeStatus::Issued.as_str()));
                puts.push(item);
            }
        }
        if let Some(pi) = &order.payment_intent {
            let mut item = key(format!("{PAYMENT_PREFIX}{pi}"), PAYMENT_KEY);
            item.insert(attr::ORDER.into(), s(&order.id));
            puts.push(item);
        }
        for item in puts {
            // Written once: a redelivery must neither reset a redeemed code to `issued` nor
            // rewrite the order without the `needs_attention` its first recording found.
            let req = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY);
            if let Err(e) = req.send().await {
                let conditional = e
                    .as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception());
                if !conditional {
                    return Err(err(e));
                }
            }
        }
        Ok(())
    }

    pub async fn order(&self, session_id: &str) -> Result<Option<Order>, StoreError> {
        let found = self.get(key(format!("{ORDER_PREFIX}{session_id}"), ORDER_KEY)).await?;
        match found.as_ref().and_then(|i| get_s(i, attr::BODY)) {
            Some(body) => serde_json::from_str(body).map(Some).map_err(corrupt("order")),
            None => Ok(None),
        }
    }

    /// The market row `publish` wrote: its name, language, currency and registration fee.
    pub async fn market(&self) -> Result<Option<MarketRow>, StoreError> {
        let found = self.get(key(MARKET_KEY, CONFIG_KEY)).await?;
        Ok(found.as_ref().map(|i| MarketRow {
            name: get_s(i, attr::NAME).unwrap_or_default().to_string(),
            language: get_s(i, attr::LANGUAGE).and_then(Language::parse).unwrap_or_default(),
            currency: get_s(i, attr::CURRENCY).and_then(Currency::parse).unwrap_or_default(),
            registration_fee: get_n(i, attr::REGISTRATION_FEE).map(Money::from_cents),
            shipping_countries: Some(get_list(i, attr::SHIPPING_COUNTRIES))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(chalet_types::catalogue::default_shipping_countries),
            organiser: get_s(i, attr::ORGANISER_NAME).map(|name| chalet_types::OrganiserContact {
                name: name.to_string(),
                email: get_s(i, attr::ORGANISER_EMAIL).map(str::to_string),
            }),
            mail: i
                .get(attr::MAIL)
                .and_then(|v| v.as_m().ok())
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            commission_bp: get_n(i, attr::COMMISSION_BP).map_or(0, |n| n.clamp(0, 10_000) as u32),
            collect_phone: i
                .get(attr::COLLECT_PHONE)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(true),
        }))
    }

    /// Records a paid registration (idempotent: keyed by the session).
    pub async fn record_registration(
        &self,
        session_id: &str,
        created: &str,
        details: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut item = key(format!("{REGISTRATION_PREFIX}{session_id}"), REGISTRATION_KEY);
        item.insert(CHALET_INDEX_PARTITION_KEY.into(), s(REGISTRATIONS_INDEX_KEY));
        item.insert(CHALET_INDEX_SORT_KEY.into(), s(format!("{created}#{session_id}")));
        item.insert(attr::BODY.into(), s(details.to_string()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Every item of a partition of the by-chalet index (an artisan's order shares, the
    /// registrations, the applications, the orders to retry), oldest first.
    pub async fn index_items(&self, partition: &str) -> Result<Vec<crate::dynamo::Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(CHALET_INDEX)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", CHALET_INDEX_PARTITION_KEY)
            .expression_attribute_values(":p", s(partition));
        query_all(query).await
    }

    /// Rows of an index partition (an artisan's order shares, or the registrations), oldest first.
    pub async fn index_rows(&self, partition: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let items = self.index_items(partition).await?;
        Ok(items
            .iter()
            .filter_map(|i| serde_json::from_str(get_s(i, attr::BODY)?).ok())
            .collect())
    }
}

/// The order a paid session stands for: lines and prices as reserved, one voucher code per unit
/// of voucher products. Deterministic (codes derive from the session), so retries agree.
pub fn build_order(
    res: &Reservation,
    session: &crate::payments::PaidSession,
    codes_key: &[u8],
    needs_attention: bool,
) -> Order {
    // Units are numbered per SKU across its lines, so two lines of one voucher never share a code.
    let mut issued: HashMap<&chalet_types::Sku, u32> = HashMap::new();
    let lines = res
        .lines
        .iter()
        .map(|l| {
            let first = issued.entry(&l.sku).or_insert(0);
            let units = *first..*first + l.quantity;
            *first += l.quantity;
            OrderLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price: l.unit_price,
                quantity: l.quantity,
                voucher_codes: if l.kind == Kind::Voucher {
                    units
                        .map(|unit| crate::codes::voucher_code(codes_key, &session.id, &l.sku, unit))
                        .collect::<Vec<VoucherCode>>()
                } else {
                    Vec::new()
                },
                personalisation: l.personalisation.clone(),
                voucher: l.voucher.clone(),
                withdrawal: l.withdrawal,
            }
        })
        .collect();
    Order {
        id: session.id.clone(),
        created: session.created.clone(),
        email: session.email.clone(),
        name: session.name.clone(),
        phone: session.phone.clone(),
        // Only an order with a shipping share keeps an address.
        ship_to: session.ship_to.clone().filter(|_| {
            res.chalets
                .iter()
                .any(|c| c.choice == chalet_types::FulfilmentChoice::Shipping)
        }),
        lines,
        fulfilment: res.chalets.clone(),
        total: res.total,
        payment_intent: session.payment_intent.clone(),
        needs_attention,
        refunds: Vec::new(),
        disputes: Vec::new(),
    }
}
