//! The audit: who looked up what. One record per answered request of an authenticated caller, written in batches
//! off the request path to the database's `audit` table or to a JSON-lines file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::auth::{tokens, Caller};
use crate::store::queries::millis;
use crate::store::{Store, StoreError};

/// Where audit records go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuditSink {
    /// The database's `audit` table.
    #[default]
    Database,
    /// A JSON-lines file, appended to.
    File(PathBuf),
}

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it was answered.
    pub time: DateTime<Utc>,
    /// The caller's name.
    pub caller: String,
    /// The route, e.g. `/api/ips/{ip}/alerts`.
    pub endpoint: String,
    /// The IP or id looked up, if the route has one.
    pub target: Option<String>,
    /// The query string, if any (periods, suggestion prefixes).
    pub query: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The ipscope token used, whose last use is recorded with the batch.
    #[serde(skip)]
    pub token_id: Option<String>,
}

/// Records in a batch written at once.
const BATCH: usize = 1000;
/// How long the writer gathers records before writing them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(200);

/// Sends records to a writer task, started on first use.
pub struct Auditor {
    store: Arc<Store>,
    sink: AuditSink,
    sender: mpsc::UnboundedSender<AuditRecord>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<AuditRecord>>>,
}

impl Auditor {
    /// An auditor writing to `sink` (the `audit` table of `store`, or a file).
    pub fn new(store: Arc<Store>, sink: AuditSink) -> Arc<Auditor> {
        let (sender, receiver) = mpsc::unbounded_channel();
        Arc::new(Auditor { store, sink, sender, receiver: Mutex::new(Some(receiver)) })
    }

    /// Queues `record`; it is written within moments.
    pub fn record(&self, record: AuditRecord) {
        if let Some(receiver) = self.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() {
            tokio::spawn(write_batches(Arc::clone(&self.store), self.sink.clone(), receiver));
        }
        let _ = self.sender.send(record);
    }
}

async fn write_batches(store: Arc<Store>, sink: AuditSink, mut receiver: mpsc::UnboundedReceiver<AuditRecord>) {
    while let Some(first) = receiver.recv().await {
        // Gather what arrives meanwhile: one write per moment, not one per request.
        tokio::time::sleep(GATHER).await;
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        let sink = sink.clone();
        let written = store.call(move |c| write(c, &sink, &batch)).await;
        if let Err(e) = written {
            tracing::error!("audit records could not be written: {e}");
        }
    }
}

fn write(conn: &mut rusqlite::Connection, sink: &AuditSink, batch: &[AuditRecord]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    if let AuditSink::Database = sink {
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit (ts, caller, endpoint, target, query, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in batch {
            insert.execute(params![r.time.timestamp_millis(), r.caller, r.endpoint, r.target, r.query, r.status])?;
        }
    }
    for r in batch {
        if let Some(id) = &r.token_id {
            tokens::record_use(&tx, id, r.time)?;
        }
    }
    tx.commit()?;
    if let AuditSink::File(path) = sink {
        let mut text = String::new();
        for r in batch {
            text.push_str(&serde_json::to_string(r).expect("audit records serialize"));
            text.push('\n');
        }
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = appended {
            tracing::error!("audit records could not be appended to {}: {e}", path.display());
        }
    }
    Ok(())
}

/// The records at or after `since`, oldest first, from `sink`.
pub fn read(store: &Store, sink: &AuditSink, since: DateTime<Utc>) -> anyhow::Result<Vec<AuditRecord>> {
    match sink {
        AuditSink::Database => Ok(store.call_blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT ts, caller, endpoint, target, query, status FROM audit WHERE ts >= ?1 ORDER BY ts, rowid",
            )?;
            let rows = stmt.query_map([since.timestamp_millis()], |r| {
                Ok(AuditRecord {
                    time: millis(r.get(0)?),
                    caller: r.get(1)?,
                    endpoint: r.get(2)?,
                    target: r.get(3)?,
                    query: r.get(4)?,
                    status: r.get(5)?,
                    token_id: None,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?),
        AuditSink::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the audit file {}: {e}", path.display()))?;
            let mut out = Vec::new();
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let record: AuditRecord = serde_json::from_str(line)
                    .map_err(|e| anyhow::anyhow!("{}:{}: not an audit record: {e}", path.display(), n + 1))?;
                if record.time >= since {
                    out.push(record);
                }
            }
            Ok(out)
        }
    }
}

/// The middleware: records each answered request of an authenticated caller.
pub async fn audit(State(auditor): State<Arc<Auditor>>, request: Request, next: Next) -> Response {
    let caller = request.extensions().get::<Caller>().cloned();
    let pattern = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let uri = request.extensions().get::<OriginalUri>().map_or_else(|| request.uri().clone(), |o| o.0.clone());
    let response = next.run(request).await;
    if let (Some(caller), Some(pattern)) = (caller, pattern) {
        auditor.record(AuditRecord {
            time: Utc::now(),
            caller: caller.name,
            endpoint: pattern.find("/api/").map_or(pattern.as_str(), |i| &pattern[i..]).to_string(),
            target: path_target(&pattern, uri.path()),
            query: uri.query().map(|q| q.chars().take(500).collect()),
            status: response.status().as_u16(),
            token_id: caller.token_id,
        });
    }
    response
}

/// The value of the route's `{...}` segment in `path`, percent-decoded.
fn path_target(pattern: &str, path: &str) -> Option<String> {
    let (i, _) = pattern.split('/').enumerate().find(|(_, seg)| seg.starts_with('{'))?;
    let raw = path.split('/').nth(i)?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut k = 0;
    while k < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[k], bytes.get(k + 1).copied().and_then(hex), bytes.get(k + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                k += 3;
            }
            (b, _, _) => {
                out.push(b);
                k += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_the_routes_parameter() {
        let check = |pattern: &str, path: &str, expected: Option<&str>| {
            assert_eq!(path_target(pattern, path).as_deref(), expected, "{pattern} {path}");
        };
        check("/api/ips/{ip}/alerts", "/api/ips/203.0.113.66/alerts", Some("203.0.113.66"));
        check("/tools/x/api/alerts/{id}", "/tools/x/api/alerts/da%20637", Some("da 637"));
        check("/api/ips/{ip}/stats", "/api/ips/2001:db8::1/stats", Some("2001:db8::1"));
        check("/api/ips", "/api/ips", None);
    }
}
