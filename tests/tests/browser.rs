//! The web app driven by a real browser (Debian's Chromium through playwright-core, at a phone's
//! size, then a desktop's): claim, add photos (one is not a photo) and see them in the timeline,
//! the viewer, the box's page, a session ending mid-use, log out, a wrong password, log in,
//! reload (tests/browser/web_page.mjs). scripts/test installs Chromium and the npm package.

use std::process::Command;
use std::time::Duration;

use hearth_tests::daemon::{self, start};

#[test]
fn claim_logout_login_in_chromium() {
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
    let camera_photo = |name: &str, size: &str, picture: &str, taken: &str| {
        let photo = dir.path().join(name);
        let made = Command::new("convert")
            .args(["-size", size, picture, "-colorspace", "sRGB", "-type", "TrueColor"])
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
        photo
    };
    let photo = camera_photo("IMG_0001.jpg", "1200x900", "plasma:fractal", "2024:07:14 18:03:22");
    let photo2 = camera_photo("IMG_0002.jpg", "900x1200", "gradient:red-blue", "2024:07:10 09:00:00");
    let not_photo = dir.path().join("list.jpg");
    std::fs::write(&not_photo, "eggs, milk").expect("text");
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("web_page.mjs")
        .arg(format!("http://{}/", d.http))
        .arg(shots)
        .arg(&photo)
        .arg(&not_photo)
        .arg(&photo2)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}\nhearthd log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
    assert!(d.stop(Duration::from_secs(15)).success());
}
