//! End to end: photos a real Syncthing (the phone) sends into a folder marked as a camera folder
//! appear in the owner's timeline with their date, place and thumbnails: those already synced when
//! the folder is marked, and those that arrive afterwards.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::syncthing::Syncthing;
use hearth_tests::{daemon, http, poll};

fn run(program: &str, args: &[&str], dir: &Path) {
    let out =
        Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A camera JPEG with a date (and its offset) and a place.
fn camera_photo(dir: &Path, name: &str, date: &str, lat: &str, lon: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    run("convert", &["-size", "1600x1200", "plasma:fractal", name], dir);
    run(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            &format!("-DateTimeOriginal={date}"),
            "-OffsetTimeOriginal=+02:00",
            &format!("-GPSLatitude={lat}"),
            "-GPSLatitudeRef=N",
            &format!("-GPSLongitude={lon}"),
            "-GPSLongitudeRef=E",
            name,
        ],
        dir,
    );
}

#[test]
fn photos_from_a_syncthing_camera_folder_appear_in_the_timeline() {
    let dir = tempfile::tempdir().expect("tmp");
    let st = Syncthing::start(&dir.path().join("st"));
    let sync_addr = format!("127.0.0.1:{}", daemon::free_port());
    let mut d = daemon::start(&dir.path().join("data"), &["--sync-listen", &sync_addr]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ada", "lovelace-1815");
    let auth = [format!("Cookie: {session}")];
    let hearth_id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();

    let camera = dir.path().join("phone/DCIM");
    camera_photo(&camera.join("Camera"), "IMG_0001.jpg", "2024:07:14 18:03:22", "48.8584", "2.2945");
    st.add_device(&hearth_id, "nas", &[]);
    st.add_folder("phone-camera", &dir.path().join("phone"), "sendonly", &[&hearth_id]);
    d.json(&["sync", "devices", "add", &st.device_id, "--name", "phone", "--address", &format!("tcp://{}", st.listen)]);
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(60), |v| {
        v["pending"].as_array().is_some_and(|p| p.iter().any(|f| f["folder_id"] == "phone-camera"))
    });
    d.json(&["sync", "folders", "accept", "phone-camera", "--type", "receive-only"]);
    d.wait_json(&["sync", "folders", "list"], Duration::from_secs(120), |v| {
        v["folders"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == "phone-camera"))
            .is_some_and(|f| f["local_files"].as_u64() >= Some(1) && f["need_files"] == 0)
    });

    // Marked as Ada's camera folder: the photo already there joins her timeline.
    let r = http::request(d.http, "PUT", "/api/v1/photos/camera-folders/phone-camera", &auth, Some(r#"{"user":"ada"}"#)).expect("mark");
    assert_eq!(r.status, 202, "{}", r.body);
    let months = |auth: &[String]| http::request(d.http, "GET", "/api/v1/timeline/months", auth, None).expect("months").json();
    poll::until(Duration::from_secs(60), "the synced photo in the timeline", || {
        (months(&auth)["months"] == serde_json::json!([{"month": 202407, "count": 1}])).then_some(())
    });

    // A photo taken later arrives by sync and joins within seconds.
    camera_photo(&camera.join("Camera"), "IMG_0002.jpg", "2024:08:01 09:00:00", "43.2965", "5.3698");
    st.scan("phone-camera");
    poll::until(Duration::from_secs(120), "the arriving photo in the timeline", || {
        (months(&auth)["months"] == serde_json::json!([{"month": 202408, "count": 1}, {"month": 202407, "count": 1}])).then_some(())
    });
    let page = http::request(d.http, "GET", "/api/v1/timeline/months/202408", &auth, None).expect("page").json();
    let id = page["assets"][0]["id"].as_i64().expect("id");
    assert_eq!(page["assets"][0]["taken_at"], 1_722_495_600, "09:00 at +02:00 is 07:00 UTC");
    // The thumbnail worker makes it soon after (503 with Retry-After until then).
    let thumb = poll::until(Duration::from_secs(60), "the thumbnail", || {
        let t = http::request(d.http, "GET", &format!("/api/v1/assets/{id}/thumbnail"), &auth, None).expect("thumbnail");
        (t.status != 503).then_some(t)
    });
    assert_eq!(thumb.status, 200, "{}", thumb.body);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    let map = http::request(d.http, "GET", "/api/v1/map/markers?zoom=16&south=43.29&west=5.36&north=43.30&east=5.38", &auth, None)
        .expect("map")
        .json();
    assert_eq!(map["markers"][0]["asset_id"], id, "{map}");
    let details = http::request(d.http, "GET", &format!("/api/v1/assets/{id}"), &auth, None).expect("details").json();
    assert_eq!(details["city"].as_str(), Some("Marseille"), "named offline: {details}");

    // Renamed on the phone: sync delivers it under the new name (and versions the old one away);
    // it is the same asset, with its favourite, at its new path.
    let r = http::request(d.http, "PATCH", &format!("/api/v1/assets/{id}"), &auth, Some(r#"{"favourite":true}"#)).expect("favourite");
    assert_eq!(r.status, 204);
    std::fs::rename(camera.join("Camera/IMG_0002.jpg"), camera.join("Camera/Marseille.jpg")).expect("rename");
    st.scan("phone-camera");
    let details = poll::until(Duration::from_secs(120), "the asset to follow the rename", || {
        let d = http::request(d.http, "GET", &format!("/api/v1/assets/{id}"), &auth, None).expect("details").json();
        d["path"].as_str().is_some_and(|p| p.ends_with("Camera/Marseille.jpg")).then_some(d)
    });
    assert_eq!(details["favourite"], true, "{details}");
    assert_eq!(
        months(&auth)["months"],
        serde_json::json!([{"month": 202408, "count": 1}, {"month": 202407, "count": 1}]),
        "not duplicated"
    );
}
