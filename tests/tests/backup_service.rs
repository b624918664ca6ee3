//! The box backs itself up, as a family sets it up from the Backups page, against real hearthd
//! processes: one Hearth backing up to another over HTTPS (an app password, the other box's
//! certificate pinned, a wrong pin refused), a drill that passes and then catches a pack damaged
//! on the other box, a restore into a new folder; and a backup to a USB folder cut off by a
//! shutdown and by a power cut, continued after the restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hearth_tests::daemon::{self, Daemon, start};
use hearth_tests::http;
use serde_json::{Value, json};

fn call(d: &Daemon, cookie: &str, method: &str, path: &str, body: Option<Value>) -> http::Response {
    let body = body.map(|b| b.to_string());
    http::request(d.http, method, path, &[format!("Cookie: {cookie}")], body.as_deref()).expect("request")
}

fn app_password(d: &Daemon, cookie: &str, scope: &str) -> String {
    let r = call(d, cookie, "POST", "/api/v1/me/tokens", Some(json!({"name": "box A's backups", "scope": scope})));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["secret"].as_str().expect("secret").to_string()
}

/// Poll a run until it ends; its final view.
fn wait_run(d: &Daemon, cookie: &str, run: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let r = call(d, cookie, "GET", &format!("/api/v1/backups/runs/{run}"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        if !matches!(v["state"].as_str(), Some("queued" | "running")) {
            return v;
        }
        assert!(Instant::now() < deadline, "run {run} did not end: {v}\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn queued(r: http::Response) -> i64 {
    assert_eq!(r.status, 202, "{}", r.body);
    r.json()["run_id"].as_i64().expect("run id")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// A box with a few family files in its data folder.
fn family_files(data: &Path) {
    let docs = data.join("users/ada/files/Documents");
    std::fs::create_dir_all(&docs).expect("mkdir");
    std::fs::write(docs.join("recipe ü.txt"), "flour, eggs\n").expect("write");
    std::fs::write(docs.join("empty"), "").expect("write");
    let big: Vec<u8> = (0..6u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(docs.join("scan.pdf"), big).expect("write");
}

#[test]
fn one_hearth_backs_up_to_another_with_its_certificate_pinned_and_a_drill_catches_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = start(&dir.path().join("a"), &[]);
    let mut b = start(&dir.path().join("b"), &[]);
    a.wait_healthy(Duration::from_secs(30));
    b.wait_healthy(Duration::from_secs(30));
    let ada = a.claim("ada", "ada-long-password");
    let bea = b.claim("bea", "bea-long-password");
    family_files(&a.data);
    let app = app_password(&b, &bea, "backup");
    let b_status = call(&b, &bea, "GET", "/api/v1/status", None).json();
    let b_cert = b_status["device"]["cert_sha256"].as_str().expect("B's fingerprint on its Box page").to_string();

    let r = call(&a, &ada, "POST", "/api/v1/backups/password", Some(json!({})));
    assert_eq!(r.status, 201, "{}", r.body);
    let address = format!("https://{}", b.https);
    let r = call(&a, &ada, "POST", "/api/v1/backups/certificate", Some(json!({"address": address})));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["cert_sha256"].as_str(), Some(b_cert.as_str()), "the connection test shows the certificate B shows");

    let target = |cert: &str| {
        json!({"name": "Grandma's box", "target": {"kind": "hearth", "address": address, "user": "bea", "repository": "box-a", "cert_sha256": cert},
               "secret": {"password": app}})
    };
    let wrong = "ab".repeat(32);
    let r = call(&a, &ada, "POST", "/api/v1/backups/targets", Some(target(&wrong)));
    assert_eq!(r.status, 400, "a certificate other than the pinned one is refused: {}", r.body);
    assert!(r.body.contains("pinned"), "{}", r.body);
    let bad_password = json!({"name": "x", "target": {"kind": "hearth", "address": address, "user": "bea", "repository": "box-a", "cert_sha256": b_cert},
                              "secret": {"password": "hth_not_a_password"}});
    let r = call(&a, &ada, "POST", "/api/v1/backups/targets", Some(bad_password));
    assert_eq!(r.status, 400, "wrong credentials are the target's problem, not a logout: {}", r.body);
    let r = call(&a, &ada, "POST", "/api/v1/backups/targets", Some(target(&b_cert)));
    assert_eq!(r.status, 201, "{}", r.body);
    let target_id = r.json()["id"].as_i64().expect("id");

    let r = call(&a, &ada, "POST", "/api/v1/backups/jobs", Some(json!({"name": "Everything, off-site", "target_id": target_id})));
    assert_eq!(r.status, 201, "{}", r.body);
    let job = r.json()["id"].as_i64().expect("id");
    let run = wait_run(&a, &ada, queued(call(&a, &ada, "POST", &format!("/api/v1/backups/jobs/{job}/run"), None)));
    assert_eq!(run["state"], "succeeded", "{run}\n{}", a.log_text());
    assert!(run["bytes_total"].as_i64().is_some_and(|t| t >= 6 << 20), "{run}");
    // B holds it, under bea's account.
    let held = files(&b.data.join("restic"));
    assert!(held.iter().any(|p| p.ends_with("box-a/config")), "{held:?}");

    let drill = wait_run(&a, &ada, queued(call(&a, &ada, "POST", &format!("/api/v1/backups/targets/{target_id}/drill"), None)));
    assert_eq!(drill["state"], "succeeded", "{drill}");
    assert!(drill["message"].as_str().is_some_and(|m| m.contains("all identical")), "{drill}");

    // Browse and restore a folder into a new one.
    let snaps = call(&a, &ada, "GET", &format!("/api/v1/backups/targets/{target_id}/snapshots"), None).json();
    let snapshot = snaps["snapshots"][0]["name"].as_str().expect("a snapshot").to_string();
    let top = call(&a, &ada, "GET", &format!("/api/v1/backups/targets/{target_id}/snapshots/{snapshot}/entries"), None).json();
    let root = top["entries"][0]["path"].as_str().expect("the data folder").to_string();
    let docs = format!("{root}/users/ada/files/Documents");
    let listed = call(
        &a,
        &ada,
        "GET",
        &format!("/api/v1/backups/targets/{target_id}/snapshots/{snapshot}/entries?path={}", docs.replace(' ', "%20")),
        None,
    );
    assert!(listed.body.contains("recipe ü.txt"), "{}", listed.body);
    let restore = json!({"snapshot": snapshot, "path": docs, "destination": "new_folder"});
    let run = wait_run(&a, &ada, queued(call(&a, &ada, "POST", &format!("/api/v1/backups/targets/{target_id}/restore"), Some(restore))));
    assert_eq!(run["state"], "succeeded", "{run}");
    let back = files(&a.data.join("restored"));
    let recipe = back.iter().find(|p| p.ends_with("Documents/recipe ü.txt")).expect("restored");
    assert_eq!(std::fs::read_to_string(recipe).expect("read"), "flour, eggs\n");

    // A pack damaged on the other box: the next drill fails and the Backups page says so.
    let mut packs: Vec<(u64, PathBuf)> = held
        .iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "data"))
        .map(|p| (std::fs::metadata(p).expect("meta").len(), p.clone()))
        .collect();
    packs.sort();
    let (_, pack) = packs.last().expect("packs on B");
    let mut bytes = std::fs::read(pack).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(pack, bytes).expect("damage");
    let drill = wait_run(&a, &ada, queued(call(&a, &ada, "POST", &format!("/api/v1/backups/targets/{target_id}/drill"), None)));
    assert_eq!(drill["state"], "failed", "{drill}");
    let overview = call(&a, &ada, "GET", "/api/v1/backups", None).json();
    assert!(overview["alerts"].as_array().expect("alerts").iter().any(|al| al["kind"] == "drill_failed"), "{overview}");
    drop(b);
    a.stop(Duration::from_secs(30));
}

#[test]
fn a_backup_cut_off_by_shutdown_or_power_cut_continues_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).expect("usb");
    let pause = [("HEARTH_TEST_BACKUP_PAUSE_ON", "zz-pause-here.txt")];
    let mut d = daemon::start_with_env(&data, &[], &pause);
    d.wait_healthy(Duration::from_secs(30));
    let ada = d.claim("ada", "ada-long-password");
    family_files(&data);
    std::fs::write(data.join("users/ada/files/zz-pause-here.txt"), "the backup holds here in debug builds").expect("write");
    assert_eq!(call(&d, &ada, "POST", "/api/v1/backups/password", Some(json!({"password": "a long family password"}))).status, 201);
    let r = call(
        &d,
        &ada,
        "POST",
        "/api/v1/backups/targets",
        Some(json!({"name": "USB", "target": {"kind": "folder", "path": usb.join("hearth")}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let target = r.json()["id"].as_i64().expect("id");
    let r = call(&d, &ada, "POST", "/api/v1/backups/jobs", Some(json!({"name": "Nightly", "target_id": target})));
    let job = r.json()["id"].as_i64().expect("id");
    let first = queued(call(&d, &ada, "POST", &format!("/api/v1/backups/jobs/{job}/run"), None));
    wait_for_log(&d, "HEARTH_TEST_BACKUP_PAUSE_ON");
    // Shutdown: the run stops, is recorded as interrupted, and a queued run continues it.
    d.stop(Duration::from_secs(60));
    let mut d = daemon::start_with_env(&data, &[], &pause);
    d.wait_healthy(Duration::from_secs(30));
    let ada = relogin(&d);
    let cut = call(&d, &ada, "GET", &format!("/api/v1/backups/runs/{first}"), None).json();
    assert_eq!(cut["state"], "interrupted", "{cut}");
    // The continuation holds at the same file; this time the power goes.
    wait_for_log_count(&d, "HEARTH_TEST_BACKUP_PAUSE_ON", 2);
    kill_worker_and_daemon(d);
    // After the power cut, without the pause: the run left running is interrupted and continued.
    let mut d = daemon::start(&data, &[]);
    d.wait_healthy(Duration::from_secs(30));
    let ada = relogin(&d);
    let deadline = Instant::now() + Duration::from_secs(180);
    let runs = loop {
        let runs = call(&d, &ada, "GET", &format!("/api/v1/backups/runs?job={job}"), None).json();
        let list = runs["runs"].as_array().cloned().unwrap_or_default();
        if list.first().is_some_and(|r| r["state"] == "succeeded") {
            break list;
        }
        assert!(Instant::now() < deadline, "{runs}\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    let states: Vec<&str> = runs.iter().filter_map(|r| r["state"].as_str()).collect();
    assert_eq!(states, ["succeeded", "interrupted", "interrupted"], "{runs:?}");
    assert!(runs[0]["message"].is_string());
    // Restore everything into a new folder and compare.
    let snapshot = runs[0]["snapshot"].as_str().expect("snapshot").to_string();
    let run = wait_run(
        &d,
        &ada,
        queued(call(
            &d,
            &ada,
            "POST",
            &format!("/api/v1/backups/targets/{target}/restore"),
            Some(json!({"snapshot": snapshot, "destination": "new_folder"})),
        )),
    );
    assert_eq!(run["state"], "succeeded", "{run}");
    let back = files(&data.join("restored"));
    let scan = back.iter().find(|p| p.ends_with("Documents/scan.pdf")).expect("scan restored");
    assert_eq!(std::fs::read(scan).expect("r"), std::fs::read(data.join("users/ada/files/Documents/scan.pdf")).expect("r"));
    d.stop(Duration::from_secs(30));
}

fn relogin(d: &Daemon) -> String {
    let r =
        http::request(d.http, "POST", "/api/v1/auth/login", &[], Some(r#"{"name":"ada","password":"ada-long-password"}"#)).expect("login");
    assert_eq!(r.status, 200, "{}", r.body);
    r.cookie().expect("cookie").to_string()
}

fn wait_for_log(d: &Daemon, text: &str) {
    wait_for_log_count(d, text, 1)
}

fn wait_for_log_count(d: &Daemon, text: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while d.log_text().matches(text).count() < n {
        assert!(Instant::now() < deadline, "no {text:?} ×{n} in the log:\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A power cut: the daemon and its backup worker die at once, with no goodbye.
fn kill_worker_and_daemon(d: Daemon) {
    let data = d.data.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "backup")
            && args.iter().any(|a| a == "worker")
            && args.iter().any(|a| a.contains(data.as_str()))
            && let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>()
        {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
    d.kill();
}

#[test]
fn the_cli_sets_up_runs_and_restores_the_box_backups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).expect("usb");
    let mut d = start(&data, &[]);
    d.wait_healthy(Duration::from_secs(30));
    d.claim("ada", "ada-long-password");
    family_files(&data);
    let out = d.cli(&["backups", "key"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Recovery key"), "{}", String::from_utf8_lossy(&out.stdout));
    let again = d.cli(&["backups", "key"], "");
    assert!(!again.status.success(), "only once");
    let usb_repo = usb.join("hearth");
    let added = d.json(&["backups", "targets", "add", "--name", "USB", "--folder", usb_repo.to_str().expect("utf-8")]);
    let target = added["id"].as_i64().expect("id").to_string();
    let job = d.json(&["backups", "jobs", "add", "Everything", "--target", &target, "--schedule", "weekly sun 04:00"]);
    let job = job["id"].as_i64().expect("id").to_string();
    d.json(&["backups", "jobs", "run", &job]);
    let runs = d.wait_json(&["backups", "runs", "--job", &job], Duration::from_secs(120), |v| v["runs"][0]["state"] == "succeeded");
    let snapshot = runs["runs"][0]["snapshot"].as_str().expect("snapshot").to_string();
    let status = d.json(&["backups", "status"]);
    assert_eq!(status["jobs"][0]["schedule"], "weekly sun 04:00");
    let snaps = d.json(&["backups", "snapshots", &target]);
    assert_eq!(snaps["snapshots"][0]["name"].as_str(), Some(snapshot.as_str()));
    let root = d.json(&["backups", "ls", &target, &snapshot]);
    let top = root["entries"][0]["path"].as_str().expect("top").to_string();
    let docs = d.json(&["backups", "ls", &target, &snapshot, &format!("{top}/users/ada/files/Documents")]);
    assert!(docs.to_string().contains("recipe ü.txt"), "{docs}");
    std::fs::write(data.join("users/ada/files/Documents/recipe ü.txt"), "changed\n").expect("edit");
    let restore = d.json(&[
        "backups",
        "restore",
        &target,
        &snapshot,
        "--path",
        &format!("{top}/users/ada/files/Documents/recipe ü.txt"),
        "--in-place",
    ]);
    let run = restore["run_id"].as_i64().expect("run");
    d.wait_json(&["backups", "runs", "--target", &target], Duration::from_secs(60), |v| {
        v["runs"].as_array().is_some_and(|l| l.iter().any(|r| r["id"] == run && r["state"] == "succeeded"))
    });
    assert_eq!(std::fs::read_to_string(data.join("users/ada/files/Documents/recipe ü.txt")).expect("back"), "flour, eggs\n");
    let kept: Vec<PathBuf> =
        files(&data.join("users/ada/files/Documents")).into_iter().filter(|p| p.to_string_lossy().contains("before restore")).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read_to_string(&kept[0]).expect("kept"), "changed\n");
    d.stop(Duration::from_secs(30));
}

/// The Show of whole-box recovery: a box that syncs a phone's folder with a real Syncthing is
/// backed up to a USB folder and lost; a freshly flashed box (an empty data folder) is restored
/// from that folder with the recovery key at claim time, restarts as the old box (its users, its
/// files, its certificate and sync identity), and Syncthing, never told anything, reconnects and
/// sends a new file without pairing again.
#[test]
fn a_new_box_is_restored_from_a_backup_at_claim_and_syncthing_reconnects_without_pairing() {
    use hearth_tests::syncthing::Syncthing;
    let dir = tempfile::tempdir().expect("tempdir");
    let st = Syncthing::start(&dir.path().join("st"));
    let sync_addr = format!("127.0.0.1:{}", daemon::free_port());
    let old_data = dir.path().join("old-card");
    let mut old = daemon::start(&old_data, &["--sync-listen", &sync_addr]);
    old.wait_healthy(Duration::from_secs(30));
    let ada = old.claim("ada", "ada-long-password");
    family_files(&old_data);
    let hearth_id = String::from_utf8_lossy(&old.cli(&["sync", "id"], "").stdout).trim().to_string();
    let phone = dir.path().join("phone");
    std::fs::create_dir_all(&phone).expect("mkdir");
    std::fs::write(phone.join("first.txt"), "before the box was lost\n").expect("write");
    st.add_device(&hearth_id, "nas", &[format!("tcp://{sync_addr}")]);
    st.add_folder("phone", &phone, "sendonly", &[&hearth_id]);
    old.json(&["sync", "devices", "add", &st.device_id, "--name", "phone", "--address", &format!("tcp://{}", st.listen)]);
    old.json(&["sync", "folders", "add", "phone", "--type", "receive-only", "--device", &st.device_id]);
    old.wait_json(&["sync", "folders", "list"], Duration::from_secs(120), |v| {
        v["folders"][0]["local_files"] == 1 && v["folders"][0]["need_files"] == 0
    });
    let old_status = call(&old, &ada, "GET", "/api/v1/status", None).json();

    // Backed up to the USB disk, then the card dies.
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).expect("usb");
    let key =
        call(&old, &ada, "POST", "/api/v1/backups/password", Some(json!({}))).json()["recovery_key"].as_str().expect("key").to_string();
    let target = json!({"kind": "folder", "path": usb.join("hearth")});
    let r = call(&old, &ada, "POST", "/api/v1/backups/targets", Some(json!({"name": "USB", "target": target})));
    let target_id = r.json()["id"].as_i64().expect("id");
    let job = call(&old, &ada, "POST", "/api/v1/backups/jobs", Some(json!({"name": "Everything", "target_id": target_id}))).json()["id"]
        .as_i64()
        .expect("id");
    let run = wait_run(&old, &ada, queued(call(&old, &ada, "POST", &format!("/api/v1/backups/jobs/{job}/run"), None)));
    assert_eq!(run["state"], "succeeded", "{run}");
    old.kill();
    std::fs::remove_dir_all(&old_data).expect("the card is gone");

    // A new card: unclaimed, with its own new identity.
    let new_data = dir.path().join("new-card");
    let mut new = daemon::start(&new_data, &["--sync-listen", &sync_addr]);
    new.wait_healthy(Duration::from_secs(30));
    let fresh_id = String::from_utf8_lossy(&new.cli(&["sync", "id"], "").stdout).trim().to_string();
    assert_ne!(fresh_id, hearth_id);
    let wrong = http::request(
        new.http,
        "POST",
        "/api/v1/setup/recover",
        &[],
        Some(&json!({"target": target, "recovery_key": "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"}).to_string()),
    )
    .expect("recover");
    assert_eq!(wrong.status, 202, "{}", wrong.body);
    let failed = wait_recovery(&new);
    assert_eq!(failed["state"], "failed", "a wrong key: {failed}");
    assert!(failed["message"].as_str().is_some_and(|m| m.contains("password")), "{failed}");
    let typed = key.to_lowercase().replace('-', " ");
    let r =
        http::request(new.http, "POST", "/api/v1/setup/recover", &[], Some(&json!({"target": target, "recovery_key": typed}).to_string()))
            .expect("recover");
    assert_eq!(r.status, 202, "{}", r.body);
    let ready = wait_recovery(&new);
    assert_eq!(ready["state"], "ready", "{ready}\n{}", new.log_text());
    let claim = http::request(new.http, "POST", "/api/v1/setup/claim", &[], Some(r#"{"name":"eve","password":"eve-long-password"}"#))
        .expect("claim");
    assert_eq!(claim.status, 409, "no one claims a box that is being restored: {}", claim.body);
    new.stop(Duration::from_secs(30));

    // The restart finishes it: the old box is back.
    let mut new = daemon::start(&new_data, &["--sync-listen", &sync_addr]);
    new.wait_healthy(Duration::from_secs(30));
    let ada = relogin(&new);
    let status = call(&new, &ada, "GET", "/api/v1/status", None).json();
    assert_eq!(status["device"]["sync_device_id"], old_status["device"]["sync_device_id"], "the same sync identity");
    assert_eq!(status["device"]["cert_sha256"], old_status["device"]["cert_sha256"], "the same certificate");
    assert_eq!(status["device"]["id"], old_status["device"]["id"]);
    assert_eq!(std::fs::read_to_string(new_data.join("users/ada/files/Documents/recipe ü.txt")).expect("files"), "flour, eggs\n");
    assert!(new_data.join("recovery/replaced/hearth.db").exists(), "the fresh box's catalog is kept aside");
    let setup = http::get(new.http, "/api/v1/setup").expect("setup").json();
    assert_eq!(setup["claimed"], true);
    // Syncthing was told nothing: it reconnects and sends a new file.
    std::fs::write(phone.join("second.txt"), "after the new box arrived\n").expect("write");
    st.scan("phone");
    let folder_path = new.wait_json(&["sync", "folders", "list"], Duration::from_secs(180), |v| {
        v["folders"][0]["local_files"] == 2 && v["folders"][0]["need_files"] == 0
    });
    let path = PathBuf::from(folder_path["folders"][0]["path"].as_str().expect("path"));
    assert_eq!(std::fs::read_to_string(path.join("second.txt")).expect("synced"), "after the new box arrived\n");
    // The backup job came back too, and runs against the same repository.
    let run = wait_run(&new, &ada, queued(call(&new, &ada, "POST", &format!("/api/v1/backups/jobs/{job}/run"), None)));
    assert_eq!(run["state"], "succeeded", "{run}");
    new.stop(Duration::from_secs(30));
}

fn wait_recovery(d: &Daemon) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let v = http::get(d.http, "/api/v1/setup/recover").expect("recovery").json();
        if v["state"] != "restoring" {
            return v;
        }
        assert!(Instant::now() < deadline, "{v}\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// S3 (moto's server) and a restic REST server (Debian's rclone) as places for the box's
/// backups: tested, made, backed up to, drilled; a wrong S3 secret is refused before saving.
#[test]
fn s3_and_rest_servers_as_targets() {
    use hearth_tests::servers::{moto_server, rclone_restic};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let ada = d.claim("ada", "ada-long-password");
    family_files(&d.data);
    assert_eq!(call(&d, &ada, "POST", "/api/v1/backups/password", Some(json!({}))).status, 201);
    let s3 = moto_server();
    let rest = rclone_restic(&dir.path().join("served"), daemon::free_port(), Some(("anna", "rest-pass")));
    let targets = [
        json!({"name": "Cloud", "target": {"kind": "s3", "endpoint": format!("http://127.0.0.1:{}", s3.port), "bucket": "family-backups", "prefix": "box", "access_key_id": "hearth-test"},
               "secret": {"secret_access_key": "hearth-secret"}}),
        json!({"name": "Server", "target": {"kind": "rest", "url": format!("http://127.0.0.1:{}/box", rest.port), "user": "anna"}, "secret": {"password": "rest-pass"}}),
    ];
    let wrong = json!({"name": "x", "target": {"kind": "rest", "url": format!("http://127.0.0.1:{}/box", rest.port), "user": "anna"}, "secret": {"password": "nope"}});
    let r = call(&d, &ada, "POST", "/api/v1/backups/targets", Some(wrong));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("user and password"), "{}", r.body);
    for body in targets {
        let r = call(&d, &ada, "POST", "/api/v1/backups/targets/test", Some(body.clone()));
        assert_eq!((r.status, r.json()["repository"].as_str()), (200, Some("empty")), "{}", r.body);
        let r = call(&d, &ada, "POST", "/api/v1/backups/targets", Some(body.clone()));
        assert_eq!(r.status, 201, "{}", r.body);
        let target = r.json()["id"].as_i64().expect("id");
        let r = call(&d, &ada, "POST", "/api/v1/backups/jobs", Some(json!({"name": body["name"], "target_id": target})));
        let job = r.json()["id"].as_i64().expect("id");
        let run = wait_run(&d, &ada, queued(call(&d, &ada, "POST", &format!("/api/v1/backups/jobs/{job}/run"), None)));
        assert_eq!(run["state"], "succeeded", "{run}");
        let drill = wait_run(&d, &ada, queued(call(&d, &ada, "POST", &format!("/api/v1/backups/targets/{target}/drill"), None)));
        assert_eq!(drill["state"], "succeeded", "{drill}");
        assert!(drill["message"].as_str().is_some_and(|m| m.contains("all identical")), "{drill}");
    }
    d.stop(Duration::from_secs(30));
}
