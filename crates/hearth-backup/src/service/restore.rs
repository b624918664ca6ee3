//! Restores someone asked for (the API, the CLI, the Backups page): a file, a folder or a whole
//! snapshot, into a new folder or back to where it was.
//!
//! Everything is first restored into scratch space on the data disk (files appear there only
//! when complete; a full disk fails the run there, before anything in place is touched). Into a
//! new folder: the scratch folder is moved to `DATA/restored/<date> run <id>/`. Back in place:
//! each restored file is compared with what is there now; an identical file is left alone, a
//! different one is kept beside it as `name (before restore).ext` and the restored file takes
//! its name, each step a rename that never replaces anything. If something new appears at the
//! name in between, the restored file is placed as `name (restored).ext` instead. Nothing is
//! ever overwritten.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_catalog::backups::{RunRow, RunState};
use hearth_platform::durable;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Service;
use super::runner::Finished;
use crate::commands::restore::{self, RestoreOptions};
use crate::error::{BackupError, Result};
use crate::snapshot::Snapshot;

/// Where restored files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// A new folder under `DATA/restored/`.
    NewFolder,
    /// Where they were (what is there now is kept beside them).
    InPlace,
}

/// A restore run's request (the run's `request` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Snapshot name (or a unique prefix of it).
    pub snapshot: String,
    /// A path inside the snapshot as the browser shows it (`/data/library/1`); the whole
    /// snapshot when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Where to.
    pub destination: Destination,
}

impl RestoreRequest {
    /// Check the path's form (whether it is in the snapshot is found when the run starts).
    pub fn validated(self) -> Result<RestoreRequest> {
        if self.snapshot.is_empty() || !self.snapshot.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BackupError::Invalid(format!("{:?} is not a snapshot name", self.snapshot)));
        }
        if let Some(p) = &self.path
            && Path::new(p).components().any(|c| matches!(c, Component::ParentDir))
        {
            return Err(BackupError::Invalid(format!("{p:?}: a path inside the snapshot has no '..'")));
        }
        Ok(self)
    }
}

/// Where a path inside `snapshot` was on the box: its first part names one of the snapshot's
/// backed-up paths.
pub fn original_location(snapshot: &Snapshot, inside: &Path) -> Option<PathBuf> {
    let mut parts = inside.components().filter_map(|c| if let Component::Normal(s) = c { Some(s) } else { None });
    let first = parts.next()?;
    let base = snapshot.paths.iter().map(PathBuf::from).find(|p| p.file_name() == Some(first))?;
    Some(parts.fold(base, |acc, p| acc.join(p)))
}

/// `name (suffix).ext`.
fn beside(name: &str, suffix: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({suffix}).{ext}"),
        _ => format!("{name} ({suffix})"),
    }
}

fn same_content(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return false };
    if !ma.is_file() || !mb.is_file() || ma.len() != mb.len() {
        return false;
    }
    match (super::drill::hash_file(a), super::drill::hash_file(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// What putting files back did.
#[derive(Debug, Default, Clone, Copy)]
struct PutBack {
    placed: u64,
    unchanged: u64,
    kept_beside: u64,
    placed_beside: u64,
}

/// Move every file under `from` to the same place under `to`, never replacing anything.
fn put_back(from: &Path, to: &Path, stamp: &str, counts: &mut PutBack, errors: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(from) else { return };
    for e in entries.flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if let Err(err) = std::fs::create_dir_all(&dst) {
                errors.push(format!("{}: {err}", dst.display()));
                continue;
            }
            put_back(&src, &dst, stamp, counts, errors);
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if dst.symlink_metadata().is_ok() {
            if same_content(&src, &dst) {
                counts.unchanged += 1;
                continue;
            }
            // What is there now is kept beside, under a name that is free.
            match durable::place_new_file(&dst, to, &beside(&name, &format!("before restore {stamp}")), 100) {
                Ok(_) => counts.kept_beside += 1,
                Err(err) => {
                    errors.push(format!("{}: cannot move the current file aside: {err}", dst.display()));
                    continue;
                }
            }
        }
        match durable::rename_noreplace(&src, &dst) {
            Ok(()) => counts.placed += 1,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                match durable::place_new_file(&src, to, &beside(&name, "restored"), 100) {
                    Ok(_) => counts.placed_beside += 1,
                    Err(err) => errors.push(format!("{}: {err}", dst.display())),
                }
            }
            Err(err) => errors.push(format!("{}: {err}", dst.display())),
        }
    }
    let _ = durable::sync_dir(to);
}

impl Service {
    pub(super) fn run_restore(&self, run: &RunRow, cancel: &Arc<AtomicBool>) -> Result<Finished> {
        let request: RestoreRequest = serde_json::from_str(run.request.as_deref().unwrap_or("null"))
            .map_err(|e| BackupError::Invalid(format!("the restore request is damaged: {e}")))?;
        let target = self.target(run.target_id)?;
        let repo = self.open_repository(&target)?;
        let (name, snapshot) = repo.find_snapshot(&request.snapshot)?;
        let inside = request.path.as_deref().map(PathBuf::from);
        let home = match (request.destination, &inside) {
            (Destination::InPlace, Some(p)) => {
                let live = original_location(&snapshot, p)
                    .ok_or_else(|| BackupError::Invalid(format!("{} is not in the snapshot", p.display())))?;
                Some(live)
            }
            (Destination::InPlace, None) => {
                return Err(BackupError::Invalid(
                    "a whole snapshot is restored into a new folder; choose a folder or file to put back in place".into(),
                ));
            }
            (Destination::NewFolder, _) => None,
        };
        if let Some(live) = &home
            && !live.starts_with(&self.data)
        {
            return Err(BackupError::Invalid(format!("{} is not on this box's data disk; restore it into a new folder", live.display())));
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(BackupError::Cancelled);
        }
        let scratch = self.scratch_dir().join(format!("restore-{}", run.id));
        let _ = std::fs::remove_dir_all(&scratch);
        let opts = RestoreOptions { snapshot: name.clone(), include: inside.clone(), target: scratch.clone(), workers: 2, no_sync: false };
        let report = match restore::run(&repo, &opts) {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(e);
            }
        };
        let _ = self.catalog.write(|tx| {
            hearth_catalog::backups::report_progress(tx, run.id, report.files, report.bytes, Some(report.files), Some(report.bytes))
        });
        let stamp = jiff::Timestamp::now().strftime("%Y-%m-%d %H%M").to_string();
        let mut errors: Vec<String> = report.errors.iter().map(|(p, e)| format!("{}: {e}", p.display())).collect();
        let (state_files, where_to) = match home {
            None => {
                let dir = self.data.join("restored");
                std::fs::create_dir_all(&dir).map_err(|e| BackupError::io(dir.display().to_string(), e))?;
                let dest = durable::place_new_file(&scratch, &dir, &format!("{stamp} run {}", run.id), 100)
                    .map_err(|e| BackupError::io(dir.display().to_string(), e))?;
                (PutBack { placed: report.files, ..Default::default() }, dest)
            }
            Some(live) => {
                // The engine restores the part asked for under its own name.
                let restored_top = match inside.as_deref().and_then(Path::file_name) {
                    Some(name) => scratch.join(name),
                    None => scratch.clone(),
                };
                let mut counts = PutBack::default();
                if restored_top.is_dir() {
                    std::fs::create_dir_all(&live).map_err(|e| BackupError::io(live.display().to_string(), e))?;
                    put_back(&restored_top, &live, &stamp, &mut counts, &mut errors);
                } else if let (Some(parent), Some(name)) = (live.parent(), live.file_name()) {
                    // One file: put back through its folder.
                    std::fs::create_dir_all(parent).map_err(|e| BackupError::io(parent.display().to_string(), e))?;
                    let one = scratch.join(".one");
                    std::fs::create_dir_all(&one).map_err(|e| BackupError::io(one.display().to_string(), e))?;
                    std::fs::rename(&restored_top, one.join(name)).map_err(|e| BackupError::io(one.display().to_string(), e))?;
                    put_back(&one, parent, &stamp, &mut counts, &mut errors);
                }
                let _ = std::fs::remove_dir_all(&scratch);
                (counts, live)
            }
        };
        let message = format!(
            "{} file(s) restored to {}{}{}{}",
            state_files.placed + state_files.placed_beside,
            where_to.strip_prefix(&self.data).map(|p| p.display().to_string()).unwrap_or_else(|_| where_to.display().to_string()),
            if state_files.unchanged > 0 { format!("; {} were already the same", state_files.unchanged) } else { String::new() },
            if state_files.kept_beside > 0 {
                format!("; {} current file(s) kept beside as \"(before restore)\"", state_files.kept_beside)
            } else {
                String::new()
            },
            if errors.is_empty() { String::new() } else { format!("; {} could not be restored, first: {}", errors.len(), errors[0]) },
        );
        let detail = json!({
            "files": report.files, "bytes": report.bytes, "placed": state_files.placed, "unchanged": state_files.unchanged,
            "kept_beside": state_files.kept_beside, "placed_beside": state_files.placed_beside,
            "destination": where_to.display().to_string(), "errors": errors.iter().take(20).collect::<Vec<_>>(),
        });
        let state = if errors.is_empty() { RunState::Succeeded } else { RunState::Partial };
        Ok(Finished { state, snapshot: Some(name), message, detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn putting_back_never_replaces_and_keeps_the_current_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        for d in [&from, &to] {
            std::fs::create_dir_all(d.join("sub")).expect("mkdir");
        }
        std::fs::write(from.join("same.txt"), b"same").expect("w");
        std::fs::write(to.join("same.txt"), b"same").expect("w");
        std::fs::write(from.join("a.jpg"), b"old photo").expect("w");
        std::fs::write(to.join("a.jpg"), b"edited photo").expect("w");
        std::fs::write(from.join("sub/gone.txt"), b"deleted since").expect("w");
        let (mut counts, mut errors) = (PutBack::default(), Vec::new());
        put_back(&from, &to, "2026-12-06 0100", &mut counts, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((counts.placed, counts.unchanged, counts.kept_beside), (2, 1, 1));
        assert_eq!(std::fs::read(to.join("a.jpg")).expect("r"), b"old photo");
        assert_eq!(std::fs::read(to.join("a (before restore 2026-12-06 0100).jpg")).expect("r"), b"edited photo");
        assert_eq!(std::fs::read(to.join("sub/gone.txt")).expect("r"), b"deleted since");
    }

    #[test]
    fn requests_are_checked_and_paths_map_to_the_box() {
        let bad = RestoreRequest { snapshot: "abc".into(), path: Some("/data/../etc".into()), destination: Destination::InPlace };
        assert!(bad.validated().is_err());
        let not_hex = RestoreRequest { snapshot: "latest".into(), path: None, destination: Destination::NewFolder };
        assert!(not_hex.validated().is_err());
        let snap: Snapshot = serde_json::from_value(json!({
            "version": 1, "time": "2026-12-06T01:00:00Z", "host": "h", "user": "u", "paths": ["/srv/data"],
            "tree": "00".repeat(32),
        }))
        .expect("snapshot");
        assert_eq!(original_location(&snap, Path::new("/data/library/1/a.jpg")), Some(PathBuf::from("/srv/data/library/1/a.jpg")));
        assert_eq!(original_location(&snap, Path::new("/other/x")), None);
        assert_eq!(beside("a.tar.gz", "restored"), "a.tar (restored).gz");
        assert_eq!(beside(".profile", "restored"), ".profile (restored)");
    }
}
