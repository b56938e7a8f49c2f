//! `/`: the search field and what ipscope answers.

use leptos::prelude::*;

use crate::components::search_box::SearchBox;
use crate::pages::set_title;

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    set_title("ipscope");
    view! {
        <div class="home">
            <h1>"Investigate an IP address"</h1>
            <p class="lede">
                "Which of your devices talked to it, when, with which program; which alerts mention it; where it is; how rare it is here."
            </p>
            <SearchBox id="home-search" large=true />
        </div>
    }
}
