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

/// One `UpdateItem` expression, every attribute behind a name placeholder (`#a0`…), so reserved
/// words (`name`, `url`, `total`) need no special case and names come from `attr` only.
#[derive(Debug, Default)]
struct Updates {
    names: HashMap<String, String>,
    values: HashMap<String, Av>,
    set: Vec<String>,
    remove: Vec<String>,
}

impl Updates {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#a{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_string());
        placeholder
    }

    fn value(&mut self, value: Av) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, attribute: &str, value: Av) {
        let (n, v) = (self.name(attribute), self.value(value));
        self.set.push(format!("{n} = {v}"));
    }

    fn set_if_missing(&mut self, attribute: &str, value: Av) {
        let (n, v) = (self.name(attribute), self.value(value));
        self.set.push(format!("{n} = if_not_exists({n}, {v})"));
    }

    fn remove(&mut self, attribute: &str) {
        let n = self.name(attribute);
        self.remove.push(n);
    }

    fn expression(&self) -> String {
        let mut expr = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            expr.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        expr
    }
}

pub async fn publish(db: &Dynamo, catalogue: &Catalogue) -> Result<PublishReport, StoreError> {
    let mut report = PublishReport::default();
    for item in &catalogue.items {
        let (pk, sk) = catalogue_key(&item.sku);
        let kind = serde_json::to_value(item.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut u = Updates::default();
        u.set(attr::SKU, Av::S(item.sku.to_string()));
        u.set(attr::NAME, Av::S(item.name.clone()));
        u.set(attr::CHALET, Av::S(item.chalet.to_string()));
        u.set(attr::CHALET_NAME, Av::S(item.chalet_name.clone()));
        u.set(attr::PRICE, Av::N(item.price.cents().to_string()));
        u.set(attr::KIND, Av::S(kind));
        u.set(attr::PICKUP, Av::Bool(item.fulfilment.pickup));
        u.set(attr::CHALET_DIGEST, Av::Bool(item.chalet_digest));
        u.set(attr::URL, Av::S(item.url.clone()));
        u.set(attr::ACTIVE, Av::Bool(true));
        // Stock already promised stays promised: counters are only created, never reset.
        for counter in [attr::SOLD, attr::RESERVED, attr::COMMITTED] {
            u.set_if_missing(counter, Av::N("0".into()));
        }
        match item.stock {
            Stock::Limited(total) => u.set(attr::TOTAL, Av::N(total.to_string())),
            Stock::MadeToOrder => u.remove(attr::TOTAL),
        }
        match item.fulfilment.shipping {
            Some(sh) => {
                u.set(attr::SHIP_PRICE, Av::N(sh.price.cents().to_string()));
                match sh.free_from {
                    Some(f) => u.set(attr::SHIP_FREE_FROM, Av::N(f.cents().to_string())),
                    None => u.remove(attr::SHIP_FREE_FROM),
                }
            }
            None => {
                u.remove(attr::SHIP_PRICE);
                u.remove(attr::SHIP_FREE_FROM);
            }
        }
        match item.voucher_valid_until {
            Some(d) => u.set(attr::VALID_UNTIL, Av::S(d.to_string())),
            None => u.remove(attr::VALID_UNTIL),
        }
        let texts = [
            (attr::VOUCHER_TERMS, item.voucher_terms.clone()),
            (attr::PICKUP_AT, item.fulfilment.pickup_at.clone()),
            (attr::CHALET_EMAIL, item.chalet_email.clone()),
            (attr::STRIPE_ACCOUNT, item.stripe_account.clone()),
            (
                attr::PERSONALISATION,
                item.personalisation
                    .as_ref()
                    .and_then(|p| serde_json::to_string(p).ok()),
            ),
            (attr::WITHDRAWAL, item.withdrawal.map(|w| w.as_str().to_string())),
        ];
        for (attribute, text) in texts {
            match text {
                Some(t) => u.set(attribute, Av::S(t)),
                None => u.remove(attribute),
            }
        }
        match item.fulfilment.ship_countries.as_slice() {
            [] => u.remove(attr::SHIP_COUNTRIES),
            list => u.set(attr::SHIP_COUNTRIES, Av::L(list.iter().cloned().map(Av::S).collect())),
        }
        db.client
            .update_item()
            .table_name(&db.table)
            .key(PARTITION_KEY, Av::S(pk))
            .key(SORT_KEY, Av::S(sk))
            .update_expression(u.expression())
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(Some(u.values))
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
            .filter_expression("begins_with(#pk, :cat) AND #active = :yes")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_names("#active", attr::ACTIVE)
            .expression_attribute_values(":cat", Av::S(CATALOGUE_PREFIX.into()))
            .expression_attribute_values(":yes", Av::Bool(true))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(err)?;
        for it in resp.items() {
            let sku = it
                .get(attr::SKU)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
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
                    .update_expression("SET #active = :no")
                    .expression_attribute_names("#active", attr::ACTIVE)
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
        (attr::NAME.to_string(), Av::S(catalogue.market.name.clone())),
        (attr::BASE_URL.to_string(), Av::S(catalogue.market.base_url.to_string())),
        (
            attr::LANGUAGE.to_string(),
            Av::S(catalogue.market.language.code().into()),
        ),
        (
            attr::CURRENCY.to_string(),
            Av::S(catalogue.market.currency.code().into()),
        ),
    ]);
    if !catalogue.market.shipping_countries.is_empty() {
        // A list, not a string set: the organiser's order is the order Checkout shows.
        market.insert(
            attr::SHIPPING_COUNTRIES.into(),
            Av::L(catalogue.market.shipping_countries.iter().cloned().map(Av::S).collect()),
        );
    }
    market.insert(attr::COLLECT_PHONE.into(), Av::Bool(catalogue.market.collect_phone));
    if catalogue.market.commission_bp > 0 {
        market.insert(
            attr::COMMISSION_BP.into(),
            Av::N(catalogue.market.commission_bp.to_string()),
        );
    }
    if let Some(o) = &catalogue.market.organiser {
        market.insert(attr::ORGANISER_NAME.into(), Av::S(o.name.clone()));
        if let Some(e) = &o.email {
            market.insert(attr::ORGANISER_EMAIL.into(), Av::S(e.clone()));
        }
    }
    if !catalogue.market.mail.is_empty() {
        let strings = catalogue.market.mail.iter().map(|(k, v)| (k.clone(), Av::S(v.clone())));
        market.insert(attr::MAIL.into(), Av::M(strings.collect()));
    }
    if let Some(fee) = catalogue.market.registration_fee {
        market.insert(attr::REGISTRATION_FEE.into(), Av::N(fee.cents().to_string()));
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
