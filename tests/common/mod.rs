//! Shared test harness: every backend-independent test runs on each backend
//! returned by [`backends`].
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aai_accounts::{
    Accounts, AccountsBuilder, Credentials, EventKind, EventQuery, ManualClock, NewUser,
    PageRequest, PasswordParams, Principal, Registration, SigningKey, User, UserId,
};
use chrono::{DateTime, Utc};

/// Cheap argon2 parameters: tests exercise the logic, not the cost.
pub const FAST_PASSWORDS: PasswordParams = PasswordParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

pub const PASSWORD: &str = "correct horse battery staple";

/// One backend under test with a manual clock.
pub struct Harness {
    pub name: &'static str,
    pub accounts: Accounts,
    pub clock: Arc<ManualClock>,
    /// Dropped after `accounts` (fields drop in order): the test schema
    /// goes once the store's connections are closed.
    _database: Option<Box<dyn std::any::Any>>,
}

/// A fixed, whole-second start time.
pub fn start_time() -> DateTime<Utc> {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

/// A database for one harness: its URL, and what must live as long as
/// the harness (a Postgres test schema, dropped with it).
struct Database {
    name: &'static str,
    url: String,
    guard: Option<Box<dyn std::any::Any>>,
}

/// The databases to test: SQLite in memory when the crate has it;
/// Postgres when `ACCOUNTS_TEST_POSTGRES_URL` is set (each harness gets a
/// fresh schema).
fn databases() -> Vec<Database> {
    let mut databases = Vec::new();
    if cfg!(feature = "sqlite") {
        databases.push(Database {
            name: "sqlite",
            url: "sqlite::memory:".to_owned(),
            guard: None,
        });
    }
    databases.extend(postgres_database());
    databases
}

#[cfg(feature = "postgres")]
fn postgres_database() -> Option<Database> {
    let base = std::env::var("ACCOUNTS_TEST_POSTGRES_URL").ok()?;
    let schema = aai_accounts::store::PostgresTestSchema::create(&base).unwrap();
    Some(Database {
        name: "postgres",
        url: schema.url().to_owned(),
        guard: Some(Box::new(schema)),
    })
}

#[cfg(not(feature = "postgres"))]
fn postgres_database() -> Option<Database> {
    None
}

/// Tells, once per test binary, which backends were skipped. Written to
/// the process's stderr directly: the test harness captures `eprintln!`
/// and shows it only for failing tests.
fn report_skips() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        if cfg!(not(feature = "sqlite")) {
            let _ = writeln!(
                std::io::stderr(),
                "note: sqlite backend skipped (built without the `sqlite` feature)"
            );
        }
        let note = if cfg!(not(feature = "postgres")) {
            Some("postgres backend skipped (built without the `postgres` feature)")
        } else if std::env::var_os("ACCOUNTS_TEST_POSTGRES_URL").is_none() {
            Some("postgres backend skipped (ACCOUNTS_TEST_POSTGRES_URL is not set)")
        } else {
            None
        };
        if let Some(note) = note {
            let _ = writeln!(std::io::stderr(), "note: {note}");
        }
    });
}

/// A builder with test settings on `url`.
pub fn builder(url: &str, clock: Arc<ManualClock>) -> AccountsBuilder {
    Accounts::builder()
        .database_url(url)
        .signing_key(SigningKey::hs256([42u8; 32]).with_kid("test"))
        .password_params(FAST_PASSWORDS)
        .clock(clock)
}

/// Every backend, freshly created.
pub fn backends() -> Vec<Harness> {
    backends_with(|builder| builder)
}

/// [`backends`] with accounts configured further by `configure`.
pub fn backends_with(configure: impl Fn(AccountsBuilder) -> AccountsBuilder) -> Vec<Harness> {
    report_skips();
    databases()
        .into_iter()
        .map(|database| {
            let clock = Arc::new(ManualClock::new(start_time()));
            let accounts = configure(builder(&database.url, clock.clone()))
                .build()
                .unwrap();
            Harness {
                name: database.name,
                accounts,
                clock,
                _database: database.guard,
            }
        })
        .collect()
}

/// Runs `test` on every backend, naming the backend when it fails.
pub fn each(test: impl Fn(&Harness)) {
    for harness in backends() {
        eprintln!("backend: {}", harness.name);
        test(&harness);
    }
}

/// A registered, logged-in user.
pub struct TestUser {
    pub user: User,
    pub principal: Principal,
    pub registration: Registration,
}

impl Harness {
    /// A harness around an `Accounts` built elsewhere (on its own store).
    pub fn new(name: &'static str, accounts: Accounts, clock: Arc<ManualClock>) -> Self {
        Harness {
            name,
            accounts,
            clock,
            _database: None,
        }
    }

    /// The harness clock's time.
    pub fn clock_now(&self) -> DateTime<Utc> {
        use aai_accounts::Clock;
        self.clock.now()
    }

    pub fn register(&self, username: &str) -> TestUser {
        let registration = self
            .accounts
            .register(NewUser {
                username: username.to_owned(),
                email: format!("{username}@example.com"),
                password: PASSWORD.into(),
            })
            .unwrap();
        let principal = self
            .accounts
            .authenticate(&registration.tokens.access_token)
            .unwrap();
        TestUser {
            user: registration.user.clone(),
            principal,
            registration,
        }
    }

    /// How many events of `kind` the user has.
    pub fn count_events(&self, user: UserId, kind: EventKind) -> u64 {
        let query = EventQuery {
            user_id: Some(user),
            kind: Some(kind),
        };
        self.accounts
            .events()
            .list(&Principal::system(), &query, PageRequest::default())
            .unwrap()
            .total
    }

    /// A registered user promoted to super admin.
    pub fn admin(&self, username: &str) -> TestUser {
        let mut admin = self.register(username);
        admin.user = self
            .accounts
            .users()
            .set_super_admin(&Principal::system(), admin.user.id, true)
            .unwrap();
        let tokens = self
            .accounts
            .login(Credentials::new(username, PASSWORD))
            .unwrap();
        admin.principal = self.accounts.authenticate(&tokens.access_token).unwrap();
        admin
    }
}

/// The binary of example `name`, built first (a no-op when up to date) with
/// this test's features and profile into this test's target directory, so a
/// test never runs a stale or missing binary whichever way it was started
/// (`cargo test`, `--test NAME`, another `--target-dir`). Cargo holds no
/// build lock while tests run, so the nested build does not wait on it;
/// tests of one binary building at once serialize on that lock.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    use std::path::Path;
    use std::sync::Mutex;

    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT.lock().unwrap_or_else(|poison| poison.into_inner());
    if built.iter().any(|done| done == name) {
        return binary;
    }
    // The same features as this test (`default` included: it is part of
    // the unit's identity), so the build is the very unit `cargo test`
    // built: a different set would rebuild the library and replace
    // binaries other tests may be running. Keep in step with Cargo.toml.
    let features: Vec<&str> = [
        ("default", cfg!(feature = "default")),
        ("sqlite", cfg!(feature = "sqlite")),
        ("postgres", cfg!(feature = "postgres")),
        ("http", cfg!(feature = "http")),
        ("conformance", cfg!(feature = "conformance")),
    ]
    .into_iter()
    .filter_map(|(feature, on)| on.then_some(feature))
    .collect();
    let mut command = std::process::Command::new(env!("CARGO"));
    command
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--no-default-features",
        ])
        .args(["--features", &features.join(",")])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile_dir.file_name().and_then(|dir| dir.to_str()) {
        Some("debug") => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
        None => {}
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building example {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(binary.exists(), "{} is missing", binary.display());
    built.push(name.to_owned());
    binary
}
