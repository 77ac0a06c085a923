//! What the service does against clients that cost it: slow or silent connections, floods of
//! sign-ins and signups, spam in names, and requests from other sites.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Opens a connection and sends part of a request's headers, never the blank line that ends them.
async fn half_sent_request(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .await
        .unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app_with(|s| s.header_read_timeout_secs = 1).await;
    let mut slow = half_sent_request(&app.base).await;
    // The server closes the connection once the header timeout passes (answering 408 at most);
    // without a timeout it would wait for ever. The bound here only stops a hung test.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the half-sent request was still open after 10 s"
    );
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // Everyone else is served as usual.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_connections_are_capped_and_the_next_waits_its_turn() {
    let app = spawn_app_with(|s| {
        s.max_open_connections = 1;
        s.header_read_timeout_secs = 60;
    })
    .await;
    let slow = half_sent_request(&app.base).await;
    // The one slot is taken: a new connection waits in the backlog and is not served...
    let client = reqwest::Client::new();
    let waiting = client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_millis(1500))
        .send()
        .await;
    assert!(waiting.is_err(), "served past the cap: {waiting:?}");
    // ...until the slot is free again.
    drop(slow);
    let served = client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
}
