//! Backups as a service: what hearthd runs by itself so that a family's box is backed up without
//! anyone typing a command (docs/backups.md).
//!
//! - [`admin`]: what the owner does: test and save targets, add and change jobs, ask for runs.
//! - [`credentials`]: the box's key that seals target credentials and the backup password in
//!   the catalog.
//! - [`backup_key`]: the backup password every repository opens with: a recovery key Hearth
//!   makes and shows once, or one the owner chooses.
//! - [`target`]: where backups go (a folder on a USB disk, another Hearth with its certificate
//!   pinned, S3, a restic REST server), checked and connected to before a target is saved.
//! - [`pinned_tls`]: TLS that trusts exactly one certificate.
//! - [`job`]: what a job backs up (everything by default, the catalog always as a consistent
//!   copy) and how long snapshots are kept.
//! - [`schedule`]: when jobs run, in the box's time zone.
//! - [`runner`]: one run (a backup and its retention, a restore drill, a check) with its
//!   progress and outcome in the catalog; the scheduler that queues what is due.
//! - [`drill`]: restore drills: a random sample of files restored and compared.
//! - [`restore`]: restores someone asked for, into a new folder or back in place.
//! - [`recovery`]: a new box becomes the lost one from a backup of everything (prepared while
//!   unclaimed, finished at the next start).
//!
//! The catalog's rows are in `hearth_catalog::backups`; the `backup` worker process of hearthd
//! claims runs and calls [`Service::execute`].

pub mod admin;
pub mod backup_key;
pub mod credentials;
pub mod drill;
pub mod job;
pub mod pinned_tls;
pub mod recovery;
pub mod restore;
pub mod runner;
pub mod schedule;
pub mod target;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hearth_catalog::Catalog;
use hearth_catalog::backups::{self, TargetRow};

use crate::error::{BackupError, Result};
use backup_key::BackupPassword;
use credentials::{CredentialKey, Purpose};
use target::{TargetSecret, TargetSpec};

/// How often a target's restore drill runs.
pub const DRILL_EVERY: i64 = 7 * 86400;
/// How often a tenth of a target's packs are read back and checked.
pub const CHECK_EVERY: i64 = 30 * 86400;
/// Ended runs kept per job, target and kind.
pub const HISTORY_KEPT: u32 = 100;

/// The backup service of one box: its catalog, data folder and credential key.
pub struct Service {
    catalog: Arc<Catalog>,
    data: PathBuf,
    credentials: CredentialKey,
    host: String,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("data", &self.data).field("host", &self.host).finish()
    }
}

/// A target with its secrets opened.
#[derive(Debug)]
pub struct ResolvedTarget {
    /// The row.
    pub row: TargetRow,
    /// Where.
    pub spec: TargetSpec,
    /// The credentials.
    pub secret: TargetSecret,
}

impl Service {
    /// The service for the data folder `data`. Snapshots are recorded under the host name
    /// `hearth-<device id>`, which stays the same when the family renames the box.
    pub fn new(catalog: Arc<Catalog>, data: &Path) -> Result<Service> {
        let data = std::fs::canonicalize(data).map_err(|e| BackupError::io(data.display().to_string(), e))?;
        let credentials = CredentialKey::load_or_create(&data)?;
        let device = catalog.read(|r| hearth_catalog::settings::get(r, "device_id"))?.unwrap_or_else(|| "unknown".into());
        let short: String = device.chars().filter(|c| c.is_ascii_alphanumeric()).take(7).collect();
        Ok(Service { catalog, data, credentials, host: format!("hearth-{}", short.to_ascii_lowercase()) })
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The data folder (canonical).
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The host name snapshots are recorded under.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The backup password; an error saying what to do when none was set up.
    pub fn password(&self) -> Result<BackupPassword> {
        self.catalog.read(|r| Ok(backup_key::stored(r, &self.credentials)))??.ok_or_else(|| {
            BackupError::Invalid(
                "no backup password is set up: make the recovery key (or choose a password) on the Backups page first".into(),
            )
        })
    }

    /// Set up the backup password: `Some(chosen)`, or a new recovery key, returned to be shown
    /// once. Refused when one exists.
    pub fn set_up_password(&self, chosen: Option<&str>) -> Result<Option<String>> {
        let (password, shown, kind) = match chosen {
            Some(text) => (BackupPassword::chosen(text)?, None, backup_key::KeyKind::Password),
            None => {
                let (pw, shown) = backup_key::generate_recovery_key()?;
                (pw, Some(shown), backup_key::KeyKind::RecoveryKey)
            }
        };
        self.catalog.write(|tx| Ok(backup_key::store(tx, &self.credentials, &password, kind)))??;
        Ok(shown)
    }

    /// Seal a target's credentials for the catalog.
    pub fn seal_secret(&self, secret: &TargetSecret) -> Result<Option<Vec<u8>>> {
        if *secret == TargetSecret::default() {
            return Ok(None);
        }
        let json = serde_json::to_vec(secret).map_err(|e| BackupError::Invalid(e.to_string()))?;
        Ok(Some(self.credentials.seal(Purpose::TargetSecret, &json)?))
    }

    /// A target with its credentials.
    pub fn target(&self, id: i64) -> Result<ResolvedTarget> {
        let row = self.catalog.read(|r| backups::target(r, id))?.ok_or_else(|| BackupError::NoRepository(format!("backup target {id}")))?;
        self.resolve(row)
    }

    /// Open a stored target's spec and credentials.
    pub fn resolve(&self, row: TargetRow) -> Result<ResolvedTarget> {
        let spec: TargetSpec = serde_json::from_str(&row.spec)
            .map_err(|e| BackupError::Invalid(format!("the stored description of target {:?} is damaged: {e}", row.name)))?;
        let secret = match &row.sealed_secret {
            Some(sealed) => serde_json::from_slice(&self.credentials.open(Purpose::TargetSecret, sealed)?)
                .map_err(|e| BackupError::Invalid(format!("the stored credentials of target {:?} are damaged: {e}", row.name)))?,
            None => TargetSecret::default(),
        };
        Ok(ResolvedTarget { row, spec, secret })
    }

    /// Where the engine keeps network repositories' index and trees.
    pub fn cache_dir(&self) -> PathBuf {
        self.data.join("backup/cache")
    }

    /// Scratch space for drills (emptied by each drill).
    pub fn scratch_dir(&self) -> PathBuf {
        self.data.join("backup/scratch")
    }
}
