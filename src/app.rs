//! Start-up and shutdown: connect and migrate, bind, then serve and dispatch mail until told to
//! stop. Tests build the same `Application` with their own settings and mailer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::Settings;
use crate::email::{Dispatcher, Mailer, Renderer};
use crate::store::Db;
use crate::web::{self, AppState};

pub struct Application {
    listener: TcpListener,
    pub addr: SocketAddr,
    /// The metrics listener (`ONRAMP_METRICS_BIND`), if configured.
    metrics_listener: Option<TcpListener>,
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    pub dispatcher: Arc<Dispatcher>,
    /// When the instance was built: its scheduler runs the ticks due from then on, even those
    /// that fall due before its tasks get going.
    pub started: chrono::DateTime<chrono::Utc>,
}

pub fn renderer(settings: &Settings) -> anyhow::Result<Renderer> {
    let support = settings
        .mail
        .reply_to
        .clone()
        .unwrap_or_else(|| settings.mail.from.clone());
    let support = support
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or(support);
    Renderer::new("onramp", &settings.base_url(), &support)
}

impl Application {
    /// Connects, migrates and binds. With port 0 the OS picks a port, and links in emails use it.
    pub async fn build(settings: Settings, mailer: Mailer) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, mailer, Clock::system()).await
    }

    /// Like `build`, reading the time from `clock` (tests pass a manual clock and move it).
    pub async fn build_with_clock(
        mut settings: Settings,
        mailer: Mailer,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let db = Db::connect_with(&settings.database_url, settings.database_max_connections)
            .await
            .context("connecting to the database")?
            .with_clock(clock);
        let lock = db
            .startup_lock(&settings.database_url)
            .await
            .context("waiting for other instances to finish starting")?;
        db.migrate().await.context("applying migrations")?;
        lock.release().await;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("binding {}", settings.bind))?;
        let addr = listener.local_addr()?;
        let metrics_listener = match settings.metrics_bind {
            Some(bind) => Some(
                TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("binding the metrics address {bind}"))?,
            ),
            None => None,
        };
        let metrics_addr = match &metrics_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        if settings.base_url.is_none() {
            settings.bind = addr;
        }
        if let Mailer::Files(dir) = &mailer {
            tracing::warn!(
                dir = %dir.display(),
                retention_days = settings.mail.file_retention_days,
                "SMTP_URL is not set: mail is NOT being sent, only written to files (they hold live links; readable by this user only)"
            );
        }
        let settings = Arc::new(settings);
        let renderer = Arc::new(renderer(&settings)?);
        let dispatcher = Arc::new(Dispatcher::new(
            db.clone(),
            mailer,
            renderer.clone(),
            settings.clone(),
        )?);
        let metrics = Arc::new(web::metrics::Metrics::default());
        metrics
            .refresh_gauges(&db)
            .await
            .context("counting rows for the metrics")?;
        let limits = Arc::new(web::limits::RateLimits::new(
            &settings.rate_limits,
            &settings.trusted_proxies,
            metrics.clone(),
        ));
        let state = AppState {
            intake: crate::usecases::intake::Intake::start(db.clone(), settings.clone()),
            db,
            settings,
            metrics,
            limits,
            renderer: renderer.clone(),
        };
        let started = state.db.now();
        Ok(Self {
            listener,
            addr,
            metrics_listener,
            metrics_addr,
            state,
            dispatcher,
            started,
        })
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and sends, and gives
    /// back outbox leases. `dispatch` false leaves mail and scheduled jobs to another process (tests
    /// drive them).
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        dispatch: bool,
    ) -> anyhow::Result<()> {
        self.run_with_extra_routes(axum::Router::new(), shutdown, dispatch)
            .await
    }

    /// `run`, with `extra` routes merged in (the benchmark adds its baseline endpoint).
    pub async fn run_with_extra_routes(
        self,
        extra: axum::Router,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        dispatch: bool,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = dispatch.then(|| tokio::spawn(self.dispatcher.clone().run(stop_rx.clone())));
        let hooks = match dispatch {
            true => Some(tokio::spawn(
                crate::webhooks::Sender::new(self.state.db.clone())?.run(
                    Duration::from_millis(self.state.settings.outbox.poll_interval_ms.max(500)),
                    stop_rx.clone(),
                ),
            )),
            false => None,
        };
        let jobs = if dispatch {
            crate::jobs::spawn_all(
                self.state.db.clone(),
                self.state.settings.clone(),
                self.started,
                stop_rx.clone(),
            )
        } else {
            Vec::new()
        };
        let gauges = tokio::spawn(web::metrics::refresh_loop(
            self.state.metrics.clone(),
            self.state.db.clone(),
            Duration::from_secs(self.state.settings.metrics_refresh_secs),
            stop_rx.clone(),
        ));
        let housekeeping = tokio::spawn(housekeeping(
            self.state.clone(),
            self.dispatcher.clone(),
            stop_rx.clone(),
        ));
        let app = web::router(self.state.clone()).merge(extra);
        let limits = web::serve::Limits {
            header_read_timeout: Duration::from_secs(self.state.settings.header_read_timeout_secs),
            max_connections: self.state.settings.max_open_connections,
            max_per_address: self.state.settings.max_connections_per_address,
            trusted_proxies: self.state.settings.trusted_proxies.clone().into(),
        };
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let server = tokio::spawn(web::serve::serve(
            self.listener,
            app,
            limits.clone(),
            stopped(stop_rx.clone()),
        ));
        let metrics_server = self.metrics_listener.map(|l| {
            tokio::spawn(web::serve::serve(
                l,
                web::ops::metrics_router(self.state.clone()),
                limits,
                stopped(stop_rx.clone()),
            ))
        });
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stop_tx.send(true);
        match tokio::time::timeout(Duration::from_secs(30), server).await {
            Ok(r) => r.context("server task")?,
            Err(_) => tracing::warn!("requests still running after 30 s; stopping anyway"),
        }
        if let Some(m) = metrics_server {
            let _ = tokio::time::timeout(Duration::from_secs(5), m).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), gauges).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), housekeeping).await;
        for j in jobs {
            let _ = tokio::time::timeout(Duration::from_secs(30), j).await;
        }
        if let Some(h) = hooks {
            let _ = tokio::time::timeout(crate::webhooks::SEND_TIMEOUT * 2, h).await;
        }
        if let Some(w) = worker {
            let _ = tokio::time::timeout(self.state.settings.send_timeout() * 2, w).await;
        }
        self.state.db.close().await;
        Ok(())
    }
}

/// Once a minute until `stop`: forgets addresses whose rate-limit allowance has come back (so
/// the limiters stay small), deletes expired staff sessions, and deletes mail files older than
/// `mail.file_retention_days`. Every instance runs it; each step is idempotent.
async fn housekeeping(
    state: AppState,
    dispatcher: Arc<Dispatcher>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                state.limits.retain_recent();
                let now = state.db.now();
                if let Err(e) = crate::store::sessions::delete_expired(&state.db, now).await {
                    tracing::warn!(error = %e, "deleting expired staff sessions failed");
                }
                let days = state.settings.mail.file_retention_days;
                match dispatcher.mailer().prune_files(days).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "old mail files deleted"),
                    Err(e) => tracing::warn!(error = %e, "deleting old mail files failed"),
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
