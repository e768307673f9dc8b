//! Jobs: positions held, current when there is no end date.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{self, ValidationErrors};
use super::{JobId, Patch, ProfileId};

/// A position held by a profile's owner.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// The profile it belongs to.
    pub profile_id: ProfileId,
    /// The job title.
    pub title: String,
    /// The company.
    pub company: String,
    /// The industry.
    pub industry: Option<String>,
    /// When it started.
    #[serde(serialize_with = "super::time::opt_date")]
    pub start_date: Option<NaiveDate>,
    /// When it ended; `None` means it is the current job.
    #[serde(serialize_with = "super::time::opt_date")]
    pub end_date: Option<NaiveDate>,
    /// `false` once deactivated.
    pub is_active: bool,
    /// When it was created.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(serialize_with = "super::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// When it was deactivated, if it is.
    #[serde(serialize_with = "super::time::opt_rfc3339")]
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Whether this is a current job (no end date).
    pub fn is_current(&self) -> bool {
        self.end_date.is_none()
    }

    /// The order of a profile's jobs: current first, then the latest start
    /// (none last), then newest.
    pub(crate) fn list_order(a: &Job, b: &Job) -> std::cmp::Ordering {
        (b.is_current(), b.start_date, b.created_at, b.id).cmp(&(
            a.is_current(),
            a.start_date,
            a.created_at,
            a.id,
        ))
    }
}

/// A new job.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    /// The job title (required, up to 100 characters).
    pub title: String,
    /// The company (required, up to 100 characters).
    pub company: String,
    /// The industry (up to 100 characters).
    #[serde(default)]
    pub industry: Option<String>,
    /// When it started.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// When it ended (not before the start); none for a current job.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
}

fn check_job(
    title: &str,
    company: &str,
    industry: Option<&str>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    errors.check("title", validate::name(title, 100));
    errors.check("company", validate::name(company, 100));
    if let Some(industry) = industry {
        errors.check("industry", validate::name(industry, 100));
    }
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            errors.add("end_date", "out_of_range", "must not be before start_date");
        }
    }
    errors.into_result()
}

impl NewJob {
    /// Validates every field, reporting all failures at once.
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        check_job(
            &self.title,
            &self.company,
            self.industry.as_deref(),
            self.start_date,
            self.end_date,
        )
    }
}

/// Changes to a job.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPatch {
    /// A new title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// A new industry, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub industry: Patch<String>,
    /// A new start date, or `Clear`.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<NaiveDate>))]
    pub start_date: Patch<NaiveDate>,
    /// A new end date, or `Clear` to make it the current job.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "http", schema(value_type = Option<NaiveDate>))]
    pub end_date: Patch<NaiveDate>,
}

impl JobPatch {
    /// Applies the patch, validating the resulting job as a whole (so an end
    /// date before the kept start date is caught).
    ///
    /// # Errors
    ///
    /// A [`ValidationErrors`] naming each invalid field; the job is left as
    /// it was.
    pub fn apply_to(&self, job: &mut Job) -> Result<(), ValidationErrors> {
        let title = self.title.clone().unwrap_or_else(|| job.title.clone());
        let company = self.company.clone().unwrap_or_else(|| job.company.clone());
        let industry = self.industry.clone().apply(job.industry.clone());
        let start_date = self.start_date.clone().apply(job.start_date);
        let end_date = self.end_date.clone().apply(job.end_date);
        check_job(&title, &company, industry.as_deref(), start_date, end_date)?;
        job.title = title;
        job.company = company;
        job.industry = industry;
        job.start_date = start_date;
        job.end_date = end_date;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn title_and_company_are_required() {
        let errors = NewJob::default().validate().unwrap_err();
        assert!(errors.has("title") && errors.has("company"));
    }

    #[test]
    fn end_date_must_not_precede_start_date() {
        let job = NewJob {
            title: "Engineer".into(),
            company: "Analytical Engines".into(),
            start_date: Some(date(2020, 5, 1)),
            end_date: Some(date(2020, 4, 30)),
            ..NewJob::default()
        };
        assert!(job.validate().unwrap_err().has("end_date"));
        let same_day = NewJob {
            end_date: Some(date(2020, 5, 1)),
            ..job
        };
        assert!(same_day.validate().is_ok());
    }
}
