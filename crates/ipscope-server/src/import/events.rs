//! `DeviceNetworkEvents` rows, from CSV (with the export's header) or JSON lines.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::{ImportError, ImportSummary};
use crate::store::queries::{EventWriter, NewEvent};

const REQUIRED: [&str; 6] = ["Timestamp", "DeviceId", "DeviceName", "ActionType", "RemoteIP", "RemotePort"];
const OPTIONAL: [&str; 6] =
    ["RemoteUrl", "LocalIP", "LocalPort", "Protocol", "InitiatingProcessFileName", "InitiatingProcessSHA1"];

/// How often progress is reported, in rows.
const PROGRESS_EVERY: u64 = 100_000;

/// Reads every row of `path` into `writer`.
pub(super) fn import_events(
    path: &Path,
    writer: &mut EventWriter<'_>,
    summary: &mut ImportSummary,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let file = File::open(path).map_err(|source| ImportError::Io { file: path.display().to_string(), source })?;
    let mut reader = BufReader::new(file);
    let first = reader
        .fill_buf()
        .map_err(|source| ImportError::Io { file: path.display().to_string(), source })?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    let mut on_row = |line: u64, fields: Row<'_>| -> Result<(), ImportError> {
        summary.events_read += 1;
        match to_event(&fields).map_err(|m| ImportError::invalid(path, Some(line), m))? {
            Some(event) => {
                if writer.insert(&event)? {
                    summary.events_new += 1;
                }
            }
            None => summary.events_without_remote_ip += 1,
        }
        if summary.events_read.is_multiple_of(PROGRESS_EVERY) {
            progress(summary.events_read);
        }
        Ok(())
    };
    if first == Some(b'{') {
        read_json_lines(path, reader, &mut on_row)
    } else {
        read_csv(path, reader, &mut on_row)
    }
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

fn read_csv(
    path: &Path,
    reader: impl std::io::Read,
    on_row: &mut dyn FnMut(u64, Row<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut csv = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
    let headers =
        csv.headers().map_err(|e| ImportError::invalid(path, Some(1), format!("unreadable CSV header: {e}")))?;
    let headers: Vec<String> = headers.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect();
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
            let line = e.position().map(|p| p.line());
            ImportError::invalid(path, line, format!("malformed CSV: {e}"))
        })?;
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
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

fn read_json_lines(
    path: &Path,
    reader: impl BufRead,
    on_row: &mut dyn FnMut(u64, Row<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    for (i, line) in reader.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|source| ImportError::Io { file: path.display().to_string(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, Value> = serde_json::from_str(&line)
            .map_err(|e| ImportError::invalid(path, Some(n), format!("not a JSON object: {e}")))?;
        if let Some(missing) = REQUIRED.iter().find(|c| !object.contains_key(**c)) {
            return Err(ImportError::invalid(path, Some(n), format!("the object has no '{missing}' field")));
        }
        let get = |name: &str| match object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        on_row(n, Row { get: &get })?;
    }
    Ok(())
}

/// Converts a row; `Ok(None)` for a row without a remote address.
fn to_event(row: &Row<'_>) -> Result<Option<NewEvent>, String> {
    let required = |name: &str| row.field(name).ok_or_else(|| format!("'{name}' is empty"));
    let Some(remote_ip) = row.field("RemoteIP") else {
        return Ok(None);
    };
    let remote_ip = ipscope_api::ip::parse_ip_strict(&remote_ip).map_err(|e| format!("RemoteIP: {e}"))?;
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

/// RFC 3339 (`2024-05-01T10:00:00.1234567Z`) or a naive `2024-05-01 10:00:00[.fff]`, read as UTC.
fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    Err(format!("Timestamp '{text}' is not an RFC 3339 time such as 2024-05-01T10:00:00Z"))
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
        check("2024-05-01T12:00:00+02:00", Some("2024-05-01T10:00:00.000Z"));
        check("2024-05-01 10:00:00.5", Some("2024-05-01T10:00:00.500Z"));
        check("yesterday", None);
        check("2024-13-01T10:00:00Z", None);
    }
}
