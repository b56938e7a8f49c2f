//! The stores: the embedded SQLite file ([`Store`]: opening and migrating it, a small connection pool) and
//! ClickHouse ([`clickhouse::ClickHouse`]), behind one [`DataStore`] whose answers do not depend on which it is.
//! Tokens, the audit and ingestion positions always live in a SQLite file.

mod answers;
pub mod clickhouse;
pub mod investigation;
pub mod queries;
pub mod retention;
mod schema;
pub mod writes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use writes::Sink as _;

/// Errors from the store. Their text is for logs; handlers turn them into a 500 without details.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer ipscope.
    #[error("{path} has schema version {found}, newer than this ipscope understands ({supported}); upgrade ipscope")]
    TooNew { path: String, found: i64, supported: i64 },
    /// There is no database at the path.
    #[error("no database at {0}; create one with `ipscope-server import`, `demo` or `serve --create`")]
    Missing(String),
    /// ClickHouse failed or does not answer.
    #[error("{0}")]
    ClickHouse(String),
    /// A blocking task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

/// Which devices a caller may see: everything, or what the devices of some device groups produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every device, alert and connection (an application token without group limits).
    All,
    /// Only devices in these groups (Defender's `rbacGroupName`), their connections and their alerts.
    Groups(Arc<[String]>),
}

impl Scope {
    /// Limited to `groups` (an empty list sees no device).
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(groups: I) -> Scope {
        Scope::Groups(groups.into_iter().map(Into::into).collect())
    }

    /// The groups as a JSON array for `json_each(?)`, or `None` for every device.
    pub(crate) fn sql(&self) -> Option<String> {
        match self {
            Scope::All => None,
            Scope::Groups(groups) => Some(serde_json::to_string(&groups[..]).expect("strings serialize")),
        }
    }

    /// Whether a device or alert of `group` is visible.
    pub fn allows(&self, group: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Groups(groups) => group.is_some_and(|g| groups.iter().any(|allowed| allowed == g)),
        }
    }
}

/// The database file, with a pool of read connections for request handlers.
pub struct Store {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// The file's identity when opened (device and inode), to notice it removed or replaced.
    identity: Option<(u64, u64)>,
}

/// The identity of the file at `path`: device and inode.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Idle connections kept open; more are opened under load and dropped afterwards.
const MAX_IDLE: usize = 8;

impl Store {
    /// Opens the database at `path`, creating the file and the schema if missing and migrating an older one.
    pub fn open(path: &Path) -> Result<Arc<Store>, StoreError> {
        let mut conn = open_connection(path, true)?;
        schema::migrate(&mut conn, path)?;
        let identity = file_identity(path);
        Ok(Arc::new(Store { path: path.to_path_buf(), idle: Mutex::new(vec![conn]), identity }))
    }

    /// Opens the existing database at `path` (migrating an older one); a missing file is an error, not a new
    /// empty database.
    pub fn open_existing(path: &Path) -> Result<Arc<Store>, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        Store::open(path)
    }

    /// `Ok` while the file the store opened is still at its path; else what happened to it.
    pub fn check_file(&self) -> Result<(), String> {
        match file_identity(&self.path) {
            None => Err(format!("the database file {} was removed", self.path.display())),
            Some(now) if Some(now) != self.identity => {
                Err(format!("the database file {} was replaced by another file", self.path.display()))
            }
            Some(_) => Ok(()),
        }
    }

    /// This file as the store of network events, alerts and machines.
    pub fn data(self: &Arc<Self>) -> DataStore {
        DataStore::Sqlite(Arc::clone(self))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn call<R, F>(self: &Arc<Self>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let store = Arc::clone(self);
        tokio::task::spawn_blocking(move || store.call_blocking(f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` with a pooled connection on the current thread (for the command line tools and tests).
    pub fn call_blocking<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            // Never creates a file: a database removed while serving is reported, not silently replaced.
            None => open_connection(&self.path, false)?,
        };
        let result = f(&mut conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE && conn.is_autocommit() {
            idle.push(conn);
        }
        result
    }
}

fn open_connection(path: &Path, create: bool) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL lets request handlers read while an import writes.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    Ok(conn)
}

/// An `ingest` chunk read (`DataStore::read_chunk`), on ClickHouse not yet sent.
#[must_use = "a chunk read is stored only when sent"]
pub struct ReadChunk<'s>(Option<clickhouse::writes::ClickHouseWriter<'s>>);

impl<'s> ReadChunk<'s> {
    /// Sends the chunk; it is stored when what this returns says it is written.
    pub fn send(self) -> Result<SentChunk<'s>, StoreError> {
        Ok(SentChunk(match self.0 {
            Some(writer) => writer.send()?,
            None => Vec::new(),
        }))
    }
}

/// An `ingest` chunk being written.
#[must_use = "a chunk's failure shows only when its writing is waited for"]
pub struct SentChunk<'s>(Vec<clickhouse::InFlight<'s>>);

impl SentChunk<'_> {
    /// Waits until the chunk and its position are stored.
    pub fn written(self) -> Result<(), StoreError> {
        self.0.into_iter().try_for_each(clickhouse::InFlight::done)
    }
}

/// Runs `f` with SQLite's writer inside one transaction, then `after` on that transaction, and commits only when
/// both succeed: otherwise dropping the transaction rolls everything back.
fn in_transaction<R, E: From<StoreError>>(
    conn: &mut Connection,
    f: impl FnOnce(&mut dyn writes::Sink) -> Result<R, E>,
    after: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StoreError>,
) -> Result<Result<R, E>, StoreError> {
    let tx = conn.transaction()?;
    let result = {
        let mut writer = writes::EventWriter::new(&tx);
        f(&mut writer).and_then(|r| writer.finish().map(|()| r).map_err(E::from))
    };
    if result.is_ok() {
        after(&tx)?;
        tx.commit()?;
    }
    Ok(result)
}

/// Where network events, alerts and machines live: the answers are the same whichever it is.
#[derive(Clone)]
pub enum DataStore {
    /// The embedded SQLite file.
    Sqlite(Arc<Store>),
    /// A ClickHouse server or cluster.
    ClickHouse(Arc<clickhouse::ClickHouse>),
}

impl std::fmt::Display for DataStore {
    /// Where the data is (no password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataStore::Sqlite(store) => write!(f, "{}", store.path().display()),
            DataStore::ClickHouse(ch) => match ch.cluster() {
                Some(cluster) => write!(f, "{} (cluster {cluster})", ch.url()),
                None => write!(f, "{}", ch.url()),
            },
        }
    }
}

/// One store's handle inside a blocking read.
pub enum Source<'a> {
    /// A pooled SQLite connection.
    Sqlite(&'a mut Connection),
    /// The ClickHouse client.
    ClickHouse(&'a clickhouse::ClickHouse),
}

impl Source<'_> {
    /// The reads the IP and device answers are composed of.
    pub fn events(&self) -> &dyn investigation::EventSource {
        match self {
            Source::Sqlite(c) => &**c,
            Source::ClickHouse(ch) => *ch,
        }
    }
}

impl DataStore {
    /// Runs a read on the blocking thread pool.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(Source<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        match self {
            DataStore::Sqlite(store) => store.call(move |c| f(Source::Sqlite(c))).await,
            DataStore::ClickHouse(ch) => {
                let ch = Arc::clone(ch);
                tokio::task::spawn_blocking(move || f(Source::ClickHouse(&ch)))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?
            }
        }
    }

    /// Runs a read on the current thread (command line tools and tests).
    pub fn read_blocking<R>(&self, f: impl FnOnce(Source<'_>) -> Result<R, StoreError>) -> Result<R, StoreError> {
        match self {
            DataStore::Sqlite(store) => store.call_blocking(|c| f(Source::Sqlite(c))),
            DataStore::ClickHouse(ch) => f(Source::ClickHouse(ch)),
        }
    }

    /// Writes through `f` at once: on SQLite in one transaction (an error leaves the file unchanged); ClickHouse has
    /// no transactions, so callers that can check their input whole check it first (see `import`).
    pub fn write<R, E>(&self, f: impl FnOnce(&mut dyn writes::Sink) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        match self {
            DataStore::Sqlite(store) => store.call_blocking(|conn| {
                // A large page cache while writing: rows come in no particular order.
                conn.pragma_update(None, "cache_size", -512_000)?;
                let result = in_transaction(conn, f, |_| Ok(()));
                conn.pragma_update(None, "cache_size", -32_000)?;
                result
            })?,
            DataStore::ClickHouse(ch) => {
                let mut writer = clickhouse::writes::ClickHouseWriter::new(ch);
                let result = f(&mut writer)?;
                writer.finish()?;
                Ok(result)
            }
        }
    }

    /// Where `ingest` has read each blob up to: (bytes, lines), by blob name.
    pub fn ingest_positions(&self) -> Result<HashMap<String, (u64, u64)>, StoreError> {
        match self {
            DataStore::Sqlite(store) => store.call_blocking(|c| {
                let mut stmt = c.prepare("SELECT blob, read_bytes, read_lines FROM ingest_positions")?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }),
            DataStore::ClickHouse(ch) => ch.ingest_positions(),
        }
    }

    /// Reads an `ingest` chunk through `f`, to be stored with `end`, its blob's new position, all or nothing: on
    /// SQLite in one transaction, done when this returns; on ClickHouse as one block, buffered until `send`, so that
    /// the next chunk can be read while this one is written.
    pub fn read_chunk<E: From<StoreError>>(
        &self,
        end: writes::ChunkEnd,
        f: impl FnOnce(&mut dyn writes::Sink) -> Result<(), E>,
    ) -> Result<ReadChunk<'_>, E> {
        match self {
            DataStore::Sqlite(store) => {
                store.call_blocking(|c| in_transaction(c, f, |tx| writes::record_position(tx, &end)))??;
                Ok(ReadChunk(None))
            }
            DataStore::ClickHouse(ch) => {
                let mut writer = clickhouse::writes::ClickHouseWriter::chunk(ch, end)?;
                f(&mut writer)?;
                Ok(ReadChunk(Some(writer)))
            }
        }
    }

    /// Whether writing events that are stored already leaves them stored once (SQLite matches them; ClickHouse
    /// appends).
    pub fn skips_stored_events(&self) -> bool {
        matches!(self, DataStore::Sqlite(_))
    }

    /// Deletes the connections before the UTC day of `cutoff`, and their rollup rows.
    pub async fn prune(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<retention::Pruned, StoreError> {
        match self {
            DataStore::Sqlite(store) => store.call(move |c| retention::prune(c, cutoff)).await,
            DataStore::ClickHouse(ch) => {
                let ch = Arc::clone(ch);
                tokio::task::spawn_blocking(move || ch.prune(cutoff))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?
            }
        }
    }

    /// `Ok` while the store is in place and answers; else what is wrong.
    pub async fn check(&self) -> Result<(), String> {
        match self {
            DataStore::Sqlite(store) => {
                store.check_file()?;
                store
                    .call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            DataStore::ClickHouse(ch) => {
                let ch = Arc::clone(ch);
                tokio::task::spawn_blocking(move || ch.check()).await.map_err(|e| e.to_string())?
            }
        }
    }
}
