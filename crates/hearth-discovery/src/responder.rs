//! The mDNS responder service.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use hearth_core::Shutdown;
use hearth_core::announce::{Announcement, Announcements};
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use mdns_sd::{HostnameResolutionEvent, ServiceDaemon, ServiceInfo, UnregisterStatus};

/// How long to listen for another machine answering to our preferred host name.
const NAME_CHECK: Duration = Duration::from_millis(1000);
/// The longest we wait for goodbyes to go out on shutdown.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// Runs the responder for the lifetime of the daemon.
pub struct MdnsService {
    announcements: Announcements,
    hostname: String,
    fallback_suffix: String,
    chosen: std::sync::Mutex<Option<String>>,
}

impl MdnsService {
    /// `hostname` is the preferred label (`hearth`); `fallback_suffix` (4 characters from the
    /// device id) makes `hearth-XXXX` when that name is taken.
    pub fn new(announcements: Announcements, hostname: &str, fallback_suffix: &str) -> Self {
        Self {
            announcements,
            hostname: hostname.to_string(),
            fallback_suffix: fallback_suffix.to_string(),
            chosen: std::sync::Mutex::new(None),
        }
    }

    /// The host label in use (after the name check), once running.
    pub fn hostname_in_use(&self) -> Option<String> {
        self.chosen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn own_addresses() -> HashSet<IpAddr> {
    hearth_platform::network::local_networks().into_iter().map(|n| n.addr).collect()
}

/// Whether another machine answers to `name.local.` within [`NAME_CHECK`].
fn name_taken(daemon: &ServiceDaemon, name: &str) -> bool {
    let fqdn = format!("{name}.local.");
    let Ok(rx) = daemon.resolve_hostname(&fqdn, Some(NAME_CHECK.as_millis() as u64)) else { return false };
    let ours = own_addresses();
    let deadline = std::time::Instant::now() + NAME_CHECK + Duration::from_millis(200);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let ev = rx.recv_timeout(left);
        tracing::debug!(?ev, "name check");
        match ev {
            Ok(HostnameResolutionEvent::AddressesFound(_, addrs)) => {
                if addrs.iter().any(|a| !ours.contains(&a.to_ip_addr())) {
                    let _ = daemon.stop_resolve_hostname(&fqdn);
                    return true;
                }
            }
            Ok(HostnameResolutionEvent::SearchTimeout(_)) | Ok(HostnameResolutionEvent::SearchStopped(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = daemon.stop_resolve_hostname(&fqdn);
    false
}

fn service_info(a: &Announcement, host: &str) -> Result<ServiceInfo, mdns_sd::Error> {
    let ty = format!("{}.local.", a.service_type.trim_end_matches('.').trim_end_matches(".local"));
    let props: Vec<(&str, &str)> = a.txt.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(ServiceInfo::new(&ty, &a.instance, &format!("{host}.local."), "", a.port, &props[..])?.enable_addr_auto())
}

type Registered = BTreeMap<String, (Announcement, String)>;

/// Make mdns-sd's registrations match `current` (registry key -> announcement) for `host`.
fn sync(daemon: &ServiceDaemon, host: &str, current: &BTreeMap<String, Announcement>, registered: &mut Registered) {
    let stale: Vec<String> = registered.iter().filter(|(k, (a, _))| current.get(*k) != Some(a)).map(|(k, _)| k.clone()).collect();
    for k in stale {
        if let Some((_, fullname)) = registered.remove(&k) {
            let _ = daemon.unregister(&fullname);
        }
    }
    for (k, a) in current {
        if registered.contains_key(k) {
            continue;
        }
        match service_info(a, host).and_then(|info| {
            let fullname = info.get_fullname().to_string();
            daemon.register(info).map(|()| fullname)
        }) {
            Ok(fullname) => {
                tracing::info!(service = %a.service_type, instance = %a.instance, host = %format!("{host}.local"), port = a.port, "announced on mDNS");
                registered.insert(k.clone(), (a.clone(), fullname));
            }
            Err(e) => tracing::warn!(service = %a.service_type, error = %e, "mDNS registration failed"),
        }
    }
}

impl Service for MdnsService {
    fn name(&self) -> &'static str {
        "mdns"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            let daemon = ServiceDaemon::new().map_err(|e| ServiceFailure::retryable(format!("cannot start the mDNS responder: {e}")))?;
            let fallback = format!("{}-{}", self.hostname, self.fallback_suffix);
            // mdns-sd probes every name it registers (RFC 6762 section 8) and renames on a
            // conflict ("hearth-2"); we watch for that and switch to our own fallback instead.
            let (conflict_tx, mut conflicts) = tokio::sync::mpsc::unbounded_channel::<String>();
            if let Ok(monitor) = daemon.monitor() {
                std::thread::Builder::new()
                    .name("mdns-monitor".into())
                    .spawn(move || {
                        while let Ok(ev) = monitor.recv() {
                            if let mdns_sd::DaemonEvent::NameChange(change) = ev {
                                tracing::debug!(from = %change.original, to = %change.new_name, "mDNS name conflict");
                                if conflict_tx.send(change.original).is_err() {
                                    break;
                                }
                            }
                        }
                    })
                    .ok();
            }
            // A quick look first, so the usual case announces the final name straight away.
            let (probe, preferred) = (daemon.clone(), self.hostname.clone());
            let taken = tokio::task::spawn_blocking(move || name_taken(&probe, &preferred)).await.unwrap_or(false);
            let mut host = if taken {
                tracing::warn!(taken = %self.hostname, using = %fallback, "another device on the LAN answers to {}.local; using {fallback}.local", self.hostname);
                fallback.clone()
            } else {
                self.hostname.clone()
            };
            *self.chosen.lock().unwrap_or_else(|p| p.into_inner()) = Some(host.clone());

            let mut rx = self.announcements.subscribe();
            let mut registered: Registered = BTreeMap::new();
            let first = rx.borrow_and_update().clone();
            sync(&daemon, &host, &first, &mut registered);
            ready.ready();
            loop {
                tokio::select! {
                    _ = shutdown.wait() => break,
                    changed = rx.changed() => {
                        if changed.is_err() { break; }
                        let current = rx.borrow_and_update().clone();
                        sync(&daemon, &host, &current, &mut registered);
                    }
                    Some(original) = conflicts.recv() => {
                        if original.trim_end_matches('.') == format!("{host}.local") && host != fallback {
                            tracing::warn!(taken = %host, using = %fallback, "another device on the LAN owns {host}.local; using {fallback}.local");
                            for (_, (_, fullname)) in std::mem::take(&mut registered) {
                                let _ = daemon.unregister(&fullname);
                            }
                            host = fallback.clone();
                            *self.chosen.lock().unwrap_or_else(|p| p.into_inner()) = Some(host.clone());
                            let current = rx.borrow().clone();
                            sync(&daemon, &host, &current, &mut registered);
                        }
                    }
                }
            }
            // Goodbyes: unregister everything and wait (bounded) until they are sent.
            let names: Vec<String> = registered.values().map(|(_, f)| f.clone()).collect();
            let d = daemon.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let deadline = std::time::Instant::now() + GOODBYE_WAIT;
                for fullname in names {
                    if let Ok(rx) = d.unregister(&fullname) {
                        let left = deadline.saturating_duration_since(std::time::Instant::now());
                        match rx.recv_timeout(left) {
                            Ok(UnregisterStatus::OK) => tracing::info!(%fullname, "mDNS goodbye sent"),
                            other => tracing::debug!(%fullname, ?other, "mDNS unregister"),
                        }
                    }
                }
                if let Ok(rx) = d.shutdown() {
                    let _ = rx.recv_timeout(Duration::from_millis(500));
                }
            })
            .await;
            Ok(())
        })
    }
}
