//! `/users`.

use super::json::Json;
use axum::extract::State;
use axum::http::{header, HeaderName, StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiJson, ApiPath, ApiQuery, Auth, RateLimited};
use super::{AppState, API_PREFIX};
use crate::{ActiveFilter, Page, Password, User, UserExport, UserId, UserPatch, UserQuery};

/// Filters and page of the user list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserListParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// A substring of the username or email, ignoring case.
    search: Option<String>,
    /// `active` (default), `inactive` or `all`.
    active: Option<ActiveFilter>,
}

/// Changes to a user. `is_super_admin` is for super admins only.
#[derive(Deserialize, ToSchema)]
pub(crate) struct UserUpdate {
    /// A new username.
    #[serde(default)]
    username: Option<String>,
    /// A new email address.
    #[serde(default)]
    email: Option<String>,
    /// Grant or withdraw the super-admin role (super admins only).
    #[serde(default)]
    is_super_admin: Option<bool>,
}

/// The current user.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/users/me", tag = "users", operation_id = "users_me",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Success", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    )
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<User>, ApiError> {
    state
        .read(move |accounts| accounts.users().me(&principal))
        .await
        .map(Json)
}

/// List users, newest first (super admins).
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/users", tag = "users", operation_id = "users_list",
    security(("bearer" = []), ("oauth2" = [])),
    params(UserListParams),
    responses(
        (status = 200, description = "Success", body = Page<User>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<UserListParams>,
) -> Result<Json<Page<User>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    let query = UserQuery {
        search: params.search,
        active: params.active.unwrap_or_default(),
    };
    state
        .call(move |accounts| accounts.users().list(&principal, &query, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}

/// A user: oneself, or anyone for a super admin.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/users/{id}", tag = "users", operation_id = "users_get",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "Success", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such user, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<User>, ApiError> {
    state
        .read(move |accounts| accounts.users().get(&principal, id))
        .await
        .map(Json)
}

/// Change a user's username, email or (super admins) role.
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/users/{id}", tag = "users", operation_id = "users_update",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    request_body = UserUpdate,
    responses(
        (status = 200, description = "Success", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user, or not visible", body = ErrorBody),
        (status = 409, description = "Username or email taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(update): ApiJson<UserUpdate>,
) -> Result<Json<User>, ApiError> {
    // Fields and role change in one transaction: a rejected request changes
    // nothing.
    let patch = UserPatch {
        username: update.username,
        email: update.email,
        is_super_admin: update.is_super_admin,
    };
    state
        .call(move |accounts| accounts.users().update(&principal, id, patch))
        .await
        .map(Json)
}

/// Deactivate (soft-delete) a user: their profile is deactivated and every
/// session ends.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/users/{id}", tag = "users", operation_id = "users_deactivate",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The deactivated user", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user, or not visible", body = ErrorBody),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<User>, ApiError> {
    state
        .call(move |accounts| accounts.users().deactivate(&principal, id))
        .await
        .map(Json)
}

/// Restore a deactivated user (super admins).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/users/{id}/restore", tag = "users", operation_id = "users_restore",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The restored user", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn restore(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<User>, ApiError> {
    state
        .call(move |accounts| accounts.users().restore(&principal, id))
        .await
        .map(Json)
}

/// Lift a user's login locks (super admins): the account's and those of
/// each of its devices. Recorded as `account_unlocked`.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/users/{id}/unlock", tag = "users", operation_id = "users_unlock_user",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The unlocked user", body = User),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn unlock(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<User>, ApiError> {
    state
        .call(move |accounts| accounts.users().unlock(&principal, id))
        .await
        .map(Json)
}

/// Confirms an erasure.
#[derive(Deserialize, ToSchema)]
pub(crate) struct EraseRequest {
    /// The current password: required to erase oneself, ignored for a
    /// super admin erasing someone else (send `{}`).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Password>,
}

/// Everything stored about a user (themselves or, for a super admin,
/// anyone): the account, every profile with its location, contacts and
/// jobs (inactive ones too), locations, sessions' metadata and security
/// events. Never a password hash or a token.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/users/{id}/export", tag = "users", operation_id = "users_export",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    responses(
        (status = 200, description = "The export; never cached", body = UserExport,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such user, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<([(HeaderName, &'static str); 1], Json<UserExport>), ApiError> {
    let export = state
        .call(move |accounts| accounts.users().export(&principal, id))
        .await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(export)))
}

/// Erase a user for good: their personal data is deleted, their security
/// events stay without their identity. Oneself with the current password,
/// or anyone for a super admin.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/users/{id}/erase", tag = "users", operation_id = "users_erase",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The user's id")),
    request_body = EraseRequest,
    responses(
        (status = 204, description = "Erased"),
        (status = 401, description = "Missing or invalid token, or wrong password (counts as a failed login)", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id or body", body = ValidationBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 503, description = "Too many password checks in progress: retry after `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn erase(
    _: RateLimited,
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(request): ApiJson<EraseRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .call(move |accounts| accounts.users().erase(&principal, id, request.password))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
