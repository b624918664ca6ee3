//! The web page driven by a real browser (Debian's Chromium through playwright-core): claim,
//! log out, a wrong password, log in, reload. scripts/test installs Chromium and the npm package.

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
    let out = Command::new("node")
        .current_dir(&browser_dir)
        .arg("web_page.mjs")
        .arg(format!("http://{}/", d.http))
        .arg(shots)
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
