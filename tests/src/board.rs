//! The virtual board: the card image built once per test binary by `qemu/build-image` (which
//! cross-builds hearthd with `scripts/cross`), and guests booted from copies of it with `qemu/run`.
//!
//! A guest's serial console goes to a file; tests read the setup code and boot messages from it,
//! and type on it when the card turns the service console on ([`service_console`]).
//! Nothing here depends on how fast QEMU is: waits poll with generous limits.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::daemon::{free_port, workspace};
use crate::http;

/// How long a boot may take before a test gives up (TCG on a loaded 2-core machine).
pub const BOOT_LIMIT: Duration = Duration::from_secs(240);

/// hearthd for the virtual board is built with the tests' quicker profile (Cargo.toml's
/// `cross-test`: no whole-program LTO), the same code as the firmware profile's.
const CROSS_PROFILE: &str = "cross-test";

/// One `qemu/build-image` at a time (they share its caches).
static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The image, built on first use. Panics with the build's output when it fails.
pub fn image() -> &'static Path {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let _one = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
        let out_dir = workspace().join("target/image-test");
        let out = Command::new(workspace().join("qemu/build-image"))
            .args(["--out"])
            .arg(&out_dir)
            .env_remove("CARGO_TARGET_DIR")
            .env("HEARTH_CROSS_PROFILE", CROSS_PROFILE)
            .stdin(Stdio::null())
            .output()
            .expect("run qemu/build-image");
        assert!(
            out.status.success(),
            "qemu/build-image failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string();
        assert!(Path::new(&path).is_file(), "qemu/build-image printed no image path: {path:?}");
        PathBuf::from(path)
    })
}

/// The update bundle of another system: this checkout's root slot as `version`, with the files of
/// `overlay` over it, built by `qemu/build-image --version V --overlay DIR` into
/// target/image-test-VERSION (once per test binary and version).
pub fn system_bundle(version: &str, overlay: Option<&Path>) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    image();
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, path)) = built.iter().find(|(v, _)| v == version) {
        return path.clone();
    }
    let _one = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    let out_dir = workspace().join(format!("target/image-test-{version}"));
    let mut cmd = Command::new(workspace().join("qemu/build-image"));
    cmd.arg("--out").arg(&out_dir).args(["--version", version]);
    if let Some(o) = overlay {
        cmd.arg("--overlay").arg(o);
    }
    let out = cmd
        .env_remove("CARGO_TARGET_DIR")
        .env("HEARTH_CROSS_PROFILE", CROSS_PROFILE)
        .stdin(Stdio::null())
        .output()
        .expect("run qemu/build-image");
    assert!(out.status.success(), "qemu/build-image --version {version} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let bundle = out_dir.join(format!("hearth-qemu-aarch64-{version}.hup"));
    assert!(bundle.is_file(), "no bundle at {}", bundle.display());
    built.push((version.to_string(), bundle.clone()));
    bundle
}

/// A copy of the image in `dir`, grown to `size` bytes like a card bigger than the image.
pub fn card(dir: &Path, size: u64) -> PathBuf {
    let card = dir.join("card.img");
    let st = Command::new("cp").arg("--sparse=always").arg(image()).arg(&card).status().expect("cp");
    assert!(st.success());
    let f = std::fs::OpenOptions::new().write(true).open(&card).expect("open card");
    let len = f.metadata().expect("metadata").len();
    if size > len {
        f.set_len(size).expect("grow card");
    }
    card
}

/// Byte offset and length of partition `n` of a card image (from its MBR).
pub fn partition(card: &Path, n: u8) -> (u64, u64) {
    let bytes = std::fs::read(card).map(|b| b[..512].to_vec()).expect("read MBR");
    let mbr = hearth_platform::mbr::Mbr::parse(&bytes).expect("card MBR");
    let p = mbr.partition(n).expect("partition");
    (p.first * 512, p.sectors * 512)
}

/// Write the bootloader settings on `card`'s FAT partition (mtools, no mount): the good root
/// slot `slot` in the update state (docs/update-bundle.md §6; both slots keep their versions),
/// and in `hearth.env` the service console (a root shell on the serial console) when `console`.
pub fn boot_settings(card: &Path, slot: &str, console: bool) {
    let mut text = format!("hearth_slot={slot}\n");
    if console {
        text.push_str("hearth_console=shell\n");
    }
    put_boot_file(card, "hearth.env", text.as_bytes());
    let mut state = boot_state(card);
    state.good = hearth_ota::boot_state::SlotName::parse(slot).expect("slot a or b");
    state.trial = None;
    set_boot_state(card, &state);
}

/// Put `bytes` as `name` on `card`'s FAT partition.
pub fn put_boot_file(card: &Path, name: &str, bytes: &[u8]) {
    let file = card.with_file_name(format!("fat-{name}"));
    std::fs::write(&file, bytes).expect("write");
    let out = Command::new("mcopy")
        .arg("-o")
        .arg("-i")
        .arg(format!("{}@@1M", card.display()))
        .arg(&file)
        .arg(format!("::{name}"))
        .output()
        .expect("mcopy");
    assert!(out.status.success(), "mcopy: {}", String::from_utf8_lossy(&out.stderr));
}

/// `name` from `card`'s FAT partition (absent: `None`).
pub fn boot_file(card: &Path, name: &str) -> Option<Vec<u8>> {
    let out =
        Command::new("mcopy").arg("-i").arg(format!("{}@@1M", card.display())).arg(format!("::{name}")).arg("-").output().expect("mcopy");
    out.status.success().then_some(out.stdout)
}

/// The FAT partition's state files copied into a folder (beside `card`) for hearth-ota to read.
fn boot_state_folder(card: &Path) -> hearth_ota::boot_state::BootStateFiles {
    let dir = card.with_file_name("fat-state");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for name in hearth_ota::boot_state::COPIES.iter().chain([&hearth_ota::boot_state::PERSON_FILE]) {
        if let Some(bytes) = boot_file(card, name) {
            std::fs::write(dir.join(name), bytes).expect("copy");
        }
    }
    hearth_ota::boot_state::BootStateFiles::new(dir)
}

/// The boot state on `card`, read as hearth-ota (and the selector) read it.
pub fn boot_state(card: &Path) -> hearth_ota::boot_state::BootState {
    boot_state_folder(card).read().state
}

/// Write `state` on `card` as hearth-ota writes it (over the older copy).
pub fn set_boot_state(card: &Path, state: &hearth_ota::boot_state::BootState) {
    let files = boot_state_folder(card);
    files.write(state).expect("write the boot state");
    for name in hearth_ota::boot_state::COPIES {
        if let Ok(bytes) = std::fs::read(files.dir().join(name)) {
            put_boot_file(card, name, &bytes);
        }
    }
}

/// Turn the service console on for `card` (slot a).
pub fn service_console(card: &Path) {
    boot_settings(card, "a", true);
}

/// A booted (or booting) guest.
pub struct Guest {
    child: Child,
    /// The serial console's input (a shell reads it when the card turns the service console on).
    console_in: Option<ChildStdin>,
    /// The serial console's file.
    pub serial: PathBuf,
    /// Where the guest's port 80 is forwarded (127.0.0.1:PORT), absent with a tap network.
    pub http: Option<SocketAddr>,
}

impl Guest {
    /// Boot `card` with user networking and the web port forwarded to the host.
    pub fn boot(card: &Path, dir: &Path) -> Guest {
        Guest::boot_with(card, dir, &[])
    }

    /// [`Guest::boot`] with more arguments for `qemu/run` (such as `--rtc-base`).
    pub fn boot_with(card: &Path, dir: &Path, extra: &[&str]) -> Guest {
        let port = free_port();
        let (http, https, sync) = (port.to_string(), free_port().to_string(), free_port().to_string());
        let mut args = vec!["--http", &http, "--https", &https, "--sync", &sync];
        args.extend_from_slice(extra);
        let mut guest = Guest::start(card, dir, &args, None);
        guest.http = Some(SocketAddr::from(([127, 0, 0, 1], port)));
        guest
    }

    /// Boot `card` with `qemu/run` and extra arguments, optionally inside network namespace `ns`.
    pub fn start(card: &Path, dir: &Path, extra: &[&str], ns: Option<&str>) -> Guest {
        let serial = dir.join(format!(
            "serial-{}.log",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ));
        let log = std::fs::File::create(&serial).expect("serial log");
        let run = workspace().join("qemu/run");
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&run);
                c
            }
            None => Command::new(&run),
        };
        let child = cmd
            .arg("--image")
            .arg(card)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start qemu/run");
        let mut child = child;
        let console_in = child.stdin.take();
        Guest { child, console_in, serial, http: None }
    }

    /// The console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.serial).unwrap_or_default()).into_owned()
    }

    /// Wait until `GET /api/health` answers with `status` (an HTTP status code); returns the body.
    pub fn wait_health(&mut self, status: u16) -> serde_json::Value {
        let addr = self.http.expect("a guest with a forwarded port");
        let start = Instant::now();
        loop {
            if let Ok(r) = http::get(addr, "/api/health")
                && r.status == status
            {
                return r.json();
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("QEMU ended ({st}) before /api/health answered {status}:\n{}", self.console());
            }
            assert!(start.elapsed() < BOOT_LIMIT, "/api/health did not answer {status} in {BOOT_LIMIT:?}:\n{}", self.console());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Wait until the console shows `text`.
    pub fn wait_console(&mut self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let c = self.console();
            if c.contains(text) {
                return c;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("QEMU ended ({st}) before the console showed {text:?}:\n{c}");
            }
            assert!(start.elapsed() < BOOT_LIMIT, "the console did not show {text:?} in {BOOT_LIMIT:?}:\n{c}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Type `line` and Enter on the serial console (the service console's shell reads it).
    pub fn type_line(&mut self, line: &str) {
        let input = self.console_in.as_mut().expect("the console's input");
        input.write_all(format!("{line}\n").as_bytes()).and_then(|()| input.flush()).expect("type on the console");
    }

    /// Wait for QEMU to end by itself (the guest powered off or rebooted).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            assert!(start.elapsed() < limit, "QEMU did not end in {limit:?}:\n{}", self.console());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The process id of QEMU (qemu/run execs it; inside a namespace, of `ip netns exec`, which
    /// execs too).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
