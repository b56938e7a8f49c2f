//! The API through `app(state)`, against real temporary database files filled by the real importer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ipscope_server::auth::tokens::{self, NewToken};
use ipscope_server::geo::GeoDb;
use ipscope_server::import::{import, ImportError, ImportFiles, ImportSummary};
use ipscope_server::rate_limit::RateLimits;
use ipscope_server::store::Store;
use ipscope_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

/// A scratch folder removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> ScratchDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("ipscope-api-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

fn fixture_files() -> ImportFiles {
    ImportFiles {
        machines: Some(fixture("machines.json")),
        alerts: Some(fixture("alerts.json")),
        events: Some(fixture("events.csv")),
    }
}

struct TestApp {
    dir: ScratchDir,
    store: Arc<Store>,
    geo_dir: Option<PathBuf>,
    /// A token with every permission and no device-group limit.
    token: String,
}

/// An ipscope token with every permission, seeing every device.
fn admin_token(store: &Store) -> String {
    admin_token_named(store, "test-admin")
}

fn admin_token_named(store: &Store, name: &str) -> String {
    let new = NewToken {
        name: name.into(),
        permissions: vec!["Ip.Read.All".into(), "Alert.Read.All".into(), "Machine.Read.All".into()],
        device_groups: None,
        expires: None,
    };
    store.call_blocking(|c| Ok(tokens::create(c, &new, chrono::Utc::now()).unwrap())).unwrap()
}

/// `GET uri` with `token`.
fn get_with(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

impl TestApp {
    fn empty() -> TestApp {
        let dir = ScratchDir::new();
        let store = Store::open(&dir.0.join("test.db")).unwrap();
        let token = admin_token(&store);
        TestApp { dir, store, geo_dir: None, token }
    }

    /// Uses the small geolocation databases in `tests/fixtures/geo`, shaped like the npm packages.
    fn with_geo_data(mut self) -> TestApp {
        self.geo_dir = Some(fixture("geo"));
        self
    }

    fn geo(&self) -> GeoDb {
        self.geo_dir.as_deref().map_or_else(GeoDb::empty, GeoDb::load)
    }

    fn with_fixtures() -> TestApp {
        let t = TestApp::empty();
        t.import(&fixture_files()).unwrap();
        t
    }

    fn import(&self, files: &ImportFiles) -> Result<ImportSummary, ImportError> {
        import(&self.store.data(), files, &mut |_| {})
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let state = AppState::new(Arc::clone(&self.store), ServerConfig::default()).with_geo(self.geo());
        let response = app(state).oneshot(get_with(uri, &self.token)).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, json)
    }

    fn count(&self, table: &str) -> i64 {
        let table = table.to_string();
        self.store
            .call_blocking(move |c| Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?))
            .unwrap()
    }
}

fn ids(body: &Value) -> Vec<&str> {
    body["value"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn ip_alerts_lists_the_alerts_whose_evidence_names_the_ip() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get("/api/ips/203.0.113.66/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["@odata.context"], "https://api.security.microsoft.com/api/$metadata#Alerts");
    assert_eq!(ids(&body), vec!["da638100000000000000_111", "da638100000000000000_222"]);
    let first = &body["value"][0];
    assert_eq!(first["severity"], "High");
    assert_eq!(first["computerDnsName"], "fin-lt-0042.corp.contoso.example");
    assert_eq!(first["evidence"][0]["ipAddress"], "203.0.113.66");

    let (_, body) = t.get("/api/ips/198.51.100.23/alerts").await;
    assert_eq!(ids(&body), vec!["da638100000000000000_222"]);
}

#[tokio::test]
async fn ip_alerts_is_empty_for_a_valid_unknown_ip_and_400_for_an_invalid_one() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get("/api/ips/192.0.2.1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"], Value::Array(vec![]));

    let (status, body) = t.get("/api/ips/2001:db8::1/alerts").await;
    assert_eq!((status, body["value"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));

    for bad in ["010.1.1.1", "1.2.3", "0x7f.0.0.1", "not-an-ip", "1.2.3.4.5", "%3Cscript%3E"] {
        let (status, body) = t.get(&format!("/api/ips/{bad}/alerts")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"]["code"], "InvalidIpAddress", "{bad}");
        assert!(body["error"]["message"].as_str().unwrap().contains("IPv4 or IPv6") || bad == "010.1.1.1", "{body}");
        assert!(!body["error"]["target"].as_str().unwrap().is_empty(), "a request id is given");
    }
    let (_, body) = t.get("/api/ips/010.1.1.1/alerts").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("leading zero"), "{body}");
}

#[tokio::test]
async fn unknown_query_parameters_and_paths_are_refused_in_json() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get("/api/ips/203.0.113.66/alerts?$tpo=5").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("'$tpo'"), "{body}");

    for malformed in ["/api/ips/%FF/alerts", "/api/machines/%FF%FE", "/api/ips/203.0.113.66/devices?from=%FF"] {
        let (status, body) = t.get(malformed).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed}");
        assert_eq!(body["error"]["code"], "BadRequest", "{malformed}: a Defender error body, not plain text");
    }

    let (status, body) = t.get("/api/no/such/endpoint").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NotFound");
}

#[tokio::test]
async fn alert_ips_and_alert_answer_404_for_an_unknown_alert() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get("/api/alerts/da638100000000000000_222/ips").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["@odata.context"], "https://api.security.microsoft.com/api/$metadata#Ips");
    assert_eq!(ids(&body), vec!["198.51.100.23", "203.0.113.66"]);

    let (status, body) = t.get("/api/alerts/da638100000000000000_333/ips").await;
    assert_eq!((status, body["value"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));

    let (status, body) = t.get("/api/alerts/nope/ips").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NotFound");

    let (status, body) = t.get("/api/alerts/da638100000000000000_111").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["title"], "Suspicious command-and-control beacon");
    let (status, _) = t.get("/api/alerts/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn machines_by_id_or_name_with_their_alerts() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get("/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["computerDnsName"], "fin-lt-0042.corp.contoso.example");
    assert_eq!(body["riskScore"], "High");
    assert_eq!(body["ipAddresses"][0]["ipAddress"], "10.20.1.42");

    let (status, body) = t.get("/api/machines/fin-lt-0042.corp.contoso.example").await;
    assert_eq!((status, body["id"].as_str()), (StatusCode::OK, Some("1e5bc9d7e413ddd7902c2932e418702b84d0cc07")));

    let (_, body) = t.get("/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/alerts").await;
    assert_eq!(ids(&body), vec!["da638100000000000000_111", "da638100000000000000_333"]);

    let (status, body) = t.get("/api/machines/unknown-device/alerts").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("NotFound")));
}

#[tokio::test]
async fn stats_validate_the_look_back() {
    let t = TestApp::with_fixtures();
    for bad in ["0", "-5", "abc", "100000", "1.5"] {
        let (status, body) = t.get(&format!("/api/ips/203.0.113.66/stats?lookBackHours={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"]["message"].as_str().unwrap().contains("lookBackHours"), "{body}");
    }
    let (status, body) = t.get("/api/ips/192.0.2.1/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["organizationPrevalence"], 0);
    assert_eq!(body["orgFirstSeen"], Value::Null);
}

#[tokio::test]
async fn import_is_idempotent() {
    let t = TestApp::empty();
    let first = t.import(&fixture_files()).unwrap();
    assert_eq!((first.machines, first.alerts, first.events_read, first.events_new), (2, 3, 4, 3));
    assert_eq!(first.events_without_remote_ip, 1);
    let counts = ["machines", "alerts", "alert_ips", "events", "devices", "files"].map(|table| t.count(table));

    let second = t.import(&fixture_files()).unwrap();
    assert_eq!(second.events_new, 0, "nothing new the second time");
    assert_eq!(["machines", "alerts", "alert_ips", "events", "devices", "files"].map(|table| t.count(table)), counts);
}

#[tokio::test]
async fn a_bad_row_fails_the_whole_import_with_its_line_and_changes_nothing() {
    let t = TestApp::empty();
    let events = t.dir.write(
        "events.csv",
        "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort\n\
         2026-11-20T07:56:00Z,dev1,host1,ConnectionSuccess,203.0.113.66,443\n\
         2026-11-20T07:57:00Z,dev1,host1,ConnectionSuccess,203.0.113.999,443\n",
    );
    let files = ImportFiles { events: Some(events), ..fixture_files() };
    let err = t.import(&files).unwrap_err().to_string();
    assert!(err.contains("events.csv:3:"), "{err}");
    assert!(err.contains("203.0.113.999"), "{err}");
    for table in ["machines", "alerts", "events", "devices"] {
        assert_eq!(t.count(table), 0, "{table} is untouched");
    }
}

#[tokio::test]
async fn a_missing_required_column_is_named() {
    let t = TestApp::empty();
    let events = t.dir.write("events.csv", "Timestamp,DeviceId,DeviceName,ActionType,RemotePort\n");
    let err = t.import(&ImportFiles { events: Some(events), ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains("'RemoteIP'"), "{err}");

    let alerts = t.dir.write("alerts.json", r#"{"value": [{"id": "a1", "severity": "High", "status": "New"}]}"#);
    let err = t.import(&ImportFiles { alerts: Some(alerts), ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains("missing field `title`") && err.contains("alerts.json:1"), "{err}");
}

#[tokio::test]
async fn json_lines_events_import_like_csv() {
    let t = TestApp::empty();
    let (day_ago, hour_ago) =
        (chrono::Utc::now() - chrono::Duration::days(1), chrono::Utc::now() - chrono::Duration::hours(1));
    let events = t.dir.write(
        "events.jsonl",
        &format!(
            r#"{{"Timestamp":"{}","DeviceId":"dev1","DeviceName":"host1","ActionType":"ConnectionSuccess","RemoteIP":"2001:DB8::7","RemotePort":443,"Extra":[1]}}
{{"Timestamp":"{}","DeviceId":"dev2","DeviceName":"host2","ActionType":"ConnectionSuccess","RemoteIP":"2001:db8::7","RemotePort":"443","LocalPort":null}}
"#,
            day_ago.to_rfc3339(),
            hour_ago.to_rfc3339()
        ),
    );
    let summary = t.import(&ImportFiles { events: Some(events), ..Default::default() }).unwrap();
    assert_eq!(summary.events_new, 2);
    let (_, body) = t.get("/api/ips/2001:db8::7/stats").await;
    assert_eq!(body["ipAddress"], "2001:db8::7");
    assert_eq!(body["organizationPrevalence"], 2);
    let first = body["orgFirstSeen"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(first.timestamp(), day_ago.timestamp());

    let (_, body) = t.get("/api/ips/2001:db8::7/stats?lookBackHours=2").await;
    assert_eq!(body["organizationPrevalence"], 1, "only the last hour's device is in a 2-hour window");
}

const NOV: &str = "from=2026-11-01T00:00:00Z&to=2026-11-26T00:00:00Z";

#[tokio::test]
async fn observed_devices_give_each_devices_last_connection() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get(&format!("/api/ips/203.0.113.66/devices?{NOV}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["@odata.count"], 1);
    let d = &body["value"][0];
    assert_eq!(d["machineId"], "1e5bc9d7e413ddd7902c2932e418702b84d0cc07");
    assert_eq!(d["computerDnsName"], "fin-lt-0042.corp.contoso.example");
    assert_eq!(d["lastSeen"], "2026-11-24T17:00:00Z");
    assert_eq!(d["connections"], 2);
    assert_eq!(d["localIp"], "10.20.1.42");
    assert_eq!(d["remotePort"], 443);
    assert_eq!(d["initiatingProcessFileName"], "svc-updater.exe");
    assert_eq!(d["initiatingProcessSha1"], "d2f1a8c47e3b9f0e6a5d4c3b2a1f0e9d8c7b6a5f", "SHA1s are stored lower-case");

    // A period that ends before the last connection shows the earlier one.
    let (_, body) = t.get("/api/ips/203.0.113.66/devices?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z").await;
    assert_eq!(body["value"][0]["lastSeen"], "2026-11-20T07:56:00Z");
    assert_eq!(body["value"][0]["connections"], 1);

    let (_, body) = t.get("/api/ips/192.0.2.1/devices").await;
    assert_eq!((body["@odata.count"].as_u64(), body["value"].as_array().map(Vec::len)), (Some(0), Some(0)));
}

#[tokio::test]
async fn devices_and_prevalence_validate_periods_and_top() {
    let t = TestApp::with_fixtures();
    for (query, needle) in [
        ("$top=0", "$top"),
        ("$top=-1", "$top"),
        ("$top=101", "$top"),
        ("$top=ten", "$top"),
        ("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "before"),
        ("from=2025-01-01T00:00:00Z&to=2025-12-01T00:00:00Z", "183 days"),
        ("from=tomorrow", "RFC 3339"),
        ("lookBackHours=24&from=2026-11-01T00:00:00Z", "not both"),
        ("lookBackHours=99999", "lookBackHours"),
        ("since=2026-11-01", "'since'"),
    ] {
        let (status, body) = t.get(&format!("/api/ips/203.0.113.66/devices?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
    let (status, _) = t.get("/api/ips/203.0.113.66/prevalence?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn prevalence_has_a_day_for_every_day_of_the_period() {
    let t = TestApp::with_fixtures();
    let (status, body) =
        t.get("/api/ips/203.0.113.66/prevalence?from=2026-11-19T12:00:00Z&to=2026-11-25T00:00:00Z").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["organizationPrevalence"], 1);
    assert_eq!(body["connections"], 2);
    assert_eq!(body["orgFirstSeen"], "2026-11-20T07:56:00Z");
    assert_eq!(body["orgLastSeen"], "2026-11-24T17:00:00Z");
    let days: Vec<(String, u64)> = body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), d["connections"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(String, u64)> = [("19", 0), ("20", 1), ("21", 0), ("22", 0), ("23", 0), ("24", 1)]
        .iter()
        .map(|(d, n)| (format!("2026-11-{d}"), *n))
        .collect();
    assert_eq!(days, expected);
}

#[tokio::test]
async fn suggestions_list_observed_addresses_by_prefix() {
    let t = TestApp::with_fixtures();
    let (status, body) = t.get("/api/ips?prefix=203.0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec!["203.0.113.66"]);
    let (_, body) = t.get("/api/ips?prefix=1").await;
    assert_eq!(ids(&body), vec!["198.51.100.23"]);
    let (_, body) = t.get("/api/ips?prefix=8.8").await;
    assert!(ids(&body).is_empty());
    for bad in ["", "x", "1.2.3.4;drop", "$top=5"] {
        let (status, _) = t.get(&format!("/api/ips?prefix={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn suggestions_step_over_busy_addresses() {
    let t = TestApp::empty();
    let mut csv = String::from("Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort\n");
    for (ip, n) in [("10.0.0.1", 50), ("10.0.0.10", 3), ("10.0.0.2", 20), ("10.1.0.1", 1), ("11.0.0.1", 1)] {
        for k in 0..n {
            csv.push_str(&format!(
                "2026-11-20T{:02}:{:02}:00Z,dev{k},host{k},ConnectionSuccess,{ip},443\n",
                k / 60,
                k % 60
            ));
        }
    }
    let events = t.dir.write("events.csv", &csv);
    t.import(&ImportFiles { events: Some(events), ..Default::default() }).unwrap();
    let (_, body) = t.get("/api/ips?prefix=10.0&$top=10").await;
    assert_eq!(ids(&body), vec!["10.0.0.1", "10.0.0.10", "10.0.0.2"]);
    let (_, body) = t.get("/api/ips?prefix=10&$top=2").await;
    assert_eq!(ids(&body), vec!["10.0.0.1", "10.0.0.10"]);
}

#[tokio::test]
async fn device_connections_list_remote_addresses_newest_first() {
    let t = TestApp::with_fixtures();
    let (status, body) =
        t.get(&format!("/api/machines/7a9c0f3e8b2d4c6e1f0a9b8c7d6e5f4a3b2c1d0e/connections?{NOV}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = &body["value"];
    assert_eq!(v.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(v[0]["remoteIp"], "198.51.100.23");
    assert_eq!(v[0]["remoteUrl"], "cdn-updates.example.net");
    assert_eq!(v[0]["initiatingProcessFileName"], "msedge.exe");

    let (status, _) = t.get("/api/machines/nobody/connections").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn profile_gives_class_geolocation_asn_and_sources() {
    let t = TestApp::empty().with_geo_data();
    let (status, body) = t.get("/api/ips/45.77.12.9/profile").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["addressClass"], "public");
    let geo = &body["geo"];
    assert_eq!(geo["country"], "Germany");
    assert_eq!(geo["countryCode"], "DE");
    assert_eq!(geo["state"], "Hesse");
    assert_eq!(geo["city"], "Frankfurt am Main");
    assert_eq!(geo["postalCode"], "60311");
    assert_eq!(geo["asn"], 20473);
    assert_eq!(geo["organization"], "The Constant Company, LLC");
    assert!((geo["latitude"].as_f64().unwrap() - 50.1109).abs() < 1e-4);
    assert_eq!(geo["carrier"], Value::Null, "DB-IP lite has no carrier");
    let sources: Vec<(&str, &str)> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["date"].as_str().unwrap()))
        .collect();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0], ("DB-IP IP to City Lite", "2026-06-05"));
    assert_eq!(sources[1].1, "2026-06-17");

    // An address outside the data, and a private one, have nothing; that is not an error.
    let (status, body) = t.get("/api/ips/8.8.8.8/profile").await;
    assert_eq!((status, &body["geo"]["country"]), (StatusCode::OK, &Value::Null));
    let (_, body) = t.get("/api/ips/10.1.2.3/profile").await;
    assert_eq!(body["addressClass"], "private");
    assert_eq!(body["geo"]["asn"], Value::Null);
}

#[tokio::test]
async fn profile_without_geo_data_says_nothing_but_still_classifies() {
    let t = TestApp::empty();
    let (status, body) = t.get("/api/ips/2001:db8::1/profile").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["addressClass"], "documentation");
    assert_eq!(body["sources"], Value::Array(vec![]));
    let (status, body) = t.get("/api/ips/1.2.3/profile").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidIpAddress")));
}

#[tokio::test]
async fn too_many_requests_get_429_with_retry_after() {
    let t = TestApp::with_fixtures();
    let config = ServerConfig {
        rate_limits: RateLimits {
            per_minute: Some(3),
            per_hour: None,
            limit_loopback: true,
            trusted_proxies: Vec::new(),
        },
        ..Default::default()
    };
    let router = app(AppState::new(Arc::clone(&t.store), config));
    let call = |router: axum::Router| async {
        router.oneshot(get_with("/api/ips/203.0.113.66/alerts", &t.token)).await.unwrap()
    };
    for _ in 0..3 {
        assert_eq!(call(router.clone()).await.status(), StatusCode::OK);
    }
    let limited = call(router.clone()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = serde_json::from_slice(&limited.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
}

#[tokio::test]
async fn cors_allows_exactly_the_configured_origins() {
    let t = TestApp::with_fixtures();
    let config = ServerConfig { cors_origins: vec!["https://soc.example.com".into()], ..Default::default() };
    let router = app(AppState::new(Arc::clone(&t.store), config));
    let from = |origin: &'static str| {
        let mut request = get_with("/api/ips/203.0.113.66/alerts", &t.token);
        request.headers_mut().insert("origin", origin.parse().unwrap());
        request
    };
    let allowed = router.clone().oneshot(from("https://soc.example.com")).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://soc.example.com");
    let other = router.clone().oneshot(from("https://evil.example.net")).await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let nothing_configured = app(AppState::new(Arc::clone(&t.store), ServerConfig::default()));
    let response = nothing_configured.oneshot(from("https://soc.example.com")).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "no CORS unless configured");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn the_app_page_gets_a_strict_csp_with_its_loader_hash_and_the_configured_framing() {
    let t = TestApp::empty();
    let dist = t.dir.0.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<html><script type=\"module\">start()</script></html>").unwrap();
    std::fs::write(dist.join("app.js"), "export {}").unwrap();
    let get = |config: ServerConfig, uri: &'static str| {
        let router = app(AppState::new(Arc::clone(&t.store), config));
        async move { router.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap() }
    };
    let config = ServerConfig { dist: Some(dist.clone()), ..Default::default() };
    for client_route in ["/", "/ips/203.0.113.66?period=7d"] {
        let page = get(config.clone(), client_route).await;
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
    }
    let js = get(config, "/app.js").await;
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(js.headers()["x-content-type-options"], "nosniff");

    let embeddable = ServerConfig {
        dist: Some(dist),
        frame_ancestors: vec!["https://soc.example.com".into()],
        ..Default::default()
    };
    let page = get(embeddable, "/").await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors https://soc.example.com"), "{csp}");
    assert!(page.headers().get("x-frame-options").is_none());
}

#[tokio::test]
async fn assets_go_out_compressed_and_cached_for_good_while_the_page_carries_its_configuration() {
    let t = TestApp::empty();
    let dist = t.dir.0.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<html><head><base href=\"./\"><script type=\"module\">start()</script></head></html>",
    )
    .unwrap();
    std::fs::write(dist.join("config.json"), r#"{"apiBaseUrl": "api/"}"#).unwrap();
    let wasm = "ipscope-0123456789abcdef_bg.wasm";
    std::fs::write(dist.join(wasm), "raw module").unwrap();
    std::fs::write(dist.join(format!("{wasm}.br")), "brotli module").unwrap();
    std::fs::write(dist.join(format!("{wasm}.gz")), "gzip module").unwrap();
    let router = app(AppState::new(Arc::clone(&t.store), ServerConfig { dist: Some(dist), ..Default::default() }));
    let get = |uri: String, accept: &'static str| {
        let router = router.clone();
        async move {
            let mut request = Request::get(uri);
            if !accept.is_empty() {
                request = request.header("accept-encoding", accept);
            }
            let response = router.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (headers, String::from_utf8_lossy(&body).into_owned())
        }
    };
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), "brotli module"),
        ("gzip", Some("gzip"), "gzip module"),
        ("", None, "raw module"),
    ] {
        let (headers, sent) = get(format!("/{wasm}"), accept).await;
        assert_eq!(sent, body, "Accept-Encoding: {accept}");
        assert_eq!(headers.get("content-encoding").map(|v| v.to_str().unwrap()), encoding, "{accept}");
        assert_eq!(headers["vary"], "accept-encoding");
        assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    }
    let (headers, _) = get("/ips/203.0.113.66".into(), "br").await;
    assert_eq!(headers["content-encoding"], "br", "the page is compressed on the fly");
    let (headers, page) = get("/ips/203.0.113.66".into(), "").await;
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(
        page.contains(r#"<script id="ipscope-config" type="application/json">{"apiBaseUrl":"api/","auth":{"type":"token"},"frameAncestors":[]}</script></head>"#),
        "{page}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert_eq!(csp.matches("'sha256-").count(), 1, "only the loader runs: {csp}");
    let (headers, config) = get("/config.json".into(), "").await;
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(config.contains(r#""auth":{"type":"token"}"#), "{config}");
}

#[tokio::test]
async fn api_answers_are_compressed_for_clients_that_accept_it() {
    use std::io::Read;
    let t = TestApp::with_fixtures();
    let (_, plain) = t.get("/api/ips/203.0.113.66/alerts").await;
    let router = app(AppState::new(Arc::clone(&t.store), ServerConfig::default()));
    let mut request = get_with("/api/ips/203.0.113.66/alerts", &t.token);
    request.headers_mut().insert("accept-encoding", "gzip".parse().unwrap());
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let vary: Vec<_> = response.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(vary.iter().any(|v| v.contains("accept-encoding")), "{vary:?}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain);
    assert!(bytes.len() < text.len() / 2, "{} compressed bytes for {} of JSON", bytes.len(), text.len());
}

#[test]
fn base_paths_are_normalised_or_refused() {
    use ipscope_server::normalize_base_path;
    assert_eq!(normalize_base_path(""), Ok(String::new()));
    assert_eq!(normalize_base_path("/"), Ok(String::new()));
    assert_eq!(normalize_base_path("/tools/ipscope/"), Ok("/tools/ipscope".into()));
    assert_eq!(normalize_base_path("tools"), Ok("/tools".into()));
    for bad in ["/../etc", "/a//b", "/a b", "/a?b", "/<x>"] {
        assert!(normalize_base_path(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let t = TestApp::with_fixtures();
    let proxy: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let limits =
        RateLimits { per_minute: Some(1), per_hour: None, limit_loopback: true, trusted_proxies: vec![proxy.ip()] };
    let router = app(AppState::new(Arc::clone(&t.store), ServerConfig { rate_limits: limits, ..Default::default() }));
    // Each client with its own token, so that only the per-address limit is at work.
    let second_token = admin_token_named(&t.store, "second-client");
    let call = |client: &'static str| {
        let token = if client.ends_with(".1") { &t.token } else { &second_token };
        let request = Request::get("/api/ips/203.0.113.66/alerts")
            .header("authorization", format!("Bearer {token}"))
            .header("x-forwarded-for", client)
            .extension(axum::extract::ConnectInfo(proxy))
            .body(Body::empty())
            .unwrap();
        let router = router.clone();
        async move { router.oneshot(request).await.unwrap().status() }
    };
    assert_eq!(call("198.51.100.1").await, StatusCode::OK);
    assert_eq!(call("198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(call("198.51.100.2").await, StatusCode::OK, "another client behind the same proxy");
}
