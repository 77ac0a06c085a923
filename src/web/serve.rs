//! The HTTP server loop: HTTP/1.1 (a proxy in front speaks HTTP/2 to browsers), with a timer so
//! that a client must send a request's headers within `header_read_timeout` (a slow or silent
//! client is disconnected, not kept for ever), at most `max_connections` connections open at
//! once (beyond that, new ones wait in the listen backlog instead of using up file descriptors
//! the database and `/healthz` need), at most `max_per_address` of them from one client address
//! (counted before a global slot is taken, so one client cannot hold them all; IPv6 by its /64;
//! the trusted proxies are not counted, they carry many clients), and a graceful stop that lets
//! requests in flight finish.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub max_per_address: usize,
    /// Proxies whose connections are not counted per address.
    pub trusted_proxies: Arc<[IpAddr]>,
}

/// Open connections per client address.
#[derive(Default)]
struct PerAddress(std::sync::Mutex<HashMap<IpAddr, usize>>);

/// One connection counted against its address; uncounted when dropped.
struct Counted(Arc<PerAddress>, IpAddr);

impl PerAddress {
    /// Counts a connection from `ip` unless `cap` are already open from it.
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Counted> {
        let mut open = self.0.lock().expect("the counter's lock is never poisoned");
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Counted(self.clone(), ip))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = (self.0)
            .0
            .lock()
            .expect("the counter's lock is never poisoned");
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, then waits for open requests to finish
/// (the caller bounds how long). Each request carries `ConnectInfo<SocketAddr>`, the peer.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(PerAddress::default());
    tokio::pin!(stop);
    loop {
        // Waits for a global slot before accepting, so beyond the cap connections wait in the
        // backlog rather than hold file descriptors.
        let permit = tokio::select! {
            p = open.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, most likely: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let counted = if limits.trusted_proxies.contains(&peer.ip()) {
            None
        } else {
            match per_address.take(super::limits::limit_key(peer.ip()), limits.max_per_address) {
                Some(c) => Some(c),
                None => {
                    // Over its own cap: closed at once, and the slot goes to the next client.
                    tracing::debug!(peer = %peer.ip(), "connection refused: too many from one address");
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timed out): nothing to report.
            let _ = conn.await;
            drop(counted);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
