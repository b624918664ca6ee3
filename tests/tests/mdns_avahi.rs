//! mDNS interop with a real avahi: hearthd runs in one network namespace, avahi-daemon and
//! avahi-browse in another, joined by a veth pair. avahi already owns `hearth.local` there, so
//! hearthd must pick `hearth-XXXX.local`; avahi must see `_hearth._tcp` and `_http._tcp` with the
//! right TXT, and see them leave when hearthd gets SIGTERM. Needs root (namespaces), like CI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hearth_tests::daemon;
use hearth_tests::netns::{ADDR_A, NetnsPair};

struct Lab {
    net: NetnsPair,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Lab {
    fn new(dir: &Path) -> Lab {
        Lab { net: NetnsPair::new("m"), dir: dir.to_path_buf(), children: Vec::new() }
    }

    fn bus(&self) -> String {
        format!("unix:path={}", self.dir.join("bus").display())
    }

    /// dbus (a private system bus) and avahi-daemon in namespace B, with host name `hearth`.
    fn start_avahi(&mut self) {
        let dbus_conf = self.dir.join("dbus.conf");
        std::fs::write(
            &dbus_conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_type="signal"/>
<allow send_type="method_return"/><allow send_type="error"/><allow receive_type="method_call"/><allow receive_type="signal"/>
<allow receive_type="method_return"/><allow receive_type="error"/></policy></busconfig>"#,
                self.dir.join("bus").display()
            ),
        )
        .expect("dbus conf");
        let dbus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", dbus_conf.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        self.children.push(dbus);
        let start = Instant::now();
        while !self.dir.join("bus").exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "dbus-daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let conf = self.dir.join("avahi.conf");
        std::fs::write(
            &conf,
            format!("[server]\nhost-name=hearth\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces={}\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n", self.net.dev_b),
        )
        .expect("avahi conf");
        std::fs::create_dir_all("/run/avahi-daemon").expect("mount point");
        let log = std::fs::File::create(self.dir.join("avahi.log")).expect("log");
        let avahi = Command::new("ip")
            .args(["netns", "exec", &self.net.b, "unshare", "-m", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon -f {} --no-drop-root --no-chroot --no-rlimits",
                conf.display()
            ))
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.bus())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("avahi-daemon");
        self.children.push(avahi);
        let start = Instant::now();
        while !std::fs::read_to_string(self.dir.join("avahi.log")).unwrap_or_default().contains("Server startup complete") {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "avahi did not start: {}",
                std::fs::read_to_string(self.dir.join("avahi.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn in_b(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.net.b])
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.bus())
            .output()
            .expect("run in B");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Resolved `=` lines of `avahi-browse -rtpk TYPE`.
    fn browse(&self, ty: &str) -> Vec<Vec<String>> {
        self.in_b(&["avahi-browse", "-rtpk", ty])
            .lines()
            .filter(|l| l.starts_with('='))
            .map(|l| l.split(';').map(str::to_string).collect())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn avahi_sees_hearth_with_its_txt_and_sees_it_leave() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::new(dir.path());
    lab.start_avahi();

    let data = dir.path().join("data");
    let hearthd_log = std::fs::File::create(dir.path().join("hearthd.log")).expect("log");
    let mut hearthd = Command::new("ip")
        .args(["netns", "exec", &lab.net.a])
        .arg(daemon::hearthd())
        .args([
            "--data",
            data.to_str().expect("utf8"),
            "--listen",
            &format!("{ADDR_A}:8080"),
            "--https-listen",
            &format!("{ADDR_A}:8443"),
            "--name",
            "Test Hearth",
            "--board",
            "rpi4-2gb",
        ])
        .env("HEARTH_LOG", std::env::var("HEARTH_TEST_LOG").unwrap_or_else(|_| "info".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(hearthd_log)
        .spawn()
        .expect("hearthd");

    // Identity of the box, over its socket (the filesystem is shared between namespaces).
    let status = wait_until(Duration::from_secs(20), "hearthd's socket", || {
        let out = daemon::cli_at(&data, &["--json", "status"], "");
        out.status.success().then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()).flatten()
    });
    let device = &status["device"];
    let id = device["id"].as_str().expect("id");
    let fp = device["cert_sha256"].as_str().expect("fingerprint");
    let expected_host = format!("hearth-{}.local", &id[..4]);

    let log = || std::fs::read_to_string(dir.path().join("hearthd.log")).unwrap_or_default();
    // Wait for the entry on the fallback host name: when mdns-sd's probe finds the conflict
    // after a first announcement, avahi may briefly list the old record until its goodbye.
    let entry = wait_until(Duration::from_secs(30), "_hearth._tcp on the fallback host name in avahi-browse", || {
        lab.browse("_hearth._tcp").into_iter().find(|f| {
            f.get(3).is_some_and(|n| n.contains("Test")) && f.get(2).is_some_and(|p| p == "IPv4") && f.get(6) == Some(&expected_host)
        })
    });
    // =;iface;IPv4;name;type;domain;host;address;port;txt
    assert_eq!(entry[4], "_hearth._tcp");
    assert_eq!(entry[6], expected_host, "avahi owns hearth.local in this network, so hearthd must use {expected_host}; log:\n{}", log());
    assert_eq!(entry[7], ADDR_A);
    assert_eq!(entry[8], "8080");
    let txt = &entry[9];
    for want in [
        format!("\"version={}\"", env!("CARGO_PKG_VERSION")),
        "\"board=rpi4-2gb\"".to_string(),
        "\"device=Test Hearth\"".to_string(),
        "\"https_port=8443\"".to_string(),
        format!("\"cert_sha256={fp}\""),
        format!("\"id={id}\""),
    ] {
        assert!(txt.contains(&want), "TXT {txt} lacks {want}");
    }
    let http = lab.browse("_http._tcp");
    assert!(http.iter().any(|f| f.get(3).is_some_and(|n| n.contains("Test")) && f.get(8).is_some_and(|p| p == "8080")), "{http:?}");
    let resolved = lab.in_b(&["avahi-resolve-host-name", "-4", &expected_host]);
    assert!(resolved.contains(ADDR_A), "{expected_host} resolves: {resolved:?}");

    // SIGTERM: the goodbye removes the services long before their TTL would.
    hearth_platform::process::terminate(hearthd.id());
    let exit = wait_until(Duration::from_secs(20), "hearthd to exit", || hearthd.try_wait().ok().flatten());
    assert!(exit.success(), "hearthd exit: {exit}: {}", std::fs::read_to_string(dir.path().join("hearthd.log")).unwrap_or_default());
    let gone_at = Instant::now();
    wait_until(Duration::from_secs(10), "_hearth._tcp to disappear after SIGTERM", || {
        (!lab.browse("_hearth._tcp").iter().any(|f| f.get(3).is_some_and(|n| n.contains("Test")))).then_some(())
    });
    assert!(gone_at.elapsed() < Duration::from_secs(10), "removed by goodbye, not by TTL expiry (120 s)");
}
