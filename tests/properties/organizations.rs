//! Organization operations: the model of organizations and memberships,
//! one runner method per operation, and their invariants.

use std::collections::BTreeMap;

use aai_accounts::{
    NewOrganization, OrganizationId, OrganizationRole, PageRequest, Principal, UserId,
};

use crate::model::{outcome, Model, Outcome, Resolved};
use crate::operations::{Actor, Op};
use crate::runner::Run;

/// An organization as the model sees it: members by user index.
#[derive(Debug)]
pub(crate) struct MOrg {
    pub(crate) id: OrganizationId,
    pub(crate) active: bool,
    pub(crate) members: BTreeMap<usize, OrganizationRole>,
}

/// Where an actor stands in an organization (the facade's `Standing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    SuperAdmin,
    Member(OrganizationRole),
}

impl Standing {
    fn role(self) -> OrganizationRole {
        match self {
            Standing::SuperAdmin => OrganizationRole::Owner,
            Standing::Member(role) => role,
        }
    }

    fn require(self, role: OrganizationRole) -> Outcome {
        if self.role() >= role {
            Ok(())
        } else {
            Err("forbidden")
        }
    }
}

impl Model {
    fn user_active(&self, index: usize) -> bool {
        self.user(index).is_some_and(|user| user.active)
    }

    fn index_of(&self, id: UserId) -> Option<usize> {
        self.users
            .iter()
            .position(|user| user.as_ref().is_some_and(|user| user.id == id))
    }

    /// The facade's `visible`: the actor's standing, or why not.
    fn standing(&self, actor: Actor, org: &MOrg) -> Result<Standing, &'static str> {
        match self.resolve(actor)? {
            Resolved::Admin => Ok(Standing::SuperAdmin),
            Resolved::User(id) => {
                let index = self.index_of(id).expect("resolved users are modelled");
                match org.members.get(&index) {
                    Some(role) if org.active => Ok(Standing::Member(*role)),
                    _ => Err("not_found"),
                }
            }
        }
    }

    /// A member whose user is active, or `not_found`.
    fn active_member(&self, org: &MOrg, index: usize) -> Result<OrganizationRole, &'static str> {
        match org.members.get(&index) {
            Some(role) if self.user_active(index) => Ok(*role),
            _ => Err("not_found"),
        }
    }

    fn active_owners(&self, org: &MOrg) -> usize {
        org.members
            .iter()
            .filter(|(index, role)| **role == OrganizationRole::Owner && self.user_active(**index))
            .count()
    }

    /// `keep_an_owner` for a member who stops being an owner.
    fn keep_an_owner(&self, org: &MOrg, role: OrganizationRole) -> Outcome {
        if role == OrganizationRole::Owner && self.active_owners(org) <= 1 {
            Err("conflict")
        } else {
            Ok(())
        }
    }

    /// Whether user `index` is the last active owner of an active
    /// organization (they may not deactivate themself).
    pub(crate) fn is_last_owner(&self, index: usize) -> bool {
        self.orgs.iter().any(|org| {
            org.active
                && org.members.get(&index) == Some(&OrganizationRole::Owner)
                && self.active_owners(org) <= 1
        })
    }
}

const ROLES: [OrganizationRole; 3] = OrganizationRole::ALL;

impl Run<'_> {
    /// The organization `org` (modulo how many there are), with the
    /// actor's principal.
    fn org_and_principal(&self, actor: Actor, org: usize) -> Option<(usize, Principal)> {
        let count = self.model.orgs.len();
        let principal = self.model.principal(actor)?;
        (count > 0).then(|| (org % count, principal))
    }

    pub(crate) fn create_org(&mut self, op: &Op, user: usize) {
        let Some(principal) = self.model.principal(Actor::User(user)) else {
            return;
        };
        let expected = self.model.resolve(Actor::User(user)).map(drop);
        let name = format!("Org {}", self.model.orgs.len());
        let result = self.as_user(user, || {
            self.h.accounts.organizations().create(
                &principal,
                NewOrganization {
                    name,
                    ..NewOrganization::default()
                },
            )
        });
        self.check(op, expected, outcome(&result));
        if let Ok(org) = result {
            self.model.orgs.push(MOrg {
                id: org.id,
                active: true,
                members: BTreeMap::from([(user, OrganizationRole::Owner)]),
            });
        }
    }

    pub(crate) fn add_member(
        &mut self,
        op: &Op,
        actor: Actor,
        org: usize,
        target: usize,
        role: usize,
    ) {
        let (Some((index, principal)), Some(target_id)) = (
            self.org_and_principal(actor, org),
            self.model.user(target).map(|user| user.id),
        ) else {
            return;
        };
        let role = ROLES[role % ROLES.len()];
        let m = &self.model;
        let o = &m.orgs[index];
        let expected = m.standing(actor, o).and_then(|standing| {
            standing.require(OrganizationRole::Admin)?;
            standing.require(role)?;
            if !m.user_active(target) {
                return Err("not_found");
            }
            if o.members.contains_key(&target) {
                return Err("conflict");
            }
            Ok(())
        });
        let result = self.as_actor(actor, || {
            self.h
                .accounts
                .organizations()
                .add_member(&principal, o.id, target_id, role)
        });
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            self.model.orgs[index].members.insert(target, role);
        }
    }

    pub(crate) fn change_role(
        &mut self,
        op: &Op,
        actor: Actor,
        org: usize,
        target: usize,
        role: usize,
    ) {
        let (Some((index, principal)), Some(target_id)) = (
            self.org_and_principal(actor, org),
            self.model.user(target).map(|user| user.id),
        ) else {
            return;
        };
        let role = ROLES[role % ROLES.len()];
        let m = &self.model;
        let o = &m.orgs[index];
        let expected = m.standing(actor, o).and_then(|standing| {
            standing.require(OrganizationRole::Admin)?;
            let current = m.active_member(o, target)?;
            standing.require(current)?;
            standing.require(role)?;
            if role < current {
                m.keep_an_owner(o, current)?;
            }
            Ok(())
        });
        let result = self.as_actor(actor, || {
            self.h
                .accounts
                .organizations()
                .change_role(&principal, o.id, target_id, role)
        });
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            self.model.orgs[index].members.insert(target, role);
        }
    }

    pub(crate) fn remove_member(&mut self, op: &Op, actor: Actor, org: usize, target: usize) {
        let (Some((index, principal)), Some(target_id)) = (
            self.org_and_principal(actor, org),
            self.model.user(target).map(|user| user.id),
        ) else {
            return;
        };
        let m = &self.model;
        let o = &m.orgs[index];
        let expected = m.standing(actor, o).and_then(|standing| {
            let current = m.active_member(o, target)?;
            if actor != Actor::User(target) {
                standing.require(OrganizationRole::Admin)?;
                standing.require(current)?;
            }
            m.keep_an_owner(o, current)
        });
        let result = self.as_actor(actor, || {
            self.h
                .accounts
                .organizations()
                .remove_member(&principal, o.id, target_id)
        });
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            self.model.orgs[index].members.remove(&target);
        }
    }

    pub(crate) fn transfer_ownership(&mut self, op: &Op, actor: Actor, org: usize, target: usize) {
        let (Some((index, principal)), Some(target_id)) = (
            self.org_and_principal(actor, org),
            self.model.user(target).map(|user| user.id),
        ) else {
            return;
        };
        let m = &self.model;
        let o = &m.orgs[index];
        let expected = m.standing(actor, o).and_then(|standing| {
            standing.require(OrganizationRole::Owner)?;
            m.active_member(o, target).map(drop)
        });
        let result = self.as_actor(actor, || {
            self.h
                .accounts
                .organizations()
                .transfer_ownership(&principal, o.id, target_id)
        });
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            let members = &mut self.model.orgs[index].members;
            members.insert(target, OrganizationRole::Owner);
            if let Actor::User(me) = actor {
                if me != target {
                    if let Some(role) = members
                        .get_mut(&me)
                        .filter(|role| **role == OrganizationRole::Owner)
                    {
                        *role = OrganizationRole::Admin;
                    }
                }
            }
        }
    }

    pub(crate) fn set_org_active(&mut self, op: &Op, actor: Actor, org: usize, active: bool) {
        let Some((index, principal)) = self.org_and_principal(actor, org) else {
            return;
        };
        let m = &self.model;
        let o = &m.orgs[index];
        let expected = m.standing(actor, o).and_then(|standing| {
            if active && standing != Standing::SuperAdmin {
                return Err("forbidden");
            }
            standing.require(OrganizationRole::Owner)
        });
        let result = self.as_actor(actor, || {
            let orgs = self.h.accounts.organizations();
            if active {
                orgs.restore(&principal, o.id)
            } else {
                orgs.deactivate(&principal, o.id)
            }
        });
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            self.model.orgs[index].active = active;
        }
    }

    /// Invariants of organizations, checked after every step:
    /// - members (active users) and roles are as modelled;
    /// - an active organization keeps an active owner, unless a super
    ///   admin deactivated the last one's account;
    /// - outsiders (and members of a deactivated one) see nothing of it.
    pub(crate) fn check_organizations(&self) {
        let accounts = &self.h.accounts;
        let step = self.step;
        let system = Principal::system();
        for org in &self.model.orgs {
            let members = accounts
                .organizations()
                .members(&system, org.id, PageRequest::new(1, 100))
                .unwrap_or_else(|e| panic!("step {step}: members: {e}"));
            let mut listed: Vec<(UserId, OrganizationRole)> = members
                .data
                .iter()
                .map(|member| (member.user_id, member.role))
                .collect();
            listed.sort();
            let mut expected: Vec<(UserId, OrganizationRole)> = org
                .members
                .iter()
                .filter(|(index, _)| self.model.user_active(**index))
                .map(|(index, role)| (self.model.user(*index).unwrap().id, *role))
                .collect();
            expected.sort();
            assert_eq!(listed, expected, "step {step}: members of {:?}", org.id);

            let owner_deactivated = org.members.iter().any(|(index, role)| {
                *role == OrganizationRole::Owner && !self.model.user_active(*index)
            });
            assert!(
                self.model.active_owners(org) >= 1 || owner_deactivated,
                "step {step}: {:?} has no owner",
                org.id
            );

            for (index, user) in self.model.users.iter().enumerate() {
                let Some(user) = user.as_ref().filter(|user| user.active) else {
                    continue;
                };
                let member = org.members.contains_key(&index) && org.active;
                let seen = accounts.organizations().get(&user.principal, org.id);
                assert_eq!(
                    seen.is_ok(),
                    member,
                    "step {step}: user{index} and {:?}: {seen:?}",
                    org.id
                );
            }
        }
    }
}
