//! The family's settings for the box (name, time zone, map tiles) as the running daemon sees
//! them: read from the catalog at start, replaced when an admin changes them, and watched by what
//! depends on them (the mDNS announcements, the sync engine's name).

use hearth_catalog::{Catalog, CatalogError, settings};
use hearth_core::box_settings::{BoxName, BoxSettings};
use tokio::sync::watch;

/// The current settings; cloning shares them.
#[derive(Clone)]
pub struct LiveSettings(std::sync::Arc<(watch::Sender<BoxSettings>, tokio::sync::Mutex<()>)>);

impl LiveSettings {
    /// What the catalog holds, named `configured` (`device.name`) where the family never named the box.
    pub fn load(catalog: &Catalog, configured: &str) -> Result<Self, CatalogError> {
        let default = BoxName::parse(configured).unwrap_or_else(|_| BoxName::parse("Hearth").expect("a valid constant"));
        let current = catalog.read(|r| settings::box_settings(r, default))?;
        Ok(Self::new(current))
    }

    /// Settings not kept anywhere (tests).
    pub fn new(current: BoxSettings) -> Self {
        Self(std::sync::Arc::new((watch::channel(current).0, tokio::sync::Mutex::new(()))))
    }

    /// The settings now.
    pub fn current(&self) -> BoxSettings {
        self.0.0.borrow().clone()
    }

    /// Held while a change is kept and told, so two changes at once are kept and told in the
    /// same order.
    pub async fn changing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.1.lock().await
    }

    /// Tell everyone watching; the caller has already kept `new` in the catalog.
    pub fn replace(&self, new: BoxSettings) {
        self.0.0.send_replace(new);
    }

    /// Follow changes.
    pub fn subscribe(&self) -> watch::Receiver<BoxSettings> {
        self.0.0.subscribe()
    }
}
