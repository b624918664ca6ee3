//! The family's files over WebDAV, with clients nobody here wrote: Debian's litmus (every suite:
//! basic, copymove, props, locks, http; it must pass every test, as Apache's mod_dav does,
//! 104 of 104) and Debian's rclone (a `:webdav:` remote copying and syncing a tree both ways,
//! byte for byte), against hearthd, with an app password as the apps log in.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http;

fn app_password(d: &daemon::Daemon, cookie: &str) -> String {
    let body = serde_json::json!({"name": "files"}).to_string();
    let r = http::request(d.http, "POST", "/api/v1/me/tokens", &[format!("Cookie: {cookie}")], Some(&body)).expect("token");
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["secret"].as_str().expect("secret").to_string()
}

/// litmus's summary lines: `(suite, run, passed, failed)`.
fn summaries(out: &str) -> Vec<(String, u32, u32, u32)> {
    out.lines()
        .filter_map(|l| {
            // <- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%
            let rest = l.trim().strip_prefix("<- summary for `")?;
            let (suite, rest) = rest.split_once("': of ")?;
            let (run, rest) = rest.split_once(" tests run: ")?;
            let (passed, rest) = rest.split_once(" passed, ")?;
            let (failed, _) = rest.split_once(" failed")?;
            Some((suite.to_string(), run.parse().ok()?, passed.parse().ok()?, failed.parse().ok()?))
        })
        .collect()
}

#[test]
fn litmus_passes_every_test_of_every_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = app_password(&d, &cookie);
    for url in [format!("http://{}/dav/files/anna/", d.http), format!("http://{}/remote.php/dav/files/anna/", d.http)] {
        let out = Command::new("litmus")
            .args(["-k", &url, "anna", &token])
            .env("HOME", dir.path())
            .current_dir(dir.path())
            .output()
            .expect("litmus (scripts/test installs Debian's litmus)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        let found = summaries(&text);
        let suites: Vec<&str> = found.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(suites, ["basic", "copymove", "props", "locks", "http"], "litmus ran every suite:\n{text}");
        let failed: u32 = found.iter().map(|s| s.3).sum();
        let passed: u32 = found.iter().map(|s| s.2).sum();
        assert_eq!(failed, 0, "litmus failures at {url}:\n{text}\n{}", d.log_text());
        assert_eq!(passed, 104, "litmus passed every test at {url}:\n{text}");
        for w in text.lines().filter(|l| l.contains("WARNING")) {
            println!("litmus at {url}: {}", w.trim());
        }
    }
}

fn rclone(args: &[&str], config: &Path) -> String {
    let out =
        Command::new("rclone").arg("--config").arg(config).args(args).output().expect("rclone (scripts/test installs Debian's rclone)");
    assert!(out.status.success(), "rclone {args:?}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tree_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).expect("under").to_string_lossy().into_owned();
            if p.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &p, out);
            } else {
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn rclone_copies_and_syncs_a_tree_both_ways_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = app_password(&d, &cookie);
    let config = dir.path().join("rclone.conf");
    let obscured = Command::new("rclone").args(["obscure", &token]).output().expect("rclone obscure");
    let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    std::fs::write(
        &config,
        format!(
            "[box]\ntype = webdav\nurl = http://{}/remote.php/dav/files/anna\nvendor = nextcloud\nuser = anna\npass = {obscured}\n",
            d.http
        ),
    )
    .expect("config");

    // A family's folder: odd names, an empty file, a larger one, nesting.
    let local = dir.path().join("local");
    std::fs::create_dir_all(local.join("School/Année 2026/#1 & more")).expect("mkdir");
    std::fs::write(local.join("School/notes.txt"), "maths on monday\n").expect("write");
    std::fs::write(local.join("School/Année 2026/empty"), "").expect("write");
    std::fs::write(local.join("School/Année 2026/#1 & more/ünïcödé 😀.txt"), "x").expect("write");
    std::fs::write(local.join("School/100%.txt"), "percent").expect("write");
    let big: Vec<u8> = (0..12u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(local.join("School/scan.bin"), &big).expect("write");

    rclone(&["copy", local.to_str().expect("utf-8"), "box:Documents"], &config);
    let home = d.data.join("users/anna/files/Documents");
    assert_eq!(tree_of(&home), tree_of(&local), "what rclone copied up is on the box byte for byte");

    // Changes on both sides, then a sync down and a check.
    std::fs::write(local.join("School/notes.txt"), "maths on tuesday\n").expect("write");
    rclone(&["sync", local.to_str().expect("utf-8"), "box:Documents"], &config);
    assert_eq!(std::fs::read(home.join("School/notes.txt")).expect("read"), b"maths on tuesday\n");
    std::fs::remove_file(local.join("School/100%.txt")).expect("rm");
    rclone(&["sync", local.to_str().expect("utf-8"), "box:Documents"], &config);
    assert!(!home.join("School/100%.txt").exists(), "sync removed what the source no longer has");
    let back = dir.path().join("back");
    rclone(&["copy", "box:Documents", back.to_str().expect("utf-8")], &config);
    assert_eq!(tree_of(&back), tree_of(&local), "what rclone copied down is what went up");
    rclone(&["check", local.to_str().expect("utf-8"), "box:Documents"], &config);
    let listing = rclone(&["lsf", "-R", "box:"], &config);
    assert!(listing.contains("Documents/School/Année 2026/#1 & more/ünïcödé 😀.txt"), "{listing}");
}
