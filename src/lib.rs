//! ipscope's web app: a Leptos single-page app for investigating one IP address at a time.

pub mod api;
pub mod app;
pub mod components;
pub mod config;
pub mod pages;
pub mod url_state;

/// Loads the runtime configuration, then mounts the app on `<body>`.
pub fn start() {
    // Leptos sets up its executor when mounting; until then, run on the browser's microtask queue.
    wasm_bindgen_futures::spawn_local(async {
        components::theme_toggle::apply_initial_theme();
        let config = config::load().await;
        leptos::mount::mount_to_body(move || {
            use leptos::prelude::*;
            view! { <app::App config=config.clone() /> }
        });
    });
}
