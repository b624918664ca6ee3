//! Scanning a folder into BEP file entries: block sizes as Syncthing chooses them (the smallest
//! power of two from 128 KiB to 16 MiB that keeps a file under 2,000 blocks), SHA-256 per block,
//! version vectors bumped with this device's counter. Syncthing's own files (`.stfolder`,
//! `.stignore`, `.stversions`, `.syncthing.*.tmp`) are never offered; symlinks are not followed.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Result, SyncError};
use crate::protocol::messages::{BlockInfo, Counter, FileInfo, FileInfoType, Vector};

/// Smallest block.
pub const MIN_BLOCK: usize = 128 << 10;
/// Largest block.
pub const MAX_BLOCK: usize = 16 << 20;
/// Files get at most about this many blocks.
const DESIRED_BLOCKS: u64 = 2000;

/// The block size Syncthing uses for a file of `size` bytes.
pub fn block_size(size: u64) -> usize {
    let mut b = MIN_BLOCK;
    while b < MAX_BLOCK && size >= DESIRED_BLOCKS * b as u64 {
        b *= 2;
    }
    b
}

/// A version vector after this device (`short_id`) changed the entry: its counter becomes
/// max(old + 1, now in seconds), as Syncthing does, so counters also order concurrent edits.
pub fn bump(version: Option<&Vector>, short_id: u64, now_s: u64) -> Vector {
    let mut v = version.cloned().unwrap_or_default();
    match v.counters.iter_mut().find(|c| c.id == short_id) {
        Some(c) => c.value = (c.value + 1).max(now_s),
        None => v.counters.push(Counter { id: short_id, value: now_s.max(1) }),
    }
    v
}

fn skipped(name: &str) -> bool {
    matches!(name, ".stfolder" | ".stignore" | ".stversions") || (name.starts_with(".syncthing.") && name.ends_with(".tmp"))
}

/// Every file and folder under `root`, sorted by name, with their blocks.
pub fn scan(root: &Path) -> Result<Vec<FileInfo>> {
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<FileInfo>) -> Result<()> {
    let io = |e| SyncError::io(dir.display().to_string(), e);
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Ok(name) = entry.file_name().into_string() else {
            tracing::warn!(dir = %dir.display(), "skipping a name that is not UTF-8 (BEP names are UTF-8)");
            continue;
        };
        if prefix.is_empty() && skipped(&name) || name.starts_with(".syncthing.") {
            continue;
        }
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let meta = entry.metadata().map_err(io)?;
        let mut f = FileInfo {
            name: rel.clone(),
            permissions: meta.mode() & 0o777,
            modified_s: meta.mtime(),
            modified_ns: meta.mtime_nsec() as i32,
            ..Default::default()
        };
        if meta.is_dir() {
            f.r#type = FileInfoType::Directory as i32;
            out.push(f);
            walk(&entry.path(), &rel, out)?;
        } else if meta.is_file() {
            f.r#type = FileInfoType::File as i32;
            f.size = meta.len() as i64;
            let bs = block_size(meta.len());
            f.block_size = bs as i32;
            f.blocks = hash_blocks(&entry.path(), bs)?;
            out.push(f);
        }
    }
    Ok(())
}

/// The blocks of a file.
pub fn hash_blocks(path: &Path, block_size: usize) -> Result<Vec<BlockInfo>> {
    let io = |e| SyncError::io(path.display().to_string(), e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut buf = vec![0u8; block_size];
    let mut blocks = Vec::new();
    let mut offset = 0i64;
    loop {
        let mut n = 0;
        while n < block_size {
            let got = file.read(&mut buf[n..]).map_err(io)?;
            if got == 0 {
                break;
            }
            n += got;
        }
        if n == 0 {
            break;
        }
        let hash = ring::digest::digest(&ring::digest::SHA256, &buf[..n]).as_ref().to_vec();
        blocks.push(BlockInfo { offset, size: n as i32, hash, weak_hash: 0 });
        offset += n as i64;
        if n < block_size {
            break;
        }
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_follow_syncthing() {
        assert_eq!(block_size(0), 128 << 10);
        assert_eq!(block_size((250 << 20) - 1), 128 << 10);
        assert_eq!(block_size(2000 * (128 << 10)), 256 << 10);
        assert_eq!(block_size(1 << 30), 1 << 20);
        assert_eq!(block_size(1 << 40), 16 << 20);
    }

    #[test]
    fn scans_blocks_and_skips_syncthing_files() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("a/.stfolder-not")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join(".stfolder")).expect("mkdir");
        std::fs::write(dir.path().join("a/x.bin"), vec![7u8; 300_000]).expect("write");
        std::fs::write(dir.path().join("a/.syncthing.x.bin.tmp"), b"partial").expect("write");
        let files = scan(dir.path()).expect("scan");
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "a/.stfolder-not", "a/x.bin"]);
        let x = &files[2];
        assert_eq!((x.size, x.blocks.len(), x.blocks[2].size), (300_000, 3, 300_000 - 2 * 131_072));
        let v = bump(None, 42, 1_795_000_000);
        assert_eq!(bump(Some(&v), 42, 5).counters[0].value, 1_795_000_001);
    }
}
