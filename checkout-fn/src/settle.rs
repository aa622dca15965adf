//! What a Checkout Session's state means for its reservation, in one place: the webhook, the
//! order page, a cancel and the reconciler all go through [`settle`], so an order is recorded,
//! or stock released, the same way whoever noticed first.
//!
//! Stripe's fulfilment guidance ("Fulfill orders", docs.stripe.com/checkout/fulfillment) is to
//! fulfil from the webhook *and* from the landing page, idempotently; the reconciler adds a third
//! path for when both were missed.

use crate::AppState;
use crate::dynamo::{Completion, StoreError};
use crate::payments::{PaidSession, PaymentError, SessionState};

/// What settling one reservation did (or, in a dry run, would do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Paid: the order was recorded now.
    Recorded,
    /// Paid, and the order was already there.
    AlreadyRecorded,
    /// Expired (or its delayed payment failed): the stock is back.
    Released,
    /// Nothing held any more (already released or sold).
    NothingHeld,
    /// Still payable: left alone.
    Open,
    /// Completed with a delayed payment method that has not settled: left alone.
    Processing,
    /// Paid, but its reservation is gone (never written, or deleted): not recorded.
    UnknownReservation,
}

impl Settled {
    pub fn describe(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Settled::Recorded, false) => "paid: order recorded",
            (Settled::Recorded, true) => "paid: would record the order",
            (Settled::AlreadyRecorded, _) => "paid: order already recorded",
            (Settled::Released, false) => "expired: stock released",
            (Settled::Released, true) => "expired: would release the stock",
            (Settled::NothingHeld, _) => "nothing held",
            (Settled::Open, _) => "open: the shopper may still pay; left alone",
            (Settled::Processing, _) => "payment processing: left alone",
            (Settled::UnknownReservation, _) => "paid, but its reservation is missing",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("the table could not be used")]
    Store(#[from] StoreError),
    #[error("Stripe could not be asked")]
    Payment(#[from] PaymentError),
}

/// Acts on what `session` says about `reservation`. `dry_run` reports without writing.
pub async fn settle(
    st: &AppState,
    reservation: &str,
    session: &PaidSession,
    dry_run: bool,
) -> Result<Settled, StoreError> {
    match session.state {
        SessionState::Paid if dry_run => Ok(match st.store.reservation(reservation).await? {
            None => Settled::UnknownReservation,
            Some((_, crate::dynamo::ReservationStatus::Sold)) => Settled::AlreadyRecorded,
            Some(_) => Settled::Recorded,
        }),
        SessionState::Paid => {
            let receipt_due = st.config.mail.is_some() && session.email.is_some();
            let settled = match st
                .store
                .complete(reservation, session, &st.codes_key, receipt_due)
                .await?
            {
                Completion::Recorded => Settled::Recorded,
                Completion::AlreadyRecorded => Settled::AlreadyRecorded,
                Completion::UnknownReservation => return Ok(Settled::UnknownReservation),
            };
            // Every path that sees the order paid may send the receipt; it goes out once.
            if receipt_due {
                crate::receipt::send_once(st, &session.id).await;
            }
            // And every chalet of the order hears of it, once (paid: never before).
            if st.config.mail.is_some() {
                crate::notify::chalets(st, &session.id).await;
            }
            Ok(settled)
        }
        SessionState::Expired if dry_run => Ok(match st.store.reservation(reservation).await? {
            Some((_, crate::dynamo::ReservationStatus::Held)) => Settled::Released,
            _ => Settled::NothingHeld,
        }),
        SessionState::Expired => Ok(if st.store.release(reservation).await? {
            Settled::Released
        } else {
            Settled::NothingHeld
        }),
        SessionState::Open => Ok(Settled::Open),
        SessionState::Processing => Ok(Settled::Processing),
    }
}

/// Makes sure the session behind `reservation` can no longer be paid, then releases the stock:
/// what a cancel, a second *Pay* for the same basket, and the reconciler do with an overdue
/// open session. A session found paid meanwhile is recorded instead.
pub async fn cancel(st: &AppState, reservation: &str, dry_run: bool) -> Result<Settled, SettleError> {
    let Some(stored) = st.store.stored_reservation(reservation).await? else {
        return Ok(Settled::NothingHeld);
    };
    if stored.status != crate::dynamo::ReservationStatus::Held {
        return Ok(Settled::NothingHeld);
    }
    if let Some(session_id) = &stored.session_id {
        let mut session = st.stripe.retrieve(session_id).await?;
        if session.state == SessionState::Open && !dry_run {
            session.state = st.stripe.expire(session_id).await?;
        }
        if session.state == SessionState::Open {
            session.state = SessionState::Expired;
        }
        return Ok(settle(st, reservation, &session, dry_run).await?);
    }
    // No session recorded: Stripe never answered, or the function stopped before noting it.
    // A session made with this reservation's idempotency key may exist unseen, so the stock is
    // kept until any such session has expired by itself.
    let age = crate::now() - stored.created;
    if age < crate::payments::SESSION_BOUND_SECONDS {
        return Ok(Settled::Open);
    }
    if dry_run {
        return Ok(Settled::Released);
    }
    Ok(if st.store.release(reservation).await? {
        Settled::Released
    } else {
        Settled::NothingHeld
    })
}
