//! The layout every page shares (header with search, main content, footer) and the page for the path.

use leptos::prelude::*;

use crate::components::account_menu::AccountMenu;
use crate::components::search_box::SearchBox;
use crate::components::theme_toggle::ThemeToggle;
use crate::config::{provide_config, Config};
use crate::pages::alert_page::AlertPage;
use crate::pages::device_page::DevicePage;
use crate::pages::home_page::HomePage;
use crate::pages::ip_page::IpPage;
use crate::pages::not_found_page::NotFoundPage;
use crate::pages::sign_in_callback_page::SignInCallbackPage;
use crate::pages::sign_in_page::SignInPage;
use crate::router::{provide_location, segments};
use crate::routes;

/// The whole app.
#[component]
pub fn App(
    /// Runtime configuration, loaded before mounting.
    config: Config,
) -> impl IntoView {
    provide_config(config.clone());
    // `/` focuses the search field, unless the analyst is typing somewhere.
    let shortcut = window_event_listener(leptos::ev::keydown, |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if ev.key() == "/" && !typing && !ev.ctrl_key() && !ev.meta_key() {
            let target =
                document().get_element_by_id("home-search").or_else(|| document().get_element_by_id("header-search"));
            if let Some(input) = target.and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el).ok()) {
                ev.prevent_default();
                let _ = input.focus();
            }
        }
    });
    on_cleanup(move || shortcut.remove());
    let location = provide_location(&config.base_path);
    // The page for the path: a new page (and its requests) when the path changes, not when only the query does.
    let page = move || {
        let segments = segments(&location.path.get());
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        match segments.as_slice() {
            [] => view! { <HomePage /> }.into_any(),
            [routes::IPS, ip] => view! { <IpPage raw=ip.to_string() /> }.into_any(),
            [routes::MACHINES, id] => view! { <DevicePage id=id.to_string() /> }.into_any(),
            [routes::ALERTS, id] => view! { <AlertPage id=id.to_string() /> }.into_any(),
            [routes::SIGN_IN] => view! { <SignInPage /> }.into_any(),
            [routes::SIGN_IN_CALLBACK] => view! { <SignInCallbackPage /> }.into_any(),
            _ => view! { <NotFoundPage /> }.into_any(),
        }
    };
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        {(!config.embed)
            .then(|| {
                view! {
                    <header class="app-header">
                        <a href=routes::home_href() class="brand">
                            "ipscope"
                        </a>
                        <SearchBox id="header-search" />
                        <ThemeToggle />
                        <AccountMenu />
                    </header>
                }
            })}
        {config.load_error.clone().map(|e| view! { <p class="config-warning" role="status">{e}</p> })}
        <main id="main" tabindex="-1">
            {page}
        </main>
        {(!config.embed)
            .then(|| {
                view! {
                    <footer class="app-footer">
                        <p>"ipscope — IP investigation for security analysts. Press / to search."</p>
                    </footer>
                }
            })}
    }
}
