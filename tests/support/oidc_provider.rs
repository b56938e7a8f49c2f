//! The OpenID Connect provider of the sign-in tests: `tests/oidc/provider.mjs` (oauth2-mock-server on loopback,
//! installed by `cargo xtask test`), with its control API for minting tokens, rotating keys and setting the claims
//! of the next sign-in. Shared by the server's tests and the browser tests; the provider stops when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// A running provider.
pub struct OidcProvider {
    child: Child,
    /// Its issuer URL (`iss`, and the discovery document's base).
    pub issuer: String,
    control: String,
    http: reqwest::Client,
}

fn provider_script() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let script = dir.join("tests/oidc/provider.mjs");
        if script.is_file() {
            return script;
        }
        assert!(dir.pop(), "tests/oidc/provider.mjs not found above {}", env!("CARGO_MANIFEST_DIR"));
    }
}

/// An HTTP client. reqwest is built without a default TLS crypto provider (the server installs ring's); install it
/// here too, for test binaries that build clients before any server does.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl OidcProvider {
    /// Starts the provider with one RS256 key, `k1`.
    pub fn start() -> OidcProvider {
        let script = provider_script();
        let installed = script.parent().unwrap().join("node_modules/oauth2-mock-server").is_dir();
        assert!(installed, "the test OpenID provider is not installed: run `cargo xtask test` (npm ci in tests/oidc)");
        let mut child = Command::new("node")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("provider said {line:?}: {e}"));
        OidcProvider {
            child,
            issuer: started["issuer"].as_str().unwrap().to_string(),
            control: started["control"].as_str().unwrap().to_string(),
            http: http_client(),
        }
    }

    async fn call(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}{path}", self.control)).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.text().await.unwrap_or_default());
        response.json().await.unwrap()
    }

    /// A token with the provider's standard claims (`iss`, `iat`, `nbf`, `exp` in an hour) plus `claims`, signed
    /// by the key `kid` (the newest key if `None`).
    pub async fn token(&self, claims: Value, kid: Option<&str>) -> String {
        let body = json!({"claims": claims, "kid": kid});
        self.call("/token", body).await["token"].as_str().unwrap().to_string()
    }

    /// Adds a new signing key (`RS256` or `ES256`) named `kid`; tokens are signed with it from now on.
    pub async fn rotate(&self, alg: &str, kid: &str) {
        self.call("/rotate", json!({"alg": alg, "kid": kid})).await;
    }

    /// The claims the access token of the next authorization-code sign-in carries.
    pub async fn set_sign_in_claims(&self, claims: Value) {
        self.call("/profile", json!({"claims": claims})).await;
    }

    /// The public key `kid` as PEM (for forging an HS256 token with it as the secret).
    pub async fn public_key_pem(&self, kid: &str) -> String {
        self.call("/public-key-pem", json!({"kid": kid})).await["pem"].as_str().unwrap().to_string()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
