//! The firmware image report (issue 6), in one run on this machine: cross-build time, image size
//! (raw and xz), time from QEMU start to `/api/health` under TCG (first boot, which grows and
//! formats the data partition, and a second boot), hearthd's resident memory in the guest, and how
//! long a power off takes. Run with `scripts/bench-image [--keep-build]`.
//!
//! Method: the clean cross-build uses its own target folder (removed afterwards) unless
//! `--keep-build` reuses target/cross. The card is the built image grown to 2 GiB. Milestones are
//! the first time the serial console shows U-Boot's "Starting kernel", "initramfs: root slot",
//! and hearthd's "Hearth is running", polled every 50 ms; health is when the first 200 arrives.
//! The resident memory is `daemon_resident_bytes` of /api/v1/status, read 10 s after the owner
//! claimed the box (first boot) or logged in (second boot).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hearth_tests::board::{BOOT_LIMIT, Guest};
use hearth_tests::daemon::workspace;
use hearth_tests::http;

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string()
}

struct Boot {
    kernel: Option<f64>,
    root: Option<f64>,
    running: Option<f64>,
    health: f64,
}

/// Boot `card` and time its milestones from the QEMU start. A thread watches the console while
/// this one asks for health: QEMU's port forward holds a connection open until the guest listens,
/// so one request can wait for most of the boot.
fn boot(card: &Path, dir: &Path) -> (Guest, Boot) {
    let start = Instant::now();
    let guest = Guest::boot(card, dir);
    let addr = guest.http.expect("forwarded port");
    let serial = guest.serial.clone();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut seen: [Option<f64>; 3] = [None; 3];
            while !done.load(Ordering::Relaxed) {
                let console = String::from_utf8_lossy(&std::fs::read(&serial).unwrap_or_default()).into_owned();
                let t = start.elapsed().as_secs_f64();
                for (i, mark) in ["Starting kernel", "initramfs: root slot", "Hearth is running"].iter().enumerate() {
                    if seen[i].is_none() && console.contains(mark) {
                        seen[i] = Some(t);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            seen
        })
    };
    loop {
        if http::get(addr, "/api/health").is_ok_and(|r| r.status == 200) {
            let health = start.elapsed().as_secs_f64();
            done.store(true, Ordering::Relaxed);
            let [kernel, root, running] = watcher.join().expect("console watcher");
            return (guest, Boot { kernel, root, running, health });
        }
        assert!(start.elapsed() < BOOT_LIMIT, "no health in {BOOT_LIMIT:?}:\n{}", guest.console());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn resident_mib(addr: SocketAddr, auth: &[String]) -> f64 {
    std::thread::sleep(Duration::from_secs(10));
    let r = http::request(addr, "GET", "/api/v1/status", auth, None).expect("status");
    r.json()["daemon_resident_bytes"].as_f64().expect("daemon_resident_bytes") / 1048576.0
}

fn cookie(r: &http::Response) -> Vec<String> {
    let c = r.cookie().expect("cookie");
    vec![format!("Cookie: {c}")]
}

fn fmt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn main() {
    let keep = std::env::args().any(|a| a == "--keep-build");
    let ws = workspace();
    let out = ws.join("target/bench-image");
    std::fs::create_dir_all(&out).expect("out dir");

    // Cross build.
    let cross_dir = if keep { ws.join("target/cross") } else { out.join("cross") };
    if !keep {
        let _ = std::fs::remove_dir_all(&cross_dir);
    }
    let t = Instant::now();
    let hearthd = run(Command::new(ws.join("scripts/cross")).arg("--target-dir").arg(&cross_dir));
    let cross_s = t.elapsed().as_secs_f64();
    let hearthd_bytes = std::fs::metadata(&hearthd).expect("hearthd").len();

    // Image.
    let t = Instant::now();
    let image = run(Command::new(ws.join("qemu/build-image")).arg("--out").arg(&out).arg("--hearthd").arg(&hearthd));
    let image_s = t.elapsed().as_secs_f64();
    if !keep {
        let _ = std::fs::remove_dir_all(&cross_dir);
    }
    let raw = std::fs::metadata(&image).expect("image").len();
    let t = Instant::now();
    let xz = Command::new("sh").arg("-c").arg(format!("xz -6 -T0 -c '{image}' | wc -c")).output().expect("xz");
    let xz_s = t.elapsed().as_secs_f64();
    let xz_bytes: u64 = String::from_utf8_lossy(&xz.stdout).trim().parse().expect("xz size");

    // Boots.
    let dir = tempfile::tempdir().expect("tempdir");
    let card = dir.path().join("card.img");
    std::fs::copy(&image, &card).expect("card");
    std::fs::OpenOptions::new().write(true).open(&card).and_then(|f| f.set_len(2 << 30)).expect("grow card");

    let (mut guest, first) = boot(&card, dir.path());
    let addr = guest.http.expect("port");
    let code = guest.console().lines().find_map(|l| l.trim().strip_prefix("Setup code: ").map(str::to_string)).expect("setup code");
    let claim = http::request(
        addr,
        "POST",
        "/api/v1/setup/claim",
        &[],
        Some(&format!(r#"{{"name":"ada","password":"lovelace-1815","setup_code":"{}"}}"#, code.trim())),
    )
    .expect("claim");
    assert_eq!(claim.status, 201, "{}", claim.body);
    let rss_first = resident_mib(addr, &cookie(&claim));
    let r = http::request(addr, "POST", "/api/v1/system/reboot", &cookie(&claim), Some("{}")).expect("reboot");
    assert_eq!(r.status, 202);
    guest.wait_exit(Duration::from_secs(120));
    drop(guest);

    let (mut guest, second) = boot(&card, dir.path());
    let addr = guest.http.expect("port");
    let login =
        http::request(addr, "POST", "/api/v1/auth/login", &[], Some(r#"{"name":"ada","password":"lovelace-1815"}"#)).expect("login");
    assert_eq!(login.status, 200, "{}", login.body);
    let rss_second = resident_mib(addr, &cookie(&login));
    let t = Instant::now();
    let r = http::request(addr, "POST", "/api/v1/system/poweroff", &cookie(&login), Some("{}")).expect("poweroff");
    assert_eq!(r.status, 202);
    let exit = guest.wait_exit(Duration::from_secs(120));
    let poweroff_s = t.elapsed().as_secs_f64();
    assert!(exit.success(), "QEMU {exit}");

    let mib = |b: u64| b as f64 / 1048576.0;
    println!("## Hearth image report (qemu-aarch64), {}", run(Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC")));
    println!();
    println!("| measure | value | target |");
    println!("|---|---:|---:|");
    println!("| cross-build of hearthd, {} (s) | {cross_s:.0} | |", if keep { "incremental" } else { "from clean" });
    println!("| hearthd binary, static aarch64 (MiB) | {:.1} | |", mib(hearthd_bytes));
    println!("| qemu/build-image with that hearthd (s) | {image_s:.1} | |");
    println!("| image, raw (MiB) | {:.0} | |", mib(raw));
    println!("| image, xz -6 (MiB; {xz_s:.0} s to compress) | {:.1} | ≤ 64 |", mib(xz_bytes));
    for (name, b) in [("first boot (grows + formats data)", &first), ("second boot", &second)] {
        println!(
            "| {name}: QEMU start → kernel / root mounted / hearthd running / health (s) | {} / {} / {} / **{:.1}** | health ≤ 15 |",
            fmt(b.kernel),
            fmt(b.root),
            fmt(b.running),
            b.health
        );
    }
    println!("| hearthd resident memory after first boot + claim (MiB) | {rss_first:.1} | ≤ 30 |");
    println!("| hearthd resident memory after second boot + login (MiB) | {rss_second:.1} | ≤ 30 |");
    println!("| power off: API call → QEMU exit (s) | {poweroff_s:.1} | |");
}
