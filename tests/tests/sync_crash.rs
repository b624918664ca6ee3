//! kill -9 in the middle of a large file, on either side, against a real Syncthing 1.19: the
//! receiver's temporary (`.syncthing.NAME.tmp`) survives, the file never appears half-written
//! under its own name, and after the restart the transfer resumes from the verified blocks
//! already on disk instead of starting over.
//!
//! Syncthing's own bandwidth limit (applied on the LAN for this test) keeps the transfer slow
//! enough that the kill lands mid-file; the test waits on the bytes the temporary holds, never on
//! a clock, and lifts the limit after the kill.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hearth_tests::daemon;
use hearth_tests::data::noise;
use hearth_tests::syncthing::Syncthing;

const SIZE: usize = 96 << 20;
/// The kill comes once the temporary holds this much.
const KILL_AT: u64 = 24 << 20;

fn sha(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b).as_ref().to_vec()
}

/// Bytes actually written into a (sparse) file.
fn allocated(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.blocks() * 512).unwrap_or(0)
}

/// Wait until `tmp` holds `KILL_AT` bytes while `dest` does not exist yet; returns what it holds.
fn wait_mid_file(tmp: &Path, dest: &Path, logs: impl Fn() -> String) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let held = allocated(tmp);
        if held >= KILL_AT {
            assert!(!dest.exists(), "the file appeared under its own name before it was complete");
            return held;
        }
        assert!(!dest.exists(), "the transfer finished before the kill: the bandwidth limit did not hold\n{}", logs());
        assert!(Instant::now() < deadline, "the transfer never reached {KILL_AT} bytes ({held})\n{}", logs());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn limit(st: &Syncthing, send_kib: u64, recv_kib: u64) {
    st.send(
        "PATCH",
        "/rest/config/options",
        &serde_json::json!({"maxSendKbps": send_kib, "maxRecvKbps": recv_kib, "limitBandwidthInLan": true, "reconnectionIntervalS": 1}),
    );
}

fn claimed(d: &mut daemon::Daemon) -> String {
    d.wait_healthy(Duration::from_secs(30));
    assert!(d.cli(&["setup", "--name", "ada"], "lovelace-1815\n").status.success());
    String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string()
}

#[test]
fn hearthd_killed_mid_file_resumes_from_its_temporary() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    limit(&st, 6 * 1024, 0);
    let data = dir.path().join("data");
    let sync_addr = format!("127.0.0.1:{}", daemon::free_port());
    let mut d = daemon::start(&data, &["--sync-listen", &sync_addr]);
    let hearth_id = claimed(&mut d);

    let phone = dir.path().join("phone");
    std::fs::create_dir_all(&phone).expect("mkdir");
    let video = noise(SIZE, 31);
    std::fs::write(phone.join("birthday.mov"), &video).expect("write");
    std::fs::write(phone.join("note.txt"), b"cake at four").expect("write");
    st.add_device(&hearth_id, "nas", &[format!("tcp://{sync_addr}")]);
    st.add_folder("phone", &phone, "sendonly", &[&hearth_id]);
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "phone", "--address", &format!("tcp://{}", st.listen)]);
    let nas = dir.path().join("nas");
    let nas_text = nas.display().to_string();
    d.json(&["sync", "folders", "add", "phone", "--path", &nas_text, "--type", "receive-only", "--device", &st.device_id]);

    let held = wait_mid_file(&nas.join(".syncthing.birthday.mov.tmp"), &nas.join("birthday.mov"), || d.log_text());
    d.kill();
    limit(&st, 0, 0);

    let mut d = daemon::start(&data, &["--sync-listen", &sync_addr]);
    d.wait_healthy(Duration::from_secs(30));
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(120), |v| {
        v["folders"][0]["local_files"] == 2 && v["folders"][0]["need_files"] == 0
    });
    assert_eq!(sha(&std::fs::read(nas.join("birthday.mov")).expect("video")), sha(&video), "the resumed file differs");
    assert!(!nas.join(".syncthing.birthday.mov.tmp").exists(), "the temporary is gone");
    // Only what the temporary lacked crossed the network the second time.
    let v = d.json(&["sync", "status"]);
    let again = v["connections"][0]["bytes_in"].as_u64().expect("bytes_in");
    eprintln!("killed with {held} bytes in the temporary; {again} of {SIZE} bytes crossed after the restart");
    assert!(again <= SIZE as u64 - held / 2, "resumed with {again} bytes after {held} were on disk: {v}");
    assert!(d.log_text().contains("resumed from an interrupted transfer"), "the log says what was reused\n{}", d.log_text());
    st.wait_for(&format!("/rest/db/completion?folder=phone&device={hearth_id}"), Duration::from_secs(60), |c| {
        c["completion"].as_f64() == Some(100.0)
    });
    // While the limited transfer ran (over 4 s), Syncthing heard the NAS's DownloadProgress.
    let events = st.get("/rest/events?since=0&timeout=1");
    let heard = events.as_array().into_iter().flatten().any(|e| {
        e["type"] == "RemoteDownloadProgress"
            && e["data"]["device"] == hearth_id.as_str()
            && e["data"]["state"]["birthday.mov"].as_u64().is_some_and(|blocks| blocks > 0)
    });
    assert!(heard, "no RemoteDownloadProgress from the NAS in Syncthing's events: {events}");
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn syncthing_killed_mid_file_resumes_from_hearthd() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut st = Syncthing::start(&dir.path().join("st"));
    limit(&st, 0, 6 * 1024);
    let sync_addr = format!("127.0.0.1:{}", daemon::free_port());
    let mut d = daemon::start(&dir.path().join("data"), &["--sync-listen", &sync_addr]);
    let hearth_id = claimed(&mut d);

    let nas = dir.path().join("nas");
    std::fs::create_dir_all(&nas).expect("mkdir");
    let video = noise(SIZE, 32);
    std::fs::write(nas.join("wedding.mov"), &video).expect("write");
    let laptop = dir.path().join("laptop");
    st.add_device(&hearth_id, "nas", &[format!("tcp://{sync_addr}")]);
    st.add_folder("videos", &laptop, "receiveonly", &[&hearth_id]);
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "laptop"]);
    let nas_text = nas.display().to_string();
    d.json(&["sync", "folders", "add", "videos", "--path", &nas_text, "--type", "send-only", "--device", &st.device_id]);

    let held = wait_mid_file(&laptop.join(".syncthing.wedding.mov.tmp"), &laptop.join("wedding.mov"), || st.log());
    st.kill();
    st.restart();
    limit(&st, 0, 0);
    st.wait_for("/rest/db/status?folder=videos", Duration::from_secs(120), |s| {
        s["state"] == "idle" && s["needFiles"] == 0 && s["inSyncFiles"] == 1
    });
    assert_eq!(sha(&std::fs::read(laptop.join("wedding.mov")).expect("video")), sha(&video), "the resumed file differs");
    // hearthd survived the abrupt end of the connection and only sent what was missing.
    let v = d.json(&["sync", "status"]);
    let conn = v["connections"].as_array().and_then(|c| c.iter().find(|c| c["device_id"] == st.device_id.as_str())).expect("reconnected");
    let again = conn["bytes_out"].as_u64().expect("bytes_out");
    eprintln!("killed with {held} bytes in the temporary; {again} of {SIZE} bytes crossed after the restart");
    assert!(again <= SIZE as u64 - held / 2, "resumed with {again} bytes after {held} were on disk: {v}");
    assert!(d.stop(Duration::from_secs(15)).success());
}
