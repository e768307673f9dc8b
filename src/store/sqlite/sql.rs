//! The SQLite backend's SQL: every statement as a constant, the condition
//! fragments of the list queries, and how a column or a bound value is
//! written in SQLite's storage conventions (see the module docs).

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::{Type, Value};
use rusqlite::Row;

use crate::model::{Location, Profile};
use crate::store::sql_common::lists::{FlagConditions, Param, ProfileConditions, UserConditions};
use crate::store::sql_common::rows::{self, Columns};
use crate::store::sql_common::PROFILE_COLUMN_COUNT;

// ---------------------------------------------------------------------------
// Statements (column lists come from `sql_common/columns.rs`).

pub(super) const INSERT_USER: &str = concat!(
    "INSERT INTO users (",
    user_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
);
pub(super) const GET_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1");
// `username` collates NOCASE, so `=` ignores ASCII case and uses the index.
pub(super) const GET_USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE username = ?1"
);
pub(super) const GET_USER_BY_EMAIL: &str =
    concat!("SELECT ", user_columns!(), " FROM users WHERE email = ?1");
pub(super) const UPDATE_USER: &str =
    "UPDATE users SET username = ?2, email = ?3, password_hash = ?4, \
     is_active = ?5, is_super_admin = ?6, failed_logins = ?7, locked_until = ?8, \
     tokens_valid_after = ?9, updated_at = ?10, last_login_at = ?11, deactivated_at = ?12 \
     WHERE id = ?1";
pub(super) const DELETE_USER: &str = "DELETE FROM users WHERE id = ?1";
pub(super) const USER_SEARCH: &str = "(username LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')";

// `country` and `city` copy the location's while it is active (see the
// migrations V1 and V3).
pub(super) const INSERT_PROFILE: &str =
    "INSERT INTO profiles (id, user_id, first_name, last_name, \
     date_of_birth, gender, location_id, bio, profile_picture_url, is_public, allow_contact, \
     is_active, created_at, updated_at, deactivated_at, country, city) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
     l.country, l.city FROM (SELECT 1) LEFT JOIN locations l ON l.id = ?7 AND l.is_active = 1";
pub(super) const GET_PROFILE: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.id = ?1"
);
// A profile with its location in one statement (the location columns
// follow the profile's, all NULL when there is none).
pub(super) const GET_PROFILE_WITH_LOCATION: &str = concat!(
    "SELECT ",
    profile_columns!(),
    ", l.id, l.user_id, l.country, l.state_province, l.city, l.postal_code, l.is_active, \
     l.created_at, l.updated_at, l.deactivated_at \
     FROM profiles p LEFT JOIN locations l ON l.id = p.location_id WHERE p.id = ?1"
);
pub(super) const GET_PROFILE_BY_USER: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.user_id = ?1 \
     ORDER BY p.is_active DESC, p.created_at DESC, p.id DESC LIMIT 1"
);
// A profile update in two statements: SQLite rewrites the entries of every
// index on a column an UPDATE sets, changed or not, so the indexed columns
// (location and place, flags) are set only when one of them changes, and the
// common edit (a name, the bio) touches the row alone.
pub(super) const UPDATE_PROFILE_FIELDS: &str =
    "UPDATE profiles SET first_name = ?2, last_name = ?3, \
     date_of_birth = ?4, gender = ?5, bio = ?6, profile_picture_url = ?7, \
     allow_contact = ?8, updated_at = ?9, deactivated_at = ?10 WHERE id = ?1";
pub(super) const UPDATE_PROFILE_KEYS: &str =
    "UPDATE profiles SET location_id = ?2, is_public = ?3, \
     is_active = ?4, \
     (country, city) = (SELECT country, city FROM locations WHERE id = ?2 AND is_active = 1) \
     WHERE id = ?1 AND (location_id IS NOT ?2 OR is_public IS NOT ?3 OR is_active IS NOT ?4)";
pub(super) const PROFILE_NAME: &str =
    "(p.first_name LIKE ? ESCAPE '\\' OR p.last_name LIKE ? ESCAPE '\\')";
// `city`, `company` and `industry` collate NOCASE: `=` ignores ASCII case.
// `country` and `city` are the profile's copies of its location's, NULL
// while it is inactive (kept by triggers, see the migrations).
pub(super) const PROFILE_COUNTRY: &str = "p.country = ?";
pub(super) const PROFILE_CITY: &str = "p.city = ?";
pub(super) const PROFILE_COMPANY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active = 1 AND j.company = ?)";
pub(super) const PROFILE_INDUSTRY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active = 1 AND j.industry = ?)";
pub(super) const PROFILE_VISIBLE_TO: &str = "(p.is_public = 1 OR p.user_id = ?)";

pub(super) const INSERT_LOCATION: &str = concat!(
    "INSERT INTO locations (",
    location_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
);
pub(super) const GET_LOCATION: &str = concat!(
    "SELECT ",
    location_columns!(),
    " FROM locations WHERE id = ?1"
);
pub(super) const UPDATE_LOCATION: &str = "UPDATE locations SET country = ?2, state_province = ?3, \
     city = ?4, postal_code = ?5, is_active = ?6, updated_at = ?7, deactivated_at = ?8 \
     WHERE id = ?1";

pub(super) const INSERT_CONTACT: &str = concat!(
    "INSERT INTO contacts (",
    contact_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
);
pub(super) const GET_CONTACT: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE id = ?1"
);
pub(super) const UPDATE_CONTACT: &str =
    "UPDATE contacts SET kind = ?2, value = ?3, is_primary = ?4, \
     is_active = ?5, updated_at = ?6, deactivated_at = ?7 WHERE id = ?1";
pub(super) const LIST_CONTACTS: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE profile_id = ?1 AND (?2 IS NULL OR is_active = ?2)"
);
pub(super) const CLEAR_PRIMARY_CONTACT: &str =
    "UPDATE contacts SET is_primary = 0, updated_at = ?3 \
     WHERE profile_id = ?1 AND kind = ?2 AND is_primary = 1 AND is_active = 1";

pub(super) const INSERT_JOB: &str = concat!(
    "INSERT INTO jobs (",
    job_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
);
pub(super) const GET_JOB: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?1");
pub(super) const UPDATE_JOB: &str = "UPDATE jobs SET title = ?2, company = ?3, industry = ?4, \
     start_date = ?5, end_date = ?6, is_active = ?7, updated_at = ?8, deactivated_at = ?9 \
     WHERE id = ?1";
// Current jobs (no end date) first, then the newest start; a job without a
// start date sorts after those with one.
pub(super) const LIST_JOBS: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs WHERE profile_id = ?1 AND (?2 IS NULL OR is_active = ?2)"
);

pub(super) const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);
pub(super) const GET_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE id = ?1"
);
pub(super) const UPDATE_SESSION: &str = "UPDATE sessions SET last_used_at = ?2, expires_at = ?3, \
     revoked_at = ?4 WHERE id = ?1";
pub(super) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= ?1";
pub(super) const REVOKE_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND (?3 IS NULL OR id <> ?3)";

pub(super) const INSERT_REFRESH_TOKEN: &str = concat!(
    "INSERT INTO refresh_tokens (",
    refresh_token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);
pub(super) const GET_REFRESH_TOKEN: &str = concat!(
    "SELECT ",
    refresh_token_columns!(),
    " FROM refresh_tokens WHERE hash = ?1"
);
pub(super) const MARK_REFRESH_TOKEN_USED: &str =
    "UPDATE refresh_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL";

pub(super) const DELETE_EXPIRED_REFRESH_TOKENS: &str =
    "DELETE FROM refresh_tokens WHERE expires_at <= ?1";

pub(super) const INSERT_DEVICE_TOKEN: &str = concat!(
    "INSERT INTO device_tokens (",
    device_token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
);
pub(super) const GET_DEVICE_TOKEN: &str = concat!(
    "SELECT ",
    device_token_columns!(),
    " FROM device_tokens WHERE hash = ?1"
);
pub(super) const UPDATE_DEVICE_TOKEN: &str = "UPDATE device_tokens SET last_used_at = ?2, \
     expires_at = ?3, failed_logins = ?4, locked_until = ?5 WHERE hash = ?1";
pub(super) const DELETE_DEVICE_TOKENS: &str = "DELETE FROM device_tokens WHERE user_id = ?1";
pub(super) const UNLOCK_DEVICE_TOKENS: &str = "UPDATE device_tokens \
     SET failed_logins = 0, locked_until = NULL \
     WHERE user_id = ?1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)";
pub(super) const DELETE_EXPIRED_DEVICE_TOKENS: &str =
    "DELETE FROM device_tokens WHERE expires_at <= ?1";

pub(super) const DELETE_EVENTS_BEFORE: &str = "DELETE FROM security_events WHERE occurred_at < ?1";
pub(super) const INSERT_EVENT: &str = concat!(
    "INSERT INTO security_events (",
    event_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);

pub(super) const GET_SETTING: &str = "SELECT value FROM settings WHERE key = ?1";
pub(super) const INSERT_SETTING_IF_ABSENT: &str =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";

// ---------------------------------------------------------------------------
// The list queries' conditions.

/// `[active, inactive]` on an unaliased table.
pub(super) const IS_ACTIVE: [&str; 2] = ["is_active = 1", "is_active = 0"];

/// The users list.
pub(super) const USER_CONDITIONS: UserConditions = UserConditions {
    active: IS_ACTIVE,
    search: USER_SEARCH,
};

/// The profiles list (see the fragments above).
pub(super) const PROFILE_CONDITIONS: ProfileConditions = ProfileConditions {
    from: "profiles p",
    from_by_place: "profiles p",
    flags: FlagConditions {
        active: ["p.is_active = 1", "p.is_active = 0"],
        public: ["p.is_public = 1", "p.is_public = 0"],
        country: PROFILE_COUNTRY,
    },
    visible_to: PROFILE_VISIBLE_TO,
    name: PROFILE_NAME,
    city: PROFILE_CITY,
    company: PROFILE_COMPANY,
    industry: PROFILE_INDUSTRY,
};

/// The profile counts kept by triggers, by flags and country: a search by
/// those alone is counted from them instead of visiting every match.
pub(super) const PROFILE_COUNT_FLAGS: FlagConditions = FlagConditions {
    active: IS_ACTIVE,
    public: ["is_public = 1", "is_public = 0"],
    country: "country = ?",
};

/// The statement counting the profiles a search by flags and country
/// matches, from `profile_counts`, given its `WHERE` clause.
pub(super) fn profile_count_sql(where_sql: &str) -> String {
    format!("SELECT IFNULL(SUM(n), 0) FROM profile_counts{where_sql}")
}

// ---------------------------------------------------------------------------
// Values.

/// A time as stored: microseconds since the Unix epoch.
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A nullable time as stored.
pub(super) fn opt_micros(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(micros)
}

/// A date as stored: `YYYY-MM-DD`.
pub(super) fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|date| date.to_string())
}

/// A list condition's value as bound.
pub(super) fn param(param: &Param) -> Value {
    match param {
        Param::Text(text) => Value::Text(text.clone()),
        Param::Id(id) => Value::Blob(id.as_bytes().to_vec()),
        Param::Time(time) => Value::Integer(micros(*time)),
    }
}

fn corrupt(index: usize, kind: Type, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, kind, what.into())
}

impl Columns for Row<'_> {
    type Error = rusqlite::Error;

    fn id(&self, index: usize) -> rusqlite::Result<uuid::Uuid> {
        self.get::<_, [u8; 16]>(index).map(uuid::Uuid::from_bytes)
    }

    fn opt_id(&self, index: usize) -> rusqlite::Result<Option<uuid::Uuid>> {
        Ok(self
            .get::<_, Option<[u8; 16]>>(index)?
            .map(uuid::Uuid::from_bytes))
    }

    fn text(&self, index: usize) -> rusqlite::Result<String> {
        self.get(index)
    }

    fn opt_text(&self, index: usize) -> rusqlite::Result<Option<String>> {
        self.get(index)
    }

    fn boolean(&self, index: usize) -> rusqlite::Result<bool> {
        self.get(index)
    }

    fn count(&self, index: usize) -> rusqlite::Result<u32> {
        self.get(index)
    }

    fn time(&self, index: usize) -> rusqlite::Result<DateTime<Utc>> {
        let value: i64 = self.get(index)?;
        DateTime::from_timestamp_micros(value).ok_or_else(|| corrupt(index, Type::Integer, "time"))
    }

    fn opt_time(&self, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
        match self.get::<_, Option<i64>>(index)? {
            None => Ok(None),
            Some(value) => DateTime::from_timestamp_micros(value)
                .map(Some)
                .ok_or_else(|| corrupt(index, Type::Integer, "time")),
        }
    }

    fn opt_date(&self, index: usize) -> rusqlite::Result<Option<NaiveDate>> {
        match self.get::<_, Option<String>>(index)? {
            None => Ok(None),
            Some(text) => text
                .parse::<NaiveDate>()
                .map(Some)
                .map_err(|_| corrupt(index, Type::Text, "date")),
        }
    }

    fn bytes(&self, index: usize) -> rusqlite::Result<Vec<u8>> {
        self.get(index)
    }

    fn digest(&self, index: usize) -> rusqlite::Result<[u8; 32]> {
        self.get(index)
    }

    fn corrupt(&self, index: usize, what: &str) -> rusqlite::Error {
        corrupt(index, Type::Text, what)
    }
}

/// A profile and, when its location row joined, the location
/// ([`GET_PROFILE_WITH_LOCATION`]).
pub(super) fn profile_with_location(
    row: &rows::Row<'_, rusqlite::Error>,
) -> rusqlite::Result<(Profile, Option<Location>)> {
    let profile = rows::profile(row)?;
    let location = match row.opt_id(PROFILE_COLUMN_COUNT)? {
        None => None,
        Some(_) => Some(rows::location_at(row, PROFILE_COLUMN_COUNT)?),
    };
    Ok((profile, location))
}
