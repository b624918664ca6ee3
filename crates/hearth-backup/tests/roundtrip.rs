//! Back up real folders into a real repository and restore them byte for byte.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use hearth_backup::backend::{self, FileType};
use hearth_backup::commands::{backup, check, ls, restore};
use hearth_backup::crypto::Cipher;
use hearth_backup::keyfile::Kdf;
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

fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("photos/2026")).expect("mkdir");
    fs::create_dir_all(root.join("empty")).expect("mkdir");
    fs::write(root.join("photos/2026/big.jpg"), noise(5_000_000, 1)).expect("w");
    fs::write(root.join("photos/2026/copy.jpg"), noise(5_000_000, 1)).expect("w");
    fs::write(root.join("log.txt"), b"a line that repeats\n".repeat(100_000)).expect("w");
    fs::write(root.join("zero"), b"").expect("w");
    fs::write(root.join(OsStr::from_bytes(b"caf\xe9 \x01 odd.txt")), b"latin-1 name").expect("w");
    std::os::unix::fs::symlink("photos/2026/big.jpg", root.join("link")).expect("symlink");
    std::os::unix::fs::symlink(OsStr::from_bytes(b"/nowhere/\xff"), root.join("dangling")).expect("symlink");
    fs::write(root.join("skip.tmp"), b"excluded").expect("w");
    fs::set_permissions(root.join("log.txt"), fs::Permissions::from_mode(0o640)).expect("chmod");
}

fn assert_same(a: &Path, b: &Path) {
    let mut names_a: Vec<_> = fs::read_dir(a).expect("ls").map(|e| e.expect("e").file_name()).collect();
    let mut names_b: Vec<_> = fs::read_dir(b).expect("ls").map(|e| e.expect("e").file_name()).collect();
    names_a.retain(|n| n != "skip.tmp");
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b, "{} vs {}", a.display(), b.display());
    for n in names_a {
        let (pa, pb) = (a.join(&n), b.join(&n));
        let (ma, mb) = (fs::symlink_metadata(&pa).expect("m"), fs::symlink_metadata(&pb).expect("m"));
        assert_eq!(ma.file_type(), mb.file_type(), "{}", pa.display());
        if ma.is_dir() {
            assert_same(&pa, &pb);
        } else if ma.file_type().is_symlink() {
            assert_eq!(fs::read_link(&pa).expect("l"), fs::read_link(&pb).expect("l"));
        } else {
            assert_eq!(fs::read(&pa).expect("r"), fs::read(&pb).expect("r"), "{}", pa.display());
            assert_eq!(ma.mode() & 0o7777, mb.mode() & 0o7777, "{}", pa.display());
            assert_eq!(ma.mtime(), mb.mtime(), "{}", pa.display());
        }
    }
}

fn open(repo: &Path, pw: &str) -> Result<Repository, BackupError> {
    Repository::open(backend::open(repo.to_str().expect("utf8"))?, pw.as_bytes())
}

#[test]
fn backup_restore_incremental_and_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    make_tree(&src);
    let repo_path = dir.path().join("repo");
    for cipher in [Cipher::ChaCha20Poly1305, Cipher::Aes256Gcm] {
        let _ = fs::remove_dir_all(&repo_path);
        let kdf = Kdf::for_tests().expect("kdf");
        Repository::init(backend::open(repo_path.to_str().expect("utf8")).expect("b"), b"secret", cipher, kdf).expect("init");
        assert!(matches!(open(&repo_path, "wrong"), Err(BackupError::WrongPassword)));
        let opts = backup::BackupOptions { paths: vec![src.clone()], excludes: vec!["*.tmp".into()], ..Default::default() };
        let first = backup::run(open(&repo_path, "secret").expect("open"), &opts).expect("backup");
        let s = &first.snapshot.summary;
        assert_eq!(s.files_new, 5, "{s:?}");
        assert!(!first.snapshot.partial);
        // The duplicate photo costs nothing; the log compresses.
        assert!(s.bytes_added < 5_000_000 + 2_100_000, "dedup: {s:?}");
        assert!(s.bytes_stored < 5_200_000, "compression: {s:?}");

        let repo = open(&repo_path, "secret").expect("reopen: the new index files are read");
        let target = dir.path().join("restore");
        let _ = fs::remove_dir_all(&target);
        let r = restore::run(&repo, &restore::RestoreOptions { snapshot: "latest".into(), target: target.clone(), ..Default::default() })
            .expect("restore");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_same(&src, &target.join("src"));

        // Nothing changed: nothing is read.
        let second = backup::run(open(&repo_path, "secret").expect("open"), &opts).expect("backup 2");
        let mut repo = open(&repo_path, "secret").expect("open");
        assert_eq!(second.snapshot.summary.files_unmodified, 5, "{:?}", second.snapshot.summary);
        assert_eq!(second.snapshot.summary.bytes_read, 0);
        assert_eq!(second.snapshot.parent.as_deref(), Some(first.name.as_str()));
        assert_eq!(second.snapshot.tree, first.snapshot.tree, "same content, same tree");

        let listed = ls::run(&repo, &first.name[..8], Some(Path::new("src/photos"))).expect("ls");
        let paths: Vec<String> = listed.iter().map(|e| e.path.display().to_string()).collect();
        assert_eq!(paths, ["/src/photos/2026", "/src/photos/2026/big.jpg", "/src/photos/2026/copy.jpg"]);

        let c = check::run(&mut repo, check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
        assert!(c.ok(), "{:?}", c.problems);
        assert!(c.blobs_read > 5);
    }

    // Damage one data pack: check names it and the files it affects; restore still writes the rest.
    let mut repo = open(&repo_path, "secret").expect("open");
    let big_id = {
        let e = ls::run(&repo, "latest", Some(Path::new("src/photos/2026/big.jpg"))).expect("ls");
        e[0].node.content.as_ref().expect("content")[0]
    };
    let loc = repo.index.get(&big_id).expect("indexed");
    let pack = hearth_backup::index::hex32(&loc.pack);
    let pack_path = repo_path.join("data").join(&pack[..2]).join(&pack);
    let mut bytes = fs::read(&pack_path).expect("read pack");
    bytes[loc.offset as usize + 100] ^= 0xff;
    fs::write(&pack_path, &bytes).expect("write pack");
    let c = check::run(&mut repo, check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
    assert!(!c.ok());
    assert!(c.problems.iter().any(|p| p.contains(&pack)), "{:?}", c.problems);
    assert_eq!(c.affected.len(), 2, "both snapshots are affected: {:?}", c.affected);
    for paths in c.affected.values() {
        assert!(paths.iter().any(|p| p.ends_with("big.jpg")) && paths.iter().any(|p| p.ends_with("copy.jpg")), "{paths:?}");
        assert!(!paths.iter().any(|p| p.ends_with("log.txt")), "{paths:?}");
    }
    let target = dir.path().join("restore-damaged");
    let r = restore::run(&repo, &restore::RestoreOptions { snapshot: "latest".into(), target: target.clone(), ..Default::default() })
        .expect("restore");
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert_eq!(fs::read(target.join("src/log.txt")).expect("log"), fs::read(src.join("log.txt")).expect("log"));
    assert!(!target.join("src/photos/2026/big.jpg").exists(), "a damaged file is not left half-written");
}

#[test]
fn newer_format_and_missing_repository_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo_path = dir.path().join("repo");
    let err = open(&repo_path, "x").expect_err("none");
    assert!(err.to_string().contains("no backup repository"), "{err}");
    Repository::init(
        backend::open(repo_path.to_str().expect("utf8")).expect("b"),
        b"pw",
        Cipher::Aes256Gcm,
        Kdf::for_tests().expect("kdf"),
    )
    .expect("init");
    let again = Repository::init(
        backend::open(repo_path.to_str().expect("utf8")).expect("b"),
        b"pw",
        Cipher::Aes256Gcm,
        Kdf::for_tests().expect("kdf"),
    );
    assert!(matches!(again, Err(BackupError::AlreadyExists(_))));
    let cfg = fs::read_to_string(repo_path.join("config")).expect("config");
    fs::write(repo_path.join("config"), cfg.replace("\"version\": 1", "\"version\": 7")).expect("write");
    let err = open(&repo_path, "pw").expect_err("newer");
    assert!(err.to_string().contains("format version 7"), "{err}");
    let b = backend::open(repo_path.to_str().expect("utf8")).expect("b");
    assert_eq!(b.list(FileType::Key).expect("keys").len(), 1);
}
