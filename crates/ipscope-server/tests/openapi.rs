//! The OpenAPI document matches the real answers: every documented path, called with real data,
//! answers 200 with a body that satisfies the documented schema, and the errors have the documented shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ipscope_server::auth::tokens::{self, NewToken};
use ipscope_server::geo::GeoDb;
use ipscope_server::import::{import, ImportFiles};
use ipscope_server::store::Store;
use ipscope_server::{app, AppState, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)
}

/// Checks `value` against `schema` (the subset of OpenAPI 3.0 the document uses); returns the problems.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at, problems);
    }
    if value.is_null() {
        if schema["nullable"] != Value::Bool(true) && schema.get("type").is_some() {
            problems.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        problems.push(format!("{at}: expected {}, got {value}", schema["type"]));
        return;
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            problems.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let Some(required) = schema["required"].as_array() {
        for key in required.iter().filter_map(Value::as_str) {
            if value.get(key).is_none() {
                problems.push(format!("{at}: missing required '{key}'"));
            }
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for (key, v) in object {
            match props.get(key) {
                Some(s) => check(doc, s, v, &format!("{at}.{key}"), problems),
                None => problems.push(format!("{at}: '{key}' is not documented")),
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            check(doc, &schema["items"], item, &format!("{at}[{i}]"), problems);
        }
    }
}

#[tokio::test]
async fn every_documented_path_answers_as_documented() {
    let dir = std::env::temp_dir().join(format!("ipscope-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("test.db")).unwrap();
    let files = ImportFiles {
        machines: Some(fixture("machines.json")),
        alerts: Some(fixture("alerts.json")),
        events: Some(fixture("events.csv")),
    };
    import(&store.data(), &files, &mut |_| {}).unwrap();
    let state = AppState::new(Arc::clone(&store), ServerConfig::default()).with_geo(GeoDb::load(&fixture("geo")));
    let router = app(state);
    let new = NewToken {
        name: "openapi".into(),
        permissions: vec!["Ip.Read.All".into(), "Alert.Read.All".into(), "Machine.Read.All".into()],
        device_groups: None,
        expires: None,
    };
    let token = store.call_blocking(|c| Ok(tokens::create(c, &new, chrono::Utc::now()).unwrap())).unwrap();
    let get = |uri: String| {
        let router = router.clone();
        let request =
            Request::get(&uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };

    let (status, doc) = get("/api/openapi.json".into()).await;
    assert_eq!(status, StatusCode::OK);
    let period = "from=2026-11-01T00:00:00Z&to=2026-11-26T00:00:00Z";
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri = path.replace("{ip}", "203.0.113.66").replace(
            "{id}",
            if path.starts_with("/api/alerts") {
                "da638100000000000000_222"
            } else {
                "fin-lt-0042.corp.contoso.example"
            },
        );
        let query = match path.as_str() {
            "/api/ips" => "?prefix=20".to_string(),
            p if p.ends_with("/devices") || p.ends_with("/prevalence") || p.ends_with("/connections") => {
                format!("?{period}")
            }
            _ => String::new(),
        };
        let (status, body) = get(format!("{uri}{query}")).await;
        assert_eq!(status, StatusCode::OK, "{uri}{query}: {body}");
        let schema = &item["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let mut problems = Vec::new();
        check(&doc, schema, &body, path, &mut problems);
        assert!(problems.is_empty(), "{path}: {problems:#?}");
        let security = &item["get"]["security"];
        if path == "/api/openapi.json" || path == "/api/health" {
            assert_eq!(security, &serde_json::json!([]), "{path} is public");
        } else {
            assert_eq!(security[0], serde_json::json!({"bearer": []}), "{path} documents its bearer token");
            assert!(item["get"]["responses"]["401"].is_object(), "{path} documents its 401");
            let permissions = item["get"]["x-permissions"].as_array().unwrap();
            assert_eq!(permissions.is_empty(), path == "/api/me", "{path} names its permissions");
        }
        let empty = body.get("value").and_then(Value::as_array).is_some_and(Vec::is_empty);
        assert!(!empty || path == "/api/ips/{ip}/profile", "{path} should return data with the fixtures: {body}");
        checked += 1;
    }
    assert_eq!(checked, 14, "every route is documented and checked");

    // The documented error shapes.
    let error_schema = serde_json::json!({"$ref": "#/components/schemas/Error"});
    for uri in ["/api/ips/1.2.3/alerts", "/api/alerts/nope/ips", "/api/ips/203.0.113.66/devices?$top=0"] {
        let (status, body) = get(uri.into()).await;
        assert!(status.is_client_error(), "{uri}");
        let mut problems = Vec::new();
        check(&doc, &error_schema, &body, uri, &mut problems);
        assert!(problems.is_empty(), "{uri}: {problems:#?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
