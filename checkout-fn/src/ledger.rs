//! The organisers' view of every sale: `checkout-fn orders [--chalet SLUG] [--since DATE]
//! [--format csv|json]` — one row per order line with its chalet, SKU, quantity, amounts, how it
//! is handed over and where the order stands (refunds and disputes counted in).

use crate::dynamo::{Dynamo, StoreError, corrupt, get_s};
use chalet_types::table::{ORDER_KEY, ORDER_PREFIX, SORT_KEY, attr};
use chalet_types::{Date, FulfilmentChoice, Money, Order, Slug};
use serde::Serialize;

/// One line sold, as the organisers' spreadsheet shows it. Amounts in cents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub order: String,
    pub created: String,
    pub chalet: String,
    pub sku: String,
    pub product: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
    /// Units of this line refunded.
    pub refunded: u32,
    /// `pickup` or `shipping`.
    pub fulfilment: String,
    /// The chalet's shipping fee on this order (on its first line only, so sums stay right).
    pub shipping_fee: Money,
    /// `paid`, `partly refunded`, `refunded`, `disputed`; `, needs attention` when flagged.
    pub status: String,
}

/// Every order line, oldest first; only `chalet`'s lines and orders created on or after `since`
/// when given.
pub fn rows(orders: &[Order], chalet: Option<&Slug>, since: Option<Date>) -> Vec<Row> {
    let mut out = Vec::new();
    let since = since.map(|d| d.to_string());
    let mut orders: Vec<&Order> = orders
        .iter()
        .filter(|o| since.as_deref().is_none_or(|d| o.created.as_str() >= d))
        .collect();
    orders.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    for order in orders {
        let status = status(order);
        for f in order
            .fulfilment
            .iter()
            .filter(|f| chalet.is_none_or(|c| *c == f.chalet))
        {
            let mut first = true;
            for line in order.lines.iter().filter(|l| l.sku.chalet == f.chalet) {
                let refunded: u32 = order
                    .refunds
                    .iter()
                    .flat_map(|r| &r.lines)
                    .filter(|r| r.sku == line.sku)
                    .map(|r| r.quantity)
                    .sum();
                out.push(Row {
                    order: order.id.clone(),
                    created: order.created.clone(),
                    chalet: f.chalet.to_string(),
                    sku: line.sku.to_string(),
                    product: line.name.clone(),
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    line_total: line.unit_price.checked_mul(line.quantity).unwrap_or(Money::ZERO),
                    refunded: refunded.min(line.quantity),
                    fulfilment: match f.choice {
                        FulfilmentChoice::Pickup => "pickup",
                        FulfilmentChoice::Shipping => "shipping",
                    }
                    .to_string(),
                    shipping_fee: if first { f.shipping_fee } else { Money::ZERO },
                    status: status.clone(),
                });
                first = false;
            }
        }
    }
    out
}

fn status(order: &Order) -> String {
    let refunded: i64 = order.refunds.iter().map(|r| r.amount.cents()).sum();
    let mut status = if !order.disputes.is_empty() {
        "disputed"
    } else if refunded >= order.total.cents() && refunded > 0 {
        "refunded"
    } else if refunded > 0 {
        "partly refunded"
    } else {
        "paid"
    }
    .to_string();
    if order.needs_attention {
        status.push_str(", needs attention");
    }
    status
}

pub const CSV_HEADER: [&str; 12] = [
    "order",
    "created",
    "chalet",
    "sku",
    "product",
    "quantity",
    "unit_price",
    "line_total",
    "refunded",
    "fulfilment",
    "shipping_fee",
    "status",
];

/// The rows as CSV, amounts in euros with two decimals.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::new();
    crate::links::push_row(&mut out, CSV_HEADER.iter().map(|h| h.to_string()));
    for r in rows {
        crate::links::push_row(
            &mut out,
            [
                r.order.clone(),
                r.created.clone(),
                r.chalet.clone(),
                r.sku.clone(),
                r.product.clone(),
                r.quantity.to_string(),
                r.unit_price.to_decimal_string(),
                r.line_total.to_decimal_string(),
                r.refunded.to_string(),
                r.fulfilment.clone(),
                r.shipping_fee.to_decimal_string(),
                r.status.clone(),
            ]
            .into_iter(),
        );
    }
    out
}

impl Dynamo {
    /// Every recorded order. A scan: an organiser's command, run rarely, on a table that holds
    /// one season's market.
    pub async fn all_orders(&self) -> Result<Vec<Order>, StoreError> {
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :order")
            .expression_attribute_names("#sk", SORT_KEY)
            .expression_attribute_values(":order", crate::dynamo::s(ORDER_KEY));
        let mut orders = Vec::new();
        for item in crate::dynamo::scan_all(scan).await? {
            let is_order = get_s(&item, "pk").is_some_and(|pk| pk.starts_with(ORDER_PREFIX));
            if let (true, Some(body)) = (is_order, get_s(&item, attr::BODY)) {
                orders.push(serde_json::from_str(body).map_err(corrupt("order"))?);
            }
        }
        Ok(orders)
    }
}
