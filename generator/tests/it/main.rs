//! The generator's integration tests, as one binary (one link instead of eight).

#![allow(dead_code, reason = "each module uses a different part of the harness")]

mod build;
mod common;
mod deploy;
mod diagnostics;
mod hostile;
mod images;
mod import;
mod incremental;
mod legal;
mod routes;
mod schema;
mod serve;
mod theme;
