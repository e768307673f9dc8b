//! Contacts and jobs: round trips, primary contacts, list orders and profile details.

use super::fixtures::*;
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, Job, JobId, Location, Profile, ProfileId, User,
    UserId,
};
use crate::store::{ParentProfile, Store, UserRow, UserStanding};

fn insert_profile(store: &dyn Store, tag: &str) -> Profile {
    let owner = user(tag);
    let profile = profile(owner.user.id, "Child", "Owner");
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_profile(&profile)
    });
    profile
}

/// Every column of a contact survives a round trip and an update.
pub fn contact_round_trip_and_update(store: &dyn Store) {
    let profile = insert_profile(store, "contact");
    let full = Contact {
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(3)),
        ..contact(profile.id, ContactKind::Linkedin, "ada-lovelace", true)
    };
    let minimal = contact(
        profile.id,
        ContactKind::Website,
        "https://example.com",
        false,
    );
    write_ok(store, |tx| {
        tx.insert_contact(&full)?;
        tx.insert_contact(&minimal)
    });
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(full.id)),
        Some(full.clone())
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(minimal.id)),
        Some(minimal.clone())
    );
    let changed = Contact {
        kind: ContactKind::Phone,
        value: "+441234567890".into(),
        is_primary: false,
        is_active: true,
        updated_at: at(9),
        deactivated_at: None,
        ..full.clone()
    };
    assert!(write_ok(store, |tx| tx.update_contact(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(full.id)),
        Some(changed.clone())
    );
}

/// A contact or job read with its profile's owner and standing, and a
/// user's standing, agree with the full rows, before and after the
/// profile is deactivated; missing ids read `None`.
pub fn children_with_their_parent_and_user_standing(store: &dyn Store) {
    let profile = insert_profile(store, "parent");
    let email = contact(profile.id, ContactKind::Email, "p@example.com", true);
    let work = job(profile.id, "Engineer", "Analytical Engines");
    write_ok(store, |tx| {
        tx.insert_contact(&email)?;
        tx.insert_job(&work)
    });
    for is_active in [true, false] {
        let parent = ParentProfile {
            user_id: profile.user_id,
            is_active,
        };
        assert_eq!(
            read_ok(store, |tx| tx.get_contact_with_parent(email.id)),
            Some((email.clone(), parent))
        );
        assert_eq!(
            read_ok(store, |tx| tx.get_job_with_parent(work.id)),
            Some((work.clone(), parent))
        );
        let inactive = Profile {
            is_active: false,
            deactivated_at: Some(at(5)),
            ..profile.clone()
        };
        assert!(write_ok(store, |tx| tx.update_profile(&inactive)));
    }
    assert_eq!(
        read_ok(store, |tx| tx.get_contact_with_parent(ContactId::new())),
        None
    );
    assert_eq!(
        read_ok(store, |tx| tx.get_job_with_parent(JobId::new())),
        None
    );

    let admin = UserRow {
        user: User {
            is_super_admin: true,
            ..user("standing").user
        },
        ..user("standing")
    };
    write_ok(store, |tx| tx.insert_user(&admin));
    let standing = |id| read_ok(store, |tx| tx.get_user_standing(id));
    assert_eq!(
        standing(admin.user.id),
        Some(UserStanding {
            is_active: true,
            is_super_admin: true
        })
    );
    let owner = read_ok(store, |tx| tx.get_user(profile.user_id)).map(|row| row.user);
    assert_eq!(
        standing(profile.user_id),
        owner.as_ref().map(UserStanding::of)
    );
    assert_eq!(owner.map(|user| user.is_super_admin), Some(false));
    let deactivated = UserRow {
        user: User {
            is_active: false,
            ..admin.user.clone()
        },
        ..admin.clone()
    };
    assert!(write_ok(store, |tx| tx.update_user(&deactivated)));
    assert_eq!(
        standing(admin.user.id),
        Some(UserStanding {
            is_active: false,
            is_super_admin: true
        })
    );
    assert_eq!(standing(UserId::new()), None);
}

/// At most one active primary contact per profile and kind: a second one
/// of the same kind conflicts on `is_primary`, other kinds, non-primary
/// and inactive contacts do not.
pub fn second_active_primary_contact_conflicts(store: &dyn Store) {
    let profile = insert_profile(store, "primary");
    let other_profile = insert_profile(store, "primary2");
    let email = contact(profile.id, ContactKind::Email, "a@example.com", true);
    write_ok(store, |tx| tx.insert_contact(&email));
    let second = contact(profile.id, ContactKind::Email, "b@example.com", true);
    let error = write_err(store, |tx| tx.insert_contact(&second));
    assert_conflict(&error, "is_primary");
    let phone = contact(profile.id, ContactKind::Phone, "+3312345678", true);
    let secondary = contact(profile.id, ContactKind::Email, "c@example.com", false);
    let elsewhere = contact(other_profile.id, ContactKind::Email, "a@example.com", true);
    write_ok(store, |tx| {
        tx.insert_contact(&phone)?;
        tx.insert_contact(&secondary)?;
        tx.insert_contact(&elsewhere)
    });
    let promoted = Contact {
        is_primary: true,
        ..secondary.clone()
    };
    let error = write_err(store, |tx| tx.update_contact(&promoted));
    assert_conflict(&error, "is_primary");

    let retired = Contact {
        is_active: false,
        deactivated_at: Some(at(1)),
        ..email.clone()
    };
    assert!(write_ok(store, |tx| tx.update_contact(&retired)));
    assert!(write_ok(store, |tx| tx.update_contact(&promoted)));
    let error = write_err(store, |tx| {
        tx.update_contact(&Contact {
            is_active: true,
            ..retired.clone()
        })
    });
    assert_conflict(&error, "is_primary");
}

/// `clear_primary_contact` un-primaries only the active primary contact of
/// that kind, stamping `updated_at`.
pub fn clear_primary_contact_changes_only_that_kind(store: &dyn Store) {
    let profile = insert_profile(store, "clearprimary");
    let phone = contact(profile.id, ContactKind::Phone, "+3312345678", true);
    let email = contact(profile.id, ContactKind::Email, "a@example.com", true);
    let retired = Contact {
        is_active: false,
        ..contact(profile.id, ContactKind::Email, "old@example.com", true)
    };
    write_ok(store, |tx| {
        tx.insert_contact(&phone)?;
        tx.insert_contact(&email)?;
        tx.insert_contact(&retired)
    });
    let changed = write_ok(store, |tx| {
        tx.clear_primary_contact(profile.id, ContactKind::Phone, at(9))
    });
    assert_eq!(changed, 1);
    read_ok(store, |tx| {
        let cleared = tx.get_contact(phone.id)?.unwrap();
        assert!(!cleared.is_primary);
        assert_eq!(cleared.updated_at, at(9));
        assert_eq!(tx.get_contact(email.id)?, Some(email.clone()));
        assert_eq!(tx.get_contact(retired.id)?, Some(retired.clone()));
        Ok(())
    });
    let again = write_ok(store, |tx| {
        tx.clear_primary_contact(profile.id, ContactKind::Phone, at(10))
    });
    assert_eq!(again, 0);
    let emails = write_ok(store, |tx| {
        tx.clear_primary_contact(profile.id, ContactKind::Email, at(11))
    });
    assert_eq!(emails, 1, "the inactive primary is left alone");
    assert_eq!(
        read_ok(store, |tx| tx.get_contact(retired.id)),
        Some(retired.clone())
    );
}

struct Children {
    profile: Profile,
    location: Location,
    contacts: Vec<Contact>,
    jobs: Vec<Job>,
}

/// A profile with a location, four contacts (one inactive) and five jobs
/// (one inactive), inserted in an order unlike the list order.
fn insert_children(store: &dyn Store) -> Children {
    let owner = user("children");
    let location = location(owner.user.id, "SE", Some("Uppsala"));
    let profile = Profile {
        location_id: Some(location.id),
        ..profile(owner.user.id, "With", "Children")
    };
    let pid = profile.id;
    let contacts = vec![
        Contact {
            created_at: at(1),
            ..contact(pid, ContactKind::Email, "one@example.com", false)
        },
        Contact {
            created_at: at(2),
            ..contact(pid, ContactKind::Phone, "+46123456789", true)
        },
        Contact {
            created_at: at(3),
            ..contact(pid, ContactKind::Email, "three@example.com", true)
        },
        Contact {
            created_at: at(0),
            is_active: false,
            ..contact(pid, ContactKind::Website, "https://example.com", false)
        },
    ];
    let jobs = vec![
        Job {
            start_date: Some(date(2015, 1, 1)),
            end_date: Some(date(2019, 12, 31)),
            ..job(pid, "Junior", "One")
        },
        Job {
            start_date: Some(date(2020, 2, 1)),
            ..job(pid, "Lead", "Two")
        },
        Job {
            start_date: Some(date(2021, 1, 1)),
            end_date: Some(date(2022, 6, 30)),
            ..job(pid, "Consultant", "Three")
        },
        Job {
            start_date: Some(date(2023, 1, 1)),
            is_active: false,
            ..job(pid, "Hidden", "Four")
        },
        Job {
            start_date: Some(date(2010, 5, 5)),
            ..job(pid, "Founder", "Five")
        },
    ];
    write_ok(store, |tx| {
        tx.insert_user(&owner)?;
        tx.insert_location(&location)?;
        tx.insert_profile(&profile)?;
        for contact in &contacts {
            tx.insert_contact(contact)?;
        }
        for job in &jobs {
            tx.insert_job(job)?;
        }
        Ok(())
    });
    Children {
        profile,
        location,
        contacts,
        jobs,
    }
}

fn pick<T: Clone>(rows: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&index| rows[index].clone()).collect()
}

/// Contacts list primary first, then oldest first, filtered by state.
pub fn list_contacts_order_and_active_filter(store: &dyn Store) {
    let children = insert_children(store);
    let list =
        |filter: ActiveFilter| read_ok(store, |tx| tx.list_contacts(children.profile.id, filter));
    assert_eq!(
        list(ActiveFilter::Active),
        pick(&children.contacts, &[1, 2, 0])
    );
    assert_eq!(list(ActiveFilter::Inactive), pick(&children.contacts, &[3]));
    assert_eq!(
        list(ActiveFilter::All),
        pick(&children.contacts, &[1, 2, 3, 0])
    );
}

/// Every column of a job survives a round trip and an update.
pub fn job_round_trip_and_update(store: &dyn Store) {
    let profile = insert_profile(store, "job");
    let full = Job {
        industry: Some("Computing".into()),
        start_date: Some(date(1843, 1, 1)),
        end_date: Some(date(1852, 11, 27)),
        is_active: false,
        created_at: at(1),
        updated_at: at(2),
        deactivated_at: Some(at(3)),
        ..job(profile.id, "Translator", "Analytical Engine")
    };
    let minimal = job(profile.id, "Tester", "Difference Engine");
    write_ok(store, |tx| {
        tx.insert_job(&full)?;
        tx.insert_job(&minimal)
    });
    assert_eq!(read_ok(store, |tx| tx.get_job(full.id)), Some(full.clone()));
    assert_eq!(
        read_ok(store, |tx| tx.get_job(minimal.id)),
        Some(minimal.clone())
    );
    let changed = Job {
        title: "Mathematician".into(),
        company: "Royal Society".into(),
        industry: None,
        start_date: None,
        end_date: None,
        is_active: true,
        updated_at: at(9),
        deactivated_at: None,
        ..full.clone()
    };
    assert!(write_ok(store, |tx| tx.update_job(&changed)));
    assert_eq!(
        read_ok(store, |tx| tx.get_job(full.id)),
        Some(changed.clone())
    );
}

/// Jobs list current first, then newest start first, filtered by state.
pub fn list_jobs_order_and_active_filter(store: &dyn Store) {
    let children = insert_children(store);
    let list =
        |filter: ActiveFilter| read_ok(store, |tx| tx.list_jobs(children.profile.id, filter));
    assert_eq!(
        list(ActiveFilter::Active),
        pick(&children.jobs, &[1, 4, 2, 0])
    );
    assert_eq!(list(ActiveFilter::Inactive), pick(&children.jobs, &[3]));
    assert_eq!(
        list(ActiveFilter::All),
        pick(&children.jobs, &[3, 1, 4, 2, 0])
    );
}

/// `get_profile_details` loads the profile, its location and the contacts
/// and jobs passing the filter, in list order.
pub fn profile_details_load_children_with_filter(store: &dyn Store) {
    let children = insert_children(store);
    let details = |filter: ActiveFilter| {
        read_ok(store, |tx| {
            tx.get_profile_details(children.profile.id, filter)
        })
        .unwrap()
    };
    let active = details(ActiveFilter::Active);
    assert_eq!(active.profile, children.profile);
    assert_eq!(active.location, Some(children.location.clone()));
    assert_eq!(active.contacts, pick(&children.contacts, &[1, 2, 0]));
    assert_eq!(active.jobs, pick(&children.jobs, &[1, 4, 2, 0]));
    let inactive = details(ActiveFilter::Inactive);
    assert_eq!(inactive.contacts, pick(&children.contacts, &[3]));
    assert_eq!(inactive.jobs, pick(&children.jobs, &[3]));
    let all = details(ActiveFilter::All);
    assert_eq!(all.contacts.len(), 4);
    assert_eq!(all.jobs.len(), 5);
    // In the order of their lists, whatever the filter.
    let (contacts, jobs) = read_ok(store, |tx| {
        let id = children.profile.id;
        Ok((
            tx.list_contacts(id, ActiveFilter::All)?,
            tx.list_jobs(id, ActiveFilter::All)?,
        ))
    });
    assert_eq!((all.contacts, all.jobs), (contacts, jobs));
    let unknown = ProfileId::new();
    assert_eq!(
        read_ok(store, |tx| tx
            .get_profile_details(unknown, ActiveFilter::All)),
        None
    );

    let bare = insert_profile(store, "bare");
    let bare_details = read_ok(store, |tx| {
        tx.get_profile_details(bare.id, ActiveFilter::Active)
    })
    .unwrap();
    assert_eq!(bare_details.profile, bare);
    assert_eq!(bare_details.location, None);
    assert!(bare_details.contacts.is_empty() && bare_details.jobs.is_empty());
}
