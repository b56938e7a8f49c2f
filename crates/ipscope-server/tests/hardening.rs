//! Hostile and careless clients: other methods, repeated parameters, names longer than a file system allows,
//! the printed sub-path URL, and the database removed while serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ipscope_server::auth::tokens::{self, NewToken};
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::store::Store;
use ipscope_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

struct Setup {
    dir: PathBuf,
    store: Arc<Store>,
    token: String,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(label: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("ipscope-hardening-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("dist/index.html"), "<html><head><base href=\"./\"></head><body>app</body></html>")
        .unwrap();
    let store = Store::open(&dir.join("test.db")).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let files = ImportFiles {
        machines: Some(fixtures.join("machines.json")),
        alerts: Some(fixtures.join("alerts.json")),
        events: Some(fixtures.join("events.csv")),
    };
    import(&store.data(), &files, &mut |_| {}).unwrap();
    let new = NewToken {
        name: "t".into(),
        permissions: vec!["Ip.Read.All".into(), "Alert.Read.All".into(), "Machine.Read.All".into()],
        device_groups: None,
        expires: None,
    };
    let token = store.call_blocking(|c| Ok(tokens::create(c, &new, chrono::Utc::now()).unwrap())).unwrap();
    Setup { dir, store, token }
}

fn router(s: &Setup, base_path: &str) -> axum::Router {
    let config = ServerConfig { dist: Some(s.dir.join("dist")), base_path: base_path.into(), ..Default::default() };
    app(AppState::new(Arc::clone(&s.store), config))
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn defender_error(body: &str) -> Value {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    assert!(value["error"]["code"].is_string() && value["error"]["message"].is_string(), "{body}");
    assert!(value["error"]["target"].is_string(), "{body}");
    value
}

#[tokio::test]
async fn other_methods_on_api_routes_get_405_with_the_defender_body() {
    let s = setup("methods");
    let router = router(&s, "");
    // (OPTIONS is CORS's preflight, answered by the CORS layer.)
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"] {
        for uri in ["/api/ips/203.0.113.66/alerts", "/api/machines/x", "/api/openapi.json", "/api/health"] {
            let (status, headers, body) = send(&router, method, uri, Some(&s.token)).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {uri}");
            assert!(headers["allow"].to_str().unwrap().contains("GET"), "{method} {uri}");
            assert_eq!(defender_error(&body)["error"]["code"], "MethodNotAllowed");
        }
    }
    let (status, _, body) = send(&router, "POST", "/api/ips/203.0.113.66/alerts", None).await;
    assert!(status.is_client_error());
    defender_error(&body);
}

#[tokio::test]
async fn a_parameter_given_twice_is_refused_by_name() {
    let s = setup("repeated");
    let router = router(&s, "");
    let (status, _, body) =
        send(&router, "GET", "/api/ips/203.0.113.66/stats?lookBackHours=-1&lookBackHours=24", Some(&s.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = defender_error(&body)["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("'lookBackHours'") && message.contains("more than once"), "{message}");
    let (status, _, _) = send(&router, "GET", "/api/ips/203.0.113.66/stats?lookBackHours=24", Some(&s.token)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn names_longer_than_a_file_system_allows_are_client_routes_not_500() {
    let s = setup("long");
    for base in ["", "/tools/ipscope"] {
        let router = router(&s, base);
        for path in [
            format!("/{}", "a".repeat(256)),
            format!("/ips/{}", "a".repeat(4100)),
            format!("/x/{}/y", "%41".repeat(300)),
        ] {
            let (status, _, body) = send(&router, "GET", &format!("{base}{path}"), None).await;
            assert_eq!(status, StatusCode::OK, "{base}{}…", &path[..20]);
            assert!(body.contains("<base href="), "the app's page for {base}{}…", &path[..20]);
        }
    }
}

#[tokio::test]
async fn the_printed_sub_path_url_shows_the_app() {
    let s = setup("base");
    let router = router(&s, "/tools/ipscope");
    for uri in ["/tools/ipscope/", "/tools/ipscope", "/tools/ipscope/ips/203.0.113.66"] {
        let (status, _, body) = send(&router, "GET", uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(body.contains("<base href=\"/tools/ipscope/\">"), "{uri}: {body}");
    }
    let (status, _, body) = send(&router, "GET", "/tools/ipscope/api/health", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
}

#[tokio::test]
async fn a_database_removed_while_serving_fails_health_and_is_not_recreated() {
    let s = setup("removed");
    let router = router(&s, "");
    let (status, _, body) = send(&router, "GET", "/api/health", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
    let db = s.dir.join("test.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let (status, _, body) = send(&router, "GET", "/api/health", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = defender_error(&body);
    assert!(!error.to_string().contains(s.dir.to_str().unwrap()), "no file paths in answers: {error}");
    // Requests go on from the open connection or fail; none creates an empty database at the path.
    for _ in 0..20 {
        let _ = send(&router, "GET", "/api/ips/203.0.113.66/stats", Some(&s.token)).await;
    }
    assert!(!db.exists(), "an empty database was created at the path");

    // Replaced by another file: not ready either.
    std::fs::write(&db, b"not the database").unwrap();
    assert_eq!(send(&router, "GET", "/api/health", None).await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn serve_refuses_a_missing_database_unless_asked_to_create_it() {
    let dir = std::env::temp_dir().join(format!("ipscope-hardening-missing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("nothing-here.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipscope-server"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no database at") && stderr.contains("--create"), "{stderr}");
    assert!(!db.exists(), "nothing was created");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `GET path` on a fresh connection from `source` and reads the whole answer.
async fn raw_get(server: std::net::SocketAddr, source: &str, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    let mut stream = socket.connect(server).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_do_not_lock_others_out() {
    use ipscope_server::listener::{serve, ConnectionLimits};
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let s = setup("exhaust");
    let limits = ConnectionLimits {
        max_connections: 60,
        max_per_client: 30,
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        unlimited_clients: Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, router(&s, ""), limits, std::future::pending()));

    // The attacker, on 127.0.0.1: connections that send nothing, and connections that trickle a header.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut trickling = Vec::new();
    for _ in 0..10 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /api/health HTTP/1.1\r\nX-Slow: ").await.unwrap();
        trickling.push(stream);
    }
    // Over its per-client cap: answered 503 at once and closed, not queued.
    let started = Instant::now();
    let mut excess = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(1), excess.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Meanwhile a client on another address is answered, each time within a second.
    let trickle = tokio::spawn(async move {
        for _ in 0..15 {
            for stream in &mut trickling {
                let _ = stream.write_all(b"a").await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        trickling
    });
    for _ in 0..10 {
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(1), raw_get(addr, "127.0.0.2", "/api/health"))
            .await
            .expect("answered within a second")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The header deadline closed the trickling connections, the idle timeout the silent ones.
    let mut trickling = trickle.await.unwrap();
    for stream in trickling.iter_mut().chain(idle.iter_mut()) {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the server closed the connection");
    }
    // And the attacker's address has its slots back.
    let answer = raw_get(addr, "127.0.0.1", "/api/health").await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    server.abort();
}

/// What no answer may contain: the server's internals.
const INTERNALS: [&str; 8] = ["rusqlite", "sqlite", "panicked", "/root", "/work", "/tmp", "target/", "StoreError"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corpus_of_bad_input_gets_no_5xx_no_internals_and_nothing_outside_dist() {
    let s = setup("corpus");
    std::fs::write(s.dir.join("secret.txt"), "OUTSIDE-DIST").unwrap();
    let router = router(&s, "");
    let kilobytes_10 = "a".repeat(10 * 1024);
    // (A URI cannot be longer than 64 KB; the 1 MB case goes over a real connection below.)
    let kilobytes_60 = "1".repeat(60 * 1024);
    let values: Vec<&str> = vec![
        "010.1.1.1",
        "0x7f.1",
        "127.1",
        "1.2.3.4.5",
        "fe80::1%25eth0",
        "fe80::1%eth0",
        "::ffff:203.0.113.66",
        "%00",
        "a%00b",
        "%C0%AE%C0%AE",
        "%E2%80%AE",
        "%D9%A1%D9%A2%D9%A3.1.1.1", // Arabic-Indic digits
        "'%20OR%201=1%20--",
        "1.1.1.1;DROP TABLE events",
        "%27%3B%20DROP%20TABLE%20alerts%3B--",
        "..",
        "%2e%2e%2f%2e%2e%2fsecret.txt",
        "..%5csecret.txt",
        "%FF%FE",
        "%",
        "%zz",
        &kilobytes_10,
        &kilobytes_60,
    ];
    let templates = [
        "/api/ips/{}/alerts",
        "/api/ips/{}/stats",
        "/api/ips/{}/devices",
        "/api/ips/{}/prevalence",
        "/api/ips/{}/profile",
        "/api/alerts/{}",
        "/api/alerts/{}/ips",
        "/api/machines/{}",
        "/api/machines/{}/alerts",
        "/api/machines/{}/connections",
        "/api/ips?prefix={}",
        "/api/ips/203.0.113.66/stats?lookBackHours={}",
        "/api/ips/203.0.113.66/devices?from={}",
        "/api/ips/203.0.113.66/devices?from=2026-11-01T00:00:00Z&to={}",
        "/api/ips/203.0.113.66/devices?$top={}",
        "/ips/{}",
        "/{}",
    ];
    let mut checked = 0;
    for template in templates {
        for value in &values {
            // As a client sends them: a space cannot be in a request line.
            let uri = template.replace("{}", value).replace(' ', "%20");
            for token in [Some(s.token.as_str()), None] {
                let (status, _, body) = send(&router, "GET", &uri, token).await;
                let shown = &uri[..uri.len().min(60)];
                assert!(status.as_u16() < 500, "{shown}: {status} {}", &body[..body.len().min(200)]);
                for internal in INTERNALS {
                    assert!(!body.contains(internal), "{shown}: the answer names {internal:?}");
                }
                assert!(!body.contains("OUTSIDE-DIST"), "{shown}: a file outside dist was served");
                if uri.starts_with("/api") && !status.is_success() {
                    defender_error(&body);
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, templates.len() * values.len() * 2);

    // Path traversal on the file service, plain and encoded.
    for uri in
        ["/../secret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt", "/dist/../secret.txt"]
    {
        let (status, _, body) = send(&router, "GET", uri, None).await;
        assert!(status.as_u16() < 500 && !body.contains("OUTSIDE-DIST"), "{uri}: {status}");
    }
    // Every method, on the API and on the app.
    for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO"] {
        for uri in ["/api/ips/203.0.113.66/alerts", "/api/nothing", "/", "/ips/203.0.113.66", "/config.json"] {
            let (status, _, body) = send(&router, method, uri, Some(&s.token)).await;
            assert!(status.as_u16() < 500, "{method} {uri}: {status}");
            if uri.starts_with("/api") && status.is_client_error() && method != "HEAD" {
                defender_error(&body);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_request_line_is_refused_by_the_http_layer_in_the_defender_shape() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = setup("megabyte");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ipscope_server::listener::ConnectionLimits::default();
    let server =
        tokio::spawn(ipscope_server::listener::serve(listener, router(&s, ""), limits, std::future::pending()));
    for path in [format!("/api/ips/{}/alerts", "1".repeat(1024 * 1024)), format!("/{}", "a".repeat(1024 * 1024))] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(request.as_bytes()).await; // the server may close before reading it all
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        let status: u16 = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!((400..500).contains(&status), "{}", &answer[..answer.len().min(100)]);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        defender_error(body);
    }
    server.abort();
}
