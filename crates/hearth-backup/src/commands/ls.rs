//! `backup ls`: list a snapshot's entries.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{BackupError, Result};
use crate::repository::Repository;
use crate::tree::{Node, NodeType, Tree};

/// One listed entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the snapshot.
    pub path: PathBuf,
    /// The node.
    pub node: Node,
}

/// Every entry of snapshot `snapshot` below `path` (the whole snapshot when `None`).
pub fn run(repo: &Repository, snapshot: &str, path: Option<&Path>) -> Result<Vec<Entry>> {
    let (_, snap) = repo.find_snapshot(snapshot)?;
    let mut tree = repo.load_tree(&snap.tree)?;
    let mut prefix = PathBuf::from("/");
    let wanted: Vec<OsString> = path
        .map(|p| p.components().filter_map(|c| if let Component::Normal(s) = c { Some(s.to_os_string()) } else { None }).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, part) in wanted.iter().enumerate() {
        let node = tree.nodes.iter().find(|n| n.name_bytes().is_ok_and(|b| b.as_bytes() == part.as_bytes())).cloned();
        let Some(node) = node else { return Err(BackupError::Invalid(format!("{} is not in the snapshot", prefix.join(part).display()))) };
        prefix.push(part);
        match (node.node_type, node.subtree) {
            (Some(NodeType::Dir), Some(sub)) => tree = repo.load_tree(&sub)?,
            _ if i + 1 == wanted.len() => {
                out.push(Entry { path: prefix.clone(), node });
                return Ok(out);
            }
            _ => return Err(BackupError::Invalid(format!("{} is not a folder", prefix.display()))),
        }
    }
    walk(repo, &tree, &prefix, &mut out)?;
    Ok(out)
}

/// The entries directly inside folder `path` of snapshot `snapshot` (the snapshot's top when
/// `None`), folders first, then by name: what a restore browser shows one level at a time.
pub fn children(repo: &Repository, snapshot: &str, path: Option<&Path>) -> Result<Vec<Entry>> {
    let (_, snap) = repo.find_snapshot(snapshot)?;
    let mut tree = repo.load_tree(&snap.tree)?;
    let mut prefix = PathBuf::from("/");
    for c in path.into_iter().flat_map(Path::components) {
        let Component::Normal(part) = c else { continue };
        let node = tree.nodes.iter().find(|n| n.name_bytes().is_ok_and(|b| b.as_bytes() == part.as_bytes()));
        let Some(node) = node else { return Err(BackupError::Invalid(format!("{} is not in the snapshot", prefix.join(part).display()))) };
        prefix.push(part);
        match (node.node_type, node.subtree) {
            (Some(NodeType::Dir), Some(sub)) => tree = repo.load_tree(&sub)?,
            _ => return Err(BackupError::Invalid(format!("{} is not a folder", prefix.display()))),
        }
    }
    let mut out: Vec<Entry> =
        tree.nodes.into_iter().map(|node| Entry { path: prefix.join(node.name_bytes().unwrap_or_else(|_| "?".into())), node }).collect();
    out.sort_by(|a, b| (a.node.node_type != Some(NodeType::Dir)).cmp(&(b.node.node_type != Some(NodeType::Dir))).then(a.path.cmp(&b.path)));
    Ok(out)
}

fn walk(repo: &Repository, tree: &Tree, dir: &Path, out: &mut Vec<Entry>) -> Result<()> {
    for node in &tree.nodes {
        let path = dir.join(node.name_bytes().unwrap_or_else(|_| "?".into()));
        out.push(Entry { path: path.clone(), node: node.clone() });
        if let Some(sub) = node.subtree {
            walk(repo, &repo.load_tree(&sub)?, &path, out)?;
        }
    }
    Ok(())
}
