//! The alerts table: sortable columns (`aria-sort`), severity and status filters kept in the URL, export.

use std::rc::Rc;

use ipscope_api::export::alerts_csv;
use ipscope_api::filter::{view_alerts, AlertColumn, AlertView};
use ipscope_api::wire::{Alert, AlertStatus, Severity};
use leptos::prelude::*;

use crate::components::export_buttons::ExportButtons;
use crate::components::time::Time;
use crate::routes::{alert_href, machine_href};
use crate::url_state::{use_query_href, use_query_param, use_query_updater};

/// The table view chosen in the URL (`?severity=High&status=New&sort=severity&dir=asc`).
fn use_alert_view() -> Memo<AlertView> {
    let [severity, status, sort, dir] = AlertView::URL_KEYS.map(use_query_param);
    Memo::new(move |_| {
        AlertView::from_url(
            severity.read().as_deref(),
            status.read().as_deref(),
            sort.read().as_deref(),
            dir.read().as_deref(),
        )
    })
}

/// Alerts, sortable and filterable; an empty state when there are none.
#[component]
pub fn RelatedAlerts(
    /// The alerts.
    alerts: Rc<Vec<Alert>>,
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
    let total = alerts.len();
    let alerts = StoredValue::new_local(alerts);
    // The alerts shown, as positions in `alerts`.
    let shown = Memo::new(move |_| {
        let v = view_state.get();
        alerts.with_value(|all| view_alerts(all, &v))
    });
    let each_shown = move |act: &dyn Fn(Vec<&Alert>) -> String| {
        alerts.with_value(|all| shown.with_untracked(|s| act(s.iter().map(|&i| &all[i]).collect())))
    };
    let csv = Callback::new(move |()| each_shown(&|shown| alerts_csv(shown)));
    let json = Callback::new(move |()| each_shown(&|shown| ipscope_api::json::to_string_pretty(&shown)));

    let select_update = update.clone();
    let on_filter = move |set: fn(&mut AlertView, &str)| {
        let update = select_update.clone();
        move |ev| {
            let mut view = view_state.get_untracked();
            set(&mut view, &event_target_value(&ev));
            update(&view.to_url())
        }
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
            let mut view = view_state.get_untracked();
            view.descending = if view.sort == column {
                !view.descending
            } else {
                !matches!(column, AlertColumn::Title | AlertColumn::Device)
            };
            view.sort = column;
            update(&view.to_url());
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
    view! {
        <div class="toolbar">
            <label>
                "Severity "
                <select on:change=on_filter(|v, s| v.severity = Severity::ALL.into_iter().find(|x| x.as_str() == s)) prop:value=move || view_state.get().severity.map(|s| s.as_str()).unwrap_or("")>
                    <option value="">"All"</option>
                    {Severity::ALL.iter().rev().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                </select>
            </label>
            <label>
                "Status "
                <select on:change=on_filter(|v, s| v.status = AlertStatus::ALL.into_iter().find(|x| x.as_str() == s)) prop:value=move || view_state.get().status.map(|s| s.as_str()).unwrap_or("")>
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
                // Sorting or filtering redraws the rows in place (each row's text and links updated), not keyed
                // by id: Leptos's keyed `For` cost 11 KB of the module for a table of a few dozen rows.
                <tbody>
                    {move || {
                        let shown = shown.get();
                        alerts.with_value(|all| shown.iter().map(|&i| alert_row(&all[i])).collect_view())
                    }}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The overview's alert counts, most severe first, each a link that filters the alerts table to that severity.
#[component]
pub fn AlertCounts(
    /// The alerts.
    alerts: Rc<Vec<Alert>>,
) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="empty">"No alerts."</p> }.into_any();
    }
    let view_state = use_alert_view();
    let href = use_query_href();
    let link = move |severity: Option<Severity>| {
        let href = href.clone();
        move || href(&AlertView { severity, ..view_state.get() }.to_url())
    };
    let counts = Severity::ALL.into_iter().rev().filter_map(|severity| {
        let n = alerts.iter().filter(|a| a.severity == severity).count();
        (n > 0).then(|| {
            let class = severity_class(severity);
            view! {
                <li>
                    <a href=link(Some(severity))>
                        <span class="n">{n.to_string()}</span>
                        " "
                        <span class=class>{severity.as_str()}</span>
                    </a>
                </li>
            }
        })
    });
    view! {
        <ul class="alert-counts">
            {counts.collect_view()}
            <li class="all">
                <a href=link(None)>{format!("All {} alert{}", alerts.len(), plural(alerts.len()))}</a>
            </li>
        </ul>
    }
    .into_any()
}

/// The classes that colour a severity (`severity severity-high`; style/main.css).
pub fn severity_class(severity: Severity) -> String {
    format!("severity severity-{}", severity.as_str().to_ascii_lowercase())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One alert: plain markup, no state of its own.
fn alert_row(alert: &Alert) -> impl IntoView {
    let device = alert
        .machine_id
        .as_deref()
        .map(|id| (machine_href(id), alert.computer_dns_name.clone().unwrap_or_else(|| id.to_string())));
    view! {
        <tr>
            <td>
                <a href=alert_href(&alert.id)>{alert.title.clone()}</a>
            </td>
            <td>
                <span class=severity_class(alert.severity)>
                    {alert.severity.as_str()}
                </span>
            </td>
            <td>{alert.status.as_str()}</td>
            <td>{alert.category.clone().unwrap_or_default()}</td>
            <td>{device.map(|(href, name)| view! { <a href=href>{name}</a> })}</td>
            <td>
                <Time at=alert.first_event_time.or(Some(alert.alert_creation_time)) />
            </td>
            <td>
                <Time at=alert.last_event_time />
            </td>
        </tr>
    }
}
