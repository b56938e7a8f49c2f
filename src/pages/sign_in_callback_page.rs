//! `/signin-callback?code=..&state=..`: where the identity provider sends the analyst back; trades the code for a
//! token and returns to the page the sign-in started from.

use leptos::prelude::*;

use crate::auth;
use crate::config::use_config;
use crate::pages::set_title;
use crate::url_state::use_query_param;

/// The sign-in callback page.
#[component]
pub fn SignInCallbackPage() -> impl IntoView {
    set_title("Signing in — ipscope");
    let config = use_config();
    let code = use_query_param("code").get_untracked();
    let state = use_query_param("state").get_untracked();
    let refused = use_query_param("error_description").get_untracked().or(use_query_param("error").get_untracked());
    let problem = RwSignal::new(refused.map(|e| format!("The identity provider refused the sign-in: {e}")));
    if let (Some(code), Some(state), None) = (code, state, problem.get_untracked()) {
        leptos::task::spawn_local(async move {
            match auth::finish_oidc(crate::config::global(), &code, &state).await {
                Ok(next) => auth::return_to(crate::config::global(), &next),
                Err(e) => problem.set(Some(format!("Signing in failed: {e}"))),
            }
        });
    } else if problem.get_untracked().is_none() {
        problem.set(Some("This address is where the identity provider returns to; there is no sign-in here.".into()));
    }
    let again = auth::sign_in_href(&config, "/", None);
    view! {
        <div class="sign-in">
            <h1>"Signing in"</h1>
            {move || match problem.get() {
                None => view! { <p role="status">"Signing in…"</p> }.into_any(),
                Some(p) => {
                    view! {
                        <p class="sign-in-problem" role="alert">{p}</p>
                        <p><a href=again.clone()>"Sign in again"</a></p>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
