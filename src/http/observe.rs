//! What an operator sees of each request: its id (`x-request-id`), one
//! log span carrying it, its metrics by route template and status, and
//! the id in every 5xx body.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use metrics::SharedString;
use tower::{Layer, Service, ServiceBuilder};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The header carrying a request's id, in and out.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a client.
const MAX_REQUEST_ID: usize = 128;

/// The route template a response came from, for the metrics.
#[derive(Clone)]
struct Route(Arc<str>);

/// New request ids: UUID v7 (time-ordered, so logs sort by them too).
#[derive(Clone, Copy)]
struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// Whether a client's request id may be kept: 1 to 128 of ASCII letters,
/// digits and `-_.:` (anything else could forge log lines or bloat them).
fn well_formed(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Drops a malformed `x-request-id`, so that a fresh one is made.
async fn drop_malformed_request_id(mut request: Request, next: Next) -> Response {
    let malformed = request
        .headers()
        .get_all(REQUEST_ID)
        .iter()
        .enumerate()
        .any(|(index, value)| index > 0 || !well_formed(value.as_bytes()));
    if malformed {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

/// Notes the matched route template on the response.
async fn note_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| Arc::<str>::from(path.as_str()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Counts the request and its latency by method, route template and
/// status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.run(request).await;
    // One shared string for both metrics' labels.
    let route = response.extensions().get::<Route>().map_or_else(
        || SharedString::const_str("unmatched"),
        |route| SharedString::from_shared(route.0.clone()),
    );
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A method as a label: the standard ones by name, any other as `other`
/// (a client could otherwise make up one label value per request).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The largest 5xx body rewritten to carry the request id.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Adds `request_id` to the JSON body of every 5xx answer, so that a
/// user's report finds the request's log lines.
async fn request_id_in_server_errors(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|mime| mime.as_bytes().starts_with(b"application/json"));
    let (Some(id), true, true) = (id, response.status().is_server_error(), json) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut object)) => {
            object.insert("request_id".to_owned(), serde_json::Value::from(id));
            let text = serde_json::Value::Object(object).to_string();
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(text)
        }
        _ => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

/// Wraps the API router: request ids, a log span per request, metrics,
/// request ids in 5xx bodies, then `inner` (the body limit and the headers
/// every answer carries). The id is set outermost, so everything inside
/// (spans, logs, bodies) sees it.
pub(crate) fn observed<L>(router: Router, inner: L) -> Router
where
    L: Layer<Router>,
    L::Service:
        Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &axum::http::Request<Body>| {
            let id = request
                .headers()
                .get(REQUEST_ID)
                .and_then(|id| id.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %id,
            )
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    // Around the router as one service, not with `Router::layer`: that
    // wraps every route in a boxed stack of its own, which axum clones and
    // drops on every request (about 20 000 instructions here).
    let service = ServiceBuilder::new()
        .layer(axum::middleware::from_fn(drop_malformed_request_id))
        .layer(SetRequestIdLayer::x_request_id(MakeUuidV7))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(axum::middleware::from_fn(request_id_in_server_errors))
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(trace)
        .layer(inner)
        .service(router.route_layer(axum::middleware::from_fn(note_route)));
    Router::new().fallback_service(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let custom = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&custom), "other");
    }

    #[test]
    fn request_ids_from_clients_are_short_plain_tokens() {
        for good in ["a", "0193b5a2-7c1e-7f00-8000-000000000000", "req_1.2:3"] {
            assert!(well_formed(good.as_bytes()), "{good}");
        }
        let long = "x".repeat(MAX_REQUEST_ID + 1);
        for bad in ["", "a b", "a\nb", "ünï", "<script>", long.as_str()] {
            assert!(!well_formed(bad.as_bytes()), "{bad}");
        }
    }
}
