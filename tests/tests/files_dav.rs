//! The family's files over WebDAV, with clients nobody here wrote: Debian's litmus (every suite:
//! basic, copymove, props, locks, http; it must pass every test, as Apache's mod_dav does,
//! 104 of 104) and Debian's rclone (a `:webdav:` remote copying and syncing a tree both ways,
//! byte for byte), against hearthd, with an app password as the apps log in.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http;

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
    let token = d.app_password(&cookie, "files");
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
    hearth_tests::data::tree(root, |_| false)
}

#[test]
fn rclone_copies_and_syncs_a_tree_both_ways_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "files");
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
    // rclone sends each file's modification time (X-OC-Mtime, as the Nextcloud apps do); the
    // box keeps it.
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).expect("mtime");
    let (there, here) = (mtime(&home.join("School/scan.bin")), mtime(&local.join("School/scan.bin")));
    let apart = there.duration_since(here).or_else(|e| Ok::<_, ()>(e.duration())).expect("diff");
    assert!(apart < Duration::from_secs(1), "the box kept the file's time: {there:?} against {here:?}");

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

/// The disk fills up in the middle of replacing a file over WebDAV: the client gets 507, the file
/// it was replacing is still whole, no temporary is left, and the next upload works once space
/// is freed. hearthd runs on a 4 MiB tmpfs in its own mount namespace (the test runs as root).
#[test]
fn a_full_disk_mid_upload_keeps_the_old_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mnt = dir.path().join("small");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    let data = mnt.join("d");
    let http_addr = format!("127.0.0.1:{}", daemon::free_port());
    let log = dir.path().join("hearthd.log");
    let script = format!(
        "mount -t tmpfs -o size=4m tmpfs {m} && exec {bin} --data {d} --listen {http_addr} --https-listen off --sync-listen off --no-mdns --no-local-discovery 2>{log}",
        m = mnt.display(),
        bin = daemon::hearthd().display(),
        d = data.display(),
        log = log.display()
    );
    let mut child = Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).spawn().expect("unshare");
    let addr: std::net::SocketAddr = http_addr.parse().expect("addr");
    let up = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        http::get(addr, "/api/health").is_ok_and(|r| r.status == 200)
    });
    assert!(up, "hearthd on tmpfs did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
    let claim =
        http::request(addr, "POST", "/api/v1/setup/claim", &[], Some(r#"{"name":"anna","password":"anna-long-password"}"#)).expect("claim");
    assert_eq!(claim.status, 201, "{}", claim.body);
    let body = serde_json::json!({"name": "files"}).to_string();
    let r = http::request(addr, "POST", "/api/v1/me/tokens", &[format!("Cookie: {}", claim.cookie().expect("cookie"))], Some(&body))
        .expect("token");
    let token = r.json()["secret"].as_str().expect("secret").to_string();
    let auth = [http::basic("anna", &token)];
    let put = |bytes: &[u8]| {
        http::request_bytes(addr, "PUT", "/dav/files/anna/report.pdf", &auth, Some(("application/pdf", bytes))).expect("PUT")
    };
    assert_eq!(put(b"the old report").status, 201);
    // 6 MiB on a 4 MiB disk. Announced, it is refused before its body is read (curl waits for
    // `100 Continue`, as the apps do, and gets the 507 instead); sent in chunks with no size
    // said, it is taken until the disk fills mid-file, and that is a 507 too.
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 6 << 20]).expect("big");
    let curl_put = |extra: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", &auth[0]])
            .args(extra)
            .arg("--data-binary")
            .arg(format!("@{}", big.display()))
            .arg(format!("http://{addr}/dav/files/anna/report.pdf"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl_put(&["-H", "Expect: 100-continue"]), "507", "refused before the body");
    assert_eq!(curl_put(&["-H", "Transfer-Encoding: chunked"]), "507", "a full disk mid-file is 507");
    let r = http::request(addr, "GET", "/dav/files/anna/report.pdf", &auth, None).expect("GET");
    assert_eq!((r.status, r.body.as_str()), (200, "the old report"), "the old file is whole");
    let pid = child.id().to_string();
    let scratch =
        Command::new("nsenter").args(["-t", &pid, "-m", "ls", "-A"]).arg(data.join("users/anna/.dav-scratch")).output().expect("ls");
    assert!(scratch.status.success() && scratch.stdout.is_empty(), "no temporary is left: {}", String::from_utf8_lossy(&scratch.stdout));
    assert_eq!(put(b"a new report that fits").status, 204, "uploads work again once the big one is gone");
    hearth_platform::process::terminate(child.id());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

/// The owner on the box helps a member: `hearth files versions|trash|restore` list what a phone
/// replaced and deleted and put it back.
#[test]
fn the_cli_puts_back_a_members_replaced_and_deleted_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "phone");
    let auth = [http::basic("anna", &token)];
    let put = |path: &str, body: &[u8], mtime: u64| {
        let mut h = auth.to_vec();
        h.push(format!("X-OC-Mtime: {mtime}"));
        let r = http::request_bytes(d.http, "PUT", path, &h, Some(("text/plain", body))).expect("PUT");
        assert!(r.status == 201 || r.status == 204, "{path}: {}", r.body);
    };
    put("/dav/files/anna/report.txt", b"the good one", 1_700_000_000);
    put("/dav/files/anna/report.txt", b"overwritten by mistake", 1_700_000_500);
    put("/dav/files/anna/Ann%C3%A9e%20scolaire.txt", b"deleted by mistake", 1_700_000_000);
    assert_eq!(http::request(d.http, "DELETE", "/dav/files/anna/Ann%C3%A9e%20scolaire.txt", &auth, None).expect("DELETE").status, 204);

    let versions = d.json(&["files", "versions", "anna", "report.txt"]);
    assert_eq!(versions["versions"][0]["version"], 1_700_000_000u64, "{versions}");
    let out = d.cli(&["files", "restore", "anna", "--path", "report.txt", "--version", "1700000000"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(d.data.join("users/anna/files/report.txt")).expect("back"), b"the good one");

    let trash = d.json(&["files", "trash", "anna"]);
    assert_eq!(trash["items"][0]["path"], "Année scolaire.txt", "{trash}");
    let id = trash["items"][0]["id"].as_i64().expect("id").to_string();
    let out = d.cli(&["files", "restore", "anna", "--trash", &id], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Back at Année scolaire.txt"));
    assert_eq!(std::fs::read(d.data.join("users/anna/files/Année scolaire.txt")).expect("back"), b"deleted by mistake");
    let out = d.cli(&["files", "trash", "nobody"], "");
    assert!(!out.status.success(), "an unknown member is an error");
}
