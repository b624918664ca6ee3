//! A real avahi-daemon in a network namespace, on its own private system bus (PEERS.md: avahi
//! needs a D-Bus system bus, and a namespace has none), and avahi-browse against it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// avahi-daemon and its dbus-daemon; both stop on drop.
pub struct Avahi {
    ns: String,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Avahi {
    /// Start dbus and avahi-daemon in namespace `ns`, on interface `iface`, calling itself
    /// `host_name`. Files go to `dir`.
    pub fn start(dir: &Path, ns: &str, iface: &str, host_name: &str) -> Avahi {
        let mut avahi = Avahi { ns: ns.to_string(), dir: dir.to_path_buf(), children: Vec::new() };
        let bus_path = dir.join("bus");
        let dbus_conf = dir.join("dbus.conf");
        std::fs::write(
            &dbus_conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_type="signal"/>
<allow send_type="method_return"/><allow send_type="error"/><allow receive_type="method_call"/><allow receive_type="signal"/>
<allow receive_type="method_return"/><allow receive_type="error"/></policy></busconfig>"#,
                bus_path.display()
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
        avahi.children.push(dbus);
        let start = Instant::now();
        while !bus_path.exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "dbus-daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let conf = dir.join("avahi.conf");
        std::fs::write(
            &conf,
            format!("[server]\nhost-name={host_name}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces={iface}\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n"),
        )
        .expect("avahi conf");
        std::fs::create_dir_all("/run/avahi-daemon").expect("mount point");
        let log = std::fs::File::create(dir.join("avahi.log")).expect("log");
        let daemon = Command::new("ip")
            .args(["netns", "exec", ns, "unshare", "-m", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon -f {} --no-drop-root --no-chroot --no-rlimits",
                conf.display()
            ))
            .env("DBUS_SYSTEM_BUS_ADDRESS", avahi.bus())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("avahi-daemon");
        avahi.children.push(daemon);
        let start = Instant::now();
        while !avahi.log().contains("Server startup complete") {
            assert!(start.elapsed() < Duration::from_secs(20), "avahi did not start: {}", avahi.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        avahi
    }

    fn bus(&self) -> String {
        format!("unix:path={}", self.dir.join("bus").display())
    }

    /// avahi-daemon's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("avahi.log")).unwrap_or_default()
    }

    /// Run a program in the namespace, on avahi's bus; its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.bus())
            .output()
            .expect("run in the namespace");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Resolved `=` lines of `avahi-browse -rtpk TYPE`, split at `;`:
    /// `=;iface;IPv4;name;type;domain;host;address;port;txt`.
    pub fn browse(&self, ty: &str) -> Vec<Vec<String>> {
        self.run(&["avahi-browse", "-rtpk", ty])
            .lines()
            .filter(|l| l.starts_with('='))
            .map(|l| l.split(';').map(str::to_string).collect())
            .collect()
    }
}

impl Drop for Avahi {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
