//! Jobs: patches validated as a whole.

use aai_accounts::{ActiveFilter, Error, JobPatch, NewJob, Patch};
use chrono::NaiveDate;

use crate::common::each;
use crate::{full_profile, validation_fields};

#[test]
fn job_patches_are_validated_as_a_whole() {
    each(|h| {
        let ada = h.register("ada");
        let created = h
            .accounts
            .profiles()
            .create(&ada.principal, full_profile("Ada", "FR"))
            .unwrap();
        let job = created.jobs[0].clone();
        let patch = JobPatch {
            end_date: Patch::Set(NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            validation_fields(
                h.accounts
                    .jobs()
                    .update(&ada.principal, job.id, patch)
                    .unwrap_err()
            ),
            ["end_date"]
        );
        let patch = JobPatch {
            end_date: Patch::Set(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()),
            title: Some("Lead".into()),
            ..Default::default()
        };
        let updated = h
            .accounts
            .jobs()
            .update(&ada.principal, job.id, patch)
            .unwrap();
        assert!(!updated.is_current());
        assert_eq!(updated.title, "Lead");
        let new_job = NewJob {
            title: "Advisor".into(),
            company: "Royal Society".into(),
            ..Default::default()
        };
        let added = h
            .accounts
            .jobs()
            .add(&ada.principal, created.profile.id, new_job)
            .unwrap();
        let jobs = h
            .accounts
            .jobs()
            .list(&ada.principal, created.profile.id, ActiveFilter::Active)
            .unwrap();
        assert_eq!(jobs[0].id, added.id, "current jobs first");
        h.accounts
            .jobs()
            .deactivate(&ada.principal, added.id)
            .unwrap();
        assert_eq!(
            h.accounts
                .jobs()
                .list(&ada.principal, created.profile.id, ActiveFilter::Active)
                .unwrap()
                .len(),
            2
        );
        assert!(matches!(
            h.accounts
                .jobs()
                .add(&ada.principal, created.profile.id, NewJob::default()),
            Err(Error::Validation(_))
        ));
    });
}

fn job(index: usize) -> NewJob {
    NewJob {
        title: format!("Role {index}"),
        company: "Analytical Engines".into(),
        ..NewJob::default()
    }
}

#[test]
fn a_profile_has_at_most_twenty_active_jobs_by_default() {
    each(|h| {
        let ada = h.register("ada");
        let admin = h.admin("root");
        let mut input = crate::new_profile("Ada");
        input.jobs = (0..21).map(job).collect();
        let too_many = h.accounts.profiles().create(&ada.principal, input.clone());
        assert_eq!(validation_fields(too_many.unwrap_err()), vec!["jobs"]);
        input.jobs.truncate(20);
        let profile_id = h
            .accounts
            .profiles()
            .create(&ada.principal, input)
            .unwrap()
            .profile
            .id;
        let jobs = h.accounts.jobs();
        let refused = jobs.add(&ada.principal, profile_id, job(20));
        assert_eq!(validation_fields(refused.unwrap_err()), vec!["jobs"]);
        let first = jobs
            .list(&ada.principal, profile_id, ActiveFilter::Active)
            .unwrap()[0]
            .clone();
        jobs.deactivate(&ada.principal, first.id).unwrap();
        let added = jobs.add(&ada.principal, profile_id, job(20)).unwrap();
        let refused = jobs.restore(&admin.principal, first.id);
        assert_eq!(validation_fields(refused.unwrap_err()), vec!["jobs"]);
        jobs.deactivate(&ada.principal, added.id).unwrap();
        assert!(jobs.restore(&admin.principal, first.id).unwrap().is_active);
    });
}

#[test]
fn the_limits_are_configurable() {
    for h in crate::common::backends_with(|builder| {
        builder.max_contacts_per_profile(1).max_jobs_per_profile(0)
    }) {
        let ada = h.register("ada");
        let mut input = crate::new_profile("Ada");
        input.contacts = vec![
            aai_accounts::NewContact::new(aai_accounts::ContactKind::Other, "one"),
            aai_accounts::NewContact::new(aai_accounts::ContactKind::Other, "two"),
        ];
        input.jobs = vec![job(0)];
        let refused = h.accounts.profiles().create(&ada.principal, input.clone());
        assert_eq!(
            validation_fields(refused.unwrap_err()),
            vec!["contacts", "jobs"]
        );
        input.contacts.truncate(1);
        input.jobs.clear();
        let profile_id = h
            .accounts
            .profiles()
            .create(&ada.principal, input)
            .unwrap()
            .profile
            .id;
        let refused = h.accounts.jobs().add(&ada.principal, profile_id, job(1));
        assert_eq!(validation_fields(refused.unwrap_err()), vec!["jobs"]);
    }
}
