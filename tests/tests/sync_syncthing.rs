//! Hearth's BEP identity and handshake against a real Syncthing 1.19: the device id Hearth
//! computes for Syncthing's certificate is the one Syncthing prints; Hearth's own certificate
//! passes Syncthing's TLS 1.3 handshake; the Hello exchange works both ways; and Syncthing,
//! which does not know Hearth yet, lists it as a pending device under the name Hearth gave.

use std::time::{Duration, Instant};

use hearth_sync::DeviceId;
use hearth_sync::connection::connect;
use hearth_sync::identity::Identity;
use hearth_sync::protocol::messages::Hello;
use hearth_tests::data::noise;
use hearth_tests::syncthing::Syncthing;

#[test]
fn syncthing_sees_hearth_as_a_pending_device() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));

    // Syncthing's own id, computed by Hearth from its certificate.
    let cert = std::fs::read(st.home.join("cert.pem")).expect("cert.pem");
    let key = std::fs::read(st.home.join("key.pem")).expect("key.pem");
    let theirs = Identity::from_pem(&cert, &key, "syncthing home").expect("parse");
    assert_eq!(theirs.device_id.to_string(), st.device_id);
    assert_eq!(st.device_id.parse::<DeviceId>().expect("parse"), theirs.device_id);
    assert_eq!(st.get("/rest/system/status")["myID"].as_str(), Some(st.device_id.as_str()));

    // Hearth dials in with its own new identity.
    let ours = Identity::load_or_create(&dir.path().join("hearth-sync")).expect("identity");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let hello =
        Hello { device_name: "hearth-test-nas".into(), client_name: "hearth".into(), client_version: "0.1.0".into(), ..Default::default() };
    let conn = rt.block_on(connect(st.listen, &ours, Some(theirs.device_id), &hello)).expect("TLS and Hello with Syncthing");
    assert_eq!(conn.peer, theirs.device_id);
    assert_eq!(conn.hello.client_name, "syncthing");
    assert!(conn.hello.client_version.starts_with("v1."), "{:?}", conn.hello);

    // Unknown to Syncthing: refused, and offered to its user as a pending device.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = st.get("/rest/cluster/pending/devices");
        if let Some(entry) = pending.get(ours.device_id.to_string()) {
            assert_eq!(entry["name"].as_str(), Some("hearth-test-nas"), "{pending}");
            break;
        }
        assert!(Instant::now() < deadline, "Syncthing never listed Hearth as pending: {pending}\n{}", st.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sha(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b).as_ref().to_vec()
}

fn folder<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["folders"].as_array().and_then(|a| a.iter().find(|f| f["id"] == id)).unwrap_or(&serde_json::Value::Null)
}

fn versions_in(root: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(".stversions")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if let Ok(b) = std::fs::read(e.path()) {
                out.push(b);
            }
        }
    }
    out
}

#[test]
fn syncthing_sends_a_camera_folder_to_hearthd() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    let (d, hearth_id, _) = hearth_tests::daemon::start_nas(dir.path());

    // The phone's camera folder: 2,000 small photos in two folders and a video over 100 MiB.
    let camera = dir.path().join("phone-camera");
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..2_000u64 {
        let name = format!("DCIM/{}/IMG_{i:04}.jpg", if i % 2 == 0 { "Camera" } else { "Screenshots" });
        let size = if i % 100 == 0 { 150_000 + (i as usize * 7_919) % 200_000 } else { 1_000 + (i as usize * 7_919) % 30_000 };
        let data = noise(size, i + 1);
        std::fs::create_dir_all(camera.join(&name).parent().expect("parent")).expect("mkdir");
        std::fs::write(camera.join(&name), &data).expect("write");
        expected.insert(name, sha(&data));
    }
    let video = noise(104 << 20, 99);
    std::fs::write(camera.join("DCIM/Camera/VID_0001.mp4"), &video).expect("write");
    expected.insert("DCIM/Camera/VID_0001.mp4".to_string(), sha(&video));

    // Paired both ways; the NAS knows the phone's address and dials it.
    st.add_device(&hearth_id, "nas", &[]);
    st.add_folder("camera", &camera, "sendonly", &[&hearth_id]);
    st.wait_for("/rest/db/status?folder=camera", Duration::from_secs(60), |s| {
        s["state"] == "idle" && s["globalFiles"].as_u64() == Some(expected.len() as u64)
    });
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "phone", "--address", &format!("tcp://{}", st.listen)]);
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(60), |v| {
        v["pending"].as_array().is_some_and(|p| p.iter().any(|f| f["folder_id"] == "camera"))
    });

    // One photo is already on the NAS (shared before): it is neither downloaded again nor
    // kept as a version.
    let nas_dir = dir.path().join("nas/camera");
    std::fs::create_dir_all(nas_dir.join("DCIM/Camera")).expect("mkdir");
    std::fs::copy(camera.join("DCIM/Camera/IMG_0002.jpg"), nas_dir.join("DCIM/Camera/IMG_0002.jpg")).expect("copy");
    let nas_text = nas_dir.display().to_string();
    d.json(&["sync", "folders", "accept", "camera", "--path", &nas_text, "--type", "receive-only"]);
    let v = d.wait_json(&["sync", "folders", "list"], Duration::from_secs(180), |v| {
        let f = folder(v, "camera");
        f["local_files"].as_u64() == Some(expected.len() as u64) && f["need_files"] == 0
    });
    assert_eq!(folder(&v, "camera")["type"], "receive-only", "{v}");
    assert!(v["pending"].as_array().is_some_and(|p| p.is_empty()), "accepting clears the offer: {v}");
    for (name, digest) in &expected {
        let got = std::fs::read(nas_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&sha(&got), digest, "{name} differs");
        let (a, b) = (std::fs::metadata(camera.join(name)).expect("m"), std::fs::metadata(nas_dir.join(name)).expect("m"));
        assert_eq!(a.modified().expect("t"), b.modified().expect("t"), "{name}: modification time");
    }
    assert!(versions_in(&nas_dir).is_empty(), "the photo already there was adopted, not versioned");
    // Syncthing agrees that the NAS has everything.
    st.wait_for(&format!("/rest/db/completion?folder=camera&device={hearth_id}"), Duration::from_secs(60), |c| {
        c["completion"].as_f64() == Some(100.0) && c["needItems"].as_u64() == Some(0)
    });

    // On the phone, one photo is edited, one deleted and one renamed: the NAS follows and keeps
    // the old contents in its versions folder.
    let (edited, deleted, renamed, new_name) =
        ("DCIM/Camera/IMG_0000.jpg", "DCIM/Screenshots/IMG_0001.jpg", "DCIM/Camera/IMG_0004.jpg", "DCIM/Camera/renamed.jpg");
    let old_edited = std::fs::read(camera.join(edited)).expect("read");
    let old_deleted = std::fs::read(camera.join(deleted)).expect("read");
    let moved = std::fs::read(camera.join(renamed)).expect("read");
    let new_content = noise(150_000, 4242);
    std::fs::write(camera.join(edited), &new_content).expect("edit");
    std::fs::remove_file(camera.join(deleted)).expect("delete");
    std::fs::rename(camera.join(renamed), camera.join(new_name)).expect("rename");
    st.scan("camera");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let kept = versions_in(&nas_dir);
        let now = std::fs::read(nas_dir.join(edited)).unwrap_or_default();
        let moved_now = std::fs::read(nas_dir.join(new_name)).unwrap_or_default();
        if kept.len() == 3 && now == new_content && !nas_dir.join(deleted).exists() && moved_now == moved && !nas_dir.join(renamed).exists()
        {
            for old in [&old_edited, &old_deleted, &moved] {
                assert!(kept.contains(old), "an old content is missing from the versions");
            }
            break;
        }
        assert!(Instant::now() < deadline, "edit, delete and rename not applied safely: {} versions\n{}", kept.len(), d.log_text());
        std::thread::sleep(Duration::from_millis(300));
    }
    let v = d.json(&["sync", "versions", "camera"]);
    let listed: Vec<&str> = v["versions"].as_array().expect("versions").iter().filter_map(|x| x["name"].as_str()).collect();
    for name in [edited, deleted, renamed] {
        assert!(listed.contains(&name), "{name} not listed: {v}");
    }
    // A version is restored: the deleted screenshot is back on the NAS.
    let version = v["versions"].as_array().expect("versions").iter().find(|x| x["name"] == deleted).expect("deleted one")["version"]
        .as_str()
        .expect("text")
        .to_string();
    d.json(&["sync", "versions", "camera", "--restore", &version]);
    assert_eq!(std::fs::read(nas_dir.join(deleted)).expect("restored"), old_deleted);
    // Status and connection counters are there for the phone.
    let c = d.json(&["sync", "status"]);
    let conn = &c["connections"][0];
    assert_eq!(conn["device_id"], st.device_id.as_str(), "{c}");
    assert!(conn["bytes_in"].as_u64().is_some_and(|b| b >= 104 << 20), "{c}");
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn hearthd_sends_a_folder_to_syncthing() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    let (d, hearth_id, sync_addr) = hearth_tests::daemon::start_nas(dir.path());
    let nas_dir = dir.path().join("nas/photos");
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..2_000u64 {
        let name = format!("2026/{:02}/photo-{i}.jpg", i % 12 + 1);
        let data = noise(500 + (i as usize * 12_347) % 30_000, i + 100);
        std::fs::create_dir_all(nas_dir.join(&name).parent().expect("parent")).expect("mkdir");
        std::fs::write(nas_dir.join(&name), &data).expect("write");
        expected.insert(name, sha(&data));
    }
    // A file over 100 MiB (880 blocks of 128 KiB).
    let big = noise(110 << 20, 7);
    std::fs::write(nas_dir.join("family-video.mp4"), &big).expect("write");
    expected.insert("family-video.mp4".into(), sha(&big));
    drop(big);

    // This time the laptop dials the NAS; the NAS shares a send-only folder with it.
    let laptop = dir.path().join("laptop-photos");
    st.add_device(&hearth_id, "nas", &[format!("tcp://{sync_addr}")]);
    st.add_folder("photos", &laptop, "receiveonly", &[&hearth_id]);
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "laptop"]);
    let nas_text = nas_dir.display().to_string();
    d.json(&["sync", "folders", "add", "photos", "--path", &nas_text, "--type", "send-only", "--device", &st.device_id]);
    st.wait_for("/rest/db/status?folder=photos", Duration::from_secs(240), |s| {
        s["state"] == "idle" && s["needFiles"].as_u64() == Some(0) && s["inSyncFiles"].as_u64() == Some(expected.len() as u64)
    });
    for (name, digest) in &expected {
        let got = std::fs::read(laptop.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&sha(&got), digest, "{name} differs");
    }
    // The NAS's completion view of the laptop agrees.
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(30), |v| folder(v, "photos")["devices"][0]["completion"] == 100.0);

    // A change on the NAS is found by the watcher (no scan request) and reaches the laptop.
    let added = noise(70_000, 5);
    std::fs::write(nas_dir.join("2026/01/new.jpg"), &added).expect("write");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read(laptop.join("2026/01/new.jpg")).ok().as_deref() != Some(&added[..]) {
        assert!(Instant::now() < deadline, "the watcher's change never arrived\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn hearthd_refuses_an_unpaired_syncthing_pairs_it_on_accept_and_lists_its_folder_offers() {
    use hearth_tests::daemon;

    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let sync_port = daemon::free_port();
    let sync_addr = format!("127.0.0.1:{sync_port}");
    let mut d = daemon::start(&data, &["--sync-listen", &sync_addr]);
    d.wait_healthy(Duration::from_secs(30));
    let out = d.cli(&["setup", "--name", "ada"], "lovelace-1815\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hearth_id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();

    // Syncthing knows Hearth's id and address and dials it; Hearth does not know Syncthing.
    let st = Syncthing::start(&dir.path().join("st"));
    st.send(
        "POST",
        "/rest/config/devices",
        &serde_json::json!({"deviceID": hearth_id, "name": "nas", "addresses": [format!("tcp://{sync_addr}")]}),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let pending = loop {
        let out = d.cli(&["--json", "sync", "devices", "list"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        if let Some(p) = v["pending"].as_array().and_then(|a| a.iter().find(|p| p["device_id"] == st.device_id.as_str()).cloned()) {
            assert!(v["devices"].as_array().is_some_and(|a| a.is_empty()), "nothing paired yet: {v}");
            break p;
        }
        assert!(Instant::now() < deadline, "Syncthing never showed up as pending: {v}\n{}\n{}", d.log_text(), st.log());
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(pending["client"].as_str().is_some_and(|c| c.starts_with("syncthing v1.")), "{pending}");
    assert!(pending["address"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{pending}");
    assert!(d.log_text().contains("refused an unpaired device"));

    // A wrong id is refused with a clear message; the right one pairs.
    let mut typo = st.device_id.clone().into_bytes();
    typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
    let out = d.cli(&["sync", "devices", "accept", &String::from_utf8(typo).expect("ascii")], "");
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("check character"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d.cli(&["sync", "devices", "accept", &st.device_id], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = d.cli(&["--json", "sync", "devices", "list"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["devices"][0]["device_id"], st.device_id.as_str(), "{v}");
    assert_eq!(v["devices"][0]["name"], pending["name"], "the name it gave is kept");
    assert!(v["pending"].as_array().is_some_and(|a| a.is_empty()), "{v}");

    // Paired now, Syncthing offers its camera folder; hearthd lists the offer for the owner.
    st.send("PATCH", "/rest/config/options", &serde_json::json!({"reconnectionIntervalS": 1}));
    st.send(
        "POST",
        "/rest/config/folders",
        &serde_json::json!({
            "id": "phone-camera", "label": "Phone camera", "path": dir.path().join("st-camera"), "type": "sendonly",
            "fsWatcherEnabled": false, "devices": [{"deviceID": st.device_id}, {"deviceID": hearth_id}]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = d.cli(&["--json", "sync", "folders", "list"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        if let Some(f) = v["pending"].as_array().and_then(|a| a.iter().find(|f| f["folder_id"] == "phone-camera").cloned()) {
            assert_eq!((f["label"].as_str(), f["device_id"].as_str()), (Some("Phone camera"), Some(st.device_id.as_str())), "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "the folder offer never showed: {v}\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}
