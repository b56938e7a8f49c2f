//! Signing in, as plain functions: the app's `auth` settings, PKCE's encodings, the authorization request, the
//! path to return to afterwards, and a token handed over in a link's fragment.

use serde::{Deserialize, Serialize};

/// How the app signs analysts in (`auth` in `config.json`; ipscope's server fills it in from its options).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AuthSettings {
    /// The server authenticates nothing itself (`--no-auth` behind an authenticating proxy).
    None,
    /// ipscope's own tokens, pasted on the sign-in page or handed over by a sign-in link or a dashboard.
    #[default]
    Token,
    /// OpenID Connect: authorization code flow with PKCE, as a public client (no secret).
    Oidc {
        /// The issuer; its discovery document names the endpoints.
        issuer: String,
        /// The app's client id at the provider.
        #[serde(rename = "clientId")]
        client_id: String,
        /// The scopes to ask for.
        scope: String,
    },
}

impl AuthSettings {
    /// Whether API calls need a token.
    pub fn needs_token(&self) -> bool {
        !matches!(self, AuthSettings::None)
    }
}

/// By hand: serde's internally tagged form (`{"type": "oidc", ...}`) is not one the `json` derives copy.
impl crate::json::FromJson for AuthSettings {
    fn from_json(value: &crate::json::Json) -> Result<Self, crate::json::JsonError> {
        use crate::json::{field, finish, object, JsonError};
        let members = object(value)?;
        let mut first = None;
        let settings = match field::<String>(members, "type", &mut first).as_str() {
            "none" => AuthSettings::None,
            "token" => AuthSettings::Token,
            "oidc" => AuthSettings::Oidc {
                issuer: field(members, "issuer", &mut first),
                client_id: field(members, "clientId", &mut first),
                scope: field(members, "scope", &mut first),
            },
            other => return Err(first.unwrap_or_else(|| JsonError::unknown_value(other).within("type"))),
        };
        finish(settings, first)
    }

    fn fallback() -> Self {
        AuthSettings::default()
    }
}

/// RFC 4648 base64url without padding (PKCE's verifier and challenge, `state`).
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=2`, each value percent-encoded: a query string or an `application/x-www-form-urlencoded` body.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect::<Vec<_>>().join("&")
}

/// What the authorization request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest<'a> {
    /// The provider's `authorization_endpoint`.
    pub endpoint: &'a str,
    /// The app's client id.
    pub client_id: &'a str,
    /// Where the provider sends the code: the app's `signin-callback` route.
    pub redirect_uri: &'a str,
    /// Scopes asked for.
    pub scope: &'a str,
    /// Random value tying the answer to this request.
    pub state: &'a str,
    /// `base64url(SHA-256(verifier))`.
    pub code_challenge: &'a str,
}

impl AuthorizationRequest<'_> {
    /// The URL to send the browser to.
    pub fn url(&self) -> String {
        let query = form_encode(&[
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("state", self.state),
            ("code_challenge", self.code_challenge),
            ("code_challenge_method", "S256"),
        ]);
        let separator = if self.endpoint.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", self.endpoint)
    }
}

/// The in-app path to return to after signing in: `next` if it is a path of this app (starts with one `/`),
/// else `/`, so a crafted link cannot send the analyst to another site.
pub fn safe_return_path(next: &str) -> &str {
    let inside = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.starts_with("/sign-in")
        && !next.starts_with("/signin-callback");
    if inside {
        next
    } else {
        "/"
    }
}

/// The token in a sign-in link's fragment (`#token=...`), if there is one.
pub fn fragment_token(hash: &str) -> Option<String> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    hash.split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 16_384 && t.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_and_the_pkce_example() {
        let check = |input: &[u8], expected: &str| assert_eq!(base64url(input), expected, "{input:?}");
        check(b"", "");
        check(b"f", "Zg");
        check(b"fo", "Zm8");
        check(b"foo", "Zm9v");
        check(b"foob", "Zm9vYg");
        check(&[0xfb, 0xff], "-_8");
        // RFC 7636 appendix B: the challenge of its example verifier (the SHA-256 digest given there).
        let digest = [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120, 173, 109, 241, 68, 86,
            110, 225, 137, 74, 203, 112, 249, 195,
        ];
        check(&digest, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn the_authorization_request_carries_pkce_and_state() {
        let request = AuthorizationRequest {
            endpoint: "https://login.example/authorize",
            client_id: "ipscope-app",
            redirect_uri: "http://127.0.0.1:8080/tools/ipscope/signin-callback",
            scope: "openid api://ipscope/Ip.Read.All",
            state: "s1",
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        };
        assert_eq!(
            request.url(),
            "https://login.example/authorize?response_type=code&client_id=ipscope-app\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Ftools%2Fipscope%2Fsignin-callback\
             &scope=openid%20api%3A%2F%2Fipscope%2FIp.Read.All&state=s1\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        let with_query = AuthorizationRequest { endpoint: "https://login.example/authorize?p=x", ..request };
        assert!(with_query.url().starts_with("https://login.example/authorize?p=x&response_type=code"));
    }

    #[test]
    fn only_in_app_paths_are_returned_to() {
        let check = |next: &str, expected: &str| assert_eq!(safe_return_path(next), expected, "{next}");
        check("/ips/203.0.113.66?period=7d", "/ips/203.0.113.66?period=7d");
        check("/", "/");
        check("//evil.example/x", "/");
        check("https://evil.example", "/");
        check("/\\evil.example", "/");
        check("/sign-in?next=/x", "/");
        check("", "/");
    }

    #[test]
    fn a_sign_in_link_hands_over_its_token() {
        let check =
            |hash: &str, expected: Option<&str>| assert_eq!(fragment_token(hash).as_deref(), expected, "{hash}");
        check("#token=ipscope_ab_cd", Some("ipscope_ab_cd"));
        check("#x=1&token=abc", Some("abc"));
        check("#token=", None);
        check("#section", None);
        check("", None);
        check("#token=a b", None);
    }

    #[test]
    fn auth_settings_read_as_the_server_writes_them() {
        let oidc: AuthSettings = serde_json::from_str(
            r#"{"type": "oidc", "issuer": "https://id.example", "clientId": "app", "scope": "openid"}"#,
        )
        .unwrap();
        assert!(matches!(&oidc, AuthSettings::Oidc { client_id, .. } if client_id == "app"));
        assert_eq!(serde_json::from_str::<AuthSettings>(r#"{"type": "token"}"#).unwrap(), AuthSettings::Token);
        assert!(!serde_json::from_str::<AuthSettings>(r#"{"type": "none"}"#).unwrap().needs_token());
    }
}
