//! Browser tests: a real headless Chromium, driven through chromedriver, against the real server
//! (`ipscope_server::app`) on a real database file filled by the real importer, serving the release bundle.
//!
//! `cargo xtask test` builds the bundle and sets `IPSCOPE_DIST` and `CHROMEDRIVER`; each test starts its own
//! server, chromedriver and browser profile, so tests run in parallel and a failing test still quits its browser.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::FutureExt;
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::store::Store;
use ipscope_server::{AppState, ServerConfig};
use thirtyfour::common::capabilities::chromium::ChromiumLikeCapabilities;
use thirtyfour::prelude::*;
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// A scratch folder removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(label: &str) -> ScratchDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("ipscope-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a test body gets: the browser and the app's URL.
struct Page {
    driver: WebDriver,
    base_url: String,
}

impl Page {
    async fn open(&self, path: &str) -> anyhow::Result<()> {
        self.driver.goto(format!("{}{}", self.base_url, path)).await?;
        Ok(())
    }

    async fn find(&self, css: &str) -> anyhow::Result<WebElement> {
        let found = self.driver.query(By::Css(css)).wait(WAIT, POLL).first().await;
        match found {
            Ok(el) => Ok(el),
            Err(e) => bail!("no element matches `{css}` on {}: {e}", self.path().await.unwrap_or_default()),
        }
    }

    /// Waits until the element's text contains `needle`, returning the text.
    async fn wait_for_text(&self, css: &str, needle: &str) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = match self.driver.find(By::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return Ok(text);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("`{css}` never showed {needle:?}; last text: {text:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn texts(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for el in self.driver.find_all(By::Css(css)).await? {
            out.push(el.text().await?);
        }
        Ok(out)
    }

    async fn path(&self) -> anyhow::Result<String> {
        Ok(self.driver.current_url().await?.path().to_string())
    }
}

fn dist_dir() -> PathBuf {
    let dist = std::env::var_os("IPSCOPE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("dist"));
    assert!(
        dist.join("index.html").is_file(),
        "no built app in {} — run `cargo xtask test`, which builds it first",
        dist.display()
    );
    dist
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_chromedriver() -> anyhow::Result<(Child, u16)> {
    let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for _ in 0..5 {
        let port = free_port();
        let mut child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {program}; `cargo xtask test` installs chromium-driver"))?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok((child, port));
            }
            if child.try_wait()?.is_some() {
                break; // lost the port race; try another
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill().await;
    }
    bail!("chromedriver did not start")
}

/// Imports the fixtures into a fresh database, serves it, opens a browser, runs `body`, and always quits the browser.
async fn browser_test<F, Fut>(body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let scratch = ScratchDir::new("browser");
    let store = Store::open(&scratch.0.join("test.db")).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let files = ImportFiles {
        machines: Some(fixtures.join("machines.json")),
        alerts: Some(fixtures.join("alerts.json")),
        events: Some(fixtures.join("events.csv")),
    };
    import(&store, &files, &mut |_| {}).expect("fixtures import");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, ServerConfig { dist: Some(dist_dir()), ..Default::default() });
    let server = tokio::spawn(ipscope_server::serve(listener, state));

    let (mut chromedriver, port) = start_chromedriver().await.unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())).unwrap();
    let profile = scratch.0.join("profile");
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        &format!("--user-data-dir={}", profile.display()),
    ] {
        caps.add_arg(arg).unwrap();
    }
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.expect("browser session");

    let outcome = AssertUnwindSafe(body(Page { driver: driver.clone(), base_url })).catch_unwind().await;
    let quit = driver.quit().await;
    let _ = chromedriver.kill().await;
    server.abort();
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Err(e)) => panic!("{e:#}"),
        Ok(Ok(())) => quit.expect("browser quits"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searching_an_ip_shows_its_alerts() {
    browser_test(|page| async move {
        page.open("/").await?;
        let input = page.find("#home-search").await?;
        // A defanged URL as pasted from a threat report.
        input.send_keys("hxxp://203[.]0[.]113[.]66/gate.php").await?;
        input.send_keys(Key::Enter).await?;

        page.wait_for_text(".ip-header h1", "203.0.113.66").await?;
        assert_eq!(page.path().await?, "/ips/203.0.113.66");
        page.wait_for_text("section[aria-labelledby=alerts-heading]", "2 alerts").await?;
        let titles = page.texts("table.alerts tbody tr td:first-child").await?;
        assert_eq!(
            titles,
            vec![
                "Suspicious command-and-control beacon".to_string(),
                "<img src=x onerror=\"document.title='pwned'\"><b>Malicious</b> file downloaded".to_string(),
            ],
            "alerts newest first, titles shown as text"
        );
        let severities = page.texts("table.alerts tbody tr td:nth-child(2)").await?;
        assert_eq!(severities, vec!["High", "Medium"]);
        let devices = page.texts("table.alerts tbody tr td:nth-child(5)").await?;
        assert_eq!(devices, vec!["fin-lt-0042.corp.contoso.example", "<i>eng</i>-ws-1007.corp.contoso.example"]);

        // Nothing from the data became markup.
        assert!(page.driver.find_all(By::Css("table.alerts img, table.alerts b, table.alerts i")).await?.is_empty());
        assert_eq!(page.driver.title().await?, "203.0.113.66 — ipscope");

        // The alert title links to the alert page and the device to the device page.
        let link = page.find("table.alerts tbody tr td:first-child a").await?;
        assert_eq!(link.attr("href").await?.as_deref(), Some("/alerts/da638100000000000000_111"));
        let device = page.find("table.alerts tbody tr td:nth-child(5) a").await?;
        assert_eq!(device.attr("href").await?.as_deref(), Some("/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07"));
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_ip_is_explained_and_not_requested() {
    browser_test(|page| async move {
        page.open("/").await?;
        let input = page.find("#home-search").await?;
        input.send_keys("010.1.1.1").await?;
        input.send_keys(Key::Enter).await?;
        let message = page.wait_for_text("#home-search-error", "leading zero").await?;
        assert!(message.contains("010.1.1.1"), "the message names the input: {message}");
        assert_eq!(page.path().await?, "/", "an invalid address does not navigate");
        assert_eq!(input.attr("aria-invalid").await?.as_deref(), Some("true"));

        // A deep link to an invalid address says so instead of showing an empty page.
        page.open("/ips/not-an-ip").await?;
        page.wait_for_text("main h1", "Invalid IP address").await?;
        page.wait_for_text(".invalid-ip .input-error", "“not-an-ip” is not an IPv4 or IPv6 address.").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_ip_without_alerts_gets_an_empty_state() {
    browser_test(|page| async move {
        page.open("/ips/10.20.1.42").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading]", "No alerts mention this IP address.").await?;
        page.wait_for_text(".address-class", "Private (RFC 1918): not a public internet address").await?;
        Ok(())
    })
    .await;
}
