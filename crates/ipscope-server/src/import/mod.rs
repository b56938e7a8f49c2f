//! `ipscope-server import`: Defender exports into the store, all files in one transaction.
//!
//! Machines and alerts come as the Defender APIs return them (`{"value": [...]}` or a bare array; alerts also as
//! Microsoft Graph's `alerts_v2`); network events in every form of `DeviceNetworkEvents` (see `events`). Files are
//! read in whatever encoding their tool wrote (see `text`). A bad row aborts the whole import with its file and the
//! line an editor shows; re-importing a file changes nothing.

mod alerts;
pub(crate) mod events;
mod text;

use std::fmt;
use std::path::{Path, PathBuf};

use std::io::Read;

use ipscope_api::wire::{Alert, Collection, Machine};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::store::writes::{Discard, Sink};
use crate::store::{DataStore, StoreError};

/// The files to import; any may be absent.
#[derive(Debug, Default, Clone)]
pub struct ImportFiles {
    /// Machines API answer (JSON).
    pub machines: Option<PathBuf>,
    /// Alerts API answer (JSON).
    pub alerts: Option<PathBuf>,
    /// `DeviceNetworkEvents` rows in any of the forms `events` reads; `-` reads standard input.
    pub events: Option<PathBuf>,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Machines read (inserted or updated).
    pub machines: usize,
    /// Alerts read (inserted or updated).
    pub alerts: usize,
    /// Event rows read.
    pub events_read: u64,
    /// Event rows that were not already stored.
    pub events_new: u64,
    /// Event rows skipped because they name no remote address (listening sockets).
    pub events_without_remote_ip: u64,
    /// Streaming API records of other categories, skipped.
    pub events_other_categories: u64,
    /// The encoding the events file was read in.
    pub events_encoding: Option<String>,
    /// The newest event time read.
    pub newest_event: Option<chrono::DateTime<chrono::Utc>>,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} machines, {} alerts, {} events read ({} new, {} already stored, {} without a remote IP skipped)",
            self.machines,
            self.alerts,
            self.events_read,
            self.events_new,
            self.events_read - self.events_new - self.events_without_remote_ip,
            self.events_without_remote_ip
        )?;
        if self.events_other_categories > 0 {
            write!(f, ", {} Streaming API records of other categories skipped", self.events_other_categories)?;
        }
        if let Some(encoding) = &self.events_encoding {
            write!(f, "; events read as {encoding}")?;
        }
        Ok(())
    }
}

/// Why an import failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },
    /// The content is malformed.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid { file: String, line: Option<u64>, message: String },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    pub(crate) fn invalid(file: &Path, line: Option<u64>, message: impl Into<String>) -> ImportError {
        ImportError::Invalid { file: file.display().to_string(), line, message: message.into() }
    }
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sqlite(e))
    }
}

/// How far an import of events is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Event rows read.
    pub rows: u64,
    /// Bytes of the events file read.
    pub bytes: u64,
    /// Its size, when it is a file.
    pub total_bytes: Option<u64>,
}

/// Imports `files` into `data` atomically, calling `progress` every few thousand event rows. On ClickHouse, which
/// has no transactions, the files are read twice: once to check them whole, once to write (events from standard
/// input are written as they are read, so a bad row there leaves the rows before it stored).
pub fn import(
    data: &DataStore,
    files: &ImportFiles,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportSummary, ImportError> {
    let from_stdin = files.events.as_deref().is_some_and(|p| p == Path::new("-"));
    // ClickHouse has no transactions: the files are checked whole before anything is written. It also appends
    // events without matching them against what is stored, so a file whose content was imported before is refused:
    // its hash is computed while the files are checked.
    let seen = match data {
        DataStore::ClickHouse(ch) if !from_stdin => std::thread::scope(|scope| {
            let hashing = files.events.as_deref().map(|path| (path, scope.spawn(move || file_sha256(path))));
            let checked = import_in(&mut Discard, files, progress);
            let hashed = hashing.map(|(path, h)| Ok((path, h.join().expect("hashing a file does not panic")?)));
            checked.and(hashed.transpose())
        })?
        .map(|(path, sha256)| (ch, sha256, path)),
        _ => None,
    };
    if let Some((ch, sha256, path)) = &seen {
        if let Some(before) = ch.imported_file(sha256)? {
            return Err(ImportError::invalid(
                path,
                None,
                format!(
                    "this content was imported into {} on {} UTC (from {}, {} events); ClickHouse keeps every row, \
                     so importing it again would count its connections twice",
                    ch.url(),
                    before.imported,
                    before.file,
                    before.events
                ),
            ));
        }
    }
    let summary = data.write(|sink| import_in(sink, files, progress))?;
    if let Some((ch, sha256, path)) = seen {
        ch.record_imported_file(&sha256, &path.display().to_string(), summary.events_new)?;
    }
    Ok(summary)
}

/// The SHA-256 of a file's content, in hex.
fn file_sha256(path: &Path) -> Result<String, ImportError> {
    use sha2::{Digest, Sha256};
    let io_error = |source| ImportError::Io { file: path.display().to_string(), source };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io_error)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn import_in(
    sink: &mut dyn Sink,
    files: &ImportFiles,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    if let Some(path) = &files.machines {
        let machines: Vec<Machine> = read_entities::<Value>(path)?
            .into_iter()
            .map(|(line, value)| {
                serde_json::from_value(value)
                    .map_err(|e| ImportError::invalid(path, Some(line), format!("a machine: {e}")))
            })
            .collect::<Result<_, _>>()?;
        for m in &machines {
            sink.machine(m)?;
        }
        summary.machines = machines.len();
    }
    if let Some(path) = &files.alerts {
        let alerts: Vec<Alert> = read_entities::<Value>(path)?
            .into_iter()
            .map(|(line, value)| alerts::to_alert(value).map_err(|m| ImportError::invalid(path, Some(line), m)))
            .collect::<Result<_, _>>()?;
        for a in &alerts {
            sink.alert(a)?;
        }
        summary.alerts = alerts.len();
    }
    if let Some(path) = &files.events {
        events::import_events(path, sink, &mut summary, progress)?;
    }
    Ok(summary)
}

/// The entities of `{"value": [...]}` (a Defender or Graph API answer) or a bare JSON array, each with its line.
fn read_entities<T: DeserializeOwned>(path: &Path) -> Result<Vec<(u64, T)>, ImportError> {
    let io_error = |source| ImportError::Io { file: path.display().to_string(), source };
    let (mut reader, _) = text::open(path).map_err(io_error)?;
    let mut content = String::new();
    reader.read_to_string(&mut content).map_err(io_error)?;
    let parsed = if content.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(&content)
    } else {
        serde_json::from_str::<Collection<&RawValue>>(&content).map(|c| c.value)
    };
    let raw = parsed.map_err(|e| {
        let line = (e.line() > 0).then_some(e.line() as u64);
        ImportError::invalid(path, line, format!("not a Defender API answer: {e}"))
    })?;
    let mut lines = text::LineCounter::new(&content);
    raw.into_iter()
        .map(|item| {
            let line = lines.line_at(item.get().as_ptr() as usize - content.as_ptr() as usize);
            serde_json::from_str(item.get())
                .map(|value| (line, value))
                .map_err(|e| ImportError::invalid(path, Some(line), format!("not a Defender API entity: {e}")))
        })
        .collect()
}
