//! "IP observed in organization": devices with their last connection, the timeline search box, export.

use ipscope_api::export::to_csv;
use ipscope_api::filter::device_matches;
use ipscope_api::time::rfc3339;
use ipscope_api::wire::{ObservedDevice, ObservedDevices as Devices};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::encode;
use crate::components::copy_button::CopyButton;
use crate::components::export_buttons::ExportButtons;
use crate::components::time::Time;
use crate::config::{use_config, Config};
use crate::url_state::{use_query_param, use_query_updater};

/// The devices table, filtered as you type by the `q` URL parameter.
#[component]
pub fn ObservedDevices(
    /// The API's answer for the period.
    devices: Devices,
    /// Words for the period ("the last 30 days").
    period: String,
) -> impl IntoView {
    if devices.value.is_empty() {
        let text = format!("No device in the organization connected to {} in {period}.", devices.ip_address);
        return view! { <p class="empty">{text}</p> }.into_any();
    }
    let query = use_query_param("q");
    let update = use_query_updater();
    let total = devices.count;
    let listed = devices.value.len();
    let export_name = format!("devices-{}", devices.ip_address.replace(':', "_"));
    let all = StoredValue::new(devices.value);
    let shown = Memo::new(move |_| {
        let q = query.get().unwrap_or_default();
        all.with_value(|d| d.iter().filter(|d| device_matches(d, &q)).cloned().collect::<Vec<_>>())
    });
    let csv = Callback::new(move |()| {
        let rows: Vec<Vec<String>> = shown
            .get_untracked()
            .iter()
            .map(|d| {
                vec![
                    d.machine_id.clone(),
                    d.computer_dns_name.clone(),
                    rfc3339(d.last_seen),
                    d.connections.to_string(),
                    d.remote_port.to_string(),
                    d.protocol.clone().unwrap_or_default(),
                    d.action_type.clone(),
                    d.initiating_process_file_name.clone().unwrap_or_default(),
                    d.initiating_process_sha1.clone().unwrap_or_default(),
                    d.local_ip.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let header = [
            "machineId",
            "computerDnsName",
            "lastSeen",
            "connections",
            "remotePort",
            "protocol",
            "actionType",
            "initiatingProcessFileName",
            "initiatingProcessSha1",
            "localIp",
        ];
        to_csv(&header, &rows)
    });
    let json = Callback::new(move |()| serde_json::to_string_pretty(&shown.get_untracked()).unwrap_or_default());
    let cap_note = (total > listed as u64).then(|| {
        format!("{total} devices connected in {period}; the {listed} with the most recent connections are listed.")
    });
    let config = use_config();
    view! {
        <div class="toolbar">
            <label class="filter">
                "Filter devices "
                <input
                    id="device-filter"
                    type="search"
                    placeholder="Device name, file or date (2026-11-24)"
                    autocomplete="off"
                    prop:value=move || query.get().unwrap_or_default()
                    on:input=move |ev| update(&[("q", Some(event_target_value(&ev)))])
                />
            </label>
            <ExportButtons name=export_name csv json />
        </div>
        {cap_note.map(|n| view! { <p class="note cap-note">{n}</p> })}
        <p class="count" aria-live="polite">
            {move || {
                let n = shown.read().len();
                if n == listed { format!("{listed} device{}", if listed == 1 { "" } else { "s" }) } else { format!("{n} of {listed} devices match") }
            }}
        </p>
        <div class="table-wrap">
            <table class="devices">
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"Connections"</th>
                        <th scope="col">"Remote port"</th>
                        <th scope="col">"Protocol"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Initiating process"</th>
                        <th scope="col">"SHA1"</th>
                        <th scope="col">"Local IP"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || shown.get() key=|d| d.machine_id.clone() let:device>
                        <DeviceRow device config=config.clone() />
                    </For>
                </tbody>
            </table>
        </div>
        <Show when=move || shown.read().is_empty()>
            <p class="empty">"No device matches the filter."</p>
        </Show>
    }
    .into_any()
}

#[component]
fn DeviceRow(device: ObservedDevice, config: Config) -> impl IntoView {
    let href = config.link(&format!("machines/{}", encode(&device.machine_id)));
    let name = device.computer_dns_name.clone();
    let sha1 = device.initiating_process_sha1.clone();
    view! {
        <tr>
            <td class="device">
                <A href=href>{device.computer_dns_name.clone()}</A>
                <CopyButton value=name what="device name" />
            </td>
            <td>
                <Time at=Some(device.last_seen) />
            </td>
            <td class="num">{device.connections.to_string()}</td>
            <td class="num">{device.remote_port.to_string()}</td>
            <td>{device.protocol.clone().unwrap_or_default()}</td>
            <td>{device.action_type.clone()}</td>
            <td>{device.initiating_process_file_name.clone().unwrap_or_default()}</td>
            <td class="hash">
                {sha1.map(|h| view! { <code>{h.clone()}</code> <CopyButton value=h what="SHA1" /> })}
            </td>
            <td>{device.local_ip.clone().unwrap_or_default()}</td>
        </tr>
    }
}
