//! Sync benchmark (issue 4): Syncthing → Syncthing, Syncthing → Hearth and Hearth → Hearth on
//! this machine, in one run, on the same data. Run it with `scripts/bench-sync` (release build).
//!
//! For each data set (2,000 files ≈ 50 MB; one 1 GiB file) and each pair, fresh processes are
//! started in fresh homes, paired, and the receiver is given a receive-only folder shared with
//! the sender. The clock starts when the sender is given the folder with the data in it (its
//! first scan is the scan request) and stops when every file is in the receiver's folder under
//! its own name with its size (both programs rename complete files into place); the receiver's
//! files are then compared with the originals by SHA-256 (not timed). Reported per run: wall
//! seconds, CPU seconds of sender and receiver over the timed window (/proc/PID/stat), and each
//! process's peak RSS (VmHWM) over the same window (reset with /proc/PID/clear_refs when the
//! clock starts). Ratios against the Syncthing pair follow, with the targets.
//!
//! `h` is Hearth with the SIMD lanes off (`HEARTH_HASHER=single`), hashing the way a board without
//! them does; `l` is Hearth with them forced on (`HEARTH_HASHER=lanes`), even on a CPU whose SHA
//! instructions would win. A probe asks the receiver's web API (Hearth's `GET /api/health`,
//! Syncthing's `GET /rest/system/ping`; a fresh connection each time, every 5 ms) throughout
//! the timed window: the p50, p99 and slowest answers show whether receiving starves the API,
//! and both receivers' CPU seconds include answering it. The CPU's flags (sha_ni, avx2) head
//! the report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hearth_tests::daemon::{self, Daemon};
use hearth_tests::data::noise;
use hearth_tests::syncthing::Syncthing;

/// One side of a pair.
enum Node {
    Syncthing(Syncthing),
    Hearth(Daemon, String, String),
}

impl Node {
    fn start(kind: char, home: &Path) -> Node {
        match kind {
            'S' => Node::Syncthing(Syncthing::start(home)),
            _ => {
                std::fs::create_dir_all(home).expect("mkdir");
                let sync_addr = format!("127.0.0.1:{}", daemon::free_port());
                let env: &[(&str, &str)] = match kind {
                    'h' => &[("HEARTH_HASHER", "single")],
                    'l' => &[("HEARTH_HASHER", "lanes")],
                    _ => &[],
                };
                let mut d = daemon::start_with_env(&home.join("data"), &["--sync-listen", &sync_addr], env);
                d.wait_healthy(Duration::from_secs(60));
                let out = d.cli(&["setup", "--name", "bench"], "bench-password-1\n");
                assert!(out.status.success(), "setup: {}", String::from_utf8_lossy(&out.stderr));
                let id = String::from_utf8_lossy(&d.cli(&["sync", "id"], "").stdout).trim().to_string();
                Node::Hearth(d, id, sync_addr)
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Node::Syncthing(_) => "Syncthing",
            Node::Hearth(..) => "Hearth",
        }
    }

    fn id(&self) -> String {
        match self {
            Node::Syncthing(st) => st.device_id.clone(),
            Node::Hearth(_, id, _) => id.clone(),
        }
    }

    fn address(&self) -> String {
        match self {
            Node::Syncthing(st) => format!("tcp://{}", st.listen),
            Node::Hearth(_, _, a) => format!("tcp://{a}"),
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Node::Syncthing(st) => st.pid().expect("running"),
            Node::Hearth(d, ..) => d.child.id(),
        }
    }

    fn pair(&self, other: &Node) {
        match self {
            Node::Syncthing(st) => st.add_device(&other.id(), "peer", &[other.address()]),
            Node::Hearth(d, ..) => {
                d.json(&["sync", "devices", "add", &other.id(), "--name", "peer", "--address", &other.address()]);
            }
        }
    }

    fn connected_to(&self, other: &Node) -> bool {
        let id = other.id();
        match self {
            Node::Syncthing(st) => st.get("/rest/system/connections")["connections"][&id]["connected"] == true,
            Node::Hearth(d, ..) => {
                d.json(&["sync", "status"])["connections"].as_array().is_some_and(|c| c.iter().any(|c| c["device_id"] == id.as_str()))
            }
        }
    }

    /// Share `dir` as folder "bench" with `other`: receive-only or send-only.
    fn share(&self, dir: &Path, other: &Node, send: bool) {
        match self {
            Node::Syncthing(st) => st.add_folder("bench", dir, if send { "sendonly" } else { "receiveonly" }, &[&other.id()]),
            Node::Hearth(d, ..) => {
                let path = dir.display().to_string();
                let kind = if send { "send-only" } else { "receive-only" };
                d.json(&["sync", "folders", "add", "bench", "--path", &path, "--type", kind, "--device", &other.id()]);
            }
        }
    }

    fn stop(self) {
        match self {
            Node::Syncthing(st) => drop(st),
            Node::Hearth(d, ..) => {
                let _ = d.stop(Duration::from_secs(30));
            }
        }
    }
}

/// CPU seconds (user + system, all threads) of a process so far.
fn cpu_seconds(pid: u32, ticks: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / ticks
}

/// Peak resident set size (VmHWM) in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("getconf");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(100.0)
}

fn sha(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            return ctx.finish().as_ref().to_vec();
        }
        ctx.update(&buf[..n]);
    }
}

/// A data set on disk: (relative path, size) of every file.
struct DataSet {
    label: &'static str,
    dir: PathBuf,
    files: Vec<(PathBuf, u64)>,
}

fn small_set(root: &Path) -> DataSet {
    let dir = root.join("small");
    let mut files = Vec::new();
    let ready = dir.join(".complete");
    for i in 0..2_000u64 {
        let rel = PathBuf::from(format!("DCIM/{:03}/IMG_{i:05}.jpg", i / 100));
        // 1 KiB .. 49 KiB, mean 25 KiB: 2,000 files ≈ 51 MB.
        let size = 1024 + (i * 2_654_435_761) % (48 * 1024);
        if !ready.exists() {
            let p = dir.join(&rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, noise(size as usize, i + 1)).expect("write");
        }
        files.push((rel, size));
    }
    std::fs::write(&ready, b"").expect("stamp");
    DataSet { label: "2,000 files", dir, files }
}

fn big_set(root: &Path) -> DataSet {
    use std::io::Write;
    let dir = root.join("big");
    let ready = dir.join(".complete");
    if !ready.exists() {
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut f = std::fs::File::create(dir.join("video.mp4")).expect("create");
        for chunk in 0..16 {
            f.write_all(&noise(64 << 20, 1_000 + chunk)).expect("write");
        }
        std::fs::write(&ready, b"").expect("stamp");
    }
    DataSet { label: "one 1 GiB file", dir, files: vec![(PathBuf::from("video.mp4"), 1 << 30)] }
}

struct Run {
    set: &'static str,
    pair: String,
    wall: f64,
    cpu: [f64; 2],
    rss: [f64; 2],
    /// The receiver's API answer times while it received, ms: p50, p99, slowest.
    api: Option<[f64; 3]>,
}

/// Ask `GET path` every 5 ms until `stop`; the answer times in ms.
fn probe_api(addr: std::net::SocketAddr, path: &str, headers: &[String], stop: &std::sync::atomic::AtomicBool) -> Vec<f64> {
    let mut times = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let t = Instant::now();
        if hearth_tests::http::request(addr, "GET", path, headers, None).is_ok_and(|r| r.status == 200) {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    times
}

fn percentiles(mut times: Vec<f64>) -> Option<[f64; 3]> {
    if times.is_empty() {
        return None;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Some([at(0.5), at(0.99), times[times.len() - 1]])
}

/// The CPU's name and the flags that decide how SHA-256 runs here.
fn cpu_flags() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':'])).unwrap_or("?");
    let flags: Vec<&str> = info.lines().find_map(|l| l.strip_prefix("flags")).unwrap_or("").split_whitespace().collect();
    let has = |f: &str| if flags.contains(&f) { format!("{f} yes") } else { format!("{f} no") };
    format!("{model}; {}, {}, {} cores", has("sha_ni"), has("avx2"), std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(set: &DataSet, sender_kind: char, receiver_kind: char, work: &Path, ticks: f64, keep: bool) -> Run {
    let pair = format!("{sender_kind}→{receiver_kind}");
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).expect("mkdir");
    let sender = Node::start(sender_kind, &work.join("sender"));
    let receiver = Node::start(receiver_kind, &work.join("receiver"));
    sender.pair(&receiver);
    receiver.pair(&sender);
    wait_until("the pair to connect", Duration::from_secs(120), || sender.connected_to(&receiver) && receiver.connected_to(&sender));
    let into = work.join("received");
    receiver.share(&into, &sender, false);
    // The sender's folder holds the data set (hard links: the originals stay untouched, and the
    // files are in the page cache for every run alike).
    let from = work.join("sent");
    for (rel, _) in &set.files {
        let p = from.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::hard_link(set.dir.join(rel), &p).expect("link");
    }
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_secs(1));

    let (sp, rp) = (sender.pid(), receiver.pid());
    // Peak RSS counts from here: what start-up and pairing took (Hearth's claim hashes the owner's
    // password with Argon2, 19 MiB) is not what syncing takes.
    for pid in [sp, rp] {
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak RSS (clear_refs)");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Both kinds of receiver answer the same probe, so its cost is in both CPU figures alike.
    // (Syncthing 1.19 has no health route; its ping needs the API key, as all its REST does.)
    let (addr, path, headers) = match &receiver {
        Node::Hearth(d, ..) => (d.http, "/api/health", vec![]),
        Node::Syncthing(st) => (st.gui, "/rest/system/ping", vec![format!("X-API-Key: {}", hearth_tests::syncthing::API_KEY)]),
    };
    let probe = {
        let stop = stop.clone();
        std::thread::spawn(move || probe_api(addr, path, &headers, &stop))
    };
    let perf = profile_both(&pair, set.label, [sp, rp]);
    let cpu0 = [cpu_seconds(sp, ticks), cpu_seconds(rp, ticks)];
    let t0 = Instant::now();
    sender.share(&from, &receiver, true);
    let mut remaining: Vec<&(PathBuf, u64)> = set.files.iter().collect();
    wait_until(&format!("{pair}: {} to arrive", set.label), Duration::from_secs(1800), || {
        remaining.retain(|(rel, size)| std::fs::metadata(into.join(rel)).ok().map(|m| m.len()) != Some(*size));
        remaining.is_empty()
    });
    let wall = t0.elapsed().as_secs_f64();
    let cpu = [cpu_seconds(sp, ticks) - cpu0[0], cpu_seconds(rp, ticks) - cpu0[1]];
    let rss = [peak_rss_mib(sp), peak_rss_mib(rp)];
    for mut recorder in perf {
        // perf writes its data file when interrupted.
        let _ = std::process::Command::new("kill").args(["-INT", &recorder.id().to_string()]).status();
        let _ = recorder.wait();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let api = percentiles(probe.join().unwrap_or_default());
    for (rel, _) in &set.files {
        assert_eq!(sha(&into.join(rel)), sha(&set.dir.join(rel)), "{pair}: {} differs", rel.display());
    }
    eprintln!(
        "  {pair} {:<15} wall {wall:7.2} s   CPU {:6.2} + {:6.2} s   peak RSS {} {:6.1} MiB, {} {:6.1} MiB",
        set.label,
        cpu[0],
        cpu[1],
        sender.name(),
        rss[0],
        receiver.name(),
        rss[1]
    );
    sender.stop();
    receiver.stop();
    if !keep {
        let _ = std::fs::remove_dir_all(work);
    }
    if let Some([p50, p99, max]) = api {
        eprintln!("  {pair} {:<15} the receiver's API while receiving: p50 {p50:.1} ms, p99 {p99:.1} ms, slowest {max:.1} ms", set.label);
    }
    Run { set: set.label, pair, wall, cpu, rss, api }
}

/// With `HEARTH_BENCH_PERF=DIR`, `perf record` samples sender and receiver (call graphs, CPU
/// clock: it works where hardware counters are not offered) over the timed window, into
/// `DIR/<set>-<pair>-{sender,receiver}.data`; `perf report -i FILE` reads them.
fn profile_both(pair: &str, set: &str, pids: [u32; 2]) -> Vec<std::process::Child> {
    let Some(dir) = std::env::var_os("HEARTH_BENCH_PERF").map(PathBuf::from) else { return Vec::new() };
    std::fs::create_dir_all(&dir).expect("mkdir HEARTH_BENCH_PERF");
    let set = set.split_whitespace().collect::<Vec<_>>().join("_");
    let pair = pair.replace('→', "to");
    let recorders: Vec<std::process::Child> = ["sender", "receiver"]
        .iter()
        .zip(pids)
        .map(|(side, pid)| {
            std::process::Command::new("perf")
                .args(["record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384", "-p", &pid.to_string(), "-o"])
                .arg(dir.join(format!("{set}-{pair}-{side}.data")))
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("perf is Debian's linux-perf")
        })
        .collect();
    // perf needs a moment to attach; the timed window should not start before it samples.
    std::thread::sleep(Duration::from_secs(1));
    recorders
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut sets = "small,big".to_string();
    let mut pairs = "SS,SH,HH".to_string();
    let mut keep = false;
    let mut root = daemon::workspace().join("target/bench-sync");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sets" => sets = args.next().unwrap_or_default(),
            "--dir" => root = args.next().map(PathBuf::from).unwrap_or(root),
            "--pairs" => pairs = args.next().unwrap_or_default(),
            "--keep" => keep = true,
            other => {
                eprintln!(
                    "bench-sync: unknown argument {other}\nusage: bench-sync [--sets small,big] [--pairs SS,SH,HH] [--dir DIR] [--keep]"
                );
                std::process::exit(2);
            }
        }
    }
    let ticks = clock_ticks();
    println!("CPU: {}", cpu_flags());
    let data = root.join("data");
    let mut runs = Vec::new();
    for name in sets.split(',') {
        let set = match name {
            "small" => small_set(&data),
            "big" => big_set(&data),
            other => {
                eprintln!("bench-sync: unknown data set {other} (small, big)");
                std::process::exit(2);
            }
        };
        let total: u64 = set.files.iter().map(|(_, s)| s).sum();
        eprintln!("{}: {:.1} MB", set.label, total as f64 / 1e6);
        for pair in pairs.split(',') {
            let mut c = pair.chars();
            let (Some(s @ ('S' | 'H' | 'h' | 'l')), Some(r @ ('S' | 'H' | 'h' | 'l')), None) = (c.next(), c.next(), c.next()) else {
                eprintln!(
                    "bench-sync: unknown pair {pair} (SS, SH, HH, Sh…: sender then receiver; h is Hearth without SIMD lanes, l with them forced)"
                );
                std::process::exit(2);
            };
            runs.push(run(&set, s, r, &root.join("run"), ticks, keep));
        }
    }

    println!(
        "\n| data set | pair | wall s | sender CPU s | receiver CPU s | sender peak RSS MiB | receiver peak RSS MiB | receiver API p50 / p99 / slowest ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for r in &runs {
        let api = r.api.map_or("–".to_string(), |[a, b, c]| format!("{a:.1} / {b:.1} / {c:.1}"));
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {api} |",
            r.set, r.pair, r.wall, r.cpu[0], r.cpu[1], r.rss[0], r.rss[1]
        );
    }
    println!(
        "\n| data set | S→H wall / S→S (target ≤ 1) | H→H wall / S→S (target ≤ 0.5) | Hearth receiver RSS / Syncthing's (≤ 0.5) | Hearth sender RSS / Syncthing's (≤ 0.5) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut labels: Vec<&str> = runs.iter().map(|r| r.set).collect();
    labels.dedup();
    for label in labels {
        let find = |p: &str| runs.iter().find(|r| r.set == label && r.pair == p);
        if let (Some(ss), Some(sh), Some(hh)) = (find("S→S"), find("S→H"), find("H→H")) {
            println!(
                "| {label} | {:.2} | {:.2} | {:.2} | {:.2} |",
                sh.wall / ss.wall,
                hh.wall / ss.wall,
                sh.rss[1] / ss.rss[1],
                hh.rss[0] / ss.rss[0]
            );
        }
    }
}
