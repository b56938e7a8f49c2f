//! `AppError`: every way a request can fail, mapped to a status code and Defender's error body.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ipscope_api::wire::{ErrorDetail, ErrorResponse};

use crate::store::StoreError;

/// A failed request. The message of a 4xx says what to fix; a 500 says nothing internal.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The IP in the path is not an address (400 `InvalidIpAddress`).
    #[error("{0}")]
    InvalidIp(String),
    /// A parameter is missing, unknown or out of range (400 `BadRequest`).
    #[error("{0}")]
    BadRequest(String),
    /// No valid access token (401 `Unauthorized`, with `WWW-Authenticate: Bearer`).
    #[error("{message}")]
    Unauthenticated {
        /// What is wrong and what to send.
        message: String,
        /// Whether a token was given (then it is `error="invalid_token"`).
        token_given: bool,
    },
    /// The token lacks the endpoint's permission (403 `Forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// The entity does not exist, or the caller may not see it (404 `NotFound`).
    #[error("{0}")]
    NotFound(String),
    /// Something the server depends on is down, e.g. the identity provider (503, details logged only).
    #[error("{0}")]
    Unavailable(String),
    /// The store failed (500, details logged only).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::InvalidIp(_) => (StatusCode::BAD_REQUEST, "InvalidIpAddress"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            AppError::Unauthenticated { .. } => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            AppError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }
}

/// A short id for correlating an error answer with the server log.
pub fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START
        .get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    format!("{start:x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Builds the Defender error body.
pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let target = request_id();
    let body = ErrorResponse { error: ErrorDetail { code: code.to_string(), message, target } };
    (status, Json(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            AppError::Store(e) => {
                tracing::error!("store failure: {e}");
                "The server could not read its database; try again, and see the server log if it persists.".to_string()
            }
            AppError::Unavailable(e) => {
                tracing::error!("{e}");
                "The server cannot check access tokens right now; try again, and see the server log if it persists."
                    .to_string()
            }
            other => other.to_string(),
        };
        let mut response = error_response(status, code, message.clone());
        if let AppError::Unauthenticated { token_given, .. } = &self {
            let challenge = if *token_given {
                let description: String =
                    message.chars().filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"').collect();
                format!("Bearer realm=\"ipscope\", error=\"invalid_token\", error_description=\"{description}\"")
            } else {
                "Bearer realm=\"ipscope\"".to_string()
            };
            let value = HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer"));
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The middleware on `/api`: an error answer without a JSON body (the router's `405`, anything from a layer that
/// answers in plain text) gets Defender's error body, keeping the headers that tell the client what to do.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("GET");
            ("MethodNotAllowed", format!("This endpoint answers {allowed} only."))
        }
        s if s.is_server_error() => ("InternalServerError", "The server failed; see its log.".to_string()),
        s => ("BadRequest", format!("The request was refused ({s}).")),
    };
    let mut answer = error_response(status, code, message);
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}
