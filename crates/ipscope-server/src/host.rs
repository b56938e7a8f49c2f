//! The `Host` check: any web page can make an analyst's browser send requests to loopback, and DNS rebinding can
//! make them same-origin; so the server answers only requests naming a host it serves.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::error_response;

/// The host names and addresses the server answers to: loopback ones always, plus those configured.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    /// Loopback names and addresses, plus `extra` (names or addresses, without a port).
    pub fn new(extra: &[String]) -> Arc<AllowedHosts> {
        let names = extra.iter().map(|h| normalize(h)).filter(|h| !h.is_empty()).collect();
        Arc::new(AllowedHosts { names })
    }

    /// Whether a `Host` header value (`name`, `name:port`, `[v6]:port`) names a host the server serves.
    pub fn allows(&self, host: &str) -> bool {
        let name = normalize(host_name(host));
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        if name.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback()) {
            return true;
        }
        self.names.contains(&name)
    }
}

/// The host part of a `Host` value: without the port, IPv6 without brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn normalize(name: &str) -> String {
    name.trim().trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

/// The middleware: refuses requests naming a host the server does not serve (421). A request without a host
/// (HTTP/1.0, in-process tests) cannot come from a browser and passes.
pub async fn check(State(hosts): State<Arc<AllowedHosts>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_string())
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(host) if !hosts.allows(&host) => {
            let shown: String = host.chars().filter(|c| !c.is_control()).take(100).collect();
            tracing::warn!("refused a request for the host '{shown}' (start with --allowed-host to serve it)");
            error_response(
                StatusCode::MISDIRECTED_REQUEST,
                "MisdirectedRequest",
                format!(
                    "This server does not serve the host '{shown}'; its operator can allow it with --allowed-host."
                ),
            )
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_configured_hosts_only() {
        let hosts = AllowedHosts::new(&["ipscope.soc.example".into(), "10.0.0.5".into(), "[2001:db8::5]".into()]);
        let check = |host: &str, expected: bool| assert_eq!(hosts.allows(host), expected, "{host}");
        check("localhost:8080", true);
        check("LOCALHOST", true);
        check("127.0.0.1:8080", true);
        check("127.8.0.1", true);
        check("[::1]:8080", true);
        check("ipscope.soc.example", true);
        check("IPScope.SOC.example.:443", true);
        check("10.0.0.5:8080", true);
        check("[2001:db8::5]:8080", true);
        check("attacker.example:8080", false);
        check("ipscope.soc.example.attacker.example", false);
        check("10.0.0.6", false);
        check("", false);
    }
}
