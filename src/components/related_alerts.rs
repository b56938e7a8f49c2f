//! The alerts table: sortable columns (`aria-sort`), severity and status filters kept in the URL, export.

use ipscope_api::export::to_csv;
use ipscope_api::filter::{view_alerts, AlertColumn, AlertView};
use ipscope_api::time::rfc3339;
use ipscope_api::wire::{Alert, AlertStatus, Severity};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::encode;
use crate::components::export_buttons::ExportButtons;
use crate::components::time::Time;
use crate::config::use_config;
use crate::url_state::{use_query_param, use_query_updater};

/// The table view chosen in the URL (`?severity=High&status=New&sort=severity&dir=asc`).
fn use_alert_view() -> Memo<AlertView> {
    let (severity, status, sort, dir) =
        (use_query_param("severity"), use_query_param("status"), use_query_param("sort"), use_query_param("dir"));
    Memo::new(move |_| {
        let default = AlertView::default();
        AlertView {
            sort: sort.get().as_deref().and_then(AlertColumn::from_token).unwrap_or(default.sort),
            descending: dir.get().as_deref() != Some("asc"),
            severity: severity.get().and_then(|s| Severity::ALL.into_iter().find(|x| x.as_str() == s)),
            status: status.get().and_then(|s| AlertStatus::ALL.into_iter().find(|x| x.as_str() == s)),
        }
    })
}

/// Alerts, sortable and filterable; an empty state when there are none.
#[component]
pub fn RelatedAlerts(
    /// The alerts.
    alerts: Vec<Alert>,
    /// What the alerts relate to, for the empty state and export file names ("this IP address", "this device").
    subject: String,
    /// Export file name stem.
    export_name: String,
) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="empty">{format!("No alerts mention {subject}.")}</p> }.into_any();
    }
    let view_state = use_alert_view();
    let update = use_query_updater();
    let alerts = StoredValue::new(alerts);
    let shown = Memo::new(move |_| {
        let v = view_state.get();
        alerts.with_value(|all| view_alerts(all, &v).into_iter().cloned().collect::<Vec<_>>())
    });
    let total = alerts.with_value(Vec::len);
    let csv = Callback::new(move |()| {
        let rows: Vec<Vec<String>> = shown
            .get_untracked()
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    a.title.clone(),
                    a.severity.as_str().into(),
                    a.status.as_str().into(),
                    a.category.clone().unwrap_or_default(),
                    a.computer_dns_name.clone().unwrap_or_default(),
                    a.first_event_time.map(rfc3339).unwrap_or_default(),
                    a.last_event_time.map(rfc3339).unwrap_or_default(),
                ]
            })
            .collect();
        to_csv(&["id", "title", "severity", "status", "category", "device", "firstActivity", "lastActivity"], &rows)
    });
    let json = Callback::new(move |()| serde_json::to_string_pretty(&shown.get_untracked()).unwrap_or_default());

    let select_update = update.clone();
    let on_filter = move |key: &'static str| {
        let update = select_update.clone();
        move |ev| update(&[(key, Some(event_target_value(&ev)))])
    };
    let header = move |column: AlertColumn, label: &'static str| {
        let update = update.clone();
        let sort = move || {
            let v = view_state.get();
            match (v.sort == column, v.descending) {
                (false, _) => "none",
                (true, true) => "descending",
                (true, false) => "ascending",
            }
        };
        let on_click = move |_| {
            let v = view_state.get_untracked();
            let descending = if v.sort == column {
                !v.descending
            } else {
                !matches!(column, AlertColumn::Title | AlertColumn::Device)
            };
            update(&[
                ("sort", Some(column.token().into())),
                ("dir", Some(if descending { "desc" } else { "asc" }.into())),
            ]);
        };
        view! {
            <th scope="col" aria-sort=sort>
                <button type="button" class="sort" on:click=on_click>
                    {label}
                    <span class="sort-mark" aria-hidden="true">
                        {move || match sort() {
                            "descending" => "▼",
                            "ascending" => "▲",
                            _ => "",
                        }}
                    </span>
                </button>
            </th>
        }
    };
    let config = use_config();
    view! {
        <div class="toolbar">
            <label>
                "Severity "
                <select on:change=on_filter("severity") prop:value=move || view_state.get().severity.map(|s| s.as_str()).unwrap_or("")>
                    <option value="">"All"</option>
                    {Severity::ALL.iter().rev().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label>
                "Status "
                <select on:change=on_filter("status") prop:value=move || view_state.get().status.map(|s| s.as_str()).unwrap_or("")>
                    <option value="">"All"</option>
                    {AlertStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <ExportButtons name=export_name csv json />
        </div>
        <p class="count" aria-live="polite">
            {move || {
                let n = shown.read().len();
                if n == total { format!("{total} alert{}", plural(total)) } else { format!("{n} of {total} alerts") }
            }}
        </p>
        <div class="table-wrap">
            <table class="alerts">
                <thead>
                    <tr>
                        {header(AlertColumn::Title, "Title")}
                        {header(AlertColumn::Severity, "Severity")}
                        {header(AlertColumn::Status, "Status")}
                        <th scope="col">"Category"</th>
                        {header(AlertColumn::Device, "Device")}
                        {header(AlertColumn::FirstActivity, "First activity")}
                        {header(AlertColumn::LastActivity, "Last activity")}
                    </tr>
                </thead>
                <tbody>
                    <For each=move || shown.get() key=|a| a.id.clone() let:alert>
                        <AlertRow alert config=config.clone() />
                    </For>
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[component]
fn AlertRow(alert: Alert, config: crate::config::Config) -> impl IntoView {
    let alert_href = config.link(&format!("alerts/{}", encode(&alert.id)));
    let device = alert.machine_id.clone().map(|id| {
        let name = alert.computer_dns_name.clone().unwrap_or_else(|| id.clone());
        (config.link(&format!("machines/{}", encode(&id))), name)
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
            <td>{device.map(|(href, name)| view! { <A href=href>{name}</A> })}</td>
            <td>
                <Time at=alert.first_event_time.or(Some(alert.alert_creation_time)) />
            </td>
            <td>
                <Time at=alert.last_event_time />
            </td>
        </tr>
    }
}
