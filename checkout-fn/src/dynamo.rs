//! The function's DynamoDB table (layout: `chalet_types::table`): catalogue and stock here,
//! orders and registrations in [`crate::orders`].
//!
//! Stock is honest by construction: every change to a SKU's counters is a conditional write in
//! a transaction, and `committed` (= sold + reserved) may never pass `total`. Webhook effects are
//! keyed by the reservation's `status`, so a redelivered or concurrent duplicate changes nothing.

use crate::basket::PricedBasket;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue as Av, KeysAndAttributes, Put, TransactWriteItem, Update};
pub use chalet_types::table::ReservationStatus;
use chalet_types::table::*;
use chalet_types::{
    CatalogueItem, ChaletFulfilment, FulfilmentOptions, Kind, Money, Shipping, Sku, Slug, Stock, VoucherTerms,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Why the table could not be used, with the cause kept for the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB request failed")]
    Dynamo(#[source] crate::error::Cause),
    #[error("a stored {what} could not be read or written")]
    Corrupt {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the catalogue read kept being throttled")]
    Throttled,
    #[error("too many conflicting writes")]
    Conflicts,
    #[error("unexpected failed condition on action {0} of a transaction")]
    UnexpectedCondition(usize),
}

/// An AWS SDK error, kept whole (its `source` chain says what DynamoDB answered).
pub(crate) fn err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Dynamo(Box::new(e))
}

pub(crate) fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |source| StoreError::Corrupt { what, source }
}

pub(crate) type Item = HashMap<String, Av>;

pub(crate) fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> Av {
    Av::N(v.to_string())
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PARTITION_KEY.to_string(), s(pk)), (SORT_KEY.to_string(), s(sk))])
}

pub(crate) fn get_s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn get_n(item: &Item, k: &str) -> Option<i64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// A list of strings (empty when absent).
pub(crate) fn get_list(item: &Item, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|c| c.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

fn get_bool(item: &Item, k: &str) -> Option<bool> {
    item.get(k).and_then(|v| v.as_bool().ok()).copied()
}

/// A catalogue item with its live stock counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stocked {
    pub item: CatalogueItem,
    pub active: bool,
    /// `None` for made-to-order.
    pub total: Option<i64>,
    pub committed: i64,
    /// Of `committed`, the units held for sessions not paid yet.
    pub reserved: i64,
}

impl Stocked {
    pub fn remaining(&self) -> Option<i64> {
        self.total.map(|t| (t - self.committed).max(0))
    }

    fn from_item(it: &Item) -> Option<Stocked> {
        let sku = Sku::parse(get_s(it, attr::SKU)?)?;
        let total = get_n(it, attr::TOTAL);
        let shipping = get_n(it, attr::SHIP_PRICE).map(|p| Shipping {
            price: Money::from_cents(p),
            free_from: get_n(it, attr::SHIP_FREE_FROM).map(Money::from_cents),
        });
        let item = CatalogueItem {
            chalet: sku.chalet.clone(),
            chalet_name: get_s(it, attr::CHALET_NAME)?.to_string(),
            name: get_s(it, attr::NAME)?.to_string(),
            price: Money::from_cents(get_n(it, attr::PRICE)?),
            stock: total.map_or(Stock::MadeToOrder, |t| Stock::Limited(t.max(0) as u32)),
            kind: Kind::parse(get_s(it, attr::KIND)?)?,
            fulfilment: FulfilmentOptions {
                pickup: get_bool(it, attr::PICKUP).unwrap_or(false),
                shipping,
                pickup_at: get_s(it, attr::PICKUP_AT).map(str::to_string),
                ship_countries: get_list(it, attr::SHIP_COUNTRIES),
            },
            url: get_s(it, attr::URL).unwrap_or_default().to_string(),
            voucher_valid_until: get_s(it, attr::VALID_UNTIL).and_then(chalet_types::Date::parse),
            voucher_terms: get_s(it, attr::VOUCHER_TERMS).map(str::to_string),
            personalisation: get_s(it, attr::PERSONALISATION).and_then(|j| serde_json::from_str(j).ok()),
            withdrawal: get_s(it, attr::WITHDRAWAL).and_then(chalet_types::legal::WithdrawalExemption::parse),
            sku,
        };
        Some(Stocked {
            item,
            active: get_bool(it, attr::ACTIVE).unwrap_or(false),
            total,
            committed: get_n(it, attr::COMMITTED).unwrap_or(0),
            reserved: get_n(it, attr::RESERVED).unwrap_or(0),
        })
    }
}

/// The stock held for one Checkout Session, with everything needed to write the order later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: String,
    pub lines: Vec<ReservedLine>,
    pub chalets: Vec<ChaletFulfilment>,
    pub total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedLine {
    pub sku: Sku,
    pub name: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub kind: Kind,
    /// Whether the SKU's counters were moved (limited stock).
    pub limited: bool,
    /// The shopper's text for a personalised product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalisation: Option<String>,
    /// A voucher's validity and terms as sold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<VoucherTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<chalet_types::legal::WithdrawalExemption>,
}

impl Reservation {
    /// The limited SKUs whose counters this reservation moved, each once with its units (lines
    /// of a personalised product share one SKU; a transaction may touch an item only once).
    pub fn held_units(&self) -> Vec<(Sku, u32)> {
        crate::basket::units_per_sku(self.lines.iter().filter(|l| l.limited).map(|l| (&l.sku, l.quantity)))
    }
}

/// A reservation as stored: its lines, status, creation time and session.
#[derive(Clone, Debug)]
pub struct StoredReservation {
    pub body: Reservation,
    pub status: ReservationStatus,
    pub created: i64,
    pub session_id: Option<String>,
    /// The client it counts against (see [`MAX_OPEN_PER_CLIENT`]).
    pub client: Option<String>,
}

/// A held reservation, as the reconciler lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub session_id: Option<String>,
}

/// The most reservations one client (one viewer address) may hold open at once: a shopper with
/// a few tabs is fine, a script re-posting to hold every limited product is not.
pub const MAX_OPEN_PER_CLIENT: i64 = 5;

/// Why a reservation was refused.
#[derive(Debug)]
pub enum ReserveError {
    OutOfStock {
        sku: Sku,
        remaining: i64,
        /// Units held for other shoppers' unpaid sessions: they may come back.
        held: i64,
    },
    /// A product was withdrawn or changed while the shopper was paying; try again.
    Changed(Sku),
    /// This client already holds [`MAX_OPEN_PER_CLIENT`] open reservations.
    TooManyOpen,
    Store(StoreError),
}

/// What completing an order did.
#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    Recorded,
    AlreadyRecorded,
    UnknownReservation,
}

#[derive(Clone, Debug)]
pub struct Dynamo {
    pub client: Client,
    pub table: String,
}

/// Every DynamoDB call has a deadline: a table that stops answering must cost a shopper a quick
/// 5xx, not a request Lambda kills at its timeout with stock left held. Connect within 1 s, each
/// attempt within 1.5 s, the whole call (three attempts, SDK's standard retry with backoff)
/// within 4 s ("Timeouts" and "Retries", AWS SDK for Rust developer guide).
pub fn client(shared: &aws_config::SdkConfig) -> Client {
    Client::from_conf(with_deadlines(aws_sdk_dynamodb::config::Builder::from(shared)))
}

/// The same deadlines on any client configuration (the tests build theirs by hand).
pub fn with_deadlines(builder: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::Config {
    with_deadlines_of(builder, std::time::Duration::from_millis(1500), OPERATION_TIMEOUT)
}

/// Deadlines of one's choosing: the integration tests give DynamoDB Local (a Java process that
/// serialises transactions) more time under a 200-shopper herd than DynamoDB needs.
pub fn with_deadlines_of(
    builder: aws_sdk_dynamodb::config::Builder,
    attempt: std::time::Duration,
    operation: std::time::Duration,
) -> aws_sdk_dynamodb::Config {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    builder
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(1))
                .operation_attempt_timeout(attempt)
                .operation_timeout(operation)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build()
}

/// The most one DynamoDB call may take, all attempts included.
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// How long a reservation's transaction keeps retrying collisions before giving up.
const TRANSACT_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Transactions that collide with another on the same SKU are retried: DynamoDB cancels rather
/// than queues them, and 50 shoppers buying the last candles at once must each get an answer.
const CONFLICT_RETRIES: u32 = 60;

/// Full jitter over a window that grows with the attempt (5 ms … 160 ms): a herd of colliding
/// shoppers spreads out instead of colliding again in step.
async fn backoff(attempt: u32) {
    let ms = 1 + crate::jitter_ms(5u64 << attempt.min(5));
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// The cancellation reason codes of a failed transaction, if it was cancelled.
fn cancellation_codes(
    e: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
) -> Option<Vec<String>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match e.as_service_error() {
        Some(E::TransactionCanceledException(c)) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_string())
                .collect(),
        ),
        _ => None,
    }
}

impl Dynamo {
    pub fn new(client: Client, table: impl Into<String>) -> Dynamo {
        Dynamo {
            client,
            table: table.into(),
        }
    }

    /// A transactional update. `status` and `total` are reserved words in DynamoDB expressions,
    /// so they are always available as `#s` and `#t`.
    pub(crate) fn update(
        &self,
        k: Item,
        expr: &str,
        cond: Option<&str>,
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let text = format!("{expr} {}", cond.unwrap_or(""));
        let mut u = Update::builder()
            .table_name(&self.table)
            .set_key(Some(k))
            .update_expression(expr)
            .set_expression_attribute_values(Some(values));
        for (placeholder, name) in [("#s", attr::STATUS), ("#t", attr::TOTAL)] {
            if text.contains(placeholder) {
                u = u.expression_attribute_names(placeholder, name);
            }
        }
        if let Some(c) = cond {
            u = u.condition_expression(c);
        }
        Ok(TransactWriteItem::builder().update(u.build().map_err(err)?).build())
    }

    fn put(&self, item: Item, only_new: bool) -> Result<TransactWriteItem, StoreError> {
        let mut p = Put::builder().table_name(&self.table).set_item(Some(item));
        if only_new {
            p = p
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PARTITION_KEY);
        }
        Ok(TransactWriteItem::builder().put(p.build().map_err(err)?).build())
    }

    /// Catalogue items for these SKUs (strongly consistent); unknown ones are simply absent.
    pub async fn items(&self, skus: &[Sku]) -> Result<Vec<Stocked>, StoreError> {
        let mut out = Vec::new();
        let mut pending: Vec<Item> = skus
            .iter()
            .map(|sku| {
                let (pk, sk) = catalogue_key(sku);
                key(pk, sk)
            })
            .collect();
        let mut rounds = 0;
        while !pending.is_empty() && rounds < 10 {
            rounds += 1;
            let batch: Vec<Item> = pending.drain(..pending.len().min(100)).collect();
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(batch))
                .consistent_read(true)
                .build()
                .map_err(err)?;
            let resp = self
                .client
                .batch_get_item()
                .request_items(&self.table, ka)
                .send()
                .await
                .map_err(err)?;
            if let Some(items) = resp.responses().and_then(|r| r.get(&self.table)) {
                out.extend(items.iter().filter_map(Stocked::from_item));
            }
            if let Some(un) = resp.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending.extend(un.keys().iter().cloned());
                backoff(rounds).await;
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Throttled);
        }
        Ok(out)
    }

    /// Holds stock for every limited line and records the reservation, in one transaction.
    pub async fn reserve(
        &self,
        id: &str,
        basket: &PricedBasket,
        stocked: &[Stocked],
        now: i64,
        client: Option<&str>,
    ) -> Result<Reservation, ReserveError> {
        let reservation = Reservation {
            id: id.to_string(),
            lines: basket
                .lines
                .iter()
                .map(|l| ReservedLine {
                    sku: l.item.sku.clone(),
                    name: l.item.name.clone(),
                    unit_price: l.item.price,
                    quantity: l.quantity,
                    kind: l.item.kind,
                    limited: matches!(l.item.stock, Stock::Limited(_)),
                    personalisation: l.personalisation.clone(),
                    voucher: (l.item.kind == Kind::Voucher).then(|| VoucherTerms {
                        valid_until: l.item.voucher_valid_until,
                        terms: l.item.voucher_terms.clone(),
                    }),
                    withdrawal: l.item.withdrawal,
                })
                .collect(),
            chalets: basket
                .chalets
                .iter()
                .map(|c| ChaletFulfilment {
                    chalet: c.chalet.clone(),
                    chalet_name: c.chalet_name.clone(),
                    choice: c.choice,
                    shipping_fee: c.shipping_fee,
                    pickup_at: c.pickup_at.clone(),
                    gift_note: c.gift_note.clone(),
                })
                .collect(),
            total: basket.total,
        };
        let body = serde_json::to_string(&reservation).map_err(|e| ReserveError::Store(corrupt("reservation")(e)))?;
        let mut record = key(format!("{RESERVATION_PREFIX}{id}"), RESERVATION_KEY);
        record.insert(attr::STATUS.into(), s(ReservationStatus::Held.as_str()));
        record.insert(attr::BODY.into(), s(body));
        record.insert(attr::CREATED.into(), n(now));
        record.insert(TTL_ATTRIBUTE.into(), n(now + 7 * 24 * 3600));
        record.insert(CHALET_INDEX_PARTITION_KEY.into(), s(HELD_INDEX_KEY));
        record.insert(CHALET_INDEX_SORT_KEY.into(), s(held_sort_key(now, id)));
        if let Some(c) = client {
            record.insert(attr::CLIENT.into(), s(c));
        }
        let mut actions = vec![self.put(record, true).map_err(ReserveError::Store)?];
        // The SKU behind each action, to map a cancellation reason back (action 0: the record).
        let held = reservation.held_units();
        let mut order: Vec<&Sku> = vec![&reservation.lines[0].sku];
        for (sku, quantity) in &held {
            let st = stocked
                .iter()
                .find(|s| s.item.sku == *sku)
                .ok_or_else(|| ReserveError::Changed(sku.clone()))?;
            let total = st.total.unwrap_or(0);
            let (pk, sk) = catalogue_key(sku);
            let values = HashMap::from([
                (":q".to_string(), n(quantity)),
                (":max".to_string(), n(total - i64::from(*quantity))),
                (":total".to_string(), n(total)),
                (":yes".to_string(), Av::Bool(true)),
            ]);
            actions.push(
                self.update(
                    key(pk, sk),
                    "SET committed = committed + :q, reserved = reserved + :q",
                    Some("active = :yes AND #t = :total AND committed <= :max"),
                    values,
                )
                .map_err(ReserveError::Store)?,
            );
            order.push(sku);
        }
        let client_action = match client {
            Some(c) => {
                actions.push(self.client_count(c, 1, now).map_err(ReserveError::Store)?);
                Some(actions.len() - 1)
            }
            None => None,
        };
        // While colliding with other shoppers, look every few attempts whether what this basket
        // wants is still there: once it is sold out, the answer is a 409 now, not after the herd.
        let limited: Vec<(&Sku, i64)> = held.iter().map(|(sku, q)| (sku, i64::from(*q))).collect();
        let short: std::sync::Mutex<Option<Sku>> = std::sync::Mutex::new(None);
        let give_up = |attempt: u32| {
            let (limited, short) = (&limited, &short);
            async move {
                if attempt % 3 != 2 {
                    return false;
                }
                let skus: Vec<Sku> = limited.iter().map(|(s, _)| (*s).clone()).collect();
                let Ok(now) = self.items(&skus).await else { return false };
                let gone = limited.iter().find(|(sku, q)| {
                    now.iter()
                        .find(|st| st.item.sku == **sku)
                        .and_then(Stocked::remaining)
                        .is_some_and(|r| r < *q)
                });
                if let Some((sku, _)) = gone {
                    *short.lock().unwrap_or_else(|e| e.into_inner()) = Some((*sku).clone());
                }
                gone.is_some()
            }
        };
        match self
            .transact_unless(actions, give_up)
            .await
            .map_err(ReserveError::Store)?
        {
            None => Ok(reservation),
            Some(failed) if Some(failed) == client_action => Err(ReserveError::TooManyOpen),
            Some(failed) => {
                let sku = short
                    .into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .or_else(|| order.get(failed).map(|s| (*s).clone()))
                    .unwrap_or_else(|| reservation.lines[0].sku.clone());
                Err(self.why_refused(sku).await)
            }
        }
    }

    async fn why_refused(&self, sku: Sku) -> ReserveError {
        match self.items(std::slice::from_ref(&sku)).await {
            Ok(found) => match found.first() {
                Some(st) if st.active => match st.remaining() {
                    Some(remaining) => ReserveError::OutOfStock {
                        sku,
                        remaining,
                        held: st.reserved,
                    },
                    None => ReserveError::Changed(sku),
                },
                _ => ReserveError::Changed(sku),
            },
            Err(e) => ReserveError::Store(e),
        }
    }

    /// Notes the Checkout Session that pays for a held reservation (for cancels and the reconciler).
    pub async fn attach_session(&self, id: &str, session_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("{RESERVATION_PREFIX}{id}"), RESERVATION_KEY)))
            .update_expression(format!("SET {} = :sid", attr::SESSION_ID))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":sid", s(session_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Reservations still held that were made at or before `before` (Unix seconds), oldest
    /// first, from the sparse `HELD` partition of the index.
    pub async fn held_before(&self, before: i64) -> Result<Vec<Held>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(CHALET_INDEX)
            .key_condition_expression("#p = :p AND #s < :before")
            .expression_attribute_names("#p", CHALET_INDEX_PARTITION_KEY)
            .expression_attribute_names("#s", CHALET_INDEX_SORT_KEY)
            .expression_attribute_values(":p", s(HELD_INDEX_KEY))
            // Keys are `<created>#<id>`: everything below the next second's prefix.
            .expression_attribute_values(":before", s(format!("{:012}", before.max(0) + 1)));
        let items = query_all(query).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let pk = get_s(i, PARTITION_KEY)?;
                Some(Held {
                    id: pk.strip_prefix(RESERVATION_PREFIX)?.to_string(),
                    created: get_n(i, attr::CREATED)?,
                    session_id: get_s(i, attr::SESSION_ID).map(str::to_string),
                })
            })
            .collect())
    }

    pub async fn reservation(&self, id: &str) -> Result<Option<(Reservation, ReservationStatus)>, StoreError> {
        Ok(self.stored_reservation(id).await?.map(|r| (r.body, r.status)))
    }

    /// One item by key, strongly consistent (what was just written is what is read: the order
    /// page reads the order it has just recorded).
    pub(crate) async fn get(&self, k: Item) -> Result<Option<Item>, StoreError> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(k))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        Ok(resp.item)
    }

    /// A reservation with everything stored beside its lines.
    pub async fn stored_reservation(&self, id: &str) -> Result<Option<StoredReservation>, StoreError> {
        let found = self
            .get(key(format!("{RESERVATION_PREFIX}{id}"), RESERVATION_KEY))
            .await?;
        let Some(item) = found.as_ref() else { return Ok(None) };
        let body: Reservation =
            serde_json::from_str(get_s(item, attr::BODY).unwrap_or("")).map_err(corrupt("reservation"))?;
        let status = get_s(item, attr::STATUS)
            .and_then(ReservationStatus::parse)
            .unwrap_or(ReservationStatus::Held);
        Ok(Some(StoredReservation {
            body,
            status,
            created: get_n(item, attr::CREATED).unwrap_or(0),
            session_id: get_s(item, attr::SESSION_ID).map(str::to_string),
            client: get_s(item, attr::CLIENT).map(str::to_string),
        }))
    }

    /// Gives held stock back. Idempotent: only a `held` reservation is released, once.
    pub async fn release(&self, id: &str) -> Result<bool, StoreError> {
        let Some(stored) = self.stored_reservation(id).await? else {
            return Ok(false);
        };
        if stored.status != ReservationStatus::Held {
            return Ok(false);
        }
        let res = stored.body;
        let mut actions = vec![self.update(
            key(format!("{RESERVATION_PREFIX}{id}"), RESERVATION_KEY),
            &format!("SET #s = :released REMOVE {CHALET_INDEX_PARTITION_KEY}, {CHALET_INDEX_SORT_KEY}"),
            Some("#s = :held"),
            HashMap::from([
                (":released".into(), s(ReservationStatus::Released.as_str())),
                (":held".into(), s(ReservationStatus::Held.as_str())),
            ]),
        )?];
        for (sku, quantity) in res.held_units() {
            let (pk, sk) = catalogue_key(&sku);
            actions.push(self.update(
                key(pk, sk),
                "SET committed = committed - :q, reserved = reserved - :q",
                None,
                HashMap::from([(":q".into(), n(quantity))]),
            )?);
        }
        if let Some(c) = &stored.client {
            actions.push(self.client_count(c, -1, crate::now())?);
        }
        self.transact_idempotent(actions).await
    }

    /// Counts a client's open reservations up (`delta` 1, refused at [`MAX_OPEN_PER_CLIENT`]) or
    /// down (-1, never refused). The row expires a day after its last reservation.
    pub(crate) fn client_count(&self, client: &str, delta: i64, now: i64) -> Result<TransactWriteItem, StoreError> {
        let mut u = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("{CLIENT_PREFIX}{client}"), CLIENT_KEY)))
            .expression_attribute_names("#o", attr::OPEN)
            .expression_attribute_values(":d", n(delta));
        if delta > 0 {
            u = u
                .update_expression(format!("ADD #o :d SET {TTL_ATTRIBUTE} = :ttl"))
                .condition_expression("attribute_not_exists(#o) OR #o < :max")
                .expression_attribute_values(":ttl", n(now + 24 * 3600))
                .expression_attribute_values(":max", n(MAX_OPEN_PER_CLIENT));
        } else {
            u = u.update_expression("ADD #o :d");
        }
        Ok(TransactWriteItem::builder().update(u.build().map_err(err)?).build())
    }

    /// Runs a transaction, retrying when it collided with another. `Ok(None)`: done;
    /// `Ok(Some(i))`: the condition of action `i` did not hold, so nothing was written.
    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Option<usize>, StoreError> {
        self.transact_unless(actions, |_| async { false }).await
    }

    /// [`Dynamo::transact`], asking `give_up(attempt)` after collisions whether trying again is
    /// still worth it (a reservation stops as soon as the stock it wants is gone): `true` ends
    /// it as if the first condition had failed.
    async fn transact_unless<F, Fut>(
        &self,
        actions: Vec<TransactWriteItem>,
        give_up: F,
    ) -> Result<Option<usize>, StoreError>
    where
        F: Fn(u32) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = std::time::Instant::now();
        for attempt in 0..CONFLICT_RETRIES {
            if started.elapsed() > TRANSACT_BUDGET {
                break;
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(None),
                Err(e) => match cancellation_codes(&e) {
                    Some(codes) => match codes.iter().position(|c| c == "ConditionalCheckFailed") {
                        Some(i) => return Ok(Some(i)),
                        None if give_up(attempt).await => return Ok(Some(0)),
                        None => backoff(attempt).await,
                    },
                    None => return Err(err(e)),
                },
            }
        }
        Err(StoreError::Conflicts)
    }

    /// Runs a transaction whose first action is a status transition; `Ok(false)` when that
    /// transition had already happened (a duplicate delivery).
    pub(crate) async fn transact_idempotent(&self, actions: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match self.transact(actions).await? {
            None => Ok(true),
            Some(0) => Ok(false),
            Some(i) => Err(StoreError::UnexpectedCondition(i)),
        }
    }

    /// One chalet's active SKUs with what remains (`None`: made to order).
    pub async fn availability(&self, chalet: &Slug) -> Result<Vec<Stocked>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", s(format!("{CATALOGUE_PREFIX}{chalet}")))
            .consistent_read(true);
        let items = query_all(query).await?;
        Ok(items
            .iter()
            .filter_map(Stocked::from_item)
            .filter(|s| s.active)
            .collect())
    }
}

/// Every item a query matches, page after page (DynamoDB answers at most 1 MB at a time).
pub(crate) async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let resp = query
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(err)?;
        out.extend(resp.items().iter().cloned());
        match resp.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    Ok(out)
}
