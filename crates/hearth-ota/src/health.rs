//! The health gate (docs/updates.md, "Trial and commit"): a system on trial commits itself only
//! after every service has been healthy for a whole grace period (the catalog opened, migrated
//! and checked before that); a service that fails for good fails the gate at once, and a gate not
//! passed within its limit fails with the last problem seen. A failed gate restarts the box, and
//! the selector counts the try.

use std::time::{Duration, Instant};

/// What the gate says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not yet: healthy for less than the grace period.
    Waiting,
    /// Healthy for the whole grace period.
    Passed,
    /// Not healthy, and not going to be: why.
    Failed(String),
}

/// How the services are, as the supervisor sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Every service running.
    Healthy,
    /// Something is not running yet or is restarting: what.
    Unhealthy(String),
    /// Something failed in a way a restart of it will not fix: what.
    Broken(String),
}

/// A health gate.
#[derive(Debug, Clone)]
pub struct Gate {
    grace: Duration,
    limit: Duration,
    started: Instant,
    healthy_since: Option<Instant>,
    last_problem: Option<String>,
}

impl Gate {
    /// A gate started at `now`: pass after `grace` of health, fail after `limit` without.
    pub fn new(grace: Duration, limit: Duration, now: Instant) -> Gate {
        Gate { grace, limit: limit.max(grace), started: now, healthy_since: None, last_problem: None }
    }

    /// Record how things are at `now`.
    pub fn observe(&mut self, now: Instant, seen: Observation) -> Verdict {
        match seen {
            Observation::Broken(why) => return Verdict::Failed(why),
            Observation::Unhealthy(why) => {
                self.healthy_since = None;
                self.last_problem = Some(why);
            }
            Observation::Healthy => {
                let since = *self.healthy_since.get_or_insert(now);
                if now.duration_since(since) >= self.grace {
                    return Verdict::Passed;
                }
            }
        }
        if now.duration_since(self.started) >= self.limit {
            let why = self.last_problem.clone().unwrap_or_else(|| "it was not healthy for long enough".into());
            return Verdict::Failed(format!("not healthy within {} s: {why}", self.limit.as_secs()));
        }
        Verdict::Waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_after_a_whole_grace_period_of_health() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = Gate::new(s(60), s(600), t0);
        assert_eq!(g.observe(t0, Observation::Healthy), Verdict::Waiting);
        assert_eq!(g.observe(t0 + s(30), Observation::Unhealthy("sync is backing off".into())), Verdict::Waiting);
        assert_eq!(g.observe(t0 + s(40), Observation::Healthy), Verdict::Waiting);
        assert_eq!(g.observe(t0 + s(90), Observation::Healthy), Verdict::Waiting, "the clock started again at 40 s");
        assert_eq!(g.observe(t0 + s(100), Observation::Healthy), Verdict::Passed);
    }

    #[test]
    fn fails_on_a_broken_service_or_at_the_limit() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = Gate::new(s(60), s(300), t0);
        assert!(
            matches!(g.observe(t0, Observation::Broken("catalog integrity check failed".into())), Verdict::Failed(w) if w.contains("integrity"))
        );
        let mut g = Gate::new(s(60), s(300), t0);
        g.observe(t0 + s(10), Observation::Unhealthy("api: port 80 in use".into()));
        match g.observe(t0 + s(300), Observation::Unhealthy("api: port 80 in use".into())) {
            Verdict::Failed(why) => assert!(why.contains("port 80") && why.contains("300 s"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
