//! The `/api` router: one module per resource, and the parameter checks they share.

mod alerts;
mod ips;
mod machines;

use std::net::IpAddr;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::error::{error_response, AppError};
use crate::AppState;

/// All API routes, with a JSON 404 for unknown paths.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/ips/{ip}/alerts", get(ips::alerts))
        .route("/ips/{ip}/stats", get(ips::stats))
        .route("/alerts/{id}", get(alerts::alert))
        .route("/alerts/{id}/ips", get(alerts::ips))
        .route("/machines/{id}", get(machines::machine))
        .route("/machines/{id}/alerts", get(machines::alerts))
        .fallback(|| async {
            error_response(
                StatusCode::NOT_FOUND,
                "NotFound",
                "No API endpoint at this path; see the API documentation.".into(),
            )
        })
}

/// Query parameters, as given.
type Params = Vec<(String, String)>;

/// Reads the query string, refusing parameters the endpoint does not know.
fn query_params(
    query: Result<Query<Params>, QueryRejection>,
    allowed: &[&str],
) -> Result<Params, AppError> {
    let Query(params) =
        query.map_err(|e| AppError::BadRequest(format!("The query string is malformed: {e}")))?;
    for (key, _) in &params {
        if !allowed.contains(&key.as_str()) {
            let known = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(AppError::BadRequest(format!(
                "Unknown query parameter '{key}'; this endpoint accepts: {known}."
            )));
        }
    }
    Ok(params)
}

/// Parses the `{ip}` path segment.
fn path_ip(text: &str) -> Result<IpAddr, AppError> {
    ipscope_api::ip::parse_ip_strict(text).map_err(|e| AppError::InvalidIp(e.to_string()))
}

/// Checks an entity id from the path: non-empty, printable, of sane length.
fn path_id<'a>(text: &'a str, what: &str) -> Result<&'a str, AppError> {
    if text.is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "'{text}' is not a valid {what} id."
        )));
    }
    Ok(text)
}
