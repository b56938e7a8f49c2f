//! Any path the app does not know.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::config::use_config;
use crate::pages::set_title;

/// The not-found page.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_title("Not found — ipscope");
    let home = use_config().link("");
    view! {
        <div class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. Search for an IP address above, or go to the "
                <A href=home>"home page"</A>"."
            </p>
        </div>
    }
}
