//! A small button that copies a value (an IP, a hash, a device name) to the clipboard.

use leptos::prelude::*;

/// Copies `value`; says "Copied" for two seconds, or why it could not.
#[component]
pub fn CopyButton(
    /// The text to copy.
    value: String,
    /// What is copied, for screen readers ("IP address", "SHA1").
    what: &'static str,
) -> impl IntoView {
    let state = RwSignal::new(None::<&'static str>);
    let label = format!("Copy {what}");
    let on_click = move |_| {
        let clipboard = window().navigator().clipboard();
        let promise = clipboard.write_text(&value);
        wasm_bindgen_futures::spawn_local(async move {
            let done = wasm_bindgen_futures::JsFuture::from(promise).await;
            state.set(Some(if done.is_ok() { "Copied" } else { "Copy failed" }));
            set_timeout(move || state.set(None), std::time::Duration::from_secs(2));
        });
    };
    view! {
        <button type="button" class="copy" title=label.clone() aria-label=label on:click=on_click>
            {move || state.get().unwrap_or("Copy")}
        </button>
    }
}
