//! The SQLite backend: an r2d2 pool of rusqlite connections, refinery
//! migrations embedded from `migrations/sqlite`, one SQL statement per
//! operation.
//!
//! Storage conventions (see the migration): ids are the 16 bytes of their
//! UUID, times are integer microseconds since the Unix epoch (UTC), dates
//! are `YYYY-MM-DD` text and booleans are 0/1.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{Type, Value};
use rusqlite::ErrorCode;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row};

use super::{PasswordHash, RefreshTokenRow, Store, Tx, UserRow};
use crate::error::{Error, Result, StorageError};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, CountryCode, Email, EventId, EventKind,
    EventQuery, Job, JobId, Location, LocationId, LocationQuery, PageRequest, Profile,
    ProfileDetails, ProfileId, ProfileQuery, SecurityEvent, Session, SessionId, User, UserId,
    UserQuery, Username,
};

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// How long a connection waits for another one's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection: every static statement below
/// plus the variants of the dynamic list queries.
const STATEMENT_CACHE_CAPACITY: usize = 128;
/// Connections in the pool.
const POOL_SIZE: u32 = 8;

/// A [`Store`] on SQLite: a file (WAL mode) or a private in-memory
/// database.
///
/// ```
/// use aai_accounts::store::{SqliteStore, Store};
///
/// let store = SqliteStore::open("sqlite::memory:")?;
/// assert!(store.schema_version()? >= 1);
/// # Ok::<(), aai_accounts::Error>(())
/// ```
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    target: Target,
    /// Keeps an in-memory database alive while the store lives: SQLite
    /// frees it when its last connection closes, and the pool may close
    /// all of its own.
    _keep_alive: Option<Mutex<Connection>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Memory,
    File(PathBuf),
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("target", &self.target)
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) the database named by `url` and
    /// applies pending migrations.
    ///
    /// Accepted URLs: `sqlite::memory:` (a private in-memory database: each
    /// call opens a new, empty one, shared by the store's connections and
    /// freed with the store), `sqlite://relative/path.db`,
    /// `sqlite:///absolute/path.db` and `sqlite:path.db`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the URL is not one of the forms above, and
    /// [`Error::Storage`] when the database cannot be opened or migrated.
    pub fn open(url: &str) -> Result<SqliteStore> {
        match parse_url(url)? {
            Target::Memory => SqliteStore::open_memory(),
            Target::File(path) => SqliteStore::open_path(path),
        }
    }

    /// Opens (creating it if needed) the database file at `path` and
    /// applies pending migrations.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the file cannot be opened or migrated.
    pub fn open_path(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        // Without SQLITE_OPEN_URI: a file path is never read as a URI.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Fail fast on an unusable path (the pool would retry until its
        // timeout) and switch the file to WAL once, before the pool opens
        // its connections.
        let mut probe =
            Connection::open_with_flags(&path, flags).map_err(storage("open the database"))?;
        init_connection(&mut probe, true).map_err(storage("configure the database"))?;
        drop(probe);
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(flags)
            .with_init(|conn| init_connection(conn, true));
        SqliteStore::finish_open(manager, Target::File(path), None)
    }

    fn open_memory() -> Result<SqliteStore> {
        // The `memdb` VFS shares a database between the connections of a
        // process by name (the leading `/`), with ordinary locking: unlike
        // `cache=shared`, a writer makes others wait (busy timeout) instead
        // of failing at once with SQLITE_LOCKED.
        let uri = format!("file:/aai-accounts-{}?vfs=memdb", uuid::Uuid::now_v7());
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut keep_alive = Connection::open_with_flags(&uri, flags)
            .map_err(storage("open the in-memory database"))?;
        init_connection(&mut keep_alive, false).map_err(storage("configure the database"))?;
        let manager = SqliteConnectionManager::file(&uri)
            .with_flags(flags)
            .with_init(|conn| init_connection(conn, false));
        SqliteStore::finish_open(manager, Target::Memory, Some(Mutex::new(keep_alive)))
    }

    fn finish_open(
        manager: SqliteConnectionManager,
        target: Target,
        keep_alive: Option<Mutex<Connection>>,
    ) -> Result<SqliteStore> {
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // A local file or memory connection does not go stale; checking
            // on every checkout would parse a statement per transaction.
            .test_on_check_out(false)
            .build(manager)
            .map_err(storage("create the connection pool"))?;
        let mut conn = pool.get().map_err(storage("get a connection"))?;
        embedded::migrations::runner()
            .run(&mut *conn)
            .map_err(storage("apply migrations"))?;
        drop(conn);
        Ok(SqliteStore {
            pool,
            target,
            _keep_alive: keep_alive,
        })
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>> {
        self.pool.get().map_err(storage("get a connection"))
    }

    fn transaction(
        &self,
        begin: &'static str,
        commit: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        let conn = self.connection()?;
        if !conn.is_autocommit() {
            // A transaction left open by a failed rollback would make every
            // later BEGIN on this pooled connection fail.
            run(&conn, ROLLBACK).map_err(storage("end a stale transaction"))?;
        }
        run(&conn, begin).map_err(storage("begin a transaction"))?;
        let outcome = f(&mut SqliteTx { conn: &conn });
        let end = match outcome {
            Ok(()) if commit => run(&conn, COMMIT).map_err(storage("commit")),
            // A read always rolls back, so nothing written by mistake
            // inside it is kept.
            Ok(()) => run(&conn, ROLLBACK).map_err(storage("end a read")),
            Err(error) => Err(error),
        };
        if end.is_err() && !conn.is_autocommit() {
            // Best effort: if this fails too, the next use of the
            // connection rolls back before it begins (above).
            let _ = run(&conn, ROLLBACK);
        }
        end
    }
}

/// Runs a transaction-control statement through the statement cache
/// (`execute_batch` would parse it again on every call).
fn run(conn: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

const BEGIN_DEFERRED: &str = "BEGIN DEFERRED";
const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";

impl Store for SqliteStore {
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        // Deferred: a read takes no lock until its first statement, and in
        // WAL mode it never blocks a writer. It always ends in a rollback,
        // so nothing written by mistake inside a read is kept.
        self.transaction(BEGIN_DEFERRED, false, f)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        // Immediate: take the write lock up front, so two read-then-write
        // transactions cannot both read and then fail to upgrade.
        self.transaction(BEGIN_IMMEDIATE, true, f)
    }

    fn schema_version(&self) -> Result<u32> {
        let mut conn = self.connection()?;
        let last = embedded::migrations::runner()
            .get_last_applied_migration(&mut *conn)
            .map_err(storage("read the schema version"))?;
        match last {
            None => Ok(0),
            Some(migration) => u32::try_from(migration.version())
                .map_err(|_| StorageError::msg("negative schema version").into()),
        }
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}

/// Parses the accepted URL forms into a target.
fn parse_url(url: &str) -> Result<Target> {
    let unsupported = || {
        Error::config(
            "unsupported sqlite url: expected sqlite::memory:, sqlite://path, sqlite:///path or sqlite:path",
        )
    };
    let rest = url.strip_prefix("sqlite:").ok_or_else(unsupported)?;
    if rest == ":memory:" {
        return Ok(Target::Memory);
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    // Query strings and fragments would be read as part of the file name;
    // refuse them rather than create a surprising file.
    if path.is_empty() || path.ends_with('/') || path.contains(['?', '#']) || path.starts_with(':')
    {
        return Err(unsupported());
    }
    Ok(Target::File(PathBuf::from(path)))
}

/// WAL pages between automatic checkpoints (SQLite's default is 1000).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;
/// Each file connection's page cache, in KiB.
const CACHE_SIZE_KIB: i64 = 16 * 1024;
/// The WAL file's size after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Sets the per-connection pragmas (and WAL on a file).
fn init_connection(conn: &mut Connection, file: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    // WAL persists in the file; switching needs a lock, so only ask when
    // it is not already on. An in-memory database keeps its rollback
    // journal in memory (the memdb VFS would put it on disk otherwise).
    let wanted = if file { "wal" } else { "memory" };
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case(wanted) {
        conn.pragma_update_and_check(None, "journal_mode", wanted, |row| row.get::<_, String>(0))?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    if file {
        // With `synchronous = NORMAL` a commit appends to the WAL without
        // syncing; only a checkpoint syncs (the WAL, then the database), and
        // it runs inside the commit that crosses the threshold. A syncing
        // disk costs milliseconds per sync, so checkpoint every ~40 MiB of
        // WAL instead of SQLite's default 4 MiB, and cut the file back to
        // 64 MiB after each checkpoint.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        // Keep the upper levels of every index in each connection's page
        // cache as the file grows (SQLite's default is 2 MiB). No memory
        // map: an I/O error there is a SIGBUS, not an error.
        conn.pragma_update(None, "cache_size", -CACHE_SIZE_KIB)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Converts a backend error into the public error: a unique violation
/// becomes [`Error::Conflict`] naming the field, anything else
/// [`Error::Storage`] with `context` as message and the error as source.
fn storage<E>(context: &'static str) -> impl FnOnce(E) -> Error
where
    E: Into<BackendError>,
{
    move |error| {
        let BackendError(error) = error.into();
        match error
            .downcast_ref::<rusqlite::Error>()
            .and_then(conflict_field)
        {
            Some(field) => Error::Conflict { field },
            None => Error::Storage(StorageError::new(format!("sqlite: {context}"), error)),
        }
    }
}

/// Any error of the backend's libraries, kept private.
struct BackendError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl From<rusqlite::Error> for BackendError {
    fn from(error: rusqlite::Error) -> Self {
        BackendError(Box::new(error))
    }
}

impl From<r2d2::Error> for BackendError {
    fn from(error: r2d2::Error) -> Self {
        BackendError(Box::new(error))
    }
}

impl From<refinery::Error> for BackendError {
    fn from(error: refinery::Error) -> Self {
        BackendError(Box::new(error))
    }
}

/// The field a unique violation is about, from SQLite's message, which
/// names the columns: `UNIQUE constraint failed: users.username`.
fn conflict_field(error: &rusqlite::Error) -> Option<&'static str> {
    let rusqlite::Error::SqliteFailure(failure, Some(message)) = error else {
        return None;
    };
    if failure.code != ErrorCode::ConstraintViolation
        || !matches!(
            failure.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return None;
    }
    let columns = message.split_once(':')?.1.trim();
    Some(match columns {
        "users.username" => "username",
        "users.email" => "email",
        "profiles.user_id" => "user_id",
        "contacts.profile_id, contacts.kind" => "is_primary",
        "refresh_tokens.hash" => "hash",
        "settings.key" => "key",
        _ if columns.ends_with(".id") => "id",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Conversions between model values and SQL values.

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn opt_micros(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(micros)
}

fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|date| date.to_string())
}

fn count(changed: usize) -> u64 {
    u64::try_from(changed).unwrap_or(u64::MAX)
}

/// The rows a page skips, as a bound value.
fn offset(page: PageRequest) -> i64 {
    i64::try_from(page.offset()).unwrap_or(i64::MAX)
}

fn corrupt(index: usize, kind: Type, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, kind, what.into())
}

fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<uuid::Uuid> {
    row.get::<_, [u8; 16]>(index).map(uuid::Uuid::from_bytes)
}

fn opt_uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<uuid::Uuid>> {
    Ok(row
        .get::<_, Option<[u8; 16]>>(index)?
        .map(uuid::Uuid::from_bytes))
}

fn time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let value: i64 = row.get(index)?;
    DateTime::from_timestamp_micros(value).ok_or_else(|| corrupt(index, Type::Integer, "time"))
}

fn opt_time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<i64>>(index)? {
        None => Ok(None),
        Some(value) => DateTime::from_timestamp_micros(value)
            .map(Some)
            .ok_or_else(|| corrupt(index, Type::Integer, "time")),
    }
}

fn opt_date_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<NaiveDate>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(text) => text
            .parse::<NaiveDate>()
            .map(Some)
            .map_err(|_| corrupt(index, Type::Text, "date")),
    }
}

/// The condition for `filter`, from the fragments `[active, inactive]`;
/// nothing for [`ActiveFilter::All`]. Constants rather than a bound value
/// let the planner use the indexes that lead with `is_active`.
fn active_clause(
    filter: ActiveFilter,
    [active, inactive]: [&'static str; 2],
) -> Option<&'static str> {
    match filter {
        ActiveFilter::Active => Some(active),
        ActiveFilter::Inactive => Some(inactive),
        ActiveFilter::All => None,
    }
}

const IS_ACTIVE: [&str; 2] = ["is_active = 1", "is_active = 0"];
const P_IS_ACTIVE: [&str; 2] = ["p.is_active = 1", "p.is_active = 0"];

/// Counts the profiles of a search by country and flags only from
/// `profile_counts` (kept by triggers) instead of visiting every match.
fn profile_count(query: &ProfileQuery) -> Count {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    conditions.extend(active_clause(query.active, IS_ACTIVE));
    match query.is_public {
        Some(true) => conditions.push("is_public = 1"),
        Some(false) => conditions.push("is_public = 0"),
        None => {}
    }
    if let Some(country) = &query.country {
        conditions.push("country = ?");
        values.push(Value::Text(country.to_ascii_uppercase()));
    }
    Count {
        expression: "IFNULL(SUM(n), 0)",
        from: "profile_counts",
        conditions,
        values,
    }
}

/// Joins fixed condition fragments into a `WHERE` clause.
fn where_clause(conditions: &[&'static str]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

// ---------------------------------------------------------------------------
// SQL (column lists come from `columns.rs`).

const INSERT_USER: &str = concat!(
    "INSERT INTO users (",
    user_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
);
const GET_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1");
// `username` collates NOCASE, so `=` ignores ASCII case and uses the index.
const GET_USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE username = ?1"
);
const GET_USER_BY_EMAIL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE email = ?1");
const UPDATE_USER: &str = "UPDATE users SET username = ?2, email = ?3, password_hash = ?4, \
     is_active = ?5, is_super_admin = ?6, failed_logins = ?7, locked_until = ?8, \
     tokens_valid_after = ?9, updated_at = ?10, last_login_at = ?11, deactivated_at = ?12 \
     WHERE id = ?1";
const DELETE_USER: &str = "DELETE FROM users WHERE id = ?1";
const USER_SEARCH: &str = "(username LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')";

// `country` and `city` copy the location's (see the migration).
const INSERT_PROFILE: &str = "INSERT INTO profiles (id, user_id, first_name, last_name, \
     date_of_birth, gender, location_id, bio, profile_picture_url, is_public, allow_contact, \
     is_active, created_at, updated_at, deactivated_at, country, city) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
     l.country, l.city FROM (SELECT 1) LEFT JOIN locations l ON l.id = ?7";
const GET_PROFILE: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.id = ?1"
);
// A profile with its location in one statement (the location columns
// follow the profile's, all NULL when there is none).
const GET_PROFILE_WITH_LOCATION: &str = concat!(
    "SELECT ",
    profile_columns!(),
    ", l.id, l.user_id, l.country, l.state_province, l.city, l.postal_code, l.is_active, \
     l.created_at, l.updated_at, l.deactivated_at \
     FROM profiles p LEFT JOIN locations l ON l.id = p.location_id WHERE p.id = ?1"
);
const GET_PROFILE_BY_USER: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.user_id = ?1 \
     ORDER BY p.is_active DESC, p.created_at DESC, p.id DESC LIMIT 1"
);
// A profile update in two statements: SQLite rewrites the entries of every
// index on a column an UPDATE sets, changed or not, so the indexed columns
// (location and place, flags) are set only when one of them changes, and the
// common edit (a name, the bio) touches the row alone.
const UPDATE_PROFILE_FIELDS: &str = "UPDATE profiles SET first_name = ?2, last_name = ?3, \
     date_of_birth = ?4, gender = ?5, bio = ?6, profile_picture_url = ?7, \
     allow_contact = ?8, updated_at = ?9, deactivated_at = ?10 WHERE id = ?1";
const UPDATE_PROFILE_KEYS: &str = "UPDATE profiles SET location_id = ?2, is_public = ?3, \
     is_active = ?4, (country, city) = (SELECT country, city FROM locations WHERE id = ?2) \
     WHERE id = ?1 AND (location_id IS NOT ?2 OR is_public IS NOT ?3 OR is_active IS NOT ?4)";
const PROFILE_NAME: &str = "(p.first_name LIKE ? ESCAPE '\\' OR p.last_name LIKE ? ESCAPE '\\')";
// `city`, `company` and `industry` collate NOCASE: `=` ignores ASCII case.
// `country` and `city` are the profile's copies of its location's (kept
// by triggers, see the migration).
const PROFILE_COUNTRY: &str = "p.country = ?";
const PROFILE_CITY: &str = "p.city = ?";
const PROFILE_COMPANY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active = 1 AND j.company = ?)";
const PROFILE_INDUSTRY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active = 1 AND j.industry = ?)";
const PROFILE_VISIBLE_TO: &str = "(p.is_public = 1 OR p.user_id = ?)";

const INSERT_LOCATION: &str = concat!(
    "INSERT INTO locations (",
    location_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
);
const GET_LOCATION: &str = concat!(
    "SELECT ",
    location_columns!(),
    " FROM locations WHERE id = ?1"
);
const UPDATE_LOCATION: &str = "UPDATE locations SET country = ?2, state_province = ?3, \
     city = ?4, postal_code = ?5, is_active = ?6, updated_at = ?7, deactivated_at = ?8 \
     WHERE id = ?1";

const INSERT_CONTACT: &str = concat!(
    "INSERT INTO contacts (",
    contact_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
);
const GET_CONTACT: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE id = ?1"
);
const UPDATE_CONTACT: &str = "UPDATE contacts SET kind = ?2, value = ?3, is_primary = ?4, \
     is_active = ?5, updated_at = ?6, deactivated_at = ?7 WHERE id = ?1";
const LIST_CONTACTS: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE profile_id = ?1 AND (?2 IS NULL OR is_active = ?2)"
);
const CLEAR_PRIMARY_CONTACT: &str = "UPDATE contacts SET is_primary = 0, updated_at = ?3 \
     WHERE profile_id = ?1 AND kind = ?2 AND is_primary = 1 AND is_active = 1";

const INSERT_JOB: &str = concat!(
    "INSERT INTO jobs (",
    job_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
);
const GET_JOB: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?1");
const UPDATE_JOB: &str = "UPDATE jobs SET title = ?2, company = ?3, industry = ?4, \
     start_date = ?5, end_date = ?6, is_active = ?7, updated_at = ?8, deactivated_at = ?9 \
     WHERE id = ?1";
// Current jobs (no end date) first, then the newest start; a job without a
// start date sorts after those with one.
const LIST_JOBS: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs WHERE profile_id = ?1 AND (?2 IS NULL OR is_active = ?2)"
);

const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);
const GET_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE id = ?1"
);
const UPDATE_SESSION: &str = "UPDATE sessions SET last_used_at = ?2, expires_at = ?3, \
     revoked_at = ?4 WHERE id = ?1";
const LIST_SESSIONS: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE user_id = ?1 \
     AND (?2 IS NULL OR (revoked_at IS NULL AND expires_at > ?2)) \
     ORDER BY created_at DESC, id DESC"
);
const REVOKE_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND (?3 IS NULL OR id <> ?3)";

const INSERT_REFRESH_TOKEN: &str = concat!(
    "INSERT INTO refresh_tokens (",
    refresh_token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);
const GET_REFRESH_TOKEN: &str = concat!(
    "SELECT ",
    refresh_token_columns!(),
    " FROM refresh_tokens WHERE hash = ?1"
);
const MARK_REFRESH_TOKEN_USED: &str =
    "UPDATE refresh_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL";

const INSERT_EVENT: &str = concat!(
    "INSERT INTO security_events (",
    event_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
);

const GET_SETTING: &str = "SELECT value FROM settings WHERE key = ?1";
const INSERT_SETTING_IF_ABSENT: &str =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";

/// `Some(1)`/`Some(0)` for an `is_active = ?` parameter, `None` for all.
fn active_param(filter: ActiveFilter) -> Option<bool> {
    match filter {
        ActiveFilter::Active => Some(true),
        ActiveFilter::Inactive => Some(false),
        ActiveFilter::All => None,
    }
}

// ---------------------------------------------------------------------------
// Row mapping, in the column order of the lists above.

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        user: User {
            id: UserId::from_uuid(uuid_at(row, 0)?),
            username: Username::from_trusted(row.get(1)?),
            email: Email::from_trusted(row.get(2)?),
            is_active: row.get(4)?,
            is_super_admin: row.get(5)?,
            created_at: time_at(row, 9)?,
            updated_at: time_at(row, 10)?,
            last_login_at: opt_time_at(row, 11)?,
            deactivated_at: opt_time_at(row, 12)?,
        },
        password_hash: PasswordHash::new(row.get::<_, String>(3)?),
        failed_logins: row.get(6)?,
        locked_until: opt_time_at(row, 7)?,
        tokens_valid_after: time_at(row, 8)?,
    })
}

fn profile_row(row: &Row<'_>) -> rusqlite::Result<Profile> {
    Ok(Profile {
        id: ProfileId::from_uuid(uuid_at(row, 0)?),
        user_id: UserId::from_uuid(uuid_at(row, 1)?),
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        date_of_birth: opt_date_at(row, 4)?,
        gender: row.get(5)?,
        location_id: opt_uuid_at(row, 6)?.map(LocationId::from_uuid),
        bio: row.get(7)?,
        profile_picture_url: row.get(8)?,
        is_public: row.get(9)?,
        allow_contact: row.get(10)?,
        is_active: row.get(11)?,
        created_at: time_at(row, 12)?,
        updated_at: time_at(row, 13)?,
        deactivated_at: opt_time_at(row, 14)?,
    })
}

fn location_row(row: &Row<'_>) -> rusqlite::Result<Location> {
    location_row_from(row, 0)
}

/// A location whose columns start at `at` (after a joined profile's).
fn location_row_from(row: &Row<'_>, at: usize) -> rusqlite::Result<Location> {
    let country: String = row.get(at + 2)?;
    Ok(Location {
        id: LocationId::from_uuid(uuid_at(row, at)?),
        user_id: UserId::from_uuid(uuid_at(row, at + 1)?),
        country: CountryCode::parse(&country)
            .map_err(|_| corrupt(at + 2, Type::Text, "country"))?,
        state_province: row.get(at + 3)?,
        city: row.get(at + 4)?,
        postal_code: row.get(at + 5)?,
        is_active: row.get(at + 6)?,
        created_at: time_at(row, at + 7)?,
        updated_at: time_at(row, at + 8)?,
        deactivated_at: opt_time_at(row, at + 9)?,
    })
}

/// How many columns `profile_columns!` selects.
const PROFILE_COLUMN_COUNT: usize = 15;

/// A profile and, when its location row joined, the location.
fn profile_with_location_row(row: &Row<'_>) -> rusqlite::Result<(Profile, Option<Location>)> {
    let profile = profile_row(row)?;
    let location = match row.get_ref(PROFILE_COLUMN_COUNT)? {
        rusqlite::types::ValueRef::Null => None,
        _ => Some(location_row_from(row, PROFILE_COLUMN_COUNT)?),
    };
    Ok((profile, location))
}

fn contact_row(row: &Row<'_>) -> rusqlite::Result<Contact> {
    let kind: String = row.get(2)?;
    Ok(Contact {
        id: ContactId::from_uuid(uuid_at(row, 0)?),
        profile_id: ProfileId::from_uuid(uuid_at(row, 1)?),
        kind: kind
            .parse::<ContactKind>()
            .map_err(|_| corrupt(2, Type::Text, "contact kind"))?,
        value: row.get(3)?,
        is_primary: row.get(4)?,
        is_active: row.get(5)?,
        created_at: time_at(row, 6)?,
        updated_at: time_at(row, 7)?,
        deactivated_at: opt_time_at(row, 8)?,
    })
}

fn job_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: JobId::from_uuid(uuid_at(row, 0)?),
        profile_id: ProfileId::from_uuid(uuid_at(row, 1)?),
        title: row.get(2)?,
        company: row.get(3)?,
        industry: row.get(4)?,
        start_date: opt_date_at(row, 5)?,
        end_date: opt_date_at(row, 6)?,
        is_active: row.get(7)?,
        created_at: time_at(row, 8)?,
        updated_at: time_at(row, 9)?,
        deactivated_at: opt_time_at(row, 10)?,
    })
}

fn session_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: SessionId::from_uuid(uuid_at(row, 0)?),
        user_id: UserId::from_uuid(uuid_at(row, 1)?),
        created_at: time_at(row, 2)?,
        last_used_at: time_at(row, 3)?,
        expires_at: time_at(row, 4)?,
        revoked_at: opt_time_at(row, 5)?,
    })
}

fn refresh_token_row(row: &Row<'_>) -> rusqlite::Result<RefreshTokenRow> {
    Ok(RefreshTokenRow {
        hash: row.get(0)?,
        session_id: SessionId::from_uuid(uuid_at(row, 1)?),
        user_id: UserId::from_uuid(uuid_at(row, 2)?),
        issued_at: time_at(row, 3)?,
        expires_at: time_at(row, 4)?,
        used_at: opt_time_at(row, 5)?,
    })
}

fn event_row(row: &Row<'_>) -> rusqlite::Result<SecurityEvent> {
    let kind: String = row.get(1)?;
    Ok(SecurityEvent {
        id: EventId::from_uuid(uuid_at(row, 0)?),
        kind: EventKind::from_name(&kind).ok_or_else(|| corrupt(1, Type::Text, "event kind"))?,
        user_id: opt_uuid_at(row, 2)?.map(UserId::from_uuid),
        actor_id: opt_uuid_at(row, 3)?.map(UserId::from_uuid),
        session_id: opt_uuid_at(row, 4)?.map(SessionId::from_uuid),
        occurred_at: time_at(row, 5)?,
    })
}

// ---------------------------------------------------------------------------
// The transaction.

/// A list query: `SELECT {columns} FROM {from} WHERE {conditions} ORDER BY
/// {order}`, counted with `SELECT COUNT(*) FROM {from} WHERE
/// {conditions}`. Every piece is a fixed fragment; `values` binds the
/// conditions' parameters in order.
struct List {
    columns: &'static str,
    from: &'static str,
    conditions: Vec<&'static str>,
    order: &'static str,
    values: Vec<Value>,
    /// How to count the matches when not with `COUNT(*)` over the list.
    count: Option<Count>,
}

/// A count from somewhere cheaper than the matching rows themselves:
/// `SELECT {expression} FROM {from} WHERE {conditions}`.
struct Count {
    expression: &'static str,
    from: &'static str,
    conditions: Vec<&'static str>,
    values: Vec<Value>,
}

struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl SqliteTx<'_> {
    fn execute(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(storage(context))
    }

    fn query_one<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
        context: &'static str,
    ) -> Result<Option<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_row(params, map).optional())
            .map_err(storage(context))
    }

    fn query_all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, map)?
                    .collect::<rusqlite::Result<Vec<T>>>()
            })
            .map_err(storage(context))
    }

    /// Runs a list query twice: once counting, once for the page in list
    /// order.
    fn page<T>(
        &self,
        list: List,
        page: PageRequest,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
        context: &'static str,
    ) -> Result<(Vec<T>, u64)> {
        let List {
            columns,
            from,
            conditions,
            order,
            mut values,
            count,
        } = list;
        let where_sql = where_clause(&conditions);
        let count_query = match &count {
            Some(count) => (
                format!(
                    "SELECT {} FROM {}{}",
                    count.expression,
                    count.from,
                    where_clause(&count.conditions)
                ),
                &count.values,
            ),
            None => (format!("SELECT COUNT(*) FROM {from}{where_sql}"), &values),
        };
        let total: i64 = self
            .conn
            .prepare_cached(&count_query.0)
            .and_then(|mut statement| {
                statement.query_row(params_from_iter(count_query.1.iter()), |row| row.get(0))
            })
            .map_err(storage(context))?;
        // The limit is written into the SQL (an integer of at most 100, so
        // few distinct statements): SQLite re-prepares a statement on every
        // run when its LIMIT is a bound parameter.
        let page_sql = format!(
            "SELECT {columns} FROM {from}{where_sql} ORDER BY {order} LIMIT {} OFFSET ?",
            page.limit()
        );
        values.push(Value::Integer(offset(page)));
        let rows = self.query_all(&page_sql, params_from_iter(values.iter()), map, context)?;
        let total = u64::try_from(total).map_err(|_| StorageError::msg("negative row count"))?;
        Ok((rows, total))
    }
}

impl Tx for SqliteTx<'_> {
    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let user = &row.user;
        self.execute(
            INSERT_USER,
            params![
                user.id.as_bytes(),
                user.username.as_str(),
                user.email.as_str(),
                row.password_hash.as_str(),
                user.is_active,
                user.is_super_admin,
                row.failed_logins,
                opt_micros(row.locked_until),
                micros(row.tokens_valid_after),
                micros(user.created_at),
                micros(user.updated_at),
                opt_micros(user.last_login_at),
                opt_micros(user.deactivated_at),
            ],
            "insert a user",
        )
        .map(drop)
    }

    fn get_user(&mut self, id: UserId) -> Result<Option<UserRow>> {
        self.query_one(GET_USER, [id.as_bytes()], user_row, "get a user")
    }

    fn get_user_by_username(&mut self, username: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_USERNAME,
            [username],
            user_row,
            "get a user by username",
        )
    }

    fn get_user_by_email(&mut self, email: &str) -> Result<Option<UserRow>> {
        self.query_one(GET_USER_BY_EMAIL, [email], user_row, "get a user by email")
    }

    fn update_user(&mut self, row: &UserRow) -> Result<bool> {
        let user = &row.user;
        self.execute(
            UPDATE_USER,
            params![
                user.id.as_bytes(),
                user.username.as_str(),
                user.email.as_str(),
                row.password_hash.as_str(),
                user.is_active,
                user.is_super_admin,
                row.failed_logins,
                opt_micros(row.locked_until),
                micros(row.tokens_valid_after),
                micros(user.updated_at),
                opt_micros(user.last_login_at),
                opt_micros(user.deactivated_at),
            ],
            "update a user",
        )
        .map(|changed| changed > 0)
    }

    fn delete_user(&mut self, id: UserId) -> Result<bool> {
        self.execute(DELETE_USER, [id.as_bytes()], "delete a user")
            .map(|changed| changed > 0)
    }

    fn list_users(&mut self, query: &UserQuery, page: PageRequest) -> Result<(Vec<User>, u64)> {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        conditions.extend(active_clause(query.active, IS_ACTIVE));
        if let Some(search) = &query.search {
            let pattern = super::like_substring(search);
            conditions.push(USER_SEARCH);
            values.push(Value::Text(pattern.clone()));
            values.push(Value::Text(pattern));
        }
        self.page(
            List {
                columns: user_columns!(),
                from: "users",
                conditions,
                order: "created_at DESC, id DESC",
                values,
                count: None,
            },
            page,
            |row| user_row(row).map(|row| row.user),
            "list users",
        )
    }

    fn insert_profile(&mut self, profile: &Profile) -> Result<()> {
        self.execute(
            INSERT_PROFILE,
            params![
                profile.id.as_bytes(),
                profile.user_id.as_bytes(),
                profile.first_name,
                profile.last_name,
                date_text(profile.date_of_birth),
                profile.gender,
                profile.location_id.as_ref().map(LocationId::as_bytes),
                profile.bio,
                profile.profile_picture_url,
                profile.is_public,
                profile.allow_contact,
                profile.is_active,
                micros(profile.created_at),
                micros(profile.updated_at),
                opt_micros(profile.deactivated_at),
            ],
            "insert a profile",
        )
        .map(drop)
    }

    fn get_profile(&mut self, id: ProfileId) -> Result<Option<Profile>> {
        self.query_one(GET_PROFILE, [id.as_bytes()], profile_row, "get a profile")
    }

    fn get_profile_by_user(&mut self, user_id: UserId) -> Result<Option<Profile>> {
        self.query_one(
            GET_PROFILE_BY_USER,
            [user_id.as_bytes()],
            profile_row,
            "get a profile by user",
        )
    }

    fn get_profile_details(
        &mut self,
        id: ProfileId,
        children: ActiveFilter,
    ) -> Result<Option<ProfileDetails>> {
        let Some((profile, location)) = self.query_one(
            GET_PROFILE_WITH_LOCATION,
            [id.as_bytes()],
            profile_with_location_row,
            "get a profile with its location",
        )?
        else {
            return Ok(None);
        };
        let contacts = self.list_contacts(id, children)?;
        let jobs = self.list_jobs(id, children)?;
        Ok(Some(ProfileDetails {
            profile,
            location,
            contacts,
            jobs,
        }))
    }

    fn update_profile(&mut self, profile: &Profile) -> Result<bool> {
        let changed = self.execute(
            UPDATE_PROFILE_FIELDS,
            params![
                profile.id.as_bytes(),
                profile.first_name,
                profile.last_name,
                date_text(profile.date_of_birth),
                profile.gender,
                profile.bio,
                profile.profile_picture_url,
                profile.allow_contact,
                micros(profile.updated_at),
                opt_micros(profile.deactivated_at),
            ],
            "update a profile",
        )?;
        if changed > 0 {
            self.execute(
                UPDATE_PROFILE_KEYS,
                params![
                    profile.id.as_bytes(),
                    profile.location_id.as_ref().map(LocationId::as_bytes),
                    profile.is_public,
                    profile.is_active,
                ],
                "update a profile",
            )?;
        }
        Ok(changed > 0)
    }

    fn list_profiles(
        &mut self,
        query: &ProfileQuery,
        visible_to: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Profile>, u64)> {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        conditions.extend(active_clause(query.active, P_IS_ACTIVE));
        match query.is_public {
            Some(true) => conditions.push("p.is_public = 1"),
            Some(false) => conditions.push("p.is_public = 0"),
            None => {}
        }
        if let Some(user_id) = visible_to {
            conditions.push(PROFILE_VISIBLE_TO);
            values.push(Value::Blob(user_id.as_bytes().to_vec()));
        }
        if let Some(name) = &query.name {
            let pattern = super::like_substring(name);
            conditions.push(PROFILE_NAME);
            values.push(Value::Text(pattern.clone()));
            values.push(Value::Text(pattern));
        }
        if let Some(country) = &query.country {
            conditions.push(PROFILE_COUNTRY);
            values.push(Value::Text(country.to_ascii_uppercase()));
        }
        if let Some(city) = &query.city {
            conditions.push(PROFILE_CITY);
            values.push(Value::Text(city.clone()));
        }
        if let Some(company) = &query.company {
            conditions.push(PROFILE_COMPANY);
            values.push(Value::Text(company.clone()));
        }
        if let Some(industry) = &query.industry {
            conditions.push(PROFILE_INDUSTRY);
            values.push(Value::Text(industry.clone()));
        }
        let by_place_and_flags = query.name.is_none()
            && query.city.is_none()
            && query.company.is_none()
            && query.industry.is_none()
            && visible_to.is_none();
        let count = by_place_and_flags.then(|| profile_count(query));
        self.page(
            List {
                columns: profile_columns!(),
                from: "profiles p",
                conditions,
                order: "p.created_at DESC, p.id DESC",
                values,
                count,
            },
            page,
            profile_row,
            "list profiles",
        )
    }

    fn insert_location(&mut self, location: &Location) -> Result<()> {
        self.execute(
            INSERT_LOCATION,
            params![
                location.id.as_bytes(),
                location.user_id.as_bytes(),
                location.country.as_str(),
                location.state_province,
                location.city,
                location.postal_code,
                location.is_active,
                micros(location.created_at),
                micros(location.updated_at),
                opt_micros(location.deactivated_at),
            ],
            "insert a location",
        )
        .map(drop)
    }

    fn get_location(&mut self, id: LocationId) -> Result<Option<Location>> {
        self.query_one(
            GET_LOCATION,
            [id.as_bytes()],
            location_row,
            "get a location",
        )
    }

    fn update_location(&mut self, location: &Location) -> Result<bool> {
        self.execute(
            UPDATE_LOCATION,
            params![
                location.id.as_bytes(),
                location.country.as_str(),
                location.state_province,
                location.city,
                location.postal_code,
                location.is_active,
                micros(location.updated_at),
                opt_micros(location.deactivated_at),
            ],
            "update a location",
        )
        .map(|changed| changed > 0)
    }

    fn list_locations(
        &mut self,
        query: &LocationQuery,
        page: PageRequest,
    ) -> Result<(Vec<Location>, u64)> {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        conditions.extend(active_clause(query.active, IS_ACTIVE));
        if let Some(user_id) = query.user_id {
            conditions.push("user_id = ?");
            values.push(Value::Blob(user_id.as_bytes().to_vec()));
        }
        if let Some(country) = &query.country {
            conditions.push("country = ?");
            values.push(Value::Text(country.to_ascii_uppercase()));
        }
        self.page(
            List {
                columns: location_columns!(),
                from: "locations",
                conditions,
                order: "created_at DESC, id DESC",
                values,
                count: None,
            },
            page,
            location_row,
            "list locations",
        )
    }

    fn insert_contact(&mut self, contact: &Contact) -> Result<()> {
        self.execute(
            INSERT_CONTACT,
            params![
                contact.id.as_bytes(),
                contact.profile_id.as_bytes(),
                contact.kind.as_str(),
                contact.value,
                contact.is_primary,
                contact.is_active,
                micros(contact.created_at),
                micros(contact.updated_at),
                opt_micros(contact.deactivated_at),
            ],
            "insert a contact",
        )
        .map(drop)
    }

    fn get_contact(&mut self, id: ContactId) -> Result<Option<Contact>> {
        self.query_one(GET_CONTACT, [id.as_bytes()], contact_row, "get a contact")
    }

    fn update_contact(&mut self, contact: &Contact) -> Result<bool> {
        self.execute(
            UPDATE_CONTACT,
            params![
                contact.id.as_bytes(),
                contact.kind.as_str(),
                contact.value,
                contact.is_primary,
                contact.is_active,
                micros(contact.updated_at),
                opt_micros(contact.deactivated_at),
            ],
            "update a contact",
        )
        .map(|changed| changed > 0)
    }

    fn list_contacts(
        &mut self,
        profile_id: ProfileId,
        active: ActiveFilter,
    ) -> Result<Vec<Contact>> {
        // A profile's few contacts are ordered here: an SQL sort would set
        // up a sorter costing more than the query.
        let mut contacts = self.query_all(
            LIST_CONTACTS,
            params![profile_id.as_bytes(), active_param(active)],
            contact_row,
            "list contacts",
        )?;
        contacts.sort_unstable_by(Contact::list_order);
        Ok(contacts)
    }

    fn clear_primary_contact(
        &mut self,
        profile_id: ProfileId,
        kind: ContactKind,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        self.execute(
            CLEAR_PRIMARY_CONTACT,
            params![profile_id.as_bytes(), kind.as_str(), micros(now)],
            "clear the primary contact",
        )
        .map(count)
    }

    fn insert_job(&mut self, job: &Job) -> Result<()> {
        self.execute(
            INSERT_JOB,
            params![
                job.id.as_bytes(),
                job.profile_id.as_bytes(),
                job.title,
                job.company,
                job.industry,
                date_text(job.start_date),
                date_text(job.end_date),
                job.is_active,
                micros(job.created_at),
                micros(job.updated_at),
                opt_micros(job.deactivated_at),
            ],
            "insert a job",
        )
        .map(drop)
    }

    fn get_job(&mut self, id: JobId) -> Result<Option<Job>> {
        self.query_one(GET_JOB, [id.as_bytes()], job_row, "get a job")
    }

    fn update_job(&mut self, job: &Job) -> Result<bool> {
        self.execute(
            UPDATE_JOB,
            params![
                job.id.as_bytes(),
                job.title,
                job.company,
                job.industry,
                date_text(job.start_date),
                date_text(job.end_date),
                job.is_active,
                micros(job.updated_at),
                opt_micros(job.deactivated_at),
            ],
            "update a job",
        )
        .map(|changed| changed > 0)
    }

    fn list_jobs(&mut self, profile_id: ProfileId, active: ActiveFilter) -> Result<Vec<Job>> {
        // Current first, then newest start (none last), newest, highest id:
        // ordered here, as the contacts are.
        let mut jobs = self.query_all(
            LIST_JOBS,
            params![profile_id.as_bytes(), active_param(active)],
            job_row,
            "list jobs",
        )?;
        jobs.sort_unstable_by(Job::list_order);
        Ok(jobs)
    }

    fn insert_session(&mut self, session: &Session) -> Result<()> {
        self.execute(
            INSERT_SESSION,
            params![
                session.id.as_bytes(),
                session.user_id.as_bytes(),
                micros(session.created_at),
                micros(session.last_used_at),
                micros(session.expires_at),
                opt_micros(session.revoked_at),
            ],
            "insert a session",
        )
        .map(drop)
    }

    fn get_session(&mut self, id: SessionId) -> Result<Option<Session>> {
        self.query_one(GET_SESSION, [id.as_bytes()], session_row, "get a session")
    }

    fn update_session(&mut self, session: &Session) -> Result<bool> {
        self.execute(
            UPDATE_SESSION,
            params![
                session.id.as_bytes(),
                micros(session.last_used_at),
                micros(session.expires_at),
                opt_micros(session.revoked_at),
            ],
            "update a session",
        )
        .map(|changed| changed > 0)
    }

    fn list_sessions(
        &mut self,
        user_id: UserId,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Session>> {
        self.query_all(
            LIST_SESSIONS,
            params![user_id.as_bytes(), opt_micros(active_at)],
            session_row,
            "list sessions",
        )
    }

    fn revoke_sessions(
        &mut self,
        user_id: UserId,
        now: DateTime<Utc>,
        keep: Option<SessionId>,
    ) -> Result<u64> {
        self.execute(
            REVOKE_SESSIONS,
            params![
                user_id.as_bytes(),
                micros(now),
                keep.as_ref().map(SessionId::as_bytes),
            ],
            "revoke sessions",
        )
        .map(count)
    }

    fn insert_refresh_token(&mut self, token: &RefreshTokenRow) -> Result<()> {
        self.execute(
            INSERT_REFRESH_TOKEN,
            params![
                token.hash,
                token.session_id.as_bytes(),
                token.user_id.as_bytes(),
                micros(token.issued_at),
                micros(token.expires_at),
                opt_micros(token.used_at),
            ],
            "insert a refresh token",
        )
        .map(drop)
    }

    fn get_refresh_token(&mut self, hash: &[u8; 32]) -> Result<Option<RefreshTokenRow>> {
        // No row lock in SQLite: a write transaction already holds the
        // database's write lock (BEGIN IMMEDIATE).
        self.query_one(
            GET_REFRESH_TOKEN,
            [hash],
            refresh_token_row,
            "get a refresh token",
        )
    }

    fn mark_refresh_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool> {
        self.execute(
            MARK_REFRESH_TOKEN_USED,
            params![hash, micros(now)],
            "mark a refresh token used",
        )
        .map(|changed| changed > 0)
    }

    fn insert_event(&mut self, event: &SecurityEvent) -> Result<()> {
        self.execute(
            INSERT_EVENT,
            params![
                event.id.as_bytes(),
                event.kind.as_str(),
                event.user_id.as_ref().map(UserId::as_bytes),
                event.actor_id.as_ref().map(UserId::as_bytes),
                event.session_id.as_ref().map(SessionId::as_bytes),
                micros(event.occurred_at),
            ],
            "insert a security event",
        )
        .map(drop)
    }

    fn list_events(
        &mut self,
        query: &EventQuery,
        page: PageRequest,
    ) -> Result<(Vec<SecurityEvent>, u64)> {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        if let Some(user_id) = query.user_id {
            conditions.push("user_id = ?");
            values.push(Value::Blob(user_id.as_bytes().to_vec()));
        }
        if let Some(kind) = query.kind {
            conditions.push("kind = ?");
            values.push(Value::Text(kind.as_str().to_owned()));
        }
        self.page(
            List {
                columns: event_columns!(),
                from: "security_events",
                conditions,
                order: "occurred_at DESC, id DESC",
                values,
                count: None,
            },
            page,
            event_row,
            "list security events",
        )
    }

    fn get_setting(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.query_one(GET_SETTING, [key], |row| row.get(0), "get a setting")
    }

    fn insert_setting_if_absent(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.execute(
            INSERT_SETTING_IF_ABSENT,
            params![key, value],
            "insert a setting",
        )
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    fn file_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("accounts.db")).unwrap();
        (dir, store)
    }

    fn pragma(conn: &Connection, name: &str) -> String {
        conn.pragma_query_value(None, name, |row| {
            row.get::<_, Value>(0).map(|value| match value {
                Value::Integer(number) => number.to_string(),
                Value::Text(text) => text,
                other => format!("{other:?}"),
            })
        })
        .unwrap()
    }

    #[test]
    fn conformance_in_memory() {
        conformance::run_all(&SqliteStore::open("sqlite::memory:").unwrap());
    }

    #[test]
    fn conformance_on_a_file() {
        conformance::run_all(&file_store().1);
    }

    #[test]
    fn accepted_urls_name_memory_or_a_path() {
        let cases = [
            ("sqlite::memory:", Target::Memory),
            (
                "sqlite://data/accounts.db",
                Target::File("data/accounts.db".into()),
            ),
            (
                "sqlite:///var/lib/a.db",
                Target::File("/var/lib/a.db".into()),
            ),
            ("sqlite:accounts.db", Target::File("accounts.db".into())),
        ];
        for (url, target) in cases {
            assert_eq!(parse_url(url).unwrap(), target, "{url}");
        }
    }

    #[test]
    fn other_urls_are_config_errors() {
        for url in [
            "",
            "accounts.db",
            "postgres://user@host/db",
            "sqlite:",
            "sqlite://",
            "sqlite:///",
            "sqlite::memory",
            "sqlite:accounts.db?mode=ro",
            "sqlite://data/#fragment",
            "SQLITE::memory:",
        ] {
            let error = SqliteStore::open(url).unwrap_err();
            assert!(matches!(error, Error::Config(_)), "{url}: {error:?}");
        }
    }

    #[test]
    fn open_in_a_missing_directory_is_a_storage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("accounts.db");
        let error = SqliteStore::open_path(path).unwrap_err();
        assert!(matches!(error, Error::Storage(_)), "{error:?}");
    }

    #[test]
    fn file_connections_use_wal_and_the_pragmas() {
        let (_dir, store) = file_store();
        let conn = store.pool.get().unwrap();
        assert_eq!(pragma(&conn, "journal_mode"), "wal");
        assert_eq!(pragma(&conn, "foreign_keys"), "1");
        assert_eq!(pragma(&conn, "synchronous"), "1", "NORMAL");
        assert_eq!(pragma(&conn, "busy_timeout"), "5000");
    }

    #[test]
    fn memory_connections_enforce_foreign_keys() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        let conn = store.pool.get().unwrap();
        assert_eq!(pragma(&conn, "foreign_keys"), "1");
        drop(conn);
        let error = store
            .write(&mut |tx| {
                tx.insert_session(&Session {
                    id: SessionId::new(),
                    user_id: UserId::new(),
                    created_at: Utc::now(),
                    last_used_at: Utc::now(),
                    expires_at: Utc::now(),
                    revoked_at: None,
                })
            })
            .unwrap_err();
        assert!(matches!(error, Error::Storage(_)), "{error:?}");
    }

    #[test]
    fn each_memory_store_is_a_fresh_database_shared_by_its_connections() {
        let first = SqliteStore::open("sqlite::memory:").unwrap();
        let second = SqliteStore::open("sqlite::memory:").unwrap();
        let writer = first.pool.get().unwrap();
        let reader = first.pool.get().unwrap();
        writer
            .execute("INSERT INTO settings (key, value) VALUES ('k', x'01')", [])
            .unwrap();
        let seen: Vec<u8> = reader
            .query_row("SELECT value FROM settings WHERE key = 'k'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(seen, vec![1]);
        let elsewhere = second
            .pool
            .get()
            .unwrap()
            .query_row("SELECT COUNT(*) FROM settings", [], |row| {
                row.get::<_, i64>(0)
            })
            .unwrap();
        assert_eq!(elsewhere, 0);
    }

    #[test]
    fn migrations_are_applied_once_and_data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.db");
        let first = SqliteStore::open_path(&path).unwrap();
        assert_eq!(first.schema_version().unwrap(), 1);
        first
            .write(&mut |tx| tx.insert_setting_if_absent("kept", b"yes"))
            .unwrap();
        drop(first);
        let url = format!("sqlite://{}", path.display());
        let second = SqliteStore::open(&url).unwrap();
        assert_eq!(second.schema_version().unwrap(), 1);
        let mut value = None;
        second
            .read(&mut |tx| {
                value = tx.get_setting("kept")?;
                Ok(())
            })
            .unwrap();
        assert_eq!(value, Some(b"yes".to_vec()));
    }

    /// Writes a row the schema's checks would refuse, as a damaged or
    /// hand-edited file might hold.
    fn corrupt(store: &SqliteStore, sql: &str) {
        let conn = store.pool.get().unwrap();
        conn.execute_batch("PRAGMA ignore_check_constraints = ON")
            .unwrap();
        conn.execute_batch(sql).unwrap();
        conn.execute_batch("PRAGMA ignore_check_constraints = OFF")
            .unwrap();
    }

    #[test]
    fn corrupt_rows_are_storage_errors_not_panics() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        corrupt(
            &store,
            "INSERT INTO security_events (id, kind, occurred_at) \
             VALUES (x'00000000000000000000000000000001', 'no_such_kind', 0);
             INSERT INTO users (id, username, email, password_hash, is_active, is_super_admin, \
                 failed_logins, tokens_valid_after, created_at, updated_at) \
             VALUES (x'0102', 'short_id', 'short@example.com', 'h', 1, 0, 0, 0, 0, 0);
             INSERT INTO users (id, username, email, password_hash, is_active, is_super_admin, \
                 failed_logins, tokens_valid_after, created_at, updated_at) \
             VALUES (x'00000000000000000000000000000002', 'far_future', 'far@example.com', \
                 'h', 1, 0, 0, 0, 9223372036854775807, 0);",
        );
        let events = store.read(&mut |tx| {
            tx.list_events(&EventQuery::default(), PageRequest::default())
                .map(drop)
        });
        assert!(matches!(events, Err(Error::Storage(_))), "{events:?}");
        for username in ["short_id", "far_future"] {
            let user = store.read(&mut |tx| tx.get_user_by_username(username).map(drop));
            assert!(
                matches!(user, Err(Error::Storage(_))),
                "{username}: {user:?}"
            );
        }
    }

    #[test]
    fn storage_errors_keep_their_source() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        let conn = store.connection().unwrap();
        let error = conn
            .execute("INSERT INTO no_such_table VALUES (1)", [])
            .map_err(storage("insert"))
            .unwrap_err();
        let Error::Storage(inner) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(inner.to_string(), "sqlite: insert");
        let source = std::error::Error::source(inner).unwrap();
        assert!(source.to_string().contains("no_such_table"), "{source}");
    }

    #[test]
    fn a_reused_primary_key_is_a_conflict_on_id() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        let session = Session {
            id: SessionId::new(),
            user_id: UserId::new(),
            created_at: Utc::now(),
            last_used_at: Utc::now(),
            expires_at: Utc::now(),
            revoked_at: None,
        };
        let event = SecurityEvent {
            id: EventId::new(),
            kind: EventKind::LoginFailed,
            user_id: Some(session.user_id),
            actor_id: None,
            session_id: Some(session.id),
            occurred_at: Utc::now(),
        };
        store.write(&mut |tx| tx.insert_event(&event)).unwrap();
        let error = store.write(&mut |tx| tx.insert_event(&event)).unwrap_err();
        assert!(
            matches!(error, Error::Conflict { field: "id" }),
            "{error:?}"
        );
    }

    fn hammer(store: &SqliteStore) {
        std::thread::scope(|scope| {
            for thread in 0..8 {
                scope.spawn(move || {
                    for index in 0..25 {
                        let key = format!("hammer.{thread}.{index}");
                        store
                            .write(&mut |tx| {
                                let _ = tx.get_setting(&key)?;
                                tx.insert_setting_if_absent(&key, b"x")
                            })
                            .unwrap();
                        store
                            .read(&mut |tx| tx.get_setting(&key).map(drop))
                            .unwrap();
                    }
                });
            }
        });
    }

    #[test]
    fn concurrent_writers_wait_for_the_lock_instead_of_failing() {
        hammer(&SqliteStore::open("sqlite::memory:").unwrap());
        hammer(&file_store().1);
    }

    #[test]
    fn a_failed_commit_or_closure_leaves_the_connection_usable() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        for _ in 0..(POOL_SIZE * 2) {
            let result = store.write(&mut |tx| {
                tx.insert_setting_if_absent("x", b"1")?;
                Err(Error::Forbidden)
            });
            assert!(matches!(result, Err(Error::Forbidden)));
        }
        store
            .write(&mut |tx| tx.insert_setting_if_absent("x", b"2"))
            .unwrap();
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    /// The query plan of `sql`, one detail line per step.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = statement
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn hot_queries_are_served_by_indexes() {
        let store = SqliteStore::open("sqlite::memory:").unwrap();
        let conn = store.connection().unwrap();
        let listing = "p.is_active = 1 AND p.is_public = 1";
        let queries = [
            GET_USER.replace("?1", "x'00'"),
            GET_USER_BY_USERNAME.replace("?1", "'ada'"),
            GET_USER_BY_EMAIL.replace("?1", "'ada@example.com'"),
            GET_PROFILE.replace("?1", "x'00'"),
            GET_PROFILE_BY_USER.replace("?1", "x'00'"),
            LIST_CONTACTS.replace("?1", "x'00'").replace("?2", "1"),
            LIST_SESSIONS.replace("?1", "x'00'").replace("?2", "NULL"),
            GET_REFRESH_TOKEN.replace("?1", "x'00'"),
            "SELECT id FROM users WHERE is_active = 1 \
             ORDER BY created_at DESC, id DESC LIMIT 20"
                .to_owned(),
            format!("SELECT COUNT(*) FROM profiles p WHERE {listing} AND p.country = 'FR'"),
            format!(
                "SELECT p.id FROM profiles p WHERE {listing} AND p.country = 'FR' \
                 ORDER BY p.created_at DESC, p.id DESC LIMIT 20 OFFSET 0"
            ),
            format!(
                "SELECT p.id FROM profiles p WHERE {listing} AND {} \
                 ORDER BY p.created_at DESC, p.id DESC LIMIT 20",
                PROFILE_COMPANY.replace('?', "'acme'")
            ),
            "SELECT id FROM security_events WHERE user_id = x'00' \
             ORDER BY occurred_at DESC, id DESC LIMIT 20"
                .to_owned(),
            LIST_JOBS.replace("?1", "x'00'").replace("?2", "1"),
            GET_PROFILE_WITH_LOCATION.replace("?1", "x'00'"),
        ];
        for sql in queries {
            let steps = plan(&conn, &sql);
            assert!(
                steps
                    .iter()
                    .all(|step| !step.starts_with("SCAN") && !step.contains("TEMP B-TREE")),
                "{sql}\n{steps:#?}"
            );
        }
    }
}
