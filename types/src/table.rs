//! The DynamoDB table layout, defined once: the function reads and writes it, the
//! infrastructure template declares it, and a test compares the two.
//!
//! One table, single-table design:
//! - `pk = "SKU#<sku>"`, `sk = "ITEM"`: a catalogue item with `total`, `sold`, `reserved`.
//! - `pk = "RES#<id>"`, `sk = "RES"`: a stock reservation for one Checkout Session.
//! - `pk = "ORDER#<session id>"`, `sk = "ORDER"`: a paid order.
//! - `pk = "ORDER#<session id>"`, `sk = "CHALET#<slug>"`: the order's share for one chalet,
//!   with `gsi1pk = "CHALET#<slug>"`, `gsi1sk = "<created>#<session id>"` — the per-chalet index
//!   artisans' statements are read from.

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const CHALET_INDEX: &str = "by-chalet";
pub const CHALET_INDEX_PARTITION_KEY: &str = "gsi1pk";
pub const CHALET_INDEX_SORT_KEY: &str = "gsi1sk";
/// Reservations carry an epoch-seconds expiry so the table cleans up after abandoned baskets.
pub const TTL_ATTRIBUTE: &str = "expires_at";

pub const SKU_PREFIX: &str = "SKU#";
pub const ORDER_PREFIX: &str = "ORDER#";
pub const CHALET_PREFIX: &str = "CHALET#";
pub const RESERVATION_PREFIX: &str = "RES#";
