//! Writing to the ClickHouse store: events streamed in large `RowBinary` blocks (the rollups follow by their
//! materialized views), entities as versioned rows that replace older ones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ipscope_api::wire::{Alert, Machine};

use super::{ClickHouse, StoreError};
use crate::store::writes::{evidence_ips, NewEvent, Sink};

/// Rows per inserted block: large blocks are what ClickHouse ingests fastest (a block is ~100 MB at most).
const BLOCK_ROWS: usize = 500_000;

/// A version for a replacing row: nanoseconds since the epoch, strictly increasing within this process, so that of
/// two writes of one entity the later wins.
fn next_version() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// `RowBinary` encoding of the column types ipscope uses.
struct Row<'b>(&'b mut Vec<u8>);

impl Row<'_> {
    /// A length as LEB128.
    fn length(&mut self, len: usize) {
        let mut len = len as u64;
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    /// Fixed-width numbers: little-endian bytes.
    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    fn string(&mut self, s: &str) -> &mut Self {
        self.length(s.len());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    fn nullable(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => {
                self.0.push(0);
                self.string(s)
            }
            None => {
                self.0.push(1);
                self
            }
        }
    }

    fn i64(&mut self, v: i64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    fn i32(&mut self, v: i32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    fn u16(&mut self, v: u16) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }

    fn strings(&mut self, values: &[String]) -> &mut Self {
        self.length(values.len());
        for v in values {
            self.string(v);
        }
        self
    }
}

/// Buffers what an import, the demo or `synth` writes and sends it in blocks. ClickHouse has no transactions:
/// callers check their input first (see `DataStore::write`).
pub struct ClickHouseWriter<'c> {
    ch: &'c ClickHouse,
    events: Vec<u8>,
    event_rows: usize,
    /// Each device's name as last written, to write a `devices` row only when a name is new or changed.
    names: HashMap<String, String>,
    devices: Vec<u8>,
    groups: Vec<u8>,
    machines: Vec<u8>,
    alerts: Vec<u8>,
    alert_ips: Vec<u8>,
}

impl<'c> ClickHouseWriter<'c> {
    /// A writer to `ch`.
    pub fn new(ch: &'c ClickHouse) -> Self {
        ClickHouseWriter {
            ch,
            events: Vec::new(),
            event_rows: 0,
            names: HashMap::new(),
            devices: Vec::new(),
            groups: Vec::new(),
            machines: Vec::new(),
            alerts: Vec::new(),
            alert_ips: Vec::new(),
        }
    }

    fn device_name(&mut self, device_id: &str, name: &str) {
        if self.names.get(device_id).is_some_and(|n| n == name) {
            return;
        }
        Row(&mut self.devices).string(device_id).string(name).u64(next_version());
        self.names.insert(device_id.to_string(), name.to_string());
    }

    /// Sends what is buffered: entities first, then events.
    fn flush(&mut self) -> Result<(), StoreError> {
        for (table, block) in [
            ("devices", &mut self.devices),
            ("device_groups", &mut self.groups),
            ("machines", &mut self.machines),
            ("alerts", &mut self.alerts),
            ("alert_ips", &mut self.alert_ips),
            ("events", &mut self.events),
        ] {
            if !block.is_empty() {
                self.ch.insert(table, "RowBinary", std::mem::take(block))?;
            }
        }
        self.event_rows = 0;
        Ok(())
    }
}

impl Sink for ClickHouseWriter<'_> {
    fn machine(&mut self, m: &Machine) -> Result<(), StoreError> {
        let entity = serde_json::to_string(m).expect("machines serialize");
        let version = next_version();
        Row(&mut self.machines)
            .string(&m.id)
            .string(&m.computer_dns_name)
            .nullable(m.rbac_group_name.as_deref())
            .string(&entity)
            .u64(version);
        self.device_name(&m.id, &m.computer_dns_name);
        self.device_group(&m.id, m.rbac_group_name.as_deref())
    }

    fn alert(&mut self, a: &Alert) -> Result<(), StoreError> {
        let entity = serde_json::to_string(a).expect("alerts serialize");
        let version = next_version();
        let mut ips: Vec<String> = evidence_ips(a).iter().map(ToString::to_string).collect();
        ips.sort_unstable();
        ips.dedup();
        Row(&mut self.alerts)
            .string(&a.id)
            .nullable(a.machine_id.as_deref())
            .i64(a.alert_creation_time.timestamp_millis())
            .nullable(a.rbac_group_name.as_deref())
            .strings(&ips)
            .string(&entity)
            .u64(version);
        for ip in &ips {
            Row(&mut self.alert_ips).string(ip).string(&a.id).u64(version);
        }
        Ok(())
    }

    fn device_group(&mut self, device_id: &str, group: Option<&str>) -> Result<(), StoreError> {
        Row(&mut self.groups).string(device_id).nullable(group).u64(next_version());
        Ok(())
    }

    fn event(&mut self, e: &NewEvent) -> Result<bool, StoreError> {
        self.device_name(&e.device_id, &e.device_name);
        // As SQLite keeps it: a hash only with a file name, and an empty one is none.
        let sha1 = e.file_name.as_ref().and(e.sha1.as_deref()).filter(|s| !s.is_empty());
        Row(&mut self.events)
            .string(&e.remote_ip.to_string())
            .i64(e.timestamp.timestamp_millis())
            .string(&e.device_id)
            .i32(e.local_port.map_or(-1, i32::from))
            .u16(e.remote_port)
            .string(&e.action_type)
            .nullable(e.protocol.as_deref())
            .nullable(e.local_ip.as_deref())
            .nullable(e.remote_url.as_deref())
            .nullable(e.file_name.as_deref())
            .nullable(sha1);
        self.event_rows += 1;
        if self.event_rows >= BLOCK_ROWS {
            self.flush()?;
        }
        Ok(true)
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        self.flush()
    }
}
