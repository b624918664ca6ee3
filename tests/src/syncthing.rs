//! A real Syncthing (Debian 12's 1.19, or Debian trixie's 1.29 that phones' apps are closer to,
//! fetched by `scripts/syncthing-current`) in a temporary home, for interop tests: generated without
//! touching the internet, configured before its first start as ../shared/PEERS.md prescribes
//! (no global discovery, relays, NAT, crash reports, usage reports or upgrades; fixed listen and
//! GUI addresses on 127.0.0.1; a fixed API key), started with STMONITORED=1 so the pid is the
//! worker, and killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::free_port;
use crate::http;

/// The API key every test instance uses.
pub const API_KEY: &str = "hearth-test-api-key";

/// Which Syncthing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Debian 12's package (1.19), on PATH.
    Debian12,
    /// Debian trixie's 1.29, unpacked under target/peers by `scripts/syncthing-current`.
    Current,
}

impl Version {
    /// Both, oldest first.
    pub const ALL: [Version; 2] = [Version::Debian12, Version::Current];

    /// The program to run.
    pub fn binary(self) -> PathBuf {
        match self {
            Version::Debian12 => PathBuf::from("syncthing"),
            Version::Current => {
                let p = crate::daemon::workspace().join("target/peers/syncthing-1.29.5/usr/bin/syncthing");
                assert!(p.exists(), "{} is missing: run scripts/syncthing-current (scripts/test does)", p.display());
                p
            }
        }
    }
}

/// A running Syncthing.
pub struct Syncthing {
    /// Its home folder (config.xml, cert.pem, key.pem, index).
    pub home: PathBuf,
    /// REST/GUI address.
    pub gui: SocketAddr,
    /// BEP listen address.
    pub listen: SocketAddr,
    /// Its device id, as `syncthing serve --device-id` prints it.
    pub device_id: String,
    /// The network namespace it runs in (its REST API is reached from inside it).
    netns: Option<String>,
    binary: PathBuf,
    child: Option<Child>,
}

fn set_tag(xml: &str, tag: &str, value: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let Some(start) = xml.find(&open) else { panic!("config.xml has no <{tag}>") };
    let Some(end) = xml[start..].find(&close) else { panic!("config.xml has no </{tag}>") };
    format!("{}{open}{value}{}", &xml[..start], &xml[start + end..])
}

impl Syncthing {
    /// Generate, configure and start an instance in `home` (local discovery off).
    pub fn start(home: &Path) -> Syncthing {
        Self::start_with(home, false)
    }

    /// Like [`Syncthing::start`], listening for local discovery announcements when asked.
    pub fn start_with(home: &Path, local_discovery: bool) -> Syncthing {
        Self::start_version(home, Version::Debian12, local_discovery)
    }

    /// Like [`Syncthing::start_with`], of the given version.
    pub fn start_version(home: &Path, version: Version, local_discovery: bool) -> Syncthing {
        let (gui, listen) = (free_port(), free_port());
        let (gui, listen) = (([127, 0, 0, 1], gui).into(), ([127, 0, 0, 1], listen).into());
        Self::configure_and_start(home, version.binary(), local_discovery, None, gui, listen)
    }

    /// Inside network namespace `ns` (a LAN of its own): BEP on `ip`:22000 with local discovery,
    /// the REST API on the namespace's 127.0.0.1:8384.
    pub fn start_in_netns(home: &Path, ns: &str, ip: std::net::Ipv4Addr) -> Syncthing {
        let binary = Version::Debian12.binary();
        Self::configure_and_start(home, binary, true, Some(ns.to_string()), ([127, 0, 0, 1], 8384).into(), (ip, 22000).into())
    }

    fn configure_and_start(
        home: &Path,
        binary: PathBuf,
        local_discovery: bool,
        netns: Option<String>,
        gui: SocketAddr,
        listen: SocketAddr,
    ) -> Syncthing {
        let out = Command::new(&binary)
            .args(["generate", "--no-default-folder", "--skip-port-probing"])
            .arg(format!("--home={}", home.display()))
            .output()
            .expect("syncthing is installed by scripts/test (Debian package syncthing)");
        assert!(out.status.success(), "syncthing generate: {}", String::from_utf8_lossy(&out.stderr));
        let out =
            Command::new(&binary).args(["serve", "--device-id"]).arg(format!("--home={}", home.display())).output().expect("device id");
        let device_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let path = home.join("config.xml");
        let mut xml = std::fs::read_to_string(&path).expect("config.xml");
        for (tag, value) in [
            ("listenAddress", format!("tcp://{listen}")),
            ("apikey", API_KEY.to_string()),
            ("globalAnnounceEnabled", "false".into()),
            ("localAnnounceEnabled", local_discovery.to_string()),
            ("relaysEnabled", "false".into()),
            ("natEnabled", "false".into()),
            ("startBrowser", "false".into()),
            ("crashReportingEnabled", "false".into()),
            ("urAccepted", "-1".into()),
            ("autoUpgradeIntervalH", "0".into()),
            ("globalAnnounceServer", String::new()),
        ] {
            xml = set_tag(&xml, tag, &value);
        }
        // The GUI address is the <address> inside <gui>.
        let gui_start = xml.find("<gui").expect("<gui>");
        let rest = set_tag(&xml[gui_start..], "address", &gui.to_string());
        xml = format!("{}{rest}", &xml[..gui_start]);
        std::fs::write(&path, xml).expect("write config.xml");
        let mut st = Syncthing { home: home.to_path_buf(), gui, listen, device_id, netns, binary, child: None };
        st.launch();
        st
    }

    /// Start the process on the configured home and wait for its API.
    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.home.join("syncthing.log")).expect("log");
        let mut cmd = match &self.netns {
            Some(ns) => crate::netns::NetnsPair::command(ns, &self.binary),
            None => Command::new(&self.binary),
        };
        let child = cmd
            .args(["serve", "--no-browser", "--no-restart", "--no-upgrade"])
            .arg(format!("--home={}", self.home.display()))
            .env("STNOUPGRADE", "1")
            .env("STMONITORED", "1")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start syncthing");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.try_get("/rest/system/ping").is_none() {
            assert!(Instant::now() < deadline, "syncthing did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The worker's process id (STMONITORED=1: no monitor process in between).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no goodbye, no index flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again on the same home (after [`Syncthing::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// One REST request; from inside the namespace (through curl) when Syncthing runs in one.
    fn rest(&self, method: &str, path: &str, body: Option<&str>) -> std::io::Result<http::Response> {
        let headers = [format!("X-API-Key: {API_KEY}"), "Content-Type: application/json".to_string()];
        let Some(ns) = &self.netns else { return http::request(self.gui, method, path, &headers, body) };
        let mut cmd = crate::netns::NetnsPair::command(ns, "curl");
        cmd.args(["-s", "-m", "30", "-w", "\n%{http_code}", "-X", method]);
        for h in &headers {
            cmd.args(["-H", h]);
        }
        if let Some(b) = body {
            cmd.args(["--data-binary", b]);
        }
        let out = cmd.arg(format!("http://{}{path}", self.gui)).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        let status = code.trim().parse().map_err(|_| std::io::Error::other(format!("curl: {}", String::from_utf8_lossy(&out.stderr))))?;
        Ok(http::Response { status, headers: Vec::new(), body: body.to_string() })
    }

    fn try_get(&self, path: &str) -> Option<serde_json::Value> {
        let r = self.rest("GET", path, None).ok()?;
        (r.status == 200).then(|| r.json())
    }

    /// GET a REST path (panics unless 200).
    pub fn get(&self, path: &str) -> serde_json::Value {
        self.try_get(path).unwrap_or_else(|| panic!("GET {path} failed; log: {}", self.log()))
    }

    /// POST (or PUT, PATCH) JSON to a REST path; panics unless 200.
    pub fn send(&self, method: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let text = body.to_string();
        let r = self.rest(method, path, Some(&text)).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(r.status, 200, "{method} {path}: {}\n{}", r.body, self.log());
        if r.body.is_empty() { serde_json::Value::Null } else { r.json() }
    }

    /// Pair a device (`addresses`: `tcp://…`, or empty for "dynamic").
    pub fn add_device(&self, id: &str, name: &str, addresses: &[String]) {
        let addresses: Vec<String> = if addresses.is_empty() { vec!["dynamic".into()] } else { addresses.to_vec() };
        self.send("POST", "/rest/config/devices", &serde_json::json!({"deviceID": id, "name": name, "addresses": addresses}));
    }

    /// Share a folder (`kind`: sendreceive, sendonly, receiveonly) with `devices`; no watcher,
    /// hourly rescans (tests ask for scans).
    pub fn add_folder(&self, id: &str, path: &Path, kind: &str, devices: &[&str]) {
        let mut all = vec![serde_json::json!({"deviceID": self.device_id})];
        all.extend(devices.iter().map(|d| serde_json::json!({"deviceID": d})));
        let folder = serde_json::json!({
            "id": id, "label": id, "path": path, "type": kind,
            "fsWatcherEnabled": false, "rescanIntervalS": 3600, "devices": all
        });
        self.send("POST", "/rest/config/folders", &folder);
    }

    /// Ask for a scan of `folder`.
    pub fn scan(&self, folder: &str) {
        self.send("POST", &format!("/rest/db/scan?folder={folder}"), &serde_json::Value::Null);
    }

    /// Poll `path` until `done` holds (panics with the log after `limit`); returns the last answer.
    pub fn wait_for(&self, path: &str, limit: Duration, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = self.try_get(path)
                && done(&v)
            {
                return v;
            }
            assert!(Instant::now() < deadline, "waited {limit:?} for {path}: {:?}\n{}", self.try_get(path), self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Syncthing's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("syncthing.log")).unwrap_or_default()
    }
}

impl Drop for Syncthing {
    fn drop(&mut self) {
        self.kill();
    }
}
