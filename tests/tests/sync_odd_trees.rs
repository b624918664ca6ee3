//! Real phone and desktop trees through Syncthing 1.19 (Debian 12) and 1.29 (what phones run),
//! both ways: empty files (every Android camera folder has `.nomedia`), an empty folder, names
//! with spaces, non-ASCII and punctuation, a deep path, permissions, and a symlink. Syncthing
//! describes an empty file with one zero-size block and 1.29 drops a connection that announces
//! a file with none; the NAS never creates a symlink (it could point anywhere) but records it
//! as unsupported, so the folder still completes.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hearth_tests::daemon::start_nas;
use hearth_tests::data::noise;
use hearth_tests::syncthing::{Syncthing, Version};

/// What a tree holds: files by name with (content, permission bits), and folders.
struct Tree {
    files: BTreeMap<String, (Vec<u8>, u32)>,
    dirs: Vec<String>,
}

fn odd_tree() -> Tree {
    let mut files = BTreeMap::new();
    let mut add = |name: &str, data: Vec<u8>, mode: u32| {
        files.insert(name.to_string(), (data, mode));
    };
    add(".nomedia", Vec::new(), 0o644);
    add("DCIM/.nomedia", Vec::new(), 0o644);
    add("DCIM/Camera/empty photo.jpg", Vec::new(), 0o644);
    add("DCIM/Camera/IMG_0001.jpg", noise(300_000, 1), 0o644);
    add("Dir with spaces/file name with spaces.txt", b"spaces".to_vec(), 0o644);
    add("Ünïcödé ファイル/写真 ☀ 2024.jpg", noise(5_000, 2), 0o644);
    add("odd #%&'()+,;=@[]{}~ name/-dash leading.txt", b"punctuation".to_vec(), 0o644);
    add("tools/run.sh", b"#!/bin/sh\necho hi\n".to_vec(), 0o755);
    add("tools/private.txt", b"secret".to_vec(), 0o600);
    let deep: Vec<String> = (0..24).map(|i| format!("level {i:02}")).collect();
    add(&format!("{}/deep.txt", deep.join("/")), noise(1_000, 3), 0o644);
    Tree { files, dirs: vec!["empty folder".into(), "Dir with spaces".into(), deep.join("/")] }
}

fn write_tree(root: &Path, tree: &Tree) {
    for d in &tree.dirs {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    for (name, (data, mode)) in &tree.files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, data).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).expect("chmod");
    }
}

/// Every file byte-exact with its permission bits, every folder there.
fn tree_matches(root: &Path, tree: &Tree) -> Result<(), String> {
    for (name, (data, mode)) in &tree.files {
        let got = std::fs::read(root.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if &got != data {
            return Err(format!("{name}: {} bytes, {} expected", got.len(), data.len()));
        }
        let m = std::fs::metadata(root.join(name)).map_err(|e| format!("{name}: {e}"))?.permissions().mode() & 0o777;
        if m != *mode {
            return Err(format!("{name}: mode {m:o}, {mode:o} expected"));
        }
    }
    for d in &tree.dirs {
        if !root.join(d).is_dir() {
            return Err(format!("{d}: no folder"));
        }
    }
    Ok(())
}

fn folder<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["folders"].as_array().and_then(|a| a.iter().find(|f| f["id"] == id)).unwrap_or(&serde_json::Value::Null)
}

/// The phone's tree (with a symlink) to the NAS, into a receive-only folder.
fn syncthing_sends_an_odd_tree(version: Version) {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start_version(&dir.path().join("st"), version, false);
    let (d, hearth_id, _) = start_nas(dir.path());
    let phone = dir.path().join("phone");
    let tree = odd_tree();
    write_tree(&phone, &tree);
    std::os::unix::fs::symlink("DCIM/Camera", phone.join("camera link")).expect("symlink");

    st.add_device(&hearth_id, "nas", &[]);
    st.add_folder("odd", &phone, "sendonly", &[&hearth_id]);
    st.wait_for("/rest/db/status?folder=odd", Duration::from_secs(60), |s| s["state"] == "idle" && s["globalFiles"].as_u64() > Some(0));
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "phone", "--address", &format!("tcp://{}", st.listen)]);
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(60), |v| {
        v["pending"].as_array().is_some_and(|p| p.iter().any(|f| f["folder_id"] == "odd"))
    });
    let nas_dir = dir.path().join("nas/odd");
    d.json(&["sync", "folders", "accept", "odd", "--path", &nas_dir.display().to_string(), "--type", "receive-only"]);
    // Syncthing's own view: the NAS has everything it needs, the symlink included.
    st.wait_for(&format!("/rest/db/completion?folder=odd&device={hearth_id}"), Duration::from_secs(120), |c| {
        c["completion"].as_f64() == Some(100.0) && c["needItems"].as_u64() == Some(0)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(why) = tree_matches(&nas_dir, &tree) {
        assert!(Instant::now() < deadline, "{version:?} → NAS: {why}\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(std::fs::symlink_metadata(nas_dir.join("camera link")).is_err(), "no symlink is made on the NAS");
    let v = d.json(&["sync", "folders", "list"]);
    assert_eq!(folder(&v, "odd")["need_files"], 0, "{v}");
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The NAS's tree to a laptop: Syncthing takes every entry and keeps the connection.
fn hearthd_sends_an_odd_tree(version: Version) {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start_version(&dir.path().join("st"), version, false);
    let (d, hearth_id, sync_addr) = start_nas(dir.path());
    let nas_dir = dir.path().join("nas/odd");
    let tree = odd_tree();
    write_tree(&nas_dir, &tree);
    let laptop = dir.path().join("laptop");
    st.add_device(&hearth_id, "nas", &[format!("tcp://{sync_addr}")]);
    st.add_folder("odd", &laptop, "receiveonly", &[&hearth_id]);
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "laptop"]);
    d.json(&["sync", "folders", "add", "odd", "--path", &nas_dir.display().to_string(), "--type", "send-only", "--device", &st.device_id]);
    let dirs_and_files = (tree.files.len() + tree.dirs.len()) as u64;
    st.wait_for("/rest/db/status?folder=odd", Duration::from_secs(120), |s| {
        s["state"] == "idle" && s["needTotalItems"].as_u64() == Some(0) && s["inSyncFiles"].as_u64() == Some(tree.files.len() as u64)
    });
    if let Err(why) = tree_matches(&laptop, &tree) {
        panic!("NAS → {version:?}: {why}\n{}", st.log());
    }
    assert!(dirs_and_files > 0);
    // Syncthing never dropped the connection over an entry it took as wrong (1.29 does for a
    // file announced with no blocks: "protocol error on index … file with empty block list").
    let log = st.log();
    for bad in ["protocol error", "empty block list"] {
        assert!(!log.to_lowercase().contains(bad), "NAS → {version:?}: Syncthing logged {bad:?}:\n{log}");
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn syncthing_1_19_sends_an_odd_tree() {
    syncthing_sends_an_odd_tree(Version::Debian12);
}

#[test]
fn syncthing_1_29_sends_an_odd_tree() {
    syncthing_sends_an_odd_tree(Version::Current);
}

#[test]
fn hearthd_sends_an_odd_tree_to_syncthing_1_19() {
    hearthd_sends_an_odd_tree(Version::Debian12);
}

#[test]
fn hearthd_sends_an_odd_tree_to_syncthing_1_29() {
    hearthd_sends_an_odd_tree(Version::Current);
}

/// `folders accept` with nothing offered is refused (it used to make a folder shared with
/// nobody); an offer for a folder id the NAS already has is accepted into that folder.
#[test]
fn accepting_needs_an_offer_and_joins_an_existing_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start_version(&dir.path().join("st"), Version::Current, false);
    let (d, hearth_id, _) = start_nas(dir.path());
    let out = d.cli(&["sync", "folders", "accept", "photos"], "");
    assert!(!out.status.success(), "accepting nothing must fail");
    assert!(String::from_utf8_lossy(&out.stderr).contains("offers"), "{}", String::from_utf8_lossy(&out.stderr));
    let v = d.json(&["sync", "folders", "list"]);
    assert!(folder(&v, "photos").is_null(), "no folder was made: {v}");

    // The NAS has a folder "photos" already (shared with nobody yet); then the laptop offers it.
    let nas_dir = dir.path().join("nas/photos");
    d.json(&["sync", "folders", "add", "photos", "--path", &nas_dir.display().to_string(), "--type", "receive-only"]);
    let laptop = dir.path().join("laptop");
    write_tree(&laptop, &odd_tree());
    st.add_device(&hearth_id, "nas", &[]);
    st.add_folder("photos", &laptop, "sendonly", &[&hearth_id]);
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "laptop", "--address", &format!("tcp://{}", st.listen)]);
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(60), |v| {
        v["pending"].as_array().is_some_and(|p| p.iter().any(|f| f["folder_id"] == "photos"))
    });
    let v = d.json(&["sync", "folders", "accept", "photos"]);
    assert_eq!(v["path"], nas_dir.display().to_string(), "the existing folder keeps its place: {v}");
    let v = d.json(&["sync", "folders", "list"]);
    assert!(v["pending"].as_array().is_some_and(|p| p.is_empty()), "the offer is taken: {v}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Err(why) = tree_matches(&nas_dir, &odd_tree()) {
        assert!(Instant::now() < deadline, "{why}\n{}", d.log_text());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}
