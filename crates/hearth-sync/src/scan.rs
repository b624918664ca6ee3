//! Scanning a folder into BEP file entries: block sizes as Syncthing chooses them (the smallest
//! power of two from 128 KiB to 16 MiB that keeps a file under 2,000 blocks), SHA-256 per block,
//! version vectors bumped with this device's counter. Syncthing's own files (`.stfolder`,
//! `.stignore`, `.stversions`, `.syncthing.*.tmp`) are never offered; symlinks are not followed.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use std::collections::HashSet;

use hearth_platform::sha256_lanes::{LANES, Lanes};

use crate::error::{Result, SyncError};
use crate::folder::Folder;
use crate::hashing::{BlockHasher, Digest};
use crate::ignore::Ignores;
use crate::protocol::messages::{BlockInfo, FileInfo, FileInfoType};

/// Smallest block.
pub const MIN_BLOCK: usize = 128 << 10;
/// Largest block.
pub const MAX_BLOCK: usize = 16 << 20;
/// Files get at most about this many blocks.
const DESIRED_BLOCKS: u64 = 2000;

/// SHA-256 of no bytes: the hash of the one block Syncthing gives an empty file.
pub const SHA256_OF_NOTHING: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The block list of an empty file as Syncthing writes it: one block of size 0 at offset 0.
/// (Syncthing 1.29 takes a file entry with no blocks as a protocol error and drops the
/// connection, so an empty file is never announced without it.)
pub fn empty_file_blocks() -> Vec<BlockInfo> {
    vec![BlockInfo { offset: 0, size: 0, hash: SHA256_OF_NOTHING.to_vec(), weak_hash: 0 }]
}

/// The blocks of a list that hold bytes: an empty file's zero-size block holds none, so for an
/// empty file this is empty (whether the peer wrote one zero-size block or none).
pub fn data_blocks(blocks: &[BlockInfo]) -> &[BlockInfo] {
    match blocks {
        [only] if only.size == 0 => &[],
        all => all,
    }
}

/// The block size Syncthing uses for a file of `size` bytes.
pub fn block_size(size: u64) -> usize {
    let mut b = MIN_BLOCK;
    while b < MAX_BLOCK && size >= DESIRED_BLOCKS * b as u64 {
        b *= 2;
    }
    b
}

pub use crate::vector::bump;

/// Whether a root-level name is Syncthing's own (never offered, never touched by peers).
pub fn reserved(name: &str) -> bool {
    matches!(name, ".stfolder" | ".stignore" | ".stversions")
}

/// Whether a file name is one of Syncthing's temporaries (`.syncthing.NAME.tmp`).
pub fn temporary(name: &str) -> bool {
    name.starts_with(".syncthing.") && name.ends_with(".tmp")
}

/// What changed in `root` since the folder's index: new and modified entries are hashed,
/// unchanged ones (same type, size, modification time and permissions) are skipped without
/// reading, vanished ones become deletions. Versions are bumped for `short_id` at `now_s`.
pub fn changes(root: &Path, folder: &Folder, ignores: &Ignores, short_id: u64, now_s: u64) -> Result<Vec<FileInfo>> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let known = |name: &str| folder.local_entry(name);
    walk(root, "", ignores, &known, &mut seen, &mut found)?;
    for f in &mut found {
        let prev = folder.local_entry(&f.name);
        f.version = Some(bump(prev.as_ref().and_then(|p| p.version.as_ref()), short_id, now_s));
        f.modified_by = short_id;
    }
    // Names under a directory that could not be read are not known to be gone.
    let unreadable: Vec<&str> = seen.iter().filter_map(|s| s.strip_suffix("\0unreadable")).collect();
    let below_unreadable = |name: &str| unreadable.iter().any(|u| name.starts_with(u));
    let gone: Vec<FileInfo> = folder.with_local(|l| {
        l.files
            .values()
            // An invalid entry (a peer's symlink, never created here) has no file to vanish.
            .filter(|f| !f.deleted && !f.invalid && !seen.contains(&f.name) && !ignores.ignored(&f.name) && !below_unreadable(&f.name))
            .map(|f| FileInfo {
                name: f.name.clone(),
                r#type: f.r#type,
                deleted: true,
                modified_s: f.modified_s,
                modified_ns: f.modified_ns,
                version: Some(bump(f.version.as_ref(), short_id, now_s)),
                modified_by: short_id,
                ..Default::default()
            })
            .collect()
    });
    found.extend(gone);
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn unchanged(prev: &FileInfo, now: &FileInfo) -> bool {
    !prev.deleted
        && !prev.invalid
        && prev.r#type == now.r#type
        && (prev.r#type == FileInfoType::Directory as i32 || prev.size == now.size)
        && (prev.r#type == FileInfoType::Directory as i32 || (prev.modified_s, prev.modified_ns) == (now.modified_s, now.modified_ns))
        && (prev.no_permissions || prev.permissions & 0o777 == now.permissions & 0o777)
}

/// Walk `dir`, adding to `out` what differs from `known` (everything when it knows nothing) and
/// to `seen` every name that is present (and `DIR/\0unreadable` for a directory it could not
/// read: NUL never occurs in a real name).
fn walk(
    dir: &Path,
    prefix: &str,
    ignores: &Ignores,
    known: &dyn Fn(&str) -> Option<FileInfo>,
    seen: &mut HashSet<String>,
    out: &mut Vec<FileInfo>,
) -> Result<()> {
    let io = |e| SyncError::io(dir.display().to_string(), e);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // A directory we cannot read is left alone, and its contents are not taken as deleted.
        Err(e) if !prefix.is_empty() && e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::warn!(dir = %dir.display(), "cannot read a directory; skipping it");
            seen.insert(format!("{prefix}/\0unreadable"));
            return Ok(());
        }
        Err(e) => return Err(io(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io)?;
        let Ok(name) = entry.file_name().into_string() else {
            tracing::warn!(dir = %dir.display(), "skipping a name that is not UTF-8 (BEP names are UTF-8)");
            continue;
        };
        if prefix.is_empty() && reserved(&name) || name.starts_with(".syncthing.") {
            continue;
        }
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(e)),
        };
        if ignores.ignored(&rel) {
            if meta.is_dir() && !ignores.skip_ignored_dirs() {
                walk(&entry.path(), &rel, ignores, known, seen, out)?;
            }
            continue;
        }
        if meta.file_type().is_symlink() {
            // Symlinks are neither followed nor offered: a link could lead out of the folder.
            tracing::debug!(name = %rel, "skipping a symlink");
            continue;
        }
        let mut f = FileInfo {
            name: rel.clone(),
            permissions: meta.mode() & 0o777,
            modified_s: meta.mtime(),
            modified_ns: meta.mtime_nsec() as i32,
            ..Default::default()
        };
        if meta.is_dir() {
            f.r#type = FileInfoType::Directory as i32;
            seen.insert(rel.clone());
            if !known(&rel).is_some_and(|p| unchanged(&p, &f)) {
                out.push(f);
            }
            walk(&entry.path(), &rel, ignores, known, seen, out)?;
        } else if meta.is_file() {
            f.r#type = FileInfoType::File as i32;
            f.size = meta.len() as i64;
            seen.insert(rel.clone());
            if known(&rel).is_some_and(|p| unchanged(&p, &f)) {
                continue;
            }
            let bs = block_size(meta.len());
            f.block_size = bs as i32;
            match hash_blocks(&entry.path(), bs) {
                Ok(blocks) => f.blocks = blocks,
                Err(e) => {
                    // Unreadable now (permissions, vanished mid-scan): keep what the index says.
                    tracing::warn!(name = %rel, error = %e, "cannot read a file; it keeps its previous state");
                    continue;
                }
            }
            out.push(f);
        }
    }
    Ok(())
}

/// Remove Syncthing temporaries under `root` untouched for longer than `max_age` (transfers
/// that will not resume: the file was deleted or replaced meanwhile). Returns how many went.
pub fn remove_stale_temporaries(root: &Path, max_age: std::time::Duration) -> usize {
    let mut removed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if meta.is_dir() && !(dir == root && name == ".stversions") {
                stack.push(entry.path());
            } else if meta.is_file()
                && temporary(&name)
                && meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > max_age)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

/// The blocks of a file.
pub fn hash_blocks(path: &Path, block_size: usize) -> Result<Vec<BlockInfo>> {
    hash_blocks_with(path, block_size, BlockHasher::for_this_cpu())
}

/// Bytes read from each lane's block at a time (so a 16 MiB block is never held whole).
const LANE_PIECE: usize = 256 << 10;

/// The blocks of a file, hashed the way `hasher` says. Runs of eight whole blocks are spread
/// over the cores (each run in lanes or block by block, read in `LANE_PIECE`s); the rest is
/// hashed block by block.
pub fn hash_blocks_with(path: &Path, block_size: usize, hasher: BlockHasher) -> Result<Vec<BlockInfo>> {
    let io = |e| SyncError::io(path.display().to_string(), e);
    let block_size = block_size.clamp(MIN_BLOCK, MAX_BLOCK);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut blocks = Vec::new();
    let mut offset = 0i64;
    let size = file.metadata().map_err(io)?.len();
    let runs = (size / (block_size as u64 * LANES as u64)) as usize;
    if runs > 0 {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(runs);
        let mut hashed: Vec<Option<[Digest; LANES]>> = vec![None; runs];
        let failed = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let file = &file;
                    scope.spawn(move || -> std::io::Result<Vec<(usize, Option<[Digest; LANES]>)>> {
                        let piece = LANE_PIECE.min(block_size);
                        let mut buf = vec![0u8; piece * LANES];
                        (t..runs).step_by(threads).map(|run| Ok((run, hash_run(file, run, block_size, hasher, &mut buf)?))).collect()
                    })
                })
                .collect();
            let mut failed = None;
            for w in workers {
                match w.join() {
                    Ok(Ok(done)) => done.into_iter().for_each(|(run, digests)| hashed[run] = digests),
                    Ok(Err(e)) => failed = Some(e),
                    Err(_) => failed = Some(std::io::Error::other("a hashing thread panicked")),
                }
            }
            failed
        });
        if let Some(e) = failed {
            return Err(io(e));
        }
        // A run cut short (the file shrank while it was read) ends the runs: the rest goes
        // block by block.
        for digests in hashed.into_iter().map_while(|d| d) {
            for hash in digests {
                blocks.push(BlockInfo { offset, size: block_size as i32, hash: hash.to_vec(), weak_hash: 0 });
                offset += block_size as i64;
            }
        }
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset as u64)).map_err(io)?;
    }
    let mut buf = vec![0u8; block_size.min(LANE_PIECE)];
    loop {
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        let mut n = 0;
        while n < block_size {
            let want = buf.len().min(block_size - n);
            let got = file.read(&mut buf[..want]).map_err(io)?;
            if got == 0 {
                break;
            }
            hash.update(&buf[..got]);
            n += got;
        }
        if n == 0 {
            break;
        }
        blocks.push(BlockInfo { offset, size: n as i32, hash: hash.finish().as_ref().to_vec(), weak_hash: 0 });
        offset += n as i64;
        if n < block_size {
            break;
        }
    }
    if blocks.is_empty() {
        return Ok(empty_file_blocks());
    }
    Ok(blocks)
}

/// The digests of run `run` (eight whole blocks from `run * 8 * block_size`), or `None` when the
/// file ends inside it.
fn hash_run(
    file: &std::fs::File,
    run: usize,
    block_size: usize,
    hasher: BlockHasher,
    buf: &mut [u8],
) -> std::io::Result<Option<[Digest; LANES]>> {
    let piece = buf.len() / LANES;
    let start = (run * block_size * LANES) as u64;
    let mut lanes = Lanes::new();
    let mut single: [ring::digest::Context; LANES] = std::array::from_fn(|_| ring::digest::Context::new(&ring::digest::SHA256));
    for at in (0..block_size).step_by(piece) {
        for (lane, part) in buf.chunks_exact_mut(piece).enumerate() {
            match std::os::unix::fs::FileExt::read_exact_at(file, part, start + (lane * block_size + at) as u64) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        match hasher {
            BlockHasher::Lanes => lanes.update(&std::array::from_fn(|lane| &buf[lane * piece..(lane + 1) * piece])),
            BlockHasher::Single => {
                for (lane, ctx) in single.iter_mut().enumerate() {
                    ctx.update(&buf[lane * piece..(lane + 1) * piece]);
                }
            }
        }
    }
    Ok(Some(match hasher {
        BlockHasher::Lanes => lanes.finish(&[&[]; LANES]),
        BlockHasher::Single => single.map(|ctx| {
            let mut d = [0u8; 32];
            d.copy_from_slice(ctx.finish().as_ref());
            d
        }),
    }))
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
    fn an_empty_file_has_syncthings_one_zero_size_block_and_passes_the_pullers_check() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(".nomedia");
        std::fs::write(&path, b"").expect("write");
        let blocks = hash_blocks(&path, block_size(0)).expect("hash");
        assert_eq!(blocks, empty_file_blocks());
        assert_eq!(blocks[0].hash, crate::hashing::sha256(b"").to_vec());
        assert!(data_blocks(&blocks).is_empty());
        let entry = |blocks: Vec<BlockInfo>| FileInfo { name: ".nomedia".into(), blocks, ..Default::default() };
        // Syncthing's way and older Hearth's (no blocks) are both fine; a zero-size block in a
        // file with bytes, or at another offset, is not.
        assert_eq!(crate::puller::refuse(&entry(blocks.clone())), None);
        assert_eq!(crate::puller::refuse(&entry(Vec::new())), None);
        let moved = BlockInfo { offset: 5, ..blocks[0].clone() };
        assert!(crate::puller::refuse(&entry(vec![moved])).is_some());
        let with_bytes = FileInfo { size: 10, ..entry(blocks) };
        assert!(crate::puller::refuse(&with_bytes).is_some());
    }

    #[test]
    fn scans_blocks_and_skips_syncthing_files() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("a/.stfolder-not")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join(".stfolder")).expect("mkdir");
        std::fs::write(dir.path().join("a/x.bin"), vec![7u8; 300_000]).expect("write");
        std::fs::write(dir.path().join("a/.syncthing.x.bin.tmp"), b"partial").expect("write");
        let (mut files, mut seen) = (Vec::new(), HashSet::new());
        walk(dir.path(), "", &Ignores::none(), &|_| None, &mut seen, &mut files).expect("scan");
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "a/.stfolder-not", "a/x.bin"]);
        let x = &files[2];
        assert_eq!((x.size, x.blocks.len(), x.blocks[2].size), (300_000, 3, 300_000 - 2 * 131_072));
        let v = bump(None, 42, 1_795_000_000);
        assert_eq!(bump(Some(&v), 42, 5).counters[0].value, 1_795_000_001);
    }

    #[test]
    fn lanes_and_a_single_stream_hash_blocks_alike() {
        let dir = tempfile::tempdir().expect("tmp");
        // 8 whole blocks twice, two more and a short one: lanes, then block by block.
        let bs = MIN_BLOCK;
        for size in [0, 100, bs, 8 * bs, 8 * bs + 1, 18 * bs + 777, 16 * bs] {
            let path = dir.path().join(format!("f{size}"));
            std::fs::write(&path, (0..size).map(|i| (i % 251) as u8 ^ (i >> 17) as u8).collect::<Vec<u8>>()).expect("write");
            let single = hash_blocks_with(&path, bs, BlockHasher::Single).expect("single");
            assert_eq!(hash_blocks_with(&path, bs, BlockHasher::Lanes).expect("lanes"), single, "size {size}");
            assert_eq!(single.iter().map(|b| b.size as usize).sum::<usize>(), size);
        }
    }

    #[test]
    fn block_hashes_are_sha256() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x");
        std::fs::write(&path, b"hello").expect("write");
        let blocks = hash_blocks(&path, MIN_BLOCK).expect("hash");
        assert_eq!(blocks[0].hash, crate::hashing::sha256(b"hello").to_vec());
    }
}
