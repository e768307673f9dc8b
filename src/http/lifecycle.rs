//! `/auth` routes of the account lifecycle: verify the email address,
//! reset a forgotten password, change the email address. The tokens
//! travel by mail (see [`Mailer`](super::Mailer)); the confirming routes
//! take them back.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{chain, ApiError, ErrorBody, ValidationBody};
use super::extract::{ApiJson, Auth, RateLimited};
use super::{AppState, API_PREFIX};
use crate::{Password, User};

/// A one-time token from a mailed link (also an organization invitation's).
#[derive(Deserialize, ToSchema)]
pub(crate) struct TokenRequest {
    /// The `token` query parameter of the link.
    pub(crate) token: String,
}

/// Whose password to reset.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordResetRequest {
    /// The account's email address.
    email: String,
}

/// A new password, with the reset token that allows it.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordReset {
    /// The `token` query parameter of the reset link.
    token: String,
    /// The new password, 8 to 128 characters.
    #[schema(value_type = String, format = Password)]
    new_password: Password,
}

/// A new email address, with the current password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct EmailChangeRequest {
    /// The new address; a confirmation link is sent there.
    new_email: String,
    /// The current password (a wrong one counts as a failed login).
    #[schema(value_type = String, format = Password)]
    password: Password,
}

/// A request was taken: what happens next happens by mail.
#[derive(Serialize, ToSchema)]
pub(crate) struct Accepted {
    /// What to expect.
    detail: String,
}

fn accepted(detail: &str) -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            detail: detail.to_owned(),
        }),
    )
}

/// Mail the current user a link that confirms their email address.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/verify-email/request", tag = "auth",
    operation_id = "auth_request_email_verification",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 202, description = "A link was mailed to the current address", body = Accepted),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 501, description = "This server does not send mail", body = ErrorBody),
        (status = 503, description = "Mail delivery failed: retry later", body = ErrorBody),
    )
)]
pub(crate) async fn request_email_verification(
    _: RateLimited,
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let postman = state.postman()?;
    state
        .call(move |accounts| {
            let token = accounts.request_email_verification(&principal)?;
            postman.deliver(&token)
        })
        .await?;
    Ok(accepted(
        "a confirmation link was sent to your email address",
    ))
}

/// Confirm an email address with the token of a verification link.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/verify-email", tag = "auth", operation_id = "auth_verify_email",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The user, with `email_verified_at` set", body = User),
        (status = 400, description = "Invalid, expired, used or superseded token", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ValidationBody),
    )
)]
pub(crate) async fn verify_email(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<User>, ApiError> {
    state
        .call(move |accounts| accounts.verify_email(&request.token))
        .await
        .map(Json)
}

/// Mail a password reset link to the account with this address.
///
/// Answers 202 whether or not such an account exists, in the same time
/// (the mail goes out after the answer), and mails at most three links per
/// account and hour.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/password-reset/request", tag = "auth",
    operation_id = "auth_request_password_reset",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If an active account has this address, a link is on its way", body = Accepted),
        (status = 422, description = "Not an email address", body = ValidationBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 501, description = "This server does not send mail", body = ErrorBody),
    )
)]
pub(crate) async fn request_password_reset(
    _: RateLimited,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PasswordResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let postman = state.postman()?;
    let token = state
        .call(move |accounts| accounts.request_password_reset(&request.email))
        .await?;
    if let Some(token) = token {
        // Delivered after the answer: how long the transport takes must not
        // tell the client that the account exists, nor must its failure.
        tokio::task::spawn_blocking(move || {
            if let Err(error) = postman.deliver(&token) {
                tracing::error!(error = %chain(&error), "password reset mail failed");
            }
        });
    }
    Ok(accepted(
        "if an account has this address, a reset link was sent to it",
    ))
}

/// Set a new password with the token of a reset link: every session,
/// refresh token and device token of the account stops working.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/password-reset", tag = "auth", operation_id = "auth_reset_password",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "Password set; log in with it"),
        (status = 400, description = "Invalid, expired, used or superseded token", body = ErrorBody),
        (status = 422, description = "Invalid new password or malformed body", body = ValidationBody),
        (status = 503, description = "Too many password checks in progress: retry after `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    state
        .call(move |accounts| accounts.reset_password(&request.token, request.new_password))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start changing the current user's email address: a confirmation link
/// goes to the new address, a notice to the current one.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/email-change/request", tag = "auth",
    operation_id = "auth_request_email_change",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = EmailChangeRequest,
    responses(
        (status = 202, description = "A confirmation link was mailed to the new address", body = Accepted),
        (status = 401, description = "Missing or invalid token, or wrong password (counts as a failed login)", body = ErrorBody),
        (status = 409, description = "The new address is taken", body = ErrorBody),
        (status = 422, description = "Not an email address", body = ValidationBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 501, description = "This server does not send mail", body = ErrorBody),
        (status = 503, description = "Mail delivery failed, or too many password checks in progress", body = ErrorBody),
    )
)]
pub(crate) async fn request_email_change(
    _: RateLimited,
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(request): ApiJson<EmailChangeRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let postman = state.postman()?;
    state
        .call(move |accounts| {
            let change =
                accounts.request_email_change(&principal, &request.new_email, request.password)?;
            postman.deliver(&change.token)?;
            // The link went out; a lost notice does not undo that.
            if let Err(error) = postman.notify_email_change(&change.old_email, &change.token.to) {
                tracing::warn!(error = %chain(&error), "email change notice failed");
            }
            Ok(())
        })
        .await?;
    Ok(accepted("a confirmation link was sent to the new address"))
}

/// Change the email address with the token of a confirmation link; the
/// new address counts as verified.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/email-change", tag = "auth", operation_id = "auth_confirm_email_change",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The user with the new address", body = User),
        (status = 400, description = "Invalid, expired, used or superseded token", body = ErrorBody),
        (status = 409, description = "Someone took the address meanwhile", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ValidationBody),
    )
)]
pub(crate) async fn confirm_email_change(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<User>, ApiError> {
    state
        .call(move |accounts| accounts.confirm_email_change(&request.token))
        .await
        .map(Json)
}
