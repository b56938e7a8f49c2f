//! The IP page's answers, composed from the per-IP queries: prevalence with its daily series, and observed devices.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ipscope_api::period::Period;
use ipscope_api::wire::{DayCount, DeviceConnection, ObservedDevice, ObservedDevices, Prevalence, ODATA_METADATA};
use rusqlite::Connection;

use super::queries::{self, millis, DAY_MS};
use super::{Scope, StoreError};

fn bounds(period: Period) -> (i64, i64) {
    (period.from.timestamp_millis(), period.to.timestamp_millis())
}

/// Devices, connections, first/last seen and the per-day series of `ip` in `period`, over the devices in `scope`.
pub fn prevalence(conn: &Connection, ip: IpAddr, period: Period, scope: &Scope) -> Result<Prevalence, StoreError> {
    let key = ip.to_string();
    let (from, to) = bounds(period);
    let rows = queries::device_days(conn, &key, from, to, scope)?;
    let first = rows.iter().map(|r| r.first_ts).min();
    let last = rows.iter().map(|r| r.last_ts).max();

    let mut devices: Vec<i64> = rows.iter().map(|r| r.device).collect();
    devices.sort_unstable();
    devices.dedup();
    let mut per_day: HashMap<i64, (u64, u64)> = HashMap::new();
    for r in &rows {
        let e = per_day.entry(r.day).or_default();
        e.0 += 1; // each day comes from one source, grouped by device: one row per device
        e.1 += r.n;
    }
    let days = (from.div_euclid(DAY_MS)..=(to - 1).div_euclid(DAY_MS))
        .map(|day| {
            let (devices, connections) = per_day.get(&day).copied().unwrap_or_default();
            DayCount { date: day_date(day), devices, connections }
        })
        .collect();
    Ok(Prevalence {
        ip_address: key,
        from: period.from,
        to: period.to,
        organization_prevalence: devices.len() as u64,
        connections: rows.iter().map(|r| r.n).sum(),
        org_first_seen: first.map(millis),
        org_last_seen: last.map(millis),
        days,
    })
}

fn day_date(day: i64) -> NaiveDate {
    (DateTime::<Utc>::UNIX_EPOCH + Duration::days(day)).date_naive()
}

/// The devices in `scope` that connected to `ip` in `period`, most recent first, at most `top`, each with its last
/// connection.
pub fn observed_devices(
    conn: &Connection,
    ip: IpAddr,
    period: Period,
    top: usize,
    scope: &Scope,
) -> Result<ObservedDevices, StoreError> {
    let key = ip.to_string();
    let (from, to) = bounds(period);
    let mut per_device: HashMap<i64, (u64, i64)> = HashMap::new();
    for r in queries::device_days(conn, &key, from, to, scope)? {
        let e = per_device.entry(r.device).or_insert((0, i64::MIN));
        e.0 += r.n;
        e.1 = e.1.max(r.last_ts);
    }
    let count = per_device.len() as u64;
    let mut newest: Vec<(i64, u64, i64)> = per_device.into_iter().map(|(d, (n, last))| (d, n, last)).collect();
    newest.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    newest.truncate(top);
    let mut value = Vec::with_capacity(newest.len());
    for (device, connections, last_ts) in newest {
        let Some(e) = queries::event_at(conn, &key, last_ts, device)? else {
            continue;
        };
        value.push(ObservedDevice {
            machine_id: e.device_id,
            computer_dns_name: e.device_name,
            last_seen: millis(last_ts),
            connections,
            remote_port: e.remote_port,
            protocol: e.protocol,
            action_type: e.action_type,
            initiating_process_file_name: e.file_name,
            initiating_process_sha1: e.sha1,
            local_ip: e.local_ip,
            remote_url: e.remote_url,
        });
    }
    Ok(ObservedDevices {
        context: format!("{ODATA_METADATA}#ObservedDevices"),
        count,
        ip_address: key,
        from: period.from,
        to: period.to,
        value,
    })
}

/// The remote addresses a device connected to in `period`, most recent first, at most `top`.
pub fn device_connections(
    conn: &Connection,
    device: i64,
    period: Period,
    top: usize,
) -> Result<Vec<DeviceConnection>, StoreError> {
    let (from, to) = bounds(period);
    let mut out = Vec::new();
    for (remote_ip, connections, last_ts) in queries::device_remote_ips(conn, device, from, to, top)? {
        let Some(e) = queries::event_at(conn, &remote_ip, last_ts, device)? else {
            continue;
        };
        out.push(DeviceConnection {
            remote_ip,
            last_seen: millis(last_ts),
            connections,
            remote_port: e.remote_port,
            protocol: e.protocol,
            action_type: e.action_type,
            initiating_process_file_name: e.file_name,
            remote_url: e.remote_url,
        });
    }
    Ok(out)
}
