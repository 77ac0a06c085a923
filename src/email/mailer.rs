use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::Message;

use super::smtp::SmtpPool;

use crate::config::Settings;

/// Where mail goes. `Files` is the default without SMTP so a newcomer's mail is never silently
/// dropped: each message becomes an `.eml` file whose path is logged.
#[derive(Clone)]
pub enum Mailer {
    Smtp(Arc<SmtpPool>),
    Files(PathBuf),
    Memory(Arc<Mutex<Vec<SentEmail>>>),
}

#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: String,
    pub raw: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying: 4xx replies, connection problems, timeouts.
    #[error("{0}")]
    Temporary(String),
    /// Will not succeed by retrying: 5xx replies, a malformed message.
    #[error("{0}")]
    Permanent(String),
}

impl Mailer {
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        match &s.mail.smtp_url {
            Some(url) => Ok(Mailer::Smtp(Arc::new(SmtpPool::from_url(
                url,
                s.send_timeout(),
                s.mail.pool_size,
            )?))),
            None => Ok(Mailer::Files(s.data_dir.join("mail"))),
        }
    }

    pub fn memory() -> (Self, Arc<Mutex<Vec<SentEmail>>>) {
        let store = Arc::new(Mutex::new(Vec::new()));
        (Mailer::Memory(store.clone()), store)
    }

    /// Deletes `.eml` files of the Files mailer older than `days`: they hold live links.
    /// Returns how many went.
    pub async fn prune_files(&self, days: u64) -> std::io::Result<usize> {
        let Mailer::Files(dir) = self else {
            return Ok(0);
        };
        let cutoff = std::time::SystemTime::now() - Duration::from_secs(days * 86_400);
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut gone = 0;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "eml") {
                continue;
            }
            let modified = entry.metadata().await?.modified()?;
            if modified < cutoff {
                tokio::fs::remove_file(&path).await?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".into(),
            Mailer::Files(dir) => format!("files in {}", dir.display()),
            Mailer::Memory(_) => "memory".into(),
        }
    }

    /// Sends one message within `limit`; `file_stem` names the file for the Files backend.
    /// Returns the server's reply (or where the file went). The limit covers everything: waiting
    /// for a pooled connection, connecting, and a server that trickles. A send cut short drops
    /// its connection with it.
    pub async fn send(
        &self,
        message: Message,
        file_stem: &str,
        limit: Duration,
    ) -> Result<String, SendError> {
        match tokio::time::timeout(limit, self.send_now(message, file_stem)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Temporary(format!(
                "timed out after {} s waiting for the mail server",
                limit.as_secs_f64()
            ))),
        }
    }

    async fn send_now(&self, message: Message, file_stem: &str) -> Result<String, SendError> {
        match self {
            Mailer::Smtp(smtp) => match smtp.send(message.envelope(), &message.formatted()).await {
                Ok(resp) => Ok(format!(
                    "{} {}",
                    resp.code(),
                    resp.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Temporary(e.to_string())),
            },
            Mailer::Files(dir) => {
                let path = dir.join(format!("{file_stem}.eml"));
                let write = async {
                    private_dir(dir).await?;
                    write_private(&path, &message.formatted()).await
                };
                match write.await {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "email written to file");
                        Ok(format!("written to {}", path.display()))
                    }
                    Err(e) => Err(SendError::Temporary(format!(
                        "could not write {}: {e}",
                        path.display()
                    ))),
                }
            }
            Mailer::Memory(store) => {
                let to = message
                    .envelope()
                    .to()
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
                store
                    .lock()
                    .expect("mail store lock")
                    .push(SentEmail { to, raw });
                Ok("250 stored in memory".into())
            }
        }
    }
}

/// The Files mailer's folder, readable by this user only (0700), even if it existed before.
async fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = tokio::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    }
    Ok(())
}

/// Writes a file readable by this user only (0600): an email holds live links.
async fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut o = tokio::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path).await?;
    f.write_all(bytes).await?;
    f.flush().await
}
