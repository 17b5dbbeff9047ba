//! The one retry helper: exponential backoff with a cap, and the rule for logging a failure that
//! repeats (the first attempt, then attempts 2, 4, 8, … with the count and how long it has been
//! failing), so an outage reads as a few lines saying what is awaited rather than one per retry.
//!
//! ```
//! # use std::time::Duration;
//! # use runtime::retry::Backoff;
//! let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
//! assert_eq!(b.fail(), Duration::from_millis(100));
//! assert!(b.should_log());
//! assert_eq!(b.fail(), Duration::from_millis(200));
//! assert!(b.should_log()); // attempt 2
//! assert_eq!(b.fail(), Duration::from_millis(400));
//! assert!(!b.should_log()); // attempt 3
//! b.succeed();
//! assert_eq!(b.attempts(), 0);
//! ```

use std::time::{Duration, Instant};

/// Backoff state for one thing being retried (a connection, a query, a put).
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    attempts: u32,
    failing_since: Option<Instant>,
}

/// The cap for reconnecting to a server that went away: a server back within it is used again
/// within this long (Kafka Connect users expect a pipeline to resume within seconds of a
/// database or broker restart).
pub const RECONNECT_MAX: Duration = Duration::from_secs(8);

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let initial = initial.max(Duration::from_millis(1));
        Backoff { initial, max: max.max(initial), next: initial, attempts: 0, failing_since: None }
    }

    /// For a server connection: 500 ms doubling up to [`RECONNECT_MAX`].
    pub fn reconnect() -> Backoff {
        Backoff::new(Duration::from_millis(500), RECONNECT_MAX)
    }

    /// Records a failure; returns how long to wait before the next attempt.
    pub fn fail(&mut self) -> Duration {
        self.attempts += 1;
        self.failing_since.get_or_insert_with(Instant::now);
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// Records a failure and waits before the next attempt.
    pub async fn wait(&mut self) {
        let d = self.fail();
        tokio::time::sleep(d).await;
    }

    /// Records a success: the next failure starts from the initial delay again. Returns the
    /// number of failed attempts and how long they lasted, if there were any (to log recovery).
    pub fn succeed(&mut self) -> Option<(u32, Duration)> {
        let was = self.failing_since.take().map(|t| (self.attempts, t.elapsed()));
        self.attempts = 0;
        self.next = self.initial;
        was
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long it has been failing (zero when it is not).
    pub fn failing_for(&self) -> Duration {
        self.failing_since.map(|t| t.elapsed()).unwrap_or_default()
    }

    /// Whether the failure just recorded deserves a log line: the 1st, 2nd, 4th, 8th, … attempt.
    pub fn should_log(&self) -> bool {
        self.attempts.is_power_of_two()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(2));
        let waits: Vec<_> = (0..5).map(|_| b.fail().as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 2000, 2000]);
        let (n, _) = b.succeed().unwrap();
        assert_eq!(n, 5);
        assert_eq!(b.succeed(), None);
        assert_eq!(b.fail(), Duration::from_millis(500));
    }

    #[test]
    fn logs_on_powers_of_two() {
        let mut b = Backoff::reconnect();
        let logged: Vec<u32> = (1..=20)
            .filter(|_| {
                b.fail();
                b.should_log()
            })
            .collect();
        assert_eq!(logged, [1, 2, 4, 8, 16]);
    }
}
