//! `ipscope-server import`: Defender exports into the store, all files in one transaction.
//!
//! Machines and alerts come as the Defender APIs return them (`{"value": [...]}` or a bare array);
//! network events as advanced hunting `DeviceNetworkEvents` exports (CSV with its header, or JSON lines).
//! A bad row aborts the whole import with its file and line; re-importing a file changes nothing.

mod events;

use std::fmt;
use std::path::{Path, PathBuf};

use ipscope_api::wire::{Alert, Collection, Machine};
use serde::de::DeserializeOwned;

use crate::store::queries::{self, EventWriter};
use crate::store::{Store, StoreError};

/// The files to import; any may be absent.
#[derive(Debug, Default, Clone)]
pub struct ImportFiles {
    /// Machines API answer (JSON).
    pub machines: Option<PathBuf>,
    /// Alerts API answer (JSON).
    pub alerts: Option<PathBuf>,
    /// `DeviceNetworkEvents` export (CSV or JSON lines).
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
        )
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
    fn invalid(file: &Path, line: Option<u64>, message: impl Into<String>) -> ImportError {
        ImportError::Invalid { file: file.display().to_string(), line, message: message.into() }
    }
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sqlite(e))
    }
}

/// Imports `files` into `store` atomically, calling `progress` with the event rows read so far.
pub fn import(store: &Store, files: &ImportFiles, progress: &mut dyn FnMut(u64)) -> Result<ImportSummary, ImportError> {
    store.call_blocking(|conn| {
        let tx = conn.transaction()?;
        let result = import_in(&tx, files, progress);
        if result.is_ok() {
            tx.commit()?;
        } // otherwise dropping `tx` rolls everything back
        Ok(result)
    })?
}

fn import_in(
    tx: &rusqlite::Transaction<'_>,
    files: &ImportFiles,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    if let Some(path) = &files.machines {
        let machines: Vec<Machine> = read_entities(path)?;
        for m in &machines {
            queries::upsert_machine(tx, m)?;
        }
        summary.machines = machines.len();
    }
    if let Some(path) = &files.alerts {
        let alerts: Vec<Alert> = read_entities(path)?;
        for a in &alerts {
            queries::upsert_alert(tx, a)?;
        }
        summary.alerts = alerts.len();
    }
    if let Some(path) = &files.events {
        let mut writer = EventWriter::new(tx);
        events::import_events(path, &mut writer, &mut summary, progress)?;
    }
    Ok(summary)
}

/// Reads `{"value": [...]}` (a Defender API answer) or a bare JSON array.
fn read_entities<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ImportError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ImportError::Io { file: path.display().to_string(), source })?;
    let parsed = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<T>>(&text)
    } else {
        serde_json::from_str::<Collection<T>>(&text).map(|c| c.value)
    };
    parsed.map_err(|e| {
        let line = (e.line() > 0).then_some(e.line() as u64);
        ImportError::invalid(path, line, format!("not a Defender API answer: {e}"))
    })
}
