//! The second factor's secrets as the library hands them out: a TOTP
//! enrolment, recovery codes and the challenge of a login awaiting its
//! second factor. Each redacts its secret in `Debug` (and `Display`) and
//! none is serializable: a host reads the secret through an accessor,
//! explicitly, and decides where it goes.

use std::fmt;

use chrono::{DateTime, Utc};

/// What [`Users::totp_begin`](crate::Users::totp_begin) returns: a new,
/// pending TOTP secret for the user to add to an authenticator app.
///
/// Show [`otpauth_uri`](TotpEnrolment::otpauth_uri) as a QR code (or the
/// [`secret`](TotpEnrolment::secret) for manual entry), then confirm with a
/// first code ([`Users::totp_confirm`](crate::Users::totp_confirm)). The
/// secret is never returned again. `Debug` redacts both.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    secret: String,
    otpauth_uri: String,
}

impl TotpEnrolment {
    pub(crate) fn new(secret: String, otpauth_uri: String) -> Self {
        TotpEnrolment {
            secret,
            otpauth_uri,
        }
    }

    /// The secret, base32 without padding (160 bits: 32 characters), for
    /// typing into an authenticator app.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The `otpauth://totp/...` URI authenticator apps read from a QR
    /// code (SHA-1, 6 digits, 30 seconds). It contains the secret.
    pub fn otpauth_uri(&self) -> &str {
        &self.otpauth_uri
    }
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("secret", &"<redacted>")
            .field("otpauth_uri", &"<redacted>")
            .finish()
    }
}

/// What [`Users::totp_confirm`](crate::Users::totp_confirm) returns: ten
/// single-use recovery codes (80 random bits each, written
/// `xxxx-xxxx-xxxx-xxxx` in lower-case base32), each of which stands in
/// for a TOTP code once. Only their SHA-256 is stored: show them to the
/// user now, they are never available again. `Debug` shows only how many
/// there are.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCodes {
    codes: Vec<String>,
}

impl RecoveryCodes {
    pub(crate) fn new(codes: Vec<String>) -> Self {
        RecoveryCodes { codes }
    }

    /// The codes, to show to the user once.
    pub fn codes(&self) -> &[String] {
        &self.codes
    }
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes(<{} redacted>)", self.codes.len())
    }
}

/// The challenge of a login whose password was right and whose second
/// factor is awaited ([`Error::SecondFactorRequired`](crate::Error::SecondFactorRequired)):
/// pass [`secret`](SecondFactorChallenge::secret) with a code to
/// [`Accounts::login_second_factor`](crate::Accounts::login_second_factor).
///
/// 256 random bits; only its SHA-256 is stored. It lives five minutes,
/// finishes one login, and dies after three wrong codes. `Debug` and
/// `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecondFactorChallenge {
    secret: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl SecondFactorChallenge {
    pub(crate) fn new(secret: String, expires_at: DateTime<Utc>) -> Self {
        SecondFactorChallenge { secret, expires_at }
    }

    /// The opaque challenge to send back with the code (43 URL-safe
    /// characters).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for SecondFactorChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactorChallenge")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Display for SecondFactorChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted second-factor challenge>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let enrolment = TotpEnrolment::new(
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            "otpauth://totp/x:y?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        );
        let codes = RecoveryCodes::new(vec!["abcd-efgh-ijkl-mnop".into()]);
        let challenge = SecondFactorChallenge::new("the-challenge".into(), Utc::now());
        for text in [
            format!("{enrolment:?}"),
            format!("{codes:?}"),
            format!("{challenge:?}"),
            format!("{challenge}"),
        ] {
            assert!(!text.contains("JBSWY3DP"), "{text}");
            assert!(!text.contains("abcd"), "{text}");
            assert!(!text.contains("the-challenge"), "{text}");
        }
    }
}
