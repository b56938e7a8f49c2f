//! OpenID Connect access tokens: JWTs signed by the issuer's keys (RS256 or ES256), found through its discovery
//! document and refreshed when a token names a key not seen before. Permissions and device groups come from claims
//! named in a mapping file, so Microsoft Entra ID and Keycloak-style providers both work.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use super::Caller;
use crate::store::Scope;

/// How the server validates OpenID Connect tokens; fixed at start-up.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer, exactly as in its tokens' `iss` (e.g. `https://login.microsoftonline.com/{tenant}/v2.0`).
    pub issuer: String,
    /// The audience the tokens must name in `aud` (ipscope's API: an application id URI or client id).
    pub audience: String,
    /// Which claims carry the caller's name, permissions and groups, and which groups see which devices.
    pub claims: ClaimMapping,
    /// The app's own sign-in (a public client), if the app should sign analysts in with this provider.
    pub app: Option<AppSignIn>,
}

/// What the app needs to sign in with authorization code + PKCE (it has no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSignIn {
    /// The app's client id at the provider.
    pub client_id: String,
    /// The scopes to ask for, e.g. `openid api://ipscope/Ip.Read.All api://ipscope/Alert.Read`.
    pub scope: String,
}

/// The group mapping file (`--oidc-groups FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimMapping {
    /// The claim listing the identity provider's groups (or roles) of the caller: `groups` by default.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Claims holding Defender permission names, as a space-separated string or an array; a dotted path reaches
    /// into objects (`realm_access.roles`). Default: `scp` (delegated) and `roles` (application).
    #[serde(default = "default_permission_claims")]
    pub permission_claims: Vec<String>,
    /// Claims tried in order for the caller's name in the audit.
    #[serde(default = "default_name_claims")]
    pub name_claims: Vec<String>,
    /// Identity-provider group → the device groups it may see; `"*"` means every device.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_permission_claims() -> Vec<String> {
    vec!["scp".into(), "roles".into()]
}

fn default_name_claims() -> Vec<String> {
    ["preferred_username", "upn", "email", "name", "azp", "appid", "client_id", "sub"].map(String::from).to_vec()
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            groups_claim: default_groups_claim(),
            permission_claims: default_permission_claims(),
            name_claims: default_name_claims(),
            groups: BTreeMap::new(),
        }
    }
}

impl ClaimMapping {
    /// Reads a mapping file.
    pub fn load(path: &std::path::Path) -> Result<ClaimMapping, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The caller the validated `claims` stand for.
    ///
    /// Device groups: the union of what the caller's mapped groups may see. A caller with no mapped group sees
    /// every device if it is an application (no `scp` claim: client credentials), and none if it is a user.
    pub fn caller(&self, claims: &Value) -> Caller {
        let mut permissions: Vec<String> = Vec::new();
        for claim in &self.permission_claims {
            for p in strings(claim_at(claims, claim)) {
                if !permissions.contains(&p) {
                    permissions.push(p);
                }
            }
        }
        let mut all = false;
        let mut device_groups: Vec<String> = Vec::new();
        let mut mapped = false;
        for idp_group in strings(claim_at(claims, &self.groups_claim)) {
            if let Some(groups) = self.groups.get(&idp_group) {
                mapped = true;
                for g in groups {
                    if g == "*" {
                        all = true;
                    } else if !device_groups.contains(g) {
                        device_groups.push(g.clone());
                    }
                }
            }
        }
        let application = claims.get("scp").is_none() && claims.get("roles").is_some();
        let scope = if all || (!mapped && application) { Scope::All } else { Scope::groups(device_groups) };
        let name = self
            .name_claims
            .iter()
            .find_map(|c| claim_at(claims, c).and_then(Value::as_str).filter(|s| !s.is_empty()))
            .unwrap_or("(unnamed)")
            .to_string();
        Caller { name, permissions, scope, token_id: None }
    }
}

/// The value at a dotted claim path.
fn claim_at<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(claims, |v, key| v.get(key))
}

/// A claim as a list of strings: a space-separated string or an array of strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(String::from).collect(),
        _ => Vec::new(),
    }
}

/// Why a token was refused, or the provider could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The token is not acceptable; the message says why (401).
    #[error("{0}")]
    Invalid(String),
    /// The provider's discovery document or keys could not be fetched (503).
    #[error("the identity provider could not be reached: {0}")]
    Provider(String),
}

/// The algorithms accepted: asymmetric only, so a public key can never serve as an HMAC secret.
const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;
/// However many unknown key ids arrive, the keys are fetched at most this often (a provider publishes a new key
/// before it signs with it, so a real rotation is seen at once; a flood of made-up key ids costs one fetch).
pub const MIN_REFRESH: Duration = Duration::from_secs(2);

struct Keys {
    by_id: HashMap<String, (DecodingKey, Option<String>)>,
    fetched: Option<Instant>,
}

/// Validates tokens of one issuer, caching its keys.
pub struct OidcValidator {
    config: OidcConfig,
    http: reqwest::Client,
    keys: Mutex<Keys>,
}

impl OidcValidator {
    /// A validator for `config`; keys are fetched on first use.
    pub fn new(config: OidcConfig) -> OidcValidator {
        // reqwest is built without a default TLS crypto provider; install ring's once for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .expect("an HTTP client can be built");
        OidcValidator { config, http, keys: Mutex::new(Keys { by_id: HashMap::new(), fetched: None }) }
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn get_json(&self, url: &str) -> Result<Value, OidcError> {
        let response = self.http.get(url).send().await.map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(OidcError::Provider(format!("{url} answered {}", response.status())));
        }
        response.json().await.map_err(|e| OidcError::Provider(format!("{url}: {e}")))
    }

    /// Fetches the discovery document and the key set, replacing the cached keys.
    pub async fn refresh(&self) -> Result<usize, OidcError> {
        let issuer = self.config.issuer.trim_end_matches('/');
        let discovery = self.get_json(&format!("{issuer}/.well-known/openid-configuration")).await?;
        if discovery["issuer"].as_str() != Some(self.config.issuer.as_str()) {
            return Err(OidcError::Provider(format!(
                "the discovery document names the issuer {}, not {}",
                discovery["issuer"], self.config.issuer
            )));
        }
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| OidcError::Provider("the discovery document has no jwks_uri".into()))?;
        let set: JwkSet = serde_json::from_value(self.get_json(jwks_uri).await?)
            .map_err(|e| OidcError::Provider(format!("{jwks_uri}: not a JSON Web Key Set: {e}")))?;
        let mut by_id = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) else {
                continue; // keys without an id, or of types ipscope does not verify with
            };
            let alg = jwk.common.key_algorithm.map(|a| format!("{a:?}"));
            by_id.insert(kid, (key, alg));
        }
        let n = by_id.len();
        let mut keys = self.keys.lock().await;
        keys.by_id = by_id;
        keys.fetched = Some(Instant::now());
        Ok(n)
    }

    /// The key named `kid`, fetching the key set again if it is unknown (at most every `MIN_REFRESH`).
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Option<String>), OidcError> {
        {
            let keys = self.keys.lock().await;
            if let Some(found) = keys.by_id.get(kid) {
                return Ok(found.clone());
            }
            if keys.fetched.is_some_and(|t| t.elapsed() < MIN_REFRESH) {
                return Err(OidcError::Invalid(format!("The token is signed by an unknown key ('{kid}').")));
            }
        }
        self.refresh().await?;
        let keys = self.keys.lock().await;
        keys.by_id
            .get(kid)
            .cloned()
            .ok_or_else(|| OidcError::Invalid(format!("The token is signed by an unknown key ('{kid}').")))
    }

    /// The caller an access token stands for.
    pub async fn validate(&self, token: &str) -> Result<Caller, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| OidcError::Invalid(format!("The token is not a well-formed signed JWT: {e}.")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::Invalid(format!(
                "The token is signed with {:?}; only RS256 and ES256 are accepted.",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| OidcError::Invalid("The token names no signing key (kid).".into()))?;
        let (key, key_alg) = self.key(&kid).await?;
        if key_alg.is_some_and(|a| a != format!("{:?}", header.alg)) {
            return Err(OidcError::Invalid(format!("The token's algorithm does not match its key ('{kid}').")));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| OidcError::Invalid(format!("The token was refused: {e}.")))?;
        Ok(self.config.claims.caller(&data.claims))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn permissions_and_groups_come_from_the_mapped_claims() {
        let mapping: ClaimMapping = serde_json::from_value(json!({
            "groups": {"g-fin": ["Finance"], "g-eng": ["Engineering", "IT"], "g-soc": ["*"]}
        }))
        .unwrap();
        let user = mapping.caller(&json!({"scp": "Ip.Read.All Alert.Read", "groups": ["g-fin", "g-eng", "g-x"],
            "preferred_username": "ana@contoso.example"}));
        assert_eq!(user.name, "ana@contoso.example");
        assert_eq!(user.permissions, vec!["Ip.Read.All", "Alert.Read"]);
        assert_eq!(user.scope, Scope::groups(["Finance", "Engineering", "IT"]));

        let soc = mapping.caller(&json!({"scp": "Ip.Read.All", "groups": ["g-soc", "g-fin"]}));
        assert_eq!(soc.scope, Scope::All);

        let unmapped_user = mapping.caller(&json!({"scp": "Ip.Read.All", "groups": ["g-x"], "sub": "u1"}));
        assert_eq!((unmapped_user.scope, unmapped_user.name.as_str()), (Scope::groups(Vec::<String>::new()), "u1"));

        let app = mapping.caller(&json!({"roles": ["Ip.Read.All", "Machine.Read.All"], "azp": "soar"}));
        assert_eq!((app.scope, app.permissions.len(), app.name.as_str()), (Scope::All, 2, "soar"));
    }

    #[test]
    fn keycloak_style_claims_are_reached_by_dotted_paths() {
        let mapping: ClaimMapping = serde_json::from_value(json!({
            "groupsClaim": "groups",
            "permissionClaims": ["scope", "realm_access.roles"],
            "groups": {"/soc/finance": ["Finance"]}
        }))
        .unwrap();
        let caller = mapping.caller(&json!({"scope": "openid profile Ip.Read.All",
            "realm_access": {"roles": ["Alert.Read"]}, "groups": ["/soc/finance"]}));
        assert_eq!(caller.permissions, vec!["openid", "profile", "Ip.Read.All", "Alert.Read"]);
        assert_eq!(caller.scope, Scope::groups(["Finance"]));
        let unknown_field = serde_json::from_value::<ClaimMapping>(json!({"groupClaim": "groups"}));
        assert!(unknown_field.is_err(), "a misspelt setting is refused, not ignored");
    }
}
