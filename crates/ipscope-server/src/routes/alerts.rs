//! `/alerts/{id}` and `/alerts/{id}/ips`.

use axum::extract::State;
use axum::Json;
use ipscope_api::wire::{Alert, Collection, IpRef};

use super::{path_id, query_params, QueryList, Segment};
use crate::error::AppError;
use crate::store::queries;
use crate::AppState;

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("No alert with id '{id}'."))
}

/// `GET /alerts/{id}`: one alert with its evidence.
pub async fn alert(
    State(state): State<AppState>,
    Segment(id): Segment,
    query: QueryList,
) -> Result<Json<Alert>, AppError> {
    path_id(&id, "alert")?;
    query_params(query, &[])?;
    let key = id.clone();
    let alert = state.store.call(move |c| queries::alert(c, &key)).await?;
    alert.map(Json).ok_or_else(|| not_found(&id))
}

/// `GET /alerts/{id}/ips`: the IPs the alert's evidence names; 404 for an unknown alert.
pub async fn ips(
    State(state): State<AppState>,
    Segment(id): Segment,
    query: QueryList,
) -> Result<Json<Collection<IpRef>>, AppError> {
    path_id(&id, "alert")?;
    query_params(query, &[])?;
    let key = id.clone();
    let ips = state.store.call(move |c| queries::alert_ips(c, &key)).await?.ok_or_else(|| not_found(&id))?;
    Ok(Json(Collection::new("Ips", ips.into_iter().map(|id| IpRef { id }).collect())))
}
