//! Light, dark, or the system's theme: stored in the browser and applied as `data-theme` on `<html>`. The page's
//! first script applies the stored one (or a dashboard's `?theme=`) before the app loads, so nothing flashes.

use leptos::prelude::*;

const KEY: &str = "ipscope-theme";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn apply(theme: &str) {
    if let Some(root) = document().document_element() {
        match theme {
            "light" | "dark" => {
                let _ = root.set_attribute("data-theme", theme);
            }
            _ => {
                let _ = root.remove_attribute("data-theme");
            }
        }
    }
}

/// A select with System / Light / Dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    // What is applied (index.html's script set it), without opening the browser's storage on the way to the page.
    // Rendered by the server, the system's; the app shows the analyst's choice when it takes over.
    #[cfg(target_arch = "wasm32")]
    let current = document()
        .document_element()
        .and_then(|root| root.get_attribute("data-theme"))
        .filter(|t| t == "light" || t == "dark")
        .unwrap_or_else(|| "system".into());
    #[cfg(not(target_arch = "wasm32"))]
    let current = String::from("system");
    let on_change = move |ev| {
        let theme = event_target_value(&ev);
        apply(&theme);
        if let Some(s) = storage() {
            let _ = if theme == "system" { s.remove_item(KEY) } else { s.set_item(KEY, &theme) };
        }
    };
    view! {
        <label class="theme">
            <span class="visually-hidden">"Theme"</span>
            <select on:change=on_change prop:value=current>
                <option value="system">"System theme"</option>
                <option value="light">"Light"</option>
                <option value="dark">"Dark"</option>
            </select>
        </label>
    }
}
