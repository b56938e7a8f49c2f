//! What the browser tests and the browser benchmark share: scratch folders, chromedriver, a headless Chromium
//! session that is always quit, and `Page`, a few waiting helpers over WebDriver.

#![allow(dead_code)] // each test target uses a different part

pub mod oidc_provider;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::FutureExt;
use thirtyfour::common::capabilities::chromium::ChromiumLikeCapabilities;
use thirtyfour::prelude::*;
use tokio::process::{Child, Command};

pub const WAIT: Duration = Duration::from_secs(20);
pub const POLL: Duration = Duration::from_millis(50);

/// A scratch folder removed on drop.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new(label: &str) -> ScratchDir {
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

/// What a test body gets: the browser, the app's URL and the token it signs in with.
pub struct Page {
    pub driver: WebDriver,
    pub base_url: String,
    /// Handed to the app in each opened URL's fragment (`#token=`), as a sign-in link does; `None` opens URLs
    /// as they are.
    pub token: Option<String>,
}

impl Page {
    /// Opens `path` of the app, signed in with the page's token if it has one.
    pub async fn open(&self, path: &str) -> anyhow::Result<()> {
        let fragment = self.token.as_ref().map(|t| format!("#token={t}")).unwrap_or_default();
        self.driver.goto(format!("{}{}{fragment}", self.base_url, path)).await?;
        self.wait_for_app().await
    }

    /// Opens `path` of the app as it is, without a token in the URL.
    pub async fn open_plain(&self, path: &str) -> anyhow::Result<()> {
        self.driver.goto(format!("{}{}", self.base_url, path)).await?;
        self.wait_for_app().await
    }

    /// Waits until the app has mounted and the page the server drew, if any, has given way to it: tests act on
    /// the app's elements, not on the drawing's (which shares their ids for a moment). A page that never mounts
    /// the app (the browser left for a sign-in elsewhere) is left to the test after a while.
    async fn wait_for_app(&self) -> anyhow::Result<()> {
        const MOUNTED: &str = "return !document.getElementById('boot') && !document.getElementById('prerendered');";
        let deadline = tokio::time::Instant::now() + WAIT / 4;
        while tokio::time::Instant::now() < deadline {
            if self.driver.execute(MOUNTED, vec![]).await.is_ok_and(|done| done.json().as_bool() == Some(true)) {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }

    pub async fn find(&self, css: &str) -> anyhow::Result<WebElement> {
        let found = self.driver.query(By::Css(css)).wait(WAIT, POLL).first().await;
        match found {
            Ok(el) => Ok(el),
            Err(e) => bail!("no element matches `{css}` on {}: {e}", self.path().await.unwrap_or_default()),
        }
    }

    /// Waits until the element's text contains `needle`, returning the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> anyhow::Result<String> {
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

    pub async fn texts(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for el in self.driver.find_all(By::Css(css)).await? {
            out.push(el.text().await?);
        }
        Ok(out)
    }

    /// Clicks the export button `label` ("Export CSV") in the section `section` and returns the file's text, read
    /// from the blob the app offers for download.
    pub async fn export(&self, section: &str, label: &str) -> anyhow::Result<String> {
        const CAPTURE: &str =
            "if (!window.exported) { window.exported = []; const url = URL.createObjectURL.bind(URL); \
            URL.createObjectURL = blob => { window.exported.push(blob); return url(blob); }; }";
        self.driver.execute(CAPTURE, vec![]).await?;
        let mut clicked = false;
        for button in self.driver.find_all(By::Css(format!("{section} .export button"))).await? {
            if button.text().await? == label {
                button.click().await?;
                clicked = true;
            }
        }
        if !clicked {
            bail!("no {label:?} button in `{section}`");
        }
        let text = self.driver.execute("return window.exported.at(-1).text()", vec![]).await?;
        Ok(text.json().as_str().unwrap_or_default().to_string())
    }

    pub async fn path(&self) -> anyhow::Result<String> {
        Ok(self.driver.current_url().await?.path().to_string())
    }
}

pub fn dist_dir() -> PathBuf {
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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn start_chromedriver() -> anyhow::Result<(Child, u16)> {
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

/// Runs `body` in a fresh headless Chromium (its own profile in `profile`) on the app at `base_url`, signing in
/// with `token`, and always quits the browser and chromedriver, whether `body` succeeds, fails or panics.
pub async fn in_browser<F, Fut>(profile: &Path, base_url: String, token: Option<String>, body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let (mut chromedriver, port) = start_chromedriver().await.unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())).unwrap();
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
    // thirtyfour's reqwest needs a TLS crypto provider installed (see `oidc_provider::http_client`).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.expect("browser session");
    let outcome = AssertUnwindSafe(body(Page { driver: driver.clone(), base_url, token })).catch_unwind().await;
    let quit = driver.quit().await;
    let _ = chromedriver.kill().await;
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Err(e)) => panic!("{e:#}"),
        Ok(Ok(())) => quit.expect("browser quits"),
    }
}
