//! Two network namespaces joined by a veth pair, for tests of what happens on a LAN (mDNS,
//! Syncthing's local discovery): `A` is 198.18.0.1/24, `B` is 198.18.0.2/24, both with a
//! broadcast address and loopback up. Needs root; removed on drop.

use std::process::Command;

/// The two namespaces.
pub struct NetnsPair {
    /// Namespace A's name (`ip netns exec A …`).
    pub a: String,
    /// Namespace B's name.
    pub b: String,
    /// The veth end inside A.
    pub dev_a: String,
    /// The veth end inside B.
    pub dev_b: String,
}

/// Namespace A's address.
pub const ADDR_A: &str = "198.18.0.1";
/// Namespace B's address.
pub const ADDR_B: &str = "198.18.0.2";

fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Whether this process runs as root (namespaces need it; CI runs as root).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

impl NetnsPair {
    /// Create the pair; `tag` (a few letters) keeps names of concurrent tests apart.
    pub fn new(tag: &str) -> NetnsPair {
        assert!(is_root(), "this test needs root for network namespaces (CI runs as root); run scripts/test as root");
        let id = std::process::id() % 100_000;
        let pair = NetnsPair {
            a: format!("hth-{tag}a-{id}"),
            b: format!("hth-{tag}b-{id}"),
            dev_a: format!("h{tag}a{id}"),
            dev_b: format!("h{tag}b{id}"),
        };
        sh(&["ip", "netns", "add", &pair.a]);
        sh(&["ip", "netns", "add", &pair.b]);
        sh(&["ip", "link", "add", &pair.dev_a, "type", "veth", "peer", "name", &pair.dev_b]);
        sh(&["ip", "link", "set", &pair.dev_a, "netns", &pair.a]);
        sh(&["ip", "link", "set", &pair.dev_b, "netns", &pair.b]);
        for (ns, dev, addr) in [(&pair.a, &pair.dev_a, ADDR_A), (&pair.b, &pair.dev_b, ADDR_B)] {
            sh(&["ip", "-n", ns, "addr", "add", &format!("{addr}/24"), "brd", "+", "dev", dev]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// A command that runs `program` inside namespace `ns`.
    pub fn command(ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(program);
        c
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}
