//! Profiles: round trips, the one-active-profile rule, updates and lists.

use chrono::Duration;

use super::fixtures::*;
use crate::model::{ActiveFilter, Job, PageRequest, Profile, ProfileId, ProfileQuery, UserId};
use crate::store::{Store, UserRow};

/// Every column of a profile survives a round trip, `None`s included.
pub fn profile_round_trip(store: &dyn Store) {
    let owner = insert_user(store, "profile");
    let location = location(owner.user.id, "GB", Some("London"));
    let full = Profile {
        date_of_birth: Some(date(1900, 1, 1)),
        gender: Some("non-binary".into()),
        location_id: Some(location.id),
        bio: Some("Writes programs for engines that do not exist yet.".into()),
        profile_picture_url: Some("https://example.com/ada.png".into()),
        is_public: false,
        allow_contact: true,
        is_active: false,
        created_at: at(1),
        updated_at: at(2) + Duration::microseconds(7),
        deactivated_at: Some(at(3)),
        ..profile(owner.user.id, "Ada", "Lovelace")
    };
    let minimal = profile(owner.user.id, "Augusta", "King");
    write_ok(store, |tx| {
        tx.insert_location(&location)?;
        tx.insert_profile(&full)?;
        tx.insert_profile(&minimal)
    });
    read_ok(store, |tx| {
        assert_eq!(tx.get_profile(full.id)?, Some(full.clone()));
        assert_eq!(tx.get_profile(minimal.id)?, Some(minimal.clone()));
        Ok(())
    });
}

/// A user has at most one active profile: a second one conflicts on
/// `user_id` until the first is inactive, and so does reactivating the
/// first.
pub fn second_active_profile_conflicts(store: &dyn Store) {
    let owner = insert_user(store, "oneprofile");
    let first = profile(owner.user.id, "First", "Profile");
    write_ok(store, |tx| tx.insert_profile(&first));
    let second = profile(owner.user.id, "Second", "Profile");
    let error = write_err(store, |tx| tx.insert_profile(&second));
    assert_conflict(&error, "user_id");

    let inactive_extra = Profile {
        id: ProfileId::new(),
        is_active: false,
        ..second.clone()
    };
    write_ok(store, |tx| tx.insert_profile(&inactive_extra));

    let deactivated = Profile {
        is_active: false,
        deactivated_at: Some(at(5)),
        updated_at: at(5),
        ..first.clone()
    };
    assert!(write_ok(store, |tx| tx.update_profile(&deactivated)));
    write_ok(store, |tx| tx.insert_profile(&second));

    let error = write_err(store, |tx| tx.update_profile(&first));
    assert_conflict(&error, "user_id");
    let other_owner = insert_user(store, "otherprofile");
    write_ok(store, |tx| {
        tx.insert_profile(&profile(other_owner.user.id, "Other", "Owner"))
    });
}

/// `get_profile_by_user` answers the active profile, else the newest
/// inactive one.
pub fn get_profile_by_user_prefers_active_then_newest(store: &dyn Store) {
    let owner = insert_user(store, "byuser");
    let older = Profile {
        is_active: false,
        created_at: at(1),
        ..profile(owner.user.id, "Older", "Inactive")
    };
    let newer = Profile {
        is_active: false,
        created_at: at(2),
        ..profile(owner.user.id, "Newer", "Inactive")
    };
    write_ok(store, |tx| {
        tx.insert_profile(&newer)?;
        tx.insert_profile(&older)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_profile_by_user(owner.user.id)),
        Some(newer.clone())
    );
    let active = Profile {
        created_at: at(0),
        ..profile(owner.user.id, "Oldest", "Active")
    };
    write_ok(store, |tx| tx.insert_profile(&active));
    assert_eq!(
        read_ok(store, |tx| tx.get_profile_by_user(owner.user.id)),
        Some(active.clone())
    );
}

/// `update_profile` writes every column but the id, owner and
/// `created_at`, and can clear optional ones.
pub fn update_profile_writes_every_column(store: &dyn Store) {
    let owner = insert_user(store, "profupdate");
    let location = location(owner.user.id, "IT", Some("Roma"));
    let original = profile(owner.user.id, "Before", "Change");
    write_ok(store, |tx| {
        tx.insert_location(&location)?;
        tx.insert_profile(&original)
    });
    let changed = Profile {
        first_name: "After".into(),
        last_name: "Changed".into(),
        date_of_birth: Some(date(1990, 12, 31)),
        gender: Some("female".into()),
        location_id: Some(location.id),
        bio: Some("new bio".into()),
        profile_picture_url: Some("http://example.com/p.jpg".into()),
        is_public: false,
        allow_contact: true,
        is_active: false,
        updated_at: at(20),
        deactivated_at: Some(at(21)),
        ..original.clone()
    };
    assert!(write_ok(store, |tx| tx.update_profile(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_profile(original.id)),
        Some(changed.clone())
    );
    let cleared = Profile {
        date_of_birth: None,
        gender: None,
        location_id: None,
        bio: None,
        profile_picture_url: None,
        is_active: true,
        deactivated_at: None,
        ..changed
    };
    assert!(write_ok(store, |tx| tx.update_profile(&cleared)));
    assert_eq!(
        read_ok(store, |tx| tx.get_profile(original.id)),
        Some(cleared.clone())
    );
}

/// Every profile filter: name (first or last, substring, any case),
/// country, city and company/industry of an active job (any case),
/// `is_public`, the active filter and `visible_to`.
pub fn list_profiles_filters(store: &dyn Store) {
    let t = token();
    let users: Vec<UserRow> = (0..5).map(|_| user("plist")).collect();
    let paris = location(users[0].user.id, "FR", Some("Paris"));
    let lyon = location(users[1].user.id, "FR", Some("Lyon"));
    let berlin = location(users[2].user.id, "DE", Some("Berlin"));
    let paris_too = location(users[3].user.id, "FR", Some("Paris"));
    let p1 = Profile {
        location_id: Some(paris.id),
        created_at: at(1),
        ..profile(users[0].user.id, "Ada", &format!("Lovelace-{t}"))
    };
    let p2 = Profile {
        location_id: Some(lyon.id),
        is_public: false,
        created_at: at(2),
        ..profile(users[1].user.id, &format!("{t}-bea"), "Smith")
    };
    let p3 = Profile {
        location_id: Some(berlin.id),
        created_at: at(3),
        ..profile(users[2].user.id, "Cy", &format!("Jones-{t}"))
    };
    let p4 = Profile {
        location_id: Some(paris_too.id),
        is_active: false,
        deactivated_at: Some(at(4)),
        created_at: at(4),
        ..profile(users[3].user.id, "Di", &format!("Brown-{t}"))
    };
    let p5 = Profile {
        created_at: at(5),
        ..profile(users[4].user.id, "Ed", &format!("Green-{t}"))
    };
    let acme = Job {
        industry: Some(format!("Tech{t}")),
        ..job(p1.id, "Engineer", &format!("Acme{t}"))
    };
    let old_acme = Job {
        is_active: false,
        ..job(p2.id, "Intern", &format!("Acme{t}"))
    };
    let other = job(p2.id, "Manager", &format!("Other{t}"));
    write_ok(store, |tx| {
        for row in &users {
            tx.insert_user(row)?;
        }
        for location in [&paris, &lyon, &berlin, &paris_too] {
            tx.insert_location(location)?;
        }
        for profile in [&p1, &p2, &p3, &p4, &p5] {
            tx.insert_profile(profile)?;
        }
        for job in [&acme, &old_acme, &other] {
            tx.insert_job(job)?;
        }
        Ok(())
    });
    let cohort = profile_query(&t.to_uppercase());
    let ids = |query: ProfileQuery| list_profile_ids(store, &query, None);
    assert_eq!(ids(cohort.clone()), vec![p5.id, p3.id, p2.id, p1.id]);
    assert_eq!(
        ids(profile_query(&format!("LOVELACE-{t}"))),
        vec![p1.id],
        "last name"
    );
    assert_eq!(
        ids(profile_query(&format!("{t}-BEA"))),
        vec![p2.id],
        "first name"
    );
    let with = |change: fn(&mut ProfileQuery, &str)| {
        let mut query = cohort.clone();
        change(&mut query, &t);
        ids(query)
    };
    assert_eq!(
        with(|q, _| q.country = Some("FR".into())),
        vec![p2.id, p1.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("FR".into());
            q.active = ActiveFilter::All;
        }),
        vec![p4.id, p2.id, p1.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("FR".into());
            q.active = ActiveFilter::Inactive;
        }),
        vec![p4.id]
    );
    assert_eq!(with(|q, _| q.city = Some("paris".into())), vec![p1.id]);
    assert_eq!(
        with(|q, _| {
            q.city = Some("PARIS".into());
            q.active = ActiveFilter::All;
        }),
        vec![p4.id, p1.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("DE".into());
            q.city = Some("berlin".into());
        }),
        vec![p3.id]
    );
    assert_eq!(
        with(|q, _| {
            q.country = Some("DE".into());
            q.city = Some("Paris".into());
        }),
        vec![]
    );
    assert_eq!(
        with(|q, t| q.company = Some(format!("ACME{t}"))),
        vec![p1.id],
        "only active jobs count"
    );
    assert_eq!(
        with(|q, t| q.company = Some(format!("other{t}"))),
        vec![p2.id]
    );
    assert_eq!(
        with(|q, _| q.company = Some("Acme".into())),
        vec![],
        "company matches whole, not as a substring"
    );
    assert_eq!(
        with(|q, t| q.industry = Some(format!("tech{t}"))),
        vec![p1.id]
    );
    assert_eq!(
        with(|q, _| q.is_public = Some(true)),
        vec![p5.id, p3.id, p1.id]
    );
    assert_eq!(with(|q, _| q.is_public = Some(false)), vec![p2.id]);
    assert_eq!(
        list_profile_ids(store, &cohort, Some(users[1].user.id)),
        vec![p5.id, p3.id, p2.id, p1.id],
        "public ones and the reader's own"
    );
    assert_eq!(
        list_profile_ids(store, &cohort, Some(users[0].user.id)),
        vec![p5.id, p3.id, p1.id]
    );
    assert_eq!(
        list_profile_ids(store, &cohort, Some(UserId::new())),
        vec![p5.id, p3.id, p1.id]
    );
}

/// Profiles list newest first with an id tie-break, and paging visits
/// each matching profile exactly once.
pub fn list_profiles_pages_visit_each_row_once(store: &dyn Store) {
    let t = token();
    let mut profiles = Vec::new();
    let mut users = Vec::new();
    for index in 0..7 {
        let owner = user("ppage");
        let profile = Profile {
            created_at: at(index / 3),
            ..profile(owner.user.id, "Page", &format!("{t}-{index}"))
        };
        users.push(owner);
        profiles.push(profile);
    }
    write_ok(store, |tx| {
        for (owner, profile) in users.iter().zip(&profiles) {
            tx.insert_user(owner)?;
            tx.insert_profile(profile)?;
        }
        Ok(())
    });
    let expected = newest_first(&profiles, |profile| (profile.created_at, profile.id));
    let query = profile_query(&t);
    let listed = all_pages(3, |page| {
        read_ok(store, |tx| tx.list_profiles(&query, None, page))
    });
    assert_eq!(listed, expected);
}

/// A profile whose location is deactivated does not match by country or
/// city (nor count in a search's total), whether the location was
/// deactivated after the profile pointed at it or before; it matches again
/// once the location is restored.
pub fn list_profiles_ignores_deactivated_locations(store: &dyn Store) {
    let t = token();
    let owner = user("pgone");
    let other = user("pgtwo");
    // Tuvalu: rare enough that a search by country alone (which a backend
    // may count from elsewhere than the rows) is checked by its change.
    let mut home = location(owner.user.id, "TV", Some(&format!("Atoll{t}")));
    let mut closed = location(other.user.id, "TV", Some(&format!("Atoll{t}")));
    closed.is_active = false;
    closed.deactivated_at = Some(at(1));
    let first = Profile {
        location_id: Some(home.id),
        is_public: true,
        ..profile(owner.user.id, "Gone", &format!("Away-{t}"))
    };
    let second = Profile {
        location_id: Some(closed.id),
        is_public: true,
        ..profile(other.user.id, "Gone", &format!("Away-{t}"))
    };
    let country_only = ProfileQuery {
        country: Some("TV".to_owned()),
        ..ProfileQuery::default()
    };
    let total = |query: &ProfileQuery| {
        let (rows, total) = read_ok(store, |tx| {
            tx.list_profiles(query, None, PageRequest::new(1, 100))
        });
        if total <= 100 {
            assert_eq!(rows.len() as u64, total, "{query:?}");
        }
        total
    };
    let before = total(&country_only);
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_user(&other)?;
        tx.insert_location(&home)?;
        tx.insert_location(&closed)?;
        tx.insert_profile(&first)?;
        tx.insert_profile(&second)
    });
    let by_place = |country: Option<&str>, city: Option<&str>| {
        let query = ProfileQuery {
            country: country.map(str::to_owned),
            city: city.map(str::to_owned),
            ..profile_query(&format!("away-{t}"))
        };
        list_profile_ids(store, &query, None)
    };
    let city = format!("atoll{t}");
    assert_eq!(
        by_place(Some("TV"), None),
        vec![first.id],
        "inserted at a deactivated location"
    );
    assert_eq!(by_place(None, Some(&city)), vec![first.id]);
    assert_eq!(total(&country_only), before + 1);

    home.is_active = false;
    home.deactivated_at = Some(at(2));
    home.updated_at = at(2);
    write_ok(store, |tx| tx.update_location(&home));
    assert!(
        by_place(Some("TV"), None).is_empty(),
        "country of a deactivated location"
    );
    assert!(
        by_place(None, Some(&city)).is_empty(),
        "city of a deactivated location"
    );
    assert!(by_place(Some("TV"), Some(&city)).is_empty());
    assert_eq!(total(&country_only), before, "counted by country");

    // Moving to a deactivated location, and back to a restored one.
    let mut moved = second.clone();
    moved.location_id = Some(home.id);
    moved.updated_at = at(3);
    write_ok(store, |tx| tx.update_profile(&moved));
    assert!(
        by_place(Some("TV"), None).is_empty(),
        "moved to a deactivated location"
    );
    home.is_active = true;
    home.deactivated_at = None;
    home.updated_at = at(4);
    write_ok(store, |tx| tx.update_location(&home));
    let mut both = vec![first.id, second.id];
    both.sort_by(|a, b| b.cmp(a));
    let mut found = by_place(Some("TV"), Some(&city));
    found.sort_by(|a, b| b.cmp(a));
    assert_eq!(found, both, "a restored location matches again");
    assert_eq!(total(&country_only), before + 2);
}

/// A user's profiles, active or not, newest first; no one else's.
pub fn list_user_profiles_newest_first_including_inactive(store: &dyn Store) {
    let owner = insert_user(store, "allprofiles");
    let other = insert_user(store, "otherallprofiles");
    let old = Profile {
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(2)),
        ..profile(owner.user.id, "Old", "Profile")
    };
    let current = Profile {
        created_at: at(3),
        updated_at: at(3),
        ..profile(owner.user.id, "Current", "Profile")
    };
    write_ok(store, |tx| {
        tx.insert_profile(&old)?;
        tx.insert_profile(&current)?;
        tx.insert_profile(&profile(other.user.id, "Other", "Profile"))
    });
    assert_eq!(
        read_ok(store, |tx| tx.list_user_profiles(owner.user.id)),
        vec![current, old]
    );
    assert_eq!(
        read_ok(store, |tx| tx.list_user_profiles(UserId::new())),
        vec![]
    );
}
