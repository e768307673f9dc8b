//! Users, profiles, locations, contacts and jobs: the rules of each, on
//! every backend. A module per resource, as in `src/accounts/`.

#[path = "../common/mod.rs"]
mod common;
mod contacts;
mod jobs;
mod locations;
mod profiles;
mod users;

use aai_accounts::{
    ContactKind, Error, NewContact, NewJob, NewLocation, NewProfile, Page, PageRequest,
};
use chrono::NaiveDate;

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
