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

#[test]
fn syncthing_sends_a_camera_folder_to_hearth() {
    use hearth_sync::receive::{self, Local, ReceiveFolder, SyncEvent};

    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    let ours = Identity::load_or_create(&dir.path().join("hearth-sync")).expect("identity");

    // The phone's camera folder: small photos in two folders and one large video.
    let camera = dir.path().join("phone-camera");
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..40u64 {
        let name = format!("DCIM/{}/IMG_{i:04}.jpg", if i % 2 == 0 { "Camera" } else { "Screenshots" });
        let data = noise(1_000 + (i as usize * 7_919) % 200_000, i + 1);
        std::fs::create_dir_all(camera.join(&name).parent().expect("parent")).expect("mkdir");
        std::fs::write(camera.join(&name), &data).expect("write");
        expected.insert(name, sha(&data));
    }
    let video = noise(20 << 20, 99);
    std::fs::write(camera.join("DCIM/Camera/VID_0001.mp4"), &video).expect("write");
    expected.insert("DCIM/Camera/VID_0001.mp4".to_string(), sha(&video));

    st.send(
        "POST",
        "/rest/config/devices",
        &serde_json::json!({"deviceID": ours.device_id.to_string(), "name": "hearth", "addresses": ["dynamic"]}),
    );
    st.send(
        "POST",
        "/rest/config/folders",
        &serde_json::json!({
            "id": "camera", "label": "Camera", "path": camera, "type": "sendonly",
            "fsWatcherEnabled": false, "rescanIntervalS": 3600,
            "devices": [{"deviceID": st.device_id}, {"deviceID": ours.device_id.to_string()}]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = st.get("/rest/db/status?folder=camera");
        if status["state"] == "idle" && status["globalFiles"].as_u64() == Some(expected.len() as u64) {
            break;
        }
        assert!(Instant::now() < deadline, "Syncthing did not scan: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Hearth dials Syncthing and receives the folder. One photo is already on the NAS (shared
    // before): it is neither downloaded again nor kept as a version.
    let nas = dir.path().join("nas/sync/camera");
    std::fs::create_dir_all(nas.join("DCIM/Camera")).expect("mkdir");
    std::fs::copy(camera.join("DCIM/Camera/IMG_0002.jpg"), nas.join("DCIM/Camera/IMG_0002.jpg")).expect("copy");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let hello = Hello { device_name: "hearth".into(), client_name: "hearth".into(), client_version: "0.1.0".into(), ..Default::default() };
    let conn = rt.block_on(connect(st.listen, &ours, Some(st.device_id.parse().expect("id")), &hello)).expect("connect");
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let local = Local { device: ours.device_id, name: "hearth".into() };
    let folder = ReceiveFolder { id: "camera".into(), label: "Camera".into(), root: nas.clone() };
    let session = rt.spawn(receive::run(conn, local, folder, events_tx, stop_rx));
    let mut arrived = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrived.len() < expected.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rt.block_on(async { tokio::time::timeout(left, events.recv()).await }) {
            Ok(Some(SyncEvent::FileArrived { folder, name, size })) => {
                assert_eq!(folder, "camera");
                assert!(size > 0);
                arrived.insert(name);
            }
            Ok(Some(SyncEvent::InSync { .. })) => {}
            other => panic!("only {} of {} files arrived: {other:?}\n{}", arrived.len(), expected.len(), st.log()),
        }
    }
    for (name, digest) in &expected {
        let got = std::fs::read(nas.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&sha(&got), digest, "{name} differs");
        let (a, b) = (std::fs::metadata(camera.join(name)).expect("m"), std::fs::metadata(nas.join(name)).expect("m"));
        assert_eq!(a.modified().expect("t"), b.modified().expect("t"), "{name}: modification time");
    }
    // Syncthing agrees that the NAS has everything.
    let path = format!("/rest/db/completion?folder=camera&device={}", ours.device_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = st.get(&path);
        if c["completion"].as_f64() == Some(100.0) && c["needItems"].as_u64() == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "Syncthing does not see the NAS complete: {c}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // On the phone, one photo is edited and one deleted: the NAS takes the new content and keeps
    // both old ones in its versions folder.
    let (edited, deleted) = ("DCIM/Camera/IMG_0000.jpg", "DCIM/Screenshots/IMG_0001.jpg");
    let old_edited = std::fs::read(camera.join(edited)).expect("read");
    let old_deleted = std::fs::read(camera.join(deleted)).expect("read");
    let new_content = noise(150_000, 4242);
    std::fs::write(camera.join(edited), &new_content).expect("edit");
    std::fs::remove_file(camera.join(deleted)).expect("delete");
    st.send("POST", "/rest/db/scan?folder=camera", &serde_json::Value::Null);
    let versions = nas.join(".stversions");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let kept: Vec<Vec<u8>> = ["DCIM/Camera", "DCIM/Screenshots"]
            .iter()
            .flat_map(|d| std::fs::read_dir(versions.join(d)).into_iter().flatten())
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read(e.path()).ok())
            .collect();
        let now = std::fs::read(nas.join(edited)).unwrap_or_default();
        if kept.len() == 2 && now == new_content && !nas.join(deleted).exists() {
            assert!(kept.contains(&old_edited) && kept.contains(&old_deleted), "the old contents are the versions");
            break;
        }
        assert!(Instant::now() < deadline, "edit and delete not applied safely: {} versions\n{}", kept.len(), st.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    stop_tx.send(true).expect("stop");
    rt.block_on(session).expect("join").expect("session ended cleanly");
}

#[test]
fn hearth_sends_a_folder_to_syncthing() {
    use hearth_sync::receive::Local;
    use hearth_sync::send::{self, SendFolder};

    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    let ours = Identity::load_or_create(&dir.path().join("hearth-sync")).expect("identity");
    let nas = dir.path().join("nas/photos");
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..30u64 {
        let name = format!("2026/{:02}/photo-{i}.jpg", i % 12 + 1);
        let data = noise(500 + (i as usize * 12_347) % 300_000, i + 100);
        std::fs::create_dir_all(nas.join(&name).parent().expect("parent")).expect("mkdir");
        std::fs::write(nas.join(&name), &data).expect("write");
        expected.insert(name, sha(&data));
    }
    // A file over 100 MiB (880 blocks of 128 KiB).
    let big = noise(110 << 20, 7);
    std::fs::write(nas.join("family-video.mp4"), &big).expect("write");
    expected.insert("family-video.mp4".into(), sha(&big));
    drop(big);

    let laptop = dir.path().join("laptop-photos");
    st.send(
        "POST",
        "/rest/config/devices",
        &serde_json::json!({"deviceID": ours.device_id.to_string(), "name": "hearth", "addresses": ["dynamic"]}),
    );
    st.send(
        "POST",
        "/rest/config/folders",
        &serde_json::json!({
            "id": "photos", "label": "Photos", "path": laptop, "type": "receiveonly",
            "fsWatcherEnabled": false, "rescanIntervalS": 3600,
            "devices": [{"deviceID": st.device_id}, {"deviceID": ours.device_id.to_string()}]
        }),
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let hello = Hello { device_name: "hearth".into(), client_name: "hearth".into(), client_version: "0.1.0".into(), ..Default::default() };
    let conn = rt.block_on(connect(st.listen, &ours, Some(st.device_id.parse().expect("id")), &hello)).expect("connect");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let local = Local { device: ours.device_id, name: "hearth".into() };
    let session = rt.spawn(send::run(conn, local, SendFolder { id: "photos".into(), label: "Photos".into(), root: nas.clone() }, stop_rx));

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let s = st.get("/rest/db/status?folder=photos");
        if s["state"] == "idle" && s["needFiles"].as_u64() == Some(0) && s["inSyncFiles"].as_u64() == Some(expected.len() as u64) {
            break;
        }
        assert!(Instant::now() < deadline, "Syncthing did not receive everything: {s}\n{}", st.log());
        std::thread::sleep(Duration::from_millis(250));
    }
    for (name, digest) in &expected {
        let got = std::fs::read(laptop.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&sha(&got), digest, "{name} differs");
    }
    stop_tx.send(true).expect("stop");
    rt.block_on(session).expect("join").expect("session ended cleanly");
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

#[test]
fn syncthing_finds_hearthd_by_local_discovery() {
    use hearth_tests::daemon;

    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start_with(&dir.path().join("st"), true);
    let sync_port = daemon::free_port();
    let mut d = daemon::start(&dir.path().join("data"), &["--sync-listen", &format!("0.0.0.0:{sync_port}")]);
    d.wait_healthy(Duration::from_secs(30));
    let out = d.cli(&["setup", "--name", "ada"], "lovelace-1815\n");
    assert!(out.status.success());
    let hearth_id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();
    // hearthd announces at start and every 30 s; Syncthing's cache of the LAN shows it.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let cache = st.get("/rest/system/discovery");
        if let Some(entry) = cache.get(&hearth_id) {
            let addrs: Vec<&str> = entry["addresses"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            assert!(addrs.iter().any(|a| a.ends_with(&format!(":{sync_port}")) && !a.contains("0.0.0.0")), "{entry}");
            break;
        }
        assert!(Instant::now() < deadline, "Syncthing never heard hearthd's announcement: {cache}\n{}", st.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}
