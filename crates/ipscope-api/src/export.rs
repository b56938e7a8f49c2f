//! CSV export of tables (RFC 4180), with cells that spreadsheet programs would run as formulas neutralised; the
//! columns of the app's two exported tables.

use crate::time::rfc3339;
use crate::wire::{Alert, ObservedDevice};

/// The devices table as CSV: every field of each device, named as in the API.
pub fn devices_csv<'a>(devices: impl IntoIterator<Item = &'a ObservedDevice>) -> String {
    let header = [
        "machineId",
        "computerDnsName",
        "lastSeen",
        "connections",
        "remotePort",
        "protocol",
        "actionType",
        "initiatingProcessFileName",
        "initiatingProcessSha1",
        "localIp",
    ];
    let rows: Vec<Vec<String>> = devices
        .into_iter()
        .map(|d| {
            vec![
                d.machine_id.clone(),
                d.computer_dns_name.clone(),
                rfc3339(d.last_seen),
                d.connections.to_string(),
                d.remote_port.to_string(),
                d.protocol.clone().unwrap_or_default(),
                d.action_type.clone(),
                d.initiating_process_file_name.clone().unwrap_or_default(),
                d.initiating_process_sha1.clone().unwrap_or_default(),
                d.local_ip.clone().unwrap_or_default(),
            ]
        })
        .collect();
    to_csv(&header, &rows)
}

/// The alerts table as CSV: the columns the table shows, with the alert id first.
pub fn alerts_csv<'a>(alerts: impl IntoIterator<Item = &'a Alert>) -> String {
    let rows: Vec<Vec<String>> = alerts
        .into_iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.title.clone(),
                a.severity.as_str().into(),
                a.status.as_str().into(),
                a.category.clone().unwrap_or_default(),
                a.computer_dns_name.clone().unwrap_or_default(),
                a.first_event_time.map(rfc3339).unwrap_or_default(),
                a.last_event_time.map(rfc3339).unwrap_or_default(),
            ]
        })
        .collect();
    to_csv(&["id", "title", "severity", "status", "category", "device", "firstActivity", "lastActivity"], &rows)
}

/// A CSV document: the header row, then one row per record; CRLF line ends.
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells.map(csv_cell).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn csv_cell(value: &str) -> String {
    // A leading =, +, - or @ makes spreadsheets evaluate the cell (CSV injection); prefix a quote.
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_export_their_columns() {
        let device: ObservedDevice = serde_json::from_value(serde_json::json!({
            "machineId": "m1", "computerDnsName": "fin-lt-0042", "lastSeen": "2026-11-24T17:00:00Z",
            "connections": 12, "remotePort": 443, "protocol": "Tcp", "actionType": "ConnectionSuccess",
            "initiatingProcessFileName": "=cmd.exe", "initiatingProcessSha1": null, "localIp": "10.0.0.5"
        }))
        .unwrap();
        assert_eq!(
            devices_csv(&[device]),
            "machineId,computerDnsName,lastSeen,connections,remotePort,protocol,actionType,\
             initiatingProcessFileName,initiatingProcessSha1,localIp\r\n\
             m1,fin-lt-0042,2026-11-24T17:00:00Z,12,443,Tcp,ConnectionSuccess,'=cmd.exe,,10.0.0.5\r\n"
        );
        let alert: Alert = serde_json::from_value(serde_json::json!({
            "id": "da1", "title": "Beaconing, to 203.0.113.66", "severity": "High", "status": "New",
            "alertCreationTime": "2026-11-24T17:00:00Z", "computerDnsName": "fin-lt-0042",
            "firstEventTime": "2026-11-24T16:00:00Z"
        }))
        .unwrap();
        assert_eq!(
            alerts_csv(&[alert]),
            "id,title,severity,status,category,device,firstActivity,lastActivity\r\n\
             da1,\"Beaconing, to 203.0.113.66\",High,New,,fin-lt-0042,2026-11-24T16:00:00Z,\r\n"
        );
    }

    #[test]
    fn quotes_what_needs_quoting_and_defuses_formulas() {
        let csv = to_csv(
            &["name", "file"],
            &[
                vec!["fin-lt-0042".into(), "svc, \"updater\".exe".into()],
                vec!["=HYPERLINK(\"x\")".into(), "-2+3".into()],
                vec!["multi\nline".into(), "".into()],
            ],
        );
        assert_eq!(
            csv,
            "name,file\r\nfin-lt-0042,\"svc, \"\"updater\"\".exe\"\r\n\"'=HYPERLINK(\"\"x\"\")\",'-2+3\r\n\"multi\nline\",\r\n"
        );
    }
}
