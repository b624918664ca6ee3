//! The one registry of services Hearth announces on the LAN (mDNS/DNS-SD).
//!
//! Crates that own a service (the web API, sync, WebDAV) add an [`Announcement`] here; the mDNS
//! responder in `hearth-discovery` watches the registry and is the only thing that talks to the
//! network. Removing an announcement sends a goodbye.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

/// One DNS-SD service instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// DNS-SD type with protocol, e.g. `_http._tcp`.
    pub service_type: String,
    /// The instance name shown to people (the device name).
    pub instance: String,
    /// TCP/UDP port.
    pub port: u16,
    /// TXT record keys and values.
    pub txt: Vec<(String, String)>,
}

/// The shared registry. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Announcements {
    tx: Arc<watch::Sender<BTreeMap<String, Announcement>>>,
}

impl Default for Announcements {
    fn default() -> Self {
        Self::new()
    }
}

impl Announcements {
    /// An empty registry.
    pub fn new() -> Self {
        let (tx, _) = watch::channel(BTreeMap::new());
        Self { tx: Arc::new(tx) }
    }

    /// Add or replace the announcement registered under `key` (the owner's stable name).
    pub fn set(&self, key: &str, a: Announcement) {
        self.tx.send_modify(|m| {
            m.insert(key.to_string(), a);
        });
    }

    /// Withdraw an announcement.
    pub fn remove(&self, key: &str) {
        self.tx.send_if_modified(|m| m.remove(key).is_some());
    }

    /// The current set.
    pub fn current(&self) -> BTreeMap<String, Announcement> {
        self.tx.borrow().clone()
    }

    /// A receiver that is notified on every change.
    pub fn subscribe(&self) -> watch::Receiver<BTreeMap<String, Announcement>> {
        self.tx.subscribe()
    }
}
