//! The authorization matrix: every facade method, called by the owner,
//! another user, a super admin, a deactivated user and the system
//! principal, against the owner's private profile and its children.

mod common;

use aai_accounts::{
    ActiveFilter, ContactKind, ContactPatch, Error, EventQuery, ImportUser, JobPatch,
    LocationPatch, LocationQuery, NewContact, NewJob, NewLocation, NewProfile, PageRequest,
    Principal, ProfileDetails, ProfilePatch, ProfileQuery, UserPatch, UserQuery,
};
use common::{Harness, TestUser, PASSWORD};

/// What a call must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow,
    NotFound,
    Forbidden,
    Inactive,
}
use Expect::{Allow as A, Forbidden as F, Inactive as I, NotFound as N};

/// The callers, in the order of each row's expectations.
const WHO: [&str; 5] = ["owner", "other", "admin", "deactivated", "system"];

struct World {
    h: Harness,
    owner: TestUser,
    fresh: TestUser,
    profile: ProfileDetails,
}

impl World {
    fn new(h: Harness) -> (World, [Principal; 5]) {
        let owner = h.register("owner");
        let other = h.register("other");
        let admin = h.admin("admin");
        let deactivated = h.register("gone");
        let fresh = h.register("fresh");
        h.accounts
            .users()
            .deactivate(&Principal::system(), deactivated.user.id)
            .unwrap();
        let profile = h
            .accounts
            .profiles()
            .create(
                &owner.principal,
                NewProfile {
                    first_name: "Owner".into(),
                    last_name: "Private".into(),
                    location: Some(NewLocation {
                        country: "NL".into(),
                        ..NewLocation::default()
                    }),
                    contacts: vec![
                        NewContact::new(ContactKind::Email, "a@example.com").primary(),
                        NewContact::new(ContactKind::Email, "b@example.com"),
                    ],
                    jobs: vec![NewJob {
                        title: "Dev".into(),
                        company: "Co".into(),
                        ..NewJob::default()
                    }],
                    ..NewProfile::default()
                },
            )
            .unwrap();
        let principals = [
            owner.principal.clone(),
            other.principal.clone(),
            admin.principal.clone(),
            deactivated.principal.clone(),
            Principal::system(),
        ];
        (
            World {
                h,
                owner,
                fresh,
                profile,
            },
            principals,
        )
    }
}

type Op = fn(&World, &Principal) -> aai_accounts::Result<()>;

fn ok<T>(result: aai_accounts::Result<T>) -> aai_accounts::Result<()> {
    result.map(drop)
}

fn rows() -> Vec<(&'static str, Op, [Expect; 5])> {
    vec![
        (
            "users.get",
            |w, p| ok(w.h.accounts.users().get(p, w.owner.user.id)),
            [A, N, A, I, A],
        ),
        (
            "users.me",
            |w, p| ok(w.h.accounts.users().me(p)),
            [A, A, A, I, N],
        ),
        (
            "users.list",
            |w, p| {
                ok(w.h
                    .accounts
                    .users()
                    .list(p, &UserQuery::default(), PageRequest::default()))
            },
            [F, F, A, I, A],
        ),
        (
            "users.update",
            |w, p| {
                ok(w.h.accounts.users().update(
                    p,
                    w.owner.user.id,
                    UserPatch {
                        username: Some("renamed".into()),
                        email: None,
                        is_super_admin: None,
                    },
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "users.deactivate",
            |w, p| ok(w.h.accounts.users().deactivate(p, w.owner.user.id)),
            [A, F, A, I, A],
        ),
        (
            "users.restore",
            |w, p| ok(w.h.accounts.users().restore(p, w.owner.user.id)),
            [F, F, A, I, A],
        ),
        (
            "users.set_super_admin",
            |w, p| {
                ok(w.h
                    .accounts
                    .users()
                    .set_super_admin(p, w.owner.user.id, true))
            },
            [F, F, A, I, A],
        ),
        (
            "users.purge",
            |w, p| ok(w.h.accounts.users().purge(p, w.owner.user.id)),
            [F, F, A, I, A],
        ),
        (
            "users.import",
            |w, p| {
                ok(w.h.accounts.users().import(
                    p,
                    ImportUser {
                        id: None,
                        username: "imported".into(),
                        email: "imported@example.com".into(),
                        password_hash: bcrypt::hash("imported password", 4).unwrap(),
                        is_active: true,
                        is_super_admin: false,
                        email_verified: false,
                        created_at: None,
                        updated_at: None,
                        profile: None,
                    },
                ))
            },
            [F, F, A, I, A],
        ),
        (
            "profiles.create_for_another_user",
            |w, p| {
                ok(w.h.accounts.profiles().create(
                    p,
                    NewProfile {
                        user_id: Some(w.fresh.user.id),
                        first_name: "Fresh".into(),
                        last_name: "User".into(),
                        ..NewProfile::default()
                    },
                ))
            },
            [F, F, A, I, A],
        ),
        (
            "profiles.get",
            |w, p| ok(w.h.accounts.profiles().get(p, w.profile.profile.id)),
            [A, N, A, I, A],
        ),
        (
            "profiles.get_by_user",
            |w, p| ok(w.h.accounts.profiles().get_by_user(p, w.owner.user.id)),
            [A, N, A, I, A],
        ),
        (
            "profiles.update",
            |w, p| {
                ok(w.h.accounts.profiles().update(
                    p,
                    w.profile.profile.id,
                    ProfilePatch {
                        is_public: Some(true),
                        ..Default::default()
                    },
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "profiles.deactivate",
            |w, p| ok(w.h.accounts.profiles().deactivate(p, w.profile.profile.id)),
            [A, F, A, I, A],
        ),
        (
            "profiles.restore",
            |w, p| ok(w.h.accounts.profiles().restore(p, w.profile.profile.id)),
            [F, F, A, I, A],
        ),
        (
            "profiles.search",
            |w, p| {
                ok(w.h.accounts.profiles().search(
                    p,
                    &ProfileQuery::default(),
                    PageRequest::default(),
                ))
            },
            [A, A, A, I, A],
        ),
        (
            "locations.create",
            |w, p| {
                ok(w.h.accounts.locations().create(
                    p,
                    w.owner.user.id,
                    NewLocation {
                        country: "BE".into(),
                        ..Default::default()
                    },
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "locations.get",
            |w, p| ok(w.h.accounts.locations().get(p, location(w))),
            [A, N, A, I, A],
        ),
        (
            "locations.update",
            |w, p| {
                ok(w.h
                    .accounts
                    .locations()
                    .update(p, location(w), LocationPatch::default()))
            },
            [A, F, A, I, A],
        ),
        (
            "locations.deactivate",
            |w, p| ok(w.h.accounts.locations().deactivate(p, location(w))),
            [A, F, A, I, A],
        ),
        (
            "locations.restore",
            |w, p| ok(w.h.accounts.locations().restore(p, location(w))),
            [F, F, A, I, A],
        ),
        (
            "locations.list",
            |w, p| {
                ok(w.h.accounts.locations().list(
                    p,
                    &LocationQuery {
                        user_id: Some(w.owner.user.id),
                        ..Default::default()
                    },
                    PageRequest::default(),
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "contacts.add",
            |w, p| {
                ok(w.h.accounts.contacts().add(
                    p,
                    w.profile.profile.id,
                    NewContact::new(ContactKind::Other, "pager"),
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "contacts.get",
            |w, p| ok(w.h.accounts.contacts().get(p, w.profile.contacts[0].id)),
            [A, N, A, I, A],
        ),
        (
            "contacts.list",
            |w, p| {
                ok(w.h
                    .accounts
                    .contacts()
                    .list(p, w.profile.profile.id, ActiveFilter::Active))
            },
            [A, N, A, I, A],
        ),
        (
            "contacts.update",
            |w, p| {
                ok(w.h.accounts.contacts().update(
                    p,
                    w.profile.contacts[0].id,
                    ContactPatch::default(),
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "contacts.set_primary",
            |w, p| {
                ok(w.h
                    .accounts
                    .contacts()
                    .set_primary(p, w.profile.contacts[1].id))
            },
            [A, F, A, I, A],
        ),
        (
            "contacts.deactivate",
            |w, p| {
                ok(w.h
                    .accounts
                    .contacts()
                    .deactivate(p, w.profile.contacts[0].id))
            },
            [A, F, A, I, A],
        ),
        (
            "contacts.restore",
            |w, p| ok(w.h.accounts.contacts().restore(p, w.profile.contacts[0].id)),
            [F, F, A, I, A],
        ),
        (
            "jobs.add",
            |w, p| {
                ok(w.h.accounts.jobs().add(
                    p,
                    w.profile.profile.id,
                    NewJob {
                        title: "T".into(),
                        company: "C".into(),
                        ..Default::default()
                    },
                ))
            },
            [A, F, A, I, A],
        ),
        (
            "jobs.get",
            |w, p| ok(w.h.accounts.jobs().get(p, w.profile.jobs[0].id)),
            [A, N, A, I, A],
        ),
        (
            "jobs.list",
            |w, p| {
                ok(w.h
                    .accounts
                    .jobs()
                    .list(p, w.profile.profile.id, ActiveFilter::Active))
            },
            [A, N, A, I, A],
        ),
        (
            "jobs.update",
            |w, p| {
                ok(w.h
                    .accounts
                    .jobs()
                    .update(p, w.profile.jobs[0].id, JobPatch::default()))
            },
            [A, F, A, I, A],
        ),
        (
            "jobs.deactivate",
            |w, p| ok(w.h.accounts.jobs().deactivate(p, w.profile.jobs[0].id)),
            [A, F, A, I, A],
        ),
        (
            "jobs.restore",
            |w, p| ok(w.h.accounts.jobs().restore(p, w.profile.jobs[0].id)),
            [F, F, A, I, A],
        ),
        (
            "sessions.list",
            |w, p| {
                ok(w.h
                    .accounts
                    .sessions()
                    .list(p, w.owner.user.id, PageRequest::default()))
            },
            [A, N, A, I, A],
        ),
        (
            "sessions.revoke",
            |w, p| {
                ok(w.h
                    .accounts
                    .sessions()
                    .revoke(p, w.owner.principal.session_id().unwrap()))
            },
            [A, F, A, I, A],
        ),
        (
            "events.list",
            |w, p| {
                ok(w.h
                    .accounts
                    .events()
                    .list(p, &EventQuery::default(), PageRequest::default()))
            },
            [F, F, A, I, A],
        ),
        (
            "logout_all",
            |w, p| ok(w.h.accounts.logout_all(p)),
            [A, A, A, I, F],
        ),
        (
            "change_password",
            |w, p| {
                w.h.accounts
                    .change_password(p, PASSWORD, "another good password")
            },
            [A, A, A, I, F],
        ),
        (
            "issue_tokens",
            |w, p| ok(w.h.accounts.issue_tokens(p, w.owner.user.id)),
            [F, F, F, F, A],
        ),
    ]
}

fn location(world: &World) -> aai_accounts::LocationId {
    world.profile.location.as_ref().unwrap().id
}

fn outcome(result: aai_accounts::Result<()>) -> Result<Expect, Error> {
    match result {
        Ok(()) => Ok(A),
        Err(Error::NotFound { .. }) => Ok(N),
        Err(Error::Forbidden) => Ok(F),
        Err(Error::AccountInactive) => Ok(I),
        Err(other) => Err(other),
    }
}

#[test]
fn every_method_allows_and_denies_as_specified() {
    let mut failures = Vec::new();
    for (name, op, expected) in rows() {
        for (index, who) in WHO.iter().enumerate() {
            // A fresh world per call: writes of one call must not change
            // the next call's answer.
            for h in common::backends() {
                let backend = h.name;
                let (world, principals) = World::new(h);
                let got = outcome(op(&world, &principals[index]));
                if got.as_ref().ok() != Some(&expected[index]) {
                    failures.push(format!(
                        "{backend}: {name} by {who}: expected {:?}, got {got:?}",
                        expected[index]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn denied_writes_change_nothing() {
    for h in common::backends() {
        let (world, principals) = World::new(h);
        let other = &principals[1];
        let before = world
            .h
            .accounts
            .profiles()
            .get(&Principal::system(), world.profile.profile.id)
            .unwrap();
        for (_, op, expected) in rows() {
            if expected[1] == F {
                let _ = op(&world, other);
            }
        }
        let after = world
            .h
            .accounts
            .profiles()
            .get(&Principal::system(), world.profile.profile.id)
            .unwrap();
        assert_eq!(before, after);
        let owner = world
            .h
            .accounts
            .users()
            .get(&Principal::system(), world.owner.user.id)
            .unwrap();
        assert_eq!(owner, world.owner.user);
    }
}
