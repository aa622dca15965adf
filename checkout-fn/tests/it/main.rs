//! The checkout function's integration tests, as one binary (one link instead of five; each
//! links the AWS SDK and async-stripe). Most talk to the real peers `scripts/test` starts.

#![allow(dead_code, reason = "each module uses a different part of the harness")]

mod aftercare;
mod app;
mod applications;
mod checkout;
mod common;
mod digest;
mod fulfilment;
mod handover;
mod infra;
mod lambda;
mod ledger;
mod links;
mod notify;
mod payouts;
mod purge;
mod settling;
mod stock;
mod vouchers;
