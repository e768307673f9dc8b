//! The operations a sequence is made of, and their strategies.

use proptest::prelude::*;

use crate::{env_or, KINDS, USERS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    User(usize),
    Admin,
    System,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Registers user `user`, or, when it exists, tries its username again
    /// in upper case (a conflict).
    Register {
        user: usize,
    },
    /// Logs in with the right password, or fails `times` times in a row;
    /// with the device token of the user's last successful login or
    /// without one.
    Login {
        user: usize,
        right: bool,
        by_email: bool,
        times: u8,
        device: bool,
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
    /// Asks for a password reset of the user's address.
    RequestReset {
        user: usize,
    },
    /// Resets the password with the user's `token`th newest reset token.
    ResetPassword {
        user: usize,
        token: usize,
    },
    /// A user creates an organization (and owns it).
    CreateOrg {
        user: usize,
    },
    /// Adds user `target` to organization `org` with role `role`.
    AddMember {
        actor: Actor,
        org: usize,
        target: usize,
        role: usize,
    },
    ChangeRole {
        actor: Actor,
        org: usize,
        target: usize,
        role: usize,
    },
    /// Removes a member; by the member themself, leaves.
    RemoveMember {
        actor: Actor,
        org: usize,
        target: usize,
    },
    TransferOwnership {
        actor: Actor,
        org: usize,
        target: usize,
    },
    /// Deactivates (`active: false`) or restores an organization.
    SetOrgActive {
        actor: Actor,
        org: usize,
        active: bool,
    },
    /// Lets time pass: locks and access tokens expire.
    Wait {
        minutes: i64,
    },
}

pub(crate) fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        6 => (0..USERS).prop_map(Actor::User),
        2 => Just(Actor::Admin),
        1 => Just(Actor::System),
    ]
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    prop_oneof![
        1 => user.clone().prop_map(|user| Op::Register { user }),
        4 => (user.clone(), any::<bool>(), any::<bool>(), 1..=5u8, any::<bool>())
            .prop_map(|(user, right, by_email, times, device)| {
                Op::Login { user, right, by_email, times, device }
            }),
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
        2 => user.clone().prop_map(|user| Op::RequestReset { user }),
        2 => (user.clone(), 0..3usize).prop_map(|(user, token)| Op::ResetPassword { user, token }),
        3 => user.clone().prop_map(|user| Op::CreateOrg { user }),
        8 => (actor(), 0..3usize, user.clone(), 0..3usize)
            .prop_map(|(actor, org, target, role)| Op::AddMember { actor, org, target, role }),
        5 => (actor(), 0..3usize, user.clone(), 0..3usize)
            .prop_map(|(actor, org, target, role)| Op::ChangeRole { actor, org, target, role }),
        2 => (actor(), 0..3usize, user.clone())
            .prop_map(|(actor, org, target)| Op::RemoveMember { actor, org, target }),
        1 => (actor(), 0..3usize, user.clone())
            .prop_map(|(actor, org, target)| Op::TransferOwnership { actor, org, target }),
        1 => (actor(), 0..3usize, any::<bool>())
            .prop_map(|(actor, org, active)| Op::SetOrgActive { actor, org, active }),
        1 => (1..20i64).prop_map(|minutes| Op::Wait { minutes }),
    ]
}

/// Operations, each followed by a few seconds passing.
pub(crate) fn ops() -> impl Strategy<Value = Vec<(Op, u8)>> {
    proptest::collection::vec((op(), 0..4u8), 1..=env_or("PROPTEST_MAX_OPS", 40))
}
