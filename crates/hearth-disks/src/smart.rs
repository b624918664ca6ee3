//! A disk's health from `smartctl -j` (smartmontools 7's JSON output): the overall verdict, the
//! counters that predict failure (reallocated and pending sectors on ATA, media errors and wear on
//! NVMe), temperature and power-on hours, and why nothing could be read (a USB bridge smartctl
//! does not know, a virtual disk). The JSON comes from a program reading a disk's firmware: every
//! field is optional and a strange one is ignored, never a panic (fuzz target `smart_report`).

use std::path::Path;
use std::time::Duration;

use hearth_platform::child::{self, ChildError, Limits};
use serde_json::Value;

/// What the counters say, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The disk itself says it is failing (SMART overall status, an NVMe critical warning).
    Failing,
    /// Counters that predict failure are above zero, or it is worn out or hot.
    Warning,
    /// Nothing to worry about.
    Good,
    /// No SMART data (see [`SmartReport::unavailable`]).
    Unknown,
}

/// The health of one disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmartReport {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words (one line per reason; empty when good).
    pub reasons: Vec<String>,
    /// Why smartctl could not read the disk's health, when it could not.
    pub unavailable: Option<String>,
    /// °C, now.
    pub temperature_c: Option<i64>,
    /// Hours powered on.
    pub power_on_hours: Option<u64>,
    /// ATA attribute 5.
    pub reallocated_sectors: Option<u64>,
    /// ATA attribute 197 (sectors waiting to be remapped: a bad sign).
    pub pending_sectors: Option<u64>,
    /// NVMe media and data integrity errors.
    pub media_errors: Option<u64>,
    /// NVMe: the share of its rated writes used, percent (may pass 100).
    pub percentage_used: Option<u64>,
    /// The model smartctl read from the disk.
    pub model: Option<String>,
    /// The serial smartctl read from the disk (a USB bridge may hide the disk's own from sysfs).
    pub serial: Option<String>,
    /// The newest self-test in the disk's log.
    #[serde(default)]
    pub last_self_test: Option<SelfTest>,
    /// A self-test is running now.
    #[serde(default)]
    pub self_test_running: bool,
}

/// One self-test from the disk's own log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelfTest {
    /// Its kind, as the disk names it (`Short offline`, `Extended`, …).
    pub kind: String,
    /// How it ended, as the disk says it.
    pub result: String,
    /// It ran to the end and found nothing; `Some(false)`: it found the disk failing; `None`:
    /// it was aborted or interrupted.
    pub passed: Option<bool>,
    /// The disk's power-on hours when it ran.
    pub at_hours: Option<u64>,
}

/// How often a disk is asked to test itself (short test), in its own power-on hours: a week.
pub const SELF_TEST_EVERY_HOURS: u64 = 7 * 24;

impl SmartReport {
    /// Is a short self-test due: the disk speaks SMART, none runs, and its last one is a week of
    /// power-on hours old (or there is none)?
    pub fn self_test_due(&self) -> bool {
        if self.verdict == Verdict::Unknown || self.self_test_running {
            return false;
        }
        match (&self.last_self_test, self.power_on_hours) {
            (None, _) => true,
            (Some(SelfTest { at_hours: Some(at), .. }), Some(now)) => now.saturating_sub(*at) >= SELF_TEST_EVERY_HOURS,
            // No hours to compare: asked when the disk is read afresh, which is hourly at most.
            (Some(_), _) => false,
        }
    }
}

/// Ask the disk to run its short self-test (a couple of minutes, inside the disk; the result is
/// in its log at the next reading). Wakes a disk that has spun down, once a week.
pub fn start_short_test(program: &str, device: &Path) -> Result<(), String> {
    let args = [std::ffi::OsStr::new("-t"), "short".as_ref(), device.as_os_str()];
    child::run(program, &args, Limits { time: TIME_LIMIT, address_space: ADDRESS_SPACE }).map(|_| ()).map_err(|e| e.to_string())
}

/// The newest self-test and whether one runs, from the ATA or NVMe self-test log.
fn self_tests(v: &Value) -> (Option<SelfTest>, bool) {
    let words = |v: &Value| v.as_str().map(|s| s.trim().to_string()).unwrap_or_default();
    let ata = &v["ata_smart_self_test_log"]["standard"]["table"][0];
    let last = if ata.is_object() {
        let status = &ata["status"];
        let passed = match (status["passed"].as_bool(), status["value"].as_u64()) {
            (Some(p), _) => Some(p),
            // 1–2: aborted, 3: interrupted by a reset: nothing said of the disk.
            (None, Some(1..=3)) | (None, None) => None,
            (None, Some(_)) => Some(false),
        };
        Some(SelfTest {
            kind: words(&ata["type"]["string"]),
            result: words(&status["string"]),
            passed,
            at_hours: unsigned(&ata["lifetime_hours"]),
        })
    } else {
        let nvme = &v["nvme_self_test_log"]["table"][0];
        nvme.is_object().then(|| {
            let result = &nvme["self_test_result"];
            let passed = match result["value"].as_u64() {
                Some(0) => Some(true),
                // 1–4: aborted (by a command, a reset, a namespace removal, a format).
                Some(1..=4) | None => None,
                Some(_) => Some(false),
            };
            SelfTest {
                kind: words(&nvme["self_test_code"]["string"]),
                result: words(&result["string"]),
                passed,
                at_hours: unsigned(&nvme["power_on_hours"]),
            }
        })
    };
    let running = v["ata_smart_data"]["self_test"]["status"]["remaining_percent"].as_u64().is_some()
        || v["nvme_self_test_log"]["current_self_test_operation"]["value"].as_u64().is_some_and(|op| op != 0);
    (last, running)
}

/// Above this a disk is running hot (°C): most disks are rated to 60–70.
pub const HOT_C: i64 = 55;
/// NVMe wear (percentage used) from which it is worth saying.
pub const WORN_PERCENT: u64 = 90;

/// How long smartctl may take on one disk (a USB bridge that stops answering makes it hang).
pub const TIME_LIMIT: Duration = Duration::from_secs(30);
/// The address space smartctl may map.
const ADDRESS_SPACE: u64 = 256 << 20;

/// Asks `program` (smartctl) for `device`'s health under [`TIME_LIMIT`]-like `limit`, without
/// waking a disk that has spun down (`-n standby`: it then says so, and nothing is read). Its
/// exit status is a bit mask that also flags a failing disk, so its JSON is read whatever the
/// status; a smartctl that is missing, hangs or prints nothing says why in `unavailable`.
pub fn read(program: &str, device: &Path, limit: Duration) -> SmartReport {
    let args = [std::ffi::OsStr::new("-j"), "-a".as_ref(), "-n".as_ref(), "standby".as_ref(), device.as_os_str()];
    let stdout = match child::run(program, &args, Limits { time: limit, address_space: ADDRESS_SPACE }) {
        Ok(out) => out.stdout,
        Err(ChildError::Failed { stdout, .. }) if !stdout.is_empty() => stdout,
        Err(e) => return nothing_read(Some(e.to_string())),
    };
    parse(&stdout)
}

/// A report with nothing read yet (and why nothing can be, when `unavailable`).
fn nothing_read(unavailable: Option<String>) -> SmartReport {
    SmartReport {
        verdict: Verdict::Unknown,
        reasons: Vec::new(),
        unavailable,
        temperature_c: None,
        power_on_hours: None,
        reallocated_sectors: None,
        pending_sectors: None,
        media_errors: None,
        percentage_used: None,
        model: None,
        serial: None,
        last_self_test: None,
        self_test_running: false,
    }
}

fn unsigned(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// The report of one `smartctl -j -a` output (stdout, whatever its exit status).
pub fn parse(json: &[u8]) -> SmartReport {
    let v: Value = match serde_json::from_slice(json) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) => return nothing_read(Some("smartctl's output is not a JSON object".into())),
    };
    let mut report = nothing_read(None);
    report.model = v["model_name"].as_str().map(str::to_string);
    report.serial = v["serial_number"].as_str().map(str::to_string);
    report.temperature_c = v["temperature"]["current"].as_i64();
    report.power_on_hours = unsigned(&v["power_on_time"]["hours"]);
    (report.last_self_test, report.self_test_running) = self_tests(&v);
    if let Some(table) = v["ata_smart_attributes"]["table"].as_array() {
        for attribute in table {
            let raw = unsigned(&attribute["raw"]["value"]);
            match attribute["id"].as_u64() {
                Some(5) => report.reallocated_sectors = raw,
                Some(197) => report.pending_sectors = raw,
                _ => {}
            }
        }
    }
    let nvme = &v["nvme_smart_health_information_log"];
    let critical = unsigned(&nvme["critical_warning"]);
    if nvme.is_object() {
        report.media_errors = unsigned(&nvme["media_errors"]);
        report.percentage_used = unsigned(&nvme["percentage_used"]);
        report.temperature_c = report.temperature_c.or_else(|| nvme["temperature"].as_i64());
        report.power_on_hours = report.power_on_hours.or_else(|| unsigned(&nvme["power_on_hours"]));
    }
    let passed = v["smart_status"]["passed"].as_bool();
    let Some(passed) = passed else {
        let messages: Vec<&str> =
            v["smartctl"]["messages"].as_array().map(|m| m.iter().filter_map(|m| m["string"].as_str()).collect()).unwrap_or_default();
        let first = messages.first().map(|m| m.lines().next().unwrap_or(m).trim().to_string());
        report.unavailable = Some(first.unwrap_or_else(|| "the disk reports no SMART status".into()));
        return report;
    };
    report.verdict = Verdict::Good;
    let mut worse = |verdict: Verdict, reason: String| {
        report.verdict = report.verdict.min(verdict);
        report.reasons.push(reason);
    };
    if !passed {
        worse(Verdict::Failing, "the disk's own health check says it is failing".into());
    }
    if let Some(c) = critical.filter(|&c| c != 0) {
        worse(Verdict::Failing, format!("the disk reports a critical warning (0x{c:02x})"));
    }
    if let Some(n) = report.reallocated_sectors.filter(|&n| n > 0) {
        worse(Verdict::Warning, format!("{n} sectors were found bad and replaced"));
    }
    if let Some(n) = report.pending_sectors.filter(|&n| n > 0) {
        worse(Verdict::Warning, format!("{n} sectors could not be read and wait to be replaced"));
    }
    if let Some(n) = report.media_errors.filter(|&n| n > 0) {
        worse(Verdict::Warning, format!("{n} media errors"));
    }
    if let Some(p) = report.percentage_used.filter(|&p| p >= WORN_PERCENT) {
        worse(Verdict::Warning, format!("{p}% of its rated writes are used"));
    }
    if let Some(t) = report.temperature_c.filter(|&t| t > HOT_C) {
        worse(Verdict::Warning, format!("it runs at {t} °C"));
    }
    let failed = report.last_self_test.as_ref().filter(|t| t.passed == Some(false)).map(|t| format!("{} ({})", t.kind, t.result));
    if let Some(test) = failed {
        worse(Verdict::Failing, format!("its last self-test failed: {test}"));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smartctl").join(name)).expect(name)
    }

    #[test]
    fn a_healthy_sata_disk() {
        let r = parse(&fixture("sata-hdd.json"));
        assert_eq!(r.verdict, Verdict::Good, "{r:?}");
        assert_eq!(
            (r.temperature_c, r.power_on_hours, r.reallocated_sectors, r.pending_sectors),
            (Some(34), Some(21_043), Some(0), Some(0))
        );
        assert_eq!(r.serial.as_deref(), Some("WD-WX12D80ABCDE"));
    }

    #[test]
    fn a_sata_disk_with_pending_sectors_warns() {
        let r = parse(&fixture("sata-hdd-pending.json"));
        assert_eq!(r.verdict, Verdict::Warning);
        assert_eq!(r.pending_sectors, Some(8));
        assert!(r.reasons.iter().any(|m| m.contains("8 sectors")), "{:?}", r.reasons);
    }

    #[test]
    fn nvme_health_and_wear() {
        let r = parse(&fixture("nvme.json"));
        assert_eq!(r.verdict, Verdict::Good, "{r:?}");
        assert_eq!((r.temperature_c, r.power_on_hours, r.media_errors, r.percentage_used), (Some(41), Some(3_120), Some(0), Some(3)));
    }

    #[test]
    fn a_failing_disk_and_a_critical_warning() {
        let r = parse(&fixture("sata-ssd-failing.json"));
        assert_eq!(r.verdict, Verdict::Failing);
        let r =
            parse(br#"{"smart_status":{"passed":true},"nvme_smart_health_information_log":{"critical_warning":4,"percentage_used":97}}"#);
        assert_eq!(r.verdict, Verdict::Failing);
        assert_eq!(r.reasons.len(), 2, "{:?}", r.reasons);
    }

    #[test]
    fn an_unknown_usb_bridge_says_why() {
        let r = parse(&fixture("usb-unknown-bridge.json"));
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(r.unavailable.as_deref(), Some("/dev/sdb: Unknown USB bridge [0x152d:0x0578 (0x214)]"));
    }

    /// A stand-in smartctl: a shell script that prints a fixture and exits with `status`, or sleeps.
    fn stand_in(dir: &Path, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn smartctl_is_read_whatever_its_exit_status_and_stopped_when_it_hangs() {
        let dir = tempfile::tempdir().expect("tmp");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smartctl/sata-hdd-pending.json");
        let failing = stand_in(dir.path(), "pending", &format!("cat '{}'; exit 64", fixture.display()));
        let r = read(&failing, Path::new("/dev/sda"), Duration::from_secs(10));
        assert_eq!((r.verdict, r.pending_sectors), (Verdict::Warning, Some(8)), "{r:?}");
        let hangs = stand_in(dir.path(), "hangs", "sleep 30");
        let r = read(&hangs, Path::new("/dev/sda"), Duration::from_millis(300));
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.unavailable.as_deref().is_some_and(|m| m.contains("did not finish")), "{r:?}");
        let r = read(&dir.path().join("missing").to_string_lossy(), Path::new("/dev/sda"), Duration::from_secs(5));
        assert!(r.unavailable.as_deref().is_some_and(|m| m.contains("not installed")), "{r:?}");
        let silent = stand_in(dir.path(), "silent", "echo 'cannot open' >&2; exit 2");
        let r = read(&silent, Path::new("/dev/sda"), Duration::from_secs(5));
        assert!(r.unavailable.as_deref().is_some_and(|m| m.contains("cannot open")), "{r:?}");
    }

    #[test]
    fn self_tests_are_read_from_the_log_and_fall_due_weekly() {
        let r = parse(&fixture("sata-hdd.json"));
        let last = r.last_self_test.clone().expect("logged");
        assert_eq!((last.kind.as_str(), last.passed, last.at_hours), ("Short offline", Some(true), Some(21_023)));
        assert!(!r.self_test_running && !r.self_test_due(), "20 hours since: {r:?}");
        let later = SmartReport { power_on_hours: Some(21_023 + SELF_TEST_EVERY_HOURS), ..r.clone() };
        assert!(later.self_test_due());
        assert!(!SmartReport { self_test_running: true, ..later.clone() }.self_test_due());
        assert!(!SmartReport { verdict: Verdict::Unknown, ..later }.self_test_due(), "no SMART, no test");
        // An NVMe disk that never ran one is due; one running is not.
        let nvme = parse(&fixture("nvme.json"));
        assert_eq!((nvme.last_self_test.clone(), nvme.self_test_due()), (None, true));
        let running = parse(br#"{"smart_status":{"passed":true},"nvme_self_test_log":{"current_self_test_operation":{"value":1,"string":"Short self-test in progress"},"table":[{"self_test_code":{"value":1,"string":"Short"},"self_test_result":{"value":0,"string":"Completed without error"},"power_on_hours":10}]}}"#);
        assert!(running.self_test_running && !running.self_test_due());
        assert_eq!(running.last_self_test.and_then(|t| t.passed), Some(true));
        // A failed self-test makes the disk failing; an aborted one says nothing.
        let failed = parse(br#"{"smart_status":{"passed":true},"power_on_time":{"hours":900},"ata_smart_self_test_log":{"standard":{"table":[{"type":{"string":"Short offline"},"status":{"value":121,"string":"Completed: read failure","passed":false},"lifetime_hours":899}]}}}"#);
        assert_eq!(failed.verdict, Verdict::Failing);
        assert!(
            failed.reasons.iter().any(|m| m.contains("self-test failed: Short offline (Completed: read failure)")),
            "{:?}",
            failed.reasons
        );
        let aborted = parse(br#"{"smart_status":{"passed":true},"ata_smart_self_test_log":{"standard":{"table":[{"type":{"string":"Short offline"},"status":{"value":1,"string":"Aborted by host"},"lifetime_hours":5}]}}}"#);
        assert_eq!((aborted.verdict, aborted.last_self_test.and_then(|t| t.passed)), (Verdict::Good, None));
    }

    #[test]
    fn nonsense_is_unknown_not_a_panic() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"smart_status\":{\"passed\":\"yes\"}}",
            b"{\"ata_smart_attributes\":{\"table\":[{\"id\":5,\"raw\":{\"value\":-1}}]}}",
        ] {
            assert_eq!(parse(bad).verdict, Verdict::Unknown);
        }
    }
}
