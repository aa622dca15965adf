//! The DynamoDB table layout, defined once: the function reads and writes it, the
//! infrastructure template declares it, and a test compares the two.
//!
//! One table, single-table design (`pk`, `sk` strings):
//! - `CAT#<chalet>` / `SKU#<product>`: a catalogue item — name, price, kind, fulfilment, and the
//!   stock counters `total`, `committed` (= `sold` + `reserved`), `sold`, `reserved`. Grouped by
//!   chalet so that a chalet's availability is one query.
//! - `MARKET` / `CONFIG`: market-wide settings (name, registration fee).
//! - `RES#<reservation>` / `RES`: the stock held for one Checkout Session, with its priced lines
//!   and, once Stripe answered, its `session_id`; `status` is `held`, `sold` or `released`.
//!   Expires (TTL) a week after creation. While `held` it is also in the by-chalet index under
//!   `gsi1pk = HELD`, `gsi1sk = <created, 12 digits>#<reservation>`: a sparse list of open
//!   reservations, oldest first, that the reconciler reads without scanning the table.
//! - `ORDER#<session>` / `ORDER`: a paid order.
//! - `ORDER#<session>` / `CHALET#<slug>`: the order's share for one chalet, also keyed
//!   `gsi1pk = CHALET#<slug>`, `gsi1sk = <created>#<session>` in the per-chalet index — what
//!   artisans' statements are read from.
//! - `ORDER#<session>` / `PAYOUT#<slug>`: what `checkout-fn transfers` paid the chalet's connected
//!   account for that order (the transfer, its amount, what was reversed, the refunds already
//!   counted), written once and amended under a version.
//! - `DEBT#<slug>` / `DEBT`: what a chalet owes back (`owed`, cents) from refunds that could not
//!   be reversed (its Stripe balance was paid out): netted on its next transfers.
//! - `CODE#<code>` / `CODE`: a voucher code with its SKU, order and `status` (`issued`,
//!   `redeemed`, `voided`).
//! - `PIN#<slug>` / `PIN`: a restaurant's staff PIN, as a keyed hash with its salt and when it
//!   was set, and the wrong tries counted in the current window (`fails` since `window`).
//! - `DIGEST#<slug>` / `<day>`: a chalet's daily digest of that day, sent once (expires).
//! - `CLIENT#<hash of the viewer's address>` / `CLIENT`: how many reservations one client holds
//!   open (`open`), capped; expires a day after its last reservation.
//! - `PI#<payment intent>` / `PI`: which order a payment belongs to (refund and dispute events
//!   name the payment, not the session).
//! - `REG#<session>` / `REG`: a paid registration, listed through `gsi1pk = REGISTRATIONS`.
//! - `NOTICE#<session>` / `NOTICE`: an order some chalet could not be told of (the mail failed),
//!   listed under `gsi1pk = NOTICES` for the reconciler to try again; deleted once all are told.
//! - `APP#<id>` / `APP`: an artisan's application (chalet, trader, e-mail, the zip's size and
//!   SHA-256, its key in the applications bucket, the registration's session) with its `status`
//!   (`submitted`, `paid`), listed through `gsi1pk = APPLICATIONS`, `gsi1sk = <created>#<id>`.

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const CHALET_INDEX: &str = "by-chalet";
pub const CHALET_INDEX_PARTITION_KEY: &str = "gsi1pk";
pub const CHALET_INDEX_SORT_KEY: &str = "gsi1sk";
/// Epoch seconds after which DynamoDB may delete the item (reservations only).
pub const TTL_ATTRIBUTE: &str = "expires_at";

pub const CATALOGUE_PREFIX: &str = "CAT#";
pub const SKU_PREFIX: &str = "SKU#";
pub const MARKET_KEY: &str = "MARKET";
pub const CONFIG_KEY: &str = "CONFIG";
pub const RESERVATION_PREFIX: &str = "RES#";
pub const RESERVATION_KEY: &str = "RES";
pub const ORDER_PREFIX: &str = "ORDER#";
pub const ORDER_KEY: &str = "ORDER";
pub const CHALET_PREFIX: &str = "CHALET#";
pub const PAYOUT_PREFIX: &str = "PAYOUT#";
pub const DEBT_PREFIX: &str = "DEBT#";
pub const DEBT_KEY: &str = "DEBT";
pub const CODE_PREFIX: &str = "CODE#";
pub const CODE_KEY: &str = "CODE";
pub const PIN_PREFIX: &str = "PIN#";
pub const DIGEST_PREFIX: &str = "DIGEST#";
pub const PIN_KEY: &str = "PIN";
pub const REGISTRATION_PREFIX: &str = "REG#";
pub const PAYMENT_PREFIX: &str = "PI#";
pub const CLIENT_PREFIX: &str = "CLIENT#";
pub const CLIENT_KEY: &str = "CLIENT";
pub const PAYMENT_KEY: &str = "PI";
pub const REGISTRATION_KEY: &str = "REG";
pub const REGISTRATIONS_INDEX_KEY: &str = "REGISTRATIONS";
pub const NOTICE_PREFIX: &str = "NOTICE#";
pub const NOTICE_KEY: &str = "NOTICE";
pub const NOTICES_INDEX_KEY: &str = "NOTICES";
pub const APPLICATION_PREFIX: &str = "APP#";
pub const APPLICATION_KEY: &str = "APP";
pub const APPLICATIONS_INDEX_KEY: &str = "APPLICATIONS";
/// The index partition of reservations still `held`.
pub const HELD_INDEX_KEY: &str = "HELD";
/// The by-chalet index partition of orders whose receipt is not sent yet (sparse: the key is
/// removed once it is), which the reconciler retries.
pub const RECEIPTS_INDEX_KEY: &str = "RECEIPT";

/// A held reservation's sort key in the index: oldest first, so "held since before T" is a
/// range condition.
pub fn held_sort_key(created: i64, reservation: &str) -> String {
    format!("{:012}#{reservation}", created.max(0))
}

/// The key of a catalogue item.
pub fn catalogue_key(sku: &crate::Sku) -> (String, String) {
    (
        format!("{CATALOGUE_PREFIX}{}", sku.chalet),
        format!("{SKU_PREFIX}{}", sku.product),
    )
}

/// DynamoDB's limit on the actions of one `TransactWriteItems` call ("up to 100 action
/// requests", DynamoDB API reference); a reservation is one record plus one action per limited
/// line, so a basket holds at most 99 limited lines.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;

/// Attribute names of the table's items, written and read through these only.
pub mod attr {
    // A catalogue item (`CAT#…` / `SKU#…`).
    pub const SKU: &str = "sku";
    pub const NAME: &str = "name";
    pub const CHALET: &str = "chalet";
    pub const CHALET_NAME: &str = "chalet_name";
    /// The chalet's e-mail, told of each new paid order.
    pub const CHALET_EMAIL: &str = "chalet_email";
    /// Whether the chalet gets a daily digest of its orders besides each order's e-mail.
    pub const CHALET_DIGEST: &str = "chalet_digest";
    pub const PRICE: &str = "price";
    pub const KIND: &str = "kind";
    pub const PICKUP: &str = "pickup";
    pub const URL: &str = "url";
    pub const ACTIVE: &str = "active";
    pub const SHIP_PRICE: &str = "ship_price";
    pub const SHIP_FREE_FROM: &str = "ship_free_from";
    pub const VALID_UNTIL: &str = "valid_until";
    pub const VOUCHER_TERMS: &str = "voucher_terms";
    /// Where and when the chalet's goods are picked up (text).
    pub const PICKUP_AT: &str = "pickup_at";
    /// The chalet's narrower list of shipping countries (a list; absent: the market's).
    pub const SHIP_COUNTRIES: &str = "ship_countries";
    /// A personalised product's question, as JSON (`chalet_types::Personalisation`).
    pub const PERSONALISATION: &str = "personalisation";
    /// Why a product has no right of withdrawal (`chalet_types::legal::WithdrawalExemption`).
    pub const WITHDRAWAL: &str = "withdrawal";
    /// The chalet's Stripe connected account, where `checkout-fn transfers` pays its shares.
    pub const STRIPE_ACCOUNT: &str = "stripe_account";
    /// Stock counters: `committed` = `sold` + `reserved` ≤ `total` (absent: made to order).
    pub const TOTAL: &str = "total";
    pub const COMMITTED: &str = "committed";
    pub const SOLD: &str = "sold";
    pub const RESERVED: &str = "reserved";
    // The market row (`MARKET` / `CONFIG`).
    pub const BASE_URL: &str = "base_url";
    pub const LANGUAGE: &str = "language";
    pub const CURRENCY: &str = "currency";
    pub const REGISTRATION_FEE: &str = "registration_fee";
    pub const SHIPPING_COUNTRIES: &str = "shipping_countries";
    pub const COLLECT_PHONE: &str = "collect_phone";
    /// The organisers' commission in basis points (absent: none).
    pub const COMMISSION_BP: &str = "commission_bp";
    pub const ORGANISER_NAME: &str = "organiser_name";
    pub const ORGANISER_EMAIL: &str = "organiser_email";
    /// The receipt's strings (a map), from the theme.
    pub const MAIL: &str = "mail";
    // Reservations, orders, codes, registrations.
    pub const STATUS: &str = "status";
    pub const BODY: &str = "body";
    pub const CREATED: &str = "created";
    pub const SESSION_ID: &str = "session_id";
    pub const RESERVATION: &str = "reservation";
    pub const ORDER: &str = "order";
    /// A client's open reservations; on a reservation, the client it counts against.
    pub const OPEN: &str = "open";
    pub const CLIENT: &str = "client";
    /// An order's optimistic-concurrency counter: refunds and disputes amend it in turn.
    pub const VERSION: &str = "order_version";
    /// A chalet's debt (cents) from refunds its transfers could not give back.
    pub const OWED: &str = "owed";
    /// On an order: when its receipt was sent (Unix seconds); absent until then.
    pub const RECEIPT_SENT: &str = "receipt_sent";
    /// On an order: until when one sender has the right to send the receipt (Unix seconds), so
    /// concurrent deliveries of the same event send it once.
    pub const RECEIPT_CLAIM: &str = "receipt_claim";
    /// On an order's chalet share: when the chalet was told of it (Unix seconds), and until when
    /// one sender has the right to tell it.
    pub const NOTIFIED: &str = "notified";
    pub const NOTIFY_CLAIM: &str = "notify_claim";
}

crate::wire_enum! {
    /// Where a reservation stands; only `held` ones may change.
    pub enum ReservationStatus {
        Held = "held",
        Sold = "sold",
        Released = "released",
    }
}

crate::wire_enum! {
    /// Where a voucher code stands; only `issued` codes may be redeemed.
    pub enum CodeStatus {
        Issued = "issued",
        Redeemed = "redeemed",
        /// Refunded or disputed before it was used: worthless.
        Voided = "voided",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in [
            ReservationStatus::Held,
            ReservationStatus::Sold,
            ReservationStatus::Released,
        ] {
            assert_eq!(ReservationStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReservationStatus::parse("lost"), None);
        assert_ne!(CodeStatus::Issued.as_str(), CodeStatus::Redeemed.as_str());
    }
}
