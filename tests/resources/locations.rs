//! Locations: owned, listed and soft-deleted.

use aai_accounts::{Error, LocationPatch, LocationQuery, NewLocation, PageRequest, Patch};

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
