//! Query strings read and written as a browser's `URLSearchParams` does (`application/x-www-form-urlencoded`):
//! what the app's server-side rendering uses where the browser's own is not at hand (`prerender.rs`).

/// The pairs of `query` (`?a=1&b=x+y`, the `?` optional) in order: `+` is a space, `%XX` a byte, an invalid
/// escape kept as it is, bytes that are no UTF-8 replaced.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .strip_prefix('?')
        .unwrap_or(query)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(key), form_decode(value))
        })
        .collect()
}

/// `pairs` as a query string without the `?`: `a=1&b=x+y`.
pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", form_component(k), form_component(v))).collect::<Vec<_>>().join("&")
}

/// The first value of `key` in `pairs`.
pub fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Sets `key` to `value` in place of its first pair, removing any others; appended when absent.
pub fn query_set(pairs: &mut Vec<(String, String)>, key: &str, value: &str) {
    let mut seen = false;
    pairs.retain_mut(|(k, v)| {
        if k != key {
            return true;
        }
        let first = !seen;
        if first {
            *v = value.to_string();
        }
        seen = true;
        first // later pairs of `key` go
    });
    if !seen {
        pairs.push((key.to_string(), value.to_string()));
    }
}

/// A percent-decoded path segment (`2001%3Adb8%3A%3A1` → `2001:db8::1`); `+` stays `+`.
pub fn percent_decode(text: &str) -> String {
    decode(text, false)
}

fn form_decode(text: &str) -> String {
    decode(text, true)
}

fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' => match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One name or value encoded as a form does: spaces as `+`, everything but `*-._` and ASCII letters and digits
/// percent-encoded.
fn form_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"*-._".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_a_query_as_a_browser_does() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("?", &[]),
            ("?period=7d", &[("period", "7d")]),
            ("period=7d&filter=sales+lt", &[("period", "7d"), ("filter", "sales lt")]),
            ("?q=a%20b%2Bc&flag", &[("q", "a b+c"), ("flag", "")]),
            ("?bad=%zz%4", &[("bad", "%zz%4")]),
            ("?x=%C3%A9&&y=1", &[("x", "é"), ("y", "1")]),
            ("?x=%FF", &[("x", "\u{FFFD}")]),
        ];
        for (query, expected) in cases {
            assert_eq!(parse_query(query), pairs(expected), "{query}");
        }
    }

    #[test]
    fn writes_a_query_as_a_browser_does() {
        assert_eq!(
            query_string(&pairs(&[("filter", "sales lt/é"), ("sort", "a*b~")])),
            "filter=sales+lt%2F%C3%A9&sort=a*b%7E"
        );
        let mut list = pairs(&[("a", "1"), ("b", "2"), ("a", "3")]);
        query_set(&mut list, "a", "x");
        assert_eq!(list, pairs(&[("a", "x"), ("b", "2")]));
        query_set(&mut list, "c", "y z");
        assert_eq!(query_string(&list), "a=x&b=2&c=y+z");
        assert_eq!(query_get(&list, "c"), Some("y z"));
        assert_eq!(percent_decode("2001%3Adb8%3A%3A1+x"), "2001:db8::1+x");
    }
}
