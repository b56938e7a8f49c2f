//! Accepting connections so that clients who open connections and send nothing (or trickle a header byte at a
//! time) cannot lock others out: a deadline for request headers, an idle timeout, a cap on open connections in all
//! and per client address (the excess is answered `503` at once and closed), and the open-file limit raised to
//! what the system allows. The HTTP layer's own refusals of requests it cannot read (`400`, `414`, `431`) get
//! Defender's error body like every other error.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How many connections, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections in all (lowered to fit the open-file limit).
    pub max_connections: usize,
    /// Open connections per client address.
    pub max_per_client: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// A connection that moves no byte either way for this long is closed.
    pub idle_timeout: Duration,
    /// Addresses without a per-client cap: reverse proxies carry many clients' connections.
    pub unlimited_clients: Vec<IpAddr>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            max_per_client: 128,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            unlimited_clients: Vec::new(),
        }
    }
}

/// Raises the soft limit on open files to the hard limit; returns the soft limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Ok(limit.rlim_cur)
}

/// Open connections, in all and per client.
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
    last_warning: Option<Instant>,
}

/// A connection's place in `Counts`, given back when it closes.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total -= 1;
        if let Some(n) = counts.per_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

/// Takes a slot for a connection from `client`, or says which cap it hits.
fn take_slot(counts: &Arc<Mutex<Counts>>, client: IpAddr, limits: &ConnectionLimits) -> Result<Slot, &'static str> {
    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
    let from_client = c.per_client.get(&client).copied().unwrap_or(0);
    let over = if c.total >= limits.max_connections {
        Some("the server's connection limit")
    } else if from_client >= limits.max_per_client && !limits.unlimited_clients.contains(&client) {
        Some("the per-client connection limit")
    } else {
        None
    };
    if let Some(which) = over {
        if c.last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            c.last_warning = Some(Instant::now());
            tracing::warn!(
                "{which} is reached ({} open, {from_client} from {client}); refusing new connections with 503",
                c.total
            );
        }
        return Err(which);
    }
    c.total += 1;
    *c.per_client.entry(client).or_insert(0) += 1;
    Ok(Slot { counts: Arc::clone(counts), client })
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let counts = Arc::new(Mutex::new(Counts { total: 0, per_client: HashMap::new(), last_warning: None }));
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or the like: wait a moment instead of spinning.
                    tracing::error!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let client = peer.ip().to_canonical();
        let slot = match take_slot(&counts, client, &limits) {
            Ok(slot) => slot,
            Err(_) => {
                // Answered at once and closed, without reading: never queued.
                let _ = stream.try_write(
                    b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let limits = Arc::clone(&limits);
        tokio::spawn(async move {
            let service = tower::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request)
            });
            let io = TokioIo::new(Socket::new(stream, limits.idle_timeout));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(io, TowerToHyperService::new(service))
                .with_upgrades();
            let _ = connection.await;
            drop(slot);
        });
    }
}

/// A connection that fails with `TimedOut` when no byte has moved either way for `timeout`, and gives the HTTP
/// layer's bodiless refusals the Defender error body.
struct Socket {
    inner: TcpStream,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// A rewritten answer not yet fully written, and how much of it was.
    pending: Vec<u8>,
    sent: usize,
}

impl Socket {
    fn new(inner: TcpStream, timeout: Duration) -> Socket {
        Socket { inner, timeout, deadline: Box::pin(tokio::time::sleep(timeout)), pending: Vec::new(), sent: 0 }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(tokio::time::Instant::now() + self.timeout);
    }

    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection"))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes what is left of a rewritten answer.
    fn poll_rewritten(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.sent += n;
                    self.moved();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.pending(cx),
            }
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

/// hyper's answer to a request it could not read (`HTTP/1.1 431 Request Header Fields Too Large`, no body) with
/// Defender's error body; `None` for any other write.
fn with_error_body(data: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(data).ok()?;
    let empty = "\r\ncontent-length: 0\r\n";
    if !head.starts_with("HTTP/1.1 4") || !head.ends_with("\r\n\r\n") || !head.contains(empty) {
        return None;
    }
    let reason = head.lines().next()?.splitn(3, ' ').nth(2)?;
    let code: String = reason.split(' ').collect();
    let body = serde_json::to_string(&ipscope_api::wire::ErrorResponse {
        error: ipscope_api::wire::ErrorDetail {
            code,
            message: format!("The request could not be read ({reason}); see the HTTP specification for its limits."),
            target: crate::error::request_id(),
        },
    })
    .ok()?;
    let headers = format!("\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
    Some((head.replacen(empty, &headers, 1) + &body).into_bytes())
}

impl AsyncRead for Socket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(e)) = self.poll_rewritten(cx) {
            return Poll::Ready(Err(e));
        }
        if !self.pending.is_empty() {
            return Poll::Pending;
        }
        if let Some(rewritten) = with_error_body(data) {
            self.pending = rewritten;
            if let Poll::Ready(Err(e)) = self.poll_rewritten(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(data.len())); // the rest is written by the next polls
        }
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                self.moved();
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_rewritten(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_rewritten(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_layers_refusals_get_the_defender_body() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let rewritten = String::from_utf8(with_error_body(head).unwrap()).unwrap();
        let (headers, body) = rewritten.split_once("\r\n\r\n").unwrap();
        assert!(headers.contains("content-type: application/json"), "{headers}");
        assert!(headers.contains(&format!("content-length: {}", body.len())), "{headers}");
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(value["error"]["code"], "RequestHeaderFieldsTooLarge");
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(with_error_body(ok).is_none());
        let with_body = b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\n";
        assert!(with_error_body(with_body).is_none());
    }
}
