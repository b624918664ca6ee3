//! The web app driven by a real browser (Debian's Chromium through playwright-core, at a phone's
//! size, then a desktop's): claim, add photos (one is not a photo) and see them in the timeline,
//! the viewer, the box's page, a session ending mid-use, log out, a wrong password, log in,
//! reload (tests/browser/web_page.mjs). scripts/test installs Chromium and the npm package.

use std::process::Command;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use hearth_tests::daemon::{self, start};

/// The tests that judge speed (the first screen's time, Lighthouse's performance score) run with
/// no other browser test beside them: on a two-core machine a second Chromium and a second box's
/// workers would be judged too. The rest run side by side.
static MACHINE: RwLock<()> = RwLock::new(());

fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

fn beside_others() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn claim_logout_login_in_chromium() {
    let _machine = beside_others();
    let browser_dir = daemon::workspace().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run scripts/test (or `npm ci` in tests/browser)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    // Phone- and desktop-sized screenshots of every screen, to look at: target/screenshots/web.
    let shots = std::env::var_os("HEARTH_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| daemon::workspace().join("target/screenshots/web"));
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    // Two camera photos (ImageMagick, in colour, dated by exiftool) and a text file named like one.
    let camera_photo = |name: &str, size: &str, picture: &str, taken: &str, place: &[&str]| {
        let photo = dir.path().join(name);
        let made = Command::new("convert")
            .args(["-size", size, picture, "-colorspace", "sRGB", "-type", "TrueColor"])
            .arg(&photo)
            .status()
            .expect("convert");
        assert!(made.success());
        let dated = Command::new("exiftool")
            .args(["-q", "-overwrite_original", &format!("-DateTimeOriginal={taken}")])
            .args(place)
            .arg(&photo)
            .status()
            .expect("exiftool");
        assert!(dated.success());
        photo
    };
    // The first by the Eiffel Tower: named Paris by the box's offline place names.
    let paris = ["-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E"];
    let photo = camera_photo("IMG_0001.jpg", "1200x900", "plasma:fractal", "2024:07:14 18:03:22", &paris);
    let photo2 = camera_photo("IMG_0002.jpg", "900x1200", "gradient:red-blue", "2024:07:10 09:00:00", &[]);
    let not_photo = dir.path().join("list.jpg");
    std::fs::write(&not_photo, "eggs, milk").expect("text");
    // 20 megapixels of noise at full quality: about 20 MB, three parts of a resumable upload.
    let big = dir.path().join("PANO_0001.jpg");
    let made = Command::new("convert")
        .args(["-size", "5000x4000", "xc:gray", "+noise", "Random", "-colorspace", "sRGB", "-type", "TrueColor", "-quality", "100"])
        .arg(&big)
        .status()
        .expect("convert");
    assert!(made.success());
    assert!(std::fs::metadata(&big).expect("big").len() > 16 << 20, "the big photo takes three parts");
    // The first photo saved again at a lower quality: other bytes, the same picture.
    let copy = dir.path().join("IMG_0001 copy.jpg");
    let made = Command::new("convert").arg(&photo).args(["-quality", "60"]).arg(&copy).status().expect("convert");
    assert!(made.success());
    run_script("web_page.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).arg(shots).arg(&photo).arg(&not_photo).arg(&photo2).arg(&big).arg(&copy);
    });
    // The name given in the browser is the one peers are told.
    assert_eq!(d.json(&["sync", "id"])["name"], "The Kowalskis");
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// A family with 100,000 photos over ten years (eight real photos, each catalogued 12,500 times
/// under other names and dates, straight into the catalog): at a phone's size the first screen
/// of the timeline shows within a second of navigation (the fastest of three cold opens, so a
/// busy moment of the machine running the tests is not counted against the box), a jump five
/// years back fetches only the months then on screen, and nothing on the page shifts
/// (tests/browser/timeline_scale.mjs).
#[test]
fn a_timeline_of_100000_photos_opens_in_a_second_and_fetches_only_what_is_on_screen() {
    let _machine = alone();
    let browser_dir = daemon::workspace().join("tests/browser");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut d = start(&data, &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    add_photos(&d, &cookie, dir.path(), 8);
    // 100,000 rows: the seeds' content under new names, one every 3,154 s back from the newest
    // seed (ten years), in one transaction alongside the running daemon.
    let (catalog, _) = hearth_catalog::Catalog::open(&data.join("hearth.db")).expect("open the catalog");
    catalog
        .write(|tx| {
            tx.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999),
                      newest(t) AS (SELECT max(taken_at) FROM assets)
                 INSERT INTO assets (owner_id, source, path, checksum, kind, format, size_bytes, width, height,
                                     taken_at, taken_offset, local_month, added_at, thumbnails)
                 SELECT s.owner_id, 'upload', 'generated/' || n.i || '.jpg', s.checksum, 'photo', s.format, s.size_bytes,
                        s.width, s.height, newest.t - 3600 - n.i * 3154, 0,
                        CAST(strftime('%Y%m', newest.t - 3600 - n.i * 3154, 'unixepoch') AS INTEGER), s.added_at, 'ready'
                 FROM n, newest JOIN assets s ON s.id = (SELECT min(id) FROM assets) + n.i % 8",
            )?;
            Ok(())
        })
        .expect("100,000 photos into the catalog");
    // Into the database file, as hearthd's own checkpoints would have done over time.
    catalog.checkpoint().expect("checkpoint");
    drop(catalog);
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("timeline_scale.mjs")
        .arg(format!("http://{}/", d.http))
        .args(["anna", "anna-long-password"])
        .arg(&shots)
        .output()
        .expect("node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "browser failed:\n{text}\n{}\n{}", String::from_utf8_lossy(&out.stderr), d.log_text());
    let line = text.lines().last().unwrap_or_default();
    let r: serde_json::Value = serde_json::from_str(line).expect("the script's JSON");
    eprintln!("timeline with 100,000 photos: {r}");
    assert_eq!(r["problems"].as_array().map(Vec::len), Some(0), "{r}");
    let first = r["firstScreenMs"].as_f64().expect("ms");
    assert!(first <= 1000.0, "the first screen took {first:.0} ms after navigation (≤ 1,000): {r}");
    let on_screen: Vec<i64> = r["jumpOnScreen"].as_array().expect("months").iter().filter_map(|m| m.as_i64()).collect();
    let fetched: Vec<i64> = r["jumpMonths"].as_array().expect("months").iter().filter_map(|m| m.as_i64()).collect();
    assert!(!fetched.is_empty(), "the jump fetched its months: {r}");
    for m in &fetched {
        assert!(on_screen.contains(m), "month {m} was fetched but is not on screen after the jump: {r}");
    }
    assert!(fetched.len() <= on_screen.len(), "each month on screen is fetched once: {r}");
    let cls = r["cls"].as_f64().expect("cls");
    assert!(cls <= 0.02, "cumulative layout shift {cls} (≤ 0.02): {r}");
    assert!(r["deepLinkMoved"].as_str().is_some_and(|h| h.starts_with("#/photos/")), "the arrows work from a deep link: {r}");
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// `n` different photos (ImageMagick's plasma, seeded) added through the API, with their
/// thumbnails made.
fn add_photos(d: &daemon::Daemon, cookie: &str, dir: &std::path::Path, n: u32) {
    let mut ids = Vec::new();
    for i in 0..n {
        let photo = dir.join(format!("seed{i}.jpg"));
        let made = Command::new("convert")
            .args(["-size", "1024x768", "-seed", &(i + 1).to_string(), "plasma:fractal", "-colorspace", "sRGB", "-type", "TrueColor"])
            .arg(&photo)
            .status()
            .expect("convert");
        assert!(made.success());
        ids.push(d.upload(cookie, &format!("seed{i}.jpg"), &std::fs::read(&photo).expect("read")));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for id in &ids {
        loop {
            let r = hearth_tests::http::request(d.http, "GET", &format!("/api/v1/assets/{id}"), &[format!("Cookie: {cookie}")], None)
                .expect("get");
            if r.json()["thumbnails"] == "ready" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "thumbnails of {id}: {}\n{}", r.body, d.log_text());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Lighthouse's mobile profile on the login page and on a timeline of 30 photos: performance at
/// least 90 and accessibility at least 95 (tests/browser/lighthouse.mjs).
#[test]
fn lighthouse_scores_the_login_page_and_the_timeline() {
    let _machine = alone();
    let browser_dir = daemon::workspace().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/lighthouse").exists(),
        "lighthouse is not installed: run scripts/test (or `npm ci` in tests/browser)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    add_photos(&d, &cookie, dir.path(), 30);
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("lighthouse.mjs")
        .arg(format!("http://{}/", d.http))
        .arg("#/login")
        .arg(format!("#/photos@{cookie}"))
        .output()
        .expect("node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "lighthouse failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let pages: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(pages.len(), 2, "{text}");
    for p in &pages {
        eprintln!("lighthouse: {p}");
        assert!(p["runtime_error"].is_null(), "{p}");
        let page = p["page"].as_str().unwrap_or_default();
        assert!(p["final_url"].as_str().is_some_and(|u| u.ends_with(page)), "lighthouse saw another page than {page}: {p}");
        assert!(p["performance"].as_i64().is_some_and(|s| s >= 90), "performance of {page} below 90: {p}");
        assert!(p["accessibility"].as_i64().is_some_and(|s| s >= 95), "accessibility of {page} below 95: {p}");
    }
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The family's setup from the browser, over the box's HTTPS with its self-made certificate: a member added, an app password made (and working), the
/// box's sync ID with its QR code, a real Syncthing that dialled in accepted, the camera folder
/// it offers received into the owner's timeline, and its photos shown there
/// (tests/browser/pairing.mjs).
#[test]
fn a_family_sets_up_members_app_passwords_and_a_phone_from_the_browser() {
    let _machine = beside_others();
    let browser_dir = daemon::workspace().join("tests/browser");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut d, hearth_id, sync_addr) = daemon::start_nas(dir.path());
    d.wait_healthy(Duration::from_secs(20));
    // The phone: three dated photos in its camera folder, shared send-only with the box, which it
    // knows by address; it asks again every two seconds once the box has refused it.
    let st = hearth_tests::syncthing::Syncthing::start(&dir.path().join("phone"));
    st.send("PATCH", "/rest/config/options", &serde_json::json!({ "reconnectionIntervalS": 2 }));
    let camera = dir.path().join("phone-camera/DCIM/Camera");
    std::fs::create_dir_all(&camera).expect("mkdir");
    for (i, taken) in ["2023:05:01 10:00:00", "2023:05:02 11:00:00", "2023:06:10 12:00:00"].iter().enumerate() {
        let photo = camera.join(format!("IMG_{i:04}.jpg"));
        let made = Command::new("convert")
            .args(["-size", "640x480", "-seed", &(i + 10).to_string(), "plasma:fractal", "-colorspace", "sRGB", "-type", "TrueColor"])
            .arg(&photo)
            .status()
            .expect("convert");
        assert!(made.success());
        let dated = Command::new("exiftool")
            .args(["-q", "-overwrite_original", &format!("-DateTimeOriginal={taken}")])
            .arg(&photo)
            .status()
            .expect("exiftool");
        assert!(dated.success());
    }
    st.add_device(&hearth_id, "box", &[format!("tcp://{sync_addr}")]);
    st.add_folder("camera", &dir.path().join("phone-camera"), "sendonly", &[&hearth_id]);
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    let mut node = Command::new("node")
        .current_dir(&browser_dir)
        .arg("pairing.mjs")
        // Over the box's own HTTPS, with the certificate it made itself.
        .arg(format!("https://{}/", d.https))
        .args(["ada", "lovelace-1815", &hearth_id, &st.device_id, "3"])
        .arg(&shots)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node");
    // The script asks for what only the phone can do ("PHONE: delete PATH"), then goes on.
    let mut to_script = node.stdin.take().expect("stdin");
    // Read apart so a chatty stderr never fills its pipe while stdout is being read.
    let mut stderr = node.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut said = Vec::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(node.stdout.take().expect("stdout"))) {
        let line = line.unwrap_or_default();
        if let Some(name) = line.strip_prefix("PHONE: delete ") {
            let gone = std::fs::remove_file(dir.path().join("phone-camera").join(name)).is_ok();
            st.scan("camera");
            std::io::Write::write_all(&mut to_script, if gone { b"done\n" } else { b"no such file\n" }).expect("answer the script");
        }
        // A laptop's restic with the address the page gave, trusting the box's own certificate.
        if let Some(repo) = line.strip_prefix("PHONE: restic ") {
            let answer = laptop_backs_up(repo, &dir.path().join("data/tls/cert.pem"), dir.path());
            std::io::Write::write_all(&mut to_script, format!("{answer}\n").as_bytes()).expect("answer the script");
        }
        said.push(line);
    }
    let status = node.wait().expect("node");
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "browser test failed:\n{}\n{}\nhearthd log:\n{}\nSyncthing log:\n{}",
        said.join("\n"),
        stderr,
        d.log_text(),
        st.log()
    );
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The activity panel is live: with the box's page open, a folder of 40 photos joins the library
/// and the thumbnails left to make, pushed by hearthd (server-sent events), go down to none
/// while the page asks the API for almost nothing (tests/browser/activity.mjs).
#[test]
fn the_activity_panel_shows_a_thumbnail_backlog_draining() {
    let _machine = beside_others();
    let browser_dir = daemon::workspace().join("tests/browser");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let library = dir.path().join("old-photos");
    std::fs::create_dir_all(&library).expect("mkdir");
    let seed = dir.path().join("seed.jpg");
    let made = Command::new("convert")
        .args(["-size", "1600x1200", "plasma:fractal", "-colorspace", "sRGB", "-type", "TrueColor"])
        .arg(&seed)
        .status()
        .expect("convert");
    assert!(made.success());
    // Forty different files (a comment makes each one's content its own) from one picture.
    for i in 0..40 {
        let photo = library.join(format!("IMG_{i:04}.jpg"));
        std::fs::copy(&seed, &photo).expect("copy");
        let tagged = Command::new("exiftool")
            .args(["-q", "-overwrite_original", &format!("-Comment=photo {i}")])
            .arg(&photo)
            .status()
            .expect("exiftool");
        assert!(tagged.success());
    }
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("activity.mjs")
        .arg(format!("http://{}/", d.http))
        .args(["anna", "anna-long-password"])
        .arg(&library)
        .arg(daemon::workspace().join("target/screenshots/web"))
        .output()
        .expect("node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "browser failed:\n{text}\n{}\n{}", String::from_utf8_lossy(&out.stderr), d.log_text());
    let r: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or_default()).expect("the script's JSON");
    eprintln!("activity panel: {r}");
    let left: Vec<i64> = r["left"].as_array().expect("values").iter().filter_map(serde_json::Value::as_i64).collect();
    assert_eq!(left.last(), Some(&0), "the backlog drained to nothing: {r}");
    let most = left.iter().copied().max().unwrap_or(0);
    assert!(most > 0, "the panel showed a backlog: {r}");
    assert!(left.iter().filter(|v| **v > 0).count() >= 2 || most == 1, "the panel showed the backlog going down, not just once: {r}");
    assert!(r["requests"].as_u64().is_some_and(|n| n < 20), "the page did not poll the API: {r}");
    // A page still listening does not hold up stopping: its stream ends with the server.
    let mut stream = std::net::TcpStream::connect(d.http).expect("connect");
    let ask = format!("GET /api/v1/events HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n", d.http);
    std::io::Write::write_all(&mut stream, ask.as_bytes()).expect("send");
    let mut first = [0u8; 512];
    let n = std::io::Read::read(&mut stream, &mut first).expect("the stream's first bytes");
    let head = String::from_utf8_lossy(&first[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("text/event-stream"), "{head}");
    let stopping = std::time::Instant::now();
    let log = d.log_text();
    assert!(d.stop(Duration::from_secs(15)).success(), "hearthd stopped with a page listening: {log}");
    assert!(stopping.elapsed() < Duration::from_secs(5), "stopping waited for the open stream: {:?}", stopping.elapsed());
}

/// What families really have (tests/browser/odd_input.mjs): an empty box on every page, a damaged
/// photo (a PNG cut off in its pixel data: kept, shown without a preview, never as a broken
/// image), a phone video (H.264 in MP4, made by ffmpeg) played and sought through byte
/// ranges, and an album titled in Arabic with emoji, wider than the phone, that overflows nothing.
#[test]
fn odd_input_empty_box_damaged_photo_video_and_long_right_to_left_names() {
    let _machine = beside_others();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    d.claim("anna", "anna-long-password");
    let photo = dir.path().join("IMG_0100.jpg");
    let made = Command::new("convert")
        .args(["-size", "1600x1200", "-seed", "7", "plasma:fractal", "-colorspace", "sRGB", "-type", "TrueColor", "-quality", "92"])
        .arg(&photo)
        .status()
        .expect("convert");
    assert!(made.success());
    // A PNG cut off in its pixel data: its header is whole, so it is a photo of known size,
    // but no decoder gets to its last row.
    let png = dir.path().join("whole.png");
    let made = Command::new("convert")
        .args(["-size", "1600x1200", "-seed", "8", "plasma:fractal", "-colorspace", "sRGB", "-type", "TrueColor"])
        .arg(&png)
        .status()
        .expect("convert");
    assert!(made.success());
    let whole = std::fs::read(&png).expect("read");
    let damaged = dir.path().join("IMG_0101.png");
    std::fs::write(&damaged, &whole[..65536]).expect("write");
    let video = dir.path().join("VID_0102.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=duration=4:size=640x360:rate=25", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .args(["-movflags", "+faststart"])
        .arg(&video)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("odd_input.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["anna", "anna-long-password"]).arg(&shots).arg(&damaged).arg(&video).arg(&photo);
    });
    // The damaged file is kept as it arrived.
    let kept = walk(&dir.path().join("data/library")).into_iter().find(|p| p.ends_with("IMG_0101.png")).expect("the damaged photo is kept");
    assert_eq!(std::fs::read(kept).expect("read"), whole[..65536]);
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// Run `node tests/browser/SCRIPT` with the arguments `args` adds; panics with its output and
/// the daemon's log when it fails.
fn run_script(script: &str, d: &daemon::Daemon, args: impl FnOnce(&mut Command)) {
    let mut cmd = Command::new("node");
    cmd.current_dir(daemon::workspace().join("tests/browser")).arg(script);
    args(&mut cmd);
    let out = cmd.output().expect("node");
    assert!(
        out.status.success(),
        "browser test {script} failed:\n{}\n{}\nhearthd log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// `restic init` and `restic backup` of a small folder to `repo`; "done", or what went wrong.
fn laptop_backs_up(repo: &str, cert: &std::path::Path, dir: &std::path::Path) -> String {
    let files = dir.join("laptop-files");
    let _ = std::fs::create_dir_all(&files);
    let _ = std::fs::write(files.join("thesis.txt"), "chapter one");
    for args in [vec!["init"], vec!["backup", files.to_str().unwrap_or(".")]] {
        let out = Command::new("restic")
            .args(["-r", repo, "--cacert"])
            .arg(cert)
            .args(["--cache-dir"])
            .arg(dir.join("laptop-restic-cache"))
            .args(&args)
            .env("RESTIC_PASSWORD", "laptop-password")
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => return format!("restic {args:?} failed: {}", String::from_utf8_lossy(&o.stderr).replace('\n', " ")),
            Err(e) => return format!("restic: {e}"),
        }
    }
    "done".into()
}

/// The Backups page from a phone (tests/browser/backups.mjs): the recovery key made and shown
/// once, a USB folder tested and added, the nightly backup of everything run now and watched to
/// the end, a restore drill, and a file restored as a copy from the restore browser.
#[test]
fn the_owner_sets_up_backups_verifies_and_restores_from_the_browser() {
    let _machine = beside_others();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    d.claim("ada", "ada-long-password");
    let docs = dir.path().join("data/users/ada/files/Documents");
    std::fs::create_dir_all(&docs).expect("mkdir");
    std::fs::write(docs.join("recipe ü.txt"), "flour, eggs\n").expect("write");
    std::fs::write(docs.join("empty"), "").expect("write");
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).expect("usb");
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("backups.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["ada", "ada-long-password"]).arg(&shots).arg(&usb);
    });
    let restored = walk(&dir.path().join("data/restored")).into_iter().find(|p| p.ends_with("recipe ü.txt")).expect("restored as a copy");
    assert_eq!(std::fs::read_to_string(restored).expect("read"), "flour, eggs\n");
    assert!(usb.join("hearth/config").exists());
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The Updates page from a phone (tests/browser/updates.mjs), on a folder standing in for a
/// box's slots: a tampered bundle file refused, the channel (RangeHTTPServer) set and its offer
/// installed, the download smaller than the bundle, the history.
#[test]
fn the_owner_updates_the_box_from_the_updates_page() {
    let _machine = beside_others();
    use hearth_tests::update_box::{box_folder, bundle, image};
    let dir = tempfile::tempdir().expect("tempdir");
    let (folder, key) = box_folder(dir.path(), "1.0.0");
    let channel = dir.path().join("channel");
    std::fs::create_dir_all(&channel).expect("channel");
    bundle(dir.path(), &key, "1.1.0", "dev", &image(200 * 1024), &channel.join("hearth-1.1.0.hup"));
    std::fs::write(
        channel.join("index.json"),
        r#"{"format":1,"updates":[{"version":"1.1.0","boards":["dev"],"bundle":"hearth-1.1.0.hup","notes":"Faster thumbnails."}]}"#,
    )
    .expect("index");
    let tampered = dir.path().join("tampered.hup");
    bundle(dir.path(), &key, "1.2.0", "dev", &image(1000), &tampered);
    let mut bytes = std::fs::read(&tampered).expect("read");
    let n = bytes.len();
    bytes[n - 3000] ^= 0x20;
    std::fs::write(&tampered, bytes).expect("tamper");
    let web = hearth_tests::servers::static_files(&channel, true);
    let mut d = start(&dir.path().join("data"), &["--board", "dev", "--update-layout", folder.to_str().expect("utf-8")]);
    d.wait_healthy(Duration::from_secs(20));
    d.claim("ada", "ada-long-password");
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("updates.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http))
            .args(["ada", "ada-long-password"])
            .arg(&shots)
            .arg(format!("http://127.0.0.1:{}/index.json", web.port))
            .arg(&tampered);
    });
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// A new box restored from the claim page (tests/browser/recover.mjs): a wrong key is refused
/// and leaves the box as it was, the recovery key typed loosely restores it, and after the
/// restart the page finds the old box and its owner logs in.
#[test]
fn a_new_box_is_restored_from_the_claim_page() {
    let _machine = beside_others();
    use std::io::BufRead;
    let browser_dir = daemon::workspace().join("tests/browser");
    let dir = tempfile::tempdir().expect("tempdir");
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).expect("usb");
    // The lost box, backed up to the USB folder.
    let old_data = dir.path().join("old");
    let mut old = start(&old_data, &[]);
    old.wait_healthy(Duration::from_secs(20));
    old.claim("ada", "ada-long-password");
    let key = old.cli(&["backups", "key"], "");
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    let key = String::from_utf8_lossy(&key.stdout).lines().map(str::trim).find(|l| l.len() == 35).expect("the key line").to_string();
    let repo = usb.join("hearth");
    let target = old.json(&["backups", "targets", "add", "--name", "USB", "--folder", repo.to_str().expect("utf-8")]);
    let target = target["id"].as_i64().expect("id").to_string();
    let job = old.json(&["backups", "jobs", "add", "Everything", "--target", &target]);
    let job = job["id"].as_i64().expect("id").to_string();
    old.json(&["backups", "jobs", "run", &job]);
    old.wait_json(&["backups", "runs", "--job", &job], Duration::from_secs(120), |v| v["runs"][0]["state"] == "succeeded");
    old.kill();

    let new_data = dir.path().join("new");
    let http: std::net::SocketAddr = format!("127.0.0.1:{}", daemon::free_port()).parse().expect("addr");
    let https: std::net::SocketAddr = format!("127.0.0.1:{}", daemon::free_port()).parse().expect("addr");
    let mut box_now = daemon::start_with(&new_data, http, https, &[]);
    box_now.wait_healthy(Duration::from_secs(20));
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    let mut node = Command::new("node")
        .current_dir(&browser_dir)
        .arg("recover.mjs")
        .arg(format!("http://{http}/"))
        .arg(&repo)
        .arg(&key)
        .args(["ada", "ada-long-password"])
        .arg(&shots)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node");
    let stdout = node.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut restarted = false;
    for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
        if line == "READY" && !restarted {
            // What the appliance does by itself: restart to finish the recovery.
            assert!(box_now.stop(Duration::from_secs(30)).success());
            box_now = daemon::start_with(&new_data, http, https, &[]);
            box_now.wait_healthy(Duration::from_secs(30));
            restarted = true;
        }
        seen.push(line);
    }
    let out = node.wait_with_output().expect("node");
    assert!(
        restarted && out.status.success(),
        "browser test failed:\n{}\n{}\nhearthd log:\n{}",
        seen.join("\n"),
        String::from_utf8_lossy(&out.stderr),
        box_now.log_text()
    );
    assert!(new_data.join("recovery/replaced").exists());
    assert!(box_now.stop(Duration::from_secs(15)).success());
}

/// The People page from a phone (tests/browser/people.mjs): three photos of one person and one
/// of another uploaded, their faces found and grouped by the ML worker; the person named, found
/// by name in search, hidden and shown again.
#[test]
fn a_family_names_a_person_the_box_found_in_their_photos() {
    let _machine = beside_others();
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new(daemon::workspace().join("scripts/sample-photos")).status().expect("sample-photos");
    assert!(status.success());
    let status = Command::new(daemon::workspace().join("scripts/models")).status().expect("models");
    assert!(status.success());
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("ada", "ada-long-password");
    let faces = daemon::workspace().join("target/sample-photos/faces");
    for (i, name) in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"].iter().enumerate() {
        d.upload(&cookie, &format!("IMG_{i}.jpg"), &std::fs::read(faces.join(name)).expect("photo"));
    }
    hearth_tests::poll::until(Duration::from_secs(240), "a person to be found", || {
        let r = hearth_tests::http::request(d.http, "GET", "/api/v1/people", &[format!("Cookie: {cookie}")], None).expect("people");
        (r.json()["people"].as_array().map(Vec::len) == Some(1)).then_some(())
    });
    // The info panel shows the photos' words too: every photo tagged.
    hearth_tests::poll::until(Duration::from_secs(240), "the photos to be tagged", || {
        let r = hearth_tests::http::request(d.http, "GET", "/api/v1/jobs", &[format!("Cookie: {cookie}")], None).expect("jobs");
        r.json()["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["kind"] == "tags" && k["queued"] == 0 && k["running"] == 0 && k["done"].as_i64() == Some(4))
            .then_some(())
    });
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("people.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["ada", "ada-long-password"]).arg(&shots);
    });
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The Calendars & contacts page from a phone (tests/browser/calendars.mjs): the defaults, a
/// calendar made, renamed, an event put into it over CalDAV with the app password the page made,
/// shared with another member who sees it and leaves it, then deleted.
#[test]
fn a_family_keeps_calendars_and_contacts_on_the_box() {
    let _machine = beside_others();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("ada", "ada-long-password");
    let body = r#"{"name":"bob","display_name":"Bob","password":"bob-long-password","role":"member"}"#;
    let r = hearth_tests::http::request(d.http, "POST", "/api/v1/users", &[format!("Cookie: {cookie}")], Some(body)).expect("user");
    assert_eq!(r.status, 201, "{}", r.body);
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("calendars.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["ada", "ada-long-password"]).arg(&shots).args(["bob", "bob-long-password"]);
    });
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// Searching by meaning from a phone (tests/browser/search_meaning.mjs): a box with an image/text
/// model the family provided (the colour model hearth-ml builds in code; the pinned models left
/// out, an empty folder) makes the vectors of a red, a green and a blue photo, and the Search page
/// shows the pictures nearest to a sentence. The box plays an RK3588 without its NPU runtime: the
/// Box page says why the NPU is not used.
#[test]
fn a_family_finds_photos_by_a_sentence() {
    let _machine = beside_others();
    let dir = tempfile::tempdir().expect("tempdir");
    let files = hearth_ml::embedding::tiny_model::write(dir.path()).expect("tiny model");
    let config = daemon::provided_model_config(
        dir.path(),
        &files.image_model,
        &files.text_model,
        &files.merges,
        files.image_side,
        files.text_tokens,
    );
    let mut d = start(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8")]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("ada", "ada-long-password");
    let mut ids = Vec::new();
    for (i, colour) in ["rgb(220,30,25)", "rgb(30,200,40)", "rgb(20,40,210)"].iter().enumerate() {
        let jpeg = dir.path().join(format!("{i}.jpg"));
        let made = Command::new("convert").args(["-size", "800x600", &format!("xc:{colour}")]).arg(&jpeg).status().expect("convert");
        assert!(made.success(), "convert {colour}");
        ids.push(d.upload(&cookie, &format!("IMG_{i}.jpg"), &std::fs::read(&jpeg).expect("photo")));
    }
    hearth_tests::poll::until(Duration::from_secs(240), "every photo's vector", || {
        let r = hearth_tests::http::request(d.http, "GET", "/api/v1/search/meaning?q=red", &[format!("Cookie: {cookie}")], None)
            .expect("search");
        (r.status == 200 && r.json()["covered"].as_i64() == Some(3)).then_some(())
    });
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("search_meaning.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["ada", "ada-long-password"]).arg(&shots).arg(ids[0].to_string()).arg(ids[1].to_string());
    });
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The Files page from a phone (tests/browser/files.mjs): a folder made, files uploaded (an odd
/// name among them), a second upload of one name refused rather than replacing the first, a file
/// renamed and downloaded, one deleted after asking, a file another WebDAV client put there
/// listed, a family folder made and a file uploaded into it, the folder shared as a drop box and
/// a relative's file sent into it from another phone; what the page did is what is on the box's
/// disk.
#[test]
fn a_family_keeps_files_on_the_box_from_a_phone() {
    let _machine = beside_others();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    d.claim("ada", "ada-long-password");
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    let work = dir.path().join("phone");
    std::fs::create_dir_all(&work).expect("mkdir");
    run_script("files.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["ada", "ada-long-password"]).arg(&shots).arg(&work);
    });
    let folder = d.data.join("users/ada/files/School 2026");
    let mut on_disk: Vec<String> =
        std::fs::read_dir(&folder).expect("the folder").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        ["#1 & ünïcödé 😀.txt", "Maths (Sept) (1).pdf", "Maths (Sept).pdf", "laptop.txt", "menu.txt"],
        "the deleted file came back from the trash; the relative's file beside the family's; the one moved out of the family folder"
    );
    assert_eq!(std::fs::read(folder.join("Maths (Sept) (1).pdf")).expect("dropped"), b"%PDF-1.4 from grandpa");
    assert_eq!(std::fs::read(folder.join("menu.txt")).expect("moved out of the family folder"), b"soup on sunday");
    assert!(!d.data.join("family/1/files/Old/menu.txt").exists());
    assert_eq!(std::fs::read(folder.join("laptop.txt")).expect("put back"), b"from a laptop", "the version put back");
    assert_eq!(std::fs::read(folder.join("Maths (Sept).pdf")).expect("kept"), b"%PDF-1.4 homework");
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The Disks page from a phone (tests/browser/disks.mjs), on this machine's own disks: the disk
/// the root file system is on is listed as holding the system, with its size and volumes.
#[test]
fn the_owner_sees_the_boxs_disks() {
    let _machine = beside_others();
    let system_disk = root_disk().expect("the root file system is on a block device (/proc/self/mountinfo, /sys/dev/block)");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    d.claim("ada", "ada-long-password");
    let shots = daemon::workspace().join("target/screenshots/web");
    std::fs::create_dir_all(&shots).expect("mkdir screenshots");
    run_script("disks.mjs", &d, |c| {
        c.arg(format!("http://{}/", d.http)).args(["ada", "ada-long-password"]).arg(&shots).arg(&system_disk);
    });
    assert!(d.stop(Duration::from_secs(15)).success());
}

/// The kernel's name of the disk `/` is on (`vda`, `sda`, `nvme0n1`).
fn root_disk() -> Option<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let device = mountinfo.lines().rfind(|l| l.split(' ').nth(4) == Some("/"))?.split(' ').nth(2)?.to_string();
    let real = std::fs::canonicalize(format!("/sys/dev/block/{device}")).ok()?;
    let disk = if real.join("partition").exists() { real.parent()?.to_path_buf() } else { real };
    disk.file_name()?.to_str().map(str::to_string)
}
