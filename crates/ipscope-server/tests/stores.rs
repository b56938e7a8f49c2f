//! One contract for both stores: the same data written to SQLite, to one ClickHouse server and to a two-shard
//! ClickHouse cluster (Debian's `clickhouse-server` and ZooKeeper, started on loopback) gives the same answer, status
//! and JSON, for every endpoint, period and device-group scope.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use ipscope_server::auth::tokens::{self, NewToken};
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::store::clickhouse::local::LocalClickHouse;
use ipscope_server::store::clickhouse::ClickHouse;
use ipscope_server::store::{DataStore, Store};
use ipscope_server::{app, demo, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("ipscope-stores-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("IPSCOPE_TEST_KEEP").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// The moment the demo history ends.
fn now() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

/// The demo organization, the fixtures, and the fixtures' machines and alerts once more (a second import of the
/// same entities must change no answer).
fn fill(data: &DataStore) {
    demo::generate(data, now()).unwrap();
    let all = ImportFiles {
        machines: Some(fixture("machines.json")),
        alerts: Some(fixture("alerts.json")),
        events: Some(fixture("events.csv")),
    };
    import(data, &all, &mut |_| {}).unwrap();
    let entities = ImportFiles { events: None, ..all };
    import(data, &entities, &mut |_| {}).unwrap();
}

/// Callers: every device, one group, two groups, a group with no devices.
const SCOPES: [Option<&[&str]>; 4] = [None, Some(&["Finance"]), Some(&["Engineering", "IT"]), Some(&["Nobody"])];

/// A server over `data`, with a token for each of `SCOPES`.
struct Server {
    state: AppState,
    tokens: Vec<String>,
}

impl Server {
    fn new(dir: &Path, data: DataStore) -> Server {
        let store = Store::open(&dir.join("state.db")).unwrap();
        let tokens = SCOPES
            .iter()
            .enumerate()
            .map(|(i, groups)| {
                let new = NewToken {
                    name: format!("caller-{i}"),
                    permissions: vec!["Ip.Read.All".into(), "Alert.Read.All".into(), "Machine.Read.All".into()],
                    device_groups: groups.map(|g| g.iter().map(|g| g.to_string()).collect()),
                    expires: None,
                };
                store.call_blocking(|c| Ok(tokens::create(c, &new, Utc::now()).unwrap())).unwrap()
            })
            .collect();
        Server { state: AppState::new(store, ServerConfig::default()).with_data(data), tokens }
    }

    async fn get(&self, caller: usize, uri: &str) -> (StatusCode, Value) {
        let request = Request::get(uri)
            .header("authorization", format!("Bearer {}", self.tokens[caller]))
            .body(Body::empty())
            .unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let mut body: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        // An error's target is the request's id, different on every request.
        if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
            error.remove("target");
        }
        (status, body)
    }
}

fn strings_at<'v>(body: &'v Value, key: &str) -> impl Iterator<Item = String> + 'v {
    let key = key.to_string();
    body["value"].as_array().into_iter().flatten().filter_map(move |v| v[&key].as_str().map(str::to_string))
}

/// Every request the contract compares: the IP endpoints for busy, rare, imported, IPv6 and unknown addresses over
/// whole and partial days; suggestions; each alert and machine the reference names, by id and by name.
async fn requests(reference: &Server) -> Vec<String> {
    let t = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let n = now();
    let periods = [
        (n - Duration::days(30), n),
        (n - Duration::days(7) + Duration::hours(5), n - Duration::hours(3)),
        (n - Duration::days(2) + Duration::hours(1), n - Duration::days(2) + Duration::hours(9)),
        (n - Duration::days(95), n + Duration::days(1)),
    ];
    let ips = [
        demo::BEACON_IP,
        demo::DOWNLOAD_IP,
        demo::COMMON_IP,
        "203.0.113.66",
        "45.77.12.9",
        "185.199.108.153",
        "2a03:2880:f12f:83:face:b00c:0:25de",
        "8.8.4.4",
    ];
    let mut out = Vec::new();
    for ip in ips {
        out.push(format!("/api/ips/{ip}/alerts"));
        out.push(format!("/api/ips/{ip}/stats?lookBackHours=4392"));
        for (from, to) in periods {
            let range = format!("from={}&to={}", t(from), t(to));
            out.push(format!("/api/ips/{ip}/prevalence?{range}"));
            out.push(format!("/api/ips/{ip}/devices?{range}"));
        }
        out.push(format!("/api/ips/{ip}/devices?from={}&to={}&$top=3", t(periods[0].0), t(periods[0].1)));
        out.push(format!("/api/ips/{ip}/prevalence?from={}&to={}", t(n - Duration::days(400)), t(n)));
    }
    for prefix in ["1", "10.", "203.0", "2a03", "45", "9"] {
        out.push(format!("/api/ips?prefix={prefix}&$top=50"));
    }
    let mut alerts = Vec::new();
    let mut machines = vec!["fin-lt-0042.corp.contoso.example".to_string(), "FIN-LT-0042.CORP.CONTOSO.EXAMPLE".into()];
    for ip in ips {
        alerts.extend(strings_at(&reference.get(0, &format!("/api/ips/{ip}/alerts")).await.1, "id"));
        let range = format!("from={}&to={}", t(periods[3].0), t(periods[3].1));
        let devices = reference.get(0, &format!("/api/ips/{ip}/devices?{range}&$top=4")).await.1;
        machines.extend(strings_at(&devices, "machineId"));
        machines.extend(strings_at(&devices, "computerDnsName"));
    }
    machines.sort();
    machines.dedup();
    for m in &machines {
        let uri = format!("/api/machines/{}/alerts", ipscope_api::sign_in::percent_encode(m));
        alerts.extend(strings_at(&reference.get(0, &uri).await.1, "id"));
    }
    alerts.sort();
    alerts.dedup();
    assert!(alerts.len() >= 9 && machines.len() >= 20, "the reference names too little: {alerts:?} {machines:?}");
    let encode = ipscope_api::sign_in::percent_encode;
    for id in alerts.iter().chain([&"no-such-alert".to_string()]).map(|id| encode(id)) {
        out.push(format!("/api/alerts/{id}"));
        out.push(format!("/api/alerts/{id}/ips"));
    }
    for id in machines.iter().chain([&"no-such-machine".to_string()]).map(|id| encode(id)) {
        out.push(format!("/api/machines/{id}"));
        out.push(format!("/api/machines/{id}/alerts"));
        for (from, to) in [periods[1], periods[3]] {
            out.push(format!("/api/machines/{id}/connections?from={}&to={}", t(from), t(to)));
        }
    }
    out
}

/// Compares every request for every caller; returns how many answers were compared.
async fn compare(reference: &Server, other: &Server, name: &str) -> usize {
    let requests = requests(reference).await;
    let mut differences = Vec::new();
    let mut compared = 0;
    let mut non_empty = 0;
    for uri in &requests {
        for caller in 0..SCOPES.len() {
            let expected = reference.get(caller, uri).await;
            let got = other.get(caller, uri).await;
            compared += 1;
            if expected.0 == StatusCode::OK && expected.1["value"].as_array().is_none_or(|v| !v.is_empty()) {
                non_empty += 1;
            }
            if expected != got {
                differences.push(format!(
                    "{uri} as caller {caller}:\n  sqlite:     {} {}\n  {name}: {} {}",
                    expected.0,
                    &expected.1.to_string().chars().take(400).collect::<String>(),
                    got.0,
                    &got.1.to_string().chars().take(400).collect::<String>()
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {compared} answers differ:\n{}",
        differences.len(),
        differences[..differences.len().min(6)].join("\n")
    );
    assert!(non_empty * 3 > compared, "too few answers with content ({non_empty} of {compared}) to compare stores");
    compared
}

fn reference(dir: &Path) -> Server {
    let store = Store::open(&dir.join("reference.db")).unwrap();
    fill(&store.data());
    Server::new(&dir.join("reference-state"), store.data())
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn one_clickhouse_server_answers_as_sqlite_does() {
    let dir = Scratch::new("single");
    std::fs::create_dir_all(dir.0.join("reference-state")).unwrap();
    std::fs::create_dir_all(dir.0.join("ch-state")).unwrap();
    let local = LocalClickHouse::single(&dir.0.join("clickhouse")).unwrap();
    // Small blocks, so that the demo's events go in dozens of inserts with several in flight at once.
    let ch = ClickHouse::open(&local.url("ipscope"), None).unwrap().with_block_rows(2_000);
    let ch = DataStore::ClickHouse(Arc::new(ch));
    fill(&ch);
    let reference = reference(&dir.0);
    let server = Server::new(&dir.0.join("ch-state"), ch.clone());
    let compared = run(compare(&reference, &server, "clickhouse"));
    eprintln!("{compared} answers identical on SQLite and ClickHouse");

    // Pruning the same days from both leaves the same answers (the rollups pruned with the events).
    let cutoff = now() - Duration::days(20) + Duration::hours(7);
    let pruned = run(async {
        let sqlite = reference.state.data.prune(cutoff).await.unwrap();
        let clickhouse = ch.prune(cutoff).await.unwrap();
        assert_eq!(sqlite, clickhouse);
        sqlite
    });
    assert!(pruned.events > 10_000, "{pruned:?}");
    let compared = run(compare(&reference, &server, "clickhouse, pruned"));
    eprintln!("{compared} answers identical after pruning {} events from both", pruned.events);
}

#[test]
fn a_two_shard_cluster_answers_as_sqlite_does() {
    let dir = Scratch::new("cluster");
    std::fs::create_dir_all(dir.0.join("reference-state")).unwrap();
    std::fs::create_dir_all(dir.0.join("ch-state")).unwrap();
    let local = LocalClickHouse::cluster(&dir.0.join("clickhouse"), "ipscope_test", 2, 1).unwrap();
    let ch = Arc::new(ClickHouse::open(&local.url("ipscope"), local.cluster.as_deref()).unwrap());
    fill(&DataStore::ClickHouse(Arc::clone(&ch)));
    // Both shards hold events: the table really is spread.
    for port in &local.http_ports {
        let mut url = local.url("ipscope");
        url.address = format!("127.0.0.1:{port}");
        let shard = ClickHouse::open(&url, None).unwrap();
        let n: Vec<Value> = shard
            .rows(&ipscope_server::store::clickhouse::Sql::new("SELECT count() AS n FROM ipscope.events_local"))
            .unwrap();
        assert!(n[0]["n"].as_u64().unwrap() > 10_000, "shard on {port} holds {n:?}");
    }
    let reference = reference(&dir.0);
    let server = Server::new(&dir.0.join("ch-state"), DataStore::ClickHouse(ch));
    let compared = run(compare(&reference, &server, "cluster"));
    eprintln!("{compared} answers identical on SQLite and a two-shard ClickHouse cluster");
}

#[test]
fn a_replicated_shard_answers_as_sqlite_does_with_a_replica_down() {
    let dir = Scratch::new("replicas");
    std::fs::create_dir_all(dir.0.join("reference-state")).unwrap();
    std::fs::create_dir_all(dir.0.join("ch-state")).unwrap();
    let mut local = LocalClickHouse::cluster(&dir.0.join("clickhouse"), "ipscope_test", 1, 2).unwrap();
    let node = |n: usize| {
        let mut url = local.url("ipscope");
        url.address = format!("127.0.0.1:{}", local.http_ports[n]);
        url
    };
    let (first, second) = (node(0), node(1));
    let writer = ClickHouse::open(&first, local.cluster.as_deref()).unwrap();
    fill(&DataStore::ClickHouse(Arc::new(writer)));
    // Written through the first replica; the second has every row once replication has copied them.
    let counts = |url: &ipscope_server::store::clickhouse::ClickHouseUrl| -> Vec<u64> {
        let ch = ClickHouse::open(url, None).unwrap();
        ["events", "ip_day_device", "device_day_ip", "alerts", "machines", "devices", "device_groups"]
            .iter()
            .map(|t| {
                let sql =
                    ipscope_server::store::clickhouse::Sql::new(&format!("SELECT count() AS n FROM ipscope.{t}_local"));
                ch.rows::<Value>(&sql).unwrap()[0]["n"].as_u64().unwrap()
            })
            .collect()
    };
    let written = counts(&first);
    assert!(written[0] > 10_000, "{written:?}");
    let started = std::time::Instant::now();
    while counts(&second) != written {
        assert!(started.elapsed().as_secs() < 120, "the second replica has {:?} of {written:?}", counts(&second));
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    // The first replica down: the second answers every question as SQLite does.
    local.kill(0);
    let ch = ClickHouse::open(&second, local.cluster.as_deref()).unwrap();
    let reference = reference(&dir.0);
    let server = Server::new(&dir.0.join("ch-state"), DataStore::ClickHouse(Arc::new(ch)));
    let compared = run(compare(&reference, &server, "replica"));
    eprintln!("{compared} answers identical on SQLite and the surviving replica");
}

#[test]
fn bad_and_repeated_files_leave_clickhouse_unchanged_and_a_stopped_server_fails_health() {
    let dir = Scratch::new("bad");
    let mut local = Some(LocalClickHouse::single(&dir.0.join("clickhouse")).unwrap());
    let url = local.as_ref().unwrap().url("ipscope");
    // A cluster the server does not know is named, before anything is created.
    let unknown = ClickHouse::open(&local.as_ref().unwrap().url("elsewhere"), Some("nowhere")).unwrap_err().to_string();
    assert!(unknown.contains("no cluster 'nowhere'"), "{unknown}");
    let data = DataStore::ClickHouse(Arc::new(ClickHouse::open(&url, None).unwrap()));
    let mut csv = std::fs::read_to_string(fixture("events.csv")).unwrap();
    csv.push_str("not,a,valid,row\n");
    std::fs::write(dir.0.join("bad.csv"), csv).unwrap();
    let files = ImportFiles {
        machines: Some(fixture("machines.json")),
        events: Some(dir.0.join("bad.csv")),
        ..Default::default()
    };
    let error = import(&data, &files, &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("bad.csv:"), "{error}");
    let DataStore::ClickHouse(ch) = &data else { unreachable!() };
    for table in ["events", "machines", "devices", "ip_day_device"] {
        let n: Vec<Value> = ch
            .rows(&ipscope_server::store::clickhouse::Sql::new(&format!("SELECT count() AS n FROM {table}")))
            .unwrap();
        assert_eq!(n[0]["n"], 0, "{table} has rows after a failed import");
    }

    // Events are appended on ClickHouse: the same file's content twice is refused, not counted twice.
    let good = ImportFiles { events: Some(fixture("events.csv")), ..Default::default() };
    let first = import(&data, &good, &mut |_| {}).unwrap();
    std::fs::copy(fixture("events.csv"), dir.0.join("renamed.csv")).unwrap();
    let again = ImportFiles { events: Some(dir.0.join("renamed.csv")), ..Default::default() };
    let refused = import(&data, &again, &mut |_| {}).unwrap_err().to_string();
    assert!(
        refused.contains("renamed.csv: this content was imported into") && refused.contains("events.csv"),
        "{refused}"
    );
    let n: Vec<Value> =
        ch.rows(&ipscope_server::store::clickhouse::Sql::new("SELECT count() AS n FROM events")).unwrap();
    assert_eq!(n[0]["n"].as_u64().unwrap(), first.events_new);

    let server = Server::new(&dir.0, data);
    run(async {
        assert_eq!(server.get(0, "/api/health").await.0, StatusCode::OK);
        local.take(); // stops ClickHouse
        let (status, body) = server.get(0, "/api/health").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let (status, body) = server.get(0, "/api/ips/203.0.113.66/alerts").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert!(!body.to_string().contains("127.0.0.1"), "internals leak: {body}");
    });

    let refused = ClickHouse::open(&url, None).unwrap_err().to_string();
    assert!(refused.contains("does not answer"), "{refused}");
}

#[test]
fn every_character_reaches_clickhouse_as_the_value_it_is() {
    use ipscope_server::store::clickhouse::Sql;
    let dir = Scratch::new("quote");
    let local = LocalClickHouse::single(&dir.0.join("clickhouse")).unwrap();
    let ch = ClickHouse::open(&local.url("ipscope"), None).unwrap();
    let mut values: Vec<String> = (1u8..=127).map(|b| format!("a{}b", b as char)).collect();
    values.extend(
        ["'", "\\", "\\'", "''", "') OR 1=1 --", "x' UNION ALL SELECT 'y", "\\x41", "é€𝄞", "a\0b"].map(String::from),
    );
    for value in &values {
        let rows: Vec<Value> =
            ch.rows(&Sql::new("SELECT ").string(value).push(" AS s")).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(rows, vec![serde_json::json!({ "s": value })], "{value:?}");
    }
    let listed: Vec<Value> =
        ch.rows(&Sql::new("SELECT arrayJoin([1]) AS n WHERE 'b' IN ").strings(["a'", "b", "c\\"])).unwrap();
    assert_eq!(listed.len(), 1);
}
