//! The IP page's and the device page's answers, composed the same way over either store from a few reads
//! ([`EventSource`]): prevalence with its daily series, observed devices, and a device's connections.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ipscope_api::period::Period;
use ipscope_api::wire::{DayCount, DeviceConnection, ObservedDevice, ObservedDevices, Prevalence, ODATA_METADATA};
use rusqlite::Connection;

use super::queries::{self, millis, DeviceDay, EventDetails, DAY_MS};
use super::{Scope, StoreError};

/// (key, connections, last ts) rows summed per key: connections added, the latest last kept; in no particular order.
pub fn sum_by_key(rows: impl IntoIterator<Item = (String, u64, i64)>) -> Vec<(String, u64, i64)> {
    let mut per_key: HashMap<String, (u64, i64)> = HashMap::new();
    for (key, n, last) in rows {
        let e = per_key.entry(key).or_insert((0, i64::MIN));
        e.0 += n;
        e.1 = e.1.max(last);
    }
    per_key.into_iter().map(|(k, (n, last))| (k, n, last)).collect()
}

/// The order of (key, connections, last ts) rows in answers: newest first, ties by key.
pub fn newest_first(a: &(String, u64, i64), b: &(String, u64, i64)) -> std::cmp::Ordering {
    b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0))
}

/// The reads the answers are composed of, as each store does them.
pub trait EventSource {
    /// Device-days of `ip` in `[from, to)` (ms) of the devices in `scope`.
    fn device_days(&self, ip: &str, from: i64, to: i64, scope: &Scope) -> Result<Vec<DeviceDay>, StoreError>;
    /// Per device of `ip` in `[from, to)` in `scope`: (device id, connections, last ts), in no particular order.
    /// By default summed from `device_days`; a store can have its server sum them.
    fn device_totals(
        &self,
        ip: &str,
        from: i64,
        to: i64,
        scope: &Scope,
    ) -> Result<Vec<(String, u64, i64)>, StoreError> {
        Ok(sum_by_key(self.device_days(ip, from, to, scope)?.into_iter().map(|r| (r.device, r.n, r.last_ts))))
    }
    /// For each (remote IP, ts, device id), that connection's details (the first by local port, remote port and
    /// action type when several share the moment), in the same order.
    fn events_at(&self, at: &[(String, i64, String)]) -> Result<Vec<Option<EventDetails>>, StoreError>;
    /// A device's remote addresses in `[from, to)`: (address, connections, last ts), most recent first, then by
    /// address, at most `limit`.
    fn device_remote_ips(
        &self,
        device: &str,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<(String, u64, i64)>, StoreError>;
}

impl EventSource for Connection {
    fn device_days(&self, ip: &str, from: i64, to: i64, scope: &Scope) -> Result<Vec<DeviceDay>, StoreError> {
        queries::device_days(self, ip, from, to, scope)
    }

    fn events_at(&self, at: &[(String, i64, String)]) -> Result<Vec<Option<EventDetails>>, StoreError> {
        at.iter().map(|(ip, ts, device)| queries::event_at(self, ip, *ts, device)).collect()
    }

    fn device_remote_ips(
        &self,
        device: &str,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<(String, u64, i64)>, StoreError> {
        queries::device_remote_ips(self, device, from, to, limit)
    }
}

fn bounds(period: Period) -> (i64, i64) {
    (period.from.timestamp_millis(), period.to.timestamp_millis())
}

/// Devices, connections, first/last seen and the per-day series of `ip` in `period`, over the devices in `scope`.
pub fn prevalence(
    src: &(impl EventSource + ?Sized),
    ip: IpAddr,
    period: Period,
    scope: &Scope,
) -> Result<Prevalence, StoreError> {
    let key = ip.to_string();
    let (from, to) = bounds(period);
    let rows = src.device_days(&key, from, to, scope)?;
    let first = rows.iter().map(|r| r.first_ts).min();
    let last = rows.iter().map(|r| r.last_ts).max();

    let mut devices: Vec<&str> = rows.iter().map(|r| r.device.as_str()).collect();
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
    src: &(impl EventSource + ?Sized),
    ip: IpAddr,
    period: Period,
    top: usize,
    scope: &Scope,
) -> Result<ObservedDevices, StoreError> {
    let key = ip.to_string();
    let (from, to) = bounds(period);
    let mut newest = src.device_totals(&key, from, to, scope)?;
    let count = newest.len() as u64;
    newest.sort_unstable_by(newest_first);
    newest.truncate(top);
    let at: Vec<(String, i64, String)> = newest.iter().map(|(d, _, last)| (key.clone(), *last, d.clone())).collect();
    let details = src.events_at(&at)?;
    let mut value = Vec::with_capacity(newest.len());
    for ((_, connections, last_ts), e) in newest.into_iter().zip(details) {
        let Some(e) = e else {
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

/// The remote addresses a device (a Defender device id) connected to in `period`, most recent first, at most `top`.
pub fn device_connections(
    src: &(impl EventSource + ?Sized),
    device: &str,
    period: Period,
    top: usize,
) -> Result<Vec<DeviceConnection>, StoreError> {
    let (from, to) = bounds(period);
    let remote = src.device_remote_ips(device, from, to, top)?;
    let at: Vec<(String, i64, String)> =
        remote.iter().map(|(ip, _, last)| (ip.clone(), *last, device.to_string())).collect();
    let details = src.events_at(&at)?;
    let mut out = Vec::with_capacity(remote.len());
    for ((remote_ip, connections, last_ts), e) in remote.into_iter().zip(details) {
        let Some(e) = e else {
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
