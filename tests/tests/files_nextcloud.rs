//! The family's files with the Nextcloud clients, as nobody here wrote them: Debian's
//! `nextcloudcmd` (Nextcloud's own sync client) syncing a tree both ways with an app password,
//! a 200 MiB file going up in chunks and surviving the box going away mid-upload; and a replay
//! of the Android app's login and auto-upload, written from its source (docs/files.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use hearth_tests::daemon::{self, start};
use hearth_tests::http;

fn nextcloudcmd(home: &Path, local: &Path, url: &str, token: &str, extra: &[&str]) -> Output {
    Command::new("nextcloudcmd")
        .args(["-u", "anna", "-p", token, "--non-interactive", "--max-sync-retries", "1"])
        .args(extra)
        .arg(local)
        .arg(url)
        .env("HOME", home)
        .env("QT_QPA_PLATFORM", "offscreen")
        .output()
        .expect("nextcloudcmd (scripts/test installs Debian's nextcloud-desktop-cmd)")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// Files below `root` (folders end in `/`), leaving out the sync client's own journal files.
fn tree_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    hearth_tests::data::tree(root, |rel| rel.starts_with(".sync_") || rel.starts_with("._sync_") || rel == ".nextcloudsync.log")
}

/// Dates a file an hour back: nextcloudcmd leaves a file written within the last seconds for
/// a later sync ("still changing"), which a test must not depend on.
fn settled(path: &Path) {
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(path).and_then(|f| f.set_modified(hour_ago)).expect("set mtime");
}

/// [`settled`] for every file below `root`.
fn settle_all(root: &Path) {
    for e in std::fs::read_dir(root).expect("read_dir").flatten() {
        if e.path().is_dir() {
            settle_all(&e.path());
        } else {
            settled(&e.path());
        }
    }
}

fn basic(token: &str) -> [String; 1] {
    [http::basic("anna", token)]
}

#[test]
fn nextcloudcmd_syncs_a_tree_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "laptop");
    let url = format!("http://{}", d.http);
    // A family's folder: odd names, an empty file, nesting, and a file large enough to go up in
    // chunks (nextcloudcmd chunks above 10 MB).
    let local = dir.path().join("local");
    std::fs::create_dir_all(local.join("School/Année 2026/#1 & more")).expect("mkdir");
    std::fs::write(local.join("School/notes.txt"), "maths on monday\n").expect("write");
    std::fs::write(local.join("School/Année 2026/empty"), "").expect("write");
    std::fs::write(local.join("School/Année 2026/#1 & more/ünïcödé 😀.txt"), "x").expect("write");
    std::fs::write(local.join("School/100%.txt"), "percent").expect("write");
    std::fs::write(local.join("scan.bin"), hearth_tests::data::noise(25 << 20, 7)).expect("write");
    settle_all(&local);

    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    assert!(out.status.success(), "nextcloudcmd up:\n{}\n{}", text(&out), d.log_text());
    assert!(text(&out).contains("/remote.php/dav/uploads/anna/"), "the large file went up in chunks:\n{}", text(&out));
    let home = d.data.join("users/anna/files");
    assert_eq!(tree_of(&home), tree_of(&local), "what nextcloudcmd sent is on the box byte for byte\n{}", text(&out));

    // Another device changes the box (a new file in a folder, one replaced); the laptop edits,
    // deletes and renames. The next sync brings both sides together.
    let auth = basic(&token);
    let put = |path: &str, body: &[u8]| {
        let r = http::request_bytes(d.http, "PUT", path, &auth, Some(("application/octet-stream", body))).expect("PUT");
        assert!(r.status == 201 || r.status == 204, "PUT {path}: {} {}", r.status, r.body);
    };
    put("/remote.php/dav/files/anna/School/Ann%C3%A9e%202026/from-the-phone.txt", b"written elsewhere");
    put("/remote.php/dav/files/anna/School/Ann%C3%A9e%202026/empty", b"no longer empty");
    std::fs::write(local.join("School/notes.txt"), "maths on tuesday\n").expect("write");
    settled(&local.join("School/notes.txt"));
    std::fs::remove_file(local.join("School/100%.txt")).expect("rm");
    std::fs::rename(local.join("School/Année 2026/#1 & more"), local.join("School/Année 2026/renamed")).expect("rename");
    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    assert!(out.status.success(), "nextcloudcmd both ways:\n{}\n{}", text(&out), d.log_text());
    assert_eq!(std::fs::read(local.join("School/Année 2026/from-the-phone.txt")).expect("came down"), b"written elsewhere");
    assert_eq!(std::fs::read(local.join("School/Année 2026/empty")).expect("came down"), b"no longer empty");
    assert!(!home.join("School/100%.txt").exists(), "the deletion went up");
    assert!(home.join("School/Année 2026/renamed/ünïcödé 😀.txt").exists(), "the rename went up");
    assert_eq!(tree_of(&home), tree_of(&local), "both sides agree after the second sync\n{}", text(&out));
    // A third run finds nothing to do: the box's ETags and file ids are stable.
    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    assert!(out.status.success(), "nextcloudcmd again:\n{}", text(&out));
    let t = text(&out);
    assert!(!t.contains("PUT of") && !t.contains("GET of") && !t.contains("MKCOL of"), "nothing moved the third time:\n{t}");
}

/// A 200 MiB file goes up in chunks; the box goes away (killed) once the first chunk is in.
/// After it comes back, the next sync resumes the upload, reusing the chunk the box kept, and
/// the file arrives whole. Nothing here waits for time: the kill follows the chunk's arrival,
/// and the first run's upload is slowed so that its remaining chunks are still on their way.
#[test]
fn a_chunked_upload_cut_by_the_box_going_away_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "laptop");
    let url = format!("http://{}", d.http);
    let (http_addr, https_addr) = (d.http, d.https);
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).expect("mkdir");
    let video = hearth_tests::data::noise(200 << 20, 11);
    std::fs::write(local.join("holiday.mp4"), &video).expect("write");
    settled(&local.join("holiday.mp4"));

    let (home, local2, url2, token2) = (dir.path().to_path_buf(), local.clone(), url.clone(), token.clone());
    let first = std::thread::spawn(move || nextcloudcmd(&home, &local2, &url2, &token2, &["--uplimit", "4000"]));
    let uploads = data.join("users/anna/.dav-uploads");
    let chunk_in = |_: ()| -> Option<PathBuf> {
        std::fs::read_dir(&uploads).ok()?.flatten().find_map(|u| std::fs::read_dir(u.path()).ok()?.flatten().next().map(|c| c.path()))
    };
    let mut chunk = None;
    for _ in 0..6000 {
        chunk = chunk_in(());
        if chunk.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let chunk = chunk.unwrap_or_else(|| panic!("no chunk arrived:\n{}", d.log_text()));
    d.kill();
    let out = first.join().expect("first run");
    assert!(!out.status.success(), "the first run failed with the box gone:\n{}", text(&out));
    assert!(chunk.exists(), "the box kept the chunk it had");

    let mut d = daemon::start_with(&data, http_addr, https_addr, &[]);
    d.wait_healthy(Duration::from_secs(20));
    let out = nextcloudcmd(dir.path(), &local, &url, &token, &[]);
    let t = text(&out);
    assert!(out.status.success(), "the second run:\n{t}\n{}", d.log_text());
    assert!(t.contains("Resuming"), "nextcloudcmd resumed the upload:\n{t}");
    let chunk_name = chunk.file_name().expect("name").to_string_lossy().into_owned();
    assert!(!t.contains(&format!("/{chunk_name}\" FINISHED")), "the kept chunk was not sent again:\n{t}");
    let there = std::fs::read(data.join("users/anna/files/holiday.mp4")).expect("arrived");
    assert!(there == video, "the file arrived whole ({} of {} bytes)", there.len(), video.len());
    let left = std::fs::read_dir(&uploads).map(|r| r.count()).unwrap_or(0);
    assert_eq!(left, 0, "the finished upload's chunks are gone");
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The Nextcloud Android app's login and auto-upload, request by request as its source makes
/// them (nextcloud/android and its android-library: `GetStatusRemoteOperation`,
/// `DetectAuthenticationMethodOperation`, the login flow v2 poller, `GetUserInfoRemoteOperation`,
/// `GetCapabilitiesRemoteOperation`, `ExistenceCheckRemoteOperation`, `CreateFolderRemoteOperation`,
/// `UploadFileRemoteOperation` up to 10,240,000 bytes and `ChunkedFileUploadRemoteOperation`
/// above, then the read-back `ReadFileRemoteOperation`). A photo and a video from the camera
/// roll end in the family member's timeline, dated as the phone said.
#[test]
fn the_android_app_logs_in_and_its_camera_roll_reaches_the_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let ua = "User-Agent: Mozilla/5.0 (Android) Nextcloud-android/3.30.1".to_string();
    let get = |path: &str, headers: &[String]| http::request(d.http, "GET", path, headers, None).expect(path);

    // 1. The server: installed, a Nextcloud the app accepts.
    let status = get("/status.php", std::slice::from_ref(&ua)).json();
    assert_eq!(status["installed"], true);
    let major: u32 = status["version"].as_str().and_then(|v| v.split('.').next()).and_then(|m| m.parse().ok()).expect("version");
    assert!(major >= 31, "{status}");
    assert!(!status["productname"].as_str().unwrap_or("").to_ascii_lowercase().contains("owncloud"));

    // 2. How to authenticate: an unauthenticated HEAD of the DAV root asks for Basic.
    let probe = http::request(d.http, "HEAD", "/remote.php/dav", std::slice::from_ref(&ua), None).expect("probe");
    assert_eq!(probe.status, 401);
    assert!(probe.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")), "{:?}", probe.headers);

    // 3. Login flow v2: the app gets a page to open and a token to poll with.
    let flow = http::request(d.http, "POST", "/index.php/login/v2", std::slice::from_ref(&ua), None).expect("login v2");
    assert_eq!(flow.status, 200, "{}", flow.body);
    let flow = flow.json();
    let poll_token = flow["poll"]["token"].as_str().expect("poll token").to_string();
    assert_eq!(flow["poll"]["endpoint"], format!("http://{}/index.php/login/v2/poll", d.http));
    let login = flow["login"].as_str().expect("login url");
    let login_path = login.strip_prefix(&format!("http://{}", d.http)).expect("on the box");
    let poll = |body: &str| {
        http::request_bytes(
            d.http,
            "POST",
            "/index.php/login/v2/poll",
            std::slice::from_ref(&ua),
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
        .expect("poll")
    };
    assert_eq!(poll(&format!("token={poll_token}")).status, 404, "not granted yet");
    // The page the app opens is the web app's grant page, where Anna (logged in) says yes.
    let page = get(login_path, &[]);
    assert_eq!(page.status, 303);
    let grant_page = page.header("location").expect("location").to_string();
    let login_token = grant_page.strip_prefix("/#/login-flow/").expect("the web app's grant page");
    let asked = get(&format!("/api/v1/login-flows/{login_token}"), &[format!("Cookie: {cookie}")]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.json()["client"].as_str().is_some_and(|c| c.starts_with("Nextcloud Android")), "{}", asked.body);
    let granted = http::request(d.http, "POST", &format!("/api/v1/login-flows/{login_token}/grant"), &[format!("Cookie: {cookie}")], None)
        .expect("grant");
    assert_eq!(granted.status, 204, "{}", granted.body);
    let polled = poll(&format!("token={poll_token}"));
    assert_eq!(polled.status, 200, "{}", polled.body);
    let polled = polled.json();
    assert_eq!(polled["loginName"], "anna");
    assert_eq!(polled["server"], format!("http://{}", d.http));
    let password = polled["appPassword"].as_str().expect("app password").to_string();
    assert_eq!(poll(&format!("token={poll_token}")).status, 404, "handed out once");
    let auth = vec![ua.clone(), basic(&password)[0].clone(), "OCS-APIRequest: true".to_string()];

    // 4. Who am I, and what can the server do.
    let user = get("/ocs/v2.php/cloud/user?format=json", &auth).json();
    assert_eq!(user["ocs"]["meta"]["statuscode"], 200, "{user}");
    assert_eq!(user["ocs"]["data"]["id"], "anna");
    assert!(user["ocs"]["data"]["quota"]["free"].as_u64().is_some_and(|f| f > 0), "{user}");
    let caps = get("/ocs/v2.php/cloud/capabilities?format=json", &auth).json();
    assert!(caps["ocs"]["data"]["version"]["major"].as_u64().is_some_and(|m| m >= 31), "{caps}");
    assert_eq!(caps["ocs"]["data"]["capabilities"]["dav"]["chunking"], "1.0");
    assert_eq!(http::request(d.http, "HEAD", "/remote.php/dav/files/anna/", &auth, None).expect("HEAD").status, 200);

    // 5. Auto-upload: the folder levels are checked and made one by one.
    let files = "/remote.php/dav/files/anna";
    for level in ["InstantUpload", "InstantUpload/2019", "InstantUpload/2019/05"] {
        let there = http::request(d.http, "HEAD", &format!("{files}/{level}/"), &auth, None).expect("HEAD");
        assert_eq!(there.status, 404, "{level}");
        let made = http::request(d.http, "MKCOL", &format!("{files}/{level}"), &auth, None).expect("MKCOL");
        assert_eq!(made.status, 201, "{level}: {}", made.body);
        assert!(made.header("oc-fileid").is_some(), "{level}: the new folder's id");
    }
    // A photo with no date of its own (a screenshot): the phone's modification time dates it.
    let camera = dir.path().join("camera");
    std::fs::create_dir_all(&camera).expect("mkdir");
    run("convert", &["-size", "800x600", "plasma:fractal", "-strip", "screenshot.jpg"], &camera);
    let photo = std::fs::read(camera.join("screenshot.jpg")).expect("photo");
    let may_2019 = 1_557_000_000u64; // 2019-05-04
    let mut put_headers = auth.clone();
    put_headers.push(format!("X-OC-Mtime: {may_2019}"));
    put_headers.push(format!("OC-Total-Length: {}", photo.len()));
    let put = http::request_bytes(
        d.http,
        "PUT",
        &format!("{files}/InstantUpload/2019/05/screenshot.jpg"),
        &put_headers,
        Some(("image/jpeg", &photo)),
    )
    .expect("PUT");
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(put.header("x-oc-mtime"), Some("accepted"));
    let file_id = put.header("oc-fileid").expect("OC-FileId").to_string();
    let etag = put.header("etag").expect("ETag").to_string();
    assert_eq!(put.header("oc-etag"), Some(etag.as_str()));

    // 6. Read back, with the properties the app asks for (and one no server has).
    let propfind = r#"<?xml version="1.0" encoding="UTF-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">
 <d:prop><d:getlastmodified/><d:getetag/><d:getcontenttype/><d:resourcetype/><d:getcontentlength/>
  <oc:id/><oc:fileid/><oc:permissions/><oc:size/><nc:has-preview/><nc:creation_time/><nc:upload_time/><oc:favorite/><nc:no-such-thing/></d:prop>
</d:propfind>"#;
    let mut depth0 = auth.clone();
    depth0.push("Depth: 0".into());
    let back = http::request_bytes(
        d.http,
        "PROPFIND",
        &format!("{files}/InstantUpload/2019/05/screenshot.jpg"),
        &depth0,
        Some(("application/xml", propfind.as_bytes())),
    )
    .expect("PROPFIND");
    assert_eq!(back.status, 207, "{}", back.body);
    let b = &back.body;
    assert!(b.contains(&format!(">{file_id}</")), "oc:id is the OC-FileId: {b}");
    let number = file_id.trim_start_matches('0').split(|c: char| !c.is_ascii_digit()).next().expect("number").to_string();
    assert!(b.contains(&format!(":fileid xmlns:p=\"http://owncloud.org/ns\">{number}<")), "oc:fileid: {b}");
    assert!(b.contains(">GDNVW<"), "a file's permissions: {b}");
    assert!(b.contains(&format!(">{}<", photo.len())), "oc:size: {b}");
    assert!(b.contains(&etag), "the ETag of the PUT: {b}");
    assert!(b.contains("Sat, 04 May 2019"), "the phone's time: {b}");
    assert!(b.contains("no-such-thing") && b.contains("404 Not Found"), "unknown properties in a 404 propstat: {b}");
    let folder = http::request_bytes(
        d.http,
        "PROPFIND",
        &format!("{files}/InstantUpload/"),
        &depth0,
        Some(("application/xml", propfind.as_bytes())),
    )
    .expect("PROPFIND folder");
    assert!(folder.body.contains(">GDNVCK<"), "folders take new files and folders: {}", folder.body);

    // 7. A video above 10,240,000 bytes goes up in chunks (v2: Destination on every request).
    run(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=30,noise=alls=100:allf=t",
            "-t",
            "2",
            "-c:v",
            "mpeg4",
            "-q:v",
            "1",
            "-pix_fmt",
            "yuv420p",
            "clip.mp4",
        ],
        &camera,
    );
    let video = std::fs::read(camera.join("clip.mp4")).expect("video");
    assert!(video.len() > 10_240_000, "the video is large enough to be chunked: {}", video.len());
    let uploads = format!("/remote.php/dav/uploads/anna/{}", "d9a3f5e1-upload");
    let destination = format!("Destination: http://{}{files}/InstantUpload/2019/05/clip.mp4", d.http);
    let mut chunk_headers = auth.clone();
    chunk_headers.push(destination.clone());
    chunk_headers.push(format!("OC-Total-Length: {}", video.len()));
    let made = http::request(d.http, "MKCOL", &uploads, &chunk_headers, None).expect("MKCOL upload");
    assert_eq!(made.status, 201, "{}", made.body);
    let chunk_size = 5 << 20;
    for (i, chunk) in video.chunks(chunk_size).enumerate() {
        let r = http::request_bytes(
            d.http,
            "PUT",
            &format!("{uploads}/{:06}", i + 1),
            &chunk_headers,
            Some(("application/octet-stream", chunk)),
        )
        .expect("chunk");
        assert_eq!(r.status, 201, "chunk {}: {}", i + 1, r.body);
    }
    // The app lists the chunks to resume after a cut.
    let mut depth1 = auth.clone();
    depth1.push("Depth: 1".into());
    let listed = http::request(d.http, "PROPFIND", &uploads, &depth1, None).expect("PROPFIND chunks");
    assert_eq!(listed.status, 207);
    assert!(listed.body.contains("/000001</d:href>") && listed.body.contains(&format!(">{chunk_size}<")), "{}", listed.body);
    let mut finish = chunk_headers.clone();
    finish.push(format!("X-OC-Mtime: {}", may_2019 + 60));
    let moved = http::request(d.http, "MOVE", &format!("{uploads}/.file"), &finish, None).expect("MOVE .file");
    assert_eq!(moved.status, 201, "{}", moved.body);
    assert!(moved.header("oc-fileid").is_some() && moved.header("etag").is_some());
    let stored = d.data.join("users/anna/files/InstantUpload/2019/05/clip.mp4");
    assert!(std::fs::read(&stored).expect("assembled") == video, "the chunks made the video byte for byte");
    assert_eq!(http::request(d.http, "PROPFIND", &uploads, &depth1, None).expect("gone").status, 404, "the upload's folder went");

    // 8. Both are in Anna's timeline, in May 2019, without waiting for a scan.
    let session = [format!("Cookie: {cookie}")];
    let mut months = serde_json::Value::Null;
    for _ in 0..1200 {
        months = get("/api/v1/timeline/months", &session).json();
        if months["months"].as_array().is_some_and(|m| m.iter().any(|x| x["month"] == 201905 && x["count"] == 2)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        months["months"].as_array().is_some_and(|m| m.iter().any(|x| x["month"] == 201905 && x["count"] == 2)),
        "the photo and the video are in May 2019: {months}\n{}",
        d.log_text()
    );

    // 9. The app shows the photo's preview, made by the photo library.
    assert!(b.contains("has-preview xmlns:p=\"http://nextcloud.org/ns\">true<"), "a picture has a preview: {b}");
    let preview_path = format!("/index.php/core/preview?fileId={number}&x=256&y=256&a=1&mode=cover&forceIcon=0");
    let mut preview = get(&preview_path, &auth);
    for _ in 0..1200 {
        if preview.status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        preview = get(&preview_path, &auth);
    }
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.header("content-type"), Some("image/jpeg"));
    assert_eq!(get("/index.php/core/preview?fileId=999999&x=64&y=64", &auth).status, 404);
}

/// The Nextcloud apps' "Versions" and "Deleted files" views, as their libraries ask
/// (`ReadFileVersionsRemoteOperation`, `RestoreFileVersionRemoteOperation`,
/// `ReadTrashbinFolderRemoteOperation`, `RestoreTrashbinFileRemoteOperation`,
/// `RemoveTrashbinFileRemoteOperation`, `EmptyTrashbinRemoteOperation`).
#[test]
fn the_apps_see_versions_and_the_trash_at_nextclouds_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "phone");
    let auth = basic(&token).to_vec();
    let req = |method: &str, path: &str, extra: &[String], body: Option<&[u8]>| {
        let mut h = auth.clone();
        h.extend_from_slice(extra);
        http::request_bytes(d.http, method, path, &h, body.map(|b| ("application/octet-stream", b))).expect(path)
    };
    let files = "/remote.php/dav/files/anna";
    assert_eq!(req("PUT", &format!("{files}/notes.txt"), &["X-OC-Mtime: 1700000000".into()], Some(b"first")).status, 201);
    let second = req("PUT", &format!("{files}/notes.txt"), &["X-OC-Mtime: 1700000600".into()], Some(b"second"));
    assert_eq!(second.status, 204);
    let oc_id = second.header("oc-fileid").expect("OC-FileId").to_string();
    let file_id: i64 = oc_id.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).expect("number");
    let caps = http::request(d.http, "GET", "/ocs/v2.php/cloud/capabilities?format=json", &[], None).expect("caps").json();
    assert_eq!(caps["ocs"]["data"]["capabilities"]["files"]["versioning"], true);
    assert_eq!(caps["ocs"]["data"]["capabilities"]["files"]["undelete"], true);

    // Versions: listed, read, restored.
    let versions = format!("/remote.php/dav/versions/anna/versions/{file_id}");
    let listed = req("PROPFIND", &versions, &["Depth: 1".into()], None);
    assert_eq!(listed.status, 207, "{}", listed.body);
    assert!(listed.body.contains(&format!("{versions}/1700000000</d:href>")), "{}", listed.body);
    let old = req("GET", &format!("{versions}/1700000000"), &[], None);
    assert_eq!((old.status, old.body.as_str()), (200, "first"));
    let restore = format!("Destination: http://{}/remote.php/dav/versions/anna/restore/target", d.http);
    assert_eq!(req("COPY", &format!("{versions}/1700000000"), &[restore], None).status, 204);
    assert_eq!(req("GET", &format!("{files}/notes.txt"), &[], None).body, "first");
    assert_eq!(req("PROPFIND", "/remote.php/dav/versions/anna/versions/999999", &["Depth: 1".into()], None).status, 404);

    // The trash: a deleted file listed with its name and place, restored; another removed for
    // good; the trash emptied.
    req("MKCOL", &format!("{files}/School"), &[], None);
    req("PUT", &format!("{files}/School/homework.pdf"), &[], Some(b"%PDF"));
    assert_eq!(req("DELETE", &format!("{files}/School/homework.pdf"), &[], None).status, 204);
    let trash = req("PROPFIND", "/remote.php/dav/trashbin/anna/trash", &["Depth: 1".into()], None);
    assert_eq!(trash.status, 207, "{}", trash.body);
    assert!(trash.body.contains(">homework.pdf</") && trash.body.contains(">School/homework.pdf</"), "{}", trash.body);
    let item = trash
        .body
        .split("<d:href>")
        .filter_map(|h| h.split("</d:href>").next())
        .find(|h| h.contains("/trash/") && !h.ends_with("/trash/"))
        .expect("an item")
        .to_string();
    let to = format!("Destination: http://{}/remote.php/dav/trashbin/anna/restore/homework.pdf", d.http);
    assert_eq!(req("MOVE", &item, &[to], None).status, 201);
    assert_eq!(req("GET", &format!("{files}/School/homework.pdf"), &[], None).body, "%PDF");
    req("DELETE", &format!("{files}/notes.txt"), &[], None);
    req("DELETE", &format!("{files}/School"), &[], None);
    assert_eq!(req("DELETE", "/remote.php/dav/trashbin/anna/trash", &[], None).status, 204);
    let trash = req("PROPFIND", "/remote.php/dav/trashbin/anna/trash", &["Depth: 1".into()], None);
    assert_eq!(trash.body.matches("<d:response>").count(), 1, "only the trash itself: {}", trash.body);
    assert_eq!(req("PROPFIND", "/remote.php/dav/trashbin/bob/trash", &["Depth: 1".into()], None).status, 403);
}

/// The value of the first `<name>` element of an OCS XML answer.
fn xml_value<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    Some(&xml[start..start + xml[start..].find('<')?])
}

/// The Nextcloud apps' Share screen, as the Android library asks (`CreateShareRemoteOperation`
/// with a form body and an XML answer, then `GetShareRemoteOperation` for the link's URL,
/// `GetSharesForFileRemoteOperation`, `UpdateShareRemoteOperation` one parameter per request,
/// `RemoveShareRemoteOperation`, `GetShareesRemoteOperation`): a public link made, read back,
/// opened by a visitor, given a password and an expiry, and deleted; a share with an account
/// refused.
#[test]
fn the_apps_share_a_file_and_a_folder_by_public_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "phone");
    let ocs = |method: &str, path: &str, form: Option<&str>| {
        let mut h = basic(&token).to_vec();
        h.push("OCS-APIRequest: true".into());
        let body = form.map(|f| ("application/x-www-form-urlencoded", f.as_bytes()));
        http::request_bytes(d.http, method, &format!("/ocs/v2.php/apps/files_sharing/api/v1/{path}"), &h, body).expect(path)
    };
    let files = "/remote.php/dav/files/anna";
    let put = |path: &str, body: &[u8]| {
        let r =
            http::request_bytes(d.http, "PUT", &format!("{files}/{path}"), &basic(&token), Some(("application/pdf", body))).expect("PUT");
        assert_eq!(r.status, 201, "{}", r.body);
    };
    assert_eq!(http::request(d.http, "MKCOL", &format!("{files}/School%202026"), &basic(&token), None).expect("MKCOL").status, 201);
    put("School%202026/report%20card.pdf", b"%PDF grades");
    let caps = http::request(d.http, "GET", "/ocs/v2.php/cloud/capabilities?format=json", &[], None).expect("caps").json();
    let sharing = &caps["ocs"]["data"]["capabilities"]["files_sharing"];
    assert_eq!((sharing["api_enabled"].as_bool(), sharing["public"]["enabled"].as_bool()), (Some(true), Some(true)));
    assert_eq!(sharing["resharing"], false, "the apps read resharing whenever files_sharing is there");

    // Made by form, answered in XML; read back by id for its URL, as the app does at once.
    let made = ocs("POST", "shares", Some("path=%2FSchool+2026%2Freport+card.pdf&shareType=3&shareWith="));
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(xml_value(&made.body, "statuscode"), Some("200"), "{}", made.body);
    let id = xml_value(&made.body, "id").expect("id").to_string();
    let again = ocs("GET", &format!("shares/{id}"), None);
    let url = xml_value(&again.body, "url").expect("url").to_string();
    assert!(url.starts_with(&format!("http://{}/s/", d.http)), "{}", again.body);
    assert_eq!(xml_value(&again.body, "item_type"), Some("file"));
    assert_eq!(xml_value(&again.body, "path"), Some("/School 2026/report card.pdf"));
    assert_eq!(xml_value(&again.body, "share_type"), Some("3"));
    assert_eq!(xml_value(&again.body, "permissions"), Some("1"));
    let link_path = url.split_once(&d.http.to_string()).map(|(_, p)| p.to_string()).expect("path");
    assert_eq!(http::request(d.http, "GET", &format!("{link_path}/download"), &[], None).expect("visitor").body, "%PDF grades");

    // The file's shares, as the details screen asks; the folder's with subfiles.
    let of_file = ocs("GET", "shares?path=%2FSchool+2026%2Freport+card.pdf&reshares=true&subfiles=false", None);
    assert_eq!(of_file.body.matches("<element>").count(), 1, "{}", of_file.body);
    let in_folder = ocs("GET", "shares?path=%2FSchool+2026%2F&reshares=true&subfiles=true", None);
    assert_eq!(in_folder.body.matches("<element>").count(), 1, "{}", in_folder.body);
    let none = ocs("GET", "shares?path=%2FSchool+2026%2F&reshares=true&subfiles=false", None);
    assert_eq!(none.status, 404, "the folder itself has no link: {}", none.body);

    // A password and an expiry, one request each; the visitor then needs the password.
    let changed = ocs("PUT", &format!("shares/{id}"), Some("password=grandpa-knows-it"));
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(xml_value(&changed.body, "password").is_some_and(|p| !p.is_empty()), "{}", changed.body);
    assert_eq!(http::request(d.http, "GET", &format!("{link_path}/download"), &[], None).expect("visitor").status, 401);
    let dated = ocs("PUT", &format!("shares/{id}"), Some("expireDate=2099-06-30"));
    assert_eq!(xml_value(&dated.body, "expiration"), Some("2099-06-30 00:00:00"), "{}", dated.body);
    assert_eq!(ocs("PUT", &format!("shares/{id}"), Some("expireDate=2001-01-01")).status, 400, "in the past");
    assert_eq!(ocs("PUT", &format!("shares/{id}"), Some("permissions=4")).status, 400, "a file cannot be a drop box");

    // A folder as a drop box (publicUpload), in JSON this time; a relative's file arrives.
    let mut h = basic(&token).to_vec();
    h.push("OCS-APIRequest: true".into());
    let folder = http::request_bytes(
        d.http,
        "POST",
        "/ocs/v1.php/apps/files_sharing/api/v1/shares?format=json",
        &h,
        Some(("application/json", br#"{"path": "/School 2026", "shareType": 3, "permissions": 4}"#)),
    )
    .expect("POST")
    .json();
    assert_eq!(folder["ocs"]["meta"]["statuscode"], 100, "{folder}");
    assert_eq!(folder["ocs"]["data"]["permissions"], 4);
    assert_eq!(folder["ocs"]["data"]["item_type"], "folder");
    let drop_url = folder["ocs"]["data"]["url"].as_str().expect("url");
    let drop_token = drop_url.rsplit('/').next().expect("token");
    let dropped = http::request_bytes(
        d.http,
        "POST",
        &format!("/api/v1/shared/{drop_token}/files?name=homework.pdf"),
        &[],
        Some(("application/pdf", b"%PDF homework")),
    )
    .expect("drop");
    assert_eq!(dropped.status, 201, "{}", dropped.body);
    assert!(d.data.join("users/anna/files/School 2026/homework.pdf").exists());

    // Nobody to share with by account; such a share refused, and an unknown link not found.
    assert_eq!(ocs("GET", "sharees?search=ben&itemType=file&format=json", None).status, 200);
    let refused = ocs("POST", "shares", Some("path=%2FSchool+2026&shareType=0&shareWith=ben"));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(xml_value(&refused.body, "message").is_some_and(|m| m.contains("family folders")), "{}", refused.body);
    assert_eq!(ocs("GET", "shares/99999", None).status, 404);
    assert_eq!(ocs("DELETE", &format!("shares/{id}"), None).status, 200);
    assert_eq!(http::request(d.http, "GET", &format!("{link_path}/download"), &[], None).expect("visitor").status, 404);
    assert_eq!(ocs("DELETE", &format!("shares/{id}"), None).status, 404);
    assert!(d.stop(Duration::from_secs(15)).success());
}
