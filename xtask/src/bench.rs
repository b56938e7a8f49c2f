//! `cargo xtask bench`: per-IP latency of the IP page's endpoints (typical and busiest IPs, p50/p99) at 2 and
//! 20 million events, and throughput on loopback. Synthetic databases are kept in `target/bench/` for reruns.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::run;

/// Table sizes measured: the second is ten times the first, for the flatness check.
const SIZES: [u64; 2] = [2_000_000, 20_000_000];
/// Busy IPs in the synthetic data (`16.0.0.1`...) and typical IPs sampled (`17.0.0.0`...).
const BUSY: u32 = 20;
const TYPICAL_SAMPLE: u32 = 2_000;
/// Typical IPs in the smaller database (so every sampled IP exists in both).
const TYPICAL_IN_SMALLEST: u32 = 20_000;

const ENDPOINTS: [(&str, &str); 5] = [
    ("alerts", "/api/ips/{ip}/alerts"),
    ("stats (30 d)", "/api/ips/{ip}/stats"),
    ("devices (30 d)", "/api/ips/{ip}/devices"),
    ("prevalence (30 d)", "/api/ips/{ip}/prevalence"),
    ("devices (6 months)", "/api/ips/{ip}/devices?lookBackHours=4392"),
];

fn busy_ip(n: u32) -> String {
    format!("16.0.0.{}", n + 1)
}

fn typical_ip(n: u32) -> String {
    let v = (17u32 << 24) + n;
    format!("{}.{}.{}.{}", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)
}

/// One endpoint's latencies: (p50, p99) over typical IPs and over the busiest.
#[derive(Debug, Clone)]
pub(crate) struct EndpointRow {
    pub(crate) endpoint: &'static str,
    pub(crate) typical: (Duration, Duration),
    pub(crate) busiest: (Duration, Duration),
}

/// The IP page's endpoints for 2,000 typical IPs and five rounds of the 20 busiest, on the synthetic data.
pub(crate) fn endpoint_latencies(port: u16, token: &str) -> Result<Vec<EndpointRow>> {
    // Warm the caches the way a running server would be.
    let warm: Vec<String> = (0..BUSY).map(|n| format!("/api/ips/{}/devices", busy_ip(n))).collect();
    latencies(port, token, &warm)?;
    let mut rows = Vec::new();
    for (endpoint, template) in ENDPOINTS {
        let typical: Vec<String> = (0..TYPICAL_SAMPLE)
            .map(|k| template.replace("{ip}", &typical_ip(k * (TYPICAL_IN_SMALLEST / TYPICAL_SAMPLE))))
            .collect();
        let busy: Vec<String> = (0..5).flat_map(|_| (0..BUSY).map(|n| template.replace("{ip}", &busy_ip(n)))).collect();
        let t = latencies(port, token, &typical)?;
        let b = latencies(port, token, &busy)?;
        rows.push(EndpointRow {
            endpoint,
            typical: (percentile(&t, 0.5), percentile(&t, 0.99)),
            busiest: (percentile(&b, 0.5), percentile(&b, 0.99)),
        });
    }
    Ok(rows)
}

/// A keep-alive HTTP/1.1 connection, enough for GETs of JSON with Content-Length.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(Client { reader: BufReader::new(stream) })
    }

    /// GETs `path` with `token`; returns the status.
    fn get(&mut self, path: &str, token: &str) -> Result<u16> {
        self.get_body(path, token).map(|(status, _)| status)
    }

    /// GETs `path` with `token`; returns the status and the body.
    fn get_body(&mut self, path: &str, token: &str) -> Result<(u16, Vec<u8>)> {
        write!(
            self.reader.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        )?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line.split_whitespace().nth(1).context("no status line")?.parse()?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Times one GET per path, in order, on one connection.
fn latencies(port: u16, token: &str, paths: &[String]) -> Result<Vec<Duration>> {
    let mut client = Client::connect(port)?;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let started = Instant::now();
        let status = client.get(path, token)?;
        out.push(started.elapsed());
        if status != 200 {
            bail!("{path} answered {status}");
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// A server process, killed when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_server(binary: &Path, db: &Path, extra: &[&std::ffi::OsStr]) -> Result<(Server, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(binary)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--rate-limit-per-minute",
            "0",
            "--rate-limit-per-hour",
            "0",
        ])
        .arg("--db")
        .arg(db)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server(child);
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((server, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("the server did not start")
}

/// Runs the benchmark and prints the report.
pub fn bench(root: &Path, server: &Path) -> Result<()> {
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    if std::env::var("IPSCOPE_BENCH_ONLY").as_deref() == Ok("clickhouse") {
        // The ClickHouse part alone, next to SQLite at 20M events.
        let db = dir.join(format!("synth-v2-{}.db", SIZES[1]));
        if !db.exists() {
            bail!("{} is missing: run the whole `cargo xtask bench` once", db.display());
        }
        let token =
            crate::demo_token(server, &db, "bench-all", &["Ip.Read.All", "Alert.Read.All", "Machine.Read.All"], &[])?;
        let (sqlite_server, port) = start_server(server, &db, &[])?;
        let sqlite = endpoint_latencies(port, &token)?;
        drop(sqlite_server);
        let report = crate::bench_clickhouse::bench(server, &dir, &sqlite, &db)?;
        println!("{report}");
        std::fs::write(dir.join("report-clickhouse.md"), &report)?;
        return Ok(());
    }
    if std::env::var("IPSCOPE_BENCH_ONLY").as_deref() == Ok("browser") {
        // The IP page next to the plain page, alone.
        let report = browser_bench(root, server, &dir)?;
        println!("{report}");
        std::fs::write(dir.join("report-browser.md"), &report)?;
        return Ok(());
    }
    let mut report = String::from(
        "| events | caller | endpoint | typical p50 ms | typical p99 ms | busiest p50 ms | busiest p99 ms |\n\
         |---:|---|---|---:|---:|---:|---:|\n",
    );
    let mut typical = Vec::new();
    let mut throughput = String::new();
    let mut sqlite_20m = Vec::new();
    for (i, &size) in SIZES.iter().enumerate() {
        // v2: devices in device groups.
        let db = dir.join(format!("synth-v2-{size}.db"));
        if !db.exists() {
            eprintln!("xtask: writing {size} synthetic events to {} (kept for later runs)", db.display());
            let partial = db.with_extension("partial");
            let _ = std::fs::remove_file(&partial);
            run(Command::new(server).args(["synth", "--events", &size.to_string(), "--db"]).arg(&partial))?;
            std::fs::rename(&partial, &db)?;
        }
        let all = ["Ip.Read.All", "Alert.Read.All", "Machine.Read.All"];
        let unscoped = crate::demo_token(server, &db, "bench-all", &all, &[])?;
        let scoped = crate::demo_token(server, &db, "bench-one-group", &all, &["group-0"])?;
        let (_server, port) = start_server(server, &db, &[])?;
        let mut at_size = Vec::new();
        for (caller, token) in [("every device", &unscoped), ("1 of 10 groups", &scoped)] {
            for row in endpoint_latencies(port, token)? {
                if caller == "every device" {
                    at_size.push(row.typical);
                    if size == 20_000_000 {
                        sqlite_20m.push(row.clone());
                    }
                }
                report.push_str(&format!(
                    "| {size} | {caller} | {} | {} | {} | {} | {} |\n",
                    row.endpoint,
                    ms(row.typical.0),
                    ms(row.typical.1),
                    ms(row.busiest.0),
                    ms(row.busiest.1)
                ));
            }
        }
        typical.push(at_size);
        if i == SIZES.len() - 1 {
            throughput = measure_throughput(port, &unscoped)?;
        }
    }
    let ratios: Vec<String> = ENDPOINTS
        .iter()
        .enumerate()
        .map(|(k, (name, _))| {
            let ratio = |f: fn(&(Duration, Duration)) -> Duration| {
                f(&typical[1][k]).as_secs_f64() / f(&typical[0][k]).as_secs_f64()
            };
            format!("{name} {:.2}x / {:.2}x", ratio(|t| t.0), ratio(|t| t.1))
        })
        .collect();
    report.push_str(&format!(
        "\nTypical-IP latency at {}M vs {}M events (p50 / p99): {}.\n\n{throughput}\n",
        SIZES[1] / 1_000_000,
        SIZES[0] / 1_000_000,
        ratios.join(", ")
    ));
    report.push_str(&import_throughput(server, &dir)?);
    let sqlite_db = dir.join(format!("synth-v2-{}.db", SIZES[1]));
    report.push_str(&crate::bench_clickhouse::bench(server, &dir, &sqlite_20m, &sqlite_db)?);
    report.push_str(&browser_bench(root, server, &dir)?);
    println!("{report}");
    std::fs::write(dir.join("report.md"), &report)?;
    eprintln!("xtask: report written to {}", dir.join("report.md").display());
    Ok(())
}

/// ipscope's IP page next to the hand-written page of `bench/plain/` in headless Chromium
/// (`tests/browser_bench.rs`): two release servers on the demo organization, one serving the app, one the plain page,
/// its stylesheet compressed as the app's assets are.
fn browser_bench(root: &Path, server: &Path, dir: &Path) -> Result<String> {
    let db = dir.join("demo.db");
    if !db.exists() {
        run(Command::new(server).arg("demo").arg("--db").arg(&db))?;
    }
    let dist = root.join("dist");
    let mut extra: Vec<&std::ffi::OsStr> = vec!["--dist".as_ref(), dist.as_os_str()];
    let geo = root.join("tools/geo/node_modules/@ip-location-db");
    if geo.is_dir() {
        extra.extend(["--geo-dir".as_ref(), geo.as_os_str()]);
    }
    let token =
        crate::demo_token(server, &db, "bench-browser", &["Ip.Read.All", "Alert.Read.All", "Machine.Read.All"], &[])?;
    let (_server, port) = start_server(server, &db, &extra)?;
    let plain_dist = dir.join("plain-dist");
    let _ = std::fs::remove_dir_all(&plain_dist);
    std::fs::create_dir_all(&plain_dist)?;
    for name in ["index.html", "plain.css"] {
        std::fs::copy(root.join("bench/plain").join(name), plain_dist.join(name))?;
    }
    crate::compress_assets(&plain_dist)?;
    let (_plain_server, plain_port) = start_server(server, &db, &["--dist".as_ref(), plain_dist.as_os_str()])?;
    let load = measure_concurrency(port, &token)?;
    let out = dir.join("browser.md");
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["nextest", "run", "-p", "ipscope", "--test", "browser_bench", "--run-ignored", "only", "--no-capture"])
        .env("IPSCOPE_BENCH_URL", format!("http://127.0.0.1:{port}"))
        .env("IPSCOPE_BENCH_PLAIN_URL", format!("http://127.0.0.1:{plain_port}"))
        .env("IPSCOPE_BENCH_OUT", &out)
        .env("IPSCOPE_BENCH_TOKEN", token)
        .env("CHROMEDRIVER", crate::tools::CHROMEDRIVER)
        .env("CHROMIUM", crate::tools::CHROMIUM))?;
    Ok(format!("\n{load}\n{}", std::fs::read_to_string(&out)?))
}

/// Sustained load on the demo: the IP page's four calls for its busiest addresses and a spread of typical ones,
/// at 1, 4, 16 and 64 concurrent keep-alive clients for 5 s each.
fn measure_concurrency(port: u16, token: &str) -> Result<String> {
    let mut client = Client::connect(port)?;
    let mut ips = vec!["13.107.42.14".to_string(), "203.0.113.66".to_string()];
    for prefix in 1..=9 {
        let (_, body) = client.get_body(&format!("/api/ips?prefix={prefix}&$top=10"), token)?;
        let text = String::from_utf8_lossy(&body);
        ips.extend(text.split("\"id\":\"").skip(1).filter_map(|rest| rest.split('"').next()).map(String::from));
    }
    ips.dedup();
    let paths: Vec<String> = ips
        .iter()
        .flat_map(|ip| ["alerts", "stats", "devices", "prevalence"].map(|endpoint| format!("/api/ips/{ip}/{endpoint}")))
        .collect();
    let mut report = format!(
        "Sustained load on the demo ({} addresses, the page's four calls each, keep-alive clients, 5 s per level):\n\n\
         | clients | requests/s | p50 ms | p99 ms | errors |\n|---:|---:|---:|---:|---:|\n",
        ips.len()
    );
    for clients in [1usize, 4, 16, 64] {
        let deadline = Instant::now() + Duration::from_secs(5);
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (paths, token) = (paths.clone(), token.to_string());
                std::thread::spawn(move || -> (Vec<Duration>, u64) {
                    let (mut times, mut errors) = (Vec::new(), 0u64);
                    let mut client = Client::connect(port).ok();
                    let mut k = c * 7;
                    while Instant::now() < deadline {
                        let path = &paths[k % paths.len()];
                        k += 1;
                        let started = Instant::now();
                        let status = client.as_mut().map(|cl| cl.get(path, &token));
                        match status {
                            Some(Ok(200)) => times.push(started.elapsed()),
                            _ => {
                                errors += 1;
                                client = Client::connect(port).ok();
                            }
                        }
                    }
                    (times, errors)
                })
            })
            .collect();
        let (mut all, mut errors) = (Vec::new(), 0);
        for h in handles {
            let (times, e) = h.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
            all.extend(times);
            errors += e;
        }
        all.sort_unstable();
        if all.is_empty() {
            bail!("no request succeeded with {clients} clients");
        }
        report.push_str(&format!(
            "| {clients} | {:.0} | {} | {} | {errors} |\n",
            all.len() as f64 / 5.0,
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99))
        ));
    }
    Ok(report)
}

/// Requests per second with 4 keep-alive clients for 10 s, over the IP page's four calls for typical IPs.
fn measure_throughput(port: u16, token: &str) -> Result<String> {
    let clients = 4;
    let deadline = Instant::now() + Duration::from_secs(10);
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let token = token.to_string();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let mut client = Client::connect(port)?;
                let mut times = Vec::new();
                let mut k = c * 7919;
                while Instant::now() < deadline {
                    let ip = typical_ip(k % TYPICAL_IN_SMALLEST);
                    let (_, template) = ENDPOINTS[(k % 4) as usize];
                    let started = Instant::now();
                    let status = client.get(&template.replace("{ip}", &ip), &token)?;
                    times.push(started.elapsed());
                    if status != 200 {
                        bail!("status {status}");
                    }
                    k += 1;
                }
                Ok(times)
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))??);
    }
    all.sort_unstable();
    Ok(format!(
        "Throughput, {clients} keep-alive clients for 10 s on loopback (typical IPs, the page's four calls): {:.0} requests/s, p50 {} ms, p99 {} ms.",
        all.len() as f64 / 10.0,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    ))
}

/// Rows in the import benchmark's files.
pub(crate) const IMPORT_ROWS: u64 = 2_000_000;

/// Writes `IMPORT_ROWS` `DeviceNetworkEvents` rows as CSV and as JSON lines (kept for reruns): 20,000 addresses,
/// 5,000 devices, 180 days, in no particular order, as an export is.
pub(crate) fn write_import_files(dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    let csv = dir.join(format!("import-{IMPORT_ROWS}.csv"));
    let jsonl = dir.join(format!("import-{IMPORT_ROWS}.jsonl"));
    if csv.exists() && jsonl.exists() {
        return Ok((csv, jsonl));
    }
    let mut c = std::io::BufWriter::new(std::fs::File::create(&csv)?);
    let mut j = std::io::BufWriter::new(std::fs::File::create(&jsonl)?);
    writeln!(c, "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort,LocalIP,LocalPort,Protocol,InitiatingProcessFileName")?;
    let mut seed = 0x1234_5678_u64;
    let start = 1_764_000_000_000_i64; // 2025-11-24
    for k in 0..IMPORT_ROWS {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let ip = (23u32 << 24) + (seed >> 40) as u32 % 20_000;
        let device = (seed >> 20) % 5_000;
        let ts = start + ((seed >> 8) % (180 * 86_400_000)) as i64;
        let time = chrono_free_rfc3339(ts);
        let ip = format!("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
        let port = 49_152 + k % 16_000;
        writeln!(c, "{time},dev-{device:05},host-{device:05}.bench.example,ConnectionSuccess,{ip},443,10.0.0.1,{port},Tcp,chrome.exe")?;
        writeln!(
            j,
            "{{\"Timestamp\":\"{time}\",\"DeviceId\":\"dev-{device:05}\",\"DeviceName\":\"host-{device:05}.bench.example\",\
             \"ActionType\":\"ConnectionSuccess\",\"RemoteIP\":\"{ip}\",\"RemotePort\":443,\"LocalIP\":\"10.0.0.1\",\
             \"LocalPort\":{port},\"Protocol\":\"Tcp\",\"InitiatingProcessFileName\":\"chrome.exe\"}}"
        )?;
    }
    c.flush()?;
    j.flush()?;
    Ok((csv, jsonl))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a Unix time in milliseconds (xtask has no date crate).
fn chrono_free_rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Events per second of `ipscope-server import` from CSV and from JSON lines into a fresh database.
fn import_throughput(server: &Path, dir: &Path) -> Result<String> {
    let (csv, jsonl) = write_import_files(dir)?;
    let mut report =
        format!("\nImport of {IMPORT_ROWS} DeviceNetworkEvents rows into a fresh database (release server):\n");
    for (form, file) in [("CSV", &csv), ("JSON lines", &jsonl)] {
        let db = dir.join("import-bench.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let started = Instant::now();
        let out = Command::new(server).args(["import", "--db"]).arg(&db).arg("--events").arg(file).output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("importing {} failed: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        }
        report.push_str(&format!("- {form}: {seconds:.1} s, {:.0} events/s\n", IMPORT_ROWS as f64 / seconds));
    }
    Ok(report)
}
