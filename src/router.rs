//! The app's router: the current path (without the base path) and query string as signals, `navigate` (a new
//! history entry, or replacing the current one), the back and forward buttons, and plain `<a>` links inside the app
//! followed without a page load. The app's routes are a handful of fixed shapes (`routes.rs`), matched in `app.rs`
//! with a `match`; a general router's generic route tree cost more of the module than the pages it chose between.

use leptos::prelude::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsCast;

/// Where the app is: the path below the base path (`/ips/1.2.3.4`) and the query string (`?period=7d`, or empty).
#[derive(Clone, Copy)]
pub struct Location {
    /// The path, starting with `/`, without the base path.
    pub path: RwSignal<String>,
    /// The query string with its `?`, or empty.
    pub query: RwSignal<String>,
    /// The path the app is served under (`""` or `/tools/ipscope`).
    base: StoredValue<String>,
}

impl Location {
    /// Sets the signals from the browser's address, notifying only what changed.
    #[cfg(target_arch = "wasm32")]
    fn read_address(&self) {
        let location = window().location();
        let pathname = location.pathname().unwrap_or_default();
        let path = below_base(&pathname, &self.base.get_value()).unwrap_or(&pathname).to_string(); // outside: as it is
        let query = location.search().unwrap_or_default();
        if self.path.get_untracked() != path {
            self.path.set(path);
        }
        if self.query.get_untracked() != query {
            self.query.set(query);
        }
    }

    /// Goes to `to` (a path below the base path, with any query string: `/ips/1.2.3.4?period=7d`): a new history
    /// entry scrolled to the top, or (`replace`) the current entry changed in place, as for the page state in the
    /// query.
    pub fn navigate(&self, to: &str, replace: bool) {
        let url = format!("{}{to}", self.base.get_value());
        let history = window().history().expect("the page has a history");
        let null = wasm_bindgen::JsValue::NULL;
        let done = if replace {
            history.replace_state_with_url(&null, "", Some(&url))
        } else {
            history.push_state_with_url(&null, "", Some(&url))
        };
        if done.is_err() {
            let _ = window().location().assign(&url);
            return;
        }
        #[cfg(target_arch = "wasm32")]
        self.read_address();
        if !replace {
            window().scroll_to_with_x_and_y(0.0, 0.0);
        }
    }
}

/// The location of the page the server renders (`prerender.rs`), provided to every component; nothing to follow.
#[cfg(not(target_arch = "wasm32"))]
pub fn provide_location(base_path: &str) -> Location {
    let (path, query) = crate::prerender::address();
    let location = Location {
        path: RwSignal::new(path),
        query: RwSignal::new(query),
        base: StoredValue::new(base_path.to_string()),
    };
    provide_context(location);
    location
}

/// Creates the location for the app served under `base_path` (`""` or `/tools/ipscope`), follows the back and
/// forward buttons and in-app links, and provides it to every component.
#[cfg(target_arch = "wasm32")]
pub fn provide_location(base_path: &str) -> Location {
    let location = Location {
        path: RwSignal::new(String::new()),
        query: RwSignal::new(String::new()),
        base: StoredValue::new(base_path.to_string()),
    };
    location.read_address();
    let back = window_event_listener(leptos::ev::popstate, move |_| location.read_address());
    let links =
        window_event_listener(leptos::ev::click, move |ev| match in_app_link(&ev, &location.base.get_value()) {
            Some(Link::Page(to)) => {
                ev.prevent_default();
                location.navigate(&to, false);
            }
            Some(Link::Here(id)) => {
                // `href="#main"` would resolve against `<base href>`, another page: go to the element on this one.
                ev.prevent_default();
                if let Some(target) = document().get_element_by_id(&id) {
                    target.scroll_into_view();
                    if let Ok(target) = target.dyn_into::<web_sys::HtmlElement>() {
                        let _ = target.focus();
                    }
                }
            }
            None => {}
        });
    on_cleanup(move || {
        back.remove();
        links.remove();
    });
    provide_context(location);
    location
}

/// The location provided by the app.
pub fn use_location() -> Location {
    expect_context::<Location>()
}

/// Where an in-app link goes.
#[cfg(target_arch = "wasm32")]
enum Link {
    /// A page of the app: the path below the base path and the query.
    Page(String),
    /// An element of the current page (`href="#main"`), by id.
    Here(String),
}

/// Where a click goes if the app should follow it without a page load: a plain left click on a link to this app's
/// pages (or to an element of this page) in the same tab. Anything else is left to the browser.
#[cfg(target_arch = "wasm32")]
fn in_app_link(ev: &leptos::ev::MouseEvent, base: &str) -> Option<Link> {
    if ev.default_prevented() || ev.button() != 0 || ev.meta_key() || ev.ctrl_key() || ev.shift_key() || ev.alt_key() {
        return None;
    }
    let element = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let anchor = element.closest("a[href]").ok()??.dyn_into::<web_sys::HtmlAnchorElement>().ok()?;
    if !matches!(anchor.target().as_str(), "" | "_self") || anchor.has_attribute("download") {
        return None;
    }
    if let Some(id) = anchor.get_attribute("href").as_deref().and_then(|h| h.strip_prefix('#')) {
        return Some(Link::Here(id.to_string()));
    }
    let here = window().location();
    if anchor.origin() != here.origin().ok()? {
        return None;
    }
    let pathname = anchor.pathname();
    let path = below_base(&pathname, base)?; // none: outside the app (another tool on the same host)
    if path.starts_with("/api/") {
        return None;
    }
    Some(Link::Page(format!("{path}{}", anchor.search())))
}

/// `pathname` below `base` (`/tools/ipscope/ips/1.2.3.4` → `/ips/1.2.3.4`, the base itself → `/`); `None` when it is
/// not under `base`.
pub fn below_base<'a>(pathname: &'a str, base: &str) -> Option<&'a str> {
    match pathname.strip_prefix(base)? {
        "" => Some("/"),
        rest => rest.starts_with('/').then_some(rest),
    }
}

/// The segments of `path`, percent-decoded: `/ips/2001%3Adb8%3A%3A1` → `["ips", "2001:db8::1"]`; `/` → `[]`.
pub fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(ipscope_api::query::percent_decode).collect()
}
