//! Folder behaviour against a real Syncthing 1.19, through hearthd: send-receive in both
//! directions, conflicts (each side winning once, the loser kept as a conflict copy named as
//! Syncthing names them), modify-beats-delete, `.stignore` on the NAS, and what send-only and
//! receive-only folders refuse to do.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use hearth_tests::daemon::{self, Daemon};
use hearth_tests::syncthing::Syncthing;

fn wait(what: &str, limit: Duration, d: &Daemon, st: &Syncthing, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}\n--- hearthd ---\n{}\n--- syncthing ---\n{}",
            d.log_text(),
            st.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn read(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

/// Write `data` with a modification time `ahead` seconds from now.
fn write_at(p: &Path, data: &[u8], ahead: u64) {
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(p, data).expect("write");
    let f = std::fs::File::options().write(true).open(p).expect("open");
    f.set_modified(SystemTime::now() + Duration::from_secs(ahead)).expect("mtime");
}

fn conflict_copies(dir: &Path, stem: &str) -> Vec<Vec<u8>> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{stem}.sync-conflict-")))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect()
}

fn folder_status(d: &Daemon, id: &str) -> serde_json::Value {
    let v = d.json(&["sync", "folders", "list"]);
    v["folders"].as_array().and_then(|a| a.iter().find(|f| f["id"] == id).cloned()).unwrap_or_default()
}

#[test]
fn folder_types_conflicts_and_ignores_behave_like_syncthing_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    assert!(d.cli(&["setup", "--name", "ada"], "lovelace-1815\n").status.success());
    let hearth_id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();
    let (phone, nas) = (dir.path().join("phone"), dir.path().join("nas"));

    // Three folders: "both" is send-receive on both sides; "out" is send-only on the NAS;
    // "in" is receive-only on the NAS. The phone's side of each would accept anything.
    st.add_device(&hearth_id, "nas", &[]);
    for id in ["both", "out", "in"] {
        st.add_folder(id, &phone.join(id), "sendreceive", &[&hearth_id]);
    }
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "phone", "--address", &format!("tcp://{}", st.listen)]);
    std::fs::create_dir_all(nas.join("both")).expect("mkdir");
    std::fs::write(nas.join("both/.stignore"), "// not for the NAS\n*.tmp\n/private\n").expect("stignore");
    for (id, kind) in [("both", "send-receive"), ("out", "send-only"), ("in", "receive-only")] {
        let path = nas.join(id).display().to_string();
        d.json(&["sync", "folders", "add", id, "--path", &path, "--type", kind, "--device", &st.device_id]);
    }

    // Send-receive, both directions.
    write_at(&phone.join("both/from-phone.txt"), b"phone", 0);
    st.scan("both");
    write_at(&nas.join("both/from-nas.txt"), b"nas", 0);
    d.json(&["sync", "folders", "scan", "both"]);
    wait("both directions", Duration::from_secs(90), &d, &st, || {
        read(&nas.join("both/from-phone.txt")).as_deref() == Some(b"phone")
            && read(&phone.join("both/from-nas.txt")).as_deref() == Some(b"nas")
    });

    // .stignore: what the patterns name neither arrives on the NAS nor leaves it.
    write_at(&phone.join("both/cache.tmp"), b"ignored", 0);
    write_at(&phone.join("both/private/diary.txt"), b"ignored", 0);
    write_at(&phone.join("both/visible.txt"), b"seen", 0);
    write_at(&nas.join("both/nas-only.tmp"), b"ignored", 0);
    write_at(&nas.join("both/nas-visible.txt"), b"seen", 0);
    st.scan("both");
    d.json(&["sync", "folders", "scan", "both"]);
    wait("the visible files", Duration::from_secs(90), &d, &st, || {
        read(&nas.join("both/visible.txt")).is_some() && read(&phone.join("both/nas-visible.txt")).is_some()
    });
    assert!(!nas.join("both/cache.tmp").exists() && !nas.join("both/private").exists(), "ignored names were pulled");
    assert!(!phone.join("both/nas-only.tmp").exists(), "an ignored name was offered");

    // Conflicts and a deletion racing a modification, made while the phone is paused.
    for (name, content) in [("c1.txt", "base 1"), ("c2.txt", "base 2"), ("d.txt", "base d")] {
        write_at(&phone.join("both").join(name), content.as_bytes(), 0);
    }
    st.scan("both");
    wait("the base versions", Duration::from_secs(90), &d, &st, || {
        ["c1.txt", "c2.txt", "d.txt"].iter().all(|n| read(&nas.join("both").join(n)).is_some())
    });
    // The phone must know the NAS holds the base versions before the pause.
    for n in ["c1.txt", "c2.txt", "d.txt"] {
        st.wait_for(&format!("/rest/db/file?folder=both&file={n}"), Duration::from_secs(60), |f| {
            f["availability"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == hearth_id.as_str()))
        });
    }
    st.send("PATCH", &format!("/rest/config/devices/{hearth_id}"), &serde_json::json!({"paused": true}));
    wait("the pause", Duration::from_secs(30), &d, &st, || {
        d.json(&["sync", "status"])["connections"].as_array().is_some_and(|c| c.is_empty())
    });
    // c1: the NAS's edit is newer and wins; c2: the phone's edit is newer and wins.
    write_at(&nas.join("both/c1.txt"), b"nas edit 1", 100);
    write_at(&phone.join("both/c1.txt"), b"phone edit 1", 50);
    write_at(&nas.join("both/c2.txt"), b"nas edit 2", 50);
    write_at(&phone.join("both/c2.txt"), b"phone edit 2", 100);
    // d: deleted on the phone, modified on the NAS: the modification wins.
    std::fs::remove_file(phone.join("both/d.txt")).expect("delete");
    write_at(&nas.join("both/d.txt"), b"nas keeps d", 0);
    st.scan("both");
    d.json(&["sync", "folders", "scan", "both"]);
    wait("the NAS's scan", Duration::from_secs(30), &d, &st, || folder_status(&d, "both")["state"] == "idle");
    std::thread::sleep(Duration::from_secs(3));
    st.send("PATCH", &format!("/rest/config/devices/{hearth_id}"), &serde_json::json!({"paused": false}));
    wait("the conflicts to settle", Duration::from_secs(120), &d, &st, || {
        let both = |n: &str| (read(&nas.join("both").join(n)), read(&phone.join("both").join(n)));
        let (n1, p1) = both("c1.txt");
        let (n2, p2) = both("c2.txt");
        let (nd, pd) = both("d.txt");
        n1.as_deref() == Some(b"nas edit 1")
            && p1 == n1
            && n2.as_deref() == Some(b"phone edit 2")
            && p2 == n2
            && nd.as_deref() == Some(b"nas keeps d")
            && pd == nd
            && conflict_copies(&nas.join("both"), "c1").contains(&b"phone edit 1".to_vec())
            && conflict_copies(&nas.join("both"), "c2").contains(&b"nas edit 2".to_vec())
            && conflict_copies(&phone.join("both"), "c2").contains(&b"nas edit 2".to_vec())
    });
    // The conflict copy the NAS made carries its short id as Syncthing writes it.
    let short: String = hearth_id.chars().take(7).collect();
    let named = std::fs::read_dir(nas.join("both")).expect("ls").flatten().any(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.starts_with("c2.sync-conflict-") && n.ends_with(&format!("-{short}.txt"))
    });
    assert!(named, "conflict copy name");

    // Send-only: the phone's change is known on the NAS but not applied.
    write_at(&nas.join("out/report.txt"), b"the NAS's report", 0);
    d.json(&["sync", "folders", "scan", "out"]);
    wait("the report on the phone", Duration::from_secs(90), &d, &st, || read(&phone.join("out/report.txt")).is_some());
    write_at(&phone.join("out/report.txt"), b"changed on the phone", 100);
    st.scan("out");
    wait("the NAS to see the phone's change", Duration::from_secs(90), &d, &st, || folder_status(&d, "out")["need_files"] == 1);
    assert_eq!(read(&nas.join("out/report.txt")).as_deref(), Some(&b"the NAS's report"[..]), "a send-only folder applied a change");
    assert!(folder_status(&d, "out")["state"] == "idle");

    // Receive-only: the phone's files arrive; the NAS's own changes stay on the NAS.
    write_at(&phone.join("in/photo.jpg"), b"a photo", 0);
    st.scan("in");
    wait("the photo", Duration::from_secs(90), &d, &st, || read(&nas.join("in/photo.jpg")).is_some());
    write_at(&nas.join("in/photo.jpg"), b"edited on the NAS", 100);
    write_at(&nas.join("in/nas-note.txt"), b"a note", 0);
    d.json(&["sync", "folders", "scan", "in"]);
    write_at(&phone.join("in/second.jpg"), b"another photo", 0);
    st.scan("in");
    wait("the second photo", Duration::from_secs(90), &d, &st, || read(&nas.join("in/second.jpg")).is_some());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(read(&phone.join("in/photo.jpg")).as_deref(), Some(&b"a photo"[..]), "a receive-only folder sent a change");
    assert!(!phone.join("in/nas-note.txt").exists(), "a receive-only folder sent a new file");
    assert!(d.stop(Duration::from_secs(15)).success());
}
