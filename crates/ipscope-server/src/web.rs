//! Serving the built app (with the SPA fallback) and the security headers on every answer.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};

/// The headers computed once at start-up.
#[derive(Clone)]
pub struct SecurityHeaders {
    app_csp: HeaderValue,
    api_csp: HeaderValue,
    deny_framing: bool,
}

impl SecurityHeaders {
    /// Headers for an app whose `index.html` is `index_html`, embeddable by `frame_ancestors` (exact origins).
    pub fn new(index_html: Option<&str>, frame_ancestors: &[String]) -> SecurityHeaders {
        let ancestors =
            if frame_ancestors.is_empty() { "'none'".to_string() } else { frame_ancestors.join(" ") };
        // trunk's loader is an inline module script; allow exactly its text by hash, not 'unsafe-inline'.
        let hashes: String = index_html
            .map(inline_script_hashes)
            .unwrap_or_default()
            .iter()
            .map(|h| format!(" 'sha256-{h}'"))
            .collect();
        let app_csp = format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'self'; form-action 'self'; \
             frame-ancestors {ancestors}"
        );
        SecurityHeaders {
            app_csp: HeaderValue::from_str(&app_csp).expect("CSP is ASCII"),
            api_csp: HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            deny_framing: frame_ancestors.is_empty(),
        }
    }
}

/// SHA-256 (base64) of the text of every inline `<script>` in `html`.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else { break };
        let tag = &after[..tag_end];
        let body_and_more = &after[tag_end + 1..];
        let Some(close) = body_and_more.find("</script>") else { break };
        if !tag.contains(" src=") {
            let digest = Sha256::digest(body_and_more[..close].as_bytes());
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body_and_more[close..];
    }
    hashes
}

/// Adds the security headers; API answers get a CSP that allows nothing and are never cached.
pub async fn security_headers(State(headers): State<Arc<SecurityHeaders>>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/") || request.uri().path() == "/api";
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin"));
    if is_api {
        h.insert(header::CONTENT_SECURITY_POLICY, headers.api_csp.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        h.insert(header::CONTENT_SECURITY_POLICY, headers.app_csp.clone());
        if headers.deny_framing {
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
    response
}

/// The app's files, with `index.html` for every other path so client routes (`/ips/1.2.3.4`) load the app.
pub fn app_files(dist: &Path) -> ServeDir<ServeFile> {
    ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")))
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
    fn hashes_only_inline_scripts() {
        let html = r#"<script src="/a.js"></script><script type="module">init()</script>"#;
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert_eq!(inline_script_hashes(html), vec![expected]);
    }
}
