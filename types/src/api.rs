//! The checkout function's error codes: what `{"error": {"code": …}}` may say. The function
//! answers with them, the theme's script reacts to them, and the generator hands the script this
//! list (`errors` in its configuration), so a renamed code cannot silently stop matching.

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    /// Every error code the function can answer with; the wire name is snake case.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ErrorCode {
        /// The request's body is not `application/json`.
        UnsupportedMediaType = "unsupported_media_type",
        BodyTooLarge = "body_too_large",
        /// No such endpoint.
        NotFound = "not_found",
        InvalidJson = "invalid_json",
        EmptyBasket = "empty_basket",
        TooManyLines = "too_many_lines",
        InvalidQuantity = "invalid_quantity",
        DuplicateSku = "duplicate_sku",
        UnknownSku = "unknown_sku",
        /// The basket's total passes what one payment may hold.
        TooLarge = "too_large",
        InvalidFulfilment = "invalid_fulfilment",
        FulfilmentRequired = "fulfilment_required",
        InvalidEmail = "invalid_email",
        /// A personalised product's line has no text and the product requires one.
        PersonalisationRequired = "personalisation_required",
        /// The text is longer than the product allows, or holds control characters.
        PersonalisationTooLong = "personalisation_too_long",
        /// A text was sent for a product that asks for none.
        PersonalisationNotAccepted = "personalisation_not_accepted",
        /// A gift note longer than the limit, or for a chalet not in the basket.
        InvalidGiftNote = "invalid_gift_note",
        /// The chalets that ship in this basket have no destination country in common.
        NoCommonShippingCountry = "no_common_shipping_country",
        OutOfStock = "out_of_stock",
        /// A product was withdrawn or changed while the shopper was paying.
        CatalogueChanged = "catalogue_changed",
        /// Stripe could not be reached or refused the session.
        PaymentUnavailable = "payment_unavailable",
        BadSignature = "bad_signature",
        BadEvent = "bad_event",
        OrderNotFound = "order_not_found",
        TooManyReservations = "too_many_reservations",
        InvalidChalet = "invalid_chalet",
        InvalidRegistration = "invalid_registration",
        RegistrationsClosed = "registrations_closed",
        InvalidApplication = "invalid_application",
        /// The stack has no applications bucket (or the function no credentials to sign with).
        ApplicationsUnavailable = "applications_unavailable",
        /// The stack has no key for artisans' links (`LINKS_KEY`).
        LinksUnavailable = "links_unavailable",
        /// No voucher has this code.
        UnknownVoucher = "unknown_voucher",
        /// Redeemed before (the answer gives when).
        VoucherRedeemed = "voucher_redeemed",
        /// Past its validity (the answer gives the date).
        VoucherExpired = "voucher_expired",
        /// Refunded: worth nothing.
        VoucherVoided = "voucher_voided",
        /// A redemption older than two minutes, or none, to undo.
        UndoTooLate = "undo_too_late",
        /// A staff PIN that is not 6–12 digits, or too easy (one digit repeated, a run).
        InvalidPin = "invalid_pin",
        /// The staff PIN is wrong (the answer gives the tries left), or the chalet has none.
        WrongPin = "wrong_pin",
        /// Too many wrong PINs lately: the answer gives when to try again (`retry_after`).
        TooManyAttempts = "too_many_attempts",
        /// A handover that does not fit the share (`ready` for a pickup, `shipped` for shipping).
        InvalidHandover = "invalid_handover",
        /// The request did not come through the market's CloudFront distribution.
        Forbidden = "forbidden",
        /// Anything on the function's side; the details are in its log only.
        Internal = "internal",
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_serdes() {
        for c in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(c).expect("serialises"),
                format!("\"{}\"", c.as_str())
            );
        }
    }
}
