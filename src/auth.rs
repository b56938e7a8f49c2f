//! The access token and signing in. The token lives in memory and in `sessionStorage` (never `localStorage`): it
//! comes from the sign-in page, a sign-in link's fragment (`#token=...`, removed from the address bar at once), an
//! OpenID Connect sign-in (authorization code + PKCE), or a framing dashboard's `postMessage`; it is forgotten on
//! sign-out and when the server refuses it. The app never sends it anywhere but the API.

use std::cell::RefCell;

use ipscope_api::json::{self, FromJson, ToJson};
use ipscope_api::sign_in::{base64url, fragment_token, safe_return_path, AuthSettings, AuthorizationRequest};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::ApiError;
use crate::config::Config;
use crate::routes::{self, encode};

const TOKEN_KEY: &str = "ipscope.token";
const SIGNED_IN_AT_KEY: &str = "ipscope.signedInAt";
const PENDING_KEY: &str = "ipscope.signIn";
/// A token the server refuses this soon after signing in is not renewed again at once (no sign-in loop).
const FRESH_MS: i64 = 30_000;

fn session() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

thread_local! {
    static TOKEN: RefCell<Option<String>> =
        RefCell::new(session().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten()));
}

/// The current access token.
#[cfg(target_arch = "wasm32")]
pub fn token() -> Option<String> {
    TOKEN.with(|t| t.borrow().clone())
}

/// The token the server renders the page for (`prerender.rs`).
#[cfg(not(target_arch = "wasm32"))]
pub fn token() -> Option<String> {
    crate::prerender::token()
}

/// Keeps `token` for this browser tab.
pub fn store_token(token: &str) {
    TOKEN.with(|t| *t.borrow_mut() = Some(token.to_string()));
    if let Some(s) = session() {
        let _ = s.set_item(TOKEN_KEY, token);
        let _ = s.set_item(SIGNED_IN_AT_KEY, &(js_sys::Date::now() as i64).to_string());
    }
}

/// Forgets the token (sign-out, or the server refused it).
pub fn forget_token() {
    TOKEN.with(|t| *t.borrow_mut() = None);
    if let Some(s) = session() {
        let _ = s.remove_item(TOKEN_KEY);
    }
}

fn signed_in_recently() -> bool {
    let at = session().and_then(|s| s.get_item(SIGNED_IN_AT_KEY).ok().flatten()).and_then(|t| t.parse::<i64>().ok());
    at.is_some_and(|at| js_sys::Date::now() as i64 - at < FRESH_MS)
}

/// Takes the token of a sign-in link (`#token=...`) and removes it from the address bar and history.
pub fn take_link_token() {
    let location = window().location();
    let Some(token) = location.hash().ok().as_deref().and_then(fragment_token) else {
        return;
    };
    store_token(&token);
    let clean = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&clean));
    }
}

/// The in-app path of the current page, e.g. `/ips/203.0.113.66?period=7d`.
pub fn current_path(config: &Config) -> String {
    let location = window().location();
    let pathname = location.pathname().unwrap_or_default();
    format!("{}{}", config.strip_base(&pathname), location.search().unwrap_or_default())
}

/// Whether the current page is the sign-in page or the sign-in callback.
pub fn on_sign_in_page(config: &Config) -> bool {
    let path = current_path(config);
    let path = path.trim_start_matches('/');
    path.starts_with(routes::SIGN_IN) || path.starts_with(routes::SIGN_IN_CALLBACK)
}

/// The sign-in page's href, returning to `next` afterwards.
pub fn sign_in_href(config: &Config, next: &str, why: Option<&str>) -> String {
    let mut href = config.link(&format!("{}?next={}", routes::SIGN_IN, encode(safe_return_path(next))));
    if config.embed {
        href.push_str("&embed=1");
    }
    if let Some(why) = why {
        href.push_str(&format!("&why={}", encode(why)));
    }
    href
}

/// Leaves the sign-in for the in-app path `next` (only a path of this app), with a full page load so that every
/// section loads afresh with the new sign-in.
pub fn return_to(config: &Config, next: &str) {
    let _ = window().location().replace(&config.link(safe_return_path(next)));
}

/// Sends the analyst to sign in (again) and back to the current page afterwards: the page for a token, or the
/// identity provider (through the sign-in page, which starts it) with OpenID Connect.
pub fn sign_in_again(config: &Config, why: Option<&str>) {
    if on_sign_in_page(config) {
        return;
    }
    let mut href = sign_in_href(config, &current_path(config), why);
    // A freshly signed-in token that is refused again is shown, not renewed in a loop.
    if matches!(config.auth, AuthSettings::Oidc { .. }) && !config.embed && !signed_in_recently() {
        href.push_str("&auto=1");
    }
    let _ = window().location().assign(&href);
}

/// The callback URL registered at the provider: `{origin}{base}/signin-callback`.
fn redirect_uri(config: &Config) -> String {
    format!("{}{}", window().location().origin().unwrap_or_default(), config.link(routes::SIGN_IN_CALLBACK))
}

/// What is kept between leaving for the provider and coming back.
#[derive(FromJson, ToJson)]
struct Pending {
    state: String,
    verifier: String,
    next: String,
}

fn random_text() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    let crypto = window().crypto().map_err(|_| "this browser offers no cryptography".to_string())?;
    crypto.get_random_values_with_u8_array(&mut bytes).map_err(|_| "no random numbers".to_string())?;
    Ok(base64url(&bytes))
}

async fn sha256(text: &str) -> Result<Vec<u8>, String> {
    let crypto = window().crypto().map_err(|_| "this browser offers no cryptography".to_string())?;
    let subtle = js_sys::Reflect::get(&crypto, &"subtle".into()).unwrap_or_default();
    if subtle.is_undefined() {
        return Err("signing in needs a secure page (https, or http on localhost)".into());
    }
    let subtle: web_sys::SubtleCrypto = subtle.unchecked_into();
    let promise = subtle.digest_with_str_and_u8_array("SHA-256", text.as_bytes()).map_err(|_| "SHA-256 failed")?;
    let digest = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|_| "SHA-256 failed")?;
    Ok(js_sys::Uint8Array::new(&digest).to_vec())
}

/// Starts the authorization code flow with PKCE: leaves for the provider's sign-in page.
pub async fn start_oidc(config: &Config, next: &str) -> Result<(), String> {
    let AuthSettings::Oidc { issuer, client_id, scope } = &config.auth else {
        return Err("OpenID Connect is not configured".into());
    };
    let endpoints = crate::api::oidc_endpoints(issuer).await.map_err(|e| e.to_string())?;
    let pending = Pending { state: random_text()?, verifier: random_text()?, next: safe_return_path(next).into() };
    let challenge = base64url(&sha256(&pending.verifier).await?);
    let redirect = redirect_uri(config);
    let url = AuthorizationRequest {
        endpoint: &endpoints.authorization_endpoint,
        client_id,
        redirect_uri: &redirect,
        scope,
        state: &pending.state,
        code_challenge: &challenge,
    }
    .url();
    let saved = session().map(|s| s.set_item(PENDING_KEY, &json::to_string(&pending)));
    if !matches!(saved, Some(Ok(()))) {
        return Err("this browser does not keep session storage, which signing in needs".into());
    }
    window().location().assign(&url).map_err(|_| "the browser did not leave for the sign-in page".to_string())
}

/// Finishes the flow on the callback page: checks `state`, trades the code for a token, and returns the path to go
/// back to.
pub async fn finish_oidc(config: &Config, code: &str, state: &str) -> Result<String, String> {
    let AuthSettings::Oidc { issuer, client_id, .. } = &config.auth else {
        return Err("OpenID Connect is not configured".into());
    };
    let pending: Pending = session()
        .and_then(|s| s.get_item(PENDING_KEY).ok().flatten())
        .and_then(|text| json::from_str(&text).ok())
        .ok_or("this sign-in was not started here (or this tab's session storage was cleared); sign in again")?;
    if let Some(s) = session() {
        let _ = s.remove_item(PENDING_KEY);
    }
    if pending.state != state {
        return Err("the answer does not belong to the sign-in this tab started; sign in again".into());
    }
    let endpoints = crate::api::oidc_endpoints(issuer).await.map_err(|e| e.to_string())?;
    let redirect = redirect_uri(config);
    let token = crate::api::exchange_code(&endpoints.token_endpoint, client_id, code, &redirect, &pending.verifier)
        .await
        .map_err(|e: ApiError| e.to_string())?;
    store_token(&token);
    Ok(pending.next)
}

/// Accepts tokens posted by a dashboard framing the app, from the allowed ancestor origins only, and tells those
/// origins the app is ready (a message without any secret). `on_token` runs after a token is stored.
pub fn accept_dashboard_tokens(config: &'static Config, on_token: impl Fn() + 'static) {
    let framed = window().parent().ok().flatten().is_some_and(|parent| parent != window());
    if !framed || config.frame_ancestors.is_empty() {
        return;
    }
    let listener =
        wasm_bindgen::closure::Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if !config.frame_ancestors.iter().any(|o| *o == ev.origin()) {
                return;
            }
            let data = ev.data();
            let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok().and_then(|v| v.as_string());
            if field("type").as_deref() != Some("ipscope:token") {
                return;
            }
            if let Some(token) = field("token").filter(|t| !t.is_empty() && t.len() <= 16_384) {
                store_token(&token);
                on_token();
            }
        });
    let _ = window().add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    listener.forget(); // for the life of the page
    if let Ok(Some(parent)) = window().parent() {
        let ready = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&ready, &"type".into(), &"ipscope:ready".into());
        let _ = js_sys::Reflect::set(&ready, &"signedIn".into(), &token().is_some().into());
        for origin in &config.frame_ancestors {
            // Delivered only if the parent is at that origin.
            let _ = parent.post_message(&ready, origin);
        }
    }
}
