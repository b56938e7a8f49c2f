//! Page state in the URL: read query parameters, and replace some of them without adding history entries.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::config::use_config;

/// A query parameter of the current URL.
pub fn use_query_param(key: &'static str) -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| location.query.read().get(key))
}

/// A function that sets (`Some`) or removes (`None`) query parameters of the current page, keeping the others.
pub fn use_query_updater() -> impl Fn(&[(&str, Option<String>)]) + Clone + Send + Sync + 'static {
    let location = use_location();
    let navigate = use_navigate();
    let config = use_config();
    move |changes: &[(&str, Option<String>)]| {
        let full = location.pathname.get_untracked();
        let path = config.strip_base(&full);
        let mut query = location.query.get_untracked();
        for (key, value) in changes {
            query.remove(key);
            if let Some(value) = value.clone().filter(|v| !v.is_empty()) {
                query.insert(key.to_string(), value);
            }
        }
        let options = NavigateOptions { replace: true, scroll: false, ..Default::default() };
        navigate(&format!("{path}{}", query.to_query_string()), options);
    }
}
