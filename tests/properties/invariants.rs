//! The invariants checked after every step.

use std::collections::{BTreeMap, BTreeSet};

use aai_accounts::{
    ActiveFilter, Contact, ContactKind, JobId, PageRequest, Principal, Profile, ProfileId,
    ProfileQuery, User, UserId, UserQuery,
};

use crate::common::Harness;
use crate::model::{expected_authentication, model_contact, outcome, MContact};
use crate::runner::Run;

impl Run<'_> {
    /// Everything of every user but `except`, as the system sees it.
    pub(crate) fn others_data(&self, except: Option<UserId>) -> Vec<UserData> {
        self.model
            .users
            .iter()
            .flatten()
            .filter(|user| Some(user.id) != except)
            .map(|user| user_data(self.h, user.id))
            .collect()
    }

    /// Checks every invariant against the facade.
    pub(crate) fn check_invariants(&self) {
        let system = Principal::system();
        let accounts = &self.h.accounts;
        let now = self.now();
        let step = self.step;

        // Users: as modelled; timestamps ordered.
        let users: Vec<User> = all_pages(100, |page| {
            accounts.users().list(
                &system,
                &UserQuery {
                    search: None,
                    active: ActiveFilter::All,
                },
                page,
            )
        })
        .unwrap_or_else(|e| panic!("step {step}: list users: {e}"));
        for user in &users {
            assert!(user.updated_at >= user.created_at, "step {step}: {user:?}");
            if let Some(model) = self.model.user_by_id(user.id) {
                assert_eq!(user.is_active, model.active, "step {step}: {user:?}");
                assert_eq!(user.username, model.username.as_str());
            }
        }
        let registered = self.model.users.iter().flatten().count();
        assert_eq!(
            users.len(),
            registered + 1,
            "step {step}: users lost or added"
        );

        // Profiles: as modelled, one active per user.
        let all_profiles = ProfileQuery {
            active: ActiveFilter::All,
            ..ProfileQuery::default()
        };
        let profiles: Vec<Profile> = all_pages(100, |page| {
            accounts.profiles().search(&system, &all_profiles, page)
        })
        .unwrap();
        assert_eq!(
            profiles.len(),
            self.model.profiles.len(),
            "step {step}: profiles"
        );
        let mut active_per_user = BTreeMap::<UserId, usize>::new();
        for profile in &profiles {
            assert!(profile.updated_at >= profile.created_at, "step {step}");
            assert_eq!(profile.is_active, profile.deactivated_at.is_none());
            *active_per_user.entry(profile.user_id).or_default() += usize::from(profile.is_active);
            let model = self
                .model
                .profiles
                .iter()
                .find(|p| p.id == profile.id)
                .unwrap_or_else(|| panic!("step {step}: unknown profile {profile:?}"));
            assert_eq!(profile.user_id, model.owner, "step {step}: owner changed");
            assert_eq!(profile.is_active, model.active, "step {step}: {profile:?}");
            assert_eq!(profile.is_public, model.public, "step {step}");
            assert_eq!(profile.allow_contact, model.allow_contact, "step {step}");
        }
        assert!(
            active_per_user.values().all(|count| *count <= 1),
            "step {step}: a user has two active profiles: {active_per_user:?}"
        );

        // Contacts and jobs: as modelled, one active primary per kind.
        for model in &self.model.profiles {
            let contacts = accounts
                .contacts()
                .list(&system, model.id, ActiveFilter::All)
                .unwrap();
            let mut actual: Vec<MContact> = contacts.iter().map(model_contact).collect();
            let mut expected = model.contacts.clone();
            actual.sort();
            expected.sort();
            assert_eq!(actual, expected, "step {step}: contacts of {:?}", model.id);
            for kind in ContactKind::ALL {
                let primaries = contacts
                    .iter()
                    .filter(|c| c.kind == kind && c.is_active && c.is_primary)
                    .count();
                assert!(primaries <= 1, "step {step}: {primaries} primary {kind}");
            }
            for contact in &contacts {
                assert!(contact.updated_at >= contact.created_at, "step {step}");
                assert!(contact.is_active || !contact.is_primary, "step {step}");
            }
            let jobs = accounts
                .jobs()
                .list(&system, model.id, ActiveFilter::All)
                .unwrap();
            let actual: BTreeSet<(JobId, bool)> =
                jobs.iter().map(|job| (job.id, job.is_active)).collect();
            let expected: BTreeSet<(JobId, bool)> = model.jobs.iter().copied().collect();
            assert_eq!(actual, expected, "step {step}: jobs of {:?}", model.id);
            assert!(jobs.iter().all(|job| job.updated_at >= job.created_at));
        }

        // What each active regular user sees: never a soft-deleted row.
        for user in self.model.users.iter().flatten() {
            let principal = &user.principal;
            if !user.active {
                let error = accounts.users().me(principal).unwrap_err();
                assert_eq!(
                    error.code(),
                    "account_inactive",
                    "step {step}: {}",
                    user.username
                );
                continue;
            }
            for profile in &self.model.profiles {
                let visible = self.model.can_read_profile(user.id, profile);
                let got = accounts.profiles().get(principal, profile.id);
                assert_eq!(
                    got.is_ok(),
                    visible,
                    "step {step}: {} reading {:?}",
                    user.username,
                    profile.id
                );
                if let Ok(details) = got {
                    let own = profile.owner == user.id;
                    assert!(details.contacts.iter().all(|c| c.is_active));
                    assert!(details.jobs.iter().all(|j| j.is_active));
                    if !own && !profile.allow_contact {
                        assert!(details.contacts.is_empty(), "step {step}: contacts leak");
                    }
                    let contacts =
                        accounts
                            .contacts()
                            .list(principal, profile.id, ActiveFilter::Active);
                    assert_eq!(contacts.is_ok(), own || profile.allow_contact);
                    assert!(contacts.unwrap_or_default().iter().all(|c| c.is_active));
                }
                let inactive = accounts
                    .contacts()
                    .list(principal, profile.id, ActiveFilter::All);
                assert!(
                    inactive.is_err(),
                    "step {step}: non-admin listed inactive rows"
                );
            }
            for other in self.model.users.iter().flatten() {
                let got = accounts.users().get(principal, other.id);
                assert_eq!(got.is_ok(), other.id == user.id, "step {step}");
            }
        }

        // Every session's access token authenticates exactly when the
        // model says so (a deactivated or locked user's never do).
        for user in self.model.users.iter().flatten() {
            for session in &user.sessions {
                let result = accounts.authenticate(&session.access);
                assert_eq!(
                    outcome(&result),
                    expected_authentication(user, session, now),
                    "step {step}: authenticating {}",
                    user.username
                );
            }
        }

        self.check_organizations();
    }
}

/// Collects every page of a list of `size` items, checking that pages
/// agree on the total and that no row is visited twice.
pub(crate) fn all_pages<T: HasId>(
    size: u32,
    mut fetch: impl FnMut(PageRequest) -> aai_accounts::Result<aai_accounts::Page<T>>,
) -> aai_accounts::Result<Vec<T>>
where
    T::Id: Ord + std::fmt::Debug,
{
    let first = fetch(PageRequest::new(1, size))?;
    let total = first.total;
    let pages = first.pages;
    assert_eq!(u64::from(pages), total.div_ceil(u64::from(size)));
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    let mut page = first;
    for number in 1..=pages.max(1) {
        if number > 1 {
            page = fetch(PageRequest::new(number, size))?;
        }
        assert_eq!(page.total, total, "the total changed between pages");
        let expected_len = if number < pages {
            size as usize
        } else {
            usize::try_from(total - u64::from(size) * u64::from(pages.saturating_sub(1)))
                .unwrap()
                .min(size as usize)
        };
        assert_eq!(page.data.len(), expected_len, "page {number} of {pages}");
        for row in page.data.drain(..) {
            assert!(seen.insert(row.id()), "row visited twice: {:?}", row.id());
            rows.push(row);
        }
    }
    let after = fetch(PageRequest::new(pages + 1, size))?;
    assert!(after.data.is_empty(), "a page after the last one has rows");
    Ok(rows)
}

pub(crate) trait HasId {
    type Id;
    fn id(&self) -> Self::Id;
}

impl HasId for User {
    type Id = UserId;
    fn id(&self) -> UserId {
        self.id
    }
}

impl HasId for Profile {
    type Id = ProfileId;
    fn id(&self) -> ProfileId {
        self.id
    }
}

/// A user's data as the system sees it: the account, and every profile
/// with all its contacts and jobs.
#[derive(Debug, PartialEq)]
pub(crate) struct UserData {
    pub(crate) user: User,
    pub(crate) profiles: Vec<(Profile, Vec<Contact>, Vec<aai_accounts::Job>)>,
}

pub(crate) fn user_data(h: &Harness, id: UserId) -> UserData {
    let system = Principal::system();
    let accounts = &h.accounts;
    let query = ProfileQuery {
        active: ActiveFilter::All,
        ..ProfileQuery::default()
    };
    let profiles = all_pages(100, |page| {
        accounts.profiles().search(&system, &query, page)
    })
    .unwrap()
    .into_iter()
    .filter(|profile| profile.user_id == id)
    .map(|profile| {
        let contacts = accounts
            .contacts()
            .list(&system, profile.id, ActiveFilter::All)
            .unwrap();
        let jobs = accounts
            .jobs()
            .list(&system, profile.id, ActiveFilter::All)
            .unwrap();
        (profile, contacts, jobs)
    })
    .collect();
    UserData {
        user: accounts.users().get(&system, id).unwrap(),
        profiles,
    }
}
