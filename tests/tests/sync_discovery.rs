//! Syncthing's local discovery across a LAN: a real Syncthing 1.19 in one network namespace,
//! hearthd in another, joined by a veth pair, neither told the other's address. Each hears the
//! other's broadcast; hearthd dials the laptop it has paired (Syncthing, not knowing the NAS yet,
//! lists it as pending at its namespace's address); once paired on both sides they connect and a
//! folder crosses. Needs root (namespaces), like CI.

use std::time::{Duration, Instant};

use hearth_tests::daemon;
use hearth_tests::netns::{ADDR_A, ADDR_B, NetnsPair};
use hearth_tests::syncthing::Syncthing;

#[test]
fn hearthd_and_syncthing_find_each_other_on_the_lan() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = NetnsPair::new("d");
    let st = Syncthing::start_in_netns(&dir.path().join("st"), &net.a, ADDR_A.parse().expect("ip"));
    let mut d = daemon::start_in_netns(&net.b, &dir.path().join("data"), &["--sync-listen", "0.0.0.0:22000", "--local-discovery"]);
    d.wait_healthy(Duration::from_secs(30));
    assert!(d.cli(&["setup", "--name", "ada"], "lovelace-1815\n").status.success());
    let hearth_id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();

    // The NAS pairs the laptop by id alone; it learns where it is from its announcements and
    // dials. The laptop does not know the NAS yet: it refuses and lists it as pending, at the
    // address the NAS dialled from.
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "laptop"]);
    st.wait_for("/rest/cluster/pending/devices", Duration::from_secs(90), |p| {
        p[&hearth_id]["address"].as_str().is_some_and(|a| a.starts_with(&format!("{ADDR_B}:")))
    });
    // And the laptop has heard the NAS's own announcement, with its namespace's address.
    st.wait_for("/rest/system/discovery", Duration::from_secs(60), |c| {
        c[&hearth_id]["addresses"].as_array().is_some_and(|a| a.iter().any(|x| x == &format!("tcp://{ADDR_B}:22000")))
    });

    // Paired on the laptop too (no address: "dynamic"): they connect and a folder crosses.
    st.add_device(&hearth_id, "nas", &[]);
    let nas_dir = dir.path().join("nas-docs");
    std::fs::create_dir_all(&nas_dir).expect("mkdir");
    std::fs::write(nas_dir.join("recipe.txt"), b"grandma's apple pie").expect("write");
    let laptop = dir.path().join("laptop-docs");
    st.add_folder("docs", &laptop, "receiveonly", &[&hearth_id]);
    let nas_text = nas_dir.display().to_string();
    d.json(&["sync", "folders", "add", "docs", "--path", &nas_text, "--type", "send-only", "--device", &st.device_id]);
    let v = d.wait_json(&["sync", "status"], Duration::from_secs(90), |v| {
        v["connections"].as_array().is_some_and(|c| c.iter().any(|c| c["device_id"] == st.device_id.as_str()))
    });
    assert!(v["connections"][0]["address"].as_str().is_some_and(|a| a.starts_with(ADDR_A)), "{v}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read(laptop.join("recipe.txt")).ok().as_deref() != Some(&b"grandma's apple pie"[..]) {
        assert!(Instant::now() < deadline, "the folder never crossed\n{}\n{}", d.log_text(), st.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}
