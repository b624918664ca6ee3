//! Where things are on this box: the two slots, the boot partition's state, the running system
//! and the keys it trusts. On the appliance they come from the kernel's command line and the
//! image; a folder can stand in for a box (tests, and trying bundles on a computer).

use std::path::{Path, PathBuf};

use crate::boot_state::{BootStateFiles, SlotName};
use crate::error::{OtaError, Result};
use crate::keys::TrustedKeys;
use crate::version::Version;

/// Where the image keeps the keys it trusts.
pub const APPLIANCE_KEYS: &str = "/usr/share/hearth/update-keys";
/// Where rcS mounts the card's FAT partition (read-only; the privileged side remounts it to write).
pub const APPLIANCE_BOOT: &str = "/run/hearth/boot";
/// The running system's release file.
pub const RELEASE_FILE: &str = "/etc/hearth-release";

/// This box's update layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The board's name (board.toml), matched against a bundle's boards.
    pub board: String,
    /// The slot running now.
    pub running: SlotName,
    /// The running system's version.
    pub running_version: Version,
    /// The devices (or files) of slots a and b.
    pub devices: [PathBuf; 2],
    /// The boot state.
    pub boot: BootStateFiles,
    /// The keys bundles must be signed with.
    pub keys: TrustedKeys,
}

/// `KEY=VALUE` lines of a release file.
pub fn release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')).map(|v| v.trim().trim_matches('"').to_string()))
}

impl Layout {
    /// The device of `slot`.
    pub fn device(&self, slot: SlotName) -> &Path {
        match slot {
            SlotName::A => &self.devices[0],
            SlotName::B => &self.devices[1],
        }
    }

    /// The appliance's layout: `root=` and `hearth.slot=` from the kernel command line `cmdline`
    /// (the card is the root's disk; slots are partitions 2 and 3), the release file, the keys.
    pub fn appliance(board: &str, cmdline: &str, release: &str, keys_dir: &Path, boot_dir: &Path) -> Result<Layout> {
        let arg = |k: &str| cmdline.split_whitespace().find_map(|w| w.strip_prefix(k)).map(str::to_string);
        let root = arg("root=").ok_or_else(|| OtaError::BootState("the kernel command line names no root".into()))?;
        let running = arg("hearth.slot=")
            .and_then(|s| SlotName::parse(&s))
            .ok_or_else(|| OtaError::BootState("the kernel command line names no root slot (hearth.slot=)".into()))?;
        let disk = disk_of(&root).ok_or_else(|| OtaError::BootState(format!("the root {root} is not a partition of a card")))?;
        let devices = [SlotName::A, SlotName::B].map(|s| hearth_platform::block_device::partition_path(Path::new(&disk), s.partition()));
        let running_device = match running {
            SlotName::A => &devices[0],
            SlotName::B => &devices[1],
        };
        if running_device != Path::new(&root) {
            return Err(OtaError::BootState(format!("the root {root} is not partition {} of {disk}", running.partition())));
        }
        let version = release_value(release, "HEARTH_VERSION")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| OtaError::BootState("the running system's release file has no version".into()))?;
        Ok(Layout {
            board: board.to_string(),
            running,
            running_version: version,
            devices,
            boot: BootStateFiles::on_read_only_mount(boot_dir),
            keys: TrustedKeys::load_dir(keys_dir)?,
        })
    }

    /// The layout of the appliance this runs on: the kernel's command line, the release file,
    /// the image's keys and the FAT partition's mount, where the image puts them.
    pub fn of_this_appliance(board: &str) -> Result<Layout> {
        let read = |path: &str| std::fs::read_to_string(path).map_err(OtaError::io(format!("reading {path}")));
        Layout::appliance(board, &read("/proc/cmdline")?, &read(RELEASE_FILE)?, Path::new(APPLIANCE_KEYS), Path::new(APPLIANCE_BOOT))
    }

    /// Whether the running system is on trial (not yet committed).
    pub fn running_on_trial(&self) -> bool {
        self.boot.read().state.is_on_trial(self.running)
    }

    /// A folder standing in for a box: `slot-a.img`, `slot-b.img`, `boot/` (the state copies),
    /// `keys/*.pub`, and `release` with `HEARTH_BOARD`, `HEARTH_VERSION` and `HEARTH_SLOT` (the
    /// slot "running").
    pub fn folder(dir: &Path) -> Result<Layout> {
        let release = std::fs::read_to_string(dir.join("release")).map_err(OtaError::io(format!("{}/release", dir.display())))?;
        let missing = |k: &str| OtaError::BootState(format!("{}/release has no {k}", dir.display()));
        Ok(Layout {
            board: release_value(&release, "HEARTH_BOARD").ok_or_else(|| missing("HEARTH_BOARD"))?,
            running: release_value(&release, "HEARTH_SLOT").and_then(|s| SlotName::parse(&s)).ok_or_else(|| missing("HEARTH_SLOT"))?,
            running_version: release_value(&release, "HEARTH_VERSION")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| missing("HEARTH_VERSION"))?,
            devices: [dir.join("slot-a.img"), dir.join("slot-b.img")],
            boot: BootStateFiles::new(dir.join("boot")),
            keys: TrustedKeys::load_dir(&dir.join("keys"))?,
        })
    }
}

/// The disk of a partition device: `/dev/vda2` → `/dev/vda`, `/dev/mmcblk0p2` → `/dev/mmcblk0`.
fn disk_of(root: &str) -> Option<String> {
    let trimmed = root.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() == root.len() || !root.starts_with("/dev/") {
        return None;
    }
    if (trimmed.contains("mmcblk") || trimmed.contains("nvme")) && trimmed.ends_with('p') {
        Some(trimmed[..trimmed.len() - 1].to_string())
    } else {
        Some(trimmed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_slots_from_the_command_line() {
        let dir = tempfile::tempdir().expect("dir");
        let cmd = "console=ttyAMA0 root=/dev/vda3 rootfstype=ext4 ro hearth.slot=b panic=5";
        let l = Layout::appliance("qemu-aarch64", cmd, "HEARTH_VERSION=0.1.0\n", dir.path(), dir.path()).expect("layout");
        assert_eq!(l.running, SlotName::B);
        assert_eq!(l.device(SlotName::A), Path::new("/dev/vda2"));
        assert_eq!(l.device(SlotName::B), Path::new("/dev/vda3"));
        let pi =
            Layout::appliance("rpi4", "root=/dev/mmcblk0p2 hearth.slot=a", "HEARTH_VERSION=1.0.0", dir.path(), dir.path()).expect("pi");
        assert_eq!(pi.device(SlotName::B), Path::new("/dev/mmcblk0p3"));
        assert!(Layout::appliance("x", "root=/dev/vda2 hearth.slot=b", "HEARTH_VERSION=1.0.0", dir.path(), dir.path()).is_err());
        assert!(Layout::appliance("x", "root=/dev/vda2", "HEARTH_VERSION=1.0.0", dir.path(), dir.path()).is_err());
        assert!(Layout::appliance("x", "root=/dev/vda2 hearth.slot=a", "", dir.path(), dir.path()).is_err());
    }
}
