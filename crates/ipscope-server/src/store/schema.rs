//! The schema and its migrations, applied in order and recorded in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Each entry migrates from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
-- Devices as named in network events; `machines` holds the full entity when one was imported.
CREATE TABLE devices (
    key         INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL UNIQUE,
    device_name TEXT NOT NULL
);

-- Defender machine entities, stored whole so that every field an import brought is returned.
CREATE TABLE machines (
    id                TEXT PRIMARY KEY,
    computer_dns_name TEXT NOT NULL,
    entity            TEXT NOT NULL
);
CREATE INDEX machines_name ON machines (computer_dns_name);

-- Initiating process files of network events.
CREATE TABLE files (
    key       INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha1      TEXT NOT NULL,
    UNIQUE (file_name, sha1)
);

-- DeviceNetworkEvents, clustered by (remote IP, time): one IP's rows are contiguous, so per-IP
-- queries read only that IP's pages however large the table grows. The key also makes imports idempotent.
CREATE TABLE events (
    remote_ip   TEXT NOT NULL,
    ts          INTEGER NOT NULL,  -- milliseconds since the Unix epoch, UTC
    device      INTEGER NOT NULL REFERENCES devices (key),
    local_port  INTEGER NOT NULL,  -- -1 when the export had none
    remote_port INTEGER NOT NULL,
    action_type TEXT NOT NULL,
    protocol    TEXT,
    local_ip    TEXT,
    remote_url  TEXT,
    file        INTEGER REFERENCES files (key),
    PRIMARY KEY (remote_ip, ts, device, local_port, remote_port, action_type)
) WITHOUT ROWID;
CREATE INDEX events_device_ts ON events (device, ts);

-- Defender alert entities, stored whole.
CREATE TABLE alerts (
    id                  TEXT PRIMARY KEY,
    machine_id          TEXT,
    alert_creation_time INTEGER NOT NULL,  -- milliseconds since the Unix epoch
    entity              TEXT NOT NULL
);
CREATE INDEX alerts_machine ON alerts (machine_id, alert_creation_time);

-- The IPs named in each alert's evidence: the index behind /ips/{ip}/alerts and /alerts/{id}/ips.
CREATE TABLE alert_ips (
    ip       TEXT NOT NULL,
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    PRIMARY KEY (ip, alert_id)
) WITHOUT ROWID;
CREATE INDEX alert_ips_alert ON alert_ips (alert_id);
"#,
    r#"
-- Per (remote IP, UTC day, device) rollup of `events`, kept by `EventWriter`: prevalence and observed devices
-- for a busy IP read one row per device-day instead of one per connection.
CREATE TABLE ip_day_device (
    remote_ip TEXT NOT NULL,
    day       INTEGER NOT NULL,  -- days since the Unix epoch, UTC
    device    INTEGER NOT NULL,
    n         INTEGER NOT NULL,  -- connections
    last_ts   INTEGER NOT NULL,  -- newest connection that day, ms
    PRIMARY KEY (remote_ip, day, device)
) WITHOUT ROWID;
INSERT INTO ip_day_device (remote_ip, day, device, n, last_ts)
    SELECT remote_ip, ts / 86400000, device, COUNT(*), MAX(ts) FROM events GROUP BY 1, 2, 3;
"#,
    r#"
-- Access control. Each device's group (Defender's rbacGroupName) decides who may see what it produced;
-- a device no machine import named has no group and is seen only by callers limited to no group.
ALTER TABLE devices ADD COLUMN rbac_group TEXT;
UPDATE devices SET rbac_group = (SELECT json_extract(m.entity, '$.rbacGroupName') FROM machines m WHERE m.id = devices.device_id);
CREATE INDEX devices_group ON devices (rbac_group);
-- An alert names its own group too: it decides when the alert's machine is unknown.
ALTER TABLE alerts ADD COLUMN rbac_group TEXT;
UPDATE alerts SET rbac_group = json_extract(entity, '$.rbacGroupName');

-- The rollup keeps each device-day's first connection as well, so first seen can be scoped to some devices.
CREATE TABLE ip_day_device_v3 (
    remote_ip TEXT NOT NULL,
    day       INTEGER NOT NULL,  -- days since the Unix epoch, UTC
    device    INTEGER NOT NULL,
    n         INTEGER NOT NULL,  -- connections
    first_ts  INTEGER NOT NULL,  -- oldest connection that day, ms
    last_ts   INTEGER NOT NULL,  -- newest connection that day, ms
    PRIMARY KEY (remote_ip, day, device)
) WITHOUT ROWID;
INSERT INTO ip_day_device_v3 (remote_ip, day, device, n, first_ts, last_ts)
    SELECT remote_ip, ts / 86400000, device, COUNT(*), MIN(ts), MAX(ts) FROM events GROUP BY 1, 2, 3;
DROP TABLE ip_day_device;
ALTER TABLE ip_day_device_v3 RENAME TO ip_day_device;

-- ipscope's own bearer tokens: `ipscope_{id}_{secret}`; only the secret's SHA-256 is kept.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    permissions   TEXT NOT NULL,  -- JSON array of Defender permission names
    device_groups TEXT,           -- JSON array of device group names; NULL: every device
    created       INTEGER NOT NULL,  -- ms
    expires       INTEGER,           -- ms; NULL: never
    last_used     INTEGER,           -- ms
    revoked       INTEGER            -- ms; NULL: in force
);
CREATE UNIQUE INDEX tokens_name_in_force ON tokens (name) WHERE revoked IS NULL;

-- Who looked up what: one row per answered request of an authenticated caller.
CREATE TABLE audit (
    ts       INTEGER NOT NULL,  -- ms
    caller   TEXT NOT NULL,
    endpoint TEXT NOT NULL,     -- the route, e.g. /api/ips/{ip}/alerts
    target   TEXT,              -- the IP or id looked up
    query    TEXT,
    status   INTEGER NOT NULL
);
CREATE INDEX audit_ts ON audit (ts);
"#,
    r#"
-- Where `ingest` is in each blob it follows, stored in the same transaction as the rows it read: it resumes there
-- after a restart or a crash, so each record is read once.
CREATE TABLE ingest_positions (
    blob       TEXT PRIMARY KEY,  -- path relative to the watched folder
    read_bytes INTEGER NOT NULL,  -- bytes of whole lines stored
    read_lines INTEGER NOT NULL   -- lines in them, for error messages
);
"#,
];

/// Brings the database at `path` to the newest schema.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::TooNew { path: path.display().to_string(), found: current, supported });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
