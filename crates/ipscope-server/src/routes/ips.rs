//! `/ips/{ip}/...`: what the organization knows about one address.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{Duration, Utc};
use ipscope_api::wire::{Alert, Collection, IpStats, ODATA_METADATA};

use super::{path_ip, query_params, Params};
use crate::error::AppError;
use crate::store::queries;
use crate::AppState;

/// `GET /ips/{ip}/alerts`: alerts whose evidence names the IP; empty for a valid unknown IP.
pub async fn alerts(
    State(state): State<AppState>,
    Path(ip): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Collection<Alert>>, AppError> {
    let ip = path_ip(&ip)?;
    query_params(query, &[])?;
    let alerts = state
        .store
        .call(move |c| queries::alerts_for_ip(c, ip))
        .await?;
    Ok(Json(Collection::new("Alerts", alerts)))
}

/// Default and largest `lookBackHours`: 30 days (Defender's default) and about 6 months.
const DEFAULT_LOOK_BACK_HOURS: i64 = 720;
const MAX_LOOK_BACK_HOURS: i64 = 24 * 183;

/// `GET /ips/{ip}/stats?lookBackHours=N`: distinct devices, first and last seen.
pub async fn stats(
    State(state): State<AppState>,
    Path(ip): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<IpStats>, AppError> {
    let ip = path_ip(&ip)?;
    let params = query_params(query, &["lookBackHours"])?;
    let hours = match params.iter().find(|(k, _)| k == "lookBackHours") {
        None => DEFAULT_LOOK_BACK_HOURS,
        Some((_, v)) => match v.parse::<i64>() {
            Ok(h) if (1..=MAX_LOOK_BACK_HOURS).contains(&h) => h,
            _ => {
                return Err(AppError::BadRequest(format!(
                    "lookBackHours must be a whole number of hours from 1 to {MAX_LOOK_BACK_HOURS}; got '{v}'."
                )))
            }
        },
    };
    let to = Utc::now();
    let from = to - Duration::hours(hours);
    let p = state
        .store
        .call(move |c| queries::ip_prevalence(c, ip, from, to + Duration::milliseconds(1)))
        .await?;
    Ok(Json(IpStats {
        context: format!("{ODATA_METADATA}#microsoft.windowsDefenderATP.api.InOrgIPStats"),
        ip_address: ip.to_string(),
        organization_prevalence: p.n_devices,
        org_first_seen: p.first_seen,
        org_last_seen: p.last_seen,
    }))
}
