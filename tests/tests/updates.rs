//! System updates through hearthd's API on a folder standing in for a box (`--update-layout`:
//! two slot files, the boot state, the trusted keys), with bundles built by the real CLI
//! (`hearth ota bundle`) and update channels served by RangeHTTPServer (Python's http.server with
//! Range) and by Python's own http.server (no Range). The boot side (U-Boot, power cuts) is in
//! image_qemu.rs and boot_selector.rs.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::daemon::{self, Daemon};
use hearth_tests::{http, poll, servers};
use serde_json::Value;

use hearth_tests::update_box::{box_folder, bundle, image, keygen, set_running};

fn start(dir: &Path, folder: &Path, config: &str) -> (Daemon, [String; 1]) {
    let conf = dir.join("hearth.toml");
    std::fs::write(&conf, config).expect("config");
    let mut d = daemon::start(
        &dir.join("data"),
        &["--board", "dev", "--config", conf.to_str().expect("utf8"), "--update-layout", folder.to_str().expect("utf8")],
    );
    d.wait_healthy(Duration::from_secs(30));
    let unclaimed = http::get(d.http, "/api/health").expect("health").json()["setup_required"] == true;
    let cookie = if unclaimed { d.claim("ada", "lovelace-1815") } else { login(d.http) };
    (d, [format!("Cookie: {cookie}")])
}

fn login(addr: SocketAddr) -> String {
    let r = http::request(addr, "POST", "/api/v1/auth/login", &[], Some(r#"{"name":"ada","password":"lovelace-1815"}"#)).expect("login");
    assert_eq!(r.status, 200, "{}", r.body);
    r.cookie().expect("cookie").to_string()
}

fn status(d: &Daemon, auth: &[String]) -> Value {
    let r = http::request(d.http, "GET", "/api/v1/updates", auth, None).expect("status");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Wait until the install is over; its record.
fn installed(d: &Daemon, auth: &[String]) -> Value {
    poll::until(Duration::from_secs(120), "the install ends", || {
        let s = status(d, auth);
        (s["install"]["state"] != "running" && !s["install"].is_null()).then(|| s["install"].clone())
    })
}

#[test]
fn a_channel_update_fetches_only_the_chunks_the_running_slot_lacks_and_commits_after_its_trial() {
    let dir = tempfile::tempdir().expect("dir");
    let (folder, key) = box_folder(dir.path(), "1.0.0");
    let channel = dir.path().join("channel");
    std::fs::create_dir_all(&channel).expect("channel");
    let new = image(300 * 1024);
    let full = bundle(dir.path(), &key, "1.1.0", "dev", &new, &channel.join("hearth-1.1.0.hup"));
    // Another bundle the index misnames (it says 1.2.0; the signed manifest says 1.1.1).
    bundle(dir.path(), &key, "1.1.1", "dev", &new, &channel.join("liar.hup"));
    std::fs::write(
        channel.join("index.json"),
        r#"{"format":1,"updates":[{"version":"1.1.0","boards":["dev"],"bundle":"hearth-1.1.0.hup","notes":"Faster thumbnails."},
                                  {"version":"0.9.0","boards":["dev"],"bundle":"old.hup"}]}"#,
    )
    .expect("index");
    std::fs::write(channel.join("liar.json"), r#"{"format":1,"updates":[{"version":"1.2.0","boards":["dev"],"bundle":"liar.hup"}]}"#)
        .expect("liar");
    std::fs::write(channel.join("broken.json"), r#"{"format":1,"updates":[{"version":"1.2"#).expect("broken");
    let web = servers::static_files(&channel, true);
    let base = format!("http://127.0.0.1:{}", web.port);

    let (d, auth) = start(dir.path(), &folder, "[update]\nhealth_grace_secs = 5\n");
    let s = status(&d, &auth);
    assert_eq!(s["available"], true, "{s}");
    assert_eq!(s["running"], serde_json::json!({"slot": "a", "version": "1.0.0"}), "{s}");

    // A malformed index, then one that points at a bundle of another version: refused.
    let put = |url: &str| {
        let r = http::request(d.http, "PUT", "/api/v1/updates/channel", &auth, Some(&format!(r#"{{"url":"{url}"}}"#))).expect("put");
        assert_eq!(r.status, 204, "{}", r.body);
    };
    put(&format!("{base}/broken.json"));
    let r = http::request(d.http, "POST", "/api/v1/updates/check", &auth, None).expect("check");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("index is not valid"), "{}", r.body);
    put(&format!("{base}/liar.json"));
    let r = http::request(d.http, "POST", "/api/v1/updates/install", &auth, None).expect("install");
    assert_eq!(r.status, 202, "{}", r.body);
    let rec = installed(&d, &auth);
    assert_eq!(rec["state"], "refused", "{rec}");
    assert!(rec["reason"].as_str().unwrap_or("").contains("offers version 1.2.0"), "{rec}");
    assert_eq!(status(&d, &auth)["next_boot"], "a");

    // The real channel: only the changed chunks come over the network.
    put(&format!("{base}/index.json"));
    let r = http::request(d.http, "POST", "/api/v1/updates/check", &auth, None).expect("check");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["offer"]["version"], "1.1.0", "{}", r.body);
    assert_eq!(r.json()["offer"]["notes"], "Faster thumbnails.");
    let r = http::request(d.http, "POST", "/api/v1/updates/install", &auth, None).expect("install");
    assert_eq!(r.status, 202, "{}", r.body);
    let rec = installed(&d, &auth);
    assert_eq!(rec["state"], "ready", "{rec}");
    let fetched = rec["fetched"].as_u64().expect("fetched");
    assert_eq!(rec["bundle_len"].as_u64(), Some(full));
    assert!(fetched * 5 < full, "fetched {fetched} of a {full}-byte bundle");
    println!("channel update: fetched {fetched} bytes of a {full}-byte bundle ({:.1} %)", fetched as f64 * 100.0 / full as f64);
    let b = std::fs::read(folder.join("slot-b.img")).expect("slot b");
    assert!(b == new, "slot b holds the new system byte for byte");
    let s = status(&d, &auth);
    assert_eq!((s["next_boot"].as_str(), s["other"]["version"].as_str()), (Some("b"), Some("1.1.0")), "{s}");
    assert!(s["history"].as_array().expect("history").iter().any(|e| e["kind"] == "installed" && e["version"] == "1.1.0"), "{s}");

    // "Reboot" into b: the system on trial passes its health gate and commits itself.
    d.stop(Duration::from_secs(30));
    set_running(&folder, "1.1.0", "b");
    let (d, auth) = start(dir.path(), &folder, "[update]\nhealth_grace_secs = 5\n");
    assert_eq!(status(&d, &auth)["on_trial"], true);
    let s = poll::until(Duration::from_secs(60), "the trial system commits itself", || {
        let s = status(&d, &auth);
        (s["on_trial"] == false).then_some(s)
    });
    assert_eq!(s["last"]["kind"], "committed", "{s}");
    assert_eq!(s["can_go_back"], true, "{s}");
    assert_eq!(s["next_boot"], "b");
}

#[test]
fn a_server_without_ranges_still_updates_and_uploads_are_checked_before_any_slot_changes() {
    let dir = tempfile::tempdir().expect("dir");
    let (folder, key) = box_folder(dir.path(), "1.0.0");
    let channel = dir.path().join("channel");
    std::fs::create_dir_all(&channel).expect("channel");
    let new = image(100 * 1024);
    let full = bundle(dir.path(), &key, "1.0.1", "dev", &new, &channel.join("b.hup"));
    std::fs::write(channel.join("index.json"), r#"{"format":1,"updates":[{"version":"1.0.1","boards":["dev"],"bundle":"b.hup"}]}"#)
        .expect("index");
    let web = servers::static_files(&channel, false);
    let (d, auth) = start(dir.path(), &folder, &format!("[update]\nchannel = \"http://127.0.0.1:{}/index.json\"\n", web.port));
    let r = http::request(d.http, "POST", "/api/v1/updates/install", &auth, None).expect("install");
    assert_eq!(r.status, 202, "{}", r.body);
    let rec = installed(&d, &auth);
    assert_eq!(rec["state"], "ready", "{rec}");
    assert!(rec["fetched"].as_u64().expect("fetched") < full, "a whole-file answer is read only up to what is needed: {rec}");

    // Uploads: a bundle signed by a key the box does not trust, a tampered one, one for another
    // board: each refused with its reason, and the box still boots slot a.
    let other = dir.path().join("other.key");
    keygen(&other);
    let upload = |path: &Path| {
        let bytes = std::fs::read(path).expect("bundle");
        let r = http::request_bytes(d.http, "POST", "/api/v1/updates/upload", &auth, Some(("application/octet-stream", &bytes)))
            .expect("upload");
        assert_eq!(r.status, 202, "{}", r.body);
        installed(&d, &auth)
    };
    let newer = image(5000);
    let foreign = dir.path().join("foreign.hup");
    bundle(dir.path(), &other, "1.0.2", "dev", &newer, &foreign);
    let rec = upload(&foreign);
    assert_eq!(rec["state"], "refused", "{rec}");
    assert!(rec["reason"].as_str().unwrap_or("").contains("not trust"), "{rec}");
    let good = dir.path().join("good.hup");
    bundle(dir.path(), &key, "1.0.2", "dev", &newer, &good);
    let mut bytes = std::fs::read(&good).expect("good");
    let n = bytes.len();
    bytes[n - 5000] ^= 0x10;
    let tampered = dir.path().join("tampered.hup");
    std::fs::write(&tampered, &bytes).expect("tampered");
    let rec = upload(&tampered);
    assert_eq!(rec["state"], "refused", "{rec}");
    assert!(rec["reason"].as_str().unwrap_or("").contains("altered or damaged"), "{rec}");
    let pi = dir.path().join("pi.hup");
    bundle(dir.path(), &key, "1.0.2", "rpi4", &newer, &pi);
    let rec = upload(&pi);
    assert!(rec["reason"].as_str().unwrap_or("").contains("rpi4"), "{rec}");
    let s = status(&d, &auth);
    // The tampered bundle's good chunks may have been written before its bad one was found; the
    // slot is then no longer on trial and holds no version: it never boots.
    assert_eq!(s["next_boot"], "a", "{s}");
    assert!(!d.data.join("system/update/upload.hup").exists(), "a refused upload is not kept");
    // A good one installs, here through the CLI.
    let out = d.cli(&["updates", "install", good.to_str().expect("utf8")], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("version 1.0.2 is written"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = d.cli(&["updates", "status"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("other:    1.0.2 (slot b)") && text.contains("next boot: slot b"), "{text}");
    // And a bundle at an address, not in any index: `hearth ota install URL`.
    bundle(dir.path(), &key, "1.0.3", "dev", &image(9000), &channel.join("direct.hup"));
    let out = d.cli(&["ota", "install", &format!("http://127.0.0.1:{}/direct.hup", web.port)], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("version 1.0.3 is written"), "{}", String::from_utf8_lossy(&out.stdout));
}

/// A TCP relay to `upstream` that cuts the first `cuts` connections whose answers pass `after`
/// bytes right there: a download that breaks off, as on a flaky line. Returns its port and how
/// many connections it cut.
fn flaky_relay(upstream: u16, cuts: usize, after: usize) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let done = Arc::new(AtomicUsize::new(0));
    let counter = done.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let (mut c2, mut s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
            });
            let done = counter.clone();
            std::thread::spawn(move || {
                let mut sent = 0usize;
                let mut buf = [0u8; 4096];
                while let Ok(got) = server.read(&mut buf) {
                    if got == 0 {
                        break;
                    }
                    let cut_here = sent + got > after && done.load(Ordering::SeqCst) < cuts;
                    let room = if cut_here { after - sent } else { got };
                    if client.write_all(&buf[..room]).is_err() {
                        break;
                    }
                    sent += room;
                    if cut_here {
                        done.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (port, done)
}

#[test]
fn a_download_that_breaks_off_resumes_and_a_full_disk_refuses_an_upload_with_what_is_free() {
    let dir = tempfile::tempdir().expect("dir");
    let (folder, key) = box_folder(dir.path(), "2.0.0");
    let channel = dir.path().join("channel");
    std::fs::create_dir_all(&channel).expect("channel");
    let new = image(1 << 20);
    bundle(dir.path(), &key, "2.0.1", "dev", &new, &channel.join("b.hup"));
    std::fs::write(channel.join("index.json"), r#"{"format":1,"updates":[{"version":"2.0.1","boards":["dev"],"bundle":"b.hup"}]}"#)
        .expect("index");
    let web = servers::static_files(&channel, true);
    // The index and the bundle's start are a few KB; twice, a connection breaks off in the chunks.
    let (relay, cut) = flaky_relay(web.port, 2, 200_000);

    // The data disk: a 48 MiB tmpfs, too small for any upload beside the 64 MiB kept free.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"]).arg(&data).status().expect("mount");
    assert!(mounted.success(), "mounting a tmpfs needs root");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(data.clone());

    let (d, auth) = start(dir.path(), &folder, &format!("[update]\nchannel = \"http://127.0.0.1:{relay}/index.json\"\n"));
    let r = http::request(d.http, "POST", "/api/v1/updates/install", &auth, None).expect("install");
    assert_eq!(r.status, 202, "{}", r.body);
    let rec = installed(&d, &auth);
    assert_eq!(rec["state"], "ready", "{rec}");
    assert!(std::fs::read(folder.join("slot-b.img")).expect("b") == new, "slot b holds the new system after the resumed download");
    assert_eq!(cut.load(std::sync::atomic::Ordering::SeqCst), 2, "the download broke off twice");
    assert!(d.log_text().contains("update download broke off: resuming"), "{}", d.log_text());

    // curl, as a browser would, reads the early answer while it still sends.
    let answer = dir.path().join("answer.json");
    let out = Command::new("curl")
        .args(["-s", "-o"])
        .arg(&answer)
        .args(["-w", "%{http_code}", "-H", &auth[0], "--data-binary"])
        .arg(format!("@{}", channel.join("b.hup").display()))
        .arg(format!("http://{}/api/v1/updates/upload", d.http))
        .output()
        .expect("curl");
    let body = std::fs::read_to_string(&answer).unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "507", "{body}");
    assert!(body.contains("bytes free"), "{body}");
    assert!(body.contains("update from the channel"), "{body}");
    let leftovers: Vec<_> = std::fs::read_dir(d.data.join("system/update")).expect("dir").flatten().map(|e| e.file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().contains("upload")), "nothing of the upload is kept: {leftovers:?}");
}
