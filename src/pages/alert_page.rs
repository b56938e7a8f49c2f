//! `/alerts/{id}`: an alert's details and evidence, and the IPs related to it, each a link to its IP page.

use std::rc::Rc;

use ipscope_api::wire::Alert;
use leptos::prelude::*;

use crate::api::use_api;
use crate::components::related_alerts::severity_class;
use crate::components::section::Section;
use crate::components::time::Time;
use crate::pages::set_title;
use crate::resource::ApiResource;
use crate::routes::{ip_href_text, machine_href};

/// The alert page.
#[component]
pub fn AlertPage(
    /// The alert id from the URL (decoded).
    id: String,
) -> impl IntoView {
    let id = StoredValue::new(id);
    let api = use_api();
    let alert = ApiResource::new(move || api.alert(id.get_value()));
    let ips = ApiResource::new(move || api.alert_ips(id.get_value()));
    set_title("Alert — ipscope");
    view! {
        <div class="alert-page">
            <h1 class="alert-title">
                {move || match alert.get() {
                    Some(Ok(a)) => a.title.clone(),
                    _ => "Alert".to_string(),
                }}
            </h1>
            <Section id="alert-heading" title="Alert details" loading="Loading alert…" resource=alert render=|a| view! { <AlertDetails alert=a /> } />
            <Section id="alert-ips-heading" title="IPs related to this alert" loading="Loading IPs…" resource=ips render=|ips| view! { <RelatedIps ips /> } />
        </div>
    }
}

#[component]
fn AlertDetails(alert: Rc<Alert>) -> impl IntoView {
    set_title(&format!("{} — ipscope", alert.title));
    let device = alert.machine_id.as_deref().map(|id| {
        let name = alert.computer_dns_name.clone().unwrap_or_else(|| id.to_string());
        view! { <a href=machine_href(id)>{name}</a> }
    });
    let text = |v: Option<String>| v.unwrap_or_else(|| "not available".into());
    let evidence = alert
        .evidence
        .iter()
        .map(|e| {
            let detail = [
                e.ip_address.clone(),
                e.url.clone(),
                e.file_name.clone(),
                e.sha1.clone(),
                e.process_command_line.clone(),
                e.account_name.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            view! { <li><strong>{e.entity_type.clone()}</strong>" "{detail}</li> }
        })
        .collect_view();
    view! {
        <dl class="facts">
            <dt>"Severity"</dt><dd class=severity_class(alert.severity)>{alert.severity.as_str()}</dd>
            <dt>"Status"</dt><dd>{alert.status.as_str()}</dd>
            <dt>"Category"</dt><dd>{text(alert.category.clone())}</dd>
            <dt>"Detection source"</dt><dd>{text(alert.detection_source.clone())}</dd>
            <dt>"Device"</dt><dd>{device}</dd>
            <dt>"Created"</dt><dd><Time at=Some(alert.alert_creation_time) /></dd>
            <dt>"First activity"</dt><dd><Time at=alert.first_event_time /></dd>
            <dt>"Last activity"</dt><dd><Time at=alert.last_event_time /></dd>
        </dl>
        <p class="description">{text(alert.description.clone())}</p>
        <h3>"Evidence"</h3>
        <ul class="evidence">{evidence}</ul>
    }
}

#[component]
fn RelatedIps(ips: Rc<Vec<String>>) -> impl IntoView {
    if ips.is_empty() {
        return view! { <p class="empty">"The alert's evidence names no IP address."</p> }.into_any();
    }
    view! {
        <ul class="ip-list">
            {ips.iter().map(|ip| view! { <li><a href=ip_href_text(ip)>{ip.clone()}</a></li> }).collect_view()}
        </ul>
    }
    .into_any()
}
