//! Locations: owned, listed and soft-deleted.

use aai_accounts::{
    Error, LocationPatch, LocationQuery, NewLocation, PageRequest, Patch, ProfileQuery,
};

use crate::common::each;
use crate::validation_fields;

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
fn a_deactivated_location_no_longer_matches_profile_search_by_place() {
    each(|h| {
        let ada = h.register("ada");
        let bob = h.register("bob");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, crate::full_profile("Ada", "TV"))
            .unwrap();
        let location = created.location.clone().unwrap();
        let search = |query: ProfileQuery| {
            h.accounts
                .profiles()
                .search(&bob.principal, &query, PageRequest::default())
                .unwrap()
        };
        let by_country = || ProfileQuery {
            country: Some("tv".into()),
            ..ProfileQuery::default()
        };
        let by_city = || ProfileQuery {
            city: Some("paris".into()),
            ..ProfileQuery::default()
        };
        assert_eq!(search(by_country()).total, 1);
        assert_eq!(search(by_city()).total, 1);
        h.accounts
            .locations()
            .deactivate(&ada.principal, location.id)
            .unwrap();
        for query in [by_country(), by_city()] {
            let page = search(query.clone());
            assert_eq!((page.total, page.data.len()), (0, 0), "{query:?}");
        }
        // Still the profile's own, hidden from others by `get`.
        assert!(h
            .accounts
            .profiles()
            .get(&bob.principal, created.profile.id)
            .unwrap()
            .location
            .is_none());
    });
}
