//! Building and running `hearthd` for tests.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Build `hearthd` and `hearth` (once per test process) and return the folder holding them.
pub fn bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
        let mut cmd = Command::new(cargo);
        // For the tests, the whole workspace with every target, as scripts/test builds it:
        // `-p hearthd -p hearth` alone unifies features over fewer packages, so shared
        // dependencies (tract among them) were built a second time with other features, five
        // minutes of a fresh-clone run, and the next `cargo build --workspace` built them back.
        // The benchmarks (release) build the two binaries alone.
        cmd.current_dir(workspace()).arg("build").arg("-q");
        if profile == "debug" {
            cmd.args(["--workspace", "--all-targets"]);
        } else {
            cmd.args(["-p", "hearthd", "-p", "hearth"]);
        }
        // What cargo set for this package's own run (CARGO_MANIFEST_DIR, CARGO_PKG_*...) would
        // reach build scripts that watch it (ring's does) and make each build undo the last.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let per_package = key.starts_with("CARGO_PKG_")
                || [
                    "CARGO_MANIFEST_DIR",
                    "CARGO_MANIFEST_PATH",
                    "CARGO_CRATE_NAME",
                    "CARGO_BIN_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                    "OUT_DIR",
                ]
                .contains(&key.as_ref());
            if per_package {
                cmd.env_remove(key.as_ref());
            }
        }
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building hearthd and hearth failed");
        let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| workspace().join("target"));
        target.join(profile)
    })
    .clone()
}

/// The path of `hearthd`.
pub fn hearthd() -> PathBuf {
    bin_dir().join("hearthd")
}

/// The path of `hearth`.
pub fn hearth() -> PathBuf {
    bin_dir().join("hearth")
}

/// A port that was free a moment ago on 127.0.0.1 and that no other caller in this process has
/// been given.
///
/// Asking the kernel for port 0 is not enough: tests run in parallel and start their servers a
/// while after choosing, so two of them could be handed the same just-released port, and the slow
/// starter would fail to bind while the test talks to the other's server (a CI run once got S3 answers
/// from `rclone serve restic`). So ports come from a counter, below the kernel's ephemeral range
/// (where no outgoing connection takes them meanwhile), starting where the process id says so that
/// test binaries running at once seldom meet.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOWEST: u32 = 10_000;
    let ephemeral_start = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next().and_then(|low| low.parse::<u32>().ok()))
        .unwrap_or(32_768);
    let span = ephemeral_start.saturating_sub(LOWEST);
    if span < 1_000 {
        // An unusual range leaves no room below it: fall back to the kernel's choice.
        return TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
    }
    let start = std::process::id().wrapping_mul(7_919) % span;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < span, "no free port left below {ephemeral_start}");
        let port = u16::try_from(LOWEST + (start + n) % span).expect("below the ephemeral range");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running hearthd.
pub struct Daemon {
    /// The process.
    pub child: Child,
    /// Its plain HTTP address.
    pub http: SocketAddr,
    /// Its HTTPS address.
    pub https: SocketAddr,
    /// Its data folder.
    pub data: PathBuf,
    /// Where its stderr goes.
    pub log: PathBuf,
    /// The network namespace it runs in, if not the test's.
    pub netns: Option<String>,
}

/// hearthd in `dir/data` with sync on a free port, claimed by "ada", ready: the NAS of the sync
/// interop tests. Returns it with its sync device id and its sync address.
pub fn start_nas(dir: &Path) -> (Daemon, String, String) {
    let sync_addr = format!("127.0.0.1:{}", free_port());
    let mut d = start(&dir.join("data"), &["--sync-listen", &sync_addr]);
    d.wait_healthy(Duration::from_secs(30));
    let out = d.cli(&["setup", "--name", "ada"], "lovelace-1815\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();
    (d, id, sync_addr)
}

/// Start hearthd on free ports against `data`, with `extra` arguments, mDNS off unless asked.
pub fn start(data: &Path, extra: &[&str]) -> Daemon {
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    start_with(data, http, https, extra)
}

/// Start hearthd with given addresses.
pub fn start_with(data: &Path, http: SocketAddr, https: SocketAddr, extra: &[&str]) -> Daemon {
    launch(None, data, http, https, extra, &[])
}

/// [`start`] with environment variables (the debug build's fault injection, for one).
pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
    let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    launch(None, data, http, https, extra, env)
}

/// Start hearthd inside network namespace `ns` (its HTTP on the namespace's 127.0.0.1; the
/// CLI reaches it through the socket in `data`, the filesystem being shared).
pub fn start_in_netns(ns: &str, data: &Path, extra: &[&str]) -> Daemon {
    launch(Some(ns), data, ([127, 0, 0, 1], 8080).into(), ([127, 0, 0, 1], 8443).into(), extra, &[])
}

fn launch(netns: Option<&str>, data: &Path, http: SocketAddr, https: SocketAddr, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
    let log = data.with_extension("log");
    let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
    let mut cmd = match netns {
        Some(ns) => crate::netns::NetnsPair::command(ns, hearthd()),
        None => Command::new(hearthd()),
    };
    cmd.arg("--data").arg(data).arg("--listen").arg(http.to_string()).arg("--https-listen").arg(https.to_string());
    if !extra.contains(&"--mdns") {
        cmd.arg("--no-mdns");
    }
    // Sync on a port of its own unless the test chooses one (tests run in parallel).
    if !extra.contains(&"--sync-listen") {
        cmd.arg("--sync-listen").arg("127.0.0.1:0");
    }
    // UDP 21027 is one port per host: only tests about discovery take it.
    if !extra.contains(&"--local-discovery") {
        cmd.arg("--no-local-discovery");
    }
    cmd.args(extra.iter().filter(|a| **a != "--mdns" && **a != "--local-discovery"));
    cmd.env("HEARTH_LOG", "info").envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log_file);
    let child = cmd.spawn().expect("spawn hearthd");
    Daemon { child, http, https, data: data.to_path_buf(), log, netns: netns.map(str::to_string) }
}

impl Daemon {
    /// Claim the unclaimed box as `name` with `password` (from the box's own network, so no
    /// setup code); the session cookie, `hearth_session=…`.
    pub fn claim(&self, name: &str, password: &str) -> String {
        let body = serde_json::json!({ "name": name, "password": password }).to_string();
        let r = crate::http::request(self.http, "POST", "/api/v1/setup/claim", &[], Some(&body)).expect("claim");
        assert_eq!(r.status, 201, "claim: {}", r.body);
        r.cookie().expect("a session cookie").to_string()
    }

    /// Uploads `bytes` as a JPEG named `name` with the session `cookie`; the new asset's id.
    pub fn upload(&self, cookie: &str, name: &str, bytes: &[u8]) -> i64 {
        let r = crate::http::request_bytes(
            self.http,
            "POST",
            &format!("/api/v1/assets?name={name}"),
            &[format!("Cookie: {cookie}")],
            Some(("image/jpeg", bytes)),
        )
        .expect("upload");
        assert_eq!(r.status, 201, "upload {name}: {}", r.body);
        r.json()["id"].as_i64().expect("id")
    }

    /// A new app password for all apps (`POST /api/v1/me/tokens`) named `name`, with the
    /// session `cookie`: what a phone or a sync client logs in with.
    pub fn app_password(&self, cookie: &str, name: &str) -> String {
        let body = serde_json::json!({ "name": name }).to_string();
        let r = crate::http::request(self.http, "POST", "/api/v1/me/tokens", &[format!("Cookie: {cookie}")], Some(&body)).expect("token");
        assert_eq!(r.status, 201, "app password: {}", r.body);
        r.json()["secret"].as_str().expect("secret").to_string()
    }

    /// Log in as `name` with `password`; the session cookie.
    pub fn login(&self, name: &str, password: &str) -> String {
        let body = serde_json::json!({ "name": name, "password": password }).to_string();
        let r = crate::http::request(self.http, "POST", "/api/v1/auth/login", &[], Some(&body)).expect("login");
        assert_eq!(r.status, 200, "login: {}", r.body);
        r.cookie().expect("a session cookie").to_string()
    }

    /// Wait until `/api/health` answers 200, or panic with the log after `limit`.
    pub fn wait_healthy(&mut self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("hearthd exited early with {status}:\n{}", self.log_text());
            }
            let healthy = match self.netns {
                // Its HTTP port is in another namespace: ask over the socket.
                Some(_) => self.cli(&["status"], "").status.success(),
                None => crate::http::get(self.http, "/api/health").is_ok_and(|r| r.status == 200),
            };
            if healthy {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("hearthd did not become healthy within {limit:?}:\n{}", self.log_text());
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait for the exit (panics after `limit`).
    pub fn stop(mut self, limit: Duration) -> ExitStatus {
        hearth_platform::process::terminate(self.child.id());
        self.wait_exit(limit)
    }

    /// Wait for the process to end.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("hearthd did not exit within {limit:?}:\n{}", self.log_text());
    }

    /// SIGKILL, no goodbye.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Run the CLI against this daemon's socket; `stdin` is fed to it.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        cli_at(&self.data, args, stdin)
    }

    /// `hearth --json ARGS`, which must succeed; its JSON answer (null when it prints none).
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.cli(&full, "");
        assert!(out.status.success(), "hearth {args:?}: {}\n{}", String::from_utf8_lossy(&out.stderr), self.log_text());
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Poll `hearth --json ARGS` until `done` holds; panics with the log after `limit`.
    pub fn wait_json(&self, args: &[&str], limit: Duration, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.json(args);
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "waited {limit:?} for hearth {args:?}: {v}\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// Run `hearth --data DATA ARGS` with `stdin`.
pub fn cli_at(data: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(hearth())
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("HEARTH_URL")
        .env_remove("HEARTH_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hearth");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("hearth output")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run hearthd to completion (for start-up failures) and return its status and stderr.
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let out = Command::new(hearthd()).args(args).env("HEARTH_LOG", "info").stdin(Stdio::null()).output().expect("run hearthd");
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Writes `dir/hearth.toml` for a box with an image/text model the family provided (docs/ml.md,
/// "Free-text search"; the files `hearth_ml::embedding::tiny_model` writes), no pinned models (an
/// empty folder, so only the provided model works) and the RK3588's profile with its NPU runtime
/// missing (so the worker has a reason to report). Returns the file.
pub fn provided_model_config(dir: &Path, image: &Path, text: &Path, merges: &Path, image_side: u32, text_tokens: usize) -> PathBuf {
    let empty = dir.join("no-models");
    std::fs::create_dir_all(&empty).expect("models dir");
    let quoted = |p: &Path| format!("{:?}", p.to_str().expect("utf-8"));
    let config = dir.join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[device]\nboard = \"rk3588\"\n[ml]\nmodels_dir = {}\nnpu_library = \"/nonexistent/librknnrt.so\"\n\
             [ml.embedding]\nimage_model = {}\ntext_model = {}\nmerges = {}\nimage_side = {image_side}\ntext_tokens = {text_tokens}\n",
            quoted(&empty),
            quoted(image),
            quoted(text),
            quoted(merges),
        ),
    )
    .expect("config");
    config
}
