//! A repository's life after the first backup: diff, forget, prune, stats, orphan packs.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hearth_backup::backend::{self, FileType};
use hearth_backup::blob::BlobType;
use hearth_backup::commands::diff::Change;
use hearth_backup::commands::{backup, check, diff, forget, prune, restore, stats};
use hearth_backup::crypto::{Cipher, object_name};
use hearth_backup::keyfile::Kdf;
use hearth_backup::pack::PackWriter;
use hearth_backup::{BackupError, Repository};

fn noise(n: usize, seed: u64) -> Vec<u8> {
    // Mixed first: seeds that differ only in the lowest bit must not give the same bytes.
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    src: PathBuf,
    root: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tmp");
        let repo = dir.path().join("repo");
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub")).expect("mkdir");
        Repository::init(backend::open(repo.to_str().expect("utf8")).expect("b"), b"pw", Cipher::Aes256Gcm, Kdf::for_tests().expect("kdf"))
            .expect("init");
        let root = dir.path().to_path_buf();
        Fixture { _dir: dir, repo, src, root }
    }

    fn open(&self) -> Repository {
        Repository::open(backend::open(self.repo.to_str().expect("utf8")).expect("b"), b"pw").expect("open")
    }

    fn backup(&self) -> backup::BackupReport {
        let opts = backup::BackupOptions { paths: vec![self.src.clone()], ..Default::default() };
        backup::run(self.open(), &opts).expect("backup")
    }

    fn count(&self, t: FileType) -> usize {
        backend::open(self.repo.to_str().expect("utf8")).expect("b").list(t).expect("list").len()
    }
}

fn same_tree(a: &Path, b: &Path) {
    let mut left: Vec<_> = fs::read_dir(a).expect("ls").map(|e| e.expect("e").file_name()).collect();
    let mut right: Vec<_> = fs::read_dir(b).expect("ls").map(|e| e.expect("e").file_name()).collect();
    left.sort();
    right.sort();
    assert_eq!(left, right);
    for n in left {
        let (pa, pb) = (a.join(&n), b.join(&n));
        if pa.is_dir() {
            same_tree(&pa, &pb);
        } else {
            assert!(fs::read(&pa).expect("r") == fs::read(&pb).expect("r"), "{}", pa.display());
        }
    }
}

#[test]
fn diff_forget_prune_stats() {
    let f = Fixture::new();
    fs::write(f.src.join("keep.bin"), noise(3_000_000, 1)).expect("w");
    fs::write(f.src.join("gone.bin"), noise(6_000_000, 4)).expect("w");
    fs::write(f.src.join("sub/edit.txt"), b"first version\n".repeat(1000)).expect("w");
    let first = f.backup();

    fs::remove_file(f.src.join("gone.bin")).expect("rm");
    fs::write(f.src.join("sub/edit.txt"), b"second version\n".repeat(1000)).expect("w");
    fs::write(f.src.join("sub/new.bin"), noise(1_000_000, 6)).expect("w");
    let second = f.backup();

    let mut repo = f.open();
    let c = check::run(&mut repo, check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
    assert!(c.ok() && c.unindexed_packs == 0, "{c:?}");
    let repo = f.open();
    let d = diff::run(&repo, &first.name[..10], &second.name[..10]).expect("diff");
    let marks: Vec<(char, String)> = d.changes.iter().map(|(c, p)| (c.mark(), p.display().to_string())).collect();
    assert!(marks.contains(&('-', "/src/gone.bin".into())), "{marks:?}");
    assert!(marks.contains(&('+', "/src/sub/new.bin".into())), "{marks:?}");
    assert!(marks.contains(&('M', "/src/sub/edit.txt".into())), "{marks:?}");
    assert!(!marks.iter().any(|(_, p)| p == "/src/keep.bin"), "{marks:?}");
    assert_eq!((d.files_added, d.files_removed, d.files_modified), (1, 1, 1));
    assert!(d.bytes_removed >= 6_000_000 && d.bytes_added >= 1_000_000, "{d:?}");
    assert!(diff::run(&repo, "latest", "latest").expect("diff").changes.is_empty());
    assert!(d.changes.iter().all(|(c, _)| *c != Change::TypeChanged));

    let before = stats::run(&repo, None).expect("stats");
    assert_eq!(before.snapshots, 2);
    assert_eq!(before.files, 3 + 3);
    assert_eq!(before.restore_bytes, 2 * 3_000_000 + 6_000_000 + 1_000_000 + 14_000 + 15_000);
    assert!(before.unique_bytes < before.restore_bytes, "dedup: {before:?}");

    // Forget refuses an empty policy, keeps the newest, and a dry run removes nothing.
    assert!(forget::run(&repo, &forget::KeepPolicy::default(), false).is_err());
    let policy = forget::KeepPolicy { last: 1, ..Default::default() };
    let dry = forget::run(&repo, &policy, true).expect("dry");
    assert_eq!((dry.removed, f.count(FileType::Snapshot)), (1, 2));
    let done = forget::run(&repo, &policy, false).expect("forget");
    assert_eq!(done.removed, 1);
    assert_eq!(f.count(FileType::Snapshot), 1);
    let kept = &done.groups[0].decisions;
    assert_eq!(kept.iter().find(|d| !d.reasons.is_empty()).map(|d| d.name.clone()), Some(second.name.clone()));

    // Prune frees what only the first snapshot used and keeps everything the second needs.
    let packs_before = f.count(FileType::Pack);
    let r = prune::run(f.open(), prune::PruneOptions { max_unused_percent: 0, dry_run: false }).expect("prune");
    assert!(r.bytes_deleted >= 6_000_000, "{r:?}");
    assert!(r.packs_unused + r.packs_repacked > 0, "{r:?}");
    assert_eq!(f.count(FileType::Pack), packs_before - r.packs_unused - r.packs_repacked + r.packs_written);
    let mut repo = f.open();
    let c = check::run(&mut repo, check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
    assert!(c.ok() && c.unindexed_packs == 0, "{:?}", c.problems);
    let after = stats::run(&repo, None).expect("stats");
    assert!(after.pack_bytes < before.pack_bytes - 5_000_000, "{before:?} → {after:?}");
    assert!(after.pack_bytes <= after.stored_bytes, "no unused bytes left at 0%: {after:?}");
    let target = f.root.join("restored");
    let rr = restore::run(&repo, &restore::RestoreOptions { snapshot: "latest".into(), target: target.clone(), ..Default::default() })
        .expect("restore");
    assert!(rr.errors.is_empty(), "{:?}", rr.errors);
    same_tree(&f.src, &target.join("src"));

    // A second prune has nothing to do; an incremental backup after prune still works.
    let again = prune::run(f.open(), prune::PruneOptions::default()).expect("prune again");
    assert_eq!(again.packs_unused + again.packs_repacked + again.packs_orphaned, 0, "{again:?}");
    assert_eq!(f.backup().snapshot.summary.files_unmodified, 3);
}

#[test]
fn orphan_packs_are_reused_by_backup_and_removed_by_prune() {
    let f = Fixture::new();
    // Smaller than the minimum chunk: the file is exactly one chunk whatever the chunker's seed.
    let content = noise(400_000, 9);
    fs::write(f.src.join("photo.jpg"), &content).expect("w");
    // A pack a killed backup stored before its index: it holds exactly this file's one chunk.
    let mut repo = f.open();
    let id = repo.keys.blob_id(&content);
    let sealed = repo.keys.enc.seal(&BlobType::Data.aad(&id), &content).expect("seal");
    let mut w = PackWriter::new(BlobType::Data, 1 << 20);
    w.add(id, 0, &sealed, content.len() as u32).expect("add");
    let bytes = w.finish(&repo.keys).expect("finish").into_bytes().expect("in memory");
    repo.backend().write(FileType::Pack, &object_name(&bytes), &bytes).expect("write");
    let c = check::run(&mut repo, check::CheckOptions::default()).expect("check");
    assert!(c.ok() && c.unindexed_packs == 1, "{c:?}");

    let b = f.backup();
    assert_eq!(b.snapshot.summary.bytes_added, b.snapshot.summary.bytes_added.min(4096), "only the tree is new: {:?}", b.snapshot.summary);

    // Another pack in no index, this time garbage for every snapshot: prune deletes it.
    let other = noise(600_000, 10);
    let oid = repo.keys.blob_id(&other);
    let mut w = PackWriter::new(BlobType::Data, 1 << 20);
    w.add(oid, 0, &repo.keys.enc.seal(&BlobType::Data.aad(&oid), &other).expect("seal"), other.len() as u32).expect("add");
    let bytes = w.finish(&repo.keys).expect("finish").into_bytes().expect("in memory");
    let orphan = object_name(&bytes);
    repo.backend().write(FileType::Pack, &orphan, &bytes).expect("write");
    let r = prune::run(f.open(), prune::PruneOptions::default()).expect("prune");
    assert!(r.packs_recovered == 1 && r.packs_unused == 1 && r.packs_orphaned == 0, "read from its header, then deleted as unused: {r:?}");
    assert!(!f.open().backend().list(FileType::Pack).expect("list").contains(&orphan));
    let c = check::run(&mut f.open(), check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
    assert!(c.ok(), "{:?}", c.problems);
}

#[test]
fn prune_rebuilds_a_lost_index_from_pack_headers_and_refuses_when_data_is_gone() {
    let f = Fixture::new();
    fs::write(f.src.join("a.bin"), noise(2_000_000, 4)).expect("w");
    fs::write(f.src.join("b.txt"), b"b\n".repeat(10_000)).expect("w");
    f.backup();
    // Lose every index file: the packs still describe themselves.
    let b = backend::open(f.repo.to_str().expect("utf8")).expect("b");
    for name in b.list(FileType::Index).expect("list") {
        b.remove(FileType::Index, &name).expect("rm");
    }
    let packs = f.count(FileType::Pack);
    let c = check::run(&mut f.open(), check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
    assert!(c.ok() && c.unindexed_packs == packs, "{c:?}");
    let r = prune::run(f.open(), prune::PruneOptions::default()).expect("prune rebuilds the index");
    assert_eq!((r.packs_recovered, f.count(FileType::Pack)), (packs, packs), "{r:?}");
    let c = check::run(&mut f.open(), check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
    assert!(c.ok() && c.unindexed_packs == 0, "{c:?}");

    // A pack that the snapshot needs disappears: prune deletes nothing and says why.
    let repo = f.open();
    let (_, snap) = repo.find_snapshot("latest").expect("latest");
    let data_pack = repo
        .index
        .iter()
        .find(|(id, l)| *id != snap.tree && l.blob_type == BlobType::Data)
        .map(|(_, l)| hearth_backup::index::hex32(&l.pack))
        .expect("a data pack");
    b.remove(FileType::Pack, &data_pack).expect("rm");
    fs::write(f.src.join("c.bin"), noise(600_000, 5)).expect("w");
    f.backup();
    let before = f.count(FileType::Pack);
    let err = prune::run(f.open(), prune::PruneOptions { max_unused_percent: 0, dry_run: false }).expect_err("refuses");
    assert!(err.to_string().contains("without deleting anything") && err.to_string().contains(&data_pack), "{err}");
    assert_eq!(f.count(FileType::Pack), before);
}

#[test]
fn exclusive_commands_wait_for_nobody_and_refuse_while_locked() {
    let f = Fixture::new();
    fs::write(f.src.join("a.bin"), noise(100_000, 5)).expect("w");
    f.backup();
    let holder = Arc::new(f.open());
    let lock = holder.lock(hearth_backup::lock::LockMode::Shared).expect("shared");
    let err = prune::run(f.open(), prune::PruneOptions::default()).expect_err("locked");
    assert!(matches!(err, BackupError::Locked { .. }), "{err}");
    let policy = forget::KeepPolicy { last: 1, ..Default::default() };
    assert!(matches!(forget::run(&f.open(), &policy, false), Err(BackupError::Locked { .. })));
    drop(lock);
    prune::run(f.open(), prune::PruneOptions::default()).expect("prune after release");
}

/// A folder repository that pretends to be remote and counts what is read from it.
struct Counting {
    inner: Arc<dyn hearth_backup::backend::Backend>,
    pack_reads: std::sync::atomic::AtomicUsize,
    index_reads: std::sync::atomic::AtomicUsize,
}

impl hearth_backup::backend::Backend for Counting {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn is_remote(&self) -> bool {
        true
    }
    fn exists(&self) -> hearth_backup::error::Result<bool> {
        self.inner.exists()
    }
    fn create(&self) -> hearth_backup::error::Result<()> {
        self.inner.create()
    }
    fn list(&self, t: FileType) -> hearth_backup::error::Result<Vec<String>> {
        self.inner.list(t)
    }
    fn read(&self, t: FileType, name: &str) -> hearth_backup::error::Result<Vec<u8>> {
        if t == FileType::Index {
            self.index_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.inner.read(t, name)
    }
    fn read_range(&self, t: FileType, name: &str, offset: u64, length: u32) -> hearth_backup::error::Result<Vec<u8>> {
        if t == FileType::Pack {
            self.pack_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.inner.read_range(t, name, offset, length)
    }
    fn size(&self, t: FileType, name: &str) -> hearth_backup::error::Result<u64> {
        self.inner.size(t, name)
    }
    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> hearth_backup::error::Result<()> {
        self.inner.write(t, name, bytes)
    }
    fn remove(&self, t: FileType, name: &str) -> hearth_backup::error::Result<()> {
        self.inner.remove(t, name)
    }
}

#[test]
fn the_metadata_cache_makes_an_unchanged_backup_download_nothing() {
    let f = Fixture::new();
    fs::create_dir_all(f.src.join("a/b/c")).expect("mkdir");
    for (i, d) in ["a", "a/b", "a/b/c"].iter().enumerate() {
        fs::write(f.src.join(d).join("photo.jpg"), noise(300_000, i as u64 + 20)).expect("write");
    }
    let cache = f.root.join("cache");
    let counting = || {
        Arc::new(Counting {
            inner: backend::open(f.repo.to_str().expect("utf8")).expect("b"),
            pack_reads: Default::default(),
            index_reads: Default::default(),
        })
    };
    let opts = backup::BackupOptions { paths: vec![f.src.clone()], ..Default::default() };
    let b1 = counting();
    backup::run(Repository::open_cached(b1.clone(), b"pw", Some(&cache)).expect("open"), &opts).expect("backup");
    // Second run, unchanged: the parent's trees and the index come from the cache.
    let b2 = counting();
    let r = backup::run(Repository::open_cached(b2.clone(), b"pw", Some(&cache)).expect("open"), &opts).expect("backup");
    assert_eq!(r.snapshot.summary.files_unmodified, 3);
    assert_eq!(b2.pack_reads.load(std::sync::atomic::Ordering::SeqCst), 0, "no tree downloaded");
    assert_eq!(b2.index_reads.load(std::sync::atomic::Ordering::SeqCst), 0, "no index downloaded");
    // A damaged cache entry is a miss, not an error.
    let mut damaged = 0;
    let mut stack = vec![cache.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("ls").map(|e| e.expect("e")) {
            if e.file_type().expect("t").is_dir() {
                stack.push(e.path());
            } else {
                let mut b = fs::read(e.path()).expect("r");
                let n = b.len() / 2;
                b[n] ^= 1;
                fs::write(e.path(), b).expect("w");
                damaged += 1;
            }
        }
    }
    assert!(damaged >= 4, "trees and index files are cached");
    let b3 = counting();
    let r = backup::run(Repository::open_cached(b3.clone(), b"pw", Some(&cache)).expect("open"), &opts).expect("backup");
    assert_eq!(r.snapshot.summary.files_unmodified, 3);
    assert!(b3.pack_reads.load(std::sync::atomic::Ordering::SeqCst) > 0 && b3.index_reads.load(std::sync::atomic::Ordering::SeqCst) > 0);
}
