//! Any path the app does not know.

use crate::pages::set_title;
use crate::routes::home_href;
use leptos::prelude::*;

/// The not-found page.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_title("Not found — ipscope");
    view! {
        <div class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. Search for an IP address above, or go to the "
                <a href=home_href()>"home page"</a>"."
            </p>
        </div>
    }
}
