//! The function's DynamoDB table (layout: `chalet_types::table`): catalogue, stock and the
//! transaction machinery here, the reservations checkouts hold in [`reservations`], orders and
//! registrations in [`crate::orders`].
//!
//! Stock is honest by construction: every change to a SKU's counters is a conditional write in
//! a transaction, and `committed` (= sold + reserved) may never pass `total`. Webhook effects are
//! keyed by the reservation's `status`, so a redelivered or concurrent duplicate changes nothing.

use crate::basket::PricedBasket;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue as Av, KeysAndAttributes, Put, TransactWriteItem, Update};
pub use chalet_types::table::ReservationStatus;
use chalet_types::table::*;
use chalet_types::{
    CatalogueItem, ChaletFulfilment, FulfilmentOptions, Kind, Money, Shipping, Sku, Slug, Stock, VoucherTerms,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

mod reservations;
pub use reservations::{Held, MAX_OPEN_PER_CLIENT, Reservation, ReserveError, ReservedLine, StoredReservation};

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

/// The outcome of an update made only if its condition held: `false` when it did not (someone
/// else changed the item first), the error otherwise.
pub(crate) fn conditional<T>(result: Result<T, UpdateError>) -> Result<bool, StoreError> {
    conditional_output(result).map(|o| o.is_some())
}

/// [`conditional`], keeping what DynamoDB answered (its `ReturnValues`) when the update was made.
pub(crate) fn conditional_output<T>(result: Result<T, UpdateError>) -> Result<Option<T>, StoreError> {
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(err(e)),
    }
}

type UpdateError = aws_sdk_dynamodb::error::SdkError<
    aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    aws_sdk_dynamodb::config::http::HttpResponse,
>;

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
            chalet_email: get_s(it, attr::CHALET_EMAIL).map(str::to_string),
            chalet_digest: get_bool(it, attr::CHALET_DIGEST).unwrap_or(false),
            stripe_account: get_s(it, attr::STRIPE_ACCOUNT).map(str::to_string),
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

    pub(crate) fn put(&self, item: Item, only_new: bool) -> Result<TransactWriteItem, StoreError> {
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
/// Every item a scan finds, page after page (a scan is for organisers' commands and daily
/// jobs, on a table that holds one season's market).
pub(crate) async fn scan_all(scan: ScanFluentBuilder) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let resp = scan
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(err)?;
        out.extend(resp.items().iter().cloned());
        match resp.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(out),
        }
    }
}

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
