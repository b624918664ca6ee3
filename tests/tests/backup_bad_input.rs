//! `hearth backup` with bad input, as a user meets it: unreadable source files (the snapshot is
//! partial and says which), a full restore target, a wrong password, tampered and truncated
//! repository files. Needs root (a private tmpfs mount, running as another user), like CI.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use hearth_tests::daemon;
use hearth_tests::data::noise;

fn hearth(repo: &Path, args: &[&str]) -> Output {
    Command::new(daemon::hearth())
        .arg("backup")
        .args(args)
        .arg("--repo")
        .arg(repo)
        .env("HEARTH_BACKUP_PASSWORD", "pw")
        .stdin(Stdio::null())
        .output()
        .expect("run hearth")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn chown_nobody(p: &Path) {
    let st = Command::new("chown").args(["-R", "65534:65534"]).arg(p).status().expect("chown");
    assert!(st.success());
}

#[test]
fn unreadable_sources_make_a_partial_snapshot_that_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let (src, repo) = (dir.path().join("src"), dir.path().join("repo"));
    fs::create_dir_all(src.join("locked-folder")).expect("mkdir");
    fs::write(src.join("fine.txt"), b"readable").expect("write");
    fs::write(src.join("secret.txt"), b"not for nobody").expect("write");
    fs::write(src.join("locked-folder/inside.txt"), b"hidden").expect("write");
    fs::create_dir_all(&repo).expect("mkdir");
    chown_nobody(dir.path());
    fs::set_permissions(src.join("secret.txt"), fs::Permissions::from_mode(0o000)).expect("chmod");
    fs::set_permissions(src.join("locked-folder"), fs::Permissions::from_mode(0o000)).expect("chmod");
    // Root reads everything; run as nobody so the permissions bite.
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(daemon::hearth())
            .arg("backup")
            .args(args)
            .arg("--repo")
            .arg(repo.join("r"))
            .env("HEARTH_BACKUP_PASSWORD", "pw")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("setpriv (util-linux)")
    };
    let o = as_nobody(&["init"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = as_nobody(&["run", src.to_str().expect("utf8")]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "exit 3 means partial: {out}");
    assert!(out.contains("secret.txt") && out.contains("locked-folder") && out.contains("ermission denied"), "{out}");
    let snaps = text(&as_nobody(&["snapshots"]));
    assert!(snaps.contains("(partial)"), "{snaps}");
    let target = dir.path().join("restored");
    let o = as_nobody(&["restore", "latest", "--target", target.to_str().expect("utf8")]);
    assert_eq!(fs::read(target.join("src/fine.txt")).expect("restored"), b"readable", "{}", text(&o));
    assert!(!target.join("src/secret.txt").exists());
}

#[test]
fn a_full_target_disk_fails_only_the_files_that_do_not_fit_and_leaves_no_debris() {
    let dir = tempfile::tempdir().expect("tmp");
    let (src, repo) = (dir.path().join("src"), dir.path().join("repo"));
    fs::create_dir_all(src.join("small")).expect("mkdir");
    fs::write(src.join("video.mp4"), noise(6_000_000, 1)).expect("write");
    for i in 0..20 {
        fs::write(src.join("small").join(format!("note{i}.txt")), format!("note {i}\n").repeat(100)).expect("write");
    }
    assert!(hearth(&repo, &["init"]).status.success());
    assert!(hearth(&repo, &["run", src.to_str().expect("utf8")]).status.success());
    let mnt = dir.path().join("mnt");
    fs::create_dir_all(&mnt).expect("mkdir");
    let script = format!(
        "mount -t tmpfs -o size=3m tmpfs {m} && {bin} backup restore latest --repo {r} --target {m}/out; echo \"rc=$?\"; find {m}/out -type f | sort",
        m = mnt.display(),
        bin = daemon::hearth().display(),
        r = repo.display()
    );
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("HEARTH_BACKUP_PASSWORD", "pw")
        .output()
        .expect("unshare");
    let out = text(&o);
    assert!(out.contains("rc=3"), "partial restore exits 3: {out}");
    assert!(out.contains("video.mp4") && out.contains("No space left"), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains("/out/src/small/note")).count(), 20, "the small files fit: {out}");
    assert!(!out.lines().any(|l| l.ends_with("/out/src/video.mp4")), "no half file under the real name: {out}");
    assert!(!out.contains(".hearth-restore"), "no temporary files left: {out}");
}

#[test]
fn wrong_password_and_tampered_files_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let (src, repo) = (dir.path().join("src"), dir.path().join("repo"));
    fs::create_dir_all(src.join("a")).expect("mkdir");
    fs::create_dir_all(src.join("b")).expect("mkdir");
    fs::write(src.join("a/one.bin"), noise(900_000, 2)).expect("write");
    fs::write(src.join("b/two.txt"), b"two\n".repeat(1000)).expect("write");
    assert!(hearth(&repo, &["init"]).status.success());
    assert!(hearth(&repo, &["run", src.to_str().expect("utf8")]).status.success());

    let o = Command::new(daemon::hearth())
        .args(["backup", "run", src.to_str().expect("utf8"), "--repo"])
        .arg(&repo)
        .env("HEARTH_BACKUP_PASSWORD", "not it")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("wrong password"), "{}", text(&o));
    assert_eq!(fs::read_dir(repo.join("locks")).expect("locks").count(), 0, "nothing written with a wrong password");
    assert_eq!(fs::read_dir(repo.join("snapshots")).expect("snapshots").count(), 1);

    // A truncated snapshot: check names it; the other commands still work.
    assert!(hearth(&repo, &["run", src.to_str().expect("utf8"), "--tag", "second"]).status.success());
    let snap = fs::read_dir(repo.join("snapshots")).expect("ls").map(|e| e.expect("e").path()).next().expect("one");
    let bytes = fs::read(&snap).expect("read");
    fs::write(&snap, &bytes[..bytes.len() / 2]).expect("truncate");
    let o = hearth(&repo, &["check"]);
    let name = snap.file_name().expect("name").to_string_lossy().to_string();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains(&format!("snapshots/{name} is damaged")), "{}", text(&o));
    assert!(hearth(&repo, &["snapshots"]).status.success());
    fs::remove_file(&snap).expect("rm");

    // A tampered index file: check names it; the packs describe themselves, so nothing is lost,
    // and prune writes a new index in its place.
    let index = fs::read_dir(repo.join("index")).expect("ls").map(|e| e.expect("e").path()).next().expect("one");
    let mut bytes = fs::read(&index).expect("read");
    let n = bytes.len() / 2;
    bytes[n] ^= 0x20;
    fs::write(&index, &bytes).expect("write");
    let o = hearth(&repo, &["check"]);
    let out = text(&o);
    let iname = index.file_name().expect("name").to_string_lossy().to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("index/{iname} is damaged")), "{out}");
    assert!(out.contains("describe themselves") && !out.contains("cannot restore"), "{out}");
    let o = hearth(&repo, &["prune"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = hearth(&repo, &["check", "--read-data"]);
    assert!(o.status.success() && text(&o).contains("no problems found"), "{}", text(&o));
    let target = dir.path().join("restored");
    let o = hearth(&repo, &["restore", "latest", "--target", target.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(target.join("src/a/one.bin")).expect("restored"), noise(900_000, 2));
}
