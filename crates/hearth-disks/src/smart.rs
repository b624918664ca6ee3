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
