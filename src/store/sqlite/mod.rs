//! The SQLite backend: an r2d2 pool of rusqlite connections, refinery
//! migrations embedded from `migrations/sqlite`, one SQL statement per
//! operation.
//!
//! Storage conventions (see the migration): ids are the 16 bytes of their
//! UUID, times are integer microseconds since the Unix epoch (UTC), dates
//! are `YYYY-MM-DD` text and booleans are 0/1.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::sql_common::error::{self, Backend, BackendError, ViolatedKey};
use super::{Store, Tx};
use crate::error::{Error, Result, StorageError};

mod affinity;
mod mutex;
mod organizations;
mod second_factor;
mod sql;
#[cfg(test)]
mod tests;
mod tx;
#[cfg(unix)]
mod vfs;

use tx::SqliteTx;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// How long a connection waits for another one's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection: every static statement below
/// plus the variants of the dynamic list queries.
const STATEMENT_CACHE_CAPACITY: usize = 128;
/// Connections for reads.
const POOL_SIZE: u32 = 8;
/// Connections for writes. SQLite runs one write transaction at a time,
/// so more writers would only wait inside `BEGIN IMMEDIATE` (sleeping in
/// the busy handler) while holding connections that reads need. Two: one
/// writing, one ready.
const WRITER_POOL_SIZE: u32 = 2;

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
    /// Read connections kept for the threads that read (see `affinity`).
    kept: affinity::Kept,
    /// Connections a transaction is using now.
    active: AtomicU32,
    /// Connections for reads: a burst of writes never holds them.
    pool: Pool<SqliteConnectionManager>,
    /// Connections for writes, which wait here for their turn.
    writers: Pool<SqliteConnectionManager>,
    target: Target,
    /// Keeps an in-memory database alive while the store lives: SQLite
    /// frees it when its last connection closes, and the pool may close
    /// all of its own.
    _keep_alive: Option<Mutex<Connection>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Memory,
    File(PathBuf, SqliteFileOptions),
}

/// How [`SqliteStore::open_path_with`] opens a database file; the default
/// is what [`SqliteStore::open_path`] does. In a URL, each option is a
/// query parameter: `sqlite://accounts.db?locking=exclusive&mmap_size=8589934592`.
///
/// ```
/// use aai_accounts::store::{SqliteFileOptions, SqliteStore};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("accounts.db");
/// let options = SqliteFileOptions::new()
///     .exclusive(true)
///     .mmap_size(8 << 30);
/// let store = SqliteStore::open_path_with(&path, options)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteFileOptions {
    /// Held by this process alone while the store is open
    /// (`locking=exclusive`); see [`SqliteStore::open_path_exclusive`].
    pub exclusive: bool,
    /// How many bytes of the file SQLite reads through a memory map
    /// (`mmap_size=BYTES`; SQLite caps it at its compile-time
    /// `SQLITE_MAX_MMAP_SIZE`: 2 GiB unless the build raises it, as this
    /// repository's `.cargo/config.toml` does). 0, the default, reads with
    /// `pread`.
    pub mmap_size: u64,
    /// Whether a transaction's WAL frames reach the kernel in a few long
    /// writes (`true`, the default) rather than two per page
    /// (`batch_wal_writes=false`); see
    /// [`SqliteFileOptions::batch_wal_writes`].
    pub batch_wal_writes: bool,
    /// The most each connection keeps in its page cache, in bytes
    /// (`cache_size=BYTES`); see [`SqliteFileOptions::cache_size`].
    pub cache_size: u64,
    /// The size of a page of a file the store creates
    /// (`page_size=BYTES`); see [`SqliteFileOptions::page_size`].
    pub page_size: u32,
}

/// Each file connection's page cache at most, by default.
const DEFAULT_CACHE_SIZE: u64 = 32 << 20;
/// The page size of a file the store creates, by default (SQLite's own is
/// 4096; see [`SqliteFileOptions::page_size`]).
const DEFAULT_PAGE_SIZE: u32 = 2048;
/// The page sizes SQLite accepts: the powers of two in this range.
const PAGE_SIZES: std::ops::RangeInclusive<u32> = 512..=65536;

impl Default for SqliteFileOptions {
    fn default() -> Self {
        SqliteFileOptions {
            exclusive: false,
            mmap_size: 0,
            batch_wal_writes: true,
            cache_size: DEFAULT_CACHE_SIZE,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl SqliteFileOptions {
    /// The defaults: shared locking, no memory map, batched WAL writes,
    /// a page cache of up to 32 MiB per connection, pages of 2 KiB in a
    /// new file.
    #[must_use]
    pub fn new() -> Self {
        SqliteFileOptions::default()
    }

    /// Whether this process holds the file alone; see
    /// [`SqliteStore::open_path_exclusive`].
    #[must_use]
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }

    /// Reads the first `bytes` of the file through a memory map (SQLite's
    /// `PRAGMA mmap_size`), 0 for none (the default).
    ///
    /// A page read from the map costs no system call and no copy, which
    /// matters once the pages a host reads again outgrow the connections'
    /// page caches ([`SqliteFileOptions::cache_size`]): at a million users
    /// (a 2.4 GB file) with a 16 MiB cache, a profile with its children
    /// read about ten pages that were not in it (35 µs, 21 to 25 with the
    /// whole file mapped). The price is SQLite's: an I/O
    /// error on a mapped page (a failing disk, a file truncated by another
    /// process) is a `SIGBUS` that ends the process instead of an error
    /// this crate could return. Off by default for that reason; for a
    /// host whose database sits on a local disk it owns.
    #[must_use]
    pub fn mmap_size(mut self, bytes: u64) -> Self {
        self.mmap_size = bytes;
        self
    }

    /// Whether a transaction's WAL frames reach the kernel in a few long
    /// writes (the default) or, as SQLite writes them, two per page.
    ///
    /// SQLite appends each page a transaction changed to the WAL as a
    /// header and the page, each its own system call: a user created with
    /// a full profile changed about 45 pages of 4 KiB, and those 90
    /// writes took half of its time. With batching on (Unix), the file is
    /// opened through a thin VFS over SQLite's own that gathers the frames
    /// until the commit frame and writes them in runs of up to 124 KiB
    /// (three writes for those 45 pages, or for the 65 of 2 KiB a create
    /// now changes); what is on disk, and
    /// when, is what SQLite would have written (a commit is in the file
    /// before it returns, and `synchronous` syncs as before).
    ///
    /// The same VFS keeps a read transaction's lock on its WAL read mark
    /// for the connection's next read, instead of releasing it and taking
    /// it again with two `fcntl` calls (without `locking=exclusive`): it
    /// gives kept marks up whenever one of the process's connections needs
    /// them exclusively (a checkpoint, a restart of the WAL), and a
    /// background thread gives them all up every 5 ms, so another process
    /// waits for one no longer than it would for a short read.
    ///
    /// Turn it off (SQLite's own VFS, for both) to rule it out when chasing
    /// a storage problem.
    #[must_use]
    pub fn batch_wal_writes(mut self, batch: bool) -> Self {
        self.batch_wal_writes = batch;
        self
    }

    /// The most each connection keeps in its page cache (SQLite's
    /// `PRAGMA cache_size`), in bytes: 32 MiB by default (SQLite's own is
    /// 2 MiB).
    ///
    /// A page read from the cache costs no system call and no copy. A
    /// connection fills its cache only with pages it reads, so a small
    /// database never takes more than its size in each; a large one takes
    /// up to this much in each of the store's ten connections (eight for
    /// reads, two for writes), 320 MiB at most by default. A cache helps
    /// while the pages a host reads again fit in it, and a
    /// least-recently-used cache cycled through more pages than it holds
    /// misses on every one: at a million users (a 2.4 GB file) a thousand
    /// profiles read in turn with their children and readers take about
    /// 18 MiB of pages. With 16 MiB such a read took 27 to 28 µs; with 32
    /// it takes the 18 to 19 µs it takes with 64, against 13 to 14 µs at
    /// 10 000 users. [`SqliteFileOptions::mmap_size`] shares the kernel's
    /// file cache among connections instead, at its own risk.
    #[must_use]
    pub fn cache_size(mut self, bytes: u64) -> Self {
        self.cache_size = bytes;
        self
    }

    /// The size of a page of the file, if the store creates it (SQLite's
    /// `PRAGMA page_size`): a power of two from 512 to 65536, 2048 by
    /// default (SQLite's own is 4096). A file that exists keeps the page
    /// size it was created with: SQLite changes it only by rewriting the
    /// whole file (`VACUUM`) out of WAL mode.
    ///
    /// A transaction writes each page it changes to the WAL whole, however
    /// little of it changed, and SQLite checksums every byte it writes
    /// there. A user created with a full profile changes one page in each
    /// of about 30 B-trees: about 65 pages of 2 KiB (133 KB) instead of 50
    /// of 4 KiB (205 KB). On this project's 2-core machine that took the
    /// median create from 107 to 117 µs down to 89 to 99 µs in quiet runs
    /// and imports from about 13 000 to 16 000 to 18 000 users/s, while
    /// reads ran the same instructions (79.1k against 78.5k for a profile
    /// with its children, callgrind) and served the same HTTP rates; range
    /// scans visit twice the pages (a page of organization members took
    /// about 5% longer). Larger pages suit rows of several kilobytes, which
    /// this schema does not have.
    ///
    /// Opening fails with [`Error::Config`] naming `page_size` unless
    /// `bytes` is a power of two from 512 to 65536.
    #[must_use]
    pub fn page_size(mut self, bytes: u32) -> Self {
        self.page_size = bytes;
        self
    }
}

/// `bytes` unless SQLite would refuse it as a page size.
fn valid_page_size(bytes: u32) -> Result<u32> {
    if bytes.is_power_of_two() && PAGE_SIZES.contains(&bytes) {
        Ok(bytes)
    } else {
        Err(Error::config(format!(
            "sqlite page_size: expected a power of two from 512 to 65536, got {bytes}"
        )))
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("target", &self.target)
            .field("pool", &self.pool.state())
            .field("writers", &self.writers.state())
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
    /// A file URL may end in a query of [`SqliteFileOptions`], each at most
    /// once, joined by `&`:
    ///
    /// - `locking=exclusive`: this process then holds the file for as long
    ///   as the store is open, and other processes (a command-line tool,
    ///   the `sqlite3` shell) cannot open it until it closes. In return its
    ///   transactions make no file-locking system calls (SQLite's
    ///   `unix-excl` VFS, with the WAL index in this process's memory):
    ///   every read and write is a few microseconds faster, and reads from
    ///   several threads no longer queue on the kernel's lock of the file.
    ///   See [`SqliteStore::open_path_exclusive`].
    /// - `mmap_size=BYTES`: reads through a memory map; see
    ///   [`SqliteFileOptions::mmap_size`] for what it costs.
    /// - `cache_size=BYTES`: each connection's page cache at most; see
    ///   [`SqliteFileOptions::cache_size`].
    /// - `page_size=BYTES`: the page size of a file the store creates
    ///   (2048 by default); see [`SqliteFileOptions::page_size`].
    /// - `batch_wal_writes=false`: writes each WAL frame as SQLite does,
    ///   in two system calls; see [`SqliteFileOptions::batch_wal_writes`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the URL is not one of the forms above (naming
    /// the query parameter at fault), and [`Error::Storage`] when the
    /// database cannot be opened or migrated.
    pub fn open(url: &str) -> Result<SqliteStore> {
        match parse_url(url)? {
            Target::Memory => SqliteStore::open_memory(),
            Target::File(path, options) => SqliteStore::open_path_with(path, options),
        }
    }

    /// Opens (creating it if needed) the database file at `path` and
    /// applies pending migrations.
    ///
    /// The database holds the generated signing key and password hashes:
    /// on Unix, a file this call creates is readable and writable by its
    /// owner only (mode 0600), and so are the `-wal` and `-shm` files
    /// SQLite creates next to it (it gives them the database file's mode).
    /// An existing file keeps its mode.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the file cannot be opened or migrated.
    pub fn open_path(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteStore::open_path_with(path, SqliteFileOptions::new())
    }

    /// Opens the database file at `path` as [`SqliteStore::open_path`]
    /// does, held by this process alone while the store is open (SQLite's
    /// `unix-excl` VFS): no file-locking system calls per transaction, and
    /// the WAL index in this process's memory instead of the `-shm` file.
    /// Other processes cannot open the file meanwhile (they get "database
    /// is locked"), so stop the server before running the `cli` example on
    /// its file. Not for network file systems.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the file cannot be opened or migrated, or
    /// another process has it open.
    pub fn open_path_exclusive(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteStore::open_path_with(path, SqliteFileOptions::new().exclusive(true))
    }

    /// Opens the database file at `path` as [`SqliteStore::open_path`]
    /// does, with `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming `page_size` when the options' page size
    /// is not one SQLite accepts; [`Error::Storage`] when the file cannot
    /// be opened or migrated, or (exclusive) another process has it open.
    pub fn open_path_with(
        path: impl AsRef<Path>,
        options: SqliteFileOptions,
    ) -> Result<SqliteStore> {
        SqliteStore::open_file(path.as_ref(), options)
    }

    /// Gives SQLite mutexes that spin for a moment before they sleep
    /// (parking_lot's), for every SQLite database of this process. Returns
    /// whether they are in place: `false` when SQLite has already started
    /// in this process, which then keeps its own.
    ///
    /// SQLite's own mutexes put a waiting thread to sleep at once. Each read
    /// transaction on a shared file (not `?locking=exclusive`) takes the
    /// database's shared-memory mutex twice, so threads reading at the
    /// same time keep putting each other to sleep: on a 2-core machine two
    /// threads read users no faster than one. With these mutexes they read
    /// about twice as fast. Call it first thing in `main`, as the `server`
    /// example does.
    ///
    /// # Safety
    ///
    /// No other thread may be using SQLite (through this crate, rusqlite
    /// or anything else) while it runs: SQLite's `sqlite3_config`, which it
    /// calls, is not thread-safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use aai_accounts::store::SqliteStore;
    ///
    /// // SAFETY: the first thing this program does; no thread uses SQLite yet.
    /// let spinning = unsafe { SqliteStore::install_spinning_mutexes() };
    /// assert_eq!(spinning, SqliteStore::spinning_mutexes());
    /// ```
    #[allow(unsafe_code)]
    pub unsafe fn install_spinning_mutexes() -> bool {
        // SAFETY: the caller's guarantee is this function's.
        unsafe { mutex::install() }
    }

    /// Whether [`SqliteStore::install_spinning_mutexes`] succeeded in this
    /// process.
    pub fn spinning_mutexes() -> bool {
        mutex::installed()
    }

    fn open_file(path: &Path, options: SqliteFileOptions) -> Result<SqliteStore> {
        valid_page_size(options.page_size)?;
        let path = path.to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Without SQLITE_OPEN_URI a file path is never read as a URI; a
        // VFS other than the default is named in one, with the path escaped.
        let (name, flags) = match file_vfs(options) {
            Some(vfs) => (file_uri(&path, vfs), flags | OpenFlags::SQLITE_OPEN_URI),
            None => (path.clone(), flags),
        };
        let target = Target::File(path.clone(), options);
        let init = move |conn: &mut Connection| init_file_connection(conn, options);
        create_private(&path)?;
        // Fail fast on an unusable path (the pool would retry until its
        // timeout) and switch the file to WAL once, before the pool opens
        // its connections.
        let mut probe =
            Connection::open_with_flags(&name, flags).map_err(storage("open the database"))?;
        init(&mut probe).map_err(storage("configure the database"))?;
        drop(probe);
        let manager = || {
            SqliteConnectionManager::file(&name)
                .with_flags(flags)
                .with_init(init)
        };
        SqliteStore::finish_open(manager, target, None)
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
        let manager = || {
            SqliteConnectionManager::file(&uri)
                .with_flags(flags)
                .with_init(|conn| init_connection(conn, false))
        };
        SqliteStore::finish_open(manager, Target::Memory, Some(Mutex::new(keep_alive)))
    }

    fn finish_open(
        manager: impl Fn() -> SqliteConnectionManager,
        target: Target,
        keep_alive: Option<Mutex<Connection>>,
    ) -> Result<SqliteStore> {
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // A local file or memory connection does not go stale; checking
            // on every checkout would parse a statement per transaction.
            .test_on_check_out(false)
            .build(manager())
            .map_err(storage("create the connection pool"))?;
        let writers = Pool::builder()
            .max_size(WRITER_POOL_SIZE)
            .min_idle(Some(1))
            .test_on_check_out(false)
            // A write waits for its turn as long as SQLite would have
            // waited for the lock.
            .connection_timeout(BUSY_TIMEOUT)
            .build(manager())
            .map_err(storage("create the connection pool"))?;
        let mut conn = writers.get().map_err(storage("get a connection"))?;
        embedded::migrations::runner()
            .run(&mut *conn)
            .map_err(storage("apply migrations"))?;
        drop(conn);
        Ok(SqliteStore {
            kept: affinity::Kept::default(),
            active: AtomicU32::new(0),
            pool,
            writers,
            target,
            _keep_alive: keep_alive,
        })
    }

    /// A connection for a write, from the writers' pool, or for a read:
    /// the one kept for this thread, else one from the read pool.
    fn connection(&self, write: bool) -> Result<affinity::Conn<'_>> {
        let started = std::time::Instant::now();
        let pooled = if write {
            self.writers.get()
        } else {
            self.kept.take().map_or_else(|| self.pool.get(), Ok)
        };
        let pooled = pooled.map_err(storage("get a connection"))?;
        let connection = affinity::Conn::new(pooled, !write, &self.active);
        crate::telemetry::connection_checkout("sqlite", started.elapsed(), || {
            self.active.load(Ordering::Relaxed)
        });
        Ok(connection)
    }

    fn transaction(
        &self,
        begin: &'static str,
        commit: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        let conn = self.connection(commit)?;
        if !conn.is_autocommit() {
            // A transaction left open by a failed rollback would make every
            // later BEGIN on this pooled connection fail.
            run(&conn, ROLLBACK).map_err(storage("end a stale transaction"))?;
        }
        run(&conn, begin).map_err(storage("begin a transaction"))?;
        let outcome = f(&mut SqliteTx::new(&conn));
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
        self.kept.put_back(conn);
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
        let mut conn = self.connection(false)?;
        let last = embedded::migrations::runner()
            .get_last_applied_migration(&mut *conn)
            .map_err(storage("read the schema version"))?;
        self.kept.put_back(conn);
        match last {
            None => Ok(0),
            Some(migration) => u32::try_from(migration.version())
                .map_err(|_| StorageError::msg("negative schema version").into()),
        }
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn reads_in_process(&self) -> bool {
        // A read of a file (WAL) never waits for a writer, and writes
        // have connections of their own. In memory (a rollback journal)
        // a read waits while a write commits.
        matches!(self.target, Target::File(..))
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
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    // Fragments, and query parameters other than the options, would be
    // read as part of the file name; refuse them rather than create a
    // surprising file.
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.ends_with('/') || path.contains('#') || path.starts_with(':') {
        return Err(unsupported());
    }
    Ok(Target::File(PathBuf::from(path), parse_options(query)?))
}

/// The [`SqliteFileOptions`] of a URL's query (without its `?`).
fn parse_options(query: &str) -> Result<SqliteFileOptions> {
    let mut options = SqliteFileOptions::new();
    let mut seen = Vec::new();
    for parameter in query.split('&').filter(|parameter| !parameter.is_empty()) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let invalid = |expected: &str| {
            Error::config(format!(
                "sqlite url parameter {name}: expected {expected}, got {value:?}"
            ))
        };
        if seen.contains(&name) {
            return Err(Error::config(format!(
                "sqlite url parameter {name}: given twice"
            )));
        }
        seen.push(name);
        match name {
            "locking" if value == "exclusive" => options.exclusive = true,
            "locking" => return Err(invalid("exclusive")),
            "mmap_size" => {
                options.mmap_size = value
                    .parse()
                    .map_err(|_| invalid("a number of bytes"))?;
            }
            "cache_size" => {
                options.cache_size = value
                    .parse()
                    .map_err(|_| invalid("a number of bytes"))?;
            }
            "batch_wal_writes" => {
                options.batch_wal_writes = value.parse().map_err(|_| invalid("true or false"))?;
            }
            // A number here; whether SQLite takes it is checked on
            // opening, for URLs and options alike (`valid_page_size`).
            "page_size" => {
                options.page_size = value
                    .parse()
                    .map_err(|_| invalid("a number of bytes"))?;
            }
            _ => {
                return Err(Error::config(format!(
                    "unsupported sqlite url parameter {name}: expected locking=exclusive, mmap_size=BYTES, cache_size=BYTES, page_size=BYTES or batch_wal_writes=false"
                )))
            }
        }
    }
    Ok(options)
}

/// The VFS a file opens with, when not SQLite's default: the batching
/// one (`vfs`, on Unix) and SQLite's `unix-excl` for exclusive locking.
fn file_vfs(options: SqliteFileOptions) -> Option<&'static str> {
    #[cfg(unix)]
    if options.batch_wal_writes {
        if let Some(name) = vfs::name(options.exclusive) {
            return Some(name);
        }
    }
    options.exclusive.then_some("unix-excl")
}

/// `path` as an SQLite URI naming `vfs`, with the characters special in a
/// URI (`%`, `?` and `#`) escaped and every other byte kept (on Unix a path
/// need not be UTF-8).
fn file_uri(path: &Path, vfs: &str) -> PathBuf {
    #[cfg(unix)]
    let path = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    #[cfg(not(unix))]
    let path = path.to_string_lossy();
    #[cfg(not(unix))]
    let path = path.as_bytes();
    let mut uri = b"file:".to_vec();
    for &byte in path {
        match byte {
            b'%' => uri.extend_from_slice(b"%25"),
            b'?' => uri.extend_from_slice(b"%3F"),
            b'#' => uri.extend_from_slice(b"%23"),
            _ => uri.push(byte),
        }
    }
    uri.extend_from_slice(b"?vfs=");
    uri.extend_from_slice(vfs.as_bytes());
    #[cfg(unix)]
    return PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(uri));
    #[cfg(not(unix))]
    PathBuf::from(String::from_utf8_lossy(&uri).into_owned())
}

/// WAL pages between automatic checkpoints (SQLite's default is 1000).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;
/// The WAL file's size after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Sets a file connection's pragmas, `options`' included.
fn init_file_connection(conn: &mut Connection, options: SqliteFileOptions) -> rusqlite::Result<()> {
    // Before anything writes the file's header (switching to WAL does):
    // SQLite takes a page size only while the database is empty, and
    // ignores it for a file that has one.
    conn.pragma_update(None, "page_size", options.page_size)?;
    init_connection(conn, true)?;
    // Keep the upper levels of every index in each connection's page
    // cache as the file grows. SQLite takes a negative size in KiB.
    let kib = i64::try_from(options.cache_size / 1024).unwrap_or(i64::MAX);
    conn.pragma_update(None, "cache_size", -kib)?;
    if options.mmap_size > 0 {
        // SQLite takes a signed 64-bit count and caps it at its maximum.
        let bytes = i64::try_from(options.mmap_size).unwrap_or(i64::MAX);
        conn.pragma_update(None, "mmap_size", bytes)?;
    }
    Ok(())
}

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
        // The page cache and any memory map are the file options' (see
        // `init_file_connection`).
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// The SQLite side of the shared error conversion.
struct Sqlite;

impl Backend for Sqlite {
    const NAME: &'static str = "sqlite";

    /// SQLite's message names the columns of the violated key:
    /// `UNIQUE constraint failed: users.username`.
    fn violated_key<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<ViolatedKey<'e>> {
        let rusqlite::Error::SqliteFailure(failure, Some(message)) =
            error.downcast_ref::<rusqlite::Error>()?
        else {
            return None;
        };
        if failure.code != ErrorCode::ConstraintViolation
            || !matches!(
                failure.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
        {
            return None;
        }
        Some(ViolatedKey::SqliteColumns(
            message.split_once(':')?.1.trim(),
        ))
    }
}

impl From<rusqlite::Error> for BackendError {
    fn from(error: rusqlite::Error) -> Self {
        BackendError(Box::new(error))
    }
}

/// Creates the database file at `path`, empty, with mode 0600 on Unix,
/// unless it exists. SQLite would create it with 0644 less the umask:
/// readable by every local user, signing key included. Its `-wal`, `-shm`
/// and `-journal` files take the database file's mode when SQLite creates
/// them, so this one file decides all of them. An empty file is an empty
/// database to SQLite.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(Error::Storage(StorageError::new(
            "create the database file",
            error,
        ))),
    }
}

/// Converts a backend error into the public error (see
/// [`error::storage`]).
fn storage<E>(context: &'static str) -> impl FnOnce(E) -> Error
where
    E: Into<BackendError>,
{
    error::storage::<Sqlite, E>(context)
}
