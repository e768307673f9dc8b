//! `accounts.jobs()`: a profile's jobs.

use super::profiles::{readable_profile, reserve_child, writable_profile};
use super::Accounts;
use crate::auth::policy::{Actor, Principal};
use crate::error::{Error, Result};
use crate::model::{ActiveFilter, Job, JobId, JobPatch, NewJob, ProfileId, SoftDelete};
use crate::store::Tx;

/// Jobs, reached through [`Accounts::jobs`].
#[derive(Debug, Clone, Copy)]
pub struct Jobs<'a> {
    accounts: &'a Accounts,
}

/// A job the actor may change (through its profile), or `NotFound` /
/// `Forbidden`.
fn writable_job(tx: &mut dyn Tx, actor: &Actor, id: JobId) -> Result<Job> {
    let (job, profile) = tx.get_job_with_parent(id)?.ok_or(Error::not_found("job"))?;
    actor.check_write("job", profile.user_id, profile.is_active && job.is_active)?;
    Ok(job)
}

impl<'a> Jobs<'a> {
    pub(crate) fn new(accounts: &'a Accounts) -> Self {
        Jobs { accounts }
    }

    /// Adds a job to a profile. The profile's `updated_at` moves too.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field, or `jobs` when the
    /// profile already has as many active jobs as allowed (see
    /// [`AccountsBuilder::max_jobs_per_profile`](crate::AccountsBuilder::max_jobs_per_profile));
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write to the
    /// profile.
    pub fn add(&self, principal: &Principal, profile_id: ProfileId, new: NewJob) -> Result<Job> {
        new.validate()?;
        self.accounts
            .write_as("jobs.add", principal, |tx, actor, now| {
                let profile = writable_profile(tx, &actor, profile_id)?;
                let active = tx.list_jobs(profile_id, ActiveFilter::Active)?.len();
                let max = self.accounts.limits().jobs;
                reserve_child(tx, profile, "jobs", active, max, now)?;
                let job = Job {
                    id: JobId::new(),
                    profile_id,
                    title: new.title.clone(),
                    company: new.company.clone(),
                    industry: new.industry.clone(),
                    start_date: new.start_date,
                    end_date: new.end_date,
                    is_active: true,
                    created_at: now,
                    updated_at: now,
                    deactivated_at: None,
                };
                tx.insert_job(&job)?;
                Ok(job)
            })
    }

    /// A job of a profile the actor may read.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it does not exist or the actor may not see
    /// it.
    pub fn get(&self, principal: &Principal, id: JobId) -> Result<Job> {
        self.accounts
            .read_as("jobs.get", principal, |tx, actor, _| {
                let job = tx.get_job(id)?.ok_or(Error::not_found("job"))?;
                readable_profile(tx, &actor, job.profile_id)
                    .map_err(|_| Error::not_found("job"))?;
                if job.is_active || actor.is_admin() {
                    Ok(job)
                } else {
                    Err(Error::not_found("job"))
                }
            })
    }

    /// A profile's jobs, current and most recent first; only admins may ask
    /// for inactive ones.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the actor may not see the profile;
    /// [`Error::Forbidden`] when a non-admin asks for inactive jobs.
    pub fn list(
        &self,
        principal: &Principal,
        profile_id: ProfileId,
        active: ActiveFilter,
    ) -> Result<Vec<Job>> {
        self.accounts
            .read_as("jobs.list", principal, |tx, actor, _| {
                actor.check_active_filter(active)?;
                readable_profile(tx, &actor, profile_id)?;
                tx.list_jobs(profile_id, active)
            })
    }

    /// Changes a job; the result is validated as a whole (an end date
    /// before the kept start date is refused).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] naming each invalid field;
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn update(&self, principal: &Principal, id: JobId, patch: JobPatch) -> Result<Job> {
        self.accounts
            .write_as("jobs.update", principal, |tx, actor, now| {
                let mut job = writable_job(tx, &actor, id)?;
                patch.apply_to(&mut job)?;
                job.updated_at = now;
                tx.update_job(&job)?;
                Ok(job)
            })
    }

    /// Deactivates (soft-deletes) a job.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] / [`Error::Forbidden`] as for every write.
    pub fn deactivate(&self, principal: &Principal, id: JobId) -> Result<Job> {
        self.accounts
            .write_as("jobs.deactivate", principal, |tx, actor, now| {
                let mut job = writable_job(tx, &actor, id)?;
                if job.set_active(false, now) {
                    tx.update_job(&job)?;
                }
                Ok(job)
            })
    }

    /// Restores a deactivated job (super admins only).
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for non-admins; [`Error::NotFound`];
    /// [`Error::Validation`] naming `jobs` when its profile already has as
    /// many active jobs as allowed.
    pub fn restore(&self, principal: &Principal, id: JobId) -> Result<Job> {
        self.accounts
            .write_as("jobs.restore", principal, |tx, actor, now| {
                actor.require_admin()?;
                let mut job = tx.get_job(id)?.ok_or(Error::not_found("job"))?;
                if !job.is_active {
                    let profile = tx
                        .get_profile(job.profile_id)?
                        .ok_or(Error::not_found("job"))?;
                    let active = tx.list_jobs(job.profile_id, ActiveFilter::Active)?.len();
                    let max = self.accounts.limits().jobs;
                    reserve_child(tx, profile, "jobs", active, max, now)?;
                }
                if job.set_active(true, now) {
                    tx.update_job(&job)?;
                }
                Ok(job)
            })
    }
}
