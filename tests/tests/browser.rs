//! The web page driven by a real browser (Debian's Chromium through playwright-core): claim,
//! add photos (one is not a photo) and see the thumbnail, log out, a wrong password, log in, reload. scripts/test installs Chromium and the npm package.

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
    let shots = std::env::var("HEARTH_SCREENSHOTS").unwrap_or_default();
    // A camera photo (ImageMagick, with its date from exiftool) and a text file named like one.
    let photo = dir.path().join("IMG_0001.jpg");
    let made = Command::new("convert").args(["-size", "1200x900", "plasma:fractal"]).arg(&photo).status().expect("convert");
    assert!(made.success());
    let dated = Command::new("exiftool")
        .args(["-q", "-overwrite_original", "-DateTimeOriginal=2024:07:14 18:03:22"])
        .arg(&photo)
        .status()
        .expect("exiftool");
    assert!(dated.success());
    let not_photo = dir.path().join("list.jpg");
    std::fs::write(&not_photo, "eggs, milk").expect("text");
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("web_page.mjs")
        .arg(format!("http://{}/", d.http))
        .arg(shots)
        .arg(&photo)
        .arg(&not_photo)
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
