//! Alerts as the Defender alerts API returns them, and as Microsoft Graph's security API (`alerts_v2`) does: a
//! Graph alert is turned into the Defender shape (its `ipEvidence` into `Ip` evidence, the `mdeDeviceId` of its
//! device evidence into `machineId`). A missing or null `alertCreationTime` (documented as nullable) falls back to
//! the first event time.

use serde_json::{json, Map, Value};

use ipscope_api::wire::Alert;

/// Whether `alert` is in Microsoft Graph's shape.
fn is_graph(alert: &Map<String, Value>) -> bool {
    alert.contains_key("createdDateTime")
        || alert.get("@odata.type").and_then(Value::as_str).is_some_and(|t| t.contains("microsoft.graph"))
        || alert
            .get("evidence")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().any(|item| item.get("@odata.type").is_some()))
}

/// `high` → `High`, `inProgress` → `InProgress`.
fn pascal(value: Option<&Value>) -> Option<Value> {
    let text = value?.as_str()?;
    let mut chars = text.chars();
    let first = chars.next()?;
    Some(Value::String(first.to_uppercase().chain(chars).collect()))
}

/// The Defender shape of one Graph evidence item, if it is one ipscope shows.
fn graph_evidence(item: &Value) -> Option<Value> {
    let kind = item.get("@odata.type")?.as_str()?.rsplit('.').next()?.trim_end_matches("Evidence").to_string();
    let created = item.get("createdDateTime").cloned().unwrap_or(Value::Null);
    Some(match kind.as_str() {
        "ip" => json!({"entityType": "Ip", "ipAddress": item.get("ipAddress"), "evidenceCreationTime": created}),
        "url" => json!({"entityType": "Url", "url": item.get("url"), "evidenceCreationTime": created}),
        "file" => {
            let details = item.get("fileDetails").cloned().unwrap_or(Value::Null);
            json!({"entityType": "File", "fileName": details.get("fileName"), "sha1": details.get("sha1"),
                   "sha256": details.get("sha256"), "filePath": details.get("filePath"),
                   "evidenceCreationTime": created})
        }
        "process" => {
            let image = item.get("imageFile").cloned().unwrap_or(Value::Null);
            json!({"entityType": "Process", "fileName": image.get("fileName"), "sha1": image.get("sha1"),
                   "processCommandLine": item.get("processCommandLine"), "evidenceCreationTime": created})
        }
        "device" => json!({"entityType": "Machine", "evidenceCreationTime": created}),
        other => json!({"entityType": pascal(Some(&json!(other))), "evidenceCreationTime": created}),
    })
}

/// A Graph alert in the Defender shape.
fn from_graph(graph: &Map<String, Value>) -> Map<String, Value> {
    let get = |k: &str| graph.get(k).cloned().unwrap_or(Value::Null);
    let evidence: Vec<Value> = graph
        .get("evidence")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(graph_evidence).collect())
        .unwrap_or_default();
    let device = graph.get("evidence").and_then(Value::as_array).and_then(|e| {
        e.iter()
            .find(|item| item.get("@odata.type").and_then(Value::as_str).is_some_and(|t| t.ends_with("deviceEvidence")))
    });
    let severity = match graph.get("severity").and_then(Value::as_str) {
        Some("unknown") | None => json!("UnSpecified"),
        other => pascal(other.map(|s| json!(s)).as_ref()).unwrap_or(Value::Null),
    };
    let status = match graph.get("status").and_then(Value::as_str) {
        Some(s @ ("new" | "inProgress" | "resolved")) => pascal(Some(&json!(s))).unwrap_or(Value::Null),
        _ => json!("Unknown"),
    };
    let incident = graph.get("incidentId").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    let mut alert = Map::new();
    for (key, value) in [
        ("id", get("id")),
        ("incidentId", json!(incident)),
        ("assignedTo", get("assignedTo")),
        ("severity", severity),
        ("status", status),
        ("classification", pascal(graph.get("classification")).unwrap_or(Value::Null)),
        ("determination", pascal(graph.get("determination")).unwrap_or(Value::Null)),
        ("detectionSource", pascal(graph.get("detectionSource")).unwrap_or(Value::Null)),
        ("detectorId", get("detectorId")),
        ("category", get("category")),
        ("threatFamilyName", get("threatFamilyName")),
        ("title", get("title")),
        ("description", get("description")),
        ("alertCreationTime", get("createdDateTime")),
        ("firstEventTime", get("firstActivityDateTime")),
        ("lastEventTime", get("lastActivityDateTime")),
        ("lastUpdateTime", get("lastUpdateDateTime")),
        ("resolvedTime", get("resolvedDateTime")),
        ("machineId", device.and_then(|d| d.get("mdeDeviceId")).cloned().unwrap_or(Value::Null)),
        ("computerDnsName", device.and_then(|d| d.get("deviceDnsName")).cloned().unwrap_or(Value::Null)),
        ("mitreTechniques", graph.get("mitreTechniques").cloned().unwrap_or(json!([]))),
        ("evidence", Value::Array(evidence)),
    ] {
        alert.insert(key.to_string(), value);
    }
    alert
}

/// One alert of either shape, as ipscope stores it.
pub(super) fn to_alert(value: Value) -> Result<Alert, String> {
    let Value::Object(mut alert) = value else {
        return Err("an alert is not a JSON object".into());
    };
    if is_graph(&alert) {
        alert = from_graph(&alert);
    }
    let id = alert.get("id").and_then(Value::as_str).unwrap_or("?").to_string();
    if alert.get("alertCreationTime").is_none_or(Value::is_null) {
        match alert.get("firstEventTime").filter(|v| !v.is_null()).cloned() {
            Some(first) => {
                alert.insert("alertCreationTime".into(), first);
            }
            None if alert.contains_key("alertCreationTime") => {
                return Err(format!(
                    "alert '{id}' has a null alertCreationTime and no firstEventTime; ipscope needs a time to order it"
                ));
            }
            None => {} // reported with the other missing fields
        }
    }
    serde_json::from_value(Value::Object(alert)).map_err(|e| format!("alert '{id}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_alert_becomes_a_defender_alert() {
        let graph = json!({
            "@odata.type": "#microsoft.graph.security.alert",
            "id": "da638400000000000000_1", "incidentId": "42", "title": "C2 beacon", "severity": "high",
            "status": "inProgress", "category": "CommandAndControl", "detectionSource": "microsoftDefenderForEndpoint",
            "createdDateTime": "2026-11-20T08:00:00Z", "firstActivityDateTime": "2026-11-20T07:56:00Z",
            "evidence": [
                {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.66"},
                {"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "1e5b", "deviceDnsName": "fin-lt"},
                {"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileName": "a.exe", "sha1": "ab"}}
            ]
        });
        let alert = to_alert(graph).unwrap();
        assert_eq!((alert.severity.as_str(), alert.status.as_str()), ("High", "InProgress"));
        assert_eq!((alert.machine_id.as_deref(), alert.computer_dns_name.as_deref()), (Some("1e5b"), Some("fin-lt")));
        assert_eq!(alert.incident_id, Some(42));
        let kinds: Vec<&str> = alert.evidence.iter().map(|e| e.entity_type.as_str()).collect();
        assert_eq!(kinds, ["Ip", "Machine", "File"]);
        assert_eq!(alert.evidence[0].ip_address.as_deref(), Some("203.0.113.66"));
    }

    #[test]
    fn a_null_creation_time_falls_back_to_the_first_event() {
        let alert = to_alert(json!({"id": "a1", "title": "t", "severity": "Low", "status": "New",
            "alertCreationTime": null, "firstEventTime": "2026-11-20T07:56:00Z"}))
        .unwrap();
        assert_eq!(alert.alert_creation_time.to_rfc3339(), "2026-11-20T07:56:00+00:00");
        let none = to_alert(json!({"id": "a2", "title": "t", "severity": "Low", "status": "New",
            "alertCreationTime": null}))
        .unwrap_err();
        assert!(none.contains("a2") && none.contains("firstEventTime"), "{none}");
    }
}
