//! Writing to the ClickHouse store: events in large blocks of ClickHouse's column-wise `Native` format (the rollups
//! follow by their materialized views), entities as versioned `RowBinary` rows that replace older ones. An `ingest`
//! chunk is one `Native` block with its blob's new position as a last row of its own kind: ClickHouse reads a
//! block whole before writing it, so a chunk is stored with its position or, if its body is cut short, not at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ipscope_api::wire::{Alert, Machine};

use super::{ClickHouse, InFlight, StoreError};
use crate::store::writes::{evidence_ips, ChunkEnd, NewEvent, Sink};

/// Rows per inserted block: large blocks are what ClickHouse ingests fastest (a block is ~100 MB at most).
pub(super) const BLOCK_ROWS: usize = 500_000;

/// Blocks of events being written at once (importing 2M events on 2 cores: one at a time 220,000 events/s, two
/// 250,000, three 243,000; sending each block when the next was full, 163,000).
const BLOCKS_IN_FLIGHT: usize = 2;

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

/// A `Nullable(String)` column: its null map and its values (empty where null), each written whole.
#[derive(Default)]
struct NullableColumn {
    nulls: Vec<u8>,
    values: Vec<u8>,
}

impl NullableColumn {
    fn push(&mut self, value: Option<&str>) {
        self.nulls.push(u8::from(value.is_none()));
        Row(&mut self.values).string(value.unwrap_or_default());
    }
}

/// Events gathered column by column for one `Native` block (the columns of `schema::EVENT_COLUMNS`).
#[derive(Default)]
struct EventColumns {
    rows: usize,
    remote_ip: Vec<u8>,
    ts: Vec<u8>,
    device_id: Vec<u8>,
    local_port: Vec<u8>,
    remote_port: Vec<u8>,
    action_type: Vec<u8>,
    protocol: NullableColumn,
    local_ip: NullableColumn,
    remote_url: NullableColumn,
    file_name: NullableColumn,
    sha1: NullableColumn,
}

impl EventColumns {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        remote_ip: &str,
        ts: i64,
        device_id: &str,
        local_port: i32,
        remote_port: u16,
        action_type: &str,
        nullable: [Option<&str>; 5],
    ) {
        Row(&mut self.remote_ip).string(remote_ip);
        Row(&mut self.ts).i64(ts);
        Row(&mut self.device_id).string(device_id);
        Row(&mut self.local_port).i32(local_port);
        Row(&mut self.remote_port).u16(remote_port);
        Row(&mut self.action_type).string(action_type);
        let [protocol, local_ip, remote_url, file_name, sha1] = nullable;
        self.protocol.push(protocol);
        self.local_ip.push(local_ip);
        self.remote_url.push(remote_url);
        self.file_name.push(file_name);
        self.sha1.push(sha1);
        self.rows += 1;
    }

    /// The block in `Native` format, taking the rows; with `end`, a last row of kind 1 carrying it (the table is
    /// then `events_in` with all its columns).
    fn take_block(&mut self, end: Option<&ChunkEnd>) -> Vec<u8> {
        let events = self.rows;
        if end.is_some() {
            self.push("", 0, "", 0, 0, "", [None; 5]);
        }
        let mut columns = std::mem::take(self);
        let mut out = Vec::new();
        let mut header = Row(&mut out);
        header.length(if end.is_some() { 16 } else { 11 });
        header.length(columns.rows);
        let column = |out: &mut Vec<u8>, name: &str, ty: &str, parts: &mut [&mut Vec<u8>]| {
            Row(out).string(name).string(ty);
            for part in parts {
                out.append(part);
            }
        };
        column(&mut out, "remote_ip", "String", &mut [&mut columns.remote_ip]);
        column(&mut out, "ts", "Int64", &mut [&mut columns.ts]);
        column(&mut out, "device_id", "String", &mut [&mut columns.device_id]);
        column(&mut out, "local_port", "Int32", &mut [&mut columns.local_port]);
        column(&mut out, "remote_port", "UInt16", &mut [&mut columns.remote_port]);
        column(&mut out, "action_type", "String", &mut [&mut columns.action_type]);
        for (name, c) in [
            ("protocol", &mut columns.protocol),
            ("local_ip", &mut columns.local_ip),
            ("remote_url", &mut columns.remote_url),
            ("file_name", &mut columns.file_name),
            ("sha1", &mut columns.sha1),
        ] {
            column(&mut out, name, "Nullable(String)", &mut [&mut c.nulls, &mut c.values]);
        }
        if let Some(end) = end {
            // The event rows' values for these columns (zero bytes: 0, and the empty string), then the position's.
            let zeros = |width: usize| vec![0u8; events * width];
            let (mut kind, mut blob, mut bytes, mut lines, mut version) =
                (zeros(1), zeros(1), zeros(8), zeros(8), zeros(8));
            kind.push(1);
            Row(&mut blob).string(&end.blob);
            Row(&mut bytes).u64(end.read_bytes);
            Row(&mut lines).u64(end.read_lines);
            Row(&mut version).u64(next_version());
            column(&mut out, "kind", "UInt8", &mut [&mut kind]);
            column(&mut out, "blob", "String", &mut [&mut blob]);
            column(&mut out, "read_bytes", "UInt64", &mut [&mut bytes]);
            column(&mut out, "read_lines", "UInt64", &mut [&mut lines]);
            column(&mut out, "version", "UInt64", &mut [&mut version]);
        }
        out
    }
}

/// Buffers what an import, the demo, `synth` or an `ingest` chunk writes and sends it in blocks. ClickHouse has no
/// transactions: callers check their input first (see `DataStore::write`); a chunk is sent whole at `finish`.
pub struct ClickHouseWriter<'c> {
    ch: &'c ClickHouse,
    events: EventColumns,
    /// An `ingest` chunk's end: everything goes in one block at `finish`, with this position.
    chunk: Option<ChunkEnd>,
    /// Each device's name as last written, to write a `devices` row only when a name is new or changed.
    names: HashMap<String, String>,
    devices: Vec<u8>,
    groups: Vec<u8>,
    machines: Vec<u8>,
    alerts: Vec<u8>,
    alert_ips: Vec<u8>,
    /// The blocks of events ClickHouse is writing while the next is read, oldest first.
    in_flight: std::collections::VecDeque<InFlight<'c>>,
}

impl<'c> ClickHouseWriter<'c> {
    /// A writer to `ch`.
    pub fn new(ch: &'c ClickHouse) -> Self {
        ClickHouseWriter {
            ch,
            events: EventColumns::default(),
            chunk: None,
            names: HashMap::new(),
            devices: Vec::new(),
            groups: Vec::new(),
            machines: Vec::new(),
            alerts: Vec::new(),
            alert_ips: Vec::new(),
            in_flight: Default::default(),
        }
    }

    /// A writer of one `ingest` chunk, sent at `finish` with the blob's new position, all or nothing. One server
    /// only: in a cluster the rows of one insert go to several shards.
    pub fn chunk(ch: &'c ClickHouse, end: ChunkEnd) -> Result<Self, StoreError> {
        if let Some(cluster) = ch.cluster() {
            return Err(StoreError::ClickHouse(format!(
                "ingest writes to one ClickHouse server, not through cluster {cluster}: a chunk and its position \
                 are stored together only within one server's insert"
            )));
        }
        Ok(ClickHouseWriter { chunk: Some(end), ..ClickHouseWriter::new(ch) })
    }

    fn device_name(&mut self, device_id: &str, name: &str) {
        if self.names.get(device_id).is_some_and(|n| n == name) {
            return;
        }
        Row(&mut self.devices).string(device_id).string(name).u64(next_version());
        self.names.insert(device_id.to_string(), name.to_string());
    }

    /// Sends what is buffered: entities first (rewriting one is harmless), then events.
    fn flush(&mut self) -> Result<(), StoreError> {
        for (table, block) in [
            ("devices", &mut self.devices),
            ("device_groups", &mut self.groups),
            ("machines", &mut self.machines),
            ("alerts", &mut self.alerts),
            ("alert_ips", &mut self.alert_ips),
        ] {
            if !block.is_empty() {
                self.ch.insert(table, "RowBinary", std::mem::take(block))?;
            }
        }
        if let Some(end) = &self.chunk {
            let block = self.events.take_block(Some(end));
            self.in_flight.push_back(self.ch.start_insert("events_in", "Native", block));
            Ok(())
        } else if self.events.rows > 0 {
            let block = self.events.take_block(None);
            let table = match self.ch.cluster() {
                Some(_) => "events".to_string(),
                None => format!("events_in ({})", super::schema::EVENT_COLUMNS),
            };
            // ClickHouse writes a block on one thread: with two in flight it writes on two while the next is read
            // and encoded (a failure stops the writing two blocks later at most).
            if self.in_flight.len() == BLOCKS_IN_FLIGHT {
                self.in_flight.pop_front().map_or(Ok(()), InFlight::done)?;
            }
            self.in_flight.push_back(self.ch.start_insert(&table, "Native", block));
            Ok(())
        } else {
            Ok(())
        }
    }

    /// Sends what is buffered and returns the inserts ClickHouse is writing (`finish` without the wait).
    pub fn send(mut self) -> Result<Vec<InFlight<'c>>, StoreError> {
        self.flush()?;
        Ok(self.in_flight.drain(..).collect())
    }

    /// Waits until the blocks in flight are written.
    fn written(&mut self) -> Result<(), StoreError> {
        self.in_flight.drain(..).try_for_each(InFlight::done)
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
        self.events.push(
            &e.remote_ip.to_string(),
            e.timestamp.timestamp_millis(),
            &e.device_id,
            e.local_port.map_or(-1, i32::from),
            e.remote_port,
            &e.action_type,
            [e.protocol.as_deref(), e.local_ip.as_deref(), e.remote_url.as_deref(), e.file_name.as_deref(), sha1],
        );
        if self.chunk.is_none() && self.events.rows >= self.ch.block_rows {
            self.flush()?;
        }
        Ok(true)
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        self.flush()?;
        self.written()
    }
}
