//! Access tokens (JWT: HS256, EdDSA or RS256, each key with a `kid`) and
//! refresh tokens (256 random bits, opaque, stored only as SHA-256).
//!
//! Verification never trusts the token's header to pick an algorithm: the
//! `kid` selects one of our keys, and the header's `alg` must be that key's
//! own algorithm. `alg: none`, HS256-signed-with-a-public-key and every
//! other algorithm confusion fail there, before any cryptography runs.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, TokenError};
use crate::model::{AuthMethod, SessionId, UserId};

/// The `typ` claim of access tokens.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "access";

/// Longer tokens are rejected before any parsing. Our access tokens are
/// about 500 bytes (RS256 signatures make the longest).
pub(crate) const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Length of a refresh token: 32 bytes in unpadded base64url.
pub(crate) const OPAQUE_TOKEN_LEN: usize = 43;

/// Domain separation for the default `kid` of HS256 keys.
const HS256_KID_DOMAIN: &[u8] = b"aai-accounts/hs256-kid/v1\0";

/// The signature algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// HMAC with SHA-256 and a shared secret. Never published in the JWKS.
    Hs256,
    /// Ed25519 signatures (JWS `EdDSA`).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl KeyAlgorithm {
    /// The JWS name of the algorithm (`"HS256"`, `"EdDSA"`, `"RS256"`), as
    /// written in a token header and in the JWKS.
    ///
    /// ```
    /// use aai_accounts::KeyAlgorithm;
    /// assert_eq!(KeyAlgorithm::EdDsa.as_str(), "EdDSA");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Hs256 => "HS256",
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Rs256 => "RS256",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            KeyAlgorithm::Hs256 => Algorithm::HS256,
            KeyAlgorithm::EdDsa => Algorithm::EdDSA,
            KeyAlgorithm::Rs256 => Algorithm::RS256,
        }
    }
}

/// The public half of an asymmetric key, as JWK members (base64url).
#[derive(Clone, PartialEq, Eq)]
enum PublicKey {
    Ed25519 { x: String },
    Rsa { n: String, e: String },
}

impl PublicKey {
    fn from_jwk(jwk: &Jwk) -> Option<PublicKey> {
        match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(okp) => Some(PublicKey::Ed25519 { x: okp.x.clone() }),
            AlgorithmParameters::RSA(rsa) => Some(PublicKey::Rsa {
                n: rsa.n.clone(),
                e: rsa.e.clone(),
            }),
            _ => None,
        }
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in
    /// lexicographic order, without whitespace, base64url.
    fn thumbprint(&self) -> String {
        // The members are base64url strings, which need no JSON escaping.
        let canonical = match self {
            PublicKey::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
            PublicKey::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    fn decoding_key(&self) -> Result<DecodingKey> {
        match self {
            PublicKey::Ed25519 { x } => DecodingKey::from_ed_components(x),
            PublicKey::Rsa { n, e } => DecodingKey::from_rsa_components(n, e),
        }
        .map_err(|e| Error::config(format!("unusable public key: {e}")))
    }

    fn to_jwk(&self, kid: &str) -> serde_json::Value {
        match self {
            PublicKey::Ed25519 { x } => serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": x,
                "kid": kid,
                "alg": KeyAlgorithm::EdDsa.as_str(),
                "use": "sig",
            }),
            PublicKey::Rsa { n, e } => serde_json::json!({
                "kty": "RSA",
                "n": n,
                "e": e,
                "kid": kid,
                "alg": KeyAlgorithm::Rs256.as_str(),
                "use": "sig",
            }),
        }
    }
}

/// The key access tokens are signed with, and its key id (`kid`).
///
/// HS256 is the default; EdDSA (Ed25519) and RS256 publish their public key
/// in the JWKS so other services can verify tokens without the secret. The
/// default `kid` is a fingerprint of the key (RFC 7638 thumbprint for
/// asymmetric keys, a domain-separated SHA-256 prefix for secrets);
/// [`with_kid`](Self::with_kid) sets another.
///
/// `Debug` shows the `kid` and the algorithm, never key material.
///
/// ```
/// use aai_accounts::{KeyAlgorithm, SigningKey};
/// let key = SigningKey::hs256([7u8; 32]).with_kid("2026-11");
/// assert_eq!(key.kid(), "2026-11");
/// assert_eq!(key.algorithm(), KeyAlgorithm::Hs256);
/// assert!(!format!("{key:?}").contains("7, 7"));
/// ```
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: KeyAlgorithm,
    encoding: EncodingKey,
    /// Built once with the key, so rotation and verification never parse.
    decoding: DecodingKey,
    /// `None` for HS256.
    public: Option<PublicKey>,
}

impl SigningKey {
    /// An HS256 key from a shared secret (use at least 32 random bytes).
    pub fn hs256(secret: impl AsRef<[u8]>) -> SigningKey {
        let secret = secret.as_ref();
        let digest = Sha256::new()
            .chain_update(HS256_KID_DOMAIN)
            .chain_update(secret)
            .finalize();
        let kid = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        SigningKey {
            kid,
            algorithm: KeyAlgorithm::Hs256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            public: None,
        }
    }

    /// An EdDSA key from an Ed25519 private key in PKCS#8 PEM
    /// (`-----BEGIN PRIVATE KEY-----`, as written by
    /// `openssl genpkey -algorithm ed25519`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the PEM is not an Ed25519 PKCS#8 private key.
    pub fn ed25519_pem(private_key_pem: impl AsRef<[u8]>) -> Result<SigningKey> {
        let encoding = EncodingKey::from_ed_pem(private_key_pem.as_ref()).map_err(|e| {
            Error::config(format!(
                "invalid ed25519 private key (expected a pkcs#8 pem): {e}"
            ))
        })?;
        Self::asymmetric(encoding, KeyAlgorithm::EdDsa)
    }

    /// An RS256 key from an RSA private key (2048 to 8192 bits) in PKCS#1
    /// (`-----BEGIN RSA PRIVATE KEY-----`) or PKCS#8
    /// (`-----BEGIN PRIVATE KEY-----`) PEM.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the PEM is not a usable RSA private key.
    pub fn rs256_pem(private_key_pem: impl AsRef<[u8]>) -> Result<SigningKey> {
        let encoding = EncodingKey::from_rsa_pem(private_key_pem.as_ref()).map_err(|e| {
            Error::config(format!(
                "invalid rsa private key (expected a pkcs#1 or pkcs#8 pem): {e}"
            ))
        })?;
        Self::asymmetric(encoding, KeyAlgorithm::Rs256)
    }

    fn asymmetric(encoding: EncodingKey, algorithm: KeyAlgorithm) -> Result<SigningKey> {
        // Deriving the public key parses the private key with aws-lc: a PEM
        // that only looked right (or a public key) fails here, not at the
        // first login.
        let jwk = Jwk::from_encoding_key(&encoding, algorithm.jwt()).map_err(|e| {
            Error::config(format!("unusable {} private key: {e}", algorithm.as_str()))
        })?;
        let public =
            PublicKey::from_jwk(&jwk).ok_or_else(|| Error::config("unexpected public key type"))?;
        Ok(SigningKey {
            kid: public.thumbprint(),
            algorithm,
            decoding: public.decoding_key()?,
            encoding,
            public: Some(public),
        })
    }

    /// The same key with another key id.
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = kid.into();
        self
    }

    /// The key id written in the header of every token signed with it.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The length of an HS256 secret in bytes (`None` for other keys), so
    /// configuration can refuse short secrets.
    pub(crate) fn hs256_secret_len(&self) -> Option<usize> {
        match self.algorithm {
            KeyAlgorithm::Hs256 => Some(self.encoding.as_bytes().len()),
            KeyAlgorithm::EdDsa | KeyAlgorithm::Rs256 => None,
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let material = match self.algorithm {
            KeyAlgorithm::Hs256 => "secret",
            KeyAlgorithm::EdDsa | KeyAlgorithm::Rs256 => "private_key",
        };
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field(material, &"<redacted>")
            .finish()
    }
}

/// A key that only verifies tokens: a previous signing key kept during a
/// key rotation, until every token it signed has expired.
///
/// ```
/// use aai_accounts::{SigningKey, VerificationKey};
/// let old = VerificationKey::from(SigningKey::hs256([1u8; 32]).with_kid("2026-10"));
/// assert_eq!(old.kid(), "2026-10");
/// ```
#[derive(Clone)]
pub struct VerificationKey {
    kid: String,
    algorithm: KeyAlgorithm,
    decoding: DecodingKey,
    public: Option<PublicKey>,
}

impl VerificationKey {
    /// An Ed25519 public key in PEM (`-----BEGIN PUBLIC KEY-----`), with
    /// the key id its tokens carry.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the PEM is not an Ed25519 public key.
    pub fn ed25519_public_pem(
        public_key_pem: impl AsRef<[u8]>,
        kid: impl Into<String>,
    ) -> Result<VerificationKey> {
        let invalid =
            |detail: String| Error::config(format!("invalid ed25519 public key pem: {detail}"));
        let decoding = DecodingKey::from_ed_pem(public_key_pem.as_ref())
            .map_err(|e| invalid(e.to_string()))?;
        let raw = decoding
            .try_get_as_bytes()
            .map_err(|e| invalid(e.to_string()))?;
        if raw.len() != 32 {
            return Err(invalid("not 32 bytes".to_owned()));
        }
        let public = PublicKey::Ed25519 {
            x: URL_SAFE_NO_PAD.encode(raw),
        };
        Ok(VerificationKey {
            kid: kid.into(),
            algorithm: KeyAlgorithm::EdDsa,
            decoding: public.decoding_key()?,
            public: Some(public),
        })
    }

    /// An RSA public key (2048 to 8192 bits) in SPKI
    /// (`-----BEGIN PUBLIC KEY-----`) or PKCS#1
    /// (`-----BEGIN RSA PUBLIC KEY-----`) PEM, with the key id its tokens
    /// carry.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the PEM is not an RSA public key of a usable
    /// size.
    pub fn rs256_public_pem(
        public_key_pem: impl AsRef<[u8]>,
        kid: impl Into<String>,
    ) -> Result<VerificationKey> {
        let invalid =
            |detail: String| Error::config(format!("invalid rsa public key pem: {detail}"));
        let decoding = DecodingKey::from_rsa_pem(public_key_pem.as_ref())
            .map_err(|e| invalid(e.to_string()))?;
        // Parses the key with aws-lc: a private key or garbage fails here.
        let jwk = Jwk::from_decoding_key(&decoding, Some(Algorithm::RS256))
            .map_err(|e| invalid(e.to_string()))?;
        let public =
            PublicKey::from_jwk(&jwk).ok_or_else(|| invalid("not an rsa key".to_owned()))?;
        if let PublicKey::Rsa { n, .. } = &public {
            let modulus = URL_SAFE_NO_PAD
                .decode(n)
                .map_err(|e| invalid(e.to_string()))?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if !(256..=1024).contains(&significant) {
                return Err(invalid("rsa keys must have 2048 to 8192 bits".to_owned()));
            }
        }
        Ok(VerificationKey {
            kid: kid.into(),
            algorithm: KeyAlgorithm::Rs256,
            decoding: public.decoding_key()?,
            public: Some(public),
        })
    }

    /// The key id of the tokens this key verifies.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }
}

impl From<SigningKey> for VerificationKey {
    fn from(key: SigningKey) -> Self {
        VerificationKey {
            kid: key.kid,
            algorithm: key.algorithm,
            decoding: key.decoding,
            public: key.public,
        }
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("VerificationKey");
        debug
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm);
        if self.algorithm == KeyAlgorithm::Hs256 {
            debug.field("secret", &"<redacted>");
        }
        debug.finish()
    }
}

/// The claims of an access token.
///
/// `iat`, `nbf` and `exp` are Unix times in seconds; `typ` is `"access"`;
/// `sid` is the refresh-token session the token was issued for; `adm` says
/// whether the token carries a super admin's powers at issue time; `amr`
/// how the session's login authenticated the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: this service.
    pub iss: String,
    /// Audience: the API the token is for.
    pub aud: String,
    /// Subject: the user.
    pub sub: UserId,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires at (Unix seconds); the token is valid while `now < exp`.
    pub exp: i64,
    /// A unique token id.
    pub jti: String,
    /// The token type, `"access"`.
    pub typ: String,
    /// The session (refresh-token family) the token belongs to.
    pub sid: SessionId,
    /// Whether the subject held a super admin's powers when the token was
    /// issued: a super admin, and (when
    /// [`require_second_factor_for_admins`](crate::AccountsBuilder::require_second_factor_for_admins)
    /// is on) logged in with a second factor.
    pub adm: bool,
    /// How the session's login authenticated the subject (RFC 8176):
    /// `["pwd"]`, or `["pwd", "otp"]` with a second factor. Kept by
    /// refreshes; empty for a host-started session, and absent in tokens
    /// of earlier versions.
    #[serde(default)]
    pub amr: Vec<AuthMethod>,
}

/// One key that verifies, with everything verification needs prebuilt.
struct KeyEntry {
    kid: String,
    algorithm: KeyAlgorithm,
    decoding: DecodingKey,
    /// An HS256 key's HMAC state after the secret (its inner and outer
    /// pads), so that a verification hashes only the token.
    hmac: Option<hmac::Key>,
    public: Option<PublicKey>,
}

impl KeyEntry {
    fn new(key: VerificationKey) -> KeyEntry {
        let hmac = match (key.algorithm, key.decoding.try_get_as_bytes()) {
            (KeyAlgorithm::Hs256, Ok(secret)) => Some(hmac::Key::new(hmac::HMAC_SHA256, secret)),
            _ => None,
        };
        KeyEntry {
            kid: key.kid,
            algorithm: key.algorithm,
            decoding: key.decoding,
            hmac,
            public: key.public,
        }
    }

    /// Whether `signature` (base64url) signs `message` with this key; in
    /// constant time.
    fn verifies(&self, message: &str, signature: &str) -> std::result::Result<bool, TokenError> {
        let Some(key) = &self.hmac else {
            return jsonwebtoken::crypto::verify(
                signature,
                message.as_bytes(),
                &self.decoding,
                self.algorithm.jwt(),
            )
            .map_err(token_error);
        };
        let tag = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        Ok(hmac::verify(key, message.as_bytes(), &tag).is_ok())
    }
}

/// The header members verification looks at before choosing a key.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
}

/// Issues and verifies access tokens with one signing key and any number of
/// verification-only keys, and publishes the public keys.
pub(crate) struct TokenService {
    signing: SigningKey,
    header: Header,
    /// The signing key first, then the verification keys.
    keys: Vec<KeyEntry>,
    issuer: String,
    audience: String,
    /// The tokens verified lately (never shown by `Debug`).
    verified: Verified,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("signing", &self.signing)
            .field(
                "verification_kids",
                &self.keys.iter().skip(1).map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl TokenService {
    /// Prepares signing and verification once: every key and the header
    /// are built here, none per call.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when two keys share a `kid` (the signing key
    /// included), a `kid` is empty or longer than 256 bytes, or the issuer
    /// or audience is empty.
    pub(crate) fn new(
        signing: SigningKey,
        verification: Vec<VerificationKey>,
        issuer: String,
        audience: String,
    ) -> Result<Self> {
        if issuer.is_empty() || audience.is_empty() {
            return Err(Error::config("token issuer and audience must not be empty"));
        }
        let mut keys: Vec<KeyEntry> = Vec::with_capacity(verification.len() + 1);
        for key in std::iter::once(VerificationKey::from(signing.clone())).chain(verification) {
            if key.kid.is_empty() || key.kid.len() > 256 {
                return Err(Error::config("a key id must have 1 to 256 bytes"));
            }
            if keys.iter().any(|entry| entry.kid == key.kid) {
                return Err(Error::config(format!("duplicate key id {:?}", key.kid)));
            }
            keys.push(KeyEntry::new(key));
        }
        let mut header = Header::new(signing.algorithm.jwt());
        header.kid = Some(signing.kid.clone());
        Ok(TokenService {
            signing,
            header,
            keys,
            issuer,
            audience,
            verified: Verified::new(),
        })
    }

    /// Signs a new access token for a user's session, valid from `now`
    /// (whole seconds) for `ttl`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `ttl` is under one second or overflows, or the
    /// key fails to sign (it was checked at construction, so only an
    /// internal failure of the crypto library gets here).
    pub(crate) fn issue_access(
        &self,
        user_id: UserId,
        session_id: SessionId,
        is_admin: bool,
        amr: &[AuthMethod],
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<(String, Claims)> {
        // Claims count whole seconds: a shorter lifetime would issue a token
        // that is already expired.
        if ttl.num_seconds() < 1 {
            return Err(Error::config(
                "access token lifetime must be at least one second",
            ));
        }
        let iat = now.timestamp();
        let exp = iat
            .checked_add(ttl.num_seconds())
            .ok_or_else(|| Error::config("access token lifetime overflows"))?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            iat,
            nbf: iat,
            exp,
            jti: uuid::Uuid::now_v7().to_string(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
            sid: session_id,
            adm: is_admin,
            amr: amr.to_vec(),
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.signing.encoding)
            .map_err(|e| Error::config(format!("signing an access token failed: {e}")))?;
        Ok((token, claims))
    }

    /// Verifies an access token at time `now` (not the system clock) and
    /// returns its claims. A token that verified lately is recognized
    /// instead (byte for byte, in constant time) and only its lifetime is
    /// checked again.
    ///
    /// # Errors
    ///
    /// - [`TokenError::Malformed`]: longer than 8 KiB, not three base64url
    ///   parts, a header or payload that is not the expected JSON;
    /// - [`TokenError::BadSignature`]: missing or unknown `kid`, an `alg`
    ///   other than that key's own (including `none`), a signature that
    ///   does not verify (a tampered header or payload);
    /// - [`TokenError::WrongIssuer`]: `iss` or `aud` is not ours;
    /// - [`TokenError::WrongType`]: `typ` is not `"access"`;
    /// - [`TokenError::Expired`]: `exp <= now`;
    /// - [`TokenError::NotYetValid`]: `nbf > now`.
    pub(crate) fn verify_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<Arc<Claims>, TokenError> {
        // A token verified lately is not verified again (see `verified`):
        // only its lifetime can have changed since.
        if let Some(claims) = self.verified.get(token) {
            check_lifetime(&claims, now)?;
            return Ok(claims);
        }
        let claims = Arc::new(self.verify_signed(token)?);
        check_lifetime(&claims, now)?;
        self.verified.keep(token, Arc::clone(&claims));
        Ok(claims)
    }

    /// Everything [`verify_access`](Self::verify_access) checks but the
    /// lifetime, from scratch.
    fn verify_signed(&self, token: &str) -> std::result::Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let parts = split_token(token).ok_or(TokenError::Malformed)?;
        let header_json = URL_SAFE_NO_PAD
            .decode(parts.header)
            .map_err(|_| TokenError::Malformed)?;
        let header: RawHeader<'_> =
            serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.ok_or(TokenError::BadSignature)?;
        let key = self
            .keys
            .iter()
            .find(|key| key.kid == kid)
            .ok_or(TokenError::BadSignature)?;
        // The key decides the algorithm, never the token: `none`, HS256
        // signed with a public key and every other confusion stop here.
        if header.alg != key.algorithm.as_str() {
            return Err(TokenError::BadSignature);
        }
        if !key.verifies(parts.message, parts.signature)? {
            return Err(TokenError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(TokenError::WrongIssuer);
        }
        if claims.typ != ACCESS_TOKEN_TYPE {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }

    /// The JWKS document: `{"keys": [...]}` with the public key of the
    /// signing key and of every verification key. HS256 keys are secrets
    /// and never appear.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .filter_map(|key| key.public.as_ref().map(|public| public.to_jwk(&key.kid)))
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// `Expired` when `exp <= now`, `NotYetValid` when `nbf > now`.
fn check_lifetime(claims: &Claims, now: DateTime<Utc>) -> std::result::Result<(), TokenError> {
    let now = now.timestamp();
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// The parts of a compact JWS.
struct TokenParts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`, what the signature covers.
    message: &'a str,
}

/// The parts of a token with exactly three base64url parts and a non-empty
/// header and payload (the signature may be empty: `alg: none` tokens are
/// rejected as bad signatures, not as malformed).
fn split_token(token: &str) -> Option<TokenParts<'_>> {
    let (message, signature) = token.rsplit_once('.')?;
    let (header, payload) = message.split_once('.')?;
    if header.is_empty() || payload.is_empty() {
        return None;
    }
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    // A fourth part would leave a '.' in the payload, which fails here.
    (base64url(header) && base64url(payload) && base64url(signature)).then_some(TokenParts {
        header,
        payload,
        signature,
        message,
    })
}

fn token_error(error: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::Provider(_) => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::WrongIssuer,
        _ => TokenError::Malformed,
    }
}

/// A new opaque token (refresh and device tokens: 32 random bytes, unpadded base64url: 43
/// characters) and the SHA-256 of its text, which is all that is stored.
///
/// # Errors
///
/// [`Error::Config`] when the system random number generator fails.
pub(crate) fn new_opaque_token() -> Result<(String, [u8; 32])> {
    let token = URL_SAFE_NO_PAD.encode(random_secret()?);
    let hash = Sha256::digest(token.as_bytes()).into();
    Ok((token, hash))
}

/// The SHA-256 of a presented opaque token, or `None` when it is not 43
/// base64url characters decoding to 32 bytes (so garbage never reaches the
/// database).
pub(crate) fn opaque_token_hash(token: &str) -> Option<[u8; 32]> {
    if token.len() != OPAQUE_TOKEN_LEN {
        return None;
    }
    // Decoding rejects non-alphabet characters and non-zero trailing bits,
    // so each 32-byte value has exactly one accepted spelling.
    let mut bytes = [0u8; 33];
    let decoded = URL_SAFE_NO_PAD.decode_slice(token, &mut bytes).ok()?;
    (decoded == 32).then(|| Sha256::digest(token.as_bytes()).into())
}

/// 32 bytes from the operating system's random number generator (a
/// generated HS256 secret, a refresh token).
///
/// # Errors
///
/// [`Error::Config`] when the system random number generator fails.
pub(crate) fn random_secret() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::config(format!("system random number generator failed: {e}")))?;
    Ok(bytes)
}

mod verified;
use verified::Verified;

#[cfg(test)]
mod tests;
