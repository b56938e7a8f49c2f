//! `/ips/...`: what the organization knows about one address, and the observed addresses by prefix.

use axum::extract::State;
use axum::Json;
use ipscope_api::ip::{classify, suggestion_prefix};
use ipscope_api::period::Period;
use ipscope_api::wire::{Alert, Collection, IpProfile, IpRef, IpStats, ObservedDevices, Prevalence, ODATA_METADATA};

use super::{param, path_ip, period, query_params, top, QueryList, Segment};
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::store::{investigation, queries};
use crate::AppState;

/// Defender's cap on observed devices.
pub const MAX_DEVICES: usize = 100;
/// Most suggestions per request.
const MAX_SUGGESTIONS: usize = 50;

/// `GET /ips?prefix=10.0&$top=10`: observed addresses starting with `prefix` (search suggestions).
pub async fn suggestions(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryList,
) -> Result<Json<Collection<IpRef>>, AppError> {
    caller.require(Permission::IpRead)?;
    let params = query_params(query, &["prefix", "$top"])?;
    let n = top(&params, 10, MAX_SUGGESTIONS)?;
    let typed = param(&params, "prefix").unwrap_or("");
    let Some(prefix) = suggestion_prefix(typed) else {
        return Err(AppError::BadRequest(format!(
            "prefix must be the start of an IP address (digits, a-f, '.', ':'), 1 to 45 characters; got '{}'.",
            typed.trim().to_ascii_lowercase()
        )));
    };
    let ips = state.store.call(move |c| queries::ips_with_prefix(c, &prefix, n, &caller.scope)).await?;
    Ok(Json(Collection::new("Ips", ips.into_iter().map(|id| IpRef { id }).collect())))
}

/// `GET /ips/{ip}/alerts`: alerts whose evidence names the IP; empty for a valid unknown IP.
pub async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    Segment(ip): Segment,
    query: QueryList,
) -> Result<Json<Collection<Alert>>, AppError> {
    caller.require(Permission::AlertRead)?;
    let ip = path_ip(&ip)?;
    query_params(query, &[])?;
    let alerts = state.store.call(move |c| queries::alerts_for_ip(c, ip, &caller.scope)).await?;
    Ok(Json(Collection::new("Alerts", alerts)))
}

/// `GET /ips/{ip}/stats?lookBackHours=N`: Defender's prevalence statistics.
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    Segment(ip): Segment,
    query: QueryList,
) -> Result<Json<IpStats>, AppError> {
    caller.require(Permission::IpRead)?;
    let ip = path_ip(&ip)?;
    let params = query_params(query, &["lookBackHours"])?;
    let period = period(&params)?;
    let p = state.store.call(move |c| investigation::prevalence(c, ip, period, &caller.scope)).await?;
    Ok(Json(IpStats {
        context: format!("{ODATA_METADATA}#microsoft.windowsDefenderATP.api.InOrgIPStats"),
        ip_address: p.ip_address,
        organization_prevalence: p.organization_prevalence,
        org_first_seen: p.org_first_seen,
        org_last_seen: p.org_last_seen,
    }))
}

const PERIOD_PARAMS: [&str; 3] = ["lookBackHours", "from", "to"];

/// `GET /ips/{ip}/prevalence?from=..&to=..`: prevalence with a per-day series.
pub async fn prevalence(
    State(state): State<AppState>,
    caller: Caller,
    Segment(ip): Segment,
    query: QueryList,
) -> Result<Json<Prevalence>, AppError> {
    caller.require(Permission::IpRead)?;
    let ip = path_ip(&ip)?;
    let params = query_params(query, &PERIOD_PARAMS)?;
    let period: Period = period(&params)?;
    Ok(Json(state.store.call(move |c| investigation::prevalence(c, ip, period, &caller.scope)).await?))
}

/// `GET /ips/{ip}/devices?from=..&to=..&$top=100`: devices that connected, each with its last connection.
pub async fn devices(
    State(state): State<AppState>,
    caller: Caller,
    Segment(ip): Segment,
    query: QueryList,
) -> Result<Json<ObservedDevices>, AppError> {
    caller.require(Permission::IpRead)?;
    let ip = path_ip(&ip)?;
    let params = query_params(query, &["lookBackHours", "from", "to", "$top"])?;
    let period = period(&params)?;
    let n = top(&params, MAX_DEVICES, MAX_DEVICES)?;
    Ok(Json(state.store.call(move |c| investigation::observed_devices(c, ip, period, n, &caller.scope)).await?))
}

/// `GET /ips/{ip}/profile`: address class, geolocation and ASN, and where they came from.
pub async fn profile(
    State(state): State<AppState>,
    caller: Caller,
    Segment(ip): Segment,
    query: QueryList,
) -> Result<Json<IpProfile>, AppError> {
    caller.require(Permission::IpRead)?;
    let ip = path_ip(&ip)?;
    query_params(query, &[])?;
    Ok(Json(IpProfile {
        ip_address: ip.to_string(),
        address_class: classify(ip),
        geo: state.geo.lookup(ip),
        sources: state.geo.sources().to_vec(),
    }))
}
