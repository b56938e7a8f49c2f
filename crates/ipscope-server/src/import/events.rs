//! `DeviceNetworkEvents` rows in every form Defender's users produce: CSV with the export's header (also the
//! Sentinel / Log Analytics export), JSON lines, the advanced hunting API answers (`{"Schema", "Results"}` of
//! Defender for Endpoint, the same with `"Stats"` of Defender XDR, Microsoft Graph's `{"schema", "results"}`, a bare
//! array of rows), and Streaming API records (`{"records": [...]}` from Event Hubs, one record per line from a
//! storage account), records of other categories counted and skipped.

use std::io::{BufRead, Read};
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::text;
use super::{ImportError, ImportSummary, Progress};
use crate::store::writes::{NewEvent, Sink};

const REQUIRED: [&str; 6] = ["Timestamp", "DeviceId", "DeviceName", "ActionType", "RemoteIP", "RemotePort"];
const OPTIONAL: [&str; 6] =
    ["RemoteUrl", "LocalIP", "LocalPort", "Protocol", "InitiatingProcessFileName", "InitiatingProcessSHA1"];
/// The Streaming API category of these rows.
const CATEGORY: &str = "AdvancedHunting-DeviceNetworkEvents";

/// How often progress is reported, in rows.
const PROGRESS_EVERY: u64 = 10_000;

/// Reads every row of `path` (`-`: standard input) into `writer`.
pub(super) fn import_events(
    path: &Path,
    writer: &mut dyn Sink,
    summary: &mut ImportSummary,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), ImportError> {
    let io_error = |source| ImportError::Io { file: path.display().to_string(), source };
    let (mut reader, encoding, position) = text::open_counted(path).map_err(io_error)?;
    summary.events_encoding = Some(encoding.to_string());
    let first = reader.fill_buf().map_err(io_error)?.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let mut on_row = |line: u64, fields: Row<'_>| -> Result<(), ImportError> {
        store_row(path, line, &fields, writer, summary)?;
        if summary.events_read.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { rows: summary.events_read, bytes: position.read(), total_bytes: position.total });
        }
        Ok(())
    };
    let mut other_categories = 0u64;
    match first {
        Some(b'{') | Some(b'[') => {
            read_json(path, reader, &mut other_categories, &mut on_row)?;
        }
        _ => read_csv(path, reader, &mut on_row)?,
    }
    summary.events_other_categories += other_categories;
    Ok(())
}

/// Stores one row (or counts it as one without a remote address).
fn store_row(
    path: &Path,
    line: u64,
    fields: &Row<'_>,
    writer: &mut dyn Sink,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    summary.events_read += 1;
    match to_event(fields).map_err(|m| ImportError::invalid(path, Some(line), m))? {
        Some(event) => {
            summary.newest_event = summary.newest_event.max(Some(event.timestamp));
            if writer.event(&event)? {
                summary.events_new += 1;
            }
        }
        None => summary.events_without_remote_ip += 1,
    }
    Ok(())
}

/// Streaming API records (or rows), one JSON object per line, from `text`, whose first line is line `first_line`
/// of `path`: what `ingest` reads from a storage account's blobs as they grow.
pub(crate) fn import_record_lines(
    path: &Path,
    text: &str,
    first_line: u64,
    writer: &mut dyn Sink,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    let mut other_categories = 0u64;
    for (i, line) in text.lines().enumerate() {
        let n = first_line + i as u64;
        if line.trim().is_empty() {
            continue;
        }
        let object: Map<String, Value> = serde_json::from_str(line.trim_start_matches('\u{feff}'))
            .map_err(|e| ImportError::invalid(path, Some(n), format!("not a JSON object: {e}")))?;
        json_row(path, n, object, &mut other_categories, &mut |line, fields| {
            store_row(path, line, &fields, writer, summary)
        })?;
    }
    summary.events_other_categories += other_categories;
    Ok(())
}

/// One row's fields by column name.
struct Row<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Row<'_> {
    fn field(&self, name: &str) -> Option<String> {
        (self.get)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
}

/// A header as the column it names: `Timestamp [UTC]` (Log Analytics) is `Timestamp`; `TimeGenerated` stands
/// for `Timestamp` when there is none.
fn column_name(header: &str) -> Result<String, String> {
    let header = header.trim().trim_start_matches('\u{feff}');
    match header.split_once(" [") {
        None => Ok(header.to_string()),
        Some((name, "UTC]")) => Ok(name.to_string()),
        Some((name, zone)) if name == "Timestamp" || name == "TimeGenerated" => Err(format!(
            "the '{header}' column is not in UTC ({}); export with times in UTC",
            zone.trim_end_matches(']')
        )),
        Some((name, _)) => Ok(name.to_string()),
    }
}

fn read_csv(
    path: &Path,
    reader: impl Read,
    on_row: &mut dyn FnMut(u64, Row<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    // The csv crate's line numbers run one short on CRLF files: lines are counted from byte offsets instead.
    let (reader, mut lines) = text::tee(reader);
    let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
    let headers =
        csv.headers().map_err(|e| ImportError::invalid(path, Some(1), format!("unreadable CSV header: {e}")))?;
    let mut headers: Vec<String> = headers
        .iter()
        .map(column_name)
        .collect::<Result<_, _>>()
        .map_err(|m| ImportError::invalid(path, Some(1), m))?;
    if !headers.iter().any(|h| h == "Timestamp") {
        if let Some(h) = headers.iter_mut().find(|h| *h == "TimeGenerated") {
            *h = "Timestamp".into();
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|c| !headers.iter().any(|h| h == *c)) {
        return Err(ImportError::invalid(
            path,
            Some(1),
            format!("the header has no '{missing}' column (required: {})", REQUIRED.join(", ")),
        ));
    }
    let index = |name: &str| headers.iter().position(|h| h == name);
    let columns: Vec<(&str, Option<usize>)> = REQUIRED.iter().chain(OPTIONAL.iter()).map(|c| (*c, index(c))).collect();
    let mut record = csv::StringRecord::new();
    loop {
        let more = csv.read_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| lines.line_at(p.byte()));
            ImportError::invalid(path, line, format!("malformed CSV: {}", csv_error_text(&e)))
        })?;
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let get = |name: &str| {
            columns
                .iter()
                .find(|(c, _)| *c == name)
                .and_then(|(_, i)| *i)
                .and_then(|i| record.get(i))
                .map(str::to_string)
        };
        on_row(line, Row { get: &get })?;
    }
}

/// A CSV error without the crate's own (CRLF-miscounted) position.
fn csv_error_text(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("the row has {len} fields, the header {expected_len}")
        }
        _ => e.to_string(),
    }
}

/// A JSON document of rows: the advanced hunting answers, or the Event Hub form of the Streaming API.
#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "Results", alias = "results", borrow, default)]
    results: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    records: Option<Vec<&'a RawValue>>,
}

/// JSON lines (rows, or Streaming API records from a storage account), or one JSON document.
fn read_json(
    path: &Path,
    mut reader: Box<dyn BufRead>,
    other_categories: &mut u64,
    on_row: &mut dyn FnMut(u64, Row<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let io_error = |source| ImportError::Io { file: path.display().to_string(), source };
    let mut first_line = String::new();
    let mut skipped = 0u64;
    while first_line.trim().is_empty() {
        first_line.clear();
        if reader.read_line(&mut first_line).map_err(io_error)? == 0 {
            return Ok(());
        }
        skipped += 1;
    }
    let single: Option<Map<String, Value>> = serde_json::from_str(&first_line).ok();
    let is_document = match &single {
        None => true,
        Some(object) => ["Results", "results", "records"].iter().any(|k| object.contains_key(*k)),
    };
    if !is_document {
        let rest = std::iter::once(Ok(first_line.trim_end_matches(['\r', '\n']).to_string())).chain(reader.lines());
        for (i, line) in rest.enumerate() {
            let n = skipped + i as u64;
            let line = line.map_err(io_error)?;
            if line.trim().is_empty() {
                continue;
            }
            let object: Map<String, Value> = serde_json::from_str(&line)
                .map_err(|e| ImportError::invalid(path, Some(n), format!("not a JSON object: {e}")))?;
            json_row(path, n, object, other_categories, on_row)?;
        }
        return Ok(());
    }
    let mut text = first_line;
    reader.read_to_string(&mut text).map_err(io_error)?;
    let rows: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text)
    } else {
        serde_json::from_str::<Document<'_>>(&text).map(|d| d.results.or(d.records).unwrap_or_default())
    }
    .map_err(|e| {
        let line = (e.line() > 0).then(|| skipped - 1 + e.line() as u64);
        ImportError::invalid(
            path,
            line,
            format!("not an advanced hunting answer, a Streaming API batch or JSON lines: {e}"),
        )
    })?;
    let mut lines = text::LineCounter::starting_at(&text, skipped);
    for raw in rows {
        let n = lines.line_at(raw.get().as_ptr() as usize - text.as_ptr() as usize);
        let object: Map<String, Value> = serde_json::from_str(raw.get())
            .map_err(|e| ImportError::invalid(path, Some(n), format!("a row is not a JSON object: {e}")))?;
        json_row(path, n, object, other_categories, on_row)?;
    }
    Ok(())
}

/// One JSON row: a `DeviceNetworkEvents` row, or a Streaming API record holding one in `properties`.
fn json_row(
    path: &Path,
    n: u64,
    mut object: Map<String, Value>,
    other_categories: &mut u64,
    on_row: &mut dyn FnMut(u64, Row<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let is_record = object.contains_key("category") && matches!(object.get("properties"), Some(Value::Object(_)));
    if is_record {
        if object.get("category").and_then(Value::as_str) != Some(CATEGORY) {
            *other_categories += 1;
            return Ok(());
        }
        if let Some(Value::Object(properties)) = object.remove("properties") {
            object = properties;
        }
    }
    if !object.contains_key("Timestamp") {
        if let Some(t) = object.remove("TimeGenerated") {
            object.insert("Timestamp".into(), t);
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|c| !object.contains_key(**c)) {
        return Err(ImportError::invalid(path, Some(n), format!("the row has no '{missing}' field")));
    }
    let get = |name: &str| match object.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    on_row(n, Row { get: &get })
}

/// Converts a row; `Ok(None)` for a row without a remote address.
fn to_event(row: &Row<'_>) -> Result<Option<NewEvent>, String> {
    let required = |name: &str| row.field(name).ok_or_else(|| format!("'{name}' is empty"));
    let Some(remote_ip) = row.field("RemoteIP") else {
        return Ok(None);
    };
    // A zone (`fe80::1%12`) names an interface of the device, not part of the address.
    let address = remote_ip.split_once('%').map_or(remote_ip.as_str(), |(address, _)| address);
    let remote_ip = ipscope_api::ip::parse_ip_strict(address).map_err(|e| format!("RemoteIP: {e}"))?;
    let port = |name: &str| -> Result<Option<u16>, String> {
        row.field(name)
            .map(|p| p.parse::<u16>().map_err(|_| format!("{name} '{p}' is not a port number (0-65535)")))
            .transpose()
    };
    Ok(Some(NewEvent {
        timestamp: parse_timestamp(&required("Timestamp")?)?,
        device_id: required("DeviceId")?,
        device_name: required("DeviceName")?,
        action_type: required("ActionType")?,
        remote_ip,
        remote_port: port("RemotePort")?.unwrap_or(0),
        remote_url: row.field("RemoteUrl"),
        local_ip: row.field("LocalIP"),
        local_port: port("LocalPort")?,
        protocol: row.field("Protocol"),
        file_name: row.field("InitiatingProcessFileName"),
        sha1: row.field("InitiatingProcessSHA1").map(|s| s.to_ascii_lowercase()),
    }))
}

/// A time as tools write it, read as UTC: ISO 8601 with 0 to 7 fractional digits, with or without an offset or `Z`;
/// PowerShell 7's en-US `11/27/2026 2:56:41 AM`; the Log Analytics export's `1/22/2024, 9:11:34.123 AM`. A date
/// whose day and month could be either way round is refused rather than guessed.
pub(super) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%d %H:%M:%S%.fZ"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    let upper = text.to_ascii_uppercase();
    let twelve_hour = upper.ends_with(" AM") || upper.ends_with(" PM");
    if text.contains('/') && twelve_hour {
        // en-US: month first, then day, with AM/PM.
        for format in ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y, %I:%M:%S%.f %p", "%m/%d/%Y %I:%M:%S%.f %p"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(&upper, format) {
                return Ok(t.and_utc());
            }
        }
    }
    if text.contains('/') || text.contains('.') && text.split(' ').next().is_some_and(|d| d.matches('.').count() == 2) {
        return Err(format!(
            "Timestamp '{text}' is in a locale's date format, which cannot be read safely (day or month first?); \
             export times in ISO 8601, e.g. with `Export-Csv` in PowerShell 7, `ConvertTo-Json`, or \
             `Get-Date -Format o`"
        ));
    }
    Err(format!("Timestamp '{text}' is not an ISO 8601 time such as 2024-05-01T10:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let got = parse_timestamp(input).ok().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        assert_eq!(got.as_deref(), expected, "input {input:?}");
    }

    #[test]
    fn reads_export_timestamps() {
        check("2024-05-01T10:00:00Z", Some("2024-05-01T10:00:00.000Z"));
        check("2024-05-01T10:00:00.1234567Z", Some("2024-05-01T10:00:00.123Z"));
        check("2024-05-01T10:00:00.1Z", Some("2024-05-01T10:00:00.100Z"));
        check("2024-05-01T10:00:00.1234567", Some("2024-05-01T10:00:00.123Z"));
        check("2024-05-01T10:00:00", Some("2024-05-01T10:00:00.000Z"));
        check("2024-05-01T12:00:00+02:00", Some("2024-05-01T10:00:00.000Z"));
        check("2024-05-01 10:00:00.5", Some("2024-05-01T10:00:00.500Z"));
        check("11/27/2026 2:56:41 AM", Some("2026-11-27T02:56:41.000Z"));
        check("11/27/2026 2:56:41 PM", Some("2026-11-27T14:56:41.000Z"));
        check("1/22/2024, 9:11:34.123 AM", Some("2024-01-22T09:11:34.123Z"));
        check("12/1/2024 12:05:00 AM", Some("2024-12-01T00:05:00.000Z"));
        check("yesterday", None);
        check("2024-13-01T10:00:00Z", None);
        check("27/11/2026 14:56:41", None);
        check("05/06/2026 10:00:00", None);
        check("27.11.2026 14:56:41", None);
    }

    #[test]
    fn ambiguous_dates_are_refused_with_a_way_out() {
        let message = parse_timestamp("05/06/2026 10:00:00").unwrap_err();
        assert!(message.contains("ISO 8601") && message.contains("day or month first"), "{message}");
    }

    #[test]
    fn log_analytics_headers_name_their_columns() {
        assert_eq!(column_name("TimeGenerated [UTC]"), Ok("TimeGenerated".into()));
        assert_eq!(column_name("\u{feff}Timestamp"), Ok("Timestamp".into()));
        assert!(column_name("Timestamp [Local Time]").unwrap_err().contains("not in UTC"));
    }
}
