//! `backup check`: verify the repository, and say what any damage affects.
//!
//! Always: every index and snapshot opens and matches its name; every pack the index names
//! exists and has the size the index implies; every snapshot's trees open and every blob they
//! name is indexed. With `--read-data` (or a subset), packs are read and every blob in them is
//! authenticated, decompressed and checked against its id. Damage is reported with the
//! snapshots and file paths it affects.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::backend::FileType;
use crate::blob::BlobId;
use crate::crypto::object_name;
use crate::error::{BackupError, Result};
use crate::index::{hex32, parse_name};
use crate::pack::read_header;
use crate::repository::{Repository, decode_blob};
use crate::tree::Tree;

/// How much to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Read every pack.
    pub read_data: bool,
    /// Read this percentage of packs (1 to 100), chosen at random.
    pub read_data_subset: Option<u8>,
}

/// What was found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Problems, one line each.
    pub problems: Vec<String>,
    /// For each damaged snapshot, the paths that cannot be restored.
    pub affected: BTreeMap<String, Vec<PathBuf>>,
    /// Packs in no readable index whose headers are intact (left by an interrupted backup, or
    /// described by a damaged index): their blobs count as present; the next backup or prune
    /// indexes them again.
    pub unindexed_packs: usize,
    /// Packs read.
    pub packs_read: usize,
    /// Blobs authenticated.
    pub blobs_read: usize,
    /// Snapshots checked.
    pub snapshots: usize,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check `repo`.
pub fn run(repo: &mut Repository, opts: CheckOptions) -> Result<CheckReport> {
    let _lock = repo.lock(crate::lock::LockMode::Shared)?;
    let mut report = CheckReport::default();
    let backend = repo.backend_arc();
    for name in backend.list(FileType::Index)? {
        if let Err(e) = repo.read_index(&name) {
            report.problems.push(e.to_string());
        }
    }
    // Packs no readable index names are described by their own headers: count on them for
    // what follows (in memory only; the next backup or prune writes the index), so the damage
    // reported below is what is really lost.
    let (unindexed, damaged_packs) = repo.read_unindexed_packs()?;
    report.unindexed_packs = unindexed.len();
    for (pack, entries) in &unindexed {
        repo.index.add_pack(*pack, entries);
    }
    for (_, e) in damaged_packs {
        report.problems.push(e.to_string());
    }
    let repo: &Repository = repo;
    let backend = repo.backend();
    // Packs named by the index, with the size their blobs imply.
    let mut expected: HashMap<[u8; 32], u64> = HashMap::new();
    for (_, loc) in repo.index.iter() {
        let end = loc.offset + u64::from(loc.length);
        let e = expected.entry(loc.pack).or_insert(0);
        *e = (*e).max(end);
    }
    let stored: HashSet<[u8; 32]> = backend.list(FileType::Pack)?.iter().filter_map(|n| parse_name(n)).collect();
    let mut bad_blobs: HashSet<BlobId> = HashSet::new();
    let mut missing_packs = HashSet::new();
    for (pack, min_size) in &expected {
        let name = hex32(pack);
        if !stored.contains(pack) {
            report.problems.push(format!("data/{name} is missing but the index lists blobs in it"));
            missing_packs.insert(*pack);
            continue;
        }
        match backend.size(FileType::Pack, &name) {
            Ok(size) if size >= *min_size => {}
            Ok(size) => {
                report.problems.push(format!("data/{name} is truncated ({size} bytes; its blobs need {min_size})"));
                missing_packs.insert(*pack);
            }
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    for (id, loc) in repo.index.iter() {
        if missing_packs.contains(&loc.pack) {
            bad_blobs.insert(id);
        }
    }

    // Read packs.
    let mut to_read: Vec<[u8; 32]> = expected.keys().filter(|p| !missing_packs.contains(*p)).copied().collect();
    to_read.sort();
    if !opts.read_data {
        match opts.read_data_subset {
            Some(pct) => {
                let pct = pct.clamp(1, 100) as usize;
                let mut salt = [0u8; 8];
                crate::crypto::random(&mut salt)?;
                to_read.retain(|p| (blake3::keyed_hash(&[salt[0]; 32], p).as_bytes()[0] as usize * 100) / 256 < pct);
            }
            None => to_read.clear(),
        }
    }
    for pack in &to_read {
        let name = hex32(pack);
        let bytes = match backend.read(FileType::Pack, &name) {
            Ok(b) => b,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        report.packs_read += 1;
        if object_name(&bytes) != name {
            report.problems.push(format!("data/{name} is damaged: content does not match its name"));
        }
        let entries = match read_header(&name, &bytes, bytes.len() as u64, &repo.keys) {
            Ok(e) => e,
            Err(e) => {
                report.problems.push(e.to_string());
                repo.index.iter().filter(|(_, l)| l.pack == *pack).for_each(|(id, _)| {
                    bad_blobs.insert(id);
                });
                continue;
            }
        };
        for e in entries {
            let start = e.offset as usize;
            let Some(sealed) = bytes.get(start..start + e.length as usize) else { continue };
            report.blobs_read += 1;
            if let Err(err) = decode_blob(&repo.keys, &name, e.blob_type, e.flags, e.raw_length, &e.id, sealed) {
                report.problems.push(err.to_string());
                bad_blobs.insert(e.id);
            }
        }
    }

    // Snapshots and what they reference.
    let (snaps, damaged) = repo.snapshots()?;
    for d in damaged {
        report.problems.push(d.to_string());
    }
    for (name, snap) in &snaps {
        report.snapshots += 1;
        let mut affected = Vec::new();
        walk(repo, &snap.tree, Path::new("/"), &bad_blobs, &mut affected, &mut report.problems);
        if !affected.is_empty() {
            affected.sort();
            affected.dedup();
            report.affected.insert(name.clone(), affected);
        }
    }
    report.problems.sort();
    report.problems.dedup();
    Ok(report)
}

fn walk(repo: &Repository, tree_id: &BlobId, dir: &Path, bad: &HashSet<BlobId>, affected: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    let tree: Tree = match (bad.contains(tree_id), repo.load_tree(tree_id)) {
        (false, Ok(t)) => t,
        (_, Err(e)) => {
            problems.push(format!("folder {}: {e}", dir.display()));
            affected.push(dir.to_path_buf());
            return;
        }
        (true, _) => {
            affected.push(dir.to_path_buf());
            return;
        }
    };
    for node in &tree.nodes {
        let path = dir.join(node.name_bytes().unwrap_or_else(|_| "?".into()));
        if let Some(ids) = &node.content {
            let broken = ids.iter().any(|id| bad.contains(id) || !repo.index.contains(id));
            if broken {
                for id in ids.iter().filter(|id| !repo.index.contains(id)) {
                    problems.push(BackupError::MissingBlob(id.to_hex()).to_string());
                }
                affected.push(path.clone());
            }
        }
        if let Some(sub) = node.subtree {
            walk(repo, &sub, &path, bad, affected, problems);
        }
    }
}
