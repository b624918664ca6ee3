//! Directory listings stored as tree blobs (docs/backup-format.md §8).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use serde::{Deserialize, Serialize};

use crate::blob::BlobId;
use crate::crypto::{base64_decode, base64_encode};
use crate::error::{BackupError, Result};

/// The kind of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
    /// A character device.
    Chardev,
    /// A block device.
    Blockdev,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Node {
    /// The name when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name's bytes, base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_b64: Option<String>,
    /// The kind.
    #[serde(rename = "type")]
    pub node_type: Option<NodeType>,
    /// Permission bits.
    #[serde(default)]
    pub mode: u32,
    /// Modification time, ns.
    #[serde(default)]
    pub mtime_ns: i64,
    /// Owner.
    #[serde(default)]
    pub uid: u32,
    /// Group.
    #[serde(default)]
    pub gid: u32,
    /// Size (files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Inode (change detection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// ctime, ns (change detection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime_ns: Option<i64>,
    /// Data blobs (files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<BlobId>>,
    /// Tree blob (dirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtree: Option<BlobId>,
    /// Link target when UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Link target bytes, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_b64: Option<String>,
    /// Device number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdev: Option<u64>,
    /// Why the entry could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn split_bytes(b: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(b) {
        Ok(s) => (Some(s.to_string()), None),
        Err(_) => (None, Some(base64_encode(b))),
    }
}

fn join_bytes(text: &Option<String>, b64: &Option<String>, what: &str) -> Result<Vec<u8>> {
    match (text, b64) {
        (Some(s), None) => Ok(s.as_bytes().to_vec()),
        (None, Some(b)) => base64_decode(b).ok_or_else(|| BackupError::Invalid(format!("{what} is not base64"))),
        _ => Err(BackupError::Invalid(format!("a node needs exactly one of {what} and {what}_b64"))),
    }
}

impl Node {
    /// Set the name from OS bytes.
    pub fn set_name(&mut self, name: &OsStr) {
        (self.name, self.name_b64) = split_bytes(name.as_bytes());
    }

    /// The name's bytes, checked to be one path component.
    pub fn name_bytes(&self) -> Result<OsString> {
        let b = join_bytes(&self.name, &self.name_b64, "name")?;
        if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
            return Err(BackupError::Invalid(format!("unsafe entry name {:?}", String::from_utf8_lossy(&b))));
        }
        Ok(OsString::from_vec(b))
    }

    /// Set a symlink target from OS bytes.
    pub fn set_target(&mut self, target: &OsStr) {
        (self.target, self.target_b64) = split_bytes(target.as_bytes());
    }

    /// The symlink target.
    pub fn target_bytes(&self) -> Result<OsString> {
        Ok(OsString::from_vec(join_bytes(&self.target, &self.target_b64, "target")?))
    }

    /// Sort key: the raw name bytes.
    pub fn sort_key(&self) -> Vec<u8> {
        join_bytes(&self.name, &self.name_b64, "name").unwrap_or_default()
    }
}

/// A directory listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// Entries, sorted by name bytes.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Serialize (sorting the nodes).
    pub fn to_bytes(&mut self) -> Result<Vec<u8>> {
        self.nodes.sort_by_key(Node::sort_key);
        serde_json::to_vec(self).map_err(|e| BackupError::Invalid(e.to_string()))
    }

    /// Parse a tree blob.
    pub fn from_bytes(id: &BlobId, bytes: &[u8]) -> Result<Tree> {
        serde_json::from_slice(bytes).map_err(|e| BackupError::damaged("tree", id.to_hex(), e.to_string()))
    }

    /// A node by name.
    pub fn find(&self, name: &OsStr) -> Option<&Node> {
        let key = name.as_bytes();
        self.nodes.binary_search_by(|n| n.sort_key().as_slice().cmp(key)).ok().map(|i| &self.nodes[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_names_roundtrip_and_unsafe_names_are_refused() {
        let mut n = Node::default();
        let raw = OsStr::from_bytes(b"caf\xe9.jpg");
        n.set_name(raw);
        assert!(n.name.is_none() && n.name_b64.is_some());
        assert_eq!(n.name_bytes().expect("name"), raw);
        for bad in [&b".."[..], b"a/b", b"", b"x\0"] {
            let mut n = Node::default();
            n.set_name(OsStr::from_bytes(bad));
            assert!(n.name_bytes().is_err(), "{bad:?}");
        }
        let mut t =
            Tree { nodes: vec![Node { name: Some("b".into()), ..Node::default() }, Node { name: Some("a".into()), ..Node::default() }] };
        let bytes = t.to_bytes().expect("bytes");
        let back = Tree::from_bytes(&BlobId([0; 32]), &bytes).expect("parse");
        assert_eq!(back.nodes[0].name.as_deref(), Some("a"));
        assert!(back.find(OsStr::new("b")).is_some());
    }
}
