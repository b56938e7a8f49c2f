//! Serving the built app (with the SPA fallback) and the security headers on every answer.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use ipscope_api::sign_in::AuthSettings;

use crate::auth::Authenticator;

/// Header values and the app's sign-in settings, derived from the configuration.
#[derive(Clone)]
pub struct WebConfig {
    dist: PathBuf,
    base_path: String,
    frame_ancestors: String,
    deny_framing: bool,
    /// The `auth` block the app's `config.json` gets unless the deployed file has its own.
    auth: serde_json::Value,
    /// The origins allowed to frame the app: the app takes a token by `postMessage` from these only.
    frame_ancestors_list: Vec<String>,
    /// The identity provider's origin, which the page signs in with.
    identity_origin: Option<String>,
}

impl WebConfig {
    /// The app in `dist`, served under `base_path` (`""` or `/tools/ipscope`), embeddable by `frame_ancestors`
    /// (exact origins; none means no framing), signing in as `auth` expects.
    pub fn new(dist: PathBuf, base_path: &str, frame_ancestors: &[String], auth: &Authenticator) -> WebConfig {
        let sign_in = auth.oidc().and_then(|o| o.config().app.clone().map(|app| (o.config().issuer.clone(), app)));
        let settings = match (&sign_in, auth.disabled()) {
            (_, true) => AuthSettings::None,
            (Some((issuer, app)), false) => AuthSettings::Oidc {
                issuer: issuer.clone(),
                client_id: app.client_id.clone(),
                scope: app.scope.clone(),
            },
            (None, false) => AuthSettings::Token,
        };
        WebConfig {
            dist,
            base_path: base_path.to_string(),
            frame_ancestors: if frame_ancestors.is_empty() { "'none'".into() } else { frame_ancestors.join(" ") },
            deny_framing: frame_ancestors.is_empty(),
            auth: serde_json::to_value(settings).expect("settings serialize"),
            frame_ancestors_list: frame_ancestors.to_vec(),
            identity_origin: sign_in.and_then(|(issuer, _)| origin_of(&issuer)),
        }
    }

    /// The page's CSP: trunk's loader is an inline module script, allowed exactly by its hash, not 'unsafe-inline'.
    fn page_csp(&self, index_html: &str, api_origin: Option<&str>) -> String {
        let hashes: String = inline_script_hashes(index_html).iter().map(|h| format!(" 'sha256-{h}'")).collect();
        let connect: String =
            [api_origin, self.identity_origin.as_deref()].into_iter().flatten().map(|o| format!(" {o}")).collect();
        format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'{connect}; manifest-src 'self'; base-uri 'self'; \
             form-action 'self'; frame-ancestors {}",
            self.frame_ancestors
        )
    }
}

/// SHA-256 (base64) of the text of every inline `<script>` in `html`.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_and_more = &after[tag_end + 1..];
        let Some(close) = body_and_more.find("</script>") else {
            break;
        };
        // A data block (the configuration written into the page) is never run: it needs no hash.
        if !tag.contains(" src=") && !tag.contains("application/json") {
            let digest = Sha256::digest(&body_and_more.as_bytes()[..close]);
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body_and_more[close..];
    }
    hashes
}

/// `html` with the value of its `<base href>` replaced by `href`: the app's links, assets and API calls are
/// relative to it, so this is all it takes to serve one build under any path.
fn with_base_href(html: &str, href: &str) -> String {
    let Some(at) = html.find("<base href=").map(|i| i + "<base href=".len()) else { return html.to_string() };
    // Quoted as trunk writes it, or bare as its minifier does (`<base href=./>`).
    let len = match html[at..].chars().next() {
        Some(quote @ ('"' | '\'')) => html[at + 1..].find(quote).map(|n| n + 2),
        _ => html[at..].find(|c: char| c.is_ascii_whitespace() || c == '>'),
    };
    let Some(len) = len else { return html.to_string() };
    format!("{}\"{href}\"{}", &html[..at], &html[at + len..])
}

/// The origin of `apiBaseUrl` in the app's `config.json` when it points at another server, so the page may call it.
fn api_origin(config_json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(config_json).ok()?;
    origin_of(value["apiBaseUrl"].as_str()?)
}

/// `scheme://host[:port]` of an absolute http(s) URL with a plain host; `None` for anything else.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest.split('/').next()?;
    let valid_host = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    (matches!(scheme, "http" | "https") && valid_host).then(|| format!("{scheme}://{host}"))
}

/// Adds the headers every answer carries; anything without a CSP of its own (all but the page) gets one that
/// allows nothing.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}

/// `router` with the app: `config.json` (with the server's sign-in settings), the app's files, and `index.html` for
/// every other path (a client route such as `/ips/1.2.3.4`).
pub fn app_router(router: axum::Router, config: Arc<WebConfig>) -> axum::Router {
    let index = get(index_html).with_state(Arc::clone(&config));
    // `cargo xtask dist` writes `.br` and `.gz` beside each asset; the file service picks by `Accept-Encoding`.
    let files = ServeDir::new(&config.dist)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index.clone());
    let app_files = move |request: Request| {
        let (files, index) = (files.clone(), index.clone());
        async move {
            // A name longer than the file system allows is no file of the app: the file service would answer 500.
            if names_too_long(request.uri().path()) {
                return index.oneshot(request).await.into_response();
            }
            let immutable = is_hashed_asset(request.uri().path());
            let mut response = files.oneshot(request).await.into_response();
            if !response.headers().contains_key(header::CACHE_CONTROL) {
                let policy = if immutable && response.status().is_success() {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                };
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
            }
            response
        }
    };
    router.route("/config.json", get(config_json).with_state(config)).fallback(app_files)
}

/// Whether `path` names a file whose name carries a hash of its content (trunk's `ipscope-29c2478c832e57d3_bg.wasm`,
/// `main-720736339b52be63.css`): a new build gets a new name, so a browser may keep it for good.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a path has a segment longer than a file name can be (255 bytes) or is longer than a path can be.
fn names_too_long(path: &str) -> bool {
    path.len() > 4000 || path.split('/').any(|segment| segment.len() > 255)
}

impl WebConfig {
    /// `config.json` as the app gets it: the deployed file with the settings the server's options imply; a file
    /// that is no JSON object as it is, so the app reports what is wrong with it.
    pub(crate) async fn app_config_text(&self) -> String {
        let text = tokio::fs::read_to_string(self.dist.join("config.json")).await.ok();
        self.app_config(text.as_deref()).unwrap_or_else(|text| text)
    }

    /// The path the app is served under (`""` or `/tools/ipscope`).
    pub(crate) fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The deployed `config.json` (its text, `None` when absent) with the `auth` block and frame ancestors the
    /// server's options imply, unless the file sets its own; `Err` with the text as it is when it is no JSON object.
    fn app_config(&self, deployed: Option<&str>) -> Result<String, String> {
        match serde_json::from_str::<serde_json::Value>(deployed.unwrap_or("{}")) {
            Ok(serde_json::Value::Object(mut file)) => {
                file.entry("auth").or_insert_with(|| self.auth.clone());
                file.entry("frameAncestors").or_insert_with(|| json!(self.frame_ancestors_list));
                Ok(serde_json::Value::Object(file).to_string())
            }
            _ => Err(deployed.unwrap_or_default().to_string()),
        }
    }
}

/// `html` with the app's configuration written into `<head>` as a JSON data block, which the app reads instead of
/// fetching `config.json`: its API calls need not wait for that round trip.
fn with_config_block(html: &str, config_json: &str) -> String {
    let Some(at) = html.find("</head>") else { return html.to_string() };
    // `<` escaped, so no text in the configuration can end the block.
    let json = config_json.replace('<', "\\u003c");
    format!(r#"{}<script id="ipscope-config" type="application/json">{json}</script>{}"#, &html[..at], &html[at..])
}

/// The deployed `config.json` with the settings the server's options imply (see `WebConfig::app_config`).
async fn config_json(State(config): State<Arc<WebConfig>>) -> Response {
    let body = config.app_config_text().await;
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `index.html`, read on each request so a rebuilt app is served with a matching CSP.
async fn index_html(State(config): State<Arc<WebConfig>>) -> Response {
    let html = match tokio::fs::read_to_string(config.dist.join("index.html")).await {
        Ok(html) => with_base_href(&html, &format!("{}/", config.base_path)),
        Err(_) => return app_not_built().await.into_response(),
    };
    let deployed = tokio::fs::read_to_string(config.dist.join("config.json")).await.ok();
    let html = match config.app_config(deployed.as_deref()) {
        Ok(app_config) => with_config_block(&html, &app_config),
        Err(_) => html, // the app fetches `config.json` and says what is wrong with it
    };
    let csp = config.page_csp(&html, api_origin(deployed.as_deref().unwrap_or_default()).as_deref());
    let mut response = Html(html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("CSP is ASCII"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if config.deny_framing {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// What non-API paths answer when the server runs without a built app.
pub async fn app_not_built() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        "The ipscope app is not built; run `cargo xtask run`, or pass --dist pointing at trunk's output.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_base_href() {
        let html = r#"<head><base href="./" /><script type="module">import './a.js'</script></head>"#;
        assert_eq!(
            with_base_href(html, "/tools/ipscope/"),
            r#"<head><base href="/tools/ipscope/" /><script type="module">import './a.js'</script></head>"#
        );
        assert_eq!(with_base_href("<head></head>", "/"), "<head></head>");
        // As trunk's minifier writes it.
        assert_eq!(
            with_base_href("<title>ipscope</title><base href=./><script>", "/tools/ipscope/"),
            r#"<title>ipscope</title><base href="/tools/ipscope/"><script>"#
        );
        assert_eq!(with_base_href("<base href='./' >", "/"), r#"<base href="/" >"#);
    }

    #[test]
    fn allows_the_configured_api_origin_and_nothing_odd() {
        let check = |json: &str, expected: Option<&str>| assert_eq!(api_origin(json).as_deref(), expected, "{json}");
        check(r#"{"apiBaseUrl": "api/"}"#, None);
        check(r#"{"apiBaseUrl": "https://soc.example.com/ipscope/api/"}"#, Some("https://soc.example.com"));
        check(r#"{"apiBaseUrl": "http://10.0.0.5:8080/api/"}"#, Some("http://10.0.0.5:8080"));
        check(r#"{"apiBaseUrl": "https://x.example; script-src *"}"#, None);
        check(r#"{"apiBaseUrl": "javascript://x"}"#, None);
        check("not json", None);
    }

    #[test]
    fn writes_the_configuration_into_the_page_safely() {
        let html = with_config_block("<head><title>t</title></head><body></body>", r#"{"apiBaseUrl":"</script>x"}"#);
        assert_eq!(
            html,
            r#"<head><title>t</title><script id="ipscope-config" type="application/json">{"apiBaseUrl":"\u003c/script>x"}</script></head><body></body>"#
        );
        let value: serde_json::Value = serde_json::from_str(r#"{"apiBaseUrl":"\u003c/script>x"}"#).unwrap();
        assert_eq!(value["apiBaseUrl"], "</script>x");
    }

    #[test]
    fn only_hashed_names_are_cached_for_good() {
        for path in
            ["/ipscope-29c2478c832e57d3.js", "/ipscope-29c2478c832e57d3_bg.wasm", "/x/main-720736339b52be63.css"]
        {
            assert!(is_hashed_asset(path), "{path}");
        }
        for path in ["/config.json", "/index.html", "/ips/1.2.3.4", "/main-72073633.css", "/favicon.ico", "/"] {
            assert!(!is_hashed_asset(path), "{path}");
        }
    }

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<script src="/a.js"></script><script type="application/json">{}</script><script type="module">init()</script>"#;
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert_eq!(inline_script_hashes(html), vec![expected]);
    }
}
