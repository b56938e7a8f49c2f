//! Page state in the URL: read query parameters, link to or switch to another state of the same page.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::location::Location;
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

use crate::config::use_config;

/// Query parameters to set (`Some`) or remove (`None`), keeping the others.
pub type QueryChanges<'a> = [(&'a str, Option<String>)];

/// A query parameter of the current URL.
pub fn use_query_param(key: &'static str) -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| location.query.read().get(key))
}

/// `?…` of `query` with `changes` made.
fn changed_query(mut query: ParamsMap, changes: &QueryChanges<'_>) -> String {
    for (key, value) in changes {
        query.remove(key);
        if let Some(value) = value.clone().filter(|v| !v.is_empty()) {
            query.insert(key.to_string(), value);
        }
    }
    query.to_query_string()
}

/// A function that makes `changes` to the current page's query, replacing the history entry.
pub fn use_query_updater() -> impl Fn(&QueryChanges<'_>) + Clone + Send + Sync + 'static {
    let location = use_location();
    let navigate = use_navigate();
    let config = use_config();
    move |changes: &QueryChanges<'_>| {
        let full = location.pathname.get_untracked();
        let query = changed_query(location.query.get_untracked(), changes);
        let options = NavigateOptions { replace: true, scroll: false, ..Default::default() };
        navigate(&format!("{}{query}", config.strip_base(&full)), options);
    }
}

/// A function giving the href of the current page with `changes` made to its query (for links between states of
/// a page, such as a severity count that filters the alerts table). Reactive: read it in a closure.
pub fn use_query_href() -> impl Fn(&QueryChanges<'_>) -> String + Clone + Send + Sync + 'static {
    let location: Location = use_location();
    move |changes: &QueryChanges<'_>| {
        format!("{}{}", location.pathname.get(), changed_query(location.query.get(), changes))
    }
}
