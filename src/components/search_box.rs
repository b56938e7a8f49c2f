//! The IP search field: normalises pasted and defanged input, refuses anything else inline.

use ipscope_api::ip::parse_ip_input;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::config::use_config;

/// A search form that opens the IP page for a valid address and explains an invalid one without a request.
#[component]
pub fn SearchBox(
    /// Element id of the input (each search field on a page needs its own).
    id: &'static str,
    /// The big variant of the home page.
    #[prop(optional)]
    large: bool,
) -> impl IntoView {
    let config = use_config();
    let navigate = use_navigate();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let error_id = format!("{id}-error");
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match parse_ip_input(&text.get_untracked()) {
            Ok(ip) => {
                error.set(None);
                navigate(&config.route(&format!("ips/{ip}")), Default::default());
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <form class="search" class:search-large=large role="search" on:submit=on_submit novalidate>
            <label for=id>"Search IP address"</label>
            <div class="search-row">
                <input
                    id=id
                    name="ip"
                    type="search"
                    placeholder="e.g. 203.0.113.66 or 2001:db8::1"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        error.set(None);
                    }
                    aria-invalid=move || error.with(|e| e.is_some().to_string())
                    aria-describedby=error_id.clone()
                />
                <button type="submit">"Investigate"</button>
            </div>
            <p class="input-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </form>
    }
}
