//! An e-mail sent at most once per table item, however many deliveries race: a claim written
//! conditionally on the item (no "sent" mark, no live claim) lets one sender through; after
//! sending, the item is marked sent (or the claim released, so a later retry may try again).
//! The receipt ([`crate::receipt`]) and the chalet's notice ([`crate::notify`]) both go this way.

use crate::dynamo::{Dynamo, StoreError, err, n};
use crate::mail::{Composed, Mailer, SendError};
use aws_sdk_dynamodb::types::AttributeValue;
use chalet_types::table::PARTITION_KEY;
use std::collections::HashMap;

/// How long one sender holds the right to send: longer than a send may take, so a claim left
/// by a sender that died lets another delivery take over.
const CLAIM_SECONDS: i64 = 60;

/// Where on the item the claim and the "sent" mark live, and what else goes once sent.
#[derive(Clone, Copy, Debug)]
pub struct Marks {
    pub claim: &'static str,
    pub sent: &'static str,
    /// Attributes removed once sent (an item leaving a pending index).
    pub remove_when_sent: &'static [&'static str],
}

#[derive(Debug)]
pub enum Outcome {
    Sent,
    /// Sent already, or being sent by another delivery.
    Taken,
    /// The transport failed; the claim is released.
    Failed(SendError),
}

/// Sends `message` to `to` once for the item at `key`.
pub async fn send(
    store: &Dynamo,
    key: HashMap<String, AttributeValue>,
    marks: Marks,
    mailer: &Mailer,
    to: &str,
    message: &Composed,
) -> Result<Outcome, StoreError> {
    let now = crate::now();
    let claimed = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key.clone()))
        .update_expression("SET #claim = :until")
        .condition_expression(
            "attribute_exists(#pk) AND attribute_not_exists(#sent) AND (attribute_not_exists(#claim) OR #claim < :now)",
        )
        .expression_attribute_names("#pk", PARTITION_KEY)
        .expression_attribute_names("#sent", marks.sent)
        .expression_attribute_names("#claim", marks.claim)
        .expression_attribute_values(":until", n(now + CLAIM_SECONDS))
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    if let Err(e) = claimed {
        if e.as_service_error()
            .is_some_and(|se| se.is_conditional_check_failed_exception())
        {
            return Ok(Outcome::Taken);
        }
        return Err(err(e));
    }
    let sent = mailer.send(to, message).await;
    let update = store.client.update_item().table_name(&store.table).set_key(Some(key));
    let update = match &sent {
        Ok(()) => {
            let also: String = marks.remove_when_sent.iter().map(|a| format!(", {a}")).collect();
            update
                .update_expression(format!("SET #sent = :now REMOVE #claim{also}"))
                .expression_attribute_names("#sent", marks.sent)
                .expression_attribute_values(":now", n(now))
        }
        Err(_) => update.update_expression("REMOVE #claim"),
    };
    update
        .expression_attribute_names("#claim", marks.claim)
        .send()
        .await
        .map_err(err)?;
    Ok(match sent {
        Ok(()) => Outcome::Sent,
        Err(e) => Outcome::Failed(e),
    })
}
