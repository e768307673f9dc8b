//! Input fuzzing: arbitrary strings (unicode, control characters, very
//! long, SQL and JSON metacharacters) in every input field never panic,
//! and either pass validation or answer `Error::Validation` naming only
//! fields that got arbitrary input. Arbitrary tokens answer
//! `Error::Unauthenticated`.
//!
//! Where an input may legitimately collide or match nothing, the other
//! answers are listed per test (`Conflict` for a taken username,
//! `InvalidCredentials` for a login).

mod common;

use aai_accounts::{
    ContactKind, ContactPatch, Credentials, Error, JobPatch, LocationPatch, NewContact, NewJob,
    NewLocation, NewProfile, NewUser, PageRequest, Patch, Principal, ProfilePatch, ProfileQuery,
    UserPatch, UserQuery,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings a hostile or careless client sends.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC*",
        "[\\x00-\\x1f\\x7f]{0,8}",
        ".{0,3000}",
        proptest::sample::select(vec![
            "' OR 1=1 --",
            "\"; DROP TABLE users; --",
            "%",
            "_",
            "\\",
            "%_\\'\"",
            "{\"a\": [1, {\"b\": null}]}",
            "\u{0}",
            "\u{202e}evil",
            "ada@example.com",
            "https://example.com/a.png",
            "+33 1 23 45 67 89",
            "FR",
            "",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Every field named in the error is one of `fields` (a nested field is
/// named by its path, so a prefix match counts).
fn only_fields(error: &Error, fields: &[&str]) -> bool {
    match error {
        Error::Validation(errors) => errors.errors().iter().all(|e| {
            fields
                .iter()
                .any(|f| e.field == *f || e.field.starts_with(&format!("{f}.")))
        }),
        _ => false,
    }
}

fn harness() -> common::Harness {
    common::backends().remove(0)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn registration_fields_are_validated(username in nasty(), email in nasty(), password in nasty()) {
        let h = harness();
        let result = h.accounts.register(NewUser { username, email, password: password.into() });
        if let Err(error) = &result {
            prop_assert!(only_fields(error, &["username", "email", "password"]), "{error:?}");
        }
    }

    #[test]
    fn login_with_anything_is_refused_without_panic(login in nasty(), password in nasty()) {
        let h = harness();
        h.register("ada");
        let result = h.accounts.login(Credentials::new(login, password));
        prop_assert!(matches!(result, Err(Error::InvalidCredentials)), "{result:?}");
    }

    #[test]
    fn profile_fields_are_validated(
        first in nasty(), last in nasty(), gender in nasty(), bio in nasty(), url in nasty(),
        country in nasty(), city in nasty(), postal in nasty(),
        value in nasty(), kind in 0..5usize, title in nasty(), company in nasty(), industry in nasty(),
    ) {
        let h = harness();
        let ada = h.register("ada");
        let new = NewProfile {
            first_name: first,
            last_name: last,
            gender: Some(gender),
            bio: Some(bio),
            profile_picture_url: Some(url),
            location: Some(NewLocation {
                country,
                city: Some(city),
                postal_code: Some(postal),
                ..NewLocation::default()
            }),
            contacts: vec![NewContact::new(ContactKind::ALL[kind], value)],
            jobs: vec![NewJob { title, company, industry: Some(industry), ..NewJob::default() }],
            ..NewProfile::default()
        };
        let fields = [
            "first_name", "last_name", "gender", "bio", "profile_picture_url",
            "location", "contacts[0]", "jobs[0]",
        ];
        match h.accounts.profiles().create(&ada.principal, new) {
            Ok(details) => prop_assert_eq!(details.contacts.len(), 1),
            Err(error) => prop_assert!(only_fields(&error, &fields), "{error:?}"),
        }
    }

    #[test]
    fn patches_are_validated(
        username in nasty(), email in nasty(), first in nasty(), bio in nasty(),
        country in nasty(), city in nasty(), value in nasty(), title in nasty(),
    ) {
        let h = harness();
        let ada = h.register("ada");
        let (accounts, me) = (&h.accounts, &ada.principal);
        let profile = accounts.profiles().create(me, NewProfile {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            location: Some(NewLocation { country: "FR".into(), ..NewLocation::default() }),
            contacts: vec![NewContact::new(ContactKind::Other, "pigeon")],
            jobs: vec![NewJob { title: "T".into(), company: "C".into(), ..NewJob::default() }],
            ..NewProfile::default()
        }).unwrap();

        let result = accounts.users().update(me, ada.user.id, UserPatch {
            username: Some(username),
            email: Some(email),
            is_super_admin: None,
        });
        if let Err(error) = &result {
            // Taking an existing name is a conflict; there is none here.
            prop_assert!(only_fields(error, &["username", "email"]), "{error:?}");
        }
        let result = accounts.profiles().update(me, profile.profile.id, ProfilePatch {
            first_name: Some(first),
            bio: Patch::Set(bio),
            ..ProfilePatch::default()
        });
        if let Err(error) = &result {
            prop_assert!(only_fields(error, &["first_name", "bio"]), "{error:?}");
        }
        let location = profile.location.unwrap().id;
        let result = accounts.locations().update(me, location, LocationPatch {
            country: Some(country),
            city: Patch::Set(city),
            ..LocationPatch::default()
        });
        if let Err(error) = &result {
            prop_assert!(only_fields(error, &["country", "city"]), "{error:?}");
        }
        let result = accounts.contacts().update(me, profile.contacts[0].id, ContactPatch {
            value: Some(value),
            ..ContactPatch::default()
        });
        if let Err(error) = &result {
            prop_assert!(only_fields(error, &["value"]), "{error:?}");
        }
        let result = accounts.jobs().update(me, profile.jobs[0].id, JobPatch {
            title: Some(title),
            ..JobPatch::default()
        });
        if let Err(error) = &result {
            prop_assert!(only_fields(error, &["title"]), "{error:?}");
        }
    }

    #[test]
    fn searches_take_any_text_literally(text in nasty()) {
        let h = harness();
        let ada = h.register("ada");
        let system = Principal::system();
        let query = ProfileQuery {
            name: Some(text.clone()),
            city: Some(text.clone()),
            company: Some(text.clone()),
            industry: Some(text.clone()),
            ..ProfileQuery::default()
        };
        let page = h.accounts.profiles().search(&ada.principal, &query, PageRequest::default()).unwrap();
        prop_assert_eq!(page.total, 0);
        let users = h.accounts.users().list(
            &system,
            &UserQuery { search: Some(text.clone()), ..UserQuery::default() },
            PageRequest::default(),
        ).unwrap();
        // A search matches a substring of "ada" or "ada@example.com" only.
        let lower = text.to_lowercase();
        let expected = u64::from("ada@example.com".contains(&lower));
        prop_assert_eq!(users.total, expected, "{:?}", text);
        let country = ProfileQuery { country: Some(text), ..ProfileQuery::default() };
        match h.accounts.profiles().search(&ada.principal, &country, PageRequest::default()) {
            Ok(page) => prop_assert_eq!(page.total, 0),
            Err(error) => prop_assert!(only_fields(&error, &["country"]), "{error:?}"),
        }
    }

    #[test]
    fn arbitrary_tokens_are_unauthenticated(bytes in proptest::collection::vec(any::<u8>(), 0..600), text in nasty()) {
        let h = harness();
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        for token in [lossy, text] {
            let verify = h.accounts.verify_access_token(&token);
            prop_assert!(matches!(verify, Err(Error::Unauthenticated(_))), "{verify:?}");
            let authenticate = h.accounts.authenticate(&token);
            prop_assert!(matches!(authenticate, Err(Error::Unauthenticated(_))), "{authenticate:?}");
            let refresh = h.accounts.refresh(&token);
            prop_assert!(matches!(refresh, Err(Error::Unauthenticated(_))), "{refresh:?}");
            let logout = h.accounts.logout(&token);
            prop_assert!(matches!(logout, Err(Error::Unauthenticated(_))), "{logout:?}");
        }
    }
}
