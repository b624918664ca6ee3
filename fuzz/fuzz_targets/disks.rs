//! What the disks service reads from outside: a device's first bytes (any disk a family plugs
//! in), the mount table, `smartctl -j` output (a disk's firmware speaks through it) and kernel
//! uevents. One target for the four parsers (the first byte picks one), so the suite's fuzz time
//! does not grow by four: none may panic, and what they return stays consistent.
#![no_main]
use hearth_disks::{file_system, mountinfo, smart, uevent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 4 {
        0 => {
            // Small inputs reach the far superblocks (btrfs at 64 KiB) when spread out.
            let mut head = rest.to_vec();
            if head.len() < file_system::HEAD_BYTES && head.len() > 8 {
                head.resize(file_system::HEAD_BYTES, 0);
                let tail = rest.len().min(4096);
                head[0x10000..0x10000 + tail].copy_from_slice(&rest[..tail]);
            }
            if let Some(fs) = file_system::identify(&head) {
                assert!(fs.uuid.as_deref().is_none_or(|u| !u.is_empty()));
                assert!(fs.label.as_deref().is_none_or(|l| !l.is_empty() && !l.contains('\0')));
            }
            let _ = file_system::partition_table(&head);
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let (mounts, skipped) = mountinfo::parse(text);
                assert!(mounts.len() + skipped <= text.lines().count());
            }
        }
        2 => {
            let report = smart::parse(rest);
            assert!(report.unavailable.is_none() || report.verdict == smart::Verdict::Unknown, "{report:?}");
            let good = matches!(report.verdict, smart::Verdict::Good | smart::Verdict::Unknown);
            assert_eq!(report.reasons.is_empty(), good, "{report:?}");
        }
        _ => {
            if let Some(event) = uevent::parse(rest) {
                assert!(!event.name.is_empty() && !event.name.contains('/'));
            }
        }
    }
});
