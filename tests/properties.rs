//! State-machine properties: random sequences of facade operations by
//! random principals, checked after every step against a simple in-memory
//! model and against the invariants of DESIGN.md "Rules":
//!
//! - one active profile per user;
//! - at most one active primary contact per profile and kind;
//! - soft-deleted rows never appear to non-admins;
//! - deactivated or locked users cannot log in, refresh or authenticate;
//! - `updated_at >= created_at`, ids never change;
//! - pagination visits every matching row exactly once;
//! - a non-admin never changes another user's data.
//!
//! Runs on every backend of `common::backends()`. `PROPTEST_CASES` sets the
//! number of sequences (default 24) and `PROPTEST_MAX_OPS` their longest
//! length (default 40). Shrunk failures are kept in
//! `tests/properties.proptest-regressions` and replayed first.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aai_accounts::{
    ActiveFilter, Contact, ContactId, ContactKind, Credentials, Error, JobId, LockoutPolicy,
    NewContact, NewJob, NewProfile, NewUser, PageRequest, Principal, Profile, ProfileId,
    ProfilePatch, ProfileQuery, User, UserId, UserQuery,
};
use chrono::{DateTime, Duration, Utc};
use common::Harness;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Regular users the operations act on and by.
const USERS: usize = 3;
/// Two passwords a user alternates between with `change_password`.
const PASSWORDS: [&str; 2] = ["correct horse battery staple", "a second long passphrase"];
/// Kinds used by the operations: few, so primaries collide often.
const KINDS: [ContactKind; 2] = [ContactKind::Email, ContactKind::Phone];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: u32::try_from(env_or("PROPTEST_CASES", 24)).unwrap_or(24),
        max_shrink_iters: 4096,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Operations

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    User(usize),
    Admin,
    System,
}

#[derive(Debug, Clone)]
enum Op {
    /// Registers user `user`, or, when it exists, tries its username again
    /// in upper case (a conflict).
    Register {
        user: usize,
    },
    /// Logs in with the right password, or fails `times` times in a row.
    Login {
        user: usize,
        right: bool,
        by_email: bool,
        times: u8,
    },
    /// Refreshes a session with its latest token, or with a spent one.
    Refresh {
        user: usize,
        session: usize,
        stale: bool,
    },
    Authenticate {
        user: usize,
        session: usize,
    },
    Logout {
        user: usize,
        session: usize,
    },
    LogoutAll {
        user: usize,
    },
    ChangePassword {
        user: usize,
        right: bool,
    },
    DeactivateUser {
        actor: Actor,
        target: usize,
    },
    RestoreUser {
        actor: Actor,
        target: usize,
    },
    CreateProfile {
        actor: Actor,
        target: usize,
        public: bool,
        allow_contact: bool,
        contacts: Vec<(usize, bool)>,
    },
    UpdateProfile {
        actor: Actor,
        target: usize,
        public: Option<bool>,
        allow_contact: Option<bool>,
    },
    DeactivateProfile {
        actor: Actor,
        target: usize,
    },
    RestoreProfile {
        actor: Actor,
        target: usize,
    },
    AddContact {
        actor: Actor,
        target: usize,
        kind: usize,
        primary: bool,
    },
    SetPrimary {
        actor: Actor,
        target: usize,
        contact: usize,
    },
    DeactivateContact {
        actor: Actor,
        target: usize,
        contact: usize,
    },
    AddJob {
        actor: Actor,
        target: usize,
    },
    DeactivateJob {
        actor: Actor,
        target: usize,
        job: usize,
    },
    Search {
        actor: Actor,
        size: u32,
        public_only: bool,
    },
    /// Lets time pass: locks and access tokens expire.
    Wait {
        minutes: i64,
    },
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        6 => (0..USERS).prop_map(Actor::User),
        2 => Just(Actor::Admin),
        1 => Just(Actor::System),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        1 => user.clone().prop_map(|user| Op::Register { user }),
        4 => (user.clone(), any::<bool>(), any::<bool>(), 1..=5u8)
            .prop_map(|(user, right, by_email, times)| Op::Login { user, right, by_email, times }),
        3 => (user.clone(), 0..4usize, any::<bool>())
            .prop_map(|(user, session, stale)| Op::Refresh { user, session, stale }),
        2 => (user.clone(), 0..4usize).prop_map(|(user, session)| Op::Authenticate { user, session }),
        1 => (user.clone(), 0..4usize).prop_map(|(user, session)| Op::Logout { user, session }),
        1 => user.clone().prop_map(|user| Op::LogoutAll { user }),
        1 => (user.clone(), any::<bool>()).prop_map(|(user, right)| Op::ChangePassword { user, right }),
        2 => (actor(), user.clone()).prop_map(|(actor, target)| Op::DeactivateUser { actor, target }),
        2 => (actor(), user.clone()).prop_map(|(actor, target)| Op::RestoreUser { actor, target }),
        4 => (
            actor(),
            user.clone(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec((0..KINDS.len(), any::<bool>()), 0..4),
        )
            .prop_map(|(actor, target, public, allow_contact, contacts)| Op::CreateProfile {
                actor,
                target,
                public,
                allow_contact,
                contacts,
            }),
        2 => (actor(), user.clone(), any::<Option<bool>>(), any::<Option<bool>>()).prop_map(
            |(actor, target, public, allow_contact)| Op::UpdateProfile {
                actor,
                target,
                public,
                allow_contact
            }
        ),
        2 => (actor(), user.clone()).prop_map(|(actor, target)| Op::DeactivateProfile { actor, target }),
        1 => (actor(), user.clone()).prop_map(|(actor, target)| Op::RestoreProfile { actor, target }),
        4 => (actor(), user.clone(), 0..KINDS.len(), any::<bool>())
            .prop_map(|(actor, target, kind, primary)| Op::AddContact { actor, target, kind, primary }),
        3 => (actor(), user.clone(), 0..6usize)
            .prop_map(|(actor, target, contact)| Op::SetPrimary { actor, target, contact }),
        2 => (actor(), user.clone(), 0..6usize)
            .prop_map(|(actor, target, contact)| Op::DeactivateContact { actor, target, contact }),
        2 => (actor(), user.clone()).prop_map(|(actor, target)| Op::AddJob { actor, target }),
        1 => (actor(), user.clone(), 0..4usize)
            .prop_map(|(actor, target, job)| Op::DeactivateJob { actor, target, job }),
        2 => (actor(), 1..5u32, any::<bool>())
            .prop_map(|(actor, size, public_only)| Op::Search { actor, size, public_only }),
        1 => (1..20i64).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

/// Operations, each followed by a few seconds passing.
fn ops() -> impl Strategy<Value = Vec<(Op, u8)>> {
    proptest::collection::vec((op(), 0..4u8), 1..=env_or("PROPTEST_MAX_OPS", 40))
}

// ---------------------------------------------------------------------------
// The model

#[derive(Debug)]
struct MSession {
    refresh: String,
    spent: Vec<String>,
    access: String,
    access_issued: DateTime<Utc>,
    revoked: bool,
    /// The session of the user's `principal` (kept by `change_password`).
    is_principal: bool,
}

#[derive(Debug)]
struct MUser {
    id: UserId,
    username: String,
    principal: Principal,
    active: bool,
    deactivated_at: Option<DateTime<Utc>>,
    password: usize,
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
    sessions: Vec<MSession>,
}

impl MUser {
    fn locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MContact {
    id: ContactId,
    kind: ContactKind,
    primary: bool,
    active: bool,
}

#[derive(Debug)]
struct MProfile {
    id: ProfileId,
    owner: UserId,
    active: bool,
    deactivated_at: Option<DateTime<Utc>>,
    public: bool,
    allow_contact: bool,
    contacts: Vec<MContact>,
    jobs: Vec<(JobId, bool)>,
}

/// What the model expects an actor to be inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolved {
    Admin,
    User(UserId),
}

/// An outcome, compared by error code.
type Outcome = Result<(), &'static str>;

fn outcome<T>(result: &aai_accounts::Result<T>) -> Outcome {
    result.as_ref().map(drop).map_err(Error::code)
}

struct Model {
    users: Vec<Option<MUser>>,
    admin: common::TestUser,
    profiles: Vec<MProfile>,
}

impl Model {
    fn user(&self, index: usize) -> Option<&MUser> {
        self.users[index].as_ref()
    }

    fn user_by_id(&self, id: UserId) -> Option<&MUser> {
        self.users.iter().flatten().find(|user| user.id == id)
    }

    fn principal(&self, actor: Actor) -> Option<Principal> {
        match actor {
            Actor::User(index) => self.user(index).map(|user| user.principal.clone()),
            Actor::Admin => Some(self.admin.principal.clone()),
            Actor::System => Some(Principal::system()),
        }
    }

    /// `Actor::resolve`: the acting user must be active and not locked.
    fn resolve(&self, actor: Actor, now: DateTime<Utc>) -> Result<Resolved, &'static str> {
        match actor {
            Actor::Admin | Actor::System => Ok(Resolved::Admin),
            Actor::User(index) => {
                let user = self.user(index).expect("resolved actors exist");
                if !user.active {
                    Err("account_inactive")
                } else if user.locked(now) {
                    Err("account_locked")
                } else {
                    Ok(Resolved::User(user.id))
                }
            }
        }
    }

    /// The profile `get_profile_by_user` answers: the active one, or the
    /// newest inactive one.
    fn profile_of(&self, owner: UserId) -> Option<usize> {
        let mut found = None;
        for (index, profile) in self.profiles.iter().enumerate() {
            if profile.owner != owner {
                continue;
            }
            if profile.active {
                return Some(index);
            }
            found = Some(index);
        }
        found
    }

    fn has_active_profile(&self, owner: UserId) -> bool {
        self.profiles.iter().any(|p| p.owner == owner && p.active)
    }

    fn can_read_profile(&self, reader: UserId, profile: &MProfile) -> bool {
        profile.active && (profile.public || profile.owner == reader)
    }
}

/// `Actor::check_write` on a row owned by `owner`.
fn check_write(actor: Resolved, owner: UserId, active: bool) -> Outcome {
    match actor {
        Resolved::Admin => Ok(()),
        Resolved::User(_) if !active => Err("not_found"),
        Resolved::User(id) if id == owner => Ok(()),
        Resolved::User(_) => Err("forbidden"),
    }
}

fn require_admin(actor: Resolved) -> Outcome {
    match actor {
        Resolved::Admin => Ok(()),
        Resolved::User(_) => Err("forbidden"),
    }
}

fn username(index: usize) -> String {
    format!("user{index}")
}

fn contact_value(kind: ContactKind, n: usize) -> String {
    match kind {
        ContactKind::Phone => format!("+33 1234567{n:02}"),
        _ => format!("c{n}@example.com"),
    }
}

// ---------------------------------------------------------------------------
// The runner

struct Run<'a> {
    h: &'a Harness,
    model: Model,
    step: usize,
}

impl Run<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.h.clock_now()
    }

    fn check(&self, what: &Op, expected: Outcome, actual: Outcome) {
        assert_eq!(
            actual, expected,
            "step {} ({what:?}) on {}: facade and model disagree",
            self.step, self.h.name
        );
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now();
        let accounts = &self.h.accounts;
        match op {
            Op::Register { user } => {
                let index = *user;
                let exists = self.model.user(index).is_some();
                let result = accounts.register(NewUser {
                    username: if exists {
                        username(index).to_uppercase()
                    } else {
                        username(index)
                    },
                    email: format!(
                        "{}{}@example.com",
                        username(index),
                        if exists { "x" } else { "" }
                    ),
                    password: PASSWORDS[0].into(),
                });
                let expected = if exists { Err("conflict") } else { Ok(()) };
                self.check(op, expected, outcome(&result));
                if let Ok(registration) = result {
                    let principal = accounts
                        .authenticate(&registration.tokens.access_token)
                        .unwrap();
                    self.model.users[index] = Some(MUser {
                        id: registration.user.id,
                        username: username(index),
                        principal,
                        active: true,
                        deactivated_at: None,
                        password: 0,
                        failures: 0,
                        locked_until: None,
                        sessions: vec![MSession {
                            refresh: registration.tokens.refresh_token,
                            spent: Vec::new(),
                            access: registration.tokens.access_token,
                            access_issued: now,
                            revoked: false,
                            is_principal: true,
                        }],
                    });
                }
            }
            Op::Login {
                user,
                right,
                by_email,
                times,
            } => {
                let times = if *right { 1 } else { *times };
                for _ in 0..times {
                    self.login(op, *user, *right, *by_email);
                }
            }
            Op::Refresh {
                user,
                session,
                stale,
            } => {
                let Some(model) = self.model.users[*user].as_mut() else {
                    return;
                };
                let (active, locked) = (model.active, model.locked(now));
                let count = model.sessions.len();
                let session = &mut model.sessions[session % count];
                let reuse = *stale && !session.spent.is_empty();
                let token = if reuse {
                    session.spent[0].clone()
                } else {
                    session.refresh.clone()
                };
                let result = accounts.refresh(&token);
                let expected = if session.revoked {
                    Err("unauthenticated")
                } else if reuse {
                    session.revoked = true;
                    Err("refresh_token_reused")
                } else if !active {
                    Err("account_inactive")
                } else if locked {
                    // Refused, and not spent: once the lock ends, the
                    // same token still works.
                    Err("account_locked")
                } else {
                    Ok(())
                };
                let actual = outcome(&result);
                if let Ok(tokens) = result {
                    session.spent.push(std::mem::take(&mut session.refresh));
                    session.refresh = tokens.refresh_token;
                    session.access = tokens.access_token;
                    session.access_issued = now;
                }
                self.check(op, expected, actual);
            }
            Op::Authenticate { user, session } => {
                let Some(model) = self.model.user(*user) else {
                    return;
                };
                let session = &model.sessions[session % model.sessions.len()];
                let result = accounts.authenticate(&session.access);
                let expected = expected_authentication(model, session, now);
                self.check(op, expected, outcome(&result));
                if let Ok(principal) = result {
                    assert_eq!(principal.user_id(), Some(model.id));
                }
            }
            Op::Logout { user, session } => {
                let Some(model) = self.model.users[*user].as_mut() else {
                    return;
                };
                let count = model.sessions.len();
                let session = &mut model.sessions[session % count];
                let result = accounts.logout(&session.refresh);
                session.revoked = true;
                self.check(op, Ok(()), outcome(&result));
            }
            Op::LogoutAll { user } => {
                let Some(principal) = self.model.principal(Actor::User(*user)) else {
                    return;
                };
                let expected = self.model.resolve(Actor::User(*user), now).map(drop);
                let result = self.as_user(*user, || accounts.logout_all(&principal));
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    let model = self.model.users[*user].as_mut().unwrap();
                    for session in &mut model.sessions {
                        session.revoked = true;
                    }
                }
            }
            Op::ChangePassword { user, right } => {
                let Some(model) = self.model.user(*user) else {
                    return;
                };
                let principal = model.principal.clone();
                let (current, next) = if *right {
                    (PASSWORDS[model.password], PASSWORDS[1 - model.password])
                } else {
                    ("not the password at all", PASSWORDS[1 - model.password])
                };
                let expected =
                    self.model
                        .resolve(Actor::User(*user), now)
                        .map(drop)
                        .and(if *right {
                            Ok(())
                        } else {
                            Err("invalid_credentials")
                        });
                let result = self.as_user(*user, || {
                    accounts.change_password(&principal, current, next)
                });
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    let model = self.model.users[*user].as_mut().unwrap();
                    model.password = 1 - model.password;
                    for session in &mut model.sessions {
                        session.revoked |= !session.is_principal;
                    }
                }
            }
            Op::DeactivateUser { actor, target } => {
                let (Some(principal), Some(target_user)) =
                    (self.model.principal(*actor), self.model.user(*target))
                else {
                    return;
                };
                let target_id = target_user.id;
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(|resolved| check_write(resolved, target_id, target_user.active));
                let was_active = target_user.active;
                let result = self.as_actor(*actor, || {
                    accounts.users().deactivate(&principal, target_id)
                });
                self.check(op, expected, outcome(&result));
                if result.is_ok() && was_active {
                    let model = self.model.users[*target].as_mut().unwrap();
                    model.active = false;
                    model.deactivated_at = Some(now);
                    for session in &mut model.sessions {
                        session.revoked = true;
                    }
                    for profile in &mut self.model.profiles {
                        if profile.owner == target_id && profile.active {
                            profile.active = false;
                            profile.deactivated_at = Some(now);
                        }
                    }
                }
            }
            Op::RestoreUser { actor, target } => {
                let (Some(principal), Some(target_user)) =
                    (self.model.principal(*actor), self.model.user(*target))
                else {
                    return;
                };
                let (target_id, was_active, deactivated_at) = (
                    target_user.id,
                    target_user.active,
                    target_user.deactivated_at,
                );
                let expected = self.model.resolve(*actor, now).and_then(require_admin);
                let result =
                    self.as_actor(*actor, || accounts.users().restore(&principal, target_id));
                self.check(op, expected, outcome(&result));
                if result.is_ok() && !was_active {
                    if let Some(index) = self.model.profile_of(target_id) {
                        let profile = &mut self.model.profiles[index];
                        if !profile.active && profile.deactivated_at == deactivated_at {
                            profile.active = true;
                            profile.deactivated_at = None;
                        }
                    }
                    let model = self.model.users[*target].as_mut().unwrap();
                    model.active = true;
                    model.deactivated_at = None;
                }
            }
            Op::CreateProfile {
                actor,
                target,
                public,
                allow_contact,
                contacts,
            } => {
                let (Some(principal), Some(owner)) =
                    (self.model.principal(*actor), self.model.user(*target))
                else {
                    return;
                };
                let owner_id = owner.id;
                let mut primaries = BTreeSet::new();
                let duplicate_primary = contacts
                    .iter()
                    .any(|(kind, primary)| *primary && !primaries.insert(*kind));
                let expected = if duplicate_primary {
                    Err("validation")
                } else {
                    self.model
                        .resolve(*actor, now)
                        .and_then(|resolved| match resolved {
                            Resolved::User(id) if id != owner_id => Err("forbidden"),
                            _ if !owner.active => Err("not_found"),
                            _ if self.model.has_active_profile(owner_id) => Err("conflict"),
                            _ => Ok(()),
                        })
                };
                let new = NewProfile {
                    user_id: Some(owner_id),
                    first_name: "First".into(),
                    last_name: "Last".into(),
                    is_public: *public,
                    allow_contact: *allow_contact,
                    contacts: contacts
                        .iter()
                        .enumerate()
                        .map(|(n, (kind, primary))| NewContact {
                            kind: KINDS[*kind],
                            value: contact_value(KINDS[*kind], n),
                            is_primary: *primary,
                        })
                        .collect(),
                    jobs: vec![job()],
                    ..NewProfile::default()
                };
                let result = self.as_actor(*actor, || accounts.profiles().create(&principal, new));
                self.check(op, expected, outcome(&result));
                if let Ok(details) = result {
                    let mut wanted: Vec<_> = contacts
                        .iter()
                        .map(|(kind, primary)| (KINDS[*kind], *primary))
                        .collect();
                    let mut got: Vec<_> = details
                        .contacts
                        .iter()
                        .map(|c| (c.kind, c.is_primary))
                        .collect();
                    wanted.sort();
                    got.sort();
                    assert_eq!(got, wanted, "created contacts");
                    self.model.profiles.push(MProfile {
                        id: details.profile.id,
                        owner: owner_id,
                        active: true,
                        deactivated_at: None,
                        public: *public,
                        allow_contact: *allow_contact,
                        contacts: details.contacts.iter().map(model_contact).collect(),
                        jobs: details.jobs.iter().map(|job| (job.id, true)).collect(),
                    });
                }
            }
            Op::UpdateProfile {
                actor,
                target,
                public,
                allow_contact,
            } => {
                let Some((principal, index)) = self.target_profile(*actor, *target) else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
                let patch = ProfilePatch {
                    is_public: *public,
                    allow_contact: *allow_contact,
                    first_name: Some(format!("Step{}", self.step)),
                    ..ProfilePatch::default()
                };
                let id = profile.id;
                let result =
                    self.as_actor(*actor, || accounts.profiles().update(&principal, id, patch));
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    let profile = &mut self.model.profiles[index];
                    profile.public = public.unwrap_or(profile.public);
                    profile.allow_contact = allow_contact.unwrap_or(profile.allow_contact);
                }
            }
            Op::DeactivateProfile { actor, target } => {
                let Some((principal, index)) = self.target_profile(*actor, *target) else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
                let id = profile.id;
                let result =
                    self.as_actor(*actor, || accounts.profiles().deactivate(&principal, id));
                self.check(op, expected, outcome(&result));
                let profile = &mut self.model.profiles[index];
                if result.is_ok() && profile.active {
                    profile.active = false;
                    profile.deactivated_at = Some(now);
                }
            }
            Op::RestoreProfile { actor, target } => {
                let Some((principal, index)) = self.target_profile(*actor, *target) else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(require_admin)
                    .and_then(|()| {
                        if !profile.active && self.model.has_active_profile(profile.owner) {
                            Err("conflict")
                        } else {
                            Ok(())
                        }
                    });
                let id = profile.id;
                let result = self.as_actor(*actor, || accounts.profiles().restore(&principal, id));
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    let profile = &mut self.model.profiles[index];
                    profile.active = true;
                    profile.deactivated_at = None;
                }
            }
            Op::AddContact {
                actor,
                target,
                kind,
                primary,
            } => {
                let Some((principal, index)) = self.target_profile(*actor, *target) else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
                let kind = KINDS[*kind];
                let new = NewContact {
                    kind,
                    value: contact_value(kind, self.step),
                    is_primary: *primary,
                };
                let id = profile.id;
                let result = self.as_actor(*actor, || accounts.contacts().add(&principal, id, new));
                self.check(op, expected, outcome(&result));
                if let Ok(contact) = result {
                    let profile = &mut self.model.profiles[index];
                    if *primary {
                        unprimary(profile, kind);
                    }
                    profile.contacts.push(model_contact(&contact));
                }
            }
            Op::SetPrimary {
                actor,
                target,
                contact,
            } => {
                let Some((principal, index, position)) =
                    self.target_contact(*actor, *target, *contact)
                else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let contact = profile.contacts[position].clone();
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(|resolved| {
                        check_write(resolved, profile.owner, profile.active && contact.active)
                    })
                    .and(if contact.active {
                        Ok(())
                    } else {
                        Err("not_found")
                    });
                let result = self.as_actor(*actor, || {
                    accounts.contacts().set_primary(&principal, contact.id)
                });
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    let profile = &mut self.model.profiles[index];
                    if !contact.primary {
                        unprimary(profile, contact.kind);
                    }
                    profile.contacts[position].primary = true;
                }
            }
            Op::DeactivateContact {
                actor,
                target,
                contact,
            } => {
                let Some((principal, index, position)) =
                    self.target_contact(*actor, *target, *contact)
                else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let contact = &profile.contacts[position];
                let expected = self.model.resolve(*actor, now).and_then(|resolved| {
                    check_write(resolved, profile.owner, profile.active && contact.active)
                });
                let id = contact.id;
                let result =
                    self.as_actor(*actor, || accounts.contacts().deactivate(&principal, id));
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    let contact = &mut self.model.profiles[index].contacts[position];
                    if contact.active {
                        contact.active = false;
                        contact.primary = false;
                    }
                }
            }
            Op::AddJob { actor, target } => {
                let Some((principal, index)) = self.target_profile(*actor, *target) else {
                    return;
                };
                let profile = &self.model.profiles[index];
                let expected = self
                    .model
                    .resolve(*actor, now)
                    .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
                let id = profile.id;
                let result = self.as_actor(*actor, || accounts.jobs().add(&principal, id, job()));
                self.check(op, expected, outcome(&result));
                if let Ok(job) = result {
                    self.model.profiles[index].jobs.push((job.id, true));
                }
            }
            Op::DeactivateJob { actor, target, job } => {
                let Some((principal, index)) = self.target_profile(*actor, *target) else {
                    return;
                };
                let profile = &self.model.profiles[index];
                if profile.jobs.is_empty() {
                    return;
                }
                let position = job % profile.jobs.len();
                let (id, job_active) = profile.jobs[position];
                let expected = self.model.resolve(*actor, now).and_then(|resolved| {
                    check_write(resolved, profile.owner, profile.active && job_active)
                });
                let result = self.as_actor(*actor, || accounts.jobs().deactivate(&principal, id));
                self.check(op, expected, outcome(&result));
                if result.is_ok() {
                    self.model.profiles[index].jobs[position].1 = false;
                }
            }
            Op::Search {
                actor,
                size,
                public_only,
            } => {
                let Some(principal) = self.model.principal(*actor) else {
                    return;
                };
                let resolved = self.model.resolve(*actor, now);
                let query = ProfileQuery {
                    is_public: public_only.then_some(true),
                    ..ProfileQuery::default()
                };
                let pages = all_pages(*size, |page| {
                    accounts.profiles().search(&principal, &query, page)
                });
                let (resolved, found) = match (resolved, pages) {
                    (Ok(resolved), Ok(pages)) => (resolved, pages),
                    (expected, actual) => {
                        self.check(op, expected.map(drop), outcome(&actual));
                        return;
                    }
                };
                let found: BTreeSet<ProfileId> = found.iter().map(|p| p.id).collect();
                let expected: BTreeSet<ProfileId> = self
                    .model
                    .profiles
                    .iter()
                    .filter(|p| p.active && (p.public || !public_only))
                    .filter(|p| match resolved {
                        Resolved::Admin => true,
                        Resolved::User(reader) => self.model.can_read_profile(reader, p),
                    })
                    .map(|p| p.id)
                    .collect();
                assert_eq!(found, expected, "step {}: search {op:?}", self.step);
            }
            Op::Wait { minutes } => self.h.clock.advance(Duration::minutes(*minutes)),
        }
    }

    fn login(&mut self, op: &Op, user: usize, right: bool, by_email: bool) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some(model) = self.model.users[user].as_mut() else {
            return;
        };
        let login = if by_email {
            format!("{}@EXAMPLE.com", model.username)
        } else {
            model.username.to_uppercase()
        };
        let password = if right {
            PASSWORDS[model.password]
        } else {
            "not the password at all"
        };
        let result = accounts.login(Credentials::new(login, password));
        let expected = if model.locked(now) {
            Err("account_locked")
        } else if !right {
            model.failures += 1;
            match LockoutPolicy::default().lock_duration(model.failures) {
                Some(duration) => {
                    model.locked_until = Some(now + duration);
                    Err("account_locked")
                }
                None => Err("invalid_credentials"),
            }
        } else if !model.active {
            Err("account_inactive")
        } else {
            model.failures = 0;
            model.locked_until = None;
            Ok(())
        };
        let actual = outcome(&result);
        if let Ok(tokens) = result {
            model.sessions.push(MSession {
                refresh: tokens.refresh_token,
                spent: Vec::new(),
                access: tokens.access_token,
                access_issued: now,
                revoked: false,
                is_principal: false,
            });
        }
        self.check(op, expected, actual);
    }

    /// The principal of `actor` and the index of `target`'s profile.
    fn target_profile(&self, actor: Actor, target: usize) -> Option<(Principal, usize)> {
        let principal = self.model.principal(actor)?;
        let owner = self.model.user(target)?.id;
        Some((principal, self.model.profile_of(owner)?))
    }

    fn target_contact(
        &self,
        actor: Actor,
        target: usize,
        contact: usize,
    ) -> Option<(Principal, usize, usize)> {
        let (principal, index) = self.target_profile(actor, target)?;
        let count = self.model.profiles[index].contacts.len();
        (count > 0).then(|| (principal, index, contact % count))
    }

    /// Runs a regular user's operation and checks that it changed no other
    /// user's data.
    fn as_user<T>(&self, user: usize, f: impl FnOnce() -> T) -> T {
        let id = self.model.user(user).map(|user| user.id);
        let before = self.others_data(id);
        let result = f();
        assert_eq!(
            self.others_data(id),
            before,
            "step {}: user{user} changed another user's data",
            self.step
        );
        result
    }

    fn as_actor<T>(&self, actor: Actor, f: impl FnOnce() -> T) -> T {
        match actor {
            Actor::User(user) => self.as_user(user, f),
            Actor::Admin | Actor::System => f(),
        }
    }

    /// Everything of every user but `except`, as the system sees it.
    fn others_data(&self, except: Option<UserId>) -> Vec<UserData> {
        self.model
            .users
            .iter()
            .flatten()
            .filter(|user| Some(user.id) != except)
            .map(|user| user_data(self.h, user.id))
            .collect()
    }

    /// Checks every invariant against the facade.
    fn check_invariants(&self) {
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
            if !user.active || user.locked(now) {
                let error = accounts.users().me(principal).unwrap_err();
                let expected = if user.active {
                    "account_locked"
                } else {
                    "account_inactive"
                };
                assert_eq!(error.code(), expected, "step {step}: {}", user.username);
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
    }
}

fn expected_authentication(user: &MUser, session: &MSession, now: DateTime<Utc>) -> Outcome {
    if now - session.access_issued >= Duration::minutes(30) {
        Err("unauthenticated")
    } else if !user.active {
        Err("account_inactive")
    } else if user.locked(now) {
        Err("account_locked")
    } else if session.revoked {
        Err("unauthenticated")
    } else {
        Ok(())
    }
}

fn unprimary(profile: &mut MProfile, kind: ContactKind) {
    for contact in &mut profile.contacts {
        if contact.kind == kind && contact.active {
            contact.primary = false;
        }
    }
}

fn model_contact(contact: &Contact) -> MContact {
    MContact {
        id: contact.id,
        kind: contact.kind,
        primary: contact.is_primary,
        active: contact.is_active,
    }
}

fn job() -> NewJob {
    NewJob {
        title: "Engineer".into(),
        company: "Analytical Engines".into(),
        ..NewJob::default()
    }
}

/// Collects every page of a list of `size` items, checking that pages
/// agree on the total and that no row is visited twice.
fn all_pages<T: HasId>(
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

trait HasId {
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
struct UserData {
    user: User,
    profiles: Vec<(Profile, Vec<Contact>, Vec<aai_accounts::Job>)>,
}

fn user_data(h: &Harness, id: UserId) -> UserData {
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

fn run(h: &Harness, ops: &[(Op, u8)]) {
    let admin = h.admin("admin");
    let mut run = Run {
        h,
        model: Model {
            users: (0..USERS).map(|_| None).collect(),
            admin,
            profiles: Vec::new(),
        },
        step: 0,
    };
    for user in 0..USERS {
        run.apply(&Op::Register { user });
    }
    run.check_invariants();
    for (step, (op, seconds)) in ops.iter().enumerate() {
        run.step = step;
        run.apply(op);
        h.clock.advance(Duration::seconds(i64::from(*seconds)));
        run.check_invariants();
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_operations_keep_every_invariant(ops in ops()) {
        for h in common::backends() {
            run(&h, &ops);
        }
    }
}
