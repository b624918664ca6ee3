//! Storage servers the tests start as peers: restic's REST protocol served by Debian's rclone
//! (`rclone serve restic`) and S3 served by moto's server (PyPI `moto[server]`, installed by
//! scripts/test into target/test-venv).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon;

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until something listens on `port`, failing when `child` exits first.
pub fn wait_listening(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `rclone serve restic` of `root` on `port`, with Basic credentials when given.
pub fn rclone_restic(root: &Path, port: u16, auth: Option<(&str, &str)>) -> Server {
    let mut cmd = Command::new("rclone");
    cmd.args(["serve", "restic", "--addr", &format!("127.0.0.1:{port}"), "--config", "/dev/null"]);
    if let Some((u, p)) = auth {
        cmd.args(["--user", u, "--pass", p]);
    }
    cmd.arg(root).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("rclone is installed by scripts/test (Debian package rclone)");
    wait_listening(port, &mut child, "rclone serve restic");
    Server { child, port }
}

/// moto's S3 server on a free port (any bucket, any credentials).
pub fn moto_server() -> Server {
    let bin = std::env::var_os("HEARTH_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| daemon::workspace().join("target/test-venv/bin/moto_server"));
    assert!(bin.exists(), "{} is missing: scripts/test installs moto[server] there (or set HEARTH_MOTO_SERVER)", bin.display());
    let port = daemon::free_port();
    let mut child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    wait_listening(port, &mut child, "moto_server");
    Server { child, port }
}

/// A static web server of `root` on a free port, as an update channel: RangeHTTPServer (PyPI
/// `rangehttpserver`, Python's http.server with `Range`, installed by scripts/test into
/// target/test-venv) when `ranges`, else Python's own http.server, which answers every request
/// with the whole file.
pub fn static_files(root: &Path, ranges: bool) -> Server {
    let port = daemon::free_port();
    let mut cmd = if ranges {
        let python = daemon::workspace().join("target/test-venv/bin/python");
        assert!(python.exists(), "{} is missing: scripts/test makes target/test-venv with rangehttpserver", python.display());
        let mut c = Command::new(python);
        c.args(["-m", "RangeHTTPServer", "--bind", "127.0.0.1", &port.to_string()]);
        c
    } else {
        let mut c = Command::new("python3");
        c.args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()]);
        c
    };
    let mut child = cmd.current_dir(root).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start a Python web server");
    wait_listening(port, &mut child, "the static web server");
    Server { child, port }
}
