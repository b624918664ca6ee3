//! When to restart, and when to stop trying for a while.

use std::time::Duration;

/// Restart rules for one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// The wait after the first failure.
    pub initial_backoff: Duration,
    /// The longest wait between restarts (the wait doubles up to it).
    pub max_backoff: Duration,
    /// A run that lasted this long counts as healthy: the backoff and crash count reset.
    pub stable_after: Duration,
    /// Consecutive failures (without a healthy run) that put the service in quarantine.
    pub quarantine_after: u32,
    /// How long a quarantined service is held before one more try.
    pub quarantine_for: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            stable_after: Duration::from_secs(60),
            quarantine_after: 8,
            quarantine_for: Duration::from_secs(3600),
        }
    }
}

impl RestartPolicy {
    /// The wait before restart number `failures` (1-based count of consecutive failures).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.initial_backoff.saturating_mul(1u32 << doublings).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RestartPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(5), Duration::from_secs(16));
        assert_eq!(p.backoff(30), Duration::from_secs(300));
    }
}
