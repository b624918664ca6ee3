//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use hearth_catalog::Catalog;
use hearth_core::board::BoardProfile;
use hearth_core::config::Config;
use hearth_core::service::StatusBoard;
use hearth_platform::clock::Clock;
use hearth_platform::network::LocalNetwork;

use crate::auth::throttle::Throttle;
use crate::setup_code::SetupCode;

/// Facts about this box that the API reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceInfo {
    /// A stable random id (hex), made on first start.
    pub id: String,
    /// The device name `hearth.toml` gives (the family's own name for the box is in
    /// [`AppState::box_settings`]).
    pub name: String,
    /// Hearth's version.
    pub version: String,
    /// The board profile's name.
    pub board: String,
    /// HTTPS port, when HTTPS is on.
    pub https_port: Option<u16>,
    /// SHA-256 of the HTTPS certificate (hex), when HTTPS is on.
    pub cert_sha256: Option<String>,
    /// The Syncthing-compatible device id peers pair with (`hearth sync id`).
    pub sync_device_id: Option<String>,
}

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Validated settings.
    pub config: Arc<Config>,
    /// The board profile.
    pub board: Arc<BoardProfile>,
    /// Service states (written by the supervisor).
    pub status: StatusBoard,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Login throttling.
    pub throttle: Arc<Throttle>,
    /// The setup code, while the box is unclaimed.
    pub setup: Arc<SetupCode>,
    /// The networks counted as "the box's own LAN".
    pub local_networks: Arc<Vec<LocalNetwork>>,
    /// Device facts.
    pub device: Arc<DeviceInfo>,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The sync engine (absent when `sync.listen` is off).
    pub sync: Option<hearth_sync::engine::Engine>,
    /// Power off and reboot (only on the image, `hearthd --appliance`).
    pub power: Option<Arc<dyn hearth_platform::power::Power>>,
    /// Live activity for open pages.
    pub live: Arc<crate::live::Live>,
    /// The family's settings for the box.
    pub box_settings: crate::box_settings::LiveSettings,
    /// Account passwords that verified lately (Basic credentials).
    pub verified_passwords: Arc<crate::auth::basic::VerifiedPasswords>,
    /// Bytes each user's hosted backup repositories hold (for `backup.hosted_quota_mib`).
    pub hosted_usage: Arc<crate::routes::restic::HostedUsage>,
    /// WebDAV: its locks and each space's commit lock (docs/files.md).
    pub dav: Arc<hearth_dav::Dav>,
    /// Files written into a user's files over WebDAV (hearthd's photo sources take in those in
    /// photo folders as they arrive).
    pub files_written: tokio::sync::broadcast::Sender<FileWritten>,
    /// Each member's family folders, kept between changes (`routes::family_folders`).
    pub memberships: Arc<crate::routes::family_folders::Memberships>,
    /// The disks as the disks service last read them (docs/disks.md).
    pub disks: Arc<hearth_disks::service::Disks>,
    /// Tokens of share links made in the last hour (`link_tokens`).
    pub link_tokens: Arc<crate::link_tokens::LinkTokens>,
    /// Nextcloud logins waiting to be granted (Login Flow v2).
    pub login_flows: Arc<crate::auth::login_flow::LoginFlows>,
    /// The box's own backup service (targets, jobs, runs), made on first use.
    pub backups: Arc<crate::routes::backups::ServiceCell>,
    /// A whole-box recovery started on this unclaimed box.
    pub recovery: Arc<crate::routes::setup::RecoveryStatus>,
    /// The system's updates (docs/updates.md).
    pub updates: Arc<hearth_ota::updates::Updates>,
    /// Sentences turned into vectors of the image/text model the family provided (`ml.embedding`),
    /// for free-text search; `None` when there is none.
    pub sentences: Option<Arc<dyn SentenceVectors>>,
}

/// A file (or a folder, by MOVE or COPY) written into a user's files over WebDAV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWritten {
    /// Whose files.
    pub owner_id: i64,
    /// Where it is now.
    pub path: std::path::PathBuf,
}

/// A sentence's vector in an image/text model's space (hearthd wires hearth-ml's; the API does
/// not load models itself).
pub trait SentenceVectors: Send + Sync {
    /// The sentence's unit vector and the SHA-256 of the image model whose stored vectors it is
    /// compared with. Blocking: called on the blocking pool.
    fn vector(&self, sentence: &str) -> Result<(String, Vec<f32>), crate::ApiError>;
}

impl AppState {
    /// Now, in Unix seconds, as the catalog stores it.
    pub fn now(&self) -> i64 {
        i64::try_from(self.clock.now_secs()).unwrap_or(i64::MAX)
    }

    /// Run a catalog read on the blocking pool.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite_conn::Connection) -> Result<T, hearth_catalog::CatalogError> + Send + 'static,
    ) -> Result<T, crate::ApiError> {
        let catalog = self.catalog.clone();
        Ok(tokio::task::spawn_blocking(move || catalog.read(f)).await??)
    }

    /// Run a catalog write transaction on the blocking pool.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite_conn::Transaction<'_>) -> Result<T, hearth_catalog::CatalogError> + Send + 'static,
    ) -> Result<T, crate::ApiError> {
        let catalog = self.catalog.clone();
        Ok(tokio::task::spawn_blocking(move || catalog.write(f)).await??)
    }
}

/// The connection types the catalog's closures receive.
pub mod rusqlite_conn {
    pub use hearth_catalog::store::{Connection, Transaction};
}
