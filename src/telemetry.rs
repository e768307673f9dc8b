//! Metrics, through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`, part of `http`): the library records, the host
//! installs a recorder (an exporter) of its choice. Without a recorder
//! every call is a no-op; without the feature, nothing is compiled in.
//!
//! | metric | kind | labels | what |
//! |---|---|---|---|
//! | `accounts_operations_total` | counter | `operation`, `outcome` | facade operations; `outcome` is `ok` or the [`Error::code`](crate::Error::code) |
//! | `accounts_operation_duration_seconds` | histogram | `operation` | their latency |
//! | `accounts_logins_total` | counter | `outcome` | password logins: `ok` or the error code |
//! | `accounts_lockouts_total` | counter | `scope` (`account`, `device`) | locks imposed after repeated failures |
//! | `accounts_refresh_token_reuse_total` | counter | | spent refresh tokens presented again (each revokes a session) |
//! | `accounts_password_hash_waiting` | gauge | | callers waiting for a hashing slot |
//! | `accounts_password_hash_wait_seconds` | histogram | | how long a caller waited for its slot |
//! | `accounts_db_connections_in_use` | gauge | `backend` | connections a transaction is using (SQLite: not counting the read connections kept idle for their threads) |
//! | `accounts_db_connection_wait_seconds` | histogram | `backend` | how long a checkout waited |
//!
//! The `http` router adds `http_requests_total` (counter) and
//! `http_request_duration_seconds` (histogram), labelled `method` (the
//! standard ones, any other as `other`), `route` (the route template,
//! `/api/v1/users/{id}`, never the raw path; `unmatched` for none) and
//! `status`.

use std::time::{Duration, Instant};

use crate::error::Result;

/// The `outcome` label of a result: `ok`, or the error's code.
#[cfg(feature = "metrics")]
fn outcome<T>(result: &Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.code(),
    }
}

/// Records a facade operation that began at `started`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn operation<T>(name: &'static str, started: Instant, result: &Result<T>) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("accounts_operations_total", "operation" => name, "outcome" => outcome(result))
            .increment(1);
        metrics::histogram!("accounts_operation_duration_seconds", "operation" => name)
            .record(started.elapsed().as_secs_f64());
    }
}

/// Runs `f` as the operation `name`, recording its outcome and latency.
pub(crate) fn observed<T>(name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    let result = f();
    operation(name, started, &result);
    result
}

/// Records a password login's outcome.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn login<T>(result: &Result<T>) {
    #[cfg(feature = "metrics")]
    metrics::counter!("accounts_logins_total", "outcome" => outcome(result)).increment(1);
}

/// Records a lock imposed on an account's untrusted clients (`account`)
/// or on one device (`device`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn lockout(scope: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("accounts_lockouts_total", "scope" => scope).increment(1);
}

/// Records a refresh token presented again.
pub(crate) fn refresh_token_reused() {
    #[cfg(feature = "metrics")]
    metrics::counter!("accounts_refresh_token_reuse_total").increment(1);
}

/// Records the hashing queue's length.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn hash_queue(waiting: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("accounts_password_hash_waiting").set(waiting as f64);
}

/// Records how long a caller waited for a hashing slot.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn hash_wait(waited: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("accounts_password_hash_wait_seconds").record(waited.as_secs_f64());
}

/// Records a connection checkout: how long it waited, and how many
/// connections are out now (`in_use` runs only when metrics are built in:
/// reading a pool's state takes its lock).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn connection_checkout(
    backend: &'static str,
    waited: Duration,
    in_use: impl FnOnce() -> u32,
) {
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!("accounts_db_connection_wait_seconds", "backend" => backend)
            .record(waited.as_secs_f64());
        metrics::gauge!("accounts_db_connections_in_use", "backend" => backend)
            .set(f64::from(in_use()));
    }
}
