//! `/auth`: register, login (JSON or the OAuth2 password form), refresh,
//! logout, logout everywhere, change password.

use super::json::Json;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, SecondFactorBody, ValidationBody, ValidationDetail};
use super::extract::{content_type, parse_json, ApiJson, Auth, RateLimited, RawBody};
use super::{AppState, API_PREFIX};
use crate::{Credentials, NewUser, Password, Registration, TokenPair};

/// JSON login: a username or an email, and the password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    /// A username or an email address, matched ignoring case
    /// (`username` is accepted as an alias).
    #[serde(alias = "username")]
    login: String,
    /// The password.
    #[schema(value_type = String, format = Password)]
    password: Password,
    /// The `device_token` of an earlier successful login or registration
    /// of this account on this client: it makes the client trusted (its
    /// failures count on its own, and the account's lock does not refuse
    /// it).
    #[serde(default)]
    device_token: Option<String>,
}

/// The OAuth2 password grant (`application/x-www-form-urlencoded`), as sent
/// by Swagger UI's Authorize dialog.
#[derive(ToSchema)]
#[allow(dead_code)] // Documents the form; it is parsed by hand.
pub(crate) struct LoginForm {
    /// `password` when given.
    grant_type: Option<String>,
    /// A username or an email address.
    username: String,
    /// The password.
    #[schema(format = Password)]
    password: String,
    /// Ignored.
    scope: Option<String>,
    /// As in the JSON login: the device token of an earlier success.
    device_token: Option<String>,
}

/// A refresh token to rotate or to end.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RefreshRequest {
    /// The opaque refresh token of a [`TokenPair`].
    refresh_token: String,
}

/// A password change.
#[derive(Deserialize, ToSchema)]
pub(crate) struct PasswordChange {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    current_password: Password,
    /// The new password, 8 to 128 characters.
    #[schema(value_type = String, format = Password)]
    new_password: Password,
}

/// How many sessions a "log out everywhere" ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoggedOut {
    /// Sessions ended.
    sessions_revoked: u64,
}

/// The headers of a token response (RFC 6749 5.1): never cached.
pub(crate) const NO_STORE: [(HeaderName, &str); 2] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::PRAGMA, "no-cache"),
];

/// Create an account and start its first session.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/register", tag = "auth", operation_id = "auth_register",
    request_body = NewUser,
    responses(
        (status = 201, description = "The new user and their tokens (with a device token); never cached", body = Registration,
            headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 409, description = "Username or email taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
        (status = 503, description = "Too many password checks in progress: retry after `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    _: RateLimited,
    State(state): State<AppState>,
    ApiJson(new_user): ApiJson<NewUser>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, &'static str); 2],
        Json<Registration>,
    ),
    ApiError,
> {
    let registration = state
        .call(move |accounts| accounts.register(new_user))
        .await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(registration)))
}

/// Log in with a username or email and a password.
///
/// Accepts JSON `{"login", "password", "device_token"?}` or the OAuth2
/// password form (`username`, `password`, `device_token`?), so Swagger
/// UI's Authorize button works. Keep the returned `device_token` and
/// send it with later logins of the same account: without it, a locked
/// account answers 401 like an unknown login. An account with a second
/// factor answers 401 `second_factor_required` with a `challenge` to send
/// with a code to `/auth/login/second-factor`.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/login", tag = "auth", operation_id = "auth_login",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "An OAuth2 token response with a device token; never cached", body = TokenPair,
            headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 401, description = "Wrong login or password, or (without a valid device token) a locked account (`invalid_credentials`); or the password was right and the account has a second factor: `second_factor_required` with a `challenge` for `/auth/login/second-factor` (never cached)", body = SecondFactorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 422, description = "Missing fields or malformed body", body = ValidationBody),
        (status = 423, description = "This device is locked after repeated failures", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
        (status = 503, description = "Too many password checks in progress: retry after `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    _: RateLimited,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<([(HeaderName, &'static str); 2], Json<TokenPair>), ApiError> {
    let credentials = match content_type(&headers).as_deref() {
        Some("application/x-www-form-urlencoded") => form_credentials(&body)?,
        _ => {
            let request: LoginRequest = parse_json(&body)?;
            Credentials::new(request.login, request.password)
                .with_device_token(request.device_token)
        }
    };
    let tokens = state
        .call(move |accounts| accounts.login(credentials))
        .await?;
    Ok((NO_STORE, Json(tokens)))
}

/// Reads the OAuth2 password grant.
fn form_credentials(body: &[u8]) -> Result<Credentials, ApiError> {
    let (mut username, mut password, mut grant_type, mut device_token) = (None, None, None, None);
    for (key, value) in url::form_urlencoded::parse(body) {
        match &*key {
            "username" => username = Some(value.into_owned()),
            "password" => password = Some(value.into_owned()),
            "grant_type" => grant_type = Some(value.into_owned()),
            "device_token" => device_token = Some(value.into_owned()),
            _ => {}
        }
    }
    let mut details = Vec::new();
    if grant_type
        .as_deref()
        .is_some_and(|grant| grant != "password")
    {
        details.push(ValidationDetail::new(
            vec![Value::from("body"), Value::from("grant_type")],
            "must be password",
            "invalid_format",
        ));
    }
    for (name, value) in [("username", &username), ("password", &password)] {
        if value.is_none() {
            details.push(ValidationDetail::new(
                vec![Value::from("body"), Value::from(name)],
                "field required",
                "missing",
            ));
        }
    }
    match (username, password) {
        (Some(username), Some(password)) if details.is_empty() => {
            Ok(Credentials::new(username, password).with_device_token(device_token))
        }
        _ => Err(ApiError::Invalid(details)),
    }
}

/// Trade a refresh token for a new pair (the presented token is spent;
/// presenting it again revokes the session).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/refresh", tag = "auth", operation_id = "auth_refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next token pair; never cached", body = TokenPair,
            headers(("Cache-Control" = String, description = "no-store"), ("Pragma" = String, description = "no-cache"))),
        (status = 401, description = "Unknown, expired, revoked or reused token", body = ErrorBody),
        (status = 403, description = "Account deactivated", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ValidationBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    )
)]
pub(crate) async fn refresh(
    _: RateLimited,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<([(HeaderName, &'static str); 2], Json<TokenPair>), ApiError> {
    let tokens = state
        .call(move |accounts| accounts.refresh(&request.refresh_token))
        .await?;
    Ok((NO_STORE, Json(tokens)))
}

/// End the session of a refresh token.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/logout", tag = "auth", operation_id = "auth_logout",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Session ended (or already ended)"),
        (status = 401, description = "Unknown or malformed token", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ValidationBody),
    )
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .call(move |accounts| accounts.logout(&request.refresh_token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the current user and invalidate every access
/// token issued so far.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/logout-all", tag = "auth", operation_id = "auth_logout_all",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Sessions ended", body = LoggedOut),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    )
)]
pub(crate) async fn logout_all(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<LoggedOut>, ApiError> {
    let sessions_revoked = state
        .call(move |accounts| accounts.logout_all(&principal))
        .await?;
    Ok(Json(LoggedOut { sessions_revoked }))
}

/// Change the current user's password; their other sessions end.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/auth/password", tag = "auth", operation_id = "auth_change_password",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Password changed"),
        (status = 401, description = "Missing or invalid token, or wrong current password (counts as a failed login)", body = ErrorBody),
        (status = 422, description = "Invalid new password", body = ValidationBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
        (status = 503, description = "Too many password checks in progress: retry after `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn change_password(
    _: RateLimited,
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state
        .call(move |accounts| {
            accounts.change_password(&principal, change.current_password, change.new_password)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
