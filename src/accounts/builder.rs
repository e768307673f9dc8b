//! [`AccountsBuilder`]: configures and opens [`Accounts`].

use std::fmt;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use chrono::Duration;

use super::lifecycle::OneTimeTokenTtls;
use super::{Accounts, Inner, Limits, LockoutPolicy};
use crate::auth::hashing::{HashingLimits, Passwords};
use crate::auth::password::PasswordParams;
use crate::auth::policy::AdminRule;
use crate::auth::timing::TimingFloor;
use crate::auth::tokens::{self, SigningKey, TokenService, VerificationKey};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::store::{self, Store};

/// Configures and opens [`Accounts`].
///
/// ```
/// use aai_accounts::{Accounts, SigningKey};
/// use chrono::Duration;
///
/// let accounts = Accounts::builder()
///     .database_url("sqlite::memory:")
///     .signing_key(SigningKey::hs256([7u8; 32]))
///     .access_ttl(Duration::minutes(15))
///     .build()?;
/// # Ok::<(), aai_accounts::Error>(())
/// ```
#[must_use]
pub struct AccountsBuilder {
    database_url: Option<String>,
    store: Option<Arc<dyn Store>>,
    read_replica_urls: Vec<String>,
    replica_max_lag: Duration,
    signing_key: Option<SigningKey>,
    verification_keys: Vec<VerificationKey>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    device_token_ttl: Duration,
    event_retention: Duration,
    one_time_token_ttls: OneTimeTokenTtls,
    require_verified_email: bool,
    require_second_factor_for_admins: bool,
    totp_issuer: String,
    issuer: String,
    audience: String,
    clock: Arc<dyn Clock>,
    password_params: PasswordParams,
    hashing: HashingLimits,
    lockout: LockoutPolicy,
    limits: Limits,
}

impl fmt::Debug for AccountsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountsBuilder")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("store", &self.store)
            .field(
                "read_replica_urls",
                &self
                    .read_replica_urls
                    .iter()
                    .map(|url| redact_url(url))
                    .collect::<Vec<_>>(),
            )
            .field("replica_max_lag", &self.replica_max_lag)
            .field("signing_key", &self.signing_key)
            .field("verification_keys", &self.verification_keys)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("session_lifetime", &self.session_lifetime)
            .field("device_token_ttl", &self.device_token_ttl)
            .field("event_retention", &self.event_retention)
            .field("one_time_token_ttls", &self.one_time_token_ttls)
            .field("require_verified_email", &self.require_verified_email)
            .field(
                "require_second_factor_for_admins",
                &self.require_second_factor_for_admins,
            )
            .field("totp_issuer", &self.totp_issuer)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("password_params", &self.password_params)
            .field("hashing", &self.hashing)
            .field("lockout", &self.lockout)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A database URL without its password, for `Debug` output.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password fails only for URLs that cannot have one,
            // and this one has one.
            let _ = parsed.set_password(Some("<redacted>"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The settings key of the generated HS256 secret.
const GENERATED_KEY_SETTING: &str = "jwt.hs256.generated";
/// The shortest HS256 secret accepted.
const MIN_HS256_SECRET: usize = 32;

impl Default for AccountsBuilder {
    fn default() -> Self {
        AccountsBuilder {
            database_url: None,
            store: None,
            read_replica_urls: Vec::new(),
            replica_max_lag: Duration::seconds(5),
            signing_key: None,
            verification_keys: Vec::new(),
            access_ttl: Duration::minutes(30),
            refresh_ttl: Duration::days(7),
            session_lifetime: Duration::days(30),
            device_token_ttl: Duration::days(180),
            event_retention: Duration::days(400),
            one_time_token_ttls: OneTimeTokenTtls::default(),
            require_verified_email: false,
            require_second_factor_for_admins: false,
            totp_issuer: "aai-accounts".to_owned(),
            issuer: "aai-accounts".to_owned(),
            audience: "aai-accounts".to_owned(),
            clock: Arc::new(SystemClock),
            password_params: PasswordParams::default(),
            hashing: HashingLimits::default(),
            lockout: LockoutPolicy::default(),
            limits: Limits::default(),
        }
    }
}

impl AccountsBuilder {
    /// The database to open: `sqlite://path`, `sqlite::memory:` or
    /// `postgres://...` (feature `postgres`).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// A store to use instead of a database URL.
    pub fn store(mut self, store: impl Store + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// A shared store to use instead of a database URL.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// A read replica of the Postgres database [`database_url`] names
    /// (feature `postgres`): a hot standby streaming from it, as a
    /// `postgres://` URL whose `search_path` names the same schema. Call
    /// it once per replica.
    ///
    /// Reads that tolerate lag then go to the replicas in turn while they
    /// lag by at most [`replica_max_lag`]: profile search, location reads
    /// and lists, user and event lists. Everything else stays on the
    /// primary: authentication, refresh, login, every write and the read
    /// of the acting user that authorizes each request (a revoked session
    /// or a deactivated user is refused at once, however far a replica
    /// lags), and reads whose result decides who may see what (a profile
    /// read). A replica that fails or lags too much is skipped and the
    /// read served by the primary (see
    /// [`PostgresStore::open_with_replicas`](crate::store::PostgresStore::open_with_replicas)).
    ///
    /// ```no_run
    /// # use aai_accounts::Accounts;
    /// let accounts = Accounts::builder()
    ///     .database_url("postgres://accounts@primary/accounts")
    ///     .read_replica_url("postgres://accounts@replica-1/accounts")
    ///     .read_replica_url("postgres://accounts@replica-2/accounts")
    ///     .build()?;
    /// # Ok::<(), aai_accounts::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) answers [`Error::Config`] when the URL is
    /// invalid or the primary is not a Postgres database URL (SQLite, or a
    /// [`store`](Self::store)).
    ///
    /// [`database_url`]: Self::database_url
    /// [`replica_max_lag`]: Self::replica_max_lag
    pub fn read_replica_url(mut self, url: impl Into<String>) -> Self {
        self.read_replica_urls.push(url.into());
        self
    }

    /// How far behind the primary a read replica may be and still serve
    /// reads (default 5 seconds): a replica whose replay lags more, or is
    /// paused behind received changes, is skipped until it catches up.
    /// The lag is measured once a second, so reads may lag by up to this
    /// plus a second.
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) answers [`Error::Config`] for a negative
    /// lag.
    pub fn replica_max_lag(mut self, lag: Duration) -> Self {
        self.replica_max_lag = lag;
        self
    }

    /// The key that signs access tokens. Without one, a random HS256 key is
    /// generated once and kept in the database.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// A further key that access tokens may be signed with: the previous
    /// signing key while keys rotate.
    pub fn verification_key(mut self, key: impl Into<VerificationKey>) -> Self {
        self.verification_keys.push(key.into());
        self
    }

    /// How long access tokens live (default 30 minutes).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// How long a refresh token lives unused (default 7 days).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// The absolute lifetime of a session (default 30 days): however often
    /// it is refreshed, no token of it is accepted afterwards and the user
    /// logs in again.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// How long a device token stays valid after its last successful login
    /// (default 180 days).
    pub fn device_token_ttl(mut self, ttl: Duration) -> Self {
        self.device_token_ttl = ttl;
        self
    }

    /// How long [`Accounts::prune`] keeps security events (default 400
    /// days: a year and a margin, for yearly audits).
    pub fn event_retention(mut self, retention: Duration) -> Self {
        self.event_retention = retention;
        self
    }

    /// Whether logins need a verified email address (default `false`):
    /// when on, a login of an unverified account with the right password
    /// answers [`Error::EmailNotVerified`]. Registration still returns
    /// tokens, so that the new user can ask for a verification mail with
    /// them; one who lost them proves the address with a password reset.
    pub fn require_verified_email(mut self, required: bool) -> Self {
        self.require_verified_email = required;
        self
    }

    /// Whether a super admin's powers need a session authenticated with a
    /// second factor (default `false`).
    ///
    /// When on, a super admin holds them only in sessions whose login
    /// passed a TOTP or recovery code (access tokens with `amr` containing
    /// `otp`). Without, they still log in, enrol a TOTP
    /// ([`Users::totp_begin`](crate::Users::totp_begin)) and use
    /// everything an ordinary user may, but they act as an ordinary user:
    /// admin-only operations answer [`Error::Forbidden`] (and reads of
    /// others' rows [`Error::NotFound`]), and their tokens' `adm` claim is
    /// `false`. The rule is applied where every principal is resolved, so
    /// it holds for [`Accounts::authenticate`] and
    /// [`Accounts::verify_bearer`] principals alike.
    pub fn require_second_factor_for_admins(mut self, required: bool) -> Self {
        self.require_second_factor_for_admins = required;
        self
    }

    /// The issuer named in TOTP enrolments' `otpauth://` URIs, which
    /// authenticator apps show next to the account (default
    /// `"aai-accounts"`).
    ///
    /// # Errors
    ///
    /// [`build`](Self::build) fails with [`Error::Config`] for an empty
    /// issuer or one containing `:`.
    pub fn totp_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.totp_issuer = issuer.into();
        self
    }

    /// How long an email verification token lives (default 48 hours).
    pub fn verification_token_ttl(mut self, ttl: Duration) -> Self {
        self.one_time_token_ttls.email_verification = ttl;
        self
    }

    /// How long a password reset token lives (default 30 minutes).
    pub fn password_reset_token_ttl(mut self, ttl: Duration) -> Self {
        self.one_time_token_ttls.password_reset = ttl;
        self
    }

    /// How long an email change token lives (default 24 hours).
    pub fn email_change_token_ttl(mut self, ttl: Duration) -> Self {
        self.one_time_token_ttls.email_change = ttl;
        self
    }

    /// How long an organization invitation lives (default 7 days).
    pub fn invitation_ttl(mut self, ttl: Duration) -> Self {
        self.one_time_token_ttls.invitation = ttl;
        self
    }

    /// The `iss` claim of issued and accepted tokens (default
    /// `aai-accounts`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The `aud` claim of issued and accepted tokens (default
    /// `aai-accounts`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Argon2id parameters for new hashes (default: OWASP's m=19456 KiB,
    /// t=2, p=1). Hashes with other parameters are upgraded on login.
    pub fn password_params(mut self, params: PasswordParams) -> Self {
        self.password_params = params;
        self
    }

    /// How many password hashes and verifications may run at once, and
    /// how many callers may wait for one (default: one per core, 64
    /// waiting). Beyond that, calls fail fast with [`Error::Busy`]. Memory
    /// spent on hashing is at most `concurrency x` the argon2 memory cost
    /// (19 MiB by default).
    pub fn hashing_limits(mut self, limits: HashingLimits) -> Self {
        self.hashing = limits;
        self
    }

    /// The lockout policy (default: 5 failures, 1 minute doubling up to 1
    /// hour).
    pub fn lockout(mut self, policy: LockoutPolicy) -> Self {
        self.lockout = policy;
        self
    }

    /// How many active contacts a profile may have (default 20): a bound
    /// on what one account can make the others store and read. Adding or
    /// restoring one more, or creating a profile with more, is refused
    /// with [`Error::Validation`] naming `contacts`. Lowering it keeps the
    /// contacts already there.
    pub fn max_contacts_per_profile(mut self, max: usize) -> Self {
        self.limits.contacts = max;
        self
    }

    /// How many active jobs a profile may have (default 20), as
    /// [`max_contacts_per_profile`](Self::max_contacts_per_profile) for
    /// `jobs`.
    pub fn max_jobs_per_profile(mut self, max: usize) -> Self {
        self.limits.jobs = max;
        self
    }

    /// Opens the store, applies pending migrations and loads or generates
    /// the signing key.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when neither a URL nor a store is given, the URL
    /// is unsupported, an HS256 secret is shorter than 32 bytes, a TTL is
    /// not positive, the password parameters are invalid, or read replicas
    /// are given for a primary that is no Postgres database URL (or with
    /// an invalid URL or a negative maximum lag);
    /// [`Error::Storage`] when the database cannot be opened or migrated.
    pub fn build(self) -> Result<Accounts> {
        if [
            self.access_ttl,
            self.refresh_ttl,
            self.session_lifetime,
            self.device_token_ttl,
            self.event_retention,
            self.one_time_token_ttls.email_verification,
            self.one_time_token_ttls.password_reset,
            self.one_time_token_ttls.email_change,
        ]
        .iter()
        .any(|ttl| *ttl <= Duration::zero())
        {
            return Err(Error::config("token lifetimes must be positive"));
        }
        if self.lockout.base <= Duration::zero() || self.lockout.max < self.lockout.base {
            return Err(Error::config(
                "lockout durations must be positive, max >= base",
            ));
        }
        let replica_max_lag = self
            .replica_max_lag
            .to_std()
            .map_err(|_| Error::config("replica_max_lag must not be negative"))?;
        if self.store.is_some() && !self.read_replica_urls.is_empty() {
            return Err(Error::config(
                "read replicas need a postgres database url, not a store",
            ));
        }
        let store = match (self.store, self.database_url) {
            (Some(store), _) => store,
            (None, Some(url)) => {
                store::open_url_with_replicas(&url, &self.read_replica_urls, replica_max_lag)?
            }
            (None, None) => return Err(Error::config("a database url or a store is required")),
        };
        let signing_key = match self.signing_key {
            Some(key) => key,
            None => generated_key(store.as_ref())?,
        };
        if signing_key
            .hs256_secret_len()
            .is_some_and(|len| len < MIN_HS256_SECRET)
        {
            return Err(Error::config("an hs256 secret must be at least 32 bytes"));
        }
        if self.totp_issuer.trim().is_empty() || self.totp_issuer.contains(':') {
            return Err(Error::config(
                "the totp issuer must be non-empty and contain no ':'",
            ));
        }
        let tokens = TokenService::new(
            signing_key,
            self.verification_keys,
            self.issuer,
            self.audience,
        )?;
        Ok(Accounts {
            inner: Arc::new(Inner {
                store,
                clock: self.clock,
                passwords: Passwords::new(self.password_params, self.hashing)?,
                tokens,
                access_ttl: self.access_ttl,
                refresh_ttl: self.refresh_ttl,
                session_lifetime: self.session_lifetime,
                device_token_ttl: self.device_token_ttl,
                event_retention: self.event_retention,
                one_time_token_ttls: self.one_time_token_ttls,
                require_verified_email: self.require_verified_email,
                admin_rule: AdminRule {
                    second_factor_required: self.require_second_factor_for_admins,
                },
                totp_issuer: self.totp_issuer,
                // Starts at nothing and rises to the slowest request seen
                // (capped): an existing account's request writes, an
                // unknown one's only reads.
                reset_request_floor: TimingFloor::new(
                    std::time::Duration::ZERO,
                    std::time::Duration::from_millis(250),
                ),
                lockout: self.lockout,
                limits: self.limits,
                last_unknown_login_event: AtomicI64::new(i64::MIN),
            }),
        })
    }
}

/// The HS256 key generated once and kept in the database.
fn generated_key(store: &dyn Store) -> Result<SigningKey> {
    let existing = store::read(store, |tx| tx.get_setting(GENERATED_KEY_SETTING))?;
    let secret = match existing {
        Some(secret) => secret,
        None => {
            let fresh = tokens::random_secret()?;
            // Two processes may race here: the first insert wins and both
            // read it back.
            store::write(store, |tx| {
                tx.insert_setting_if_absent(GENERATED_KEY_SETTING, &fresh)?;
                tx.get_setting(GENERATED_KEY_SETTING)
            })?
            .ok_or_else(|| Error::config("the generated signing key was not stored"))?
        }
    };
    Ok(SigningKey::hs256(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_replicas_need_a_postgres_primary() {
        let error = Accounts::builder()
            .database_url("sqlite::memory:")
            .read_replica_url("postgres://replica/accounts")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::Config(message) if message.contains("postgres primary")),
            "{error:?}"
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn read_replicas_need_a_database_url_not_a_store() {
        let store = crate::store::SqliteStore::open("sqlite::memory:").unwrap();
        let error = Accounts::builder()
            .store(store)
            .read_replica_url("postgres://replica/accounts")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::Config(message) if message.contains("not a store")),
            "{error:?}"
        );
    }

    #[test]
    fn replica_max_lag_must_not_be_negative() {
        let error = Accounts::builder()
            .database_url("sqlite::memory:")
            .replica_max_lag(Duration::seconds(-1))
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::Config(message) if message.contains("replica_max_lag")),
            "{error:?}"
        );
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn an_invalid_replica_url_is_refused_before_connecting() {
        // Nothing listens on the primary's port: the replica URL is
        // checked first.
        let error = Accounts::builder()
            .database_url("postgres://nobody@127.0.0.1:1/accounts")
            .read_replica_url("mysql://replica/accounts")
            .build()
            .unwrap_err();
        assert!(
            matches!(&error, Error::Config(message) if message.starts_with("read replica")),
            "{error:?}"
        );
    }

    #[test]
    fn replica_url_passwords_are_redacted_in_debug() {
        let builder = Accounts::builder().read_replica_url("postgres://app:hunter2@replica/db");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[test]
    fn database_url_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db/accounts"),
            "postgres://app:%3Credacted%3E@db/accounts"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }
}
