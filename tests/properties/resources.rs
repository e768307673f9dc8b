//! The steps on users, profiles, contacts and jobs, and waiting.

use std::collections::BTreeSet;

use aai_accounts::{NewContact, NewProfile, ProfileId, ProfilePatch, ProfileQuery};
use chrono::Duration;

use crate::invariants::all_pages;
use crate::model::{
    check_write, contact_value, job, model_contact, outcome, require_admin, unprimary, MProfile,
    Resolved,
};
use crate::operations::{Actor, Op};
use crate::runner::Run;
use crate::KINDS;

impl Run<'_> {
    pub(crate) fn deactivate_user(&mut self, op: &Op, actor: Actor, target: usize) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let (Some(principal), Some(target_user)) =
            (self.model.principal(actor), self.model.user(target))
        else {
            return;
        };
        let target_id = target_user.id;
        let expected = self
            .model
            .resolve(actor)
            .and_then(|resolved| check_write(resolved, target_id, target_user.active))
            .and_then(|()| {
                // Oneself, as the last active owner of an organization.
                let oneself = actor == Actor::User(target) && target_user.active;
                if oneself && self.model.is_last_owner(target) {
                    Err("conflict")
                } else {
                    Ok(())
                }
            });
        let was_active = target_user.active;
        let result = self.as_actor(actor, || accounts.users().deactivate(&principal, target_id));
        self.check(op, expected, outcome(&result));
        if result.is_ok() && was_active {
            let model = self.model.users[target].as_mut().unwrap();
            model.active = false;
            model.deactivated_at = Some(now);
            model.forget_device();
            model.forget_one_time_tokens();
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

    pub(crate) fn restore_user(&mut self, op: &Op, actor: Actor, target: usize) {
        let accounts = &self.h.accounts;
        let (Some(principal), Some(target_user)) =
            (self.model.principal(actor), self.model.user(target))
        else {
            return;
        };
        let (target_id, was_active, deactivated_at) = (
            target_user.id,
            target_user.active,
            target_user.deactivated_at,
        );
        let expected = self.model.resolve(actor).and_then(require_admin);
        let result = self.as_actor(actor, || accounts.users().restore(&principal, target_id));
        self.check(op, expected, outcome(&result));
        if result.is_ok() && !was_active {
            if let Some(index) = self.model.profile_of(target_id) {
                let profile = &mut self.model.profiles[index];
                if !profile.active && profile.deactivated_at == deactivated_at {
                    profile.active = true;
                    profile.deactivated_at = None;
                }
            }
            let model = self.model.users[target].as_mut().unwrap();
            model.active = true;
            model.deactivated_at = None;
        }
    }

    pub(crate) fn create_profile(
        &mut self,
        op: &Op,
        actor: Actor,
        target: usize,
        public: bool,
        allow_contact: bool,
        contacts: &[(usize, bool)],
    ) {
        let accounts = &self.h.accounts;
        let (Some(principal), Some(owner)) = (self.model.principal(actor), self.model.user(target))
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
                .resolve(actor)
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
            is_public: public,
            allow_contact,
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
        let result = self.as_actor(actor, || accounts.profiles().create(&principal, new));
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
                public,
                allow_contact,
                contacts: details.contacts.iter().map(model_contact).collect(),
                jobs: details.jobs.iter().map(|job| (job.id, true)).collect(),
            });
        }
    }

    pub(crate) fn update_profile(
        &mut self,
        op: &Op,
        actor: Actor,
        target: usize,
        public: Option<bool>,
        allow_contact: Option<bool>,
    ) {
        let accounts = &self.h.accounts;
        let Some((principal, index)) = self.target_profile(actor, target) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let expected = self
            .model
            .resolve(actor)
            .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
        let patch = ProfilePatch {
            is_public: public,
            allow_contact,
            first_name: Some(format!("Step{}", self.step)),
            ..ProfilePatch::default()
        };
        let id = profile.id;
        let result = self.as_actor(actor, || accounts.profiles().update(&principal, id, patch));
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            let profile = &mut self.model.profiles[index];
            profile.public = public.unwrap_or(profile.public);
            profile.allow_contact = allow_contact.unwrap_or(profile.allow_contact);
        }
    }

    pub(crate) fn deactivate_profile(&mut self, op: &Op, actor: Actor, target: usize) {
        let now = self.now();
        let accounts = &self.h.accounts;
        let Some((principal, index)) = self.target_profile(actor, target) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let expected = self
            .model
            .resolve(actor)
            .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
        let id = profile.id;
        let result = self.as_actor(actor, || accounts.profiles().deactivate(&principal, id));
        self.check(op, expected, outcome(&result));
        let profile = &mut self.model.profiles[index];
        if result.is_ok() && profile.active {
            profile.active = false;
            profile.deactivated_at = Some(now);
        }
    }

    pub(crate) fn restore_profile(&mut self, op: &Op, actor: Actor, target: usize) {
        let accounts = &self.h.accounts;
        let Some((principal, index)) = self.target_profile(actor, target) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let expected = self
            .model
            .resolve(actor)
            .and_then(require_admin)
            .and_then(|()| {
                let owner_active = self
                    .model
                    .user_by_id(profile.owner)
                    .is_some_and(|owner| owner.active);
                if !profile.active
                    && (!owner_active || self.model.has_active_profile(profile.owner))
                {
                    Err("conflict")
                } else {
                    Ok(())
                }
            });
        let id = profile.id;
        let result = self.as_actor(actor, || accounts.profiles().restore(&principal, id));
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            let profile = &mut self.model.profiles[index];
            profile.active = true;
            profile.deactivated_at = None;
        }
    }

    pub(crate) fn add_contact(
        &mut self,
        op: &Op,
        actor: Actor,
        target: usize,
        kind: usize,
        primary: bool,
    ) {
        let accounts = &self.h.accounts;
        let Some((principal, index)) = self.target_profile(actor, target) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let expected = self
            .model
            .resolve(actor)
            .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
        let kind = KINDS[kind];
        let new = NewContact {
            kind,
            value: contact_value(kind, self.step),
            is_primary: primary,
        };
        let id = profile.id;
        let result = self.as_actor(actor, || accounts.contacts().add(&principal, id, new));
        self.check(op, expected, outcome(&result));
        if let Ok(contact) = result {
            let profile = &mut self.model.profiles[index];
            if primary {
                unprimary(profile, kind);
            }
            profile.contacts.push(model_contact(&contact));
        }
    }

    pub(crate) fn set_primary(&mut self, op: &Op, actor: Actor, target: usize, contact: usize) {
        let accounts = &self.h.accounts;
        let Some((principal, index, position)) = self.target_contact(actor, target, contact) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let contact = profile.contacts[position].clone();
        let expected = self
            .model
            .resolve(actor)
            .and_then(|resolved| {
                check_write(resolved, profile.owner, profile.active && contact.active)
            })
            .and(if contact.active {
                Ok(())
            } else {
                Err("not_found")
            });
        let result = self.as_actor(actor, || {
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

    pub(crate) fn deactivate_contact(
        &mut self,
        op: &Op,
        actor: Actor,
        target: usize,
        contact: usize,
    ) {
        let accounts = &self.h.accounts;
        let Some((principal, index, position)) = self.target_contact(actor, target, contact) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let contact = &profile.contacts[position];
        let expected = self.model.resolve(actor).and_then(|resolved| {
            check_write(resolved, profile.owner, profile.active && contact.active)
        });
        let id = contact.id;
        let result = self.as_actor(actor, || accounts.contacts().deactivate(&principal, id));
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            let contact = &mut self.model.profiles[index].contacts[position];
            if contact.active {
                contact.active = false;
                contact.primary = false;
            }
        }
    }

    pub(crate) fn add_job(&mut self, op: &Op, actor: Actor, target: usize) {
        let accounts = &self.h.accounts;
        let Some((principal, index)) = self.target_profile(actor, target) else {
            return;
        };
        let profile = &self.model.profiles[index];
        let expected = self
            .model
            .resolve(actor)
            .and_then(|resolved| check_write(resolved, profile.owner, profile.active));
        let id = profile.id;
        let result = self.as_actor(actor, || accounts.jobs().add(&principal, id, job()));
        self.check(op, expected, outcome(&result));
        if let Ok(job) = result {
            self.model.profiles[index].jobs.push((job.id, true));
        }
    }

    pub(crate) fn deactivate_job(&mut self, op: &Op, actor: Actor, target: usize, job: usize) {
        let accounts = &self.h.accounts;
        let Some((principal, index)) = self.target_profile(actor, target) else {
            return;
        };
        let profile = &self.model.profiles[index];
        if profile.jobs.is_empty() {
            return;
        }
        let position = job % profile.jobs.len();
        let (id, job_active) = profile.jobs[position];
        let expected = self.model.resolve(actor).and_then(|resolved| {
            check_write(resolved, profile.owner, profile.active && job_active)
        });
        let result = self.as_actor(actor, || accounts.jobs().deactivate(&principal, id));
        self.check(op, expected, outcome(&result));
        if result.is_ok() {
            self.model.profiles[index].jobs[position].1 = false;
        }
    }

    pub(crate) fn search(&mut self, op: &Op, actor: Actor, size: u32, public_only: bool) {
        let accounts = &self.h.accounts;
        let Some(principal) = self.model.principal(actor) else {
            return;
        };
        let resolved = self.model.resolve(actor);
        let query = ProfileQuery {
            is_public: public_only.then_some(true),
            ..ProfileQuery::default()
        };
        let pages = all_pages(size, |page| {
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

    pub(crate) fn wait(&mut self, minutes: i64) {
        self.h.clock.advance(Duration::minutes(minutes));
    }
}
