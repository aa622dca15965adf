//! Personal data kept no longer than needed: `retention_days` (default 400, `RETENTION_DAYS`)
//! after an order's day, its shopper's name, e-mail, phone, address and gift notes are erased —
//! from the order and from every chalet's share of it — while the accounting (lines, amounts,
//! refunds, disputes) stays for the books. `checkout-fn purge [--dry-run] [--days N]`, and the
//! same on the reconciler's schedule.

use crate::dynamo::{Dynamo, StoreError, get_s, key, s};
use chalet_types::table::*;
use chalet_types::{Date, Order};
use serde_json::Value;

/// How long personal data is kept after the order's day, by default.
pub const DEFAULT_RETENTION_DAYS: i64 = 400;

/// The order without its shopper: what stays for the accounts.
pub fn anonymised(order: &Order) -> Order {
    let mut o = order.clone();
    o.email = None;
    o.name = None;
    o.phone = None;
    o.ship_to = None;
    for f in &mut o.fulfilment {
        f.gift_note = None;
    }
    o
}

fn has_personal_data(order: &Order) -> bool {
    *order != anonymised(order)
}

/// Whether `order`'s personal data is past `days` on `today`.
pub fn due(order: &Order, days: i64, today: Date) -> bool {
    let Some(day) = order.created.get(..10).and_then(Date::parse) else {
        return false;
    };
    day.days_since_epoch() + days <= today.days_since_epoch()
}

impl Dynamo {
    /// Erases the personal data of every order past `days`; returns the orders' references. With
    /// `dry_run`, only says which.
    pub async fn purge(&self, days: i64, today: Date, dry_run: bool) -> Result<Vec<String>, StoreError> {
        let mut done = Vec::new();
        for order in self.all_orders().await? {
            if !due(&order, days, today) || !has_personal_data(&order) {
                continue;
            }
            if !dry_run && !self.erase(&order).await? {
                continue; // changed meanwhile (a refund recorded): the next run takes it
            }
            done.push(order.reference());
        }
        Ok(done)
    }

    /// Erases one order's personal data, order and shares; `false` when the order changed
    /// since it was read (each body is replaced only if it is still the one read).
    async fn erase(&self, order: &Order) -> Result<bool, StoreError> {
        let order_key = || key(format!("{ORDER_PREFIX}{}", order.id), ORDER_KEY);
        let Some(item) = self.get(order_key()).await? else {
            return Ok(false);
        };
        let Some(old) = get_s(&item, attr::BODY).map(str::to_string) else {
            return Ok(false);
        };
        let current: Order = serde_json::from_str(&old).map_err(crate::dynamo::corrupt("order"))?;
        let clean = serde_json::to_string(&anonymised(&current)).map_err(crate::dynamo::corrupt("order"))?;
        if !self.replace_body(order_key(), &old, &clean).await? {
            return Ok(false);
        }
        for f in &current.fulfilment {
            let share_key = || {
                key(
                    format!("{ORDER_PREFIX}{}", order.id),
                    format!("{CHALET_PREFIX}{}", f.chalet),
                )
            };
            let Some(item) = self.get(share_key()).await? else {
                continue;
            };
            let Some(old) = get_s(&item, attr::BODY).map(str::to_string) else {
                continue;
            };
            let Ok(mut share) = serde_json::from_str::<Value>(&old) else {
                continue;
            };
            if let Value::Object(map) = &mut share {
                for field in ["ship_to", "name", "phone"] {
                    map.remove(field);
                }
                if let Some(Value::Object(f)) = map.get_mut("fulfilment") {
                    f.remove("gift_note");
                }
            }
            self.replace_body(share_key(), &old, &share.to_string()).await?;
        }
        Ok(true)
    }

    /// `old` → `new` as the item's body, if it is still `old`.
    async fn replace_body(&self, item_key: crate::dynamo::Item, old: &str, new: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression("SET #b = :new")
            .condition_expression("#b = :old")
            .expression_attribute_names("#b", attr::BODY)
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":old", s(old))
            .send()
            .await;
        crate::dynamo::conditional(result)
    }
}
