//! The OpenAPI document: info, tags and the security schemes (bearer and
//! the OAuth2 password flow that Swagger UI's Authorize button uses).

use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme,
};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

/// The OpenAPI description of the REST API; the paths are added by the
/// router from the handlers' annotations (see [`openapi`](super::openapi)).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aai-accounts",
        description = "Users, profiles with a location, contacts and jobs, organizations \
                       with members and invitations, password login, JWT access tokens and \
                       rotating refresh tokens.\n\n\
                       Authorize with a username (or email) and password: Swagger UI logs in \
                       through `POST /api/v1/auth/login` and sends the access token as a bearer \
                       token.\n\nErrors answer `{\"detail\": ...}`; invalid input answers 422 \
                       with every invalid field."
    ),
    // Types that only query parameters refer to.
    components(schemas(crate::ActiveFilter, crate::EventKind)),
    modifiers(&SecurityAddon),
    tags(
        (name = "auth", description = "Registration, login, tokens, password"),
        (name = "users", description = "Accounts"),
        (name = "profiles", description = "Profiles with their location, contacts and jobs"),
        (name = "locations", description = "Locations"),
        (name = "contacts", description = "A profile's contacts"),
        (name = "jobs", description = "A profile's jobs"),
        (name = "sessions", description = "Refresh-token sessions"),
        (name = "events", description = "Security audit events (super admins)"),
        (name = "organizations", description = "Organizations, their members and invitations"),
        (name = "system", description = "Health and signing keys"),
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                format!("{}/auth/login", super::API_PREFIX),
                Scopes::new(),
            ))])),
        );
    }
}
