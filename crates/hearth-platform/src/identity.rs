//! Running as the `hearth` user. The appliance's init starts hearthd as root; before any thread
//! exists, hearthd becomes `hearth` and keeps only the capabilities it needs itself:
//! `CAP_NET_BIND_SERVICE` (the web page on ports 80 and 443) and `CAP_SYS_TIME` (the clock from
//! NTP). Everything else that needs root goes through the privileged helper
//! ([`crate::privileged_helper`]). Capabilities are per thread in Linux, which is why this must
//! run while the process has one thread, and why it checks that it does.

use std::io;

use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};

/// A capability hearthd may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Binding ports below 1024.
    NetBindService,
    /// Setting the system clock.
    SysTime,
}

impl Capability {
    /// Its number in linux/capability.h.
    pub fn number(self) -> u32 {
        match self {
            Capability::NetBindService => 10,
            Capability::SysTime => 25,
        }
    }

    /// The bit mask of a set of capabilities, as `/proc/PID/status` shows `CapEff`.
    pub fn mask(set: &[Capability]) -> u64 {
        set.iter().fold(0, |m, c| m | 1u64 << c.number())
    }
}

/// A user's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// The account `name` in the text of `/etc/passwd`, if there is one (and it is not root).
pub fn lookup(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid: u32 = fields.next()?.parse().ok()?;
        let gid: u32 = fields.next()?.parse().ok()?;
        (uid != 0 && gid != 0).then_some(Account { uid, gid })
    })
}

/// Become `account` with exactly `keep` as permitted and effective capabilities (none
/// inheritable, so programs it starts get none). Fails when the process has more than one thread,
/// and checks afterwards that root cannot be had back.
pub fn become_user(account: Account, keep: &[Capability]) -> io::Result<()> {
    let threads = threads_of_self()?;
    if threads != 1 {
        return Err(io::Error::other(format!("the process has {threads} threads; capabilities would stay on all but one")));
    }
    setgroups(&[Gid::from_raw(account.gid)])?;
    setgid(Gid::from_raw(account.gid))?;
    // Without this, setuid away from root clears the permitted set too.
    nix::sys::prctl::set_keepcaps(true)?;
    setuid(Uid::from_raw(account.uid))?;
    capset(Capability::mask(keep))?;
    nix::sys::prctl::set_keepcaps(false)?;
    if setuid(Uid::from_raw(0)).is_ok() {
        return Err(io::Error::other("root could be had back after dropping it"));
    }
    Ok(())
}

/// The effective capabilities of the process `pid_status` describes (the text of
/// `/proc/PID/status`).
pub fn effective_capabilities(pid_status: &str) -> Option<u64> {
    pid_status.lines().find_map(|l| l.strip_prefix("CapEff:")).and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

fn threads_of_self() -> io::Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("/proc/self/status names no thread count"))
}

/// linux/capability.h, version 3 (64-bit sets in two halves).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn capset(mask: u64) -> io::Result<()> {
    let header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let low = (mask & 0xffff_ffff) as u32;
    let high = (mask >> 32) as u32;
    let data = [CapData { effective: low, permitted: low, inheritable: 0 }, CapData { effective: high, permitted: high, inheritable: 0 }];
    // SAFETY: `header` and the two-element `data` array are laid out as the kernel's
    // __user_cap_header_struct and __user_cap_data_struct[2] for version 3, live across the call,
    // and capset(2) only reads them.
    #[allow(unsafe_code)]
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_account_and_refuses_root_and_garbage() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nhearth:x:1000:1000:Hearth:/data:/bin/false\nodd:x:abc:1:::\nshort:x:5\n";
        assert_eq!(lookup(passwd, "hearth"), Some(Account { uid: 1000, gid: 1000 }));
        assert_eq!(lookup(passwd, "root"), None, "never 'drop' to root");
        assert_eq!(lookup(passwd, "odd"), None);
        assert_eq!(lookup(passwd, "short"), None);
        assert_eq!(lookup(passwd, "nobody"), None);
        assert_eq!(lookup("", "hearth"), None);
    }

    #[test]
    fn masks_and_reads_capability_sets() {
        assert_eq!(Capability::mask(&[Capability::NetBindService, Capability::SysTime]), 0x0200_0400);
        assert_eq!(effective_capabilities("Name:\thearthd\nCapEff:\t0000000002000400\n"), Some(0x0200_0400));
        assert_eq!(effective_capabilities("CapEff:\tzz\n"), None);
    }

    /// The test harness has many threads: nothing is changed, the reason is given. (The drop
    /// itself is tested on the board image, tests/tests/image_qemu.rs.)
    #[test]
    fn refuses_with_threads() {
        let t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(300)));
        let e = become_user(Account { uid: 1000, gid: 1000 }, &[]).expect_err("threads");
        assert!(e.to_string().contains("threads"), "{e}");
        t.join().expect("join");
    }
}
