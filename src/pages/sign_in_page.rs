//! `/sign-in?next=...`: paste an ipscope token, or sign in with the organization's identity provider.

use ipscope_api::sign_in::AuthSettings;
use leptos::prelude::*;

use crate::api::{use_api, ApiError};
use crate::auth;
use crate::config::use_config;
use crate::pages::set_title;
use crate::url_state::use_query_param;

/// The sign-in page.
#[component]
pub fn SignInPage() -> impl IntoView {
    set_title("Sign in — ipscope");
    let config = use_config();
    let next = use_query_param("next").get_untracked().unwrap_or_else(|| "/".into());
    let why = use_query_param("why").get_untracked();
    let auto = use_query_param("auto").get_untracked().is_some();
    let problem = RwSignal::new(None::<String>);
    let why_view = why.map(|w| view! { <p class="sign-in-why" role="status">{w}</p> });
    let method = match config.auth.clone() {
        AuthSettings::Oidc { issuer, .. } => {
            let host = issuer.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("").to_string();
            let next = next.clone();
            let start = move || {
                let next = next.clone();
                leptos::task::spawn_local(async move {
                    if let Err(e) = auth::start_oidc(crate::config::global(), &next).await {
                        problem.set(Some(format!("Signing in could not start: {e}")));
                    }
                });
            };
            if auto && !config.embed {
                start();
            }
            view! {
                <p>"Sign in with your organization's account (" {host.clone()} ")."</p>
                <button type="button" class="primary" on:click=move |_| start()>
                    "Sign in with " {host}
                </button>
            }
            .into_any()
        }
        AuthSettings::Token | AuthSettings::None => view! { <TokenForm next=next.clone() problem /> }.into_any(),
    };
    view! {
        <div class="sign-in">
            <h1>"Sign in to ipscope"</h1>
            {why_view}
            {config.embed.then(|| view! { <p role="status">"Waiting for the dashboard to sign in…"</p> })}
            {method}
            {move || problem.get().map(|p| view! { <p class="sign-in-problem" role="alert">{p}</p> })}
        </div>
    }
}

/// A field for an ipscope token, checked with the server before it is kept.
#[component]
fn TokenForm(
    /// Where to go once signed in.
    next: String,
    /// Where a refusal is shown.
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let api = use_api();
    let input = NodeRef::<leptos::html::Input>::new();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(value) = input.get().map(|i| i.value().trim().to_string()).filter(|v| !v.is_empty()) else {
            problem.set(Some("Paste a token first.".into()));
            return;
        };
        let next = next.clone();
        leptos::task::spawn_local(async move {
            auth::store_token(&value);
            match api.me().send().await {
                Ok(_) => auth::return_to(crate::config::global(), &next),
                Err(ApiError::Unauthorized(why)) => {
                    auth::forget_token();
                    problem.set(Some(format!("The server refused this token: {why}")));
                }
                Err(other) => {
                    auth::forget_token();
                    problem.set(Some(other.to_string()));
                }
            }
        });
    };
    view! {
        <form class="token-form" on:submit=on_submit>
            <label for="token-input">"Access token"</label>
            <p class="hint">
                "An administrator creates one with " <code>"ipscope-server token create"</code>
                ". It is kept only in this browser tab."
            </p>
            <input id="token-input" type="password" autocomplete="off" spellcheck="false" node_ref=input />
            <button type="submit" class="primary">"Sign in"</button>
        </form>
    }
}
