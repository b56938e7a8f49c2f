//! Runtime configuration, resolved once at start-up: where the API is and where the app is mounted.
//!
//! `config.json` next to `index.html` sets the API base URL (deploy-time, no rebuild);
//! the default is the same origin, relative to the page's `<base href>` so sub-path deployments work.
//! ipscope's server writes the configuration into the page (`<script id="ipscope-config" type="application/json">`),
//! so the app starts without fetching it; `config.json` is fetched only when the page has no such block
//! (static hosting).

use std::sync::OnceLock;

use ipscope_api::json::{self, FromJson};
use ipscope_api::sign_in::AuthSettings;
use leptos::prelude::*;

use crate::router::below_base;

/// The app's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL of the API, ending in `/` (e.g. `api/` or `https://soc.example.com/ipscope/api/`).
    pub api_base: &'static str,
    /// Path the app is served under, without a trailing slash (`""` at the root, `/tools/ipscope`).
    pub base_path: String,
    /// Embedded in another page (a dashboard's iframe): no header or footer. From `?embed=1` on the first
    /// URL or `"embed": true` in `config.json`; it holds for the whole session.
    pub embed: bool,
    /// Why `config.json` could not be used, if it could not; the app then runs on the defaults.
    pub load_error: Option<String>,
    /// How analysts sign in.
    pub auth: AuthSettings,
    /// Origins allowed to frame the app: a dashboard among them may hand it a token with `postMessage`.
    pub frame_ancestors: Vec<String>,
}

/// `config.json` as written by whoever deploys the app.
#[derive(Debug, Default, FromJson)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    /// Base URL of the API; relative URLs resolve against the page's base.
    pub api_base_url: Option<String>,
    /// Start in embed mode.
    pub embed: Option<bool>,
    /// How analysts sign in (default: ipscope's own tokens).
    pub auth: Option<AuthSettings>,
    /// Origins allowed to frame the app and hand it a token.
    pub frame_ancestors: Option<Vec<String>>,
}

/// The API base used when `config.json` does not set one.
pub const DEFAULT_API_BASE: &str = "api/";

/// Reads `config.json` and the page's base path.
pub async fn load() -> Config {
    let written = document().get_element_by_id("ipscope-config").and_then(|block| block.text_content());
    let file = match written {
        Some(text) => parse_config_file(&text),
        None => crate::api::fetch_config_file().await.map_err(|e| e.to_string()),
    };
    let search = window().location().search().unwrap_or_default();
    Config::new(file, base_path(), embed_requested(&search))
}

/// The configuration block ipscope's server writes into the page (`config.json` with its sign-in settings).
pub fn parse_config_file(text: &str) -> Result<Option<ConfigFile>, String> {
    json::from_str::<ConfigFile>(text).map(Some).map_err(|e| e.to_string())
}

impl Config {
    /// The configuration from `file` (`Ok(None)`: there is none; `Err`: why it was ignored) for the app served
    /// under `base_path`, embedded when the file or the first URL (`embed_requested`) says so.
    pub fn new(file: Result<Option<ConfigFile>, String>, base_path: String, embed_requested: bool) -> Config {
        let (file, load_error) = match file {
            Ok(file) => (file.unwrap_or_default(), None),
            Err(e) => (ConfigFile::default(), Some(format!("config.json was ignored: {e}"))),
        };
        let mut api_base =
            file.api_base_url.filter(|b| !b.trim().is_empty()).unwrap_or_else(|| DEFAULT_API_BASE.into());
        if !api_base.ends_with('/') {
            api_base.push('/');
        }
        let embed = file.embed.unwrap_or(false) || embed_requested;
        // Resolved once for the life of the page; a `'static` base makes the API client `Copy`. The default is not
        // leaked (the server renders pages with it, many times).
        let api_base: &'static str =
            if api_base == DEFAULT_API_BASE { DEFAULT_API_BASE } else { Box::leak(api_base.into_boxed_str()) };
        let frame_ancestors =
            file.frame_ancestors.unwrap_or_default().into_iter().map(|o| o.trim_end_matches('/').to_string()).collect();
        Config { api_base, base_path, embed, load_error, auth: file.auth.unwrap_or_default(), frame_ancestors }
    }
}

static GLOBAL: OnceLock<Config> = OnceLock::new();

/// Keeps the configuration for code outside components (the API client, signing in); call once at start-up.
pub fn set_global(config: Config) -> &'static Config {
    GLOBAL.get_or_init(|| config)
}

/// The configuration kept by `set_global`.
pub fn global() -> &'static Config {
    GLOBAL.get().expect("the configuration is loaded before the app starts")
}

/// Whether the first URL's query (`search`) asks for embed mode (`?embed=1` or `?embed=true`).
pub fn embed_requested(search: &str) -> bool {
    ipscope_api::query::query_get(&ipscope_api::query::parse_query(search), "embed")
        .is_some_and(|v| v == "1" || v == "true")
}

/// The path of `document.baseURI` without its trailing slash: `""` at the root.
fn base_path() -> String {
    document()
        .base_uri()
        .ok()
        .flatten()
        .and_then(|uri| web_sys::Url::new(&uri).ok())
        .map(|url| url.pathname().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

impl Config {
    /// The href of an in-app link (`ips/1.2.3.4` → `/tools/ipscope/ips/1.2.3.4`): absolute, with the base path, so
    /// the router (`router.rs`) can tell the app's links from others.
    pub fn link(&self, path: &str) -> String {
        format!("{}/{}", self.base_path, path.trim_start_matches('/'))
    }

    /// The path to give `navigate` (`ips/1.2.3.4` → `/ips/1.2.3.4`): the router adds the base path itself.
    pub fn route(path: &str) -> String {
        format!("/{}", path.trim_start_matches('/'))
    }

    /// `pathname` (the browser's full path) below the base path (`/tools/ipscope/ips/1.2.3.4` → `/ips/1.2.3.4`, the
    /// base itself → `/`); a path outside the app as it is.
    pub fn strip_base<'a>(&self, pathname: &'a str) -> &'a str {
        below_base(pathname, &self.base_path).unwrap_or(pathname)
    }
}

/// Makes the configuration available to every component.
pub fn provide_config(config: Config) {
    provide_context(config);
}

/// The configuration provided by the app.
pub fn use_config() -> Config {
    expect_context::<Config>()
}
