//! Restore drills: proof, on a schedule, that a backup can be restored. From the newest snapshot
//! this box made on a target, a random sample of files is restored into scratch space, every
//! blob authenticated and checked against its id, each file's size compared with what the
//! snapshot recorded, and, where the file on the box is unchanged since (same size and time),
//! its content compared byte for byte (by BLAKE3) with the restored copy. A damaged or missing
//! pack on the target, a wrong size, or content that differs makes the drill fail, and a
//! failed drill is an alert on the Backups page.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_catalog::backups::{RunRow, RunState};
use serde_json::json;

use super::Service;
use super::runner::Finished;
use crate::crypto::random;
use crate::error::{BackupError, Result};
use crate::repository::Repository;
use crate::snapshot::Snapshot;
use crate::tree::{Node, NodeType};

/// Files restored per drill.
pub const SAMPLE: usize = 200;

/// A file in a snapshot: where it was on the box, and its node.
#[derive(Debug, Clone)]
pub struct SampledFile {
    /// Its path on the box when the snapshot was taken.
    pub path: PathBuf,
    /// Its node (size, time, content ids).
    pub node: Node,
}

/// A uniform random sample of up to `n` regular files of `snapshot` (reservoir sampling over
/// one walk of its trees; trees that do not load are errors, since a restore would fail too).
pub fn sample_files(repo: &Repository, snapshot: &Snapshot, n: usize) -> Result<(Vec<SampledFile>, u64)> {
    let root = repo.load_tree(&snapshot.tree)?;
    // The root's nodes are named after the last part of each backed-up path.
    let mut stack: Vec<(PathBuf, Node)> = Vec::new();
    for node in root.nodes {
        let name = node.name_bytes()?;
        let base = snapshot
            .paths
            .iter()
            .map(PathBuf::from)
            .find(|p| p.file_name().map(|f| f.to_os_string()) == Some(name.clone()))
            .unwrap_or_else(|| PathBuf::from(&name));
        stack.push((base, node));
    }
    let mut chosen: Vec<SampledFile> = Vec::with_capacity(n);
    let mut seen: u64 = 0;
    while let Some((path, node)) = stack.pop() {
        match node.node_type {
            Some(NodeType::Dir) => {
                if let Some(id) = node.subtree {
                    for child in repo.load_tree(&id)?.nodes {
                        let name: OsString = child.name_bytes()?;
                        stack.push((path.join(name), child));
                    }
                }
            }
            Some(NodeType::File) if node.error.is_none() => {
                seen += 1;
                if chosen.len() < n {
                    chosen.push(SampledFile { path, node });
                } else {
                    let j = random_below(seen)?;
                    if (j as usize) < n {
                        chosen[j as usize] = SampledFile { path, node };
                    }
                }
            }
            _ => {}
        }
    }
    Ok((chosen, seen))
}

fn random_below(n: u64) -> Result<u64> {
    let mut b = [0u8; 8];
    random(&mut b)?;
    Ok(u64::from_le_bytes(b) % n.max(1))
}

/// What restoring one file showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileVerdict {
    /// Restored with the recorded size; the file on the box is unchanged and identical.
    Identical,
    /// Restored with the recorded size; the file on the box changed since (or is gone), so only
    /// the repository's own checks apply.
    RestoredOnly,
    /// Could not be restored, or differs; why.
    Bad(String),
}

/// Restore `file` into `scratch` and judge it.
pub fn restore_and_compare(repo: &Repository, file: &SampledFile, scratch: &Path) -> FileVerdict {
    let out = scratch.join("drill-file");
    let restored = (|| -> Result<(u64, blake3::Hash)> {
        let mut f = std::fs::File::create(&out).map_err(|e| BackupError::io(out.display().to_string(), e))?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        let (mut sealed, mut plain) = (Vec::new(), Vec::new());
        for id in file.node.content.as_deref().unwrap_or(&[]) {
            repo.read_blob_into(id, &mut sealed, &mut plain, true)?;
            f.write_all(&plain).map_err(|e| BackupError::io(out.display().to_string(), e))?;
            hasher.update(&plain);
            size += plain.len() as u64;
        }
        f.sync_data().map_err(|e| BackupError::io(out.display().to_string(), e))?;
        Ok((size, hasher.finalize()))
    })();
    let _ = std::fs::remove_file(&out);
    let (size, hash) = match restored {
        Ok(r) => r,
        Err(e) => return FileVerdict::Bad(format!("cannot be restored: {e}")),
    };
    if Some(size) != file.node.size {
        return FileVerdict::Bad(format!("restored {size} bytes, the snapshot recorded {:?}", file.node.size));
    }
    let Ok(meta) = std::fs::symlink_metadata(&file.path) else { return FileVerdict::RestoredOnly };
    let mtime_ns = meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec());
    if !meta.is_file() || meta.len() != size || mtime_ns != file.node.mtime_ns {
        return FileVerdict::RestoredOnly;
    }
    match hash_file(&file.path) {
        Ok(h) if h == hash => FileVerdict::Identical,
        Ok(_) => FileVerdict::Bad(
            "differs from the file on the box although its size and time are the same (the disk or the backup changed it)".into(),
        ),
        Err(_) => FileVerdict::RestoredOnly,
    }
}

/// BLAKE3 of a file's content, read 256 KiB at a time.
pub(super) fn hash_file(path: &Path) -> std::io::Result<blake3::Hash> {
    let mut f = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..n]);
    }
}

/// The newest snapshot made by `host`, else the newest of any host.
pub fn newest_snapshot(repo: &Repository, host: &str) -> Result<Option<(String, Snapshot)>> {
    let (mut all, _) = repo.snapshots()?;
    let mine = all.iter().rposition(|(_, s)| s.host == host);
    Ok(match mine {
        Some(i) => Some(all.swap_remove(i)),
        None => all.pop(),
    })
}

impl Service {
    pub(super) fn run_drill(&self, run: &RunRow, cancel: &Arc<AtomicBool>) -> Result<Finished> {
        let target = self.target(run.target_id)?;
        let repo = self.open_repository(&target)?;
        let _lock = repo.lock(crate::lock::LockMode::Shared)?;
        let Some((name, snapshot)) = newest_snapshot(&repo, &self.host)? else {
            return Ok(Finished {
                state: RunState::Succeeded,
                snapshot: None,
                message: "nothing to verify yet: no snapshot on this target".into(),
                detail: json!({ "files": 0 }),
            });
        };
        let (sample, total) = sample_files(&repo, &snapshot, SAMPLE)?;
        let scratch = self.scratch_dir().join(format!("drill-{}", run.id));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).map_err(|e| BackupError::io(scratch.display().to_string(), e))?;
        let bytes_total: u64 = sample.iter().filter_map(|f| f.node.size).sum();
        let (mut identical, mut restored_only, mut bad) = (0u64, 0u64, Vec::<(String, String)>::new());
        let mut bytes = 0u64;
        for (i, file) in sample.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(BackupError::Cancelled);
            }
            match restore_and_compare(&repo, file, &scratch) {
                FileVerdict::Identical => identical += 1,
                FileVerdict::RestoredOnly => restored_only += 1,
                FileVerdict::Bad(why) => bad.push((file.path.display().to_string(), why)),
            }
            bytes += file.node.size.unwrap_or(0);
            let _ = self.catalog.write(|tx| {
                hearth_catalog::backups::report_progress(tx, run.id, (i + 1) as u64, bytes, Some(sample.len() as u64), Some(bytes_total))
            });
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let n = sample.len();
        let detail = json!({
            "files": n, "identical": identical, "restored_only": restored_only, "bad": bad.len(),
            "bytes": bytes, "files_in_snapshot": total, "snapshot_time": snapshot.time,
            "problems": bad.iter().take(20).map(|(p, w)| json!({ "path": p, "problem": w })).collect::<Vec<_>>(),
        });
        if bad.is_empty() {
            let message = if restored_only == 0 {
                format!("{n} files restored and compared: all identical")
            } else {
                format!(
                    "{n} files restored: all intact; {identical} compared with the box and identical, {restored_only} changed on the box since"
                )
            };
            Ok(Finished { state: RunState::Succeeded, snapshot: Some(name), message, detail })
        } else {
            let (p, w) = &bad[0];
            let message = format!("{} of {n} files failed the drill; first: {p}: {w}", bad.len());
            Ok(Finished { state: RunState::Failed, snapshot: Some(name), message, detail })
        }
    }
}
