//! Resumable uploads with a real tus client (tuspy, from PyPI into target/test-venv by
//! scripts/test): a video sent in chunks stops after three of them, as a phone losing its
//! network would; a new client resumes from where the box says it is, and the video joins the
//! timeline. curl checks the protocol's refusals.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::{daemon, http};

const CHUNK: usize = 64 * 1024;

fn python() -> std::path::PathBuf {
    let venv = daemon::workspace().join("target/test-venv/bin/python3");
    assert!(venv.exists(), "{} is missing: scripts/test installs tuspy into it", venv.display());
    venv
}

fn tus(script: &str) -> String {
    let out = Command::new(python()).args(["-c", script]).output().expect("python");
    assert!(out.status.success(), "tuspy: {}\n{}", String::from_utf8_lossy(&out.stderr), script);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl").args(["-s", "-D", "-", "-o", "/dev/null", "-w", "%{http_code}"]).args(args).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let status = text.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    (status, text.to_lowercase())
}

#[test]
fn a_video_upload_interrupted_by_the_network_resumes_with_a_tus_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let session = d.claim("ada", "lovelace-1815");
    let cookie = format!("Cookie: {session}");
    let base = format!("http://{}", d.http);
    let video = dir.path().join("IMG_0002.MOV");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=30:duration=8", "-c:v", "libx264", "-b:v", "3M"])
        .args(["-pix_fmt", "yuv420p", "-metadata", "creation_time=2024-07-14T16:03:22Z"])
        .arg(&video)
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let size = std::fs::metadata(&video).expect("video").len() as usize;
    assert!(size > 4 * CHUNK, "the video is {size} bytes");

    let client = |extra: &str| {
        format!(
            "from tusclient import client\nc = client.TusClient({:?}, headers={{'Cookie': {:?}}})\nup = c.uploader({:?}, chunk_size={CHUNK}{extra})\n",
            format!("{base}/api/v1/uploads"),
            cookie.trim_start_matches("Cookie: "),
            video.display().to_string(),
        )
    };
    // Three chunks, then the phone loses its network.
    let url =
        tus(&format!("{}for _ in range(3):\n    up.upload_chunk()\nprint(up.url)", client(", metadata={'filename': 'IMG_0002.MOV'}")));
    assert!(url.contains("/api/v1/uploads/"), "{url}");
    let (status, headers) = curl(&["-I", "-H", &cookie, "-H", "Tus-Resumable: 1.0.0", &url]);
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains(&format!("upload-offset: {}", 3 * CHUNK)), "{headers}");
    assert!(headers.contains(&format!("upload-length: {size}")), "{headers}");
    // The protocol's refusals: a wrong offset (with the right one in the answer), a wrong type,
    // another tus version, someone else's upload.
    let patch = |offset: usize, ctype: &str, version: &str| {
        curl(&[
            "-X",
            "PATCH",
            "-H",
            &cookie,
            "-H",
            &format!("Tus-Resumable: {version}"),
            "-H",
            &format!("Upload-Offset: {offset}"),
            "-H",
            &format!("Content-Type: {ctype}"),
            "--data-binary",
            "xx",
            &url,
        ])
    };
    let (status, headers) = patch(0, "application/offset+octet-stream", "1.0.0");
    assert_eq!(status, 409, "{headers}");
    assert!(headers.contains(&format!("upload-offset: {}", 3 * CHUNK)), "{headers}");
    assert_eq!(patch(3 * CHUNK, "application/octet-stream", "1.0.0").0, 400);
    assert_eq!(patch(3 * CHUNK, "application/offset+octet-stream", "0.2.2").0, 412);
    assert_eq!(curl(&["-I", "-H", "Tus-Resumable: 1.0.0", &url]).0, 401);

    // A new client (the app restarted) resumes at the box's offset and finishes.
    tus(&format!("{}up.upload()\nprint(up.offset)", client(&format!(", url={url:?}"))));
    let (status, headers) = curl(&["-I", "-H", &cookie, &url]);
    assert_eq!(status, 200);
    assert!(headers.contains(&format!("upload-offset: {size}")), "{headers}");
    let asset: i64 = headers
        .lines()
        .find_map(|l| l.strip_prefix("hearth-asset-id: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no asset id: {headers}"));
    let details =
        http::request(d.http, "GET", &format!("/api/v1/assets/{asset}"), std::slice::from_ref(&cookie), None).expect("details").json();
    assert_eq!(
        (details["kind"].as_str(), details["duration_ms"].as_i64(), details["size_bytes"].as_u64()),
        (Some("video"), Some(8000), Some(size as u64)),
        "{details}"
    );
    let original =
        Command::new("curl").args(["-s", "-H", &cookie, &format!("{base}/api/v1/assets/{asset}/original")]).output().expect("curl");
    assert!(original.stdout == std::fs::read(&video).expect("video"), "the video arrived byte for byte");
    assert!(
        !Path::new(&dir.path().join("data/uploads/1"))
            .read_dir()
            .map(|mut d| d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "part"))))
            .unwrap_or(false),
        "no partial file left"
    );

    // An upload given up on is removed.
    let url = tus(&format!("{}up.upload_chunk()\nprint(up.url)", client(", metadata={'filename': 'IMG_0003.MOV'}")));
    assert_eq!(curl(&["-X", "DELETE", "-H", &cookie, "-H", "Tus-Resumable: 1.0.0", &url]).0, 204);
    assert_eq!(curl(&["-I", "-H", &cookie, &url]).0, 404);
}
