//! "IP geo information": the nine fields of Defender's left pane, the address class, and the data's source.

use std::rc::Rc;

use ipscope_api::number::fixed;
use ipscope_api::wire::{GeoInfo as Geo, IpProfile};
use leptos::prelude::*;

const NOT_AVAILABLE: &str = "not available";

/// The geolocation fields of a profile; "not available" where the data has nothing.
#[component]
pub fn GeoInfo(
    /// The address's profile.
    profile: Rc<IpProfile>,
) -> impl IntoView {
    let class = profile.address_class;
    let Geo { organization, asn, country_code, country, state, city, carrier, latitude, longitude, postal_code } =
        profile.geo.clone();
    let country = match (country, country_code) {
        (Some(name), Some(code)) => Some(format!("{name} ({code})")),
        (name, code) => name.or(code),
    };
    let coordinate = |v: Option<f64>| v.map(|v| fixed(v, 4));
    let fields: [(&str, Option<String>); 9] = [
        ("Organization (ISP)", organization),
        ("ASN", asn.map(|a| format!("AS{a}"))),
        ("Country", country),
        ("State", state),
        ("City", city),
        ("Carrier", carrier),
        ("Latitude", coordinate(latitude)),
        ("Longitude", coordinate(longitude)),
        ("Postal code", postal_code),
    ];
    let note = if class.is_public() {
        None
    } else {
        Some(format!("{} address: it is not on the public internet, so it has no geolocation.", class.label()))
    };
    let sources = profile.sources.clone();
    view! {
        <dl class="facts geo">
            <dt>"Address class"</dt>
            <dd data-field="Address class">{class.label()}</dd>
            {fields
                .into_iter()
                .map(|(label, value)| {
                    let missing = value.is_none();
                    view! {
                        <dt>{label}</dt>
                        <dd data-field=label class:missing=missing>
                            {value.unwrap_or_else(|| NOT_AVAILABLE.to_string())}
                        </dd>
                    }
                })
                .collect_view()}
        </dl>
        {note.map(|n| view! { <p class="note">{n}</p> })}
        <p class="attribution">
            {if sources.is_empty() {
                "No geolocation database is installed on the server.".into_any()
            } else {
                view! {
                    "Source: "
                    {sources
                        .into_iter()
                        .map(|s| {
                            let date = s.date.map(|d| format!(", {d}")).unwrap_or_default();
                            let label = format!("{} ({}{date})", s.name, s.license);
                            // Only plain https links from the API become links.
                            if s.url.starts_with("https://") {
                                view! { <a href=s.url rel="noopener noreferrer" target="_blank">{label}</a> " " }.into_any()
                            } else {
                                view! { <span>{label}</span> " " }.into_any()
                            }
                        })
                        .collect_view()}
                }
                    .into_any()
            }}
        </p>
    }
}
