//! Authentication: password hashing ([`password`]) and tokens ([`tokens`]).
//!
//! Everything here is pure computation over injected time and keys; the
//! facade composes it with storage.

pub(crate) mod password;
pub(crate) mod tokens;

pub use password::PasswordParams;
pub use tokens::{Claims, KeyAlgorithm, SigningKey, VerificationKey};
