//! `/locations`.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiJson, ApiPath, ApiQuery, Auth};
use super::{AppState, API_PREFIX};
use crate::{
    ActiveFilter, Error, Location, LocationId, LocationPatch, LocationQuery, NewLocation, Page,
    UserId,
};

/// A new location, owned by the current user or (super admins) by
/// `user_id`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LocationCreate {
    /// The owner (super admins only); the current user by default.
    #[serde(default)]
    user_id: Option<UserId>,
    /// An ISO 3166-1 alpha-2 country code.
    country: String,
    /// A state or province.
    #[serde(default)]
    state_province: Option<String>,
    /// A city.
    #[serde(default)]
    city: Option<String>,
    /// A postal code.
    #[serde(default)]
    postal_code: Option<String>,
}

/// Filters and page of the location list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LocationParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// The owner (super admins only); the current user by default.
    #[param(value_type = Option<String>, format = Uuid)]
    user_id: Option<UserId>,
    /// An ISO 3166-1 alpha-2 country code.
    country: Option<String>,
    /// `active` (default), `inactive` or `all` (super admins).
    active: Option<ActiveFilter>,
}

/// Create a location.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/locations", tag = "locations", operation_id = "locations_create",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = LocationCreate,
    responses(
        (status = 201, description = "Success", body = Location),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's location, for a non-admin", body = ErrorBody),
        (status = 404, description = "Unknown owner", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(input): ApiJson<LocationCreate>,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    let new = NewLocation {
        country: input.country,
        state_province: input.state_province,
        city: input.city,
        postal_code: input.postal_code,
    };
    let location = state
        .call(move |accounts| {
            let owner = input
                .user_id
                .or(principal.user_id())
                .ok_or(Error::NotFound { entity: "user" })?;
            accounts.locations().create(&principal, owner, new)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(location)))
}

/// List locations, newest first: one's own, or anyone's for a super admin.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/locations", tag = "locations", operation_id = "locations_list",
    security(("bearer" = []), ("oauth2" = [])),
    params(LocationParams),
    responses(
        (status = 200, description = "Success", body = Page<Location>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's or inactive locations, for a non-admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<LocationParams>,
) -> Result<Json<Page<Location>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    let query = LocationQuery {
        user_id: params.user_id,
        country: params.country,
        active: params.active.unwrap_or_default(),
    };
    state
        .call(move |accounts| accounts.locations().list(&principal, &query, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}

/// A location.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/locations/{id}", tag = "locations", operation_id = "locations_get",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The location's id")),
    responses(
        (status = 200, description = "Success", body = Location),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such location, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<LocationId>,
) -> Result<Json<Location>, ApiError> {
    state
        .read(move |accounts| accounts.locations().get(&principal, id))
        .await
        .map(Json)
}

/// Change a location. A missing field is kept, `null` clears it.
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/locations/{id}", tag = "locations", operation_id = "locations_update",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The location's id")),
    request_body = LocationPatch,
    responses(
        (status = 200, description = "Success", body = Location),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's location", body = ErrorBody),
        (status = 404, description = "No such location, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<LocationId>,
    ApiJson(patch): ApiJson<LocationPatch>,
) -> Result<Json<Location>, ApiError> {
    state
        .call(move |accounts| accounts.locations().update(&principal, id, patch))
        .await
        .map(Json)
}

/// Deactivate (soft-delete) a location.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/locations/{id}", tag = "locations", operation_id = "locations_deactivate",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The location's id")),
    responses(
        (status = 200, description = "The deactivated location", body = Location),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's location", body = ErrorBody),
        (status = 404, description = "No such location, or not visible", body = ErrorBody),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<LocationId>,
) -> Result<Json<Location>, ApiError> {
    state
        .call(move |accounts| accounts.locations().deactivate(&principal, id))
        .await
        .map(Json)
}
