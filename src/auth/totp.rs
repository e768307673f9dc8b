//! The second factor's computations: TOTP codes (RFC 6238: HMAC-SHA-1,
//! 6 digits, 30-second steps, the parameters every authenticator app
//! accepts), recovery codes, and the sealing of a device token inside a
//! second-factor challenge. Pure functions of their inputs and the
//! injected time; the facade stores and checks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use crate::error::{Error, Result};

/// Digits of a code.
pub(crate) const DIGITS: usize = 6;
/// Seconds of a time step.
pub(crate) const STEP_SECONDS: i64 = 30;
/// Steps of clock skew accepted either side of the current one.
pub(crate) const SKEW_STEPS: i64 = 1;
/// Bytes of a secret: 160 bits, as RFC 4226 recommends.
pub(crate) const SECRET_BYTES: usize = 20;
/// Recovery codes issued at a confirmation.
pub(crate) const RECOVERY_CODES: usize = 10;
/// Random bytes of a recovery code: 80 bits, 16 base32 characters.
const RECOVERY_CODE_BYTES: usize = 10;
/// Characters of a recovery code without its dashes.
const RECOVERY_CODE_CHARS: usize = 16;

/// The RFC 6238 generator over `secret`. Built unchecked: the secret's
/// length is ours to choose (and the RFC's test secret is exactly 160
/// bits too); the digits are a constant in the RFC's range.
fn generator(secret: &[u8]) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, 30, secret.to_vec())
}

/// A new random secret.
///
/// # Errors
///
/// [`Error::Config`] when the system random number generator fails.
pub(crate) fn new_secret() -> Result<Vec<u8>> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)
        .map_err(|e| Error::config(format!("system random number generator failed: {e}")))?;
    Ok(secret)
}

/// The secret in base32 without padding, as authenticator apps take it.
pub(crate) fn secret_base32(secret: &[u8]) -> String {
    generator(secret).get_secret_base32()
}

/// The `otpauth://totp/ISSUER:ACCOUNT?...` URI of Google Authenticator's
/// key URI format, with every parameter spelled out.
pub(crate) fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label: String = url::form_urlencoded::byte_serialize(issuer.as_bytes())
        .chain(std::iter::once(":"))
        .chain(url::form_urlencoded::byte_serialize(account.as_bytes()))
        .collect::<String>()
        // A label is a path: a space is %20 there, not `+`.
        .replace('+', "%20");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &secret_base32(secret))
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &STEP_SECONDS.to_string())
        .finish();
    format!("otpauth://totp/{label}?{query}")
}

/// The time step of `now`, or `None` before 1970 (no code is valid then).
pub(crate) fn time_step(now: DateTime<Utc>) -> Option<i64> {
    let seconds = now.timestamp();
    (seconds >= 0).then_some(seconds / STEP_SECONDS)
}

/// The code of time step `step`.
pub(crate) fn code_at_step(secret: &[u8], step: i64) -> String {
    let seconds = u64::try_from(step.max(0)).unwrap_or(0) * 30;
    generator(secret).generate(seconds)
}

/// Whether `code` has the shape of a TOTP code: six ASCII digits.
pub(crate) fn is_code_shaped(code: &str) -> bool {
    code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The time step within [`SKEW_STEPS`] of `now` whose code is `code`, if
/// any. Every candidate is compared (in constant time), so the time taken
/// does not tell which matched.
pub(crate) fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64> {
    let current = time_step(now)?;
    if !is_code_shaped(code) {
        return None;
    }
    let mut found = None;
    for step in current.saturating_sub(SKEW_STEPS)..=current.saturating_add(SKEW_STEPS) {
        if step < 0 {
            continue;
        }
        let expected = code_at_step(secret, step);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new recovery code, `xxxx-xxxx-xxxx-xxxx` in lower-case base32 (80
/// random bits), and the SHA-256 that is stored.
///
/// # Errors
///
/// [`Error::Config`] when the system random number generator fails.
pub(crate) fn new_recovery_code() -> Result<(String, [u8; 32])> {
    let mut bytes = [0u8; RECOVERY_CODE_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::config(format!("system random number generator failed: {e}")))?;
    let plain = secret_base32(&bytes).to_ascii_lowercase();
    let code = plain
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    let hash = Sha256::digest(plain.as_bytes()).into();
    Ok((code, hash))
}

/// The SHA-256 of a presented recovery code, or `None` when it does not
/// have the shape of one. Case, dashes and spaces do not matter (users
/// copy codes in many ways).
pub(crate) fn recovery_code_hash(presented: &str) -> Option<[u8; 32]> {
    if presented.len() > 64 {
        return None;
    }
    let plain: String = presented
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let shaped = plain.len() == RECOVERY_CODE_CHARS
        && plain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    shaped.then(|| Sha256::digest(plain.as_bytes()).into())
}

/// The key stream that seals a device token inside the challenge
/// `challenge`: derived from the challenge itself, which the database
/// never holds (it stores another digest of it), so a database alone does
/// not reveal the device token.
fn device_token_pad(challenge: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"aai-accounts second-factor device token\0");
    hasher.update(challenge.as_bytes());
    hasher.finalize().into()
}

/// Seals a device token (an opaque token: 32 bytes in base64url) for the
/// challenge; `None` when it is not one.
pub(crate) fn seal_device_token(challenge: &str, device_token: &str) -> Option<[u8; 32]> {
    let mut bytes = [0u8; 33];
    let decoded = URL_SAFE_NO_PAD
        .decode_slice(device_token, &mut bytes)
        .ok()?;
    if decoded != 32 {
        return None;
    }
    let pad = device_token_pad(challenge);
    let mut sealed = [0u8; 32];
    for (out, (byte, key)) in sealed.iter_mut().zip(bytes.iter().zip(pad)) {
        *out = byte ^ key;
    }
    Some(sealed)
}

/// The device token sealed for the challenge.
pub(crate) fn unseal_device_token(challenge: &str, sealed: &[u8; 32]) -> String {
    let pad = device_token_pad(challenge);
    let mut bytes = [0u8; 32];
    for (out, (byte, key)) in bytes.iter_mut().zip(sealed.iter().zip(pad)) {
        *out = byte ^ key;
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238, appendix B: the SHA-1 secret is the ASCII of
    /// "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    /// The appendix's 8-digit SHA-1 values; a 6-digit code is the same
    /// number modulo 10^6: its last six digits.
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn codes_match_the_rfc_6238_sha1_test_vectors() {
        for (seconds, eight) in RFC_VECTORS {
            let step = time_step(at(seconds)).unwrap();
            assert_eq!(code_at_step(RFC_SECRET, step), eight[2..], "T = {seconds}");
            let full = TOTP::new_unchecked(Algorithm::SHA1, 8, 0, 30, RFC_SECRET.to_vec());
            assert_eq!(full.generate(u64::try_from(seconds).unwrap()), eight);
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_step_either_side_only() {
        let now = at(1_111_111_111);
        let step = time_step(now).unwrap();
        for offset in -1..=1 {
            let code = code_at_step(RFC_SECRET, step + offset);
            assert_eq!(matching_step(RFC_SECRET, &code, now), Some(step + offset));
        }
        for offset in [-2, 2] {
            let code = code_at_step(RFC_SECRET, step + offset);
            assert_eq!(matching_step(RFC_SECRET, &code, now), None, "{offset}");
        }
    }

    #[test]
    fn malformed_codes_and_times_before_1970_match_nothing() {
        let now = at(59);
        assert_eq!(matching_step(RFC_SECRET, "287082", now), Some(1));
        for code in ["28708", "2870822", "28708a", " 287082", "", "２８７０８２"] {
            assert_eq!(matching_step(RFC_SECRET, code, now), None, "{code:?}");
        }
        assert_eq!(matching_step(RFC_SECRET, "287082", at(-1)), None);
    }

    #[test]
    fn the_uri_names_every_parameter() {
        let uri = otpauth_uri("aai accounts", "ada@example.com", RFC_SECRET);
        assert_eq!(
            uri,
            "otpauth://totp/aai%20accounts:ada%40example.com?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=aai+accounts&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(secret_base32(&new_secret().unwrap()).len(), 32);
    }

    #[test]
    fn recovery_codes_have_80_bits_and_verify_in_any_case_and_spacing() {
        let (code, hash) = new_recovery_code().unwrap();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert_eq!(recovery_code_hash(&code), Some(hash));
        let sloppy = code.to_uppercase().replace('-', " ");
        assert_eq!(recovery_code_hash(&sloppy), Some(hash));
        assert_eq!(recovery_code_hash("not a code"), None);
        assert_eq!(recovery_code_hash(&"a".repeat(1000)), None);
        assert_ne!(new_recovery_code().unwrap().0, code);
    }

    #[test]
    fn a_sealed_device_token_opens_only_with_its_challenge() {
        let device = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let sealed = seal_device_token("challenge-one", &device).unwrap();
        assert_eq!(unseal_device_token("challenge-one", &sealed), device);
        assert_ne!(unseal_device_token("challenge-two", &sealed), device);
        assert_eq!(seal_device_token("challenge-one", "not a token"), None);
    }
}
