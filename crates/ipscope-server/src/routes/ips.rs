//! `/ips/...`: what the organization knows about one address, and the observed addresses by prefix.

use axum::extract::State;
use axum::Json;
use ipscope_api::ip::{classify, suggestion_prefix};
use ipscope_api::period::Period;
use ipscope_api::wire::{Alert, Collection, IpProfile, IpRef, IpStats, ObservedDevices, Prevalence, ODATA_METADATA};

use super::extract::{
    AlertRead, ApiQuery, Can, IpRead, ListQuery, LookBackQuery, NoQuery, PathIp, PrefixQuery, RangeQuery,
};
use crate::error::AppError;
use crate::AppState;

/// Defender's cap on observed devices.
pub const MAX_DEVICES: usize = 100;
/// Most suggestions per request.
const MAX_SUGGESTIONS: usize = 50;

/// `GET /ips?prefix=10.0&$top=10`: observed addresses starting with `prefix` (search suggestions).
pub async fn suggestions(
    Can(caller, ..): Can<IpRead>,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PrefixQuery>,
) -> Result<Json<Collection<IpRef>>, AppError> {
    let n = query.top(10, MAX_SUGGESTIONS)?;
    let typed = query.prefix.as_deref().unwrap_or("");
    let Some(prefix) = suggestion_prefix(typed) else {
        return Err(AppError::BadRequest(format!(
            "prefix must be the start of an IP address (digits, a-f, '.', ':'), 1 to 45 characters; got '{}'.",
            typed.trim().to_ascii_lowercase()
        )));
    };
    let ips = state.data.ips_with_prefix(prefix, n, caller.scope).await?;
    Ok(Json(Collection::new("Ips", ips.into_iter().map(|id| IpRef { id }).collect())))
}

/// `GET /ips/{ip}/alerts`: alerts whose evidence names the IP; empty for a valid unknown IP.
pub async fn alerts(
    Can(caller, ..): Can<AlertRead>,
    State(state): State<AppState>,
    PathIp(ip): PathIp,
    _: ApiQuery<NoQuery>,
) -> Result<Json<Collection<Alert>>, AppError> {
    let alerts = state.data.alerts_for_ip(ip, caller.scope).await?;
    Ok(Json(Collection::new("Alerts", alerts)))
}

/// `GET /ips/{ip}/stats?lookBackHours=N`: Defender's prevalence statistics.
pub async fn stats(
    Can(caller, ..): Can<IpRead>,
    State(state): State<AppState>,
    PathIp(ip): PathIp,
    ApiQuery(query): ApiQuery<LookBackQuery>,
) -> Result<Json<IpStats>, AppError> {
    let period = query.period()?;
    let p = state.data.prevalence(ip, period, caller.scope).await?;
    Ok(Json(IpStats {
        context: format!("{ODATA_METADATA}#microsoft.windowsDefenderATP.api.InOrgIPStats"),
        ip_address: p.ip_address,
        organization_prevalence: p.organization_prevalence,
        org_first_seen: p.org_first_seen,
        org_last_seen: p.org_last_seen,
    }))
}

/// `GET /ips/{ip}/prevalence?from=..&to=..`: prevalence with a per-day series.
pub async fn prevalence(
    Can(caller, ..): Can<IpRead>,
    State(state): State<AppState>,
    PathIp(ip): PathIp,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Json<Prevalence>, AppError> {
    let period: Period = query.period()?;
    Ok(Json(state.data.prevalence(ip, period, caller.scope).await?))
}

/// `GET /ips/{ip}/devices?from=..&to=..&$top=100`: devices that connected, each with its last connection.
pub async fn devices(
    Can(caller, ..): Can<IpRead>,
    State(state): State<AppState>,
    PathIp(ip): PathIp,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ObservedDevices>, AppError> {
    let period = query.period()?;
    let n = query.top(MAX_DEVICES, MAX_DEVICES)?;
    Ok(Json(state.data.observed_devices(ip, period, n, caller.scope).await?))
}

/// `GET /ips/{ip}/profile`: address class, geolocation and ASN, and where they came from.
pub async fn profile(
    _: Can<IpRead>,
    State(state): State<AppState>,
    PathIp(ip): PathIp,
    _: ApiQuery<NoQuery>,
) -> Result<Json<IpProfile>, AppError> {
    Ok(Json(IpProfile {
        ip_address: ip.to_string(),
        address_class: classify(ip),
        geo: state.geo.lookup(ip),
        sources: state.geo.sources().to_vec(),
    }))
}
