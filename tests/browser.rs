//! Browser tests: a real headless Chromium, driven through chromedriver, against the real server
//! (`ipscope_server::app`) on a real database file filled by the real importer, serving the release bundle.
//!
//! `cargo xtask test` builds the bundle and sets `IPSCOPE_DIST` and `CHROMEDRIVER`; each test starts its own
//! server, chromedriver and browser profile, so tests run in parallel and a failing test still quits its browser.

mod support;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use ipscope_server::auth::tokens::{self, NewToken};
use ipscope_server::geo::GeoDb;
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::rate_limit::RateLimits;
use ipscope_server::store::Store;
use ipscope_server::{AppState, ServerConfig};
use support::{dist_dir, free_port, in_browser, Page, ScratchDir, POLL, WAIT};
use thirtyfour::prelude::*;

const FIN: &str = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07,fin-lt-0042.corp.contoso.example";
const ENG: &str = "7a9c0f3e8b2d4c6e1f0a9b8c7d6e5f4a3b2c1d0e,<i>eng</i>-ws-1007.corp.contoso.example";
const OPS: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c,ops-srv-07.corp.contoso.example";

/// Network events relative to now, so the periods of the page (1 day, 30 days, 6 months) select known devices:
/// 203.0.113.66 — fin-lt-0042 2 h and 3 days ago, eng-ws-1007 10 days ago, ops-srv-07 60 days ago;
/// 45.77.12.9 — fin-lt-0042 1 day ago.
fn recent_events() -> String {
    let now = chrono::Utc::now();
    let at = |hours: i64| (now - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let rows = [
        (at(2), FIN, "203.0.113.66", "10.20.1.42,51000,Tcp,svc-updater.exe,d2f1a8c47e3b9f0e6a5d4c3b2a1f0e9d8c7b6a5f"),
        (at(72), FIN, "203.0.113.66", "10.20.1.42,51001,Tcp,svc-updater.exe,d2f1a8c47e3b9f0e6a5d4c3b2a1f0e9d8c7b6a5f"),
        (at(240), ENG, "203.0.113.66", "10.20.2.7,52000,Tcp,<b>evil</b>.exe,0b5e6a7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a"),
        (at(1440), OPS, "203.0.113.66", "10.20.3.9,53000,Udp,curl,7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f76"),
        (at(24), FIN, "45.77.12.9", "10.20.1.42,51002,Tcp,msedge.exe,3c5b4b3f0ab7b1a8bbf6bd7d0a1e1c0d2c7e9f10"),
    ];
    let mut csv = String::from(
        "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort,LocalIP,LocalPort,Protocol,InitiatingProcessFileName,InitiatingProcessSHA1\n",
    );
    for (ts, device, ip, rest) in rows {
        csv.push_str(&format!("{ts},{device},ConnectionSuccess,{ip},443,{rest}\n"));
    }
    // 45.77.99.1: 120 devices, one connection each, k hours ago — more than the page lists.
    for k in 0..120 {
        csv.push_str(&format!(
            "{},cap-device-{k:03},cap-{k:03}.corp.contoso.example,ConnectionSuccess,45.77.99.1,443,10.9.0.{},50000,Tcp,teams.exe,\n",
            at(k + 1),
            k % 250
        ));
    }
    csv
}

/// An ipscope token with every permission, limited to `groups` if given.
fn token(store: &Store, name: &str, groups: Option<&[&str]>) -> String {
    let new = NewToken {
        name: name.into(),
        permissions: vec!["Ip.Read.All".into(), "Alert.Read.All".into(), "Machine.Read.All".into()],
        device_groups: groups.map(|g| g.iter().map(|g| g.to_string()).collect()),
        expires: None,
    };
    store.call_blocking(|c| Ok(tokens::create(c, &new, chrono::Utc::now()).unwrap())).unwrap()
}

/// Imports the fixtures into a fresh database, serves it, opens a browser signed in with a token that sees
/// everything, runs `body`, and always quits the browser.
async fn browser_test<F, Fut>(body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    browser_test_with(ServerConfig::default(), body).await
}

/// `browser_test` with a server configuration of the test's own (the app's files are added).
async fn browser_test_with<F, Fut>(config: ServerConfig, body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let served = Served::start(config).await;
    let token = token(&served.store, "browser-admin", None);
    in_browser(&served.scratch.0.join("profile"), served.base_url.clone(), Some(token), body).await;
}

/// The fixtures in a fresh database, served with the release bundle until dropped.
struct Served {
    scratch: ScratchDir,
    store: Arc<Store>,
    base_url: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn start(config: ServerConfig) -> Served {
        let scratch = ScratchDir::new("browser");
        let store = Store::open(&scratch.0.join("test.db")).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let events = scratch.0.join("events.csv");
        std::fs::write(&events, recent_events()).unwrap();
        let files = ImportFiles {
            machines: Some(fixtures.join("machines.json")),
            alerts: Some(fixtures.join("alerts.json")),
            events: Some(events),
        };
        import(&store.data(), &files, &mut |_| {}).expect("fixtures import");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(Arc::clone(&store), ServerConfig { dist: Some(dist_dir()), ..config })
            .with_geo(GeoDb::load(&fixtures.join("geo")));
        let server = tokio::spawn(ipscope_server::serve(listener, state));
        Served { scratch, store, base_url, server }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
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
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
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
        page.wait_for_text("dd[data-field='Address class']", "Private (RFC 1918)").await?;
        page.wait_for_text(".address-class", "Private (RFC 1918): not a public internet address").await?;
        Ok(())
    })
    .await;
}

/// Waits until a labelled fact (`<dd data-field=...>`) reads exactly `expected`.
async fn fact(page: &Page, field: &str, expected: &str) -> anyhow::Result<()> {
    let css = format!("dd[data-field='{field}']");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = match page.driver.find(By::Css(&css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.trim() == expected {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{field} never read {expected:?}; last: {text:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_opens_the_ip_page_with_all_four_sections() {
    browser_test(|page| async move {
        page.open("/").await?;
        let input = page.find("#home-search").await?;
        input.send_keys("45.7").await?;
        page.wait_for_text("#home-search-suggestions", "45.77.12.9").await?;
        input.send_keys(Key::Down).await?;
        assert_eq!(input.attr("aria-activedescendant").await?.as_deref(), Some("home-search-option-0"));
        input.send_keys(Key::Enter).await?;

        page.wait_for_text(".ip-header h1", "45.77.12.9").await?;
        assert_eq!(page.path().await?, "/ips/45.77.12.9");
        for heading in ["IP geo information", "Alerts related to this IP", "IP observed in organization", "Prevalence"]
        {
            let labelled = page.texts("section[aria-labelledby] h2").await?;
            assert!(labelled.iter().any(|h| h == heading), "{heading} in {labelled:?}");
        }
        fact(&page, "Country", "Germany (DE)").await?;
        fact(&page, "City", "Frankfurt am Main").await?;
        fact(&page, "State", "Hesse").await?;
        fact(&page, "ASN", "AS20473").await?;
        fact(&page, "Organization (ISP)", "The Constant Company, LLC").await?;
        fact(&page, "Latitude", "50.1109").await?;
        fact(&page, "Carrier", "not available").await?;
        page.wait_for_text(".attribution", "DB-IP IP to City Lite (CC BY 4.0, 2026-06-05)").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading]", "No alerts mention this IP address.").await?;
        page.wait_for_text("table.devices tbody", "fin-lt-0042.corp.contoso.example").await?;
        fact(&page, "Devices", "1").await?;
        fact(&page, "Connections", "1").await?;
        page.wait_for_text(".chart figcaption", "at most 1 on one day").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_period_changes_counts_and_url_and_survives_a_reload() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66").await?;
        fact(&page, "Devices", "2").await?; // 30 days: fin-lt-0042 and eng-ws-1007
        page.wait_for_text("section[aria-labelledby=devices-heading] .count", "2 devices").await?;

        page.find(".period button[aria-pressed]").await?;
        let buttons = page.driver.find_all(By::Css(".period button.preset")).await?;
        buttons[0].click().await?; // 1 day
        fact(&page, "Devices", "1").await?;
        page.wait_for_text("section[aria-labelledby=devices-heading] .count", "1 device").await?;
        assert!(page.driver.current_url().await?.query().unwrap_or("").contains("period=1d"));

        page.driver.refresh().await?;
        fact(&page, "Devices", "1").await?;
        let pressed = page.find(".period button[aria-pressed=true]").await?;
        assert_eq!(pressed.text().await?, "1 day");

        let buttons = page.driver.find_all(By::Css(".period button.preset")).await?;
        buttons[3].click().await?; // 6 months
        fact(&page, "Devices", "3").await?;
        page.wait_for_text("table.devices tbody", "ops-srv-07.corp.contoso.example").await?;
        assert!(page.driver.current_url().await?.query().unwrap_or("").contains("period=6m"));
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_box_narrows_the_devices_and_lives_in_the_url() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66?period=6m").await?;
        page.wait_for_text("section[aria-labelledby=devices-heading] .count", "3 devices").await?;
        let filter = page.find("#device-filter").await?;
        // In any case: the process is `svc-updater.exe`.
        filter.send_keys("UpDater").await?;
        page.wait_for_text("section[aria-labelledby=devices-heading] .count", "1 of 3 devices match").await?;
        let names = page.texts("table.devices tbody tr:not([hidden]) td.device a").await?;
        assert_eq!(names, vec!["fin-lt-0042.corp.contoso.example"]);
        let query = page.driver.current_url().await?.query().unwrap_or("").to_string();
        assert!(query.contains("q=UpDater") && query.contains("period=6m"), "{query}");

        // The exports hold the devices the filter shows, with Defender's field names.
        let export = |label| page.export("section[aria-labelledby=devices-heading]", label);
        let csv = export("Export CSV").await?;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(lines[0].starts_with("machineId,computerDnsName,lastSeen,"), "{csv}");
        assert!(lines[1].contains("fin-lt-0042.corp.contoso.example") && lines[1].contains("svc-updater.exe"), "{csv}");
        let json: serde_json::Value = serde_json::from_str(&export("Export JSON").await?)?;
        let devices = json.as_array().expect("an array of devices");
        assert_eq!(devices.len(), 1, "{json}");
        assert_eq!(devices[0]["computerDnsName"], "fin-lt-0042.corp.contoso.example");
        assert_eq!(devices[0]["initiatingProcessFileName"], "svc-updater.exe");
        assert!(devices[0]["lastSeen"].as_str().is_some_and(|t| t.ends_with('Z')), "{json}");

        page.driver.refresh().await?;
        page.wait_for_text("section[aria-labelledby=devices-heading] .count", "1 of 3 devices match").await?;
        assert_eq!(page.find("#device-filter").await?.prop("value").await?.as_deref(), Some("UpDater"));

        // Filtering by date: only the device last seen 60 days ago.
        let day = (chrono::Utc::now() - chrono::Duration::hours(1440)).format("%Y-%m-%d").to_string();
        let filter = page.find("#device-filter").await?;
        filter.clear().await?;
        filter.send_keys(&day).await?;
        page.wait_for_text("table.devices tbody", "ops-srv-07").await?;
        assert_eq!(
            page.texts("table.devices tbody tr:not([hidden]) td.device a").await?,
            vec!["ops-srv-07.corp.contoso.example"]
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_names_and_files_with_markup_are_text() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66").await?;
        let table = page.wait_for_text("table.devices tbody", "<i>eng</i>-ws-1007.corp.contoso.example").await?;
        assert!(table.contains("<b>evil</b>.exe"), "{table}");
        assert!(page.driver.find_all(By::Css("table.devices i, table.devices b")).await?.is_empty());
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_ip_to_device_to_alert_and_back_to_an_ip() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66").await?;
        // A mark on the window survives in-app navigation only: links must not load the page again.
        page.driver.execute("window.__sameDocument = true", vec![]).await?;
        let same_document = || async {
            let kept = page.driver.execute("return window.__sameDocument === true", vec![]).await?;
            anyhow::Ok(kept.json().as_bool() == Some(true))
        };
        let link = page.find("table.devices tbody td.device a").await?;
        assert_eq!(link.text().await?, "fin-lt-0042.corp.contoso.example");
        link.click().await?;
        page.wait_for_text("h1.device-name", "fin-lt-0042.corp.contoso.example").await?;
        assert_eq!(page.path().await?, "/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07");
        page.wait_for_text("section[aria-labelledby=device-heading]", "High").await?;
        page.wait_for_text("table.connections", "203.0.113.66").await?;

        let alert =
            page.find("section[aria-labelledby=device-alerts-heading] table.alerts tbody td:first-child a").await?;
        alert.click().await?;
        page.wait_for_text("h1.alert-title", "Suspicious command-and-control beacon").await?;
        page.wait_for_text(".ip-list", "203.0.113.66").await?;
        page.find(".ip-list a").await?.click().await?;
        page.wait_for_text(".ip-header h1", "203.0.113.66").await?;
        assert_eq!(page.path().await?, "/ips/203.0.113.66");
        assert!(same_document().await?, "the links were followed inside the app");

        // Back and forward, without loading the page again.
        page.driver.back().await?;
        page.wait_for_text("h1.alert-title", "Suspicious command-and-control beacon").await?;
        page.driver.back().await?;
        page.wait_for_text("h1.device-name", "fin-lt-0042.corp.contoso.example").await?;
        page.driver.forward().await?;
        page.wait_for_text("h1.alert-title", "Suspicious command-and-control beacon").await?;
        assert!(same_document().await?, "back and forward stayed inside the app");

        // The skip link moves the focus to the content and stays on the page.
        page.driver.execute("document.querySelector('.skip-link').click()", vec![]).await?;
        let focused = page.driver.execute("return document.activeElement.id", vec![]).await?;
        assert_eq!(focused.json().as_str(), Some("main"));
        assert!(page.path().await?.starts_with("/alerts/"), "still on the alert page");

        page.open("/machines/no-such-device").await?;
        page.wait_for_text("section[aria-labelledby=device-heading] .error-notice", "Not found").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_never_observed_says_so_and_still_shows_its_class() {
    browser_test(|page| async move {
        page.open("/ips/8.8.8.8").await?;
        page.wait_for_text(
            ".never-observed",
            "8.8.8.8 was not observed in communication with devices in the organization in the last 30 days.",
        )
        .await?;
        fact(&page, "Address class", "Public").await?;
        fact(&page, "Country", "not available").await?;
        page.wait_for_text(
            "section[aria-labelledby=devices-heading]",
            "No device in the organization connected to 8.8.8.8 in the last 30 days.",
        )
        .await?;
        fact(&page, "Devices", "0").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_filter_and_sort_from_the_url() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        let severity = page.find("section[aria-labelledby=alerts-heading] select").await?;
        severity.send_keys("High").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "1 of 2 alerts").await?;
        assert!(page.driver.current_url().await?.query().unwrap_or("").contains("severity=High"));
        // The export holds the alert shown.
        let json = page.export("section[aria-labelledby=alerts-heading]", "Export JSON").await?;
        let alerts: Vec<serde_json::Value> = serde_json::from_str(&json)?;
        assert_eq!(alerts.len(), 1, "{json}");
        assert_eq!(alerts[0]["severity"], "High");

        // The overview's count of High alerts is a link to the table filtered to them.
        page.open("/ips/203.0.113.66?period=7d").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        let high = page.find(".alert-counts a[href*='severity=High']").await?;
        assert_eq!(high.text().await?.split_whitespace().collect::<Vec<_>>(), ["1", "High"]);
        high.click().await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "1 of 2 alerts").await?;
        let query = page.driver.current_url().await?.query().unwrap_or("").to_string();
        assert!(query.contains("severity=High") && query.contains("period=7d"), "{query}");

        page.open("/ips/203.0.113.66?sort=severity&dir=asc").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        assert_eq!(page.texts("table.alerts tbody td:nth-child(2)").await?, vec!["Medium", "High"]);
        // Each row's title, link and severity, as a set: re-sorting redraws rows in place, so they must move
        // together.
        const ROWS: &str = "return [...document.querySelectorAll('table.alerts tbody tr')].map(r => \
            [r.querySelector('a').textContent, r.querySelector('a').getAttribute('href'), r.cells[1].textContent].join(' | '))";
        let rows = |v: serde_json::Value| -> Vec<String> {
            let mut rows: Vec<String> = serde_json::from_value(v).unwrap_or_default();
            rows.sort();
            rows
        };
        let ascending = page.driver.execute(ROWS, vec![]).await?.json().clone();
        let sorted = page.find("table.alerts th[aria-sort=ascending]").await?;
        assert!(sorted.text().await?.starts_with("Severity"));
        sorted.find(By::Css("button")).await?.click().await?;
        page.find("table.alerts th[aria-sort=descending]").await?;
        assert_eq!(page.texts("table.alerts tbody td:nth-child(2)").await?, vec!["High", "Medium"]);
        let descending = page.driver.execute(ROWS, vec![]).await?.json().clone();
        assert_ne!(ascending, descending, "the rows changed order");
        assert_eq!(rows(ascending), rows(descending), "each row kept its own title, link and severity");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_focuses_search_and_the_theme_sticks() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66").await?;
        page.find("#header-search").await?;
        page.driver.find(By::Css("body")).await?.send_keys("/").await?;
        let active = page.driver.active_element().await?;
        assert_eq!(active.id().await?.as_deref(), Some("header-search"));

        let background = || async {
            let ret = page.driver.execute("return getComputedStyle(document.body).backgroundColor", vec![]).await?;
            anyhow::Ok(ret.json().as_str().unwrap_or_default().to_string())
        };
        page.find(".theme select option[value=light]").await?.click().await?;
        assert_eq!(background().await?, "rgb(246, 247, 249)");
        page.find(".theme select option[value=dark]").await?.click().await?;
        let root = page.driver.find(By::Css("html")).await?;
        assert_eq!(root.attr("data-theme").await?.as_deref(), Some("dark"));
        assert_eq!(background().await?, "rgb(13, 17, 23)", "the dark palette applies");
        page.driver.refresh().await?;
        page.find("#header-search").await?;
        let root = page.driver.find(By::Css("html")).await?;
        assert_eq!(root.attr("data-theme").await?.as_deref(), Some("dark"), "the choice survives a reload");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_draws_the_page_before_the_app_loads_and_the_app_takes_over() {
    browser_test(|page| async move {
        // Slowed down 4×, as a modest laptop: the module takes longer, the server's drawing does not.
        page.driver.cdp().send_raw("Emulation.setCPUThrottlingRate", serde_json::json!({ "rate": 4 })).await?;
        // What the drawing showed, noted as it appears (before the app has mounted and removed it).
        let watch = "new MutationObserver(() => { const d = document.getElementById('prerendered');
            if (d && !window.__drawn) window.__drawn = { rows: d.querySelectorAll('table.devices tbody tr').length,
              heading: d.querySelector('h1') && d.querySelector('h1').textContent,
              appMounted: document.querySelectorAll('main').length > 1 };
          }).observe(document, { childList: true, subtree: true });";
        page.driver.cdp().send_raw("Page.addScriptToEvaluateOnNewDocument", serde_json::json!({ "source": watch })).await?;
        for (query, hours) in [("", 720), ("?period=7d", 168), ("?period=6m", 4392)] {
            page.open(&format!("/ips/203.0.113.66{query}")).await?;
            page.wait_for_text("section[aria-labelledby=devices-heading] .count", "device").await?;
            let seen = page
                .driver
                .execute(
                    "const start = performance.getEntriesByName('ipscope:start')[0].startTime;
                     const mark = (name) => (performance.getEntriesByName(name)[0] || {}).startTime ?? null;
                     return { drawn: window.__drawn || null, drawnAt: mark('ipscope:prerendered'),
                       takenOverAt: mark('ipscope:taken-over'), left: !!document.getElementById('prerendered'),
                       rows: document.querySelectorAll('table.devices tbody tr').length,
                       calls: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/ips/')
                         || e.name.includes('/api/prerender/')).map(e => [e.name.split('/api/')[1], e.startTime < start]) }",
                    vec![],
                )
                .await?;
            let seen = seen.json();
            // One request, before the app had started: the server's drawing and every answer the app then uses.
            let calls: Vec<(String, bool)> = serde_json::from_value(seen["calls"].clone())?;
            assert_eq!(calls, [(format!("prerender/ips/203.0.113.66{query}"), true)], "{hours} h: {seen}");
            let drawn = &seen["drawn"];
            assert_eq!(drawn["heading"], "IP address 203.0.113.66", "the drawing showed the page: {seen}");
            assert_eq!(drawn["appMounted"], false, "shown before the app had mounted: {seen}");
            assert!(drawn["rows"].as_u64() > Some(0) && drawn["rows"] == seen["rows"], "same devices: {seen}");
            assert!(seen["takenOverAt"].as_f64() > seen["drawnAt"].as_f64(), "then the app took over: {seen}");
            assert_eq!(seen["left"], false, "{seen}");
            // The app's own page answers: the filter narrows its table.
            page.find("#device-filter").await?.send_keys("no-such-device").await?;
            page.wait_for_text("section[aria-labelledby=devices-heading] .count", "0 of").await?;
            page.driver.goto("about:blank").await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_comes_first_and_nothing_overflows_a_phone_width() {
    browser_test(|page| async move {
        page.driver.set_window_rect(0, 0, 390, 844).await?;
        page.open("/ips/203.0.113.66").await?;
        page.wait_for_text("section[aria-labelledby=devices-heading] .count", "devices").await?;
        page.wait_for_text("section[aria-labelledby=prevalence-heading]", "Connections").await?;
        let top = |id: &str| format!("return document.getElementById('{id}').getBoundingClientRect().top");
        let prevalence = page.driver.execute(&top("prevalence-heading"), vec![]).await?.json().as_f64();
        let devices = page.driver.execute(&top("devices-heading"), vec![]).await?.json().as_f64();
        assert!(prevalence < devices, "prevalence ({prevalence:?}) above the devices table ({devices:?})");
        let widths = page
            .driver
            .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]", vec![])
            .await?;
        let widths: Vec<f64> = serde_json::from_value(widths.json().clone())?;
        let wide = page
            .driver
            .execute(
                "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > w && !e.closest('.table-wrap'))
                   .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')",
                vec![],
            )
            .await?;
        assert!(widths[0] <= widths[1], "the page scrolls sideways at 390 px: {widths:?}, {}", wide.json());
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_section_says_so_and_counts_down() {
    let config = ServerConfig {
        rate_limits: RateLimits {
            per_minute: Some(3),
            per_hour: None,
            limit_loopback: true,
            trusted_proxies: Vec::new(),
        },
        ..Default::default()
    };
    browser_test_with(config, |page| async move {
        // The page makes four API calls; the fourth is refused, and the others still show.
        page.open("/ips/203.0.113.66").await?;
        let notice = page.wait_for_text(".error-notice", "Rate limited").await?;
        assert!(notice.contains("Retrying in"), "{notice}");
        let headings = page.texts("section[aria-labelledby] h2").await?;
        assert_eq!(headings.len(), 5, "every section is still there: {headings:?}");
        // Retry asks again (the answer is still a refusal: the limit holds for a minute).
        const CALLS: &str = "return performance.getEntriesByType('resource')\
            .filter(e => e.name.includes('/api/ips/') && !e.name.includes('/prerender/')).length";
        let before = page.driver.execute(CALLS, vec![]).await?.json().as_u64().unwrap_or(0);
        page.find(".error-notice button").await?.click().await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let after = page.driver.execute(CALLS, vec![]).await?.json().as_u64().unwrap_or(0);
            if after > before {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "Retry made no request ({before} before and after)");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        page.wait_for_text(".error-notice", "Rate limited").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_range_is_applied_and_kept_in_the_url() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66?period=6m").await?;
        fact(&page, "Devices", "3").await?;
        let custom = page.driver.find_all(By::Css(".period button.preset")).await?;
        custom[4].click().await?;
        let now = chrono::Utc::now();
        let (from, to) = ((now - chrono::Duration::days(5)).format("%Y-%m-%dT%H:%M"), (now + chrono::Duration::minutes(2)).format("%Y-%m-%dT%H:%M"));
        let set = format!(
            "for (const [id, v] of [['period-from', '{from}'], ['period-to', '{to}']]) {{
                 const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', {{bubbles: true}}));
             }}"
        );
        page.find("#period-from").await?;
        page.driver.execute(&set, vec![]).await?;
        page.find(".custom-period button[type=submit]").await?.click().await?;
        fact(&page, "Devices", "1").await?; // only fin-lt-0042 in the last five days
        let query = page.driver.current_url().await?.query().unwrap_or("").to_string();
        assert!(query.contains("from=") && query.contains("to=") && !query.contains("period="), "{query}");

        page.driver.refresh().await?;
        fact(&page, "Devices", "1").await?;
        let pressed = page.find(".period button[aria-pressed=true]").await?;
        assert_eq!(pressed.text().await?, "Custom");

        // An inverted range is refused in place, without a request.
        page.driver.execute(&set.replace(&from.to_string(), "2030-01-01T00:00"), vec![]).await?;
        page.find(".custom-period button[type=submit]").await?.click().await?;
        page.wait_for_text(".custom-period .input-error", "'from' must be before 'to'.").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_mode_drops_the_chrome_for_the_whole_session_and_takes_the_hosts_theme() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66?embed=1&theme=dark").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        assert!(page.driver.find_all(By::Css(".app-header, .app-footer")).await?.is_empty());
        let root = page.driver.find(By::Css("html")).await?;
        assert_eq!(root.attr("data-theme").await?.as_deref(), Some("dark"));

        page.find("table.devices tbody td.device a").await?.click().await?;
        page.wait_for_text("h1.device-name", "fin-lt-0042").await?;
        assert!(page.driver.find_all(By::Css(".app-header")).await?.is_empty(), "still embedded after navigating");
        Ok(())
    })
    .await;
}

/// Serves, on `port`, a dashboard page at `http://localhost:{port}/` that embeds `src` in an iframe and, if
/// `token` is given, hands it to the app (by `postMessage`, to the app's origin only) when the app says it is
/// ready. `http://127.0.0.1:{port}/intruder` (another origin) posts `intruder_token` to the app's frame
/// when the dashboard embeds it. Returns the dashboard's URL.
async fn dashboard_embedding(
    port: u16,
    src: String,
    token: Option<String>,
    intruder_token: Option<String>,
) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let url = format!("http://localhost:{port}/");
    let app_origin = src.split('/').take(3).collect::<Vec<_>>().join("/");
    let hand_over = token.map(|t| {
        format!(
            "<script>addEventListener('message', (ev) => {{
                if (ev.origin !== '{app_origin}' || !ev.data || ev.data.type !== 'ipscope:ready' || ev.data.signedIn) return;
                document.getElementById('ipscope').contentWindow.postMessage({{type: 'ipscope:token', token: '{t}'}}, '{app_origin}');
            }});</script>"
        )
    });
    let intruder_frame = intruder_token
        .as_ref()
        .map(|_| format!("<iframe id=\"intruder\" src=\"http://127.0.0.1:{port}/intruder\"></iframe>"));
    let dashboard = format!(
        "<!doctype html><title>SOC dashboard</title>{}<iframe id=\"ipscope\" src=\"{src}\" width=\"1200\" height=\"800\"></iframe>{}",
        hand_over.unwrap_or_default(),
        intruder_frame.unwrap_or_default()
    );
    let intruder = format!(
        "<!doctype html><title>intruder</title><script>setInterval(() => {{
            try {{ parent.frames[0].postMessage({{type: 'ipscope:token', token: '{}'}}, '*'); }} catch (e) {{}}
        }}, 100);</script>",
        intruder_token.unwrap_or_default()
    );
    let (dashboard, intruder) = (Arc::new(dashboard), Arc::new(intruder));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (dashboard, intruder) = (Arc::clone(&dashboard), Arc::clone(&intruder));
            // One task per connection: the browser may open a connection it sends nothing on.
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let html = if request[..n].starts_with(b"GET /intruder") { intruder } else { dashboard };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_can_embed_the_app_only_when_its_origin_is_configured() {
    // The dashboard is on `localhost`, the app on `127.0.0.1`: two origins. The dashboard signs the app in.
    let dashboard_port = free_port();
    let config =
        ServerConfig { frame_ancestors: vec![format!("http://localhost:{dashboard_port}")], ..Default::default() };
    browser_test_with(config, |page| async move {
        let src = format!("{}/ips/203.0.113.66?embed=1", page.base_url);
        let dashboard = dashboard_embedding(dashboard_port, src, page.token.clone(), None).await?;
        page.driver.goto(&dashboard).await?;
        let frame = page.find("#ipscope").await?;
        frame.enter_frame().await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        let inside = page.driver.execute("return location.pathname + location.search", vec![]).await?;
        assert_eq!(inside.json(), "/ips/203.0.113.66?embed=1", "back on the framed page after the hand-over");
        Ok(())
    })
    .await;

    browser_test(|page| async move {
        let src = format!("{}/ips/203.0.113.66?embed=1", page.base_url);
        let dashboard = dashboard_embedding(free_port(), src, page.token.clone(), None).await?;
        page.driver.goto(&dashboard).await?;
        page.find("#ipscope").await?.enter_frame().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let shown = page.driver.find_all(By::Css("section[aria-labelledby=alerts-heading]")).await?;
        assert!(shown.is_empty(), "without --frame-ancestor the app refuses to be framed");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framed_app_ignores_tokens_from_other_origins() {
    let dashboard_port = free_port();
    let config =
        ServerConfig { frame_ancestors: vec![format!("http://localhost:{dashboard_port}")], ..Default::default() };
    browser_test_with(config, |page| async move {
        // The allowed dashboard hands over nothing; a frame of another origin inside it posts a valid token.
        let src = format!("{}/ips/203.0.113.66?embed=1", page.base_url);
        let dashboard = dashboard_embedding(dashboard_port, src, None, page.token.clone()).await?;
        page.driver.goto(&dashboard).await?;
        page.find("#ipscope").await?.enter_frame().await?;
        page.wait_for_text(".sign-in", "Waiting for the dashboard to sign in").await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let inside = page.driver.execute("return location.pathname", vec![]).await?;
        assert_eq!(inside.json(), "/sign-in", "still waiting");
        let kept = page.driver.execute("return sessionStorage.getItem('ipscope.token')", vec![]).await?;
        assert_eq!(kept.json(), &serde_json::Value::Null, "the intruder's token was not taken");
        Ok(())
    })
    .await;
}

/// Signs in on the sign-in page with `token`.
async fn sign_in_with(page: &Page, token: &str) -> anyhow::Result<()> {
    let input = page.find("#token-input").await?;
    input.clear().await?;
    input.send_keys(token).await?;
    page.find(".token-form button[type=submit]").await?.click().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_app_asks_for_one_and_returns_to_the_page() {
    browser_test(|page| async move {
        let token = page.token.clone().unwrap();
        page.open_plain("/ips/203.0.113.66?period=7d").await?;
        page.find("#token-input").await?;
        assert_eq!(page.path().await?, "/sign-in");
        let url = page.driver.current_url().await?;
        assert_eq!(url.query_pairs().find(|(k, _)| k == "next").unwrap().1, "/ips/203.0.113.66?period=7d");

        sign_in_with(&page, "ipscope_0123456789abcdef_wrong").await?;
        page.wait_for_text(".sign-in-problem", "The server refused this token").await?;
        sign_in_with(&page, &token).await?;
        page.wait_for_text(".ip-header h1", "203.0.113.66").await?;
        assert_eq!(page.driver.current_url().await?.query(), Some("period=7d"));
        page.wait_for_text(".account .who", "Signed in as browser-admin").await?;

        // Sign-out forgets the token: the next page asks again.
        page.find(".account .sign-out").await?.click().await?;
        page.wait_for_text(".sign-in-why", "You are signed out.").await?;
        let kept = page.driver.execute("return sessionStorage.getItem('ipscope.token')", vec![]).await?;
        assert_eq!(kept.json(), &serde_json::Value::Null);
        page.open_plain("/ips/203.0.113.66").await?;
        page.find("#token-input").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_signs_in_and_leaves_no_token_in_the_address_bar() {
    browser_test(|page| async move {
        page.open("/ips/203.0.113.66").await?; // `#token=...`, as the demo prints it
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        let url = page.driver.current_url().await?;
        assert_eq!(url.fragment(), None, "the token is removed from the address bar: {url}");
        let history: serde_json::Value = page.driver.execute("return history.length", vec![]).await?.json().clone();
        assert_eq!(history, serde_json::json!(2), "no extra history entry holds it (new tab + this page)");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_session_leads_to_sign_in_and_back_to_the_same_url() {
    let served = Served::start(ServerConfig::default()).await;
    let store = Arc::clone(&served.store);
    let first = token(&store, "first", None);
    let second = token(&store, "second", None);
    in_browser(&served.scratch.0.join("profile"), served.base_url.clone(), Some(first), |page| async move {
        page.open("/ips/203.0.113.66").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        assert!(store.call_blocking(|c| tokens::revoke(c, "first", chrono::Utc::now())).unwrap());
        page.find("table.alerts tbody tr td:first-child a").await?.click().await?;
        page.wait_for_text(".sign-in-why", "not valid").await?;
        sign_in_with(&page, &second).await?;
        page.wait_for_text("h1", "Suspicious command-and-control beacon").await?;
        assert_eq!(page.path().await?, "/alerts/da638100000000000000_111", "back where the sign-in was needed");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_analysts_see_what_their_device_groups_produced() {
    let served = Served::start(ServerConfig::default()).await;
    let finance = token(&served.store, "finance", Some(&["Finance"]));
    let engineering = token(&served.store, "engineering", Some(&["Engineering"]));
    in_browser(&served.scratch.0.join("profile"), served.base_url.clone(), None, |page| async move {
        for (token, who, alert) in [
            (&finance, "finance (Finance)", "Suspicious command-and-control beacon"),
            (&engineering, "engineering (Engineering)", "Malicious"),
        ] {
            // From another document: a link differing only in its fragment would not load the app again.
            page.driver.goto("about:blank").await?;
            page.driver.goto(format!("{}/ips/203.0.113.66#token={token}", page.base_url)).await?;
            page.wait_for_text(".account .who", who).await?;
            page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "1 alert").await?;
            page.wait_for_text("table.alerts tbody", alert).await?;
            fact(&page, "Devices", "1").await?;
            let devices = page.texts("table.devices tbody td.device").await?;
            assert_eq!(devices.len(), 1, "{who}: {devices:?}");
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_build_works_under_a_sub_path() {
    let config = ServerConfig { base_path: "/tools/ipscope".into(), ..Default::default() };
    browser_test_with(config, |page| async move {
        page.open("/tools/ipscope/ips/203.0.113.66").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "2 alerts").await?;
        fact(&page, "Devices", "2").await?;

        // In-app links and URL state stay under the base.
        let buttons = page.driver.find_all(By::Css(".period button.preset")).await?;
        buttons[0].click().await?;
        fact(&page, "Devices", "1").await?;
        assert_eq!(page.path().await?, "/tools/ipscope/ips/203.0.113.66");
        page.find("table.devices tbody td.device a").await?.click().await?;
        page.wait_for_text("h1.device-name", "fin-lt-0042").await?;
        assert_eq!(page.path().await?, "/tools/ipscope/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07");

        let search = page.find("#header-search").await?;
        search.send_keys("198.51.100.23").await?;
        search.send_keys(Key::Enter).await?;
        page.wait_for_text(".ip-header h1", "198.51.100.23").await?;
        assert_eq!(page.path().await?, "/tools/ipscope/ips/198.51.100.23");
        page.find(".brand").await?.click().await?;
        page.find("#home-search").await?;
        let home = page.path().await?;
        assert!(home == "/tools/ipscope/" || home == "/tools/ipscope", "{home}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_list_states_the_cap_of_100() {
    browser_test(|page| async move {
        page.open("/ips/45.77.99.1").await?;
        page.wait_for_text(
            ".cap-note",
            "120 devices connected in the last 30 days; the 100 with the most recent connections are listed.",
        )
        .await?;
        let rows = page.driver.find_all(By::Css("table.devices tbody tr")).await?;
        assert_eq!(rows.len(), 100);
        let first = page.texts("table.devices tbody tr:first-child td.device a").await?;
        assert_eq!(first, vec!["cap-000.corp.contoso.example"], "most recent first");
        fact(&page, "Devices", "120").await?;
        // Relative times carry the absolute UTC time on hover.
        let time = page.find("table.devices tbody tr:first-child time").await?;
        assert_eq!(time.text().await?, "1 hour ago");
        assert!(time.attr("title").await?.unwrap_or_default().ends_with(" UTC"));
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_openid_connect_and_pkce_returns_to_the_page() {
    use ipscope_server::auth::oidc::{AppSignIn, ClaimMapping, OidcConfig};
    use ipscope_server::auth::AuthConfig;
    use support::oidc_provider::OidcProvider;

    let provider = OidcProvider::start();
    provider
        .set_sign_in_claims(serde_json::json!({
            "aud": "api://ipscope",
            "scp": "Ip.Read.All Alert.Read Machine.Read",
            "groups": ["g-fin"],
            "preferred_username": "ana@contoso.example"
        }))
        .await;
    let claims: ClaimMapping = serde_json::from_value(serde_json::json!({"groups": {"g-fin": ["Finance"]}})).unwrap();
    let app = AppSignIn { client_id: "ipscope-app".into(), scope: "openid Ip.Read.All Alert.Read".into() };
    let oidc = OidcConfig { issuer: provider.issuer.clone(), audience: "api://ipscope".into(), claims, app: Some(app) };
    let config = ServerConfig { auth: AuthConfig { disabled: false, oidc: Some(oidc) }, ..Default::default() };
    let served = Served::start(config).await;
    in_browser(&served.scratch.0.join("profile"), served.base_url.clone(), None, |page| async move {
        // No token: the app goes to the provider (which signs in at once) and comes back to this very URL.
        page.open_plain("/ips/203.0.113.66?period=7d").await?;
        page.wait_for_text(".account .who", "Signed in as ana@contoso.example (Finance)").await?;
        page.wait_for_text("section[aria-labelledby=alerts-heading] .count", "1 alert").await?;
        assert_eq!(page.path().await?, "/ips/203.0.113.66");
        assert_eq!(page.driver.current_url().await?.query(), Some("period=7d"));
        let kept = page.driver.execute("return sessionStorage.getItem('ipscope.token')", vec![]).await?;
        assert!(kept.json().as_str().is_some_and(|t| t.starts_with("ey")), "a JWT in session storage");
        let local = page.driver.execute("return JSON.stringify(localStorage).includes('ey')", vec![]).await?;
        assert_eq!(local.json(), &serde_json::json!(false), "nothing in local storage");

        // Signing out does not sign in again by itself.
        page.find(".account .sign-out").await?.click().await?;
        page.wait_for_text(".sign-in-why", "You are signed out.").await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(page.path().await?, "/sign-in");
        page.wait_for_text(".sign-in button.primary", "Sign in with localhost").await?;
        Ok(())
    })
    .await;
}
