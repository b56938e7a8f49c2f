//! The `/api` router: one module per resource; `extract` holds the typed extractors they share.

mod alerts;
mod extract;
mod ips;
mod machines;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use ipscope_api::wire::{Health, Me};

use extract::{ApiQuery, NoQuery};

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
    let ready = state.data.check().await;
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
async fn me(caller: Caller, _: ApiQuery<NoQuery>) -> Result<axum::Json<Me>, AppError> {
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
