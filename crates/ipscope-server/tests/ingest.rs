//! Live ingestion of the Streaming API's storage-account export: blobs appearing and growing, the process killed at
//! random moments during catch-up and restarted, and in the end every record stored once, with answers equal to a
//! one-shot import of the same records, into SQLite and into one ClickHouse server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ipscope_api::period::Period;
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::store::clickhouse::local::LocalClickHouse;
use ipscope_server::store::clickhouse::{ClickHouse, Sql};
use ipscope_server::store::{investigation, DataStore, Scope, Store};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipscope-ingest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Storage-account records `k` in `range`: 40 addresses, 60 devices, one every 7 s from 2026-11-20; every tenth a
/// record of another category.
fn records(range: std::ops::Range<u64>) -> String {
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let mut out = String::new();
    for k in range {
        let time = (start + chrono::Duration::seconds(7 * k as i64)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if k % 10 == 9 {
            out.push_str(&format!(
                r#"{{"time":"{time}","tenantId":"t","operationName":"Publish","category":"AdvancedHunting-DeviceProcessEvents","properties":{{"Timestamp":"{time}"}}}}"#
            ));
        } else {
            let (ip, device) = (k % 40, k % 60);
            out.push_str(&format!(
                r#"{{"time":"{time}","tenantId":"t","operationName":"Publish","category":"AdvancedHunting-DeviceNetworkEvents","properties":{{"Timestamp":"{time}","DeviceId":"dev-{device}","DeviceName":"host-{device}","ActionType":"ConnectionSuccess","RemoteIP":"203.0.113.{ip}","RemotePort":443,"LocalPort":{},"AdditionalFields":"{{}}"}}}}"#,
                40000 + k % 20000
            ));
        }
        out.push('\n');
    }
    out
}

fn blob(dir: &Path, hour: u32) -> PathBuf {
    let folder = dir.join(format!("watched/WorkspaceResourceId=/subscriptions/s/y=2026/m=11/d=20/h={hour:02}/m=00"));
    std::fs::create_dir_all(&folder).unwrap();
    folder.join("PT1H.json")
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

fn answers(store: &DataStore) -> String {
    let period = Period {
        from: Utc.with_ymd_and_hms(2026, 11, 19, 0, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap(),
    };
    (0..40)
        .map(|i| {
            let ip = format!("203.0.113.{i}").parse().unwrap();
            store
                .read_blocking(|src| {
                    let p = investigation::prevalence(src.events(), ip, period, &Scope::All)?;
                    let d = investigation::observed_devices(src.events(), ip, period, 100, &Scope::All)?;
                    Ok(format!("{}{}", serde_json::to_string(&p).unwrap(), serde_json::to_string(&d).unwrap()))
                })
                .unwrap()
        })
        .collect()
}

/// Where a test ingests to: a SQLite file, or a database on a local ClickHouse server.
enum Target {
    Sqlite(PathBuf),
    ClickHouse(String),
}

impl Target {
    fn store(&self) -> DataStore {
        match self {
            Target::Sqlite(db) => Store::open(db).unwrap().data(),
            Target::ClickHouse(url) => {
                let url = ipscope_server::store::clickhouse::ClickHouseUrl::parse(url, None).unwrap();
                DataStore::ClickHouse(std::sync::Arc::new(ClickHouse::open(&url, None).unwrap()))
            }
        }
    }

    /// Events stored.
    fn count(&self) -> u64 {
        match self.store() {
            DataStore::Sqlite(s) => s
                .call_blocking(|c| Ok(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))?))
                .unwrap() as u64,
            DataStore::ClickHouse(ch) => {
                #[derive(serde::Deserialize)]
                struct N {
                    n: u64,
                }
                ch.rows::<N>(&Sql::new("SELECT count() AS n FROM events")).unwrap()[0].n
            }
        }
    }
}

fn ingest(target: &Target, watched: &Path, once: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipscope-server"));
    cmd.args(["ingest", "--poll-seconds", "1"]);
    match target {
        Target::Sqlite(db) => cmd.arg("--db").arg(db),
        // Chunks of 1 MB (its default is 64), so that kills fall between the chunks of one blob.
        Target::ClickHouse(url) => cmd.arg("--store").arg(url).args(["--chunk-megabytes", "1"]),
    };
    cmd.arg("--watch").arg(watched);
    if once {
        cmd.arg("--once");
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

#[test]
fn every_record_is_stored_once_across_growth_and_kill_9() {
    let dir = scratch("sqlite");
    every_record_once(&dir, &Target::Sqlite(dir.join("ingest.db")), 200..2000);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_record_is_stored_once_in_clickhouse_across_growth_and_kill_9() {
    let dir = scratch("clickhouse");
    let local = LocalClickHouse::single(&dir.join("clickhouse")).unwrap();
    let target = Target::ClickHouse(local.url("ingested").to_string());
    // Its catch-up is over in a few hundred milliseconds: kill it sooner.
    every_record_once(&dir, &target, 20..400);
    // A blob that shrank is not read again (its first rows would be stored twice) and is named as an error.
    let first = blob(&dir, 7);
    let stored = target.count();
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, &text[..text.len() / 2]).unwrap();
    let out = ingest(&target, &dir.join("watched"), true).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shorter than the") && stderr.contains("PT1H.json"), "{stderr}");
    assert_eq!(target.count(), stored, "nothing stored again");
    drop(local);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ingest_refuses_a_cluster_and_says_why() {
    let dir = scratch("cluster");
    std::fs::create_dir_all(dir.join("watched")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ipscope-server"))
        .args(["ingest", "--store", "clickhouse://127.0.0.1:1/x", "--clickhouse-cluster", "c", "--once", "--watch"])
        .arg(dir.join("watched"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("one ClickHouse server") && stderr.contains("import"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Ingests growing blobs into `target`, killed six times (each after a time in `kill_after`, in milliseconds), then
/// checks every record is stored once and the answers equal a one-shot import's.
fn every_record_once(dir: &Path, target: &Target, kill_after: std::ops::Range<u64>) {
    let watched = dir.join("watched");
    let (first, second) = (blob(dir, 7), blob(dir, 8));
    append(&first, &records(0..30_000));
    let mut written = 30_000u64;
    // Kill it at moments spread over the catch-up, growing the blobs in between.
    let mut seed = 0x9e37_79b9_u64;
    let mut midway = false;
    // A kill before the first chunk is stored proves nothing; on a loaded machine (a build beside the tests), the
    // process may not have started reading by then, so the next waits are longer.
    let mut slower = 1;
    for round in 0..6 {
        let mut child = ingest(target, &watched, false).spawn().unwrap();
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(Duration::from_millis(
            slower * (kill_after.start + (seed >> 33) % (kill_after.end - kill_after.start)),
        ));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let read: u64 = target.store().ingest_positions().unwrap().values().map(|(bytes, _)| bytes).sum();
        let total =
            std::fs::metadata(&first).map_or(0, |m| m.len()) + std::fs::metadata(&second).map_or(0, |m| m.len());
        midway |= read > 0 && read < total;
        if read == 0 {
            slower *= 2;
        }
        eprintln!("round {round}: {read} of {total} bytes read when killed");
        let more = if round % 2 == 0 { &first } else { &second };
        append(more, &records(written..written + 2_000));
        written += 2_000;
    }
    assert!(midway, "at least one kill fell in the middle of the catch-up");
    // A record being written at the end of a blob is left for later, not read half.
    let partial = records(written..written + 1);
    append(&second, &partial[..partial.len() / 2]);
    let out = ingest(target, &watched, true).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    append(&second, &partial[partial.len() / 2..]);
    written += 1;
    let out = ingest(target, &watched, true).output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && printed.contains("records read"),
        "{printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same records imported at once.
    let all = dir.join("all.jsonl");
    std::fs::write(&all, records(0..written)).unwrap();
    let reference = Target::Sqlite(dir.join("reference.db"));
    import(&reference.store(), &ImportFiles { events: Some(all), ..Default::default() }, &mut |_| {}).unwrap();
    let expected = (0..written).filter(|k| k % 10 != 9).count() as u64;
    assert_eq!(reference.count(), expected);
    assert_eq!(target.count(), expected, "every record stored, none twice");
    assert_eq!(answers(&target.store()), answers(&reference.store()));
    // The positions are the blobs' ends: a restart reads nothing again.
    let out = ingest(target, &watched, true).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 records read from 0 blob(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_the_same_file_keeps_answering_while_ingestion_writes() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    let dir = std::env::temp_dir().join(format!("ipscope-ingest-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("ingest.db");
    let store = Store::open(&db).unwrap();
    let new = ipscope_server::auth::tokens::NewToken {
        name: "reader".into(),
        permissions: vec!["Ip.Read.All".into()],
        device_groups: None,
        expires: None,
    };
    let token =
        store.call_blocking(|c| Ok(ipscope_server::auth::tokens::create(c, &new, Utc::now()).unwrap())).unwrap();
    let unlimited = ipscope_server::rate_limit::RateLimits { per_minute: None, per_hour: None, ..Default::default() };
    let config = ipscope_server::ServerConfig { rate_limits: unlimited, ..Default::default() };
    let router = ipscope_server::app(ipscope_server::AppState::new(store, config));
    append(&blob(&dir, 9), &records(0..60_000));
    let mut ingesting = ingest(&Target::Sqlite(db), &dir.join("watched"), true).spawn().unwrap();
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    while ingesting.try_wait().unwrap().is_none() {
        let started = std::time::Instant::now();
        let request = Request::get("/api/ips/203.0.113.7/stats?lookBackHours=4392")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let status = router.clone().oneshot(request).await.unwrap().status();
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
        answered += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ingesting.wait().unwrap().success());
    eprintln!("{answered} answers during the ingestion, the slowest in {slowest:?}");
    assert!(answered >= 5, "the server was asked during the ingestion ({answered} times)");
    assert!(slowest < Duration::from_secs(2), "an answer waited {slowest:?} for the ingestion's writes");
    let _ = std::fs::remove_dir_all(dir);
}
