//! Users, profiles, locations, contacts and jobs: the rules of each, on
//! every backend.

mod common;

use aai_accounts::{
    ActiveFilter, ContactKind, ContactPatch, Error, JobPatch, LocationPatch, LocationQuery,
    NewContact, NewJob, NewLocation, NewProfile, Page, PageRequest, Patch, Principal, ProfilePatch,
    ProfileQuery, UserPatch, UserQuery,
};
use chrono::{Duration, NaiveDate};
use common::{each, Harness, TestUser};

fn new_profile(first: &str) -> NewProfile {
    NewProfile {
        first_name: first.into(),
        last_name: "Tester".into(),
        ..NewProfile::default()
    }
}

fn full_profile(first: &str, country: &str) -> NewProfile {
    NewProfile {
        location: Some(NewLocation {
            country: country.into(),
            city: Some("Paris".into()),
            ..NewLocation::default()
        }),
        contacts: vec![
            NewContact::new(ContactKind::Email, "Work@Example.com").primary(),
            NewContact::new(ContactKind::Phone, "+33 1-23-45-67-89"),
            NewContact::new(ContactKind::Website, "https://example.com"),
        ],
        jobs: vec![
            NewJob {
                title: "Engineer".into(),
                company: "Analytical Engines".into(),
                industry: Some("Computing".into()),
                start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
                end_date: None,
            },
            NewJob {
                title: "Intern".into(),
                company: "Difference Ltd".into(),
                industry: Some("Mechanics".into()),
                start_date: NaiveDate::from_ymd_opt(2018, 1, 1),
                end_date: NaiveDate::from_ymd_opt(2019, 12, 31),
            },
        ],
        is_public: true,
        ..new_profile(first)
    }
}

fn validation_fields(error: Error) -> Vec<String> {
    match error {
        Error::Validation(errors) => errors.errors().iter().map(|e| e.field.clone()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn collect_all_pages<T: Clone>(mut fetch: impl FnMut(PageRequest) -> Page<T>, size: u32) -> Vec<T> {
    let first = fetch(PageRequest::new(1, size));
    let mut items = first.data.clone();
    for page in 2..=first.pages {
        let next = fetch(PageRequest::new(page, size));
        assert_eq!(next.total, first.total);
        items.extend(next.data);
    }
    assert_eq!(items.len() as u64, first.total);
    items
}

// ---- users ----

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

// ---- profiles ----

#[test]
fn profile_create_writes_location_contacts_and_jobs_together() {
    each(|h| {
        let ada = h.register("ada");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "fr"))
            .unwrap();
        let location = created.location.clone().unwrap();
        assert_eq!(location.country.as_str(), "FR");
        assert_eq!(location.user_id, ada.user.id);
        assert_eq!(created.profile.location_id, Some(location.id));
        assert_eq!(created.contacts.len(), 3);
        assert_eq!(created.contacts[0].value, "work@example.com");
        assert!(created.contacts[0].is_primary);
        assert!(created.contacts.iter().any(|c| c.value == "+33123456789"));
        assert_eq!(created.jobs.len(), 2);
        assert!(created.jobs[0].is_current());
        let loaded = h
            .accounts
            .profiles()
            .get(&ada.principal, created.profile.id)
            .unwrap();
        assert_eq!(loaded, created);
        let by_user = h
            .accounts
            .profiles()
            .get_by_user(&ada.principal, ada.user.id)
            .unwrap();
        assert_eq!(by_user, created);
    });
}

#[test]
fn invalid_nested_input_writes_nothing() {
    each(|h| {
        let ada = h.register("ada");
        let mut input = full_profile("Ada", "XX");
        input
            .contacts
            .push(NewContact::new(ContactKind::Phone, "12"));
        input
            .contacts
            .push(NewContact::new(ContactKind::Email, "second@example.com").primary());
        input.jobs[1].end_date = NaiveDate::from_ymd_opt(2017, 1, 1);
        let fields = validation_fields(
            h.accounts
                .profiles()
                .create(&ada.principal, input)
                .unwrap_err(),
        );
        for field in [
            "location.country",
            "contacts[3].value",
            "jobs[1].end_date",
            "contacts[4].is_primary",
        ] {
            assert!(
                fields.iter().any(|f| f == field),
                "{field} missing from {fields:?}"
            );
        }
        assert!(matches!(
            h.accounts
                .profiles()
                .get_by_user(&ada.principal, ada.user.id),
            Err(Error::NotFound { .. })
        ));
        let locations = h
            .accounts
            .locations()
            .list(
                &ada.principal,
                &LocationQuery::default(),
                PageRequest::default(),
            )
            .unwrap();
        assert_eq!(locations.total, 0);
    });
}

#[test]
fn one_active_profile_per_user() {
    each(|h| {
        let ada = h.register("ada");
        let first = h
            .accounts
            .profiles()
            .create(&ada.principal, new_profile("Ada"))
            .unwrap();
        assert!(matches!(
            h.accounts
                .profiles()
                .create(&ada.principal, new_profile("Again")),
            Err(Error::Conflict { field: "user_id" })
        ));
        h.accounts
            .profiles()
            .deactivate(&ada.principal, first.profile.id)
            .unwrap();
        let second = h
            .accounts
            .profiles()
            .create(&ada.principal, new_profile("Again"))
            .unwrap();
        // Restoring the first would make two active profiles.
        assert!(matches!(
            h.accounts
                .profiles()
                .restore(&Principal::system(), first.profile.id),
            Err(Error::Conflict { field: "user_id" })
        ));
        assert_eq!(
            h.accounts
                .profiles()
                .get_by_user(&ada.principal, ada.user.id)
                .unwrap()
                .profile
                .id,
            second.profile.id
        );
    });
}

#[test]
fn profile_patch_keeps_clears_and_sets() {
    each(|h| {
        let ada = h.register("ada");
        let mut input = new_profile("Ada");
        input.bio = Some("Poet of science".into());
        input.gender = Some("female".into());
        let created = h.accounts.profiles().create(&ada.principal, input).unwrap();
        h.clock.advance(Duration::seconds(5));
        let patch = ProfilePatch {
            bio: Patch::Clear,
            first_name: Some("Augusta".into()),
            is_public: Some(true),
            ..ProfilePatch::default()
        };
        let updated = h
            .accounts
            .profiles()
            .update(&ada.principal, created.profile.id, patch)
            .unwrap();
        assert_eq!(updated.bio, None);
        assert_eq!(updated.gender.as_deref(), Some("female"));
        assert_eq!(updated.first_name, "Augusta");
        assert!(updated.is_public);
        assert_eq!(updated.created_at, created.profile.created_at);
        assert_eq!(
            updated.updated_at,
            created.profile.created_at + Duration::seconds(5)
        );
        let invalid = ProfilePatch {
            date_of_birth: Patch::Set(NaiveDate::from_ymd_opt(2999, 1, 1).unwrap()),
            profile_picture_url: Patch::Set("ftp://x".into()),
            ..ProfilePatch::default()
        };
        let fields = validation_fields(
            h.accounts
                .profiles()
                .update(&ada.principal, created.profile.id, invalid)
                .unwrap_err(),
        );
        assert_eq!(fields, ["date_of_birth", "profile_picture_url"]);
    });
}

#[test]
fn profiles_may_only_use_their_owners_active_locations() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let bobs = h
            .accounts
            .locations()
            .create(
                &bob.principal,
                bob.user.id,
                NewLocation {
                    country: "DE".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let mut input = new_profile("Ada");
        input.location_id = Some(bobs.id);
        assert_eq!(
            validation_fields(
                h.accounts
                    .profiles()
                    .create(&ada.principal, input)
                    .unwrap_err()
            ),
            ["location_id"]
        );
        let profile = h
            .accounts
            .profiles()
            .create(&ada.principal, new_profile("Ada"))
            .unwrap();
        let patch = ProfilePatch {
            location_id: Patch::Set(bobs.id),
            ..Default::default()
        };
        assert_eq!(
            validation_fields(
                h.accounts
                    .profiles()
                    .update(&ada.principal, profile.profile.id, patch)
                    .unwrap_err()
            ),
            ["location_id"]
        );
        let adas = h
            .accounts
            .locations()
            .create(
                &ada.principal,
                ada.user.id,
                NewLocation {
                    country: "GB".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let patch = ProfilePatch {
            location_id: Patch::Set(adas.id),
            ..Default::default()
        };
        assert_eq!(
            h.accounts
                .profiles()
                .update(&ada.principal, profile.profile.id, patch)
                .unwrap()
                .location_id,
            Some(adas.id)
        );
    });
}

fn seed_search(h: &Harness) -> (TestUser, Vec<aai_accounts::ProfileId>) {
    let viewer = h.register("viewer");
    let mut ids = Vec::new();
    for (i, (country, public)) in [
        ("FR", true),
        ("FR", true),
        ("DE", true),
        ("FR", false),
        ("FR", true),
    ]
    .into_iter()
    .enumerate()
    {
        h.clock.advance(Duration::seconds(1));
        let user = h.register(&format!("member{i}"));
        let mut input = full_profile(&format!("Name{i}"), country);
        input.is_public = public;
        if i == 4 {
            input.jobs[0].company = "Other Corp".into();
        }
        ids.push(
            h.accounts
                .profiles()
                .create(&user.principal, input)
                .unwrap()
                .profile
                .id,
        );
    }
    (viewer, ids)
}

#[test]
fn profile_search_filters_and_hides_private_profiles() {
    each(|h| {
        let (viewer, ids) = seed_search(h);
        let search = |query: ProfileQuery| -> Vec<_> {
            h.accounts
                .profiles()
                .search(&viewer.principal, &query, PageRequest::default())
                .unwrap()
                .data
                .into_iter()
                .map(|p| p.id)
                .collect()
        };
        assert_eq!(
            search(ProfileQuery::default()),
            [ids[4], ids[2], ids[1], ids[0]]
        );
        assert_eq!(
            search(ProfileQuery {
                country: Some("fr".into()),
                ..Default::default()
            }),
            [ids[4], ids[1], ids[0]]
        );
        assert_eq!(
            search(ProfileQuery {
                city: Some("PARIS".into()),
                ..Default::default()
            })
            .len(),
            4
        );
        assert_eq!(
            search(ProfileQuery {
                name: Some("name2".into()),
                ..Default::default()
            }),
            [ids[2]]
        );
        assert_eq!(
            search(ProfileQuery {
                company: Some("other corp".into()),
                ..Default::default()
            }),
            [ids[4]]
        );
        assert_eq!(
            search(ProfileQuery {
                industry: Some("computing".into()),
                ..Default::default()
            })
            .len(),
            4
        );
        assert_eq!(
            search(ProfileQuery {
                is_public: Some(false),
                ..Default::default()
            }),
            Vec::<aai_accounts::ProfileId>::new()
        );
        let admin = h.admin("root");
        let all = h
            .accounts
            .profiles()
            .search(
                &admin.principal,
                &ProfileQuery::default(),
                PageRequest::default(),
            )
            .unwrap();
        assert_eq!(all.total, 5);
        assert!(matches!(
            h.accounts.profiles().search(
                &viewer.principal,
                &ProfileQuery {
                    active: ActiveFilter::All,
                    ..Default::default()
                },
                PageRequest::default()
            ),
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            h.accounts.profiles().search(
                &viewer.principal,
                &ProfileQuery {
                    country: Some("XX".into()),
                    ..Default::default()
                },
                PageRequest::default()
            ),
            Err(Error::Validation(_))
        ));
    });
}

#[test]
fn profile_search_pages_visit_every_row_once() {
    each(|h| {
        let (viewer, _) = seed_search(h);
        let profiles = h.accounts.profiles();
        let visited = collect_all_pages(
            |page| {
                profiles
                    .search(&viewer.principal, &ProfileQuery::default(), page)
                    .unwrap()
            },
            3,
        );
        let mut ids: Vec<_> = visited.iter().map(|p| p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4);
    });
}

#[test]
fn public_profiles_hide_contacts_unless_allowed() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        let seen = h
            .accounts
            .profiles()
            .get(&bob.principal, created.profile.id)
            .unwrap();
        assert!(seen.contacts.is_empty());
        assert_eq!(seen.jobs.len(), 2);
        assert!(matches!(
            h.accounts
                .contacts()
                .list(&bob.principal, created.profile.id, ActiveFilter::Active),
            Err(Error::NotFound { .. })
        ));
        let patch = ProfilePatch {
            allow_contact: Some(true),
            ..Default::default()
        };
        h.accounts
            .profiles()
            .update(&ada.principal, created.profile.id, patch)
            .unwrap();
        assert_eq!(
            h.accounts
                .profiles()
                .get(&bob.principal, created.profile.id)
                .unwrap()
                .contacts
                .len(),
            3
        );
        assert_eq!(
            h.accounts
                .contacts()
                .list(&bob.principal, created.profile.id, ActiveFilter::Active)
                .unwrap()
                .len(),
            3
        );
        let private = ProfilePatch {
            is_public: Some(false),
            ..Default::default()
        };
        h.accounts
            .profiles()
            .update(&ada.principal, created.profile.id, private)
            .unwrap();
        assert!(matches!(
            h.accounts
                .profiles()
                .get(&bob.principal, created.profile.id),
            Err(Error::NotFound { .. })
        ));
    });
}

// ---- contacts ----

#[test]
fn set_primary_unprimaries_the_other_of_its_kind_only() {
    each(|h| {
        let ada = h.register("ada");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        let profile_id = created.profile.id;
        let contacts = h.accounts.contacts();
        let phone_primary = contacts
            .add(
                &ada.principal,
                profile_id,
                NewContact::new(ContactKind::Phone, "+4912345678").primary(),
            )
            .unwrap();
        let second_email = contacts
            .add(
                &ada.principal,
                profile_id,
                NewContact::new(ContactKind::Email, "home@example.com"),
            )
            .unwrap();
        contacts
            .set_primary(&ada.principal, second_email.id)
            .unwrap();
        let all = contacts
            .list(&ada.principal, profile_id, ActiveFilter::Active)
            .unwrap();
        let primaries: Vec<_> = all.iter().filter(|c| c.is_primary).map(|c| c.id).collect();
        assert_eq!(primaries.len(), 2);
        assert!(primaries.contains(&second_email.id) && primaries.contains(&phone_primary.id));
        // Adding a new primary email moves the flag again.
        let third = contacts
            .add(
                &ada.principal,
                profile_id,
                NewContact::new(ContactKind::Email, "third@example.com").primary(),
            )
            .unwrap();
        let all = contacts
            .list(&ada.principal, profile_id, ActiveFilter::Active)
            .unwrap();
        let email_primaries: Vec<_> = all
            .iter()
            .filter(|c| c.is_primary && c.kind == ContactKind::Email)
            .map(|c| c.id)
            .collect();
        assert_eq!(email_primaries, [third.id]);
    });
}

#[test]
fn contact_updates_are_validated_against_their_kind() {
    each(|h| {
        let ada = h.register("ada");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        let website = created
            .contacts
            .iter()
            .find(|c| c.kind == ContactKind::Website)
            .unwrap();
        let patch = ContactPatch {
            kind: Some(ContactKind::Phone),
            ..Default::default()
        };
        assert_eq!(
            validation_fields(
                h.accounts
                    .contacts()
                    .update(&ada.principal, website.id, patch)
                    .unwrap_err()
            ),
            ["value"]
        );
        let patch = ContactPatch {
            value: Some("https://ada.dev".into()),
            ..Default::default()
        };
        assert_eq!(
            h.accounts
                .contacts()
                .update(&ada.principal, website.id, patch)
                .unwrap()
                .value,
            "https://ada.dev"
        );
        // Making a contact primary through a patch also moves the flag.
        let phone = created
            .contacts
            .iter()
            .find(|c| c.kind == ContactKind::Phone)
            .unwrap();
        let patch = ContactPatch {
            kind: Some(ContactKind::Email),
            value: Some("x@example.com".into()),
            is_primary: Some(true),
        };
        h.accounts
            .contacts()
            .update(&ada.principal, phone.id, patch)
            .unwrap();
        let all = h
            .accounts
            .contacts()
            .list(&ada.principal, created.profile.id, ActiveFilter::Active)
            .unwrap();
        assert_eq!(
            all.iter()
                .filter(|c| c.is_primary && c.kind == ContactKind::Email)
                .count(),
            1
        );
    });
}

#[test]
fn deactivated_contacts_are_hidden_from_non_admins() {
    each(|h| {
        let ada = h.register("ada");
        let admin = h.admin("root");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        let primary = created.contacts[0].clone();
        let gone = h
            .accounts
            .contacts()
            .deactivate(&ada.principal, primary.id)
            .unwrap();
        assert!(!gone.is_active && !gone.is_primary && gone.deactivated_at.is_some());
        assert_eq!(
            h.accounts
                .profiles()
                .get(&ada.principal, created.profile.id)
                .unwrap()
                .contacts
                .len(),
            2
        );
        assert!(matches!(
            h.accounts.contacts().get(&ada.principal, primary.id),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            h.accounts
                .contacts()
                .list(&ada.principal, created.profile.id, ActiveFilter::All),
            Err(Error::Forbidden)
        ));
        let all = h
            .accounts
            .contacts()
            .list(&admin.principal, created.profile.id, ActiveFilter::All)
            .unwrap();
        assert_eq!(all.len(), 3);
        assert!(matches!(
            h.accounts.contacts().restore(&ada.principal, primary.id),
            Err(Error::Forbidden)
        ));
        assert!(
            h.accounts
                .contacts()
                .restore(&admin.principal, primary.id)
                .unwrap()
                .is_active
        );
    });
}

// ---- jobs ----

#[test]
fn job_patches_are_validated_as_a_whole() {
    each(|h| {
        let ada = h.register("ada");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        let job = created.jobs[0].clone();
        let patch = JobPatch {
            end_date: Patch::Set(NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            validation_fields(
                h.accounts
                    .jobs()
                    .update(&ada.principal, job.id, patch)
                    .unwrap_err()
            ),
            ["end_date"]
        );
        let patch = JobPatch {
            end_date: Patch::Set(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()),
            title: Some("Lead".into()),
            ..Default::default()
        };
        let updated = h
            .accounts
            .jobs()
            .update(&ada.principal, job.id, patch)
            .unwrap();
        assert!(!updated.is_current());
        assert_eq!(updated.title, "Lead");
        let new_job = NewJob {
            title: "Advisor".into(),
            company: "Royal Society".into(),
            ..Default::default()
        };
        let added = h
            .accounts
            .jobs()
            .add(&ada.principal, created.profile.id, new_job)
            .unwrap();
        let jobs = h
            .accounts
            .jobs()
            .list(&ada.principal, created.profile.id, ActiveFilter::Active)
            .unwrap();
        assert_eq!(jobs[0].id, added.id, "current jobs first");
        h.accounts
            .jobs()
            .deactivate(&ada.principal, added.id)
            .unwrap();
        assert_eq!(
            h.accounts
                .jobs()
                .list(&ada.principal, created.profile.id, ActiveFilter::Active)
                .unwrap()
                .len(),
            2
        );
        assert!(matches!(
            h.accounts
                .jobs()
                .add(&ada.principal, created.profile.id, NewJob::default()),
            Err(Error::Validation(_))
        ));
    });
}

// ---- locations ----

#[test]
fn locations_are_owned_listed_and_soft_deleted() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let locations = h.accounts.locations();
        let home = locations
            .create(
                &ada.principal,
                ada.user.id,
                NewLocation {
                    country: "gb".into(),
                    city: Some("London".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(home.country.as_str(), "GB");
        assert!(matches!(
            locations.create(
                &ada.principal,
                bob.user.id,
                NewLocation {
                    country: "GB".into(),
                    ..Default::default()
                }
            ),
            Err(Error::Forbidden)
        ));
        let invalid = NewLocation {
            country: "XX".into(),
            postal_code: Some("!!".into()),
            ..Default::default()
        };
        assert_eq!(
            validation_fields(
                locations
                    .create(&ada.principal, ada.user.id, invalid)
                    .unwrap_err()
            ),
            ["country", "postal_code"]
        );
        assert!(matches!(
            locations.get(&bob.principal, home.id),
            Err(Error::NotFound { .. })
        ));
        let patch = LocationPatch {
            city: Patch::Clear,
            postal_code: Patch::Set("SW1A 1AA".into()),
            ..Default::default()
        };
        let updated = locations.update(&ada.principal, home.id, patch).unwrap();
        assert_eq!(updated.city, None);
        assert_eq!(updated.postal_code.as_deref(), Some("SW1A 1AA"));
        assert!(matches!(
            locations.update(&bob.principal, home.id, LocationPatch::default()),
            Err(Error::Forbidden)
        ));
        let mine = locations
            .list(
                &ada.principal,
                &LocationQuery::default(),
                PageRequest::default(),
            )
            .unwrap();
        assert_eq!(mine.total, 1);
        let theirs = locations
            .list(
                &bob.principal,
                &LocationQuery::default(),
                PageRequest::default(),
            )
            .unwrap();
        assert_eq!(theirs.total, 0);
        assert!(matches!(
            locations.list(
                &bob.principal,
                &LocationQuery {
                    user_id: Some(ada.user.id),
                    ..Default::default()
                },
                PageRequest::default()
            ),
            Err(Error::Forbidden)
        ));
        locations.deactivate(&ada.principal, home.id).unwrap();
        assert!(matches!(
            locations.get(&ada.principal, home.id),
            Err(Error::NotFound { .. })
        ));
        assert_eq!(
            locations
                .list(
                    &ada.principal,
                    &LocationQuery::default(),
                    PageRequest::default()
                )
                .unwrap()
                .total,
            0
        );
    });
}

#[test]
fn timestamps_never_go_backwards_and_ids_never_change() {
    each(|h| {
        let ada = h.register("ada");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        h.clock.advance(Duration::milliseconds(1500));
        let patch = ProfilePatch {
            bio: Patch::Set("x".into()),
            ..Default::default()
        };
        let updated = h
            .accounts
            .profiles()
            .update(&ada.principal, created.profile.id, patch)
            .unwrap();
        assert_eq!(updated.id, created.profile.id);
        assert!(updated.updated_at > updated.created_at);
        let contact = h
            .accounts
            .contacts()
            .set_primary(&ada.principal, created.contacts[1].id)
            .unwrap();
        assert!(contact.updated_at >= contact.created_at);
        assert_eq!(contact.id, created.contacts[1].id);
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
