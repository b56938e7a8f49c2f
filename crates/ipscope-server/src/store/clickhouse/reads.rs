//! Every read of the ClickHouse store, answering exactly as `store::queries` does over SQLite. Per-IP reads use the
//! `(remote_ip, ...)` sorting keys; replaced entities are read with `FINAL`; a scope is a `GLOBAL IN` over the
//! device groups (so it also holds across shards).

use std::collections::HashMap;
use std::net::IpAddr;

use ipscope_api::wire::{Alert, Machine};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{ClickHouse, Sql};
use crate::store::investigation::{newest_first, sum_by_key, EventSource};
use crate::store::queries::{minimal_machine, DaySplit, DeviceDay, EventDetails, MAX_SCOPED_CANDIDATES};
use crate::store::writes::evidence_ips;
use crate::store::{Scope, StoreError};

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::ClickHouse(format!("a stored entity does not read back: {e}")))
}

/// `AND device_id GLOBAL IN (devices of the scope's groups)`, or nothing for every device.
fn scoped(sql: Sql, scope: &Scope) -> Sql {
    match scope {
        Scope::All => sql,
        Scope::Groups(groups) => sql
            .push(" AND device_id GLOBAL IN (SELECT device_id FROM device_groups FINAL WHERE rbac_group IN ")
            .strings(groups.iter().map(String::as_str))
            .push(")"),
    }
}

#[derive(Deserialize)]
struct StoredAlert {
    machine_id: Option<String>,
    rbac_group: Option<String>,
    entity: String,
}

#[derive(Deserialize)]
struct DeviceGroup {
    device_id: String,
    rbac_group: Option<String>,
}

/// The device groups of `devices` that have one recorded (a machine import named the device).
fn groups_of(ch: &ClickHouse, devices: &[&str]) -> Result<HashMap<String, Option<String>>, StoreError> {
    if devices.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<DeviceGroup> = ch.rows(
        &Sql::new("SELECT device_id, rbac_group FROM device_groups FINAL WHERE device_id IN ")
            .strings(devices.iter().copied()),
    )?;
    Ok(rows.into_iter().map(|r| (r.device_id, r.rbac_group)).collect())
}

/// The stored alerts a query selects (newest first), those in `scope` only. An alert's group is its machine's when
/// a machine import named one, else the alert's own.
fn alerts_in_scope(ch: &ClickHouse, sql: Sql, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
    let stored: Vec<StoredAlert> = ch.rows(&sql.push(" ORDER BY created DESC, id"))?;
    let machines: Vec<&str> = stored.iter().filter_map(|a| a.machine_id.as_deref()).collect();
    let groups = groups_of(ch, &machines)?;
    let mut alerts = Vec::new();
    for a in &stored {
        let machine_group = a.machine_id.as_ref().and_then(|m| groups.get(m)).cloned().flatten();
        if scope.allows(machine_group.or_else(|| a.rbac_group.clone()).as_deref()) {
            alerts.push(from_json(&a.entity)?);
        }
    }
    Ok(alerts)
}

const ALERT_COLUMNS: &str = "SELECT machine_id, rbac_group, entity FROM alerts FINAL WHERE ";

/// Alerts whose evidence names `ip`, newest first, those of devices in `scope` only. The `alert_ips` index may hold
/// an address a re-imported alert no longer names; the alert's own list decides.
pub fn alerts_for_ip(ch: &ClickHouse, ip: IpAddr, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
    let ip = ip.to_string();
    let sql = Sql::new(ALERT_COLUMNS)
        .push("id GLOBAL IN (SELECT alert_id FROM alert_ips WHERE ip = ")
        .string(&ip)
        .push(") AND has(ips, ")
        .string(&ip)
        .push(")");
    alerts_in_scope(ch, sql, scope)
}

/// One alert, if it exists and its device is in `scope`.
pub fn alert(ch: &ClickHouse, id: &str, scope: &Scope) -> Result<Option<Alert>, StoreError> {
    Ok(alerts_in_scope(ch, Sql::new(ALERT_COLUMNS).push("id = ").string(id), scope)?.pop())
}

/// The IPs named in an alert's evidence, or `None` when the alert does not exist or is outside `scope`: the ones
/// stored with it, read from its entity.
pub fn alert_ips(ch: &ClickHouse, id: &str, scope: &Scope) -> Result<Option<Vec<String>>, StoreError> {
    Ok(alert(ch, id, scope)?.map(|a| {
        let mut ips: Vec<String> = evidence_ips(&a).iter().map(ToString::to_string).collect();
        ips.sort_unstable();
        ips.dedup();
        ips
    }))
}

/// Alerts on a machine, newest first, those in `scope` only.
pub fn machine_alerts(ch: &ClickHouse, machine_id: &str, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
    alerts_in_scope(ch, Sql::new(ALERT_COLUMNS).push("machine_id = ").string(machine_id), scope)
}

#[derive(Deserialize)]
struct Entity {
    entity: String,
}

#[derive(Deserialize)]
struct DeviceName {
    device_id: String,
    name: String,
}

/// Devices by their newest name: `SELECT device_id, name FROM (...) WHERE` follows.
const DEVICE_NAMES: &str =
    "SELECT device_id, name FROM (SELECT device_id, argMax(device_name, version) AS name FROM devices GROUP BY device_id) WHERE ";

/// A machine by id or by name, if its device group is in `scope`. A device only known from network events gets a
/// minimal entity (and has no group).
pub fn machine(ch: &ClickHouse, id_or_name: &str, scope: &Scope) -> Result<Option<Machine>, StoreError> {
    let found: Vec<Entity> = ch.rows(
        &Sql::new("SELECT entity FROM machines FINAL WHERE id = ")
            .string(id_or_name)
            .push(" OR lower(computer_dns_name) = lower(")
            .string(id_or_name)
            .push(") ORDER BY id LIMIT 1"),
    )?;
    if let Some(e) = found.into_iter().next() {
        let machine: Machine = from_json(&e.entity)?;
        return Ok(scope.allows(machine.rbac_group_name.as_deref()).then_some(machine));
    }
    let Some((device, group)) = device_named(ch, id_or_name, false)? else {
        return Ok(None);
    };
    Ok(scope.allows(group.as_deref()).then(|| minimal_machine(device.device_id, device.name)))
}

/// The device with this id or (newest) name, in any ASCII case with `any_case`, and its group.
fn device_named(
    ch: &ClickHouse,
    id_or_name: &str,
    any_case: bool,
) -> Result<Option<(DeviceName, Option<String>)>, StoreError> {
    let name = if any_case { " OR lower(name) = lower(" } else { " OR name = (" };
    let devices: Vec<DeviceName> = ch.rows(
        &Sql::new(DEVICE_NAMES)
            .push("device_id = ")
            .string(id_or_name)
            .push(name)
            .string(id_or_name)
            .push(") ORDER BY device_id LIMIT 1"),
    )?;
    let Some(device) = devices.into_iter().next() else {
        return Ok(None);
    };
    let group = groups_of(ch, &[&device.device_id])?.remove(&device.device_id).flatten();
    Ok(Some((device, group)))
}

/// The Defender device id and device group for a device id or name.
pub fn device_of(ch: &ClickHouse, id_or_name: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
    Ok(device_named(ch, id_or_name, true)?.map(|(device, group)| (device.device_id, group)))
}

#[derive(Deserialize)]
struct Address {
    remote_ip: String,
}

/// Observed addresses starting with `prefix`, in text order; for a scope, only addresses its devices connected to
/// (among the first 500 addresses with the prefix, as on SQLite).
pub fn ips_with_prefix(ch: &ClickHouse, prefix: &str, limit: usize, scope: &Scope) -> Result<Vec<String>, StoreError> {
    // Addresses are ASCII [0-9a-f.:]; '~' sorts after all of them.
    let upper = format!("{prefix}~");
    let range = |sql: Sql| sql.push("remote_ip >= ").string(prefix).push(" AND remote_ip < ").string(&upper);
    let sql = match scope {
        Scope::All => range(Sql::new("SELECT remote_ip FROM ip_day_device WHERE "))
            .push(" GROUP BY remote_ip ORDER BY remote_ip LIMIT ")
            .int(limit as i64),
        Scope::Groups(_) => {
            let candidates = range(Sql::new("SELECT remote_ip FROM (SELECT remote_ip FROM ip_day_device WHERE "))
                .push(" GROUP BY remote_ip ORDER BY remote_ip LIMIT ")
                .int(MAX_SCOPED_CANDIDATES as i64)
                .push(") WHERE remote_ip GLOBAL IN (SELECT remote_ip FROM ip_day_device WHERE ");
            scoped(range(candidates), scope).push(") ORDER BY remote_ip LIMIT ").int(limit as i64)
        }
    };
    Ok(ch.rows::<Address>(&sql)?.into_iter().map(|a| a.remote_ip).collect())
}

/// The reads of one answer over `[from, to)` (ms), to be sent at once: the partial days at either end from the events
/// (`events`, ending in `WHERE column = `), the whole days from a rollup (`rollup`, the same), each for `key`, limited to
/// `scope`'s devices when given, then `group_by`.
fn period_reads(
    (from, to): (i64, i64),
    key: &str,
    events: &str,
    rollup: &str,
    scope: Option<&Scope>,
    group_by: &str,
) -> Vec<Sql> {
    let limited = |sql: Sql| match scope {
        Some(scope) => scoped(sql, scope),
        None => sql,
    };
    let split = DaySplit::new(from, to);
    let partial: Vec<(i64, i64)> = split.partial().collect();
    let mut parts = Vec::new();
    if !partial.is_empty() {
        parts.push(limited(in_ranges(Sql::new(events).string(key).push(" AND "), &partial)).push(group_by));
    }
    if let Some((first, end)) = split.whole_days() {
        let sql = Sql::new(rollup).string(key).push(" AND day >= ").int(first).push(" AND day < ").int(end);
        parts.push(limited(sql).push(group_by));
    }
    parts
}

/// `(ts >= a AND ts < b) OR ...` in parentheses: `ts` in any of the ranges.
fn in_ranges(mut sql: Sql, ranges: &[(i64, i64)]) -> Sql {
    for (i, (lo, hi)) in ranges.iter().enumerate() {
        sql = sql.push(if i == 0 { "((ts >= " } else { " OR (ts >= " }).int(*lo).push(" AND ts < ").int(*hi).push(")");
    }
    sql.push(")")
}

#[derive(Deserialize)]
struct DeviceTotal {
    device_id: String,
    n: u64,
    last_ts: i64,
}

#[derive(Deserialize)]
struct DayRow {
    day: i64,
    device_id: String,
    n: u64,
    first_ts: i64,
    last_ts: i64,
}

#[derive(Deserialize)]
struct RemoteRow {
    remote_ip: String,
    n: u64,
    last_ts: i64,
}

#[derive(Deserialize)]
struct EventRow {
    remote_ip: String,
    ts: i64,
    device_id: String,
    remote_port: u16,
    protocol: Option<String>,
    action_type: String,
    local_ip: Option<String>,
    remote_url: Option<String>,
    file_name: Option<String>,
    sha1: Option<String>,
}

impl EventSource for ClickHouse {
    fn device_days(&self, ip: &str, from: i64, to: i64, scope: &Scope) -> Result<Vec<DeviceDay>, StoreError> {
        let parts = period_reads(
            (from, to),
            ip,
            "SELECT toInt64(intDiv(ts, 86400000)) AS day, device_id, count() AS n, min(ts) AS first_ts,
                    max(ts) AS last_ts FROM events WHERE remote_ip = ",
            "SELECT toInt64(day) AS day, device_id, countMerge(n) AS n, minMerge(first_ts) AS first_ts,
                    maxMerge(last_ts) AS last_ts FROM ip_day_device WHERE remote_ip = ",
            Some(scope),
            " GROUP BY day, device_id",
        );
        // The parts concurrently: each is a read of its own table.
        let rows: Vec<DayRow> = self.rows_of_each(&parts)?.into_iter().flatten().collect();
        Ok(rows
            .into_iter()
            .map(|r| DeviceDay { day: r.day, device: r.device_id, n: r.n, first_ts: r.first_ts, last_ts: r.last_ts })
            .collect())
    }

    fn device_totals(
        &self,
        ip: &str,
        from: i64,
        to: i64,
        scope: &Scope,
    ) -> Result<Vec<(String, u64, i64)>, StoreError> {
        // Summed by the server: a busy address has a row per device-day, its answer one per device.
        let parts = period_reads(
            (from, to),
            ip,
            "SELECT device_id, count() AS n, max(ts) AS last_ts FROM events WHERE remote_ip = ",
            "SELECT device_id, countMerge(n) AS n, maxMerge(last_ts) AS last_ts FROM ip_day_device WHERE remote_ip = ",
            Some(scope),
            " GROUP BY device_id",
        );
        let rows = self.rows_of_each::<DeviceTotal>(&parts)?.into_iter().flatten();
        Ok(sum_by_key(rows.map(|r| (r.device_id, r.n, r.last_ts))))
    }

    fn events_at(&self, at: &[(String, i64, String)]) -> Result<Vec<Option<EventDetails>>, StoreError> {
        if at.is_empty() {
            return Ok(Vec::new());
        }
        let mut ips: Vec<&str> = at.iter().map(|(ip, _, _)| ip.as_str()).collect();
        ips.sort_unstable();
        ips.dedup();
        let mut events = Sql::new(
            "SELECT remote_ip, ts, device_id, remote_port, protocol, action_type, local_ip, remote_url, file_name, sha1
             FROM events WHERE remote_ip IN ",
        )
        .strings(ips.iter().copied())
        .push(" AND (remote_ip, ts, device_id) IN (");
        for (i, (ip, ts, device)) in at.iter().enumerate() {
            events = events
                .push(if i == 0 { "(" } else { ", (" })
                .string(ip)
                .push(", ")
                .int(*ts)
                .push(", ")
                .string(device)
                .push(")");
        }
        let events = events.push(
            ") ORDER BY remote_ip, ts, device_id, local_port, remote_port, action_type LIMIT 1 BY remote_ip, ts, device_id",
        );
        // Each device's newest name, read at the same time (a join in the events query costs more than this read).
        let mut devices: Vec<&str> = at.iter().map(|(_, _, d)| d.as_str()).collect();
        devices.sort_unstable();
        devices.dedup();
        let names = Sql::new("SELECT device_id, argMax(device_name, version) AS name FROM devices WHERE device_id IN ")
            .strings(devices)
            .push(" GROUP BY device_id");
        let (rows, names): (Vec<EventRow>, Vec<DeviceName>) = self.rows_of_both(events, names)?;
        let names: HashMap<String, String> = names.into_iter().map(|n| (n.device_id, n.name)).collect();
        let mut found: HashMap<(String, i64, String), EventRow> =
            rows.into_iter().map(|r| ((r.remote_ip.clone(), r.ts, r.device_id.clone()), r)).collect();
        Ok(at
            .iter()
            .map(|key| {
                found.remove(key).map(|r| EventDetails {
                    device_name: names.get(&r.device_id).cloned().unwrap_or_default(),
                    device_id: r.device_id,
                    remote_ip: r.remote_ip,
                    remote_port: r.remote_port,
                    protocol: r.protocol,
                    action_type: r.action_type,
                    local_ip: r.local_ip,
                    remote_url: r.remote_url,
                    file_name: r.file_name,
                    sha1: r.sha1,
                })
            })
            .collect())
    }

    fn device_remote_ips(
        &self,
        device: &str,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<(String, u64, i64)>, StoreError> {
        let parts = period_reads(
            (from, to),
            device,
            "SELECT remote_ip, count() AS n, max(ts) AS last_ts FROM events WHERE device_id = ",
            "SELECT remote_ip, countMerge(n) AS n, maxMerge(last_ts) AS last_ts FROM device_day_ip WHERE device_id = ",
            None,
            " GROUP BY remote_ip",
        );
        let rows = self.rows_of_each::<RemoteRow>(&parts)?.into_iter().flatten();
        let mut out = sum_by_key(rows.map(|r| (r.remote_ip, r.n, r.last_ts)));
        out.sort_unstable_by(newest_first);
        out.truncate(limit);
        Ok(out)
    }
}
