//! Keeping the clock right on a board without a battery-backed clock. At boot the image's rcS
//! starts the clock no earlier than the one saved at the last shutdown; from then on the NTP
//! servers DHCP named are asked, the clock is stepped when it is off by more than [`STEP_OVER`]
//! seconds, and the time is saved so a power cut loses little.
//!
//! There is no built-in public server yet: the machines Hearth is developed and tested on may
//! not send traffic to the internet, and the image's tests boot with a NAT to the host. A
//! configured default (such as pool.ntp.org) comes with a config key and an isolated test
//! network.

use std::net::ToSocketAddrs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::sntp;

/// Where the image's DHCP hook writes the NTP servers the lease named (option 42), one a line.
pub const DHCP_SERVERS_FILE: &str = "/run/hearth/ntp-servers";

/// An offset smaller than this is left alone (a step would only add jitter).
pub const STEP_OVER: f64 = 0.5;

/// How long one server may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// The servers to ask: those in `dhcp_file` (names or addresses, separated by white space);
/// anything that is not a host name or an address is left out.
pub fn servers(dhcp_file: &Path) -> Vec<String> {
    std::fs::read_to_string(dhcp_file)
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| s.len() <= 255 && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .map(str::to_string)
        .collect()
}

/// What one round of asking did.
#[derive(Debug, Clone, PartialEq)]
pub enum Synced {
    /// The clock was within [`STEP_OVER`] of the server's.
    Agreed {
        /// Who answered.
        server: String,
        /// Seconds the clock was off.
        offset: f64,
    },
    /// The clock was stepped by `offset` seconds.
    Stepped {
        /// Who answered.
        server: String,
        /// Seconds the clock was moved.
        offset: f64,
    },
    /// The clock is off, but setting it was not allowed (a developer's machine).
    WouldStep {
        /// Who answered.
        server: String,
        /// Seconds the clock is off.
        offset: f64,
    },
}

/// Ask the servers in order until one answers; step the clock when it is off and `may_step`.
/// Blocking (DNS and UDP): run it off the async threads.
pub fn sync_once(servers: &[String], may_step: bool) -> Result<Synced, String> {
    let mut last = "no NTP server is known (the DHCP lease named none)".to_string();
    for name in servers {
        let with_port = if name.parse::<std::net::SocketAddr>().is_ok() { name.clone() } else { format!("{name}:123") };
        let addrs: Vec<_> = match with_port.to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                last = format!("{name}: {e}");
                continue;
            }
        };
        for addr in addrs {
            match sntp::query(addr, ANSWER_WITHIN) {
                Ok(answer) if answer.offset.abs() <= STEP_OVER => {
                    return Ok(Synced::Agreed { server: name.clone(), offset: answer.offset });
                }
                Ok(answer) if !may_step => return Ok(Synced::WouldStep { server: name.clone(), offset: answer.offset }),
                Ok(answer) => {
                    step_clock(answer.offset).map_err(|e| format!("setting the clock: {e}"))?;
                    return Ok(Synced::Stepped { server: name.clone(), offset: answer.offset });
                }
                Err(e) => last = format!("{name} ({addr}): {e}"),
            }
        }
    }
    Err(last)
}

/// Move the system clock by `offset` seconds (needs CAP_SYS_TIME).
fn step_clock(offset: f64) -> std::io::Result<()> {
    use nix::sys::time::TimeSpec;
    use nix::time::{ClockId, clock_settime};
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let target = now + offset;
    if !(target.is_finite() && target > 0.0) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the server's time is before 1970"));
    }
    let d = Duration::from_secs_f64(target);
    clock_settime(ClockId::CLOCK_REALTIME, TimeSpec::from_duration(d)).map_err(std::io::Error::from)
}

/// Save the time (Unix seconds, as the image's rcS reads it at boot) to `path`, durably.
pub fn save(path: &Path) -> std::io::Result<()> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::durable::write_atomic(path, format!("{secs}\n").as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_from_dhcp() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("ntp-servers");
        assert!(servers(&file).is_empty());
        std::fs::write(&file, "192.168.1.1 time.example.org\n; $(reboot) /etc\n").expect("write");
        assert_eq!(servers(&file), ["192.168.1.1", "time.example.org"]);
        assert!(sync_once(&[], false).is_err());
        let saved = dir.path().join("system/clock");
        save(&saved).expect("save");
        let secs: u64 = std::fs::read_to_string(&saved).expect("read").trim().parse().expect("seconds");
        assert!(secs > 1_700_000_000);
    }
}
