//! `/users`, `/sessions` and `/events`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiJson, ApiPath, ApiQuery, Auth};
use super::AppState;
use crate::{
    ActiveFilter, EventKind, EventQuery, Page, SecurityEvent, Session, SessionId, User, UserId,
    UserPatch, UserQuery,
};

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

/// Whose sessions to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SessionParams {
    /// Another user's sessions (super admins only); one's own by default.
    #[param(value_type = Option<String>, format = Uuid)]
    user_id: Option<UserId>,
}

/// Filters and page of the event list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// Events about one user.
    #[param(value_type = Option<String>, format = Uuid)]
    user_id: Option<UserId>,
    /// Events of one kind.
    kind: Option<EventKind>,
}

/// The current user.
#[utoipa::path(
    get, path = "/users/me", tag = "users",
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
        .call(move |accounts| accounts.users().me(&principal))
        .await
        .map(Json)
}

/// List users, newest first (super admins).
#[utoipa::path(
    get, path = "/users", tag = "users",
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
    get, path = "/users/{id}", tag = "users",
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
        .call(move |accounts| accounts.users().get(&principal, id))
        .await
        .map(Json)
}

/// Change a user's username, email or (super admins) role.
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
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
    delete, path = "/users/{id}", tag = "users",
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
    post, path = "/users/{id}/restore", tag = "users",
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

/// Active refresh sessions, newest first: one's own, or (super admins)
/// another user's.
#[utoipa::path(
    get, path = "/sessions", tag = "sessions",
    security(("bearer" = []), ("oauth2" = [])),
    params(SessionParams),
    responses(
        (status = 200, description = "Success", body = Vec<Session>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "Another user's sessions, for a non-admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<SessionParams>,
) -> Result<Json<Vec<Session>>, ApiError> {
    state
        .call(move |accounts| {
            let user_id = match params.user_id.or(principal.user_id()) {
                Some(user_id) => user_id,
                None => return Err(crate::Error::NotFound { entity: "user" }),
            };
            accounts.sessions().list(&principal, user_id)
        })
        .await
        .map(Json)
}

/// Revoke a session: its refresh token and access tokens stop working.
#[utoipa::path(
    delete, path = "/sessions/{id}", tag = "sessions",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The session's id")),
    responses(
        (status = 200, description = "The revoked session", body = Session),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's session", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Json<Session>, ApiError> {
    state
        .call(move |accounts| accounts.sessions().revoke(&principal, id))
        .await
        .map(Json)
}

/// Security events, newest first (super admins).
#[utoipa::path(
    get, path = "/events", tag = "events",
    security(("bearer" = []), ("oauth2" = [])),
    params(EventParams),
    responses(
        (status = 200, description = "Success", body = Page<SecurityEvent>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Json<Page<SecurityEvent>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    let query = EventQuery {
        user_id: params.user_id,
        kind: params.kind,
    };
    state
        .call(move |accounts| accounts.events().list(&principal, &query, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}
