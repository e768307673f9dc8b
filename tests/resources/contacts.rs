//! Contacts: primaries per kind, validation by kind, soft deletes.

use aai_accounts::{ActiveFilter, ContactKind, ContactPatch, Error, NewContact};

use crate::common::each;
use crate::{full_profile, validation_fields};

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

fn other_contact(index: usize) -> NewContact {
    NewContact::new(ContactKind::Other, format!("handle {index}"))
}

#[test]
fn a_profile_has_at_most_twenty_active_contacts_by_default() {
    each(|h| {
        let ada = h.register("ada");
        let admin = h.admin("root");
        let mut input = crate::new_profile("Ada");
        input.contacts = (0..21).map(other_contact).collect();
        let too_many = h.accounts.profiles().create(&ada.principal, input.clone());
        assert_eq!(validation_fields(too_many.unwrap_err()), vec!["contacts"]);
        input.contacts.truncate(20);
        let profile_id = h
            .accounts
            .profiles()
            .create(&ada.principal, input)
            .unwrap()
            .profile
            .id;
        let contacts = h.accounts.contacts();
        let refused = contacts.add(&ada.principal, profile_id, other_contact(20));
        assert_eq!(validation_fields(refused.unwrap_err()), vec!["contacts"]);
        // Deactivated ones do not count, but restoring one over the cap
        // is refused too.
        let first = contacts
            .list(&ada.principal, profile_id, ActiveFilter::Active)
            .unwrap()[0]
            .clone();
        contacts.deactivate(&ada.principal, first.id).unwrap();
        let added = contacts
            .add(&ada.principal, profile_id, other_contact(20))
            .unwrap();
        let refused = contacts.restore(&admin.principal, first.id);
        assert_eq!(validation_fields(refused.unwrap_err()), vec!["contacts"]);
        contacts.deactivate(&ada.principal, added.id).unwrap();
        assert!(
            contacts
                .restore(&admin.principal, first.id)
                .unwrap()
                .is_active
        );
        assert_eq!(
            contacts
                .list(&ada.principal, profile_id, ActiveFilter::Active)
                .unwrap()
                .len(),
            20
        );
    });
}
