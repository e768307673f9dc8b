//! Authentication: password hashing ([`password`]), tokens ([`tokens`])
//! and who may do what ([`policy`]).
//!
//! Everything here is pure computation over injected time and keys; the
//! facade composes it with storage.

pub(crate) mod hashing;
pub(crate) mod password;
pub(crate) mod policy;
pub(crate) mod timing;
pub(crate) mod tokens;
pub(crate) mod totp;

pub use hashing::{HashingLimits, HashingLoad};
pub use password::{PasswordHasher, PasswordParams, Verification};
pub use tokens::{Claims, KeyAlgorithm, SigningKey, VerificationKey};
