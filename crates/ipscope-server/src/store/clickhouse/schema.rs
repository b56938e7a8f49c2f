//! ipscope's ClickHouse tables and their migrations, recorded in `ipscope_schema`.
//!
//! - `events`: every connection, a `MergeTree` partitioned by month and ordered by `(remote_ip, ts, device_id)`, so
//!   one IP's rows are contiguous however large the table grows.
//! - `ip_day_device` (per remote IP, UTC day and device) and `device_day_ip` (per device, day and remote IP): rollups
//!   kept by materialized views as the rows arrive, `AggregatingMergeTree`s of count/min/max states, read with
//!   `-Merge` and `GROUP BY` so that answers are right before background merges happen.
//! - On one server, events are written to `events_in`, a `Null` table (it keeps nothing) whose materialized views
//!   write `events`, both rollups and `ingest_positions` (where `ingest` has read each blob up to, a row of its own
//!   kind). So one insert of one block writes a chunk of a blob and its new position together, or, if the body
//!   arrives cut short, nothing: that is what makes `ingest` exactly-once here. The views all read `events_in`
//!   rather than the rollups reading `events`, because views on a view's target fire on current releases and not
//!   on 18.16.
//! - `alerts`, `alert_ips`, `machines`, `devices` (names from events and machines) and `device_groups`:
//!   `ReplacingMergeTree`s versioned by write time, read with `FINAL`: importing the same data twice changes no answer.
//! - `imported_files`: the SHA-256 of each events file imported, since events are appended, not matched.
//!
//! In a cluster each of these is a `*_local` table on every shard, created `ON CLUSTER`, under a `Distributed` table
//! of the plain name, sharded by the remote IP (events and rollups) or the entity's id, so one IP's rows live on one
//! shard. When the cluster's shards have several replicas, the local tables are the `Replicated` kind of their
//! engine, kept at `/clickhouse/tables/{shard}/DATABASE/TABLE` in ZooKeeper (or Keeper), named by each server's
//! `{shard}` and `{replica}` macros.
//!
//! Per-IP reads fetch a few rows from a large table: small index granules (1,024 event rows, 256 rollup rows instead
//! of 8,192) make each read touch less (measured on 20M events, p50 on this machine: 5.0 → 3.7 ms per rollup read;
//! a typical address's last connections 2.8 → 2.0 ms, for 3% more disk). The granule is fixed when a table is made:
//! a store made before events had small granules keeps its large ones until `events` is rebuilt (README).
//!
//! Kept to what ClickHouse 18.16 (Debian's) and current releases both accept: no `DateTime64`, `IPv6`,
//! `LowCardinality`, `SimpleAggregateFunction`, query parameters or `TTL` (times are Int64 milliseconds, addresses
//! their canonical text).

use super::{ClickHouse, Sql, StoreError};

/// An event's columns and types, in the order of `EVENT_COLUMNS`: `events` and `events_in` both start with them.
macro_rules! event_columns {
    () => {
        "remote_ip String, ts Int64, device_id String, local_port Int32, remote_port UInt16, action_type String,
         protocol Nullable(String), local_ip Nullable(String), remote_url Nullable(String), file_name Nullable(String),
         sha1 Nullable(String)"
    };
}

/// A table: its columns, engine clause, and the expression that shards it in a cluster.
struct Table {
    name: &'static str,
    columns: &'static str,
    /// `{engine}` clause after `ENGINE =`.
    engine: &'static str,
    shard_by: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "events",
        columns: event_columns!(),
        engine:
            "MergeTree() PARTITION BY toYYYYMM(toDateTime(intDiv(ts, 1000), 'UTC')) ORDER BY (remote_ip, ts, device_id)
             SETTINGS index_granularity = 1024",
        shard_by: "cityHash64(remote_ip)",
    },
    Table {
        name: "ip_day_device",
        columns: "remote_ip String, day Int32, device_id String, n AggregateFunction(count),
                  first_ts AggregateFunction(min, Int64), last_ts AggregateFunction(max, Int64)",
        engine: "AggregatingMergeTree() PARTITION BY intDiv(day, 32) ORDER BY (remote_ip, day, device_id)
                 SETTINGS index_granularity = 256",
        shard_by: "cityHash64(remote_ip)",
    },
    Table {
        name: "device_day_ip",
        columns: "device_id String, day Int32, remote_ip String, n AggregateFunction(count),
                  last_ts AggregateFunction(max, Int64)",
        engine: "AggregatingMergeTree() PARTITION BY intDiv(day, 32) ORDER BY (device_id, day, remote_ip)
                 SETTINGS index_granularity = 256",
        shard_by: "cityHash64(remote_ip)",
    },
    Table {
        name: "alerts",
        columns: "id String, machine_id Nullable(String), created Int64, rbac_group Nullable(String),
                  ips Array(String), entity String, version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY id",
        shard_by: "cityHash64(id)",
    },
    Table {
        name: "alert_ips",
        columns: "ip String, alert_id String, version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY (ip, alert_id)",
        shard_by: "cityHash64(ip)",
    },
    Table {
        name: "machines",
        columns: "id String, computer_dns_name String, rbac_group Nullable(String), entity String, version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY id",
        shard_by: "cityHash64(id)",
    },
    Table {
        name: "devices",
        columns: "device_id String, device_name String, version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY device_id",
        shard_by: "cityHash64(device_id)",
    },
    Table {
        name: "imported_files",
        columns: "sha256 String, file String, events UInt64, imported DateTime, version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY sha256",
        shard_by: "cityHash64(sha256)",
    },
    Table {
        name: "ingest_positions",
        columns: "blob String, read_bytes UInt64, read_lines UInt64, version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY blob",
        shard_by: "cityHash64(blob)",
    },
    Table {
        name: "device_groups",
        columns: "device_id String, rbac_group Nullable(String), version UInt64",
        engine: "ReplacingMergeTree(version) ORDER BY device_id",
        shard_by: "cityHash64(device_id)",
    },
];

/// The columns of an event, in `events`' order.
pub(super) const EVENT_COLUMNS: &str = "remote_ip, ts, device_id, local_port, remote_port, action_type, protocol, \
                                         local_ip, remote_url, file_name, sha1";

/// `events_in` (one server): an event's columns, then those of an `ingest` position row (`kind` 1).
const EVENTS_IN: &str = concat!(
    event_columns!(),
    ", kind UInt8 DEFAULT 0, blob String DEFAULT '', read_bytes UInt64 DEFAULT 0, read_lines UInt64 DEFAULT 0,
     version UInt64 DEFAULT 0"
);

/// Materialized views: name, target table, select from `{events}` (the events as written) `{where}` (only the
/// event rows). In a cluster they read each shard's `events_local`; on one server, `events_in`.
const VIEWS: &[(&str, &str, &str)] = &[
    (
        "ip_day_device_mv",
        "ip_day_device",
        "SELECT remote_ip, toInt32(intDiv(ts, 86400000)) AS day, device_id, countState() AS n, minState(ts) AS first_ts,
                maxState(ts) AS last_ts
         FROM {events} {where} GROUP BY remote_ip, day, device_id",
    ),
    (
        "device_day_ip_mv",
        "device_day_ip",
        "SELECT device_id, toInt32(intDiv(ts, 86400000)) AS day, remote_ip, countState() AS n, maxState(ts) AS last_ts
         FROM {events} {where} GROUP BY device_id, day, remote_ip",
    ),
];

/// One server's further views on `events_in`: name, target table, select.
const ONE_SERVER_VIEWS: &[(&str, &str, &str)] = &[
    ("events_mv", "events", "SELECT {columns} FROM {events} WHERE kind = 0"),
    (
        "ingest_positions_mv",
        "ingest_positions",
        "SELECT blob, read_bytes, read_lines, version FROM {events} WHERE kind = 1",
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn replicated_engines_take_the_path_and_replica_first() {
        let path = "/clickhouse/tables/{shard}/soc/events_local";
        assert_eq!(
            super::replicated("MergeTree() PARTITION BY p ORDER BY k", path),
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/soc/events_local', '{replica}') PARTITION BY p ORDER BY k"
        );
        assert_eq!(
            super::replicated("ReplacingMergeTree(version) ORDER BY id", "/p"),
            "ReplicatedReplacingMergeTree('/p', '{replica}', version) ORDER BY id"
        );
        assert_eq!(
            super::replicated("AggregatingMergeTree() ORDER BY (a, b) SETTINGS index_granularity = 256", "/p"),
            "ReplicatedAggregatingMergeTree('/p', '{replica}') ORDER BY (a, b) SETTINGS index_granularity = 256"
        );
    }
}

/// The schema version this ipscope writes: 2 writes events through `events_in` on one server.
pub const VERSION: u32 = 2;

impl ClickHouse {
    /// `db.name` of the table that holds rows on this server: `name_local` in a cluster.
    pub(super) fn local_table(&self, name: &str) -> String {
        match self.cluster {
            Some(_) => format!("{}.{name}_local", self.url.database),
            None => format!("{}.{name}", self.url.database),
        }
    }

    /// ` ON CLUSTER name`, or nothing.
    pub(super) fn on_cluster(&self) -> String {
        self.cluster.as_ref().map(|c| format!(" ON CLUSTER {c}")).unwrap_or_default()
    }
}

#[derive(serde::Deserialize)]
struct Version {
    version: u32,
}

#[derive(serde::Deserialize)]
struct Replicas {
    replicas: u32,
    macros: u32,
}

/// `engine` as its `Replicated` kind, kept at `path`: `MergeTree()` becomes `ReplicatedMergeTree('path',
/// '{replica}')`, and an engine's own arguments follow those two (`ReplacingMergeTree(version)`).
fn replicated(engine: &str, path: &str) -> String {
    let (name, rest) = engine.split_once('(').expect("an engine clause has arguments");
    let own = rest.trim_start().strip_prefix(')').map_or_else(|| format!(", {rest}"), |after| format!("){after}"));
    format!("Replicated{name}('{path}', '{{replica}}'{own}")
}

/// Whether the cluster's shards have several replicas (then the tables are replicated); an error if they do and a
/// server lacks the `{shard}` and `{replica}` macros that name them.
fn has_replicas(ch: &ClickHouse, cluster: &str) -> Result<bool, StoreError> {
    let sql = Sql::new(
        "SELECT toUInt32(max(replica_num)) AS replicas,
                toUInt32((SELECT count() FROM system.macros WHERE macro IN ('shard', 'replica'))) AS macros
         FROM system.clusters WHERE cluster = ",
    )
    .string(cluster);
    let found: Vec<Replicas> = ch.rows_outside(&sql)?;
    let Some(found) = found.first().filter(|f| f.replicas > 0) else {
        return Err(StoreError::ClickHouse(format!("{} has no cluster '{cluster}' in its remote_servers", ch.url)));
    };
    if found.replicas > 1 && found.macros < 2 {
        return Err(StoreError::ClickHouse(format!(
            "cluster '{cluster}' has replicas, so ipscope makes replicated tables, which are named by each server's \
             macros: add <macros><shard>..</shard><replica>..</replica></macros> to the configuration of {}",
            ch.url
        )));
    }
    Ok(found.replicas > 1)
}

/// Creates the database and tables if missing; refuses a schema newer than this ipscope's.
pub(super) fn migrate(ch: &ClickHouse) -> Result<(), StoreError> {
    let db = &ch.url.database;
    let on_cluster = ch.on_cluster();
    let schema = ch.local_table("ipscope_schema");
    // Read first, so that a store already up to date is opened without DDL (`ON CLUSTER` DDL waits for every
    // server, and one may be down).
    let exists: Vec<Version> = ch.rows_outside(
        &Sql::new("SELECT toUInt32(count()) AS version FROM system.tables WHERE database = ")
            .string(db)
            .push(" AND name = ")
            .string(schema.rsplit('.').next().unwrap_or_default()),
    )?;
    let current = match exists.first().map_or(0, |e| e.version) {
        0 => 0,
        _ => ch
            .rows::<Version>(&Sql::new(&format!("SELECT max(version) AS version FROM {schema}")))?
            .first()
            .map_or(0, |v| v.version),
    };
    if current > VERSION {
        return Err(StoreError::ClickHouse(format!(
            "{} has schema version {current}, newer than this ipscope understands ({VERSION}); upgrade ipscope",
            ch.url
        )));
    }
    if current == VERSION {
        return Ok(());
    }
    let replicas = match &ch.cluster {
        Some(cluster) => has_replicas(ch, cluster)?,
        None => false,
    };
    ch.execute_outside(&Sql::new(&format!("CREATE DATABASE IF NOT EXISTS {db}{on_cluster}")))?;
    let engine = |table: &str, engine: &str| match replicas {
        true => replicated(engine, &format!("/clickhouse/tables/{{shard}}/{db}/{table}_local")),
        false => engine.to_string(),
    };
    ch.execute(&Sql::new(&format!(
        "CREATE TABLE IF NOT EXISTS {schema}{on_cluster} (version UInt32, applied DateTime DEFAULT now())
         ENGINE = {}",
        engine("ipscope_schema", "MergeTree() ORDER BY version")
    )))?;
    if current == 1 && ch.cluster.is_none() {
        // Version 1's rollup views read `events`; from now on they read `events_in`.
        for (name, ..) in VIEWS {
            ch.execute(&Sql::new(&format!("DROP TABLE IF EXISTS {db}.{name}")))?;
        }
    }
    for table in TABLES {
        let local = ch.local_table(table.name);
        ch.execute(&Sql::new(&format!(
            "CREATE TABLE IF NOT EXISTS {local}{on_cluster} ({}) ENGINE = {}",
            table.columns,
            engine(table.name, table.engine)
        )))?;
        if let Some(cluster) = &ch.cluster {
            ch.execute(&Sql::new(&format!(
                "CREATE TABLE IF NOT EXISTS {db}.{name}{on_cluster} AS {local}
                 ENGINE = Distributed({cluster}, {db}, {name}_local, {shard})",
                name = table.name,
                shard = table.shard_by
            )))?;
        }
    }
    let mut views: Vec<(&str, &str, String)> = Vec::new();
    if ch.cluster.is_some() {
        let events = ch.local_table("events");
        views.extend(VIEWS.iter().map(|(n, t, s)| (*n, *t, s.replace("{events}", &events).replace("{where}", ""))));
    } else {
        ch.execute(&Sql::new(&format!("CREATE TABLE IF NOT EXISTS {db}.events_in ({EVENTS_IN}) ENGINE = Null")))?;
        let events = format!("{db}.events_in");
        let rollups = VIEWS.iter().map(|(n, t, s)| (n, t, s.replace("{where}", "WHERE kind = 0")));
        for (name, target, select) in rollups.chain(ONE_SERVER_VIEWS.iter().map(|(n, t, s)| (n, t, s.to_string()))) {
            views.push((name, target, select.replace("{events}", &events).replace("{columns}", EVENT_COLUMNS)));
        }
    }
    for (name, target, select) in views {
        ch.execute(&Sql::new(&format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{name}{on_cluster} TO {target} AS {select}",
            target = ch.local_table(target)
        )))?;
    }
    ch.execute(&Sql::new(&format!("INSERT INTO {schema} (version) VALUES ({VERSION})")))?;
    Ok(())
}
