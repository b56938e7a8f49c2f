//! Every in-app path, in one place: the segments the router matches and the hrefs of links between pages.
//! Hrefs carry the base path (`/tools/ipscope/ips/1.2.3.4`), so they stay inside a sub-path deployment.

use std::net::IpAddr;

/// The href of in-app `path`, with the base path.
fn link(path: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    return crate::config::global().link(path);
    #[cfg(not(target_arch = "wasm32"))]
    crate::prerender::config(|config| config.link(path))
}

/// `/ips/{ip}`: the IP page.
pub const IPS: &str = "ips";
/// `/machines/{id}`: the device page.
pub const MACHINES: &str = "machines";
/// `/alerts/{id}`: the alert page.
pub const ALERTS: &str = "alerts";
/// `/sign-in?next=…&why=…`: where an analyst without a token starts.
pub const SIGN_IN: &str = "sign-in";
/// `/signin-callback`: where the identity provider sends the browser back.
pub const SIGN_IN_CALLBACK: &str = "signin-callback";

/// Percent-encodes one path segment or query value (in Rust: a table's hundred links cost no calls into JavaScript).
pub fn encode(text: &str) -> String {
    ipscope_api::sign_in::percent_encode(text)
}

/// The home page.
pub fn home_href() -> String {
    link("")
}

/// The IP page of `ip`.
pub fn ip_href(ip: IpAddr) -> String {
    link(&ip_path(ip))
}

/// The IP page of `ip`, as `navigate` takes it (the router adds the base path).
pub fn ip_route(ip: IpAddr) -> String {
    crate::config::Config::route(&ip_path(ip))
}

fn ip_path(ip: IpAddr) -> String {
    format!("{IPS}/{ip}")
}

/// The IP page of an address the API gave as text; `None` if it is no address.
pub fn ip_href_text(ip: &str) -> Option<String> {
    ip.parse().ok().map(ip_href)
}

/// The device page of machine `id`.
pub fn machine_href(id: &str) -> String {
    link(&format!("{MACHINES}/{}", encode(id)))
}

/// The alert page of alert `id`.
pub fn alert_href(id: &str) -> String {
    link(&format!("{ALERTS}/{}", encode(id)))
}
