//! `/machines/{id}`, its alerts and its network connections.

use axum::extract::State;
use axum::Json;
use ipscope_api::wire::{Alert, Collection, DeviceConnection, Machine};

use super::{path_id, period, query_params, top, QueryList, Segment};
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::store::Scope;
use crate::store::{investigation, queries};
use crate::AppState;

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("No machine with id or name '{id}'."))
}

/// The machine `id` (or name), if the caller may see it; else 404, as for an unknown machine.
async fn find(state: &AppState, id: &str, scope: &Scope) -> Result<Machine, AppError> {
    let key = id.to_string();
    let scope = scope.clone();
    state.store.call(move |c| queries::machine(c, &key, &scope)).await?.ok_or_else(|| not_found(id))
}

/// `GET /machines/{id}`: a machine by id or computer name.
pub async fn machine(
    State(state): State<AppState>,
    caller: Caller,
    Segment(id): Segment,
    query: QueryList,
) -> Result<Json<Machine>, AppError> {
    caller.require(Permission::MachineRead)?;
    path_id(&id, "machine")?;
    query_params(query, &[])?;
    find(&state, &id, &caller.scope).await.map(Json)
}

/// `GET /machines/{id}/alerts`: the machine's alerts; 404 for an unknown machine.
pub async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    Segment(id): Segment,
    query: QueryList,
) -> Result<Json<Collection<Alert>>, AppError> {
    caller.require(Permission::MachineRead)?;
    path_id(&id, "machine")?;
    query_params(query, &[])?;
    let machine = find(&state, &id, &caller.scope).await?;
    let alerts = state.store.call(move |c| queries::machine_alerts(c, &machine.id, &caller.scope)).await?;
    Ok(Json(Collection::new("Alerts", alerts)))
}

/// Most connections per request.
const MAX_CONNECTIONS: usize = 500;

/// `GET /machines/{id}/connections?from=..&to=..&$top=100`: the remote addresses it connected to, newest first.
pub async fn connections(
    State(state): State<AppState>,
    caller: Caller,
    Segment(id): Segment,
    query: QueryList,
) -> Result<Json<Collection<DeviceConnection>>, AppError> {
    caller.require(Permission::MachineRead)?;
    path_id(&id, "machine")?;
    let params = query_params(query, &["lookBackHours", "from", "to", "$top"])?;
    let period = period(&params)?;
    let n = top(&params, 100, MAX_CONNECTIONS)?;
    let key = id.clone();
    let found = state
        .store
        .call(move |c| match queries::device_key_of(c, &key)? {
            Some((device, group)) if caller.scope.allows(group.as_deref()) => {
                investigation::device_connections(c, device, period, n).map(Some)
            }
            Some(_) => Ok(None),
            None => Ok(queries::machine(c, &key, &caller.scope)?.map(|_| Vec::new())),
        })
        .await?;
    found.map(|v| Json(Collection::new("DeviceConnections", v))).ok_or_else(|| not_found(&id))
}
