//! The access tokens a [`TokenService`](super::TokenService) verified
//! lately, so that a client presenting the same token again is not
//! verified again from scratch.
//!
//! A client sends one access token with every request until it expires.
//! Verifying it (two base64url decodings, the HMAC or public-key
//! signature, two JSON documents, four strings and two UUIDs allocated)
//! cost about 2 µs in-process and twice that under HTTP load, where it was
//! the largest part of a `users/me` request after the database read.
//! Verification is a pure function of the token and the service's keys,
//! issuer and audience, which never change after construction, except for
//! the token's lifetime: so a memo of its claims, keyed by the whole token,
//! gives the same answer, and the lifetime is checked again on every hit.
//!
//! - **What is kept.** Only tokens that verified: a forged, tampered or
//!   foreign token is never kept, and each presentation of one is verified
//!   in full. A presented token hits only when it is byte for byte a kept
//!   one (compared in constant time), so a kept token proves nothing about
//!   any other.
//! - **How much.** A fixed table of [`SLOTS`] slots, each holding one
//!   token and its claims (under 1 MB when full); a new token replaces
//!   whatever its slot held. The slot comes from a keyed hash of the
//!   token's signature, so a client cannot aim its own tokens at another
//!   client's slot.
//! - **Never waiting.** A slot is taken with `try_lock`: a thread that
//!   finds it busy verifies in full (and keeps nothing) instead of
//!   waiting.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use aws_lc_rs::constant_time::verify_slices_are_equal;

use super::Claims;

/// Slots in the table: enough for the tokens of about a thousand clients
/// active at once (fewer where two tokens share a slot).
pub(super) const SLOTS: usize = 1024;

/// Tokens that verified, each with its claims.
pub(super) struct Verified {
    slots: Box<[Mutex<Option<Kept>>]>,
    hasher: RandomState,
}

/// One kept token.
struct Kept {
    token: Box<str>,
    claims: Arc<Claims>,
}

impl Verified {
    pub(super) fn new() -> Verified {
        Verified {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
            hasher: RandomState::new(),
        }
    }

    /// The claims of `token` if it is kept. Its lifetime is the caller's
    /// to check.
    pub(super) fn get(&self, token: &str) -> Option<Arc<Claims>> {
        let slot = self.slots[self.slot(token)].try_lock().ok()?;
        let kept = slot.as_ref()?;
        verify_slices_are_equal(kept.token.as_bytes(), token.as_bytes()).ok()?;
        Some(Arc::clone(&kept.claims))
    }

    /// Keeps `token`, which verified with `claims`, in place of what its
    /// slot held.
    pub(super) fn keep(&self, token: &str, claims: Arc<Claims>) {
        if let Ok(mut slot) = self.slots[self.slot(token)].try_lock() {
            *slot = Some(Kept {
                token: token.into(),
                claims,
            });
        }
    }

    /// The slot of `token`: a keyed hash of its signature, the part a
    /// client cannot choose for a token that verified.
    fn slot(&self, token: &str) -> usize {
        let signature = token.rsplit_once('.').map_or(token, |(_, s)| s);
        // The modulo keeps the index in bounds.
        (self.hasher.hash_one(signature) as usize) % SLOTS
    }
}
