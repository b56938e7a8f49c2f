//! Every SQL statement that reads (writes are in `writes.rs`). Per-IP reads seek on the `(remote_ip, ts)` key or the
//! `alert_ips` key.

use std::net::IpAddr;

use chrono::{DateTime, TimeZone, Utc};
use ipscope_api::wire::{Alert, Machine};
use rusqlite::{params, Connection, OptionalExtension, Statement};

use super::{Scope, StoreError};

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
    })
}

/// The alerts a statement selects (entity, device group), those in `scope` only.
fn alerts_from(stmt: &mut Statement<'_>, key: &str, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
    let rows = stmt.query_map([key], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)))?;
    let mut alerts = Vec::new();
    for row in rows {
        let (entity, group) = row?;
        if scope.allows(group.as_deref()) {
            alerts.push(from_json(&entity)?);
        }
    }
    Ok(alerts)
}

/// An alert's device group: its machine's, or the alert's own when the machine is unknown.
const ALERT_GROUP: &str =
    "COALESCE((SELECT d.rbac_group FROM devices d WHERE d.device_id = a.machine_id), a.rbac_group)";

/// Alerts whose evidence names `ip`, newest first, those of devices in `scope` only.
pub fn alerts_for_ip(conn: &Connection, ip: IpAddr, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT a.entity, {ALERT_GROUP} FROM alert_ips x JOIN alerts a ON a.id = x.alert_id
         WHERE x.ip = ?1 ORDER BY a.alert_creation_time DESC, a.id"
    ))?;
    alerts_from(&mut stmt, &ip.to_string(), scope)
}

/// One alert, if it exists and its device is in `scope`.
pub fn alert(conn: &Connection, id: &str, scope: &Scope) -> Result<Option<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT a.entity, {ALERT_GROUP} FROM alerts a WHERE a.id = ?1"))?;
    Ok(alerts_from(&mut stmt, id, scope)?.pop())
}

/// The IPs named in an alert's evidence, or `None` when the alert does not exist or is outside `scope`.
pub fn alert_ips(conn: &Connection, id: &str, scope: &Scope) -> Result<Option<Vec<String>>, StoreError> {
    let group: Option<Option<String>> = conn
        .prepare_cached(&format!("SELECT {ALERT_GROUP} FROM alerts a WHERE a.id = ?1"))?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if !group.is_some_and(|g| scope.allows(g.as_deref())) {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached("SELECT ip FROM alert_ips WHERE alert_id = ?1 ORDER BY ip")?;
    let ips = stmt.query_map([id], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    Ok(Some(ips))
}

/// A machine by id or by name, if its device group is in `scope`. A device only known from network events gets a
/// minimal entity (and has no group).
pub fn machine(conn: &Connection, id_or_name: &str, scope: &Scope) -> Result<Option<Machine>, StoreError> {
    let entity: Option<String> = conn
        .prepare_cached("SELECT entity FROM machines WHERE id = ?1 OR computer_dns_name = ?1 COLLATE NOCASE LIMIT 1")?
        .query_row([id_or_name], |r| r.get(0))
        .optional()?;
    if let Some(entity) = entity {
        let machine: Machine = from_json(&entity)?;
        return Ok(scope.allows(machine.rbac_group_name.as_deref()).then_some(machine));
    }
    let device: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT device_id, device_name, rbac_group FROM devices WHERE device_id = ?1 OR device_name = ?1 LIMIT 1",
        )?
        .query_row([id_or_name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(device.filter(|(_, _, group)| scope.allows(group.as_deref())).map(|(id, name, _)| minimal_machine(id, name)))
}

pub(crate) fn minimal_machine(id: String, computer_dns_name: String) -> Machine {
    Machine {
        id,
        computer_dns_name,
        first_seen: None,
        last_seen: None,
        os_platform: None,
        version: None,
        os_build: None,
        os_architecture: None,
        last_ip_address: None,
        last_external_ip_address: None,
        health_status: None,
        risk_score: None,
        exposure_level: None,
        device_value: None,
        rbac_group_id: None,
        rbac_group_name: None,
        onboarding_status: None,
        is_aad_joined: None,
        aad_device_id: None,
        machine_tags: Vec::new(),
        ip_addresses: Vec::new(),
    }
}

/// Alerts on a machine, newest first, those in `scope` only.
pub fn machine_alerts(conn: &Connection, machine_id: &str, scope: &Scope) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT a.entity, {ALERT_GROUP} FROM alerts a WHERE a.machine_id = ?1 ORDER BY a.alert_creation_time DESC, a.id"
    ))?;
    alerts_from(&mut stmt, machine_id, scope)
}

pub fn millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Connections of one device to one IP on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDay {
    /// Days since the epoch.
    pub day: i64,
    /// Defender device id.
    pub device: String,
    /// Connections.
    pub n: u64,
    /// Oldest connection, ms.
    pub first_ts: i64,
    /// Newest connection, ms.
    pub last_ts: i64,
}

impl DeviceDay {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceDay> {
        Ok(DeviceDay {
            day: r.get(0)?,
            device: r.get(1)?,
            n: r.get::<_, i64>(2)? as u64,
            first_ts: r.get(3)?,
            last_ts: r.get(4)?,
        })
    }
}

/// The rows of `table` (aliased `t`, with a `device` key column) joined to their device (`d`), limited to devices in
/// the groups of the JSON array `?4` when scoped. `CROSS JOIN` keeps SQLite's loop order: the IP's rows first, one
/// device-key seek each, so the cost stays proportional to the IP's rows, whatever the groups' sizes.
fn scoped_rows(select: &str, table: &str, filter: &str, scope: Option<&str>) -> String {
    let groups = if scope.is_some() { " AND d.rbac_group IN (SELECT value FROM json_each(?4))" } else { "" };
    format!("SELECT {select} FROM {table} t CROSS JOIN devices d ON d.key = t.device WHERE {filter}{groups}")
}

/// Device-days of `ip` in `[from, to)` (ms) of the devices in `scope`: whole days from the rollup, the partial days
/// at either end from `events`.
pub fn device_days(
    conn: &Connection,
    ip: &str,
    from: i64,
    to: i64,
    scope: &Scope,
) -> Result<Vec<DeviceDay>, StoreError> {
    let groups = scope.sql();
    let mut rows = Vec::new();
    let run = |sql: String, lo: i64, hi: i64, rows: &mut Vec<DeviceDay>| -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(&sql)?;
        let found = match &groups {
            None => stmt.query_map(params![ip, lo, hi], DeviceDay::from_row)?,
            Some(g) => stmt.query_map(params![ip, lo, hi, g], DeviceDay::from_row)?,
        };
        for row in found {
            rows.push(row?);
        }
        Ok(())
    };
    let split = DaySplit::new(from, to);
    for (lo, hi) in split.partial() {
        let sql = scoped_rows(
            "t.ts / 86400000, d.device_id, COUNT(*), MIN(t.ts), MAX(t.ts)",
            "events",
            "t.remote_ip = ?1 AND t.ts >= ?2 AND t.ts < ?3",
            groups.as_deref(),
        );
        run(format!("{sql} GROUP BY 1, t.device"), lo, hi, &mut rows)?;
    }
    if let Some((first, end)) = split.whole_days() {
        let sql = scoped_rows(
            "t.day, d.device_id, t.n, t.first_ts, t.last_ts",
            "ip_day_device",
            "t.remote_ip = ?1 AND t.day >= ?2 AND t.day < ?3",
            groups.as_deref(),
        );
        run(sql, first, end, &mut rows)?;
    }
    Ok(rows)
}

/// A period `[from, to)` (ms) cut into what a per-day rollup answers (whole UTC days) and the partial days at
/// either end, which only the events answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySplit {
    /// Whole days `[first, end)` (days since the epoch); empty when `first >= end`.
    days: (i64, i64),
    /// The millisecond ranges before and after the whole days (either may be empty).
    head: (i64, i64),
    tail: (i64, i64),
}

impl DaySplit {
    /// Splits `[from, to)`.
    pub fn new(from: i64, to: i64) -> DaySplit {
        let first = from.div_euclid(DAY_MS) + i64::from(from.rem_euclid(DAY_MS) != 0);
        let end = to.div_euclid(DAY_MS);
        if first >= end {
            return DaySplit { days: (0, 0), head: (from, to), tail: (0, 0) };
        }
        DaySplit { days: (first, end), head: (from, first * DAY_MS), tail: (end * DAY_MS, to) }
    }

    /// The whole days, if any.
    pub fn whole_days(&self) -> Option<(i64, i64)> {
        (self.days.0 < self.days.1).then_some(self.days)
    }

    /// The non-empty partial ranges, in ms.
    pub fn partial(&self) -> impl Iterator<Item = (i64, i64)> {
        [self.head, self.tail].into_iter().filter(|(lo, hi)| lo < hi)
    }
}

/// The stored details of one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails {
    /// Defender device id.
    pub device_id: String,
    /// Device name.
    pub device_name: String,
    /// Remote address.
    pub remote_ip: String,
    /// Remote port.
    pub remote_port: u16,
    /// Protocol.
    pub protocol: Option<String>,
    /// Action type.
    pub action_type: String,
    /// Local address.
    pub local_ip: Option<String>,
    /// Remote URL.
    pub remote_url: Option<String>,
    /// Initiating process file name.
    pub file_name: Option<String>,
    /// Its SHA1.
    pub sha1: Option<String>,
}

/// The connection of `device` (a Defender device id) to `ip` at `ts`, by a primary-key seek; of several at that
/// moment, the first by local port, remote port and action type.
pub fn event_at(conn: &Connection, ip: &str, ts: i64, device: &str) -> Result<Option<EventDetails>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT d.device_id, d.device_name, e.remote_ip, e.remote_port, e.protocol, e.action_type, e.local_ip,
                    e.remote_url, f.file_name, NULLIF(f.sha1, '')
             FROM events e JOIN devices d ON d.key = e.device LEFT JOIN files f ON f.key = e.file
             WHERE e.remote_ip = ?1 AND e.ts = ?2 AND d.device_id = ?3
             ORDER BY e.local_port, e.remote_port, e.action_type LIMIT 1",
        )?
        .query_row(params![ip, ts, device], |r| {
            Ok(EventDetails {
                device_id: r.get(0)?,
                device_name: r.get(1)?,
                remote_ip: r.get(2)?,
                remote_port: r.get::<_, i64>(3)? as u16,
                protocol: r.get(4)?,
                action_type: r.get(5)?,
                local_ip: r.get(6)?,
                remote_url: r.get(7)?,
                file_name: r.get(8)?,
                sha1: r.get(9)?,
            })
        })
        .optional()?)
}

/// Addresses a scoped suggestion search examines at most: an address no device in the scope saw costs a check.
pub(crate) const MAX_SCOPED_CANDIDATES: usize = 500;

/// Observed addresses starting with `prefix`, in text order, by one index seek per address; for a scope, only
/// addresses its devices connected to (among the first 500 addresses with the prefix).
pub fn ips_with_prefix(
    conn: &Connection,
    prefix: &str,
    limit: usize,
    scope: &Scope,
) -> Result<Vec<String>, StoreError> {
    let groups = scope.sql();
    let mut visible = conn.prepare_cached(
        "SELECT 1 FROM ip_day_device t CROSS JOIN devices d ON d.key = t.device
         WHERE t.remote_ip = ?1 AND d.rbac_group IN (SELECT value FROM json_each(?2)) LIMIT 1",
    )?;
    let mut seen_by_scope = |ip: &str| -> Result<bool, StoreError> {
        match &groups {
            None => Ok(true),
            Some(g) => Ok(visible.query_row(params![ip, g], |_| Ok(())).optional()?.is_some()),
        }
    };
    let mut candidates = 0;
    // Addresses are ASCII [0-9a-f.:]; '~' sorts after all of them.
    let upper = format!("{prefix}~");
    let mut stmt = conn.prepare_cached(
        "SELECT remote_ip FROM events WHERE remote_ip > ?1 AND remote_ip < ?2 ORDER BY remote_ip LIMIT 1",
    )?;
    let mut out: Vec<String> = Vec::new();
    let exact: Option<String> = conn
        .prepare_cached("SELECT remote_ip FROM events WHERE remote_ip = ?1 LIMIT 1")?
        .query_row([prefix], |r| r.get(0))
        .optional()?;
    if let Some(ip) = exact {
        candidates += 1;
        if seen_by_scope(&ip)? {
            out.push(ip);
        }
    }
    let mut after = prefix.to_string();
    while out.len() < limit && (groups.is_none() || candidates < MAX_SCOPED_CANDIDATES) {
        // `> after` seeks past every row of the current address to the next one.
        let next: Option<String> = stmt.query_row(params![after, upper], |r| r.get(0)).optional()?;
        match next {
            Some(ip) if ip.starts_with(prefix) => {
                candidates += 1;
                after = ip.clone();
                if seen_by_scope(&ip)? {
                    out.push(ip);
                }
            }
            _ => break,
        }
    }
    Ok(out)
}

/// The Defender device id and device group for a device id or name.
pub fn device_of(conn: &Connection, id_or_name: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT device_id, rbac_group FROM devices WHERE device_id = ?1 OR device_name = ?1 COLLATE NOCASE LIMIT 1",
        )?
        .query_row([id_or_name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Remote addresses of one device (a Defender device id) in `[from, to)` (ms): (address, connections, last ts),
/// most recent first (then by address).
pub fn device_remote_ips(
    conn: &Connection,
    device: &str,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<(String, u64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT remote_ip, COUNT(*), MAX(ts) AS last FROM events
         WHERE device = (SELECT key FROM devices WHERE device_id = ?1) AND ts >= ?2 AND ts < ?3
         GROUP BY remote_ip ORDER BY last DESC, remote_ip LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![device, from, to, limit as i64], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
