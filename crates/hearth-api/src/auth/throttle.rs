//! Login throttling. Each failed login counts against the user name tried and the client
//! address. After a number of free failures, every further attempt must wait, and the wait
//! doubles with each failure up to a maximum. A success clears the user's count (the address
//! keeps its count: one correct password must not unlock guessing at other accounts).
//!
//! State is in memory and bounded: the oldest entries are forgotten past [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use hearth_core::config::AccountsConfig;

/// The most names or addresses remembered each.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Record {
    failures: u32,
    last_failure: u64,
}

/// The throttle.
#[derive(Debug)]
pub struct Throttle {
    free_per_user: u32,
    free_per_address: u32,
    max_backoff: u64,
    users: Mutex<HashMap<String, Record>>,
    addresses: Mutex<HashMap<IpAddr, Record>>,
}

impl Throttle {
    /// A throttle with the configured limits.
    pub fn new(cfg: &AccountsConfig) -> Self {
        Throttle {
            free_per_user: cfg.free_failures_per_user,
            free_per_address: cfg.free_failures_per_address,
            max_backoff: cfg.max_backoff.as_secs().max(1),
            users: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    fn wait_for(&self, r: Option<&Record>, free: u32, now: u64) -> u64 {
        let Some(r) = r else { return 0 };
        if r.failures < free {
            return 0;
        }
        let doublings = (r.failures - free).min(30);
        let wait = (1u64 << doublings).min(self.max_backoff);
        (r.last_failure + wait).saturating_sub(now)
    }

    /// Seconds the caller must still wait before trying `user` from `addr` (0: go ahead).
    pub fn wait(&self, user: Option<&str>, addr: Option<IpAddr>, now: u64) -> u64 {
        let by_user = user.map_or(0, |u| {
            let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
            self.wait_for(users.get(&u.to_lowercase()), self.free_per_user, now)
        });
        let by_addr = addr.map_or(0, |a| {
            let addrs = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            self.wait_for(addrs.get(&a), self.free_per_address, now)
        });
        by_user.max(by_addr)
    }

    /// Count a failure.
    pub fn failed(&self, user: Option<&str>, addr: Option<IpAddr>, now: u64) {
        if let Some(u) = user {
            let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
            bump(&mut users, u.to_lowercase(), now);
        }
        if let Some(a) = addr {
            let mut addrs = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            bump(&mut addrs, a, now);
        }
    }

    /// A successful login of `user`.
    pub fn succeeded(&self, user: &str) {
        self.users.lock().unwrap_or_else(|p| p.into_inner()).remove(&user.to_lowercase());
    }
}

fn bump<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, Record>, key: K, now: u64) {
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
        // Forget the entry whose last failure is oldest.
        if let Some(oldest) = map.iter().min_by_key(|(_, r)| r.last_failure).map(|(k, _)| k.clone()) {
            map.remove(&oldest);
        }
    }
    let r = map.entry(key).or_default();
    r.failures = r.failures.saturating_add(1);
    r.last_failure = now;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg() -> AccountsConfig {
        AccountsConfig {
            session_idle: Duration::from_secs(60),
            free_failures_per_user: 3,
            free_failures_per_address: 5,
            max_backoff: Duration::from_secs(60),
        }
    }

    #[test]
    fn waits_double_after_free_failures_and_cap() {
        let t = Throttle::new(&cfg());
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(t.wait(Some("ada"), Some(ip), 100), 0);
            t.failed(Some("ada"), Some(ip), 100);
        }
        assert_eq!(t.wait(Some("ada"), None, 100), 1);
        t.failed(Some("ada"), None, 101);
        assert_eq!(t.wait(Some("ADA"), None, 101), 2, "names are case-insensitive");
        for _ in 0..20 {
            t.failed(Some("ada"), None, 200);
        }
        assert_eq!(t.wait(Some("ada"), None, 200), 60, "capped");
        assert_eq!(t.wait(Some("ada"), None, 260), 0, "over after the wait");
        t.succeeded("ada");
        assert_eq!(t.wait(Some("ada"), None, 200), 0);
    }

    #[test]
    fn address_counts_across_names() {
        let t = Throttle::new(&cfg());
        let ip: IpAddr = "192.0.2.9".parse().expect("ip");
        for i in 0..5 {
            t.failed(Some(&format!("user{i}")), Some(ip), 10);
        }
        assert!(t.wait(Some("someone-else"), Some(ip), 10) > 0);
        assert_eq!(t.wait(Some("someone-else"), Some("192.0.2.10".parse().expect("ip")), 10), 0);
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::new(&cfg());
        for i in 0..(MAX_ENTRIES + 50) {
            t.failed(Some(&format!("n{i}")), None, i as u64);
        }
        assert!(t.users.lock().expect("lock").len() <= MAX_ENTRIES);
    }
}
