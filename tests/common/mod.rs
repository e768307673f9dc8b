//! Shared test harness: every backend-independent test runs on each backend
//! returned by [`backends`].
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aai_accounts::{
    Accounts, AccountsBuilder, Credentials, ManualClock, NewUser, PasswordParams, Principal,
    Registration, SigningKey, User,
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
}

/// A fixed, whole-second start time.
pub fn start_time() -> DateTime<Utc> {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

/// The database URLs to test: SQLite in memory always; Postgres when
/// `ACCOUNTS_TEST_POSTGRES_URL` is set (each harness gets a fresh schema).
fn database_urls() -> Vec<(&'static str, String)> {
    let mut urls = vec![("sqlite", "sqlite::memory:".to_owned())];
    if let Some(url) = postgres_url() {
        urls.push(("postgres", url));
    }
    urls
}

#[cfg(feature = "postgres")]
fn postgres_url() -> Option<String> {
    let base = std::env::var("ACCOUNTS_TEST_POSTGRES_URL").ok()?;
    Some(aai_accounts::store::PostgresStore::fresh_test_schema_url(&base).unwrap())
}

#[cfg(not(feature = "postgres"))]
fn postgres_url() -> Option<String> {
    None
}

/// Tells, once per test binary, which backends were skipped.
fn report_skips() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if cfg!(not(feature = "postgres")) {
            eprintln!("note: postgres backend skipped (built without the `postgres` feature)");
        } else if std::env::var_os("ACCOUNTS_TEST_POSTGRES_URL").is_none() {
            eprintln!("note: postgres backend skipped (ACCOUNTS_TEST_POSTGRES_URL is not set)");
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
    report_skips();
    database_urls()
        .into_iter()
        .map(|(name, url)| {
            let clock = Arc::new(ManualClock::new(start_time()));
            let accounts = builder(&url, clock.clone()).build().unwrap();
            Harness {
                name,
                accounts,
                clock,
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
