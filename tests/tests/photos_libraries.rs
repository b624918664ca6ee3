//! Folders watched in place, through a running hearthd: an external library (outside the data
//! folder, never written to) and a user's Photos folder. Moves and renames keep an asset's
//! identity (its album and favourite), a deleted file sends its photo to the trash and its
//! return brings it back, an unplugged library is left alone, and removing a library leaves its
//! files where they are.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::{daemon, http, poll};

fn run(program: &str, args: &[&str], dir: &Path) {
    let out =
        Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn photo(dir: &Path, name: &str, colour: &str, date: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    run("convert", &["-size", "640x480", &format!("gradient:{colour}"), name], dir);
    run("exiftool", &["-q", "-overwrite_original", &format!("-DateTimeOriginal={date}"), name], dir);
}

#[test]
fn watched_folders_follow_moves_deletions_and_unplugged_disks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = daemon::start(&data, &[]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ana", "ana-password-1");
    let auth = vec![format!("Cookie: {session}")];
    let call = |method: &str, path: &str, body: Option<&str>| http::request(d.http, method, path, &auth, body).expect("request");
    let count = || {
        call("GET", "/api/v1/timeline/months", None).json()["months"]
            .as_array()
            .map(|m| m.iter().filter_map(|x| x["count"].as_i64()).sum::<i64>())
            .unwrap_or(0)
    };
    let scan = || {
        let r = call("POST", "/api/v1/photos/scan", None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };

    let archive = dir.path().join("archive");
    photo(&archive, "a.jpg", "red-blue", "2019:05:01 10:00:00");
    photo(&archive.join("sub"), "b.jpg", "green-white", "2019:06:01 10:00:00");
    let before: Vec<Vec<u8>> = ["a.jpg", "sub/b.jpg"].iter().map(|f| std::fs::read(archive.join(f)).expect("read")).collect();
    assert_eq!(
        call("POST", "/api/v1/photos/libraries", Some(&format!(r#"{{"user":"ana","path":"{}"}}"#, data.display()))).status,
        400,
        "not inside the data folder"
    );
    assert_eq!(call("POST", "/api/v1/photos/libraries", Some(r#"{"user":"ana","path":"relative/photos"}"#)).status, 400);
    let r = call("POST", "/api/v1/photos/libraries", Some(&format!(r#"{{"user":"ana","path":"{}"}}"#, archive.display())));
    assert_eq!(r.status, 201, "{}", r.body);
    let library = r.json()["id"].as_i64().expect("id");
    scan();
    poll::until(Duration::from_secs(30), "the library in the timeline", || (count() == 2).then_some(()));
    let page = call("GET", "/api/v1/timeline/months/201905", None).json();
    let a = page["assets"][0]["id"].as_i64().expect("a");
    let details = call("GET", &format!("/api/v1/assets/{a}"), None).json();
    assert_eq!(
        (details["source"].as_str(), details["path"].as_str()),
        (Some("external"), Some(archive.join("a.jpg").to_str().expect("utf8")))
    );

    // Favourite it and put it in an album; then it is renamed into a subfolder.
    assert_eq!(call("PATCH", &format!("/api/v1/assets/{a}"), Some(r#"{"favourite":true}"#)).status, 204);
    let album =
        call("POST", "/api/v1/albums", Some(&format!(r#"{{"title":"Spring","assets":[{a}]}}"#))).json()["id"].as_i64().expect("album");
    std::fs::create_dir_all(archive.join("2019")).expect("mkdir");
    std::fs::rename(archive.join("a.jpg"), archive.join("2019/renamed.jpg")).expect("rename");
    let report = scan();
    assert_eq!((report["taken_in"].as_i64(), report["missing"].as_i64()), (Some(1), Some(0)), "{report}");
    let details = call("GET", &format!("/api/v1/assets/{a}"), None).json();
    assert_eq!(details["path"].as_str(), Some(archive.join("2019/renamed.jpg").to_str().expect("utf8")), "same asset, new path");
    assert_eq!(details["favourite"], true);
    assert_eq!(call("GET", &format!("/api/v1/albums/{album}/assets"), None).json()["assets"][0]["id"].as_i64(), Some(a));
    assert_eq!(count(), 2);

    // Deleted outside Hearth: to the trash; back: out of it.
    let b_bytes = std::fs::read(archive.join("sub/b.jpg")).expect("read");
    std::fs::remove_file(archive.join("sub/b.jpg")).expect("rm");
    assert_eq!(scan()["missing"].as_i64(), Some(1));
    assert_eq!(count(), 1);
    std::fs::write(archive.join("sub/b.jpg"), &b_bytes).expect("write");
    assert_eq!(scan()["back"].as_i64(), Some(1));
    assert_eq!(count(), 2);

    // Unplugged: left alone.
    std::fs::rename(&archive, dir.path().join("elsewhere")).expect("unplug");
    assert_eq!(scan()["offline"].as_i64(), Some(1));
    assert_eq!(count(), 2, "an unplugged disk is not a deletion");
    std::fs::rename(dir.path().join("elsewhere"), &archive).expect("plug back");

    // The user's own Photos folder.
    photo(&data.join("users/ana/files/Photos"), "c.jpg", "gold-navy", "2020:01:01 12:00:00");
    assert_eq!(scan()["taken_in"].as_i64(), Some(1));
    let c = call("GET", "/api/v1/timeline/months/202001", None).json()["assets"][0]["id"].as_i64().expect("c");
    assert_eq!(call("GET", &format!("/api/v1/assets/{c}"), None).json()["source"].as_str(), Some("files"));

    // Removing the library takes its photos out of the library, and nothing out of the folder.
    assert_eq!(call("DELETE", &format!("/api/v1/photos/libraries/{library}"), None).status, 204);
    assert_eq!(count(), 1);
    assert_eq!(std::fs::read(archive.join("2019/renamed.jpg")).expect("read"), before[0], "never written to");
    assert_eq!(std::fs::read(archive.join("sub/b.jpg")).expect("read"), before[1]);
}
