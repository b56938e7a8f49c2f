//! Every SQL statement the server runs. Per-IP reads seek on the `(remote_ip, ts)` key or the `alert_ips` key.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, TimeZone, Utc};
use ipscope_api::wire::{Alert, Machine};
use rusqlite::{params, Connection, OptionalExtension, Statement, Transaction};

use super::StoreError;

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(e),
        ))
    })
}

fn alerts_from(stmt: &mut Statement<'_>, key: &str) -> Result<Vec<Alert>, StoreError> {
    let rows = stmt.query_map([key], |row| row.get::<_, String>(0))?;
    rows.map(|entity| from_json(&entity?)).collect()
}

/// Alerts whose evidence names `ip`, newest first.
pub fn alerts_for_ip(conn: &Connection, ip: IpAddr) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.entity FROM alert_ips x JOIN alerts a ON a.id = x.alert_id
         WHERE x.ip = ?1 ORDER BY a.alert_creation_time DESC, a.id",
    )?;
    alerts_from(&mut stmt, &ip.to_string())
}

/// One alert, if it exists.
pub fn alert(conn: &Connection, id: &str) -> Result<Option<Alert>, StoreError> {
    let entity: Option<String> = conn
        .prepare_cached("SELECT entity FROM alerts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    entity.map(|e| from_json(&e)).transpose()
}

/// The IPs named in an alert's evidence, or `None` when the alert does not exist.
pub fn alert_ips(conn: &Connection, id: &str) -> Result<Option<Vec<String>>, StoreError> {
    let exists: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM alerts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare_cached("SELECT ip FROM alert_ips WHERE alert_id = ?1 ORDER BY ip")?;
    let ips = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(ips))
}

/// A machine by id or by name. A device only known from network events gets a minimal entity.
pub fn machine(conn: &Connection, id_or_name: &str) -> Result<Option<Machine>, StoreError> {
    let entity: Option<String> = conn
        .prepare_cached("SELECT entity FROM machines WHERE id = ?1 OR computer_dns_name = ?1 COLLATE NOCASE LIMIT 1")?
        .query_row([id_or_name], |r| r.get(0))
        .optional()?;
    if let Some(entity) = entity {
        return from_json(&entity).map(Some);
    }
    let device: Option<(String, String)> = conn
        .prepare_cached("SELECT device_id, device_name FROM devices WHERE device_id = ?1 OR device_name = ?1 LIMIT 1")?
        .query_row([id_or_name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(device.map(|(id, name)| minimal_machine(id, name)))
}

fn minimal_machine(id: String, computer_dns_name: String) -> Machine {
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
        rbac_group_name: None,
        onboarding_status: None,
        is_aad_joined: None,
        aad_device_id: None,
        machine_tags: Vec::new(),
        ip_addresses: Vec::new(),
    }
}

/// Alerts on a machine, newest first.
pub fn machine_alerts(conn: &Connection, machine_id: &str) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT entity FROM alerts WHERE machine_id = ?1 ORDER BY alert_creation_time DESC, id",
    )?;
    alerts_from(&mut stmt, machine_id)
}

/// Prevalence of an IP in `[from, to)`: distinct devices, first and last connection.
pub struct IpPrevalence {
    /// Distinct devices.
    pub n_devices: u64,
    /// First connection in the period.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last connection in the period.
    pub last_seen: Option<DateTime<Utc>>,
}

/// Counts the devices that connected to `ip` in `[from, to)` and finds the first and last connection.
pub fn ip_prevalence(
    conn: &Connection,
    ip: IpAddr,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<IpPrevalence, StoreError> {
    let ip = ip.to_string();
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
    let (first, last): (Option<i64>, Option<i64>) = conn
        .prepare_cached(
            "SELECT MIN(ts), MAX(ts) FROM events WHERE remote_ip = ?1 AND ts >= ?2 AND ts < ?3",
        )?
        .query_row(params![ip, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let n_devices: i64 = conn
        .prepare_cached("SELECT COUNT(DISTINCT device) FROM events WHERE remote_ip = ?1 AND ts >= ?2 AND ts < ?3")?
        .query_row(params![ip, from, to], |r| r.get(0))?;
    Ok(IpPrevalence {
        n_devices: n_devices as u64,
        first_seen: first.map(millis),
        last_seen: last.map(millis),
    })
}

fn millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Inserts or replaces an alert and the IPs its evidence names.
pub fn upsert_alert(tx: &Transaction<'_>, alert: &Alert) -> Result<(), StoreError> {
    let entity = serde_json::to_string(alert).expect("alerts serialize");
    tx.prepare_cached(
        "INSERT INTO alerts (id, machine_id, alert_creation_time, entity) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET machine_id = excluded.machine_id,
             alert_creation_time = excluded.alert_creation_time, entity = excluded.entity",
    )?
    .execute(params![
        alert.id,
        alert.machine_id,
        alert.alert_creation_time.timestamp_millis(),
        entity
    ])?;
    tx.prepare_cached("DELETE FROM alert_ips WHERE alert_id = ?1")?
        .execute([&alert.id])?;
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO alert_ips (ip, alert_id) VALUES (?1, ?2)")?;
    for ip in evidence_ips(alert) {
        insert.execute(params![ip.to_string(), alert.id])?;
    }
    Ok(())
}

/// The valid IP addresses in an alert's evidence, canonicalised.
pub fn evidence_ips(alert: &Alert) -> Vec<IpAddr> {
    alert
        .evidence
        .iter()
        .filter_map(|e| e.ip_address.as_deref())
        .filter_map(|text| ipscope_api::ip::parse_ip_strict(text.trim()).ok())
        .collect()
}

/// Inserts or replaces a machine entity, and registers it as a device so events and machines meet.
pub fn upsert_machine(tx: &Transaction<'_>, machine: &Machine) -> Result<(), StoreError> {
    let entity = serde_json::to_string(machine).expect("machines serialize");
    tx.prepare_cached(
        "INSERT INTO machines (id, computer_dns_name, entity) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET computer_dns_name = excluded.computer_dns_name, entity = excluded.entity",
    )?
    .execute(params![machine.id, machine.computer_dns_name, entity])?;
    device_key(tx, &machine.id, &machine.computer_dns_name)?;
    Ok(())
}

fn device_key(tx: &Transaction<'_>, device_id: &str, device_name: &str) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO devices (device_id, device_name) VALUES (?1, ?2)
             ON CONFLICT (device_id) DO UPDATE SET device_name = excluded.device_name RETURNING key",
        )?
        .query_row(params![device_id, device_name], |r| r.get(0))?)
}

fn file_key(tx: &Transaction<'_>, file_name: &str, sha1: &str) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO files (file_name, sha1) VALUES (?1, ?2)
             ON CONFLICT (file_name, sha1) DO UPDATE SET file_name = excluded.file_name RETURNING key",
        )?
        .query_row(params![file_name, sha1], |r| r.get(0))?)
}

/// One network event as imported (a `DeviceNetworkEvents` row).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Defender device id.
    pub device_id: String,
    /// Device name.
    pub device_name: String,
    /// `ConnectionSuccess`, `ConnectionFailed`, `InboundConnectionAccepted`...
    pub action_type: String,
    /// Remote address.
    pub remote_ip: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// Remote URL, if the sensor saw one.
    pub remote_url: Option<String>,
    /// Local address.
    pub local_ip: Option<String>,
    /// Local port.
    pub local_port: Option<u16>,
    /// `Tcp`, `Udp`...
    pub protocol: Option<String>,
    /// File name of the initiating process.
    pub file_name: Option<String>,
    /// SHA1 of the initiating process file.
    pub sha1: Option<String>,
}

/// Writes events inside one transaction, remembering device and file keys.
pub struct EventWriter<'t> {
    tx: &'t Transaction<'t>,
    devices: HashMap<String, (i64, String)>,
    files: HashMap<(String, String), i64>,
}

impl<'t> EventWriter<'t> {
    /// A writer on `tx`.
    pub fn new(tx: &'t Transaction<'t>) -> Self {
        EventWriter {
            tx,
            devices: HashMap::new(),
            files: HashMap::new(),
        }
    }

    /// Inserts `event` unless an identical one is stored; returns whether it was new.
    pub fn insert(&mut self, event: &NewEvent) -> Result<bool, StoreError> {
        let device = match self.devices.get(&event.device_id) {
            Some((key, name)) if *name == event.device_name => *key,
            _ => {
                let key = device_key(self.tx, &event.device_id, &event.device_name)?;
                self.devices
                    .insert(event.device_id.clone(), (key, event.device_name.clone()));
                key
            }
        };
        let file = match &event.file_name {
            Some(name) => {
                let sha1 = event.sha1.clone().unwrap_or_default();
                let k = (name.clone(), sha1);
                match self.files.get(&k) {
                    Some(key) => Some(*key),
                    None => {
                        let key = file_key(self.tx, &k.0, &k.1)?;
                        self.files.insert(k, key);
                        Some(key)
                    }
                }
            }
            None => None,
        };
        let n = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO events (remote_ip, ts, device, local_port, remote_port, action_type,
                     protocol, local_ip, remote_url, file)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                event.remote_ip.to_string(),
                event.timestamp.timestamp_millis(),
                device,
                event.local_port.map_or(-1, i64::from),
                event.remote_port,
                event.action_type,
                event.protocol,
                event.local_ip,
                event.remote_url,
                file,
            ])?;
        Ok(n == 1)
    }
}
