//! Who is signed in, with a sign-out button (in the header).

use ipscope_api::wire::Me;
use leptos::prelude::*;

use crate::api::use_api;
use crate::auth;
use crate::config::use_config;
use crate::resource::ApiResource;

fn describe(me: &Me) -> String {
    match &me.device_groups {
        None => me.name.clone(),
        Some(groups) if groups.is_empty() => format!("{} (no device groups)", me.name),
        Some(groups) => format!("{} ({})", me.name, groups.join(", ")),
    }
}

/// "Signed in as NAME (groups)" and "Sign out"; nothing when no one is signed in or the server authenticates no
/// one.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let config = use_config();
    if !config.auth.needs_token() || auth::token().is_none() {
        return ().into_any();
    }
    let api = use_api();
    let me = ApiResource::new(move || api.me());
    let sign_out = move |_| {
        auth::forget_token();
        let config = crate::config::global();
        let href = auth::sign_in_href(config, "/", Some("You are signed out."));
        let _ = window().location().assign(&href);
    };
    view! {
        <div class="account">
            {move || {
                me.get()
                    .and_then(Result::ok)
                    .map(|me| view! { <span class="who">"Signed in as " {describe(&me)}</span> })
            }}
            <button type="button" class="sign-out" on:click=sign_out>"Sign out"</button>
        </div>
    }
    .into_any()
}
