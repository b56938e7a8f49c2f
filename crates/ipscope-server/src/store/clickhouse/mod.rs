//! The ClickHouse store: network events, alerts and machines in a ClickHouse server (or cluster), spoken to over its
//! HTTP interface. Reads are in `reads.rs`, writes in `writes.rs`, the tables in `schema.rs`.
//!
//! Values reach SQL only through [`Sql`], which quotes each as a ClickHouse string or number literal: Debian's
//! ClickHouse (18.16) has no query parameters (`{name:Type}` arrived in 19.x), so quoting is the one path, and it is
//! tested against the server with every ASCII character, quotes, backslashes and injection attempts.

pub mod local;
pub mod reads;
mod schema;
pub mod writes;

use std::fmt::Write as _;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::StoreError;

/// Environment variable with the ClickHouse password, when the URL has none.
pub const PASSWORD_VARIABLE: &str = "IPSCOPE_CLICKHOUSE_PASSWORD";

/// Where a ClickHouse store is: `clickhouse://[user[:password]@]host:port/database`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseUrl {
    /// `host:port` of the HTTP interface.
    pub address: String,
    /// The database ipscope's tables live in (created if missing).
    pub database: String,
    /// User name; `default` when the URL names none.
    pub user: String,
    /// Password, from the URL or `IPSCOPE_CLICKHOUSE_PASSWORD`.
    pub password: Option<String>,
}

impl std::fmt::Debug for ClickHouseUrl {
    // Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for ClickHouseUrl {
    /// The URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "clickhouse://{}@{}/{}", self.user, self.address, self.database)
    }
}

impl ClickHouseUrl {
    /// Parses `clickhouse://[user[:password]@]host:port/database`; `password_from_env` is the environment's password.
    pub fn parse(text: &str, password_from_env: Option<String>) -> Result<ClickHouseUrl, String> {
        let shape = "expected clickhouse://[user[:password]@]host:port/database";
        let rest = text.strip_prefix("clickhouse://").ok_or_else(|| shape.to_string())?;
        let (authority, database) = rest.split_once('/').ok_or_else(|| format!("no database: {shape}"))?;
        let (credentials, address) = match authority.rsplit_once('@') {
            Some((c, a)) => (Some(c), a),
            None => (None, authority),
        };
        let (user, password) = match credentials {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (decode(u)?, Some(decode(p)?)),
                None => (decode(c)?, None),
            },
            None => ("default".to_string(), None),
        };
        let port_ok =
            address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(format!("'{address}' is not host:port: {shape}"));
        }
        let database = database.trim_end_matches('/');
        if database.is_empty() || !database.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("the database name '{database}' must be letters, digits and '_'"));
        }
        if user.is_empty() {
            return Err(format!("empty user name: {shape}"));
        }
        Ok(ClickHouseUrl {
            address: address.to_string(),
            database: database.to_string(),
            user,
            password: password.or(password_from_env),
        })
    }
}

/// Percent-decodes a URL's user or password.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or("a '%' in the URL's user or password must start an escape such as %40")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL's user or password is not UTF-8".to_string())
}

/// A SQL statement being built: text from the program, values only through the quoting methods.
#[derive(Debug, Clone, Default)]
pub struct Sql(String);

impl Sql {
    /// Starts a statement with program text.
    pub fn new(text: &str) -> Sql {
        Sql(text.to_string())
    }

    /// Appends program text.
    pub fn push(mut self, text: &str) -> Sql {
        self.0.push_str(text);
        self
    }

    /// Appends a string value as a quoted literal.
    pub fn string(mut self, value: &str) -> Sql {
        quote_into(&mut self.0, value);
        self
    }

    /// Appends an integer value.
    pub fn int(mut self, value: i64) -> Sql {
        let _ = write!(self.0, "{value}");
        self
    }

    /// Appends `(v1, v2, ...)` of quoted strings; `('')` for none, which matches nothing a caller looks for.
    pub fn strings<'a>(mut self, values: impl IntoIterator<Item = &'a str>) -> Sql {
        self.0.push('(');
        let mut any = false;
        for v in values {
            if any {
                self.0.push_str(", ");
            }
            quote_into(&mut self.0, v);
            any = true;
        }
        if !any {
            self.0.push_str("NULL");
        }
        self.0.push(')');
        self
    }

    /// The statement's text.
    pub fn text(&self) -> &str {
        &self.0
    }
}

/// Appends `value` as a ClickHouse string literal: in single quotes, with backslash, quote and control bytes escaped.
fn quote_into(out: &mut String, value: &str) {
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// A ClickHouse server (or one node of a cluster), spoken to over HTTP with pooled connections.
///
/// Its methods block: they run on the blocking thread pool like SQLite's, and the command line tools and tests call
/// them directly. The HTTP requests run on a small runtime of the client's own, so that it works from any thread
/// and can be dropped anywhere.
pub struct ClickHouse {
    url: ClickHouseUrl,
    /// `http://host:port/`.
    endpoint: reqwest::Url,
    http: reqwest::Client,
    /// `--clickhouse-cluster`: tables are created on every shard with `ON CLUSTER` and read through `Distributed` ones.
    cluster: Option<String>,
    runtime: Option<tokio::runtime::Runtime>,
    /// Events per inserted block (`writes::BLOCK_ROWS` unless a test asks for small blocks).
    block_rows: usize,
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Waiting for it to stop would be refused inside an async context.
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for ClickHouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClickHouse({})", self.url)
    }
}

fn failed(message: impl Into<String>) -> StoreError {
    StoreError::ClickHouse(message.into())
}

/// Each line of a `JSONEachRow` answer as a `T`.
fn parse_rows<T: DeserializeOwned>(body: Vec<u8>) -> Result<Vec<T>, StoreError> {
    let body = String::from_utf8(body).map_err(|_| failed("ClickHouse's answer is not UTF-8"))?;
    body.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| failed(format!("unexpected row from ClickHouse ({e}): {line}")))
        })
        .collect()
}

impl ClickHouse {
    /// Connects to `url`, creating the database and ipscope's tables if missing and migrating older ones. With
    /// `cluster`, the tables are made on every shard of that cluster (as named in the servers' `remote_servers`).
    pub fn open(url: &ClickHouseUrl, cluster: Option<&str>) -> Result<ClickHouse, StoreError> {
        if let Some(name) = cluster {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(failed(format!("the cluster name '{name}' must be letters, digits and '_'")));
            }
        }
        // reqwest is built without a default TLS crypto provider; install ring's once for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(3600))
            .pool_max_idle_per_host(32)
            // ClickHouse closes idle connections after `keep_alive_timeout` (3 s by default): never reuse one that
            // old, or a request would fail on a connection the server has just closed. The server's clock starts
            // when it has answered, ours when the answer is read: a loaded machine needs the margin.
            .pool_idle_timeout(Duration::from_secs(1))
            .build()
            .map_err(|e| failed(format!("cannot make an HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("clickhouse-http")
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the ClickHouse client: {e}")))?;
        let endpoint = reqwest::Url::parse(&format!("http://{}/", url.address))
            .map_err(|e| failed(format!("'{}' is not an address: {e}", url.address)))?;
        let ch = ClickHouse {
            endpoint,
            url: url.clone(),
            http,
            cluster: cluster.map(str::to_string),
            runtime: Some(runtime),
            block_rows: writes::BLOCK_ROWS,
        };
        schema::migrate(&ch)?;
        Ok(ch)
    }

    /// The URL, without the password.
    pub fn url(&self) -> &ClickHouseUrl {
        &self.url
    }

    /// Writes events in blocks of `rows` (tests write small ones, to have several in flight).
    pub fn with_block_rows(mut self, rows: usize) -> ClickHouse {
        self.block_rows = rows.max(1);
        self
    }

    /// The cluster the tables are spread over, if any.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }

    /// Sends a request and reads the whole answer.
    fn request(&self, request: Request<'_>) -> Result<Vec<u8>, StoreError> {
        self.send(vec![request]).answers().pop().expect("one answer per request")
    }

    /// Sends requests at once, each on its own connection, and returns: their whole answers, in order, are read
    /// from what it returns. Independent reads of one answer cost the slowest, not the sum.
    fn send(&self, requests: Vec<Request<'_>>) -> InFlight<'_> {
        let n = requests.len();
        let (tx, rx) = std::sync::mpsc::sync_channel(n);
        let runtime = self.runtime.as_ref().expect("the runtime lives as long as the client");
        for (i, Request { query, body, database, read }) in requests.into_iter().enumerate() {
            let mut url = self.endpoint.clone();
            {
                let mut pairs = url.query_pairs_mut();
                pairs.append_pair("output_format_json_quote_64bit_integers", "0");
                if database {
                    pairs.append_pair("database", &self.url.database);
                }
                if read {
                    pairs.append_pair("max_threads", READ_THREADS);
                }
                if let Some(q) = query {
                    pairs.append_pair("query", q);
                    if self.cluster.is_some() {
                        // An insert into a Distributed table returns once every shard has its rows, so that what
                        // was written is what the next read answers.
                        pairs.append_pair("insert_distributed_sync", "1");
                    }
                }
            }
            let mut request = self.http.post(url).header("X-ClickHouse-User", &self.url.user);
            if let Some(password) = &self.url.password {
                request = request.header("X-ClickHouse-Key", password);
            }
            let request = request.body(body);
            // A request that failed before any answer came (a pooled connection the server closed as it was
            // reused) is sent once more, unless it carries a block of rows, which may have been written all the
            // same. Reads and ipscope's statements do no harm twice (DDL `IF NOT EXISTS`, deletes of the same days,
            // a schema-version row, read as the highest, or an imported-file row, which replaces its twin).
            let again = if query.is_none() { request.try_clone() } else { None };
            let tx = tx.clone();
            runtime.spawn(async move {
                let answer = |request: reqwest::RequestBuilder| async {
                    let response = request.send().await?;
                    let status = response.status();
                    Ok::<_, reqwest::Error>((status, response.bytes().await?.to_vec()))
                };
                let mut result = answer(request).await;
                if let (Err(e), Some(again)) = (&result, again) {
                    if e.is_request() || e.is_connect() {
                        result = answer(again).await;
                    }
                }
                let _ = tx.send((i, result));
            });
        }
        InFlight { ch: self, n, answers: rx }
    }

    /// Runs a statement that returns nothing (DDL, ALTER, INSERT ... SELECT).
    pub fn execute(&self, sql: &Sql) -> Result<(), StoreError> {
        self.request(Request::statement(sql, true)).map(drop)
    }

    /// Runs a statement outside the database (to create it).
    fn execute_outside(&self, sql: &Sql) -> Result<(), StoreError> {
        self.request(Request::statement(sql, false)).map(drop)
    }

    /// Runs a query, reading each row of its `JSONEachRow` answer as a `T`.
    pub fn rows<T: DeserializeOwned>(&self, sql: &Sql) -> Result<Vec<T>, StoreError> {
        self.rows_of_each(std::slice::from_ref(sql)).map(|mut all| all.pop().unwrap_or_default())
    }

    /// Runs independent queries concurrently, reading the rows of each as `T`s.
    pub fn rows_of_each<T: DeserializeOwned>(&self, queries: &[Sql]) -> Result<Vec<Vec<T>>, StoreError> {
        self.rows_in(queries, true)
    }

    /// Runs a query outside the database (which may not exist yet).
    fn rows_outside<T: DeserializeOwned>(&self, sql: &Sql) -> Result<Vec<T>, StoreError> {
        self.rows_in(std::slice::from_ref(sql), false).map(|mut all| all.pop().unwrap_or_default())
    }

    /// Runs independent queries concurrently, in the database or not, reading the rows of each as `T`s.
    fn rows_in<T: DeserializeOwned>(&self, queries: &[Sql], database: bool) -> Result<Vec<Vec<T>>, StoreError> {
        self.answers(queries, database).into_iter().map(|answer| parse_rows(answer?)).collect()
    }

    /// Runs two independent queries concurrently, reading the rows of the first as `A`s and of the second as `B`s.
    pub fn rows_of_both<A: DeserializeOwned, B: DeserializeOwned>(
        &self,
        a: Sql,
        b: Sql,
    ) -> Result<(Vec<A>, Vec<B>), StoreError> {
        let mut answers = self.answers(&[a, b], true).into_iter();
        let (a, b) = (answers.next().expect("two answers"), answers.next().expect("two answers"));
        Ok((parse_rows(a?)?, parse_rows(b?)?))
    }

    /// The `JSONEachRow` answers of queries sent at once.
    fn answers(&self, queries: &[Sql], database: bool) -> Vec<Result<Vec<u8>, StoreError>> {
        let reads = queries.iter().map(|sql| Request {
            query: None,
            body: format!("{} FORMAT JSONEachRow", sql.text()).into_bytes(),
            database,
            read: true,
        });
        self.send(reads.collect()).answers()
    }

    /// Inserts a block of rows in `format` (e.g. `RowBinary`) into `table`.
    pub fn insert(&self, table: &str, format: &str, block: Vec<u8>) -> Result<(), StoreError> {
        self.start_insert(table, format, block).done()
    }

    /// Starts inserting a block as `insert` does and returns while ClickHouse writes it.
    pub fn start_insert(&self, table: &str, format: &str, block: Vec<u8>) -> InFlight<'_> {
        let query = format!("INSERT INTO {table} FORMAT {format}");
        self.send(vec![Request { query: Some(&query), body: block, database: true, read: false }])
    }

    /// Whether the server answers.
    pub fn check(&self) -> Result<(), String> {
        self.rows::<serde_json::Value>(&Sql::new("SELECT 1")).map(drop).map_err(|e| e.to_string())
    }
}

/// `max_threads` of ipscope's reads. They read the few granules of one address or device (or a small table): on
/// one thread they answer sooner than with the server's default of one per core, which suits scans (measured on 2
/// cores at 20M events, typical p50: stats 3.5 → 2.3 ms, devices 5.4 → 4.2 ms, prevalence 3.1 → 2.4 ms; the busiest
/// addresses' p99 on one server stay under 25 ms). Statements (DDL, `prune`'s deletes) and inserts keep the default.
const READ_THREADS: &str = "1";

/// One HTTP request to ClickHouse.
struct Request<'q> {
    /// `INSERT INTO ... FORMAT ...` whose rows are the body; without it the body is the statement.
    query: Option<&'q str>,
    body: Vec<u8>,
    /// Whether it runs in ipscope's database (not before that exists).
    database: bool,
    /// A read (see `READ_THREADS`).
    read: bool,
}

impl Request<'_> {
    /// A statement that returns nothing, in the database or not.
    fn statement(sql: &Sql, database: bool) -> Request<'static> {
        Request { query: None, body: sql.text().as_bytes().to_vec(), database, read: false }
    }
}

/// What came back for one request: its status and body, or why none came.
type Answer = Result<(reqwest::StatusCode, Vec<u8>), reqwest::Error>;

/// Requests sent to ClickHouse whose answers have not been read yet.
#[must_use = "an unread request's failure would go unnoticed"]
pub struct InFlight<'c> {
    ch: &'c ClickHouse,
    n: usize,
    answers: std::sync::mpsc::Receiver<(usize, Answer)>,
}

impl InFlight<'_> {
    /// Waits for the whole answers, in the order the requests were given.
    pub fn answers(self) -> Vec<Result<Vec<u8>, StoreError>> {
        let InFlight { ch, n, answers: rx } = self;
        let mut answers: Vec<Result<Vec<u8>, StoreError>> =
            (0..n).map(|_| Err(failed("the ClickHouse client stopped"))).collect();
        for (i, answer) in rx.iter() {
            answers[i] = match answer {
                Err(e) => {
                    // The innermost cause says what happened ("Connection refused"), the outer ones where.
                    let mut cause = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        cause = s.to_string();
                        source = s.source();
                    }
                    Err(failed(format!("ClickHouse at {} does not answer: {cause}", ch.url)))
                }
                Ok((status, bytes)) if status.is_success() => Ok(bytes),
                Ok((status, bytes)) => {
                    let text = String::from_utf8_lossy(&bytes);
                    Err(failed(format!("ClickHouse at {} answered {status}: {}", ch.url, text.trim())))
                }
            };
        }
        answers
    }

    /// Waits for the answers, the first failure if any.
    pub fn done(self) -> Result<(), StoreError> {
        self.answers().into_iter().try_for_each(|answer| answer.map(drop))
    }
}

#[derive(serde::Deserialize)]
struct Count {
    n: u64,
}

impl ClickHouse {
    /// Deletes the connections before the UTC day of `cutoff` and their rollup rows (whole days, so the rollups stay
    /// the sums of what remains), and waits until ClickHouse has done so.
    pub fn prune(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<super::retention::Pruned, StoreError> {
        use super::queries::{millis, DAY_MS};
        let first_day = cutoff.timestamp_millis().div_euclid(DAY_MS);
        let first_ms = first_day * DAY_MS;
        let count = |sql: Sql| -> Result<u64, StoreError> { Ok(self.rows::<Count>(&sql)?.first().map_or(0, |c| c.n)) };
        let events = count(Sql::new("SELECT count() AS n FROM events WHERE ts < ").int(first_ms))?;
        if events > 0 {
            let on_cluster = self.on_cluster();
            for (table, column, bound) in
                [("events", "ts", first_ms), ("ip_day_device", "day", first_day), ("device_day_ip", "day", first_day)]
            {
                let table = self.local_table(table);
                self.execute(
                    &Sql::new(&format!("ALTER TABLE {table}{on_cluster} DELETE WHERE {column} < ")).int(bound),
                )?;
            }
            // Mutations run in the background: wait for them, so that what is printed is what the store answers.
            let pending = || {
                count(
                    Sql::new("SELECT count() AS n FROM system.mutations WHERE is_done = 0 AND database = ")
                        .string(&self.url.database),
                )
            };
            let started = std::time::Instant::now();
            while pending()? > 0 {
                if started.elapsed() > Duration::from_secs(3600) {
                    return Err(failed("ClickHouse has not finished deleting after an hour; see system.mutations"));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(super::retention::Pruned { events, kept_from: millis(first_ms) })
    }
}

/// An events file imported before: when, and how many events it brought.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ImportedFile {
    /// The path it was imported from.
    pub file: String,
    /// When, as ClickHouse's `DateTime` text (UTC).
    pub imported: String,
    /// Events stored.
    pub events: u64,
}

#[derive(serde::Deserialize)]
struct IngestPosition {
    blob: String,
    read_bytes: u64,
    read_lines: u64,
}

impl ClickHouse {
    /// Where `ingest` has read each blob up to: (bytes, lines), by blob name.
    pub fn ingest_positions(&self) -> Result<std::collections::HashMap<String, (u64, u64)>, StoreError> {
        let sql = Sql::new("SELECT blob, read_bytes, read_lines FROM ingest_positions FINAL");
        let rows: Vec<IngestPosition> = self.rows(&sql)?;
        Ok(rows.into_iter().map(|p| (p.blob, (p.read_bytes, p.read_lines))).collect())
    }

    /// The import of the file whose content has this SHA-256 (hex), if there was one.
    pub fn imported_file(&self, sha256: &str) -> Result<Option<ImportedFile>, StoreError> {
        let sql = Sql::new(
            "SELECT file, toString(imported, 'UTC') AS imported, events FROM imported_files FINAL WHERE sha256 = ",
        )
        .string(sha256);
        Ok(self.rows(&sql)?.into_iter().next())
    }

    /// Records that the file with this SHA-256 brought `events` events.
    pub fn record_imported_file(&self, sha256: &str, file: &str, events: u64) -> Result<(), StoreError> {
        let sql = Sql::new("INSERT INTO imported_files (sha256, file, events, imported, version) VALUES (")
            .string(sha256)
            .push(", ")
            .string(file)
            .push(", ")
            .int(events as i64)
            .push(", now(), ")
            .int(chrono::Utc::now().timestamp_millis())
            .push(")");
        self.execute(&sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_user_password_host_and_database() {
        let url = ClickHouseUrl::parse("clickhouse://ana:s%40cret@ch.example:8123/soc", None).unwrap();
        assert_eq!((url.user.as_str(), url.password.as_deref()), ("ana", Some("s@cret")));
        assert_eq!((url.address.as_str(), url.database.as_str()), ("ch.example:8123", "soc"));
        assert_eq!(url.to_string(), "clickhouse://ana@ch.example:8123/soc", "the password is never shown");
        assert_eq!(format!("{url:?}"), "clickhouse://ana@ch.example:8123/soc");

        let env = ClickHouseUrl::parse("clickhouse://127.0.0.1:8123/ipscope", Some("pw".into())).unwrap();
        assert_eq!((env.user.as_str(), env.password.as_deref()), ("default", Some("pw")));

        for bad in [
            "http://127.0.0.1:8123/x",
            "clickhouse://127.0.0.1:8123",
            "clickhouse://127.0.0.1/x",
            "clickhouse://127.0.0.1:8123/",
            "clickhouse://127.0.0.1:8123/a;DROP",
            "clickhouse://a:%zz@h:1/x",
        ] {
            assert!(ClickHouseUrl::parse(bad, None).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn values_are_quoted_as_literals() {
        let sql = Sql::new("SELECT ").string("a'b\\c\n\u{1}").push(", ").int(-5).push(" IN ").strings(["x", "y'"]);
        assert_eq!(sql.text(), r"SELECT 'a\'b\\c\n\x01', -5 IN ('x', 'y\'')");
        assert_eq!(Sql::new("").strings([]).text(), "(NULL)");
    }
}
