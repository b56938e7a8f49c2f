//! Every export form of `DeviceNetworkEvents` (`tests/fixtures/forms/`, written by `make_fixtures.py`: the same
//! five rows each time) imports to the same answers; a malformed row in each form names its file and the line an
//! editor shows, and changes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use ipscope_api::period::Period;
use ipscope_server::import::{import, ImportFiles, ImportSummary};
use ipscope_server::store::{investigation, Scope, Store};

const STORAGE_BLOB: &str = "storage/WorkspaceResourceId=/subscriptions/00000000-0000-0000-0000-000000000000/\
    resourcegroups/soc/providers/microsoft.operationalinsights/workspaces/ws/y=2026/m=11/d=20/h=07/m=00/PT1H.json";

/// Each form with the encoding the import must report.
const FORMS: [(&str, &str); 15] = [
    ("defender-portal.csv", "UTF-8"),
    ("utf8-bom-crlf.csv", "UTF-8 with byte-order mark"),
    ("powershell51-out-file.csv", "UTF-16 LE"),
    ("utf16be.csv", "UTF-16 BE"),
    ("powershell51-set-content.csv", "Windows-1252"),
    ("pwsh7-export.csv", "UTF-8"),
    ("sentinel-export.csv", "UTF-8 with byte-order mark"),
    ("json-lines-bom.jsonl", "UTF-8 with byte-order mark"),
    ("advancedqueries-run.json", "UTF-8"),
    ("advancedhunting-run.json", "UTF-8"),
    ("graph-runHuntingQuery.json", "UTF-8"),
    ("python-rows.json", "UTF-8"),
    ("eventhub-batch.json", "UTF-8"),
    (STORAGE_BLOB, "UTF-8"),
    ("../events.csv", "UTF-8"),
];

fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/forms")
}

fn scratch(label: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ipscope-forms-{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the IP page would show for the fixtures' addresses, as JSON text.
fn answers(store: &Arc<Store>) -> String {
    let period = Period {
        from: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap(),
    };
    let mut out = String::new();
    for ip in ["203.0.113.66", "198.51.100.23", "fe80::1"] {
        let ip = ip.parse().unwrap();
        let (prevalence, devices) = store
            .call_blocking(|c| {
                Ok((
                    investigation::prevalence(c, ip, period, &Scope::All)?,
                    investigation::observed_devices(c, ip, period, 100, &Scope::All)?,
                ))
            })
            .unwrap();
        out.push_str(&serde_json::to_string(&prevalence).unwrap());
        out.push_str(&serde_json::to_string(&devices).unwrap());
    }
    out
}

fn import_form(path: &Path) -> (Arc<Store>, Result<ImportSummary, String>, PathBuf) {
    let dir = scratch("import");
    let store = Store::open(&dir.join("t.db")).unwrap();
    let files = ImportFiles { events: Some(path.to_path_buf()), ..Default::default() };
    let result = import(&store.data(), &files, &mut |_| {}).map_err(|e| e.to_string());
    (store, result, dir)
}

#[test]
fn every_form_imports_to_the_same_answers() {
    let (base, summary, dir) = import_form(&forms_dir().join("defender-portal.csv"));
    let summary = summary.unwrap();
    assert_eq!((summary.events_read, summary.events_new), (5, 5), "{summary}");
    let expected = answers(&base);
    // The data as the fixtures mean it: 203.0.113.66 from two devices (the IPv4-mapped row counts as it), three
    // connections; the zone of fe80::1%12 dropped.
    assert!(expected.contains(r#""ipAddress":"203.0.113.66","from":"2026-11-01T00:00:00Z","to":"2026-11-28T00:00:00Z","organizationPrevalence":2,"connections":3"#), "{expected}");
    assert!(expected.contains(r#""ipAddress":"fe80::1","from""#), "{expected}");
    let _ = std::fs::remove_dir_all(dir);
    for (form, encoding) in FORMS {
        let (store, summary, dir) = import_form(&forms_dir().join(form));
        let summary = summary.unwrap_or_else(|e| panic!("{form}: {e}"));
        if !form.starts_with("..") {
            assert_eq!(summary.events_read, 5, "{form}: {summary}");
            assert_eq!(answers(&store), expected, "{form} answers as the portal's CSV does");
        }
        assert_eq!(summary.events_encoding.as_deref(), Some(encoding), "{form}");
        if form.contains("eventhub") || form.contains("PT1H") {
            assert_eq!(summary.events_other_categories, 1, "{form}: {summary}");
            assert!(summary.to_string().contains("1 Streaming API records of other categories skipped"), "{summary}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Writes `text` as `encoding` does.
fn encode(text: &str, encoding: &str) -> Vec<u8> {
    match encoding {
        "utf-16-le" => [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect(),
        "utf-16-be" => [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect(),
        "utf-8-sig" => [0xEF, 0xBB, 0xBF].into_iter().chain(text.bytes()).collect(),
        "cp1252" => text.chars().map(|c| if c == '®' { 0xAE } else { c as u8 }).collect(),
        _ => text.as_bytes().to_vec(),
    }
}

#[test]
fn a_malformed_row_names_the_line_an_editor_shows_in_every_form() {
    // (file, how it is written, the bad value's row start as an editor numbers lines)
    let forms = [
        ("defender-portal.csv", "utf-8"),
        ("utf8-bom-crlf.csv", "utf-8-sig"),
        ("powershell51-out-file.csv", "utf-16-le"),
        ("powershell51-set-content.csv", "cp1252"),
        ("sentinel-export.csv", "utf-8-sig"),
        ("json-lines-bom.jsonl", "utf-8-sig"),
        ("advancedqueries-run.json", "utf-8"),
        ("graph-runHuntingQuery.json", "utf-8"),
        ("python-rows.json", "utf-8"),
        ("eventhub-batch.json", "utf-8"),
        ("utf16be.csv", "utf-16-be"),
        ("pwsh7-export.csv", "utf-8"),
        ("advancedhunting-run.json", "utf-8"),
        (STORAGE_BLOB, "utf-8"),
        ("../events.csv", "utf-8"),
    ];
    for (form, encoding) in forms {
        let bytes = std::fs::read(forms_dir().join(form)).unwrap();
        let text = match encoding {
            "utf-16-le" => {
                String::from_utf16(&bytes[2..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>())
                    .unwrap()
            }
            "utf-16-be" => {
                String::from_utf16(&bytes[2..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>())
                    .unwrap()
            }
            "cp1252" => bytes.iter().map(|b| if *b == 0xAE { '®' } else { *b as char }).collect(),
            _ => String::from_utf8(bytes).unwrap().trim_start_matches('\u{feff}').to_string(),
        };
        let bad = text.replacen("198.51.100.23", "198.51.100.999", 1);
        let at = bad.find("198.51.100.999").unwrap();
        // The row starts at the line's beginning in CSV and JSON lines, at its `{` in a JSON document.
        let row_start = if form.ends_with(".json") { bad[..at].rfind('{').unwrap() } else { at };
        let line = bad[..row_start].matches('\n').count() + 1;
        let dir = scratch("bad");
        let path = dir.join(Path::new(form).file_name().unwrap());
        std::fs::write(&path, encode(&bad, encoding)).unwrap();
        let store = Store::open(&dir.join("t.db")).unwrap();
        let files = ImportFiles { events: Some(path.clone()), ..Default::default() };
        let error = import(&store.data(), &files, &mut |_| {}).unwrap_err().to_string();
        assert!(
            error.contains(&format!("{}:{line}: RemoteIP", path.display())),
            "{form}: expected line {line}: {error}"
        );
        let stored: i64 =
            store.call_blocking(|c| Ok(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)).unwrap();
        assert_eq!(stored, 0, "{form}: nothing is stored");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_bad_first_row_and_an_ambiguous_date_are_explained() {
    let dir = scratch("first");
    let crlf = "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort\r\n\
                2026-11-20T07:56:00Z,d1,n1,ConnectionSuccess,1.2.3,443\r\n";
    let path = dir.join("first.csv");
    std::fs::write(&path, crlf).unwrap();
    let store = Store::open(&dir.join("t.db")).unwrap();
    let error = import(&store.data(), &ImportFiles { events: Some(path.clone()), ..Default::default() }, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("first.csv:2: RemoteIP"), "{error}");

    let ambiguous = "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort\n20/11/2026 07:56:00,d1,n1,ConnectionSuccess,1.2.3.4,443\n";
    std::fs::write(&path, ambiguous).unwrap();
    let error = import(&store.data(), &ImportFiles { events: Some(path), ..Default::default() }, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("first.csv:2:") && error.contains("ISO 8601"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn graph_alerts_import_next_to_defender_alerts() {
    let dir = scratch("graph");
    let graph = r##"{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2", "value": [
      {"@odata.type": "#microsoft.graph.security.alert", "id": "da638400000000000000_7", "title": "Beacon to a known C2",
       "severity": "high", "status": "new", "createdDateTime": "2026-11-21T08:00:00Z",
       "evidence": [
         {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.66"},
         {"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
          "deviceDnsName": "fin-lt-0042.corp.contoso.example"}]}]}"##;
    let path = dir.join("alerts_v2.json");
    std::fs::write(&path, encode(graph, "utf-8-sig")).unwrap();
    let store = Store::open(&dir.join("t.db")).unwrap();
    let summary =
        import(&store.data(), &ImportFiles { alerts: Some(path), ..Default::default() }, &mut |_| {}).unwrap();
    assert_eq!(summary.alerts, 1);
    let alerts = store
        .call_blocking(|c| {
            ipscope_server::store::queries::alerts_for_ip(c, "203.0.113.66".parse().unwrap(), &Scope::All)
        })
        .unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].machine_id.as_deref(), Some("1e5bc9d7e413ddd7902c2932e418702b84d0cc07"));
    assert_eq!(alerts[0].severity.as_str(), "High");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn events_can_be_piped_in_on_standard_input() {
    use std::io::Write;
    let dir = scratch("stdin");
    let db = dir.join("t.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ipscope-server"))
        .args(["import", "--events", "-", "--db"])
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let blob = std::fs::read(forms_dir().join(STORAGE_BLOB)).unwrap();
    child.stdin.take().unwrap().write_all(&blob).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("5 events read (5 new") && printed.contains("1 Streaming API records"), "{printed}");
    let (base, _, base_dir) = import_form(&forms_dir().join("defender-portal.csv"));
    assert_eq!(answers(&Store::open(&db).unwrap()), answers(&base));
    let _ = std::fs::remove_dir_all(base_dir);
    let _ = std::fs::remove_dir_all(dir);
}
