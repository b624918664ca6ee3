//! The firmware image on the virtual board: built from this checkout by `qemu/build-image`
//! (hearthd cross-built for aarch64), booted by `qemu/run` on qemu-system-aarch64 (virt,
//! Cortex-A72, U-Boot, Debian's arm64 kernel). From the host: health, the claim flow, a reboot into
//! root slot B with the data kept, a clean power off, mDNS seen by a real avahi, and the trouble
//! page for every broken data partition, whose bytes stay untouched. Needs root (namespaces, tap).

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth_tests::avahi::Avahi;
use hearth_tests::board::{self, Guest};
use hearth_tests::{data, http};

const GIB: u64 = 1 << 30;

fn read_at(path: &Path, offset: u64, len: u64) -> Vec<u8> {
    let mut f = std::fs::File::open(path).expect("open card");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    let mut buf = vec![0u8; usize::try_from(len).expect("len")];
    f.read_exact(&mut buf).expect("read");
    buf
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).expect("open card");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("sync");
}

fn setup_code(console: &str) -> String {
    console
        .lines()
        .find_map(|l| l.trim().strip_prefix("Setup code: ").map(|c| c.trim().to_string()))
        .unwrap_or_else(|| panic!("no setup code on the console:\n{console}"))
}

fn cookie(r: &http::Response) -> [String; 1] {
    let c = r.cookie().expect("session cookie");
    [format!("Cookie: {c}")]
}

fn post(addr: SocketAddr, path: &str, auth: &[String], body: &str) -> http::Response {
    http::request(addr, "POST", path, auth, Some(body)).unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// Put `hearth_slot=SLOT` into the bootloader state on the card's FAT partition.
fn choose_slot(card: &Path, slot: &str) {
    board::boot_settings(card, slot, false);
}

#[test]
fn the_image_boots_is_claimed_reboots_into_slot_b_with_its_data_and_powers_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);

    // First boot: the data partition grows to the card and gets its filesystem.
    let mut guest = Guest::boot(&card, dir.path());
    let health = guest.wait_health(200);
    assert_eq!(health["board"], "qemu-aarch64", "{health}");
    assert_eq!(health["setup_required"], true, "{health}");
    let console = guest.wait_console("Setup code: ");
    assert!(console.contains("root slot a is /dev/vda2"), "{console}");
    assert!(console.contains("/dev/vda4 is empty: making the data filesystem"), "{console}");
    let console = guest.wait_console("Hearth is at http://10.0.2.15/");
    let code = setup_code(&console);
    let addr = guest.http.expect("forwarded port");

    // The claim flow, as the web page does it (with the code from the console, as from outside).
    let claim = post(addr, "/api/v1/setup/claim", &[], &format!(r#"{{"name":"ada","password":"lovelace-1815","setup_code":"{code}"}}"#));
    assert_eq!(claim.status, 201, "{}", claim.body);
    let auth = cookie(&claim);
    let status = http::request(addr, "GET", "/api/v1/status", &auth, None).expect("status");
    assert_eq!(status.status, 200, "{}", status.body);
    let total = status.json()["data_total_bytes"].as_u64().expect("data size");
    assert!(total > GIB, "the data filesystem fills the 2 GiB card ({total} bytes)");
    assert_eq!(status.json()["data_dir"], "/data");

    // Reboot from the web page: QEMU runs with -no-reboot, so it ends when the guest restarts.
    let r = post(addr, "/api/v1/system/reboot", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let exit = guest.wait_exit(Duration::from_secs(120));
    assert!(exit.success(), "QEMU: {exit}");
    let console = guest.console();
    assert!(console.contains("hearth: stopped cleanly"), "{console}");
    drop(guest);

    // Second boot, from root slot B: the same data partition, not formatted again.
    choose_slot(&card, "b");
    let mut guest = Guest::boot(&card, dir.path());
    let health = guest.wait_health(200);
    assert_eq!(health["setup_required"], false, "the claim survived the reboot: {health}");
    let console = guest.wait_console("Hearth is running");
    assert!(console.contains("root slot b is /dev/vda3"), "{console}");
    assert!(!console.contains("making the data filesystem"), "{console}");
    assert!(!console.contains("grew from"), "{console}");
    let addr = guest.http.expect("forwarded port");
    let login = post(addr, "/api/v1/auth/login", &[], r#"{"name":"ada","password":"lovelace-1815"}"#);
    assert_eq!(login.status, 200, "{}", login.body);
    let auth = cookie(&login);

    // Power off: services stop, /data is unmounted, QEMU ends with status 0.
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let exit = guest.wait_exit(Duration::from_secs(120));
    assert!(exit.success(), "QEMU: {exit}");
    let console = guest.console();
    assert!(console.contains("hearth: stopped cleanly"), "{console}");
    assert!(console.contains("reboot: Power down"), "{console}");
}

fn make(program: &str, args: &[&str], dir: &Path) {
    let out =
        Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `curl` to the guest with the session cookie; (status, body).
fn curl(auth: &[String; 1], args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl").args(["-s", "-o", "-", "-w", "\n%{http_code}", "-H", &auth[0]]).args(args).output().expect("curl");
    let mut body = out.stdout;
    let cut = body.iter().rposition(|b| *b == b'\n').expect("status line");
    let status = String::from_utf8_lossy(&body[cut + 1..]).trim().parse().expect("status");
    body.truncate(cut);
    (status, body)
}

/// What an iPhone sends, uploaded to the board: a HEIC photo (libheif's heif-convert on the card)
/// and an HEVC video turned on its side (the card's own ffmpeg and ffprobe) get their thumbnails,
/// the video's upright.
#[test]
fn an_iphones_heic_and_hevc_video_get_thumbnails_on_the_board() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let mut guest = Guest::boot(&card, dir.path());
    let auth = claim_when_up(&mut guest);
    let addr = guest.http.expect("forwarded port");

    let files = dir.path();
    make("convert", &["-size", "1600x1200", "plasma:fractal", "-quality", "92", "src.jpg"], files);
    make("heif-enc", &["-q", "60", "src.jpg", "-o", "IMG_0001.HEIC"], files);
    make(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=30:duration=2",
            "-c:v",
            "libx265",
            "-tag:v",
            "hvc1",
            "-x265-params",
            "log-level=error",
        ]
        .into_iter()
        .chain(["-pix_fmt", "yuv420p", "IMG_0002.MOV"])
        .collect::<Vec<_>>(),
        files,
    );
    // Held upright: the display matrix turns the landscape frames a quarter.
    make("exiftool", &["-q", "-overwrite_original", "-Rotation=90", "IMG_0002.MOV"], files);
    let base = format!("http://{addr}");
    let ids: Vec<(&str, i64)> =
        ["IMG_0001.HEIC", "IMG_0002.MOV"].into_iter().map(|name| (name, upload(&auth, addr, &files.join(name), name))).collect();
    for ((name, id), size) in ids.into_iter().zip(["1440 1080", "360 640"]) {
        let url = format!("{base}/api/v1/assets/{id}/thumbnail?size=1440");
        let start = Instant::now();
        let jpeg = loop {
            let (status, body) = curl(&auth, &[&url]);
            match status {
                200 => break body,
                503 if start.elapsed() < Duration::from_secs(300) => std::thread::sleep(Duration::from_millis(500)),
                _ => panic!("{name}: thumbnail {status}: {}\n{}", String::from_utf8_lossy(&body), guest.console()),
            }
        };
        let thumb = files.join(format!("{id}.jpg"));
        std::fs::write(&thumb, jpeg).expect("thumbnail");
        let out = Command::new("identify").args(["-format", "%w %h"]).arg(&thumb).output().expect("identify");
        assert_eq!(String::from_utf8_lossy(&out.stdout), size, "{name}");
    }
}

/// Once `guest` is up, claim it with the setup code from its console; the session.
fn claim_when_up(guest: &mut Guest) -> [String; 1] {
    guest.wait_health(200);
    let code = setup_code(&guest.wait_console("Hearth is at http://10.0.2.15/"));
    let addr = guest.http.expect("forwarded port");
    let claim = post(addr, "/api/v1/setup/claim", &[], &format!(r#"{{"name":"ada","password":"lovelace-1815","setup_code":"{code}"}}"#));
    assert_eq!(claim.status, 201, "{}", claim.body);
    cookie(&claim)
}

/// Upload the file at `path` to the guest at `addr` as `name`; the new asset's id.
fn upload(auth: &[String; 1], addr: SocketAddr, path: &Path, name: &str) -> i64 {
    let (status, body) =
        curl(auth, &["-X", "POST", "--data-binary", &format!("@{}", path.display()), &format!("http://{addr}/api/v1/assets?name={name}")]);
    assert_eq!(status, 201, "{name}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice::<serde_json::Value>(&body).expect("json")["id"].as_i64().expect("id")
}

/// Boot `card` with the service console on (and `extra` arguments for `qemu/run`), claim the
/// box; (guest, session).
fn boot_claimed_with_console(card: &Path, dir: &Path, extra: &[&str]) -> (Guest, [String; 1]) {
    board::service_console(card);
    let mut guest = Guest::boot_with(card, dir, extra);
    let auth = claim_when_up(&mut guest);
    guest.wait_console("Hearth service console");
    (guest, auth)
}

/// Run `command` in the service console's shell and return its output, lines joined by spaces.
/// It comes back on one line between two markers, written at once, so that the log lines of
/// hearthd and the kernel on the same console cannot land inside it; the typed line echoes the
/// command, not the expanded markers.
fn in_guest(guest: &mut Guest, command: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = 1000 + N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    guest.type_line(&format!("echo \"<<$(({n}))[$({command} 2>&1 | tr '\\n' ' ')]>>$(({n}))\""));
    let (start, end) = (format!("<<{n}["), format!("]>>{n}"));
    let console = guest.wait_console(&end);
    let to = console.rfind(&end).expect("end marker");
    let from = console[..to].rfind(&start).expect("start marker") + start.len();
    console[from..to].trim().to_string()
}

/// The value of `key` in a flat-keyed cgroup file read by [`in_guest`] (`key value key value`).
fn cgroup_value(text: &str, key: &str) -> u64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.chunks(2).find(|kv| kv[0] == key).and_then(|kv| kv.get(1)?.parse().ok()).unwrap_or_else(|| panic!("{key} in {text:?}"))
}

/// hearthd is not root on the board: the daemon and its workers run as the `hearth` user, the
/// daemon with only CAP_NET_BIND_SERVICE and CAP_SYS_TIME (it serves port 80 and sets the
/// clock), the workers with none; root stays with the privileged helper alone, which powers the
/// box off when the web page asks and says so on the console. The data partition is hearth's.
#[test]
fn hearthd_runs_as_the_hearth_user_and_root_stays_in_its_helper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let (mut guest, auth) = boot_claimed_with_console(&card, dir.path(), &[]);
    guest.wait_console("feeding the hardware watchdog");
    let processes = in_guest(
        &mut guest,
        r#"for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = hearthd ] && echo "@ $(tr '\0' ' ' < $p/cmdline)" && grep -E '^(Uid|CapEff|CapInh):' $p/status; done"#,
    );
    let mut seen = Vec::new();
    for process in processes.split("@ ").filter(|p| !p.trim().is_empty()) {
        let field = |key: &str| {
            let words: Vec<&str> = process.split_whitespace().collect();
            let at = words.iter().position(|w| *w == key).unwrap_or_else(|| panic!("{key} in {process}"));
            words[at + 1].to_string()
        };
        let role = if process.contains("privileged-helper") {
            "helper"
        } else if process.contains(" worker ") {
            "worker"
        } else {
            "daemon"
        };
        let (uid, caps) = (field("Uid:"), u64::from_str_radix(&field("CapEff:"), 16).expect("hex"));
        assert_eq!(field("CapInh:"), "0000000000000000", "{process}");
        match role {
            "helper" => assert_eq!(uid, "0", "{process}"),
            "worker" => assert_eq!((uid.as_str(), caps), ("1000", 0), "{process}"),
            _ => assert_eq!((uid.as_str(), caps), ("1000", (1 << 10) | (1 << 25)), "{process}"),
        }
        seen.push(role);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, ["daemon", "helper", "worker"], "{processes}");
    assert_eq!(in_guest(&mut guest, "stat -c %U /data /data/hearth.db"), "hearth hearth");

    let r = post(guest.http.expect("forwarded port"), "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let exit = guest.wait_exit(Duration::from_secs(120));
    assert!(exit.success(), "QEMU: {exit}");
    let console = guest.console();
    assert!(console.contains("hearthd privileged helper: power-off (asked by hearthd)"), "{console}");
    assert!(console.contains("reboot: Power down"), "{console}");
}

/// A board whose clock starts in 1970 (no battery, no saved time, no NTP server on this network)
/// starts it at the system's build time instead: the guest's clock and the date of a photo
/// uploaded without any date of its own are no earlier than the commit the image was built from.
#[test]
fn a_board_that_starts_in_1970_dates_nothing_before_its_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let release = std::fs::read_to_string(board::image().with_extension("release")).expect("release file");
    let built: i64 =
        release.lines().find_map(|l| l.strip_prefix("HEARTH_BUILT=")).and_then(|v| v.trim().parse().ok()).expect("HEARTH_BUILT");
    let (mut guest, auth) = boot_claimed_with_console(&card, dir.path(), &["--rtc-base", "1970-01-02"]);
    let addr = guest.http.expect("forwarded port");
    let rtc = in_guest(&mut guest, "cat /sys/class/rtc/rtc0/since_epoch");
    assert!(rtc.parse::<i64>().is_ok_and(|s| s < 86_400 * 366), "the board's own clock is in 1970: {rtc}");
    let now: i64 = in_guest(&mut guest, "date +%s").parse().expect("date");
    assert!(now >= built, "the clock ({now}) is not before the build ({built})");

    make("convert", &["-size", "320x240", "gradient:red-blue", "+set", "date:create", "+set", "date:modify", "plain.png"], dir.path());
    upload(&auth, addr, &dir.path().join("plain.png"), "plain.png");
    let base = format!("http://{addr}");
    let (status, body) = curl(&auth, &[&format!("{base}/api/v1/timeline/months")]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let months: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let month = months["months"][0]["month"].as_i64().expect("a month");
    let built_month = {
        let out = Command::new("date").args(["-u", "-d", &format!("@{built}"), "+%Y%m"]).output().expect("date");
        String::from_utf8_lossy(&out.stdout).trim().parse::<i64>().expect("month")
    };
    assert!(month >= built_month, "the photo is dated {month}, before the build's month {built_month}: {months}");
}

/// The board's hardware watchdog (i6300esb on QEMU) is fed by hearthd; a hearthd that hangs (here
/// stopped with SIGSTOP, as a deadlock or a wedged disk leaves it) stops feeding it and the board
/// resets by itself: QEMU ends (-no-reboot) with neither a clean stop nor a kernel restart on
/// the console. Every other image test runs longer than the watchdog's period with hearthd
/// feeding it, and none of them is reset.
#[test]
fn a_board_whose_hearthd_hangs_is_reset_by_the_watchdog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let (mut guest, _) = boot_claimed_with_console(&card, dir.path(), &[]);
    guest.wait_console("feeding the hardware watchdog");
    let daemon = in_guest(&mut guest, "cat /sys/fs/cgroup/hearth/daemon/cgroup.procs");
    assert!(!daemon.is_empty() && daemon.chars().all(|c| c.is_ascii_digit()), "hearthd's pid in its group: {daemon:?}");
    assert_eq!(in_guest(&mut guest, &format!("cat /proc/{daemon}/comm")), "hearthd");
    guest.type_line(&format!("kill -STOP {daemon}"));
    let exit = guest.wait_exit(Duration::from_secs(240));
    assert!(exit.success(), "QEMU: {exit}");
    let console = guest.console();
    let after = &console[console.rfind("kill -STOP").expect("the kill")..];
    assert!(!after.contains("stopped cleanly") && !after.contains("reboot:"), "a reset, not a shutdown:\n{after}");
}

/// Budgets where they are real: in the guest's cgroup v2 tree the thumbnail worker's group has
/// its board budget (128 MiB on this board); a HEIC too big to decode within it (48 MP) gets the
/// worker killed whole by the kernel (memory.oom.group), twice (the job is retried alone once),
/// and the job is set aside, while hearthd goes on and the photos around it get thumbnails.
#[test]
fn a_worker_past_its_memory_budget_is_killed_and_its_photo_set_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let (mut guest, auth) = boot_claimed_with_console(&card, dir.path(), &[]);
    let files = dir.path();
    make("convert", &["-size", "640x480", "gradient:red-blue", "-quality", "90", "before.jpg"], files);
    make("convert", &["-size", "640x480", "gradient:green-blue", "-quality", "90", "after.jpg"], files);
    make("convert", &["-size", "8000x6000", "gradient:red-yellow", "-quality", "90", "huge.jpg"], files);
    make("heif-enc", &["-q", "30", "huge.jpg", "-o", "IMG_0048.HEIC"], files);
    let base = format!("http://{}", guest.http.expect("forwarded port"));
    let addr = guest.http.expect("forwarded port");
    let upload = |file: &str, name: &str| upload(&auth, addr, &files.join(file), name);
    let details =
        |id: i64| serde_json::from_slice::<serde_json::Value>(&curl(&auth, &[&format!("{base}/api/v1/assets/{id}")]).1).expect("json");
    let settle = |id: i64| {
        let start = Instant::now();
        loop {
            let d = details(id);
            if d["thumbnails"] != "pending" {
                return d;
            }
            assert!(start.elapsed() < Duration::from_secs(600), "asset {id} still pending: {d}");
            std::thread::sleep(Duration::from_secs(1));
        }
    };
    let before = upload("before.jpg", "IMG_0047.JPG");
    assert_eq!(settle(before)["thumbnails"], "ready");
    let huge = upload("IMG_0048.HEIC", "IMG_0048.HEIC");
    let after = upload("after.jpg", "IMG_0049.JPG");
    let set_aside = settle(huge);
    assert_eq!(set_aside["thumbnails"], "failed", "{set_aside}");
    assert!(set_aside["metadata_error"].as_str().unwrap_or("").contains("set aside"), "{set_aside}");
    assert_eq!(settle(after)["thumbnails"], "ready");
    assert_eq!(guest.wait_health(200)["setup_required"], false, "hearthd goes on");

    assert_eq!(in_guest(&mut guest, "cat /sys/fs/cgroup/hearth/thumbnail/memory.max"), (128u64 << 20).to_string());
    assert_eq!(in_guest(&mut guest, "cat /sys/fs/cgroup/hearth/thumbnail/memory.oom.group"), "1");
    let events = in_guest(&mut guest, "cat /sys/fs/cgroup/hearth/thumbnail/memory.events");
    assert!(cgroup_value(&events, "oom_group_kill") >= 2, "the worker was killed whole at least twice: {events}");
    // The daemon kept its own group and its budget, and was never the one killed.
    assert_eq!(in_guest(&mut guest, "cat /sys/fs/cgroup/hearth/daemon/memory.max"), (192u64 << 20).to_string());
    let daemon_events = in_guest(&mut guest, "cat /sys/fs/cgroup/hearth/daemon/memory.events");
    assert_eq!(cgroup_value(&daemon_events, "oom_kill"), 0, "{daemon_events}");
}

/// Boot `card` (not grown) and return the trouble page's health body once it answers.
fn trouble(card: &Path, dir: &Path) -> (serde_json::Value, String) {
    let mut guest = Guest::boot(card, dir);
    let health = guest.wait_health(503);
    assert_eq!(health["status"], "trouble", "{health}");
    let page = http::get(guest.http.expect("port"), "/").expect("page");
    assert_eq!(page.status, 503);
    assert!(page.body.contains("Hearth needs attention"), "{}", page.body);
    (health, guest.console())
}

#[test]
fn a_foreign_missing_or_broken_data_partition_gets_the_trouble_page_and_is_not_formatted() {
    let dir = tempfile::tempdir().expect("tempdir");

    // Foreign bytes where the data partition should be: never formatted.
    let card = board::card(dir.path(), 0);
    let (offset, len) = board::partition(&card, 4);
    write_at(&card, offset, &data::noise(1 << 20, 7));
    let before = read_at(&card, offset, len);
    let (health, console) = trouble(&card, dir.path());
    assert_eq!(health["problem"]["kind"], "foreign", "{health}");
    assert!(health["problem"]["what_to_do"].as_str().unwrap_or("").contains("never formats"), "{health}");
    assert!(console.contains("Hearth needs attention"), "the console says it too:\n{console}");
    assert!(read_at(&card, offset, len) == before, "the foreign partition was changed");

    // No partition 4 at all.
    let card = board::card(dir.path(), 0);
    let mut mbr = read_at(&card, 0, 512);
    mbr[446 + 48..446 + 64].fill(0);
    write_at(&card, 0, &mbr);
    let (health, _) = trouble(&card, dir.path());
    assert_eq!(health["problem"]["kind"], "missing", "{health}");
    assert!(health["problem"]["problem"].as_str().unwrap_or("").contains("no partition 4"), "{health}");

    // A data filesystem with an error `e2fsck -p` must not decide alone (its root directory gone):
    // not mounted, not formatted, a person is asked.
    let card = board::card(dir.path(), 0);
    let root = dir.path().join("broken");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("photo.jpg"), b"a family photo").expect("file");
    let (offset, len) = put_data_filesystem(&card, &root);
    let fs = dir.path().join("broken.ext4");
    for request in ["clri <2>", "ssv state 2"] {
        let out = Command::new("debugfs").args(["-w", "-R", request]).arg(&fs).output().expect("debugfs");
        assert!(out.status.success(), "debugfs {request}: {}", String::from_utf8_lossy(&out.stderr));
    }
    write_at(&card, offset, &std::fs::read(&fs).expect("fs"));
    let (health, console) = trouble(&card, dir.path());
    assert_eq!(health["problem"]["kind"], "damaged", "{health}");
    assert!(health["problem"]["what_to_do"].as_str().unwrap_or("").contains("e2fsck"), "{health}");
    assert!(!console.contains("making the data filesystem"), "{console}");
    assert_eq!(board::partition(&card, 4).1, len, "a card that was not grown keeps its table");
}

/// An ext4 filesystem as big as partition 4 holding the files of `root` (kept next to it as
/// ROOT.ext4), written over partition 4.
fn put_data_filesystem(card: &Path, root: &Path) -> (u64, u64) {
    let (offset, len) = board::partition(card, 4);
    let fs = root.with_extension("ext4");
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-m", "0", "-L", "hearth-data"])
        .arg("-d")
        .arg(root)
        .arg(&fs)
        .arg(format!("{}k", len / 1024))
        .output()
        .expect("mke2fs");
    assert!(out.status.success(), "mke2fs: {}", String::from_utf8_lossy(&out.stderr));
    write_at(card, offset, &std::fs::read(&fs).expect("fs image"));
    (offset, len)
}

/// A file's content inside partition 4's ext4 filesystem (debugfs, no mount).
fn file_in_data(card: &Path, name: &str) -> Vec<u8> {
    let (offset, len) = board::partition(card, 4);
    let fs = card.with_extension("part4");
    std::fs::write(&fs, read_at(card, offset, len)).expect("extract");
    let out = Command::new("debugfs").args(["-R", &format!("cat /{name}")]).arg(&fs).stderr(Stdio::null()).output().expect("debugfs");
    out.stdout
}

#[test]
fn a_damaged_catalog_or_a_full_disk_gets_the_trouble_page_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");

    // A catalog that is not a database: reported, kept byte for byte.
    let card = board::card(dir.path(), 0);
    let root = dir.path().join("damaged");
    std::fs::create_dir_all(&root).expect("mkdir");
    let mut junk = b"SQLite format 3\0".to_vec();
    junk.extend(data::noise(64 << 10, 3));
    std::fs::write(root.join("hearth.db"), &junk).expect("junk");
    put_data_filesystem(&card, &root);
    let (health, _) = trouble(&card, dir.path());
    assert_eq!(health["problem"]["kind"], "start", "{health}");
    let text = health["problem"]["problem"].as_str().unwrap_or("").to_lowercase();
    assert!(text.contains("catalog") || text.contains("database"), "{health}");
    assert!(file_in_data(&card, "hearth.db") == junk, "the damaged catalog was changed");

    // A data disk with no free block: the box starts far enough to say so.
    let card = board::card(dir.path(), 0);
    let root = dir.path().join("full");
    std::fs::create_dir_all(&root).expect("mkdir");
    let (_, len) = board::partition(&card, 4);
    // Fill with files until mke2fs refuses, then keep the largest filling that fits.
    let mut fill = len;
    loop {
        std::fs::write(root.join("photos.bin"), vec![7u8; usize::try_from(fill).expect("size")]).expect("filler");
        let fs = dir.path().join("probe.ext4");
        let ok = Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-m", "0", "-d"])
            .arg(&root)
            .arg(&fs)
            .arg(format!("{}k", len / 1024))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mke2fs")
            .success();
        if ok {
            break;
        }
        fill -= 64 << 10;
        assert!(fill > 0, "no filling fits");
    }
    put_data_filesystem(&card, &root);
    let (health, _) = trouble(&card, dir.path());
    assert_eq!(health["problem"]["kind"], "start", "{health}");
    let text = format!("{} {}", health["problem"]["problem"], health["problem"]["what_to_do"]).to_lowercase();
    assert!(text.contains("full") || text.contains("space"), "the page says the disk is full: {health}");
    assert_eq!(file_in_data(&card, "photos.bin").len() as u64, fill, "the family's file is intact");
}

/// The guest's clock as its web server says it (the `Date` header), in Unix seconds.
fn guest_date(ns: &str, ip: &str) -> Option<i64> {
    let out =
        Command::new("ip").args(["netns", "exec", ns, "curl", "-sI", "-m", "10"]).arg(format!("http://{ip}/api/health")).output().ok()?;
    let head = String::from_utf8_lossy(&out.stdout).to_string();
    let date = head.lines().find_map(|l| l.strip_prefix("date: ").or_else(|| l.strip_prefix("Date: ")))?.trim().to_string();
    let out = Command::new("date").args(["-u", "-d", &date, "+%s"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// A family's LAN in a network namespace: the router's DHCP (dnsmasq) also names an NTP server
/// (Debian's chrony, serving this machine's time, never setting it). The guest boots with its
/// real-time clock in 2001, as a board whose clock lost its time: avahi finds it by mDNS, and
/// its clock is set right from the NTP server the lease named.
#[test]
fn avahi_in_the_guests_network_finds_it_by_mdns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 0);
    let id = std::process::id() % 100_000;
    let ns = format!("hth-img-{id}");
    let tap = format!("himg{id}");
    let sh = |args: &[&str]| {
        let out = Command::new(args[0]).args(&args[1..]).output().expect("run");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    sh(&["ip", "netns", "add", &ns]);
    struct Netns(String);
    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _netns = Netns(ns.clone());
    sh(&["ip", "-n", &ns, "tuntap", "add", "dev", &tap, "mode", "tap"]);
    sh(&["ip", "-n", &ns, "addr", "add", "192.168.77.1/24", "brd", "+", "dev", &tap]);
    sh(&["ip", "-n", &ns, "link", "set", &tap, "up"]);
    sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
    // The LAN's time server.
    let chrony_conf = dir.path().join("chrony.conf");
    std::fs::write(
        &chrony_conf,
        format!(
            "bindaddress 192.168.77.1\nallow 192.168.77.0/24\nlocal stratum 8\ncmdport 0\nbindcmdaddress /\npidfile {0}/chronyd.pid\ndriftfile {0}/drift\n",
            dir.path().display()
        ),
    )
    .expect("chrony.conf");
    let mut chrony = Command::new("ip")
        .args(["netns", "exec", &ns, "chronyd", "-x", "-d", "-u", "root", "-f"])
        .arg(&chrony_conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chronyd (scripts/test installs chrony)");
    // The router's DHCP, as on a family's LAN, naming the time server.
    let mut dnsmasq = Command::new("ip")
        .args(["netns", "exec", &ns, "dnsmasq", "--no-daemon", "--port=0", "--bind-interfaces", "--no-resolv", "--no-hosts"])
        .arg(format!("--interface={tap}"))
        .arg("--dhcp-range=192.168.77.50,192.168.77.99,12h")
        .arg("--dhcp-option=option:ntp-server,192.168.77.1")
        .arg(format!("--dhcp-leasefile={}", dir.path().join("leases").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq");
    let avahi = Avahi::start(dir.path(), &ns, &tap, "family-laptop");

    let mut guest = Guest::start(&card, dir.path(), &["--tap", &tap, "--rtc-base", "2001-01-01"], Some(&ns));
    let console = guest.wait_console("Hearth is at http://192.168.77.");
    let ip = console
        .lines()
        .find_map(|l| l.split("Hearth is at http://").nth(1).and_then(|r| r.split('/').next()))
        .expect("address")
        .to_string();
    let start = Instant::now();
    let entry = loop {
        if let Some(e) = avahi
            .browse("_http._tcp")
            .into_iter()
            .find(|f| f.get(6).is_some_and(|h| h.starts_with("hearth")) && f.get(2).is_some_and(|p| p == "IPv4"))
        {
            break e;
        }
        assert!(start.elapsed() < board::BOOT_LIMIT, "avahi never saw the guest's _http._tcp:\n{}\n{}", guest.console(), avahi.log());
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(entry[7], ip, "{entry:?}");
    assert_eq!(entry[8], "80", "{entry:?}");
    let hearth = avahi.browse("_hearth._tcp");
    assert!(hearth.iter().any(|f| f.get(7) == Some(&ip) && f.get(9).is_some_and(|t| t.contains("\"board=qemu-aarch64\""))), "{hearth:?}");
    let resolved = avahi.run(&["avahi-resolve-host-name", "-4", &entry[6]]);
    assert!(resolved.contains(&ip), "{} resolves: {resolved:?}", entry[6]);
    // And the page answers at the name's address, from the LAN.
    let health = Command::new("ip")
        .args(["netns", "exec", &ns, "curl", "-sf", "-m", "10"])
        .arg(format!("http://{ip}/api/health"))
        .output()
        .expect("curl");
    assert!(String::from_utf8_lossy(&health.stdout).contains("\"board\":\"qemu-aarch64\""), "{health:?}");
    // The clock: started in 2001, set from chrony within the clock service's first tries.
    let host_now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let start = Instant::now();
    loop {
        let date = guest_date(&ns, &ip);
        if date.is_some_and(|d| (d - host_now()).abs() < 60) {
            break;
        }
        assert!(
            start.elapsed() < board::BOOT_LIMIT,
            "the guest's clock was never set from NTP: {date:?} (now {})\n{}",
            host_now(),
            guest.console()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(guest.console().contains("the clock was set from NTP"), "hearthd stepped it (not some other way):\n{}", guest.console());
    let _ = dnsmasq.kill();
    let _ = dnsmasq.wait();
    let _ = chrony.kill();
    let _ = chrony.wait();
}

// ---- the slot selector alone (U-Boot and the real boot script, tiny slots) --------------------

/// A card of three partitions: the FAT partition with the real selector (board/qemu-aarch64/
/// boot.cmd and board/common/boot-select.cmd, as qemu/build-image makes boot.scr), and two 8 MiB
/// ext4 slots whose own /boot/boot.scr only says which slot it is and powers off.
fn selector_card(dir: &Path) -> std::path::PathBuf {
    board::image(); // installs U-Boot, mtools, mkimage, mke2fs on a fresh machine
    let ws = hearth_tests::daemon::workspace();
    let mkimage = |src: &Path, out: &Path| {
        make(
            "mkimage",
            &[
                "-A",
                "arm64",
                "-O",
                "linux",
                "-T",
                "script",
                "-C",
                "none",
                "-n",
                "t",
                "-d",
                src.to_str().expect("utf8"),
                out.to_str().expect("utf8"),
            ],
            dir,
        )
    };
    let selector = dir.join("select.cmd");
    let mut text = std::fs::read_to_string(ws.join("board/qemu-aarch64/boot.cmd")).expect("boot.cmd");
    text.push_str(&std::fs::read_to_string(ws.join("board/common/boot-select.cmd")).expect("boot-select.cmd"));
    std::fs::write(&selector, text).expect("write");
    let card = dir.join("selector.img");
    let f = std::fs::File::create(&card).expect("card");
    f.set_len(50 << 20).expect("size");
    let mut mbr = [0u8; 512];
    for (i, (kind, start, sectors)) in
        [(0x0cu8, 2048u32, 32768u32), (0x83, 2048 + 32768, 16384), (0x83, 2048 + 32768 + 16384, 16384)].into_iter().enumerate()
    {
        let e = &mut mbr[446 + 16 * i..462 + 16 * i];
        e[0] = if i == 0 { 0x80 } else { 0 };
        e[4] = kind;
        e[8..12].copy_from_slice(&start.to_le_bytes());
        e[12..16].copy_from_slice(&sectors.to_le_bytes());
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    write_at(&card, 0, &mbr);
    let fat = dir.join("fat.img");
    make("mkfs.vfat", &["-C", fat.to_str().expect("utf8"), "16384"], dir);
    let scr = dir.join("boot.scr");
    mkimage(&selector, &scr);
    make("mcopy", &["-i", fat.to_str().expect("utf8"), scr.to_str().expect("utf8"), "::boot.scr"], dir);
    write_at(&card, 1 << 20, &std::fs::read(&fat).expect("fat"));
    for (slot, at) in [("a", 17u64 << 20), ("b", 25 << 20)] {
        let root = dir.join(format!("root-{slot}"));
        std::fs::create_dir_all(root.join("boot")).expect("root");
        let cmd = dir.join(format!("slot-{slot}.cmd"));
        std::fs::write(&cmd, format!("echo \"SLOT {slot} BOOTED\"\npoweroff\n")).expect("cmd");
        mkimage(&cmd, &root.join("boot/boot.scr"));
        let fs = dir.join(format!("slot-{slot}.ext4"));
        make("mke2fs", &["-q", "-t", "ext4", "-d", root.to_str().expect("utf8"), fs.to_str().expect("utf8"), "8M"], dir);
        write_at(&card, at, &std::fs::read(&fs).expect("slot"));
    }
    card
}

/// Run U-Boot on `card` until the chosen slot's script powers off; which slot booted.
fn selector_boot(card: &Path) -> (String, String) {
    let out = Command::new("timeout")
        .args(["120", "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-m", "256", "-nographic", "-no-reboot", "-nic", "none"])
        .args(["-bios", "/usr/lib/u-boot/qemu_arm64/u-boot.bin", "-drive"])
        .arg(format!("file={},if=virtio,format=raw", card.display()))
        .stdin(Stdio::null())
        .output()
        .expect("qemu");
    let console = String::from_utf8_lossy(&out.stdout).into_owned();
    let slot = ["a", "b"]
        .into_iter()
        .find(|s| console.contains(&format!("SLOT {s} BOOTED")))
        .unwrap_or_else(|| panic!("no slot booted:\n{console}"));
    (slot.to_string(), console)
}

#[test]
fn the_slot_selector_tries_a_new_slot_three_times_then_goes_back_and_survives_a_spoiled_state_copy() {
    use hearth_ota::boot_state::{BootState, COPIES, SlotName};
    let dir = tempfile::tempdir().expect("tempdir");
    let card = selector_card(dir.path());

    // No state: hearth.env decides (a card as a person left it).
    board::put_boot_file(&card, "hearth.env", b"hearth_slot=b\n");
    assert_eq!(selector_boot(&card).0, "b");

    // Slot b on trial, as an install leaves it (written by hearth-ota).
    let mut trial = BootState::committed(SlotName::A);
    trial.set_version(SlotName::A, Some("0.1.0".parse().expect("v")));
    trial.set_version(SlotName::B, Some("0.1.1".parse().expect("v")));
    trial.trial = Some(SlotName::B);
    board::set_boot_state(&card, &trial);
    for n in 1..=3 {
        let (slot, console) = selector_boot(&card);
        assert_eq!(slot, "b", "try {n}:\n{console}");
        assert!(console.contains(&format!("on trial: try {n} of 3")), "{console}");
        let s = board::boot_state(&card);
        assert_eq!(
            (s.trial, s.tries, s.next_boot()),
            (Some(SlotName::B), n, if n < 3 { SlotName::B } else { SlotName::A }),
            "as hearth-ota reads it after try {n}"
        );
    }
    // Three boots and no commit: back to the good slot, and the state says so.
    let (slot, console) = selector_boot(&card);
    assert_eq!(slot, "a", "{console}");
    assert!(console.contains("did not start in 3 tries; going back to slot a"), "{console}");
    let s = board::boot_state(&card);
    assert_eq!((s.good, s.trial, s.rollback), (SlotName::A, None, Some(SlotName::B)));
    assert_eq!(s.version(SlotName::B).map(ToString::to_string).as_deref(), Some("0.1.1"));

    // A write cut short by a power cut: the newest copy is spoiled, and both the selector and
    // hearth-ota take the other, older one.
    let mut again = s.clone();
    again.trial = Some(SlotName::B);
    again.tries = 0;
    board::set_boot_state(&card, &again);
    assert_eq!(board::boot_state(&card).next_boot(), SlotName::B);
    let newest = COPIES.iter().max_by_key(|n| {
        let text = String::from_utf8_lossy(&board::boot_file(&card, n).unwrap_or_default()).into_owned();
        text.contains("hearth_try=b") && !text.contains("hearth_tries=1")
    });
    let newest = newest.expect("a copy");
    let bytes = board::boot_file(&card, newest).expect("copy");
    board::put_boot_file(&card, newest, &bytes[..bytes.len() / 2]);
    assert_eq!(board::boot_state(&card), s, "hearth-ota reads the older whole copy");
    assert_eq!(selector_boot(&card).0, "a", "and so does the selector");
}

// ---- updates on the board ---------------------------------------------------------------------

/// Log in as the owner the update tests claim with.
fn login_ada(addr: SocketAddr) -> [String; 1] {
    let r = post(addr, "/api/v1/auth/login", &[], r#"{"name":"ada","password":"lovelace-1815"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    cookie(&r)
}

fn updates_status(addr: SocketAddr, auth: &[String]) -> serde_json::Value {
    let r = http::request(addr, "GET", "/api/v1/updates", auth, None).expect("updates");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// A data partition whose hearth.toml is the image's plus `update`.
fn data_with_config(card: &Path, dir: &Path, update: &str) {
    let root = dir.join("data-root");
    std::fs::create_dir_all(root.join("config")).expect("config");
    let image_default =
        std::fs::read_to_string(hearth_tests::daemon::workspace().join("firmware/rootfs/usr/share/hearth/hearth.toml")).expect("default");
    std::fs::write(root.join("config/hearth.toml"), format!("{image_default}\n[update]\n{update}\n")).expect("write");
    put_data_filesystem(card, &root);
}

/// Boot `card`, wait for health and log in; also checks the slot on the console.
fn boot_and_login(card: &Path, dir: &Path, slot: &str) -> (Guest, [String; 1]) {
    let mut guest = Guest::boot(card, dir);
    guest.wait_health(200);
    let console = guest.wait_console("Hearth is running");
    assert!(console.contains(&format!("root slot {slot} is /dev/vda")), "expected slot {slot}:\n{console}");
    let auth = login_ada(guest.http.expect("port"));
    (guest, auth)
}

/// Wait until the system on trial has committed itself; the updates' status then.
fn wait_committed(addr: SocketAddr, auth: &[String]) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let s = updates_status(addr, auth);
        if s["on_trial"] == false {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no commit: {s}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Poll the install until `ready(progress)` holds; the updates' status then.
fn wait_install(addr: SocketAddr, auth: &[String], what: &str, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let s = updates_status(addr, auth);
        if ready(&s["install"]) {
            return s;
        }
        let state = s["install"]["state"].as_str().unwrap_or("none");
        assert!(state == "running" || state == "none" || ready(&s["install"]), "{what}: the install ended first: {s}");
        assert!(start.elapsed() < Duration::from_secs(600), "{what}: not reached in 10 minutes: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_update_survives_power_cuts_in_every_phase_then_commits_after_its_trial() {
    let bundle = board::system_bundle("0.1.1", None);
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    data_with_config(&card, dir.path(), "health_grace_secs = 15");
    let channel = dir.path().join("channel");
    std::fs::create_dir_all(&channel).expect("channel");
    std::fs::copy(&bundle, channel.join("hearth-0.1.1.hup")).expect("copy");
    std::fs::write(
        channel.join("index.json"),
        r#"{"format":1,"updates":[{"version":"0.1.1","boards":["qemu-aarch64"],"bundle":"hearth-0.1.1.hup"}]}"#,
    )
    .expect("index");
    let web = hearth_tests::servers::static_files(&channel, true);
    let bundle_len = std::fs::metadata(&bundle).expect("bundle").len();

    let t = Instant::now();
    let mut guest = Guest::boot(&card, dir.path());
    let mut auth = claim_when_up(&mut guest);
    let mut addr = guest.http.expect("port");
    let photo = hearth_tests::daemon::workspace().join("target/sample-photos/chelsea.png");
    let asset = upload(&auth, addr, &photo, "chelsea.png");
    let r = http::request(
        addr,
        "PUT",
        "/api/v1/updates/channel",
        &auth,
        Some(&format!(r#"{{"url":"http://10.0.2.2:{}/index.json"}}"#, web.port)),
    )
    .expect("channel");
    assert_eq!(r.status, 204, "{}", r.body);
    println!("scenario: first boot and claim: {:.0} s", t.elapsed().as_secs_f64());

    // Power cuts: during an upload, then in each phase of a channel install. Every time the box
    // comes back on the old system, and the slot being written is never booted.
    let cuts: [(&str, &str, f64); 5] = [
        ("upload", "", 0.0),
        ("comparing", "comparing", 0.0),
        ("early writing", "writing", 0.05),
        ("late writing", "writing", 0.7),
        ("verifying", "verifying", 0.3),
    ];
    for (what, phase, fraction) in cuts {
        let t = Instant::now();
        if phase.is_empty() {
            // The upload is sent slowly; the cut comes in the middle of it.
            let mut curl = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "--limit-rate", "2M", "-H", &auth[0], "-X", "POST", "--data-binary"])
                .arg(format!("@{}", bundle.display()))
                .arg(format!("http://{addr}/api/v1/updates/upload"))
                .spawn()
                .expect("curl");
            std::thread::sleep(Duration::from_secs(4));
            drop(guest);
            let _ = curl.kill();
            let _ = curl.wait();
        } else {
            let r = post(addr, "/api/v1/updates/install", &auth, "{}");
            assert_eq!(r.status, 202, "{}", r.body);
            wait_install(addr, &auth, what, |i| {
                let p = &i["progress"];
                p["phase"] == phase && p["done"].as_f64().unwrap_or(0.0) >= fraction * p["total"].as_f64().unwrap_or(f64::MAX)
            });
            drop(guest); // QEMU killed: the power is cut
        }
        let (g, a) = boot_and_login(&card, dir.path(), "a");
        let s = updates_status(g.http.expect("port"), &a);
        assert_eq!(
            (s["running"]["version"].as_str(), s["next_boot"].as_str(), s["on_trial"].as_bool()),
            (Some("0.1.0"), Some("a"), Some(false)),
            "after a cut {what}: {s}"
        );
        if phase == "writing" || phase == "verifying" {
            assert!(s["other"]["version"].is_null(), "a half-written slot holds no version: {s}");
        }
        println!("scenario: power cut {what}, back on 0.1.0: {:.0} s", t.elapsed().as_secs_f64());
        addr = g.http.expect("port");
        auth = a;
        guest = g;
    }

    // The whole install: only what the running slot lacks is downloaded.
    let t = Instant::now();
    let r = post(addr, "/api/v1/updates/install", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let s = wait_install(addr, &auth, "ready", |i| i["state"] == "ready");
    let fetched = s["install"]["fetched"].as_u64().expect("fetched");
    assert_eq!(s["install"]["bundle_len"].as_u64(), Some(bundle_len));
    assert!(fetched < bundle_len / 4, "fetched {fetched} of {bundle_len}");
    println!(
        "scenario: channel install 0.1.0 -> 0.1.1: {:.0} s, fetched {fetched} of {bundle_len} bytes ({:.1} %)",
        t.elapsed().as_secs_f64(),
        fetched as f64 * 100.0 / bundle_len as f64
    );
    let r = post(addr, "/api/v1/system/reboot", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());

    // A power cut during the trial, before the commit: the next boot tries it again, and it
    // commits with the catalog as it was.
    let t = Instant::now();
    let mut g = Guest::boot(&card, dir.path());
    g.wait_console("on trial: try 1 of 3");
    g.wait_health(200);
    drop(g);
    let mut g = Guest::boot(&card, dir.path());
    g.wait_console("on trial: try 2 of 3");
    g.wait_health(200);
    let addr = g.http.expect("port");
    let auth = login_ada(addr);
    let s = wait_committed(addr, &auth);
    assert_eq!(
        (s["running"]["version"].as_str(), s["running"]["slot"].as_str(), s["last"]["kind"].as_str()),
        (Some("0.1.1"), Some("b"), Some("committed")),
        "{s}"
    );
    assert_eq!(s["can_go_back"], true, "{s}");
    let r = http::request(addr, "GET", &format!("/api/v1/assets/{asset}"), &auth, None).expect("asset");
    assert_eq!(r.status, 200, "the photo is still in the catalog: {}", r.body);
    println!("scenario: power cut during the trial, then commit on the second try: {:.0} s", t.elapsed().as_secs_f64());
    assert!(g.console().contains("passed its health gate and is committed"), "{}", g.console());

    // Going back to the previous version: it is tried and commits like an update, and 0.1.1 stays
    // in its slot.
    let t = Instant::now();
    let r = post(addr, "/api/v1/updates/go-back", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["version"], "0.1.0");
    assert!(g.wait_exit(Duration::from_secs(120)).success());
    drop(g);
    let mut g = Guest::boot(&card, dir.path());
    g.wait_console("Hearth: booting root slot a (partition 2), on trial: try 1 of 3");
    g.wait_health(200);
    let addr = g.http.expect("port");
    let auth = login_ada(addr);
    let s = wait_committed(addr, &auth);
    assert_eq!(
        (s["running"]["version"].as_str(), s["other"]["version"].as_str(), s["last"]["kind"].as_str()),
        (Some("0.1.0"), Some("0.1.1"), Some("committed")),
        "{s}"
    );
    assert!(s["history"].as_array().expect("history").iter().any(|e| e["kind"] == "went_back"), "{s}");
    let r = http::request(addr, "GET", &format!("/api/v1/assets/{asset}"), &auth, None).expect("asset");
    assert_eq!(r.status, 200, "{}", r.body);
    println!("scenario: go back to 0.1.0, tried and committed: {:.0} s", t.elapsed().as_secs_f64());
}

#[test]
fn a_system_that_fails_its_health_gate_is_tried_three_times_and_the_box_goes_back() {
    // The new system's own settings are broken: sync listens on the web's port, so the sync
    // service never runs and the gate fails at its limit.
    let dir = tempfile::tempdir().expect("tempdir");
    let overlay = dir.path().join("overlay");
    std::fs::create_dir_all(overlay.join("usr/share/hearth")).expect("overlay");
    std::fs::write(
        overlay.join("usr/share/hearth/hearth.toml"),
        "[http]\nlisten = \"0.0.0.0:80\"\nhttps_listen = \"0.0.0.0:443\"\n\n[sync]\nlisten = \"0.0.0.0:80\"\n\n[update]\nhealth_grace_secs = 10\ntrial_limit_secs = 30\n",
    )
    .expect("toml");
    let bundle = board::system_bundle("0.1.2", Some(&overlay));
    let card = board::card(dir.path(), 2 * GIB);
    let t = Instant::now();
    let mut guest = Guest::boot(&card, dir.path());
    let auth = claim_when_up(&mut guest);
    let addr = guest.http.expect("port");
    let (status, body) =
        curl(&auth, &["-X", "POST", "--data-binary", &format!("@{}", bundle.display()), &format!("http://{addr}/api/v1/updates/upload")]);
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    wait_install(addr, &auth, "ready", |i| i["state"] == "ready");
    let r = post(addr, "/api/v1/system/reboot", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    drop(guest);
    println!("scenario: upload and install of 0.1.2: {:.0} s", t.elapsed().as_secs_f64());

    for n in 1..=3 {
        let t = Instant::now();
        let mut g = Guest::boot(&card, dir.path());
        g.wait_console(&format!("on trial: try {n} of 3"));
        let exit = g.wait_exit(Duration::from_secs(300));
        assert!(exit.success(), "QEMU: {exit}");
        let console = g.console();
        assert!(console.contains("the updated system is not healthy"), "{console}");
        println!("scenario: trial boot {n} of 0.1.2 failed its gate and restarted: {:.0} s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let (g, auth) = boot_and_login(&card, dir.path(), "a");
    assert!(g.console().contains("did not start in 3 tries; going back to slot a"), "{}", g.console());
    let s = updates_status(g.http.expect("port"), &auth);
    assert_eq!(
        (s["running"]["version"].as_str(), s["next_boot"].as_str(), s["last"]["kind"].as_str()),
        (Some("0.1.0"), Some("a"), Some("rolled_back")),
        "{s}"
    );
    let reason = s["last"]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("3 tries") && reason.contains("sync"), "the reason names the failing service: {reason}");
    let gate_failures = s["history"].as_array().expect("history").iter().filter(|e| e["kind"] == "gate_failed").count();
    assert_eq!(gate_failures, 3, "{s}");
    println!("scenario: back on 0.1.0 after three tries: {:.0} s", t.elapsed().as_secs_f64());
}

/// The disks of the box, as an admin's `GET /api/v1/disks` gives them.
fn disks(addr: SocketAddr, auth: &[String]) -> Vec<serde_json::Value> {
    let r = http::request(addr, "GET", "/api/v1/disks", auth, None).expect("disks");
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    v["disks"].as_array().cloned().unwrap_or_default()
}

/// A USB-like hot plug on the virtual board: a disk with an ext4 file system is plugged into a
/// PCIe port of the running box through QEMU's monitor (QMP `blockdev-add` + `device_add`), the
/// kernel announces it, hearthd's disks service hears the uevent and its privileged helper reads
/// the disk as root; the disk appears in the API with its serial, size and file system, and goes
/// when it is pulled (`device_del`). How long it took to appear is printed (docs/disks.md).
#[test]
fn a_disk_plugged_into_the_running_box_appears_in_the_api_and_goes_when_pulled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let disk = dir.path().join("family-disk.img");
    std::fs::File::create(&disk).expect("disk").set_len(256 << 20).expect("size");
    let uuid = "5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    make("mkfs.ext4", &["-q", "-F", "-L", "Family disk", "-U", uuid, disk.to_str().expect("utf-8")], dir.path());
    let socket = dir.path().join("qmp.sock");
    let mut guest = Guest::boot_with(&card, dir.path(), &["--qmp", socket.to_str().expect("utf-8")]);
    let auth = claim_when_up(&mut guest);
    let addr = guest.http.expect("forwarded port");
    let serial = "HEARTH-HOTPLUG-1";
    let found = |disks: &[serde_json::Value]| disks.iter().find(|d| d["serial"] == serial).cloned();
    let before = disks(addr, &auth);
    assert!(found(&before).is_none(), "not plugged in yet: {before:?}");
    assert!(before.iter().any(|d| d["system"] == true), "the card holds the system: {before:?}");

    let mut qmp = hearth_tests::qmp::Qmp::connect(&socket, Duration::from_secs(30));
    let (appeared, took) = plug(&mut qmp, &guest, &auth, &disk, Plug::Virtio, "family-disk", serial);
    println!("the plugged disk appeared in the API after {} ms", took.as_millis());
    assert_eq!((appeared["size_bytes"].as_u64(), appeared["transport"].as_str()), (Some(256 << 20), Some("virtio")), "{appeared}");
    assert_eq!(appeared["system"], false);
    let volume = &appeared["volumes"][0];
    assert_eq!(
        (
            volume["number"].as_u64(),
            volume["file_system"]["kind"].as_str(),
            volume["file_system"]["label"].as_str(),
            volume["file_system"]["uuid"].as_str()
        ),
        (Some(0), Some("ext4"), Some("Family disk"), Some(uuid)),
        "read as root by the privileged helper: {appeared}"
    );

    qmp.execute("device_del", serde_json::json!({"id": "family-disk"}));
    qmp.wait_event("DEVICE_DELETED");
    let pulled = Instant::now();
    while found(&disks(addr, &auth)).is_some() {
        assert!(pulled.elapsed() < Duration::from_secs(60), "the pulled disk stayed in the API");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("the pulled disk left the API after {} ms", pulled.elapsed().as_millis());
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
}

/// Where a disk is plugged into the running virtual board.
#[derive(Clone, Copy)]
enum Plug {
    /// A virtio disk in the PCIe port `hotplug0`.
    Virtio,
    /// A USB stick in the USB controller `usb0`.
    Usb,
}

/// Plug the raw disk image `file` into the running box through QEMU's machine protocol (device
/// `id`, serial `serial`) and wait until the API lists it; the disk as listed and how long that
/// took after `device_add` returned.
fn plug(
    qmp: &mut hearth_tests::qmp::Qmp,
    guest: &Guest,
    auth: &[String],
    file: &Path,
    how: Plug,
    id: &str,
    serial: &str,
) -> (serde_json::Value, Duration) {
    let addr = guest.http.expect("port");
    let filename = file.to_str().expect("utf-8");
    qmp.execute("blockdev-add", serde_json::json!({"driver": "raw", "node-name": id, "file": {"driver": "file", "filename": filename}}));
    let (driver, bus) = match how {
        Plug::Virtio => ("virtio-blk-pci", "hotplug0"),
        Plug::Usb => ("usb-storage", "usb0.0"),
    };
    qmp.execute("device_add", serde_json::json!({"driver": driver, "bus": bus, "drive": id, "id": id, "serial": serial}));
    let plugged = Instant::now();
    loop {
        if let Some(d) = disks(addr, auth).iter().find(|d| d["serial"] == serial) {
            return (d.clone(), plugged.elapsed());
        }
        assert!(plugged.elapsed() < Duration::from_secs(60), "the plugged disk never appeared in the API:\n{}", guest.console());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Grow partition 4 of `card` to the card's end in its MBR (as the first boot would), so that a
/// data file system written by [`put_data_filesystem`] can be as big as the test needs.
fn grow_data_partition(card: &Path) {
    let len = std::fs::metadata(card).expect("card").len();
    let mut mbr = hearth_platform::mbr::Mbr::parse(&read_at(card, 0, 512)).expect("MBR");
    if let Some(sectors) = mbr.grown_size(4, len / 512, 2048).expect("grow") {
        mbr.set_sectors(4, sectors).expect("set");
        write_at(card, 0, mbr.bytes());
    }
}

/// Byte offset and length of the first GPT partition of a disk image.
fn gpt_first_partition(disk: &Path) -> (u64, u64) {
    let header = read_at(disk, 512, 92);
    assert_eq!(&header[..8], b"EFI PART", "a GPT");
    let entries_lba = u64::from_le_bytes(header[72..80].try_into().expect("8"));
    let entry = read_at(disk, entries_lba * 512, 128);
    let first = u64::from_le_bytes(entry[32..40].try_into().expect("8"));
    let last = u64::from_le_bytes(entry[40..48].try_into().expect("8"));
    (first * 512, (last - first + 1) * 512)
}

/// Dump the folder `from` of the ext4 file system at `offset`/`len` of `image` into `to`
/// (debugfs, no mount).
fn dump_ext4_folder(image: &Path, offset: u64, len: u64, from: &str, to: &Path) {
    let fs = image.with_extension("fs");
    std::fs::write(&fs, read_at(image, offset, len)).expect("extract");
    std::fs::create_dir_all(to).expect("dump folder");
    let out = Command::new("debugfs").args(["-R", &format!("rdump {from} {}", to.display())]).arg(&fs).output().expect("debugfs");
    assert!(out.status.success(), "debugfs: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(&fs).expect("rm");
}

/// Every file under `dir` with its bytes, by path from `dir`.
fn files_under(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under").to_string_lossy().into_owned();
                found.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    found
}

/// Moving the data off the card: the family asks for a disk (by its serial) to hold the data;
/// the box partitions and formats it, restarts, and its next start copies the card's data
/// partition to the disk with every file read back and compared. The power is cut in the middle
/// of that copy: the start after it finishes the copy and the box runs from the disk with the
/// claim, the photo and every file intact (compared byte for byte from outside). A later start
/// mounts the disk by its UUID without copying again; the family then frees the card's copy
/// (only the marker is left on it, checked from outside), and a start without the disk gets the
/// trouble page rather than a start on the card. The copy rate is printed (docs/disks.md).
#[test]
fn the_data_moves_to_a_disk_survives_a_power_cut_mid_copy_and_the_box_runs_from_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    grow_data_partition(&card);
    // The family's files on the card, written as the data file system: 256 MiB in files of
    // 16 MiB (so the copy lasts long enough to be cut), odd names, an empty file.
    let root = dir.path().join("data-root");
    let family = root.join("family");
    std::fs::create_dir_all(family.join("Été 2024/a (1)")).expect("dirs");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..16 {
        let mut bytes = vec![0u8; 16 << 20];
        for chunk in bytes.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(family.join(format!("Été 2024/a (1)/part {i}.bin")), bytes).expect("write");
    }
    std::fs::write(family.join("empty"), b"").expect("empty");
    std::fs::write(family.join("notes — ünïcode.txt"), "grandma's recipes\n").expect("notes");
    put_data_filesystem(&card, &root);
    let disk = dir.path().join("family-disk.img");
    std::fs::File::create(&disk).expect("disk").set_len(3 * GIB).expect("size");
    let with_disk = format!("{}@HEARTH-DATA-1", disk.display());

    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &with_disk]);
    let auth = claim_when_up(&mut guest);
    let addr = guest.http.expect("port");
    let photo = hearth_tests::daemon::workspace().join("target/sample-photos/chelsea.png");
    let asset = upload(&auth, addr, &photo, "chelsea.png");
    let listed = disks(addr, &auth);
    let blank = listed.iter().find(|d| d["serial"] == "HEARTH-DATA-1").unwrap_or_else(|| panic!("the disk: {listed:?}"));
    assert_eq!(blank["volumes"].as_array().map(Vec::len), Some(0), "{blank}");

    // Refused for the card; asked for the blank disk, the box prepares it and restarts.
    let card_serial = listed.iter().find(|d| d["system"] == true).and_then(|d| d["serial"].as_str()).map(str::to_string);
    if let Some(s) = card_serial {
        let r = post(addr, &format!("/api/v1/disks/{s}/use-for-data"), &auth, r#"{"file_system":"ext4","erase":true}"#);
        assert_eq!(r.status, 409, "{}", r.body);
    }
    let r = post(addr, "/api/v1/disks/HEARTH-DATA-1/use-for-data", &auth, r#"{"file_system":"ext4"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(180)).success(), "the box restarts");
    assert!(guest.console().contains("made for the data; the next start copies the data to it"), "{}", guest.console());
    drop(guest);

    // The start that copies, its power cut in the middle of the copy.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &with_disk]);
    guest.wait_console("MiB so far");
    drop(guest);

    // The next start copies again (finding what is there whole) and runs from the disk.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &with_disk]);
    guest.wait_health(200);
    let console = guest.console();
    let done =
        console.lines().find(|l| l.contains("hearthd prepare-data: copied ")).unwrap_or_else(|| panic!("no copy report:\n{console}"));
    println!("the move after the power cut: {}", done.trim());
    let addr = guest.http.expect("port");
    let auth = login_ada(addr);
    let r = http::request(addr, "GET", "/api/v1/disks", &auth, None).expect("disks");
    let data = &r.json()["data"];
    assert_eq!((data["on"].as_str(), data["file_system"].as_str()), (Some("disk"), Some("ext4")), "{data}");
    let moved = &data["moved"];
    assert!(moved["count"]["files"].as_u64().unwrap_or(0) >= 19, "{moved}");
    assert!(moved["count"]["already_there"].as_u64().unwrap_or(0) >= 1, "the copy resumed: {moved}");
    let rate = moved["count"]["bytes"].as_f64().unwrap_or(0.0) / moved["seconds"].as_f64().unwrap_or(f64::MAX) / (1 << 20) as f64;
    println!("copy rate (qemu-system-aarch64 under TCG, resumed copy): {rate:.1} MiB/s; the copy: {moved}");
    let status = http::request(addr, "GET", "/api/v1/status", &auth, None).expect("status").json();
    assert!(status["data_total_bytes"].as_u64().unwrap_or(0) > 2 * GIB + GIB / 2, "/data is the 3 GiB disk: {status}");
    let (code, original) = curl(&auth, &[&format!("http://{addr}/api/v1/assets/{asset}/original")]);
    assert_eq!(code, 200);
    assert_eq!(original, std::fs::read(&photo).expect("photo"), "the photo came along byte for byte");
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    drop(guest);

    // From outside: every family file on the disk as it was written to the card; the card's own
    // copy is marked as moved.
    let (offset, len) = gpt_first_partition(&disk);
    let dumped = dir.path().join("dumped");
    dump_ext4_folder(&disk, offset, len, "/family", &dumped);
    let (want, got) = (files_under(&family), files_under(&dumped.join("family")));
    assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>());
    assert!(want == got, "a family file differs after the move");
    let uuid = data["uuid"].as_str().expect("uuid");
    assert_eq!(String::from_utf8_lossy(&file_in_data(&card, ".hearth-data-moved")), uuid);

    // Again with the disk: mounted by UUID, nothing copied.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &with_disk]);
    guest.wait_health(200);
    assert!(!guest.console().contains("copying the data"), "{}", guest.console());
    let addr = guest.http.expect("port");
    let auth = login_ada(addr);
    let r = http::request(addr, "GET", &format!("/api/v1/assets/{asset}"), &auth, None).expect("asset");
    assert_eq!(r.status, 200, "{}", r.body);
    // The family says the move went well: the card's copy is emptied, the disk untouched.
    let data = &disks_view(addr, &auth)["data"];
    assert_eq!((data["card_copy"].as_str(), data["card_partition"].as_str()), (Some("kept"), Some("/dev/vda4")), "{data}");
    let r = post(addr, "/api/v1/disks/card-copy/free", &auth, "{}");
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(disks_view(addr, &auth)["data"]["card_copy"], "freed");
    let (code, original) = curl(&auth, &[&format!("http://{addr}/api/v1/assets/{asset}/original")]);
    assert_eq!((code, original == std::fs::read(&photo).expect("photo")), (200, true), "the photo, after the card's copy went");
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    drop(guest);
    // From outside: the card's partition holds the marker and nothing of the family's.
    let (offset, len) = board::partition(&card, 4);
    let part = card.with_extension("part4");
    std::fs::write(&part, read_at(&card, offset, len)).expect("extract");
    let out = Command::new("debugfs").args(["-R", "ls -p /"]).arg(&part).stderr(Stdio::null()).output().expect("debugfs");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split('/').nth(5).filter(|n| !n.is_empty() && *n != "." && *n != "..").map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names, [".hearth-data-moved", "lost+found"], "the card's partition after freeing");
    assert_eq!(String::from_utf8_lossy(&file_in_data(&card, ".hearth-data-moved")), uuid);

    // Without the disk: the trouble page says to plug it back in; the card is not started on.
    let mut guest = Guest::boot(&card, dir.path());
    let health = guest.wait_health(503);
    assert_eq!(health["problem"]["kind"], "missing", "{health}");
    assert!(health["problem"]["what_to_do"].as_str().unwrap_or("").contains("Plug the disk"), "{health}");
}

/// The data disk filling up on the virtual board: past 90% the status warns; past 97% an upload
/// and a WebDAV PUT (a size declared, as the Nextcloud apps do) are refused before their bodies
/// are read, with 507 and the reason, while a deletion goes on; once room is made, uploads are
/// taken again. The disk is filled from the service console (`fallocate` as root).
#[test]
fn a_filling_disk_warns_and_a_full_one_refuses_new_files_before_they_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let (mut guest, auth) = boot_claimed_with_console(&card, dir.path(), &[]);
    let addr = guest.http.expect("port");
    let photos = hearth_tests::daemon::workspace().join("target/sample-photos");
    let photo = photos.join("chelsea.png");
    let status = |auth: &[String; 1]| http::request(addr, "GET", "/api/v1/status", auth, None).expect("status").json();
    let s = status(&auth);
    assert_eq!(s["data_fullness"], "fine", "{s}");
    // Fill to `percent` of the disk as statvfs counts it (what the box itself reads).
    let fill = |guest: &mut Guest, name: &str, percent: u64| {
        let s = status(&auth);
        let (free, total) = (s["data_free_bytes"].as_u64().expect("free"), s["data_total_bytes"].as_u64().expect("total"));
        let want_free = total * (100 - percent) / 100;
        let bytes = free.saturating_sub(want_free);
        let said = in_guest(guest, &format!("fallocate -l {bytes} /data/{name} && echo filled"));
        assert!(said.ends_with("filled"), "{said}");
    };
    fill(&mut guest, "filler-1", 92);
    let s = status(&auth);
    assert_eq!((s["data_fullness"].as_str(), s["data_percent_used"].as_u64()), (Some("filling"), Some(92)), "{s}");
    let kept = upload(&auth, addr, &photos.join("astronaut.png"), "still-taken.png");

    fill(&mut guest, "filler-2", 98);
    let s = status(&auth);
    assert_eq!(s["data_fullness"], "full", "{s}");
    let (code, body) = curl(
        &auth,
        &["-X", "POST", "--data-binary", &format!("@{}", photo.display()), &format!("http://{addr}/api/v1/assets?name=refused.png")],
    );
    let body = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(code, 507, "{body}");
    assert!(body.contains("storage_full") && body.contains("% full"), "{body}");
    // A big file announced by a Nextcloud app: refused at once (the body is never sent).
    let (code, _) = curl(
        &auth,
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Length: 5",
            "-H",
            "OC-Total-Length: 2147483648",
            "--data-binary",
            "hello",
            &format!("http://{addr}/remote.php/webdav/video.mp4"),
        ],
    );
    assert_eq!(code, 507);
    // A deletion goes on.
    let r = post(addr, &format!("/api/v1/assets/{kept}/trash"), &auth, "{}");
    assert!(r.status == 200 || r.status == 204, "{}", r.body);

    // Room made: taken again.
    let said = in_guest(&mut guest, "rm /data/filler-1 /data/filler-2 && echo removed");
    assert!(said.ends_with("removed"), "{said}");
    assert_eq!(status(&auth)["data_fullness"], "fine");
    upload(&auth, addr, &photos.join("camera.png"), "taken-again.png");
}

/// `GET /api/v1/disks` whole (the disks, where the data lives, its pool).
fn disks_view(addr: SocketAddr, auth: &[String]) -> serde_json::Value {
    let r = http::request(addr, "GET", "/api/v1/disks", auth, None).expect("disks");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Wait (up to `limit`) until the data's pool, as the API shows it, is as `ready` says; it.
fn wait_pool(
    guest: &Guest,
    addr: SocketAddr,
    auth: &[String],
    limit: Duration,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let pool = disks_view(addr, auth)["pool"].clone();
        if ready(&pool) {
            return pool;
        }
        assert!(started.elapsed() < limit, "the pool stayed {pool}\n{}", guest.console());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The SHA-256 of every file under `dir`, sorted, as `find … -exec sha256sum` prints them; the
/// guest's side is asked through the service console, the host's computed the same way here.
const FAMILY_SUMS: &str = "cd /data/family && find . -type f -exec sha256sum {} + | cut -c1-64 | sort";

fn family_sums_here(dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -exec sha256sum {} + | cut -c1-64 | LC_ALL=C sort")
        .current_dir(dir)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A btrfs mirror on the virtual board (docs/disks.md, "Mirrors"): the data moves from the card
/// to disk A with btrfs; disk B is added as its mirror while the box runs (a balance converts
/// every chunk to two copies). With B gone the box starts degraded on A alone, says so, and
/// every photo and family file is there; a photo uploaded then lands on A only. A blank disk C
/// is put in B's place while the box runs (`btrfs replace`, then the chunks written while
/// degraded are converted); the next start is not degraded, a scrub finds no error, and
/// everything (three photos, the family's files by SHA-256) is intact. The times of the mirror's
/// first copy and of the rebuild are printed.
#[test]
fn a_mirror_survives_a_disk_removed_reports_degraded_and_heals_after_a_replacement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    grow_data_partition(&card);
    let root = dir.path().join("data-root");
    let family = root.join("family");
    std::fs::create_dir_all(family.join("Été 2024/a (1)")).expect("dirs");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..8 {
        let mut bytes = vec![0u8; (2 << 20) + i * 4099];
        for chunk in bytes.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(family.join(format!("Été 2024/a (1)/part {i}.bin")), bytes).expect("write");
    }
    std::fs::write(family.join("empty"), b"").expect("empty");
    std::fs::write(family.join("notes — ünïcode.txt"), "grandma's recipes\n").expect("notes");
    let want_sums = family_sums_here(&family);
    put_data_filesystem(&card, &root);
    board::service_console(&card);
    let blank = |name: &str| {
        let path = dir.path().join(name);
        std::fs::File::create(&path).expect("disk").set_len(3 * GIB).expect("size");
        path
    };
    let (a, b, c) = (blank("pool-a.img"), blank("pool-b.img"), blank("pool-c.img"));
    let a = format!("{}@HEARTH-POOL-A", a.display());
    let b = format!("{}@HEARTH-POOL-B", b.display());
    let c = format!("{}@HEARTH-POOL-C", c.display());
    let photos = hearth_tests::daemon::workspace().join("target/sample-photos");
    let photo = |name: &str| photos.join(name);
    let intact = |addr: SocketAddr, auth: &[String; 1], assets: &[(i64, &str)]| {
        for (id, name) in assets {
            let (code, original) = curl(auth, &[&format!("http://{addr}/api/v1/assets/{id}/original")]);
            assert_eq!(code, 200, "{name}");
            assert!(original == std::fs::read(photo(name)).expect("photo"), "{name} came back other than it went");
        }
    };

    // The data moves to A, with btrfs.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &a, "--disk", &b]);
    let auth = claim_when_up(&mut guest);
    let addr = guest.http.expect("port");
    let mut assets = vec![(upload(&auth, addr, &photo("chelsea.png"), "chelsea.png"), "chelsea.png")];
    let r = post(addr, "/api/v1/disks/HEARTH-POOL-A/use-for-data", &auth, r#"{"file_system":"btrfs"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(180)).success(), "the box restarts");
    drop(guest);

    // On A alone; B is added as its mirror while the box runs.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &a, "--disk", &b]);
    guest.wait_health(200);
    let addr = guest.http.expect("port");
    let auth = login_ada(addr);
    let view = disks_view(addr, &auth);
    assert_eq!((view["data"]["on"].as_str(), view["data"]["file_system"].as_str()), (Some("disk"), Some("btrfs")), "{view}");
    assert_eq!(view["pool"]["state"], "single", "{view}");
    let r = post(addr, "/api/v1/disks/HEARTH-POOL-A/mirror", &auth, r#"{"action":"add"}"#);
    assert_eq!(r.status, 409, "A holds the data already: {}", r.body);
    let r = post(addr, "/api/v1/disks/HEARTH-POOL-B/mirror", &auth, r#"{"action":"replace"}"#);
    assert_eq!(r.status, 409, "nothing is missing: {}", r.body);
    let asked = Instant::now();
    let r = post(addr, "/api/v1/disks/HEARTH-POOL-B/mirror", &auth, r#"{"action":"add"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    let pool = wait_pool(&guest, addr, &auth, Duration::from_secs(900), |p| p["state"] == "mirrored");
    println!("mirror: every chunk on both disks {:.1} s after the request (TCG)", asked.elapsed().as_secs_f64());
    let serials: Vec<&str> = pool["devices"].as_array().expect("devices").iter().filter_map(|d| d["serial"].as_str()).collect();
    assert_eq!(serials, ["HEARTH-POOL-A", "HEARTH-POOL-B"], "{pool}");
    assert!(pool["profiles"].as_array().expect("profiles").iter().all(|p| p.as_str().is_some_and(|p| p.ends_with(":raid1"))), "{pool}");
    assets.push((upload(&auth, addr, &photo("astronaut.png"), "astronaut.png"), "astronaut.png"));
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    drop(guest);

    // B is gone: the box starts degraded on A, says so, and has everything.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &a]);
    guest.wait_health(200);
    assert!(guest.console().contains("(degraded)"), "{}", guest.console());
    let addr = guest.http.expect("port");
    let auth = login_ada(addr);
    let view = disks_view(addr, &auth);
    assert_eq!((view["pool"]["state"].as_str(), view["data"]["degraded"].as_bool()), (Some("degraded"), Some(true)), "{view}");
    let missing: Vec<u64> = view["pool"]["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter(|d| d["missing"] == true)
        .filter_map(|d| d["id"].as_u64())
        .collect();
    assert_eq!(missing, [2], "{view}");
    intact(addr, &auth, &assets);
    guest.wait_console("Hearth service console");
    assert_eq!(in_guest(&mut guest, FAMILY_SUMS), want_sums, "the family's files, on A alone");
    assets.push((upload(&auth, addr, &photo("coffee.png"), "coffee.png"), "coffee.png"));
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    drop(guest);

    // A blank disk C takes B's place while the box runs.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &a, "--disk", &c]);
    guest.wait_health(200);
    let addr = guest.http.expect("port");
    let auth = login_ada(addr);
    assert_eq!(disks_view(addr, &auth)["pool"]["state"], "degraded");
    let r = post(addr, "/api/v1/disks/HEARTH-POOL-C/mirror", &auth, r#"{"action":"add"}"#);
    assert_eq!(r.status, 409, "a degraded pool is mended, not grown: {}", r.body);
    let asked = Instant::now();
    let r = post(addr, "/api/v1/disks/HEARTH-POOL-C/mirror", &auth, r#"{"action":"replace"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    let pool = wait_pool(&guest, addr, &auth, Duration::from_secs(900), |p| p["state"] == "mirrored");
    println!("replace: two copies of every chunk again {:.1} s after the request (TCG)", asked.elapsed().as_secs_f64());
    let serials: Vec<&str> = pool["devices"].as_array().expect("devices").iter().filter_map(|d| d["serial"].as_str()).collect();
    assert_eq!(serials, ["HEARTH-POOL-A", "HEARTH-POOL-C"], "{pool}");
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    drop(guest);

    // Healed: the next start is not degraded, a scrub finds nothing wrong, everything is there.
    let mut guest = Guest::boot_with(&card, dir.path(), &["--disk", &a, "--disk", &c]);
    guest.wait_health(200);
    assert!(!guest.console().contains("(degraded)"), "{}", guest.console());
    let addr = guest.http.expect("port");
    let auth = login_ada(addr);
    let view = disks_view(addr, &auth);
    assert_eq!((view["pool"]["state"].as_str(), view["data"]["degraded"].as_bool()), (Some("mirrored"), Some(false)), "{view}");
    let r = post(addr, "/api/v1/disks/pool/scrub", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let pool = wait_pool(&guest, addr, &auth, Duration::from_secs(600), |p| p["scrubbing"] == false && !p["last_scrub"].is_null());
    let scrub = &pool["last_scrub"];
    println!("scrub: {scrub}");
    assert_eq!(
        (scrub["status"].as_str(), scrub["errors"].as_u64(), scrub["uncorrectable"].as_u64()),
        (Some("finished"), Some(0), Some(0)),
        "{scrub}"
    );
    assert!(scrub["bytes"].as_u64().unwrap_or(0) > 16 << 20, "it read the data: {scrub}");
    intact(addr, &auth, &assets);
    guest.wait_console("Hearth service console");
    assert_eq!(in_guest(&mut guest, FAMILY_SUMS), want_sums, "the family's files, healed");
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
}

/// A USB stick and eject on the virtual board (docs/disks.md, "Eject"): a USB disk plugged into
/// the running box's USB controller (QMP `device_add usb-storage`) appears in the API within 2 s
/// as a USB disk with its serial, size and file system; it is mounted (from the service console,
/// as root) and written to; while a program works inside it, eject is refused and names that
/// program; once it ends, eject unmounts the disk and detaches it from its bus (it leaves the
/// API), it is pulled, and what was written is on it (read from outside). The disk holding the
/// system is refused.
#[test]
fn eject_unmounts_a_disk_or_names_the_program_holding_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = board::card(dir.path(), 2 * GIB);
    let disk = dir.path().join("holiday.img");
    std::fs::File::create(&disk).expect("disk").set_len(256 << 20).expect("size");
    make("mkfs.ext4", &["-q", "-F", "-L", "Holiday", disk.to_str().expect("utf-8")], dir.path());
    let socket = dir.path().join("qmp.sock");
    let (mut guest, auth) = boot_claimed_with_console(&card, dir.path(), &["--qmp", socket.to_str().expect("utf-8")]);
    let addr = guest.http.expect("port");
    let serial = "HEARTH-USB-STICK-1";
    let mut qmp = hearth_tests::qmp::Qmp::connect(&socket, Duration::from_secs(30));
    let (stick, took) = plug(&mut qmp, &guest, &auth, &disk, Plug::Usb, "holiday", serial);
    println!("the USB disk appeared in the API after {} ms: {stick}", took.as_millis());
    assert_eq!((stick["transport"].as_str(), stick["size_bytes"].as_u64()), (Some("usb"), Some(256 << 20)), "{stick}");
    let volume = &stick["volumes"][0];
    assert_eq!(
        (volume["file_system"]["kind"].as_str(), volume["file_system"]["label"].as_str()),
        (Some("ext4"), Some("Holiday")),
        "{stick}"
    );
    let name = stick["name"].as_str().expect("name").to_string();
    let system = disks(addr, &auth).iter().find(|d| d["system"] == true).and_then(|d| d["serial"].as_str()).map(str::to_string);
    if let Some(s) = system {
        let r = post(addr, &format!("/api/v1/disks/{s}/eject"), &auth, "{}");
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("running system"), "{}", r.body);
    }

    let said = in_guest(
        &mut guest,
        &format!(
            "sh -c \"mkdir -p /run/media/holiday && mount /dev/{name} /run/media/holiday && echo 'from the box' > /run/media/holiday/note.txt && echo mounted\""
        ),
    );
    assert!(said.ends_with("mounted"), "{said}");
    let said = in_guest(&mut guest, "sh -c 'cd /run/media/holiday && exec sleep 600' </dev/null >/dev/null 2>&1 & echo started");
    assert!(said.ends_with("started"), "{said}");
    let r = post(addr, &format!("/api/v1/disks/{serial}/eject"), &auth, "{}");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("/run/media/holiday is in use by sleep (process"), "the holder is named: {}", r.body);
    assert_eq!(in_guest(&mut guest, "grep -c ' /run/media/holiday ' /proc/mounts"), "1", "still mounted");

    let said = in_guest(&mut guest, "sh -c 'killall sleep && sleep 1 && echo stopped'");
    assert!(said.ends_with("stopped"), "{said}");
    let r = post(addr, &format!("/api/v1/disks/{serial}/eject"), &auth, "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    let ejected = r.json();
    assert_eq!(
        (&ejected["unmounted"], &ejected["detached"]),
        (&serde_json::json!(["/run/media/holiday"]), &serde_json::json!(true)),
        "{ejected}"
    );
    assert_eq!(in_guest(&mut guest, "grep -c ' /run/media/holiday ' /proc/mounts"), "0", "unmounted");
    // Detached from its bus, the disk leaves the list though the stick is still in the port.
    let detached = Instant::now();
    while disks(addr, &auth).iter().any(|d| d["serial"] == serial) {
        assert!(detached.elapsed() < Duration::from_secs(60), "the detached disk stayed in the API");
        std::thread::sleep(Duration::from_millis(100));
    }

    qmp.execute("device_del", serde_json::json!({"id": "holiday"}));
    qmp.wait_event("DEVICE_DELETED");
    let r = post(addr, "/api/v1/system/poweroff", &auth, "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(guest.wait_exit(Duration::from_secs(120)).success());
    let out = Command::new("debugfs").args(["-R", "cat /note.txt"]).arg(&disk).output().expect("debugfs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from the box\n",
        "written before the eject: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
