//! Buttons that copy a value (an IP, a hash, a device name) to the clipboard. A table's many copy buttons are plain
//! markup (`copy_button_markup`) sharing one click handler on the table (`copy_clicked`): no state per row.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Copies `value`; says "Copied" for two seconds, or why it could not.
#[component]
pub fn CopyButton(
    /// The text to copy.
    value: String,
    /// What is copied, for screen readers ("IP address", "SHA1").
    what: &'static str,
) -> impl IntoView {
    view! { <span class="copy-one" on:click=copy_clicked>{copy_button_markup(value, what)}</span> }
}

/// A copy button without a handler of its own: some ancestor's `on:click=copy_clicked` does the copying.
pub fn copy_button_markup(value: String, what: &'static str) -> impl IntoView {
    let label = format!("Copy {what}");
    view! {
        <button type="button" class="copy" data-copy=value title=label.clone() aria-label=label>
            "Copy"
        </button>
    }
}

/// The click handler shared by every copy button below the element it is on: copies the clicked button's
/// `data-copy` and says "Copied" (or "Copy failed") on it for two seconds.
pub fn copy_clicked(ev: leptos::ev::MouseEvent) {
    let button = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("button[data-copy]").ok().flatten());
    let Some(button) = button else { return };
    let value = button.get_attribute("data-copy").unwrap_or_default();
    let promise = window().navigator().clipboard().write_text(&value);
    wasm_bindgen_futures::spawn_local(async move {
        let done = wasm_bindgen_futures::JsFuture::from(promise).await;
        button.set_text_content(Some(if done.is_ok() { "Copied" } else { "Copy failed" }));
        set_timeout(move || button.set_text_content(Some("Copy")), std::time::Duration::from_secs(2));
    });
}
