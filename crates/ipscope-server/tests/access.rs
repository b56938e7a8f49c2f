//! Access control through `app(state)`: bearer tokens, Defender's permissions, device-group scoping on every
//! endpoint, the audit, the `Host` check, and the `token` and `audit` commands of the real binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ipscope_server::audit::{self, AuditSink};
use ipscope_server::auth::tokens::{self, NewToken};
use ipscope_server::auth::AuthConfig;
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::rate_limit::RateLimits;
use ipscope_server::store::Store;
use ipscope_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

const FIN: &str = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";
const ENG: &str = "7a9c0f3e8b2d4c6e1f0a9b8c7d6e5f4a3b2c1d0e";
const OPS: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";
const ALL_PERMISSIONS: [&str; 3] = ["Ip.Read.All", "Alert.Read.All", "Machine.Read.All"];

/// Every protected route, with values that exist in the fixtures.
const ROUTES: [&str; 12] = [
    "/api/me",
    "/api/ips?prefix=45",
    "/api/ips/45.77.12.9/alerts",
    "/api/ips/45.77.12.9/stats",
    "/api/ips/45.77.12.9/devices",
    "/api/ips/45.77.12.9/prevalence",
    "/api/ips/45.77.12.9/profile",
    "/api/alerts/da638100000000000000_111",
    "/api/alerts/da638100000000000000_111/ips",
    "/api/machines/fin-lt-0042.corp.contoso.example",
    "/api/machines/fin-lt-0042.corp.contoso.example/alerts",
    "/api/machines/fin-lt-0042.corp.contoso.example/connections",
];

struct Fixture {
    dir: PathBuf,
    store: Arc<Store>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// The fixtures (fin-lt-0042 in Finance, eng-ws-1007 in Engineering) plus recent connections to 45.77.12.9:
/// fin twice (3 and 2 days ago), eng once (1 day ago), ops-srv-07 (no machine, so no group) once (4 days ago).
fn fixture() -> Fixture {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ipscope-access-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let at = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let mut csv = std::fs::read_to_string(fixture_path("events.csv")).unwrap();
    for (days, device, name) in [
        (3, FIN, "fin-lt-0042.corp.contoso.example"),
        (2, FIN, "fin-lt-0042.corp.contoso.example"),
        (1, ENG, "<i>eng</i>-ws-1007.corp.contoso.example"),
        (4, OPS, "ops-srv-07.corp.contoso.example"),
    ] {
        csv.push_str(&format!(
            "{},{device},{name},ConnectionSuccess,45.77.12.9,443,,10.0.0.1,50000,Tcp,curl.exe,,{days}\n",
            at(days)
        ));
    }
    std::fs::write(dir.join("events.csv"), csv).unwrap();
    let store = Store::open(&dir.join("test.db")).unwrap();
    let files = ImportFiles {
        machines: Some(fixture_path("machines.json")),
        alerts: Some(fixture_path("alerts.json")),
        events: Some(dir.join("events.csv")),
    };
    import(&store.data(), &files, &mut |_| {}).unwrap();
    Fixture { dir, store }
}

fn token(store: &Store, name: &str, permissions: &[&str], groups: Option<&[&str]>) -> String {
    let new = NewToken {
        name: name.into(),
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
        device_groups: groups.map(|g| g.iter().map(|g| g.to_string()).collect()),
        expires: None,
    };
    store.call_blocking(|c| Ok(tokens::create(c, &new, chrono::Utc::now()).unwrap())).unwrap()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(router: &axum::Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer { status, headers, body }
}

async fn get(router: &axum::Router, uri: &str, token: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

fn router(store: &Arc<Store>, config: ServerConfig) -> axum::Router {
    app(AppState::new(Arc::clone(store), config))
}

#[tokio::test]
async fn every_api_route_needs_a_valid_token() {
    let f = fixture();
    let router = router(&f.store, ServerConfig::default());
    let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln";
    for uri in ROUTES {
        let missing = get(&router, uri, None).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(missing.headers["www-authenticate"], "Bearer realm=\"ipscope\"", "{uri}");
        assert_eq!(missing.body["error"]["code"], "Unauthorized", "{uri}");
        assert!(missing.body["error"]["message"].as_str().unwrap().contains("Authorization: Bearer"), "{uri}");

        let unknown = "ipscope_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for bad in [unknown, "not-a-token", jwt] {
            let refused = get(&router, uri, Some(bad)).await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{uri} {bad}");
            let challenge = refused.headers["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer realm=\"ipscope\", error=\"invalid_token\""), "{challenge}");
            assert_eq!(refused.body["error"]["code"], "Unauthorized");
        }
        let basic = Request::get(uri).header("authorization", "Basic dXNlcjpwYXNz").body(Body::empty()).unwrap();
        assert_eq!(send(&router, basic).await.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    assert_eq!(get(&router, "/api/openapi.json", None).await.status, StatusCode::OK, "the document is public");
    let unknown_path = get(&router, "/api/nothing/here", None).await;
    assert_eq!(unknown_path.status, StatusCode::NOT_FOUND);

    let admin = token(&f.store, "admin", &ALL_PERMISSIONS, None);
    for uri in ROUTES {
        let answer = get(&router, uri, Some(&admin)).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
    }
    let me = get(&router, "/api/me", Some(&admin)).await.body;
    assert_eq!(me["name"], "admin");
    assert_eq!(me["deviceGroups"], Value::Null);
}

#[tokio::test]
async fn expired_and_revoked_tokens_stop_working_on_the_next_request() {
    let f = fixture();
    let router = router(&f.store, ServerConfig::default());
    let uri = "/api/ips/45.77.12.9/stats";
    let script = token(&f.store, "soar", &["Ip.Read.All"], None);
    assert_eq!(get(&router, uri, Some(&script)).await.status, StatusCode::OK);
    assert!(f.store.call_blocking(|c| tokens::revoke(c, "soar", chrono::Utc::now())).unwrap());
    let revoked = get(&router, uri, Some(&script)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(revoked.headers["www-authenticate"].to_str().unwrap().contains("invalid_token"));

    let expiring = NewToken {
        name: "short".into(),
        permissions: vec!["Ip.Read.All".into()],
        device_groups: None,
        expires: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
    };
    let short = f.store.call_blocking(|c| Ok(tokens::create(c, &expiring, chrono::Utc::now()).unwrap())).unwrap();
    assert_eq!(get(&router, uri, Some(&short)).await.status, StatusCode::OK);
    f.store.call_blocking(|c| Ok(c.execute("UPDATE tokens SET expires = 1000 WHERE name = 'short'", [])?)).unwrap();
    let expired = get(&router, uri, Some(&short)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.body["error"]["message"].as_str().unwrap().contains("expired"), "{}", expired.body);

    // A token whose secret is altered is refused, though its id is right.
    let mut forged = token(&f.store, "forge-me", &["Ip.Read.All"], None);
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(get(&router, uri, Some(&forged)).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_without_the_permission_gets_403_naming_it() {
    let f = fixture();
    let router = router(&f.store, ServerConfig::default());
    let ip_only = token(&f.store, "ip-only", &["Ip.Read.All"], None);
    let cases = [
        ("/api/ips/45.77.12.9/alerts", "Alert.Read.All"),
        ("/api/alerts/da638100000000000000_111", "Alert.Read.All"),
        ("/api/machines/fin-lt-0042.corp.contoso.example", "Machine.Read.All"),
        ("/api/machines/fin-lt-0042.corp.contoso.example/connections", "Machine.Read.All"),
    ];
    for (uri, needed) in cases {
        let answer = get(&router, uri, Some(&ip_only)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{uri}");
        assert_eq!(answer.body["error"]["code"], "Forbidden");
        assert!(answer.body["error"]["message"].as_str().unwrap().contains(needed), "{uri}: {}", answer.body);
    }
    assert_eq!(get(&router, "/api/alerts/da638100000000000000_111/ips", Some(&ip_only)).await.status, StatusCode::OK);

    let delegated = token(&f.store, "delegated", &["Alert.Read"], None);
    assert_eq!(get(&router, "/api/ips/45.77.12.9/alerts", Some(&delegated)).await.status, StatusCode::OK);
    assert_eq!(get(&router, "/api/ips/45.77.12.9/stats", Some(&delegated)).await.status, StatusCode::FORBIDDEN);
    let invalid_ip = get(&router, "/api/ips/999.1.1.1/stats", Some(&delegated)).await;
    assert_eq!(invalid_ip.status, StatusCode::FORBIDDEN, "the permission is checked before the input");
}

fn ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().or(v["machineId"].as_str()).unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn device_groups_limit_every_answer() {
    let f = fixture();
    let router = router(&f.store, ServerConfig::default());
    let fin = token(&f.store, "finance-analyst", &ALL_PERMISSIONS, Some(&["Finance"]));
    let eng = token(&f.store, "engineering-analyst", &ALL_PERMISSIONS, Some(&["Engineering"]));
    let hr = token(&f.store, "hr-analyst", &ALL_PERMISSIONS, Some(&["HR"]));
    let admin = token(&f.store, "admin", &ALL_PERMISSIONS, None);

    // Prevalence, first/last seen, devices and the series of 45.77.12.9 count only the caller's devices.
    let stats = |t: String| {
        let router = router.clone();
        async move { get(&router, "/api/ips/45.77.12.9/stats?lookBackHours=720", Some(&t)).await.body }
    };
    let (s_fin, s_eng, s_hr, s_all) =
        (stats(fin.clone()).await, stats(eng.clone()).await, stats(hr.clone()).await, stats(admin.clone()).await);
    assert_eq!(s_fin["organizationPrevalence"], 1);
    assert_eq!(s_eng["organizationPrevalence"], 1);
    assert_eq!(s_hr["organizationPrevalence"], 0);
    assert_eq!(s_all["organizationPrevalence"], 3, "fin, eng and the device in no group");
    assert_eq!(s_hr["orgFirstSeen"], Value::Null);
    assert_ne!(s_fin["orgLastSeen"], s_eng["orgLastSeen"]);
    assert_eq!(s_all["orgFirstSeen"].as_str().unwrap()[..10], *stats_date(4), "the device in no group, 4 days ago");
    assert_eq!(s_fin["orgFirstSeen"].as_str().unwrap()[..10], *stats_date(3));
    assert_eq!(s_eng["orgFirstSeen"].as_str().unwrap()[..10], *stats_date(1));

    let prevalence = |t: String| {
        let router = router.clone();
        async move { get(&router, "/api/ips/45.77.12.9/prevalence", Some(&t)).await.body }
    };
    let (p_fin, p_eng, p_all) =
        (prevalence(fin.clone()).await, prevalence(eng.clone()).await, prevalence(admin.clone()).await);
    assert_eq!(
        (p_fin["connections"].as_u64(), p_eng["connections"].as_u64(), p_all["connections"].as_u64()),
        (Some(2), Some(1), Some(4))
    );
    let busy_days =
        |p: &Value| p["days"].as_array().unwrap().iter().filter(|d| d["devices"].as_u64() > Some(0)).count();
    assert_eq!((busy_days(&p_fin), busy_days(&p_eng), busy_days(&p_all)), (2, 1, 4));

    let devices = |t: String| {
        let router = router.clone();
        async move { ids(&get(&router, "/api/ips/45.77.12.9/devices", Some(&t)).await.body) }
    };
    assert_eq!(devices(fin.clone()).await, vec![FIN]);
    assert_eq!(devices(eng.clone()).await, vec![ENG]);
    assert_eq!(devices(admin.clone()).await, vec![FIN, OPS, ENG], "sorted by id");

    // Alerts of the caller's devices only.
    let alerts = |t: String| {
        let router = router.clone();
        async move { ids(&get(&router, "/api/ips/203.0.113.66/alerts", Some(&t)).await.body) }
    };
    assert_eq!(alerts(fin.clone()).await, vec!["da638100000000000000_111"]);
    assert_eq!(alerts(eng.clone()).await, vec!["da638100000000000000_222"]);
    assert_eq!(alerts(admin.clone()).await, vec!["da638100000000000000_111", "da638100000000000000_222"]);

    // Suggestions only of addresses the caller's devices saw.
    let suggest = |t: String| {
        let router = router.clone();
        async move { ids(&get(&router, "/api/ips?prefix=1", Some(&t)).await.body) }
    };
    assert_eq!(suggest(eng.clone()).await, vec!["198.51.100.23"]);
    assert!(suggest(fin.clone()).await.is_empty(), "fin saw no 1… address");
    assert_eq!(suggest(admin.clone()).await, vec!["198.51.100.23"]);
    assert!(ids(&get(&router, "/api/ips?prefix=45", Some(&hr)).await.body).is_empty());

    // Another group's machine or alert answers exactly as an unknown one.
    let unknown_machine = get(&router, "/api/machines/no-such-device", Some(&fin)).await;
    let unknown_alert = get(&router, "/api/alerts/no-such-alert", Some(&fin)).await;
    let hidden = [
        (format!("/api/machines/{ENG}"), &unknown_machine),
        (format!("/api/machines/{ENG}/alerts"), &unknown_machine),
        (format!("/api/machines/{ENG}/connections"), &unknown_machine),
        (format!("/api/machines/{OPS}"), &unknown_machine),
        (format!("/api/machines/{OPS}/connections"), &unknown_machine),
        ("/api/alerts/da638100000000000000_222".to_string(), &unknown_alert),
        ("/api/alerts/da638100000000000000_222/ips".to_string(), &unknown_alert),
    ];
    for (uri, unknown) in hidden {
        let answer = get(&router, &uri, Some(&fin)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        let id = uri.split('/').nth(3).unwrap();
        let unknown_id = if uri.starts_with("/api/alerts") { "no-such-alert" } else { "no-such-device" };
        assert_eq!(
            answer.body["error"]["message"].as_str().unwrap(),
            unknown.body["error"]["message"].as_str().unwrap().replace(unknown_id, id),
            "{uri} says nothing an unknown id would not"
        );
        assert_eq!(get(&router, &uri, Some(&admin)).await.status, StatusCode::OK, "{uri}");
    }
    let by_name = get(&router, "/api/machines/fin-lt-0042.corp.contoso.example", Some(&eng)).await;
    assert_eq!(by_name.status, StatusCode::NOT_FOUND, "by name too");
    assert_eq!(get(&router, &format!("/api/machines/{ENG}/connections"), Some(&eng)).await.status, StatusCode::OK);
    assert_eq!(ids(&get(&router, &format!("/api/machines/{FIN}/alerts"), Some(&fin)).await.body).len(), 2);
    let me = get(&router, "/api/me", Some(&fin)).await.body;
    assert_eq!(me["deviceGroups"], serde_json::json!(["Finance"]));
}

/// The UTC date `days` ago, as `YYYY-MM-DD`.
fn stats_date(days: i64) -> &'static str {
    let text = (chrono::Utc::now() - chrono::Duration::days(days)).format("%Y-%m-%d").to_string();
    Box::leak(text.into_boxed_str())
}

#[tokio::test]
async fn each_authenticated_request_is_audited() {
    let f = fixture();
    let router = router(&f.store, ServerConfig::default());
    let analyst = token(&f.store, "ana", &ALL_PERMISSIONS, Some(&["Finance"]));
    get(&router, "/api/ips/45.77.12.9/devices?lookBackHours=48", Some(&analyst)).await;
    get(&router, "/api/alerts/da638100000000000000_222", Some(&analyst)).await;
    get(&router, "/api/ips/45.77.12.9/alerts", None).await; // not authenticated: not audited
    let records = wait_for(
        || audit::read(&f.store, &AuditSink::Database, chrono::Utc::now() - chrono::Duration::hours(1)).unwrap(),
        2,
    )
    .await;
    let summary: Vec<String> = records
        .iter()
        .map(|r| {
            let target = r.target.as_deref().unwrap_or("-");
            format!("{} {} {target} {} {}", r.caller, r.endpoint, r.query.as_deref().unwrap_or("-"), r.status)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "ana /api/ips/{ip}/devices 45.77.12.9 lookBackHours=48 200",
            "ana /api/alerts/{id} da638100000000000000_222 - 404",
        ]
    );
    let listed = f.store.call_blocking(|c| tokens::list(c)).unwrap();
    assert!(listed.iter().find(|t| t.name == "ana").unwrap().last_used.is_some(), "the token's last use is recorded");

    // To a JSON-lines file instead.
    let file = f.dir.join("audit.jsonl");
    let config = ServerConfig { audit: AuditSink::File(file.clone()), ..Default::default() };
    let to_file = app(AppState::new(Arc::clone(&f.store), config));
    get(&to_file, "/api/ips/45.77.12.9/stats", Some(&analyst)).await;
    let sink = AuditSink::File(file.clone());
    let records = wait_for(
        || if file.exists() { audit::read(&f.store, &sink, chrono::DateTime::UNIX_EPOCH).unwrap() } else { Vec::new() },
        1,
    )
    .await;
    assert_eq!((records[0].caller.as_str(), records[0].endpoint.as_str()), ("ana", "/api/ips/{ip}/stats"));
}

async fn wait_for<T>(mut read: impl FnMut() -> Vec<T>, n: usize) -> Vec<T> {
    for _ in 0..200 {
        let found = read();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} audit records after 4 s");
}

#[tokio::test]
async fn only_hosts_the_server_serves_are_answered() {
    let f = fixture();
    let admin = token(&f.store, "admin", &ALL_PERMISSIONS, None);
    let config = ServerConfig { allowed_hosts: vec!["ipscope.soc.example".into()], ..Default::default() };
    let router = router(&f.store, config);
    let with_host = |host: &str| {
        Request::get("/api/ips/45.77.12.9/stats")
            .header("host", host)
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap()
    };
    for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "ipscope.soc.example"] {
        assert_eq!(send(&router, with_host(host)).await.status, StatusCode::OK, "{host}");
    }
    for host in ["attacker.example:8080", "ipscope.soc.example.attacker.example"] {
        let refused = send(&router, with_host(host)).await;
        assert_eq!(refused.status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        assert_eq!(refused.body["error"]["code"], "MisdirectedRequest");
    }
}

#[tokio::test]
async fn no_auth_lets_requests_through_for_a_trusted_proxy() {
    let f = fixture();
    let config = ServerConfig { auth: AuthConfig { disabled: true, oidc: None }, ..Default::default() };
    let router = router(&f.store, config);
    let answer = get(&router, "/api/ips/45.77.12.9/stats?lookBackHours=720", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["organizationPrevalence"], 3);
}

#[tokio::test]
async fn rate_limits_count_per_token_wherever_it_comes_from() {
    let f = fixture();
    let limits = RateLimits { per_minute: Some(2), per_hour: None, limit_loopback: true, trusted_proxies: Vec::new() };
    let router = router(&f.store, ServerConfig { rate_limits: limits, ..Default::default() });
    let shared = token(&f.store, "shared-script", &["Ip.Read.All"], None);
    let call = |from: &str, t: &str| {
        let peer: SocketAddr = from.parse().unwrap();
        Request::get("/api/ips/45.77.12.9/stats")
            .header("authorization", format!("Bearer {t}"))
            .extension(axum::extract::ConnectInfo(peer))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&router, call("198.51.100.1:1000", &shared)).await.status, StatusCode::OK);
    assert_eq!(send(&router, call("198.51.100.2:1000", &shared)).await.status, StatusCode::OK);
    let limited = send(&router, call("198.51.100.3:1000", &shared)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "the third call of the token in a minute");
    assert!(limited.body["error"]["message"].as_str().unwrap().contains("caller"));
    let other = token(&f.store, "other-script", &["Ip.Read.All"], None);
    assert_eq!(send(&router, call("198.51.100.4:1000", &other)).await.status, StatusCode::OK);
}

#[test]
fn tokens_are_random_stored_hashed_and_named_once() {
    let f = fixture();
    let a = token(&f.store, "a", &["Ip.Read.All"], None);
    let b = token(&f.store, "b", &["Ip.Read.All"], None);
    assert_ne!(a, b);
    let secret = a.rsplit('_').next().unwrap();
    assert!(secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()), "256 bits of secret: {a}");
    let stored: Vec<u8> = std::fs::read(f.dir.join("test.db")).unwrap();
    let wal = std::fs::read(f.dir.join("test.db-wal")).unwrap_or_default();
    for bytes in [&stored, &wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is not stored");
    }
    let create = |name: &str, permissions: Vec<String>| {
        let new = NewToken { name: name.into(), permissions, device_groups: None, expires: None };
        f.store.call_blocking(|c| Ok(tokens::create(c, &new, chrono::Utc::now()))).unwrap()
    };
    let taken = create("a", vec!["Ip.Read.All".into()]).unwrap_err().to_string();
    assert!(taken.contains("exists"), "{taken}");
    let unknown = create("c", vec!["Ip.Read".into()]).unwrap_err().to_string();
    assert!(unknown.contains("unknown permission 'Ip.Read'"), "{unknown}");
    assert!(create("d", vec![]).is_err());
    assert!(f.store.call_blocking(|c| tokens::revoke(c, "a", chrono::Utc::now())).unwrap());
    assert!(create("a", vec!["Ip.Read.All".into()]).is_ok(), "a revoked token's name can be used again");
}

fn server(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ipscope-server")).args(args).output().unwrap()
}

#[tokio::test]
async fn the_token_and_audit_commands_work_from_a_shell() {
    let f = fixture();
    let db = f.dir.join("test.db");
    let db = db.to_str().unwrap();
    let created = server(&[
        "token",
        "create",
        "--db",
        db,
        "--name",
        "soar",
        "--permission",
        "Ip.Read.All",
        "--permission",
        "Alert.Read.All",
        "--device-group",
        "Finance",
        "--expires",
        "90d",
    ]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8(created.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "the token alone on standard output: {stdout:?}");
    let token = stdout.trim().to_string();
    assert!(token.starts_with("ipscope_"));
    assert!(String::from_utf8_lossy(&created.stderr).contains("created"));

    let router = router(&f.store, ServerConfig::default());
    let answer = get(&router, "/api/ips/45.77.12.9/stats?lookBackHours=720", Some(&token)).await;
    assert_eq!((answer.status, answer.body["organizationPrevalence"].as_u64()), (StatusCode::OK, Some(1)));

    let listed = server(&["token", "list", "--db", db]);
    let list = String::from_utf8(listed.stdout).unwrap();
    let row = list.lines().find(|l| l.starts_with("soar\t")).expect("soar is listed");
    assert!(row.contains("Ip.Read.All,Alert.Read.All\tFinance\t"), "{row}");
    assert!(!list.contains(&token[20..]), "no secret in the list");

    let revoked = server(&["token", "revoke", "--db", db, "soar"]);
    assert!(revoked.status.success());
    assert_eq!(get(&router, "/api/ips/45.77.12.9/stats", Some(&token)).await.status, StatusCode::UNAUTHORIZED);
    let again = server(&["token", "revoke", "--db", db, "soar"]);
    assert!(!again.status.success(), "nothing left to revoke");
    let bad = server(&["token", "create", "--db", db, "--name", "x", "--permission", "Ip.Write"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown permission"));

    // Wait for the audit writer, then print it.
    wait_for(|| audit::read(&f.store, &AuditSink::Database, chrono::DateTime::UNIX_EPOCH).unwrap(), 1).await;
    let printed = server(&["audit", "--db", db, "--since", "1h"]);
    let text = String::from_utf8(printed.stdout).unwrap();
    assert!(text.contains("soar\t200\t/api/ips/{ip}/stats\t45.77.12.9\t?lookBackHours=720"), "{text}");
}

#[test]
fn no_auth_is_refused_on_a_network_address_without_a_trusted_proxy() {
    let f = fixture();
    let db = f.dir.join("test.db");
    let refused = server(&["serve", "--db", db.to_str().unwrap(), "--addr", "0.0.0.0:0", "--no-auth"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--no-auth") && stderr.contains("--trusted-proxy"), "{stderr}");
}

/// The IP page the server draws before the app loads (`/api/prerender/ips/{ip}`) shows only what the caller's own
/// calls would: each answer comes from the API with the caller's token, its permissions and device groups.
#[tokio::test]
async fn the_drawn_ip_page_shows_what_the_callers_token_may_see() {
    let f = fixture();
    let dist = f.dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><html><head></head><body></body></html>").unwrap();
    let config = ServerConfig { dist: Some(dist), base_path: "/tools/ipscope".into(), ..ServerConfig::default() };
    let router = router(&f.store, config);
    let page = "/tools/ipscope/api/prerender/ips/45.77.12.9?period=7d";
    let calls = ["profile", "alerts", "devices?lookBackHours=168", "prevalence?lookBackHours=168"]
        .map(|call| format!("ips/45.77.12.9/{call}"));

    let admin = token(&f.store, "admin", &ALL_PERMISSIONS, None);
    let drawn = get(&router, page, Some(&admin)).await;
    assert_eq!(drawn.status, StatusCode::OK, "{}", drawn.body);
    let html = drawn.body["html"].as_str().unwrap();
    for call in calls.iter().map(String::as_str).chain(["me"]) {
        assert_eq!(drawn.body["answers"][call]["status"], 200, "{call}: {}", drawn.body["answers"]);
    }
    assert!(html.contains("fin-lt-0042.corp.contoso.example"), "{html}");
    // Text from the data is text: the device named `<i>eng</i>-…` is escaped, not markup.
    assert!(html.contains("&lt;i&gt;eng&lt;/i&gt;-ws-1007"), "{html}");
    assert!(html.contains(&format!(r#"href="/tools/ipscope/machines/{FIN}""#)), "{html}");
    assert!(html.contains(r#"<span class="who">Signed in as <!>admin</span>"#), "{html}");
    let devices: Value = serde_json::from_str(drawn.body["answers"][&calls[2]]["body"].as_str().unwrap()).unwrap();
    assert_eq!(devices["value"].as_array().map(Vec::len), Some(3), "{devices}");

    let finance = token(&f.store, "finance-analyst", &ALL_PERMISSIONS, Some(&["Finance"]));
    let drawn = get(&router, page, Some(&finance)).await;
    let html = drawn.body["html"].as_str().unwrap();
    assert!(html.contains("fin-lt-0042") && !html.contains("eng-ws-1007"), "{html}");

    let ip_only = token(&f.store, "ip-only", &["Ip.Read.All"], None);
    let drawn = get(&router, page, Some(&ip_only)).await;
    let refused = &drawn.body["answers"][&calls[1]];
    assert_eq!(refused["status"], 403, "{}", drawn.body["answers"]);
    let message: Value = serde_json::from_str(refused["body"].as_str().unwrap()).unwrap();
    let message = message["error"]["message"].as_str().unwrap();
    assert!(drawn.body["html"].as_str().unwrap().contains(message), "{message}");

    // Without a token there is nothing to draw; the app sends the analyst to sign in.
    let drawn = get(&router, page, None).await;
    assert_eq!(drawn.status, StatusCode::OK);
    assert!(drawn.body["html"].is_null(), "{}", drawn.body);
    assert_eq!(drawn.body["answers"][&calls[0]]["status"], 401);
}
