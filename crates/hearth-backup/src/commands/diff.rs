//! `backup diff A B`: what changed between two snapshots.
//!
//! Both trees are walked together by name; identical subtrees (same tree id) are skipped without
//! being read, so the cost follows the size of the change, not of the snapshots.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::blob::BlobId;
use crate::error::Result;
use crate::repository::Repository;
use crate::tree::{Node, NodeType, Tree};

/// How an entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Only in B (`+`).
    Added,
    /// Only in A (`-`).
    Removed,
    /// Content changed (`M`).
    Modified,
    /// File ↔ folder ↔ link (`T`).
    TypeChanged,
    /// Same content, other metadata: mode, owner, time (`U`).
    Metadata,
}

impl Change {
    /// The one-letter mark.
    pub fn mark(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Modified => 'M',
            Change::TypeChanged => 'T',
            Change::Metadata => 'U',
        }
    }
}

/// The differences, and totals.
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    /// Each changed path (folders end their own entries; entries inside an added or removed
    /// folder are listed too).
    pub changes: Vec<(Change, PathBuf)>,
    /// Files only in B.
    pub files_added: u64,
    /// Files only in A.
    pub files_removed: u64,
    /// Files whose content changed.
    pub files_modified: u64,
    /// Plaintext bytes of data blobs B uses and A does not.
    pub bytes_added: u64,
    /// Plaintext bytes of data blobs A uses and B does not.
    pub bytes_removed: u64,
}

struct Walk<'a> {
    repo: &'a Repository,
    report: DiffReport,
    blobs_a: HashSet<BlobId>,
    blobs_b: HashSet<BlobId>,
}

/// Compare snapshots `a` and `b` (names, unique prefixes or `latest`).
pub fn run(repo: &Repository, a: &str, b: &str) -> Result<DiffReport> {
    let (_, sa) = repo.find_snapshot(a)?;
    let (_, sb) = repo.find_snapshot(b)?;
    let mut w = Walk { repo, report: DiffReport::default(), blobs_a: HashSet::new(), blobs_b: HashSet::new() };
    if sa.tree != sb.tree {
        w.trees(Some(&sa.tree), Some(&sb.tree), Path::new("/"))?;
    }
    let size =
        |ids: &mut dyn Iterator<Item = &BlobId>| -> u64 { ids.filter_map(|id| repo.index.get(id)).map(|l| u64::from(l.raw_length)).sum() };
    w.report.bytes_added = size(&mut w.blobs_b.difference(&w.blobs_a));
    w.report.bytes_removed = size(&mut w.blobs_a.difference(&w.blobs_b));
    Ok(w.report)
}

impl Walk<'_> {
    fn load(&self, id: Option<&BlobId>) -> Result<Tree> {
        match id {
            Some(id) => self.repo.load_tree(id),
            None => Ok(Tree::default()),
        }
    }

    fn trees(&mut self, a: Option<&BlobId>, b: Option<&BlobId>, dir: &Path) -> Result<()> {
        let (ta, tb) = (self.load(a)?, self.load(b)?);
        let (mut i, mut j) = (0, 0);
        while i < ta.nodes.len() || j < tb.nodes.len() {
            let order = match (ta.nodes.get(i), tb.nodes.get(j)) {
                (Some(x), Some(y)) => x.sort_key().cmp(&y.sort_key()),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match order {
                Ordering::Less => {
                    self.one_side(&ta.nodes[i], dir, Change::Removed)?;
                    i += 1;
                }
                Ordering::Greater => {
                    self.one_side(&tb.nodes[j], dir, Change::Added)?;
                    j += 1;
                }
                Ordering::Equal => {
                    self.both(&ta.nodes[i], &tb.nodes[j], dir)?;
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(())
    }

    fn path(dir: &Path, n: &Node) -> PathBuf {
        dir.join(n.name_bytes().unwrap_or_else(|_| "?".into()))
    }

    fn one_side(&mut self, n: &Node, dir: &Path, change: Change) -> Result<()> {
        let path = Self::path(dir, n);
        let added = change == Change::Added;
        if n.node_type == Some(NodeType::File) {
            if added {
                self.report.files_added += 1;
            } else {
                self.report.files_removed += 1;
            }
        }
        let blobs = if added { &mut self.blobs_b } else { &mut self.blobs_a };
        blobs.extend(n.content.iter().flatten().copied());
        self.report.changes.push((change, path.clone()));
        if let Some(sub) = &n.subtree {
            if added { self.trees(None, Some(sub), &path) } else { self.trees(Some(sub), None, &path) }?;
        }
        Ok(())
    }

    fn both(&mut self, a: &Node, b: &Node, dir: &Path) -> Result<()> {
        let path = Self::path(dir, a);
        if a.node_type != b.node_type {
            self.report.changes.push((Change::TypeChanged, path.clone()));
            self.one_side(a, dir, Change::Removed)?;
            self.report.changes.pop();
            self.one_side(b, dir, Change::Added)?;
            self.report.changes.pop();
            return Ok(());
        }
        if a.content != b.content || a.target != b.target || a.target_b64 != b.target_b64 {
            self.report.changes.push((Change::Modified, path.clone()));
            if a.node_type == Some(NodeType::File) {
                self.report.files_modified += 1;
            }
            self.blobs_a.extend(a.content.iter().flatten().copied());
            self.blobs_b.extend(b.content.iter().flatten().copied());
        } else if a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || (a.subtree.is_none() && a.mtime_ns != b.mtime_ns) {
            self.report.changes.push((Change::Metadata, path.clone()));
        }
        if let (Some(sa), Some(sb)) = (&a.subtree, &b.subtree)
            && sa != sb
        {
            self.trees(Some(sa), Some(sb), &path)?;
        }
        Ok(())
    }
}
