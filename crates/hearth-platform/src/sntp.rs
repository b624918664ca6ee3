//! SNTP (RFC 4330), the client side: one request, one answer, how far this machine's clock is
//! from the server's. Boards without a battery-backed clock start in 1970 (or at the clock saved
//! at the last clean shutdown); this is what sets them right.
//!
//! The answer is outside input: [`read_answer`] checks it (a server's answer to this request,
//! mode 4, stratum 1–15, a transmit time) and never panics on any bytes.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from 1900 (NTP's era 0) to 1970.
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// What a server said about this machine's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// Seconds to add to this machine's clock to match the server's (negative: ahead).
    pub offset: f64,
    /// The round trip, seconds.
    pub delay: f64,
    /// The server's distance from a reference clock (1: it has one).
    pub stratum: u8,
}

/// Why an answer is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SntpError {
    /// Shorter than NTP's 48 bytes.
    #[error("the answer is {0} bytes, shorter than NTP's 48")]
    Short(usize),
    /// Not a server's answer (mode 4), or of no NTP version we know.
    #[error("not an NTP server's answer (version {version}, mode {mode})")]
    NotAServer {
        /// NTP version.
        version: u8,
        /// NTP mode.
        mode: u8,
    },
    /// Stratum 0 is a "kiss of death" (the server says: go away, or slow down).
    #[error("the server refused to give the time ({0})")]
    Refused(String),
    /// The server has no time to give (unsynchronised, or stratum 16).
    #[error("the server's own clock is not synchronised")]
    Unsynchronised,
    /// Not the answer to this request (its originate time is not what was sent).
    #[error("the answer is not to this request")]
    NotOurs,
}

/// An NTP timestamp: seconds since 1900 and a binary fraction.
fn to_ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_TO_UNIX) & 0xffff_ffff;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Seconds since 1970 of an NTP timestamp. Era 1 (from 2036) is taken for seconds below 1970's
/// (RFC 4330 §3's rule), so the answer is right until 2104.
fn ntp_to_unix_secs(ts: u64) -> f64 {
    let secs = ts >> 32;
    let frac = (ts & 0xffff_ffff) as f64 / 4_294_967_296.0;
    let era = if secs < NTP_TO_UNIX { 1u64 << 32 } else { 0 };
    (secs + era) as f64 - NTP_TO_UNIX as f64 + frac
}

fn unix_secs(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The 48-byte client request carrying `sent` as its transmit time.
pub fn request(sent: SystemTime) -> [u8; 48] {
    let mut p = [0u8; 48];
    p[0] = 0b00_100_011; // no leap warning, version 4, mode 3 (client)
    p[40..48].copy_from_slice(&to_ntp(sent).to_be_bytes());
    p
}

/// Check a server's answer to the request sent at `sent` (this machine's clock) and received at
/// `received`, and work out the offset (RFC 4330 §5).
pub fn read_answer(packet: &[u8], sent: SystemTime, received: SystemTime) -> Result<Answer, SntpError> {
    if packet.len() < 48 {
        return Err(SntpError::Short(packet.len()));
    }
    let (leap, version, mode) = (packet[0] >> 6, (packet[0] >> 3) & 7, packet[0] & 7);
    if !(3..=4).contains(&version) || mode != 4 {
        return Err(SntpError::NotAServer { version, mode });
    }
    let stratum = packet[1];
    let ts = |at: usize| packet.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0);
    if stratum == 0 {
        let code: String = packet[12..16].iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }).collect();
        return Err(SntpError::Refused(code));
    }
    let (originate, receive, transmit) = (ts(24), ts(32), ts(40));
    if leap == 3 || stratum > 15 || transmit == 0 {
        return Err(SntpError::Unsynchronised);
    }
    if originate != to_ntp(sent) {
        return Err(SntpError::NotOurs);
    }
    let (t1, t4) = (unix_secs(sent), unix_secs(received));
    let (t2, t3) = (ntp_to_unix_secs(receive), ntp_to_unix_secs(transmit));
    Ok(Answer { offset: ((t2 - t1) + (t3 - t4)) / 2.0, delay: ((t4 - t1) - (t3 - t2)).max(0.0), stratum })
}

/// Ask `server` (UDP, port 123 unless it says otherwise) once, waiting at most `timeout`.
pub fn query(server: SocketAddr, timeout: Duration) -> std::io::Result<Answer> {
    let bind: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = UdpSocket::bind(bind)?;
    socket.connect(server)?;
    let sent = SystemTime::now();
    let deadline = std::time::Instant::now() + timeout;
    socket.send(&request(sent))?;
    let mut buf = [0u8; 512];
    loop {
        // Stray packets do not keep the wait going past `timeout`.
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer to this request"));
        }
        socket.set_read_timeout(Some(left))?;
        let n = socket.recv(&mut buf)?;
        let received = SystemTime::now();
        match read_answer(&buf[..n], sent, received) {
            // A late answer to an earlier request: wait for ours.
            Err(SntpError::NotOurs) => continue,
            other => return other.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's answer to a request sent at `t1`: it received at `t2`, answered at `t3`.
    fn answer(sent: SystemTime, t2: SystemTime, t3: SystemTime, first: u8, stratum: u8) -> [u8; 48] {
        let mut p = [0u8; 48];
        p[0] = first;
        p[1] = stratum;
        p[24..32].copy_from_slice(&to_ntp(sent).to_be_bytes());
        p[32..40].copy_from_slice(&to_ntp(t2).to_be_bytes());
        p[40..48].copy_from_slice(&to_ntp(t3).to_be_bytes());
        p
    }

    #[test]
    fn a_board_in_1970_learns_how_far_behind_it_is() {
        let sent = UNIX_EPOCH + Duration::from_secs(30);
        let received = sent + Duration::from_millis(20);
        let server = UNIX_EPOCH + Duration::from_secs(1_796_400_000);
        let p = answer(sent, server + Duration::from_millis(10), server + Duration::from_millis(11), 0b00_100_100, 2);
        let a = read_answer(&p, sent, received).expect("answer");
        assert!((a.offset - (1_796_400_000.0 - 30.0)).abs() < 0.01, "{a:?}");
        assert!((a.delay - 0.019).abs() < 0.001, "{a:?}");
        assert_eq!(a.stratum, 2);
        // NTP's era 1 (after 2036) reads as after 2036, not as 1900.
        let late = UNIX_EPOCH + Duration::from_secs(2_200_000_000);
        assert!((ntp_to_unix_secs(to_ntp(late)) - 2_200_000_000.0).abs() < 0.001);
    }

    #[test]
    fn answers_that_are_not_a_servers_time_are_refused() {
        let now = SystemTime::now();
        let good = answer(now, now, now, 0b00_100_100, 3);
        assert!(read_answer(&good, now, now).is_ok());
        assert_eq!(read_answer(&good[..47], now, now), Err(SntpError::Short(47)));
        let mut client = good;
        client[0] = 0b00_100_011;
        assert!(matches!(read_answer(&client, now, now), Err(SntpError::NotAServer { mode: 3, .. })));
        let mut kiss = good;
        kiss[1] = 0;
        kiss[12..16].copy_from_slice(b"RATE");
        assert_eq!(read_answer(&kiss, now, now), Err(SntpError::Refused("RATE".into())));
        let mut lost = good;
        lost[0] = 0b11_100_100;
        assert_eq!(read_answer(&lost, now, now), Err(SntpError::Unsynchronised));
        let other = answer(now - Duration::from_secs(5), now, now, 0b00_100_100, 3);
        assert_eq!(read_answer(&other, now, now), Err(SntpError::NotOurs));
        assert_eq!(request(now)[0] & 7, 3);
    }
}
