//! Every SQL statement that writes what imports, ingestion, the demo and the benchmark data bring: alerts with the
//! IPs their evidence names, machines, and network events with the per-day rollup (`EventWriter`). Reads are in
//! `queries.rs`.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipscope_api::wire::{Alert, Machine};
use rusqlite::{params, Transaction};

use super::queries::DAY_MS;
use super::StoreError;

/// Inserts or replaces an alert and the IPs its evidence names.
pub fn upsert_alert(tx: &Transaction<'_>, alert: &Alert) -> Result<(), StoreError> {
    let entity = serde_json::to_string(alert).expect("alerts serialize");
    tx.prepare_cached(
        "INSERT INTO alerts (id, machine_id, alert_creation_time, entity, rbac_group) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET machine_id = excluded.machine_id,
             alert_creation_time = excluded.alert_creation_time, entity = excluded.entity,
             rbac_group = excluded.rbac_group",
    )?
    .execute(params![
        alert.id,
        alert.machine_id,
        alert.alert_creation_time.timestamp_millis(),
        entity,
        alert.rbac_group_name
    ])?;
    tx.prepare_cached("DELETE FROM alert_ips WHERE alert_id = ?1")?.execute([&alert.id])?;
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO alert_ips (ip, alert_id) VALUES (?1, ?2)")?;
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

/// Inserts or replaces a machine entity, and registers it as a device (with its device group) so events and
/// machines meet.
pub fn upsert_machine(tx: &Transaction<'_>, machine: &Machine) -> Result<(), StoreError> {
    let entity = serde_json::to_string(machine).expect("machines serialize");
    tx.prepare_cached(
        "INSERT INTO machines (id, computer_dns_name, entity) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET computer_dns_name = excluded.computer_dns_name, entity = excluded.entity",
    )?
    .execute(params![machine.id, machine.computer_dns_name, entity])?;
    let key = device_key(tx, &machine.id, &machine.computer_dns_name)?;
    tx.prepare_cached("UPDATE devices SET rbac_group = ?2 WHERE key = ?1")?
        .execute(params![key, machine.rbac_group_name])?;
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

/// Where an `ingest` chunk leaves its blob.
pub struct ChunkEnd {
    /// The blob's name under the watched folder.
    pub blob: String,
    /// Bytes of the blob read, this chunk included.
    pub read_bytes: u64,
    /// Lines of the blob read, this chunk included.
    pub read_lines: u64,
}

/// Records where `ingest` has read a blob up to (in the transaction that stores that chunk's rows).
pub fn record_position(tx: &Transaction<'_>, end: &ChunkEnd) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO ingest_positions (blob, read_bytes, read_lines) VALUES (?1, ?2, ?3)
         ON CONFLICT (blob) DO UPDATE SET read_bytes = excluded.read_bytes, read_lines = excluded.read_lines",
    )?
    .execute(params![end.blob, end.read_bytes as i64, end.read_lines as i64])?;
    Ok(())
}

/// Where imports, the demo and `synth` write, whichever the store: SQLite inside one transaction
/// ([`EventWriter`]), ClickHouse in blocks (`clickhouse::writes::ClickHouseWriter`). Call `finish` at the end.
pub trait Sink {
    /// Inserts or replaces a machine entity (and its device's name and group).
    fn machine(&mut self, machine: &Machine) -> Result<(), StoreError>;
    /// Inserts or replaces an alert and the IPs its evidence names.
    fn alert(&mut self, alert: &Alert) -> Result<(), StoreError>;
    /// Sets a device's group (as a machine import does) for a device no machine entity describes.
    fn device_group(&mut self, device_id: &str, group: Option<&str>) -> Result<(), StoreError>;
    /// Stores a network event; whether it was new (SQLite skips one stored already).
    fn event(&mut self, event: &NewEvent) -> Result<bool, StoreError>;
    /// Writes what is still buffered.
    fn finish(&mut self) -> Result<(), StoreError>;
}

/// A sink that keeps nothing: reading input through it checks it whole before anything is written.
pub struct Discard;

impl Sink for Discard {
    fn machine(&mut self, _: &Machine) -> Result<(), StoreError> {
        Ok(())
    }
    fn alert(&mut self, _: &Alert) -> Result<(), StoreError> {
        Ok(())
    }
    fn device_group(&mut self, _: &str, _: Option<&str>) -> Result<(), StoreError> {
        Ok(())
    }
    fn event(&mut self, _: &NewEvent) -> Result<bool, StoreError> {
        Ok(true)
    }
    fn finish(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Sink for EventWriter<'_> {
    fn machine(&mut self, machine: &Machine) -> Result<(), StoreError> {
        upsert_machine(self.tx, machine)?;
        // The device's name may have changed: the cache must not skip the next event's rename.
        self.devices.remove(&machine.id);
        Ok(())
    }
    fn alert(&mut self, alert: &Alert) -> Result<(), StoreError> {
        upsert_alert(self.tx, alert)
    }
    fn device_group(&mut self, device_id: &str, group: Option<&str>) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE devices SET rbac_group = ?2 WHERE device_id = ?1")?
            .execute(params![device_id, group])?;
        Ok(())
    }
    fn event(&mut self, event: &NewEvent) -> Result<bool, StoreError> {
        self.insert(event)
    }
    fn finish(&mut self) -> Result<(), StoreError> {
        EventWriter::finish(self)
    }
}

/// Writes events inside one transaction, remembering device and file keys.
/// Call `finish` before committing: the rollup rows are written then (and whenever many have gathered).
pub struct EventWriter<'t> {
    tx: &'t Transaction<'t>,
    devices: HashMap<String, (i64, String)>,
    files: HashMap<(String, String), i64>,
    /// New connections per (remote IP, day, device) not yet added to the rollup: (count, first, last).
    rollup: HashMap<(String, i64, i64), (i64, i64, i64)>,
}

/// Rollup rows gathered before they are written.
const ROLLUP_BATCH: usize = 200_000;

impl<'t> EventWriter<'t> {
    /// A writer on `tx`.
    pub fn new(tx: &'t Transaction<'t>) -> Self {
        EventWriter { tx, devices: HashMap::new(), files: HashMap::new(), rollup: HashMap::new() }
    }

    /// Adds the gathered counts to the rollup; call before committing.
    pub fn finish(&mut self) -> Result<(), StoreError> {
        let mut upsert = self.tx.prepare_cached(
            "INSERT INTO ip_day_device (remote_ip, day, device, n, first_ts, last_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (remote_ip, day, device)
             DO UPDATE SET n = n + excluded.n, first_ts = MIN(first_ts, excluded.first_ts),
                 last_ts = MAX(last_ts, excluded.last_ts)",
        )?;
        let mut rows: Vec<_> = self.rollup.drain().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0)); // in key order: neighbouring pages
        for ((ip, day, device), (n, first, last)) in rows {
            upsert.execute(params![ip, day, device, n, first, last])?;
        }
        Ok(())
    }

    /// Inserts `event` unless an identical one is stored; returns whether it was new.
    pub fn insert(&mut self, event: &NewEvent) -> Result<bool, StoreError> {
        let device = match self.devices.get(&event.device_id) {
            Some((key, name)) if *name == event.device_name => *key,
            _ => {
                let key = device_key(self.tx, &event.device_id, &event.device_name)?;
                self.devices.insert(event.device_id.clone(), (key, event.device_name.clone()));
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
        if n == 1 {
            let ts = event.timestamp.timestamp_millis();
            let key = (event.remote_ip.to_string(), ts.div_euclid(DAY_MS), device);
            let entry = self.rollup.entry(key).or_insert((0, ts, ts));
            *entry = (entry.0 + 1, entry.1.min(ts), entry.2.max(ts));
            if self.rollup.len() >= ROLLUP_BATCH {
                self.finish()?;
            }
        }
        Ok(n == 1)
    }
}
