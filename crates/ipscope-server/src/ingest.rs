//! `ipscope-server ingest --watch DIR`: follows a folder that the Streaming API's storage-account export is synced
//! into (azcopy, blobfuse): `.../y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json` blobs of one record per line. New blobs and
//! blobs that grow during their hour are read from where the last read ended; the rows and the new position are
//! stored together (`DataStore::read_chunk`: one SQLite transaction, or one ClickHouse block), so a restart or a
//! `kill -9` at any moment neither loses nor repeats a record. Short chunks (a few megabytes of lines each) keep a
//! server on the same file answering.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::import::{events, ImportError, ImportSummary};
use crate::store::writes::ChunkEnd;
use crate::store::{DataStore, ReadChunk, SentChunk, StoreError};

/// Bytes of whole lines read per chunk unless `--chunk-megabytes` says otherwise: on SQLite a transaction short
/// enough for a server on the same file to keep answering; on ClickHouse, which readers do not wait for, a large
/// block (fewer, larger parts to merge: 126,000 events/s with 4 MB chunks, 156,000 with 64 MB, measured before a
/// chunk was read while the one before is written; 235,000 since). A chunk is sent as
/// one `Native` block whatever its rows (a record line is a few hundred bytes: some 200,000 rows per 64 MB).
pub fn default_chunk_bytes(store: &DataStore) -> u64 {
    match store {
        DataStore::Sqlite(_) => 4 << 20,
        DataStore::ClickHouse(_) => 64 << 20,
    }
}

/// What one pass over the folder did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct IngestReport {
    /// Blobs with something new.
    pub blobs_read: usize,
    /// What was read, stored and skipped.
    pub summary: ImportSummary,
    /// Blobs that could not be read this time, with why (they are tried again on the next pass).
    pub errors: Vec<String>,
}

impl IngestReport {
    /// How far the newest event read is behind `now`.
    pub fn lag(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.summary.newest_event.map(|t| now - t)
    }
}

/// The blobs under `dir`: `.json` files, in path order (which is time order in the export's layout).
fn blobs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() && entry.path().extension().is_some_and(|e| e == "json" || e == "jsonl") {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads what is new in every blob under `dir`, calling `progress` after each stored chunk with the records read
/// and the bytes of the backlog done.
pub fn ingest_once(
    store: &DataStore,
    dir: &Path,
    chunk_bytes: u64,
    progress: &mut dyn FnMut(crate::import::Progress),
) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport::default();
    let found = blobs(dir).map_err(|e| StoreError::Task(format!("cannot list {}: {e}", dir.display())))?;
    let named: Vec<(PathBuf, String)> = found
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
            (path, name)
        })
        .collect();
    let positions = store.ingest_positions()?;
    let position = |name: &str| positions.get(name).copied().unwrap_or((0, 0));
    let backlog: u64 = named
        .iter()
        .map(|(path, name)| std::fs::metadata(path).map_or(0, |m| m.len()).saturating_sub(position(name).0))
        .sum();
    let mut done = 0u64;
    for (path, name) in &named {
        let mut on_chunk = |bytes: u64, summary: &ImportSummary| {
            done += bytes;
            progress(crate::import::Progress {
                rows: summary.events_read + summary.events_other_categories,
                bytes: done,
                total_bytes: Some(backlog),
            });
        };
        match ingest_blob(store, path, name, chunk_bytes, position(name), &mut report.summary, &mut on_chunk) {
            Ok(true) => report.blobs_read += 1,
            Ok(false) => {}
            Err(ImportError::Store(e)) => return Err(e),
            Err(other) => report.errors.push(other.to_string()),
        }
    }
    Ok(report)
}

/// Reads the new whole lines of one blob, read up to `(bytes, lines)` so far, at most `chunk_size` bytes at a time,
/// each chunk stored with its position; `Ok(true)` if there were any. On ClickHouse a chunk is read while the one
/// before is written, and sent once that one is stored: a chunk's position is never stored before the chunks before
/// it are.
fn ingest_blob(
    store: &DataStore,
    path: &Path,
    name: &str,
    chunk_size: u64,
    (mut from, mut lines): (u64, u64),
    summary: &mut ImportSummary,
    on_chunk: &mut dyn FnMut(u64, &ImportSummary),
) -> Result<bool, ImportError> {
    let mut read_any = false;
    // The chunk being written, what it holds and its bytes.
    let mut sent: Option<(SentChunk<'_>, ImportSummary, u64)> = None;
    loop {
        let next = next_chunk(store, path, name, chunk_size, (from, lines));
        if let Some((chunk, counted, bytes)) = sent.take() {
            chunk.written()?;
            summary.events_read += counted.events_read;
            summary.events_new += counted.events_new;
            summary.events_without_remote_ip += counted.events_without_remote_ip;
            summary.events_other_categories += counted.events_other_categories;
            summary.newest_event = summary.newest_event.max(counted.newest_event);
            on_chunk(bytes, summary);
        }
        let Some(Chunk { chunk, counted, bytes, position }) = next? else {
            return Ok(read_any);
        };
        sent = Some((chunk.send()?, counted, bytes));
        (from, lines) = position;
        read_any = true;
    }
}

/// A chunk of a blob, read.
struct Chunk<'s> {
    chunk: ReadChunk<'s>,
    /// What it holds.
    counted: ImportSummary,
    /// Its length.
    bytes: u64,
    /// Where the blob is read up to after it: (bytes, lines).
    position: (u64, u64),
}

/// Reads the next chunk of a blob read up to `(from, lines)`; `None` when there is no new whole line.
fn next_chunk<'s>(
    store: &'s DataStore,
    path: &Path,
    name: &str,
    chunk_size: u64,
    (mut from, mut lines): (u64, u64),
) -> Result<Option<Chunk<'s>>, ImportError> {
    let io_error = |source| ImportError::Io { file: path.display().to_string(), source };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    if size < from {
        if !store.skips_stored_events() {
            // Reading it again would store its first rows twice.
            return Err(ImportError::invalid(
                path,
                None,
                format!(
                    "is now {size} bytes, shorter than the {from} already read; export blobs only grow, so it is \
                     not read again (import it yourself if it is a new blob)"
                ),
            ));
        }
        // Replaced by a shorter blob: read it again from the start (rows already stored are not stored twice).
        tracing::warn!("{} is shorter than what was read of it; reading it again", path.display());
        (from, lines) = (0, 0);
    }
    if size == from {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(from)).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(chunk_size.min(size - from)).read_to_end(&mut bytes).map_err(io_error)?;
    // Only whole lines: the end of a growing blob may be a record still being written.
    let Some(end) = bytes.iter().rposition(|b| *b == b'\n').map(|i| i + 1) else {
        if size - from > chunk_size {
            let mb = chunk_size >> 20;
            return Err(ImportError::invalid(path, Some(lines + 1), format!("a line longer than {mb} MB")));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes[..end])
        .map_err(|e| ImportError::invalid(path, Some(lines + 1), format!("not UTF-8: {e}")))?;
    let new_lines = text.matches('\n').count() as u64;
    let mut counted = ImportSummary::default();
    let position = (from + end as u64, lines + new_lines);
    let end_at = ChunkEnd { blob: name.to_string(), read_bytes: position.0, read_lines: position.1 };
    let chunk =
        store.read_chunk(end_at, |sink| events::import_record_lines(path, text, lines + 1, sink, &mut counted))?;
    Ok(Some(Chunk { chunk, counted, bytes: end as u64, position }))
}
