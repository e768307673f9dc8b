#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Two modules hold unsafe code, both SQLite's interfaces: its mutex
// methods (`store::sqlite::mutex`) and a VFS (`store::sqlite::vfs`).
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

mod accounts;
mod auth;
mod clock;
mod error;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod model;
pub mod store;
pub mod telemetry;

pub use accounts::{
    Accounts, AccountsBuilder, Contacts, Events, ImportRejection, ImportReport, Jobs, Locations,
    LockoutPolicy, Organizations, Profiles, Pruned, Registration, Sessions, TokenPair, Users,
};
pub use auth::policy::Principal;
pub use auth::{
    Claims, HashingLimits, HashingLoad, KeyAlgorithm, PasswordHasher, PasswordParams, SigningKey,
    Verification, VerificationKey,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result, StorageError, TokenError};
pub use model::*;
pub use store::PasswordHash;
