//! Snapshots (snapshots/) and locks (locks/): the JSON after authentication.
#![no_main]
use hearth_backup::lock::LockInfo;
use hearth_backup::snapshot::{Snapshot, parse_rfc3339};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Snapshot::parse("fuzz", data) {
        let _ = parse_rfc3339(&s.time);
    }
    if let Ok(l) = serde_json::from_slice::<LockInfo>(data) {
        let _ = l.stale_reason(0);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_rfc3339(text);
    }
});
