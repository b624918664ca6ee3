//! The family's files over WebDAV: hearthd against `rclone serve webdav` (Debian's rclone), the
//! same client, the same machine, one run (scripts/bench-dav starts both and passes their
//! addresses and process ids).
//!
//! The client is a plain HTTP/1.1 keep-alive client written here, so neither server is favoured
//! by a client library's quirks. Measured, per server:
//! - 4 KiB PUT/s and GET/s on one connection (2,000 files), and on 16 connections at once
//!   (16 × 250 files);
//! - one 1 GiB PUT and GET (MB/s), and the server's peak RSS during the PUT (VmHWM, reset just
//!   before through /proc/PID/clear_refs);
//! - PROPFIND Depth: 1 of a folder of 1,000 files (median of 20).
//!
//! Prints a table with the ratio hearthd / rclone (for rates, above 1 means hearthd is faster;
//! for times and memory, below 1 means hearthd uses less). Issue 19's targets: small-file PUT and
//! GET ≥ 2× rclone's, 1 GiB PUT and GET ≥ 2× rclone's, RSS flat.
//!
//! Usage: bench-dav HEARTH_ADDR HEARTH_PID HEARTH_PREFIX RCLONE_ADDR RCLONE_PID USER PASSWORD

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

struct Conn {
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
    auth: String,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    fn new(addr: SocketAddr, auth: &str) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        Conn { reader: BufReader::with_capacity(256 << 10, s), addr, auth: auth.to_string() }
    }

    fn head(&self, method: &str, path: &str, extra: &str, len: Option<u64>) -> String {
        let mut h = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\n{extra}", self.addr, self.auth);
        if let Some(n) = len {
            h.push_str(&format!("Content-Length: {n}\r\n"));
        }
        h.push_str("\r\n");
        h
    }

    fn send(&mut self, method: &str, path: &str, extra: &str, body: &[u8]) -> Answer {
        let head = self.head(method, path, extra, Some(body.len() as u64));
        let s = self.reader.get_mut();
        s.write_all(head.as_bytes()).expect("write head");
        s.write_all(body).expect("write body");
        self.answer(true)
    }

    /// A PUT of `len` bytes of a pattern, written 1 MiB at a time.
    fn put_stream(&mut self, path: &str, len: u64) -> Answer {
        let head = self.head("PUT", path, "", Some(len));
        let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let s = self.reader.get_mut();
        s.write_all(head.as_bytes()).expect("write head");
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            s.write_all(&chunk[..n]).expect("write body");
            left -= n as u64;
        }
        self.answer(true)
    }

    /// Reads one answer; with `keep` false the body is counted, not kept.
    fn answer(&mut self, keep: bool) -> Answer {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut len: Option<u64> = None;
        let mut chunked = false;
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).expect("header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((h, ""));
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        let take = |r: &mut BufReader<TcpStream>, n: u64, body: &mut Vec<u8>| {
            if keep {
                r.by_ref().take(n).read_to_end(body).expect("body");
            } else {
                std::io::copy(&mut r.by_ref().take(n), &mut std::io::sink()).expect("body");
            }
        };
        if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).expect("chunk size");
                let n = u64::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).expect("chunk size");
                if n == 0 {
                    let mut end = String::new();
                    self.reader.read_line(&mut end).expect("trailer");
                    break;
                }
                take(&mut self.reader, n, &mut body);
                let mut crlf = String::new();
                self.reader.read_line(&mut crlf).expect("crlf");
            }
        } else if let Some(n) = len {
            take(&mut self.reader, n, &mut body);
        }
        Answer { status, body }
    }

    fn get_counted(&mut self, path: &str) -> u16 {
        let head = self.head("GET", path, "", None);
        self.reader.get_mut().write_all(head.as_bytes()).expect("write");
        self.answer(false).status
    }
}

fn ok(a: &Answer, what: &str) {
    assert!((200..300).contains(&a.status), "{what}: status {} {}", a.status, String::from_utf8_lossy(&a.body));
}

fn hwm_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

fn reset_hwm(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

struct Figures {
    put_1: f64,
    get_1: f64,
    put_16: f64,
    get_16: f64,
    big_put: f64,
    big_get: f64,
    rss_mib: f64,
    propfind_ms: f64,
}

const SMALL: usize = 4096;
const ONE_CONN_FILES: usize = 2000;
const CONNS: usize = 16;
const PER_CONN: usize = 250;
const BIG: u64 = 1 << 30;

fn measure(addr: SocketAddr, pid: u32, prefix: &str, auth: &str) -> Figures {
    let body = vec![b'x'; SMALL];
    let mut c = Conn::new(addr, auth);
    for d in ["one", "many", "list", "big"] {
        ok(&c.send("MKCOL", &format!("{prefix}{d}/"), "", b""), "MKCOL");
    }
    // One connection.
    let t = Instant::now();
    for i in 0..ONE_CONN_FILES {
        ok(&c.send("PUT", &format!("{prefix}one/f{i}"), "", &body), "PUT");
    }
    let put_1 = ONE_CONN_FILES as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..ONE_CONN_FILES {
        assert_eq!(c.get_counted(&format!("{prefix}one/f{i}")), 200);
    }
    let get_1 = ONE_CONN_FILES as f64 / t.elapsed().as_secs_f64();
    // Sixteen connections at once.
    let run = |get: bool| -> f64 {
        let t = Instant::now();
        std::thread::scope(|s| {
            for k in 0..CONNS {
                let (body, auth, prefix) = (&body, auth, prefix);
                s.spawn(move || {
                    let mut c = Conn::new(addr, auth);
                    for i in 0..PER_CONN {
                        let path = format!("{prefix}many/c{k}-{i}");
                        if get {
                            assert_eq!(c.get_counted(&path), 200);
                        } else {
                            ok(&c.send("PUT", &path, "", body), "PUT");
                        }
                    }
                });
            }
        });
        (CONNS * PER_CONN) as f64 / t.elapsed().as_secs_f64()
    };
    let put_16 = run(false);
    let get_16 = run(true);
    // A folder of 1,000 for PROPFIND.
    for i in 0..1000 {
        ok(&c.send("PUT", &format!("{prefix}list/IMG_{i:04}.jpg"), "", &body[..100]), "PUT");
    }
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let a = c.send("PROPFIND", &format!("{prefix}list/"), "Depth: 1\r\nContent-Type: application/xml\r\n", b"");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(a.status, 207);
        // The folder and its 1,000 members (both servers write the DAV: prefix as `d` or `D`).
        assert_eq!(String::from_utf8_lossy(&a.body).to_ascii_lowercase().matches("<d:response>").count(), 1001, "every member listed");
    }
    times.sort_by(f64::total_cmp);
    let propfind_ms = times[times.len() / 2];
    // 1 GiB up and down, the server's peak RSS during the upload.
    reset_hwm(pid);
    let before = hwm_kib(pid);
    let t = Instant::now();
    ok(&c.put_stream(&format!("{prefix}big/one-gib.bin"), BIG), "big PUT");
    let big_put = BIG as f64 / 1e6 / t.elapsed().as_secs_f64();
    let rss_mib = hwm_kib(pid).max(before) as f64 / 1024.0;
    let t = Instant::now();
    assert_eq!(c.get_counted(&format!("{prefix}big/one-gib.bin")), 200);
    let big_get = BIG as f64 / 1e6 / t.elapsed().as_secs_f64();
    Figures { put_1, get_1, put_16, get_16, big_put, big_get, rss_mib, propfind_ms }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 8 {
        eprintln!("usage: bench-dav HEARTH_ADDR HEARTH_PID HEARTH_PREFIX RCLONE_ADDR RCLONE_PID USER PASSWORD (scripts/bench-dav runs it)");
        std::process::exit(2);
    }
    let auth = hearth_backup::crypto::base64_encode(format!("{}:{}", args[6], args[7]).as_bytes());
    let hearth = measure(args[1].parse().expect("addr"), args[2].parse().expect("pid"), &args[3], &auth);
    std::thread::sleep(Duration::from_secs(1));
    let rclone = measure(args[4].parse().expect("addr"), args[5].parse().expect("pid"), "/", &auth);
    println!("| measure | hearthd | rclone serve webdav | hearthd / rclone |");
    println!("|---|---|---|---|");
    let rows: [(&str, f64, f64); 8] = [
        ("4 KiB PUT/s, 1 connection", hearth.put_1, rclone.put_1),
        ("4 KiB GET/s, 1 connection", hearth.get_1, rclone.get_1),
        ("4 KiB PUT/s, 16 connections", hearth.put_16, rclone.put_16),
        ("4 KiB GET/s, 16 connections", hearth.get_16, rclone.get_16),
        ("1 GiB PUT, MB/s", hearth.big_put, rclone.big_put),
        ("1 GiB GET, MB/s", hearth.big_get, rclone.big_get),
        ("PROPFIND Depth 1 of 1,000 files, ms (median of 20)", hearth.propfind_ms, rclone.propfind_ms),
        ("peak RSS during the 1 GiB PUT, MiB", hearth.rss_mib, rclone.rss_mib),
    ];
    for (what, h, r) in rows {
        println!("| {what} | {h:.1} | {r:.1} | {:.2} |", h / r);
    }
}
