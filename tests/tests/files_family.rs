//! Family folders (docs/files.md, "Family folders") with real clients: the owner makes one,
//! fills it with Debian's rclone, another member reaches it read-only at the root of their own
//! files (rclone copies it down byte for byte; its writes are refused and leave nothing), files
//! move into it and out of it on the box (rclone's MOVE and COPY), Nextcloud's own sync client
//! (`nextcloudcmd`) syncs it as the owner's folder, both ways, and `hearth family-folders` manages
//! them from the box's command line.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http;

fn remote(dir: &Path, d: &daemon::Daemon, user: &str, token: &str) -> std::path::PathBuf {
    let config = dir.join(format!("rclone-{user}.conf"));
    let obscured = Command::new("rclone").args(["obscure", token]).output().expect("rclone obscure");
    let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    let text = format!(
        "[box]\ntype = webdav\nurl = http://{}/remote.php/dav/files/{user}\nvendor = nextcloud\nuser = {user}\npass = {obscured}\n",
        d.http
    );
    std::fs::write(&config, text).expect("config");
    config
}

fn rclone(args: &[&str], config: &Path) -> Output {
    Command::new("rclone")
        .arg("--config")
        .arg(config)
        .args(["--retries", "1", "--low-level-retries", "1"])
        .args(args)
        .output()
        .expect("rclone (scripts/test installs Debian's rclone)")
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn api(d: &daemon::Daemon, cookie: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> http::Response {
    let body = body.map(|b| b.to_string());
    http::request(d.http, method, path, &[format!("Cookie: {cookie}")], body.as_deref()).expect("API")
}

#[test]
fn a_family_folder_is_shared_read_write_and_read_only_with_real_clients() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(Duration::from_secs(20));
    let ada = d.claim("ada", "ada-long-password");
    let r = api(&d, &ada, "POST", "/api/v1/users", Some(serde_json::json!({"name": "ben", "password": "ben-long-password"})));
    assert_eq!(r.status, 201, "{}", r.body);
    let ben = d.login("ben", "ben-long-password");
    let (ada_token, ben_token) = (d.app_password(&ada, "laptop"), d.app_password(&ben, "laptop"));
    let (ada_rc, ben_rc) = (remote(dir.path(), &d, "ada", &ada_token), remote(dir.path(), &d, "ben", &ben_token));

    // A name one member's own files already use is refused (the family folder would hide it).
    ok(rclone(&["mkdir", "box:Docs"], &ada_rc), "mkdir");
    let r = api(
        &d,
        &ada,
        "POST",
        "/api/v1/family-folders",
        Some(serde_json::json!({"name": "docs", "members": [{"name": "ada", "access": "write"}]})),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    for bad in ["", "..", "a/b"] {
        let r = api(&d, &ada, "POST", "/api/v1/family-folders", Some(serde_json::json!({"name": bad})));
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
    }
    let r = api(&d, &ben, "POST", "/api/v1/family-folders", Some(serde_json::json!({"name": "Mine"})));
    assert_eq!(r.status, 403, "members do not make family folders");
    let r = api(
        &d,
        &ada,
        "POST",
        "/api/v1/family-folders",
        Some(serde_json::json!({"name": "Family 🏡", "members": [{"name": "ada", "access": "write"}, {"name": "ben", "access": "read"}]})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_i64().expect("id");

    // Ada fills it with rclone; it is the family folder's, not in her own files.
    let local = dir.path().join("local");
    std::fs::create_dir_all(local.join("Holidays/2026")).expect("mkdir");
    std::fs::write(local.join("Holidays/2026/plan ünï.txt"), "camping").expect("write");
    std::fs::write(local.join("budget.csv"), hearth_tests::data::noise(3 << 20, 5)).expect("write");
    ok(rclone(&["copy", local.to_str().expect("utf-8"), "box:Family 🏡"], &ada_rc), "ada copies up");
    let stored = data.join(format!("family/{id}/files"));
    let keep = |_: &str| false;
    assert_eq!(hearth_tests::data::tree(&stored, keep), hearth_tests::data::tree(&local, keep), "on the box byte for byte");
    assert!(!data.join("users/ada/files/Family 🏡").exists());

    // Ben sees it at the root of his files, reads it, cannot change it.
    let listing = ok(rclone(&["lsf", "box:"], &ben_rc), "ben lists");
    assert_eq!(listing.lines().collect::<Vec<_>>(), ["Family 🏡/"], "{listing}");
    let down = dir.path().join("ben-down");
    ok(rclone(&["copy", "box:Family 🏡", down.to_str().expect("utf-8")], &ben_rc), "ben copies down");
    assert_eq!(hearth_tests::data::tree(&down, keep), hearth_tests::data::tree(&local, keep));
    let mine = dir.path().join("ben-file.txt");
    std::fs::write(&mine, "ben's").expect("write");
    let refused = rclone(&["copyto", mine.to_str().expect("utf-8"), "box:Family 🏡/ben.txt"], &ben_rc);
    assert!(!refused.status.success(), "a read-only member wrote");
    assert!(!refused.status.success() && !stored.join("ben.txt").exists());
    assert!(!rclone(&["delete", "box:Family 🏡/budget.csv"], &ben_rc).status.success() || stored.join("budget.csv").exists());
    assert!(stored.join("budget.csv").exists(), "a read-only member deleted");
    let propfind = http::request(
        d.http,
        "PROPFIND",
        "/remote.php/dav/files/ben/",
        &[http::basic("ben", &ben_token), "Depth: 1".into()],
        Some(r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:permissions/></d:prop></d:propfind>"#),
    )
    .expect("PROPFIND");
    assert!(propfind.body.contains(">SG<"), "read-only for ben: {}", propfind.body);

    // Ada syncs her files with Nextcloud's client: the family folder comes down, and a change
    // there goes up to the family folder.
    let home = dir.path().join("nc-home");
    let sync = dir.path().join("nc");
    std::fs::create_dir_all(&sync).expect("mkdir");
    let nextcloudcmd = |extra: &[&str]| {
        Command::new("nextcloudcmd")
            .args(["-u", "ada", "-p", &ada_token, "--non-interactive", "--max-sync-retries", "1"])
            .args(extra)
            .arg(&sync)
            .arg(format!("http://{}", d.http))
            .env("HOME", &home)
            .env("QT_QPA_PLATFORM", "offscreen")
            .output()
            .expect("nextcloudcmd (scripts/test installs Debian's nextcloud-desktop-cmd)")
    };
    ok(nextcloudcmd(&[]), "nextcloudcmd down");
    assert_eq!(std::fs::read(sync.join("Family 🏡/Holidays/2026/plan ünï.txt")).expect("synced down"), b"camping");
    let note = sync.join("Family 🏡/Holidays/2026/packing.txt");
    std::fs::write(&note, "tent").expect("write");
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&note).and_then(|f| f.set_modified(hour_ago)).expect("mtime");
    ok(nextcloudcmd(&[]), "nextcloudcmd up");
    assert_eq!(std::fs::read(stored.join("Holidays/2026/packing.txt")).expect("synced up"), b"tent");

    // Moved between her own files and the family folder on the box (rclone's server-side MOVE),
    // and copied out by Ben (COPY), who may not move it out.
    std::fs::write(dir.path().join("list.txt"), "milk, eggs").expect("write");
    ok(rclone(&["copyto", dir.path().join("list.txt").to_str().expect("utf-8"), "box:Notes/list.txt"], &ada_rc), "ada uploads");
    ok(rclone(&["moveto", "box:Notes/list.txt", "box:Family 🏡/list.txt"], &ada_rc), "ada moves it in");
    assert_eq!(std::fs::read(stored.join("list.txt")).expect("in the family folder"), b"milk, eggs");
    assert!(!data.join("users/ada/files/Notes/list.txt").exists());
    ok(rclone(&["copyto", "box:Family 🏡/list.txt", "box:mine.txt"], &ben_rc), "ben copies it out");
    assert_eq!(std::fs::read(data.join("users/ben/files/mine.txt")).expect("in ben's files"), b"milk, eggs");
    assert!(!rclone(&["moveto", "box:Family 🏡/list.txt", "box:moved.txt"], &ben_rc).status.success(), "a reader moved out");
    assert!(stored.join("list.txt").exists() && !data.join("users/ben/files/moved.txt").exists());
    ok(rclone(&["deletefile", "box:mine.txt"], &ben_rc), "ben deletes his copy");
    assert!(api(&d, &ben, "DELETE", "/api/v1/files/trash", None).status < 300, "ben empties his trash");

    // Links to what is in the family folder: made by a member who may change it (not by a
    // reader), a file link following its file out into Ada's own files, a drop box at the
    // family folder itself that stops taking files while Ada may only read it.
    let link = |cookie: &str, body: serde_json::Value| api(&d, cookie, "POST", "/api/v1/shares", Some(body));
    assert_eq!(link(&ben, serde_json::json!({"path": "Family 🏡/list.txt", "allow_download": true})).status, 403, "a reader shared");
    let r = link(&ada, serde_json::json!({"path": "Family 🏡/list.txt", "allow_download": true}));
    assert_eq!(r.status, 201, "{}", r.body);
    let file_token = r.json()["token"].as_str().expect("token").to_string();
    let r = link(&ada, serde_json::json!({"path": "Family 🏡", "allow_upload": true}));
    assert_eq!(r.status, 201, "{}", r.body);
    let drop_token = r.json()["token"].as_str().expect("token").to_string();
    let visitor = |method: &str, path: String, body: Option<&str>| http::request(d.http, method, &path, &[], body).expect("visitor");
    assert_eq!(visitor("GET", format!("/s/{file_token}/download"), None).body, "milk, eggs");
    assert_eq!(visitor("GET", format!("/api/v1/shared/{drop_token}"), None).json()["name"], "Family 🏡");
    let dropped = visitor("POST", format!("/api/v1/shared/{drop_token}/files?name=from%20grandma.txt"), Some("hello"));
    assert_eq!(dropped.status, 201, "{}", dropped.body);
    assert_eq!(std::fs::read(stored.join("from grandma.txt")).expect("dropped"), b"hello");
    let shown = api(&d, &ada, "GET", "/api/v1/shares", None).json();
    let paths: Vec<&str> = shown["links"].as_array().into_iter().flatten().filter_map(|l| l["file_path"].as_str()).collect();
    assert_eq!(paths.len(), 2, "{shown}");
    assert!(paths.contains(&"Family 🏡/list.txt") && paths.contains(&"Family 🏡"), "{shown}");
    let r = api(&d, &ada, "PUT", &format!("/api/v1/family-folders/{id}/members/ada"), Some(serde_json::json!({"access": "read"})));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(visitor("POST", format!("/api/v1/shared/{drop_token}/files?name=late.txt"), Some("x")).status, 403);
    assert!(!stored.join("late.txt").exists());
    let r = api(&d, &ada, "PUT", &format!("/api/v1/family-folders/{id}/members/ada"), Some(serde_json::json!({"access": "write"})));
    assert_eq!(r.status, 200, "{}", r.body);
    ok(rclone(&["deletefile", "box:Family 🏡/from grandma.txt"], &ada_rc), "ada deletes the dropped file");

    ok(rclone(&["moveto", "box:Family 🏡/list.txt", "box:Notes/list.txt"], &ada_rc), "ada moves it back");
    assert!(data.join("users/ada/files/Notes/list.txt").exists() && !stored.join("list.txt").exists());
    assert_eq!(visitor("GET", format!("/s/{file_token}/download"), None).body, "milk, eggs", "the link followed its file");
    let shown = api(&d, &ada, "GET", "/api/v1/shares", None).json();
    assert!(shown["links"].as_array().into_iter().flatten().any(|l| l["file_path"] == "Notes/list.txt"), "{shown}");

    // What Ada replaces or deletes there is kept: a version, and her trash (not Ben's, who
    // may only read), put back from it.
    std::fs::write(local.join("budget.csv"), "rewritten").expect("write");
    ok(rclone(&["copy", local.to_str().expect("utf-8"), "box:Family 🏡"], &ada_rc), "ada replaces");
    let versions = api(&d, &ada, "GET", "/api/v1/files/versions?path=Family%20%F0%9F%8F%A1/budget.csv", None);
    assert_eq!(versions.json()["versions"].as_array().map(Vec::len), Some(1), "{}", versions.body);
    ok(rclone(&["delete", "box:Family 🏡/Holidays"], &ada_rc), "ada deletes");
    assert!(!stored.join("Holidays/2026/plan ünï.txt").exists());
    let trash = api(&d, &ada, "GET", "/api/v1/files/trash", None).json();
    let item =
        trash["items"].as_array().and_then(|items| items.iter().find(|i| i["path"] == "Family 🏡/Holidays/2026/plan ünï.txt").cloned());
    let item = item.unwrap_or_else(|| panic!("the deleted file in Ada's trash: {trash}"));
    assert_eq!(item["family_folder"], "Family 🏡");
    assert_eq!(api(&d, &ben, "GET", "/api/v1/files/trash", None).json()["items"], serde_json::json!([]), "a reader's trash");
    // The same through Nextcloud's addresses, which the apps' "Deleted files" and "Versions"
    // use: the family folder's deleted file in Ada's trashbin (not Ben's), its versions by id.
    let dav = |user: &str, token: &str, method: &str, path: &str, depth: &str, body: Option<&str>| {
        let mut headers = vec![http::basic(user, token)];
        if !depth.is_empty() {
            headers.push(format!("Depth: {depth}"));
        }
        http::request(d.http, method, path, &headers, body).expect("WebDAV")
    };
    let bin = dav("ada", &ada_token, "PROPFIND", "/remote.php/dav/trashbin/ada/trash/", "1", None);
    assert!(bin.body.contains(">Family 🏡/Holidays/2026/plan ünï.txt</p:trashbin-original-location>"), "{}", bin.body);
    let ben_bin = dav("ben", &ben_token, "PROPFIND", "/remote.php/dav/trashbin/ben/trash/", "1", None);
    assert!(!ben_bin.body.contains("Family"), "a reader's trashbin: {}", ben_bin.body);
    let fileid =
        r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:fileid/></d:prop></d:propfind>"#;
    let props = dav("ada", &ada_token, "PROPFIND", "/remote.php/dav/files/ada/Family%20%F0%9F%8F%A1/budget.csv", "0", Some(fileid));
    let file_id = props.body.split("</p:fileid>").next().and_then(|v| v.rsplit('>').next()).expect("oc:fileid").to_string();
    assert!(file_id.parse::<i64>().is_ok(), "{}", props.body);
    let listed = dav("ada", &ada_token, "PROPFIND", &format!("/remote.php/dav/versions/ada/versions/{file_id}/"), "1", None);
    let version = listed.body.split(&format!("/versions/{file_id}/")).nth(2).and_then(|v| v.split('<').next());
    let version = version.unwrap_or_else(|| panic!("a version of {file_id}: {} {}", listed.status, listed.body));
    let old = dav("ada", &ada_token, "GET", &format!("/remote.php/dav/versions/ada/versions/{file_id}/{version}"), "", None);
    assert_eq!((old.status, old.header("content-length")), (200, Some("3145728")), "the version before the rewrite");
    let read = dav("ben", &ben_token, "GET", &format!("/remote.php/dav/versions/ben/versions/{file_id}/{version}"), "", None);
    assert_eq!(read.status, 200, "a reader reads a version");
    let restore = |user: &str, token: &str| {
        let headers = [http::basic(user, token), format!("Destination: http://{}/remote.php/dav/versions/{user}/restore/target", d.http)];
        http::request(d.http, "COPY", &format!("/remote.php/dav/versions/{user}/versions/{file_id}/{version}"), &headers, None)
            .expect("COPY")
    };
    assert_eq!(restore("ben", &ben_token).status, 403, "a reader put a version back");
    assert_eq!(restore("ada", &ada_token).status, 204);
    assert_eq!(std::fs::metadata(stored.join("budget.csv")).expect("restored").len(), 3 << 20);

    let back = api(&d, &ada, "POST", &format!("/api/v1/files/trash/{}/restore", item["id"]), None);
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(std::fs::read(stored.join("Holidays/2026/plan ünï.txt")).expect("back"), b"camping");

    // Not empty: not deleted. Ben taken off: gone from his files, the folder's files stay.
    assert_eq!(api(&d, &ada, "DELETE", &format!("/api/v1/family-folders/{id}"), None).status, 409);
    assert_eq!(api(&d, &ada, "DELETE", &format!("/api/v1/family-folders/{id}/members/ben"), None).status, 204);
    assert_eq!(ok(rclone(&["lsf", "box:"], &ben_rc), "ben lists").trim(), "");
    assert!(stored.join("budget.csv").exists());
    let listed = api(&d, &ada, "GET", "/api/v1/family-folders", None).json();
    assert_eq!(listed["folders"][0]["members"], serde_json::json!([{"name": "ada", "access": "write"}]));

    // The same from the box's command line, folders named by name (any case) or id.
    let cli = |args: &[&str]| d.cli(args, "");
    let text = |out: Output| ok(out, "hearth family-folders");
    assert!(text(cli(&["family-folders", "list"])).contains("Family 🏡  ada (write)"));
    text(cli(&["family-folders", "member", "family 🏡", "ben", "read"]));
    assert_eq!(ok(rclone(&["lsf", "box:"], &ben_rc), "ben lists").trim(), "Family 🏡/", "ben sees it again");
    let both = cli(&["family-folders", "add", "School", "--writer", "ben", "--reader", "Ben"]);
    assert!(!both.status.success() && String::from_utf8_lossy(&both.stderr).contains("both"));
    assert!(text(cli(&["family-folders", "add", "School", "--writer", "ben"])).contains("School  ben (write)"));
    assert_eq!(ok(rclone(&["lsf", "box:"], &ben_rc), "ben lists").lines().collect::<Vec<_>>(), ["Family 🏡/", "School/"]);
    let unknown = cli(&["family-folders", "member", "Nowhere", "ben", "read"]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("no family folder is named"));
    assert!(!cli(&["family-folders", "member", "School", "nobody", "read"]).status.success(), "an unknown member");
    assert!(!cli(&["family-folders", "remove", &id.to_string()]).status.success(), "not empty");
    text(cli(&["family-folders", "member", "School", "ben", "none"]));
    text(cli(&["family-folders", "remove", "school"]));
    assert!(!text(cli(&["family-folders", "list"])).contains("School"));
    assert!(d.stop(Duration::from_secs(15)).success());
}
