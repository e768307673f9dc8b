//! The first program to read: register, log in, create a profile, refresh.
//!
//! Run with `cargo run --example quickstart`.

use aai_accounts::{
    Accounts, ContactKind, Credentials, NewContact, NewLocation, NewProfile, NewUser, Result,
};

fn main() -> Result<()> {
    // An in-memory SQLite database; use "sqlite://accounts.db" to keep it.
    let accounts = Accounts::open("sqlite::memory:")?;

    let registration = accounts.register(NewUser {
        username: "ada".into(),
        email: "ada@example.com".into(),
        password: "correct horse battery staple".into(),
    })?;
    println!(
        "registered {} ({})",
        registration.user.username, registration.user.id
    );

    // Log in with the username or the email, in any case.
    let tokens = accounts.login(Credentials::new(
        "ADA@example.com",
        "correct horse battery staple",
    ))?;
    let ada = accounts.authenticate(&tokens.access_token)?;

    // A profile with a location and a primary contact, in one transaction.
    let profile = accounts.profiles().create(
        &ada,
        NewProfile {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            is_public: true,
            location: Some(NewLocation {
                country: "gb".into(),
                city: Some("London".into()),
                ..Default::default()
            }),
            contacts: vec![NewContact::new(ContactKind::Email, "ada@example.com").primary()],
            ..Default::default()
        },
    )?;
    println!(
        "{}",
        serde_json::to_string_pretty(&profile).unwrap_or_default()
    );

    // Refresh tokens rotate: the old one is spent, reusing it revokes the session.
    let next = accounts.refresh(&tokens.refresh_token)?;
    assert!(accounts.refresh(&tokens.refresh_token).is_err());
    accounts.logout(&next.refresh_token)?;
    println!("refreshed once, then logged out");
    Ok(())
}
