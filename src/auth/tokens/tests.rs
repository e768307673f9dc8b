//! One behaviour per test. The PEM keys below were generated once with
//! `openssl genpkey` for these tests only.

use chrono::Duration;
use jsonwebtoken::jwk::ThumbprintHash;

use super::*;

// Test keys, generated with:
//   openssl genpkey -algorithm ed25519 (twice), openssl pkey -pubout
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048
//   openssl rsa -traditional (PKCS#1 copy), openssl pkey -pubout
const ED25519_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPB//9STTCCAyHexpj/GhUylNlCG9vGfybrbKCkS88P9
-----END PRIVATE KEY-----
";
const ED25519_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAZuFJz9A5KslLxGt4UGBr9uSvoAD8XogogHvoSN4tz0g=
-----END PUBLIC KEY-----
";
const ED25519_OLD_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFhJrBB/pcZAnKePz+MNq7yQXQcoxLjNAq6O68P1XWcx
-----END PRIVATE KEY-----
";
const ED25519_OLD_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAMQN1T/WXfvRkQV5ao7zcDvzIKoTJcacUxENaAA/x16U=
-----END PUBLIC KEY-----
";
const RSA_PRIVATE_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDLvmr+x0dU5w7k
pK1TxJ9v/xOWMcL+TDJLRONSP89g31RRt1UHuIJwLbqcskBVO5onlyaaXNdZVLy4
J0p4UJLTcDdQRNFSUCfRL//iWP8fiQItvLeqINbeDpMkqh4xWFbGyYTt2Z30RLkz
In4INUjyjl3WW3K1amGi3rKlBNwk+Iqo5IrDM+vt7WRtcqzrkjyMCkWNAcZKA1HF
0sw4v+D6fXpymqVFxmK1oMxSYB86IfpekfRvrDIgYPkfZtLfkKGRDMaSo6n09DkP
kOBbjwYVgwak7jXRswrxTgvqctJjuXnCWhBU7lmVdJcWpk3GoJ8SLlP1ihys0aC1
+neO5xw9AgMBAAECggEAGF/1C/sKUSF9eiQralClJHB3Ruo4IlU6VR/uNDpXFIdT
Xp1Yyl4sGMCXyURYBvpk9GSUZTZDOzg0hbGJqsA0+J+9tlgtVLQrN08PRWSRTRQG
kzM3I97e5d0HhITnrM6dPxX/1bbJu133bCMtwcyiKAaZOlphbEvIV4ReCfj9X1y3
6K/Jz1rQ5+iqsS/aEw7qhh+yXBgMZ7vhFqyCu+q2VKgGGS+Nrgzu5HnF1ErPEDMh
2P5ViRkGS7zUMKfVu1lLJNW3UiQ/dp1BpsZmQONIwBZMZTr/mDWt2Oe2iCpNvSGv
DLjtqt23KvqqcavzHDoxURnxBqrq3cGP6K8FKXlEgQKBgQD2UqS/NDCNqDt75i8C
4eefuWj9Q+4ZMlIPkIwNr8P69wL/BgFsC/z7+YKMQFmf8vgZaivAkHtocOqXa+Zp
uvY81LFtMBCtmjusHWQRGnjXVN4uhx65N51tCznEll2mtVth8+CqzlBn1sXg/oQm
cf5XJPb19FTvkyPSmlgfpPcVwQKBgQDTv4rLaDQPBV7CYWdw7yNJtVnoaaYyi1EK
v6oOI/rcpaTvuFw0B+RwLIez9oMt/jsy0qoyhOBB9oofHCnbTRbogsw38FN+FMqp
xpnD1VZSKq0nifyVXGGouESWengjjZrVj451xsN96L4LH2sFe2nTc3PMzWBKakvp
fnzAN7K9fQKBgH0EKNVaOaJL1hTmGMoPua0ZPy37giaLoZaAuHRh1sfTAlRIygP6
eaWxVw6zwkkp2b2cYyRSsC+rz4SWoNTcrQjmsj5GfNB/TPXn3NfJZbd0PWfD8FX0
4hNr9R/PaSypMv4d9tL571kkaj3tL0kL5hh4jFb8cPc+6JmE+GDnKviBAoGAXKD0
2WhbJZsGyeeMNaYW/L59dyMIViIFsLsJbCgnLHC1xzwR8ZzmPH/uWTZkSjFluiTX
2UOxSonMADH0yX9enxXgujPCgmwb/8rmJvnjSgxrNNmzCa+g9QquzlkCxyLB8dxb
yH/Lsv+mav0ydvJ2584ggR3ymnsHfDwd3IRBB40CgYEA3F/OIEf0A6bzJAHyb/MM
itPabk0Cqs7Q/bOoRY0MtC13ZflPXA2gnLLeB1veq4dVYMfg5jG6LFGvaBqpITfs
PCb2fFdAkQQNOd+liBP/aCwdsPknpZFldDp/jG3jlwNXy3Xa3lD1nbWQ6lVSnJ01
K9FZPEOTZwcRLc1MhNLDFio=
-----END PRIVATE KEY-----
";
const RSA_PRIVATE_PKCS1: &str = "\
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAy75q/sdHVOcO5KStU8Sfb/8TljHC/kwyS0TjUj/PYN9UUbdV
B7iCcC26nLJAVTuaJ5cmmlzXWVS8uCdKeFCS03A3UETRUlAn0S//4lj/H4kCLby3
qiDW3g6TJKoeMVhWxsmE7dmd9ES5MyJ+CDVI8o5d1ltytWphot6ypQTcJPiKqOSK
wzPr7e1kbXKs65I8jApFjQHGSgNRxdLMOL/g+n16cpqlRcZitaDMUmAfOiH6XpH0
b6wyIGD5H2bS35ChkQzGkqOp9PQ5D5DgW48GFYMGpO410bMK8U4L6nLSY7l5wloQ
VO5ZlXSXFqZNxqCfEi5T9YocrNGgtfp3juccPQIDAQABAoIBABhf9Qv7ClEhfXok
K2pQpSRwd0bqOCJVOlUf7jQ6VxSHU16dWMpeLBjAl8lEWAb6ZPRklGU2Qzs4NIWx
iarANPifvbZYLVS0KzdPD0VkkU0UBpMzNyPe3uXdB4SE56zOnT8V/9W2ybtd92wj
LcHMoigGmTpaYWxLyFeEXgn4/V9ct+ivyc9a0OfoqrEv2hMO6oYfslwYDGe74Ras
grvqtlSoBhkvja4M7uR5xdRKzxAzIdj+VYkZBku81DCn1btZSyTVt1IkP3adQabG
ZkDjSMAWTGU6/5g1rdjntogqTb0hrwy47ardtyr6qnGr8xw6MVEZ8Qaq6t3Bj+iv
BSl5RIECgYEA9lKkvzQwjag7e+YvAuHnn7lo/UPuGTJSD5CMDa/D+vcC/wYBbAv8
+/mCjEBZn/L4GWorwJB7aHDql2vmabr2PNSxbTAQrZo7rB1kERp411TeLoceuTed
bQs5xJZdprVbYfPgqs5QZ9bF4P6EJnH+VyT29fRU75Mj0ppYH6T3FcECgYEA07+K
y2g0DwVewmFncO8jSbVZ6GmmMotRCr+qDiP63KWk77hcNAfkcCyHs/aDLf47MtKq
MoTgQfaKHxwp200W6ILMN/BTfhTKqcaZw9VWUiqtJ4n8lVxhqLhElnp4I42a1Y+O
dcbDfei+Cx9rBXtp03NzzM1gSmpL6X58wDeyvX0CgYB9BCjVWjmiS9YU5hjKD7mt
GT8t+4Imi6GWgLh0YdbH0wJUSMoD+nmlsVcOs8JJKdm9nGMkUrAvq8+ElqDU3K0I
5rI+RnzQf0z159zXyWW3dD1nw/BV9OITa/Ufz2ksqTL+HfbS+e9ZJGo97S9JC+YY
eIxW/HD3PuiZhPhg5yr4gQKBgFyg9NloWyWbBsnnjDWmFvy+fXcjCFYiBbC7CWwo
Jyxwtcc8EfGc5jx/7lk2ZEoxZbok19lDsUqJzAAx9Ml/Xp8V4LozwoJsG//K5ib5
40oMazTZswmvoPUKrs5ZAsciwfHcW8h/y7L/pmr9MnbydufOIIEd8pp7B3w8HdyE
QQeNAoGBANxfziBH9AOm8yQB8m/zDIrT2m5NAqrO0P2zqEWNDLQtd2X5T1wNoJyy
3gdb3quHVWDH4OYxuixRr2gaqSE37Dwm9nxXQJEEDTnfpYgT/2gsHbD5J6WRZXQ6
f4xt45cDV8t12t5Q9Z21kOpVUpydNSvRWTxDk2cHES3NTITSwxYq
-----END RSA PRIVATE KEY-----
";
const RSA_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAy75q/sdHVOcO5KStU8Sf
b/8TljHC/kwyS0TjUj/PYN9UUbdVB7iCcC26nLJAVTuaJ5cmmlzXWVS8uCdKeFCS
03A3UETRUlAn0S//4lj/H4kCLby3qiDW3g6TJKoeMVhWxsmE7dmd9ES5MyJ+CDVI
8o5d1ltytWphot6ypQTcJPiKqOSKwzPr7e1kbXKs65I8jApFjQHGSgNRxdLMOL/g
+n16cpqlRcZitaDMUmAfOiH6XpH0b6wyIGD5H2bS35ChkQzGkqOp9PQ5D5DgW48G
FYMGpO410bMK8U4L6nLSY7l5wloQVO5ZlXSXFqZNxqCfEi5T9YocrNGgtfp3jucc
PQIDAQAB
-----END PUBLIC KEY-----
";

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const ISSUER: &str = "aai-accounts";
const AUDIENCE: &str = "aai-accounts-api";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn ttl() -> Duration {
    Duration::minutes(30)
}

fn hs256() -> SigningKey {
    SigningKey::hs256(SECRET)
}

fn ed25519() -> SigningKey {
    SigningKey::ed25519_pem(ED25519_PRIVATE).unwrap()
}

fn rs256() -> SigningKey {
    SigningKey::rs256_pem(RSA_PRIVATE_PKCS8).unwrap()
}

fn service(signing: SigningKey) -> TokenService {
    service_with(signing, Vec::new())
}

fn service_with(signing: SigningKey, verification: Vec<VerificationKey>) -> TokenService {
    TokenService::new(signing, verification, ISSUER.into(), AUDIENCE.into()).unwrap()
}

fn issue(service: &TokenService) -> (String, Claims) {
    issue_for(service, ttl()).unwrap()
}

/// A password session's access token for a new user, valid for `ttl`.
fn issue_for(service: &TokenService, ttl: Duration) -> crate::Result<(String, Claims)> {
    service.issue_access(
        UserId::new(),
        SessionId::new(),
        false,
        &[AuthMethod::Password],
        now(),
        ttl,
    )
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token from raw header and payload JSON and signature bytes.
fn craft(header: &serde_json::Value, payload: &serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(payload.to_string()),
        b64(signature)
    )
}

/// Valid claims for `now()`, as JSON, for tokens signed by hand.
fn claims_json() -> serde_json::Value {
    serde_json::to_value(Claims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: UserId::new(),
        iat: now().timestamp(),
        nbf: now().timestamp(),
        exp: now().timestamp() + 1800,
        jti: "jti".into(),
        typ: "access".into(),
        sid: SessionId::new(),
        adm: false,
        amr: vec![AuthMethod::Password],
    })
    .unwrap()
}

/// Signs `claims` with HS256, our test secret and the given `kid`.
fn sign_hs256(claims: &serde_json::Value, secret: &[u8], kid: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn with_claim(name: &str, value: serde_json::Value) -> serde_json::Value {
    let mut claims = claims_json();
    claims[name] = value;
    claims
}

#[test]
fn keys_and_service_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SigningKey>();
    assert_send_sync::<VerificationKey>();
    assert_send_sync::<TokenService>();
}

#[test]
fn hs256_token_round_trips() {
    let service = service(hs256());
    let (token, claims) = issue(&service);
    assert_eq!(service.verify_access(&token, now()), Ok(Arc::new(claims)));
}

#[test]
fn eddsa_token_round_trips() {
    let service = service(ed25519());
    let (token, claims) = issue(&service);
    assert_eq!(service.verify_access(&token, now()), Ok(Arc::new(claims)));
}

#[test]
fn rs256_token_round_trips() {
    let service = service(rs256());
    let (token, claims) = issue(&service);
    assert_eq!(service.verify_access(&token, now()), Ok(Arc::new(claims)));
}

#[test]
fn rs256_pkcs1_and_pkcs8_pems_load_the_same_key() {
    let pkcs1 = SigningKey::rs256_pem(RSA_PRIVATE_PKCS1).unwrap();
    assert_eq!(pkcs1.kid(), rs256().kid());
    let (token, claims) = issue(&service(pkcs1));
    assert_eq!(
        service(rs256()).verify_access(&token, now()),
        Ok(Arc::new(claims))
    );
}

#[test]
fn header_carries_the_kid_and_the_key_algorithm() {
    for (key, alg) in [
        (hs256().with_kid("k-1"), Algorithm::HS256),
        (ed25519().with_kid("k-1"), Algorithm::EdDSA),
        (rs256().with_kid("k-1"), Algorithm::RS256),
    ] {
        let (token, _) = issue(&service(key));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, alg);
        assert_eq!(header.kid.as_deref(), Some("k-1"));
    }
}

#[test]
fn issued_claims_are_access_claims_from_now_for_the_ttl() {
    let service = service(hs256());
    let user = UserId::new();
    let session = SessionId::new();
    let now = now() + Duration::milliseconds(999);
    let (_, claims) = service
        .issue_access(user, session, true, &[AuthMethod::Password], now, ttl())
        .unwrap();
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.sub, user);
    assert_eq!(claims.sid, session);
    assert!(claims.adm);
    assert_eq!(claims.typ, "access");
    assert_eq!(claims.iat, 1_800_000_000);
    assert_eq!(claims.nbf, claims.iat);
    assert_eq!(claims.exp, claims.iat + 1800);
    assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
}

#[test]
fn every_token_gets_a_fresh_jti() {
    let service = service(hs256());
    assert_ne!(issue(&service).1.jti, issue(&service).1.jti);
}

#[test]
fn claims_serialize_ids_as_uuid_strings() {
    let (_, claims) = issue(&service(hs256()));
    let json = serde_json::to_value(&claims).unwrap();
    assert_eq!(json["sub"], claims.sub.to_string());
    assert_eq!(json["sid"], claims.sid.to_string());
}

#[test]
fn ttl_under_one_second_is_a_config_error() {
    let service = service(hs256());
    for ttl in [Duration::zero(), Duration::milliseconds(999), -ttl()] {
        let error = issue_for(&service, ttl).unwrap_err();
        assert_eq!(error.code(), "config", "{ttl}");
    }
}

#[test]
fn alg_none_token_is_a_bad_signature() {
    let service = service(hs256());
    let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": hs256().kid()});
    let token = craft(&header, &claims_json(), b"");
    assert!(token.ends_with('.'));
    assert_eq!(
        service.verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn hs256_token_signed_with_the_rsa_public_key_is_a_bad_signature() {
    let key = rs256();
    let service = service(key.clone());
    let token = sign_hs256(&claims_json(), RSA_PUBLIC.as_bytes(), key.kid());
    assert_eq!(
        service.verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn hs256_token_signed_with_the_ed25519_public_key_is_a_bad_signature() {
    let key = ed25519();
    let service = service(key.clone());
    let token = sign_hs256(&claims_json(), ED25519_PUBLIC.as_bytes(), key.kid());
    assert_eq!(
        service.verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn rs256_token_presented_to_an_hs256_key_is_a_bad_signature() {
    let hs = hs256();
    let (token, _) = issue(&service(rs256().with_kid(hs.kid())));
    assert_eq!(
        service(hs).verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn eddsa_token_presented_to_an_hs256_key_is_a_bad_signature() {
    let hs = hs256();
    let (token, _) = issue(&service(ed25519().with_kid(hs.kid())));
    assert_eq!(
        service(hs).verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn token_of_another_algorithm_in_a_mixed_key_set_is_a_bad_signature() {
    // EdDSA signs; the RSA key only verifies. An EdDSA token carrying the
    // RSA key's kid must not be checked with anything.
    let rsa = VerificationKey::rs256_public_pem(RSA_PUBLIC, "rsa").unwrap();
    let service = service_with(ed25519(), vec![rsa]);
    let (token, _) = issue(&self::service(ed25519().with_kid("rsa")));
    assert_eq!(
        service.verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn unknown_kid_is_a_bad_signature() {
    let (token, _) = issue(&service(hs256().with_kid("someone-else")));
    assert_eq!(
        service(hs256()).verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn missing_kid_is_a_bad_signature() {
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims_json(),
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert_eq!(
        service(hs256()).verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    for key in [hs256(), ed25519(), rs256()] {
        let service = service(key);
        let (token, claims) = issue(&service);
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = serde_json::to_value(&claims).unwrap();
        forged["adm"] = true.into();
        let token = format!("{}.{}.{}", parts[0], b64(forged.to_string()), parts[2]);
        assert_eq!(
            service.verify_access(&token, now()),
            Err(TokenError::BadSignature)
        );
    }
}

#[test]
fn hs256_verification_with_the_prepared_key_agrees_with_jsonwebtoken() {
    // The service verifies HS256 with an HMAC key prepared once, not
    // through jsonwebtoken: tokens jsonwebtoken signs with our secret pass,
    // those signed with another secret of the same length, or with one
    // signature bit flipped, do not.
    let service = service(hs256());
    let kid = hs256().kid().to_owned();
    let good = sign_hs256(&claims_json(), SECRET, &kid);
    assert!(service.verify_access(&good, now()).is_ok());
    let mut other = SECRET.to_vec();
    other[0] ^= 1;
    let wrong_secret = sign_hs256(&claims_json(), &other, &kid);
    let (message, signature) = good.rsplit_once('.').unwrap();
    let mut tag = URL_SAFE_NO_PAD.decode(signature).unwrap();
    tag[31] ^= 0x80;
    let flipped = format!("{message}.{}", b64(tag));
    for token in [wrong_secret, flipped] {
        assert_eq!(
            service.verify_access(&token, now()),
            Err(TokenError::BadSignature),
            "{token}"
        );
    }
}

#[test]
fn tampered_signature_is_a_bad_signature() {
    let service = service(ed25519());
    let (token, _) = issue(&service);
    let (message, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    signature[0] ^= 1;
    let token = format!("{message}.{}", b64(signature));
    assert_eq!(
        service.verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn token_signed_with_another_secret_is_a_bad_signature() {
    let token = sign_hs256(
        &claims_json(),
        b"another secret of thirty-two bytes",
        hs256().kid(),
    );
    assert_eq!(
        service(hs256()).verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn token_is_valid_until_its_last_second() {
    let service = service(hs256());
    let (token, claims) = issue(&service);
    let last = now() + ttl() - Duration::milliseconds(1);
    assert_eq!(service.verify_access(&token, last), Ok(Arc::new(claims)));
}

#[test]
fn expired_token_is_rejected() {
    let service = service(hs256());
    let (token, _) = issue(&service);
    assert_eq!(
        service.verify_access(&token, now() + ttl()),
        Err(TokenError::Expired)
    );
}

#[test]
fn not_yet_valid_token_is_rejected() {
    let service = service(hs256());
    let (token, _) = issue(&service);
    assert_eq!(
        service.verify_access(&token, now() - Duration::milliseconds(1)),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn wrong_typ_is_rejected() {
    let token = sign_hs256(&with_claim("typ", "refresh".into()), SECRET, hs256().kid());
    assert_eq!(
        service(hs256()).verify_access(&token, now()),
        Err(TokenError::WrongType)
    );
}

#[test]
fn wrong_issuer_is_rejected() {
    let other = TokenService::new(hs256(), Vec::new(), "evil".into(), AUDIENCE.into()).unwrap();
    let (token, _) = issue(&other);
    assert_eq!(
        service(hs256()).verify_access(&token, now()),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn wrong_audience_is_rejected() {
    let other = TokenService::new(hs256(), Vec::new(), ISSUER.into(), "other-api".into()).unwrap();
    let (token, _) = issue(&other);
    assert_eq!(
        service(hs256()).verify_access(&token, now()),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn signed_payload_that_is_not_our_claims_is_malformed() {
    for claims in [
        serde_json::json!({"sub": "someone"}),
        with_claim("sub", "not-a-uuid".into()),
        with_claim("aud", serde_json::json!([AUDIENCE])),
        with_claim("exp", "tomorrow".into()),
    ] {
        let token = sign_hs256(&claims, SECRET, hs256().kid());
        assert_eq!(
            service(hs256()).verify_access(&token, now()),
            Err(TokenError::Malformed),
            "{claims}"
        );
    }
}

#[test]
fn garbage_is_malformed() {
    let service = service(hs256());
    let (token, _) = issue(&service);
    let (header, rest) = token.split_once('.').unwrap();
    let garbage = [
        String::new(),
        ".".into(),
        "..".into(),
        "abc".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{token}.x"),
        format!(".{rest}"),
        format!("{header}..sig"),
        "!!.!!.!!".into(),
        "é.é.é".into(),
        "\0.\0.\0".into(),
        format!("{header}=.{rest}"),
        format!("{} {token}", "Bearer"),
        // base64url that does not decode (length 1 mod 4)
        format!("a.{rest}"),
        // a header that is not JSON
        format!("{}.{rest}", b64("not json")),
        // a header that is JSON but not an object with an alg
        format!("{}.{rest}", b64("[1,2]")),
        format!("{}.{rest}", b64(r#"{"kid":"x"}"#)),
    ];
    for token in garbage {
        assert_eq!(
            service.verify_access(&token, now()),
            Err(TokenError::Malformed),
            "{token:?}"
        );
    }
}

#[test]
fn huge_input_is_malformed() {
    let service = service(hs256());
    let (token, _) = issue(&service);
    let padded = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
    assert_eq!(
        service.verify_access(&padded, now()),
        Err(TokenError::Malformed)
    );
    let huge = "a.".repeat(1 << 20);
    assert_eq!(
        service.verify_access(&huge, now()),
        Err(TokenError::Malformed)
    );
}

#[test]
fn token_of_the_old_key_verifies_while_the_old_key_is_kept() {
    let old = SigningKey::ed25519_pem(ED25519_OLD_PRIVATE).unwrap();
    let (token, claims) = issue(&service(old.clone()));
    let rotated = service_with(ed25519(), vec![VerificationKey::from(old)]);
    assert_eq!(rotated.verify_access(&token, now()), Ok(Arc::new(claims)));
}

#[test]
fn token_of_the_old_key_verifies_with_its_public_pem() {
    let old = SigningKey::ed25519_pem(ED25519_OLD_PRIVATE).unwrap();
    let (token, claims) = issue(&service(old.clone()));
    let public = VerificationKey::ed25519_public_pem(ED25519_OLD_PUBLIC, old.kid()).unwrap();
    let rotated = service_with(rs256(), vec![public]);
    assert_eq!(rotated.verify_access(&token, now()), Ok(Arc::new(claims)));
}

#[test]
fn rs256_token_verifies_with_the_public_pem() {
    let key = rs256().with_kid("rsa-2026");
    let (token, claims) = issue(&service(key));
    let public = VerificationKey::rs256_public_pem(RSA_PUBLIC, "rsa-2026").unwrap();
    let rotated = service_with(hs256(), vec![public]);
    assert_eq!(rotated.verify_access(&token, now()), Ok(Arc::new(claims)));
}

#[test]
fn token_of_the_old_key_fails_once_the_old_key_is_removed() {
    let old = hs256().with_kid("2026-10");
    let (token, _) = issue(&service(old));
    let current = SigningKey::hs256(b"the new secret, thirty-two bytes").with_kid("2026-11");
    assert_eq!(
        service(current).verify_access(&token, now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn duplicate_kids_are_a_config_error() {
    let duplicate = VerificationKey::from(ed25519().with_kid("same"));
    let error = TokenService::new(
        hs256().with_kid("same"),
        vec![duplicate],
        ISSUER.into(),
        AUDIENCE.into(),
    )
    .unwrap_err();
    assert_eq!(error.code(), "config");
    let twice = vec![
        VerificationKey::from(ed25519()),
        VerificationKey::from(ed25519()),
    ];
    assert!(TokenService::new(hs256(), twice, ISSUER.into(), AUDIENCE.into()).is_err());
}

#[test]
fn empty_kid_issuer_or_audience_is_a_config_error() {
    for (key, issuer, audience) in [
        (hs256().with_kid(""), ISSUER, AUDIENCE),
        (hs256(), "", AUDIENCE),
        (hs256(), ISSUER, ""),
    ] {
        let error = TokenService::new(key, Vec::new(), issuer.into(), audience.into()).unwrap_err();
        assert_eq!(error.code(), "config");
    }
}

#[test]
fn jwks_publishes_the_ed25519_public_key() {
    let key = ed25519();
    let jwks = service(key.clone()).jwks();
    let public = VerificationKey::ed25519_public_pem(ED25519_PUBLIC, "x").unwrap();
    let Some(PublicKey::Ed25519 { x }) = public.public else {
        panic!("not an ed25519 key");
    };
    assert_eq!(
        jwks,
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid(),
            "alg": "EdDSA", "use": "sig",
        }]})
    );
}

#[test]
fn jwks_publishes_the_rsa_public_key() {
    let key = rs256();
    let jwks = service(key.clone()).jwks();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
    assert_eq!(jwk["kid"], key.kid());
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    let members: Vec<&String> = jwk.as_object().unwrap().keys().collect();
    assert_eq!(members.len(), 6, "no private members: {members:?}");
}

#[test]
fn jwks_lists_verification_keys_and_never_hs256_keys() {
    let old_rsa = VerificationKey::rs256_public_pem(RSA_PUBLIC, "old-rsa").unwrap();
    let old_secret = VerificationKey::from(SigningKey::hs256(SECRET).with_kid("old-secret"));
    let jwks = service_with(hs256(), vec![old_rsa, old_secret]).jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["old-rsa"]);
    assert!(!jwks.to_string().contains("\"oct\""));
}

#[test]
fn asymmetric_kid_is_the_rfc7638_thumbprint() {
    for (key, alg) in [(ed25519(), Algorithm::EdDSA), (rs256(), Algorithm::RS256)] {
        let jwk = Jwk::from_encoding_key(&key.encoding, alg).unwrap();
        assert_eq!(key.kid(), jwk.thumbprint(ThumbprintHash::SHA256).unwrap());
    }
}

#[test]
fn hs256_kid_is_a_stable_fingerprint_that_does_not_reveal_the_secret() {
    let kid = hs256().kid().to_owned();
    assert_eq!(kid.len(), 16);
    assert!(kid.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(kid, hs256().kid());
    assert_ne!(kid, SigningKey::hs256(b"another secret").kid());
    let hex_secret: String = SECRET.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!hex_secret.contains(&kid));
    assert!(!kid.contains("0123456789abcdef"));
}

#[test]
fn signing_key_debug_redacts_key_material() {
    let secret = "a very secret shared hmac key for tests";
    let debug = format!("{:?}", SigningKey::hs256(secret).with_kid("kid-7"));
    assert!(!debug.contains("very secret"), "{debug}");
    assert!(
        debug.contains("kid-7") && debug.contains("Hs256"),
        "{debug}"
    );
    let debug = format!("{:?}", ed25519());
    assert!(
        !debug.contains("MC4CAQAw") && debug.contains("EdDsa"),
        "{debug}"
    );
    let debug = format!("{:?}", VerificationKey::from(SigningKey::hs256(secret)));
    assert!(!debug.contains("very secret"), "{debug}");
    let debug = format!("{:?}", service(SigningKey::hs256(secret)));
    assert!(!debug.contains("very secret"), "{debug}");
}

#[test]
fn hs256_secret_len_is_reported_for_hs256_only() {
    assert_eq!(hs256().hs256_secret_len(), Some(32));
    assert_eq!(ed25519().hs256_secret_len(), None);
}

#[test]
fn bad_pems_are_config_errors() {
    let attempts = [
        SigningKey::ed25519_pem("not a pem").map(drop),
        SigningKey::ed25519_pem(RSA_PRIVATE_PKCS8).map(drop),
        SigningKey::ed25519_pem(ED25519_PUBLIC).map(drop),
        SigningKey::rs256_pem("").map(drop),
        SigningKey::rs256_pem(ED25519_PRIVATE).map(drop),
        SigningKey::rs256_pem(RSA_PUBLIC).map(drop),
        SigningKey::rs256_pem(RSA_PRIVATE_PKCS8.replace("MIIE", "MIIF")).map(drop),
        VerificationKey::ed25519_public_pem(ED25519_PRIVATE, "k").map(drop),
        VerificationKey::ed25519_public_pem(RSA_PUBLIC, "k").map(drop),
        VerificationKey::rs256_public_pem(RSA_PRIVATE_PKCS8, "k").map(drop),
        VerificationKey::rs256_public_pem(ED25519_PUBLIC, "k").map(drop),
        VerificationKey::rs256_public_pem("garbage", "k").map(drop),
    ];
    for (index, attempt) in attempts.into_iter().enumerate() {
        assert_eq!(attempt.unwrap_err().code(), "config", "attempt {index}");
    }
}

#[test]
fn new_opaque_token_is_43_base64url_chars_with_its_sha256() {
    let (token, hash) = new_opaque_token().unwrap();
    assert_eq!(token.len(), 43);
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
    let expected: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    assert_eq!(hash, expected);
}

#[test]
fn new_opaque_tokens_are_unique() {
    let tokens: std::collections::HashSet<String> =
        (0..100).map(|_| new_opaque_token().unwrap().0).collect();
    assert_eq!(tokens.len(), 100);
}

#[test]
fn refresh_token_hash_matches_the_issued_hash() {
    let (token, hash) = new_opaque_token().unwrap();
    assert_eq!(opaque_token_hash(&token), Some(hash));
}

#[test]
fn refresh_token_hash_rejects_anything_but_a_refresh_token() {
    let (token, _) = new_opaque_token().unwrap();
    let bad = [
        String::new(),
        token[..42].to_owned(),
        format!("{token}A"),
        format!("{token}="),
        format!("{}+", &token[..42]),
        format!("{}/", &token[..42]),
        format!("{}é", &token[..41]),
        // 43 characters whose last one carries non-zero padding bits
        format!("{}B", "A".repeat(42)),
        "x".repeat(1 << 16),
    ];
    for input in bad {
        assert_eq!(opaque_token_hash(&input), None, "{input:?}");
    }
    assert!(opaque_token_hash(&format!("{}E", "A".repeat(42))).is_some());
}

#[test]
fn random_secrets_differ() {
    assert_ne!(random_secret().unwrap(), random_secret().unwrap());
}

#[test]
fn a_token_that_verified_is_kept_and_one_that_failed_is_not() {
    let service = service(hs256());
    let (token, claims) = issue(&service);
    assert!(service.verified.get(&token).is_none());
    service.verify_access(&token, now()).unwrap();
    assert_eq!(service.verified.get(&token), Some(Arc::new(claims)));

    // Signed by us but expired: refused, and not kept.
    let (expired, _) = issue(&service);
    assert_eq!(
        service.verify_access(&expired, now() + ttl()),
        Err(TokenError::Expired)
    );
    assert!(service.verified.get(&expired).is_none());
}

#[test]
fn a_kept_token_has_its_lifetime_checked_again_on_every_use() {
    let service = service(hs256());
    let (token, _) = issue(&service);
    service.verify_access(&token, now()).unwrap();
    assert!(service.verified.get(&token).is_some());
    assert_eq!(
        service.verify_access(&token, now() + ttl()),
        Err(TokenError::Expired)
    );
    // A clock set back (the host's clock is injectable).
    assert_eq!(
        service.verify_access(&token, now() - Duration::seconds(1)),
        Err(TokenError::NotYetValid)
    );
    assert!(service.verify_access(&token, now()).is_ok());
}

#[test]
fn a_kept_token_vouches_for_no_other_with_its_signature() {
    let service = service(hs256());
    let (token, _) = issue(&service);
    service.verify_access(&token, now()).unwrap();
    // The same signature (so the same slot) over another payload: each
    // payload character changed in turn, the signature kept.
    let (message, signature) = token.rsplit_once('.').unwrap();
    let (header, payload) = message.split_once('.').unwrap();
    for i in 0..payload.len() {
        let mut forged = payload.as_bytes().to_vec();
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let forged = format!(
            "{header}.{}.{signature}",
            String::from_utf8(forged).unwrap()
        );
        assert!(
            service.verify_access(&forged, now()).is_err(),
            "payload byte {i} changed"
        );
    }
    // Nor does a kept token of one service count for another service.
    let other = TokenService::new(hs256(), Vec::new(), ISSUER.into(), "other-api".into()).unwrap();
    assert_eq!(
        other.verify_access(&token, now()),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn a_new_token_takes_the_place_of_the_one_its_slot_held() {
    let service = service(hs256());
    let tokens: Vec<(String, Claims)> = (0..=verified::SLOTS).map(|_| issue(&service)).collect();
    for (token, _) in &tokens {
        service.verify_access(token, now()).unwrap();
    }
    // More tokens than slots: the memo stays within its slots, and every
    // token still verifies.
    let kept = tokens
        .iter()
        .filter(|(token, _)| service.verified.get(token).is_some())
        .count();
    assert!(kept < tokens.len(), "all {kept} kept");
    for (token, claims) in &tokens {
        assert_eq!(
            service.verify_access(token, now()),
            Ok(Arc::new(claims.clone()))
        );
    }
}
