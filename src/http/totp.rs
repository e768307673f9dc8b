//! `/auth/totp`: the second factor (begin, confirm, disable) and
//! `/auth/login/second-factor`, which finishes a login that answered
//! `second_factor_required`.

use super::json::Json;
use axum::extract::State;
use axum::http::HeaderName;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::NO_STORE;
use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{ApiJson, Auth, RateLimited};
use super::{AppState, API_PREFIX};
use crate::TokenPair;

/// A new, pending TOTP secret. It is shown once: store it in an
/// authenticator app (scan the URI as a QR code) and confirm with a code.
#[derive(Serialize, ToSchema)]
pub(crate) struct TotpEnrolmentBody {
    /// The secret, base32 without padding, for manual entry.
    secret: String,
    /// The `otpauth://totp/...` URI (SHA-1, 6 digits, 30 seconds).
    otpauth_uri: String,
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
pub(crate) struct TotpCode {
    /// Six digits.
    code: String,
}

/// The ten single-use recovery codes, shown once.
#[derive(Serialize, ToSchema)]
pub(crate) struct RecoveryCodesBody {
    /// Each stands in for a TOTP code once.
    recovery_codes: Vec<String>,
}

/// What proves the user to remove their second factor.
#[derive(Deserialize, ToSchema)]
pub(crate) struct TotpDisable {
    /// The current password, a current TOTP code or an unused recovery
    /// code.
    #[schema(format = Password)]
    password_or_code: String,
}

/// The second step of a login.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SecondFactorLogin {
    /// The `challenge` of the login's `second_factor_required` answer.
    challenge: String,
    /// A TOTP code or an unused recovery code.
    code: String,
}

/// Begin a TOTP enrolment of the current user (replaces a pending one).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/totp/begin", tag = "auth", operation_id = "auth_totp_begin",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The pending secret and its otpauth URI; never cached", body = TotpEnrolmentBody,
            headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 409, description = "A TOTP is already confirmed (disable it first)", body = ErrorBody),
    )
)]
pub(crate) async fn begin(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<([(HeaderName, &'static str); 2], Json<TotpEnrolmentBody>), ApiError> {
    let enrolment = state
        .call(move |accounts| accounts.users().totp_begin(&principal))
        .await?;
    Ok((
        NO_STORE,
        Json(TotpEnrolmentBody {
            secret: enrolment.secret().to_owned(),
            otpauth_uri: enrolment.otpauth_uri().to_owned(),
        }),
    ))
}

/// Confirm the pending TOTP with a first code: logins need a second factor
/// from now on.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/totp/confirm", tag = "auth", operation_id = "auth_totp_confirm",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = TotpCode,
    responses(
        (status = 200, description = "Ten single-use recovery codes, shown once; never cached", body = RecoveryCodesBody,
            headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No pending enrolment", body = ErrorBody),
        (status = 409, description = "Already confirmed", body = ErrorBody),
        (status = 422, description = "The code is malformed or does not match", body = ValidationBody),
    )
)]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<([(HeaderName, &'static str); 2], Json<RecoveryCodesBody>), ApiError> {
    let codes = state
        .call(move |accounts| accounts.users().totp_confirm(&principal, &request.code))
        .await?;
    Ok((
        NO_STORE,
        Json(RecoveryCodesBody {
            recovery_codes: codes.codes().to_vec(),
        }),
    ))
}

/// Remove the current user's second factor, proven with the password, a
/// TOTP code or a recovery code (a wrong proof counts as a failed login).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/totp/disable", tag = "auth", operation_id = "auth_totp_disable",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = TotpDisable,
    responses(
        (status = 204, description = "Removed: logins need only the password"),
        (status = 401, description = "Missing or invalid token, or a wrong proof", body = ErrorBody),
        (status = 404, description = "No TOTP", body = ErrorBody),
        (status = 422, description = "Missing or oversized proof", body = ValidationBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
        (status = 503, description = "Too many password checks in progress: retry after `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn disable(
    _: RateLimited,
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(request): ApiJson<TotpDisable>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .call(move |accounts| {
            accounts
                .users()
                .totp_disable(&principal, &request.password_or_code)
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Finish a login that answered `second_factor_required`, with a TOTP
/// code or a recovery code. Shares the per-client rate limit of login;
/// a wrong code counts as a failed login, and a challenge dies after
/// three.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/login/second-factor", tag = "auth", operation_id = "auth_login_second_factor",
    request_body = SecondFactorLogin,
    responses(
        (status = 200, description = "An OAuth2 token response with a device token; never cached", body = TokenPair,
            headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 401, description = "Unknown, expired or spent challenge, wrong code, or (without a valid device token) a locked account", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 422, description = "Missing fields or malformed body", body = ValidationBody),
        (status = 423, description = "This device is locked after repeated failures", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    )
)]
pub(crate) async fn login_second_factor(
    _: RateLimited,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SecondFactorLogin>,
) -> Result<([(HeaderName, &'static str); 2], Json<TokenPair>), ApiError> {
    let tokens = state
        .call(move |accounts| accounts.login_second_factor(&request.challenge, &request.code))
        .await?;
    Ok((NO_STORE, Json(tokens)))
}
