//! The browser half of `cargo xtask bench` (ignored in ordinary test runs): ipscope's IP page side by side with a
//! hand-written plain-JavaScript page (`bench/plain/`) that makes the same four API calls and draws the same
//! sections, served by the same server binary on the same database. Rounds interleave the two pages at 1× and 4×
//! CPU slowdown (DevTools' `Emulation.setCPUThrottlingRate`), each load in a fresh headless Chromium profile.
//! xtask passes the URLs in `IPSCOPE_BENCH_URL` and `IPSCOPE_BENCH_PLAIN_URL`; the figures go to stdout and to
//! `IPSCOPE_BENCH_OUT`.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;
use serde_json::json;
use support::{in_browser, Page, ScratchDir};

/// The demo's busiest address: 100 devices listed, a full 30-day chart.
const IP: &str = "13.107.42.14";
/// Rounds of the comparison (`IPSCOPE_BENCH_ROUNDS` overrides, for a quick look).
fn rounds() -> usize {
    std::env::var("IPSCOPE_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(15)
}
const SLOWDOWNS: [f64; 2] = [1.0, 4.0];

/// JavaScript run in each new document before the page's own (DevTools' `Page.addScriptToEvaluateOnNewDocument`):
/// it notes in `window.__ready` the `performance.now()` of the first DOM change after which every section has
/// content, the devices table has rows and the chart is drawn (both pages mark sections the same way), and in
/// `window.__frame` the next frame after it.
const WATCH_READY: &str = r#"
    const ready = () => document.querySelectorAll('section[aria-labelledby]').length >= 4
        && document.querySelectorAll('section .loading').length === 0
        && document.querySelectorAll('table.devices tbody tr').length > 0
        && document.querySelectorAll('section[aria-labelledby*=prevalence] svg').length > 0;
    window.__sections = {};
    const observer = new MutationObserver(() => {
        for (const s of document.querySelectorAll('section[aria-labelledby]')) {
            const id = s.getAttribute('aria-labelledby');
            if (!(id in window.__sections) && !s.querySelector('.loading')) window.__sections[id] = performance.now();
        }
        if (!window.__ready && ready()) {
            window.__ready = performance.now();
            observer.disconnect();
            requestAnimationFrame(() => { window.__frame = performance.now(); });
        }
    });
    observer.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
"#;

/// JavaScript returning when the page was ready and painted (see `WATCH_READY`), or null.
const READY: &str = "return window.__frame ? window.__ready : null;";

/// JavaScript returning first contentful paint and the bytes transferred so far: the page, its assets, the API.
const LOAD_FIGURES: &str = r#"
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
    const bytes = entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);
    const api = entries.filter(e => e.name.includes('/api/')).reduce((sum, e) => sum + (e.transferSize || 0), 0);
    const calls = entries.filter(e => e.name.includes('/api/') && !e.name.endsWith('/api/me'));
    const wasm = entries.find(e => e.name.endsWith('.wasm'));
    return {
        fcp: paint ? paint.startTime : null, bytes, api, requests: entries.map(e => e.name),
        wasmEnd: wasm ? wasm.responseEnd : null,
        started: (performance.getEntriesByName('ipscope:start')[0] || {}).startTime ?? null,
        drawn: (performance.getEntriesByName('ipscope:prerendered')[0] || {}).startTime ?? null,
        interactive: (performance.getEntriesByName('ipscope:taken-over')[0] || {}).startTime ?? window.__ready,
        apiStart: Math.min(...calls.map(e => e.startTime)), apiEnd: Math.max(...calls.map(e => e.responseEnd)),
    };
"#;

/// JavaScript that types `arguments[0]` into the filter and reports, through the callback, the milliseconds until
/// the devices table changed (a MutationObserver), and until the next frame after that.
const FILTER: &str = r#"
    const [text, done] = arguments;
    const input = document.getElementById('device-filter');
    const body = document.querySelector('table.devices tbody');
    const start = performance.now();
    const observer = new MutationObserver(() => {
        observer.disconnect();
        const changed = performance.now() - start;
        requestAnimationFrame(() => done([changed, performance.now() - start]));
    });
    observer.observe(body, { childList: true, subtree: true, characterData: true, attributes: true });
    setTimeout(() => { observer.disconnect(); done([null, null]); }, 5000);
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
"#;

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What one page measured at one slowdown.
#[derive(Default, Clone)]
struct Figures {
    ready: Vec<f64>,
    fcp: Vec<f64>,
    bytes: Vec<f64>,
    api_bytes: Vec<f64>,
    keystroke_frame: Vec<f64>,
    wasm_end: Vec<f64>,
    started: Vec<f64>,
    drawn: Vec<f64>,
    interactive: Vec<f64>,
    api_start: Vec<f64>,
    api_end: Vec<f64>,
    second_visit_ready: Vec<f64>,
    second_visit_bytes: Vec<f64>,
    second_visit_requests: Vec<String>,
}

/// Waits until the page shows every section; returns `performance.now()` then.
async fn wait_ready(page: &Page) -> anyhow::Result<f64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(ms) = page.driver.execute(READY, vec![]).await?.json().as_f64() {
            return Ok(ms);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the IP page never showed its sections");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One cold load of `/ips/{IP}` at `base_url` slowed down `slowdown` times, in a fresh profile, then a second load
/// in the same profile; the last round also types into the filter in between.
async fn measure(base_url: &str, slowdown: f64, last_round: bool) -> Figures {
    let scratch = ScratchDir::new("bench");
    let token = std::env::var("IPSCOPE_BENCH_TOKEN").ok();
    let figures = std::sync::Arc::new(std::sync::Mutex::new(Figures::default()));
    let out = figures.clone();
    in_browser(&scratch.0.join("profile"), base_url.to_string(), token, |page| async move {
        let cdp = page.driver.cdp();
        cdp.send_raw("Emulation.setCPUThrottlingRate", json!({ "rate": slowdown })).await?;
        cdp.send_raw("Page.addScriptToEvaluateOnNewDocument", json!({ "source": WATCH_READY })).await?;
        page.open(&format!("/ips/{IP}")).await?;
        let ready = wait_ready(&page).await?;
        tokio::time::sleep(Duration::from_millis(300)).await; // late resource entries
        let load = page.driver.execute(LOAD_FIGURES, vec![]).await?.json().clone();
        if std::env::var_os("IPSCOPE_BENCH_VERBOSE").is_some() {
            let detail = "return JSON.stringify([window.__sections, performance.getEntriesByType('resource')
                .map(e => [e.name.split('/').slice(-2).join('/'), Math.round(e.startTime), Math.round(e.responseEnd)])])";
            eprintln!("{base_url} {slowdown}x: {}", page.driver.execute(detail, vec![]).await?.json());
        }
        {
            let mut f = out.lock().unwrap();
            f.ready.push(ready);
            f.fcp.extend(load["fcp"].as_f64());
            f.bytes.extend(load["bytes"].as_f64());
            f.api_bytes.extend(load["api"].as_f64());
            f.wasm_end.extend(load["wasmEnd"].as_f64());
            f.started.extend(load["started"].as_f64());
            f.drawn.extend(load["drawn"].as_f64());
            f.interactive.extend(load["interactive"].as_f64());
            f.api_start.extend(load["apiStart"].as_f64());
            f.api_end.extend(load["apiEnd"].as_f64());
        }
        if last_round {
            for text in ["fin", "", "sales-lt", "", "zzz-no-match", "", "it-", ""].iter().cycle().take(24) {
                let ret = page.driver.execute_async(FILTER, vec![json!(text)]).await?;
                let pair = ret.json().as_array().cloned().unwrap_or_default();
                match pair.get(1).and_then(|v| v.as_f64()) {
                    Some(frame) => out.lock().unwrap().keystroke_frame.push(frame),
                    None => bail!("typing {text:?} did not change the devices table within 5 s"),
                }
            }
        }
        // A second visit in the same profile, as an analyst opening the next address: only what is not cached for
        // good travels, and the browser has the module compiled from the first.
        page.driver.goto("about:blank").await?;
        page.open_plain(&format!("/ips/{IP}")).await?; // signed in for the tab already
        let ready = wait_ready(&page).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = page.driver.execute(LOAD_FIGURES, vec![]).await?.json().clone();
        let mut f = out.lock().unwrap();
        f.second_visit_ready.push(ready);
        f.second_visit_bytes.extend(again["bytes"].as_f64());
        let requests = again["requests"].as_array().cloned().unwrap_or_default();
        f.second_visit_requests = requests.iter().filter_map(|r| r.as_str().map(String::from)).collect();
        Ok(())
    })
    .await;
    let figures = figures.lock().unwrap().clone();
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by `cargo xtask bench`"]
async fn ip_page_next_to_a_hand_written_page() {
    let app = std::env::var("IPSCOPE_BENCH_URL").expect("IPSCOPE_BENCH_URL: run this through `cargo xtask bench`");
    let plain = std::env::var("IPSCOPE_BENCH_PLAIN_URL").expect("IPSCOPE_BENCH_PLAIN_URL");
    let mut all: BTreeMap<(&str, u32), Figures> = BTreeMap::new();
    let rounds = rounds();
    for round in 0..rounds {
        for slowdown in SLOWDOWNS {
            for (name, url) in [("ipscope", &app), ("plain", &plain)] {
                let last = round == rounds - 1 && slowdown == 1.0;
                let got = measure(url, slowdown, last).await;
                let entry = all.entry((name, slowdown as u32)).or_default();
                entry.ready.extend(got.ready);
                entry.fcp.extend(got.fcp);
                entry.bytes.extend(got.bytes);
                entry.api_bytes.extend(got.api_bytes);
                entry.keystroke_frame.extend(got.keystroke_frame);
                entry.wasm_end.extend(got.wasm_end);
                entry.started.extend(got.started);
                entry.drawn.extend(got.drawn);
                entry.interactive.extend(got.interactive);
                entry.api_start.extend(got.api_start);
                entry.api_end.extend(got.api_end);
                entry.second_visit_ready.extend(got.second_visit_ready);
                entry.second_visit_bytes.extend(got.second_visit_bytes);
                if !got.second_visit_requests.is_empty() {
                    entry.second_visit_requests = got.second_visit_requests;
                }
            }
        }
    }
    let mut report = format!(
        "Browser: ipscope's IP page next to a hand-written plain-JavaScript page (`bench/plain/`), same server and \
         data, {IP} (100 devices listed), headless Chromium, a fresh profile per load, {rounds} interleaved rounds, \
         medians:\n\n\
         | CPU | figure | ipscope | plain page | ratio |\n|---|---|---:|---:|---:|\n"
    );
    for slowdown in SLOWDOWNS.map(|s| s as u32) {
        let (a, p) = (&all[&("ipscope", slowdown)], &all[&("plain", slowdown)]);
        let mut row = |label: &str, a: &[f64], p: &[f64], unit: &str| {
            if a.is_empty() || p.is_empty() {
                return;
            }
            let (ma, mp) = (median(a), median(p));
            report
                .push_str(&format!("| {slowdown}× | {label} | {ma:.0} {unit} | {mp:.0} {unit} | {:.2}× |\n", ma / mp));
        };
        row("until all sections show", &a.ready, &p.ready, "ms");
        row("until the page takes input (ipscope: the app has taken over)", &a.interactive, &p.interactive, "ms");
        row("first contentful paint", &a.fcp, &p.fcp, "ms");
        row("bytes transferred, first visit", &a.bytes, &p.bytes, "B");
        row("of which API answers", &a.api_bytes, &p.api_bytes, "B");
        let (ka, kp) = (a.keystroke_frame.clone(), p.keystroke_frame.clone());
        row("filter keystroke to next frame", &ka, &kp, "ms");
        row("second visit: until all sections show", &a.second_visit_ready, &p.second_visit_ready, "ms");
        row("bytes transferred, second visit", &a.second_visit_bytes, &p.second_visit_bytes, "B");
    }
    report.push_str("\nWhere the time goes (medians, ms after navigation start):\n\n");
    report.push_str(
        "| CPU | page | module downloaded | app started | first API call sent | last API answer in | all sections show \
         | server's drawing shown | app took over |\n",
    );
    report.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for slowdown in SLOWDOWNS.map(|s| s as u32) {
        for name in ["ipscope", "plain"] {
            let f = &all[&(name, slowdown)];
            let m = |v: &[f64]| if v.is_empty() { "—".to_string() } else { format!("{:.0}", median(v)) };
            report.push_str(&format!(
                "| {slowdown}× | {name} | {} | {} | {} | {} | {} | {} | {} |\n",
                m(&f.wasm_end),
                m(&f.started),
                m(&f.api_start),
                m(&f.api_end),
                m(&f.ready),
                m(&f.drawn),
                m(&f.interactive)
            ));
        }
    }
    let second = &all[&("ipscope", 1)].second_visit_requests;
    report.push_str(&format!("\nipscope's second visit requested: {}\n", second.join(", ")));
    println!("{report}");
    if let Ok(out) = std::env::var("IPSCOPE_BENCH_OUT") {
        std::fs::write(out, report).unwrap();
    }
}
