//! `/machines/{id}`: a device's details, its alerts and its recent network connections.

use std::rc::Rc;

use ipscope_api::wire::{DeviceConnection, Machine};
use leptos::prelude::*;

use crate::api::use_api;
use crate::components::copy_button::CopyButton;
use crate::components::related_alerts::RelatedAlerts;
use crate::components::section::Section;
use crate::components::time::Time;
use crate::pages::set_title;
use crate::resource::ApiResource;
use crate::routes::ip_href_text;

/// The device page.
#[component]
pub fn DevicePage(
    /// The machine id from the URL (decoded).
    id: String,
) -> impl IntoView {
    let export_name = format!("alerts-device-{}", id.chars().take(40).collect::<String>());
    let id = StoredValue::new(id);
    let api = use_api();
    let machine = ApiResource::new(move || api.machine(id.get_value()));
    let alerts = ApiResource::new(move || api.machine_alerts(id.get_value()));
    let connections = ApiResource::new(move || api.machine_connections(id.get_value()));
    set_title("Device — ipscope");
    view! {
        <div class="device-page">
            <h1 class="device-name">
                {move || match machine.get() {
                    Some(Ok(m)) => {
                        let name = m.computer_dns_name.clone();
                        view! { {name.clone()} <CopyButton value=name what="device name" /> }.into_any()
                    }
                    _ => "Device".into_any(),
                }}
            </h1>
            <Section id="device-heading" title="Device details" loading="Loading device…" resource=machine render=|m| view! { <MachineDetails machine=m /> } />
            <Section
                id="device-alerts-heading"
                title="Alerts on this device"
                loading="Loading alerts…"
                resource=alerts
                render=move |alerts| view! { <RelatedAlerts alerts subject="this device".to_string() export_name=export_name.clone() /> }
            />
            <Section
                id="connections-heading"
                title="Network connections (last 30 days)"
                loading="Loading connections…"
                resource=connections
                render=|c| view! { <Connections connections=c /> }
            />
        </div>
    }
}

#[component]
fn MachineDetails(machine: Rc<Machine>) -> impl IntoView {
    set_title(&format!("{} — ipscope", machine.computer_dns_name));
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "not available".into());
    let ips = machine.ip_addresses.iter().map(|a| a.ip_address.clone()).collect::<Vec<_>>().join(", ");
    let os = match (machine.os_platform.clone(), machine.version.clone()) {
        (Some(p), Some(v)) => Some(format!("{p} {v}")),
        (p, v) => p.or(v),
    };
    view! {
        <dl class="facts">
            <dt>"Device id"</dt><dd><code>{machine.id.clone()}</code></dd>
            <dt>"OS"</dt><dd>{or_none(os)}</dd>
            <dt>"Health"</dt><dd>{or_none(machine.health_status.clone())}</dd>
            <dt>"Risk score"</dt><dd>{or_none(machine.risk_score.clone())}</dd>
            <dt>"Exposure level"</dt><dd>{or_none(machine.exposure_level.clone())}</dd>
            <dt>"IP addresses"</dt><dd>{if ips.is_empty() { or_none(machine.last_ip_address.clone()) } else { ips }}</dd>
            <dt>"First seen"</dt><dd><Time at=machine.first_seen /></dd>
            <dt>"Last seen"</dt><dd><Time at=machine.last_seen /></dd>
            <dt>"Tags"</dt><dd>{if machine.machine_tags.is_empty() { "none".to_string() } else { machine.machine_tags.join(", ") }}</dd>
        </dl>
    }
}

#[component]
fn Connections(connections: Rc<Vec<DeviceConnection>>) -> impl IntoView {
    if connections.is_empty() {
        return view! { <p class="empty">"No network connections in the last 30 days."</p> }.into_any();
    }
    let rows = connections
        .iter()
        .map(|c| {
            view! {
                <tr>
                    <td><a href=ip_href_text(&c.remote_ip)>{c.remote_ip.clone()}</a></td>
                    <td><Time at=Some(c.last_seen) /></td>
                    <td class="num">{c.connections.to_string()}</td>
                    <td class="num">{c.remote_port.to_string()}</td>
                    <td>{c.action_type.clone()}</td>
                    <td>{c.initiating_process_file_name.clone().unwrap_or_default()}</td>
                    <td>{c.remote_url.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="connections">
                <thead>
                    <tr>
                        <th scope="col">"Remote IP"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"Connections"</th>
                        <th scope="col">"Remote port"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Process"</th>
                        <th scope="col">"URL"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
