//! Profiles: created with their location, contacts and jobs; one active
//! per user; patched, searched and shown by visibility.

use aai_accounts::{
    ActiveFilter, ContactKind, Error, LocationQuery, NewContact, NewLocation, PageRequest, Patch,
    Principal, ProfilePatch, ProfileQuery,
};
use chrono::{Duration, NaiveDate};

use crate::common::{each, Harness, TestUser};
use crate::{collect_all_pages, full_profile, new_profile, validation_fields};

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
fn invisible_and_bidirectional_characters_are_refused_in_every_free_text_field() {
    each(|h| {
        let ada = h.register("ada");
        let mut input = full_profile("A\u{202E}da", "fr");
        input.last_name = "Love\u{200B}lace".into();
        input.bio = Some("hello\u{2066} world".into());
        if let Some(location) = input.location.as_mut() {
            location.city = Some("Pa\u{FEFF}ris".into());
            location.state_province = Some("\u{AD}IDF".into());
        }
        input.contacts[0] = NewContact::new(ContactKind::Email, "ada\u{200D}@example.com");
        input.jobs[0].company = "Analytical\u{2060} Engines".into();
        input.jobs[0].title = "\u{200F}Engineer".into();
        input.jobs[0].industry = Some("Comp\u{2064}uting".into());
        let error = h
            .accounts
            .profiles()
            .create(&ada.principal, input)
            .unwrap_err();
        let Error::Validation(errors) = error else {
            panic!("expected a validation error, got {error:?}");
        };
        for field in [
            "first_name",
            "last_name",
            "bio",
            "location.city",
            "location.state_province",
            "contacts[0].value",
            "jobs[0].company",
            "jobs[0].title",
            "jobs[0].industry",
        ] {
            assert!(
                errors
                    .errors()
                    .iter()
                    .any(|e| e.field == field && e.code == "invisible_character"),
                "{field} not refused as invisible in {errors:?}"
            );
        }
        let registered = h.accounts.register(aai_accounts::NewUser {
            username: "bob".into(),
            email: "b\u{202E}ob@example.com".into(),
            password: crate::common::PASSWORD.into(),
        });
        assert_eq!(
            validation_fields(registered.unwrap_err()),
            vec!["email".to_owned()]
        );
    });
}
