//! A time shown relative to now, with the absolute UTC time on hover.

use chrono::{DateTime, Utc};
use ipscope_api::time::{absolute_utc, relative_time, rfc3339};
use leptos::prelude::*;

/// `<time>` reading "3 hours ago", titled "2026-11-25 11:02:03 UTC"; "—" when absent.
#[component]
pub fn Time(
    /// The instant, if known.
    at: Option<DateTime<Utc>>,
) -> impl IntoView {
    match at {
        Some(t) => view! {
            <time datetime=rfc3339(t) title=absolute_utc(t)>
                {relative_time(t, Utc::now())}
            </time>
        }
        .into_any(),
        None => view! { <span class="absent">"—"</span> }.into_any(),
    }
}
