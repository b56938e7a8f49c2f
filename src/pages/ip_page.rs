//! `/ips/{ip}`: everything known about one address, each section loading on its own.

use std::net::IpAddr;

use ipscope_api::ip::{classify, parse_ip_input};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::use_api;
use crate::components::error_notice::ErrorNotice;
use crate::components::related_alerts::RelatedAlerts;
use crate::pages::set_title;

/// The IP page. An address that does not parse gets a message and no request.
#[component]
pub fn IpPage() -> impl IntoView {
    let params = use_params_map();
    let raw = Memo::new(move |_| params.read().get("ip").unwrap_or_default());
    move || match parse_ip_input(&raw.get()) {
        Ok(ip) => view! { <IpInvestigation ip /> }.into_any(),
        Err(e) => {
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

/// The sections for a valid address.
#[component]
fn IpInvestigation(
    /// The address investigated.
    ip: IpAddr,
) -> impl IntoView {
    set_title(&format!("{ip} — ipscope"));
    let api = use_api();
    let alerts = LocalResource::new(move || {
        let api = api.clone();
        async move { api.ip_alerts(ip).await }
    });
    let class = classify(ip);
    view! {
        <div class="ip-page">
            <header class="ip-header">
                <h1>
                    <span class="label">"IP address "</span>
                    <span class="ip">{ip.to_string()}</span>
                </h1>
                <p class="address-class" data-public=class.is_public().to_string()>
                    {if class.is_public() {
                        "Public address".to_string()
                    } else {
                        format!("{}: not a public internet address", class.label())
                    }}
                </p>
            </header>
            <section class="panel" aria-labelledby="alerts-heading">
                <h2 id="alerts-heading">"Alerts related to this IP"</h2>
                <Suspense fallback=|| view! { <p class="loading" role="status">"Loading alerts…"</p> }>
                    {move || Suspend::new(async move {
                        match alerts.await {
                            Ok(alerts) => view! { <RelatedAlerts alerts /> }.into_any(),
                            Err(error) => {
                                view! { <ErrorNotice error retry=move || alerts.refetch() /> }.into_any()
                            }
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}
