//! `/ips/{ip}`: everything known about one address: an overview (alerts by severity, prevalence, geo information),
//! then the alerts and devices tables. Each section loads on its own; the period is in the URL.

use std::net::IpAddr;

use ipscope_api::ip::{classify, parse_ip_input};
use ipscope_api::period::PeriodChoice;
use leptos::prelude::*;

use crate::api::use_api;
use crate::components::copy_button::CopyButton;
use crate::components::geo_info::GeoInfo;
use crate::components::observed_devices::ObservedDevices;
use crate::components::prevalence_panel::{PeriodPicker, PrevalencePanel};
use crate::components::related_alerts::{AlertCounts, RelatedAlerts};
use crate::components::section::Section;
use crate::pages::set_title;
use crate::resource::ApiResource;
use crate::url_state::use_query_param;

/// The IP page. An address that does not parse gets a message and no request.
#[component]
pub fn IpPage(
    /// The address as the URL has it (decoded).
    raw: String,
) -> impl IntoView {
    match parse_ip_input(&raw) {
        Ok(ip) => view! { <IpInvestigation ip /> }.into_any(),
        Err(e) => {
            Effect::new(crate::take_over);
            set_title("Invalid IP address — ipscope");
            view! {
                <div class="invalid-ip">
                    <h1>"Invalid IP address"</h1>
                    <p class="input-error" role="alert">{e.to_string()}</p>
                </div>
            }
            .into_any()
        }
    }
}

/// The period chosen in the URL, and why the URL's period was ignored if it was.
fn use_period() -> (Signal<PeriodChoice>, Signal<Option<String>>) {
    let (period, from, to) = (use_query_param("period"), use_query_param("from"), use_query_param("to"));
    let parsed =
        Memo::new(move |_| PeriodChoice::from_url(period.get().as_deref(), from.get().as_deref(), to.get().as_deref()));
    let choice = Signal::derive(move || parsed.get().unwrap_or_default());
    let problem = Signal::derive(move || {
        parsed.get().err().map(|e| format!("The period in this link was ignored ({e}); showing the last 30 days."))
    });
    (choice, problem)
}

/// The four sections for a valid address.
#[component]
fn IpInvestigation(
    /// The address investigated.
    ip: IpAddr,
) -> impl IntoView {
    set_title(&format!("{ip} — ipscope"));
    let api = use_api();
    let (period, period_problem) = use_period();
    let profile = ApiResource::new(move || api.ip_profile(ip));
    let alerts = ApiResource::new(move || api.ip_alerts(ip));
    let devices = ApiResource::new(move || api.ip_devices(ip, period.get()));
    let prevalence = ApiResource::new(move || api.ip_prevalence(ip, period.get()));
    // The page as the server drew it (if it did) gives way once every section has its answer, or the page is left.
    Effect::new(move || {
        if profile.get().is_some() && alerts.get().is_some() && devices.get().is_some() && prevalence.get().is_some() {
            crate::take_over();
        }
    });
    on_cleanup(crate::take_over);
    let describe = move || period.get().describe();
    let class = classify(ip);
    let export_name = format!("alerts-{}", ip.to_string().replace(':', "_"));
    view! {
        <div class="ip-page">
            <header class="ip-header">
                <h1>
                    <span class="label">"IP address "</span>
                    <span class="ip">{ip.to_string()}</span>
                </h1>
                <CopyButton value=ip.to_string() what="IP address" />
                <p class="address-class" data-public=class.is_public().to_string()>
                    {if class.is_public() {
                        "Public address".to_string()
                    } else {
                        format!("{}: not a public internet address", class.label())
                    }}
                </p>
                <NeverObserved ip prevalence period=Signal::derive(describe) />
            </header>
            // An overview first, as Defender's IP page has it; then the tables, the devices one of bounded height.
            <div class="period-bar">
                <PeriodPicker current=period />
                {move || period_problem.get().map(|p| view! { <p class="note" role="status">{p}</p> })}
            </div>
            <div class="overview">
                <Section id="alert-counts-heading" title="Alerts by severity" loading="Loading alerts…" resource=alerts render=|alerts| view! { <AlertCounts alerts /> } />
                <Section
                    id="prevalence-heading"
                    title="Prevalence"
                    loading="Loading prevalence…"
                    resource=prevalence
                    render=move |prevalence| view! { <PrevalencePanel prevalence period=describe() /> }
                />
                <Section id="geo-heading" title="IP geo information" loading="Loading geo information…" resource=profile render=|profile| view! { <GeoInfo profile /> } />
            </div>
            <Section
                id="alerts-heading"
                title="Alerts related to this IP"
                loading="Loading alerts…"
                resource=alerts
                render=move |alerts| {
                    view! { <RelatedAlerts alerts subject="this IP address".to_string() export_name=export_name.clone() /> }
                }
            />
            <Section
                id="devices-heading"
                title="IP observed in organization"
                loading="Loading devices…"
                resource=devices
                render=move |devices| view! { <ObservedDevices devices period=describe() /> }
            />
        </div>
    }
}

/// The statement Defender's note calls for: this address was not seen talking to the organization's devices.
#[component]
fn NeverObserved(
    ip: IpAddr,
    prevalence: ApiResource<ipscope_api::wire::Prevalence>,
    period: Signal<String>,
) -> impl IntoView {
    move || {
        let unseen = matches!(prevalence.get(), Some(Ok(p)) if p.organization_prevalence == 0);
        unseen.then(|| {
            view! {
                <p class="never-observed" role="status">
                    {format!("{ip} was not observed in communication with devices in the organization in {}.", period.get())}
                </p>
            }
        })
    }
}
