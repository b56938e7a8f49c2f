//! `/alerts/{id}` and `/alerts/{id}/ips`.

use axum::extract::State;
use axum::Json;
use ipscope_api::wire::{Alert, Collection, IpRef};

use super::extract::{AlertId, AlertRead, ApiQuery, Can, IpRead, NoQuery};
use crate::error::AppError;
use crate::AppState;

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("No alert with id '{id}'."))
}

/// `GET /alerts/{id}`: one alert with its evidence.
pub async fn alert(
    Can(caller, ..): Can<AlertRead>,
    State(state): State<AppState>,
    AlertId(id): AlertId,
    _: ApiQuery<NoQuery>,
) -> Result<Json<Alert>, AppError> {
    let alert = state.data.alert(id.clone(), caller.scope).await?;
    alert.map(Json).ok_or_else(|| not_found(&id))
}

/// `GET /alerts/{id}/ips`: the IPs the alert's evidence names; 404 for an unknown alert or one whose device the
/// caller may not see.
pub async fn ips(
    Can(caller, ..): Can<IpRead>,
    State(state): State<AppState>,
    AlertId(id): AlertId,
    _: ApiQuery<NoQuery>,
) -> Result<Json<Collection<IpRef>>, AppError> {
    let ips = state.data.alert_ips(id.clone(), caller.scope).await?.ok_or_else(|| not_found(&id))?;
    Ok(Json(Collection::new("Ips", ips.into_iter().map(|id| IpRef { id }).collect())))
}
