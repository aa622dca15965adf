//! `checkout-fn publish`: the catalogue that `chalet build` wrote, into the table. Upserts names,
//! prices, kinds, fulfilment and stock totals, marks removed SKUs inactive, and never touches
//! `sold`, `reserved` or `committed` — stock already promised stays promised.

use crate::dynamo::{Dynamo, StoreError, err};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use chalet_types::table::*;
use chalet_types::{Catalogue, Stock};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct PublishReport {
    pub upserted: usize,
    pub deactivated: usize,
}

pub async fn publish(db: &Dynamo, catalogue: &Catalogue) -> Result<PublishReport, StoreError> {
    let mut report = PublishReport::default();
    for item in &catalogue.items {
        let (pk, sk) = catalogue_key(&item.sku);
        let mut values: HashMap<String, Av> = HashMap::from([
            (":sku".into(), Av::S(item.sku.to_string())),
            (":name".into(), Av::S(item.name.clone())),
            (":chalet".into(), Av::S(item.chalet.to_string())),
            (":chalet_name".into(), Av::S(item.chalet_name.clone())),
            (":price".into(), Av::N(item.price.cents().to_string())),
            (
                ":kind".into(),
                Av::S(
                    serde_json::to_value(item.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
            ),
            (":pickup".into(), Av::Bool(item.fulfilment.pickup)),
            (":url".into(), Av::S(item.url.clone())),
            (":yes".into(), Av::Bool(true)),
            (":zero".into(), Av::N("0".into())),
        ]);
        let mut set = vec![
            "sku = :sku",
            "#n = :name",
            "chalet = :chalet",
            "chalet_name = :chalet_name",
            "price = :price",
            "kind = :kind",
            "pickup = :pickup",
            "#u = :url",
            "active = :yes",
            "sold = if_not_exists(sold, :zero)",
            "reserved = if_not_exists(reserved, :zero)",
            "committed = if_not_exists(committed, :zero)",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        let mut remove = Vec::new();
        match item.stock {
            Stock::Limited(total) => {
                values.insert(":total".into(), Av::N(total.to_string()));
                set.push("#t = :total".into());
            }
            Stock::MadeToOrder => remove.push("#t"),
        }
        match item.fulfilment.shipping {
            Some(s) => {
                values.insert(":ship".into(), Av::N(s.price.cents().to_string()));
                set.push("ship_price = :ship".into());
                match s.free_from {
                    Some(f) => {
                        values.insert(":free".into(), Av::N(f.cents().to_string()));
                        set.push("ship_free_from = :free".into());
                    }
                    None => remove.push("ship_free_from"),
                }
            }
            None => remove.extend(["ship_price", "ship_free_from"]),
        }
        match item.voucher_valid_until {
            Some(d) => {
                values.insert(":valid".into(), Av::S(d.to_string()));
                set.push("valid_until = :valid".into());
            }
            None => remove.push("valid_until"),
        }
        let mut expr = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        db.client
            .update_item()
            .table_name(&db.table)
            .key(PARTITION_KEY, Av::S(pk))
            .key(SORT_KEY, Av::S(sk))
            .update_expression(expr)
            .expression_attribute_names("#n", "name")
            .expression_attribute_names("#u", "url")
            .expression_attribute_names("#t", "total")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(err)?;
        report.upserted += 1;
    }
    // Whatever the table sells that the catalogue no longer lists stops being sold.
    let listed: HashSet<String> = catalogue.items.iter().map(|i| i.sku.to_string()).collect();
    let mut start = None;
    loop {
        let resp = db
            .client
            .scan()
            .table_name(&db.table)
            .filter_expression("begins_with(pk, :cat) AND active = :yes")
            .expression_attribute_values(":cat", Av::S(CATALOGUE_PREFIX.into()))
            .expression_attribute_values(":yes", Av::Bool(true))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(err)?;
        for it in resp.items() {
            let sku = it.get("sku").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if !listed.contains(&sku) {
                let mut k = HashMap::new();
                for name in [PARTITION_KEY, SORT_KEY] {
                    if let Some(v) = it.get(name) {
                        k.insert(name.to_string(), v.clone());
                    }
                }
                db.client
                    .update_item()
                    .table_name(&db.table)
                    .set_key(Some(k))
                    .update_expression("SET active = :no")
                    .expression_attribute_values(":no", Av::Bool(false))
                    .send()
                    .await
                    .map_err(err)?;
                report.deactivated += 1;
            }
        }
        match resp.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    let mut market = HashMap::from([
        (PARTITION_KEY.to_string(), Av::S(MARKET_KEY.into())),
        (SORT_KEY.to_string(), Av::S(CONFIG_KEY.into())),
        ("name".to_string(), Av::S(catalogue.market.name.clone())),
        ("base_url".to_string(), Av::S(catalogue.market.base_url.clone())),
    ]);
    if let Some(fee) = catalogue.market.registration_fee {
        market.insert("registration_fee".into(), Av::N(fee.cents().to_string()));
    }
    db.client
        .put_item()
        .table_name(&db.table)
        .set_item(Some(market))
        .send()
        .await
        .map_err(err)?;
    Ok(report)
}

/// Creates the table with its keys, the per-chalet index and TTL, if it does not exist yet.
pub async fn create_table(db: &Dynamo) -> Result<bool, StoreError> {
    if db.client.describe_table().table_name(&db.table).send().await.is_ok() {
        return Ok(false);
    }
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(err)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(err)
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name(CHALET_INDEX)
        .key_schema(key(CHALET_INDEX_PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(CHALET_INDEX_SORT_KEY, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(err)?;
    db.client
        .create_table()
        .table_name(&db.table)
        .attribute_definitions(attr(PARTITION_KEY)?)
        .attribute_definitions(attr(SORT_KEY)?)
        .attribute_definitions(attr(CHALET_INDEX_PARTITION_KEY)?)
        .attribute_definitions(attr(CHALET_INDEX_SORT_KEY)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .global_secondary_indexes(index)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(err)?;
    for _ in 0..60 {
        let d = db
            .client
            .describe_table()
            .table_name(&db.table)
            .send()
            .await
            .map_err(err)?;
        if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(err)?;
    db.client
        .update_time_to_live()
        .table_name(&db.table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(err)?;
    Ok(true)
}
