//! Seeding shared by `examples/workload.rs` and `benches/accounts.rs`, so
//! both measure the same data: users with a precomputed hash and a full
//! profile (a location, 3 contacts, 2 jobs), one per transaction
//! (`users().import`) or a thousand (`users().import_many`).

use std::ops::Range;

use aai_accounts::{
    Accounts, ContactKind, Error, ImportUser, NewContact, NewJob, NewLocation, NewProfile,
    PasswordHash, Principal, Result, UserId,
};

/// The countries profiles cycle through: a search by one country matches
/// about a tenth of the rows.
pub const COUNTRIES: [&str; 10] = ["FR", "DE", "GB", "US", "JP", "BR", "IN", "NG", "CA", "AU"];
/// Every seeded user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates user `n` with a full profile (location, 3 contacts, 2 jobs) in
/// one transaction.
pub fn import(accounts: &Accounts, n: usize, hash: &PasswordHash) -> Result<UserId> {
    let user = accounts
        .users()
        .import(&Principal::system(), full_user(n, hash))?;
    Ok(user.id)
}

/// Creates users `range` with full profiles, a thousand per transaction;
/// their ids in order. A rejected user is an error: the seed is valid.
#[allow(dead_code)] // The benches seed one user per transaction.
pub fn import_all(
    accounts: &Accounts,
    range: Range<usize>,
    hash: &PasswordHash,
) -> Result<Vec<UserId>> {
    let report = accounts
        .users()
        .import_many(&Principal::system(), range.map(|n| full_user(n, hash)))?;
    if let Some(rejection) = report.rejected.first() {
        return Err(Error::Config(format!(
            "seed user {} rejected: {}",
            rejection.index, rejection.error
        )));
    }
    Ok(report.imported.iter().map(|user| user.id).collect())
}

/// User `n` with a full profile, to import.
pub fn full_user(n: usize, hash: &PasswordHash) -> ImportUser {
    let id = UserId::new();
    ImportUser {
        id: Some(id),
        username: format!("user{n}"),
        email: format!("user{n}@example.com"),
        password_hash: hash.as_str().to_owned(),
        is_active: true,
        is_super_admin: false,
        email_verified: false,
        created_at: None,
        updated_at: None,
        profile: Some(full_profile(n, id)),
    }
}

pub fn full_profile(n: usize, user_id: UserId) -> NewProfile {
    NewProfile {
        user_id: Some(user_id),
        first_name: format!("First{n}"),
        last_name: format!("Last{n}"),
        bio: Some("Writes software and sometimes poems.".into()),
        is_public: true,
        allow_contact: true,
        location: Some(NewLocation {
            country: COUNTRIES[n % COUNTRIES.len()].into(),
            city: Some(format!("City{}", n % 97)),
            ..NewLocation::default()
        }),
        contacts: vec![
            NewContact::new(ContactKind::Email, format!("user{n}@example.com")).primary(),
            NewContact::new(ContactKind::Email, format!("user{n}@work.example.com")),
            NewContact::new(ContactKind::Phone, format!("+4915{:08}", n % 100_000_000)),
        ],
        jobs: vec![
            NewJob {
                title: "Engineer".into(),
                company: format!("Company{}", n % 50),
                industry: Some("Software".into()),
                start_date: chrono::NaiveDate::from_ymd_opt(2020, 1, 1),
                end_date: None,
            },
            NewJob {
                title: "Intern".into(),
                company: format!("Company{}", (n + 1) % 50),
                industry: Some("Research".into()),
                start_date: chrono::NaiveDate::from_ymd_opt(2018, 1, 1),
                end_date: chrono::NaiveDate::from_ymd_opt(2019, 6, 30),
            },
        ],
        ..NewProfile::default()
    }
}
