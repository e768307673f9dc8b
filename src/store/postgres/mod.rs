//! The PostgreSQL backend: an r2d2 pool of synchronous `postgres` clients
//! (no TLS), refinery migrations embedded from `migrations/postgres`, one
//! SQL statement per operation, prepared once per connection.
//!
//! Storage conventions (see the migration): ids are `uuid`, times
//! `timestamptz` (microseconds), dates `date`, hashes and setting values
//! `bytea`. Case-insensitive matches compare `lower(...)` on both sides and
//! have expression indexes.
//!
//! Isolation: a read is one `REPEATABLE READ READ ONLY` transaction (one
//! snapshot for all its statements). A write is a `REPEATABLE READ`
//! transaction: the facade's read-modify-write closures (the failed-login
//! counter, token rotation, set-primary) then never lose an update: a
//! transaction that would overwrite a row changed since its snapshot fails
//! with a serialization error, and the whole closure is run again on a new
//! snapshot, a few times at most. Rows where a race is expected are locked
//! up front (`SELECT ... FOR UPDATE` of a refresh token, the profile row
//! before its primary contact changes), so contenders queue instead of
//! failing and retrying.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement, Transaction};
use r2d2::{ManageConnection, Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::{PasswordHash, RefreshTokenRow, Store, Tx, UserRow};
use crate::error::{Error, Result, StorageError};
use crate::model::{
    ActiveFilter, Contact, ContactId, ContactKind, CountryCode, Email, EventId, EventKind,
    EventQuery, Job, JobId, Location, LocationId, LocationQuery, PageRequest, Profile,
    ProfileDetails, ProfileId, ProfileQuery, SecurityEvent, Session, SessionId, User, UserId,
    UserQuery, Username,
};

mod embedded_postgres {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections in the pool.
const POOL_SIZE: u32 = 8;
/// How long `open` and a pooled connect wait for the server, unless the URL
/// sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per connection: every static statement below
/// plus the variants of the dynamic list queries. Past this the cache is
/// emptied (it never is in practice).
const STATEMENT_CACHE_CAPACITY: usize = 256;
/// Runs of one transaction closure, counting the first, before a
/// serialization failure or deadlock is returned as a storage error.
const MAX_ATTEMPTS: u32 = 8;

/// A [`Store`] on PostgreSQL.
///
/// ```no_run
/// use aai_accounts::store::{PostgresStore, Store};
///
/// let store = PostgresStore::open("postgres://accounts@localhost/accounts")?;
/// assert!(store.schema_version()? >= 1);
/// # Ok::<(), aai_accounts::Error>(())
/// ```
///
/// `Debug` shows the user, hosts, ports and database, never the password.
pub struct PostgresStore {
    pool: Pool<Manager>,
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database named by `url` and applies pending
    /// migrations.
    ///
    /// `url` is a `postgres://` or `postgresql://` URL as libpq accepts it:
    /// `postgres://user:password@host:port/database?param=value`, with the
    /// parameters of the `postgres` crate (`sslmode`, `connect_timeout`,
    /// `application_name`, `options`, ...). Connections are not encrypted
    /// (`NoTls`): use a local socket, a private network or a TLS proxy.
    /// The tables are created in the first schema of the connection's
    /// `search_path` (`public` by default; set another with
    /// `options=-c%20search_path%3Dmyschema`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the URL cannot be parsed (the message never
    /// repeats the URL), and [`Error::Storage`] when the server cannot be
    /// reached or the migrations fail.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let config = parse_url(url)?;
        let target = describe(&config);
        // Connect once outside the pool: a refused connection then fails
        // at once with its cause (the pool would retry until its timeout),
        // and the migrations run on it.
        let mut client = config
            .connect(NoTls)
            .map_err(storage("connect to the server"))?;
        migrate(&mut client)?;
        drop(client);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT * 3)
            .build_unchecked(Manager(PostgresConnectionManager::new(config, NoTls)));
        Ok(PostgresStore { pool, target })
    }

    fn connection(&self) -> Result<PooledConnection<Manager>> {
        self.pool.get().map_err(storage("get a connection"))
    }

    /// Runs `f` in a transaction, again on a serialization failure or a
    /// deadlock.
    fn transaction(
        &self,
        read_only: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        let mut attempt = 1;
        loop {
            let mut conn = self.connection()?;
            match run_once(&mut conn, read_only, f) {
                Ok(()) => return Ok(()),
                Err(Failure {
                    retryable: true, ..
                }) if attempt < MAX_ATTEMPTS => {
                    drop(conn);
                    backoff(attempt);
                    attempt += 1;
                }
                Err(Failure { error, .. }) => return Err(error),
            }
        }
    }
}

impl Store for PostgresStore {
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction(true, f)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction(false, f)
    }

    fn schema_version(&self) -> Result<u32> {
        let mut conn = self.connection()?;
        let last = embedded_postgres::migrations::runner()
            .get_last_applied_migration(&mut conn.client)
            .map_err(storage("read the schema version"))?;
        match last {
            None => Ok(0),
            Some(migration) => u32::try_from(migration.version())
                .map_err(|_| StorageError::msg("negative schema version").into()),
        }
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }
}

/// Parses a `postgres://` URL, adding the defaults of this crate.
fn parse_url(url: &str) -> Result<Config> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::config(
            "unsupported postgres url: expected postgres://... or postgresql://...",
        ));
    }
    // The parser's messages name an option, never a value, so they cannot
    // carry the password.
    let mut config = Config::from_str(url)
        .map_err(|error| Error::config(format!("invalid postgres url: {error}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("aai-accounts");
    }
    Ok(config)
}

/// `user@host:port/database`, for `Debug`: everything but the password.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(index).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// Applies pending migrations, one process at a time per schema.
fn migrate(client: &mut Client) -> Result<()> {
    // Two processes opening a fresh database at once would both try to
    // create the tables; a session-level advisory lock, keyed by the
    // target schema, makes the second wait and then find them applied. It
    // is released when this connection closes, even after a failure.
    client
        .execute(
            "SELECT pg_advisory_lock(hashtext('aai-accounts migrations ' \
             || coalesce(current_schema(), '')))",
            &[],
        )
        .map_err(storage("lock the migrations"))?;
    embedded_postgres::migrations::runner()
        .run(client)
        .map_err(storage("apply migrations"))?;
    Ok(())
}

/// Sleeps a little, more after each failed attempt, with jitter so
/// contenders do not collide again in step.
fn backoff(attempt: u32) {
    let mut jitter = [0u8; 1];
    let _ = getrandom::fill(&mut jitter);
    let millis = (1u64 << attempt.min(6)) + u64::from(jitter[0] % 8);
    std::thread::sleep(Duration::from_millis(millis));
}

// ---------------------------------------------------------------------------
// Connections: a postgres client and its prepared statements.

/// The pool's connection manager: `r2d2_postgres`'s, plus a statement
/// cache per connection (the `postgres` crate has none).
#[derive(Debug)]
struct Manager(PostgresConnectionManager<NoTls>);

struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> std::result::Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

/// A failed run of a transaction closure, and whether running it again
/// may succeed.
struct Failure {
    error: Error,
    retryable: bool,
}

/// One run of `f` in one transaction.
fn run_once(
    conn: &mut Connection,
    read_only: bool,
    f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
) -> std::result::Result<(), Failure> {
    let Connection { client, statements } = conn;
    let transaction = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(read_only)
        .start()
        .map_err(|error| Failure {
            retryable: is_retryable(&error),
            error: storage("begin a transaction")(error),
        })?;
    let mut tx = PgTx {
        transaction,
        statements,
        read_only,
        retryable: false,
        failed: false,
    };
    let outcome = f(&mut tx);
    let PgTx {
        transaction,
        retryable,
        failed,
        ..
    } = tx;
    // Dropping the transaction rolls it back: after an error of `f`, and
    // when committing fails.
    if let Err(error) = outcome {
        return Err(Failure { error, retryable });
    }
    if failed {
        // Postgres aborts a transaction at its first failed statement and
        // would answer COMMIT with a silent ROLLBACK: never report success
        // for that.
        return Err(Failure {
            error: StorageError::msg(
                "postgres: a statement failed and the transaction was rolled back",
            )
            .into(),
            retryable,
        });
    }
    let end = if read_only {
        transaction.rollback()
    } else {
        transaction.commit()
    };
    end.map_err(|error| Failure {
        retryable: is_retryable(&error),
        error: storage("commit")(error),
    })
}

fn is_retryable(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

// ---------------------------------------------------------------------------
// Errors.

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
            .downcast_ref::<postgres::Error>()
            .and_then(conflict_field)
        {
            Some(field) => Error::Conflict { field },
            None => Error::Storage(StorageError::new(format!("postgres: {context}"), error)),
        }
    }
}

/// Any error of the backend's libraries, or a row that does not decode,
/// kept private.
struct BackendError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl From<postgres::Error> for BackendError {
    fn from(error: postgres::Error) -> Self {
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

impl From<Corrupt> for BackendError {
    fn from(error: Corrupt) -> Self {
        BackendError(Box::new(error))
    }
}

/// The field a unique violation is about, from the violated constraint's
/// name (the names are those of `migrations/postgres`).
fn conflict_field(error: &postgres::Error) -> Option<&'static str> {
    if error.code() != Some(&SqlState::UNIQUE_VIOLATION) {
        return None;
    }
    let constraint = error.as_db_error()?.constraint()?;
    Some(match constraint {
        "users_username_lower" => "username",
        "users_email" => "email",
        "profiles_one_active_per_user" => "user_id",
        "contacts_one_primary_per_kind" => "is_primary",
        "refresh_tokens_pkey" => "hash",
        "settings_pkey" => "key",
        _ if constraint.ends_with("_pkey") => "id",
        _ => return None,
    })
}

/// A row whose value does not decode into the model (a damaged or
/// hand-edited database), or a value the schema cannot hold.
#[derive(Debug)]
struct Corrupt(String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

/// What a row mapping fails with.
enum MapError {
    Postgres(postgres::Error),
    Corrupt(Corrupt),
}

impl From<postgres::Error> for MapError {
    fn from(error: postgres::Error) -> Self {
        MapError::Postgres(error)
    }
}

impl From<MapError> for BackendError {
    fn from(error: MapError) -> Self {
        match error {
            MapError::Postgres(error) => error.into(),
            MapError::Corrupt(error) => error.into(),
        }
    }
}

type MapResult<T> = std::result::Result<T, MapError>;

fn corrupt(index: usize, what: &str) -> MapError {
    MapError::Corrupt(Corrupt(format!("invalid {what} in column {index}")))
}

// ---------------------------------------------------------------------------
// Conversions between model values and SQL values.

fn failed_logins_param(value: u32) -> Result<i32> {
    i32::try_from(value).map_err(|_| {
        StorageError::new(
            "postgres: failed_logins out of range",
            Corrupt(value.to_string()),
        )
        .into()
    })
}

fn limit_offset(page: PageRequest) -> [i64; 2] {
    [
        i64::try_from(page.limit()).unwrap_or(i64::MAX),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    ]
}

fn uuid_at(row: &Row, index: usize) -> MapResult<uuid::Uuid> {
    Ok(row.try_get::<_, uuid::Uuid>(index)?)
}

fn opt_uuid_at(row: &Row, index: usize) -> MapResult<Option<uuid::Uuid>> {
    Ok(row.try_get::<_, Option<uuid::Uuid>>(index)?)
}

fn text_at(row: &Row, index: usize) -> MapResult<String> {
    Ok(row.try_get::<_, String>(index)?)
}

fn opt_text_at(row: &Row, index: usize) -> MapResult<Option<String>> {
    Ok(row.try_get::<_, Option<String>>(index)?)
}

fn bool_at(row: &Row, index: usize) -> MapResult<bool> {
    Ok(row.try_get::<_, bool>(index)?)
}

/// Times decode with checked arithmetic: `infinity` or a time past
/// chrono's range is a decoding error, not a panic.
fn time_at(row: &Row, index: usize) -> MapResult<DateTime<Utc>> {
    Ok(row.try_get::<_, DateTime<Utc>>(index)?)
}

fn opt_time_at(row: &Row, index: usize) -> MapResult<Option<DateTime<Utc>>> {
    Ok(row.try_get::<_, Option<DateTime<Utc>>>(index)?)
}

fn opt_date_at(row: &Row, index: usize) -> MapResult<Option<NaiveDate>> {
    Ok(row.try_get::<_, Option<NaiveDate>>(index)?)
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

const IS_ACTIVE: [&str; 2] = ["is_active = true", "is_active = false"];
const P_IS_ACTIVE: [&str; 2] = ["p.is_active = true", "p.is_active = false"];

/// `Some(true)`/`Some(false)` for an `is_active = $n` parameter, `None`
/// for all.
fn active_param(filter: ActiveFilter) -> Option<bool> {
    match filter {
        ActiveFilter::Active => Some(true),
        ActiveFilter::Inactive => Some(false),
        ActiveFilter::All => None,
    }
}

/// Joins fixed condition fragments, written with `?` placeholders, into a
/// `WHERE` clause with numbered ones (`$1`, `$2`, ...); returns it and the
/// next free number.
fn where_clause(conditions: &[&'static str]) -> (String, usize) {
    let mut sql = String::new();
    let mut next = 1;
    for (index, condition) in conditions.iter().enumerate() {
        sql.push_str(if index == 0 { " WHERE " } else { " AND " });
        for (position, part) in condition.split('?').enumerate() {
            if position > 0 {
                sql.push('$');
                sql.push_str(&next.to_string());
                next += 1;
            }
            sql.push_str(part);
        }
    }
    (sql, next)
}

// ---------------------------------------------------------------------------
// SQL (column lists come from `sql_common/columns.rs`).

const INSERT_USER: &str = concat!(
    "INSERT INTO users (",
    user_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
const GET_USER: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
// Served by the unique index on lower(username).
const GET_USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE lower(username) = lower($1)"
);
const GET_USER_BY_EMAIL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1");
const UPDATE_USER: &str = "UPDATE users SET username = $2, email = $3, password_hash = $4, \
     is_active = $5, is_super_admin = $6, failed_logins = $7, locked_until = $8, \
     tokens_valid_after = $9, updated_at = $10, last_login_at = $11, deactivated_at = $12 \
     WHERE id = $1";
const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";
const USER_SEARCH: &str = "(lower(username) LIKE ? ESCAPE '\\' OR lower(email) LIKE ? ESCAPE '\\')";

const INSERT_PROFILE: &str = "INSERT INTO profiles (id, user_id, first_name, last_name, \
     date_of_birth, gender, location_id, bio, profile_picture_url, is_public, allow_contact, \
     is_active, created_at, updated_at, deactivated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const GET_PROFILE: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.id = $1"
);
const GET_PROFILE_BY_USER: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles p WHERE p.user_id = $1 \
     ORDER BY p.is_active DESC, p.created_at DESC, p.id DESC LIMIT 1"
);
const UPDATE_PROFILE: &str = "UPDATE profiles SET first_name = $2, last_name = $3, \
     date_of_birth = $4, gender = $5, location_id = $6, bio = $7, profile_picture_url = $8, \
     is_public = $9, allow_contact = $10, is_active = $11, updated_at = $12, \
     deactivated_at = $13 WHERE id = $1";
const PROFILE_NAME: &str =
    "(lower(p.first_name) LIKE ? ESCAPE '\\' OR lower(p.last_name) LIKE ? ESCAPE '\\')";
const PROFILE_COUNTRY: &str = "l.country = ?";
const PROFILE_CITY: &str = "lower(l.city) = lower(?)";
const PROFILE_COMPANY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active AND lower(j.company) = lower(?))";
const PROFILE_INDUSTRY: &str = "EXISTS (SELECT 1 FROM jobs j \
     WHERE j.profile_id = p.id AND j.is_active AND lower(j.industry) = lower(?))";
const PROFILES_WITH_LOCATION: &str = "profiles p JOIN locations l ON l.id = p.location_id";
const PROFILE_VISIBLE_TO: &str = "(p.is_public OR p.user_id = ?)";

const INSERT_LOCATION: &str = concat!(
    "INSERT INTO locations (",
    location_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
const GET_LOCATION: &str = concat!(
    "SELECT ",
    location_columns!(),
    " FROM locations WHERE id = $1"
);
const UPDATE_LOCATION: &str = "UPDATE locations SET country = $2, state_province = $3, \
     city = $4, postal_code = $5, is_active = $6, updated_at = $7, deactivated_at = $8 \
     WHERE id = $1";

const INSERT_CONTACT: &str = concat!(
    "INSERT INTO contacts (",
    contact_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);
const GET_CONTACT: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE id = $1"
);
const UPDATE_CONTACT: &str = "UPDATE contacts SET kind = $2, value = $3, is_primary = $4, \
     is_active = $5, updated_at = $6, deactivated_at = $7 WHERE id = $1";
const LIST_CONTACTS: &str = concat!(
    "SELECT ",
    contact_columns!(),
    " FROM contacts WHERE profile_id = $1 AND ($2::boolean IS NULL OR is_active = $2) \
     ORDER BY is_primary DESC, created_at, id"
);
// Changing a primary contact locks its profile's row first, so two
// transactions doing it for one profile run one after the other (the
// second then un-primaries what the first made primary). NO KEY UPDATE
// does not block the foreign-key checks of inserts into `contacts`.
const LOCK_PROFILE_CONTACTS: &str = "SELECT 1 FROM profiles WHERE id = $1 FOR NO KEY UPDATE";
const CLEAR_PRIMARY_CONTACT: &str = "UPDATE contacts SET is_primary = false, updated_at = $3 \
     WHERE profile_id = $1 AND kind = $2 AND is_primary AND is_active";

const INSERT_JOB: &str = concat!(
    "INSERT INTO jobs (",
    job_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
const GET_JOB: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
const UPDATE_JOB: &str = "UPDATE jobs SET title = $2, company = $3, industry = $4, \
     start_date = $5, end_date = $6, is_active = $7, updated_at = $8, deactivated_at = $9 \
     WHERE id = $1";
// Current jobs (no end date) first, then the newest start; a job without a
// start date sorts after those with one (Postgres sorts NULLs first in
// descending order unless told otherwise; SQLite sorts them last).
const LIST_JOBS: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs WHERE profile_id = $1 AND ($2::boolean IS NULL OR is_active = $2) \
     ORDER BY end_date IS NULL DESC, start_date DESC NULLS LAST, created_at DESC, id DESC"
);

const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6)"
);
const GET_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE id = $1"
);
const UPDATE_SESSION: &str = "UPDATE sessions SET last_used_at = $2, expires_at = $3, \
     revoked_at = $4 WHERE id = $1";
const LIST_SESSIONS: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE user_id = $1 \
     AND ($2::timestamptz IS NULL OR (revoked_at IS NULL AND expires_at > $2)) \
     ORDER BY created_at DESC, id DESC"
);
const REVOKE_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3)";

const INSERT_REFRESH_TOKEN: &str = concat!(
    "INSERT INTO refresh_tokens (",
    refresh_token_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6)"
);
const GET_REFRESH_TOKEN: &str = concat!(
    "SELECT ",
    refresh_token_columns!(),
    " FROM refresh_tokens WHERE hash = $1"
);
// In a write, the token's row stays locked until the end of the
// transaction: a concurrent rotation of the same token waits, then sees it
// used.
const GET_REFRESH_TOKEN_FOR_UPDATE: &str = concat!(
    "SELECT ",
    refresh_token_columns!(),
    " FROM refresh_tokens WHERE hash = $1 FOR UPDATE"
);
const MARK_REFRESH_TOKEN_USED: &str =
    "UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL";

const INSERT_EVENT: &str = concat!(
    "INSERT INTO security_events (",
    event_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6)"
);

const GET_SETTING: &str = "SELECT value FROM settings WHERE key = $1";
const INSERT_SETTING_IF_ABSENT: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

// ---------------------------------------------------------------------------
// Row mapping, in the column order of the lists above.

fn user_row(row: &Row) -> MapResult<UserRow> {
    let failed_logins: i32 = row.try_get(6)?;
    Ok(UserRow {
        user: User {
            id: UserId::from_uuid(uuid_at(row, 0)?),
            username: Username::from_trusted(text_at(row, 1)?),
            email: Email::from_trusted(text_at(row, 2)?),
            is_active: bool_at(row, 4)?,
            is_super_admin: bool_at(row, 5)?,
            created_at: time_at(row, 9)?,
            updated_at: time_at(row, 10)?,
            last_login_at: opt_time_at(row, 11)?,
            deactivated_at: opt_time_at(row, 12)?,
        },
        password_hash: PasswordHash::new(text_at(row, 3)?),
        failed_logins: u32::try_from(failed_logins).map_err(|_| corrupt(6, "failed_logins"))?,
        locked_until: opt_time_at(row, 7)?,
        tokens_valid_after: time_at(row, 8)?,
    })
}

fn profile_row(row: &Row) -> MapResult<Profile> {
    Ok(Profile {
        id: ProfileId::from_uuid(uuid_at(row, 0)?),
        user_id: UserId::from_uuid(uuid_at(row, 1)?),
        first_name: text_at(row, 2)?,
        last_name: text_at(row, 3)?,
        date_of_birth: opt_date_at(row, 4)?,
        gender: opt_text_at(row, 5)?,
        location_id: opt_uuid_at(row, 6)?.map(LocationId::from_uuid),
        bio: opt_text_at(row, 7)?,
        profile_picture_url: opt_text_at(row, 8)?,
        is_public: bool_at(row, 9)?,
        allow_contact: bool_at(row, 10)?,
        is_active: bool_at(row, 11)?,
        created_at: time_at(row, 12)?,
        updated_at: time_at(row, 13)?,
        deactivated_at: opt_time_at(row, 14)?,
    })
}

fn location_row(row: &Row) -> MapResult<Location> {
    let country = text_at(row, 2)?;
    Ok(Location {
        id: LocationId::from_uuid(uuid_at(row, 0)?),
        user_id: UserId::from_uuid(uuid_at(row, 1)?),
        country: CountryCode::parse(&country).map_err(|_| corrupt(2, "country"))?,
        state_province: opt_text_at(row, 3)?,
        city: opt_text_at(row, 4)?,
        postal_code: opt_text_at(row, 5)?,
        is_active: bool_at(row, 6)?,
        created_at: time_at(row, 7)?,
        updated_at: time_at(row, 8)?,
        deactivated_at: opt_time_at(row, 9)?,
    })
}

fn contact_row(row: &Row) -> MapResult<Contact> {
    let kind = text_at(row, 2)?;
    Ok(Contact {
        id: ContactId::from_uuid(uuid_at(row, 0)?),
        profile_id: ProfileId::from_uuid(uuid_at(row, 1)?),
        kind: kind
            .parse::<ContactKind>()
            .map_err(|_| corrupt(2, "contact kind"))?,
        value: text_at(row, 3)?,
        is_primary: bool_at(row, 4)?,
        is_active: bool_at(row, 5)?,
        created_at: time_at(row, 6)?,
        updated_at: time_at(row, 7)?,
        deactivated_at: opt_time_at(row, 8)?,
    })
}

fn job_row(row: &Row) -> MapResult<Job> {
    Ok(Job {
        id: JobId::from_uuid(uuid_at(row, 0)?),
        profile_id: ProfileId::from_uuid(uuid_at(row, 1)?),
        title: text_at(row, 2)?,
        company: text_at(row, 3)?,
        industry: opt_text_at(row, 4)?,
        start_date: opt_date_at(row, 5)?,
        end_date: opt_date_at(row, 6)?,
        is_active: bool_at(row, 7)?,
        created_at: time_at(row, 8)?,
        updated_at: time_at(row, 9)?,
        deactivated_at: opt_time_at(row, 10)?,
    })
}

fn session_row(row: &Row) -> MapResult<Session> {
    Ok(Session {
        id: SessionId::from_uuid(uuid_at(row, 0)?),
        user_id: UserId::from_uuid(uuid_at(row, 1)?),
        created_at: time_at(row, 2)?,
        last_used_at: time_at(row, 3)?,
        expires_at: time_at(row, 4)?,
        revoked_at: opt_time_at(row, 5)?,
    })
}

fn refresh_token_row(row: &Row) -> MapResult<RefreshTokenRow> {
    let hash: Vec<u8> = row.try_get(0)?;
    Ok(RefreshTokenRow {
        hash: hash.try_into().map_err(|_| corrupt(0, "hash"))?,
        session_id: SessionId::from_uuid(uuid_at(row, 1)?),
        user_id: UserId::from_uuid(uuid_at(row, 2)?),
        issued_at: time_at(row, 3)?,
        expires_at: time_at(row, 4)?,
        used_at: opt_time_at(row, 5)?,
    })
}

fn event_row(row: &Row) -> MapResult<SecurityEvent> {
    let kind = text_at(row, 1)?;
    Ok(SecurityEvent {
        id: EventId::from_uuid(uuid_at(row, 0)?),
        kind: EventKind::from_name(&kind).ok_or_else(|| corrupt(1, "event kind"))?,
        user_id: opt_uuid_at(row, 2)?.map(UserId::from_uuid),
        actor_id: opt_uuid_at(row, 3)?.map(UserId::from_uuid),
        session_id: opt_uuid_at(row, 4)?.map(SessionId::from_uuid),
        occurred_at: time_at(row, 5)?,
    })
}

fn setting_value(row: &Row) -> MapResult<Vec<u8>> {
    Ok(row.try_get::<_, Vec<u8>>(0)?)
}

// ---------------------------------------------------------------------------
// The transaction.

/// A bound parameter of a dynamic list query.
type Param = Box<dyn ToSql + Sync>;

/// A list query: `SELECT {columns} FROM {from} WHERE {conditions} ORDER BY
/// {order}`, counted with `SELECT COUNT(*) FROM {from} WHERE {conditions}`.
/// Every piece is a fixed fragment (conditions with `?` placeholders);
/// `values` binds the conditions' parameters in order.
struct List {
    columns: &'static str,
    from: &'static str,
    conditions: Vec<&'static str>,
    order: &'static str,
    values: Vec<Param>,
}

struct PgTx<'c> {
    transaction: Transaction<'c>,
    statements: &'c mut HashMap<String, Statement>,
    read_only: bool,
    /// A statement failed with a serialization failure or a deadlock: the
    /// whole transaction may succeed when run again.
    retryable: bool,
    /// A statement failed: Postgres has aborted the transaction.
    failed: bool,
}

impl PgTx<'_> {
    /// The prepared statement for `sql`, from this connection's cache.
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.transaction.prepare(sql)?;
        if self.statements.len() >= STATEMENT_CACHE_CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Notes how a statement failed, and converts its error.
    fn fail(&mut self, error: postgres::Error, context: &'static str) -> Error {
        self.failed = true;
        self.retryable |= is_retryable(&error);
        storage(context)(error)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        context: &'static str,
    ) -> Result<u64> {
        let result = self
            .statement(sql)
            .and_then(|statement| self.transaction.execute(&statement, params));
        result.map_err(|error| self.fail(error, context))
    }

    fn query_all<T>(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        map: impl Fn(&Row) -> MapResult<T>,
        context: &'static str,
    ) -> Result<Vec<T>> {
        let rows = self
            .statement(sql)
            .and_then(|statement| self.transaction.query(&statement, params))
            .map_err(|error| self.fail(error, context))?;
        rows.iter()
            .map(|row| map(row).map_err(storage(context)))
            .collect()
    }

    fn query_one<T>(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        map: impl Fn(&Row) -> MapResult<T>,
        context: &'static str,
    ) -> Result<Option<T>> {
        let row = self
            .statement(sql)
            .and_then(|statement| self.transaction.query_opt(&statement, params))
            .map_err(|error| self.fail(error, context))?;
        row.as_ref()
            .map(|row| map(row).map_err(storage(context)))
            .transpose()
    }

    /// Runs a list query twice: once counting, once for the page in list
    /// order.
    fn page<T>(
        &mut self,
        list: List,
        page: PageRequest,
        map: impl Fn(&Row) -> MapResult<T>,
        context: &'static str,
    ) -> Result<(Vec<T>, u64)> {
        let List {
            columns,
            from,
            conditions,
            order,
            values,
        } = list;
        let (where_sql, next) = where_clause(&conditions);
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| &**value).collect();
        let count_sql = format!("SELECT COUNT(*) FROM {from}{where_sql}");
        let total = self
            .statement(&count_sql)
            .and_then(|statement| self.transaction.query_one(&statement, &params))
            .and_then(|row| row.try_get::<_, i64>(0))
            .map_err(|error| self.fail(error, context))?;
        let page_sql = format!(
            "SELECT {columns} FROM {from}{where_sql} ORDER BY {order} LIMIT ${} OFFSET ${}",
            next,
            next + 1
        );
        let [limit, offset] = limit_offset(page);
        let mut page_params = params;
        page_params.push(&limit);
        page_params.push(&offset);
        let rows = self.query_all(&page_sql, &page_params, map, context)?;
        let total = u64::try_from(total).map_err(|_| StorageError::msg("negative row count"))?;
        Ok((rows, total))
    }
}

impl Tx for PgTx<'_> {
    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let user = &row.user;
        self.execute(
            INSERT_USER,
            &[
                user.id.as_uuid(),
                &user.username.as_str(),
                &user.email.as_str(),
                &row.password_hash.as_str(),
                &user.is_active,
                &user.is_super_admin,
                &failed_logins_param(row.failed_logins)?,
                &row.locked_until,
                &row.tokens_valid_after,
                &user.created_at,
                &user.updated_at,
                &user.last_login_at,
                &user.deactivated_at,
            ],
            "insert a user",
        )
        .map(drop)
    }

    fn get_user(&mut self, id: UserId) -> Result<Option<UserRow>> {
        self.query_one(GET_USER, &[id.as_uuid()], user_row, "get a user")
    }

    fn get_user_by_username(&mut self, username: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_USERNAME,
            &[&username],
            user_row,
            "get a user by username",
        )
    }

    fn get_user_by_email(&mut self, email: &str) -> Result<Option<UserRow>> {
        self.query_one(
            GET_USER_BY_EMAIL,
            &[&email],
            user_row,
            "get a user by email",
        )
    }

    fn update_user(&mut self, row: &UserRow) -> Result<bool> {
        let user = &row.user;
        self.execute(
            UPDATE_USER,
            &[
                user.id.as_uuid(),
                &user.username.as_str(),
                &user.email.as_str(),
                &row.password_hash.as_str(),
                &user.is_active,
                &user.is_super_admin,
                &failed_logins_param(row.failed_logins)?,
                &row.locked_until,
                &row.tokens_valid_after,
                &user.updated_at,
                &user.last_login_at,
                &user.deactivated_at,
            ],
            "update a user",
        )
        .map(|changed| changed > 0)
    }

    fn delete_user(&mut self, id: UserId) -> Result<bool> {
        self.execute(DELETE_USER, &[id.as_uuid()], "delete a user")
            .map(|changed| changed > 0)
    }

    fn list_users(&mut self, query: &UserQuery, page: PageRequest) -> Result<(Vec<User>, u64)> {
        let mut conditions = Vec::new();
        let mut values: Vec<Param> = Vec::new();
        conditions.extend(active_clause(query.active, IS_ACTIVE));
        if let Some(search) = &query.search {
            let pattern = super::like_substring(search);
            conditions.push(USER_SEARCH);
            values.push(Box::new(pattern.clone()));
            values.push(Box::new(pattern));
        }
        self.page(
            List {
                columns: user_columns!(),
                from: "users",
                conditions,
                order: "created_at DESC, id DESC",
                values,
            },
            page,
            |row| user_row(row).map(|row| row.user),
            "list users",
        )
    }

    fn insert_profile(&mut self, profile: &Profile) -> Result<()> {
        self.execute(
            INSERT_PROFILE,
            &[
                profile.id.as_uuid(),
                profile.user_id.as_uuid(),
                &profile.first_name,
                &profile.last_name,
                &profile.date_of_birth,
                &profile.gender,
                &profile.location_id.map(uuid::Uuid::from),
                &profile.bio,
                &profile.profile_picture_url,
                &profile.is_public,
                &profile.allow_contact,
                &profile.is_active,
                &profile.created_at,
                &profile.updated_at,
                &profile.deactivated_at,
            ],
            "insert a profile",
        )
        .map(drop)
    }

    fn get_profile(&mut self, id: ProfileId) -> Result<Option<Profile>> {
        self.query_one(GET_PROFILE, &[id.as_uuid()], profile_row, "get a profile")
    }

    fn get_profile_by_user(&mut self, user_id: UserId) -> Result<Option<Profile>> {
        self.query_one(
            GET_PROFILE_BY_USER,
            &[user_id.as_uuid()],
            profile_row,
            "get a profile by user",
        )
    }

    fn get_profile_details(
        &mut self,
        id: ProfileId,
        children: ActiveFilter,
    ) -> Result<Option<ProfileDetails>> {
        let Some(profile) = self.get_profile(id)? else {
            return Ok(None);
        };
        let location = match profile.location_id {
            Some(location_id) => self.get_location(location_id)?,
            None => None,
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
        self.execute(
            UPDATE_PROFILE,
            &[
                profile.id.as_uuid(),
                &profile.first_name,
                &profile.last_name,
                &profile.date_of_birth,
                &profile.gender,
                &profile.location_id.map(uuid::Uuid::from),
                &profile.bio,
                &profile.profile_picture_url,
                &profile.is_public,
                &profile.allow_contact,
                &profile.is_active,
                &profile.updated_at,
                &profile.deactivated_at,
            ],
            "update a profile",
        )
        .map(|changed| changed > 0)
    }

    fn list_profiles(
        &mut self,
        query: &ProfileQuery,
        visible_to: Option<UserId>,
        page: PageRequest,
    ) -> Result<(Vec<Profile>, u64)> {
        let mut conditions = Vec::new();
        let mut values: Vec<Param> = Vec::new();
        conditions.extend(active_clause(query.active, P_IS_ACTIVE));
        match query.is_public {
            Some(true) => conditions.push("p.is_public = true"),
            Some(false) => conditions.push("p.is_public = false"),
            None => {}
        }
        if let Some(user_id) = visible_to {
            conditions.push(PROFILE_VISIBLE_TO);
            values.push(Box::new(uuid::Uuid::from(user_id)));
        }
        if let Some(name) = &query.name {
            let pattern = super::like_substring(name);
            conditions.push(PROFILE_NAME);
            values.push(Box::new(pattern.clone()));
            values.push(Box::new(pattern));
        }
        let join_location = query.country.is_some() || query.city.is_some();
        if let Some(country) = &query.country {
            conditions.push(PROFILE_COUNTRY);
            values.push(Box::new(country.to_ascii_uppercase()));
        }
        if let Some(city) = &query.city {
            conditions.push(PROFILE_CITY);
            values.push(Box::new(city.clone()));
        }
        if let Some(company) = &query.company {
            conditions.push(PROFILE_COMPANY);
            values.push(Box::new(company.clone()));
        }
        if let Some(industry) = &query.industry {
            conditions.push(PROFILE_INDUSTRY);
            values.push(Box::new(industry.clone()));
        }
        self.page(
            List {
                columns: profile_columns!(),
                from: if join_location {
                    PROFILES_WITH_LOCATION
                } else {
                    "profiles p"
                },
                conditions,
                order: "p.created_at DESC, p.id DESC",
                values,
            },
            page,
            profile_row,
            "list profiles",
        )
    }

    fn insert_location(&mut self, location: &Location) -> Result<()> {
        self.execute(
            INSERT_LOCATION,
            &[
                location.id.as_uuid(),
                location.user_id.as_uuid(),
                &location.country.as_str(),
                &location.state_province,
                &location.city,
                &location.postal_code,
                &location.is_active,
                &location.created_at,
                &location.updated_at,
                &location.deactivated_at,
            ],
            "insert a location",
        )
        .map(drop)
    }

    fn get_location(&mut self, id: LocationId) -> Result<Option<Location>> {
        self.query_one(
            GET_LOCATION,
            &[id.as_uuid()],
            location_row,
            "get a location",
        )
    }

    fn update_location(&mut self, location: &Location) -> Result<bool> {
        self.execute(
            UPDATE_LOCATION,
            &[
                location.id.as_uuid(),
                &location.country.as_str(),
                &location.state_province,
                &location.city,
                &location.postal_code,
                &location.is_active,
                &location.updated_at,
                &location.deactivated_at,
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
        let mut values: Vec<Param> = Vec::new();
        conditions.extend(active_clause(query.active, IS_ACTIVE));
        if let Some(user_id) = query.user_id {
            conditions.push("user_id = ?");
            values.push(Box::new(uuid::Uuid::from(user_id)));
        }
        if let Some(country) = &query.country {
            conditions.push("country = ?");
            values.push(Box::new(country.to_ascii_uppercase()));
        }
        self.page(
            List {
                columns: location_columns!(),
                from: "locations",
                conditions,
                order: "created_at DESC, id DESC",
                values,
            },
            page,
            location_row,
            "list locations",
        )
    }

    fn insert_contact(&mut self, contact: &Contact) -> Result<()> {
        self.execute(
            INSERT_CONTACT,
            &[
                contact.id.as_uuid(),
                contact.profile_id.as_uuid(),
                &contact.kind.as_str(),
                &contact.value,
                &contact.is_primary,
                &contact.is_active,
                &contact.created_at,
                &contact.updated_at,
                &contact.deactivated_at,
            ],
            "insert a contact",
        )
        .map(drop)
    }

    fn get_contact(&mut self, id: ContactId) -> Result<Option<Contact>> {
        self.query_one(GET_CONTACT, &[id.as_uuid()], contact_row, "get a contact")
    }

    fn update_contact(&mut self, contact: &Contact) -> Result<bool> {
        self.execute(
            UPDATE_CONTACT,
            &[
                contact.id.as_uuid(),
                &contact.kind.as_str(),
                &contact.value,
                &contact.is_primary,
                &contact.is_active,
                &contact.updated_at,
                &contact.deactivated_at,
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
        self.query_all(
            LIST_CONTACTS,
            &[profile_id.as_uuid(), &active_param(active)],
            contact_row,
            "list contacts",
        )
    }

    fn clear_primary_contact(
        &mut self,
        profile_id: ProfileId,
        kind: ContactKind,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if !self.read_only {
            self.execute(
                LOCK_PROFILE_CONTACTS,
                &[profile_id.as_uuid()],
                "lock the profile's contacts",
            )?;
        }
        self.execute(
            CLEAR_PRIMARY_CONTACT,
            &[profile_id.as_uuid(), &kind.as_str(), &now],
            "clear the primary contact",
        )
    }

    fn insert_job(&mut self, job: &Job) -> Result<()> {
        self.execute(
            INSERT_JOB,
            &[
                job.id.as_uuid(),
                job.profile_id.as_uuid(),
                &job.title,
                &job.company,
                &job.industry,
                &job.start_date,
                &job.end_date,
                &job.is_active,
                &job.created_at,
                &job.updated_at,
                &job.deactivated_at,
            ],
            "insert a job",
        )
        .map(drop)
    }

    fn get_job(&mut self, id: JobId) -> Result<Option<Job>> {
        self.query_one(GET_JOB, &[id.as_uuid()], job_row, "get a job")
    }

    fn update_job(&mut self, job: &Job) -> Result<bool> {
        self.execute(
            UPDATE_JOB,
            &[
                job.id.as_uuid(),
                &job.title,
                &job.company,
                &job.industry,
                &job.start_date,
                &job.end_date,
                &job.is_active,
                &job.updated_at,
                &job.deactivated_at,
            ],
            "update a job",
        )
        .map(|changed| changed > 0)
    }

    fn list_jobs(&mut self, profile_id: ProfileId, active: ActiveFilter) -> Result<Vec<Job>> {
        self.query_all(
            LIST_JOBS,
            &[profile_id.as_uuid(), &active_param(active)],
            job_row,
            "list jobs",
        )
    }

    fn insert_session(&mut self, session: &Session) -> Result<()> {
        self.execute(
            INSERT_SESSION,
            &[
                session.id.as_uuid(),
                session.user_id.as_uuid(),
                &session.created_at,
                &session.last_used_at,
                &session.expires_at,
                &session.revoked_at,
            ],
            "insert a session",
        )
        .map(drop)
    }

    fn get_session(&mut self, id: SessionId) -> Result<Option<Session>> {
        self.query_one(GET_SESSION, &[id.as_uuid()], session_row, "get a session")
    }

    fn update_session(&mut self, session: &Session) -> Result<bool> {
        self.execute(
            UPDATE_SESSION,
            &[
                session.id.as_uuid(),
                &session.last_used_at,
                &session.expires_at,
                &session.revoked_at,
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
            &[user_id.as_uuid(), &active_at],
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
            &[user_id.as_uuid(), &now, &keep.map(uuid::Uuid::from)],
            "revoke sessions",
        )
    }

    fn insert_refresh_token(&mut self, token: &RefreshTokenRow) -> Result<()> {
        let hash: &[u8] = &token.hash;
        self.execute(
            INSERT_REFRESH_TOKEN,
            &[
                &hash,
                token.session_id.as_uuid(),
                token.user_id.as_uuid(),
                &token.issued_at,
                &token.expires_at,
                &token.used_at,
            ],
            "insert a refresh token",
        )
        .map(drop)
    }

    fn get_refresh_token(&mut self, hash: &[u8; 32]) -> Result<Option<RefreshTokenRow>> {
        // A read-only transaction may not lock rows, and needs no lock.
        let sql = if self.read_only {
            GET_REFRESH_TOKEN
        } else {
            GET_REFRESH_TOKEN_FOR_UPDATE
        };
        let hash: &[u8] = hash;
        self.query_one(sql, &[&hash], refresh_token_row, "get a refresh token")
    }

    fn mark_refresh_token_used(&mut self, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool> {
        let hash: &[u8] = hash;
        self.execute(
            MARK_REFRESH_TOKEN_USED,
            &[&hash, &now],
            "mark a refresh token used",
        )
        .map(|changed| changed > 0)
    }

    fn insert_event(&mut self, event: &SecurityEvent) -> Result<()> {
        self.execute(
            INSERT_EVENT,
            &[
                event.id.as_uuid(),
                &event.kind.as_str(),
                &event.user_id.map(uuid::Uuid::from),
                &event.actor_id.map(uuid::Uuid::from),
                &event.session_id.map(uuid::Uuid::from),
                &event.occurred_at,
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
        let mut values: Vec<Param> = Vec::new();
        if let Some(user_id) = query.user_id {
            conditions.push("user_id = ?");
            values.push(Box::new(uuid::Uuid::from(user_id)));
        }
        if let Some(kind) = query.kind {
            conditions.push("kind = ?");
            values.push(Box::new(kind.as_str()));
        }
        self.page(
            List {
                columns: event_columns!(),
                from: "security_events",
                conditions,
                order: "occurred_at DESC, id DESC",
                values,
            },
            page,
            event_row,
            "list security events",
        )
    }

    fn get_setting(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.query_one(GET_SETTING, &[&key], setting_value, "get a setting")
    }

    fn insert_setting_if_absent(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.execute(
            INSERT_SETTING_IF_ABSENT,
            &[&key, &value],
            "insert a setting",
        )
        .map(drop)
    }
}

// ---------------------------------------------------------------------------
// Test isolation.

/// A uniquely named, empty schema for one test, dropped (with everything in
/// it) when this value is dropped.
///
/// [`url`](PostgresTestSchema::url) is the base URL with
/// `options=-c search_path=<schema>` added, so every connection opened
/// with it, and so the store's tables, live in the schema: tests on one
/// database run in parallel without seeing each other's rows. Dropping the
/// schema is best effort (a test that panics while holding connections may
/// leave it behind); `scripts/with-postgres.sh` deletes the whole cluster
/// at the end anyway.
#[doc(hidden)]
pub struct PostgresTestSchema {
    base: Config,
    name: String,
    url: String,
}

impl fmt::Debug for PostgresTestSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresTestSchema")
            .field("target", &describe(&self.base))
            .field("name", &self.name)
            .finish()
    }
}

impl PostgresTestSchema {
    /// Creates a fresh schema in the database `base_url` names.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the URL cannot be parsed, [`Error::Storage`]
    /// when the schema cannot be created.
    pub fn create(base_url: &str) -> Result<PostgresTestSchema> {
        let base = parse_url(base_url)?;
        let name = format!("accounts_test_{}", uuid::Uuid::now_v7().simple());
        let mut client = base
            .connect(NoTls)
            .map_err(storage("connect to the server"))?;
        // The name is made here of hex digits, never of user data.
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .map_err(storage("create a test schema"))?;
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-c%20search_path%3D{name}");
        Ok(PostgresTestSchema { base, name, url })
    }

    /// The URL whose connections use the schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PostgresTestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = self.base.connect(NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

#[cfg(test)]
mod tests;
