//! Page state in the URL: read query parameters, link to or switch to another state of the same page.

use ipscope_api::query::{parse_query, query_get, query_set, query_string};
use leptos::prelude::*;

use crate::config::use_config;
use crate::router::use_location;

/// Query parameters to set (`Some`) or remove (`None`), keeping the others.
pub type QueryChanges<'a> = [(&'a str, Option<String>)];

/// A query parameter of the current URL.
pub fn use_query_param(key: &'static str) -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| query_get(&parse_query(&location.query.read()), key).map(String::from))
}

/// `query` (`?a=b` or empty) with `changes` made, in the same form.
fn changed_query(query: &str, changes: &QueryChanges<'_>) -> String {
    let mut pairs = parse_query(query);
    for (key, value) in changes {
        match value.as_deref().filter(|v| !v.is_empty()) {
            Some(value) => query_set(&mut pairs, key, value),
            None => pairs.retain(|(k, _)| k != key),
        }
    }
    let text = query_string(&pairs);
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
