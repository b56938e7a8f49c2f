//! The only module that talks HTTP: one small function per endpoint, every failure a typed `ApiError`.

use std::any::Any;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;

use gloo_net::http::{Request, Response};
use ipscope_api::json::{self, FromJson};
use ipscope_api::period::PeriodChoice;
use ipscope_api::sign_in::form_encode;
use ipscope_api::wire::{
    Alert, Collection, DeviceConnection, ErrorResponse, IpProfile, IpRef, Machine, Me, ObservedDevices, Prevalence,
};
#[cfg(target_arch = "wasm32")]
use {crate::auth, send_wrapper::SendWrapper, wasm_bindgen::JsCast};

use crate::config::{use_config, ConfigFile};
use crate::routes::encode;

/// Why a request failed, in terms the page can explain to an analyst.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request was refused as invalid (400); the server's message says what to fix.
    #[error("{0}")]
    InvalidInput(String),
    /// The thing asked about does not exist, or the analyst may not see it (404).
    #[error("{0}")]
    NotFound(String),
    /// No valid sign-in (401); the app sends the analyst to sign in again.
    #[error("Signing in is needed: {0}")]
    Unauthorized(String),
    /// The sign-in lacks a permission this needs (403); the server's message names it.
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests (429); the server asks to wait `retry_after` seconds.
    #[error("The server is rate limiting requests; try again in {retry_after} s.")]
    RateLimited {
        /// Seconds to wait, from `Retry-After`.
        retry_after: u32,
    },
    /// No answer at all: offline, wrong API address, server down, or blocked by CORS.
    #[error("The server could not be reached ({0}). Check the connection and the configured API address.")]
    Unreachable(String),
    /// The server answered with an error of its own.
    #[error("The server failed (HTTP {status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message, if it sent one.
        message: String,
    },
    /// The answer was not the JSON expected.
    #[error("The server's answer could not be read: {0}")]
    Decode(String),
}

/// The API client: the base URL from the configuration. `Copy`, so resources capture it freely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Api {
    base: &'static str,
}

/// The API client for the configured base URL.
pub fn use_api() -> Api {
    Api { base: use_config().api_base }
}

/// An API call not made yet: its path, and how its answer is read. `ApiResource::new` makes it (one future type for
/// every call, the type erased); anything else awaits `send()`.
pub struct Call<T> {
    api: Api,
    path: String,
    /// A refused sign-in sends the analyst to sign in again.
    sign_in_again: bool,
    read: fn(Answer) -> Result<T, ApiError>,
}

/// An answer of any type, as `ApiResource` keeps it.
pub type AnyAnswer = Result<Rc<dyn Any>, ApiError>;

impl<T: 'static> Call<T> {
    /// Makes the call.
    pub async fn send(self) -> Result<T, ApiError> {
        (self.read)(self.api.get(&self.path, self.sign_in_again).await?)
    }

    /// Makes the call, its answer's type erased. The future is the same type whatever `T` is: only reading the
    /// body is per type (each call's own future, with the request's inlined into it, was 2–6 KB of the module).
    pub fn send_erased(self) -> Pin<Box<dyn Future<Output = AnyAnswer>>> {
        let read = self.read;
        Box::pin(fetch(self.api, self.path, self.sign_in_again, Box::new(move |answer| Ok(Rc::new(read(answer)?)))))
    }
}

async fn fetch(api: Api, path: String, sign_in_again: bool, read: Box<dyn FnOnce(Answer) -> AnyAnswer>) -> AnyAnswer {
    read(api.get(&path, sign_in_again).await?)
}

impl Api {
    /// `GET path` with the access token; a refused sign-in sends the analyst to sign in again.
    fn call<T>(self, path: String, read: fn(Answer) -> Result<T, ApiError>) -> Call<T> {
        Call { api: self, path, sign_in_again: true, read }
    }

    /// `GET path`'s answer, from `index.html`'s script when it asked already. With `sign_in_again`, a refused
    /// sign-in forgets the token and sends the analyst to sign in. Not generic: the module holds it once, and
    /// only the reading of the body exists per type.
    #[cfg(target_arch = "wasm32")]
    async fn get(self, path: &str, sign_in_again: bool) -> Result<Answer, ApiError> {
        let answer = match take_prefetched(path) {
            Some(answer) => Answer::prefetched(answer).await?,
            None => Answer::read(self.send(path).await?).await,
        };
        if sign_in_again && answer.status == 401 {
            let error = answer.error();
            if let ApiError::Unauthorized(why) = &error {
                auth::forget_token();
                auth::sign_in_again(crate::config::global(), Some(why));
            }
            return Err(error);
        }
        Ok(answer)
    }

    /// `GET path`'s answer as the server rendering the page gave it (`prerender.rs`); one it did not give never
    /// comes, and its section shows as loading.
    #[cfg(not(target_arch = "wasm32"))]
    async fn get(self, path: &str, _sign_in_again: bool) -> Result<Answer, ApiError> {
        match crate::prerender::answer(path) {
            Some(answer) => {
                Ok(Answer { status: answer.status, retry_after: answer.retry_after, text: text(Ok(answer.body)) })
            }
            None => std::future::pending().await,
        }
    }

    /// Sends `GET path` with the access token.
    #[cfg(target_arch = "wasm32")]
    async fn send(self, path: &str) -> Result<Response, ApiError> {
        let url = format!("{}{}", self.base, path);
        // Aborted when the reactive owner that asked is cleaned up: leaving a page (or changing its period) cancels
        // the calls whose answers nobody will see.
        let controller = web_sys::AbortController::new().ok();
        if let Some(controller) = &controller {
            let controller = SendWrapper::new(controller.clone());
            leptos::prelude::on_cleanup(move || controller.abort());
        }
        let signal = controller.as_ref().map(web_sys::AbortController::signal);
        let mut request = Request::get(&url).header("Accept", "application/json").abort_signal(signal.as_ref());
        if let Some(token) = auth::token() {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        request.send().await.map_err(|e| ApiError::Unreachable(e.to_string()))
    }

    /// `GET me`: who the token stands for. A refused token is returned as an error, not acted on (the sign-in
    /// page checks a pasted token with it).
    pub fn me(self) -> Call<Me> {
        Call { sign_in_again: false, ..self.call("me".into(), Answer::json) }
    }

    /// `GET ips?prefix=..`: observed addresses starting with `prefix`, for search suggestions.
    pub fn suggest_ips(self, prefix: &str) -> Call<Vec<String>> {
        self.call(format!("ips?prefix={}&$top=8", encode(prefix)), ip_list)
    }

    /// `GET ips/{ip}/profile`: class, geolocation and data sources.
    pub fn ip_profile(self, ip: IpAddr) -> Call<IpProfile> {
        self.call(format!("ips/{ip}/profile"), Answer::json)
    }

    /// `GET ips/{ip}/alerts`: alerts whose evidence names the IP.
    pub fn ip_alerts(self, ip: IpAddr) -> Call<Vec<Alert>> {
        self.call(format!("ips/{ip}/alerts"), collection)
    }

    /// `GET ips/{ip}/devices`: devices that connected in the period, at most 100.
    pub fn ip_devices(self, ip: IpAddr, period: PeriodChoice) -> Call<ObservedDevices> {
        self.call(format!("ips/{ip}/devices?{}", period.api_query()), Answer::json)
    }

    /// `GET ips/{ip}/prevalence`: devices, first/last seen and the per-day series for the period.
    pub fn ip_prevalence(self, ip: IpAddr, period: PeriodChoice) -> Call<Prevalence> {
        self.call(format!("ips/{ip}/prevalence?{}", period.api_query()), Answer::json)
    }

    /// `GET alerts/{id}`.
    pub fn alert(self, id: String) -> Call<Alert> {
        self.call(format!("alerts/{}", encode(&id)), Answer::json)
    }

    /// `GET alerts/{id}/ips`: the IPs related to an alert.
    pub fn alert_ips(self, id: String) -> Call<Vec<String>> {
        self.call(format!("alerts/{}/ips", encode(&id)), ip_list)
    }

    /// `GET machines/{id}`.
    pub fn machine(self, id: String) -> Call<Machine> {
        self.call(format!("machines/{}", encode(&id)), Answer::json)
    }

    /// `GET machines/{id}/alerts`.
    pub fn machine_alerts(self, id: String) -> Call<Vec<Alert>> {
        self.call(format!("machines/{}/alerts", encode(&id)), collection)
    }

    /// `GET machines/{id}/connections`: the device's remote addresses in the last 30 days.
    pub fn machine_connections(self, id: String) -> Call<Vec<DeviceConnection>> {
        self.call(format!("machines/{}/connections?$top=100", encode(&id)), collection)
    }
}

/// An OData collection's entities.
fn collection<T: FromJson>(answer: Answer) -> Result<Vec<T>, ApiError> {
    answer.json::<Collection<T>>().map(|c| c.value)
}

/// A collection of IP references, as addresses.
fn ip_list(answer: Answer) -> Result<Vec<String>, ApiError> {
    Ok(collection::<IpRef>(answer)?.into_iter().map(|r| r.id).collect())
}

/// The answer to `GET path` that the server's drawing of the page was made from (`index.html`'s script, before the
/// app mounted), if there is one: a promise of `{status, retryAfter, body}`, the body an `ArrayBuffer`. Each is
/// taken once, so a retry or a new period asks afresh.
#[cfg(target_arch = "wasm32")]
fn take_prefetched(path: &str) -> Option<js_sys::Promise> {
    let answers = js_sys::Reflect::get(&leptos::prelude::window(), &"ipscopePrefetch".into()).ok()?;
    let answer = js_sys::Reflect::get(&answers, &path.into()).ok().filter(|a| !a.is_undefined())?;
    let _ = js_sys::Reflect::delete_property(answers.unchecked_ref::<js_sys::Object>(), &path.into());
    answer.dyn_into().ok()
}

/// A body read as bytes, as text. Bytes cross from JavaScript in one copy; a JavaScript string would be walked
/// character by character on its way in (about 2 ms for the devices answer at normal CPU speed).
fn text(body: Result<Vec<u8>, String>) -> Result<String, String> {
    body.and_then(|bytes| String::from_utf8(bytes).map_err(|_| "the answer is not UTF-8 text".to_string()))
}

/// An API answer, read whole.
struct Answer {
    status: u16,
    retry_after: Option<u32>,
    text: Result<String, String>,
}

impl Answer {
    /// Reads `response`'s status, `Retry-After` and body.
    async fn read(response: Response) -> Answer {
        let status = response.status();
        let retry_after = response.headers().get("Retry-After").and_then(|v| v.trim().parse().ok());
        Answer { status, retry_after, text: text(response.binary().await.map_err(|e| e.to_string())) }
    }

    /// Waits for an answer `index.html`'s script handed over.
    #[cfg(target_arch = "wasm32")]
    async fn prefetched(answer: js_sys::Promise) -> Result<Answer, ApiError> {
        let answer = wasm_bindgen_futures::JsFuture::from(answer)
            .await
            .map_err(|e| ApiError::Unreachable(e.as_string().unwrap_or_else(|| "the request failed".into())))?;
        let field = |name: &str| js_sys::Reflect::get(&answer, &name.into()).unwrap_or_default();
        Ok(Answer {
            status: field("status").as_f64().unwrap_or(0.0) as u16,
            retry_after: field("retryAfter").as_string().and_then(|v| v.trim().parse().ok()),
            text: text(
                field("body")
                    .dyn_into::<js_sys::ArrayBuffer>()
                    .map(|body| js_sys::Uint8Array::new(&body).to_vec())
                    .map_err(|_| "no body".to_string()),
            ),
        })
    }

    /// The body as `T` when the status is a success, else the error it stands for.
    fn json<T: FromJson>(self) -> Result<T, ApiError> {
        if !(200..300).contains(&self.status) {
            return Err(self.error());
        }
        let text = self.text.map_err(ApiError::Decode)?;
        json::from_str(&text).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// The error a failed answer stands for, with the server's message (Defender's error body) when it has one.
    fn error(self) -> ApiError {
        let message = match self.text {
            Ok(text) => match json::from_str::<ErrorResponse>(&text) {
                Ok(body) => body.error.message,
                Err(_) => text.chars().take(200).collect(),
            },
            Err(e) => e,
        };
        match self.status {
            400 => ApiError::InvalidInput(message),
            401 => ApiError::Unauthorized(message),
            403 => ApiError::Forbidden(message),
            404 => ApiError::NotFound(message),
            429 => ApiError::RateLimited { retry_after: self.retry_after.unwrap_or(60) },
            status => ApiError::Server { status, message },
        }
    }
}

/// Fetches `config.json` next to `index.html`: `Ok(None)` when there is none.
pub async fn fetch_config_file() -> Result<Option<ConfigFile>, ApiError> {
    let response = Request::get("config.json")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiError::Unreachable(e.to_string()))?;
    match response.status() {
        404 => Ok(None),
        _ => Answer::read(response).await.json().map(Some),
    }
}

/// The endpoints of an OpenID Connect provider, from its discovery document.
#[derive(Debug, Clone, FromJson)]
pub struct OidcEndpoints {
    /// Where the browser signs in.
    pub authorization_endpoint: String,
    /// Where the app trades the code for a token.
    pub token_endpoint: String,
}

/// `GET {issuer}/.well-known/openid-configuration`.
pub async fn oidc_endpoints(issuer: &str) -> Result<OidcEndpoints, ApiError> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let response = Request::get(&url).send().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
    Answer::read(response).await.json()
}

#[derive(FromJson)]
struct TokenAnswer {
    access_token: String,
}

/// `POST token_endpoint` (authorization code grant with the PKCE verifier; a public client has no secret): the
/// access token.
pub async fn exchange_code(
    token_endpoint: &str,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, ApiError> {
    let body = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", verifier),
    ]);
    let response = Request::post(token_endpoint)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body)
        .map_err(|e| ApiError::Unreachable(e.to_string()))?
        .send()
        .await
        .map_err(|e| ApiError::Unreachable(e.to_string()))?;
    let answer: TokenAnswer = Answer::read(response).await.json()?;
    Ok(answer.access_token)
}
