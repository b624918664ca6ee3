//! A laptop's stock restic (Debian's 0.14) backing up to hearthd over restic's REST protocol at
//! `/restic/<user>/<repo>/`: init, two backups, snapshots, restore byte for byte, check with
//! all data read, forget with prune; an append-only app password that adds backups but cannot
//! delete one; another user's repositories closed; a wrong password refused; a quota; and one
//! Hearth backing up to another through the same endpoints.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http;

fn restic(repo: &str, args: &[&str], cache: &Path) -> Output {
    Command::new("restic")
        .args(["-r", repo, "--cache-dir"])
        .arg(cache)
        .args(args)
        .env("RESTIC_PASSWORD", "laptop-repository-password")
        .output()
        .expect("restic (scripts/test installs Debian's restic)")
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "restic {what}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn snapshot_count(repo: &str, cache: &Path) -> usize {
    let v: serde_json::Value = serde_json::from_str(&ok(restic(repo, &["snapshots", "--json"], cache), "snapshots")).expect("json");
    v.as_array().map(Vec::len).unwrap_or(0)
}

fn app_password(d: &daemon::Daemon, cookie: &str, name: &str, scope: &str) -> String {
    let body = serde_json::json!({"name": name, "scope": scope}).to_string();
    let r = http::request(d.http, "POST", "/api/v1/me/tokens", &[format!("Cookie: {cookie}")], Some(&body)).expect("token");
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["secret"].as_str().expect("secret").to_string()
}

#[test]
fn restic_backs_up_to_the_box_and_append_only_passwords_cannot_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let anna = d.claim("anna", "anna-long-password");
    let r = http::request(
        d.http,
        "POST",
        "/api/v1/users",
        &[format!("Cookie: {anna}")],
        Some(r#"{"name": "bob", "password": "bob-long-password"}"#),
    )
    .expect("bob");
    assert_eq!(r.status, 201, "{}", r.body);
    let cache = dir.path().join("restic-cache");

    // A laptop's files: small and large, an empty one, a name with spaces and accents.
    let laptop = dir.path().join("laptop");
    std::fs::create_dir_all(laptop.join("Documents/Reçus 2026")).expect("mkdir");
    std::fs::write(laptop.join("Documents/notes.txt"), "shopping: eggs\n").expect("write");
    std::fs::write(laptop.join("Documents/Reçus 2026/empty"), "").expect("write");
    let big: Vec<u8> = (0..24u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(laptop.join("Documents/video.bin"), &big).expect("write");
    let laptop_s = laptop.to_str().expect("utf-8 path");

    // The account's own password, in the URL as restic takes it.
    let repo = format!("rest:http://anna:anna-long-password@{}/restic/anna/laptop", d.http);
    ok(restic(&repo, &["init"], &cache), "init");
    ok(restic(&repo, &["backup", "--host", "laptop", laptop_s], &cache), "backup");
    std::fs::write(laptop.join("Documents/notes.txt"), "shopping: eggs, milk\n").expect("write");
    ok(restic(&repo, &["backup", "--host", "laptop", laptop_s], &cache), "second backup");
    assert_eq!(snapshot_count(&repo, &cache), 2);
    let restored = dir.path().join("restored");
    ok(restic(&repo, &["restore", "latest", "--target", restored.to_str().expect("utf-8 path")], &cache), "restore");
    let back = restored.join(laptop.strip_prefix("/").expect("absolute"));
    assert_eq!(std::fs::read(back.join("Documents/video.bin")).expect("video"), big);
    assert_eq!(std::fs::read_to_string(back.join("Documents/notes.txt")).expect("notes"), "shopping: eggs, milk\n");
    assert_eq!(std::fs::read(back.join("Documents/Reçus 2026/empty")).expect("empty").len(), 0);
    ok(restic(&repo, &["check", "--read-data"], &cache), "check --read-data");

    // An append-only app password: backups go in, nothing comes out.
    let guarded = app_password(&d, &anna, "laptop backups", "backup_append_only");
    let guarded_repo = format!("rest:http://anna:{guarded}@{}/restic/anna/laptop", d.http);
    std::fs::write(laptop.join("Documents/more.txt"), "more").expect("write");
    ok(restic(&guarded_repo, &["backup", "--host", "laptop", laptop_s], &cache), "append-only backup");
    assert_eq!(snapshot_count(&guarded_repo, &cache), 3);
    let refused = restic(&guarded_repo, &["forget", "--keep-last", "1", "--prune"], &cache);
    assert!(!refused.status.success(), "forget through an append-only password must fail");
    assert_eq!(snapshot_count(&repo, &cache), 3, "no snapshot was deleted");
    // The backup-only password opens nothing else.
    let r = http::request(d.http, "GET", "/api/v1/me", &[format!("Authorization: Bearer {guarded}")], None).expect("me");
    assert_eq!(r.status, 403, "{}", r.body);

    // With the account's password, forget and prune work, and the repository stays whole.
    ok(restic(&repo, &["forget", "--keep-last", "1", "--prune"], &cache), "forget --prune");
    assert_eq!(snapshot_count(&repo, &cache), 1);
    ok(restic(&repo, &["check"], &cache), "check after prune");

    // Bob cannot open Anna's repositories, even with his own right password; a wrong password
    // opens nothing.
    let bobs = format!("rest:http://bob:bob-long-password@{}/restic/anna/laptop", d.http);
    assert!(!restic(&bobs, &["snapshots"], &cache).status.success());
    let wrong = format!("rest:http://anna:not-her-password@{}/restic/anna/laptop", d.http);
    assert!(!restic(&wrong, &["snapshots"], &cache).status.success());
    let r = http::request(d.http, "GET", "/restic/anna/laptop/keys/", &[], None).expect("no credentials");
    assert_eq!(r.status, 401);
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// A quota (`backup.hosted_quota_mib`): a backup that would pass it fails with restic saying so,
/// what was stored before stays whole, and after forgetting and pruning there is room again.
#[test]
fn a_quota_stops_a_backup_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hearth.toml");
    std::fs::write(&config, "[backup]\nhosted_quota_mib = 20\n").expect("config");
    let mut d = start(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8")]);
    d.wait_healthy(Duration::from_secs(20));
    d.claim("anna", "anna-long-password");
    let cache = dir.path().join("restic-cache");
    let repo = format!("rest:http://anna:anna-long-password@{}/restic/anna/laptop", d.http);
    ok(restic(&repo, &["init"], &cache), "init");
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("mkdir");
    // Bytes that do not compress or repeat: what is sent is what is stored.
    let noise = hearth_tests::data::noise;
    std::fs::write(files.join("small.bin"), noise(4 << 20, 7)).expect("write");
    ok(restic(&repo, &["backup", files.to_str().expect("utf-8")], &cache), "a backup within the quota");
    std::fs::write(files.join("big.bin"), noise(30 << 20, 11)).expect("write");
    let refused = restic(&repo, &["backup", files.to_str().expect("utf-8")], &cache);
    assert!(!refused.status.success(), "a backup past the quota must fail");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("507") || said.contains("Insufficient Storage"), "restic says why: {said}");
    ok(restic(&repo, &["check", "--read-data"], &cache), "the repository stays whole");
    assert_eq!(snapshot_count(&repo, &cache), 1);

    // Forgetting and pruning gives the room back: the next backup (of a file that fits) goes in.
    let listed: serde_json::Value = serde_json::from_str(&ok(restic(&repo, &["snapshots", "--json"], &cache), "snapshots")).expect("json");
    let id = listed[0]["short_id"].as_str().expect("id").to_string();
    ok(restic(&repo, &["forget", &id, "--prune"], &cache), "forget --prune");
    std::fs::remove_file(files.join("small.bin")).expect("rm");
    std::fs::write(files.join("big.bin"), noise(16 << 20, 13)).expect("write");
    ok(restic(&repo, &["backup", files.to_str().expect("utf-8")], &cache), "a backup in the room pruning made");
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// One Hearth backs up to another: `hearth backup` (its own format, restic's REST protocol on the
/// wire) to a second box's `/restic/` with an append-only app password, restored byte for byte
/// and checked with all data read; the other box refuses to let it forget anything.
#[test]
fn a_hearth_backs_up_to_another_hearth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("other-box"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let anna = d.claim("anna", "anna-long-password");
    let guarded = app_password(&d, &anna, "the first box", "backup_append_only");
    let repo = format!("rest:http://anna:{guarded}@{}/restic/anna/first-box", d.http);
    let files = dir.path().join("photos");
    std::fs::create_dir_all(files.join("2026/07")).expect("mkdir");
    let photo: Vec<u8> = (0..3u32 << 20).map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8).collect();
    std::fs::write(files.join("2026/07/IMG_0001.jpg"), &photo).expect("write");
    std::fs::write(files.join("2026/07/empty.txt"), "").expect("write");
    let hearth = |args: &[&str]| -> Output {
        Command::new(daemon::hearth())
            .arg("backup")
            .args(args)
            .args(["--repo", &repo, "--cache-dir"])
            .arg(dir.path().join("hearth-cache"))
            .env("HEARTH_BACKUP_PASSWORD", "the-family-backup-password")
            .output()
            .expect("hearth")
    };
    let files_s = files.to_str().expect("utf-8");
    ok(hearth(&["init"]), "hearth backup init");
    ok(hearth(&["run", files_s]), "hearth backup run");
    let target = dir.path().join("restored");
    ok(hearth(&["restore", "latest", "--target", target.to_str().expect("utf-8")]), "hearth backup restore");
    let back = walk_find(&target, "IMG_0001.jpg").expect("the photo is restored");
    assert_eq!(std::fs::read(back).expect("read"), photo);
    ok(hearth(&["check", "--read-data"]), "hearth backup check --read-data");
    // A second snapshot, so keeping the last one has one to forget.
    std::fs::write(files.join("2026/07/later.txt"), "later").expect("write");
    ok(hearth(&["run", files_s]), "hearth backup run, again");
    let refused = hearth(&["forget", "--keep-last", "1", "--prune"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("append-only"), "an append-only password forgets nothing: {said}");
    let listed = ok(hearth(&["snapshots"]), "hearth backup snapshots");
    assert_eq!(listed.lines().filter(|l| l.ends_with("/photos")).count(), 2, "both snapshots are still there: {listed}");
    assert!(d.stop(Duration::from_secs(15)).success());
}

fn walk_find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = walk_find(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}
