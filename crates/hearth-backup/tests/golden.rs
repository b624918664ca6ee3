//! Golden repositories: every format version's repository, written once by
//! `scripts/make-backup-fixture VERSION` and committed under tests/fixtures/backup/, must stay
//! readable — snapshots, restore byte for byte (names that are not UTF-8, modes, times, links),
//! `check --read-data` — and writable (a new backup into an old repository). A damaged copy must
//! be reported with the object and the files it affects, and the rest must still restore.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hearth_backup::backend;
use hearth_backup::commands::{backup, check, ls, restore};
use hearth_backup::index::hex32;
use hearth_backup::{BackupError, Repository};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/backup")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("ls") {
        let e = e.expect("entry");
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).expect("copy");
            // git checkouts may make files read-only or not; the copy is ours to lock and write.
            fs::set_permissions(to.join(e.file_name()), fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}

fn sha256(b: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, b).as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

fn verify_restore(target: &Path, manifest: &serde_json::Value) {
    let entries = manifest["entries"].as_array().expect("entries");
    assert!(entries.len() >= 10);
    for e in entries {
        let rel = unhex(e["path_hex"].as_str().expect("path"));
        let p = target.join(OsStr::from_bytes(&rel));
        let m = fs::symlink_metadata(&p).unwrap_or_else(|err| panic!("{}: {err}", p.display()));
        if let Some(link) = e["link_hex"].as_str() {
            assert!(m.file_type().is_symlink(), "{}", p.display());
            assert_eq!(fs::read_link(&p).expect("link").as_os_str().as_bytes(), unhex(link).as_slice());
            continue;
        }
        assert_eq!(u64::from(m.mode() & 0o7777), e["mode"].as_u64().expect("mode"), "{}", p.display());
        if e["dir"].as_bool() == Some(true) {
            assert!(m.is_dir());
            continue;
        }
        assert_eq!(m.mtime(), e["mtime"].as_i64().expect("mtime"), "{}", p.display());
        assert_eq!(sha256(&fs::read(&p).expect("read")), e["sha256"].as_str().expect("sha"), "{}", p.display());
    }
}

#[test]
fn every_golden_repository_still_reads_restores_checks_and_accepts_backups() {
    let mut versions: Vec<PathBuf> = fs::read_dir(fixtures()).expect("fixtures").map(|e| e.expect("e").path()).collect();
    versions.sort();
    assert!(!versions.is_empty(), "no golden repositories in {}", fixtures().display());
    for v in versions {
        let manifest: serde_json::Value = serde_json::from_slice(&fs::read(v.join("manifest.json")).expect("manifest")).expect("json");
        let password = manifest["password"].as_str().expect("password");
        let dir = tempfile::tempdir().expect("tmp");
        let repo_path = dir.path().join("repo");
        copy_dir(&v.join("repo"), &repo_path);
        let open = || Repository::open(backend::open(repo_path.to_str().expect("utf8")).expect("backend"), password.as_bytes());
        assert!(matches!(
            Repository::open(backend::open(repo_path.to_str().expect("utf8")).expect("b"), b"not it"),
            Err(BackupError::WrongPassword)
        ));

        let mut repo = open().expect("open");
        let (snaps, damaged) = repo.snapshots().expect("snapshots");
        assert!(damaged.is_empty());
        assert_eq!(snaps.len() as u64, manifest["snapshots"].as_u64().expect("count"), "{}", v.display());
        let latest = &snaps.last().expect("latest").1;
        assert_eq!(serde_json::json!(latest.tags), manifest["latest_tags"]);

        let c = check::run(&mut repo, check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
        assert!(c.ok(), "{}: {:?}", v.display(), c.problems);
        let target = dir.path().join("restored");
        let r = restore::run(&repo, &restore::RestoreOptions { snapshot: "latest".into(), target: target.clone(), ..Default::default() })
            .expect("restore");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        verify_restore(&target, &manifest);

        // This version can add to an old repository.
        let more = dir.path().join("more");
        fs::create_dir_all(&more).expect("mkdir");
        fs::write(more.join("new.txt"), b"added by a newer Hearth").expect("write");
        backup::run(open().expect("open"), &backup::BackupOptions { paths: vec![more], ..Default::default() }).expect("backup");
        let c = check::run(&mut open().expect("open"), check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
        assert!(c.ok(), "{:?}", c.problems);

        // Damage the pack holding the photo: check names it and the files (in both snapshots);
        // everything else still restores.
        let mut repo = open().expect("open");
        let photo = ls::run(&repo, &snaps[0].0, Some(Path::new("family/Photos/2026/IMG_0001.jpg"))).expect("ls");
        let blob = photo[0].node.content.as_ref().expect("content")[0];
        let loc = repo.index.get(&blob).expect("indexed");
        let pack = hex32(&loc.pack);
        let pack_path = repo_path.join("data").join(&pack[..2]).join(&pack);
        let mut bytes = fs::read(&pack_path).expect("pack");
        bytes[loc.offset as usize + 40] ^= 0x55;
        fs::write(&pack_path, &bytes).expect("write");
        let c = check::run(&mut repo, check::CheckOptions { read_data: true, ..Default::default() }).expect("check");
        assert!(c.problems.iter().any(|p| p.contains(&pack)), "{:?}", c.problems);
        assert_eq!(c.affected.len(), 2, "{:?}", c.affected);
        for paths in c.affected.values() {
            assert!(
                paths.iter().any(|p| p.ends_with("IMG_0001.jpg")) && paths.iter().any(|p| p.ends_with("IMG_0001 copy.jpg")),
                "{paths:?}"
            );
            assert!(!paths.iter().any(|p| p.ends_with("notes.txt")), "{paths:?}");
        }
        let target = dir.path().join("restored-damaged");
        let r =
            restore::run(&repo, &restore::RestoreOptions { snapshot: snaps[1].0.clone(), target: target.clone(), ..Default::default() })
                .expect("restore");
        assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
        assert!(fs::read(target.join("family/notes.txt")).expect("notes").ends_with(b"a second snapshot adds this line\n"));
    }
}
