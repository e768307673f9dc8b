//! Users: updates, deactivation and restore, listing, purge and import.

use aai_accounts::{
    ActiveFilter, Error, NewProfile, PageRequest, Principal, ProfileQuery, UserPatch, UserQuery,
};
use chrono::Duration;

use crate::common::{self, each};
use crate::{collect_all_pages, full_profile, new_profile, validation_fields};

#[test]
fn users_update_their_username_and_email() {
    each(|h| {
        let ada = h.register("ada");
        h.register("bob");
        let patch = UserPatch {
            username: Some("ada.l".into()),
            email: Some("ADA.L@example.com".into()),
            is_super_admin: None,
        };
        let user = h
            .accounts
            .users()
            .update(&ada.principal, ada.user.id, patch)
            .unwrap();
        assert_eq!(user.username, "ada.l");
        assert_eq!(user.email, "ada.l@example.com");
        assert!(user.updated_at >= user.created_at);
        let taken = UserPatch {
            username: Some("BOB".into()),
            email: None,
            is_super_admin: None,
        };
        assert!(matches!(
            h.accounts
                .users()
                .update(&ada.principal, ada.user.id, taken),
            Err(Error::Conflict { field: "username" })
        ));
        let invalid = UserPatch {
            username: Some("x".into()),
            email: Some("bad".into()),
            is_super_admin: None,
        };
        let fields = validation_fields(
            h.accounts
                .users()
                .update(&ada.principal, ada.user.id, invalid)
                .unwrap_err(),
        );
        assert_eq!(fields, ["username", "email"]);
    });
}

#[test]
fn deactivating_a_user_deactivates_their_profile_and_sessions_and_restore_brings_them_back() {
    each(|h| {
        let ada = h.register("ada");
        let admin = h.admin("root");
        let profile = h
            .accounts
            .profiles()
            .create(&ada.principal, new_profile("Ada"))
            .unwrap();
        h.clock.advance(Duration::seconds(1));
        let user = h
            .accounts
            .users()
            .deactivate(&ada.principal, ada.user.id)
            .unwrap();
        assert!(!user.is_active);
        assert_eq!(user.deactivated_at, Some(h.clock_now()));
        let hidden = h
            .accounts
            .profiles()
            .get(&admin.principal, profile.profile.id)
            .unwrap();
        assert!(!hidden.profile.is_active);
        assert!(h
            .accounts
            .refresh(&ada.registration.tokens.refresh_token)
            .is_err());
        let restored = h
            .accounts
            .users()
            .restore(&admin.principal, ada.user.id)
            .unwrap();
        assert!(restored.is_active && restored.deactivated_at.is_none());
        let again = h
            .accounts
            .profiles()
            .get(&admin.principal, profile.profile.id)
            .unwrap();
        assert!(again.profile.is_active);
    });
}

#[test]
fn user_list_filters_by_search_and_activity_and_pages_newest_first() {
    each(|h| {
        let admin = h.admin("root");
        let mut ids = Vec::new();
        for i in 0..7 {
            h.clock.advance(Duration::seconds(1));
            ids.push(h.register(&format!("user{i}")).user.id);
        }
        h.accounts
            .users()
            .deactivate(&admin.principal, ids[3])
            .unwrap();
        let users = h.accounts.users();
        let query = UserQuery {
            search: Some("USER".into()),
            ..UserQuery::default()
        };
        let listed = collect_all_pages(
            |page| users.list(&admin.principal, &query, page).unwrap(),
            2,
        );
        let listed: Vec<_> = listed.iter().map(|u| u.id).collect();
        let mut expected: Vec<_> = ids.iter().copied().filter(|id| *id != ids[3]).collect();
        expected.reverse();
        assert_eq!(listed, expected);
        let inactive = UserQuery {
            active: ActiveFilter::Inactive,
            ..UserQuery::default()
        };
        let page = users
            .list(&admin.principal, &inactive, PageRequest::default())
            .unwrap();
        assert_eq!(page.data.iter().map(|u| u.id).collect::<Vec<_>>(), [ids[3]]);
        let wildcard = UserQuery {
            search: Some("%".into()),
            ..UserQuery::default()
        };
        assert_eq!(
            users
                .list(&admin.principal, &wildcard, PageRequest::default())
                .unwrap()
                .total,
            0
        );
        let fields = validation_fields(
            users
                .list(&admin.principal, &query, PageRequest::new(0, 101))
                .unwrap_err(),
        );
        assert_eq!(fields, ["page", "size"]);
    });
}

#[test]
fn purge_deletes_the_user_and_everything_they_own() {
    each(|h| {
        let ada = h.register("ada");
        let admin = h.admin("root");
        let profile = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        assert!(matches!(
            h.accounts.users().purge(&ada.principal, ada.user.id),
            Err(Error::Forbidden)
        ));
        h.accounts
            .users()
            .purge(&admin.principal, ada.user.id)
            .unwrap();
        assert!(matches!(
            h.accounts.users().get(&admin.principal, ada.user.id),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            h.accounts
                .profiles()
                .get(&admin.principal, profile.profile.id),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            h.accounts.users().purge(&admin.principal, ada.user.id),
            Err(Error::NotFound { .. })
        ));
        // The name is free again.
        h.register("ada");
    });
}

#[test]
fn import_checks_every_field_and_keeps_ids() {
    each(|h| {
        let id = aai_accounts::UserId::new();
        let import = |username: &str, email: &str, hash: &str| aai_accounts::ImportUser {
            id: Some(id),
            username: username.into(),
            email: email.into(),
            password_hash: hash.into(),
            is_active: true,
            is_super_admin: false,
            email_verified: false,
            created_at: None,
            updated_at: None,
            profile: None,
        };
        let fields = validation_fields(
            h.accounts
                .users()
                .import(&Principal::system(), import("x", "bad", "plaintext"))
                .unwrap_err(),
        );
        assert_eq!(fields, ["username", "email", "password_hash"]);
        let hash = bcrypt::hash("legacy password", 4).unwrap();
        let user = h
            .accounts
            .users()
            .import(
                &Principal::system(),
                import("legacy", "legacy@example.com", &hash),
            )
            .unwrap();
        assert_eq!(user.id, id);
        assert!(matches!(
            h.accounts.users().import(
                &Principal::system(),
                import("other", "other@example.com", &hash)
            ),
            Err(Error::Conflict { field: "id" })
        ));
        let ada = h.register("ada");
        assert!(matches!(
            h.accounts
                .users()
                .import(&ada.principal, import("x2x", "x@example.com", &hash)),
            Err(Error::Forbidden)
        ));
    });
}

#[test]
fn logins_and_search_terms_with_control_characters_match_nothing() {
    each(|h| {
        let admin = h.admin("root");
        let ada = h.register("ada");
        h.accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        for login in ["ada\0", "\0", "ada@example.com\u{1}"] {
            let result = h
                .accounts
                .login(aai_accounts::Credentials::new(login, common::PASSWORD));
            assert!(
                matches!(result, Err(Error::InvalidCredentials)),
                "{login:?}"
            );
        }
        let users = UserQuery {
            search: Some("ad\0".into()),
            ..UserQuery::default()
        };
        let page = h
            .accounts
            .users()
            .list(&admin.principal, &users, PageRequest::default())
            .unwrap();
        assert_eq!((page.total, page.data.len()), (0, 0));
        for query in [
            ProfileQuery {
                name: Some("\0".into()),
                ..Default::default()
            },
            ProfileQuery {
                city: Some("Par\0is".into()),
                ..Default::default()
            },
            ProfileQuery {
                company: Some("Analytical\u{7}".into()),
                ..Default::default()
            },
        ] {
            let page = h
                .accounts
                .profiles()
                .search(&admin.principal, &query, PageRequest::default())
                .unwrap();
            assert_eq!(page.total, 0, "{query:?}");
        }
    });
}

#[test]
fn import_creates_the_user_and_profile_together_or_neither() {
    each(|h| {
        let id = aai_accounts::UserId::new();
        let hash = bcrypt::hash("legacy password", 4).unwrap();
        let import = |profile: NewProfile| aai_accounts::ImportUser {
            id: Some(id),
            username: "legacy".into(),
            email: "legacy@example.com".into(),
            password_hash: hash.clone(),
            is_active: true,
            is_super_admin: false,
            email_verified: false,
            created_at: None,
            updated_at: None,
            profile: Some(profile),
        };
        let mut invalid = full_profile("Legacy", "FR");
        invalid.contacts[1].value = "not a phone".into();
        let fields = validation_fields(
            h.accounts
                .users()
                .import(&Principal::system(), import(invalid))
                .unwrap_err(),
        );
        assert_eq!(fields, ["profile.contacts[1].value"]);
        assert!(matches!(
            h.accounts.users().get(&Principal::system(), id),
            Err(Error::NotFound { .. })
        ));
        let user = h
            .accounts
            .users()
            .import(&Principal::system(), import(full_profile("Legacy", "FR")))
            .unwrap();
        let details = h
            .accounts
            .profiles()
            .get_by_user(&Principal::system(), user.id)
            .unwrap();
        assert_eq!(details.profile.user_id, id);
        assert_eq!((details.contacts.len(), details.jobs.len()), (3, 2));
        assert_eq!(details.location.unwrap().country.as_str(), "FR");
    });
}

#[test]
fn role_changes_in_a_user_patch_are_for_admins_and_atomic() {
    each(|h| {
        let ada = h.register("ada");
        h.register("bob");
        let admin = h.admin("root");
        let promote = UserPatch {
            is_super_admin: Some(true),
            ..UserPatch::default()
        };
        assert!(matches!(
            h.accounts
                .users()
                .update(&ada.principal, ada.user.id, promote.clone()),
            Err(Error::Forbidden)
        ));
        let taken = UserPatch {
            email: Some("bob@example.com".into()),
            ..promote.clone()
        };
        assert!(matches!(
            h.accounts
                .users()
                .update(&admin.principal, ada.user.id, taken),
            Err(Error::Conflict { field: "email" })
        ));
        let unchanged = h
            .accounts
            .users()
            .get(&admin.principal, ada.user.id)
            .unwrap();
        assert!(!unchanged.is_super_admin, "a failed patch grants nothing");
        let promoted = h
            .accounts
            .users()
            .update(&admin.principal, ada.user.id, promote)
            .unwrap();
        assert!(promoted.is_super_admin);
    });
}

/// Every read a non-admin has of a profile and what hangs off it: each
/// must answer "not found" (or find nothing) for a profile of an inactive
/// user.
fn assert_hidden_from(
    h: &common::Harness,
    reader: &Principal,
    profile: &aai_accounts::ProfileDetails,
) {
    let id = profile.profile.id;
    let owner = profile.profile.user_id;
    assert!(matches!(
        h.accounts.profiles().get(reader, id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.accounts.profiles().get_by_user(reader, owner),
        Err(Error::NotFound { .. })
    ));
    for query in [
        ProfileQuery {
            name: Some(profile.profile.first_name.clone()),
            ..ProfileQuery::default()
        },
        ProfileQuery {
            country: Some("TV".into()),
            ..ProfileQuery::default()
        },
    ] {
        let found = h
            .accounts
            .profiles()
            .search(reader, &query, PageRequest::default())
            .unwrap();
        assert_eq!(found.total, 0, "{query:?}");
    }
    assert!(matches!(
        h.accounts.contacts().list(reader, id, ActiveFilter::Active),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.accounts.contacts().get(reader, profile.contacts[0].id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.accounts.jobs().list(reader, id, ActiveFilter::Active),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.accounts.jobs().get(reader, profile.jobs[0].id),
        Err(Error::NotFound { .. })
    ));
    let location = profile.location.as_ref().unwrap().id;
    assert!(matches!(
        h.accounts.locations().get(reader, location),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn importing_an_inactive_user_stores_their_profile_inactive() {
    each(|h| {
        let bob = h.register("bob");
        let id = aai_accounts::UserId::new();
        let mut profile = full_profile("Zelda", "TV");
        profile.contacts[0] =
            aai_accounts::NewContact::new(aai_accounts::ContactKind::Email, "zelda@example.com")
                .primary();
        profile.allow_contact = true;
        let imported = h
            .accounts
            .users()
            .import(
                &Principal::system(),
                aai_accounts::ImportUser {
                    id: Some(id),
                    username: "zelda".into(),
                    email: "zelda@example.com".into(),
                    password_hash: bcrypt::hash("legacy password", 4).unwrap(),
                    is_active: false,
                    is_super_admin: false,
                    email_verified: false,
                    created_at: None,
                    updated_at: None,
                    profile: Some(profile),
                },
            )
            .unwrap();
        assert!(!imported.is_active);
        let details = h
            .accounts
            .profiles()
            .get_by_user(&Principal::system(), id)
            .unwrap();
        assert!(!details.profile.is_active);
        assert_eq!(details.profile.deactivated_at, imported.deactivated_at);
        // Read through the admin's eyes with every child, then check that a
        // non-admin sees none of it.
        let details = aai_accounts::ProfileDetails {
            contacts: h
                .accounts
                .contacts()
                .list(&Principal::system(), details.profile.id, ActiveFilter::All)
                .unwrap(),
            jobs: h
                .accounts
                .jobs()
                .list(&Principal::system(), details.profile.id, ActiveFilter::All)
                .unwrap(),
            ..details
        };
        assert_hidden_from(h, &bob.principal, &details);
        // Restoring the profile alone would show it: refused.
        assert!(matches!(
            h.accounts
                .profiles()
                .restore(&Principal::system(), details.profile.id),
            Err(Error::Conflict { field: "user_id" })
        ));
        // Restoring the user restores the profile imported with them.
        h.accounts
            .users()
            .restore(&Principal::system(), id)
            .unwrap();
        let shown = h
            .accounts
            .profiles()
            .get(&bob.principal, details.profile.id)
            .unwrap();
        assert!(shown.profile.is_active);
        assert_eq!(shown.contacts.len(), 3);
    });
}

#[test]
fn a_profile_of_a_deactivated_user_cannot_be_restored_alone() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "TV"))
            .unwrap();
        h.accounts
            .users()
            .deactivate(&Principal::system(), ada.user.id)
            .unwrap();
        assert!(matches!(
            h.accounts
                .profiles()
                .restore(&Principal::system(), created.profile.id),
            Err(Error::Conflict { field: "user_id" })
        ));
        assert_hidden_from(h, &bob.principal, &created);
    });
}

fn imported(name: &str, hash: &str) -> aai_accounts::ImportUser {
    aai_accounts::ImportUser {
        id: None,
        username: name.into(),
        email: format!("{name}@example.com"),
        password_hash: hash.into(),
        is_active: true,
        is_super_admin: false,
        email_verified: false,
        created_at: None,
        updated_at: None,
        profile: None,
    }
}

#[test]
fn import_many_keeps_the_valid_rows_and_names_each_rejected_one() {
    each(|h| {
        let system = Principal::system();
        let hash = bcrypt::hash("legacy password", 4).unwrap();
        h.register("taken");
        let twin = aai_accounts::UserId::new();
        let with_profile = aai_accounts::ImportUser {
            profile: Some(crate::full_profile("Ada", "FR")),
            ..imported("ada", &hash)
        };
        let users = vec![
            with_profile,
            imported("bob", "plaintext"), // 1: not a hash
            imported("ADA", &hash),       // 2: username taken earlier in the input
            aai_accounts::ImportUser {
                email: "taken@example.com".into(),
                ..imported("carol", &hash) // 3: email taken in the store
            },
            aai_accounts::ImportUser {
                id: Some(twin),
                ..imported("dave", &hash)
            },
            aai_accounts::ImportUser {
                id: Some(twin),
                ..imported("erin", &hash) // 5: id taken earlier in the input
            },
            imported("frank", &hash),
        ];
        let report = h.accounts.users().import_many(&system, users).unwrap();
        let names: Vec<&str> = report
            .imported
            .iter()
            .map(|u| u.username.as_str())
            .collect();
        assert_eq!(names, ["ada", "dave", "frank"]);
        let rejected: Vec<(usize, String)> = report
            .rejected
            .iter()
            .map(|r| {
                let why = match &r.error {
                    Error::Validation(errors) => errors.errors()[0].field.clone(),
                    Error::Conflict { field } => format!("conflict {field}"),
                    other => panic!("{other:?}"),
                };
                (r.index, why)
            })
            .collect();
        assert_eq!(
            rejected,
            [
                (1, "password_hash".to_owned()),
                (2, "conflict username".to_owned()),
                (3, "conflict email".to_owned()),
                (5, "conflict id".to_owned()),
            ]
        );
        // The imported users are whole: profile included, able to log in.
        let ada = &report.imported[0];
        let profile = h.accounts.profiles().get_by_user(&system, ada.id).unwrap();
        assert_eq!(profile.contacts.len(), 3);
        h.accounts
            .login(aai_accounts::Credentials::new("frank", "legacy password"))
            .unwrap();
        assert_eq!(
            h.accounts
                .users()
                .get(&system, twin)
                .unwrap()
                .username
                .as_str(),
            "dave"
        );
    });
}

#[test]
fn import_many_spans_transactions_and_is_for_super_admins() {
    each(|h| {
        let hash = bcrypt::hash("legacy password", 4).unwrap();
        let ada = h.register("ada");
        let many = |prefix: &str| {
            (0..1200)
                .map(|n| imported(&format!("{prefix}{n}"), &hash))
                .collect::<Vec<_>>()
        };
        assert!(matches!(
            h.accounts.users().import_many(&ada.principal, many("x")),
            Err(Error::Forbidden)
        ));
        let report = h
            .accounts
            .users()
            .import_many(&Principal::system(), many("user"))
            .unwrap();
        assert_eq!((report.imported.len(), report.rejected.len()), (1200, 0));
        let page = h
            .accounts
            .users()
            .list(
                &Principal::system(),
                &Default::default(),
                PageRequest::new(1, 1),
            )
            .unwrap();
        assert_eq!(
            page.total, 1201,
            "ada and the imported, none of the refused x"
        );
    });
}
