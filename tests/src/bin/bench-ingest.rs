//! Ingest benchmark (issue 5): N photos uploaded to a running hearthd (release build) through the
//! upload API, as a phone does, and made into thumbnails by the thumbnail worker; the resident
//! memory of the daemon and of the worker sampled as the count grows. Run it with
//! `scripts/bench-ingest [--photos N] [--size WxH]` (default 10,000 photos of 1600 × 1200).
//!
//! The photos: one JPEG made by ImageMagick (plasma fractal, quality 88) with EXIF from exiftool
//! (date, offset, GPS), then N variants that differ by a comment segment, so each has its own
//! content checksum (nothing is deduplicated) while every decode costs the same. They are sent
//! one after another on one kept-alive connection, so upload and thumbnailing overlap as they
//! would with a phone sending its roll.
//!
//! Reported: every N/10 uploads, the daemon's and the worker's resident set (VmRSS, MiB) and how
//! many thumbnail jobs are done; then the same every N/10 thumbnails until the queue is empty;
//! the rates (uploads per second, thumbnailed photos per second, both sizes); each process's
//! peak (VmHWM); and "growth": the highest sample of the run's second half over the highest of
//! its first half (for the worker, of the samples once it had started), per process. Flat memory
//! means growth near 1.00; a leak of even a few KiB per photo shows over 10,000 photos.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hearth_tests::daemon;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The JPEG with a comment segment (`FF FE`) saying `n` inserted before its scan.
fn variant(base: &[u8], n: usize) -> Vec<u8> {
    // Walk the segments to the start of scan; everything before it is markers with lengths.
    let mut at = 2;
    while at + 4 <= base.len() && base[at] == 0xFF && base[at + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([base[at + 2], base[at + 3]]));
        at += 2 + len;
    }
    let text = format!("hearth bench photo {n}");
    let mut out = Vec::with_capacity(base.len() + text.len() + 4);
    out.extend_from_slice(&base[..at]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&base[at..]);
    out
}

/// One request on a kept-alive connection; (status, body).
fn exchange(conn: &mut BufReader<TcpStream>, method: &str, path: &str, cookie: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let stream = conn.get_mut();
    stream.write_all(head.as_bytes()).expect("send");
    stream.write_all(body).expect("send");
    let mut line = String::new();
    conn.read_line(&mut line).expect("status line");
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let mut length = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().expect("length");
        }
    }
    let mut out = vec![0; length];
    conn.read_exact(&mut out).expect("body");
    (status, out)
}

fn status_value(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next().and_then(|k| k.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// The thumbnail worker: the daemon's child running `worker thumbnail`.
fn worker_pid(daemon: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        (ppid == daemon && String::from_utf8_lossy(&cmdline).contains("thumbnail")).then_some(pid)
    })
}

fn main() {
    let photos: usize = arg("--photos").and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let size = arg("--size").unwrap_or_else(|| "1600x1200".into());
    let dir = tempfile::Builder::new().prefix("bench-ingest").tempdir_in(std::env::temp_dir()).expect("tempdir");
    run("convert", &["-size", &size, "plasma:fractal", "-quality", "88", "base.jpg"], dir.path());
    run(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-DateTimeOriginal=2024:07:14 18:03:22",
            "-OffsetTimeOriginal=+02:00",
            "-GPSLatitude=48.8584",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=2.2945",
            "-GPSLongitudeRef=E",
            "-Make=Bench",
            "-Model=Camera",
            "base.jpg",
        ],
        dir.path(),
    );
    let base = std::fs::read(dir.path().join("base.jpg")).expect("base");
    let mut d = daemon::start(&dir.path().join("data"), &["--sync-listen", "off"]);
    d.wait_healthy(Duration::from_secs(60));
    let claim =
        hearth_tests::http::request(d.http, "POST", "/api/v1/setup/claim", &[], Some(r#"{"name":"bench","password":"bench-password-1"}"#))
            .expect("claim");
    assert_eq!(claim.status, 201, "{}", claim.body);
    let cookie = claim.cookie().expect("cookie").to_string();
    let daemon_pid = d.child.id();
    let worker = worker_pid(daemon_pid).expect("the thumbnail worker is running");
    let mut conn = BufReader::new(TcpStream::connect(d.http).expect("connect"));
    let jobs = |conn: &mut BufReader<TcpStream>| -> (i64, i64) {
        let (_, body) = exchange(conn, "GET", "/api/v1/jobs", &cookie, b"");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("jobs");
        let t = v["jobs"].as_array().into_iter().flatten().find(|k| k["kind"] == "thumbnails").cloned().unwrap_or_default();
        (t["done"].as_i64().unwrap_or(0), t["queued"].as_i64().unwrap_or(0) + t["running"].as_i64().unwrap_or(0))
    };
    println!(
        "Ingest of {photos} photos ({size}, {} KiB each) through the upload API; thumbnail worker with the dev board's threads",
        base.len() / 1024
    );
    println!("{:>10} {:>16} {:>14} {:>16}", "uploaded", "thumbnailed", "daemon MiB", "worker MiB");
    // (thumbnailed, daemon MiB, worker MiB)
    let mut samples: Vec<(i64, f64, f64)> = Vec::new();
    let mut sample = |conn: &mut BufReader<TcpStream>, uploaded: usize| {
        let (done, _) = jobs(conn);
        let (dm, wm) = (status_value(daemon_pid, "VmRSS:"), status_value(worker, "VmRSS:"));
        println!("{uploaded:>10} {done:>16} {dm:>14.1} {wm:>16.1}");
        samples.push((done, dm, wm));
    };
    let started = Instant::now();
    let every = (photos / 10).max(1);
    for n in 0..photos {
        let body = variant(&base, n);
        let (status, reply) = exchange(&mut conn, "POST", &format!("/api/v1/assets?name=IMG_{n:05}.JPG"), &cookie, &body);
        assert_eq!(status, 201, "upload {n}: {}", String::from_utf8_lossy(&reply));
        if (n + 1) % every == 0 {
            sample(&mut conn, n + 1);
        }
    }
    let uploaded_in = started.elapsed();
    let mut last_done = 0;
    loop {
        let (done, left) = jobs(&mut conn);
        if left == 0 {
            break;
        }
        if done as usize >= last_done + every {
            last_done = done as usize;
            sample(&mut conn, photos);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let all_in = started.elapsed();
    sample(&mut conn, photos);
    let (done, _) = jobs(&mut conn);
    assert_eq!(done as usize, photos, "every photo thumbnailed");
    // Flat: the highest sample of the second half of the run against the highest of the first
    // half (the worker's samples from when it had started working).
    let half = samples.len() / 2;
    let max = |s: &[(i64, f64, f64)], f: fn(&(i64, f64, f64)) -> f64| s.iter().map(f).fold(0.0, f64::max);
    let (first_half, second_half) = samples.split_at(half);
    let working: Vec<_> = first_half.iter().copied().filter(|s| s.0 > 0).collect();
    let (d1, d2) = (max(first_half, |s| s.1), max(second_half, |s| s.1));
    let (w1, w2) = (max(&working, |s| s.2), max(second_half, |s| s.2));
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| uploads (checksum, metadata, asset row, job) per second | {:.1} |", photos as f64 / uploaded_in.as_secs_f64());
    println!("| photos thumbnailed (250 + 1440) per second, end to end | {:.1} |", photos as f64 / all_in.as_secs_f64());
    println!(
        "| daemon RSS, highest sample in the first half / second half / peak (MiB) | {d1:.1} / {d2:.1} / {:.1} |",
        status_value(daemon_pid, "VmHWM:")
    );
    println!(
        "| worker RSS, highest sample in the first half / second half / peak (MiB) | {w1:.1} / {w2:.1} / {:.1} |",
        status_value(worker, "VmHWM:")
    );
    println!("| growth, second half / first half: daemon, worker | {:.2}, {:.2} |", d2 / d1, w2 / w1);
    drop(conn);
    d.stop(Duration::from_secs(30));
}
