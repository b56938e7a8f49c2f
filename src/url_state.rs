//! Page state in the URL: read query parameters, link to or switch to another state of the same page.

use leptos::prelude::*;
use web_sys::UrlSearchParams;

use crate::config::use_config;
use crate::router::use_location;

/// Query parameters to set (`Some`) or remove (`None`), keeping the others.
pub type QueryChanges<'a> = [(&'a str, Option<String>)];

fn params(query: &str) -> UrlSearchParams {
    UrlSearchParams::new_with_str(query).unwrap_or_else(|_| UrlSearchParams::new().expect("an empty query"))
}

/// A query parameter of the current URL.
pub fn use_query_param(key: &'static str) -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| params(&location.query.read()).get(key))
}

/// `query` (`?a=b` or empty) with `changes` made, in the same form.
fn changed_query(query: &str, changes: &QueryChanges<'_>) -> String {
    let params = params(query);
    for (key, value) in changes {
        match value.as_deref().filter(|v| !v.is_empty()) {
            Some(value) => params.set(key, value),
            None => params.delete(key),
        }
    }
    let text = String::from(params.to_string());
    if text.is_empty() {
        text
    } else {
        format!("?{text}")
    }
}

/// A function that makes `changes` to the current page's query, replacing the history entry.
pub fn use_query_updater() -> impl Fn(&QueryChanges<'_>) + Clone + Send + Sync + 'static {
    let location = use_location();
    move |changes: &QueryChanges<'_>| {
        let query = changed_query(&location.query.get_untracked(), changes);
        location.navigate(&format!("{}{query}", location.path.get_untracked()), true);
    }
}

/// A function giving the href of the current page with `changes` made to its query (for links between states of
/// a page, such as a severity count that filters the alerts table). Reactive: read it in a closure.
pub fn use_query_href() -> impl Fn(&QueryChanges<'_>) -> String + Clone + Send + Sync + 'static {
    let location = use_location();
    let config = use_config();
    move |changes: &QueryChanges<'_>| {
        format!("{}{}", config.link(&location.path.get()), changed_query(&location.query.get(), changes))
    }
}
