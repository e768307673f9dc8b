//! Locations, and profile lists that follow them.

use super::fixtures::*;
use crate::model::{
    ActiveFilter, CountryCode, Location, LocationQuery, PageRequest, Profile, ProfileQuery,
};
use crate::store::{read, Store, UserRow};

/// A search by country or city follows the location as it changes, and
/// the profile as it moves to another location or none.
pub fn list_profiles_follows_location_changes(store: &dyn Store) {
    let t = token();
    let owner = user("pmove");
    let home = location(owner.user.id, "NZ", Some(&format!("Town{t}")));
    let away = location(owner.user.id, "CL", None);
    let mut profile = Profile {
        location_id: Some(home.id),
        ..profile(owner.user.id, "Mo", &format!("Ves-{t}"))
    };
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_location(&home)?;
        tx.insert_location(&away)?;
        tx.insert_profile(&profile)
    });
    let by_place = |country: &str, city: Option<&str>| {
        let query = ProfileQuery {
            country: Some(country.to_owned()),
            city: city.map(str::to_owned),
            ..profile_query(&format!("ves-{t}"))
        };
        list_profile_ids(store, &query, None)
    };
    let town = format!("TOWN{t}");
    assert_eq!(
        by_place("NZ", Some(&town)),
        vec![profile.id],
        "city ignores case"
    );
    let mut moved = home.clone();
    moved.country = CountryCode::parse("AU").unwrap();
    moved.city = None;
    write_ok(store, |tx| tx.update_location(&moved));
    assert!(
        by_place("NZ", None).is_empty(),
        "the old country no longer matches"
    );
    assert_eq!(by_place("AU", None), vec![profile.id]);
    assert!(
        by_place("AU", Some(&town)).is_empty(),
        "the city was cleared"
    );
    profile.location_id = Some(away.id);
    write_ok(store, |tx| tx.update_profile(&profile));
    assert!(by_place("AU", None).is_empty());
    assert_eq!(by_place("CL", None), vec![profile.id]);
    profile.location_id = None;
    write_ok(store, |tx| tx.update_profile(&profile));
    assert!(by_place("CL", None).is_empty());
}

/// The total of a search always equals the rows its pages hold, through
/// inserts, flag changes, location changes, moves and cascading deletes
/// (a backend may count from somewhere cheaper than the rows).
pub fn list_profiles_totals_match_rows(store: &dyn Store) {
    let users: Vec<UserRow> = (0..3).map(|_| user("ptotal")).collect();
    // As everyone, and as each user (public profiles and their own).
    let viewers: Vec<Option<crate::model::UserId>> = std::iter::once(None)
        .chain(users.iter().map(|row| Some(row.user.id)))
        .collect();
    let check = |label: &str| {
        for &visible_to in &viewers {
            for country in [None, Some("IS"), Some("NO")] {
                for is_public in [None, Some(true), Some(false)] {
                    for active in [
                        ActiveFilter::Active,
                        ActiveFilter::Inactive,
                        ActiveFilter::All,
                    ] {
                        let query = ProfileQuery {
                            country: country.map(str::to_owned),
                            is_public,
                            active,
                            ..ProfileQuery::default()
                        };
                        let mut seen = 0;
                        let mut page = 1;
                        loop {
                            let (rows, total) = read(store, |tx| {
                                tx.list_profiles(&query, visible_to, PageRequest::new(page, 100))
                            })
                            .unwrap();
                            seen += rows.len() as u64;
                            if rows.len() < 100 {
                                assert_eq!(total, seen, "{label}: {query:?} as {visible_to:?}");
                                break;
                            }
                            page += 1;
                        }
                    }
                }
            }
        }
    };
    let iceland = location(users[0].user.id, "IS", None);
    let norway = location(users[1].user.id, "NO", None);
    let mut profiles: Vec<Profile> = users
        .iter()
        .enumerate()
        .map(|(i, row)| Profile {
            location_id: (i < 2).then_some(if i == 0 { iceland.id } else { norway.id }),
            is_public: i != 1,
            ..profile(row.user.id, "Tot", "Al")
        })
        .collect();
    write_ok(store, |tx| {
        for row in &users {
            tx.insert_user(row)?;
        }
        tx.insert_location(&iceland)?;
        tx.insert_location(&norway)?;
        for profile in &profiles {
            tx.insert_profile(profile)?;
        }
        Ok(())
    });
    check("after inserts");
    profiles[0].is_public = false;
    profiles[1].is_active = false;
    profiles[1].deactivated_at = Some(at(9));
    write_ok(store, |tx| {
        tx.update_profile(&profiles[0])?;
        tx.update_profile(&profiles[1])
    });
    check("after flag changes");
    let mut moved = iceland.clone();
    moved.country = CountryCode::parse("NO").unwrap();
    write_ok(store, |tx| tx.update_location(&moved));
    check("after a location changed country");
    profiles[2].location_id = Some(iceland.id);
    write_ok(store, |tx| tx.update_profile(&profiles[2]));
    check("after a move");
    write_ok(store, |tx| tx.delete_user(users[0].user.id));
    check("after a cascading delete");
}

/// Every column of a location survives a round trip and an update.
pub fn location_round_trip_and_update(store: &dyn Store) {
    let owner = insert_user(store, "location");
    let full = Location {
        state_province: Some("Île-de-France".into()),
        postal_code: Some("75001".into()),
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(3)),
        ..location(owner.user.id, "FR", Some("Paris"))
    };
    let minimal = location(owner.user.id, "JP", None);
    write_ok(store, |tx| {
        tx.insert_location(&full)?;
        tx.insert_location(&minimal)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_location(full.id)),
        Some(full.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_location(minimal.id)),
        Some(minimal.clone())
    );
    let changed = Location {
        country: CountryCode::parse("BE").unwrap(),
        state_province: None,
        city: Some("Gent".into()),
        postal_code: None,
        is_active: true,
        updated_at: at(9),
        deactivated_at: None,
        ..full.clone()
    };
    assert!(write_ok(store, |tx| tx.update_location(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_location(full.id)),
        Some(changed.clone())
    );
}

/// Locations filter by owner, country and active state, newest first, in
/// pages.
pub fn list_locations_filters_and_pages(store: &dyn Store) {
    let owner = insert_user(store, "loclist");
    let other = insert_user(store, "locother");
    let l1 = Location {
        created_at: at(1),
        ..location(owner.user.id, "FR", None)
    };
    let l2 = Location {
        created_at: at(2),
        ..location(owner.user.id, "DE", None)
    };
    let l3 = Location {
        created_at: at(3),
        is_active: false,
        ..location(owner.user.id, "FR", None)
    };
    let l4 = Location {
        created_at: at(4),
        ..location(owner.user.id, "FR", None)
    };
    let elsewhere = location(other.user.id, "FR", None);
    write_ok(store, |tx| {
        for location in [&l1, &l2, &l3, &l4, &elsewhere] {
            tx.insert_location(location)?;
        }
        Ok(())
    });
    let list = |country: Option<&str>, active: ActiveFilter, page: PageRequest| {
        let query = LocationQuery {
            user_id: Some(owner.user.id),
            country: country.map(str::to_owned),
            active,
        };
        let (rows, total) = read_ok(store, |tx| tx.list_locations(&query, page));
        (
            rows.into_iter().map(|row| row.id).collect::<Vec<_>>(),
            total,
        )
    };
    let all = PageRequest::default();
    assert_eq!(
        list(None, ActiveFilter::Active, all),
        (vec![l4.id, l2.id, l1.id], 3)
    );
    assert_eq!(
        list(Some("FR"), ActiveFilter::Active, all),
        (vec![l4.id, l1.id], 2)
    );
    assert_eq!(
        list(None, ActiveFilter::All, all),
        (vec![l4.id, l3.id, l2.id, l1.id], 4)
    );
    assert_eq!(list(None, ActiveFilter::Inactive, all), (vec![l3.id], 1));
    assert_eq!(
        list(None, ActiveFilter::Active, PageRequest::new(1, 2)),
        (vec![l4.id, l2.id], 3)
    );
    assert_eq!(
        list(None, ActiveFilter::Active, PageRequest::new(2, 2)),
        (vec![l1.id], 3)
    );
}
