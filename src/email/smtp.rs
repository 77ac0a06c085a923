//! A pool of SMTP connections that we open ourselves, with `TCP_NODELAY`, and hand to lettre.
//!
//! lettre writes a message body and its closing `\r\n.\r\n` as two writes. On a socket with
//! Nagle's algorithm on, the second small write waits until the first is acknowledged, and the
//! server delays that acknowledgement (about 40 ms on Linux) because it is waiting for the rest of
//! the message. Every message stalled, capping one connection at about 21 messages a second.
//! lettre's own transport opens its sockets without a way to set `TCP_NODELAY`, so connections
//! are opened here and given to `AsyncSmtpConnection::connect_with_transport`; everything SMTP
//! (greeting, EHLO, STARTTLS, AUTH, the message) is still lettre's.
//!
//! A connection is checked out for one send and returned only if that send succeeded; a failed or
//! cancelled send (the caller's timeout) drops its connection, so a late reply can never be read
//! by the next message.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How the connection is encrypted, as `SMTP_URL` says (`smtp://` with `?tls=…`, or `smtps://`).
#[derive(Clone)]
enum Encryption {
    None,
    /// STARTTLS; `required` refuses to send in the clear when the server does not offer it.
    StartTls {
        params: TlsParameters,
        required: bool,
    },
    /// Implicit TLS from the first byte (`smtps://`, port 465).
    Wrapper(TlsParameters),
}

pub struct SmtpPool {
    host: String,
    port: u16,
    tls: Encryption,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    /// How long an idle connection gets to answer NOOP before a fresh one is opened instead.
    check_within: Duration,
    /// A connection back from a successful send this recently is used without a NOOP: under
    /// load that saves a round trip per message, and a server does not drop a connection a
    /// moment after accepting mail on it (if one does, the send fails and is retried).
    trust_for: Duration,
    idle_for: Duration,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    permits: Semaphore,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("{0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("could not connect to the mail server: {0}")]
    Connect(String),
}

impl SmtpError {
    /// A 5xx reply: sending again will not help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SmtpError::Smtp(e) if e.is_permanent())
    }
}

impl SmtpPool {
    /// Parses `smtp://user:pass@host:port/ehlo-name?tls=required|opportunistic` or
    /// `smtps://…`, the same forms lettre's `from_url` takes.
    pub fn from_url(url: &str, timeout: Duration, size: u32) -> anyhow::Result<Self> {
        let u = url::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("SMTP_URL is not a valid SMTP address: {e}"))?;
        let host = u
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("SMTP_URL has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls_param = u
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_string());
        let params =
            || TlsParameters::new(host.clone()).map_err(|e| anyhow::anyhow!("SMTP_URL TLS: {e}"));
        let (tls, default_port) = match (u.scheme(), tls_param.as_deref()) {
            ("smtp", None) => (Encryption::None, 25),
            ("smtp", Some("required")) => (
                Encryption::StartTls {
                    params: params()?,
                    required: true,
                },
                587,
            ),
            ("smtp", Some("opportunistic")) => (
                Encryption::StartTls {
                    params: params()?,
                    required: false,
                },
                587,
            ),
            ("smtps", _) => (Encryption::Wrapper(params()?), 465),
            (scheme, tls) => anyhow::bail!(
                "SMTP_URL: use smtp:// (optionally ?tls=required or ?tls=opportunistic) or \
                 smtps://, not {scheme}:// with tls={tls:?}"
            ),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|e| anyhow::anyhow!("SMTP_URL credentials: {e}"))
        };
        let credentials = match u.password() {
            Some(p) => Some(Credentials::new(decode(u.username())?, decode(p)?)),
            None => None,
        };
        let hello = match u.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        Ok(Self {
            port: u.port().unwrap_or(default_port),
            host,
            tls,
            credentials,
            hello,
            timeout,
            check_within: (timeout / 5).min(Duration::from_secs(2)),
            trust_for: Duration::from_secs(1),
            idle_for: Duration::from_secs(60),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1) as usize),
        })
    }

    /// Sends one message over a pooled connection, at most `size` at once.
    pub async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<Response, SmtpError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| SmtpError::Connect(e.to_string()))?;
        let mut conn = match self.checkout().await {
            Some(c) => c,
            None => self.connect().await?,
        };
        let response = conn.send(envelope, email).await?;
        self.idle
            .lock()
            .expect("smtp pool lock")
            .push((conn, Instant::now()));
        Ok(response)
    }

    /// An idle connection that still answers, if there is one. Any other is dropped without a
    /// QUIT, which closes its socket: a server that has gone quiet would leave a QUIT, like a
    /// NOOP without a time limit, waiting for an answer that never comes, and the send behind
    /// it with it.
    async fn checkout(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle.lock().expect("smtp pool lock").pop()?;
            if since.elapsed() >= self.idle_for || conn.has_broken() {
                continue;
            }
            if since.elapsed() < self.trust_for {
                return Some(conn);
            }
            if let Ok(true) = tokio::time::timeout(self.check_within, conn.test_connected()).await {
                return Some(conn);
            }
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let tcp = tokio::time::timeout(
            self.timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| SmtpError::Connect(format!("no answer within {:?}", self.timeout)))?
        .map_err(|e| SmtpError::Connect(e.to_string()))?;
        // The point of this module: no waiting for an acknowledgement before the last bytes.
        tcp.set_nodelay(true)
            .map_err(|e| SmtpError::Connect(e.to_string()))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Encryption::Wrapper(params) => {
                Box::new(ImplicitTls::connect(tcp, params.clone()).await?)
            }
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        if let Encryption::StartTls { params, required } = &self.tls {
            if conn.can_starttls() {
                conn.starttls(params.clone(), &self.hello).await?;
            } else if *required {
                conn.abort().await;
                return Err(SmtpError::Connect(
                    "the mail server does not offer STARTTLS, and SMTP_URL requires TLS".into(),
                ));
            }
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await?;
        }
        Ok(conn)
    }
}

/// A TLS stream for `smtps://`, built on our own (no-delay) TCP stream with lettre's TLS
/// settings, and seen by lettre as a plain stream it does not need to encrypt again.
#[allow(deprecated)]
struct ImplicitTls(lettre::transport::smtp::client::AsyncNetworkStream);

#[allow(deprecated)]
impl ImplicitTls {
    async fn connect(tcp: TcpStream, params: TlsParameters) -> Result<Self, SmtpError> {
        use lettre::transport::smtp::client::AsyncNetworkStream;
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        stream.upgrade_tls(params).await?;
        Ok(Self(stream))
    }
}

impl std::fmt::Debug for ImplicitTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImplicitTls")
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match futures_util::AsyncRead::poll_read(Pin::new(&mut self.0), cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        futures_util::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        futures_util::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        futures_util::AsyncWrite::poll_close(Pin::new(&mut self.0), cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_same_urls_as_lettre() {
        let t = Duration::from_secs(5);
        let p = SmtpPool::from_url("smtp://127.0.0.1:2525", t, 2).unwrap();
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 2525));
        assert!(matches!(p.tls, Encryption::None) && p.credentials.is_none());
        let p = SmtpPool::from_url(
            "smtp://ana%40x.se:p%40ss@mail.example.com?tls=required",
            t,
            2,
        )
        .unwrap();
        assert_eq!(p.port, 587);
        assert!(matches!(p.tls, Encryption::StartTls { required: true, .. }));
        assert!(p.credentials.is_some());
        let p = SmtpPool::from_url("smtps://mail.example.com/onramp.example", t, 2).unwrap();
        assert_eq!(p.port, 465);
        assert!(matches!(p.tls, Encryption::Wrapper(_)));
        assert_eq!(p.hello, ClientId::Domain("onramp.example".into()));
        for bad in ["http://x", "smtp://x?tls=sometimes", "not a url"] {
            assert!(SmtpPool::from_url(bad, t, 2).is_err(), "{bad}");
        }
    }

    /// A server that takes one message per connection and then, on the first connection
    /// only, never answers again (as one behind a dropped NAT mapping does). Returns its port
    /// and how many connections it has had.
    async fn server_that_goes_quiet() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let first = count.fetch_add(1, Ordering::SeqCst) == 0;
                tokio::spawn(async move {
                    let (read, mut write) = sock.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test ready\r\n").await.unwrap();
                    let mut in_data = false;
                    let mut sent_one = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply: &[u8] = if in_data {
                            if line != "." {
                                continue;
                            }
                            in_data = false;
                            sent_one = true;
                            b"250 queued\r\n"
                        } else if line.starts_with("DATA") {
                            in_data = true;
                            b"354 go on\r\n"
                        } else if line.starts_with("QUIT") {
                            b"221 bye\r\n"
                        } else if first && sent_one {
                            // Gone quiet: the socket stays open, nothing answers.
                            std::future::pending::<()>().await;
                            unreachable!()
                        } else {
                            b"250 ok\r\n"
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn a_pooled_connection_that_stops_answering_is_replaced_not_waited_on() {
        let (port, connections) = server_that_goes_quiet().await;
        let url = format!("smtp://127.0.0.1:{port}");
        let mut pool = SmtpPool::from_url(&url, Duration::from_secs(5), 1).unwrap();
        // Checked whenever reused, as after any pause longer than a busy queue's.
        pool.trust_for = Duration::ZERO;
        let envelope = Envelope::new(
            Some("from@example.com".parse().unwrap()),
            vec!["to@example.com".parse().unwrap()],
        )
        .unwrap();
        let message = b"Subject: t\r\n\r\nbody\r\n";
        for n in 1..=2 {
            // Without a limit on the check, the second send would wait for ever on the first
            // connection's NOOP; a bound here turns that into a failure, not a hung test.
            let sent = tokio::time::timeout(Duration::from_secs(20), pool.send(&envelope, message))
                .await
                .unwrap_or_else(|_| panic!("send {n} hung"));
            assert!(sent.is_ok(), "send {n}: {sent:?}");
        }
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
