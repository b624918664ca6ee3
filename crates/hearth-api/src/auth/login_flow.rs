//! Nextcloud's Login Flow v2 (docs/files.md): an app asks for a login and gets two secrets, a
//! login token for the page it opens in a browser and a poll token it keeps; the family member
//! logs in on the box's web page and grants access; the app's next poll receives an app
//! password of that account, once.
//!
//! Flows live in memory for 20 minutes (a restart in the middle of a login means logging in
//! again); at most [`MOST_FLOWS`] wait at once, the oldest going first, and at most
//! [`MOST_FLOWS_PER_ADDRESS`] from one address, its own oldest going first (so one client
//! starting flows in a loop pushes out only its own). Poll tokens are kept by their SHA-256 only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secret;
use crate::ApiError;

/// How long a flow waits to be granted and collected.
pub const FLOW_LIFETIME: Duration = Duration::from_secs(20 * 60);
/// The most flows waiting at once.
pub const MOST_FLOWS: usize = 64;
/// The most flows waiting at once that one address started.
pub const MOST_FLOWS_PER_ADDRESS: usize = 8;

/// What the app is told to open and to poll with.
#[derive(Debug, Clone)]
pub struct Started {
    /// The secret in the page's address.
    pub login_token: String,
    /// The secret the app polls with.
    pub poll_token: String,
}

/// What a granted flow hands to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The account's login name.
    pub login_name: String,
    /// The app password made for the app.
    pub app_password: String,
}

/// A flow as the grant page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The app that asked, as its user agent names it.
    pub client: String,
    /// Whether it was granted already.
    pub granted: bool,
}

#[derive(Debug)]
struct Flow {
    poll_hash: Vec<u8>,
    from: Option<std::net::IpAddr>,
    client: String,
    started: Instant,
    grant: Option<Grant>,
}

/// The flows waiting.
#[derive(Debug, Default)]
pub struct LoginFlows(Mutex<HashMap<String, Flow>>);

impl LoginFlows {
    fn flows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flow>> {
        let mut flows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        flows.retain(|_, f| f.started.elapsed() < FLOW_LIFETIME);
        flows
    }

    /// A new flow for the app named `client`, asked for from `from`.
    pub fn start(&self, client: &str, from: Option<std::net::IpAddr>) -> Result<Started, ApiError> {
        let started = Started { login_token: secret::new_secret()?, poll_token: secret::new_secret()? };
        let mut flows = self.flows();
        let oldest = |flows: &HashMap<String, Flow>, of: Option<Option<std::net::IpAddr>>| {
            flows.iter().filter(|(_, f)| of.is_none_or(|a| f.from == a)).min_by_key(|(_, f)| f.started).map(|(k, _)| k.clone())
        };
        while flows.values().filter(|f| f.from == from).count() >= MOST_FLOWS_PER_ADDRESS {
            let Some(k) = oldest(&flows, Some(from)) else { break };
            flows.remove(&k);
        }
        while flows.len() >= MOST_FLOWS {
            let Some(k) = oldest(&flows, None) else { break };
            flows.remove(&k);
        }
        flows.insert(
            started.login_token.clone(),
            Flow { poll_hash: secret::sha256(&started.poll_token), from, client: client.to_string(), started: Instant::now(), grant: None },
        );
        Ok(started)
    }

    /// The flow a login token names, while it waits.
    pub fn pending(&self, login_token: &str) -> Option<Pending> {
        self.flows().get(login_token).map(|f| Pending { client: f.client.clone(), granted: f.grant.is_some() })
    }

    /// Records the grant for the flow `login_token` names; `false` when there is no such flow
    /// or it was granted already (the caller then revokes the app password it made).
    pub fn grant(&self, login_token: &str, grant: Grant) -> bool {
        match self.flows().get_mut(login_token) {
            Some(f) if f.grant.is_none() => {
                f.grant = Some(grant);
                true
            }
            _ => false,
        }
    }

    /// The grant for the poll token, once: the flow ends when it is collected. `None` while it
    /// waits, or when nothing is known of the token.
    pub fn collect(&self, poll_token: &str) -> Option<Grant> {
        let hash = secret::sha256(poll_token);
        let mut flows = self.flows();
        let key = flows.iter().find(|(_, f)| f.poll_hash == hash && f.grant.is_some()).map(|(k, _)| k.clone())?;
        flows.remove(&key).and_then(|f| f.grant)
    }
}

/// The name an app password made by a login flow gets: the app, from its user agent, and when.
pub fn password_name(user_agent: &str, now: i64) -> String {
    let ua = user_agent.to_ascii_lowercase();
    let app = if ua.contains("nextcloud-android") {
        "Nextcloud Android".to_string()
    } else if ua.contains("nextcloud-ios") || ua.contains("nextcloudkit") {
        "Nextcloud iOS".to_string()
    } else if ua.contains("mirall") || ua.contains("nextcloudcmd") {
        "Nextcloud desktop".to_string()
    } else {
        let printable: String = user_agent.chars().filter(|c| !c.is_control()).take(40).collect();
        if printable.trim().is_empty() { "Nextcloud app".to_string() } else { printable.trim().to_string() }
    };
    let days = now.div_euclid(86_400);
    let (y, m, d) = hearth_core::calendar::civil_from_days(days);
    let secs = now.rem_euclid(86_400);
    format!("{app} ({y:04}-{m:02}-{d:02} {:02}:{:02}:{:02})", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_is_granted_once_and_collected_once() {
        let flows = LoginFlows::default();
        let s = flows.start("Nextcloud Android", None).expect("start");
        assert_eq!(flows.collect(&s.poll_token), None, "not granted yet");
        assert_eq!(flows.pending(&s.login_token), Some(Pending { client: "Nextcloud Android".into(), granted: false }));
        assert_eq!(flows.pending(&s.poll_token), None, "the poll token does not open the page");
        let g = Grant { login_name: "anna".into(), app_password: "hth_x".into() };
        assert!(!flows.grant(&s.poll_token, g.clone()), "the poll token cannot grant");
        assert!(flows.grant(&s.login_token, g.clone()));
        assert!(!flows.grant(&s.login_token, g.clone()), "granted once");
        assert_eq!(flows.collect(&s.login_token), None, "the login token does not collect");
        assert_eq!(flows.collect(&s.poll_token), Some(g));
        assert_eq!(flows.collect(&s.poll_token), None, "collected once");
        assert_eq!(flows.pending(&s.login_token), None);
    }

    #[test]
    fn waiting_flows_are_bounded_in_all_and_per_address() {
        let flows = LoginFlows::default();
        let address = |n: usize| Some(std::net::IpAddr::from([192, 0, 2, u8::try_from(n % 250).expect("small")]));
        let first = flows.start("a", address(0)).expect("start");
        for n in 0..MOST_FLOWS {
            flows.start("b", address(n + 1)).expect("start");
        }
        assert_eq!(flows.pending(&first.login_token), None, "the oldest went");
        assert_eq!(flows.0.lock().expect("lock").len(), MOST_FLOWS);

        // One address starting flows in a loop pushes out only its own.
        let flows = LoginFlows::default();
        let phone = flows.start("Nextcloud Android", address(7)).expect("start");
        for _ in 0..10 * MOST_FLOWS_PER_ADDRESS {
            flows.start("loop", address(66)).expect("start");
        }
        assert!(flows.pending(&phone.login_token).is_some(), "another address's flow stays");
        assert_eq!(flows.0.lock().expect("lock").len(), MOST_FLOWS_PER_ADDRESS + 1);
    }

    #[test]
    fn app_passwords_are_named_after_the_app() {
        assert_eq!(password_name("Mozilla/5.0 (Android) Nextcloud-android/3.30.1", 0), "Nextcloud Android (1970-01-01 00:00:00)");
        assert!(password_name("Mozilla/5.0 (Linux) mirall/3.7.3", 3661).ends_with("(1970-01-01 01:01:01)"));
        assert!(password_name("", 0).starts_with("Nextcloud app"));
        assert!(password_name("curl/8\u{7}", 0).starts_with("curl/8 ("));
    }
}
