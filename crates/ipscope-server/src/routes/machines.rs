//! `/machines/{id}` and `/machines/{id}/alerts`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use ipscope_api::wire::{Alert, Collection, Machine};

use super::{path_id, query_params, Params};
use crate::error::AppError;
use crate::store::queries;
use crate::AppState;

async fn find(state: &AppState, id: &str) -> Result<Machine, AppError> {
    let key = id.to_string();
    state
        .store
        .call(move |c| queries::machine(c, &key))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No machine with id or name '{id}'.")))
}

/// `GET /machines/{id}`: a machine by id or computer name.
pub async fn machine(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Machine>, AppError> {
    path_id(&id, "machine")?;
    query_params(query, &[])?;
    find(&state, &id).await.map(Json)
}

/// `GET /machines/{id}/alerts`: the machine's alerts; 404 for an unknown machine.
pub async fn alerts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Collection<Alert>>, AppError> {
    path_id(&id, "machine")?;
    query_params(query, &[])?;
    let machine = find(&state, &id).await?;
    let alerts = state
        .store
        .call(move |c| queries::machine_alerts(c, &machine.id))
        .await?;
    Ok(Json(Collection::new("Alerts", alerts)))
}
