//! Plain data: ids, records, inputs, patches, queries, pages and the
//! validation of every input field.

mod contact;
mod id;
mod job;
mod location;
mod organization;
mod page;
mod patch;
mod profile;
mod second_factor;
mod session;
pub(crate) mod time;
mod token;
mod user;
pub(crate) mod validate;

use serde::{Deserialize, Serialize};

pub use contact::{Contact, ContactKind, ContactPatch, NewContact};
pub use id::{
    ContactId, EventId, InvitationId, JobId, LocationId, OrganizationId, ProfileId, SessionId,
    UserId,
};
pub use job::{Job, JobPatch, NewJob};
pub(crate) use location::LocationFields;
pub use location::{CountryCode, Location, LocationPatch, LocationQuery, NewLocation};
pub use organization::{
    Invitation, InvitationToken, Member, Membership, NewOrganization, Organization,
    OrganizationPatch, OrganizationQuery, OrganizationRole,
};
pub use page::{Page, PageRequest};
pub use patch::Patch;
pub use profile::{NewProfile, Profile, ProfileDetails, ProfilePatch, ProfileQuery};
pub use second_factor::{RecoveryCodes, SecondFactorChallenge, TotpEnrolment};
pub use session::{AuthMethod, EventKind, EventQuery, SecurityEvent, Session};
pub use token::{EmailChange, OneTimeToken, TokenPurpose, UserExport};
pub use user::{
    Credentials, Email, ImportUser, NewUser, Password, User, UserPatch, UserQuery, Username,
};
pub use validate::{FieldError, ValidationErrors};

/// Which rows a list returns by their soft-delete state. Only super admins
/// may ask for inactive rows.
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActiveFilter {
    /// Active rows only (the default).
    #[default]
    Active,
    /// Deactivated rows only.
    Inactive,
    /// Both.
    All,
}

impl ActiveFilter {
    /// Whether a row with this `is_active` flag passes the filter.
    pub fn admits(self, is_active: bool) -> bool {
        match self {
            ActiveFilter::Active => is_active,
            ActiveFilter::Inactive => !is_active,
            ActiveFilter::All => true,
        }
    }
}

/// The soft-delete columns every record has: `is_active`,
/// `deactivated_at` and `updated_at`.
pub(crate) trait SoftDelete {
    /// Activates or deactivates the record at `now`; returns whether that
    /// changed anything (and so whether it must be written).
    fn set_active(&mut self, active: bool, now: chrono::DateTime<chrono::Utc>) -> bool;
}

macro_rules! soft_delete {
    ($($record:ty),*) => {$(
        impl SoftDelete for $record {
            fn set_active(&mut self, active: bool, now: chrono::DateTime<chrono::Utc>) -> bool {
                if self.is_active == active {
                    return false;
                }
                self.is_active = active;
                self.deactivated_at = (!active).then_some(now);
                self.updated_at = now;
                true
            }
        }
    )*};
}

soft_delete!(User, Profile, Location, Contact, Job);
