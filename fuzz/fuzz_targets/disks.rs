//! What the disks service reads from outside: a device's first bytes (any disk a family plugs
//! in), the mount table, `smartctl -j` output and a SATA disk's serial page (a disk's firmware
//! speaks through both), kernel uevents, and a copy of the data home record (the boot
//! partition is FAT: anyone with a card reader can edit it), a btrfs device's error counters and
//! `btrfs scrub`'s output. One target for the eight parsers (the first byte picks one), so the
//! suite's fuzz time does not grow by eight: none may panic, and what they return stays
//! consistent.
#![no_main]
use hearth_disks::{data_home, file_system, mountinfo, pool, smart, sysfs, uevent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 8 {
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
        3 => {
            if let Some(serial) = sysfs::unit_serial(rest) {
                assert!(!serial.is_empty() && serial.trim() == serial && serial.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
            }
        }
        4 => {
            if let Some(event) = uevent::parse(rest) {
                assert!(!event.name.is_empty() && !event.name.contains('/'));
            }
        }
        6 => {
            let text = String::from_utf8_lossy(rest);
            let e = pool::parse_error_stats(&text);
            assert_eq!(e.any(), e != pool::DeviceErrors::default());
        }
        7 => {
            let r = pool::parse_scrub(&String::from_utf8_lossy(rest), 0, 0);
            assert!(!r.status.contains('\n'));
        }
        _ => {
            // What is understood is written back the same: a record never changes by being
            // read and written.
            if let Some(Ok(home)) = data_home::DataHome::from_copy(rest) {
                let again = data_home::DataHome::from_copy(&home.to_copy(0));
                assert_eq!(again, Some(Ok(home)));
            }
        }
    }
});
