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
