//! Tests of the SQLite backend: the conformance suite on a fresh in-memory
//! database and on a fresh file for each check, then what is SQLite's own
//! (URLs, pragmas, locking, errors, query plans).

use chrono::Utc;
use rusqlite::types::Value;
use rusqlite::Connection;

use super::sql::*;
use super::*;
use crate::model::{
    EventId, EventKind, EventQuery, OrganizationId, PageRequest, ProfileQuery, SecurityEvent,
    Session, SessionId, UserId,
};
use crate::store::pool_in_use;
use crate::store::sql_common::lists::Placeholders;
use crate::store::sql_common::organizations::{
    GET_INVITATION_BY_TOKEN, GET_MEMBERSHIP, LIST_USER_MEMBERSHIPS,
};
use crate::store::sql_common::statements::*;

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

/// An integer pragma as a pooled connection of `store` (a writer's when
/// `write`) reports it.
fn pooled_pragma(store: &SqliteStore, write: bool, name: &str) -> i64 {
    let conn = store.connection(write).unwrap();
    conn.pragma_query_value(None, name, |row| row.get(0))
        .unwrap()
}

/// The conformance suite, one test per check, each on a fresh in-memory
/// database.
mod conformance_in_memory {
    crate::conformance_tests!(
        |check| check.run(&super::SqliteStore::open("sqlite::memory:").unwrap())
    );
}

/// The conformance suite, one test per check, each on a fresh file.
mod conformance_on_a_file {
    crate::conformance_tests!(|check| check.run(&super::file_store().1));
}

fn exclusive_file_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path_exclusive(dir.path().join("accounts.db")).unwrap();
    (dir, store)
}

/// The conformance suite on a fresh file held exclusively (several
/// connections share the WAL index in this process's memory).
mod conformance_on_an_exclusive_file {
    crate::conformance_tests!(|check| check.run(&super::exclusive_file_store().1));
}

/// The conformance suite on a fresh file read through a memory map.
mod conformance_on_a_memory_mapped_file {
    crate::conformance_tests!(|check| {
        let dir = tempfile::tempdir().unwrap();
        let options = super::SqliteFileOptions::new().mmap_size(64 << 20);
        let store = super::SqliteStore::open_path_with(dir.path().join("accounts.db"), options);
        check.run(&store.unwrap());
    });
}

#[test]
fn accepted_urls_name_memory_or_a_path() {
    let plain = SqliteFileOptions::new();
    let cases = [
        ("sqlite::memory:", Target::Memory),
        (
            "sqlite://data/accounts.db",
            Target::File("data/accounts.db".into(), plain),
        ),
        (
            "sqlite:///var/lib/a.db",
            Target::File("/var/lib/a.db".into(), plain),
        ),
        (
            "sqlite:accounts.db",
            Target::File("accounts.db".into(), plain),
        ),
        (
            "sqlite://data/accounts.db?locking=exclusive",
            Target::File("data/accounts.db".into(), plain.exclusive(true)),
        ),
        (
            "sqlite:a.db?mmap_size=4096",
            Target::File("a.db".into(), plain.mmap_size(4096)),
        ),
        (
            "sqlite:a.db?mmap_size=0&locking=exclusive",
            Target::File("a.db".into(), plain.exclusive(true)),
        ),
        (
            "sqlite:a.db?locking=exclusive&mmap_size=8589934592",
            Target::File("a.db".into(), plain.exclusive(true).mmap_size(8 << 30)),
        ),
        ("sqlite:a.db?", Target::File("a.db".into(), plain)),
        (
            "sqlite:a.db?cache_size=1048576",
            Target::File("a.db".into(), plain.cache_size(1 << 20)),
        ),
        (
            "sqlite:a.db?batch_wal_writes=false",
            Target::File("a.db".into(), plain.batch_wal_writes(false)),
        ),
        (
            "sqlite:a.db?page_size=4096&cache_size=1048576",
            Target::File("a.db".into(), plain.page_size(4096).cache_size(1 << 20)),
        ),
        (
            "sqlite:a.db?batch_wal_writes=true&locking=exclusive",
            Target::File("a.db".into(), plain.exclusive(true)),
        ),
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
        "sqlite:accounts.db?locking=exclusive&mode=ro",
        "sqlite:?locking=exclusive",
        "sqlite::memory:?locking=exclusive",
        "sqlite://data/#fragment",
        "sqlite:a.db?mmap_size=",
        "sqlite:a.db?mmap_size=-1",
        "sqlite:a.db?mmap_size=1GB",
        "sqlite:a.db?locking=shared",
        "sqlite:a.db?locking",
        "sqlite:a.db?mmap_size=1&mmap_size=2",
        "SQLITE::memory:",
    ] {
        let error = SqliteStore::open(url).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{url}: {error:?}");
    }
}

#[test]
fn a_bad_url_parameter_is_named() {
    for (url, named) in [
        ("sqlite:a.db?mmap_size=lots", "mmap_size"),
        ("sqlite:a.db?locking=none", "locking"),
        ("sqlite:a.db?mode=ro", "mode"),
        ("sqlite:a.db?locking=exclusive&locking=exclusive", "locking"),
        ("sqlite:a.db?batch_wal_writes=no", "batch_wal_writes"),
        ("sqlite:a.db?cache_size=big", "cache_size"),
        ("sqlite:a.db?page_size=3000", "page_size"),
        ("sqlite:a.db?page_size=256", "page_size"),
        ("sqlite:a.db?page_size=131072", "page_size"),
        ("sqlite:a.db?page_size=", "page_size"),
    ] {
        let Err(Error::Config(message)) = SqliteStore::open(url) else {
            panic!("{url} opened");
        };
        assert!(message.contains(named), "{url}: {message}");
    }
}

#[test]
fn a_memory_mapped_file_reads_what_was_written_and_maps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let url = format!("sqlite://{}?mmap_size=1048576", path.display());
    let store = SqliteStore::open(&url).unwrap();
    assert_eq!(
        store.target,
        Target::File(path.clone(), SqliteFileOptions::new().mmap_size(1 << 20))
    );
    store
        .write(&mut |tx| tx.insert_setting_if_absent("k", b"v"))
        .unwrap();
    let seen = crate::store::read(&store, |tx| tx.get_setting("k")).unwrap();
    assert_eq!(seen.as_deref(), Some(&b"v"[..]));
    // Every connection maps the file; a plain one does not.
    let mapped = |store: &SqliteStore| pooled_pragma(store, false, "mmap_size");
    assert_eq!(mapped(&store), 1 << 20);
    drop(store);
    assert_eq!(mapped(&SqliteStore::open_path(&path).unwrap()), 0);
    // This repository's build lets a map cover more than SQLite's default
    // cap of 2 GiB (`SQLITE_MAX_MMAP_SIZE` in `.cargo/config.toml`).
    let large = SqliteFileOptions::new().mmap_size(16 << 30);
    assert_eq!(
        mapped(&SqliteStore::open_path_with(&path, large).unwrap()),
        16 << 30
    );
}

#[test]
fn each_file_connection_caches_up_to_the_option_s_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let cache_kib = |store: &SqliteStore, write: bool| pooled_pragma(store, write, "cache_size");
    let store = SqliteStore::open_path(&path).unwrap();
    let default = -i64::try_from(DEFAULT_CACHE_SIZE / 1024).unwrap();
    assert_eq!(
        (cache_kib(&store, false), cache_kib(&store, true)),
        (default, default)
    );
    drop(store);
    let url = format!("sqlite://{}?cache_size=8388608", path.display());
    let store = SqliteStore::open(&url).unwrap();
    assert_eq!(
        (cache_kib(&store, false), cache_kib(&store, true)),
        (-8192, -8192)
    );
}

#[test]
fn a_new_file_gets_the_option_s_page_size_and_an_existing_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let page_size = |store: &SqliteStore| pooled_pragma(store, false, "page_size");
    let setting = |store: &SqliteStore, key: &str| {
        crate::store::read(store, |tx| tx.get_setting(key)).unwrap()
    };
    for (created_with, then_opened_with) in [
        (
            SqliteFileOptions::new(),
            SqliteFileOptions::new().page_size(4096),
        ),
        (
            SqliteFileOptions::new().page_size(4096),
            SqliteFileOptions::new(),
        ),
        (
            SqliteFileOptions::new().page_size(1024).exclusive(true),
            SqliteFileOptions::new().page_size(8192),
        ),
    ] {
        let path = dir.path().join(format!("{}.db", created_with.page_size));
        let store = SqliteStore::open_path_with(&path, created_with).unwrap();
        assert_eq!(page_size(&store), i64::from(created_with.page_size));
        store
            .write(&mut |tx| tx.insert_setting_if_absent("before", &[1; 5000]))
            .unwrap();
        drop(store);
        let store = SqliteStore::open_path_with(&path, then_opened_with).unwrap();
        assert_eq!(page_size(&store), i64::from(created_with.page_size));
        store
            .write(&mut |tx| tx.insert_setting_if_absent("after", &[2; 5000]))
            .unwrap();
        assert_eq!(setting(&store, "before"), Some(vec![1; 5000]));
        assert_eq!(setting(&store, "after"), Some(vec![2; 5000]));
    }
    assert_eq!(SqliteFileOptions::new().page_size, DEFAULT_PAGE_SIZE);
    assert_eq!(DEFAULT_PAGE_SIZE, 2048);
}

#[test]
fn a_page_size_sqlite_would_refuse_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for bytes in [0, 256, 3000, 4095, 131_072] {
        let path = dir.path().join(format!("{bytes}.db"));
        let options = SqliteFileOptions::new().page_size(bytes);
        let Err(Error::Config(message)) = SqliteStore::open_path_with(&path, options) else {
            panic!("page size {bytes} opened");
        };
        assert!(message.contains("page_size"), "{message}");
        // Nothing was created.
        assert!(!path.exists(), "{bytes}");
    }
}

#[test]
fn open_in_a_missing_directory_is_a_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("accounts.db");
    let error = SqliteStore::open_path(path).unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
}

/// The database holds the signing key: its file and the `-wal` and `-shm`
/// files next to it are the owner's alone, whatever the umask.
#[cfg(unix)]
#[test]
fn database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let (dir, store) = file_store();
    crate::store::write(&store, |tx| {
        tx.insert_setting_if_absent("permissions.check", b"secret")
    })
    .unwrap();
    // Another connection reading keeps the shared memory and the log.
    let conn = store.pool.get().unwrap();
    assert_eq!(pragma(&conn, "journal_mode"), "wal");
    for name in ["accounts.db", "accounts.db-wal", "accounts.db-shm"] {
        let path = dir.path().join(name);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
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
                amr: Vec::new(),
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
    assert_eq!(
        first.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    first
        .write(&mut |tx| tx.insert_setting_if_absent("kept", b"yes"))
        .unwrap();
    drop(first);
    let url = format!("sqlite://{}", path.display());
    let second = SqliteStore::open(&url).unwrap();
    assert_eq!(
        second.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    let value = crate::store::read(&second, |tx| tx.get_setting("kept")).unwrap();
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
    let conn = store.connection(false).unwrap();
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
        amr: vec![crate::model::AuthMethod::Password],
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
fn reads_of_a_file_never_wait_for_connections_held_by_writers() {
    for (_dir, store) in [file_store(), exclusive_file_store()] {
        reads_never_wait_for_writers(&store);
    }
}

fn reads_never_wait_for_writers(store: &SqliteStore) {
    assert!(store.reads_in_process());
    assert!(!SqliteStore::open("sqlite::memory:")
        .unwrap()
        .reads_in_process());
    let (entered, inside) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = std::sync::Mutex::new(released);
    let (read_tx, read_done) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        // One writer holds the write lock (it is inside before the others
        // start); more than the read pool's size queue behind it.
        for writer in 0..(POOL_SIZE + 2) {
            let (entered, released) = (entered.clone(), &released);
            scope.spawn(move || {
                store
                    .write(&mut |tx| {
                        tx.insert_setting_if_absent(&format!("writer.{writer}"), b"x")?;
                        if writer == 0 {
                            entered.send(()).unwrap();
                            released.lock().unwrap().recv().unwrap();
                        }
                        Ok(())
                    })
                    .unwrap();
            });
            if writer == 0 {
                inside.recv().unwrap();
            }
        }
        let store = &store;
        // Until the waiting writers hold every connection they can get.
        let deadline = std::time::Instant::now() + Duration::from_secs(4);
        while pool_in_use(&store.writers) < WRITER_POOL_SIZE && pool_in_use(&store.pool) < POOL_SIZE
        {
            if std::time::Instant::now() > deadline {
                release.send(()).unwrap();
                panic!("the writers never queued");
            }
            std::thread::yield_now();
        }
        scope.spawn(move || {
            for _ in 0..10 {
                store
                    .read(&mut |tx| tx.get_setting("writer.0").map(drop))
                    .unwrap();
            }
            read_tx.send(()).unwrap();
        });
        // Generous: the reads take microseconds; with writers holding every
        // connection they would wait for the writers' busy timeout (5 s).
        let answered = read_done.recv_timeout(Duration::from_secs(3));
        release.send(()).unwrap();
        answered.expect("reads waited behind the writers");
    });
}

#[test]
fn an_exclusive_file_is_shut_to_other_processes_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd %?# name.db");
    let url = format!(
        "sqlite://{}?locking=exclusive",
        dir.path().join("x.db").display()
    );
    let other_process_count = |path: &std::path::Path| {
        std::process::Command::new("python3")
            .args(["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1], timeout=0).execute('SELECT count(*) FROM settings').fetchone()[0])"])
            .arg(path)
            .output()
            .expect("python3 runs")
    };
    for store in [
        SqliteStore::open_path_exclusive(&path).unwrap(),
        SqliteStore::open(&url).unwrap(),
    ] {
        let Target::File(
            file,
            SqliteFileOptions {
                exclusive: true, ..
            },
        ) = store.target.clone()
        else {
            panic!("{:?}", store.target);
        };
        store
            .write(&mut |tx| tx.insert_setting_if_absent("k", b"v"))
            .unwrap();
        let seen = store.read(&mut |tx| tx.get_setting("k").map(drop));
        assert!(seen.is_ok(), "{seen:?}");
        let refused = other_process_count(&file);
        assert!(!refused.status.success(), "{refused:?}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("locked"),
            "{refused:?}"
        );
        drop(store);
        let after = other_process_count(&file);
        assert!(after.status.success(), "{after:?}");
        assert!(
            String::from_utf8_lossy(&after.stdout)
                .trim()
                .parse::<u32>()
                .unwrap()
                >= 1
        );
    }
}

/// How many settings have a key matching the GLOB `pattern`.
fn settings_matching(conn: &Connection, pattern: &str) -> i64 {
    conn.query_row(
        "SELECT COUNT(*) FROM settings WHERE key GLOB ?1",
        [pattern],
        |row| row.get(0),
    )
    .unwrap()
}

/// A write transaction that changes about `pages` pages of settings.
fn write_pages(store: &SqliteStore, prefix: &str, pages: usize) {
    store
        .write(&mut |tx| {
            for i in 0..pages {
                tx.insert_setting_if_absent(&format!("{prefix}.{i}"), &[7; 3000])?;
            }
            Ok(())
        })
        .unwrap();
}

#[cfg(unix)]
#[test]
fn a_transaction_reaches_the_wal_in_a_few_long_writes() {
    for exclusive in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.db");
        let options = SqliteFileOptions::new().exclusive(exclusive);
        let store = SqliteStore::open_path_with(&path, options).unwrap();
        let wal = dir.path().join("accounts.db-wal");
        let before = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
        let writes = vfs::WAL_WRITES.with(std::cell::Cell::get);
        write_pages(&store, "big", 40);
        let frame = 24 + u64::try_from(pooled_pragma(&store, true, "page_size")).unwrap();
        let frames = (std::fs::metadata(&wal).unwrap().len() - before) / frame;
        assert!(frames >= 40, "{frames} frames");
        // SQLite makes two writes per frame; gathered, they pass on in
        // pieces of up to 124 KiB, and the commit frame's page alone.
        let writes = vfs::WAL_WRITES.with(std::cell::Cell::get) - writes;
        let per_piece = vfs::MAX_WRITE as u64 / frame;
        let pieces = usize::try_from(frames.div_ceil(per_piece)).unwrap();
        assert!(
            (2..=pieces + 2).contains(&writes),
            "{writes} writes for {frames} frames"
        );
    }
}

#[test]
fn committed_transactions_are_in_the_files_before_the_store_closes() {
    for options in [
        SqliteFileOptions::new(),
        SqliteFileOptions::new().batch_wal_writes(false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path_with(dir.path().join("accounts.db"), options).unwrap();
        for round in 0..5 {
            write_pages(&store, &format!("round{round}"), 10 + round);
        }
        // What a crash would leave: the database and its WAL as they are
        // now (no checkpoint, no close), opened by SQLite's own VFS.
        let copy = tempfile::tempdir().unwrap();
        for file in ["accounts.db", "accounts.db-wal"] {
            std::fs::copy(dir.path().join(file), copy.path().join(file)).unwrap();
        }
        let conn = Connection::open(copy.path().join("accounts.db")).unwrap();
        assert_eq!(pragma(&conn, "integrity_check"), "ok");
        let written = settings_matching(&conn, "round*");
        assert_eq!(written, (10..15).sum::<i64>(), "{options:?}");
    }
}

#[cfg(unix)]
#[test]
fn frames_of_a_rolled_back_transaction_never_overwrite_a_later_commit() {
    for exclusive in [false, true] {
        rolled_back_frames_stay_out(exclusive);
    }
}

#[cfg(unix)]
fn rolled_back_frames_stay_out(exclusive: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    drop(SqliteStore::open_path(&path).unwrap());
    let uri = file_uri(&path, vfs::name(exclusive).unwrap());
    let open = || {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&uri, flags).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    };
    let (spiller, other) = (open(), open());
    // A page cache of ten pages: a transaction that writes a hundred
    // (the overflow pages of one long value) spills most of them to the
    // WAL before it ends, here in a rollback.
    spiller.pragma_update(None, "cache_size", 10).unwrap();
    let insert = |conn: &Connection, key: &str| {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, zeroblob(3000))",
            [key],
        )
        .unwrap();
    };
    spiller.execute_batch("BEGIN IMMEDIATE").unwrap();
    spiller
        .execute(
            "INSERT INTO settings (key, value) VALUES ('spilled', randomblob(400000))",
            [],
        )
        .unwrap();
    spiller.execute_batch("ROLLBACK").unwrap();
    // Another connection commits over the same part of the WAL, then the
    // first commits after it.
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..50 {
        insert(&other, &format!("other.{i}"));
    }
    other.execute_batch("COMMIT").unwrap();
    insert(&spiller, "last");
    for conn in [&spiller, &other, &open()] {
        assert_eq!(pragma(conn, "integrity_check"), "ok");
        let count = |pattern| settings_matching(conn, pattern);
        assert_eq!(
            (count("other.*"), count("last"), count("spilled")),
            (50, 1, 0)
        );
    }
}

/// The database file the killed writer child writes to.
const KILLED_WRITER_DB: &str = "AAI_KILLED_WRITER_DB";

/// The child of [`a_killed_writer_loses_no_acknowledged_commit`]: writes
/// transactions of 1 to 20 pages for ever, printing each one's number
/// once it committed.
#[test]
#[ignore = "the child process of a_killed_writer_loses_no_acknowledged_commit"]
fn killed_writer_child() {
    use std::io::Write as _;
    let Ok(url) = std::env::var(KILLED_WRITER_DB) else {
        return;
    };
    let store = SqliteStore::open(&url).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0_usize.. {
        write_pages(&store, &format!("k{i}"), 1 + i % 20);
        writeln!(out, "committed {i}").unwrap();
        out.flush().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_killed_writer_loses_no_acknowledged_commit() {
    use std::io::BufRead as _;
    for query in ["", "?locking=exclusive"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.db");
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::sqlite::tests::killed_writer_child"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env(
                KILLED_WRITER_DB,
                format!("sqlite://{}{query}", path.display()),
            )
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Kill it (SIGKILL: no destructor, no flush of anything it holds)
        // in the middle of its writes.
        let mut acknowledged = None;
        for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(number) = line.strip_prefix("committed ") {
                acknowledged = Some(number.parse::<usize>().unwrap());
                if acknowledged == Some(150) {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let acknowledged = acknowledged.expect("the child committed");
        // SQLite's own VFS recovers the WAL the killed process left.
        let conn = Connection::open(&path).unwrap();
        assert_eq!(pragma(&conn, "integrity_check"), "ok", "{query}");
        let pages =
            |i: usize| usize::try_from(settings_matching(&conn, &format!("k{i}.*"))).unwrap();
        for i in 0..=acknowledged {
            assert_eq!(pages(i), 1 + i % 20, "transaction {i} {query}");
        }
        // The transaction it was in when killed is whole or absent.
        let next = acknowledged + 1;
        assert!([0, 1 + next % 20].contains(&pages(next)), "{query}");
    }
}

/// What the other process of
/// [`another_process_writes_and_reads_beside_batched_writes`] runs
/// (Python's `sqlite3`, SQLite's own VFS): 200 transactions of its own,
/// each followed by a read that no transaction of ours is seen in part,
/// and a line that lets ours write one more.
const OTHER_PROCESS: &str = r#"
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
torn_sql = """SELECT substr(key, 1, instr(key, '.') - 1) AS txn, count(*) FROM settings
              WHERE key GLOB 'rs*' GROUP BY txn HAVING count(*) != 5"""
for i in range(200):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO settings (key, value) VALUES (?, randomblob(3000))", (f"py.{i}",))
    conn.execute("COMMIT")
    torn = conn.execute(torn_sql).fetchall()
    assert not torn, f"torn transactions: {torn}"
    print("wrote", i, flush=True)
print("integrity", conn.execute("PRAGMA integrity_check").fetchone()[0], flush=True)
"#;

#[cfg(unix)]
#[test]
fn another_process_writes_and_reads_beside_batched_writes() {
    use std::io::BufRead as _;
    let (dir, store) = file_store();
    let path = dir.path().join("accounts.db");
    let mut other = std::process::Command::new("python3")
        .args(["-c", OTHER_PROCESS])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    // One transaction of ours (five pages) for each of theirs, at the
    // same time as their next.
    let (mut rounds, mut integrity) = (0, String::new());
    for line in std::io::BufReader::new(other.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("wrote ") {
            write_pages(&store, &format!("rs{rounds}"), 5);
            rounds += 1;
        } else {
            integrity = line;
        }
    }
    assert!(other.wait().unwrap().success());
    assert_eq!((rounds, integrity.as_str()), (200, "integrity ok"));
    let conn = store.connection(false).unwrap();
    assert_eq!(pragma(&conn, "integrity_check"), "ok");
    let count = |pattern| settings_matching(&conn, pattern);
    assert_eq!((count("py.*"), count("rs*")), (200, 1000));
}

/// A read of `store` (a setting that is not there).
fn read_once(store: &SqliteStore) {
    crate::store::read(store, |tx| tx.get_setting("nothing")).unwrap();
}

#[cfg(unix)]
#[test]
fn reads_hand_their_read_mark_on_instead_of_locking_it_each_time() {
    let (_dir, store) = file_store();
    write_pages(&store, "w", 3);
    let _paused = vfs::SweeperPaused::new();
    let taken = vfs::READ_MARKS_TAKEN.with(std::cell::Cell::get);
    for _ in 0..100 {
        read_once(&store);
    }
    // The first read takes its mark from SQLite's VFS; the others get it
    // back kept. (A test of another file may release every kept mark once,
    // as the sweeper would.)
    let taken = vfs::READ_MARKS_TAKEN.with(std::cell::Cell::get) - taken;
    assert!((1..=2).contains(&taken), "{taken} read marks taken");
}

/// `PRAGMA wal_checkpoint(TRUNCATE)` on `conn`: whether it was refused
/// (busy), and the WAL's frames.
fn truncate_wal(conn: &Connection) -> (i64, i64) {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })
    .unwrap()
}

#[cfg(unix)]
#[test]
fn kept_read_marks_never_hold_back_a_checkpoint_of_the_process() {
    let (dir, store) = file_store();
    let _paused = vfs::SweeperPaused::new();
    write_pages(&store, "w", 20);
    // Reads on two connections at once, so that each keeps a mark.
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                crate::store::read(&store, |tx| {
                    barrier.wait();
                    tx.get_setting("nothing")
                })
                .unwrap()
            });
        }
    });
    // A truncation takes every read mark exclusively: kept ones are given
    // up for it, and the WAL empties.
    let conn = store.connection(true).unwrap();
    assert_eq!(truncate_wal(&conn), (0, 0));
    let wal = dir.path().join("accounts.db-wal");
    assert_eq!(std::fs::metadata(wal).unwrap().len(), 0);
    // Reads go on from the emptied WAL.
    read_once(&store);
    write_pages(&store, "after", 2);
    assert_eq!(settings_matching(&conn, "after.*"), 2);
}

/// What [`another_process_checkpoints_once_kept_read_marks_are_released`]
/// runs (Python's `sqlite3`, another process): a truncating checkpoint that
/// does not wait, printing whether it was refused (busy).
const OTHER_PROCESS_CHECKPOINT: &str = r#"
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
print(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0], flush=True)
"#;

#[cfg(unix)]
#[test]
fn another_process_checkpoints_once_kept_read_marks_are_released() {
    let (dir, store) = file_store();
    let _paused = vfs::SweeperPaused::new();
    let path = dir.path().join("accounts.db");
    let busy = || {
        let out = std::process::Command::new("python3")
            .args(["-c", OTHER_PROCESS_CHECKPOINT])
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    write_pages(&store, "w", 20);
    read_once(&store);
    // A kept mark is a read to another process: it cannot take the marks.
    assert_eq!(busy(), "1");
    // What the sweeper does every few milliseconds.
    vfs::sweep();
    assert_eq!(busy(), "0");
    let wal = dir.path().join("accounts.db-wal");
    assert_eq!(std::fs::metadata(wal).unwrap().len(), 0);
    read_once(&store);
}

#[cfg(unix)]
#[test]
fn a_path_that_is_not_utf8_opens_in_every_mode() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"odd \xff %?# name.db");
    for options in [
        SqliteFileOptions::new(),
        SqliteFileOptions::new().exclusive(true),
        SqliteFileOptions::new().batch_wal_writes(false),
    ] {
        let store = SqliteStore::open_path_with(dir.path().join(name), options).unwrap();
        store
            .write(&mut |tx| tx.insert_setting_if_absent("k", b"v"))
            .unwrap();
    }
    assert!(dir.path().join(name).exists());
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

/// This repository builds SQLite as `.cargo/config.toml` says: a page
/// cache per connection and no memory statistics, so that reads from
/// several threads take no process-wide lock (README "Performance").
#[test]
fn sqlite_is_built_without_process_wide_locks() {
    let conn = Connection::open_in_memory().unwrap();
    let mut statement = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
}

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
    let conn = store.connection(false).unwrap();
    let listing = "p.is_active = 1 AND p.is_public = 1";
    let org = OrganizationId::new();
    let members = crate::store::sql_common::organizations::members(org, &ORGANIZATION_CONDITIONS);
    let members_page = members
        .page_sql(Placeholders::Anonymous, PageRequest::new(3, 20))
        .replacen('?', "x'00'", 1)
        .replace("OFFSET ?", "OFFSET 40");
    let members_count = members.count_sql(Placeholders::Anonymous);
    let invitations_page = crate::store::sql_common::organizations::invitations(org)
        .page_sql(Placeholders::Anonymous, PageRequest::new(1, 20))
        .replacen('?', "x'00'", 1)
        .replace("OFFSET ?", "OFFSET 0");
    let queries = [
        GET_USER.replace("?1", "x'00'"),
        GET_USER_BY_USERNAME.replace("?1", "'ada'"),
        GET_USER_BY_EMAIL.replace("?1", "'ada@example.com'"),
        GET_PROFILE.replace("?1", "x'00'"),
        GET_PROFILE_BY_USER.replace("?1", "x'00'"),
        LIST_CONTACTS.replace("?1", "x'00'").replace("?2", "1"),
        "SELECT id FROM sessions WHERE user_id = x'00' AND revoked_at IS NULL \
         AND expires_at > 0 ORDER BY created_at DESC, id DESC LIMIT 20"
            .to_owned(),
        GET_DEVICE_TOKEN.replace("?1", "x'00'"),
        DELETE_DEVICE_TOKENS.replace("?1", "x'00'"),
        DELETE_EXPIRED_SESSIONS.replace("?1", "0"),
        DELETE_EXPIRED_REFRESH_TOKENS.replace("?1", "0"),
        DELETE_EXPIRED_DEVICE_TOKENS.replace("?1", "0"),
        DELETE_EVENTS_BEFORE.replace("?1", "0"),
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
        // Organizations: a membership check, a page of members with its
        // count, the owners, a user's memberships, invitations.
        GET_MEMBERSHIP.replace("?1", "x'00'").replace("?2", "x'01'"),
        members_page.replace('?', "x'00'"),
        members_count.replace('?', "x'00'"),
        ORGANIZATION_CONDITIONS.count_owners.replace("?1", "x'00'"),
        LIST_USER_MEMBERSHIPS.replace("?1", "x'00'"),
        GET_INVITATION_BY_TOKEN.replace("?1", "x'00'"),
        invitations_page.replace('?', "x'00'"),
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
    // The partial indexes of V7 serve what looks for their rows: an
    // actor's events, the active jobs of an industry.
    for (sql, index) in [
        (
            ANONYMIZE_EVENTS
                .replace("?1", "x'00'")
                .replace("?2", "x'01'"),
            "security_events_actor",
        ),
        (
            "SELECT profile_id FROM jobs WHERE is_active = 1 AND industry = 'software'".to_owned(),
            "jobs_industry",
        ),
    ] {
        let steps = plan(&conn, &sql);
        assert!(
            steps.iter().any(|step| step.contains(index))
                && !steps.iter().any(|step| step.starts_with("SCAN")),
            "{sql}\n{steps:#?}"
        );
    }
    // A user's search of a place reads the public profiles in list order
    // from an index range and sorts only a page's depth of them.
    let query = ProfileQuery {
        country: Some("FR".into()),
        ..ProfileQuery::default()
    };
    let (visible, _) = visible_profiles_page(&query, UserId::new(), PageRequest::new(3, 20));
    let steps = plan(&conn, &visible.replace('?', "x'00'"));
    assert!(
        steps.iter().any(|step| step
            == "SEARCH p USING COVERING INDEX profiles_place \
                (country=? AND is_active=? AND is_public=?)")
            && !steps.iter().any(|step| step.starts_with("SCAN p")),
        "{visible}\n{steps:#?}"
    );
}

#[test]
fn a_contact_or_job_is_written_through_its_primary_key() {
    let store = SqliteStore::open("sqlite::memory:").unwrap();
    let conn = store.connection(false).unwrap();
    for (sql, table) in [
        (UPDATE_CONTACT_BY_KEY, "contacts"),
        (UPDATE_JOB_BY_KEY, "jobs"),
    ] {
        let sql = (1..=10).rev().fold(sql.to_owned(), |sql, n| {
            sql.replace(&format!("?{n}"), "NULL")
        });
        assert_eq!(
            plan(&conn, &sql),
            [format!(
                "SEARCH {table} USING PRIMARY KEY (profile_id=? AND id=?)"
            )],
            "{sql}"
        );
    }
    // The checks before such a write read the child and its profile by
    // their unique keys.
    for sql in [
        GET_CONTACT_WITH_PARENT,
        GET_JOB_WITH_PARENT,
        GET_USER_STANDING,
    ] {
        let steps = plan(&conn, &sql.replace("?1", "x'00'"));
        assert!(
            steps.iter().all(|step| step.starts_with("SEARCH")),
            "{sql}\n{steps:#?}"
        );
    }
}

#[test]
fn a_database_of_the_previous_schema_upgrades_keeping_its_data() {
    upgrade_from(crate::store::conformance::upgrade::PREVIOUS_VERSION);
}

#[test]
fn a_database_of_v5_upgrades_to_the_second_factor_keeping_its_data() {
    upgrade_from(crate::store::conformance::upgrade::BEFORE_SECOND_FACTOR);
}

#[test]
fn a_database_of_v6_upgrades_to_partial_indexes_keeping_its_data() {
    upgrade_from(crate::store::conformance::upgrade::BEFORE_PARTIAL_INDEXES);
}

/// Writes the upgrade world on a database of schema `version`, then
/// upgrades and checks it.
fn upgrade_from(version: i32) {
    use crate::store::conformance::upgrade;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let mut conn = Connection::open(&path).unwrap();
    embedded::migrations::runner()
        .set_target(refinery::Target::Version(version))
        .run(&mut conn)
        .unwrap();
    // Today's statements write the world; the columns the version lacks
    // are there only while they do.
    let (add, drop_columns) = upgrade::sqlite_later_columns(version);
    conn.execute_batch(&add).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let world = upgrade::write_previous_world(&mut super::tx::SqliteTx::new(&conn));
    conn.execute_batch("COMMIT").unwrap();
    conn.execute_batch(&drop_columns).unwrap();
    drop(conn);
    upgrade::check_upgraded(&format!("sqlite://{}", path.display()), &world);
}

/// The country copied onto the profile named `first_name`.
fn profile_country(conn: &Connection, first_name: &str) -> Option<String> {
    conn.query_row(
        "SELECT country FROM profiles WHERE first_name = ?1",
        [first_name],
        |row| row.get(0),
    )
    .unwrap()
}

/// Migration V3 repairs what V2 let through: a profile left active by an
/// inactive owner is deactivated with them, and profiles of deactivated
/// locations lose their place (and their count under its country).
#[test]
fn migration_v3_repairs_soft_delete_holes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        init_connection(&mut conn, true).unwrap();
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(2))
            .run(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, email, password_hash, is_active, is_super_admin, \
               tokens_valid_after, created_at, updated_at, deactivated_at) VALUES \
               (X'00000000000000000000000000000001', 'gone', 'gone@example.com', 'x', 0, 0, \
                0, 10, 50, 50), \
               (X'00000000000000000000000000000002', 'here', 'here@example.com', 'x', 1, 0, \
                0, 10, 10, NULL);
             INSERT INTO locations (id, user_id, country, city, is_active, created_at, \
               updated_at) VALUES \
               (X'00000000000000000000000000000011', X'00000000000000000000000000000002', \
                'TV', 'Funafuti', 1, 10, 10);
             INSERT INTO profiles (id, user_id, first_name, last_name, location_id, \
               is_public, allow_contact, is_active, created_at, updated_at, country, city) \
               VALUES \
               (X'00000000000000000000000000000021', X'00000000000000000000000000000001', \
                'Gone', 'User', NULL, 1, 0, 1, 20, 20, NULL, NULL), \
               (X'00000000000000000000000000000022', X'00000000000000000000000000000002', \
                'Here', 'User', X'00000000000000000000000000000011', 1, 0, 1, 20, 20, \
                'TV', 'Funafuti');
             UPDATE locations SET is_active = 0, deactivated_at = 30, updated_at = 30;",
        )
        .unwrap();
        assert_eq!(
            profile_country(&conn, "Here").as_deref(),
            Some("TV"),
            "the V2 trigger kept the place"
        );
    }
    let store = SqliteStore::open_path(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        crate::store::SCHEMA_VERSION
    );
    let conn = store.pool.get().unwrap();
    let (active, deactivated_at, updated_at): (i64, Option<i64>, i64) = conn
        .query_row(
            "SELECT is_active, deactivated_at, updated_at FROM profiles WHERE first_name = 'Gone'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((active, deactivated_at, updated_at), (0, Some(50), 50));
    let place: (Option<String>, Option<String>) = conn
        .query_row(
            "SELECT country, city FROM profiles WHERE first_name = 'Here'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(place, (None, None));
    let counted: i64 = conn
        .query_row(
            "SELECT IFNULL(SUM(n), 0) FROM profile_counts WHERE country = 'TV'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(counted, 0);
    // The new trigger: restoring the location restores the place.
    conn.execute(
        "UPDATE locations SET is_active = 1, deactivated_at = NULL",
        [],
    )
    .unwrap();
    assert_eq!(profile_country(&conn, "Here").as_deref(), Some("TV"));
}

#[test]
fn a_thread_reads_through_the_connection_kept_for_it() {
    let (_dir, store) = file_store();
    for _ in 0..100 {
        read_once(&store);
    }
    // One connection out of the pool, kept between the reads; none in use.
    assert_eq!(store.kept.count(), 1);
    assert_eq!(pool_in_use(&store.pool), 1);
    assert_eq!(store.active.load(Ordering::Relaxed), 0);
}

#[test]
fn threads_beyond_the_slots_read_from_the_pool_and_nothing_leaks() {
    let (_dir, store) = file_store();
    let threads = affinity::SLOTS * 2 + 1;
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..200 {
                    read_once(&store);
                }
            });
        }
    });
    // Every connection went back: to a slot (at most one each) or to the
    // pool, and none counts as in use.
    assert!(store.kept.count() <= affinity::SLOTS);
    assert_eq!(pool_in_use(&store.pool), store.kept.count() as u32);
    assert_eq!(store.active.load(Ordering::Relaxed), 0);
}

#[test]
fn a_read_that_fails_leaves_its_kept_connection_usable() {
    let (_dir, store) = file_store();
    for _ in 0..3 {
        let failed = store.read(&mut |tx| {
            tx.get_setting("x")?;
            Err(Error::Forbidden)
        });
        assert!(matches!(failed, Err(Error::Forbidden)));
    }
    read_once(&store);
    assert_eq!(store.kept.count(), 1);
    assert_eq!(store.active.load(Ordering::Relaxed), 0);
}

#[test]
fn a_database_of_v7_upgrades_to_profiles_copying_their_location() {
    upgrade_from(crate::store::conformance::upgrade::BEFORE_PROFILE_LOCATION_COPY);
}

#[test]
fn a_database_of_v8_upgrades_to_v9_keeping_its_data() {
    upgrade_from(crate::store::conformance::upgrade::BEFORE_PROFILE_PLACE);
}

/// How many profiles' copies of their location (migration V8) differ from
/// the location itself; a profile without one must copy nothing.
fn stale_location_copies(store: &SqliteStore) -> i64 {
    let conn = store.connection(false).unwrap();
    let differs = [
        "user_id",
        "country",
        "state_province",
        "city",
        "postal_code",
        "is_active",
        "created_at",
        "updated_at",
        "deactivated_at",
    ]
    .map(|column| format!("p.location_{column} IS NOT l.{column}"))
    .join(" OR ");
    conn.query_row(
        &format!(
            "SELECT count(*) FROM profiles p LEFT JOIN locations l ON l.id = p.location_id \
             WHERE {differs}"
        ),
        [],
        |row| row.get(0),
    )
    .unwrap()
}

/// Every write that changes a location, or which location a profile has,
/// keeps the profile's copy equal to the location, and the profile reads
/// it back as the location.
#[test]
fn profiles_copies_of_their_location_follow_every_change() {
    use crate::store::conformance::fixtures::{move_placed_profiles, placed_profiles, read_ok};
    let (_dir, store) = file_store();
    let read = |store: &SqliteStore, id| {
        read_ok(store, |tx| {
            tx.get_profile_details(id, crate::model::ActiveFilter::All)
        })
        .unwrap()
        .location
    };
    let mut placed = placed_profiles(&store, "copier");
    move_placed_profiles(&store, &mut placed, |placed| {
        for profile in [&placed.with_home, &placed.without] {
            let location = [&placed.home, &placed.away]
                .into_iter()
                .find(|location| Some(location.id) == profile.location_id);
            assert_eq!(read(&store, profile.id).as_ref(), location);
        }
        assert_eq!(stale_location_copies(&store), 0);
    });

    // A location deleted outright leaves no copy behind.
    store
        .connection(true)
        .unwrap()
        .execute(
            "DELETE FROM locations WHERE id = ?1",
            [placed.home.id.as_bytes()],
        )
        .unwrap();
    assert_eq!(read(&store, placed.without.id), None);
    assert_eq!(stale_location_copies(&store), 0);
}
