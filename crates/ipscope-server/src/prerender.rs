//! `GET /api/prerender/ips/{ip}?{the page's query}`: the IP page drawn on the server, for the page's first script to
//! show before the app's module has loaded, with the API answers it was drawn from, which the app then takes
//! instead of asking again (`index.html`). The app's own components render it (the app crate built natively,
//! `ipscope::prerender`). Each answer comes from the API itself, called with the request's credentials: the same
//! authentication, permissions, device-group scope, audit and per-caller limits as the app's own calls. Not part of
//! the Defender-compatible API (`openapi.json`): the app's page is its only client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use ipscope::config::{parse_config_file, Config, DEFAULT_API_BASE};
use ipscope::prerender::{render, Answer};
use serde::Serialize;
use tower::ServiceExt;

use crate::error::error_response;
use crate::web::WebConfig;

/// The most API calls one rendering may make (the IP page makes four, and `me` with a token).
const MOST_CALLS: usize = 8;

/// The largest API answer taken into a rendering.
const LARGEST_ANSWER: usize = 4 << 20;

/// What the prerender handler needs.
#[derive(Clone)]
pub struct Prerender {
    /// The API's routes, without the prerender route (the app's calls never come back here).
    pub api: Router,
    /// The app's files and configuration; `None` when the server serves no app.
    pub web: Option<Arc<WebConfig>>,
}

/// The rendered page and its answers.
#[derive(Serialize)]
struct Page {
    /// The app's markup for `<body>`; `None` when the caller must sign in first.
    html: Option<String>,
    /// The API's answers the page was drawn from, by path below the API base.
    answers: HashMap<String, WireAnswer>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireAnswer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// `GET /api/prerender/ips/{ip}`.
pub async fn ip_page(State(prerender): State<Prerender>, RawQuery(query): RawQuery, request: Request) -> Response {
    let Some(web) = &prerender.web else {
        return error_response(StatusCode::NOT_FOUND, "NotFound", "This server serves no app to draw.".into());
    };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    let config = Config::new(
        parse_config_file(&web.app_config_text().await),
        web.base_path().to_string(),
        ipscope::config::embed_requested(&query),
    );
    if config.api_base != DEFAULT_API_BASE {
        // The page asks another API: answers from this one would be the wrong ones.
        return Json(Page { html: None, answers: HashMap::new() }).into_response();
    }
    // The page's path as the browser has it (`/ips/2001:db8::1`), below the API's `/prerender`.
    let path = request.uri().path().strip_prefix("/prerender").unwrap_or_default().to_string();
    let token = crate::auth::bearer(&request).ok().flatten().map(str::to_string);
    let first = render_safely(config.clone(), &path, &query, token.clone(), HashMap::new());
    let Some(first) = first else {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "The page could not be drawn.".into(),
        );
    };
    let mut calls = tokio::task::JoinSet::new();
    for call in first.unanswered.into_iter().take(MOST_CALLS) {
        let internal = internal_request(&request, &call);
        let api = prerender.api.clone();
        calls.spawn(async move { (call, ask(api, internal).await) });
    }
    let mut answers = HashMap::new();
    while let Some(done) = calls.join_next().await {
        if let Ok((call, answer)) = done {
            answers.insert(call, answer);
        }
    }
    let wire = answers
        .iter()
        .map(|(call, a)| {
            let wire = WireAnswer {
                status: a.status,
                retry_after: a.retry_after.map(|s| s.to_string()),
                body: String::from_utf8_lossy(&a.body).into_owned(),
            };
            (call.clone(), wire)
        })
        .collect();
    let signed_out = answers.values().any(|a| a.status == 401);
    let html = if signed_out {
        None // the app sends the analyst to sign in; nothing to show before
    } else {
        render_safely(config, &path, &query, token, answers).map(|r| r.html)
    };
    Json(Page { html, answers: wire }).into_response()
}

/// `render`, with a panic in a component answered as a failure rather than ending the connection.
fn render_safely(
    config: Config,
    path: &str,
    query: &str,
    token: Option<String>,
    answers: HashMap<String, Answer>,
) -> Option<ipscope::prerender::Rendered> {
    let rendered =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(config, path, query, token, answers)));
    rendered.map_err(|_| tracing::error!("drawing {path}{query} on the server failed")).ok()
}

/// `GET /api/{call}` as the app would send it: the caller's credentials and address, the original path for the
/// audit.
fn internal_request(outer: &Request, call: &str) -> Request {
    let mut request = Request::get(format!("/{call}")).header(header::ACCEPT, "application/json");
    if let Some(auth) = outer.headers().get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, auth);
    }
    let mut request = request.body(Body::empty()).expect("a valid request");
    if let Some(peer) = outer.extensions().get::<ConnectInfo<SocketAddr>>() {
        request.extensions_mut().insert(*peer);
    }
    // `/tools/ipscope/api/prerender/ips/…` → `/tools/ipscope/api/{call}`, as the app's own call would be logged.
    let original = outer.extensions().get::<OriginalUri>().map_or_else(|| outer.uri().path(), |o| o.0.path());
    let api_base = original.find("/api/").map_or("/api/", |at| &original[..at + 5]);
    if let Ok(uri) = format!("{api_base}{call}").parse() {
        request.extensions_mut().insert(OriginalUri(uri));
    }
    request
}

/// The API's answer to `request`.
async fn ask(api: Router, request: Request) -> Answer {
    let response = match api.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let body = match axum::body::to_bytes(response.into_body(), LARGEST_ANSWER).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => {
            return Answer { status: 500, retry_after: None, body: b"The answer was too large to draw.".to_vec() }
        }
    };
    Answer { status, retry_after, body }
}
