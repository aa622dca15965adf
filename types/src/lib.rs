//! Domain types shared by the `chalet` generator and the checkout function.
//!
//! This crate owns the *meaning* of the market's values — money in integer cents, slugs and SKUs,
//! dates, the catalogue the generator publishes and the orders the function records — so that no
//! type is written twice. It must stay pure: serde only, no IO, no AWS, Stripe or template code.
//!
//! - [`language`]: [`Language`] and [`Currency`], with the few language rules shared types need.
//! - [`routes`]: every page's address and output file, [`routes::SiteUrl`], the URLs Stripe
//!   sends shoppers back to.
//! - [`api`]: the checkout function's error codes ([`ErrorCode`]).
//! - [`money`]: [`Money`], exact euro amounts parsed from `"14.90"`, `"14,90"` or `14.9`.
//! - [`slug`]: [`Slug`] (folder and file names) and [`Sku`] (`<chalet>/<product>`).
//! - [`date`]: [`Date`], a calendar day written `YYYY-MM-DD`.
//! - [`catalogue`]: what `chalet build` writes to `catalogue.json` and the function loads.
//! - [`order`]: a paid order, its lines, fulfilment and voucher codes.
//! - [`table`]: the DynamoDB table layout (key names, index names, item prefixes).

pub mod api;
pub mod catalogue;
pub mod date;
pub mod encoding;
pub mod html;
pub mod language;
pub mod legal;
pub mod money;
pub mod order;
pub mod routes;
pub mod slug;
pub mod table;
pub mod wire;

pub use api::ErrorCode;
pub use catalogue::{
    Availability, Catalogue, CatalogueItem, CatalogueMarket, FulfilmentOptions, Kind, LOW_STOCK, OrganiserContact,
    Personalisation, Shipping, Stock,
};
pub use date::Date;
pub use encoding::hex;
pub use language::{Currency, Language};
pub use money::{Money, MoneyError};
pub use order::{
    ChaletFulfilment, FulfilmentChoice, MAX_GIFT_NOTE, MAX_QUANTITY, Order, OrderDispute, OrderLine, OrderRefund,
    PostalAddress, RefundedLine, VoucherCode, VoucherTerms,
};
pub use routes::{Route, SiteUrl};
pub use slug::{Sku, Slug, SlugError, slugify};
