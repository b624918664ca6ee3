//! `backup stats`: how big the snapshots are, and what they cost in the repository.
//!
//! "Restore size" counts every file of every snapshot as a restore would write it; "unique"
//! counts each blob once, as it is stored. Their ratio is what deduplication saves, and
//! plaintext versus stored bytes is what compression saves (stored bytes include encryption
//! overhead). Tree totals are memoized by tree id, so snapshots that share folders are cheap.

use std::collections::{HashMap, HashSet};

use crate::backend::FileType;
use crate::blob::BlobId;
use crate::error::Result;
use crate::repository::Repository;
use crate::tree::NodeType;

/// Repository statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Snapshots counted.
    pub snapshots: u64,
    /// Files over all counted snapshots.
    pub files: u64,
    /// Bytes a restore of every counted snapshot would write.
    pub restore_bytes: u64,
    /// Distinct blobs the counted snapshots use (data and trees).
    pub unique_blobs: u64,
    /// Their plaintext bytes.
    pub unique_bytes: u64,
    /// Plaintext bytes of the distinct data blobs (file contents): compared with
    /// `restore_bytes`, what deduplication saves.
    pub unique_data_bytes: u64,
    /// Their stored bytes (compressed, sealed).
    pub stored_bytes: u64,
    /// Packs in the index.
    pub packs: u64,
    /// Bytes of all indexed blobs in packs (the repository's data size).
    pub pack_bytes: u64,
    /// Key files (passwords).
    pub keys: u64,
}

/// Statistics of every snapshot, or of one (`snapshot`: a name prefix or `latest`).
pub fn run(repo: &Repository, snapshot: Option<&str>) -> Result<Stats> {
    let snaps = match snapshot {
        Some(s) => vec![repo.find_snapshot(s)?],
        None => repo.snapshots()?.0,
    };
    let mut s = Stats { snapshots: snaps.len() as u64, ..Stats::default() };
    let mut memo: HashMap<BlobId, (u64, u64)> = HashMap::new();
    let mut unique: HashSet<BlobId> = HashSet::new();
    for (_, snap) in &snaps {
        let (files, bytes) = totals(repo, &snap.tree, &mut memo, &mut unique)?;
        s.files += files;
        s.restore_bytes += bytes;
    }
    for id in &unique {
        if let Some(l) = repo.index.get(id) {
            s.unique_blobs += 1;
            s.unique_bytes += u64::from(l.raw_length);
            if l.blob_type == crate::blob::BlobType::Data {
                s.unique_data_bytes += u64::from(l.raw_length);
            }
            s.stored_bytes += u64::from(l.length);
        }
    }
    let mut packs = HashSet::new();
    for (_, l) in repo.index.iter() {
        packs.insert(l.pack);
        s.pack_bytes += u64::from(l.length);
    }
    s.packs = packs.len() as u64;
    s.keys = repo.backend().list(FileType::Key)?.len() as u64;
    Ok(s)
}

fn totals(repo: &Repository, tree: &BlobId, memo: &mut HashMap<BlobId, (u64, u64)>, unique: &mut HashSet<BlobId>) -> Result<(u64, u64)> {
    if let Some(t) = memo.get(tree) {
        return Ok(*t);
    }
    unique.insert(*tree);
    let t = repo.load_tree(tree)?;
    let (mut files, mut bytes) = (0u64, 0u64);
    for n in &t.nodes {
        if n.node_type == Some(NodeType::File) {
            files += 1;
            bytes += n.size.unwrap_or(0);
        }
        unique.extend(n.content.iter().flatten().copied());
        if let Some(sub) = &n.subtree {
            let (f, b) = totals(repo, sub, memo, unique)?;
            files += f;
            bytes += b;
        }
    }
    memo.insert(*tree, (files, bytes));
    Ok((files, bytes))
}
