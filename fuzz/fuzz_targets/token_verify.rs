//! Arbitrary bytes as access and refresh tokens: never a panic, always
//! `Error::Unauthenticated`.
//!
//! Run with `cargo +nightly fuzz run token_verify` from the crate root.
#![no_main]

use std::sync::OnceLock;

use aai_accounts::{Accounts, Error, SigningKey};
use libfuzzer_sys::fuzz_target;

fn accounts() -> &'static Accounts {
    static ACCOUNTS: OnceLock<Accounts> = OnceLock::new();
    ACCOUNTS.get_or_init(|| {
        Accounts::builder()
            .database_url("sqlite::memory:")
            .signing_key(SigningKey::hs256([42u8; 32]).with_kid("fuzz"))
            .build()
            .expect("an in-memory database opens")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let accounts = accounts();
    assert!(matches!(
        accounts.verify_access_token(&token),
        Err(Error::Unauthenticated(_))
    ));
    assert!(matches!(
        accounts.authenticate(&token),
        Err(Error::Unauthenticated(_))
    ));
    assert!(matches!(
        accounts.refresh(&token),
        Err(Error::Unauthenticated(_))
    ));
});
