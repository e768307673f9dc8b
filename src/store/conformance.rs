//! The shared conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Store;

/// Runs every check of the suite.
pub fn run_all(store: &dyn Store) {
    let _ = store;
}
