//! ClickHouse servers started on loopback for tests and benchmarks: one node, or a cluster of shards (each of one or
//! more replicas) with a ZooKeeper for `ON CLUSTER` DDL and replication. Each lives in a folder of its own (configuration, data, logs) and is killed
//! when dropped. Uses the `clickhouse-server` and ZooKeeper that Debian's packages install.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ClickHouseUrl;

/// Where Debian's `zookeeper` package puts its start script.
const ZOOKEEPER_SCRIPT: &str = "/usr/share/zookeeper/bin/zkServer.sh";

/// ClickHouse on loopback: one server, or the shards of one cluster.
pub struct LocalClickHouse {
    children: Vec<Child>,
    /// The HTTP port of each server (the first is the one clients use).
    pub http_ports: Vec<u16>,
    /// The cluster's name, for `--clickhouse-cluster`.
    pub cluster: Option<String>,
    dir: PathBuf,
}

impl Drop for LocalClickHouse {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `command`'s process is killed when the thread that started it ends, so that a test killed from outside leaves no
/// server behind (ZooKeeper's script `exec`s java, which keeps the setting).
fn dies_with_parent(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: `prctl` is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn error(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

/// The `<remote_servers>`, `<zookeeper>` and `<distributed_ddl>` a cluster's servers share.
struct ClusterConfig {
    name: String,
    /// Each shard's replicas' TCP ports.
    tcp_ports: Vec<Vec<u16>>,
    zookeeper_port: u16,
}

/// Runs `start` until its servers stay up, three times at most. Ports are chosen free and taken a moment later,
/// when the servers bind them: another process can take one in between (ClickHouse then stops, "Address already in
/// use"), and starting again in a clean `dir` with other ports is the way on.
fn with_fresh_ports(
    dir: &Path,
    mut start: impl FnMut() -> std::io::Result<LocalClickHouse>,
) -> std::io::Result<LocalClickHouse> {
    let mut attempt = 1;
    loop {
        match start() {
            Err(e) if attempt < 3 && e.kind() == std::io::ErrorKind::AddrInUse => {
                eprintln!("{e}; starting again with other ports");
                let _ = std::fs::remove_dir_all(dir); // a clean start; the start rewrites what it needs anyway
                attempt += 1;
            }
            result => return result,
        }
    }
}

impl LocalClickHouse {
    /// One server in `dir`.
    pub fn single(dir: &Path) -> std::io::Result<LocalClickHouse> {
        with_fresh_ports(dir, || LocalClickHouse::try_single(dir))
    }

    fn try_single(dir: &Path) -> std::io::Result<LocalClickHouse> {
        let mut local =
            LocalClickHouse { children: Vec::new(), http_ports: Vec::new(), cluster: None, dir: dir.into() };
        let (http, tcp) = (free_port()?, free_port()?);
        local.start_server(0, http, tcp, None)?;
        local.wait_ready()?;
        Ok(local)
    }

    /// A ZooKeeper and `shards` × `replicas` servers in `dir`, forming the cluster `name`; server `n` is replica
    /// `n % replicas` of shard `n / replicas`.
    pub fn cluster(dir: &Path, name: &str, shards: usize, replicas: usize) -> std::io::Result<LocalClickHouse> {
        with_fresh_ports(dir, || LocalClickHouse::try_cluster(dir, name, shards, replicas))
    }

    fn try_cluster(dir: &Path, name: &str, shards: usize, replicas: usize) -> std::io::Result<LocalClickHouse> {
        let mut local = LocalClickHouse {
            children: Vec::new(),
            http_ports: Vec::new(),
            cluster: Some(name.into()),
            dir: dir.into(),
        };
        let zookeeper_port = free_port()?;
        local.start_zookeeper(zookeeper_port)?;
        let ports: Vec<(u16, u16)> =
            (0..shards * replicas).map(|_| Ok((free_port()?, free_port()?))).collect::<std::io::Result<_>>()?;
        let tcp_ports = ports.chunks(replicas).map(|shard| shard.iter().map(|p| p.1).collect()).collect();
        let config = ClusterConfig { name: name.into(), tcp_ports, zookeeper_port };
        for (i, (http, tcp)) in ports.into_iter().enumerate() {
            local.start_server(i, http, tcp, Some((&config, i / replicas, i % replicas)))?;
        }
        local.wait_ready()?;
        Ok(local)
    }

    /// The URL of the first server's `database`.
    pub fn url(&self, database: &str) -> ClickHouseUrl {
        ClickHouseUrl {
            address: format!("127.0.0.1:{}", self.http_ports[0]),
            database: database.into(),
            user: "default".into(),
            password: None,
        }
    }

    fn start_zookeeper(&mut self, port: u16) -> std::io::Result<()> {
        if !Path::new(ZOOKEEPER_SCRIPT).exists() {
            return Err(error(format!("{ZOOKEEPER_SCRIPT} is missing: apt-get install -y zookeeper")));
        }
        let dir = self.dir.join("zookeeper");
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::write(
            dir.join("zoo.cfg"),
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
                 maxClientCnxns=0\n4lw.commands.whitelist=srvr\n",
                dir.join("data").display()
            ),
        )?;
        let log = std::fs::File::create(dir.join("zookeeper.log"))?;
        let child = dies_with_parent(&mut Command::new(ZOOKEEPER_SCRIPT))
            .arg("start-foreground")
            .arg(dir.join("zoo.cfg"))
            .env("ZOOCFGDIR", &dir)
            .env("ZOO_LOG_DIR", &dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| error(format!("cannot start ZooKeeper: {e}")))?;
        self.children.push(child);
        // Listening is not enough: until ZooKeeper serves sessions it drops each connection after the handshake, and
        // a ClickHouse 18.16 started then crashes (a null ZooKeeper in its DDL worker). `srvr` names the mode once
        // it serves.
        let started = Instant::now();
        while !ask(port, b"srvr").contains("Mode:") {
            if started.elapsed() > Duration::from_secs(60) {
                return Err(error(format!("ZooKeeper did not serve within a minute; see {}", dir.display())));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Stops server `n` (as a crash would: killed).
    pub fn kill(&mut self, n: usize) {
        // With a cluster, child 0 is ZooKeeper.
        let child = &mut self.children[n + usize::from(self.cluster.is_some())];
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts server `n` with `http` and `tcp` ports; in a cluster, as replica `.2` of shard `.1`.
    fn start_server(
        &mut self,
        n: usize,
        http: u16,
        tcp: u16,
        cluster: Option<(&ClusterConfig, usize, usize)>,
    ) -> std::io::Result<()> {
        let dir = self.server_dir(n);
        std::fs::create_dir_all(&dir)?;
        let d = dir.display();
        let cluster_xml = cluster.map_or_else(String::new, |(c, shard, replica)| {
            let shards: String = c
                .tcp_ports
                .iter()
                .map(|ports| {
                    let replicas: String = ports
                        .iter()
                        .map(|p| format!("<replica><host>127.0.0.1</host><port>{p}</port></replica>"))
                        .collect();
                    // Several replicas: an insert goes to one of them, and replication copies it to the others.
                    let internal =
                        if ports.len() > 1 { "<internal_replication>true</internal_replication>" } else { "" };
                    format!("<shard>{internal}{replicas}</shard>")
                })
                .collect();
            format!(
                "<remote_servers><{name}>{shards}</{name}></remote_servers>
                 <zookeeper><node><host>127.0.0.1</host><port>{zk}</port></node></zookeeper>
                 <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
                 <macros><shard>{shard}</shard><replica>r{replica}</replica></macros>
                 <interserver_http_host>127.0.0.1</interserver_http_host>",
                name = c.name,
                zk = c.zookeeper_port
            )
        });
        std::fs::write(
            dir.join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <interserver_http_port>{interserver}</interserver_http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <http_server_default_response>{identity}</http_server_default_response>
  {cluster_xml}
</yandex>
"#,
                interserver = free_port()?,
                identity = identity(&dir).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"),
            ),
        )?;
        std::fs::write(
            dir.join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#,
        )?;
        let log = std::fs::File::create(dir.join("stdout.log"))?;
        let child = dies_with_parent(&mut Command::new("clickhouse-server"))
            .arg(format!("--config-file={}", dir.join("config.xml").display()))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                error(format!(
                    "cannot start clickhouse-server ({e}): apt-get install -y clickhouse-server clickhouse-client"
                ))
            })?;
        self.children.push(child);
        self.http_ports.push(http);
        Ok(())
    }

    /// Where server `n` keeps its configuration, data and logs.
    fn server_dir(&self, n: usize) -> PathBuf {
        self.dir.join(format!("clickhouse-{n}"))
    }

    /// Waits until every server answers as itself (`identity`).
    fn wait_ready(&mut self) -> std::io::Result<()> {
        let started = Instant::now();
        for (n, port) in self.http_ports.iter().enumerate() {
            let dir = self.server_dir(n);
            while !answers_as(*port, &identity(&dir)) {
                if started.elapsed() > Duration::from_secs(60) {
                    let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                    return Err(error(format!("ClickHouse did not answer within a minute; {}:\n{log}", dir.display())));
                }
                if let Some(status) = self.children.iter_mut().find_map(|c| c.try_wait().ok().flatten()) {
                    let message = format!("a server stopped at start ({status}); see {}", self.dir.display());
                    let port_taken = (0..self.http_ports.len()).any(|n| {
                        let log = self.server_dir(n).join("error.log");
                        std::fs::read_to_string(log).is_ok_and(|log| log.contains("Address already in use"))
                    });
                    return Err(match port_taken {
                        true => std::io::Error::new(std::io::ErrorKind::AddrInUse, message),
                        false => error(message),
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }
}

/// What the server of `dir` answers to `GET /` (its `http_server_default_response`): a server is known ready by
/// its own answer. Another test's server may hold the port for a moment after a server of ours failed to take it,
/// and would answer `/ping` just the same.
fn identity(dir: &Path) -> String {
    format!("ipscope test server in {}", dir.display())
}

/// Whether the server on `port` answers `GET /` with `identity`.
fn answers_as(port: u16, identity: &str) -> bool {
    ask(port, b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").contains(identity)
}

/// What the server on `port` answers to `question` before it closes the connection (empty if it cannot be reached).
fn ask(port: u16, question: &[u8]) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(question).is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}
