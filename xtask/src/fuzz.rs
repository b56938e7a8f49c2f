//! The API fuzzing gate of `cargo xtask test`: schemathesis (from PyPI, in a virtualenv under `target/`) generates
//! requests from the OpenAPI document for a minute against the real server over the fixtures, and fails on any
//! 5xx or any answer that does not match the document.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bench::Server;
use crate::run;

/// The schemathesis release the gate runs.
const SCHEMATHESIS: &str = "4.32.5";
/// Time budget of the run.
const SECONDS: &str = "60";

/// Installs schemathesis into `target/schemathesis-venv` unless it is there.
pub fn ensure_schemathesis(root: &Path) -> Result<std::path::PathBuf> {
    let venv = root.join("target").join("schemathesis-venv");
    let program = venv.join("bin").join("schemathesis");
    let found = Command::new(&program).arg("--version").output().ok().filter(|o| o.status.success());
    if found.is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains(SCHEMATHESIS)) {
        return Ok(program);
    }
    eprintln!("xtask: installing schemathesis {SCHEMATHESIS} into {}", venv.display());
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS}")))?;
    Ok(program)
}

/// Imports the fixtures, serves them with the debug server and fuzzes the API.
pub fn fuzz_api(root: &Path) -> Result<()> {
    let schemathesis = ensure_schemathesis(root)?;
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
        "build",
        "-p",
        "ipscope-server",
    ]))?;
    let server = root.join("target").join("debug").join("ipscope-server");
    let dir = root.join("target").join("fuzz");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("fuzz.db");
    let fixtures = root.join("tests").join("fixtures");
    run(Command::new(&server)
        .args(["import", "--db"])
        .arg(&db)
        .arg("--machines")
        .arg(fixtures.join("machines.json"))
        .arg("--alerts")
        .arg(fixtures.join("alerts.json"))
        .arg("--events")
        .arg(fixtures.join("events.csv")))?;
    let all = ["Ip.Read.All", "Alert.Read.All", "Machine.Read.All"];
    let token = crate::demo_token(&server, &db, "fuzz", &all, &[])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _serving = Server(
        Command::new(&server)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--rate-limit-per-minute", "0"])
            .args(["--rate-limit-per-hour", "0", "--db"])
            .arg(&db)
            .stdout(Stdio::null())
            .spawn()
            .context("starting the server to fuzz")?,
    );
    let ready = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    if !ready {
        bail!("the server to fuzz did not start");
    }
    run(Command::new(&schemathesis)
        .current_dir(&dir) // its cache of found failures goes there, not into the tree
        .args(["run", &format!("http://127.0.0.1:{port}/api/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,\
             response_headers_conformance",
        ])
        .args(["--max-time", SECONDS, "--workers", "2", "--warnings", "off"]))
    .context("the API fuzzing found answers that break the OpenAPI document (see above)")
}
