//! Light, dark, or the system's theme: stored in the browser and applied as `data-theme` on `<html>`.

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

/// Applies the theme asked for by the first URL (`?theme=dark`, for a dashboard embedding the app),
/// else the stored one; call once at start-up.
pub fn apply_initial_theme() {
    let search = window().location().search().unwrap_or_default();
    let asked = web_sys::UrlSearchParams::new_with_str(&search).ok().and_then(|p| p.get("theme"));
    match asked.filter(|t| t == "light" || t == "dark") {
        Some(theme) => apply(&theme),
        None => {
            if let Some(theme) = storage().and_then(|s| s.get_item(KEY).ok().flatten()) {
                apply(&theme);
            }
        }
    }
}

/// A select with System / Light / Dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let current = storage().and_then(|s| s.get_item(KEY).ok().flatten()).unwrap_or_else(|| "system".into());
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
