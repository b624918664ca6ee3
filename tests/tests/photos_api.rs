//! The photo library through a running hearthd, with curl as the client: upload real JPEGs made
//! by ImageMagick with EXIF from exiftool, then the timeline, the map and the thumbnails as a
//! phone reads them; a re-upload costs nothing; a text file named .jpg is refused.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::{daemon, http, poll};

fn run(program: &str, args: &[&str], dir: &Path) {
    let out =
        Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `curl` with the session cookie; (status, body).
fn curl(cookie: &str, args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-H", &format!("Cookie: {cookie}")])
        .args(args)
        .output()
        .expect("curl");
    let mut body = out.stdout;
    let cut = body.iter().rposition(|b| *b == b'\n').expect("status line");
    let status = String::from_utf8_lossy(&body[cut + 1..]).trim().parse().expect("status");
    body.truncate(cut);
    (status, body)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn uploads_show_up_in_the_timeline_the_map_and_as_thumbnails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ada", "lovelace-1815");
    let cookie = session;
    let base = format!("http://{}", d.http);

    run("convert", &["-size", "2000x1500", "plasma:fractal", "paris.jpg"], dir.path());
    run(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-DateTimeOriginal=2024:07:14 18:03:22",
            "-OffsetTimeOriginal=+02:00",
            "-GPSLatitude=48.8584",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=2.2945",
            "-GPSLongitudeRef=E",
            "paris.jpg",
        ],
        dir.path(),
    );
    run("convert", &["-size", "1200x1600", "gradient:green-white", "home.jpg"], dir.path());
    run("exiftool", &["-q", "-overwrite_original", "-DateTimeOriginal=2023:12:24 20:00:00", "home.jpg"], dir.path());
    std::fs::write(dir.path().join("list.jpg"), "eggs, milk").expect("text");

    let upload = |file: &str, name: &str| {
        let path = dir.path().join(file);
        curl(&cookie, &["-X", "POST", "--data-binary", &format!("@{}", path.display()), &format!("{base}/api/v1/assets?name={name}")])
    };
    let (status, body) = upload("paris.jpg", "IMG_0001.JPG");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let paris = json(&body)["id"].as_i64().expect("id");
    let (status, _) = upload("home.jpg", "IMG_0002.JPG");
    assert_eq!(status, 201);
    // The phone uploads its roll again: the same content is recognised, nothing is stored twice.
    let (status, body) = upload("paris.jpg", "IMG_0001.JPG");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["duplicate"], true);
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/library"))
            .expect("library")
            .flatten()
            .flat_map(|u| std::fs::read_dir(u.path()).expect("user"))
            .count(),
        2
    );
    let (status, body) = upload("list.jpg", "list.jpg");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("not a photo"));

    let (status, body) = curl(&cookie, &[&format!("{base}/api/v1/timeline/months")]);
    assert_eq!(status, 200);
    assert_eq!(json(&body)["months"], serde_json::json!([{"month": 202407, "count": 1}, {"month": 202312, "count": 1}]));
    let (_, body) = curl(&cookie, &[&format!("{base}/api/v1/timeline/months/202407")]);
    let page = json(&body);
    assert_eq!(page["assets"][0]["id"], paris);
    assert_eq!(page["assets"][0]["taken_at"], 1_720_973_002);
    assert_eq!(page["assets"][0]["taken_offset"], 120);
    assert_eq!(page["next"], serde_json::Value::Null);

    let (_, body) = curl(&cookie, &[&format!("{base}/api/v1/map/markers?zoom=1")]);
    let markers = json(&body)["markers"].as_array().cloned().expect("markers");
    assert_eq!(markers.len(), 1, "only the located photo: {markers:?}");
    assert!((markers[0]["latitude"].as_f64().expect("lat") - 48.8584).abs() < 1e-3);
    let (_, body) = curl(&cookie, &[&format!("{base}/api/v1/map/markers?zoom=16&south=48.85&west=2.28&north=48.87&east=2.30")]);
    assert_eq!(json(&body)["markers"][0]["asset_id"], paris);

    // Thumbnails: made by the thumbnail worker shortly after the upload (until then 503 with
    // Retry-After); a JPEG of the right size, cached by content, revalidated with a 304.
    poll::until(Duration::from_secs(60), "the thumbnail worker", || {
        let (status, _) =
            curl(&cookie, &["-D", &dir.path().join("h.txt").display().to_string(), &format!("{base}/api/v1/assets/{paris}/thumbnail")]);
        if status == 503 {
            let headers = std::fs::read_to_string(dir.path().join("h.txt")).expect("headers").to_lowercase();
            assert!(headers.contains("retry-after: 2"), "{headers}");
        }
        (status != 503).then_some(())
    });
    let thumb = dir.path().join("t.jpg");
    let (status, jpeg) = curl(
        &cookie,
        &["-D", &dir.path().join("h.txt").display().to_string(), &format!("{base}/api/v1/assets/{paris}/thumbnail?size=1440")],
    );
    assert_eq!(status, 200);
    std::fs::write(&thumb, jpeg).expect("thumbnail");
    let out = Command::new("identify").args(["-format", "%w %h"]).arg(&thumb).output().expect("identify");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1440 1080");
    let headers = std::fs::read_to_string(dir.path().join("h.txt")).expect("headers").to_lowercase();
    assert!(headers.contains("cache-control: private, max-age=31536000, immutable"), "{headers}");
    let etag = headers.lines().find_map(|l| l.strip_prefix("etag: ")).expect("etag").trim().to_string();
    let (status, body) =
        curl(&cookie, &["-H", &format!("If-None-Match: {etag}"), &format!("{base}/api/v1/assets/{paris}/thumbnail?size=1440")]);
    assert_eq!((status, body.len()), (304, 0));
    // Details, and the check a phone makes before uploading its roll.
    let (status, body) = curl(&cookie, &[&format!("{base}/api/v1/assets/{paris}")]);
    assert_eq!(status, 200);
    let details = json(&body);
    let paris_sum = details["checksum"].as_str().expect("checksum").to_string();
    assert_eq!(
        (details["format"].as_str(), details["width"].as_i64(), details["source"].as_str()),
        (Some("jpeg"), Some(2000), Some("upload"))
    );
    assert!((details["latitude"].as_f64().expect("lat") - 48.8584).abs() < 1e-4);
    // Named offline from GeoNames (scripts/geodata made the file hearthd finds next to itself).
    assert_eq!(
        (details["city"].as_str(), details["region"].as_str(), details["country"].as_str()),
        (Some("Paris"), Some("Île-de-France"), Some("France")),
        "{details}"
    );
    let other = "00".repeat(32);
    let (status, body) = curl(
        &cookie,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            &format!(r#"{{"checksums":["{paris_sum}","{other}"]}}"#),
            &format!("{base}/api/v1/assets/check"),
        ],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["existing"], serde_json::json!({ paris_sum.clone(): paris }));
    let (status, _) = curl(
        &cookie,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"checksums":["nope"]}"#,
            &format!("{base}/api/v1/assets/check"),
        ],
    );
    assert_eq!(status, 400);
    // The original, whole and in ranges (a phone's viewer and a video player ask for ranges).
    let original = std::fs::read(dir.path().join("paris.jpg")).expect("original");
    let url = format!("{base}/api/v1/assets/{paris}/original");
    let (status, body) = curl(&cookie, &[&url]);
    assert_eq!((status, body == original), (200, true));
    let (status, body) = curl(&cookie, &["-D", &dir.path().join("r.txt").display().to_string(), "-H", "Range: bytes=0-99", &url]);
    assert_eq!((status, &body[..]), (206, &original[..100]));
    let headers = std::fs::read_to_string(dir.path().join("r.txt")).expect("headers").to_lowercase();
    assert!(headers.contains(&format!("content-range: bytes 0-99/{}", original.len())), "{headers}");
    let (status, body) = curl(&cookie, &["-H", "Range: bytes=-10", &url]);
    assert_eq!((status, &body[..]), (206, &original[original.len() - 10..]));
    let (status, _) = curl(&cookie, &["-H", &format!("Range: bytes={}-", original.len()), &url]);
    assert_eq!(status, 416);
    // Favourite, archive, trash and restore, as the timeline sees them.
    let home = json(&curl(&cookie, &[&format!("{base}/api/v1/timeline/months/202312")]).1)["assets"][0]["id"].as_i64().expect("home");
    let patch = |body: &str| {
        curl(&cookie, &["-X", "PATCH", "-H", "Content-Type: application/json", "--data", body, &format!("{base}/api/v1/assets/{paris}")]).0
    };
    assert_eq!(patch(r#"{"favourite":true}"#), 204);
    assert_eq!(json(&curl(&cookie, &[&format!("{base}/api/v1/timeline/months/202407")]).1)["assets"][0]["favourite"], true);
    assert_eq!(patch(r#"{"archived":true}"#), 204);
    let months = |c: &str| json(&curl(c, &[&format!("{base}/api/v1/timeline/months")]).1)["months"].clone();
    assert_eq!(months(&cookie), serde_json::json!([{"month": 202312, "count": 1}]));
    assert_eq!(patch(r#"{"archived":false}"#), 204);
    assert_eq!(curl(&cookie, &["-X", "POST", &format!("{base}/api/v1/assets/{home}/trash")]).0, 204);
    assert_eq!(months(&cookie), serde_json::json!([{"month": 202407, "count": 1}]));
    assert_eq!(curl(&cookie, &["-X", "POST", &format!("{base}/api/v1/assets/{home}/restore")]).0, 204);
    assert_eq!(months(&cookie), serde_json::json!([{"month": 202407, "count": 1}, {"month": 202312, "count": 1}]));
    assert_eq!(patch(r#"{}"#), 400);
    // Another user's library is not this one's.
    let (status, _) = curl("hearth_session=nobody", &[&format!("{base}/api/v1/assets/{paris}/thumbnail")]);
    assert_eq!(status, 401);
    let (status, _) = curl(&cookie, &[&format!("{base}/api/v1/assets/{}/thumbnail", paris + 100)]);
    assert_eq!(status, 404);
}

/// A photo that takes the thumbnail worker down (the debug build's `HEARTH_TEST_ABORT_ON` makes
/// the worker abort on it, as an out-of-memory kill would) is retried once after the supervisor
/// restarts the worker, then set aside; the photos around it get their thumbnails; the jobs API
/// counts it all, and an admin can queue it again.
#[test]
fn a_photo_that_crashes_the_thumbnail_worker_is_quarantined_and_the_rest_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start_with_env(&dir.path().join("data"), &[], &[("HEARTH_TEST_ABORT_ON", "IMG_0666.JPG")]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ada", "lovelace-1815");
    let cookie = session;
    let base = format!("http://{}", d.http);
    let mut ids = Vec::new();
    for (n, name) in ["IMG_0665.JPG", "IMG_0666.JPG", "IMG_0667.JPG"].iter().enumerate() {
        let file = dir.path().join(format!("{n}.jpg"));
        run("convert", &["-size", "640x480", &format!("gradient:red-rgb({},0,255)", n * 100), file.to_str().expect("utf8")], dir.path());
        let (status, body) =
            curl(&cookie, &["-X", "POST", "--data-binary", &format!("@{}", file.display()), &format!("{base}/api/v1/assets?name={name}")]);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        ids.push(json(&body)["id"].as_i64().expect("id"));
    }
    let details = |id: i64| json(&curl(&cookie, &[&format!("{base}/api/v1/assets/{id}")]).1);
    let settled = |id: i64| details(id)["thumbnails"] != "pending";
    poll::until(Duration::from_secs(90), "every thumbnail job to end", || ids.iter().all(|&id| settled(id)).then_some(()));
    assert_eq!(details(ids[0])["thumbnails"], "ready");
    assert_eq!(details(ids[2])["thumbnails"], "ready");
    let poisoned = details(ids[1]);
    assert_eq!(poisoned["thumbnails"], "failed", "{poisoned}");
    assert!(poisoned["metadata_error"].as_str().unwrap_or("").contains("set aside"), "{poisoned}");
    let (status, body) = curl(&cookie, &[&format!("{base}/api/v1/assets/{}/thumbnail", ids[1])]);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("set aside"));
    // The original is untouched and still downloads.
    assert_eq!(curl(&cookie, &[&format!("{base}/api/v1/assets/{}/original", ids[1])]).0, 200);

    let (_, body) = curl(&cookie, &[&format!("{base}/api/v1/jobs")]);
    let jobs = json(&body);
    // Per kind (`faces` follows thumbnails); the thumbnails' entry.
    let thumbs = jobs["jobs"].as_array().into_iter().flatten().find(|k| k["kind"] == "thumbnails").cloned().unwrap_or_default();
    assert_eq!(thumbs["kind"], "thumbnails", "{jobs}");
    assert_eq!((thumbs["done"].as_i64(), thumbs["quarantined"].as_i64(), thumbs["queued"].as_i64()), (Some(2), Some(1), Some(0)), "{jobs}");
    // The worker crashed twice (the first try and the retry), and was restarted each time.
    let health = http::get(d.http, "/api/health").expect("health").json();
    let worker = health["services"].as_array().expect("services").iter().find(|s| s["name"] == "thumbnail").cloned().expect("thumbnail");
    assert!(worker["restarts"].as_i64().unwrap_or(0) >= 2, "{worker}");
    assert!(d.log_text().contains("set aside"), "the log says what happened");

    // An admin queues it again (after an update, say): it is pending, then set aside once more.
    let (status, body) = curl(&cookie, &["-X", "POST", &format!("{base}/api/v1/jobs/thumbnails/retry")]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["queued"], 1);
    assert_eq!(curl(&cookie, &["-X", "POST", &format!("{base}/api/v1/jobs/posters/retry")]).0, 404);
    poll::until(Duration::from_secs(90), "the retried job to end", || settled(ids[1]).then_some(()));
    assert_eq!(details(ids[1])["thumbnails"], "failed");
}

/// What an iPhone sends: a HEIC photo and a MOV video with its QuickTime tags. Both join the
/// timeline with their dates; the thumbnail worker makes the HEIC's thumbnails through libheif
/// and the video's from an upright poster frame; the video streams back in ranges.
#[test]
fn an_iphones_heic_and_mov_join_the_timeline_with_thumbnails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ada", "lovelace-1815");
    let cookie = session;
    let base = format!("http://{}", d.http);

    run("convert", &["-size", "2016x1512", "plasma:fractal", "-quality", "92", "src.jpg"], dir.path());
    run(
        "exiftool",
        &["-q", "-overwrite_original", "-DateTimeOriginal=2024:07:14 18:03:22", "-OffsetTimeOriginal=+02:00", "src.jpg"],
        dir.path(),
    );
    run("heif-enc", &["-q", "60", "src.jpg", "-o", "IMG_0001.HEIC"], dir.path());
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1280x720:rate=30:duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "IMG_0002.MOV",
        ],
        dir.path(),
    );
    run(
        "exiftool",
        &["-q", "-overwrite_original", "-QuickTime:CreationDate=2024:07:14 18:05:00+02:00", "-Rotation=90", "IMG_0002.MOV"],
        dir.path(),
    );
    let mut ids = Vec::new();
    for name in ["IMG_0001.HEIC", "IMG_0002.MOV"] {
        let path = dir.path().join(name);
        let (status, body) =
            curl(&cookie, &["-X", "POST", "--data-binary", &format!("@{}", path.display()), &format!("{base}/api/v1/assets?name={name}")]);
        assert_eq!(status, 201, "{name}: {}", String::from_utf8_lossy(&body));
        ids.push(json(&body)["id"].as_i64().expect("id"));
    }
    let page = json(&curl(&cookie, &[&format!("{base}/api/v1/timeline/months/202407")]).1);
    let assets = page["assets"].as_array().cloned().expect("assets");
    assert_eq!(assets.len(), 2, "{page}");
    assert_eq!(
        (assets[0]["id"].as_i64(), assets[0]["kind"].as_str(), assets[0]["duration_ms"].as_i64()),
        (Some(ids[1]), Some("video"), Some(2000))
    );
    assert_eq!((assets[0]["width"].as_i64(), assets[0]["height"].as_i64()), (Some(720), Some(1280)), "the video is shown upright");
    assert_eq!((assets[1]["id"].as_i64(), assets[1]["kind"].as_str()), (Some(ids[0]), Some("photo")));
    for (id, size) in [(ids[0], "1440 1080"), (ids[1], "720 1280")] {
        poll::until(Duration::from_secs(60), "the thumbnail worker", || {
            (curl(&cookie, &[&format!("{base}/api/v1/assets/{id}/thumbnail?size=1440")]).0 != 503).then_some(())
        });
        let (status, jpeg) = curl(&cookie, &[&format!("{base}/api/v1/assets/{id}/thumbnail?size=1440")]);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&jpeg));
        let thumb = dir.path().join(format!("{id}.jpg"));
        std::fs::write(&thumb, jpeg).expect("thumbnail");
        let out = Command::new("identify").args(["-format", "%w %h"]).arg(&thumb).output().expect("identify");
        assert_eq!(String::from_utf8_lossy(&out.stdout), size, "asset {id}");
    }
    let url = format!("{base}/api/v1/assets/{}/original", ids[1]);
    let (status, body) = curl(&cookie, &["-D", &dir.path().join("v.txt").display().to_string(), "-H", "Range: bytes=4-11", &url]);
    assert_eq!((status, &body[..]), (206, &b"ftypqt  "[..]));
    let headers = std::fs::read_to_string(dir.path().join("v.txt")).expect("headers").to_lowercase();
    assert!(headers.contains("content-type: video/quicktime"), "{headers}");
}

/// Finding photos again: search by place name (named offline), file name and date; "on this day"
/// in earlier years; a re-saved smaller copy found as a near-duplicate and trashed.
#[test]
fn search_memories_and_near_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ada", "lovelace-1815");
    let cookie = session;
    let base = format!("http://{}", d.http);

    run("convert", &["-size", "1600x1200", "plasma:fractal", "-quality", "92", "paris.jpg"], dir.path());
    run(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-DateTimeOriginal=2024:07:14 18:03:22",
            "-GPSLatitude=48.8584",
            "-GPSLongitude=2.2945",
            "paris.jpg",
        ],
        dir.path(),
    );
    // The same picture as a messenger would send it on: half the size, recompressed, EXIF kept.
    run("convert", &["paris.jpg", "-resize", "50%", "-quality", "60", "copy.jpg"], dir.path());
    run("convert", &["-size", "1600x1200", "gradient:navy-gold", "-quality", "92", "home.jpg"], dir.path());
    run("exiftool", &["-q", "-overwrite_original", "-DateTimeOriginal=2023:07:14 09:00:00", "-Model=Pixel 8", "home.jpg"], dir.path());
    let mut ids = Vec::new();
    for (file, name) in [("paris.jpg", "IMG_0001.JPG"), ("copy.jpg", "IMG_0001-WA0003.jpg"), ("home.jpg", "PXL_20230714.jpg")] {
        let path = dir.path().join(file);
        let (status, body) =
            curl(&cookie, &["-X", "POST", "--data-binary", &format!("@{}", path.display()), &format!("{base}/api/v1/assets?name={name}")]);
        assert_eq!(status, 201, "{name}: {}", String::from_utf8_lossy(&body));
        ids.push(json(&body)["id"].as_i64().expect("id"));
    }
    let found = |query: &str| -> Vec<i64> {
        let (status, body) = curl(&cookie, &[&format!("{base}/api/v1/search?{query}")]);
        assert_eq!(status, 200, "{query}: {}", String::from_utf8_lossy(&body));
        json(&body)["assets"].as_array().expect("assets").iter().filter_map(|a| a["id"].as_i64()).collect()
    };
    assert_eq!(found("q=paris"), vec![ids[1], ids[0]]);
    assert_eq!(found("q=France+IMG"), vec![ids[1], ids[0]]);
    assert_eq!(found("q=wa0003"), vec![ids[1]]);
    assert_eq!(found("q=pixel"), vec![ids[2]]);
    assert_eq!(found("from=1704067200"), vec![ids[1], ids[0]], "from 1 January 2024");
    assert_eq!(found("q=paris&to=1704067200"), Vec::<i64>::new());
    assert_eq!(curl(&cookie, &[&format!("{base}/api/v1/search?kind=album")]).0, 400);

    let (_, body) = curl(&cookie, &[&format!("{base}/api/v1/memories?date=2025-07-14")]);
    let memories = json(&body);
    let years: Vec<(i64, i64)> = memories["memories"]
        .as_array()
        .expect("memories")
        .iter()
        .map(|m| (m["year"].as_i64().unwrap_or(0), m["years_ago"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(years, vec![(2024, 1), (2023, 2)], "{memories}");
    assert_eq!(curl(&cookie, &[&format!("{base}/api/v1/memories?date=14/07/2025")]).0, 400);

    // Near-duplicates need the thumbnail worker's hashes.
    poll::until(Duration::from_secs(60), "the thumbnail jobs", || {
        let jobs = json(&curl(&cookie, &[&format!("{base}/api/v1/jobs")]).1);
        let thumbs = jobs["jobs"].as_array().into_iter().flatten().find(|k| k["kind"] == "thumbnails").cloned().unwrap_or_default();
        (thumbs["done"].as_i64() == Some(3)).then_some(())
    });
    let (_, body) = curl(&cookie, &[&format!("{base}/api/v1/duplicates")]);
    let groups = json(&body)["groups"].clone();
    let ids_of =
        |g: &serde_json::Value| g.as_array().map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(groups.as_array().map(|g| g.len()), Some(1), "{groups}");
    let mut group = ids_of(&groups[0]);
    group.sort();
    assert_eq!(group, vec![ids[0], ids[1]], "the copy and its original, not the other photo");
    let (status, _) = curl(
        &cookie,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            &format!(r#"{{"trash":[{}]}}"#, ids[1]),
            &format!("{base}/api/v1/duplicates/resolve"),
        ],
    );
    assert_eq!(status, 204);
    assert_eq!(json(&curl(&cookie, &[&format!("{base}/api/v1/duplicates")]).1)["groups"], serde_json::json!([]));
    assert_eq!(found("q=paris"), vec![ids[0]], "the copy is in the trash");
}

/// Two phones (or relatives on one share link) upload different photos under one name at the
/// same moment: every one is kept, byte for byte, under its own name, as its own asset; half
/// arrive by plain upload and half by tus, which finishes through the same placing.
#[test]
fn concurrent_uploads_of_one_name_all_survive_byte_exact() {
    const N: usize = 24;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("ada", "lovelace-1815");
    let base = format!("http://{}", d.http);
    let files: Vec<_> = (0..N)
        .map(|n| {
            let name = format!("p{n}.jpg");
            run("convert", &["-size", "320x240", &format!("gradient:rgb({},{},0)-blue", n * 10, 255 - n * 10), &name], dir.path());
            dir.path().join(name)
        })
        .collect();
    let uploaded: Vec<(u16, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(n, file)| {
                let (cookie, base) = (&cookie, &base);
                s.spawn(move || {
                    let data = format!("@{}", file.display());
                    if n % 2 == 0 {
                        return curl(cookie, &["-X", "POST", "--data-binary", &data, &format!("{base}/api/v1/assets?name=IMG_0001.jpg")]);
                    }
                    // tus: create, then send the whole file in one PATCH.
                    let len = std::fs::metadata(file).expect("size").len().to_string();
                    let out = Command::new("curl")
                        .args(["-s", "-D", "-", "-o", "/dev/null", "-X", "POST", "-H", &format!("Cookie: {cookie}")])
                        .args(["-H", "Tus-Resumable: 1.0.0", "-H", &format!("Upload-Length: {len}")])
                        .args(["-H", "Upload-Metadata: filename SU1HXzAwMDEuanBn", &format!("{base}/api/v1/uploads")])
                        .output()
                        .expect("curl");
                    let head = String::from_utf8_lossy(&out.stdout).to_string();
                    let location = head
                        .lines()
                        .find_map(|l| l.strip_prefix("location: ").or_else(|| l.strip_prefix("Location: ")))
                        .unwrap_or_else(|| panic!("no Location in {head}"))
                        .trim()
                        .to_string();
                    let out = Command::new("curl")
                        .args(["-s", "-D", "-", "-o", "/dev/null", "-X", "PATCH", "-H", &format!("Cookie: {cookie}")])
                        .args(["-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0"])
                        .args(["-H", "Content-Type: application/offset+octet-stream", "--data-binary", &data])
                        .arg(format!("{base}{location}"))
                        .output()
                        .expect("curl");
                    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
                    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                    let id = head.lines().find_map(|l| l.strip_prefix("hearth-asset-id: ")).unwrap_or("").trim().to_string();
                    (
                        if status == 204 && !id.is_empty() { 201 } else { status },
                        format!(r#"{{"id":{}}}"#, if id.is_empty() { "0" } else { &id }).into_bytes(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("upload thread")).collect()
    });
    let mut ids = std::collections::HashSet::new();
    for (status, body) in &uploaded {
        assert_eq!(*status, 201, "{}", String::from_utf8_lossy(body));
        ids.insert(json(body)["id"].as_i64().expect("id"));
    }
    assert_eq!(ids.len(), N, "one asset per photo");
    // On disk: N files, and together exactly the N photos sent.
    let library = std::fs::read_dir(dir.path().join("data/library")).expect("library").flatten().next().expect("user folder").path();
    let mut stored: Vec<Vec<u8>> = std::fs::read_dir(&library)
        .expect("ls")
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| std::fs::read(e.path()).expect("read"))
        .collect();
    let mut sent: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).expect("read")).collect();
    stored.sort();
    sent.sort();
    assert_eq!(stored.len(), N, "every upload has its file");
    assert!(stored == sent, "the library holds exactly the photos sent, byte for byte");
    // And each asset's original is its own photo.
    for id in ids {
        let (status, body) = curl(&cookie, &[&format!("{base}/api/v1/assets/{id}/original")]);
        assert_eq!(status, 200);
        assert!(sent.contains(&body), "asset {id}'s original is one of the photos sent");
    }
}
