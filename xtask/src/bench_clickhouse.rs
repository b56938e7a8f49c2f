//! The ClickHouse part of `cargo xtask bench`: the IP page's calls on Debian's ClickHouse (one server on loopback)
//! at 20M and 200M synthetic events next to SQLite's at 20M, a two-shard cluster at 20M, import throughput and disk
//! bytes per event. Servers and data live in `target/bench/clickhouse-*` and are kept for reruns.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use ipscope_server::store::clickhouse::local::LocalClickHouse;
use ipscope_server::store::clickhouse::{ClickHouse, ClickHouseUrl, Sql};

use crate::bench::{endpoint_latencies, start_server, write_import_files, EndpointRow, IMPORT_ROWS};
use crate::run;

/// Sizes measured on one server (`IPSCOPE_BENCH_CLICKHOUSE_SIZES`, comma-separated, to change them).
const SIZES: [u64; 2] = [20_000_000, 200_000_000];
/// Size measured on the two-shard cluster.
const CLUSTER_SIZE: u64 = 20_000_000;

fn sizes() -> Result<Vec<u64>> {
    match std::env::var("IPSCOPE_BENCH_CLICKHOUSE_SIZES") {
        Ok(list) => list.split(',').map(|s| s.trim().parse().context("IPSCOPE_BENCH_CLICKHOUSE_SIZES")).collect(),
        Err(_) => Ok(SIZES.to_vec()),
    }
}

/// The column `n` of a one-row answer.
fn number(ch: &ClickHouse, sql: &str) -> Result<u64> {
    let rows = ch.rows::<serde_json::Value>(&Sql::new(sql))?;
    Ok(rows.first().and_then(|r| r["n"].as_u64()).unwrap_or(0))
}

/// Writes `size` synthetic events into `database` unless it holds them already; returns the write rate if written.
fn synth(server: &Path, url: &ClickHouseUrl, cluster: Option<&str>, size: u64) -> Result<Option<f64>> {
    let ch = ClickHouse::open(url, cluster)?;
    // The same count `synth` writes: a complete earlier run is kept, a partial one written afresh.
    if number(&ch, "SELECT count() AS n FROM events")? >= size - size / 100 {
        return Ok(None);
    }
    ch.execute(&Sql::new(&format!(
        "DROP DATABASE IF EXISTS {}{}",
        url.database,
        cluster.map(|c| format!(" ON CLUSTER {c}")).unwrap_or_default()
    )))?;
    drop(ch);
    eprintln!("xtask: writing {size} synthetic events to {url} (kept for later runs)");
    let started = Instant::now();
    let mut command = Command::new(server);
    command.args([
        "synth",
        "--events",
        &size.to_string(),
        "--store",
        &format!("clickhouse://{}/{}", url.address, url.database),
    ]);
    if let Some(c) = cluster {
        command.args(["--clickhouse-cluster", c]);
    }
    run(&mut command)?;
    Ok(Some(size as f64 / started.elapsed().as_secs_f64()))
}

/// Disk bytes of the active parts of `database` on every server.
fn disk_bytes(local: &LocalClickHouse, database: &str) -> Result<u64> {
    let mut total = 0;
    for port in &local.http_ports {
        let mut url = local.url("default");
        url.address = format!("127.0.0.1:{port}");
        let ch = ClickHouse::open(&url, None)?;
        total += number(
            &ch,
            &format!("SELECT sum(bytes_on_disk) AS n FROM system.parts WHERE active AND database = '{database}'"),
        )?;
    }
    Ok(total)
}

/// The page's calls against a server on `url`, with a token in a state file of its own.
fn measure(
    server: &Path,
    dir: &Path,
    url: &ClickHouseUrl,
    cluster: Option<&str>,
    name: &str,
) -> Result<Vec<EndpointRow>> {
    let state = dir.join(format!("clickhouse-{name}-state.db"));
    ipscope_server::store::Store::open(&state)?;
    let token = crate::demo_token(
        server,
        &state,
        "bench-clickhouse",
        &["Ip.Read.All", "Alert.Read.All", "Machine.Read.All"],
        &[],
    )?;
    let store = format!("clickhouse://{}/{}", url.address, url.database);
    let mut extra: Vec<std::ffi::OsString> = vec!["--store".into(), store.into()];
    if let Some(c) = cluster {
        extra.extend(["--clickhouse-cluster".into(), c.into()]);
    }
    let extra: Vec<&std::ffi::OsStr> = extra.iter().map(|s| s.as_os_str()).collect();
    let (_server, port) = start_server(server, &state, &extra)?;
    endpoint_latencies(port, &token)
}

fn table(rows: &[(String, u64, EndpointRow)]) -> String {
    let mut out = String::from(
        "| store | events | endpoint | typical p50 ms | typical p99 ms | busiest p50 ms | busiest p99 ms |\n\
         |---|---:|---|---:|---:|---:|---:|\n",
    );
    for (store, size, r) in rows {
        out.push_str(&format!(
            "| {store} | {}M | {} | {} | {} | {} | {} |\n",
            size / 1_000_000,
            r.endpoint,
            crate::bench::ms(r.typical.0),
            crate::bench::ms(r.typical.1),
            crate::bench::ms(r.busiest.0),
            crate::bench::ms(r.busiest.1)
        ));
    }
    out
}

/// Runs the ClickHouse benchmark; `sqlite` is SQLite's rows at 20M events and its file, for the side-by-side table.
pub fn bench(server: &Path, dir: &Path, sqlite: &[EndpointRow], sqlite_db: &Path) -> Result<String> {
    let single = LocalClickHouse::single(&dir.join("clickhouse-single"))?;
    let mut rows: Vec<(String, u64, EndpointRow)> =
        sqlite.iter().map(|r| ("SQLite".to_string(), 20_000_000, r.clone())).collect();
    let mut notes = String::new();
    let mut by_size = Vec::new();
    for size in sizes()? {
        let url = single.url(&format!("synth_{size}"));
        if let Some(rate) = synth(server, &url, None, size)? {
            notes.push_str(&format!("- `synth` wrote {size} events into ClickHouse at {rate:.0} events/s\n"));
        }
        let measured = measure(server, dir, &url, None, &format!("single-{size}"))?;
        let bytes = disk_bytes(&single, &url.database)?;
        notes.push_str(&format!(
            "- disk at {}M events: ClickHouse {:.1} bytes/event (events and both rollups)\n",
            size / 1_000_000,
            bytes as f64 / size as f64
        ));
        by_size.push((size, measured.clone()));
        rows.extend(measured.into_iter().map(|r| ("ClickHouse".to_string(), size, r)));
    }
    if let Ok(meta) = std::fs::metadata(sqlite_db) {
        notes.push_str(&format!("- disk at 20M events: SQLite {:.1} bytes/event\n", meta.len() as f64 / 20e6));
    }
    if let [(small, a), .., (large, b)] = &by_size[..] {
        let ratios: Vec<String> = a
            .iter()
            .zip(b)
            .map(|(x, y)| format!("{} {:.2}x", x.endpoint, y.typical.1.as_secs_f64() / x.typical.1.as_secs_f64()))
            .collect();
        notes.push_str(&format!(
            "- typical-IP p99 at {}M vs {}M: {}\n",
            large / 1_000_000,
            small / 1_000_000,
            ratios.join(", ")
        ));
    }
    drop(single);

    let cluster = LocalClickHouse::cluster(&dir.join("clickhouse-cluster"), "ipscope_bench", 2, 1)?;
    let url = cluster.url(&format!("synth_{CLUSTER_SIZE}"));
    if let Some(rate) = synth(server, &url, cluster.cluster.as_deref(), CLUSTER_SIZE)? {
        notes.push_str(&format!(
            "- `synth` wrote {CLUSTER_SIZE} events into the two-shard cluster at {rate:.0} events/s\n"
        ));
    }
    let measured = measure(server, dir, &url, cluster.cluster.as_deref(), "cluster")?;
    rows.extend(measured.into_iter().map(|r| ("ClickHouse, 2 shards".to_string(), CLUSTER_SIZE, r)));

    drop(cluster);
    notes.push_str(&import_rate(server, &LocalClickHouse::single(&dir.join("clickhouse-single"))?, dir)?);
    Ok(format!(
        "\nClickHouse (Debian's 18.16 on loopback, this machine) next to SQLite, every device:\n\n{}\n{notes}",
        table(&rows)
    ))
}

/// `import` of the same CSV the SQLite import is timed with, into a fresh ClickHouse database.
fn import_rate(server: &Path, local: &LocalClickHouse, dir: &Path) -> Result<String> {
    let (csv, json) = write_import_files(dir)?;
    let url = local.url("import_bench");
    let ch = ClickHouse::open(&url, None)?;
    // `ch` is in import_bench: that one goes last.
    ch.execute(&Sql::new("DROP DATABASE IF EXISTS ingest_bench"))?;
    ch.execute(&Sql::new("DROP DATABASE IF EXISTS import_bench"))?;
    drop(ch);
    let started = Instant::now();
    run(Command::new(server)
        .args(["import", "--store", &format!("clickhouse://{}/import_bench", url.address), "--events"])
        .arg(&csv)
        .stdout(std::process::Stdio::null()))?;
    let seconds = started.elapsed().as_secs_f64();
    // `ingest` catching up on the same rows as one blob of the storage-account layout (JSON lines).
    let watched = dir.join("ingest-watched");
    let _ = std::fs::remove_dir_all(&watched);
    let hour = watched.join("y=2026/m=01/d=01/h=00/m=00");
    std::fs::create_dir_all(&hour)?;
    std::fs::hard_link(&json, hour.join("PT1H.json"))?;
    let ingest_started = Instant::now();
    run(Command::new(server)
        .args(["ingest", "--once", "--store", &format!("clickhouse://{}/ingest_bench", url.address), "--watch"])
        .arg(&watched)
        .stdout(std::process::Stdio::null()))?;
    let ingest_seconds = ingest_started.elapsed().as_secs_f64();
    Ok(format!(
        "- import of the {IMPORT_ROWS}-row CSV into ClickHouse: {seconds:.1} s, {:.0} events/s (the file is read twice: \
         checked whole, then written)\n- ingest catching up on the same rows as one JSON-lines blob: {ingest_seconds:.1} \
         s, {:.0} events/s (a block with its position per 64 MB of lines)\n",
        IMPORT_ROWS as f64 / seconds,
        IMPORT_ROWS as f64 / ingest_seconds
    ))
}
