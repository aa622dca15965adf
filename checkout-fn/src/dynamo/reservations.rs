//! Reservations: the stock one Checkout Session holds, from [`Dynamo::reserve`] to
//! [`Dynamo::release`], what the reconciler lists, and the cap on open reservations per client.

use super::*;

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

impl Dynamo {
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
}
