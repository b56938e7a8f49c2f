//! The IP search field: suggestions of observed addresses as you type, keyboard selection, and input
//! normalisation (defanged and pasted forms) with an inline message and no request for anything else.

use std::time::Duration;

use ipscope_api::ip::{parse_ip_input, suggestion_prefix};
use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;

use crate::api::use_api;
use crate::router::use_location;
use crate::routes::ip_route;

/// Delay after the last keystroke before suggestions are asked for.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// A search form that opens the IP page for a valid address and explains an invalid one without a request.
#[component]
pub fn SearchBox(
    /// Element id of the input (each search field on a page needs its own).
    id: &'static str,
    /// The big variant of the home page.
    #[prop(optional)]
    large: bool,
) -> impl IntoView {
    let api = use_api();
    let location = use_location();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let suggestions = RwSignal::new(Vec::<String>::new());
    let active = RwSignal::new(None::<usize>);
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let error_id = format!("{id}-error");
    let list_id = format!("{id}-suggestions");
    let option_id = move |i: usize| format!("{id}-option-{i}");

    let open = move |raw: &str| match parse_ip_input(raw) {
        Ok(ip) => {
            error.set(None);
            suggestions.set(Vec::new());
            active.set(None);
            text.set(ip.to_string());
            location.navigate(&ip_route(ip), false);
        }
        Err(e) => error.set(Some(e.to_string())),
    };
    let on_input = move |ev| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        error.set(None);
        active.set(None);
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let Some(prefix) = suggestion_prefix(&value) else {
            suggestions.set(Vec::new());
            return;
        };
        let handle = set_timeout_with_handle(
            move || {
                wasm_bindgen_futures::spawn_local(async move {
                    // A failed suggestion request only means no suggestions; the search itself still works.
                    let found = api.suggest_ips(&prefix).send().await.unwrap_or_default();
                    if suggestion_prefix(&text.get_untracked()).as_deref() == Some(prefix.as_str()) {
                        suggestions.set(found);
                    }
                });
            },
            DEBOUNCE,
        );
        pending.set_value(handle.ok());
    };
    let on_keydown = {
        move |ev: KeyboardEvent| {
            let n = suggestions.with_untracked(Vec::len);
            match ev.key().as_str() {
                "ArrowDown" if n > 0 => {
                    ev.prevent_default();
                    active.set(Some(active.get_untracked().map_or(0, |i| (i + 1) % n)));
                }
                "ArrowUp" if n > 0 => {
                    ev.prevent_default();
                    active.set(Some(active.get_untracked().map_or(n - 1, |i| (i + n - 1) % n)));
                }
                "Escape" => {
                    suggestions.set(Vec::new());
                    active.set(None);
                }
                "Enter" => {
                    if let Some(choice) =
                        active.get_untracked().and_then(|i| suggestions.with_untracked(|s| s.get(i).cloned()))
                    {
                        ev.prevent_default();
                        open(&choice);
                    }
                }
                _ => {}
            }
        }
    };
    let on_submit = {
        move |ev: SubmitEvent| {
            ev.prevent_default();
            open(&text.get_untracked());
        }
    };
    let expanded = move || !suggestions.read().is_empty();
    view! {
        <form class="search" class:search-large=large role="search" on:submit=on_submit novalidate>
            <label for=id>"Search IP address"</label>
            <div class="search-row">
                <div class="combo">
                    <input
                        id=id
                        name="ip"
                        type="search"
                        role="combobox"
                        placeholder="e.g. 203.0.113.66 or 2001:db8::1"
                        autocomplete="off"
                        spellcheck="false"
                        aria-autocomplete="list"
                        aria-controls=list_id.clone()
                        aria-expanded=move || expanded().to_string()
                        aria-activedescendant=move || active.get().map(option_id)
                        prop:value=move || text.get()
                        on:input=on_input
                        on:keydown=on_keydown
                        on:blur=move |_| set_timeout(move || suggestions.set(Vec::new()), Duration::from_millis(200))
                        aria-invalid=move || error.with(|e| e.is_some().to_string())
                        aria-describedby=error_id.clone()
                    />
                    <ul id=list_id class="suggestions" role="listbox" aria-label="Observed IP addresses" hidden=move || !expanded()>
                        {move || {
                            suggestions
                                .get()
                                .into_iter()
                                .enumerate()
                                .map(|(i, ip)| {
                                    let chosen = ip.clone();
                                    view! {
                                        <li
                                            id=option_id(i)
                                            role="option"
                                            aria-selected=move || (active.get() == Some(i)).to_string()
                                            on:mousedown=move |ev| {
                                                ev.prevent_default();
                                                open(&chosen);
                                            }
                                        >
                                            {ip}
                                        </li>
                                    }
                                })
                                .collect_view()
                        }}
                    </ul>
                </div>
                <button type="submit">"Investigate"</button>
            </div>
            <p class="input-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </form>
    }
}
