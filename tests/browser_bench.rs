//! The browser half of `cargo xtask bench` (ignored in ordinary test runs): cold loads of the IP page in fresh
//! headless Chromium profiles until all four sections show, and the timeline search box's response to a keystroke.
//! xtask starts the release server on the demo organization and passes its URL in `IPSCOPE_BENCH_URL`;
//! the figures go to stdout and to `IPSCOPE_BENCH_OUT`.

mod support;

use std::time::Duration;

use anyhow::bail;
use support::{in_browser, ScratchDir};

/// The demo's busiest address: 100 devices listed, a full 30-day chart.
const IP: &str = "13.107.42.14";
const COLD_LOADS: usize = 10;

/// JavaScript returning `performance.now()` once the four sections have content and the devices table has rows.
const READY: &str = r#"
    const sections = document.querySelectorAll('section[aria-labelledby]');
    const loading = document.querySelectorAll('section .loading').length;
    const rows = document.querySelectorAll('table.devices tbody tr').length;
    return sections.length === 5 && loading === 0 && rows > 0 ? performance.now() : null;
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
    observer.observe(body, { childList: true, subtree: true, characterData: true });
    setTimeout(() => { observer.disconnect(); done([null, null]); }, 5000);
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p75(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 3) / 4]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by `cargo xtask bench`"]
async fn ip_page_cold_load_and_filter() {
    let base_url = std::env::var("IPSCOPE_BENCH_URL").expect("IPSCOPE_BENCH_URL: run this through `cargo xtask bench`");
    let loads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let filters = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for run in 0..COLD_LOADS {
        let scratch = ScratchDir::new("bench");
        let (loads, filters) = (loads.clone(), filters.clone());
        let token = std::env::var("IPSCOPE_BENCH_TOKEN").ok();
        in_browser(&scratch.0.join("profile"), base_url.clone(), token, |page| async move {
            page.open(&format!("/ips/{IP}")).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let ready = loop {
                let ret = page.driver.execute(READY, vec![]).await?;
                if let Some(ms) = ret.json().as_f64() {
                    break ms;
                }
                if tokio::time::Instant::now() > deadline {
                    bail!("the IP page never showed its four sections");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            loads.lock().unwrap().push(ready);
            if run == COLD_LOADS - 1 {
                // Each text changes the table (the demo's names start with their department).
                for text in ["fin", "", "sales-lt", "", "zzz-no-match", "", "it-", ""].iter().cycle().take(24) {
                    let ret = page.driver.execute_async(FILTER, vec![serde_json::json!(text)]).await?;
                    let pair = ret.json().as_array().cloned().unwrap_or_default();
                    match (pair.first().and_then(|v| v.as_f64()), pair.get(1).and_then(|v| v.as_f64())) {
                        (Some(changed), Some(frame)) => filters.lock().unwrap().push((changed, frame)),
                        _ => bail!("typing {text:?} did not change the devices table within 5 s"),
                    }
                }
            }
            Ok(())
        })
        .await;
    }
    let loads = loads.lock().unwrap().clone();
    let filters = filters.lock().unwrap().clone();
    let changed: Vec<f64> = filters.iter().map(|f| f.0).collect();
    let framed: Vec<f64> = filters.iter().map(|f| f.1).collect();
    let report = format!(
        "Browser (headless Chromium, release server, demo organization, {IP} — 100 devices listed):\n\
         - cold load until all four sections show, {COLD_LOADS} fresh profiles: median {:.0} ms, p75 {:.0} ms, max {:.0} ms\n\
         - timeline search box, {} keystrokes on 100 rows: table updated after median {:.1} ms (max {:.1} ms), \
         next frame after median {:.1} ms (max {:.1} ms)\n",
        median(loads.clone()),
        p75(loads.clone()),
        loads.iter().copied().fold(0.0, f64::max),
        filters.len(),
        median(changed.clone()),
        changed.iter().copied().fold(0.0, f64::max),
        median(framed.clone()),
        framed.iter().copied().fold(0.0, f64::max),
    );
    println!("{report}");
    if let Ok(out) = std::env::var("IPSCOPE_BENCH_OUT") {
        std::fs::write(out, report).unwrap();
    }
}
