//! The `ipscope-server` command: `serve`, `demo` and `import`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use ipscope_server::geo::GeoDb;
use ipscope_server::import::{self, ImportFiles};
use ipscope_server::rate_limit::RateLimits;
use ipscope_server::store::Store;
use ipscope_server::{demo, AppState, ServerConfig};

/// ipscope's server: the investigation portal and its Defender-compatible API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app and the API.
    Serve {
        /// The database file (created if missing).
        #[arg(long)]
        db: PathBuf,
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
    },
    /// Fill a database with the deterministic demo organization.
    Demo {
        /// The database file (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// The moment the demo history ends (RFC 3339); defaults to now.
        #[arg(long)]
        now: Option<DateTime<Utc>>,
    },
    /// Fill a database with synthetic connections for benchmarks (20 busy IPs, the rest typical).
    Synth {
        /// The database file (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// About how many connections to write.
        #[arg(long)]
        events: u64,
    },
    /// Import Defender exports (all files in one transaction).
    Import {
        /// The database file (created if missing).
        #[arg(long)]
        db: PathBuf,
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

fn open(db: &std::path::Path) -> anyhow::Result<Arc<Store>> {
    Store::open(db).with_context(|| format!("cannot open the database {}", db.display()))
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
            db,
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
        } => {
            let store = open(&db)?;
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
            let config =
                ServerConfig { dist, base_path: base_path.clone(), frame_ancestors, cors_origins, rate_limits };
            println!("ipscope is serving on http://{}{base_path}/", listener.local_addr()?);
            ipscope_server::serve(listener, AppState::new(store, config).with_geo(geo)).await?;
        }
        Command::Demo { db, now } => {
            let store = open(&db)?;
            let summary =
                tokio::task::spawn_blocking(move || demo::generate(&store, now.unwrap_or_else(Utc::now))).await??;
            println!(
                "demo organization written to {}: {} machines, {} alerts, {} events",
                db.display(),
                summary.machines,
                summary.alerts,
                summary.events
            );
        }
        Command::Synth { db, events } => {
            let store = open(&db)?;
            let started = std::time::Instant::now();
            let written = tokio::task::spawn_blocking(move || {
                ipscope_server::synth::generate(&store, events, Utc::now(), &mut |n| {
                    eprintln!("  {n} events written...")
                })
            })
            .await??;
            println!("{written} synthetic events written to {} in {:.0?}", db.display(), started.elapsed());
        }
        Command::Import { db, machines, alerts, events } => {
            if machines.is_none() && alerts.is_none() && events.is_none() {
                anyhow::bail!("nothing to import: give --machines, --alerts and/or --events");
            }
            let store = open(&db)?;
            let files = ImportFiles { machines, alerts, events };
            let summary = tokio::task::spawn_blocking(move || {
                import::import(&store, &files, &mut |n| eprintln!("  {n} event rows read..."))
            })
            .await?
            .context("import failed; the database is unchanged")?;
            println!("imported into {}: {summary}", db.display());
        }
    }
    Ok(())
}
