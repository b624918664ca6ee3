//! Hearth's BEP identity and handshake against a real Syncthing 1.19: the device id Hearth
//! computes for Syncthing's certificate is the one Syncthing prints; Hearth's own certificate
//! passes Syncthing's TLS 1.3 handshake; the Hello exchange works both ways; and Syncthing,
//! which does not know Hearth yet, lists it as a pending device under the name Hearth gave.

use std::time::{Duration, Instant};

use hearth_sync::DeviceId;
use hearth_sync::connection::connect;
use hearth_sync::identity::Identity;
use hearth_sync::protocol::messages::Hello;
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
