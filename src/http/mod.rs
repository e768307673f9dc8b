//! The REST API (feature `http`): an axum [`Router`] serving the account
//! system under `/api/v1`, its OpenAPI 3.1 description at `/openapi.json`
//! and Swagger UI at `/docs`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::net::SocketAddr;
//!
//! let accounts = aai_accounts::Accounts::open("sqlite://accounts.db")?;
//! let app = aai_accounts::http::router(accounts);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! // The peer address feeds the per-client rate limit of the auth routes.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Facade calls run on tokio's blocking pool (`spawn_blocking`): the
//! library is synchronous and may hash passwords or wait for the database.
//! Short reads (one user, one profile, one location, one organization, a
//! profile's contacts or jobs) run on the async worker itself when the
//! store's reads wait on nothing outside the process (an SQLite file,
//! [`Store::reads_in_process`](crate::store::Store::reads_in_process)):
//! there the hand-off to the pool and back costs more than the read.
//! Errors answer `{"detail": ..., "code": ...}` with the status of
//! [`Error::http_status`](crate::Error::http_status); validation errors
//! answer 422 with FastAPI's list of `{loc, msg, type}`.
//!
//! Operations: `/health/live` (the process) and `/health/ready` (database,
//! schema, hashing pool) probes; every response carries `x-request-id`
//! (the request's own when well formed, else a new UUID v7), each request
//! is logged in a span with its id (`tracing`), 5xx bodies name it as
//! `request_id`, and requests are counted by route template and status
//! (see [`crate::telemetry`]).
//!
//! Every response carries `X-Content-Type-Options: nosniff`; token
//! responses (register, login, refresh) also `Cache-Control: no-store` and
//! `Pragma: no-cache` (RFC 6749 5.1).

mod auth;
mod client_ip;
mod contacts;
mod error;
mod events;
mod extract;
mod jobs;
mod json;
mod lifecycle;
mod locations;
mod mail;
mod observe;
mod openapi;
mod organizations;
mod profiles;
mod rate_limit;
mod sessions;
mod system;
mod totp;
mod users;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::Accounts;
use error::ApiError;
/// An IP network (`10.0.0.0/8`, `2001:db8::/32`), from the `ipnet`
/// crate: the type of [`RouterConfig::trusted_proxies`].
pub use ipnet::IpNet;
use mail::Postman;
pub use mail::{MailMessage, MailPurpose, Mailer};
pub use openapi::ApiDoc;
use rate_limit::RateLimiter;
use url::Url;

/// The path prefix of the API routes.
pub const API_PREFIX: &str = "/api/v1";

/// Limits of the router (request body size, the per-client rate limit of
/// the authentication routes, the proxies trusted to name the client) and
/// its mail delivery (the [`Mailer`] and the public URL of links).
///
/// ```
/// use std::time::Duration;
/// use aai_accounts::http::{IpNet, RateLimit, RouterConfig};
///
/// let proxy: IpNet = "10.0.0.0/8".parse()?;
/// let config = RouterConfig::default()
///     .body_limit(32 * 1024)
///     .auth_rate_limit(Some(RateLimit::new(5, Duration::from_secs(60))))
///     .trusted_proxies([proxy]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # The client address
///
/// The rate limit needs the client's address. It is the TCP peer, which
/// the server must provide: serve the router with
/// `into_make_service_with_connect_info::<SocketAddr>()`. When the peer
/// is one of the [`trusted_proxies`](RouterConfig::trusted_proxies), the
/// client is the rightmost address of `Forwarded: for=` (RFC 7239), or of
/// `X-Forwarded-For` when there is no `Forwarded` header, that is not
/// itself a trusted proxy. Headers from any other peer are ignored: anyone
/// can write them.
///
/// **Without `ConnectInfo`** (a server that did not use
/// `into_make_service_with_connect_info`, or a test driving the router
/// with `oneshot`) the rate-limited routes fail closed: they answer 500
/// and log an error, rather than put every client in one bucket (one
/// client could then lock everyone out) or silently not limit at all. Turn
/// the limit off explicitly with `auth_rate_limit(None)` when something in
/// front of the router limits instead.
#[derive(Clone)]
#[must_use]
pub struct RouterConfig {
    body_limit: usize,
    auth_rate_limit: Option<RateLimit>,
    trusted_proxies: Vec<IpNet>,
    mailer: Option<Arc<dyn Mailer>>,
    public_url: Url,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            body_limit: 64 * 1024,
            auth_rate_limit: Some(RateLimit::new(20, Duration::from_secs(60))),
            trusted_proxies: Vec::new(),
            mailer: None,
            public_url: Url::parse(DEFAULT_PUBLIC_URL)
                .unwrap_or_else(|_| unreachable!("the default public URL parses")),
        }
    }
}

impl fmt::Debug for RouterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterConfig")
            .field("body_limit", &self.body_limit)
            .field("auth_rate_limit", &self.auth_rate_limit)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("mailer", &self.mailer.as_ref().map(|_| "<mailer>"))
            .field("public_url", &self.public_url.as_str())
            .finish()
    }
}

/// Where links in mail point by default: the server example's address.
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000/";

impl RouterConfig {
    /// The largest accepted request body in bytes (default 64 KiB); larger
    /// ones answer 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How many requests to the routes that check a password or send mail
    /// (register, login, refresh, change password, erase, the lifecycle
    /// requests, invitations) one client may make (default 20 per minute,
    /// one budget for all of them); `None` turns the limit off. Further
    /// requests answer 429 with `Retry-After`.
    ///
    /// A client is an IPv4 address, or an IPv6 /64 network (one subscriber
    /// usually holds a whole /64). See [the client address](RouterConfig#the-client-address)
    /// for where it comes from, and why the router needs `ConnectInfo`.
    /// At most 100 000 clients are tracked at once: while that many are,
    /// further newcomers share one budget until a background sweep (every
    /// minute, or at once when full) drops the clients whose budget is
    /// whole again.
    pub fn auth_rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.auth_rate_limit = limit;
        self
    }

    /// The reverse proxies (addresses or networks) whose `Forwarded` and
    /// `X-Forwarded-For` headers name the client; none by default. A
    /// single address is a `/32` (IPv4) or `/128` (IPv6) network.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Delivers the mail of the account lifecycle routes (email
    /// verification, password reset, email change) and organization
    /// invitations. Without a mailer those routes answer 501
    /// (`mail_not_configured`) and issue no token. See [`Mailer`].
    pub fn mailer(mut self, mailer: impl Mailer) -> Self {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    /// The address users reach the host's pages at (default
    /// `http://127.0.0.1:8000/`): mailed links are
    /// `{public_url}/{page}?token=...`, with the page of
    /// [`MailPurpose::page`]; a query of the URL is dropped.
    pub fn public_url(mut self, url: Url) -> Self {
        self.public_url = url;
        self
    }
}

/// A budget of `requests` requests per `window` and client, replenished
/// evenly (GCRA): a client may burst `requests` at once, then one more
/// every `window / requests`.
///
/// `requests: 0` refuses every request; a zero `window` limits nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window's length.
    pub window: Duration,
}

impl RateLimit {
    /// `requests` per `window`.
    pub const fn new(requests: u32, window: Duration) -> Self {
        RateLimit { requests, window }
    }
}

/// What every handler shares, behind one `Arc`: axum clones the state for
/// every request, and a clone of the fields one by one (the mailer's URL
/// among them) cost an allocation and several reference counts each time.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

/// The fields of [`AppState`].
pub(crate) struct Shared {
    pub(crate) accounts: Accounts,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    pub(crate) trusted_proxies: Box<[IpNet]>,
    pub(crate) postman: Option<Postman>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Runs a facade call on tokio's blocking pool: the library is
    /// synchronous and may hash passwords or wait for the database. Every
    /// handler reaches the library through here.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Accounts) -> crate::Result<T> + Send + 'static,
    {
        let accounts = self.accounts.clone();
        match tokio::task::spawn_blocking(move || f(&accounts)).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(join) => Err(ApiError::Internal(join.to_string())),
        }
    }

    /// Runs a facade read: on this async worker when the store's reads
    /// wait on nothing outside the process (SQLite), else as [`call`].
    ///
    /// Measured with `scripts/load.sh` on 2 cores: for a point read (5 to
    /// 25 µs of library work) the hand-off to the blocking pool and back, a
    /// thread wake-up each way, cost more than the read: `users/me` served
    /// 13 to 23% more requests inline. A page of 20 with its total (40 µs
    /// and up) served fewer inline, as the two async workers then also
    /// wait for it; lists and searches stay on the pool.
    ///
    /// [`call`]: AppState::call
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Accounts) -> crate::Result<T> + Send + 'static,
    {
        if self.accounts.store().reads_in_process() {
            f(&self.accounts).map_err(ApiError::from)
        } else {
            self.call(f).await
        }
    }
}

impl AppState {
    /// The mail room, or 501 when the router has no mailer.
    pub(crate) fn postman(&self) -> Result<Postman, ApiError> {
        self.postman.clone().ok_or(ApiError::MailNotConfigured)
    }
}

/// The REST API with the default [`RouterConfig`]: routes under `/api/v1`,
/// `/health`, `/.well-known/jwks.json`, `/openapi.json` and `/docs`.
pub fn router(accounts: Accounts) -> Router {
    router_with(accounts, RouterConfig::default())
}

/// The REST API with explicit limits.
pub fn router_with(accounts: Accounts, config: RouterConfig) -> Router {
    let state = AppState(Arc::new(Shared {
        accounts,
        limiter: config
            .auth_rate_limit
            .map(|limit| Arc::new(RateLimiter::new(limit))),
        trusted_proxies: config.trusted_proxies.into(),
        postman: config
            .mailer
            .map(|mailer| Postman::new(mailer, config.public_url)),
    }));
    let (router, api) = openapi_router().with_state(state).split_for_parts();
    let router = router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    observe::observed(
        router,
        (
            DefaultBodyLimit::max(config.body_limit),
            SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ),
    )
}

/// The OpenAPI document of [`router`], as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_router().split_for_parts().1
}

fn openapi_router() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::change_password))
        .routes(routes!(totp::login_second_factor))
        .routes(routes!(totp::begin))
        .routes(routes!(totp::confirm))
        .routes(routes!(totp::disable))
        .routes(routes!(lifecycle::request_email_verification))
        .routes(routes!(lifecycle::verify_email))
        .routes(routes!(lifecycle::request_password_reset))
        .routes(routes!(lifecycle::reset_password))
        .routes(routes!(lifecycle::request_email_change))
        .routes(routes!(lifecycle::confirm_email_change))
        .routes(routes!(users::me))
        .routes(routes!(users::list))
        .routes(routes!(users::get, users::update, users::deactivate))
        .routes(routes!(users::restore))
        .routes(routes!(users::unlock))
        .routes(routes!(users::export))
        .routes(routes!(users::erase))
        .routes(routes!(profiles::create, profiles::search))
        .routes(routes!(profiles::me))
        .routes(routes!(
            profiles::get,
            profiles::update,
            profiles::deactivate
        ))
        .routes(routes!(locations::create, locations::list))
        .routes(routes!(
            locations::get,
            locations::update,
            locations::deactivate
        ))
        .routes(routes!(contacts::list, contacts::add))
        .routes(routes!(contacts::update, contacts::deactivate))
        .routes(routes!(contacts::set_primary))
        .routes(routes!(jobs::list, jobs::add))
        .routes(routes!(jobs::update, jobs::deactivate))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(events::list))
        .routes(routes!(organizations::create, organizations::list))
        .routes(routes!(
            organizations::get,
            organizations::update,
            organizations::deactivate
        ))
        .routes(routes!(organizations::restore))
        .routes(routes!(
            organizations::list_members,
            organizations::add_member
        ))
        .routes(routes!(
            organizations::change_role,
            organizations::remove_member
        ))
        .routes(routes!(organizations::transfer_ownership))
        .routes(routes!(
            organizations::invite,
            organizations::list_invitations
        ))
        .routes(routes!(organizations::revoke_invitation))
        .routes(routes!(organizations::accept_invitation))
        .routes(routes!(system::health_v1))
        .routes(routes!(system::jwks_v1));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api)
        .routes(routes!(system::health))
        .routes(routes!(system::live))
        .routes(routes!(system::ready))
        .routes(routes!(system::jwks))
}
