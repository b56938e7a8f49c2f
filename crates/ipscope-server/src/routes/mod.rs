//! The `/api` router: one module per resource, and the parameter checks they share.

mod alerts;
mod ips;
mod machines;

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use ipscope_api::period::{parse_period, Period};

use ipscope_api::wire::{Health, Me};

use crate::auth::Caller;
use crate::error::{error_response, AppError};
use crate::store::Scope;
use crate::AppState;

/// The routes that need a bearer token; each handler checks the permission it needs.
pub fn protected_router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/ips", get(ips::suggestions))
        .route("/ips/{ip}/alerts", get(ips::alerts))
        .route("/ips/{ip}/stats", get(ips::stats))
        .route("/ips/{ip}/devices", get(ips::devices))
        .route("/ips/{ip}/prevalence", get(ips::prevalence))
        .route("/ips/{ip}/profile", get(ips::profile))
        .route("/alerts/{id}", get(alerts::alert))
        .route("/alerts/{id}/ips", get(alerts::ips))
        .route("/machines/{id}", get(machines::machine))
        .route("/machines/{id}/alerts", get(machines::alerts))
        .route("/machines/{id}/connections", get(machines::connections))
}

/// All API routes: the OpenAPI document (public) and `protected`, with a JSON 404 for unknown paths.
pub fn api_router(protected: Router<AppState>) -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi)).route("/health", get(health)).merge(protected).fallback(
        || async {
            error_response(
                StatusCode::NOT_FOUND,
                "NotFound",
                "No API endpoint at this path; see the API documentation.".into(),
            )
        },
    )
}

/// `GET /health` (public, for load balancers): the server answers, and its database is in place and answers.
async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ready = match state.store.check_file() {
        Err(e) => Err(e),
        Ok(()) => state
            .store
            .call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    match ready {
        Ok(()) => axum::Json(Health { status: "ok".into() }).into_response(),
        Err(e) => {
            tracing::error!("not ready: {e}");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Not ready: the database cannot be read (see the server log).".into(),
            )
        }
    }
}

/// `GET /me`: who the token stands for, what it may do and which device groups it sees.
async fn me(caller: Caller, query: QueryList) -> Result<axum::Json<Me>, AppError> {
    query_params(query, &[])?;
    Ok(axum::Json(Me {
        name: caller.name,
        permissions: caller.permissions,
        device_groups: match caller.scope {
            Scope::All => None,
            Scope::Groups(groups) => Some(groups.to_vec()),
        },
    }))
}

/// The OpenAPI 3.0 document of this API.
pub const OPENAPI: &str = include_str!("../../api/openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Query parameters, as given.
type Params = Vec<(String, String)>;

/// The query string's parameters; a malformed query string is a Defender-style 400.
pub struct QueryList(Params);

impl<S: Send + Sync> FromRequestParts<S> for QueryList {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Query::<Params>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(QueryList(params)),
            Err(e) => Err(AppError::BadRequest(format!("The query string is malformed: {}", e.body_text()))),
        }
    }
}

/// The one `{ip}` or `{id}` segment of the path; a malformed one is a Defender-style 400.
pub struct Segment(String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Segment(value)),
            Err(e) => Err(AppError::BadRequest(format!("The path is malformed: {}", e.body_text()))),
        }
    }
}

/// Refuses parameters the endpoint does not know, and any given twice (which one would count is a guess).
fn query_params(QueryList(params): QueryList, allowed: &[&str]) -> Result<Params, AppError> {
    for (i, (key, _)) in params.iter().enumerate() {
        if !allowed.contains(&key.as_str()) {
            let known = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
            return Err(AppError::BadRequest(format!(
                "Unknown query parameter '{key}'; this endpoint accepts: {known}."
            )));
        }
        if params[..i].iter().any(|(earlier, _)| earlier == key) {
            return Err(AppError::BadRequest(format!("The query parameter '{key}' is given more than once.")));
        }
    }
    Ok(params)
}

/// The value of parameter `name`, if given (`query_params` has made sure it is given at most once).
fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The period from `lookBackHours` or `from`/`to` (default: the last 30 days).
fn period(params: &Params) -> Result<Period, AppError> {
    parse_period(param(params, "lookBackHours"), param(params, "from"), param(params, "to"), Utc::now())
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// `$top`: how many entities to return, from 1 to `max`.
fn top(params: &Params, default: usize, max: usize) -> Result<usize, AppError> {
    match param(params, "$top") {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!("$top must be a whole number from 1 to {max}; got '{v}'."))),
        },
    }
}

/// Parses the `{ip}` path segment.
fn path_ip(text: &str) -> Result<IpAddr, AppError> {
    ipscope_api::ip::parse_ip_strict(text).map_err(|e| AppError::InvalidIp(e.to_string()))
}

/// Checks an entity id from the path: non-empty, printable, of sane length.
fn path_id<'a>(text: &'a str, what: &str) -> Result<&'a str, AppError> {
    if text.is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!("'{text}' is not a valid {what} id.")));
    }
    Ok(text)
}
