//! Which board Hearth runs on.

use std::path::Path;

use hearth_core::board::BoardProfile;

/// The device-tree model string (`Raspberry Pi 4 Model B Rev 1.4`), when the kernel has one.
pub fn device_tree_model(root: &Path) -> Option<String> {
    let raw = std::fs::read(root.join("proc/device-tree/model")).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let model = text.trim_end_matches('\0').trim().to_string();
    (!model.is_empty()).then_some(model)
}

/// Installed RAM in MiB from `/proc/meminfo` (`MemTotal`), or 0 when unreadable.
pub fn mem_total_mib(root: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(root.join("proc/meminfo")) else { return 0 };
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib / 1024)
        .unwrap_or(0)
}

/// Detect the board profile of the machine whose filesystem root is `root` (`/` in production).
pub fn detect(root: &Path) -> BoardProfile {
    BoardProfile::detect(device_tree_model(root).as_deref(), mem_total_mib(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_pi4_from_a_fake_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("proc/device-tree")).expect("mkdir");
        std::fs::write(dir.path().join("proc/device-tree/model"), b"Raspberry Pi 4 Model B Rev 1.5\0").expect("write");
        std::fs::write(dir.path().join("proc/meminfo"), "MemTotal:        3884028 kB\nMemFree: 1 kB\n").expect("write");
        assert_eq!(mem_total_mib(dir.path()), 3792);
        assert_eq!(detect(dir.path()).name, "rpi4-4gb");
    }

    #[test]
    fn no_device_tree_is_dev() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(detect(dir.path()).name, "dev");
    }
}
