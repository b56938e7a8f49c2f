//! Devices per day as an SVG bar chart, with a table as its text alternative.

use ipscope_api::chart::{bars, nice_max};
use ipscope_api::number::fixed;
use ipscope_api::wire::DayCount;
use leptos::prelude::*;

// Whole numbers, so that the markup's numbers are integers formatted (no float formatting on this path).
const WIDTH: u32 = 640;
const HEIGHT: u32 = 140;

/// One bar per day of the period; hovering a bar names the day and its counts.
#[component]
pub fn PrevalenceChart(
    /// Every day of the period, oldest first.
    days: Vec<DayCount>,
) -> impl IntoView {
    let max = days.iter().map(|d| d.devices).max().unwrap_or(0);
    let axis = nice_max(max);
    let values: Vec<u64> = days.iter().map(|d| d.devices).collect();
    let geometry = bars(&values, f64::from(WIDTH), f64::from(HEIGHT), axis);
    let first = days.first().map(|d| d.date.to_string()).unwrap_or_default();
    let last = days.last().map(|d| d.date.to_string()).unwrap_or_default();
    let summary = format!(
        "Devices per day from {first} to {last}: at most {max} on one day, {} day{} with connections.",
        days.iter().filter(|d| d.devices > 0).count(),
        if days.iter().filter(|d| d.devices > 0).count() == 1 { "" } else { "s" },
    );
    let rects = days
        .iter()
        .zip(geometry)
        .map(|(day, bar)| {
            let label = format!("{}: {} device{}, {} connection{}", day.date, day.devices, s(day.devices), day.connections, s(day.connections));
            view! {
                <rect class="bar" x=fixed(bar.x, 2) y=fixed(bar.y, 2) width=fixed(bar.width.max(0.5), 2) height=fixed(bar.height, 2)>
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let rows = days
        .iter()
        .filter(|d| d.devices > 0)
        .map(|d| view! { <tr><td>{d.date.to_string()}</td><td class="num">{d.devices.to_string()}</td><td class="num">{d.connections.to_string()}</td></tr> })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("-40 -10 {} {}", WIDTH + 50, HEIGHT + 34) role="img" aria-label=summary.clone() preserveAspectRatio="none">
                <line class="axis" x1="0" y1=HEIGHT.to_string() x2=WIDTH.to_string() y2=HEIGHT.to_string() />
                <line class="grid" x1="0" y1="0" x2=WIDTH.to_string() y2="0" />
                <text class="tick" x="-6" y="4" text-anchor="end">{axis.to_string()}</text>
                <text class="tick" x="-6" y=(HEIGHT + 4).to_string() text-anchor="end">"0"</text>
                <text class="tick" x="0" y=(HEIGHT + 18).to_string()>{first}</text>
                <text class="tick" x=WIDTH.to_string() y=(HEIGHT + 18).to_string() text-anchor="end">{last}</text>
                {rects}
            </svg>
            <figcaption>{summary}</figcaption>
        </figure>
        <details class="chart-data">
            <summary>"Devices per day as a table"</summary>
            <table>
                <thead><tr><th scope="col">"Day (UTC)"</th><th scope="col">"Devices"</th><th scope="col">"Connections"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}

fn s(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
