//! ipscope's web app: a Leptos single-page app for investigating one IP address at a time.

pub mod api;
pub mod app;
pub mod auth;
pub mod components;
pub mod config;
pub mod pages;
#[cfg(not(target_arch = "wasm32"))]
pub mod prerender;
pub mod resource;
pub mod router;
pub mod routes;
pub mod url_state;

/// Loads the runtime configuration, then mounts the app on `<body>`.
pub fn start() {
    // Leptos sets up its executor when mounting; until then, run on the browser's microtask queue.
    // For measurements (`cargo xtask bench`, the browser tests): when the module started running.
    if let Some(performance) = leptos::prelude::window().performance() {
        let _ = performance.mark("ipscope:start");
    }
    wasm_bindgen_futures::spawn_local(async {
        let config = config::set_global(config::load().await);
        auth::take_link_token();
        if config.auth.needs_token() && auth::token().is_none() && !auth::on_sign_in_page(config) {
            auth::sign_in_again(config, None);
            return;
        }
        // A dashboard framing the app may hand it a token; on the sign-in page, that is the sign-in.
        auth::accept_dashboard_tokens(config, move || {
            if auth::on_sign_in_page(config) {
                let search = leptos::prelude::window().location().search().unwrap_or_default();
                let next = web_sys::UrlSearchParams::new_with_str(&search).ok().and_then(|p| p.get("next"));
                auth::return_to(config, next.as_deref().unwrap_or("/"));
            }
        });
        let config = config.clone();
        // The IP page as the server drew it, if `index.html`'s script asked for it, is shown first.
        let window = leptos::prelude::window();
        if let Ok(drawing) = js_sys::Reflect::get(&window, &"ipscopeDrawing".into()) {
            if let Ok(drawing) = wasm_bindgen::JsCast::dyn_into::<js_sys::Promise>(drawing) {
                let _ = wasm_bindgen_futures::JsFuture::from(drawing).await;
            }
        }
        if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
            boot.remove();
        }
        leptos::mount::mount_to_body(move || {
            use leptos::prelude::*;
            view! { <app::App config=config.clone() /> }
        });
        // A page the server drew gives way when the app has drawn its own (the IP page, when its answers are in),
        // or after a while whatever happens.
        leptos::prelude::set_timeout(take_over, std::time::Duration::from_secs(3));
    });
}

/// Removes the page the server drew (`index.html`), showing the app's own in its place; marks the moment for
/// measurements. Does nothing once done, or when there was none.
pub fn take_over() {
    #[cfg(target_arch = "wasm32")]
    if let Some(drawn) = leptos::prelude::document().get_element_by_id("prerendered") {
        drawn.remove();
        if let Some(performance) = leptos::prelude::window().performance() {
            let _ = performance.mark("ipscope:taken-over");
        }
    }
}
