//! `/organizations` and `/invitations/accept`: organizations, their members
//! and roles, and invitations. Who may do what is the facade's table (see
//! [`Organizations`](crate::Organizations)); outsiders get 404 for
//! everything of an organization. An invitation's token travels by mail
//! (see [`Mailer`](super::Mailer)), never in a response.

use super::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, ValidationBody};
use super::extract::{page_request, ApiJson, ApiPath, ApiQuery, Auth, RateLimited};
use super::lifecycle::TokenRequest;
use super::{AppState, API_PREFIX};
use crate::{
    ActiveFilter, Invitation, InvitationId, Member, Membership, NewOrganization, Organization,
    OrganizationId, OrganizationPatch, OrganizationQuery, OrganizationRole, Page, UserId,
};

/// Filters and page of the organization list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrganizationListParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
    /// A substring of the name or slug, ignoring case.
    search: Option<String>,
    /// `active` (default), `inactive` or `all` (super admins).
    active: Option<ActiveFilter>,
}

/// A page of a list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// The 1-based page (default 1).
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    size: Option<u32>,
}

/// A user to add to an organization.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewMember {
    /// An active user.
    user_id: UserId,
    /// Their role: at most the acting member's.
    role: OrganizationRole,
}

/// A member's new role.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RoleChange {
    /// At most the acting member's.
    role: OrganizationRole,
}

/// Who gets the ownership.
#[derive(Deserialize, ToSchema)]
pub(crate) struct OwnershipTransfer {
    /// A member, who becomes an owner; an owner handing over becomes an
    /// admin.
    user_id: UserId,
}

/// Whom to invite.
#[derive(Deserialize, ToSchema)]
pub(crate) struct NewInvitation {
    /// The address the invitation is mailed to; only the user with this
    /// address may accept it.
    email: String,
    /// The role it grants: at most the acting member's.
    role: OrganizationRole,
}

/// Create an organization; the current user becomes its owner. Without a
/// slug, one is derived from the name.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/organizations", tag = "organizations", operation_id = "organizations_create",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = NewOrganization,
    responses(
        (status = 201, description = "Success", body = Organization),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 409, description = "Slug taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(new): ApiJson<NewOrganization>,
) -> Result<(StatusCode, Json<Organization>), ApiError> {
    let organization = state
        .call(move |accounts| accounts.organizations().create(&principal, new))
        .await?;
    Ok((StatusCode::CREATED, Json(organization)))
}

/// The current user's organizations (every one, for a super admin),
/// newest first.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/organizations", tag = "organizations", operation_id = "organizations_list",
    security(("bearer" = []), ("oauth2" = [])),
    params(OrganizationListParams),
    responses(
        (status = 200, description = "Success", body = Page<Organization>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Inactive organizations, for a non-admin", body = ErrorBody),
        (status = 422, description = "Bad query parameters", body = ValidationBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<OrganizationListParams>,
) -> Result<Json<Page<Organization>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    let query = OrganizationQuery {
        search: params.search,
        active: params.active.unwrap_or_default(),
    };
    state
        .call(move |accounts| accounts.organizations().list(&principal, &query, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}

/// An organization the current user belongs to (any, for a super admin).
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/organizations/{id}", tag = "organizations", operation_id = "organizations_get",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    responses(
        (status = 200, description = "Success", body = Organization),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such organization, or not a member", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
) -> Result<Json<Organization>, ApiError> {
    state
        .read(move |accounts| accounts.organizations().get(&principal, id))
        .await
        .map(Json)
}

/// Change an organization's name, slug or description (owners).
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/organizations/{id}", tag = "organizations", operation_id = "organizations_update",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    request_body = OrganizationPatch,
    responses(
        (status = 200, description = "Success", body = Organization),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "No such organization, or not a member", body = ErrorBody),
        (status = 409, description = "Slug taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationBody),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiJson(patch): ApiJson<OrganizationPatch>,
) -> Result<Json<Organization>, ApiError> {
    state
        .call(move |accounts| accounts.organizations().update(&principal, id, patch))
        .await
        .map(Json)
}

/// Deactivate (soft-delete) an organization (owners): it disappears for
/// everyone but super admins, who may restore it.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/organizations/{id}", tag = "organizations",
    operation_id = "organizations_deactivate",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    responses(
        (status = 200, description = "The deactivated organization", body = Organization),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "No such organization, or not a member", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
) -> Result<Json<Organization>, ApiError> {
    state
        .call(move |accounts| accounts.organizations().deactivate(&principal, id))
        .await
        .map(Json)
}

/// Restore a deactivated organization (super admins).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/organizations/{id}/restore", tag = "organizations",
    operation_id = "organizations_restore",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    responses(
        (status = 200, description = "The restored organization", body = Organization),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a super admin", body = ErrorBody),
        (status = 404, description = "No such organization, or not visible", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn restore(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
) -> Result<Json<Organization>, ApiError> {
    state
        .call(move |accounts| accounts.organizations().restore(&principal, id))
        .await
        .map(Json)
}

/// A page of the organization's members (active users), in joining order.
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/organizations/{id}/members", tag = "organizations",
    operation_id = "organizations_list_members",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id"), PageParams),
    responses(
        (status = 200, description = "Success", body = Page<Member>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such organization, or not a member", body = ErrorBody),
        (status = 422, description = "Malformed id or query", body = ValidationBody),
    )
)]
pub(crate) async fn list_members(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Member>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    state
        .call(move |accounts| accounts.organizations().members(&principal, id, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}

/// Add an active user with a role (owners and admins; an admin grants at
/// most admin).
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/organizations/{id}/members", tag = "organizations",
    operation_id = "organizations_add_member",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    request_body = NewMember,
    responses(
        (status = 201, description = "The new membership", body = Membership),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A member, or a role above one's own", body = ErrorBody),
        (status = 404, description = "No such organization or (active) user", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody),
        (status = 422, description = "Malformed id or body", body = ValidationBody),
    )
)]
pub(crate) async fn add_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiJson(new): ApiJson<NewMember>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    let membership = state
        .call(move |accounts| {
            accounts
                .organizations()
                .add_member(&principal, id, new.user_id, new.role)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(membership)))
}

/// Change a member's role. Owners change anyone's; admins change members'
/// and admins', to at most admin.
#[utoipa::path(
    patch, context_path = API_PREFIX, path = "/organizations/{id}/members/{user_id}", tag = "organizations",
    operation_id = "organizations_change_role",
    security(("bearer" = []), ("oauth2" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = "The organization's id"),
        ("user_id" = String, Path, format = Uuid, description = "The member's user id"),
    ),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The changed membership", body = Membership),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Beyond one's authority", body = ErrorBody),
        (status = 404, description = "No such organization or member", body = ErrorBody),
        (status = 409, description = "It would demote the last owner", body = ErrorBody),
        (status = 422, description = "Malformed id or body", body = ValidationBody),
    )
)]
pub(crate) async fn change_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user_id)): ApiPath<(OrganizationId, UserId)>,
    ApiJson(change): ApiJson<RoleChange>,
) -> Result<Json<Membership>, ApiError> {
    state
        .call(move |accounts| {
            accounts
                .organizations()
                .change_role(&principal, id, user_id, change.role)
        })
        .await
        .map(Json)
}

/// Remove a member (owners anyone; admins members and admins), or leave:
/// any member may remove themself.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/organizations/{id}/members/{user_id}", tag = "organizations",
    operation_id = "organizations_remove_member",
    security(("bearer" = []), ("oauth2" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = "The organization's id"),
        ("user_id" = String, Path, format = Uuid, description = "The member's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Beyond one's authority", body = ErrorBody),
        (status = 404, description = "No such organization or member", body = ErrorBody),
        (status = 409, description = "The last owner (transfer the ownership first)", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, user_id)): ApiPath<(OrganizationId, UserId)>,
) -> Result<StatusCode, ApiError> {
    // The facade lets anyone remove themself: leaving needs no route of
    // its own.
    state
        .call(move |accounts| {
            accounts
                .organizations()
                .remove_member(&principal, id, user_id)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a member an owner (owners); an owner handing over becomes an admin.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/organizations/{id}/transfer", tag = "organizations",
    operation_id = "organizations_transfer_ownership",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    request_body = OwnershipTransfer,
    responses(
        (status = 200, description = "The new owner's membership", body = Membership),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "No such organization or member", body = ErrorBody),
        (status = 422, description = "Malformed id or body", body = ValidationBody),
    )
)]
pub(crate) async fn transfer_ownership(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiJson(transfer): ApiJson<OwnershipTransfer>,
) -> Result<Json<Membership>, ApiError> {
    state
        .call(move |accounts| {
            accounts
                .organizations()
                .transfer_ownership(&principal, id, transfer.user_id)
        })
        .await
        .map(Json)
}

/// Invite an email address (owners and admins, with at most their role):
/// the router's mailer sends the address a link with the token, which
/// never appears in a response. A pending invitation of the same address
/// is revoked; the new one lives 7 days by default. Rate-limited like the
/// other routes that send mail: anyone may create an organization, and so
/// make the server write to any address.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/organizations/{id}/invitations", tag = "organizations",
    operation_id = "organizations_invite",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id")),
    request_body = NewInvitation,
    responses(
        (status = 201, description = "The invitation; its link was mailed", body = Invitation),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A member, or a role above one's own", body = ErrorBody),
        (status = 404, description = "No such organization, or not a member", body = ErrorBody),
        (status = 409, description = "That address's user already is a member", body = ErrorBody),
        (status = 422, description = "Malformed id, body or email address", body = ValidationBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
        (status = 501, description = "This server does not send mail", body = ErrorBody),
        (status = 503, description = "Mail delivery failed: invite again later", body = ErrorBody),
    )
)]
pub(crate) async fn invite(
    _: RateLimited,
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiJson(new): ApiJson<NewInvitation>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    // Without a mailer nobody could receive the token: refuse before
    // creating an invitation.
    let postman = state.postman()?;
    let invitation = state
        .call(move |accounts| {
            let organizations = accounts.organizations();
            let token = organizations.invite(&principal, id, &new.email, new.role)?;
            let organization = organizations.get(&principal, id)?;
            // A failed delivery leaves a pending invitation whose token
            // nobody has; inviting again revokes it.
            postman.deliver_invitation(&token, &organization.name)?;
            Ok(token.invitation)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// A page of the organization's invitations, newest first (owners and
/// admins).
#[utoipa::path(
    get, context_path = API_PREFIX, path = "/organizations/{id}/invitations", tag = "organizations",
    operation_id = "organizations_list_invitations",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, format = Uuid, description = "The organization's id"), PageParams),
    responses(
        (status = 200, description = "Success", body = Page<Invitation>),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A member", body = ErrorBody),
        (status = 404, description = "No such organization, or not a member", body = ErrorBody),
        (status = 422, description = "Malformed id or query", body = ValidationBody),
    )
)]
pub(crate) async fn list_invitations(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath(id): ApiPath<OrganizationId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Invitation>>, ApiError> {
    let page = page_request(params.page, params.size)?;
    state
        .call(move |accounts| accounts.organizations().invitations(&principal, id, page))
        .await
        .map(Json)
        .map_err(ApiError::in_query)
}

/// Revoke an invitation (owners and admins, for roles up to theirs);
/// revoking a revoked one changes nothing.
#[utoipa::path(
    delete, context_path = API_PREFIX, path = "/organizations/{id}/invitations/{invitation_id}", tag = "organizations",
    operation_id = "organizations_revoke_invitation",
    security(("bearer" = []), ("oauth2" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = "The organization's id"),
        ("invitation_id" = String, Path, format = Uuid, description = "The invitation's id"),
    ),
    responses(
        (status = 200, description = "The revoked invitation", body = Invitation),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "A member, or a role above one's own", body = ErrorBody),
        (status = 404, description = "No such organization or invitation", body = ErrorBody),
        (status = 409, description = "Already accepted", body = ErrorBody),
        (status = 422, description = "Malformed id", body = ValidationBody),
    )
)]
pub(crate) async fn revoke_invitation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiPath((id, invitation_id)): ApiPath<(OrganizationId, InvitationId)>,
) -> Result<Json<Invitation>, ApiError> {
    state
        .call(move |accounts| {
            accounts
                .organizations()
                .revoke_invitation(&principal, id, invitation_id)
        })
        .await
        .map(Json)
}

/// Accept an invitation with the token of its mailed link: the current
/// user, whose email address must be the invited one, joins with the
/// invitation's role.
#[utoipa::path(
    post, context_path = API_PREFIX, path = "/invitations/accept", tag = "organizations", operation_id = "invitations_accept",
    security(("bearer" = []), ("oauth2" = [])),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "The new membership", body = Membership),
        (status = 400, description = "Invalid, expired, revoked or used token, or a deactivated organization", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The invitation is for another address", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ValidationBody),
    )
)]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<Membership>, ApiError> {
    state
        .call(move |accounts| {
            accounts
                .organizations()
                .accept_invitation(&principal, &request.token)
        })
        .await
        .map(Json)
}
