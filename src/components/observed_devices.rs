//! "IP observed in organization": devices with their last connection, the timeline search box, export.

use std::rc::Rc;

use ipscope_api::export::devices_csv;
use ipscope_api::filter::{device_matches, filter_devices};
use ipscope_api::wire::{ObservedDevice, ObservedDevices as Devices};
use leptos::prelude::*;

use crate::components::copy_button::{copy_button_markup, copy_clicked};
use crate::components::export_buttons::ExportButtons;
use crate::components::time::Time;
use crate::routes::machine_href;
use crate::url_state::{use_query_param, use_query_updater};

/// The devices table, filtered as you type by the `q` URL parameter.
#[component]
pub fn ObservedDevices(
    /// The API's answer for the period.
    devices: Rc<Devices>,
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
    // The rows are drawn once; the filter only hides and shows them (one effect over the table, no state per row),
    // as a hand-written page would.
    let all = StoredValue::new_local(devices);
    let shown = Memo::new(move |_| {
        let q = query.get().unwrap_or_default();
        all.with_value(|d| d.value.iter().map(|d| device_matches(d, &q)).collect::<Vec<_>>())
    });
    // Which rows the filter in the URL shows, for drawing them: the effect below reads the same memo unchanged.
    let first = shown.get_untracked();
    let rows: Vec<_> =
        all.with_value(|d| d.value.iter().zip(first.iter().copied()).map(|(d, s)| device_row(d, s)).collect());
    let body = NodeRef::<leptos::html::Tbody>::new();
    // Which rows are shown now: the effect touches only the rows whose state changes (none when it first runs).
    let drawn = StoredValue::new(first);
    Effect::new(move || {
        let (Some(body), shown) = (body.get(), shown.read()) else { return };
        drawn.update_value(|drawn| {
            let rows = body.children();
            for (i, (now, was)) in shown.iter().zip(drawn.iter_mut()).enumerate() {
                if now != was {
                    if let Some(row) = rows.item(i as u32) {
                        let _ = row.toggle_attribute_with_force("hidden", !now);
                    }
                    *was = *now;
                }
            }
        });
    });
    let filtered = move |act: &dyn Fn(Vec<&ObservedDevice>) -> String| {
        let q = query.get_untracked().unwrap_or_default();
        all.with_value(|d| act(filter_devices(&d.value, &q)))
    };
    let csv = Callback::new(move |()| filtered(&|devices| devices_csv(devices)));
    let json = Callback::new(move |()| filtered(&|devices| ipscope_api::json::to_string_pretty(&devices)));
    let cap_note = (total > listed as u64).then(|| {
        format!("{total} devices connected in {period}; the {listed} with the most recent connections are listed.")
    });
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
                let n = shown.read().iter().filter(|s| **s).count();
                if n == listed { format!("{listed} device{}", if listed == 1 { "" } else { "s" }) } else { format!("{n} of {listed} devices match") }
            }}
        </p>
        // At most 100 rows, in a box of bounded height with the header kept in view: the page stays short.
        <div class="table-wrap bounded" on:click=copy_clicked>
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
                <tbody node_ref=body>{rows}</tbody>
            </table>
        </div>
        {move || (!shown.read().contains(&true)).then(|| view! { <p class="empty">"No device matches the filter."</p> })}
    }
    .into_any()
}

/// One device: plain markup, no state of its own (its copy buttons use the table's handler); `hidden` unless
/// `shown`.
fn device_row(device: &ObservedDevice, shown: bool) -> impl IntoView {
    let href = machine_href(&device.machine_id);
    let (name, sha1) = (device.computer_dns_name.clone(), device.initiating_process_sha1.clone());
    view! {
        <tr hidden=!shown>
            <td class="device">
                <a href=href>{name.clone()}</a>
                {copy_button_markup(name, "device name")}
            </td>
            <td>
                <Time at=Some(device.last_seen) />
            </td>
            <td class="num">{device.connections.to_string()}</td>
            <td class="num">{device.remote_port.to_string()}</td>
            <td>{device.protocol.clone().unwrap_or_default()}</td>
            <td>{device.action_type.clone()}</td>
            <td>{device.initiating_process_file_name.clone().unwrap_or_default()}</td>
            <td class="hash">{sha1.map(|h| view! { <code>{h.clone()}</code> {copy_button_markup(h, "SHA1")} })}</td>
            <td>{device.local_ip.clone().unwrap_or_default()}</td>
        </tr>
    }
}
