//! `/profiles`: a profile with its location, contacts and jobs.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiJson, ApiPath, ApiQuery, Auth};
use super::{AppState, API_PREFIX};
use crate::{
    ActiveFilter, Error, NewProfile, Page, Profile, ProfileDetails, ProfileId, ProfilePatch,
    ProfileQuery,
};

/// Filters and page of the profile search.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProfileParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// A substring of the first or last name, ignoring case.
    name: Option<String>,
    /// An ISO 3166-1 alpha-2 country code.
    country: Option<String>,
    /// A city, ignoring case.
    city: Option<String>,
    /// A company of a job, ignoring case.
    company: Option<String>,
    /// An industry of a job, ignoring case.
    industry: Option<String>,
    /// Only public (`true`) or only private (`false`) profiles.
    is_public: Option<bool>,
    /// `active` (default), `inactive` or `all` (super admins).
    active: Option<ActiveFilter>,
}

/// Create the current user's profile (or, for a super admin, anyone's via
/// `user_id`), with an optional new location, contacts and jobs, at once.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/profiles", tag = "profiles", operation_id = "profiles_create",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = NewProfile,
    responses(
        (status = 201, description = "The profile with its location, contacts and jobs", body = ProfileDetails),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's profile, for a non-admin", body = ErrorBody),
        (status = 409, description = "The user already has a profile", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(new): ApiJson<NewProfile>,
) -> Result<(StatusCode, Json<ProfileDetails>), ApiError> {
    let details = state
        .call(move |accounts| accounts.profiles().create(&principal, new))
        .await?;
    Ok((StatusCode::CREATED, Json(details)))
}

/// Search profiles, newest first: public ones and one's own (all, for a
/// super admin).
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/profiles", tag = "profiles", operation_id = "profiles_search",
    security(("bearer" = []), ("oauth2" = [])),
    params(ProfileParams),
    responses(
        (status = 200, description = "Success", body = Page<Profile>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Inactive profiles, for a non-admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ProfileParams>,
) -> Result<Json<Page<Profile>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    let query = ProfileQuery {
        name: params.name,
        country: params.country,
        city: params.city,
        company: params.company,
        industry: params.industry,
        is_public: params.is_public,
        active: params.active.unwrap_or_default(),
    };
    state
        .call(move |accounts| accounts.profiles().search(&principal, &query, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}

/// The current user's profile.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/profiles/me", tag = "profiles", operation_id = "profiles_me",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Success", body = ProfileDetails),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No profile yet", body = ErrorBody),
    )
)]
pub(crate) async fn me(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<ProfileDetails>, ApiError> {
    state
        .read(move |accounts| {
            let user_id = principal
                .user_id()
                .ok_or(Error::NotFound { entity: "profile" })?;
            accounts.profiles().get_by_user(&principal, user_id)
        })
        .await
        .map(Json)
}

/// A profile with its location, contacts and jobs.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/profiles/{id}", tag = "profiles", operation_id = "profiles_get",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id")),
    responses(
        (status = 200, description = "Success", body = ProfileDetails),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such profile, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ProfileId>,
) -> Result<Json<ProfileDetails>, ApiError> {
    state
        .read(move |accounts| accounts.profiles().get(&principal, id))
        .await
        .map(Json)
}

/// Change a profile. A missing field is kept, `null` clears it.
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/profiles/{id}", tag = "profiles", operation_id = "profiles_update",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id")),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "Success", body = Profile),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's profile", body = ErrorBody),
        (status = 404, description = "No such profile, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ProfileId>,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<Profile>, ApiError> {
    state
        .call(move |accounts| accounts.profiles().update(&principal, id, patch))
        .await
        .map(Json)
}

/// Deactivate (soft-delete) a profile.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/profiles/{id}", tag = "profiles", operation_id = "profiles_deactivate",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id")),
    responses(
        (status = 200, description = "The deactivated profile", body = Profile),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's profile", body = ErrorBody),
        (status = 404, description = "No such profile, or not visible", body = ErrorBody),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ProfileId>,
) -> Result<Json<Profile>, ApiError> {
    state
        .call(move |accounts| accounts.profiles().deactivate(&principal, id))
        .await
        .map(Json)
}
