//! The "Alerts related to this IP" table.

use ipscope_api::wire::Alert;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::time::Time;
use crate::config::use_config;

/// Alerts whose evidence names the address; an empty state when there are none.
#[component]
pub fn RelatedAlerts(
    /// The alerts, newest first.
    alerts: Vec<Alert>,
) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="empty">"No alerts mention this IP address."</p> }.into_any();
    }
    let config = use_config();
    let count = alerts.len();
    let rows = alerts
        .into_iter()
        .map(|alert| {
            let alert_href = config.route(&format!("alerts/{}", encode_segment(&alert.id)));
            let device = alert.machine_id.clone().map(|id| {
                let name = alert.computer_dns_name.clone().unwrap_or_else(|| id.clone());
                (config.route(&format!("machines/{}", encode_segment(&id))), name)
            });
            view! {
                <tr>
                    <td>
                        <A href=alert_href>{alert.title.clone()}</A>
                    </td>
                    <td>
                        <span class=format!("severity severity-{}", alert.severity.as_str().to_lowercase())>
                            {alert.severity.as_str()}
                        </span>
                    </td>
                    <td>{alert.status.as_str()}</td>
                    <td>{alert.category.clone().unwrap_or_default()}</td>
                    <td>
                        {device.map(|(href, name)| view! { <A href=href>{name}</A> })}
                    </td>
                    <td>
                        <Time at=alert.first_event_time.or(Some(alert.alert_creation_time)) />
                    </td>
                    <td>
                        <Time at=alert.last_event_time />
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="count">{format!("{count} alert{}", if count == 1 { "" } else { "s" })}</p>
        <div class="table-wrap">
            <table class="alerts">
                <thead>
                    <tr>
                        <th scope="col">"Title"</th>
                        <th scope="col">"Severity"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Category"</th>
                        <th scope="col">"Device"</th>
                        <th scope="col">"First activity"</th>
                        <th scope="col">"Last activity"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Percent-encodes an id for use as one path segment.
fn encode_segment(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}
