//! Routes, the problem-answering error type, authentication and the layers every
//! response passes (protocol header, gzip, size limits, tracing).

use crate::error::StoreError;
use crate::store::{Caller, Store};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gridwalk_protocol::{
    EnrollRequest, EnrollResponse, MissingPhotos, Problem, ProblemCode, PullPage, PushRequest,
    PushResponse, ReconcileRequest, ReconcileResponse, RecordStatus, ServerKey, ServerLimits,
    MAX_BATCH_RECORDS, MAX_JSON_BODY, PROTOCOL_VERSION,
};
use object_store::ObjectStore;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// Photos (`photos/<sha256>`) and partial uploads (`uploads/<id>/…`).
    pub blobs: Arc<dyn ObjectStore>,
    /// The directory of `blobs` when it is local files: a chunk or photo written
    /// there is fsynced before it counts (object_store's local store does not sync).
    pub blob_dir: Option<PathBuf>,
    /// A local directory on disk for temporary files (ledgers being written).
    pub scratch_dir: PathBuf,
    /// One lock per upload being written or deleted, so requests never interleave.
    pub upload_locks: crate::tus::UploadLocks,
    /// Caps and expiry of unfinished uploads.
    pub upload_limits: crate::tus::UploadLimits,
    /// The built officer console served at `/console/` (`None`: a page says how to
    /// build it).
    pub console_dir: Option<PathBuf>,
    /// The tiles the console's map draws on (`None`: a plain background).
    pub map_tiles: Option<crate::map_view::MapTiles>,
    /// The printable records' font and the address their QR codes name.
    pub print: crate::print::PrintConfig,
    /// Sign-in, enrollment and per-token rate limits (off unless configured).
    pub rate_limits: crate::ratelimit::RateLimits,
    /// The server is reached over TLS (`serve --tls-cert`): answers carry HSTS and the
    /// session cookie is `Secure`.
    pub tls: bool,
    /// Request, record and photo counters served at `/metrics`.
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// State over a store, a blob store and a directory for temporary files.
    pub fn new(store: Arc<Store>, blobs: Arc<dyn ObjectStore>, scratch_dir: PathBuf) -> AppState {
        AppState {
            store,
            blobs,
            blob_dir: None,
            scratch_dir,
            upload_locks: crate::tus::UploadLocks::default(),
            upload_limits: crate::tus::UploadLimits::default(),
            console_dir: None,
            map_tiles: None,
            print: crate::print::PrintConfig::default(),
            rate_limits: crate::ratelimit::RateLimits::default(),
            tls: false,
            metrics: crate::metrics::Metrics::default(),
        }
    }

    /// The same state with these metrics (and their scrape token).
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> AppState {
        self.metrics = metrics;
        self
    }

    /// The same state, told that `blobs` keeps its files in `dir` (fsynced).
    pub fn with_blob_dir(mut self, dir: Option<PathBuf>) -> AppState {
        self.blob_dir = dir;
        self
    }

    /// The same state with these rate limits.
    pub fn with_rate_limits(mut self, limits: crate::ratelimit::RateLimits) -> AppState {
        self.rate_limits = limits;
        self
    }

    /// The same state, served over TLS or not.
    pub fn with_tls(mut self, tls: bool) -> AppState {
        self.tls = tls;
        self
    }

    /// The same state with a tile layer for the console's map.
    pub fn with_map_tiles(mut self, tiles: Option<crate::map_view::MapTiles>) -> AppState {
        self.map_tiles = tiles;
        self
    }

    /// The same state with this font and public address for printed records.
    pub fn with_print(mut self, print: crate::print::PrintConfig) -> AppState {
        self.print = print;
        self
    }

    /// The same state serving the console from `dir`.
    pub fn with_console_dir(mut self, dir: Option<PathBuf>) -> AppState {
        self.console_dir = dir;
        self
    }

    /// The same state with other upload limits.
    pub fn with_upload_limits(mut self, limits: crate::tus::UploadLimits) -> AppState {
        self.upload_limits = limits;
        self
    }

    /// Runs a store call on a blocking thread.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
            .map_err(ApiError::from)
    }
}

/// An error answered as an RFC 7807 problem.
#[derive(Debug)]
pub struct ApiError {
    pub problem: Problem,
    /// Extra headers (tus answers need some).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// A client-visible problem.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            problem: Problem::new(code, detail),
            headers: Vec::new(),
        }
    }

    /// An internal failure: logged in full, answered generically.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(ProblemCode::Internal, "internal error; it has been logged")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Problem { code, detail } => ApiError::new(code, detail),
            StoreError::Db(crate::db::DbError::PoolTimeout(waited)) => {
                tracing::warn!(?waited, "every database connection stayed busy");
                ApiError::new(
                    ProblemCode::Unavailable,
                    "the server is busy (no database connection became free); retry later",
                )
            }
            StoreError::Db(ref db) if db.is_connection_lost() => {
                tracing::error!(error = %e, "database unreachable");
                ApiError::new(ProblemCode::Unavailable, "database unreachable")
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        for (k, v) in self.headers {
            resp.headers_mut().insert(k, v);
        }
        resp
    }
}

/// JSON body whose failures are typed problems (`malformed_body`, `body_too_large`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ProblemCode::BodyTooLarge,
                    format!("JSON bodies are limited to {MAX_JSON_BODY} bytes after decompression"),
                )
            } else {
                ApiError::new(ProblemCode::MalformedBody, e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::new(ProblemCode::MalformedBody, e.to_string()))
    }
}

/// Query string whose failures are `malformed_body` problems naming the parameter
/// (`?limit=abc` → "bad query: limit: invalid digit found in string").
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| {
                let text = e.body_text();
                let why = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::new(ProblemCode::MalformedBody, format!("bad query: {why}"))
            })
    }
}

/// The name of the console's session cookie (docs/console.md "Sign-in").
pub const SESSION_COOKIE: &str = "gw_session";
/// The header a console write carries its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The bearer token of a request, if it has one.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// The console session token in the request's `gw_session` cookie, if any.
pub(crate) fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Where a request comes from, as the audit log records it: the remote IP of its
/// connection (set by [`crate::serve::serve`]), `unknown` when the router was called
/// without one. Behind a front proxy this is the proxy's address.
pub(crate) fn client_source(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The remote IP of a request ([`client_source`]), for handlers without a [`Caller`].
pub struct ClientSource(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientSource {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientSource(client_source(&parts.extensions)))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// A device or API client sends `Authorization: Bearer …`; the console's browser
    /// sends the `gw_session` cookie, and with it the session's CSRF token on every
    /// request that is not a read.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let source = client_source(&parts.extensions);
        if let Some(token) = bearer_token(&parts.headers) {
            let mut caller = state.run(move |s| s.authenticate(&token)).await?;
            caller.source = source;
            return Ok(caller);
        }
        let token = session_cookie(&parts.headers)
            .ok_or_else(|| ApiError::new(ProblemCode::Unauthenticated, "missing bearer token"))?;
        let reads = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !reads {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if sent != crate::sessions::csrf_token(&token) {
                return Err(ApiError::new(
                    ProblemCode::CsrfFailed,
                    "a console write needs the session's X-CSRF-Token header",
                ));
            }
        }
        let mut caller = state.run(move |s| s.authenticate(&token)).await?;
        caller.source = source;
        if !caller.session {
            // A device token planted in a cookie is not a console session.
            return Err(ApiError::new(
                ProblemCode::Unauthenticated,
                "unknown session",
            ));
        }
        Ok(caller)
    }
}

/// A caller that is a phone (a device token): the sync endpoints refuse console
/// sessions, which have no device sequence.
pub struct DeviceCaller(pub Caller);

impl FromRequestParts<AppState> for DeviceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.session {
            return Err(ApiError::new(
                ProblemCode::ForbiddenRole,
                "a console session does not sync; enroll a device for that",
            ));
        }
        Ok(DeviceCaller(caller))
    }
}

/// Refuses requests that name another protocol version.
async fn check_protocol(req: Request, next: Next) -> Response {
    if let Some(v) = req.headers().get(gridwalk_protocol::PROTOCOL_HEADER) {
        let named = v.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok());
        if !named.is_some_and(|n| gridwalk_protocol::SUPPORTED_PROTOCOLS.contains(&n)) {
            return ApiError::new(
                ProblemCode::ProtocolVersionUnsupported,
                format!(
                    "this server speaks protocols {:?}; update the app",
                    gridwalk_protocol::SUPPORTED_PROTOCOLS
                ),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Every method and path [`app`] serves, as the OpenAPI document spells them. This list,
/// the `.route(…)` calls in [`app`] and `crate::tus::routes()` must agree:
/// `tests/openapi.rs` checks the list against `/openapi.json` and against the live
/// router. Only methods registered explicitly are listed; axum also answers `HEAD` on
/// every `GET` route.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/server-key"),
    ("POST", "/v1/enroll"),
    ("POST", "/v1/sync/push"),
    ("GET", "/v1/sync/pull"),
    ("GET", "/v1/sync/records/{id}"),
    ("GET", "/v1/sync/missing-photos"),
    ("POST", "/v1/sync/reconcile"),
    ("GET", "/v1/sync/limits"),
    ("GET", "/v1/hazards"),
    ("GET", "/v1/campaigns"),
    ("GET", "/v1/coverage"),
    ("GET", "/v1/coverage/enterprises"),
    ("POST", "/v1/login"),
    ("POST", "/v1/logout"),
    ("GET", "/v1/session"),
    ("GET", "/v1/templates"),
    ("GET", "/v1/enterprises"),
    ("GET", "/v1/map"),
    ("GET", "/v1/hazards/{id}"),
    ("POST", "/v1/hazards/{id}/events"),
    ("GET", "/v1/hazards/{id}/photos/{sha256}"),
    ("GET", "/v1/inspections"),
    ("GET", "/v1/inspections/{id}"),
    ("GET", "/v1/inspections/{id}/photos/{sha256}"),
    ("POST", "/v1/inspections/{id}/review"),
    ("GET", "/v1/assignments"),
    ("POST", "/v1/assignments"),
    ("POST", "/v1/assignments/{id}/reassign"),
    ("POST", "/v1/assignments/{id}/cancel"),
    ("GET", "/v1/samples"),
    ("POST", "/v1/samples"),
    ("GET", "/v1/samples/{id}"),
    ("GET", "/v1/exports/hazards.xlsx"),
    ("GET", "/v1/exports/inspections.xlsx"),
    ("GET", "/v1/exports/enterprises.xlsx"),
    ("GET", "/v1/exports/tips.xlsx"),
    ("GET", "/v1/tips"),
    ("POST", "/v1/tips"),
    ("GET", "/v1/tips/summary"),
    ("GET", "/v1/tips/{id}"),
    ("POST", "/v1/tips/{id}/decision"),
    ("POST", "/v1/tips/{id}/enterprise"),
    ("POST", "/v1/tips/{id}/suspected"),
    ("GET", "/v1/tips/{id}/reporter"),
    ("GET", "/v1/leases"),
    ("GET", "/v1/exports/leases.xlsx"),
    ("GET", "/v1/exports/coverage.xlsx"),
    ("GET", "/v1/inspections/{id}/record.pdf"),
    ("GET", "/v1/verify/{sha256}"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/audit/verify"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    // crate::tus::routes()
    ("OPTIONS", "/v1/photos"),
    ("POST", "/v1/photos"),
    ("PATCH", "/v1/photos/{id}"),
    ("HEAD", "/v1/photos/{id}"),
    ("DELETE", "/v1/photos/{id}"),
];

/// HSTS when served over TLS: a year, this host only (other names of the domain may
/// still serve plain HTTP).
pub const HSTS: &str = "max-age=31536000";

/// The CSP of every answer but the console's pages (which set their own) and PDFs (a
/// browser's PDF viewer needs more): nothing is loaded, nothing frames it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Security headers of answers that did not set their own (docs/server.md "Security
/// headers").
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let pdf = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/pdf"));
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if pdf {
                "frame-ancestors 'none'"
            } else {
                API_CSP
            }),
        );
    }
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    resp
}

/// The whole application. Its routes are [`ROUTES`]: change both together.
pub fn app(state: AppState) -> Router {
    let console = crate::console::routes(state.console_dir.clone());
    let rate_limits = state.rate_limits.clone();
    let tls = state.tls;
    let metrics = state.metrics.clone();
    let api = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/server-key", get(server_key))
        .route("/v1/enroll", post(enroll))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/pull", get(pull))
        .route("/v1/sync/records/{id}", get(record_status))
        .route("/v1/sync/missing-photos", get(missing_photos))
        .route("/v1/sync/reconcile", post(reconcile))
        .route("/v1/sync/limits", get(limits))
        .route("/v1/hazards", get(hazards))
        .route("/v1/campaigns", get(campaigns))
        .route("/v1/coverage", get(coverage))
        .route("/v1/coverage/enterprises", get(coverage_enterprises))
        .route("/v1/login", post(crate::http_officer::login))
        .route("/v1/logout", post(crate::http_officer::logout))
        .route("/v1/session", get(crate::http_officer::session))
        .route("/v1/templates", get(crate::http_officer::templates))
        .route("/v1/enterprises", get(crate::http_officer::enterprises))
        .route("/v1/map", get(crate::http_officer::map))
        .route("/v1/hazards/{id}", get(crate::http_officer::hazard))
        .route(
            "/v1/hazards/{id}/photos/{sha256}",
            get(crate::http_officer::hazard_photo),
        )
        .route(
            "/v1/hazards/{id}/events",
            post(crate::http_officer::hazard_event),
        )
        .route("/v1/inspections", get(crate::http_officer::inspections))
        .route("/v1/inspections/{id}", get(crate::http_officer::inspection))
        .route(
            "/v1/inspections/{id}/photos/{sha256}",
            get(crate::http_officer::inspection_photo),
        )
        .route(
            "/v1/inspections/{id}/review",
            post(crate::http_officer::review),
        )
        .route(
            "/v1/assignments",
            get(crate::http_officer::assignments).post(crate::http_officer::assign),
        )
        .route(
            "/v1/assignments/{id}/reassign",
            post(crate::http_officer::reassign),
        )
        .route(
            "/v1/assignments/{id}/cancel",
            post(crate::http_officer::cancel),
        )
        .route(
            "/v1/samples",
            get(crate::http_officer::samples).post(crate::http_officer::draw_sample),
        )
        .route("/v1/samples/{id}", get(crate::http_officer::sample))
        .route(
            "/v1/exports/hazards.xlsx",
            get(crate::http_export::hazards_xlsx),
        )
        .route(
            "/v1/exports/inspections.xlsx",
            get(crate::http_export::inspections_xlsx),
        )
        .route(
            "/v1/exports/enterprises.xlsx",
            get(crate::http_export::enterprises_xlsx),
        )
        .route("/v1/exports/tips.xlsx", get(crate::http_export::tips_xlsx))
        .route(
            "/v1/tips",
            get(crate::http_tips::list).post(crate::http_tips::record),
        )
        .route("/v1/tips/summary", get(crate::http_tips::summary))
        .route("/v1/tips/{id}", get(crate::http_tips::detail))
        .route("/v1/tips/{id}/decision", post(crate::http_tips::decision))
        .route(
            "/v1/tips/{id}/enterprise",
            post(crate::http_tips::link_enterprise),
        )
        .route("/v1/tips/{id}/suspected", post(crate::http_tips::suspected))
        .route("/v1/tips/{id}/reporter", get(crate::http_tips::reporter))
        .route("/v1/leases", get(crate::http_export::leases))
        .route(
            "/v1/exports/coverage.xlsx",
            get(crate::http_export::coverage_xlsx),
        )
        .route(
            "/v1/exports/leases.xlsx",
            get(crate::http_export::leases_xlsx),
        )
        .route(
            "/v1/inspections/{id}/record.pdf",
            get(crate::http_print::record_pdf),
        )
        .route("/v1/verify/{sha256}", get(crate::http_print::verify))
        .route("/v1/audit", get(crate::http_audit::list))
        .route("/v1/audit/verify", get(crate::http_audit::verify))
        .route("/openapi.json", get(crate::openapi::document))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .merge(crate::tus::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
        .fallback(|| async { ApiError::new(ProblemCode::NotFound, "no such endpoint") })
        // After every route is added: it applies to the routes present. axum still sets
        // `Allow`.
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .merge(console);
    let api = api
        .layer(axum::middleware::from_fn(check_protocol))
        .layer(RequestDecompressionLayer::new())
        // Before a body is decompressed or read; its 429 is a problem already.
        .layer(axum::middleware::from_fn_with_state(
            rate_limits,
            crate::ratelimit::layer,
        ))
        // Outside the decompression layer (its 415 for an unknown `Content-Encoding` has
        // an empty body), inside compression (so it sees plain bodies).
        .layer(axum::middleware::from_fn(errors_as_problems))
        // An xlsx file is a zip already: compressing it again costs time for nothing.
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/vnd.openxml")),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("gridwalk-protocol"),
            HeaderValue::from(PROTOCOL_VERSION),
        ))
        // No answer is to be sniffed into another type (a photo or a problem read as
        // HTML); the console's pages set it too.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn(security_headers));
    if tls {
        api.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        api
    }
}

/// Answer for a method the path does not take (axum adds `Allow`).
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ProblemCode::MethodNotAllowed,
        format!("{} does not take {method}; see Allow", uri.path()),
    )
}

/// The problem code for an error status answered without a problem document.
fn code_for_status(status: StatusCode) -> ProblemCode {
    match status.as_u16() {
        401 => ProblemCode::Unauthenticated,
        404 => ProblemCode::NotFound,
        405 => ProblemCode::MethodNotAllowed,
        408 => ProblemCode::RequestTimeout,
        413 => ProblemCode::BodyTooLarge,
        415 => ProblemCode::UnsupportedMediaType,
        429 => ProblemCode::RateLimited,
        503 => ProblemCode::Unavailable,
        s if s >= 500 => ProblemCode::Internal,
        _ => ProblemCode::MalformedBody,
    }
}

fn is_problem(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/problem+json"))
}

/// Turns every error answer that is not a problem document (an axum rejection, the
/// decompression layer's bare 415, a timeout's 408, …) into one, keeping the status and
/// the other headers (`Allow` on 405, `Accept-Encoding` on 415).
async fn errors_as_problems(req: Request, next: Next) -> Response {
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let resp = next.run(req).await;
    let status = resp.status();
    if status.as_u16() < 400 || is_problem(resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // Bodies of such answers are short texts; a longer one is not worth quoting.
    let text = axum::body::to_bytes(body, 2048)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = code_for_status(status);
    let detail = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE
        && text.is_empty()
        && parts.headers.contains_key(header::ACCEPT_ENCODING)
    {
        let accepted = parts
            .headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity");
        format!(
            "Content-Encoding '{}' is not supported; use one of: {accepted}",
            encoding.as_deref().unwrap_or("")
        )
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    };
    let mut problem = Problem::new(code, detail);
    problem.status = status.as_u16();
    if code == ProblemCode::Internal {
        tracing::error!(status = status.as_u16(), detail = %problem.detail, "error answered without a problem");
    }
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    Response::from_parts(parts, Body::from(body))
}

/// Answer of `GET /v1/health`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`: the database and the blob store answer (when one does not, the answer is
    /// a 503 `unavailable` problem naming it, so a load balancer takes this replica out).
    pub status: &'static str,
    /// The sync protocol version this server speaks.
    pub protocol: u32,
    /// `ok`: the database answered a query.
    pub database: &'static str,
    /// `ok`: the blob store (photos) answered.
    pub blobs: &'static str,
}

/// How long `/v1/health` waits for the database and for the blob store.
const HEALTH_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses((status = 200, description = "The server, its database and its blob store answer", body = Health),
        (status = 503, description = "The database or the blob store does not answer (the detail says which)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn health(State(s): State<AppState>) -> Response {
    let database = tokio::time::timeout(HEALTH_CHECK_TIMEOUT, s.run(|st| st.ping())).await;
    let database = match database {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e.problem.detail, "health: the database does not answer");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("health: the database did not answer in time");
            "unavailable"
        }
    };
    // Any answer of the store, "not found" included, shows it is there.
    let probe = object_store::path::Path::from("health/probe");
    let blobs = match tokio::time::timeout(HEALTH_CHECK_TIMEOUT, s.blobs.head(&probe)).await {
        Ok(Ok(_)) | Ok(Err(object_store::Error::NotFound { .. })) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: the blob store does not answer");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("health: the blob store did not answer in time");
            "unavailable"
        }
    };
    if database != "ok" || blobs != "ok" {
        // A problem like every other error; the status is what a load balancer reads.
        return ApiError::new(
            ProblemCode::Unavailable,
            format!("database: {database}, blobs: {blobs}"),
        )
        .into_response();
    }
    Json(Health {
        status: "ok",
        protocol: PROTOCOL_VERSION,
        database,
        blobs,
    })
    .into_response()
}

/// `GET /metrics`: the server's metrics in the OpenMetrics text format, for a scraper
/// that presents the metrics token as a bearer token (docs/server.md "Metrics").
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Metrics (OpenMetrics text)", body = String, content_type = "application/openmetrics-text"),
        (status = "4XX", description = "A problem: 404 when metrics are off (no `serve --metrics-token`), 401 without the token", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("metrics_token" = [])))]
pub(crate) async fn metrics_text(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if !s.metrics.enabled() {
        return Err(ApiError::new(
            ProblemCode::NotFound,
            "metrics are off on this server (serve --metrics-token)",
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !s.metrics.token_matches(presented.trim()) {
        return Err(ApiError::new(
            ProblemCode::Unauthenticated,
            "the metrics token is missing or wrong",
        ));
    }
    let text = s
        .metrics
        .render()
        .map_err(|e| ApiError::internal(format!("cannot render metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/server-key",
    responses((status = 200, description = "The key receipts are signed with", body = ServerKey),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn server_key(State(s): State<AppState>) -> Json<ServerKey> {
    Json(s.store.server_key())
}

#[utoipa::path(post, path = "/v1/enroll", request_body = EnrollRequest,
    responses((status = 200, description = "Enrolled; the token is shown once", body = EnrollResponse),
        (status = "4XX", description = "A problem (docs/sync-protocol.md); 429 rate_limited with Retry-After for too many enrollments from one address", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn enroll(
    State(s): State<AppState>,
    ClientSource(source): ClientSource,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let resp = s.run(move |st| st.enroll(&req)).await?;
    let entry = crate::audit::NewEntry {
        actor: resp.user.name.clone(),
        actor_role: resp.user.role.as_str().to_string(),
        source,
        action: "device.enroll".into(),
        division: Some(resp.user.jurisdiction.clone()),
        target_kind: Some("device".into()),
        target_id: Some(resp.device_id.to_string()),
        detail: serde_json::json!({}),
    };
    s.run(move |st| st.audit_append(&entry)).await?;
    tracing::info!(device = %resp.device_id, user = %resp.user.name, "device enrolled");
    Ok(Json(resp))
}

#[utoipa::path(post, path = "/v1/sync/push", request_body = PushRequest,
    responses((status = 200, description = "One result per record and a signed receipt", body = PushResponse),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn push(
    State(s): State<AppState>,
    DeviceCaller(caller): DeviceCaller,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if req.records.len() > MAX_BATCH_RECORDS {
        return Err(ApiError::new(
            ProblemCode::BatchTooLarge,
            format!(
                "{} records; at most {MAX_BATCH_RECORDS} per push",
                req.records.len()
            ),
        ));
    }
    let device = caller.device_id;
    let (resp, records) = s
        .run(move |st| Ok((st.push(&caller, &req.records)?, req.records)))
        .await?;
    s.metrics
        .observe_push(&records, &resp.results, chrono::Utc::now());
    tracing::info!(%device, records = resp.results.len(), next_seq = resp.next_seq, "push");
    Ok(Json(resp))
}

/// Query of a pull.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// Empty for the start.
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1–1000, default 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/sync/pull", params(PullQuery),
    responses((status = 200, description = "A page of changes", body = PullPage),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn pull(
    State(s): State<AppState>,
    DeviceCaller(caller): DeviceCaller,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullPage>, ApiError> {
    let cursor = q.cursor.unwrap_or_default();
    let limit = q.limit.unwrap_or(500);
    // What the app speaks (an app that names none is taken for protocol 1).
    let protocol = headers
        .get(gridwalk_protocol::PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1);
    Ok(Json(
        s.run(move |st| st.pull_for(&caller, &cursor, limit, protocol))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/sync/reconcile", request_body = ReconcileRequest,
    responses((status = 200, description = "What the server holds of this device's sequence, range by range (protocol 2)", body = ReconcileResponse),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn reconcile(
    State(s): State<AppState>,
    DeviceCaller(caller): DeviceCaller,
    ApiJson(req): ApiJson<ReconcileRequest>,
) -> Result<Json<ReconcileResponse>, ApiError> {
    Ok(Json(s.run(move |st| st.reconcile(&caller, &req)).await?))
}

/// A division inside the caller's jurisdiction (the whole jurisdiction when absent);
/// anything else is answered as if it did not exist.
pub(crate) fn division_in_scope(
    caller: &Caller,
    division: Option<&str>,
) -> Result<gridwalk_core::DivisionCode, ApiError> {
    match division.map(str::trim) {
        None | Some("") => Ok(caller.jurisdiction.clone()),
        Some(d) => gridwalk_core::DivisionCode::parse(d)
            .ok()
            .filter(|d| caller.jurisdiction.covers(d))
            .ok_or_else(|| ApiError::new(ProblemCode::NotFound, format!("no division {d}"))),
    }
}

fn china_today() -> chrono::NaiveDate {
    gridwalk_checklist::hazard::china_date(chrono::Utc::now())
}

/// The named campaign, or the one coverage is counted for by default; 404 when there is
/// none or it does not cover the division.
fn campaign_for(
    st: &crate::store::Store,
    id: Option<&str>,
    division: &gridwalk_core::DivisionCode,
) -> Result<gridwalk_core::Campaign, crate::error::StoreError> {
    let not_found = |what: String| crate::error::StoreError::problem(ProblemCode::NotFound, what);
    match id.map(str::trim).filter(|i| !i.is_empty()) {
        Some(id) => st
            .campaign(id)?
            .filter(|c| c.covers(division))
            .ok_or_else(|| not_found(format!("no campaign {id} for {}", division.as_str()))),
        None => st
            .default_campaign(division, china_today())?
            .ok_or_else(|| not_found(format!("no campaign covers {}", division.as_str()))),
    }
}

#[utoipa::path(get, path = "/v1/campaigns",
    responses((status = 200, description = "The campaigns covering the caller's jurisdiction, newest first", body = [crate::coverage::CampaignSummary]),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn campaigns(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<crate::coverage::CampaignSummary>>, ApiError> {
    let all = s.run(|st| st.campaigns()).await?;
    Ok(Json(
        all.into_iter()
            .filter(|c| c.covers(&caller.jurisdiction) || caller.jurisdiction.covers(&c.area_code))
            .map(|c| crate::coverage::CampaignSummary {
                duties: c.duties.len(),
                id: c.id,
                name_zh: c.name_zh,
                year: c.year,
                area_code: c.area_code.as_str().to_string(),
                starts_on: c.starts_on.to_string(),
                ends_on: c.ends_on.to_string(),
            })
            .collect(),
    ))
}

/// Query of `GET /v1/coverage`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// A division inside the caller's jurisdiction (default: the whole jurisdiction).
    #[serde(default)]
    pub division: Option<String>,
    /// A campaign id (default: the one active today covering the division).
    #[serde(default)]
    pub campaign: Option<String>,
}

#[utoipa::path(get, path = "/v1/coverage", params(CoverageQuery),
    responses((status = 200, description = "Per duty: applicable enterprises done, not done, overdue, in total and per child division", body = crate::coverage::Coverage),
        (status = "4XX", description = "A problem (docs/sync-protocol.md); a division outside the caller's jurisdiction, or no campaign, is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn coverage(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> Result<Json<crate::coverage::Coverage>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    Ok(Json(
        s.run(move |st| {
            let c = campaign_for(st, q.campaign.as_deref(), &division)?;
            st.coverage(&c, &division, china_today())
        })
        .await?,
    ))
}

/// Query of `GET /v1/coverage/enterprises`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageListQuery {
    /// A division inside the caller's jurisdiction (default: the whole jurisdiction).
    #[serde(default)]
    pub division: Option<String>,
    /// A campaign id (default: the one active today covering the division).
    #[serde(default)]
    pub campaign: Option<String>,
    /// The duty.
    pub duty: String,
    /// `applicable`, `done`, `not_done` or `overdue`.
    pub status: String,
    /// At most this many (1–10000, default 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/coverage/enterprises", params(CoverageListQuery),
    responses((status = 200, description = "The enterprises behind one number of the coverage", body = [crate::coverage::CoverageEnterprise]),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn coverage_enterprises(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CoverageListQuery>,
) -> Result<Json<Vec<crate::coverage::CoverageEnterprise>>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let status = crate::coverage::CoverageStatus::parse(q.status.trim()).ok_or_else(|| {
        ApiError::new(
            ProblemCode::MalformedBody,
            format!(
                "status '{}': use applicable, done, not_done or overdue",
                q.status
            ),
        )
    })?;
    Ok(Json(
        s.run(move |st| {
            let c = campaign_for(st, q.campaign.as_deref(), &division)?;
            st.coverage_enterprises(
                &c,
                &q.duty,
                &division,
                status,
                china_today(),
                q.limit.unwrap_or(1000),
            )
        })
        .await?,
    ))
}

/// Query of `GET /v1/hazards`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HazardsQuery {
    /// A division inside the caller's jurisdiction (default: the whole jurisdiction).
    #[serde(default)]
    pub division: Option<String>,
    /// Only hazards still open after their deadline (today, China time).
    #[serde(default)]
    pub overdue: Option<bool>,
}

#[utoipa::path(get, path = "/v1/hazards", params(HazardsQuery),
    responses((status = 200, description = "The hazards of the division, deadline first, each folded from its events", body = [crate::store::HazardListItem]),
        (status = "4XX", description = "A problem (docs/sync-protocol.md); a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn hazards(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HazardsQuery>,
) -> Result<Json<Vec<crate::store::HazardListItem>>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let overdue = q.overdue.unwrap_or(false).then_some(china_today());
    Ok(Json(
        s.run(move |st| st.hazard_list(&division, overdue)).await?,
    ))
}

#[utoipa::path(get, path = "/v1/sync/limits",
    responses((status = 200, description = "The limits this server enforces (protocol 2)", body = ServerLimits),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn limits(State(s): State<AppState>, _caller: Caller) -> Json<ServerLimits> {
    Json(s.store.limits())
}

#[utoipa::path(get, path = "/v1/sync/records/{id}",
    params(("id" = Uuid, Path, description = "The record id")),
    responses((status = 200, description = "What the server holds of the record", body = RecordStatus),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn record_status(
    State(s): State<AppState>,
    DeviceCaller(caller): DeviceCaller,
    Path(id): Path<String>,
) -> Result<Json<RecordStatus>, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::new(ProblemCode::NotFound, format!("'{id}' is not a record id")))?;
    Ok(Json(s.run(move |st| st.record_status(&caller, id)).await?))
}

#[utoipa::path(get, path = "/v1/sync/missing-photos",
    responses((status = 200, description = "Photos the server still needs", body = MissingPhotos),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn missing_photos(
    State(s): State<AppState>,
    DeviceCaller(caller): DeviceCaller,
) -> Result<Json<MissingPhotos>, ApiError> {
    Ok(Json(s.run(move |st| st.missing_photos(&caller)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool that stays busy is "busy, retry", not "unreachable": both are 503, but an
    /// operator reading the problem looks in different places.
    #[test]
    fn database_failures_become_503_problems_that_say_which() {
        let busy = ApiError::from(StoreError::Db(crate::db::DbError::PoolTimeout(
            std::time::Duration::from_secs(30),
        )));
        assert_eq!(busy.problem.code, ProblemCode::Unavailable);
        assert!(
            busy.problem.detail.contains("busy"),
            "{}",
            busy.problem.detail
        );
        let corrupt = ApiError::from(StoreError::Corrupt("x".into()));
        assert_eq!(corrupt.problem.code, ProblemCode::Internal);
    }
}
