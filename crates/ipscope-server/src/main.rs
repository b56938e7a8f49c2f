//! The `ipscope-server` command: `serve`, `demo`, `import`, `ingest`, `synth`, `prune`, `token` and `audit`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use ipscope_server::audit::{self, AuditSink};
use ipscope_server::auth::oidc::{AppSignIn, ClaimMapping, OidcConfig};
use ipscope_server::auth::{tokens, AuthConfig};
use ipscope_server::geo::GeoDb;
use ipscope_server::import::{self, ImportFiles};
use ipscope_server::rate_limit::RateLimits;
use ipscope_server::store::clickhouse::{self, ClickHouse, ClickHouseUrl};
use ipscope_server::store::{DataStore, Store};
use ipscope_server::{demo, AppState, ServerConfig};

/// ipscope's server: the investigation portal and its Defender-compatible API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the app and the API.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// trunk's output folder with index.html; without it only the API is served.
        #[arg(long)]
        dist: Option<PathBuf>,
        /// Serve everything under this path, e.g. /tools/ipscope (the same build works at any path).
        #[arg(long, default_value = "")]
        base_path: String,
        /// An origin allowed to embed the app in a frame (repeatable), e.g. https://soc.example.com.
        #[arg(long = "frame-ancestor")]
        frame_ancestors: Vec<String>,
        /// An origin allowed to call the API from a browser (CORS; repeatable), e.g. https://dashboard.example.com.
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// API requests allowed per client per minute (0 turns the limit off).
        #[arg(long, default_value_t = 100)]
        rate_limit_per_minute: u32,
        /// API requests allowed per client per hour (0 turns the limit off).
        #[arg(long, default_value_t = 1500)]
        rate_limit_per_hour: u32,
        /// Apply the rate limits to loopback clients too (by default local use is not limited).
        #[arg(long)]
        rate_limit_loopback: bool,
        /// A reverse proxy whose X-Forwarded-For names the real client for the rate limits (repeatable).
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Folder with the ip-location-db npm packages (`dbip-city-mmdb/`, `asn/`); without it geo data is "not available".
        #[arg(long)]
        geo_dir: Option<PathBuf>,
        /// A host name (or address) the server answers to besides the loopback ones (repeatable), e.g. ipscope.soc.example.
        #[arg(long = "allowed-host")]
        allowed_hosts: Vec<String>,
        /// Accept OpenID Connect access tokens of this issuer (its `iss`), besides ipscope's own tokens.
        #[arg(long, requires = "oidc_audience")]
        oidc_issuer: Option<String>,
        /// The audience (`aud`) those tokens must name: ipscope's API at the identity provider.
        #[arg(long, requires = "oidc_issuer")]
        oidc_audience: Option<String>,
        /// JSON file mapping the identity provider's groups to device groups, and naming the claims to read.
        #[arg(long, requires = "oidc_issuer")]
        oidc_groups: Option<PathBuf>,
        /// The app's client id at the identity provider: the app then signs analysts in there (code flow with PKCE).
        #[arg(long, requires = "oidc_issuer")]
        oidc_client_id: Option<String>,
        /// Scopes the app asks for when signing in.
        #[arg(long, default_value = "openid profile", requires = "oidc_client_id")]
        oidc_scope: String,
        /// Append the audit to this JSON-lines file instead of the database.
        #[arg(long)]
        audit_log: Option<PathBuf>,
        /// Open connections allowed in all (also kept below the open-file limit).
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Open connections allowed per client address (trusted proxies are not limited).
        #[arg(long, default_value_t = 128)]
        max_connections_per_client: usize,
        /// Delete connections older than this (e.g. 180d) at start and every day after.
        #[arg(long)]
        retention: Option<String>,
        /// Create the database if there is none (without it, a missing database is an error).
        #[arg(long)]
        create: bool,
        /// Turn authentication off: only behind a reverse proxy that authenticates (requires --trusted-proxy unless
        /// the address is loopback).
        #[arg(long)]
        no_auth: bool,
    },
    /// Follow a folder the Streaming API's storage-account export is synced into, storing new records as they come.
    Ingest {
        /// The store (a SQLite file is created if missing; ClickHouse: one server, not a cluster).
        #[command(flatten)]
        store: StoreArgs,
        /// The folder (its `.json` blobs, at any depth: `.../y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`).
        #[arg(long)]
        watch: PathBuf,
        /// Seconds between looks at the folder.
        #[arg(long, default_value_t = 10)]
        poll_seconds: u64,
        /// Read what is there and stop.
        #[arg(long)]
        once: bool,
        /// Megabytes of lines stored at once, each chunk with its blob's position (default: 4 on SQLite, short
        /// transactions for a server on the same file; 64 on ClickHouse, fewer parts to merge).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
        chunk_megabytes: Option<u64>,
    },
    /// Delete connections older than a period (whole UTC days; the rollups stay consistent).
    Prune {
        #[command(flatten)]
        store: StoreArgs,
        /// How old a connection may be, e.g. 180d.
        #[arg(long)]
        older_than: String,
    },
    /// Create, list and revoke ipscope's own access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the audit: who looked up what.
    Audit {
        /// The database file.
        #[arg(long)]
        db: PathBuf,
        /// Read this JSON-lines file (as written by `serve --audit-log`) instead of the database.
        #[arg(long)]
        file: Option<PathBuf>,
        /// How far back, e.g. 7d, 24h or 30m.
        #[arg(long, default_value = "7d")]
        since: String,
    },
    /// Fill a database with the deterministic demo organization.
    Demo {
        /// The store (a SQLite file is created if missing).
        #[command(flatten)]
        store: StoreArgs,
        /// The moment the demo history ends (RFC 3339); defaults to now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
    /// Fill a database with synthetic connections for benchmarks (20 busy IPs, the rest typical).
    Synth {
        /// The store (a SQLite file is created if missing).
        #[command(flatten)]
        store: StoreArgs,
        /// About how many connections to write.
        #[arg(long)]
        events: u64,
    },
    /// Import Defender exports (all files in one transaction).
    Import {
        /// The store (a SQLite file is created if missing).
        #[command(flatten)]
        store: StoreArgs,
        /// Machines API answer (JSON).
        #[arg(long)]
        machines: Option<PathBuf>,
        /// Alerts API answer (JSON, with evidence).
        #[arg(long)]
        alerts: Option<PathBuf>,
        /// Advanced hunting DeviceNetworkEvents export (CSV or JSON lines).
        #[arg(long)]
        events: Option<PathBuf>,
    },
}

/// Where the data lives: `--db PATH`, or `--store URL` (`sqlite:PATH` or `clickhouse://...`).
#[derive(clap::Args)]
struct StoreArgs {
    /// The SQLite database file (shorthand for --store sqlite:PATH). With a ClickHouse store, the SQLite file that
    /// holds tokens and the audit.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Where network events, alerts and machines live: sqlite:PATH, or
    /// clickhouse://[user[:password]@]host:port/database (ClickHouse's HTTP interface; the password may instead be in
    /// the environment variable IPSCOPE_CLICKHOUSE_PASSWORD).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// With a ClickHouse store: the cluster (from the servers' remote_servers) whose every shard holds tables, read
    /// and written through Distributed tables sharded by remote IP.
    #[arg(long, value_name = "NAME", requires = "store")]
    clickhouse_cluster: Option<String>,
}

/// The store `args` name, opened (ClickHouse: connected, tables created or migrated), and the SQLite file, if any.
/// `create`: a missing SQLite file is created rather than refused.
fn open_store(args: &StoreArgs, create: bool) -> anyhow::Result<(DataStore, Option<Arc<Store>>)> {
    let open_sqlite = |path: &std::path::Path| if create { open(path) } else { open_existing(path) };
    match args.store.as_deref() {
        None => match &args.db {
            Some(db) => {
                let store = open_sqlite(db)?;
                Ok((DataStore::Sqlite(Arc::clone(&store)), Some(store)))
            }
            None => anyhow::bail!("name the store: --db PATH (SQLite) or --store URL"),
        },
        Some(url) if url.starts_with("sqlite:") => {
            let path = PathBuf::from(&url["sqlite:".len()..]);
            if args.db.as_ref().is_some_and(|db| *db != path) {
                anyhow::bail!("--db and --store name two different SQLite files; give one of them");
            }
            if args.clickhouse_cluster.is_some() {
                anyhow::bail!("--clickhouse-cluster needs a clickhouse:// store");
            }
            let store = open_sqlite(&path)?;
            Ok((DataStore::Sqlite(Arc::clone(&store)), Some(store)))
        }
        Some(url) => {
            let password = std::env::var(clickhouse::PASSWORD_VARIABLE).ok().filter(|p| !p.is_empty());
            let parsed =
                ClickHouseUrl::parse(url, password).map_err(|e| anyhow::anyhow!("--store: {e} (or sqlite:PATH)"))?;
            let ch = ClickHouse::open(&parsed, args.clickhouse_cluster.as_deref())
                .with_context(|| format!("cannot open the ClickHouse store {parsed}"))?;
            let state = args.db.as_deref().map(open_sqlite).transpose()?;
            Ok((DataStore::ClickHouse(Arc::new(ch)), state))
        }
    }
}

fn open(db: &std::path::Path) -> anyhow::Result<Arc<Store>> {
    Store::open(db).with_context(|| format!("cannot open the database {}", db.display()))
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (alone, on standard output; it is not shown again).
    Create {
        /// The database file.
        #[arg(long)]
        db: PathBuf,
        /// A name for the token, shown in the audit.
        #[arg(long)]
        name: String,
        /// A Defender permission (repeatable): Ip.Read.All, Alert.Read.All, Machine.Read.All...
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        /// Limit the token to the devices of this device group (repeatable); without it, every device.
        #[arg(long = "device-group")]
        device_groups: Vec<String>,
        /// Lifetime, e.g. 90d, 12h or 30m; without it, until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List the tokens (never their secrets).
    List {
        /// The database file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Revoke a token by name; it stops working on the next request.
    Revoke {
        /// The database file.
        #[arg(long)]
        db: PathBuf,
        /// The token's name.
        name: String,
    },
}

/// Opens an existing database (for commands that only make sense on one); a missing one is an error.
fn open_existing(db: &std::path::Path) -> anyhow::Result<Arc<Store>> {
    Ok(Store::open_existing(db)?)
}

fn time_text(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn token_command(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { db, name, permissions, device_groups, expires } => {
            let store = open_existing(&db)?;
            let now = Utc::now();
            let expires = expires
                .map(|e| tokens::parse_lifetime(&e).map(|d| now + d))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
            let new = tokens::NewToken {
                name,
                permissions,
                device_groups: (!device_groups.is_empty()).then_some(device_groups),
                expires,
            };
            let token = store
                .call_blocking(|c| Ok(tokens::create(c, &new, now)))?
                .map_err(|e| anyhow::anyhow!("cannot create the token: {e}"))?;
            eprintln!(
                "token '{}' created{}; it is shown once, below:",
                new.name.trim(),
                expires.map(|e| format!(", expires {}", time_text(Some(e)))).unwrap_or_default()
            );
            println!("{token}");
        }
        TokenCommand::List { db } => {
            let store = open_existing(&db)?;
            let list = store.call_blocking(|c| tokens::list(c))?;
            if list.is_empty() {
                eprintln!("no tokens; create one with `ipscope-server token create`");
            }
            println!("NAME\tPERMISSIONS\tDEVICE GROUPS\tCREATED\tEXPIRES\tLAST USED\tREVOKED");
            for t in list {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.permissions.join(","),
                    t.device_groups.map_or_else(|| "(all)".to_string(), |g| g.join(",")),
                    time_text(Some(t.created)),
                    time_text(t.expires),
                    time_text(t.last_used),
                    time_text(t.revoked),
                );
            }
        }
        TokenCommand::Revoke { db, name } => {
            let store = open_existing(&db)?;
            if !store.call_blocking(|c| tokens::revoke(c, &name, Utc::now()))? {
                anyhow::bail!("no token named '{name}' is in force (`ipscope-server token list` shows them)");
            }
            eprintln!("token '{name}' revoked");
        }
    }
    Ok(())
}

/// Shows an import's (or an ingestion catch-up's) progress on standard error: a line redrawn in place (rows, rate, percent and time left) on a
/// terminal, a plain line every few seconds otherwise.
fn progress_report() -> impl FnMut(import::Progress) {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut shown = std::time::Instant::now();
    move |p: import::Progress| {
        let every = if terminal { 0.2 } else { 5.0 };
        if shown.elapsed().as_secs_f64() < every {
            return;
        }
        shown = std::time::Instant::now();
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        let rate = p.rows as f64 / seconds;
        let share = p.total_bytes.filter(|t| *t > 0).map(|t| (p.bytes as f64 / t as f64).min(1.0));
        let left = share.filter(|s| *s > 0.0).map(|s| seconds * (1.0 - s) / s);
        let mut line = format!("  {} rows read, {:.0} rows/s", p.rows, rate);
        if let (Some(share), Some(left)) = (share, left) {
            line.push_str(&format!(", {:.0}%, about {:.0} s left", share * 100.0, left));
        }
        if terminal {
            eprint!("\r{line}\x1b[K");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
    }
}

/// `serve --retention`: prunes at start and then once a day.
async fn prune_daily(data: DataStore, keep: chrono::Duration) {
    loop {
        match data.prune(Utc::now() - keep).await {
            Ok(p) => tracing::info!("retention: deleted {} connections from before {}", p.events, p.kept_from),
            Err(e) => tracing::error!("retention: pruning failed: {e}"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            store: store_args,
            addr,
            dist,
            base_path,
            frame_ancestors,
            cors_origins,
            rate_limit_per_minute,
            rate_limit_per_hour,
            rate_limit_loopback,
            trusted_proxies,
            geo_dir,
            allowed_hosts,
            oidc_issuer,
            oidc_audience,
            oidc_groups,
            oidc_client_id,
            oidc_scope,
            audit_log,
            retention,
            create,
            max_connections,
            max_connections_per_client,
            no_auth,
        } => {
            let listen: Option<std::net::SocketAddr> = addr.parse().ok();
            let loopback = listen.is_some_and(|a| a.ip().is_loopback()) || addr.starts_with("localhost:");
            if no_auth {
                if !loopback && trusted_proxies.is_empty() {
                    anyhow::bail!(
                        "--no-auth on {addr} would let anyone on the network read everything; use it only behind an \
                         authenticating reverse proxy named with --trusted-proxy, or listen on loopback"
                    );
                }
                tracing::warn!("authentication is OFF (--no-auth): every request reads everything");
            }
            let oidc = match (oidc_issuer, oidc_audience) {
                (Some(issuer), Some(audience)) => {
                    let claims = match &oidc_groups {
                        Some(path) => ClaimMapping::load(path).map_err(anyhow::Error::msg)?,
                        None => ClaimMapping::default(),
                    };
                    let app = oidc_client_id.map(|client_id| AppSignIn { client_id, scope: oidc_scope });
                    Some(OidcConfig { issuer, audience, claims, app })
                }
                _ => None,
            };
            let mut allowed_hosts = allowed_hosts;
            if let Some(ip) = listen.map(|a| a.ip()).filter(|ip| !ip.is_unspecified()) {
                allowed_hosts.push(ip.to_string());
            } else if listen.is_some_and(|a| a.ip().is_unspecified()) && allowed_hosts.is_empty() {
                tracing::warn!(
                    "listening on every interface: only requests naming a loopback host are answered until you \
                     name this server's host names with --allowed-host"
                );
            }
            let (data, store) = open_store(&store_args, create)?;
            let Some(store) = store else {
                anyhow::bail!("with a ClickHouse store, --db names the SQLite file for tokens and the audit");
            };
            let geo = match geo_dir {
                Some(dir) => {
                    let started = std::time::Instant::now();
                    let geo = tokio::task::spawn_blocking(move || GeoDb::load(&dir)).await?;
                    tracing::info!(
                        "geolocation data loaded in {:.1?}: {} source(s)",
                        started.elapsed(),
                        geo.sources().len()
                    );
                    geo
                }
                None => GeoDb::empty(),
            };
            let listener =
                tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
            let rate_limits = RateLimits {
                per_minute: (rate_limit_per_minute > 0).then_some(rate_limit_per_minute),
                per_hour: (rate_limit_per_hour > 0).then_some(rate_limit_per_hour),
                limit_loopback: rate_limit_loopback,
                trusted_proxies,
            };
            let base_path = ipscope_server::normalize_base_path(&base_path).map_err(anyhow::Error::msg)?;
            // Room for the database, the log and the geolocation files besides connections.
            let files = ipscope_server::listener::raise_open_file_limit().context("reading the open-file limit")?;
            let fitting = (files as usize).saturating_sub(64).max(16);
            if max_connections > fitting {
                tracing::warn!(
                    "--max-connections {max_connections} lowered to {fitting}: the open-file limit is {files}"
                );
            }
            let connections = ipscope_server::listener::ConnectionLimits {
                max_connections: max_connections.min(fitting),
                max_per_client: max_connections_per_client,
                unlimited_clients: rate_limits.trusted_proxies.clone(),
                ..Default::default()
            };
            let config = ServerConfig {
                dist,
                base_path: base_path.clone(),
                frame_ancestors,
                cors_origins,
                rate_limits,
                auth: AuthConfig { disabled: no_auth, oidc },
                allowed_hosts,
                audit: audit_log.map_or(AuditSink::Database, AuditSink::File),
                connections,
            };
            if let Some(retention) = retention {
                let keep = tokens::parse_lifetime(&retention).map_err(|e| anyhow::anyhow!("--retention: {e}"))?;
                tokio::spawn(prune_daily(data.clone(), keep));
            }
            tracing::info!("data: {data}");
            let state = AppState::new(store, config).with_geo(geo).with_data(data);
            if let Some(oidc) = state.auth.oidc() {
                match oidc.refresh().await {
                    Ok(n) => tracing::info!("OpenID Connect: {n} signing key(s) of {}", oidc.config().issuer),
                    Err(e) => tracing::warn!("OpenID Connect: {e}; tokens are refused until it answers"),
                }
            }
            println!("ipscope is serving on http://{}{base_path}/", listener.local_addr()?);
            ipscope_server::serve(listener, state).await?;
        }
        Command::Token { command } => token_command(command)?,
        Command::Ingest { store, watch, poll_seconds, once, chunk_megabytes } => {
            if !watch.is_dir() {
                anyhow::bail!("--watch {}: no such folder", watch.display());
            }
            if store.clickhouse_cluster.is_some() {
                anyhow::bail!(
                    "ingest writes to one ClickHouse server: a chunk of a blob and its position are stored together \
                     only within one server's insert; `import --store URL --clickhouse-cluster NAME --events BLOB` \
                     reads the same PT1H.json blobs"
                );
            }
            let (store, _) = open_store(&store, true)?;
            let chunk =
                chunk_megabytes.map_or_else(|| ipscope_server::ingest::default_chunk_bytes(&store), |mb| mb << 20);
            loop {
                let pass = {
                    let (store, watch) = (store.clone(), watch.clone());
                    tokio::task::spawn_blocking(move || {
                        ipscope_server::ingest::ingest_once(&store, &watch, chunk, &mut progress_report())
                    })
                    .await??
                };
                if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    eprint!("\r\x1b[K"); // clear the progress line
                }
                for error in &pass.errors {
                    tracing::error!("ingest: {error} (tried again on the next pass)");
                }
                if pass.blobs_read > 0 || once {
                    let lag = pass
                        .lag(Utc::now())
                        .map(|l| format!(", newest event {} s behind", l.num_seconds()))
                        .unwrap_or_default();
                    let s = &pass.summary;
                    let line = format!(
                        "ingest: {} records read from {} blob(s): {} new, {} already stored, {} without a remote IP, \
                         {} of other categories{lag}",
                        s.events_read + s.events_other_categories,
                        pass.blobs_read,
                        s.events_new,
                        s.events_read - s.events_new - s.events_without_remote_ip,
                        s.events_without_remote_ip,
                        s.events_other_categories
                    );
                    if once {
                        println!("{line}");
                    } else {
                        eprintln!("{line}");
                    }
                }
                if once {
                    if !pass.errors.is_empty() {
                        anyhow::bail!("{} blob(s) could not be read", pass.errors.len());
                    }
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(poll_seconds.max(1))).await;
            }
        }
        Command::Prune { store, older_than } => {
            let keep = tokens::parse_lifetime(&older_than).map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
            let (data, _) = open_store(&store, false)?;
            let pruned = data.prune(Utc::now() - keep).await?;
            println!(
                "deleted {} connections from before {} from {data}",
                pruned.events,
                time_text(Some(pruned.kept_from)),
            );
        }
        Command::Audit { db, file, since } => {
            let since = tokens::parse_lifetime(&since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
            let store = open_existing(&db)?;
            let sink = file.map_or(AuditSink::Database, AuditSink::File);
            let records = audit::read(&store, &sink, Utc::now() - since)?;
            for r in &records {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    time_text(Some(r.time)),
                    r.caller,
                    r.status,
                    r.endpoint,
                    r.target.as_deref().unwrap_or("-"),
                    r.query.as_deref().map(|q| format!("\t?{q}")).unwrap_or_default()
                );
            }
            eprintln!("{} request(s) in the audit since {}", records.len(), time_text(Some(Utc::now() - since)));
        }
        Command::Demo { store, now } => {
            let (data, _) = open_store(&store, true)?;
            let target = data.to_string();
            let summary =
                tokio::task::spawn_blocking(move || demo::generate(&data, now.unwrap_or_else(Utc::now))).await??;
            println!(
                "demo organization written to {target}: {} machines, {} alerts, {} events",
                summary.machines, summary.alerts, summary.events
            );
        }
        Command::Synth { store, events } => {
            let (data, _) = open_store(&store, true)?;
            let target = data.to_string();
            let started = std::time::Instant::now();
            let written = tokio::task::spawn_blocking(move || {
                ipscope_server::synth::generate(&data, events, Utc::now(), &mut |n| {
                    eprintln!("  {n} events written...")
                })
            })
            .await??;
            println!("{written} synthetic events written to {target} in {:.0?}", started.elapsed());
        }
        Command::Import { store, machines, alerts, events } => {
            if machines.is_none() && alerts.is_none() && events.is_none() {
                anyhow::bail!("nothing to import: give --machines, --alerts and/or --events");
            }
            let (data, _) = open_store(&store, true)?;
            let target = data.to_string();
            let unchanged = if matches!(data, DataStore::ClickHouse(_)) && events.as_deref() == Some("-".as_ref()) {
                "the rows read from standard input before the error are stored (ClickHouse has no transactions)"
            } else {
                "the store is unchanged"
            };
            let files = ImportFiles { machines, alerts, events };
            let summary = tokio::task::spawn_blocking(move || import::import(&data, &files, &mut progress_report()))
                .await?
                .with_context(|| format!("import failed; {unchanged}"))?;
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprint!("\r\x1b[K"); // clear the progress line
            }
            println!("imported into {target}: {summary}");
        }
    }
    Ok(())
}
