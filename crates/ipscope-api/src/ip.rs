//! Turning what an analyst types or pastes into an IP address, and saying what kind of address it is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Why a piece of text is not an IP address, in words an analyst can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpInputError {
    /// Nothing but whitespace was given.
    #[error("Enter an IPv4 or IPv6 address.")]
    Empty,
    /// An IPv4 octet with a leading zero, which some tools read as octal (`010.1.1.1`).
    #[error("“{0}” has an octet with a leading zero, which is ambiguous (octal or decimal); write it without leading zeros.")]
    LeadingZero(String),
    /// Anything else that is not an address.
    #[error("“{0}” is not an IPv4 or IPv6 address.")]
    NotAnAddress(String),
}

/// Parses analyst input into an address: trims whitespace, undoes defanging (`1[.]2[.]3[.]4`, `hxxp://`),
/// drops a URL scheme, path or port, and maps IPv4-mapped IPv6 (`::ffff:1.2.3.4`) to IPv4.
///
/// Only the canonical dotted-decimal and standard IPv6 forms are accepted; octal, hex and shortened IPv4
/// forms (`010.1.1.1`, `0x7f.1`, `127.1`) are rejected rather than guessed at.
pub fn parse_ip_input(input: &str) -> Result<IpAddr, IpInputError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(IpInputError::Empty);
    }
    let refanged = refang(trimmed);
    let host = strip_url_parts(&refanged);
    match parse_strict(host) {
        Some(ip) => Ok(ip.to_canonical()),
        None if looks_like_leading_zero_ipv4(host) => Err(IpInputError::LeadingZero(trimmed.to_string())),
        None => Err(IpInputError::NotAnAddress(trimmed.to_string())),
    }
}

/// Parses an address as stored or sent on the wire: no trimming or defanging, strict forms only,
/// IPv4-mapped IPv6 mapped to IPv4. The server uses this for path parameters.
pub fn parse_ip_strict(text: &str) -> Result<IpAddr, IpInputError> {
    match parse_strict(text) {
        Some(ip) => Ok(ip.to_canonical()),
        None if text.trim().is_empty() => Err(IpInputError::Empty),
        None if looks_like_leading_zero_ipv4(text) => Err(IpInputError::LeadingZero(text.to_string())),
        None => Err(IpInputError::NotAnAddress(text.to_string())),
    }
}

fn parse_strict(text: &str) -> Option<IpAddr> {
    // std's parsers already refuse leading zeros, hex and shortened IPv4 forms, and zone ids.
    IpAddr::from_str(text).ok()
}

fn looks_like_leading_zero_ipv4(text: &str) -> bool {
    let octets: Vec<&str> = text.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| !o.is_empty() && o.len() <= 4 && o.bytes().all(|b| b.is_ascii_digit()))
        && octets.iter().any(|o| o.len() > 1 && o.starts_with('0'))
}

fn refang(text: &str) -> String {
    let mut out = text.to_string();
    for (from, to) in
        [("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."), ("[:]", ":"), ("[://]", "://")]
    {
        out = out.replace(from, to);
    }
    let lower = out.to_ascii_lowercase();
    for scheme in ["hxxps://", "hxxp://", "https://", "http://", "fxp://", "ftp://"] {
        if lower.starts_with(scheme) {
            return out[scheme.len()..].to_string();
        }
    }
    out
}

/// Drops a trailing path (`1.2.3.4/x`), a port (`1.2.3.4:443`, `[2001:db8::1]:443`) and IPv6 brackets.
fn strip_url_parts(text: &str) -> &str {
    let host = text.split('/').next().unwrap_or(text);
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        // Exactly one colon: an IPv4 address (or name) with a port. IPv6 has at least two.
        Some((addr, port)) if !addr.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => addr,
        _ => host,
    }
}

/// The kind of address, from the IANA special-purpose registries. Anything not special is `Public`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, crate::json::FromJson)]
#[serde(rename_all = "camelCase")]
pub enum AddressClass {
    /// Globally routable.
    Public,
    /// RFC 1918 private IPv4 (10/8, 172.16/12, 192.168/16).
    Private,
    /// IPv6 unique local (fc00::/7), the IPv6 counterpart of private ranges.
    UniqueLocal,
    /// RFC 6598 carrier-grade NAT shared space (100.64/10).
    Cgnat,
    /// 127/8 and ::1.
    Loopback,
    /// 169.254/16 and fe80::/10.
    LinkLocal,
    /// 224/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32).
    Documentation,
    /// Benchmarking (198.18/15, 2001:2::/48).
    Benchmarking,
    /// 0.0.0.0 and ::.
    Unspecified,
    /// Other reserved space (0/8, 240/4, 192.0.0/24, 64:ff9b::/96 translation and similar).
    Reserved,
}

impl AddressClass {
    /// A short human label, e.g. "Private (RFC 1918)".
    pub fn label(self) -> &'static str {
        match self {
            AddressClass::Public => "Public",
            AddressClass::Private => "Private (RFC 1918)",
            AddressClass::UniqueLocal => "Unique local (IPv6 private)",
            AddressClass::Cgnat => "Carrier-grade NAT (RFC 6598)",
            AddressClass::Loopback => "Loopback",
            AddressClass::LinkLocal => "Link-local",
            AddressClass::Multicast => "Multicast",
            AddressClass::Broadcast => "Broadcast",
            AddressClass::Documentation => "Documentation (not routable)",
            AddressClass::Benchmarking => "Benchmarking (RFC 2544)",
            AddressClass::Unspecified => "Unspecified",
            AddressClass::Reserved => "Reserved",
        }
    }

    /// Whether the address is routable on the internet, so that geolocation is meaningful.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }
}

/// Classifies an address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip.to_canonical() {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if a == 100 && (64..128).contains(&b) {
        AddressClass::Cgnat
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if ip.is_documentation() {
        AddressClass::Documentation
    } else if a == 198 && (b == 18 || b == 19) {
        AddressClass::Benchmarking
    } else if a == 0 || a >= 240 || (a == 192 && b == 0 && c == 0) {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if s[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if s[0] & 0xfe00 == 0xfc00 {
        AddressClass::UniqueLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        AddressClass::Documentation
    } else if s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0 {
        AddressClass::Benchmarking
    } else if s[0] & 0xe000 != 0x2000 {
        // Only 2000::/3 is allocated as global unicast; the rest (64:ff9b::/96 translation,
        // 100::/64 discard, the unallocated space) is not an internet host.
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// The start of an address as typed, normalised (trimmed, lower case), if it could be one: 1 to 45 of the
/// characters addresses are written with (digits, a-f, `.`, `:`). The search box asks for suggestions only then,
/// and `GET /ips?prefix=` accepts nothing else.
pub fn suggestion_prefix(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_lowercase();
    let ok = !t.is_empty() && t.len() <= 45 && t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
    ok.then_some(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggestion_prefixes_are_starts_of_addresses() {
        use super::suggestion_prefix;
        for (typed, prefix) in [
            ("10.0", Some("10.0")),
            ("  2001:DB8:: ", Some("2001:db8::")),
            ("fe80", Some("fe80")),
            ("", None),
            ("   ", None),
            ("10.0.0.1/24", None),
            ("host.example", None),
            ("1.2.3.4%eth0", None),
        ] {
            assert_eq!(suggestion_prefix(typed).as_deref(), prefix, "{typed:?}");
        }
        assert_eq!(suggestion_prefix(&"1".repeat(45)).map(|p| p.len()), Some(45));
        assert_eq!(suggestion_prefix(&"1".repeat(46)), None);
    }

    use super::*;

    fn check(input: &str, expected: Result<&str, IpInputError>) {
        let got = parse_ip_input(input).map(|ip| ip.to_string());
        assert_eq!(got.as_deref().map_err(Clone::clone), expected, "input {input:?}");
    }

    #[test]
    fn parses_plain_and_pasted_forms() {
        check("8.8.8.8", Ok("8.8.8.8"));
        check("  203.0.113.7\n", Ok("203.0.113.7"));
        check("1[.]2[.]3[.]4", Ok("1.2.3.4"));
        check("1(.)2(.)3(.)4", Ok("1.2.3.4"));
        check("hxxp://45[.]77[.]12[.]9/payload.bin", Ok("45.77.12.9"));
        check("HXXPS://45.77.12.9:8443/", Ok("45.77.12.9"));
        check("45.77.12.9:443", Ok("45.77.12.9"));
        check("2001:db8::1", Ok("2001:db8::1"));
        check("2001:DB8:0:0:0:0:0:1", Ok("2001:db8::1"));
        check("[2001:db8::1]:443", Ok("2001:db8::1"));
        check("2001[:]db8[:][:]1", Ok("2001:db8::1"));
        check("::ffff:192.0.2.1", Ok("192.0.2.1"));
    }

    #[test]
    fn rejects_ambiguous_and_malformed_forms() {
        check("", Err(IpInputError::Empty));
        check("   ", Err(IpInputError::Empty));
        check("010.1.1.1", Err(IpInputError::LeadingZero("010.1.1.1".into())));
        check("0x7f.0.0.1", Err(IpInputError::NotAnAddress("0x7f.0.0.1".into())));
        check("127.1", Err(IpInputError::NotAnAddress("127.1".into())));
        check("256.1.1.1", Err(IpInputError::NotAnAddress("256.1.1.1".into())));
        check("1.2.3.4.5", Err(IpInputError::NotAnAddress("1.2.3.4.5".into())));
        check("example.com", Err(IpInputError::NotAnAddress("example.com".into())));
        check("fe80::1%eth0", Err(IpInputError::NotAnAddress("fe80::1%eth0".into())));
        check("<script>", Err(IpInputError::NotAnAddress("<script>".into())));
    }

    #[test]
    fn strict_parsing_does_not_refang() {
        assert!(parse_ip_strict("1[.]2[.]3[.]4").is_err());
        assert!(parse_ip_strict(" 1.2.3.4").is_err());
        assert_eq!(parse_ip_strict("010.1.1.1"), Err(IpInputError::LeadingZero("010.1.1.1".into())));
        assert_eq!(parse_ip_strict("::ffff:10.0.0.1").unwrap().to_string(), "10.0.0.1");
    }

    fn check_class(ip: &str, expected: AddressClass) {
        assert_eq!(classify(ip.parse().unwrap()), expected, "address {ip}");
    }

    #[test]
    fn classifies_special_ranges() {
        check_class("8.8.8.8", AddressClass::Public);
        check_class("10.1.2.3", AddressClass::Private);
        check_class("172.31.255.255", AddressClass::Private);
        check_class("172.32.0.1", AddressClass::Public);
        check_class("192.168.0.1", AddressClass::Private);
        check_class("100.64.0.1", AddressClass::Cgnat);
        check_class("100.128.0.1", AddressClass::Public);
        check_class("127.0.0.1", AddressClass::Loopback);
        check_class("169.254.1.1", AddressClass::LinkLocal);
        check_class("224.0.0.251", AddressClass::Multicast);
        check_class("255.255.255.255", AddressClass::Broadcast);
        check_class("203.0.113.9", AddressClass::Documentation);
        check_class("198.18.0.1", AddressClass::Benchmarking);
        check_class("0.0.0.0", AddressClass::Unspecified);
        check_class("0.1.2.3", AddressClass::Reserved);
        check_class("240.0.0.1", AddressClass::Reserved);
        check_class("2606:4700::1111", AddressClass::Public);
        check_class("::1", AddressClass::Loopback);
        check_class("fe80::1", AddressClass::LinkLocal);
        check_class("fd12:3456::1", AddressClass::UniqueLocal);
        check_class("ff02::1", AddressClass::Multicast);
        check_class("2001:db8::5", AddressClass::Documentation);
        check_class("64:ff9b::808:808", AddressClass::Reserved);
        check_class("::", AddressClass::Unspecified);
    }
}
