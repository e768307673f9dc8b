//! The PostgreSQL backend: an r2d2 pool of synchronous `postgres` clients
//! (no TLS), refinery migrations embedded from `migrations/postgres`, one
//! SQL statement per operation, prepared once per connection.
//!
//! Storage conventions (see the migration): ids are `uuid`, times
//! `timestamptz` (microseconds), dates `date`, hashes and setting values
//! `bytea`. Case-insensitive matches compare `lower(...)` on both sides and
//! have expression indexes.
//!
//! Isolation: a read ([`Store::read`], [`Store::read_relaxed`]) runs its
//! statements without a transaction around them: each statement is a
//! transaction of its own (autocommit) and sees a snapshot of its own, as
//! `READ COMMITTED` statements do. That saves the `BEGIN` and the
//! `ROLLBACK` of a transaction, two round trips of three for a read of one
//! statement. In exchange, every [`Tx`] read method is one statement, so
//! that what it returns is consistent (a profile with its location,
//! contacts and jobs; a page with its total); two methods called in one
//! read may see the database at two moments. A read whose answer combines
//! several statements and must be consistent runs as
//! [`Store::read_snapshot`]: one `REPEATABLE READ READ ONLY` transaction.
//! Reads stay read-only twice over: `PgTx` refuses every write in a read
//! before sending it, and every pooled session defaults to read-only (see
//! `Manager::connect`).
//!
//! A write is a `REPEATABLE READ READ WRITE` transaction: the facade's
//! read-modify-write closures (the failed-login counter, token rotation,
//! set-primary) then never lose an update: a transaction that would
//! overwrite a row changed since its snapshot fails with a serialization
//! error, and the whole closure is run again on a new snapshot, a few
//! times at most. Rows where a race is expected are locked up front
//! (`SELECT ... FOR UPDATE` of a refresh token, the profile row before its
//! primary contact changes), so contenders queue instead of failing and
//! retrying.
//!
//! Read replicas (see `replicas.rs`): reads that tolerate lag
//! ([`Store::read_relaxed`]) go to hot standbys of the primary, in turn,
//! while their replication lag is within a bound; anything else, and every
//! read a replica cannot serve, runs on the primary.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, IsolationLevel, NoTls, Statement};
use r2d2::{ManageConnection, Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::sql_common::error::{self, Backend, BackendError, ViolatedKey};
use super::{Store, Tx};
use crate::error::{Error, Result, StorageError};

mod organizations;
mod replicas;
mod second_factor;
mod sql;
#[cfg(test)]
mod tests;
mod tx;

use replicas::Replicas;
use tx::{PgTx, Scope};

mod embedded_postgres {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections in the pool.
const POOL_SIZE: u32 = 8;
/// How long `open` and a pooled connect wait for the server, unless the URL
/// sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs of one transaction closure, counting the first, before a
/// serialization failure or deadlock is returned as a storage error.
const MAX_ATTEMPTS: u32 = 8;

/// A [`Store`] on PostgreSQL, optionally with read replicas
/// ([`open_with_replicas`](PostgresStore::open_with_replicas)).
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
    replicas: Replicas,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("pool", &self.pool.state())
            .field("replicas", &self.replicas)
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
        PostgresStore::connect(config, Replicas::none())
    }

    /// Connects to the primary database named by `url`, as
    /// [`open`](PostgresStore::open), and to read replicas of it (hot
    /// standbys streaming from it, each named by a URL of the same form;
    /// the `search_path` must name the same schema as the primary's).
    ///
    /// Reads that tolerate lag ([`Store::read_relaxed`]) then go to the
    /// replicas in turn, each with a pool of its own, and fall back to the
    /// primary when none is fit:
    /// - a replica whose replication lag exceeds `max_lag` (replay behind
    ///   received WAL for longer than that), or whose replay is paused
    ///   with received WAL waiting, is skipped until a later measurement
    ///   finds it caught up. The lag is measured at most once a second
    ///   per replica, on the connection of a read, with one extra query,
    ///   so a read may see data up to `max_lag` plus a second old;
    /// - a replica that gives no connection (within 2 seconds unless its
    ///   URL sets `connect_timeout`) or whose transaction fails with a
    ///   connection error is skipped for 5 seconds, and the read runs
    ///   again, once, on the primary. A read failing otherwise on a
    ///   replica (an error of the closure, of a statement) is returned as
    ///   it would be on the primary.
    ///
    /// A server that is not in recovery counts as lagging by nothing, so a
    /// replica promoted to primary keeps serving reads. The lag is the age
    /// of the last replayed transaction by the replica's clock: keep the
    /// servers' clocks in sync. Replicas are not contacted before the
    /// first lag-tolerant read, so one that is down does not keep the
    /// store from opening.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use aai_accounts::store::PostgresStore;
    ///
    /// let store = PostgresStore::open_with_replicas(
    ///     "postgres://accounts@primary/accounts",
    ///     &["postgres://accounts@replica-1/accounts", "postgres://accounts@replica-2/accounts"],
    ///     Duration::from_secs(5),
    /// )?;
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`open`](PostgresStore::open), and [`Error::Config`] when a
    /// replica URL cannot be parsed (checked before connecting to
    /// anything).
    pub fn open_with_replicas(
        url: &str,
        replica_urls: &[impl AsRef<str>],
        max_lag: Duration,
    ) -> Result<PostgresStore> {
        let config = parse_url(url)?;
        let replicas = Replicas::new(replica_urls, max_lag)?;
        PostgresStore::connect(config, replicas)
    }

    /// Connects to the primary, migrates it and makes its pool.
    fn connect(config: Config, replicas: Replicas) -> Result<PostgresStore> {
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
        Ok(PostgresStore {
            pool,
            target,
            replicas,
        })
    }

    fn connection(&self) -> Result<PooledConnection<Manager>> {
        let started = std::time::Instant::now();
        let connection = self.pool.get().map_err(storage("get a connection"))?;
        crate::telemetry::connection_checkout("postgres", started.elapsed(), || {
            super::pool_in_use(&self.pool)
        });
        Ok(connection)
    }

    /// Runs `f` as `mode` says on the primary, again on a serialization
    /// failure or a deadlock.
    fn transaction(&self, mode: Mode, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        transaction(&self.pool, None, mode, f).map_err(|failure| failure.error)
    }
}

/// How a unit of work runs its statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Each statement on its own, read-only ([`Store::read`]).
    Read,
    /// In one `REPEATABLE READ READ ONLY` transaction
    /// ([`Store::read_snapshot`]).
    Snapshot,
    /// In one `REPEATABLE READ READ WRITE` transaction ([`Store::write`]).
    Write,
}

/// Runs `f` as `mode` says on a connection of `pool` (`first` for the
/// first run, when given), again on a serialization failure or a
/// deadlock.
fn transaction(
    pool: &Pool<Manager>,
    mut first: Option<PooledConnection<Manager>>,
    mode: Mode,
    f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
) -> std::result::Result<(), Failure> {
    let mut attempt = 1;
    loop {
        let mut conn = match first.take() {
            Some(conn) => conn,
            None => pool.get().map_err(|error| Failure {
                error: storage("get a connection")(error),
                retryable: false,
                connection_lost: true,
            })?,
        };
        match run_once(&mut conn, mode, f) {
            Ok(()) => return Ok(()),
            Err(Failure {
                retryable: true, ..
            }) if attempt < MAX_ATTEMPTS => {
                drop(conn);
                backoff(attempt);
                attempt += 1;
            }
            Err(failure) => return Err(failure),
        }
    }
}

impl Store for PostgresStore {
    /// Each statement on its own, with a snapshot of its own (see the
    /// module docs).
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction(Mode::Read, f)
    }

    /// Without replicas, one read on one primary connection. With some,
    /// `fresh` on the primary, then `f` on a replica fit for it, else (no
    /// replica fit, or the one tried failed to serve it) on the primary.
    fn read_relaxed(
        &self,
        fresh: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        if self.replicas.is_empty() {
            return self.transaction(Mode::Read, &mut |tx| {
                fresh(tx)?;
                f(tx)
            });
        }
        self.transaction(Mode::Read, fresh)?;
        match self.replicas.read(f) {
            Some(outcome) => outcome,
            None => self.transaction(Mode::Read, f),
        }
    }

    /// One `REPEATABLE READ READ ONLY` transaction on the primary.
    fn read_snapshot(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction(Mode::Snapshot, f)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction(Mode::Write, f)
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
    parse_url_with_timeout(url, CONNECT_TIMEOUT)
}

/// Parses a `postgres://` URL, adding the defaults of this crate with a
/// connect timeout of `connect_timeout` unless the URL sets one.
fn parse_url_with_timeout(url: &str, connect_timeout: Duration) -> Result<Config> {
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
        config.connect_timeout(connect_timeout);
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

    /// Connects, and makes the session read-only by default. Reads run
    /// their statements outside any transaction, and `PgTx` refuses their
    /// writes before sending them; the server then refuses, too, a write
    /// that would slip past that check (a data-modifying statement run as
    /// a query), as a `READ ONLY` transaction would. The `SET` costs one
    /// statement per connection, not per read (the `options` startup
    /// parameter would cost none, but connection poolers may refuse it,
    /// and a URL may set its own). Writes begin `READ WRITE` explicitly;
    /// the migrations run on a connection of their own, outside the pool.
    fn connect(&self) -> std::result::Result<Connection, postgres::Error> {
        let mut client = self.0.connect()?;
        client.batch_execute("SET default_transaction_read_only = on")?;
        Ok(Connection {
            client,
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

/// A failed run of a transaction closure, whether running it again may
/// succeed, and whether it failed because the connection did.
struct Failure {
    error: Error,
    retryable: bool,
    connection_lost: bool,
}

/// One run of `f`, as `mode` says.
fn run_once(
    conn: &mut Connection,
    mode: Mode,
    f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
) -> std::result::Result<(), Failure> {
    let Connection { client, statements } = conn;
    let scope = match mode {
        Mode::Read => Scope::Autocommit(client),
        Mode::Snapshot | Mode::Write => {
            let transaction = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                // Explicit both ways: the session's default is read-only.
                .read_only(mode == Mode::Snapshot)
                .start()
                .map_err(|error| Failure {
                    retryable: is_retryable(&error),
                    connection_lost: is_connection_error(&error),
                    error: storage("begin a transaction")(error),
                })?;
            Scope::Transaction(transaction)
        }
    };
    let mut tx = PgTx::new(scope, statements, mode != Mode::Write);
    let outcome = f(&mut tx);
    let (scope, faults) = tx.finish();
    // Dropping a transaction rolls it back: after an error of `f`, and
    // when committing fails.
    if let Err(error) = outcome {
        return Err(Failure {
            error,
            retryable: faults.retryable,
            connection_lost: faults.connection_lost,
        });
    }
    if faults.failed {
        // Postgres aborts a transaction at its first failed statement and
        // would answer COMMIT with a silent ROLLBACK: never report success
        // for that. Nor, alike, for a read whose closure swallowed a
        // failed statement: a storage fault is never hidden.
        let message = match mode {
            Mode::Read => "postgres: a statement of the read failed",
            Mode::Snapshot | Mode::Write => {
                "postgres: a statement failed and the transaction was rolled back"
            }
        };
        return Err(Failure {
            error: StorageError::msg(message).into(),
            retryable: faults.retryable,
            connection_lost: faults.connection_lost,
        });
    }
    let end = match scope {
        Scope::Autocommit(_) => return Ok(()),
        Scope::Transaction(transaction) if mode == Mode::Snapshot => transaction.rollback(),
        Scope::Transaction(transaction) => transaction.commit(),
    };
    end.map_err(|error| Failure {
        retryable: is_retryable(&error),
        connection_lost: is_connection_error(&error),
        error: storage("commit")(error),
    })
}

/// Whether a failed statement's whole transaction may succeed when run
/// again: a serialization failure or a deadlock.
fn is_retryable(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Whether a statement failed because its connection did (closed, an I/O
/// error, a connection exception, the server shutting down or not
/// accepting connections yet) rather than because of what it asked: the
/// same transaction may then succeed on another server.
fn is_connection_error(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(code);
    }
    std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
}

// ---------------------------------------------------------------------------
// Errors.

/// The Postgres side of the shared error conversion.
struct Postgres;

impl Backend for Postgres {
    const NAME: &'static str = "postgres";

    /// Postgres names the violated constraint (those of
    /// `migrations/postgres`).
    fn violated_key<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<ViolatedKey<'e>> {
        let error = error.downcast_ref::<postgres::Error>()?;
        if error.code() != Some(&SqlState::UNIQUE_VIOLATION) {
            return None;
        }
        let constraint = error.as_db_error()?.constraint()?;
        Some(ViolatedKey::PostgresConstraint(constraint))
    }
}

/// Converts a backend error into the public error (see
/// [`error::storage`]).
fn storage<E>(context: &'static str) -> impl FnOnce(E) -> Error
where
    E: Into<BackendError>,
{
    error::storage::<Postgres, E>(context)
}

impl From<postgres::Error> for BackendError {
    fn from(error: postgres::Error) -> Self {
        BackendError(Box::new(error))
    }
}

impl From<Corrupt> for BackendError {
    fn from(error: Corrupt) -> Self {
        BackendError(Box::new(error))
    }
}

/// A row whose value does not decode into the model (a damaged or
/// hand-edited database), or a value the schema cannot hold.
#[derive(Debug)]
pub(in crate::store) struct Corrupt(String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

/// What a row mapping fails with.
pub(in crate::store) enum MapError {
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
