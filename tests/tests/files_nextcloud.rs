//! The family's files with the Nextcloud clients, as nobody here wrote them: Debian's
//! `nextcloudcmd` (Nextcloud's own sync client) syncing a tree both ways with an app password,
//! a 200 MiB file going up in chunks and surviving the box going away mid-upload; and a replay
//! of the Android app's login and auto-upload, written from its source (docs/files.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http;

fn nextcloudcmd(home: &Path, local: &Path, url: &str, token: &str, extra: &[&str]) -> Output {
    Command::new("nextcloudcmd")
        .args(["-u", "anna", "-p", token, "--non-interactive", "--max-sync-retries", "1"])
        .args(extra)
        .arg(local)
        .arg(url)
        .env("HOME", home)
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("nextcloudcmd (scripts/test installs Debian's nextcloud-desktop-cmd)")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// Files below `root` (folders end in `/`), leaving out the sync client's own journal files.
fn tree_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).expect("under").to_string_lossy().into_owned();
            if rel.starts_with(".sync_") || rel.starts_with("._sync_") || rel == ".nextcloudsync.log" {
                continue;
            }
            if p.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &p, out);
            } else {
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn basic(token: &str) -> [String; 1] {
    [format!("Authorization: Basic {}", hearth_backup::crypto::base64_encode(format!("anna:{token}").as_bytes()))]
}

#[test]
fn nextcloudcmd_syncs_a_tree_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "laptop");
    let url = format!("http://{}", d.http);
    // A family's folder: odd names, an empty file, nesting, and a file large enough to go up in
    // chunks (nextcloudcmd chunks above 10 MB).
    let local = dir.path().join("local");
    std::fs::create_dir_all(local.join("School/Année 2026/#1 & more")).expect("mkdir");
    std::fs::write(local.join("School/notes.txt"), "maths on monday\n").expect("write");
    std::fs::write(local.join("School/Année 2026/empty"), "").expect("write");
    std::fs::write(local.join("School/Année 2026/#1 & more/ünïcödé 😀.txt"), "x").expect("write");
    std::fs::write(local.join("School/100%.txt"), "percent").expect("write");
    std::fs::write(local.join("scan.bin"), pseudo_random(25 << 20, 7)).expect("write");

    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    assert!(out.status.success(), "nextcloudcmd up:\n{}\n{}", text(&out), d.log_text());
    assert!(text(&out).contains("/remote.php/dav/uploads/anna/"), "the large file went up in chunks:\n{}", text(&out));
    let home = d.data.join("users/anna/files");
    assert_eq!(tree_of(&home), tree_of(&local), "what nextcloudcmd sent is on the box byte for byte\n{}", text(&out));

    // Another device changes the box (a new file in a folder, one replaced); the laptop edits,
    // deletes and renames. The next sync brings both sides together.
    let auth = basic(&token);
    let put = |path: &str, body: &[u8]| {
        let r = http::request_bytes(d.http, "PUT", path, &auth, Some(("application/octet-stream", body))).expect("PUT");
        assert!(r.status == 201 || r.status == 204, "PUT {path}: {} {}", r.status, r.body);
    };
    put("/remote.php/dav/files/anna/School/Ann%C3%A9e%202026/from-the-phone.txt", b"written elsewhere");
    put("/remote.php/dav/files/anna/School/Ann%C3%A9e%202026/empty", b"no longer empty");
    std::fs::write(local.join("School/notes.txt"), "maths on tuesday\n").expect("write");
    std::fs::remove_file(local.join("School/100%.txt")).expect("rm");
    std::fs::rename(local.join("School/Année 2026/#1 & more"), local.join("School/Année 2026/renamed")).expect("rename");
    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    assert!(out.status.success(), "nextcloudcmd both ways:\n{}\n{}", text(&out), d.log_text());
    assert_eq!(std::fs::read(local.join("School/Année 2026/from-the-phone.txt")).expect("came down"), b"written elsewhere");
    assert_eq!(std::fs::read(local.join("School/Année 2026/empty")).expect("came down"), b"no longer empty");
    assert!(!home.join("School/100%.txt").exists(), "the deletion went up");
    assert!(home.join("School/Année 2026/renamed/ünïcödé 😀.txt").exists(), "the rename went up");
    assert_eq!(tree_of(&home), tree_of(&local), "both sides agree after the second sync\n{}", text(&out));
    // A third run finds nothing to do: the box's ETags and file ids are stable.
    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    assert!(out.status.success(), "nextcloudcmd again:\n{}", text(&out));
    let t = text(&out);
    assert!(!t.contains("PUT of") && !t.contains("GET of") && !t.contains("MKCOL of"), "nothing moved the third time:\n{t}");
}

/// A 200 MiB file goes up in chunks; the box goes away (killed) once the first chunk is in.
/// After it comes back, the next sync resumes the upload, reusing the chunk the box kept, and
/// the file arrives whole. Nothing here waits for time: the kill follows the chunk's arrival,
/// and the first run's upload is slowed so that its remaining chunks are still on their way.
#[test]
fn a_chunked_upload_cut_by_the_box_going_away_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "laptop");
    let url = format!("http://{}", d.http);
    let (http_addr, https_addr) = (d.http, d.https);
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).expect("mkdir");
    let video = pseudo_random(200 << 20, 11);
    std::fs::write(local.join("holiday.mp4"), &video).expect("write");

    let (home, local2, url2, token2) = (dir.path().to_path_buf(), local.clone(), url.clone(), token.clone());
    let first = std::thread::spawn(move || nextcloudcmd(&home, &local2, &url2, &token2, &["--uplimit", "4000"]));
    let uploads = data.join("users/anna/.dav-uploads");
    let chunk_in = |_: ()| -> Option<PathBuf> {
        std::fs::read_dir(&uploads).ok()?.flatten().find_map(|u| std::fs::read_dir(u.path()).ok()?.flatten().next().map(|c| c.path()))
    };
    let mut chunk = None;
    for _ in 0..6000 {
        chunk = chunk_in(());
        if chunk.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let chunk = chunk.unwrap_or_else(|| panic!("no chunk arrived:\n{}", d.log_text()));
    d.kill();
    let out = first.join().expect("first run");
    assert!(!out.status.success(), "the first run failed with the box gone:\n{}", text(&out));
    assert!(chunk.exists(), "the box kept the chunk it had");

    let mut d = daemon::start_with(&data, http_addr, https_addr, &[]);
    d.wait_healthy(Duration::from_secs(20));
    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    let t = text(&out);
    assert!(out.status.success(), "the second run:\n{t}\n{}", d.log_text());
    assert!(t.contains("Resuming"), "nextcloudcmd resumed the upload:\n{t}");
    let chunk_name = chunk.file_name().expect("name").to_string_lossy().into_owned();
    assert!(!t.contains(&format!("/{chunk_name}\" FINISHED")), "the kept chunk was not sent again:\n{t}");
    let there = std::fs::read(data.join("users/anna/files/holiday.mp4")).expect("arrived");
    assert!(there == video, "the file arrived whole ({} of {} bytes)", there.len(), video.len());
    let left = std::fs::read_dir(&uploads).map(|r| r.count()).unwrap_or(0);
    assert_eq!(left, 0, "the finished upload's chunks are gone");
}
