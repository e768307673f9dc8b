//! Password hashing: argon2id PHC strings for new hashes, verification of
//! older argon2 hashes and of imported bcrypt hashes, and the rehash signal
//! that upgrades both on the next successful login.

use argon2::password_hash::phc;
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};

use crate::error::{Error, Result};
use crate::model::Password;
use crate::store::PasswordHash;

/// The cost parameters of argon2id.
///
/// The default is the OWASP recommendation (m = 19456 KiB, t = 2, p = 1).
/// Hashes made with other parameters still verify and are rehashed with
/// these on the next successful login.
///
/// ```
/// use aai_accounts::PasswordParams;
/// assert_eq!(PasswordParams::default(), PasswordParams::OWASP);
/// assert_eq!(PasswordParams::OWASP.memory_kib, 19456);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory cost in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Number of passes (argon2 `t`).
    pub iterations: u32,
    /// Degree of parallelism (argon2 `p`).
    pub parallelism: u32,
}

impl PasswordParams {
    /// The OWASP Password Storage Cheat Sheet setting for argon2id:
    /// m = 19456 KiB (19 MiB), t = 2, p = 1.
    pub const OWASP: PasswordParams = PasswordParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams::OWASP
    }
}

/// Upper bounds on the cost of any hash this crate computes: configured
/// parameters above them are refused, and stored or imported hashes above
/// them are treated as invalid, so that one hostile row cannot make a login
/// allocate gigabytes or spin for minutes.
const MAX_MEMORY_KIB: u32 = 1024 * 1024; // 1 GiB
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 64;
/// bcrypt cost 18 is about a minute per verification on current hardware;
/// passlib's default is 12.
const MAX_BCRYPT_COST: u32 = 18;
const MIN_BCRYPT_COST: u32 = 4;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password does not match, or the hash is unusable.
    Invalid,
    /// The password matches.
    Valid {
        /// The hash is not argon2id with the configured parameters: store a
        /// fresh hash of the password.
        needs_rehash: bool,
    },
}

/// Hashes and verifies passwords with the configured argon2id parameters.
///
/// [`Accounts`](crate::Accounts) holds one; use your own to precompute
/// hashes, for example to seed or import users in bulk.
///
/// ```
/// use aai_accounts::{Password, PasswordHasher, PasswordParams, Verification};
///
/// let hasher = PasswordHasher::new(PasswordParams::OWASP)?;
/// let hash = hasher.hash(&Password::from("correct horse battery staple"))?;
/// assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// let outcome = hasher.verify(&Password::from("correct horse battery staple"), &hash);
/// assert_eq!(outcome, Verification::Valid { needs_rehash: false });
/// # Ok::<(), aai_accounts::Error>(())
/// ```
pub struct PasswordHasher {
    params: PasswordParams,
    argon2: Argon2<'static>,
    /// A hash of a fixed password with the configured parameters, verified
    /// against when the user is unknown so that such a login costs as much
    /// as a real one.
    dummy: phc::PasswordHash,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher for the given parameters. Computes one hash up front (the
    /// dummy that a login for an unknown user is verified against, so it
    /// costs as much as a real one).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when argon2 rejects the parameters (for example
    /// `iterations == 0`, or less than 8 KiB of memory per lane) or they
    /// exceed this crate's sanity bounds (1 GiB, 64 passes, 64 lanes).
    pub fn new(params: PasswordParams) -> Result<Self> {
        if !within_limits(params.memory_kib, params.iterations, params.parallelism) {
            return Err(Error::config(format!(
                "password hashing parameters exceed the allowed maximum \
                 (m <= {MAX_MEMORY_KIB} KiB, t <= {MAX_ITERATIONS}, p <= {MAX_PARALLELISM})"
            )));
        }
        let argon2_params = argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| Error::config(format!("invalid password hashing parameters: {e}")))?;
        let argon2 = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2_params,
        );
        let dummy = argon2
            .hash_password(b"aai-accounts timing equalization")
            .map_err(|e| Error::config(format!("password hashing failed: {e}")))?;
        Ok(PasswordHasher {
            params,
            argon2,
            dummy,
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    /// Hashes a password with argon2id, the configured parameters and a
    /// fresh 16-byte random salt, as a PHC string.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the system random number generator fails (the
    /// only way hashing can fail once the parameters were accepted).
    pub fn hash(&self, password: &Password) -> Result<PasswordHash> {
        self.argon2
            .hash_password(password.expose().as_bytes())
            .map(|hash| PasswordHash::new(hash.to_string()))
            .map_err(|e| Error::config(format!("password hashing failed: {e}")))
    }

    /// Checks a password against a stored hash: an argon2 PHC string
    /// (verified with the parameters it embeds) or a bcrypt hash (`$2a$`,
    /// `$2b$`, `$2y$`). A hash that cannot be parsed is `Invalid`.
    pub fn verify(&self, password: &Password, hash: &PasswordHash) -> Verification {
        let hash = hash.as_str();
        let password = password.expose().as_bytes();
        if is_bcrypt(hash) {
            if bcrypt_cost(hash).is_none() {
                return Verification::Invalid;
            }
            // Every bcrypt hash is a legacy hash: upgrade it.
            return match bcrypt::verify(password, hash) {
                Ok(true) => Verification::Valid { needs_rehash: true },
                Ok(false) | Err(_) => Verification::Invalid,
            };
        }
        let Some(parsed) = parse_argon2(hash) else {
            return Verification::Invalid;
        };
        match self.argon2.verify_password(password, &parsed.phc) {
            Ok(()) => Verification::Valid {
                needs_rehash: self.needs_rehash(&parsed),
            },
            Err(_) => Verification::Invalid,
        }
    }

    /// Spends one verification against the dummy hash, for a login whose
    /// user does not exist: the caller answers "invalid credentials" after
    /// the same amount of work as for a wrong password.
    pub(crate) fn verify_dummy(&self, password: &Password) {
        let outcome = self
            .argon2
            .verify_password(password.expose().as_bytes(), &self.dummy);
        // The result is irrelevant; only the work matters.
        std::hint::black_box(outcome.is_ok());
    }

    /// Whether a hash can be imported: a well-formed argon2 PHC string
    /// (argon2id, argon2i or argon2d) or a bcrypt hash (`$2a$`, `$2b$`,
    /// `$2y$`, 60 characters, cost 4 to 18).
    ///
    /// # Errors
    ///
    /// A short reason, fit for a validation message (never the hash).
    pub(crate) fn check_importable(hash: &str) -> std::result::Result<(), &'static str> {
        if hash.starts_with("$2") {
            if !is_bcrypt(hash) {
                return Err("unsupported bcrypt variant (expected $2a$, $2b$ or $2y$)");
            }
            if hash.len() != 60 || !hash.is_ascii() {
                return Err("a bcrypt hash has 60 characters");
            }
            let Some(cost) = bcrypt_cost(hash) else {
                return Err("bcrypt cost must be between 4 and 18");
            };
            // Salt and digest must decode; the cost was checked above.
            return match hash.parse::<bcrypt::HashParts>() {
                Ok(parts) if parts.get_cost() == cost => Ok(()),
                _ => Err("malformed bcrypt hash"),
            };
        }
        if hash.starts_with("$argon2") {
            return parse_argon2_checked(hash).map(drop);
        }
        Err("not an argon2 or bcrypt hash")
    }

    fn needs_rehash(&self, parsed: &ParsedArgon2) -> bool {
        parsed.algorithm != argon2::Algorithm::Argon2id
            || parsed.version != argon2::Version::V0x13
            || parsed.params.m_cost() != self.params.memory_kib
            || parsed.params.t_cost() != self.params.iterations
            || parsed.params.p_cost() != self.params.parallelism
    }
}

/// An argon2 PHC string whose algorithm, version and parameters are
/// supported and within bounds.
struct ParsedArgon2 {
    phc: phc::PasswordHash,
    algorithm: argon2::Algorithm,
    version: argon2::Version,
    params: argon2::Params,
}

fn parse_argon2(hash: &str) -> Option<ParsedArgon2> {
    parse_argon2_checked(hash).ok()
}

fn parse_argon2_checked(hash: &str) -> std::result::Result<ParsedArgon2, &'static str> {
    let phc = phc::PasswordHash::new(hash).map_err(|_| "malformed PHC string")?;
    let algorithm = argon2::Algorithm::new(phc.algorithm.as_str())
        .map_err(|_| "unsupported algorithm (expected argon2id, argon2i or argon2d)")?;
    // A PHC string without `v=` is version 0x13 for argon2 (the crate's
    // default when verifying).
    let version = match phc.version {
        Some(version) => {
            argon2::Version::try_from(version).map_err(|_| "unsupported argon2 version")?
        }
        None => argon2::Version::default(),
    };
    let params = argon2::Params::try_from(&phc).map_err(|_| "invalid argon2 parameters")?;
    if phc.salt.is_none() {
        return Err("argon2 hash without salt");
    }
    if phc.hash.is_none() {
        return Err("argon2 hash without digest");
    }
    if !within_limits(params.m_cost(), params.t_cost(), params.p_cost()) {
        return Err("argon2 parameters exceed the allowed cost");
    }
    Ok(ParsedArgon2 {
        phc,
        algorithm,
        version,
        params,
    })
}

fn within_limits(memory_kib: u32, iterations: u32, parallelism: u32) -> bool {
    memory_kib <= MAX_MEMORY_KIB && iterations <= MAX_ITERATIONS && parallelism <= MAX_PARALLELISM
}

/// The bcrypt variants passlib and other libraries write. `$2x$` (the
/// buggy pre-2011 variant) is deliberately not accepted.
fn is_bcrypt(hash: &str) -> bool {
    hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")
}

/// The cost of a bcrypt hash when it is two digits within bounds.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let digits = hash.get(4..6)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || hash.get(6..7) != Some("$") {
        return None;
    }
    let cost: u32 = digits.parse().ok()?;
    (MIN_BCRYPT_COST..=MAX_BCRYPT_COST)
        .contains(&cost)
        .then_some(cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: debug-build tests stay fast.
    const FAST: PasswordParams = PasswordParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher(params: PasswordParams) -> PasswordHasher {
        PasswordHasher::new(params).unwrap()
    }

    fn password(value: &str) -> Password {
        Password::new(value)
    }

    fn bcrypt_hash(value: &str) -> String {
        bcrypt::hash(value, 4).unwrap()
    }

    fn with_prefix(hash: &str, prefix: &str) -> PasswordHash {
        PasswordHash::new(format!("{prefix}{}", &hash[4..]))
    }

    #[test]
    fn hasher_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PasswordHasher>();
    }

    #[test]
    fn default_params_are_owasp() {
        assert_eq!(
            PasswordParams::default(),
            PasswordParams {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn hash_then_verify_round_trips() {
        let hasher = hasher(FAST);
        let hash = hasher.hash(&password("correct horse battery")).unwrap();
        assert_eq!(
            hasher.verify(&password("correct horse battery"), &hash),
            Verification::Valid {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn wrong_password_is_invalid() {
        let hasher = hasher(FAST);
        let hash = hasher.hash(&password("correct horse battery")).unwrap();
        assert_eq!(
            hasher.verify(&password("correct horse battery!"), &hash),
            Verification::Invalid
        );
    }

    #[test]
    fn hashes_of_the_same_password_differ_by_salt() {
        let hasher = hasher(FAST);
        let first = hasher.hash(&password("same password")).unwrap();
        let second = hasher.hash(&password("same password")).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn default_params_write_an_owasp_argon2id_phc_string() {
        let hasher = hasher(PasswordParams::default());
        let hash = hasher.hash(&password("correct horse battery")).unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
    }

    #[test]
    fn hash_with_weaker_params_verifies_and_needs_rehash() {
        let weak = hasher(PasswordParams {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
        });
        let hash = weak.hash(&password("correct horse battery")).unwrap();
        let current = hasher(PasswordParams::OWASP);
        assert_eq!(
            current.verify(&password("correct horse battery"), &hash),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn hash_with_configured_params_needs_no_rehash() {
        let current = hasher(PasswordParams::OWASP);
        let hash = current.hash(&password("correct horse battery")).unwrap();
        assert_eq!(
            current.verify(&password("correct horse battery"), &hash),
            Verification::Valid {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn argon2i_hash_verifies_and_needs_rehash() {
        let argon2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            argon2::Params::new(FAST.memory_kib, FAST.iterations, FAST.parallelism, None).unwrap(),
        );
        let hash = argon2i.hash_password(b"correct horse battery").unwrap();
        let hash = PasswordHash::new(hash.to_string());
        assert!(hash.as_str().starts_with("$argon2i$"));
        assert_eq!(
            hasher(FAST).verify(&password("correct horse battery"), &hash),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn bcrypt_2b_hash_verifies_and_needs_rehash() {
        let hash = PasswordHash::new(bcrypt_hash("legacy password"));
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert_eq!(
            hasher(FAST).verify(&password("legacy password"), &hash),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn bcrypt_2a_and_2y_prefixes_verify_and_need_rehash() {
        let hash = bcrypt_hash("legacy password");
        for prefix in ["$2a$", "$2y$"] {
            assert_eq!(
                hasher(FAST).verify(&password("legacy password"), &with_prefix(&hash, prefix)),
                Verification::Valid { needs_rehash: true },
                "{prefix}"
            );
        }
    }

    #[test]
    fn openwall_bcrypt_test_vector_verifies() {
        // From the crypt_blowfish test vectors (also used by passlib).
        let hash =
            PasswordHash::new("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
        assert_eq!(
            hasher(FAST).verify(&password("U*U"), &hash),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn bcrypt_hash_with_wrong_password_is_invalid() {
        let hash = PasswordHash::new(bcrypt_hash("legacy password"));
        assert_eq!(
            hasher(FAST).verify(&password("another password"), &hash),
            Verification::Invalid
        );
    }

    #[test]
    fn bcrypt_2x_prefix_is_invalid() {
        let hash = bcrypt_hash("legacy password");
        assert_eq!(
            hasher(FAST).verify(&password("legacy password"), &with_prefix(&hash, "$2x$")),
            Verification::Invalid
        );
    }

    #[test]
    fn garbage_hashes_are_invalid() {
        let hasher = hasher(FAST);
        let garbage = [
            "",
            "plain text",
            "$",
            "$argon2id$",
            "$argon2id$v=19$m=1024,t=1,p=1$",
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
            "$argon2id$v=99$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA",
            "$2b$",
            "$2b$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",
            "$2b$05$ééééééééééééééééééééééééééééééééééééééééééééééééééééé",
            "$2b$ab$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "\u{0}\u{ffff}",
        ];
        for hash in garbage {
            assert_eq!(
                hasher.verify(&password("U*U"), &PasswordHash::new(hash)),
                Verification::Invalid,
                "{hash:?}"
            );
        }
    }

    #[test]
    fn verify_dummy_costs_a_verification_and_returns() {
        let hasher = hasher(FAST);
        hasher.verify_dummy(&password("whatever password"));
    }

    #[test]
    fn invalid_params_are_a_config_error() {
        for params in [
            PasswordParams {
                iterations: 0,
                ..FAST
            },
            PasswordParams {
                parallelism: 0,
                ..FAST
            },
            PasswordParams {
                memory_kib: 1,
                ..FAST
            },
            PasswordParams {
                memory_kib: 4 * 1024 * 1024,
                ..FAST
            },
        ] {
            let error = PasswordHasher::new(params).unwrap_err();
            assert_eq!(error.code(), "config", "{params:?}");
        }
    }

    #[test]
    fn importable_hashes_are_accepted() {
        let argon2id = hasher(FAST).hash(&password("pw")).unwrap();
        let argon2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        let argon2d = Argon2::new(
            argon2::Algorithm::Argon2d,
            argon2::Version::V0x10,
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        let bcrypt = bcrypt_hash("pw");
        for hash in [
            argon2id.as_str().to_owned(),
            argon2i,
            argon2d,
            bcrypt.clone(),
            with_prefix(&bcrypt, "$2a$").as_str().to_owned(),
            with_prefix(&bcrypt, "$2y$").as_str().to_owned(),
            "$2b$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u".to_owned(),
        ] {
            assert_eq!(PasswordHasher::check_importable(&hash), Ok(()), "{hash}");
        }
    }

    #[test]
    fn malformed_hashes_are_not_importable() {
        let bcrypt = bcrypt_hash("pw");
        for hash in [
            "",
            "hunter2",
            "$1$saltsalt$abcdefghijklmnopqrstuv",
            "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=1024,t=1,p=1",
            "$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2x$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            "$2b$",
            "$2b$03$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
            "$2b$31$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
            "$2b$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3",
            "$2b$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u!",
            "$2b$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3!",
            with_prefix(&bcrypt, "$2x$").as_str(),
        ] {
            let reason = PasswordHasher::check_importable(hash).unwrap_err();
            assert!(!reason.is_empty());
            assert!(
                !reason.contains("L6Bc"),
                "the reason must not echo the hash"
            );
        }
    }
}
