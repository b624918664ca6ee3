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

/// The image, built on first use. Panics with the build's output when it fails.
pub fn image() -> &'static Path {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let out_dir = workspace().join("target/image-test");
        let out = Command::new(workspace().join("qemu/build-image"))
            .args(["--out"])
            .arg(&out_dir)
            .env_remove("CARGO_TARGET_DIR")
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

/// Write the bootloader state `hearth.env` on `card`'s FAT partition (mtools, no mount): root
/// slot `slot`, and the service console (a root shell on the serial console) when `console`.
pub fn boot_settings(card: &Path, slot: &str, console: bool) {
    let env = card.with_file_name("hearth.env");
    let mut text = format!("hearth_slot={slot}\n");
    if console {
        text.push_str("hearth_console=shell\n");
    }
    std::fs::write(&env, text).expect("env");
    let out = Command::new("mcopy")
        .arg("-o")
        .arg("-i")
        .arg(format!("{}@@1M", card.display()))
        .arg(&env)
        .arg("::hearth.env")
        .output()
        .expect("mcopy");
    assert!(out.status.success(), "mcopy: {}", String::from_utf8_lossy(&out.stderr));
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
