//! `backup prune`: free the space of data no snapshot uses.
//!
//! Under an exclusive lock: find every blob the snapshots use; delete packs that hold none of
//! them; copy the used blobs out of the most wasteful partly-used packs into new packs until the
//! unused share left is within `max_unused_percent`; delete packs no index names (left by an
//! interrupted backup). The order of writes (docs/backup-format.md §12) makes an interruption at
//! any point harmless: new packs, then new index files, then the index that supersedes the old
//! ones, and only then deletions. Snapshots are never touched.
//!
//! Damaged index files are replaced: the packs they described are read again from their own
//! headers (as are the packs of an interrupted backup). Prune refuses to run, deleting nothing,
//! when anything else it would rely on is wrong (a snapshot that does not open, a tree or blob
//! that is missing, a pack that snapshots need and that is gone): deleting on a wrong picture of
//! the repository is the one way it could lose data. `check` says what is wrong.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::backend::FileType;
use crate::blob::{BlobId, BlobType};
use crate::error::{BackupError, Result};
use crate::index::{IndexFile, hex32, parse_name};
use crate::lock::LockMode;
use crate::pack::{PackEntry, PackWriter};
use crate::repository::{Repository, decode_blob};

/// How to prune.
#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    /// Repack until unused bytes are at most this share of used bytes (0 to 100).
    pub max_unused_percent: u8,
    /// Only report what would be done.
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions { max_unused_percent: 5, dry_run: false }
    }
}

/// What prune did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Packs in the index before.
    pub packs_before: usize,
    /// Packs that held no used blob, deleted.
    pub packs_unused: usize,
    /// Partly used packs whose used blobs were copied into new packs, then deleted.
    pub packs_repacked: usize,
    /// Packs in no index whose header cannot be read either, deleted (no snapshot needs them:
    /// prune stops before deleting anything when a snapshot's blob is missing).
    pub packs_orphaned: usize,
    /// New packs written by repacking.
    pub packs_written: usize,
    /// Blobs used by the snapshots.
    pub blobs_used: usize,
    /// Bytes in packs deleted.
    pub bytes_deleted: u64,
    /// Bytes written into new packs.
    pub bytes_written: u64,
    /// Unused bytes left in kept packs.
    pub bytes_unused_left: u64,
    /// Index files replaced.
    pub index_files_replaced: usize,
    /// Partial writes of killed processes deleted.
    pub temporaries_removed: u64,
    /// Packs no readable index named, indexed again from their headers.
    pub packs_recovered: usize,
    /// Damaged index files replaced.
    pub index_files_damaged: usize,
}

struct PackUse {
    entries: Vec<PackEntry>,
    used: u64,
    unused: u64,
}

/// Prune `repo` (taken by value: its index is reloaded under the lock).
pub fn run(mut repo: Repository, opts: PruneOptions) -> Result<PruneReport> {
    let _lock = repo.lock(LockMode::Exclusive)?;
    let mut report = PruneReport::default();

    // The index as it is now. A damaged index file is replaced: the packs it described are
    // found again from their own headers, like the packs of an interrupted backup.
    let (names, files, damaged) = repo.read_index_files()?;
    report.index_files_damaged = damaged.len();
    let superseded: HashSet<[u8; 32]> = files.iter().flat_map(|(_, f)| f.supersedes.iter().copied()).collect();
    repo.set_index(&files)?;
    let (recovered, _unreadable) = repo.read_unindexed_packs()?;
    for (pack, entries) in &recovered {
        repo.index.add_pack(*pack, entries);
    }
    report.packs_recovered = recovered.len();

    // Which blobs the snapshots use.
    let (snaps, damaged) = repo.snapshots()?;
    if let Some(d) = damaged.into_iter().next() {
        return Err(refuse(&d.to_string()));
    }
    let mut used: HashSet<BlobId> = HashSet::new();
    let mut trees: Vec<BlobId> = snaps.iter().map(|(_, s)| s.tree).collect();
    while let Some(id) = trees.pop() {
        if !used.insert(id) {
            continue;
        }
        let tree = repo.load_tree(&id).map_err(|e| refuse(&format!("tree {}: {e}", id.to_hex())))?;
        for node in tree.nodes {
            if let Some(sub) = node.subtree {
                trees.push(sub);
            }
            for blob in node.content.unwrap_or_default() {
                if !repo.index.contains(&blob) {
                    return Err(refuse(&BackupError::MissingBlob(blob.to_hex()).to_string()));
                }
                used.insert(blob);
            }
        }
    }
    report.blobs_used = used.len();

    // Each pack's entries from the active index files; a blob counts as used in the one pack the
    // master index reads it from, so duplicate copies elsewhere are waste.
    let mut packs: HashMap<[u8; 32], PackUse> = HashMap::new();
    for (name, file) in &files {
        if parse_name(name).is_some_and(|raw| superseded.contains(&raw)) {
            continue;
        }
        for (pack, entries) in &file.packs {
            packs.entry(*pack).or_insert_with(|| PackUse { entries: entries.clone(), used: 0, unused: 0 });
        }
    }
    for (pack, entries) in recovered {
        packs.entry(pack).or_insert(PackUse { entries, used: 0, unused: 0 });
    }
    for (pack, u) in packs.iter_mut() {
        for e in &u.entries {
            let chosen = repo.index.get(&e.id).is_some_and(|l| l.pack == *pack && l.offset == e.offset);
            if chosen && used.contains(&e.id) {
                u.used += u64::from(e.length);
            } else {
                u.unused += u64::from(e.length);
            }
        }
    }
    report.packs_before = packs.len();
    let stored: HashSet<[u8; 32]> = repo.backend().list(FileType::Pack)?.iter().filter_map(|n| parse_name(n)).collect();
    if let Some((pack, _)) = packs.iter().find(|(p, u)| u.used > 0 && !stored.contains(*p)) {
        return Err(refuse(&format!("data/{} is missing and snapshots need it", hex32(pack))));
    }

    let mut delete: Vec<[u8; 32]> = Vec::new();
    let mut partly: Vec<([u8; 32], u64)> = Vec::new();
    let mut used_total = 0u64;
    for (pack, u) in &packs {
        used_total += u.used;
        if u.used == 0 {
            delete.push(*pack);
            report.packs_unused += 1;
            report.bytes_deleted += u.unused;
        } else if u.unused > 0 {
            partly.push((*pack, u.unused));
        }
    }
    // The most wasteful first, until what is left is within the limit.
    partly.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let limit = used_total.saturating_mul(u64::from(opts.max_unused_percent.min(100))) / 100;
    let mut waste: u64 = partly.iter().map(|p| p.1).sum();
    let mut repack: Vec<[u8; 32]> = Vec::new();
    for (pack, unused) in &partly {
        if waste <= limit {
            break;
        }
        repack.push(*pack);
        waste -= unused;
        report.bytes_deleted += unused;
    }
    report.packs_repacked = repack.len();
    report.bytes_unused_left = waste;

    let indexed: HashSet<[u8; 32]> = packs.keys().copied().collect();
    let orphans: Vec<String> = stored.iter().filter(|raw| !indexed.contains(*raw)).map(hex32).collect();
    report.packs_orphaned = orphans.len();
    for name in &orphans {
        report.bytes_deleted += repo.backend().size(FileType::Pack, name).unwrap_or(0);
    }

    let nothing_to_do =
        delete.is_empty() && repack.is_empty() && orphans.is_empty() && report.packs_recovered == 0 && report.index_files_damaged == 0;
    if opts.dry_run {
        return Ok(report);
    }
    report.temporaries_removed = repo.backend().remove_stale_temporaries()?;
    if nothing_to_do {
        return Ok(report);
    }

    // 1. Copy the used blobs of the packs to repack into new packs (sealed bytes are copied
    //    as they are, after verifying them: a damaged blob is not spread).
    let repo = Arc::new(repo);
    let mut new_packs: Vec<([u8; 32], Vec<PackEntry>)> = Vec::new();
    let pack_size = repo.config.pack_size as usize;
    let mut writers: HashMap<BlobType, PackWriter> = HashMap::new();
    let mut scratch = Vec::new();
    let flush = |w: PackWriter, report: &mut PruneReport, new_packs: &mut Vec<([u8; 32], Vec<PackEntry>)>| -> Result<()> {
        let finished = w.finish(&repo.keys)?;
        let (name, entries, size) = (finished.name.clone(), finished.entries.clone(), finished.size);
        finished.store(repo.backend())?;
        report.packs_written += 1;
        report.bytes_written += size;
        let raw = parse_name(&name).ok_or_else(|| BackupError::Invalid("bad pack name".into()))?;
        new_packs.push((raw, entries));
        Ok(())
    };
    for pack in &repack {
        let name = hex32(pack);
        let Some(u) = packs.get(pack) else { continue };
        for e in &u.entries {
            let chosen = repo.index.get(&e.id).is_some_and(|l| l.pack == *pack && l.offset == e.offset);
            if !(chosen && used.contains(&e.id)) {
                continue;
            }
            repo.backend().read_range_into(FileType::Pack, &name, e.offset, e.length, &mut scratch)?;
            decode_blob(&repo.keys, &name, e.blob_type, e.flags, e.raw_length, &e.id, &scratch)
                .map_err(|err| refuse(&format!("{err} (nothing was deleted)")))?;
            let w = match writers.entry(e.blob_type) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(PackWriter::for_backend(e.blob_type, repo.backend(), pack_size + (1 << 20))?)
                }
            };
            w.add(e.id, e.flags, &scratch, e.raw_length)?;
            if w.len() >= pack_size
                && let Some(full) = writers.remove(&e.blob_type)
            {
                flush(full, &mut report, &mut new_packs)?;
            }
        }
    }
    for (_, w) in writers.drain() {
        if !w.is_empty() {
            flush(w, &mut report, &mut new_packs)?;
        }
    }

    // 2. The new index: every kept pack and every new pack, in files of bounded size; the last
    //    one supersedes every index file that exists now. Until it is stored, the old index
    //    stays in force (the new files only add duplicates); after it, the old one is ignored.
    let gone: HashSet<[u8; 32]> = delete.iter().chain(repack.iter()).copied().collect();
    let mut kept: Vec<([u8; 32], Vec<PackEntry>)> =
        packs.iter().filter(|(p, _)| !gone.contains(*p)).map(|(p, u)| (*p, u.entries.clone())).collect();
    kept.sort_by_key(|k| k.0);
    kept.extend(new_packs);
    const PACKS_PER_FILE: usize = 2_000;
    let mut chunks: Vec<Vec<([u8; 32], Vec<PackEntry>)>> = Vec::new();
    let mut rest = kept;
    while rest.len() > PACKS_PER_FILE {
        let tail = rest.split_off(PACKS_PER_FILE);
        chunks.push(rest);
        rest = tail;
    }
    let old: Vec<[u8; 32]> = names.iter().filter_map(|n| parse_name(n)).collect();
    for packs in chunks {
        repo.write_index(&IndexFile { supersedes: Vec::new(), packs })?;
    }
    repo.write_index(&IndexFile { supersedes: old.clone(), packs: rest })?;
    report.index_files_replaced = old.len();

    // 3. Deletions: old index files, then packs (any left by an interruption are orphans that
    //    the next prune deletes).
    for name in &names {
        repo.backend().remove(FileType::Index, name)?;
    }
    for pack in delete.iter().chain(repack.iter()) {
        repo.backend().remove(FileType::Pack, &hex32(pack))?;
    }
    for name in &orphans {
        repo.backend().remove(FileType::Pack, name)?;
    }
    Ok(report)
}

fn refuse(why: &str) -> BackupError {
    BackupError::Invalid(format!("prune stopped without deleting anything: {why}; run `hearth backup check` to see what is damaged"))
}
