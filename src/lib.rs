//! # aai-accounts
//!
//! An embeddable, synchronous account system: users, profiles with a
//! location, contacts and jobs, password login, JWT access tokens, rotating
//! refresh tokens, role-based access and security events, on SQLite (the
//! default) or PostgreSQL.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

mod auth;
mod clock;
mod error;
pub mod model;
pub mod store;

pub use auth::{Claims, KeyAlgorithm, PasswordParams, SigningKey, VerificationKey};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result, StorageError, TokenError};
pub use model::*;
