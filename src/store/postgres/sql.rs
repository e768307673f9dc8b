//! The PostgreSQL backend's SQL: every statement as a constant, the
//! condition fragments of the list queries, and how a column or a bound
//! value is written in the backend's storage conventions (see the module
//! docs).

use chrono::{DateTime, NaiveDate, Utc};
use postgres::types::ToSql;
use postgres::Row;

use super::{Corrupt, MapError};
use crate::error::{Result, StorageError};
use crate::model::{ActiveFilter, Contact, Job, Location, Profile};
use crate::store::sql_common::lists::{FlagConditions, Param, ProfileConditions, UserConditions};
use crate::store::sql_common::organizations::OrganizationConditions;
use crate::store::sql_common::rows::{self, Columns, Shifted};
use crate::store::sql_common::PROFILE_COLUMN_COUNT;

// ---------------------------------------------------------------------------
// Statements (column lists come from `sql_common/columns.rs`).

// The padding of `profile_details!`: as many NULLs as the blocks of
// columns a row does not fill (`profile_columns!` and the location's: 25,
// `contact_columns!`: 9, `job_columns!`: 11), each list but the last
// followed by a comma.
macro_rules! profile_and_location_nulls {
    () => {
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         NULL, NULL, NULL, NULL, NULL, "
    };
}
macro_rules! contact_nulls {
    () => {
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    };
}
macro_rules! job_nulls {
    () => {
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    };
}

/// A read replica's state: whether it is in recovery (not promoted), its
/// replication lag in seconds (0 when it has replayed all it received,
/// else the age of the last replayed transaction; NULL when unknown), and
/// whether replay is paused with received WAL waiting.
/// `pg_is_wal_replay_paused()` fails outside recovery, hence its guard.
pub(super) const REPLICA_LAG: &str = "SELECT pg_is_in_recovery(), \
     (CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
     ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END)::float8, \
     CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() \
     AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn() \
     ELSE false END";

// Served by the unique index on lower(username).
pub(super) const GET_USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE lower(username) = lower($1)"
);
pub(super) const USER_SEARCH: &str =
    "(lower(username) LIKE ? ESCAPE '\\' OR lower(email) LIKE ? ESCAPE '\\')";

pub(super) const INSERT_PROFILE: &str =
    "INSERT INTO profiles (id, user_id, first_name, last_name, \
     date_of_birth, gender, location_id, bio, profile_picture_url, is_public, allow_contact, \
     is_active, created_at, updated_at, deactivated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
pub(super) const UPDATE_PROFILE: &str = "UPDATE profiles SET first_name = $2, last_name = $3, \
     date_of_birth = $4, gender = $5, location_id = $6, bio = $7, profile_picture_url = $8, \
     is_public = $9, allow_contact = $10, is_active = $11, updated_at = $12, \
     deactivated_at = $13 WHERE id = $1";
pub(super) const PROFILE_NAME: &str =
    "(lower(p.first_name) LIKE ? ESCAPE '\\' OR lower(p.last_name) LIKE ? ESCAPE '\\')";
// `country` and `city` are the profile's copies of its location's, NULL
// while it is inactive (kept by triggers, see V9).
pub(super) const PROFILE_COUNTRY: &str = "p.country = ?";
pub(super) const PROFILE_CITY: &str = "lower(p.city) = lower(?)";
pub(super) const PROFILE_COMPANY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active AND lower(j.company) = lower(?))";
pub(super) const PROFILE_INDUSTRY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active AND lower(j.industry) = lower(?))";
pub(super) const PROFILE_VISIBLE_TO: &str = "(p.is_public OR p.user_id = ?)";

/// The variant of statement macro `$statement` whose rows pass `$active`,
/// the filter written in: with a bound `$2 IS NULL OR is_active = $2`
/// Postgres planned such a statement on every run.
macro_rules! by_active {
    ($statement:ident, $active:expr) => {
        match $active {
            ActiveFilter::Active => $statement!(" AND is_active = true"),
            ActiveFilter::Inactive => $statement!(" AND is_active = false"),
            ActiveFilter::All => $statement!(""),
        }
    };
}

macro_rules! list_contacts {
    ($filter:literal) => {
        concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE profile_id = $1",
            $filter,
            " ORDER BY is_primary DESC, created_at, id"
        )
    };
}

/// A profile's contacts that pass `active`, primary first.
pub(super) fn list_contacts_sql(active: ActiveFilter) -> &'static str {
    by_active!(list_contacts, active)
}
// Changing a primary contact locks its profile's row first, so two
// transactions doing it for one profile run one after the other (the
// second then un-primaries what the first made primary). NO KEY UPDATE
// does not block the foreign-key checks of inserts into `contacts`.
pub(super) const LOCK_PROFILE_CONTACTS: &str =
    "SELECT 1 FROM profiles WHERE id = $1 FOR NO KEY UPDATE";
pub(super) const CLEAR_PRIMARY_CONTACT: &str =
    "UPDATE contacts SET is_primary = false, updated_at = $3 \
     WHERE profile_id = $1 AND kind = $2 AND is_primary AND is_active";

// Current jobs (no end date) first, then the newest start; a job without a
// start date sorts after those with one (Postgres sorts NULLs first in
// descending order unless told otherwise; SQLite sorts them last).
macro_rules! list_jobs {
    ($filter:literal) => {
        concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE profile_id = $1",
            $filter,
            " ORDER BY end_date IS NULL DESC, start_date DESC NULLS LAST, created_at DESC, id DESC"
        )
    };
}

/// A profile's jobs that pass `active`, current ones first.
pub(super) fn list_jobs_sql(active: ActiveFilter) -> &'static str {
    by_active!(list_jobs, active)
}

// A profile with its location, contacts and jobs in one statement, so from
// one snapshot: the union of a row for the profile (kind 0, with its
// location's columns, NULL when it has none), one per contact (kind 1) and
// one per job (kind 2) that pass `$children`, in no particular order (the
// caller sorts the children). Every row has the four blocks of columns
// (see `DETAILS_PROFILE_AT` and after), NULL where they are not its own;
// the casts of the first branch give the union its column types (Postgres
// would otherwise take two NULLs for text).
//
// The filter is written in, not bound: with the profile's id as its only
// parameter, the statement's generic plan is as good as a custom one, so
// Postgres stops planning it after a few runs. With a bound
// `$2 IS NULL OR is_active = $2` it planned it on every run, which cost
// more than running it.
macro_rules! profile_details {
    ($children:literal) => {
        concat!(
            "SELECT 0, ",
            profile_columns!(),
            ", l.id, l.user_id, l.country, l.state_province, l.city, l.postal_code, \
             l.is_active, l.created_at, l.updated_at, l.deactivated_at, \
             NULL::uuid, NULL::uuid, NULL::text, NULL::text, NULL::boolean, NULL::boolean, \
             NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, \
             NULL::uuid, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::date, \
             NULL::date, NULL::boolean, NULL::timestamptz, NULL::timestamptz, \
             NULL::timestamptz \
             FROM profiles p LEFT JOIN locations l ON l.id = p.location_id WHERE p.id = $1 \
             UNION ALL SELECT 1, ",
            profile_and_location_nulls!(),
            contact_columns!(),
            ", ",
            job_nulls!(),
            " FROM contacts WHERE profile_id = $1",
            $children,
            " UNION ALL SELECT 2, ",
            profile_and_location_nulls!(),
            contact_nulls!(),
            job_columns!(),
            " FROM jobs WHERE profile_id = $1",
            $children
        )
    };
}

/// The statement of a profile's details whose children pass `children`
/// (see `profile_details!`).
pub(super) fn profile_details_sql(children: ActiveFilter) -> &'static str {
    by_active!(profile_details, children)
}

pub(super) const REVOKE_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3)";

// In a write, the token's row stays locked until the end of the
// transaction: a concurrent rotation of the same token waits, then sees it
// used.
pub(super) const GET_REFRESH_TOKEN_FOR_UPDATE: &str = concat!(
    "SELECT ",
    refresh_token_columns!(),
    " FROM refresh_tokens WHERE hash = $1 FOR UPDATE"
);

// ---------------------------------------------------------------------------
// The list queries' conditions.

/// `[active, inactive]` on an unaliased table.
pub(super) const IS_ACTIVE: [&str; 2] = ["is_active = true", "is_active = false"];

/// The users list.
pub(super) const USER_CONDITIONS: UserConditions = UserConditions {
    active: IS_ACTIVE,
    search: USER_SEARCH,
};

/// The profiles list; a search by place reads the profile's copy of its
/// place (V9).
pub(super) const PROFILE_CONDITIONS: ProfileConditions = ProfileConditions {
    flags: FlagConditions {
        active: ["p.is_active = true", "p.is_active = false"],
        public: ["p.is_public = true", "p.is_public = false"],
        country: PROFILE_COUNTRY,
    },
    visible_to: PROFILE_VISIBLE_TO,
    name: PROFILE_NAME,
    city: PROFILE_CITY,
    company: PROFILE_COMPANY,
    industry: PROFILE_INDUSTRY,
};

// ---------------------------------------------------------------------------
// The rows of a profile's details.

/// Where the blocks of columns of a row of [`profile_details_sql`]'s
/// statement start (after its kind).
const DETAILS_PROFILE_AT: usize = 1;
const DETAILS_LOCATION_AT: usize = DETAILS_PROFILE_AT + PROFILE_COLUMN_COUNT;
const DETAILS_CONTACT_AT: usize = DETAILS_LOCATION_AT + 10;
const DETAILS_JOB_AT: usize = DETAILS_CONTACT_AT + 9;

/// A row of [`profile_details_sql`]'s statement.
pub(super) enum DetailsRow {
    /// The profile, with its location when it has one (boxed: by far the
    /// largest variant, and one row per statement).
    Profile(Box<(Profile, Option<Location>)>),
    /// One of its contacts.
    Contact(Contact),
    /// One of its jobs.
    Job(Job),
}

/// Decodes a row of [`profile_details_sql`]'s statement by its kind.
pub(super) fn details_row(row: &rows::Row<'_, MapError>) -> Result<DetailsRow, MapError> {
    match row.count(0)? {
        0 => {
            let profile = rows::profile(&Shifted::new(row, DETAILS_PROFILE_AT))?;
            let location = match row.opt_id(DETAILS_LOCATION_AT)? {
                None => None,
                Some(_) => Some(rows::location(&Shifted::new(row, DETAILS_LOCATION_AT))?),
            };
            Ok(DetailsRow::Profile(Box::new((profile, location))))
        }
        1 => Ok(DetailsRow::Contact(rows::contact(&Shifted::new(
            row,
            DETAILS_CONTACT_AT,
        ))?)),
        2 => Ok(DetailsRow::Job(rows::job(&Shifted::new(
            row,
            DETAILS_JOB_AT,
        ))?)),
        _ => Err(corrupt(0, "kind of a profile's details row")),
    }
}

// ---------------------------------------------------------------------------
// Values.

/// A bound parameter of a dynamic list query.
pub(super) type BoxedParam = Box<dyn ToSql + Sync>;

/// A list condition's value as bound.
pub(super) fn param(param: &Param) -> BoxedParam {
    match param {
        Param::Text(text) => Box::new(text.clone()),
        Param::Id(id) => Box::new(*id),
        Param::Time(time) => Box::new(*time),
    }
}

/// The failed-login count as stored (`integer`).
pub(super) fn failed_logins_param(value: u32) -> Result<i32> {
    i32::try_from(value).map_err(|_| {
        StorageError::new(
            "postgres: failed_logins out of range",
            Corrupt(value.to_string()),
        )
        .into()
    })
}

fn corrupt(index: usize, what: &str) -> MapError {
    MapError::Corrupt(Corrupt(format!("invalid {what} in column {index}")))
}

/// Times decode with checked arithmetic: `infinity` or a time past
/// chrono's range is a decoding error, not a panic.
impl Columns for Row {
    type Error = MapError;

    fn id(&self, index: usize) -> Result<uuid::Uuid, MapError> {
        Ok(self.try_get(index)?)
    }

    fn opt_id(&self, index: usize) -> Result<Option<uuid::Uuid>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn text(&self, index: usize) -> Result<String, MapError> {
        Ok(self.try_get(index)?)
    }

    fn opt_text(&self, index: usize) -> Result<Option<String>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn boolean(&self, index: usize) -> Result<bool, MapError> {
        Ok(self.try_get(index)?)
    }

    fn count(&self, index: usize) -> Result<u32, MapError> {
        let value: i32 = self.try_get(index)?;
        u32::try_from(value).map_err(|_| corrupt(index, "count"))
    }

    fn time(&self, index: usize) -> Result<DateTime<Utc>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn opt_time(&self, index: usize) -> Result<Option<DateTime<Utc>>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn opt_date(&self, index: usize) -> Result<Option<NaiveDate>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn bytes(&self, index: usize) -> Result<Vec<u8>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn digest(&self, index: usize) -> Result<[u8; 32], MapError> {
        let bytes: Vec<u8> = self.try_get(index)?;
        bytes.try_into().map_err(|_| corrupt(index, "hash"))
    }

    fn opt_digest(&self, index: usize) -> Result<Option<[u8; 32]>, MapError> {
        let bytes: Option<Vec<u8>> = self.try_get(index)?;
        bytes
            .map(|bytes| bytes.try_into().map_err(|_| corrupt(index, "hash")))
            .transpose()
    }

    fn opt_int(&self, index: usize) -> Result<Option<i64>, MapError> {
        Ok(self.try_get(index)?)
    }

    fn corrupt(&self, index: usize, what: &str) -> MapError {
        corrupt(index, what)
    }
}

/// The organization and member lists, and the owner count.
pub(super) const ORGANIZATION_CONDITIONS: OrganizationConditions = OrganizationConditions {
    active: IS_ACTIVE,
    search: "(lower(name) LIKE ? ESCAPE '\\' OR slug LIKE ? ESCAPE '\\')",
    active_member: "m.user_active = true",
    count_owners: "SELECT CAST(count(*) AS INTEGER) FROM memberships \
                   WHERE organization_id = ?1 AND role = 'owner' AND user_active = true",
};
