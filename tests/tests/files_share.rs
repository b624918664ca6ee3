//! Share links to the family's files (docs/files.md, "Share links"), used as a relative without
//! an account would, with curl: a file link (download, resume, the counter, following a
//! rename, resting while in the trash, ending when the trash is emptied), a folder link behind
//! a password (guessing throttled; browsing stays inside the folder), a drop box (never
//! replacing, the quota holding, photos dropped into the Photos folder reaching the timeline),
//! expiry and revoking.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http::{self, Response};

fn cookie_of(cookie: &str) -> [String; 1] {
    [format!("Cookie: {cookie}")]
}

fn put(d: &daemon::Daemon, cookie: &str, path: &str, bytes: &[u8]) {
    let r = http::request_bytes(
        d.http,
        "PUT",
        &format!("/dav/files/anna/{path}"),
        &cookie_of(cookie),
        Some(("application/octet-stream", bytes)),
    )
    .expect("PUT");
    assert!(r.status == 201 || r.status == 204, "PUT {path}: {} {}", r.status, r.body);
}

fn mkcol(d: &daemon::Daemon, cookie: &str, path: &str) {
    let r = http::request(d.http, "MKCOL", &format!("/dav/files/anna/{path}/"), &cookie_of(cookie), None).expect("MKCOL");
    assert_eq!(r.status, 201, "MKCOL {path}: {}", r.body);
}

fn share(d: &daemon::Daemon, cookie: &str, body: serde_json::Value) -> Response {
    http::request(d.http, "POST", "/api/v1/shares", &cookie_of(cookie), Some(&body.to_string())).expect("POST shares")
}

fn made(r: &Response) -> (i64, String) {
    assert_eq!(r.status, 201, "{}", r.body);
    let j = r.json();
    assert_eq!(j["link"], format!("/s/{}", j["token"].as_str().expect("token")));
    (j["id"].as_i64().expect("id"), j["token"].as_str().expect("token").to_string())
}

/// curl, as a relative's computer runs it: `args`, then the URL.
fn curl(args: &[&str], url: &str) -> (String, std::process::Output) {
    let out = Command::new("curl").args(["-sS", "--max-time", "60"]).args(args).arg(url).output().expect("curl");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out)
}

fn links(d: &daemon::Daemon, cookie: &str) -> Vec<serde_json::Value> {
    let r = http::request(d.http, "GET", "/api/v1/shares", &cookie_of(cookie), None).expect("GET shares");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["links"].as_array().cloned().unwrap_or_default()
}

fn link(d: &daemon::Daemon, cookie: &str, id: i64) -> serde_json::Value {
    links(d, cookie).into_iter().find(|l| l["id"] == id).expect("the link is listed")
}

fn visit(d: &daemon::Daemon, token: &str, rest: &str, extra: &[String]) -> Response {
    http::request(d.http, "GET", &format!("/api/v1/shared/{token}{rest}"), extra, None).expect("visit")
}

#[test]
fn a_file_link_downloads_counts_follows_a_rename_and_rests_in_the_trash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("anna", "anna-long-password");
    let report = hearth_tests::data::noise(300_000, 7);
    mkcol(&d, &cookie, "School");
    put(&d, &cookie, "School/report%20%C3%A9t%C3%A9.pdf", &report);

    // Refused: outside the files, missing, everything, a file that takes uploads, nothing chosen.
    for (body, status) in [
        (serde_json::json!({"path": "../secret"}), 400),
        (serde_json::json!({"path": "School/none.pdf"}), 404),
        (serde_json::json!({"path": ""}), 400),
        (serde_json::json!({"path": "School/report été.pdf", "allow_upload": true}), 400),
        (serde_json::json!({"path": "School", "allow_download": false}), 400),
        (serde_json::json!({"path": "School", "album_id": 1}), 400),
    ] {
        assert_eq!(share(&d, &cookie, body.clone()).status, status, "{body}");
    }
    let (id, token) = made(&share(&d, &cookie, serde_json::json!({"path": "School/report été.pdf", "description": "for grandpa"})));

    // The visitor's view, then the file with curl at the address handed out.
    let v = visit(&d, &token, "", &[]);
    assert_eq!(v.status, 200, "{}", v.body);
    let v = v.json();
    assert_eq!((v["kind"].as_str(), v["name"].as_str(), v["size"].as_u64()), (Some("file"), Some("report été.pdf"), Some(300_000)));
    let page = http::get(d.http, &format!("/s/{token}")).expect("page");
    assert_eq!((page.status, page.header("location")), (303, Some(format!("/#/s/{token}").as_str())));
    let got = dir.path().join("got.pdf");
    let base = format!("http://{}", d.http);
    let (_, out) = curl(&["-f", "-o", got.to_str().expect("utf-8"), "-D", "-"], &format!("{base}/s/{token}/download"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&got).expect("read"), report);
    let headers = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(
        headers.contains("content-disposition: attachment;") && headers.contains("filename*=utf-8''report%20%c3%a9t%c3%a9.pdf"),
        "{headers}"
    );
    // A download cut short and resumed counts once; a HEAD not at all.
    let part = dir.path().join("part.pdf");
    std::fs::write(&part, &report[..100_000]).expect("write");
    let (_, out) = curl(&["-f", "-C", "-", "-o", part.to_str().expect("utf-8")], &format!("{base}/api/v1/shared/{token}/download"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&part).expect("read"), report);
    let (_, out) = curl(&["-f", "-I"], &format!("{base}/s/{token}/download"));
    assert!(out.status.success());
    let l = link(&d, &cookie, id);
    assert_eq!(
        (l["kind"].as_str(), l["file_path"].as_str(), l["download_count"].as_i64()),
        (Some("files"), Some("School/report été.pdf"), Some(1))
    );

    // Changed by its owner (PATCH): a password, then none; an expiry in the past and a file
    // made a drop box are refused.
    let patch = |body: serde_json::Value| {
        http::request(d.http, "PATCH", &format!("/api/v1/shares/{id}"), &cookie_of(&cookie), Some(&body.to_string())).expect("PATCH")
    };
    let r = patch(serde_json::json!({"password": "grandpa-knows-it", "description": null}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.json()["has_password"].as_bool(), r.json()["description"].is_null()), (Some(true), true));
    assert_eq!(visit(&d, &token, "", &[]).status, 401);
    assert_eq!(patch(serde_json::json!({"password": null})).json()["has_password"], false);
    assert_eq!(visit(&d, &token, "", &[]).status, 200);
    assert_eq!(patch(serde_json::json!({"expires_at": 1})).status, 400);
    assert_eq!(patch(serde_json::json!({"allow_upload": true})).status, 400);
    assert_eq!(patch(serde_json::json!({"colour": "red"})).status, 400, "an unknown field");

    // Renamed over WebDAV: the link follows.
    let dest = format!("Destination: http://{}/dav/files/anna/Archive/", d.http);
    let r = http::request(d.http, "MOVE", "/dav/files/anna/School/", &[format!("Cookie: {cookie}"), dest], None).expect("MOVE");
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(link(&d, &cookie, id)["file_path"], "Archive/report été.pdf");
    let (_, out) = curl(&["-f", "-o", got.to_str().expect("utf-8")], &format!("{base}/s/{token}/download"));
    assert!(out.status.success());
    assert_eq!(std::fs::read(&got).expect("read"), report);

    // In the trash the link shows nothing (not even a file of the family's at the path where
    // the trash keeps the link's id meanwhile); put back, it works again; gone for good, it ends.
    mkcol(&d, &cookie, "trash");
    mkcol(&d, &cookie, "trash/1");
    put(&d, &cookie, "trash/1/report%20%C3%A9t%C3%A9.pdf", b"not for grandpa");
    let r = http::request(d.http, "DELETE", "/dav/files/anna/Archive/", &cookie_of(&cookie), None).expect("DELETE");
    assert_eq!(r.status, 204);
    assert_eq!(visit(&d, &token, "", &[]).status, 404);
    assert!(link(&d, &cookie, id)["file_path"].is_null(), "listed as in the trash");
    let trash = http::request(d.http, "GET", "/api/v1/files/trash", &cookie_of(&cookie), None).expect("trash").json();
    let trashed = trash["items"][0]["id"].as_i64().expect("a trashed item");
    let r = http::request(d.http, "POST", &format!("/api/v1/files/trash/{trashed}/restore"), &cookie_of(&cookie), None).expect("restore");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(visit(&d, &token, "", &[]).status, 200, "back from the trash, the link works");
    let r = http::request(d.http, "DELETE", "/dav/files/anna/Archive/", &cookie_of(&cookie), None).expect("DELETE");
    assert_eq!(r.status, 204);
    let r = http::request(d.http, "DELETE", "/api/v1/files/trash", &cookie_of(&cookie), None).expect("empty the trash");
    assert_eq!(r.status, 204);
    assert!(links(&d, &cookie).iter().all(|l| l["id"] != id), "the link ended with its file");
    assert_eq!(visit(&d, &token, "", &[]).status, 404);
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn a_folder_link_with_a_password_is_browsed_inside_the_folder_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("anna", "anna-long-password");
    mkcol(&d, &cookie, "Trip");
    mkcol(&d, &cookie, "Trip/day%201");
    mkcol(&d, &cookie, "Private");
    put(&d, &cookie, "Trip/map.txt", b"north");
    put(&d, &cookie, "Trip/day%201/notes.txt", b"we swam");
    put(&d, &cookie, "Private/diary.txt", b"secret");
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() + 86_400;
    let (id, token) = made(&share(&d, &cookie, serde_json::json!({"path": "Trip", "password": "grandma-pass-1", "expires_at": expires})));

    // Locked until the password; wrong guesses are throttled (429 with Retry-After).
    assert_eq!(visit(&d, &token, "", &[]).status, 401);
    assert_eq!(visit(&d, &token, "/files", &[]).status, 401);
    let unlock = |password: &str| {
        http::request(
            d.http,
            "POST",
            &format!("/api/v1/shared/{token}/unlock"),
            &[],
            Some(&serde_json::json!({"password": password}).to_string()),
        )
        .expect("unlock")
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(unlock("guess").status);
    }
    assert!(statuses.starts_with(&[401, 401, 401]) && statuses.contains(&429), "wrong passwords: {statuses:?}");
    // The right password once the box's wait is over: the test waits as long as Retry-After says.
    let mut open = unlock("grandma-pass-1");
    for _ in 0..6 {
        if open.status != 429 {
            break;
        }
        let wait: u64 = open.header("retry-after").and_then(|v| v.parse().ok()).expect("a 429 says how long to wait");
        std::thread::sleep(Duration::from_secs(wait));
        open = unlock("grandma-pass-1");
    }
    assert_eq!(open.status, 200, "{}", open.body);
    let key = format!("X-Share-Key: {}", open.json()["key"].as_str().expect("key"));
    let v = visit(&d, &token, "", std::slice::from_ref(&key)).json();
    assert_eq!((v["kind"].as_str(), v["name"].as_str(), v["expires_at"].as_u64()), (Some("folder"), Some("Trip"), Some(expires)));
    let top = visit(&d, &token, "/files", std::slice::from_ref(&key));
    assert_eq!(top.status, 200, "{}", top.body);
    let names: Vec<String> =
        top.json()["members"].as_array().expect("members").iter().map(|m| m["name"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(names, ["day 1", "map.txt"], "folders first");
    let day = visit(&d, &token, "/files?path=day%201", std::slice::from_ref(&key)).json();
    assert_eq!(day["path"], "day 1");
    assert_eq!(day["members"][0]["name"], "notes.txt");
    let got = visit(&d, &token, "/download?path=day%201/notes.txt", std::slice::from_ref(&key));
    assert_eq!((got.status, got.body.as_str()), (200, "we swam"));
    // Never outside the folder, never a folder as a file, never an upload.
    for rest in
        ["/files?path=..", "/files?path=day%201/../..", "/download?path=../Private/diary.txt", "/download?path=%2e%2e/Private/diary.txt"]
    {
        let r = visit(&d, &token, rest, std::slice::from_ref(&key));
        assert_eq!(r.status, 400, "{rest}: {}", r.body);
        assert!(!r.body.contains("secret"));
    }
    assert_eq!(visit(&d, &token, "/download?path=day%201", std::slice::from_ref(&key)).status, 400);
    assert_eq!(visit(&d, &token, "/download?path=none.txt", std::slice::from_ref(&key)).status, 404);
    let r = http::request_bytes(
        d.http,
        "POST",
        &format!("/api/v1/shared/{token}/files?name=x.txt"),
        std::slice::from_ref(&key),
        Some(("text/plain", b"x")),
    )
    .expect("POST");
    assert_eq!(r.status, 403);
    assert!(!dir.path().join("data/users/anna/files/Trip/x.txt").exists());
    // A wrong key is no key.
    assert_eq!(visit(&d, &token, "/files", &["X-Share-Key: 00".to_string()]).status, 401);

    // The whole folder as one archive, as grandma's computer saves it; Debian's unzip reads it
    // back byte for byte. Without the key, nothing; a file is not a folder; never outside it.
    let zip = dir.path().join("Trip.zip");
    let base = format!("http://{}/api/v1/shared/{token}/archive", d.http);
    let (_, out) = curl(&["-f", "-H", &key, "-o", zip.to_str().expect("utf-8"), "-D", "-"], &base);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let headers = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(headers.contains("content-type: application/zip") && headers.contains("filename*=utf-8''trip.zip"), "{headers}");
    let unzipped = dir.path().join("unzipped");
    let out = std::process::Command::new("unzip").arg("-q").arg(&zip).arg("-d").arg(&unzipped).output().expect("unzip (apt)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(unzipped.join("Trip/day 1/notes.txt")).expect("unzipped"), b"we swam");
    assert_eq!(std::fs::read(unzipped.join("Trip/map.txt")).expect("unzipped"), b"north");
    assert!(!unzipped.join("Private").exists());
    let (_, out) = curl(&["-f", "-H", &key, "-o", zip.to_str().expect("utf-8")], &format!("{base}?path=day%201"));
    assert!(out.status.success());
    let listed = std::process::Command::new("unzip").arg("-Z1").arg(&zip).output().expect("unzip");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().collect::<Vec<_>>(), ["day 1/", "day 1/notes.txt"]);
    assert_eq!(visit(&d, &token, "/archive", &[]).status, 401);
    assert_eq!(visit(&d, &token, "/archive?path=map.txt", std::slice::from_ref(&key)).status, 400);
    assert_eq!(visit(&d, &token, "/archive?path=..", std::slice::from_ref(&key)).status, 400);
    assert_eq!(visit(&d, &token, "/archive?path=none", std::slice::from_ref(&key)).status, 404);
    // The owner's own, from the Files page: any folder of theirs.
    let own = format!("http://{}/api/v1/files/archive?path=Private", d.http);
    let (_, out) = curl(&["-f", "-H", &format!("Cookie: {cookie}"), "-o", zip.to_str().expect("utf-8")], &own);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = std::process::Command::new("unzip").arg("-Z1").arg(&zip).output().expect("unzip");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().collect::<Vec<_>>(), ["Private/", "Private/diary.txt"]);
    let (_, out) = curl(&["-o", "/dev/null", "-w", "%{http_code}"], &own);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401", "signed out");

    // Revoked: gone at once.
    let r = http::request(d.http, "DELETE", &format!("/api/v1/shares/{id}"), &cookie_of(&cookie), None).expect("DELETE");
    assert_eq!(r.status, 204);
    assert_eq!(visit(&d, &token, "/files", std::slice::from_ref(&key)).status, 404);
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn a_drop_box_takes_files_without_showing_or_replacing_any() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("anna", "anna-long-password");
    mkcol(&d, &cookie, "For%20Anna");
    put(&d, &cookie, "For%20Anna/photo.jpg", b"anna's own");
    let (_, token) = made(&share(&d, &cookie, serde_json::json!({"path": "For Anna", "allow_download": false, "allow_upload": true})));
    let v = visit(&d, &token, "", &[]).json();
    assert_eq!((v["kind"].as_str(), v["allow_download"].as_bool(), v["allow_upload"].as_bool()), (Some("folder"), Some(false), Some(true)));
    assert_eq!(visit(&d, &token, "/files", &[]).status, 403, "a drop box shows nothing");
    assert_eq!(visit(&d, &token, "/download?path=photo.jpg", &[]).status, 403);

    // Two relatives send a file of the same name as Anna's: three files, Anna's untouched.
    let base = format!("http://{}/api/v1/shared/{token}/files", d.http);
    let sent = dir.path().join("photo.jpg");
    let mut given = Vec::new();
    for (i, bytes) in [b"from ben".as_slice(), b"from cy"].iter().enumerate() {
        std::fs::write(&sent, bytes).expect("write");
        let (body, out) = curl(&["-f", "--data-binary", &format!("@{}", sent.display())], &format!("{base}?name=photo.jpg"));
        assert!(out.status.success(), "drop {i}: {}", String::from_utf8_lossy(&out.stderr));
        let j: serde_json::Value = serde_json::from_str(&body).expect("json");
        given.push(j["name"].as_str().expect("name").to_string());
    }
    assert_eq!(given, ["photo (1).jpg", "photo (2).jpg"]);
    let folder = data.join("users/anna/files/For Anna");
    assert_eq!(std::fs::read(folder.join("photo.jpg")).expect("read"), b"anna's own");
    assert_eq!(std::fs::read(folder.join("photo (1).jpg")).expect("read"), b"from ben");
    assert_eq!(std::fs::read(folder.join("photo (2).jpg")).expect("read"), b"from cy");
    // Bad names are refused with a message; nothing is written.
    for name in ["..", "a%2Fb", "", "%00"] {
        let (_, out) = curl(&["-f", "--data-binary", "x"], &format!("{base}?name={name}"));
        assert!(!out.status.success(), "name {name:?} was taken");
    }
    assert_eq!(std::fs::read_dir(&folder).expect("list").count(), 3);

    // Past Anna's quota: 507, nothing left behind.
    let r = http::request(d.http, "PATCH", "/api/v1/users/anna", &cookie_of(&cookie), Some(r#"{"files_quota_mib": 1}"#)).expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.body);
    std::fs::write(&sent, hearth_tests::data::noise(2 << 20, 3)).expect("write");
    let (_, out) =
        curl(&["-o", "/dev/null", "-w", "%{http_code}", "--data-binary", &format!("@{}", sent.display())], &format!("{base}?name=big.bin"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "507");
    assert!(!folder.join("big.bin").exists());
    assert!(d.stop(Duration::from_secs(15)).success());
}

#[test]
fn photos_dropped_into_the_photos_folder_reach_the_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("anna", "anna-long-password");
    mkcol(&d, &cookie, "Photos");
    let (_, token) = made(&share(&d, &cookie, serde_json::json!({"path": "Photos", "allow_download": false, "allow_upload": true})));
    let photo = dir.path().join("IMG_2001.jpg");
    let made = Command::new("convert")
        .args(["-size", "640x480", "plasma:fractal", "-colorspace", "sRGB", "-type", "TrueColor"])
        .arg(&photo)
        .status()
        .expect("convert (scripts/test installs ImageMagick)");
    assert!(made.success());
    let (_, out) = curl(
        &["-f", "--data-binary", &format!("@{}", photo.display())],
        &format!("http://{}/api/v1/shared/{token}/files?name=IMG_2001.jpg", d.http),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = http::request(d.http, "GET", "/api/v1/timeline/months", &cookie_of(&cookie), None).expect("months");
        let months = r.json()["months"].as_array().cloned().unwrap_or_default();
        if months.iter().any(|m| m["count"].as_i64().unwrap_or(0) > 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the dropped photo never reached the timeline: {}\n{}", r.body, d.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(Path::new(&dir.path().join("data/users/anna/files/Photos/IMG_2001.jpg")).exists());
    assert!(d.stop(Duration::from_secs(15)).success());
}
