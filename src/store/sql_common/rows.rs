//! Result rows to records, in the column order of the lists in
//! `columns.rs`. A backend decodes single columns ([`Columns`]); which
//! column holds which field is written here once.

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{
    AuthMethod, Contact, ContactId, ContactKind, CountryCode, Email, EventId, EventKind, Job,
    JobId, Location, LocationId, Profile, ProfileId, SecurityEvent, Session, SessionId,
    TokenPurpose, User, UserId, Username,
};
use crate::store::{
    DeviceTokenRow, OneTimeTokenRow, ParentProfile, PasswordHash, RefreshTokenRow, UserRow,
    UserStanding,
};

/// One result row, decoded column by column with the backend's storage
/// conventions. `Error` is what the backend's row mapping fails with.
pub(in crate::store) trait Columns {
    /// What decoding fails with.
    type Error;

    /// An id column.
    fn id(&self, index: usize) -> Result<uuid::Uuid, Self::Error>;
    /// A nullable id column.
    fn opt_id(&self, index: usize) -> Result<Option<uuid::Uuid>, Self::Error>;
    /// A text column.
    fn text(&self, index: usize) -> Result<String, Self::Error>;
    /// A nullable text column.
    fn opt_text(&self, index: usize) -> Result<Option<String>, Self::Error>;
    /// A boolean column.
    fn boolean(&self, index: usize) -> Result<bool, Self::Error>;
    /// A non-negative integer column.
    fn count(&self, index: usize) -> Result<u32, Self::Error>;
    /// A time column.
    fn time(&self, index: usize) -> Result<DateTime<Utc>, Self::Error>;
    /// A nullable time column.
    fn opt_time(&self, index: usize) -> Result<Option<DateTime<Utc>>, Self::Error>;
    /// A nullable date column.
    fn opt_date(&self, index: usize) -> Result<Option<NaiveDate>, Self::Error>;
    /// A column of bytes.
    fn bytes(&self, index: usize) -> Result<Vec<u8>, Self::Error>;
    /// A column of exactly 32 bytes (a SHA-256 digest).
    fn digest(&self, index: usize) -> Result<[u8; 32], Self::Error>;
    /// A nullable column of exactly 32 bytes.
    fn opt_digest(&self, index: usize) -> Result<Option<[u8; 32]>, Self::Error>;
    /// A nullable 64-bit integer column.
    fn opt_int(&self, index: usize) -> Result<Option<i64>, Self::Error>;
    /// The error for a value in column `index` that is not a valid `what`.
    fn corrupt(&self, index: usize, what: &str) -> Self::Error;
}

/// The rows a mapping reads from: any backend's, by dynamic dispatch, so a
/// mapping is a plain `fn` pointer.
pub(in crate::store) type Row<'r, E> = dyn Columns<Error = E> + 'r;

/// The columns of a wider row from `at` on, as a row of their own: how a
/// mapping reads a record whose columns follow those of another in one
/// result row (a joined or padded statement).
pub(in crate::store) struct Shifted<'a, 'r, E> {
    row: &'a Row<'r, E>,
    at: usize,
}

impl<'a, 'r, E> Shifted<'a, 'r, E> {
    /// The columns of `row` from `at` on.
    pub(in crate::store) fn new(row: &'a Row<'r, E>, at: usize) -> Self {
        Shifted { row, at }
    }
}

impl<E> Columns for Shifted<'_, '_, E> {
    type Error = E;

    fn id(&self, index: usize) -> Result<uuid::Uuid, E> {
        self.row.id(self.at + index)
    }
    fn opt_id(&self, index: usize) -> Result<Option<uuid::Uuid>, E> {
        self.row.opt_id(self.at + index)
    }
    fn text(&self, index: usize) -> Result<String, E> {
        self.row.text(self.at + index)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>, E> {
        self.row.opt_text(self.at + index)
    }
    fn boolean(&self, index: usize) -> Result<bool, E> {
        self.row.boolean(self.at + index)
    }
    fn count(&self, index: usize) -> Result<u32, E> {
        self.row.count(self.at + index)
    }
    fn time(&self, index: usize) -> Result<DateTime<Utc>, E> {
        self.row.time(self.at + index)
    }
    fn opt_time(&self, index: usize) -> Result<Option<DateTime<Utc>>, E> {
        self.row.opt_time(self.at + index)
    }
    fn opt_date(&self, index: usize) -> Result<Option<NaiveDate>, E> {
        self.row.opt_date(self.at + index)
    }
    fn bytes(&self, index: usize) -> Result<Vec<u8>, E> {
        self.row.bytes(self.at + index)
    }
    fn digest(&self, index: usize) -> Result<[u8; 32], E> {
        self.row.digest(self.at + index)
    }
    fn opt_digest(&self, index: usize) -> Result<Option<[u8; 32]>, E> {
        self.row.opt_digest(self.at + index)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>, E> {
        self.row.opt_int(self.at + index)
    }
    fn corrupt(&self, index: usize, what: &str) -> E {
        self.row.corrupt(self.at + index, what)
    }
}

/// A user row (`user_columns!`).
pub(in crate::store) fn user<E>(row: &Row<'_, E>) -> Result<UserRow, E> {
    Ok(UserRow {
        user: User {
            id: UserId::from_uuid(row.id(0)?),
            username: Username::from_trusted(row.text(1)?),
            email: Email::from_trusted(row.text(2)?),
            is_active: row.boolean(4)?,
            is_super_admin: row.boolean(5)?,
            created_at: row.time(9)?,
            updated_at: row.time(10)?,
            last_login_at: row.opt_time(11)?,
            deactivated_at: row.opt_time(12)?,
            email_verified_at: row.opt_time(13)?,
        },
        password_hash: PasswordHash::new(row.text(3)?),
        failed_logins: row.count(6)?,
        locked_until: row.opt_time(7)?,
        tokens_valid_after: row.time(8)?,
    })
}

/// The public part of a user row.
pub(in crate::store) fn public_user<E>(row: &Row<'_, E>) -> Result<User, E> {
    user(row).map(|row| row.user)
}

/// A profile (`profile_columns!`).
pub(in crate::store) fn profile<E>(row: &Row<'_, E>) -> Result<Profile, E> {
    Ok(Profile {
        id: ProfileId::from_uuid(row.id(0)?),
        user_id: UserId::from_uuid(row.id(1)?),
        first_name: row.text(2)?,
        last_name: row.text(3)?,
        date_of_birth: row.opt_date(4)?,
        gender: row.opt_text(5)?,
        location_id: row.opt_id(6)?.map(LocationId::from_uuid),
        bio: row.opt_text(7)?,
        profile_picture_url: row.opt_text(8)?,
        is_public: row.boolean(9)?,
        allow_contact: row.boolean(10)?,
        is_active: row.boolean(11)?,
        created_at: row.time(12)?,
        updated_at: row.time(13)?,
        deactivated_at: row.opt_time(14)?,
    })
}

/// A location (`location_columns!`).
pub(in crate::store) fn location<E>(row: &Row<'_, E>) -> Result<Location, E> {
    location_at(row, 0)
}

/// A location whose columns start at `at` (after a joined profile's).
pub(in crate::store) fn location_at<E>(row: &Row<'_, E>, at: usize) -> Result<Location, E> {
    let country = row.text(at + 2)?;
    Ok(Location {
        id: LocationId::from_uuid(row.id(at)?),
        user_id: UserId::from_uuid(row.id(at + 1)?),
        country: CountryCode::parse(&country).map_err(|_| row.corrupt(at + 2, "country"))?,
        state_province: row.opt_text(at + 3)?,
        city: row.opt_text(at + 4)?,
        postal_code: row.opt_text(at + 5)?,
        is_active: row.boolean(at + 6)?,
        created_at: row.time(at + 7)?,
        updated_at: row.time(at + 8)?,
        deactivated_at: row.opt_time(at + 9)?,
    })
}

/// A contact (`contact_columns!`).
pub(in crate::store) fn contact<E>(row: &Row<'_, E>) -> Result<Contact, E> {
    let kind = row.text(2)?;
    Ok(Contact {
        id: ContactId::from_uuid(row.id(0)?),
        profile_id: ProfileId::from_uuid(row.id(1)?),
        kind: kind
            .parse::<ContactKind>()
            .map_err(|_| row.corrupt(2, "contact kind"))?,
        value: row.text(3)?,
        is_primary: row.boolean(4)?,
        is_active: row.boolean(5)?,
        created_at: row.time(6)?,
        updated_at: row.time(7)?,
        deactivated_at: row.opt_time(8)?,
    })
}

/// A user's standing (`GET_USER_STANDING`).
pub(in crate::store) fn user_standing<E>(row: &Row<'_, E>) -> Result<UserStanding, E> {
    Ok(UserStanding {
        is_active: row.boolean(0)?,
        is_super_admin: row.boolean(1)?,
    })
}

/// The profile's user and activity in columns `at` and `at + 1`.
fn parent<E>(row: &Row<'_, E>, at: usize) -> Result<ParentProfile, E> {
    Ok(ParentProfile {
        user_id: UserId::from_uuid(row.id(at)?),
        is_active: row.boolean(at + 1)?,
    })
}

/// A contact and its parent profile (`GET_CONTACT_WITH_PARENT`).
pub(in crate::store) fn contact_with_parent<E>(
    row: &Row<'_, E>,
) -> Result<(Contact, ParentProfile), E> {
    Ok((contact(row)?, parent(row, super::CONTACT_COLUMN_COUNT)?))
}

/// A job and its parent profile (`GET_JOB_WITH_PARENT`).
pub(in crate::store) fn job_with_parent<E>(row: &Row<'_, E>) -> Result<(Job, ParentProfile), E> {
    Ok((job(row)?, parent(row, super::JOB_COLUMN_COUNT)?))
}

/// A job (`job_columns!`).
pub(in crate::store) fn job<E>(row: &Row<'_, E>) -> Result<Job, E> {
    Ok(Job {
        id: JobId::from_uuid(row.id(0)?),
        profile_id: ProfileId::from_uuid(row.id(1)?),
        title: row.text(2)?,
        company: row.text(3)?,
        industry: row.opt_text(4)?,
        start_date: row.opt_date(5)?,
        end_date: row.opt_date(6)?,
        is_active: row.boolean(7)?,
        created_at: row.time(8)?,
        updated_at: row.time(9)?,
        deactivated_at: row.opt_time(10)?,
    })
}

/// A session (`session_columns!`).
pub(in crate::store) fn session<E>(row: &Row<'_, E>) -> Result<Session, E> {
    let amr = row.text(6)?;
    Ok(Session {
        id: SessionId::from_uuid(row.id(0)?),
        user_id: UserId::from_uuid(row.id(1)?),
        created_at: row.time(2)?,
        last_used_at: row.time(3)?,
        expires_at: row.time(4)?,
        revoked_at: row.opt_time(5)?,
        amr: amr
            .split_ascii_whitespace()
            .map(|name| AuthMethod::from_name(name).ok_or_else(|| row.corrupt(6, "amr")))
            .collect::<Result<_, E>>()?,
    })
}

/// A session's authentication methods as stored: RFC 8176 names,
/// space-separated.
/// A row of `GET_USER_WITH_SESSION`: the user, then the session's columns
/// (NULL without one).
pub(in crate::store) fn user_with_session<E>(
    row: &Row<'_, E>,
) -> Result<(UserRow, Option<Session>), E> {
    let user = user(row)?;
    let session = match row.opt_id(super::USER_COLUMN_COUNT)? {
        None => None,
        Some(_) => Some(session(&Shifted::new(row, super::USER_COLUMN_COUNT))?),
    };
    Ok((user, session))
}

pub(in crate::store) fn amr_text(amr: &[AuthMethod]) -> String {
    amr.iter()
        .map(AuthMethod::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A refresh token (`refresh_token_columns!`).
pub(in crate::store) fn refresh_token<E>(row: &Row<'_, E>) -> Result<RefreshTokenRow, E> {
    Ok(RefreshTokenRow {
        hash: row.digest(0)?,
        session_id: SessionId::from_uuid(row.id(1)?),
        user_id: UserId::from_uuid(row.id(2)?),
        issued_at: row.time(3)?,
        expires_at: row.time(4)?,
        used_at: row.opt_time(5)?,
    })
}

/// A device token (`device_token_columns!`).
pub(in crate::store) fn device_token<E>(row: &Row<'_, E>) -> Result<DeviceTokenRow, E> {
    Ok(DeviceTokenRow {
        hash: row.digest(0)?,
        user_id: UserId::from_uuid(row.id(1)?),
        created_at: row.time(2)?,
        last_used_at: row.time(3)?,
        expires_at: row.time(4)?,
        failed_logins: row.count(5)?,
        locked_until: row.opt_time(6)?,
    })
}

/// A one-time token (`one_time_token_columns!`).
pub(in crate::store) fn one_time_token<E>(row: &Row<'_, E>) -> Result<OneTimeTokenRow, E> {
    let purpose = row.text(1)?;
    Ok(OneTimeTokenRow {
        hash: row.digest(0)?,
        purpose: TokenPurpose::from_name(&purpose)
            .ok_or_else(|| row.corrupt(1, "token purpose"))?,
        user_id: UserId::from_uuid(row.id(2)?),
        target: row.opt_text(3)?,
        created_at: row.time(4)?,
        expires_at: row.time(5)?,
        used_at: row.opt_time(6)?,
    })
}

/// A security event (`event_columns!`).
pub(in crate::store) fn event<E>(row: &Row<'_, E>) -> Result<SecurityEvent, E> {
    let kind = row.text(1)?;
    Ok(SecurityEvent {
        id: EventId::from_uuid(row.id(0)?),
        kind: EventKind::from_name(&kind).ok_or_else(|| row.corrupt(1, "event kind"))?,
        user_id: row.opt_id(2)?.map(UserId::from_uuid),
        actor_id: row.opt_id(3)?.map(UserId::from_uuid),
        session_id: row.opt_id(4)?.map(SessionId::from_uuid),
        occurred_at: row.time(5)?,
    })
}

/// A setting's value (`SELECT value FROM settings`).
pub(in crate::store) fn setting_value<E>(row: &Row<'_, E>) -> Result<Vec<u8>, E> {
    row.bytes(0)
}
