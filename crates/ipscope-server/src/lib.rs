//! ipscope's server: `app(state)` builds the router that serves the app's files and the `/api` JSON API.

pub mod audit;
pub mod auth;
pub mod demo;
pub mod error;
pub mod geo;
pub mod host;
pub mod import;
pub mod ingest;
pub mod listener;
mod prerender;
pub mod rate_limit;
mod routes;
pub mod store;
pub mod synth;
mod web;

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tower::ServiceExt;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::audit::{AuditSink, Auditor};
use crate::auth::{AuthConfig, Authenticator};
use crate::geo::GeoDb;
use crate::host::AllowedHosts;
use crate::rate_limit::{RateLimiter, RateLimits};
use crate::store::{DataStore, Store};

/// How the server is set up; fixed at start-up.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// trunk's output folder (`index.html`, the wasm, `config.json`); `None` serves the API only.
    pub dist: Option<PathBuf>,
    /// Path everything is served under, e.g. `/tools/ipscope`; empty for the root.
    pub base_path: String,
    /// Origins allowed to embed the app in a frame (CSP `frame-ancestors`), exactly as given.
    pub frame_ancestors: Vec<String>,
    /// Origins of apps on other sites allowed to call the API (CORS), exactly as given.
    pub cors_origins: Vec<String>,
    /// Per-client and per-caller request limits on the API.
    pub rate_limits: RateLimits,
    /// How callers authenticate (ipscope's tokens always; OpenID Connect if configured; or `--no-auth`).
    pub auth: AuthConfig,
    /// Host names served besides the loopback ones (`--allowed-host`).
    pub allowed_hosts: Vec<String>,
    /// Where the audit of authenticated requests goes.
    pub audit: AuditSink,
    /// Caps and timeouts on connections.
    pub connections: listener::ConnectionLimits,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The SQLite file with tokens and the audit (and the data too, unless `data` is elsewhere).
    pub store: Arc<Store>,
    /// Where network events, alerts and machines are read from.
    pub data: DataStore,
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// Geolocation data.
    pub geo: Arc<GeoDb>,
    /// Checks bearer tokens.
    pub auth: Arc<Authenticator>,
    /// Records who looked up what.
    pub auditor: Arc<Auditor>,
}

impl AppState {
    /// State for `store` and `config`, without geolocation data.
    pub fn new(store: Arc<Store>, config: ServerConfig) -> AppState {
        let auth = Authenticator::new(&config.auth);
        let auditor = Auditor::new(Arc::clone(&store), config.audit.clone());
        let data = DataStore::Sqlite(Arc::clone(&store));
        AppState { store, data, config: Arc::new(config), geo: Arc::new(GeoDb::empty()), auth, auditor }
    }

    /// The same state reading network events, alerts and machines from `data`.
    pub fn with_data(self, data: DataStore) -> AppState {
        AppState { data, ..self }
    }

    /// The same state with `geo` as the geolocation data.
    pub fn with_geo(self, geo: GeoDb) -> AppState {
        AppState { geo: Arc::new(geo), ..self }
    }
}

/// The whole server: `/api/...` and, for every other path, the app.
pub fn app(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    let config = Arc::clone(&state.config);
    let limiter = RateLimiter::new(config.rate_limits.clone());
    // Route layers run outermost last-added: authenticate, then audit, then the per-caller limit.
    let mut protected = routes::protected_router();
    if !config.auth.disabled {
        protected = protected.route_layer(from_fn_with_state(Arc::clone(&limiter), rate_limit::limit_caller));
    }
    let protected = protected
        .route_layer(from_fn_with_state(Arc::clone(&state.auditor), audit::audit))
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate));
    let api = routes::api_router(protected).with_state(state.clone());
    let web = config.dist.as_ref().map(|dist| {
        Arc::new(web::WebConfig::new(dist.clone(), &config.base_path, &config.frame_ancestors, &state.auth))
    });
    let prerender = prerender::Prerender { api: api.clone().layer(axum::middleware::from_fn(error::json_errors)), web };
    let api = api
        .route("/prerender/ips/{ip}", axum::routing::get(prerender::ip_page).with_state(prerender.clone()))
        .layer(from_fn_with_state(limiter, rate_limit::limit))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(cors(&config.cors_origins))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let router = Router::new().nest("/api", api);
    let router = match prerender.web {
        Some(web) => web::app_router(router, web),
        None => router.fallback(web::app_not_built),
    };
    let router = match config.base_path.as_str() {
        "" => router,
        // `/tools/ipscope/`, the address the server prints, is the app's page too (`nest` covers the rest).
        base => {
            let page = router.clone();
            let slash = tower::service_fn(move |request| page.clone().oneshot(request));
            Router::new().route_service(&format!("{base}/"), slash).nest(base, router)
        }
    };
    router
        .layer(from_fn_with_state(AllowedHosts::new(&config.allowed_hosts), host::check))
        .layer(axum::middleware::from_fn(web::security_headers))
        // API answers and the page compressed as the client accepts (a 100-device list: 40 KB of JSON, 5 KB sent),
        // at a light level as each is compressed afresh; the app's files are compressed at build time already.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
}

/// Normalises a `--base-path`: `""` for the root, else `/a/b` (leading slash, no trailing slash, plain segments).
pub fn normalize_base_path(path: &str) -> Result<String, String> {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let plain = trimmed.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    });
    if !plain {
        return Err(format!("--base-path '{path}' must be path segments of letters, digits, '-', '_', '.' or '~'"));
    }
    Ok(format!("/{trimmed}"))
}

/// CORS for exactly the configured origins: read-only requests, and `Retry-After` readable by the caller.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::ACCEPT, header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

/// Serves `app(state)` on `listener`, within the configured connection limits, until Ctrl-C (or the future is
/// dropped).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let limits = state.config.connections.clone();
    listener::serve(listener, app(state), limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
