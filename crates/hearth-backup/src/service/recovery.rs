//! Whole-box recovery: a freshly flashed box becomes the lost one again from a backup of
//! everything. Users, settings, the catalog, photos, files, the TLS certificate and the sync
//! identity come back, so phones reconnect without pairing again.
//!
//! Two steps, because the running daemon holds the fresh catalog and identity open:
//!
//! 1. [`prepare`] (while the new box is unclaimed): open the repository with the recovery key,
//!    pick the newest snapshot of a whole box, restore it into `DATA/recovery/incoming/`, check
//!    that it holds the catalog copy, and write `DATA/recovery/ready`. Nothing of the running
//!    box is touched; a failure leaves the box as it was.
//! 2. [`finish_pending`] (at the next start, before the catalog is opened): each restored entry
//!    is moved into the data folder; what the fresh box had made under the same name (its empty
//!    catalog, its new identity and certificate, the setup code) is moved aside into
//!    `DATA/recovery/replaced/`, never deleted; the catalog copy becomes `DATA/hearth.db`. Every
//!    step is a rename, and the marker goes last, so a power cut in between is finished at the
//!    next start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::backup_key::BackupPassword;
use super::job::{CATALOG_COPY, LEFT_OUT};
use super::target::{TargetSecret, TargetSpec};
use crate::commands::restore::{self, RestoreOptions};
use crate::error::{BackupError, Result};
use crate::repository::Repository;
use crate::snapshot::Snapshot;

/// Where recovery works, under the data folder.
pub const DIR: &str = "recovery";
const READY: &str = "ready";
const INCOMING: &str = "incoming";
const REPLACED: &str = "replaced";

/// What `DATA/recovery/ready` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The snapshot restored.
    pub snapshot: String,
    /// When it was taken.
    pub time: String,
    /// The box it came from (`hearth-<device id>`).
    pub host: String,
    /// The restored data folder's name inside `incoming/`.
    pub root: String,
    /// Where the data folder was on the lost box (paths in its catalog start with it).
    #[serde(default)]
    pub source_path: String,
}

/// The recovery key or password as someone typed it: a recovery key however it is written,
/// else a password of their own.
pub fn typed_password(text: &str) -> Result<BackupPassword> {
    BackupPassword::recovery_key(text).or_else(|_| BackupPassword::chosen(text.trim())).map_err(|_| {
        BackupError::Invalid("that is neither a recovery key (30 letters and digits) nor a backup password of 12 characters or more".into())
    })
}

/// The newest snapshot of a whole Hearth box in `repo`: made by a `hearth-…` host from one
/// folder (the data folder).
pub fn newest_box_snapshot(repo: &Repository) -> Result<(String, Snapshot)> {
    let (all, _) = repo.snapshots()?;
    all.into_iter()
        .rev()
        .find(|(_, s)| s.host.starts_with("hearth-") && s.paths.len() == 1)
        .ok_or_else(|| BackupError::Invalid("this repository holds no backup of a whole Hearth box".into()))
}

/// Whether a recovery is prepared and waits for the restart.
pub fn pending(data: &Path) -> Option<Ready> {
    let bytes = std::fs::read(data.join(DIR).join(READY)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Step 1: restore the newest whole-box snapshot at the target into `DATA/recovery/incoming/`.
pub fn prepare(data: &Path, spec: &TargetSpec, secret: &TargetSecret, typed_key: &str) -> Result<Ready> {
    if pending(data).is_some() {
        return Err(BackupError::AlreadyExists("a prepared recovery (restart the box to finish it)".into()));
    }
    let password = typed_password(typed_key)?;
    let backend = spec.open(secret)?;
    if !backend.exists()? {
        return Err(BackupError::NoRepository(spec.location()));
    }
    let repo = Repository::open_in(backend, password.as_bytes(), &data.join("backup/cache"))?;
    let (name, snap) = newest_box_snapshot(&repo)?;
    let root = Path::new(&snap.paths[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| BackupError::Invalid(format!("the snapshot's folder {:?} has no name", snap.paths[0])))?;
    let dir = data.join(DIR);
    let incoming = dir.join(INCOMING);
    if incoming.exists() {
        std::fs::remove_dir_all(&incoming).map_err(|e| BackupError::io(incoming.display().to_string(), e))?;
    }
    std::fs::create_dir_all(&incoming).map_err(|e| BackupError::io(incoming.display().to_string(), e))?;
    let opts = RestoreOptions { snapshot: name.clone(), include: None, target: incoming.clone(), workers: 2, no_sync: false };
    let report = restore::run(&repo, &opts)?;
    if let Some((path, why)) = report.errors.first() {
        return Err(BackupError::Invalid(format!(
            "{} file(s) of the backup could not be restored (first: {}: {why}); the box was left as it was",
            report.errors.len(),
            path.display()
        )));
    }
    if !incoming.join(&root).join(CATALOG_COPY).is_file() {
        return Err(BackupError::Invalid("the backup holds no catalog copy; it is not a backup of a whole box".into()));
    }
    let source_path = snap.paths[0].clone();
    let ready = Ready { snapshot: name, time: snap.time, host: snap.host, root, source_path };
    let json = serde_json::to_vec(&ready).map_err(|e| BackupError::Invalid(e.to_string()))?;
    hearth_platform::durable::write_atomic(&dir.join(READY), &json, 0o600).map_err(|e| BackupError::io(dir.display().to_string(), e))?;
    tracing::info!(snapshot = %ready.snapshot, from = %ready.host, files = report.files, "whole-box recovery prepared; it is finished at the next start");
    Ok(ready)
}

fn io(p: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::io(p.display().to_string(), e)
}

/// Move `name` (a path under `data`) aside into `replaced/`, keeping anything already there.
fn move_aside(data: &Path, replaced: &Path, name: &Path) -> Result<()> {
    let from = data.join(name);
    if from.symlink_metadata().is_err() {
        return Ok(());
    }
    let to = replaced.join(name);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let file_name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "entry".into());
    let parent = to.parent().unwrap_or(replaced).to_path_buf();
    hearth_platform::durable::place_new_file(&from, &parent, &file_name, 1000).map_err(io(&from))?;
    Ok(())
}

/// Step 2, at start before the catalog is opened: finish a prepared recovery. `Ok(None)` when
/// none is prepared.
pub fn finish_pending(data: &Path) -> Result<Option<Ready>> {
    let Some(ready) = pending(data) else { return Ok(None) };
    let dir = data.join(DIR);
    let root = dir.join(INCOMING).join(&ready.root);
    let replaced = dir.join(REPLACED);
    std::fs::create_dir_all(&replaced).map_err(io(&replaced))?;
    let entries: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(rd) => rd.flatten().map(|e| PathBuf::from(e.file_name())).collect(),
        // Already moved in by a start that was cut off.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(&root)(e)),
    };
    for name in entries {
        let text = name.to_string_lossy();
        // Never from a backup: what only the running box may hold, and recovery's own folder.
        if LEFT_OUT.contains(&text.as_ref()) || text == DIR || text == "setup-code" {
            continue;
        }
        move_aside(data, &replaced, &name)?;
        hearth_platform::durable::rename_noreplace(&root.join(&name), &data.join(&name)).map_err(io(&data.join(&name)))?;
    }
    // The catalog: the fresh box's goes aside, the copy from the backup takes its place.
    let copy = data.join(CATALOG_COPY);
    if copy.is_file() {
        for f in ["hearth.db", "hearth.db-wal", "hearth.db-shm"] {
            move_aside(data, &replaced, Path::new(f))?;
        }
        hearth_platform::durable::rename_noreplace(&copy, &data.join("hearth.db")).map_err(io(&copy))?;
    }
    // Paths the catalog keeps under the lost box's data folder now point into this one (the
    // same on the appliance, where it is always /data).
    let here = data.to_string_lossy();
    if !ready.source_path.is_empty() && ready.source_path != here {
        let (catalog, _) = hearth_catalog::Catalog::open(&data.join("hearth.db"))?;
        let moved = catalog.write(|tx| hearth_catalog::relocate::data_folder_moved(tx, &ready.source_path, &here))?;
        catalog.checkpoint()?;
        tracing::info!(from = %ready.source_path, to = %here, paths = moved, "the catalog's paths follow the data folder");
    }
    // The restored box is claimed: the fresh box's setup code goes too.
    move_aside(data, &replaced, Path::new("setup-code"))?;
    hearth_platform::durable::sync_dir(data).map_err(io(data))?;
    let _ = std::fs::remove_dir_all(dir.join(INCOMING));
    std::fs::remove_file(dir.join(READY)).map_err(io(&dir))?;
    hearth_platform::durable::sync_dir(&dir).map_err(io(&dir))?;
    tracing::warn!(snapshot = %ready.snapshot, from = %ready.host, taken = %ready.time, "this box was recovered from a backup; what the fresh box had made is in recovery/replaced/");
    Ok(Some(ready))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_passwords_are_told_apart() {
        let (_, shown) = super::super::backup_key::generate_recovery_key().expect("key");
        assert!(typed_password(&shown.to_lowercase()).is_ok());
        assert!(typed_password("a family password").is_ok());
        assert!(typed_password("short").is_err());
    }

    #[test]
    fn finishing_moves_the_backup_in_and_the_fresh_box_aside_and_survives_a_second_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path();
        // The fresh box.
        std::fs::create_dir_all(data.join("sync")).expect("mkdir");
        std::fs::write(data.join("sync/cert.pem"), b"fresh identity").expect("w");
        std::fs::write(data.join("hearth.db"), b"fresh catalog").expect("w");
        std::fs::write(data.join("setup-code"), b"ABCD").expect("w");
        // What was restored.
        let root = data.join("recovery/incoming/data");
        for d in ["sync", "library/1", "backup/catalog"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join("sync/cert.pem"), b"old identity").expect("w");
        std::fs::write(root.join("library/1/a.jpg"), b"photo").expect("w");
        std::fs::write(root.join(CATALOG_COPY), b"old catalog").expect("w");
        let ready =
            Ready { snapshot: "ab".into(), time: "t".into(), host: "hearth-x".into(), root: "data".into(), source_path: String::new() };
        std::fs::write(data.join("recovery/ready"), serde_json::to_vec(&ready).expect("json")).expect("w");
        assert_eq!(finish_pending(data).expect("finish"), Some(ready));
        assert_eq!(std::fs::read(data.join("sync/cert.pem")).expect("r"), b"old identity");
        assert_eq!(std::fs::read(data.join("hearth.db")).expect("r"), b"old catalog");
        assert_eq!(std::fs::read(data.join("library/1/a.jpg")).expect("r"), b"photo");
        assert_eq!(std::fs::read(data.join("recovery/replaced/sync/cert.pem")).expect("r"), b"fresh identity");
        assert_eq!(std::fs::read(data.join("recovery/replaced/hearth.db")).expect("r"), b"fresh catalog");
        assert!(!data.join("setup-code").exists());
        assert!(pending(data).is_none());
        assert_eq!(finish_pending(data).expect("again"), None, "nothing more to do");
    }
}
