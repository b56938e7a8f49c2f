//! OpenID Connect access tokens against a real provider on loopback (oauth2-mock-server): discovery, JWKS, key
//! rotation, and the tokens that must be refused (wrong audience or issuer, expired, not yet valid, `alg: none`,
//! HS256 signed with the public key as the secret, unknown key).

#[path = "../../../tests/support/oidc_provider.rs"]
#[allow(dead_code)] // shared with the browser tests, which use the rest
mod oidc_provider;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use std::time::Duration;

use ipscope_server::auth::oidc::{ClaimMapping, OidcConfig, MIN_REFRESH};
use ipscope_server::auth::AuthConfig;
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::store::Store;
use ipscope_server::{app, AppState, ServerConfig};
use oidc_provider::OidcProvider;
use serde_json::{json, Value};
use tower::ServiceExt;

const AUDIENCE: &str = "api://ipscope";

struct Setup {
    provider: OidcProvider,
    router: axum::Router,
    dir: std::path::PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup() -> Setup {
    let provider = OidcProvider::start();
    let dir = std::env::temp_dir().join(format!("ipscope-oidc-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("test.db")).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let files = ImportFiles {
        machines: Some(fixtures.join("machines.json")),
        alerts: Some(fixtures.join("alerts.json")),
        events: Some(fixtures.join("events.csv")),
    };
    import(&store.data(), &files, &mut |_| {}).unwrap();
    let claims: ClaimMapping =
        serde_json::from_value(json!({"groups": {"g-fin": ["Finance"], "g-soc": ["*"]}})).unwrap();
    let oidc = OidcConfig { issuer: provider.issuer.clone(), audience: AUDIENCE.into(), claims, app: None };
    let config = ServerConfig { auth: AuthConfig { disabled: false, oidc: Some(oidc) }, ..Default::default() };
    let router = app(AppState::new(Arc::clone(&store), config));
    Setup { provider, router, dir }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

async fn get(router: &axum::Router, uri: &str, token: &str) -> (StatusCode, Value, String) {
    let request = Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), challenge)
}

fn analyst() -> Value {
    json!({"aud": AUDIENCE, "scp": "Ip.Read.All Alert.Read", "groups": ["g-fin"], "preferred_username": "ana@contoso.example"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_issuer_are_accepted_with_their_permissions_and_groups() {
    let s = setup();
    let token = s.provider.token(analyst(), None).await;
    let (status, me, _) = get(&s.router, "/api/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        me,
        json!({"name": "ana@contoso.example", "permissions": ["Ip.Read.All", "Alert.Read"], "deviceGroups": ["Finance"]})
    );
    let (status, alerts, _) = get(&s.router, "/api/ips/203.0.113.66/alerts", &token).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = alerts["value"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["da638100000000000000_111"], "only the Finance device's alert");
    let (status, body, _) = get(&s.router, "/api/machines/fin-lt-0042.corp.contoso.example", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no Machine.Read in scp: {body}");

    let soc =
        s.provider.token(json!({"aud": AUDIENCE, "scp": "Ip.Read.All", "groups": ["g-soc", "g-fin"]}), None).await;
    assert_eq!(get(&s.router, "/api/me", &soc).await.1["deviceGroups"], Value::Null, "'*' sees every device");
    let app_token = s.provider.token(json!({"aud": AUDIENCE, "roles": ["Ip.Read.All"], "azp": "soar-app"}), None).await;
    let (_, me, _) = get(&s.router, "/api/me", &app_token).await;
    assert_eq!((me["name"].as_str(), &me["deviceGroups"]), (Some("soar-app"), &Value::Null), "an application sees all");
    let nobody = s.provider.token(json!({"aud": AUDIENCE, "scp": "Ip.Read.All", "sub": "u-7"}), None).await;
    assert_eq!(get(&s.router, "/api/me", &nobody).await.1["deviceGroups"], json!([]), "a user in no mapped group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signing_key_is_fetched_when_a_token_names_it() {
    let s = setup();
    let first = s.provider.token(analyst(), Some("k1")).await;
    assert_eq!(get(&s.router, "/api/me", &first).await.0, StatusCode::OK);
    // A key published after the last fetch is unknown until the refresh interval has passed.
    s.provider.rotate("RS256", "k2").await;
    let rotated = s.provider.token(analyst(), Some("k2")).await;
    let (status, body, _) = get(&s.router, "/api/me", &rotated).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "within the refresh interval of the last fetch: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("unknown key ('k2')"), "{body}");
    tokio::time::sleep(MIN_REFRESH + Duration::from_millis(100)).await;
    let (status, body, _) = get(&s.router, "/api/me", &rotated).await;
    assert_eq!(status, StatusCode::OK, "signed by the new key, accepted after the refresh: {body}");
    s.provider.rotate("ES256", "k3").await;
    tokio::time::sleep(MIN_REFRESH + Duration::from_millis(100)).await;
    let elliptic = s.provider.token(analyst(), Some("k3")).await;
    let (status, body, _) = get(&s.router, "/api/me", &elliptic).await;
    assert_eq!(status, StatusCode::OK, "ES256: {body}");
    assert_eq!(get(&s.router, "/api/me", &first).await.0, StatusCode::OK, "the old key still works while published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_misdirected_tokens_are_refused() {
    let s = setup();
    let now = chrono::Utc::now().timestamp();
    let with = |extra: Value| {
        let mut claims = analyst();
        claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        claims
    };
    let cases = [
        ("wrong audience", s.provider.token(with(json!({"aud": "api://other"})), None).await),
        ("wrong issuer", s.provider.token(with(json!({"iss": "https://evil.example"})), None).await),
        ("expired", s.provider.token(with(json!({"exp": now - 600})), None).await),
        ("not yet valid", s.provider.token(with(json!({"nbf": now + 600})), None).await),
    ];
    for (what, token) in &cases {
        let (status, body, challenge) = get(&s.router, "/api/me", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert!(challenge.contains("error=\"invalid_token\""), "{what}: {challenge}");
    }
    let (_, body, _) = get(&s.router, "/api/me", &cases[0].1).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("refused"), "{body}");

    // alg: none, with the claims of a valid token.
    let valid = s.provider.token(analyst(), None).await;
    let payload = valid.split('.').nth(1).unwrap();
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{payload}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})));
    let (status, body, _) = get(&s.router, "/api/me", &none).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "alg none: {body}");

    // HS256 signed with the issuer's public key as the HMAC secret.
    let pem = s.provider.public_key_pem("k1").await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    let mut claims = analyst();
    claims["iss"] = json!(s.provider.issuer);
    claims["exp"] = json!(now + 600);
    let forged =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(pem.as_bytes())).unwrap();
    let (status, body, _) = get(&s.router, "/api/me", &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "HS256 with the public key: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("only RS256 and ES256"), "{body}");

    // A valid signature under a key id the provider never published.
    let unknown =
        format!("{}.{payload}.{}", b64(&json!({"alg": "RS256", "kid": "nope"})), valid.split('.').nth(2).unwrap());
    assert_eq!(get(&s.router, "/api/me", &unknown).await.0, StatusCode::UNAUTHORIZED);
    // The signature of another token.
    let other = s.provider.token(with(json!({"groups": ["g-soc"]})), None).await;
    let spliced = format!(
        "{}.{}.{}",
        other.split('.').next().unwrap(),
        other.split('.').nth(1).unwrap(),
        valid.split('.').nth(2).unwrap()
    );
    assert_eq!(get(&s.router, "/api/me", &spliced).await.0, StatusCode::UNAUTHORIZED, "a spliced signature");
}
