//! A profile's contacts: `/profiles/{id}/contacts`, `/contacts/{id}`.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{ActiveParams, ApiJson, ApiPath, ApiQuery, Auth};
use super::{AppState, API_PREFIX};
use crate::{Contact, ContactId, ContactPatch, NewContact, ProfileId};

/// A profile's contacts, primary first (others see them only on a public
/// profile that allows contact).
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/profiles/{id}/contacts", tag = "contacts", operation_id = "contacts_list_contacts",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id"), ActiveParams),
    responses(
        (status = 200, description = "Success", body = Vec<Contact>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Inactive contacts, for a non-admin", body = ErrorBody),
        (status = 404, description = "No such profile, or its contacts are not visible", body = ErrorBody),
        (status = 422, description = "Malformed id or query", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(profile_id): ApiPath<ProfileId>,
    ApiQuery(params): ApiQuery<ActiveParams>,
) -> Result<Json<Vec<Contact>>, ApiError> {
    let active = params.active.unwrap_or_default();
    state
        .read(move |accounts| accounts.contacts().list(&principal, profile_id, active))
        .await
        .map(Json)
}

/// Add a contact; a primary one un-primaries the current primary of its
/// kind.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/profiles/{id}/contacts", tag = "contacts", operation_id = "contacts_add_contact",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The profile's id")),
    request_body = NewContact,
    responses(
        (status = 201, description = "Success", body = Contact),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's profile", body = ErrorBody),
        (status = 404, description = "No such profile, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn add(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(profile_id): ApiPath<ProfileId>,
    ApiJson(new): ApiJson<NewContact>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let contact = state
        .call(move |accounts| accounts.contacts().add(&principal, profile_id, new))
        .await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

/// Change a contact's kind, value or primary flag.
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/contacts/{id}", tag = "contacts", operation_id = "contacts_update_contact",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "Success", body = Contact),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's contact", body = ErrorBody),
        (status = 404, description = "No such contact, or not visible", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
    ApiJson(patch): ApiJson<ContactPatch>,
) -> Result<Json<Contact>, ApiError> {
    state
        .call(move |accounts| accounts.contacts().update(&principal, id, patch))
        .await
        .map(Json)
}

/// Deactivate (soft-delete) a contact.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/contacts/{id}", tag = "contacts", operation_id = "contacts_deactivate_contact",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses(
        (status = 200, description = "The deactivated contact", body = Contact),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's contact", body = ErrorBody),
        (status = 404, description = "No such contact, or not visible", body = ErrorBody),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<Contact>, ApiError> {
    state
        .call(move |accounts| accounts.contacts().deactivate(&principal, id))
        .await
        .map(Json)
}

/// Make a contact the primary one of its kind (the previous primary is
/// un-primaried atomically).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/contacts/{id}/primary", tag = "contacts", operation_id = "contacts_set_primary_contact",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The contact's id")),
    responses(
        (status = 200, description = "Success", body = Contact),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Another user's contact", body = ErrorBody),
        (status = 404, description = "No such contact, or not visible", body = ErrorBody),
    )
)]
pub(crate) async fn set_primary(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<ContactId>,
) -> Result<Json<Contact>, ApiError> {
    state
        .call(move |accounts| accounts.contacts().set_primary(&principal, id))
        .await
        .map(Json)
}
