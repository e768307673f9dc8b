//! The runner: applies each operation to the facade and to the model,
//! and compares their outcomes. One method per operation, in `auth.rs`
//! and `resources.rs`.

use aai_accounts::Principal;
use chrono::{DateTime, Utc};

use crate::common::Harness;
use crate::model::{Model, Outcome};
use crate::operations::{Actor, Op};

/// A sequence in progress on one backend: the facade under test and the
/// model it is compared with.
pub(crate) struct Run<'a> {
    pub(crate) h: &'a Harness,
    pub(crate) model: Model,
    pub(crate) step: usize,
}

impl Run<'_> {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.h.clock_now()
    }

    pub(crate) fn check(&self, what: &Op, expected: Outcome, actual: Outcome) {
        assert_eq!(
            actual, expected,
            "step {} ({what:?}) on {}: facade and model disagree",
            self.step, self.h.name
        );
    }

    /// Applies `op` to the facade and to the model: one method per
    /// operation.
    pub(crate) fn apply(&mut self, op: &Op) {
        match op {
            Op::Register { user } => self.register(op, *user),
            Op::Login {
                user,
                right,
                by_email,
                times,
                device,
            } => self.login(op, *user, *right, *by_email, *times, *device),
            Op::Refresh {
                user,
                session,
                stale,
            } => self.refresh(op, *user, *session, *stale),
            Op::Authenticate { user, session } => self.authenticate(op, *user, *session),
            Op::Logout { user, session } => self.logout(op, *user, *session),
            Op::LogoutAll { user } => self.logout_all(op, *user),
            Op::ChangePassword { user, right } => self.change_password(op, *user, *right),
            Op::DeactivateUser { actor, target } => self.deactivate_user(op, *actor, *target),
            Op::RestoreUser { actor, target } => self.restore_user(op, *actor, *target),
            Op::CreateProfile {
                actor,
                target,
                public,
                allow_contact,
                contacts,
            } => self.create_profile(op, *actor, *target, *public, *allow_contact, contacts),
            Op::UpdateProfile {
                actor,
                target,
                public,
                allow_contact,
            } => self.update_profile(op, *actor, *target, *public, *allow_contact),
            Op::DeactivateProfile { actor, target } => self.deactivate_profile(op, *actor, *target),
            Op::RestoreProfile { actor, target } => self.restore_profile(op, *actor, *target),
            Op::AddContact {
                actor,
                target,
                kind,
                primary,
            } => self.add_contact(op, *actor, *target, *kind, *primary),
            Op::SetPrimary {
                actor,
                target,
                contact,
            } => self.set_primary(op, *actor, *target, *contact),
            Op::DeactivateContact {
                actor,
                target,
                contact,
            } => self.deactivate_contact(op, *actor, *target, *contact),
            Op::AddJob { actor, target } => self.add_job(op, *actor, *target),
            Op::DeactivateJob { actor, target, job } => {
                self.deactivate_job(op, *actor, *target, *job)
            }
            Op::Search {
                actor,
                size,
                public_only,
            } => self.search(op, *actor, *size, *public_only),
            Op::RequestReset { user } => self.request_reset(op, *user),
            Op::ResetPassword { user, token } => self.reset_password(op, *user, *token),
            Op::CreateOrg { user } => self.create_org(op, *user),
            Op::AddMember {
                actor,
                org,
                target,
                role,
            } => self.add_member(op, *actor, *org, *target, *role),
            Op::ChangeRole {
                actor,
                org,
                target,
                role,
            } => self.change_role(op, *actor, *org, *target, *role),
            Op::RemoveMember { actor, org, target } => {
                self.remove_member(op, *actor, *org, *target)
            }
            Op::TransferOwnership { actor, org, target } => {
                self.transfer_ownership(op, *actor, *org, *target)
            }
            Op::SetOrgActive { actor, org, active } => {
                self.set_org_active(op, *actor, *org, *active)
            }
            Op::Wait { minutes } => self.wait(*minutes),
        }
    }

    /// The principal of `actor` and the index of `target`'s profile.
    pub(crate) fn target_profile(&self, actor: Actor, target: usize) -> Option<(Principal, usize)> {
        let principal = self.model.principal(actor)?;
        let owner = self.model.user(target)?.id;
        Some((principal, self.model.profile_of(owner)?))
    }

    pub(crate) fn target_contact(
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
    pub(crate) fn as_user<T>(&self, user: usize, f: impl FnOnce() -> T) -> T {
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

    pub(crate) fn as_actor<T>(&self, actor: Actor, f: impl FnOnce() -> T) -> T {
        match actor {
            Actor::User(user) => self.as_user(user, f),
            Actor::Admin | Actor::System => f(),
        }
    }
}
