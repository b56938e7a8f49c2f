//! The router and the layout every page shares: header with search, main content, footer.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

use crate::components::search_box::SearchBox;
use crate::config::{provide_config, Config};
use crate::pages::home_page::HomePage;
use crate::pages::ip_page::IpPage;
use crate::pages::not_found_page::NotFoundPage;

/// The whole app.
#[component]
pub fn App(
    /// Runtime configuration, loaded before mounting.
    config: Config,
) -> impl IntoView {
    provide_config(config.clone());
    let home = config.route("");
    view! {
        <Router base=config.base_path.clone()>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="app-header">
                <A href=home attr:class="brand">
                    "ipscope"
                </A>
                <SearchBox id="header-search" />
            </header>
            {config.load_error.clone().map(|e| view! { <p class="config-warning" role="status">{e}</p> })}
            <main id="main" tabindex="-1">
                <Routes fallback=|| view! { <NotFoundPage /> }>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/ips/:ip") view=IpPage />
                </Routes>
            </main>
            <footer class="app-footer">
                <p>"ipscope — IP investigation for security analysts."</p>
            </footer>
        </Router>
    }
}
