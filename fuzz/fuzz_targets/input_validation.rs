//! Arbitrary strings in every input field: validation never panics and
//! names only the fields it was given.
//!
//! Run with `cargo +nightly fuzz run input_validation` from the crate root.
#![no_main]

use aai_accounts::{
    ContactKind, CountryCode, Email, NewContact, NewJob, NewLocation, NewProfile, NewUser,
    Password, ProfilePatch, Username, ValidationErrors,
};
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

fn only(errors: &ValidationErrors, prefixes: &[&str]) {
    for error in errors.errors() {
        assert!(
            prefixes.iter().any(|p| error.field.starts_with(p)),
            "unexpected field {}",
            error.field
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1f}').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();

    let _ = Username::parse(next());
    let _ = Email::parse(&next());
    let _ = CountryCode::parse(&next());
    let user = NewUser {
        username: next(),
        email: next(),
        password: Password::new(next()),
    };
    if let Err(errors) = user.validate() {
        only(&errors, &["username", "email", "password"]);
    }
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
    let profile = NewProfile {
        first_name: next(),
        last_name: next(),
        bio: Some(next()),
        profile_picture_url: Some(next()),
        location: Some(NewLocation {
            country: next(),
            city: Some(next()),
            postal_code: Some(next()),
            ..NewLocation::default()
        }),
        contacts: ContactKind::ALL
            .into_iter()
            .map(|kind| NewContact::new(kind, next()))
            .collect(),
        jobs: vec![NewJob {
            title: next(),
            company: next(),
            industry: Some(next()),
            ..NewJob::default()
        }],
        ..NewProfile::default()
    };
    if let Err(errors) = profile.validate(today) {
        only(
            &errors,
            &["first_name", "last_name", "bio", "profile_picture_url", "location", "contacts", "jobs"],
        );
    }
    let patch = ProfilePatch {
        first_name: Some(next()),
        gender: aai_accounts::Patch::Set(next()),
        ..ProfilePatch::default()
    };
    if let Err(errors) = patch.validate(today) {
        only(&errors, &["first_name", "gender"]);
    }
});
