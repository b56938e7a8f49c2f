//! `/machines/{id}`, its alerts and its network connections.

use axum::extract::State;
use axum::Json;
use ipscope_api::wire::{Alert, Collection, DeviceConnection, Machine};

use super::extract::{ApiQuery, Can, ListQuery, MachineId, MachineRead, NoQuery};
use crate::error::AppError;
use crate::store::Scope;
use crate::AppState;

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("No machine with id or name '{id}'."))
}

/// The machine `id` (or name), if the caller may see it; else 404, as for an unknown machine.
async fn find(state: &AppState, id: &str, scope: &Scope) -> Result<Machine, AppError> {
    state.data.machine(id.to_string(), scope.clone()).await?.ok_or_else(|| not_found(id))
}

/// `GET /machines/{id}`: a machine by id or computer name.
pub async fn machine(
    Can(caller, ..): Can<MachineRead>,
    State(state): State<AppState>,
    MachineId(id): MachineId,
    _: ApiQuery<NoQuery>,
) -> Result<Json<Machine>, AppError> {
    find(&state, &id, &caller.scope).await.map(Json)
}

/// `GET /machines/{id}/alerts`: the machine's alerts; 404 for an unknown machine.
pub async fn alerts(
    Can(caller, ..): Can<MachineRead>,
    State(state): State<AppState>,
    MachineId(id): MachineId,
    _: ApiQuery<NoQuery>,
) -> Result<Json<Collection<Alert>>, AppError> {
    let machine = find(&state, &id, &caller.scope).await?;
    let alerts = state.data.machine_alerts(machine.id, caller.scope).await?;
    Ok(Json(Collection::new("Alerts", alerts)))
}

/// Most connections per request.
const MAX_CONNECTIONS: usize = 500;

/// `GET /machines/{id}/connections?from=..&to=..&$top=100`: the remote addresses it connected to, newest first.
pub async fn connections(
    Can(caller, ..): Can<MachineRead>,
    State(state): State<AppState>,
    MachineId(id): MachineId,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Collection<DeviceConnection>>, AppError> {
    let period = query.period()?;
    let n = query.top(100, MAX_CONNECTIONS)?;
    let found = state.data.machine_connections(id.clone(), period, n, caller.scope).await?;
    found.map(|v| Json(Collection::new("DeviceConnections", v))).ok_or_else(|| not_found(&id))
}
