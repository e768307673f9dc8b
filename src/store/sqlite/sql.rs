//! The SQLite backend's SQL: every statement as a constant, the condition
//! fragments of the list queries, and how a column or a bound value is
//! written in SQLite's storage conventions (see the module docs).

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::{Type, Value};
use rusqlite::Row;

use crate::model::{Location, PageRequest, Profile, ProfileQuery, UserId};
use crate::store::sql_common::lists::{
    self, limit_offset, where_clause, Filter, FlagConditions, Param, Placeholders,
    ProfileConditions, UserConditions,
};
use crate::store::sql_common::organizations::OrganizationConditions;
use crate::store::sql_common::rows::{self, Columns};
use crate::store::sql_common::PROFILE_COLUMN_COUNT;

// ---------------------------------------------------------------------------
// Statements (column lists come from `sql_common/columns.rs`).

// A contact or job is written through its primary key, which leads with
// its profile: matching on the id alone would seek the unique id index
// first, then the table. The planner rates both ways alike, hence the
// `INDEXED BY` (the primary key of a `WITHOUT ROWID` table is its first
// automatic index); a plan test holds it.
pub(super) const UPDATE_CONTACT_BY_KEY: &str =
    "UPDATE contacts INDEXED BY sqlite_autoindex_contacts_1 SET kind = ?2, value = ?3, \
     is_primary = ?4, is_active = ?5, updated_at = ?6, deactivated_at = ?7 \
     WHERE profile_id = ?8 AND id = ?1";
pub(super) const UPDATE_JOB_BY_KEY: &str =
    "UPDATE jobs INDEXED BY sqlite_autoindex_jobs_1 SET title = ?2, company = ?3, \
     industry = ?4, start_date = ?5, end_date = ?6, is_active = ?7, updated_at = ?8, \
     deactivated_at = ?9 WHERE profile_id = ?10 AND id = ?1";

// `username` collates NOCASE, so `=` ignores ASCII case and uses the index.
pub(super) const GET_USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE username = ?1"
);
pub(super) const USER_SEARCH: &str = "(username LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')";

// A profile copies its location: `country` and `city` while it is active,
// for profile search (migrations V1 and V3), and the whole location, for
// reading the profile with it (V8).
//
// The columns of the whole copy, in the order of `location_columns!` after
// the id (the profile's `location_id`).
macro_rules! location_copy_columns {
    () => {
        "location_user_id, location_country, location_state_province, location_city, \
         location_postal_code, location_is_active, location_created_at, \
         location_updated_at, location_deactivated_at"
    };
}
// What a profile's two writes that set its location (INSERT_PROFILE,
// UPDATE_PROFILE_KEYS) copy from it, as `l` (NULLs without one): the
// columns, then the values: the place while the location is active, the
// whole location always. The migrations' triggers keep them afterwards.
macro_rules! copied_location_columns {
    () => {
        concat!("country, city, ", location_copy_columns!())
    };
}
macro_rules! copied_location_values {
    () => {
        "CASE WHEN l.is_active = 1 THEN l.country END, \
         CASE WHEN l.is_active = 1 THEN l.city END, \
         l.user_id, l.country, l.state_province, l.city, l.postal_code, l.is_active, \
         l.created_at, l.updated_at, l.deactivated_at"
    };
}
pub(super) const INSERT_PROFILE: &str = concat!(
    "INSERT INTO profiles (id, user_id, first_name, last_name, \
     date_of_birth, gender, location_id, bio, profile_picture_url, is_public, allow_contact, \
     is_active, created_at, updated_at, deactivated_at, ",
    copied_location_columns!(),
    ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ",
    copied_location_values!(),
    " FROM (SELECT 1) LEFT JOIN locations l ON l.id = ?7"
);
// A profile with its location: one row, the location's columns from the
// profile's copy (migration V8), all NULL when it has none.
pub(super) const GET_PROFILE_WITH_LOCATION: &str = concat!(
    "SELECT ",
    profile_columns!(),
    ", p.location_id, ",
    location_copy_columns!(),
    " FROM profiles p WHERE p.id = ?1"
);
// A profile update in two statements: SQLite rewrites the entries of every
// index on a column an UPDATE sets, changed or not, so the indexed columns
// (location and place, flags) are set only when one of them changes, and the
// common edit (a name, the bio) touches the row alone.
pub(super) const UPDATE_PROFILE_FIELDS: &str =
    "UPDATE profiles SET first_name = ?2, last_name = ?3, \
     date_of_birth = ?4, gender = ?5, bio = ?6, profile_picture_url = ?7, \
     allow_contact = ?8, updated_at = ?9, deactivated_at = ?10 WHERE id = ?1";
pub(super) const UPDATE_PROFILE_KEYS: &str = concat!(
    "UPDATE profiles SET location_id = ?2, is_public = ?3, is_active = ?4, (",
    copied_location_columns!(),
    ") = (SELECT ",
    copied_location_values!(),
    " FROM locations l WHERE l.id = ?2) \
     WHERE id = ?1 AND (location_id IS NOT ?2 OR is_public IS NOT ?3 OR is_active IS NOT ?4)"
);
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

pub(super) const LIST_CONTACTS: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE profile_id = ?1 AND (?2 IS NULL OR is_active = ?2)"
);
pub(super) const CLEAR_PRIMARY_CONTACT: &str =
    "UPDATE contacts SET is_primary = 0, updated_at = ?3 \
     WHERE profile_id = ?1 AND kind = ?2 AND is_primary = 1 AND is_active = 1";

// Current jobs (no end date) first, then the newest start; a job without a
// start date sorts after those with one.
pub(super) const LIST_JOBS: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs WHERE profile_id = ?1 AND (?2 IS NULL OR is_active = ?2)"
);

pub(super) const REVOKE_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND (?3 IS NULL OR id <> ?3)";

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

/// The conditions of a user's own private profiles matching a search by
/// flags and country: what a user sees beyond the public ones.
pub(super) fn own_private_profiles(query: &ProfileQuery, user_id: UserId) -> Filter {
    let own_private = ProfileQuery {
        is_public: Some(false),
        ..query.clone()
    };
    let mut own = lists::profile_flags(&own_private, &PROFILE_CONDITIONS.flags);
    own.bind("p.user_id = ?", [Param::Id(user_id.into())]);
    own
}

/// One page of a search by flags and country as `user_id` sees it (public
/// profiles and their own), and its values. As one condition, `(is_public
/// = 1 OR user_id = ?)`, SQLite would sort every profile of the place to
/// find a page; as two it reads the public ones in list order from an
/// index, no deeper than the page's end, adds the user's own private ones
/// by user, and sorts those few.
pub(super) fn visible_profiles_page(
    query: &ProfileQuery,
    user_id: UserId,
    page: PageRequest,
) -> (String, Vec<Param>) {
    let public = lists::profile_flags(
        &ProfileQuery {
            is_public: Some(true),
            ..query.clone()
        },
        &PROFILE_CONDITIONS.flags,
    );
    let own = own_private_profiles(query, user_id);
    let (public_where, _) = where_clause(&public.conditions, Placeholders::Anonymous);
    let (own_where, _) = where_clause(&own.conditions, Placeholders::Anonymous);
    let [limit, offset] = limit_offset(page);
    // Written into the SQL, as every limit here (see `List::page_sql`).
    let depth = offset.saturating_add(limit);
    let order = "p.created_at DESC, p.id DESC";
    let sql = format!(
        "SELECT {} FROM profiles p WHERE p.rowid IN (\
         SELECT rowid FROM (SELECT p.rowid FROM profiles p{public_where} \
         ORDER BY {order} LIMIT {depth}) \
         UNION ALL SELECT p.rowid FROM profiles p{own_where}) \
         ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        profile_columns!(),
    );
    let mut params = public.params;
    params.extend(own.params);
    (sql, params)
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
            Some(text) => crate::model::time::parse_date(&text)
                .map(Some)
                .ok_or_else(|| corrupt(index, Type::Text, "date")),
        }
    }

    fn bytes(&self, index: usize) -> rusqlite::Result<Vec<u8>> {
        self.get(index)
    }

    fn digest(&self, index: usize) -> rusqlite::Result<[u8; 32]> {
        self.get(index)
    }

    fn opt_digest(&self, index: usize) -> rusqlite::Result<Option<[u8; 32]>> {
        self.get(index)
    }

    fn opt_int(&self, index: usize) -> rusqlite::Result<Option<i64>> {
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

/// The organization and member lists, and the owner count.
pub(super) const ORGANIZATION_CONDITIONS: OrganizationConditions = OrganizationConditions {
    active: IS_ACTIVE,
    search: "(name LIKE ? ESCAPE '\\' OR slug LIKE ? ESCAPE '\\')",
    active_member: "m.user_active = 1",
    count_owners: "SELECT count(*) FROM memberships \
                   WHERE organization_id = ?1 AND role = 'owner' AND user_active = 1",
};
