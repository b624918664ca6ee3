//! Backup repositories on network storage, through the `hearth backup` CLI, against real servers
//! the test starts: restic's REST protocol served by Debian's rclone (`rclone serve restic`),
//! and S3 served by moto's server (PyPI `moto[server]`, installed by scripts/test into
//! target/test-venv). Also: transient errors are retried, permanent ones fail at once.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hearth_backup::backend::rest::Rest;
use hearth_backup::backend::retry::RetryPolicy;
use hearth_backup::backend::{Backend, FileType};
use hearth_tests::daemon;
use hearth_tests::data::noise;
use hearth_tests::servers::{moto_server, rclone_restic};

const S3_ENV: &[(&str, &str)] = &[("AWS_ACCESS_KEY_ID", "hearth-test"), ("AWS_SECRET_ACCESS_KEY", "hearth-secret")];

fn cli(repo: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(daemon::hearth());
    cmd.arg("backup").args(args).arg("--repo").arg(repo).env("HEARTH_BACKUP_PASSWORD", "family photos");
    // Network repositories are cached locally; keep the test's cache out of $HOME.
    cmd.env("HEARTH_BACKUP_CACHE", std::env::temp_dir().join(format!("hearth-test-cache-{}", std::process::id())));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).output().expect("run hearth")
}

fn ok(out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "hearth failed: {text}");
    text
}

fn same_tree(a: &Path, b: &Path) {
    let names = |p: &Path| {
        let mut v: Vec<_> = fs::read_dir(p).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        v.sort();
        v
    };
    assert_eq!(names(a), names(b), "{} vs {}", a.display(), b.display());
    for n in names(a) {
        let (pa, pb) = (a.join(&n), b.join(&n));
        if pa.is_dir() {
            same_tree(&pa, &pb);
        } else {
            assert!(fs::read(&pa).expect("read") == fs::read(&pb).expect("read"), "{} differs", pa.display());
        }
    }
}

/// init, two backups, restore, check --read-data, forget + prune, check again, key add, stats.
fn round_trip(repo: &str, env: &[(&str, &str)], scratch: &Path) {
    let src = scratch.join("photos");
    fs::create_dir_all(src.join("2026/11")).expect("mkdir");
    fs::write(src.join("2026/11/IMG_0001.jpg"), noise(3_000_000, 1)).expect("write");
    fs::write(src.join("2026/11/IMG_0002.jpg"), noise(1_500_000, 2)).expect("write");
    fs::write(src.join("notes.txt"), b"grandma's birthday\n".repeat(500)).expect("write");
    let out = ok(&cli(repo, env, &["init"]));
    assert!(out.contains("created repository"), "{out}");
    let again = cli(repo, env, &["init"]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"));
    ok(&cli(repo, env, &["run", src.to_str().expect("utf8")]));
    fs::remove_file(src.join("2026/11/IMG_0002.jpg")).expect("rm");
    fs::write(src.join("2026/11/IMG_0003.jpg"), noise(700_000, 3)).expect("write");
    let second = ok(&cli(repo, env, &["run", src.to_str().expect("utf8")]));
    assert!(second.contains("2 unchanged"), "{second}");
    let snaps = ok(&cli(repo, env, &["snapshots"]));
    assert_eq!(snaps.lines().filter(|l| l.contains("/photos")).count(), 2, "{snaps}");

    let target = scratch.join("restored");
    ok(&cli(repo, env, &["restore", "latest", "--target", target.to_str().expect("utf8")]));
    same_tree(&src, &target.join("photos"));
    let check = ok(&cli(repo, env, &["check", "--read-data"]));
    assert!(check.contains("no problems found"), "{check}");

    let forget = ok(&cli(repo, env, &["forget", "--keep-last", "1", "--prune"]));
    assert!(forget.contains("removed 1 snapshots") && forget.contains("unused packs"), "{forget}");
    let check = ok(&cli(repo, env, &["check", "--read-data"]));
    assert!(check.contains("no problems found") && check.contains("checked 1 snapshots"), "{check}");
    let target = scratch.join("restored-after-prune");
    ok(&cli(repo, env, &["restore", "latest", "--target", target.to_str().expect("utf8")]));
    same_tree(&src, &target.join("photos"));

    let mut add_env = env.to_vec();
    add_env.push(("HEARTH_BACKUP_NEW_PASSWORD", "second password"));
    ok(&cli(repo, &add_env, &["key", "add"]));
    assert_eq!(ok(&cli(repo, env, &["key", "list"])).lines().count(), 3, "header and two keys");
    let stats = ok(&cli(repo, env, &["stats"]));
    assert!(stats.contains("snapshots:        1"), "{stats}");
}

#[test]
fn rest_server_rclone_serve_restic() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = rclone_restic(&dir.path().join("served"), daemon::free_port(), None);
    let repo = format!("rest:http://127.0.0.1:{}/family", server.port);
    round_trip(&repo, &[], dir.path());
    // rclone stores what we sent as restic's layout: data/XX/NAME.
    let packs = fs::read_dir(dir.path().join("served/family/data")).expect("data").count();
    assert!(packs > 0);
}

#[test]
fn s3_moto_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = moto_server();
    let repo = format!("s3:http://127.0.0.1:{}/hearth-backups/the-family", server.port);
    round_trip(&repo, S3_ENV, dir.path());
    // Missing credentials: a clear error, no request.
    let out = cli(&repo, &[], &["snapshots"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn wrong_server_password_fails_at_once_and_right_one_works() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = rclone_restic(&dir.path().join("served"), daemon::free_port(), Some(("anna", "s3cret")));
    let started = Instant::now();
    let out = cli(&format!("rest:http://anna:wrong@127.0.0.1:{}/r", server.port), &[], &["init"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success() && err.contains("401") && err.contains("user and password"), "{err}");
    // Permanent errors are not retried (retries would take about a minute).
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    ok(&cli(&format!("rest:http://anna:s3cret@127.0.0.1:{}/r", server.port), &[], &["init"]));
}

#[test]
fn transient_errors_are_retried_until_the_server_is_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = daemon::free_port();
    let quick = RetryPolicy { attempts: 200, first_delay: Duration::from_millis(50), max_delay: Duration::from_millis(200) };
    let backend = Rest::new(&format!("http://127.0.0.1:{port}/late")).expect("url").with_retry(quick);
    // The server comes up only after the first attempts were refused.
    let root = dir.path().join("served");
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        rclone_restic(&root, port, None)
    });
    backend.create().expect("create succeeds once the server is up");
    let _server = starter.join().expect("server thread");
    assert!(!backend.exists().expect("exists"));
    backend.write(FileType::Key, &"ab".repeat(32), b"{}").expect("write");
    assert_eq!(backend.list(FileType::Key).expect("list"), vec!["ab".repeat(32)]);
    assert_eq!(backend.read_range(FileType::Key, &"ab".repeat(32), 1, 1).expect("range"), b"}");
    assert_eq!(backend.size(FileType::Key, &"ab".repeat(32)).expect("size"), 2);
    backend.remove(FileType::Key, &"ab".repeat(32)).expect("remove");
    assert!(backend.list(FileType::Key).expect("list").is_empty());
}
