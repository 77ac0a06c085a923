//! The app's one source of "now". Production reads the system clock; tests hold a clock they
//! move by hand, so link expiry, reminders, offers and scheduled ticks are tested without
//! sleeping. Every instance of the app shares its clock through `Db`, which every layer has.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use tokio::sync::Notify;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// None: the system clock.
    manual: Option<Arc<Manual>>,
}

#[derive(Debug)]
struct Manual {
    at: Mutex<DateTime<Utc>>,
    moved: Notify,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `start` and moves only when told (`advance`, `set`).
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Manual {
                at: Mutex::new(start.trunc_subsecs(6)),
                moved: Notify::new(),
            })),
        }
    }

    /// The current time at the precision both engines store (PostgreSQL keeps microseconds),
    /// so a value read back compares equal to the one written.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now().trunc_subsecs(6),
            Some(m) => *m.at.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a manual clock forward by `by` (and wakes whoever waits on it). A system clock
    /// cannot be moved; this panics, since only tests move time.
    pub fn advance(&self, by: Duration) {
        let at = self.now() + by;
        self.set(at);
    }

    /// Sets a manual clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        let m = self
            .manual
            .as_ref()
            .expect("only a manual clock can be moved");
        *m.at.lock().unwrap_or_else(|e| e.into_inner()) = at.trunc_subsecs(6);
        m.moved.notify_waiters();
    }

    /// Waits until the clock reads `at` or later: a real sleep on the system clock, and until
    /// the test moves it far enough on a manual one.
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        match &self.manual {
            None => {
                let wait = (at - self.now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            Some(m) => loop {
                let moved = m.moved.notified();
                tokio::pin!(moved);
                // Register before reading, so a move between the read and the wait is seen.
                moved.as_mut().enable();
                if self.now() >= at {
                    return;
                }
                moved.await;
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_told_and_wakes_sleepers() {
        let start = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::manual(start);
        assert_eq!(clock.now(), start);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(start + Duration::hours(1)).await })
        };
        tokio::task::yield_now().await;
        clock.advance(Duration::minutes(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "woke before its time");
        clock.advance(Duration::minutes(30));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("the sleeper wakes once the clock reaches its time")
            .unwrap();
        assert_eq!(clock.now(), start + Duration::hours(1));
    }
}
