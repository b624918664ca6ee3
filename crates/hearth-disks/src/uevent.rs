//! Kernel uevents (the `NETLINK_KOBJECT_UEVENT` socket's messages): a disk or partition appeared,
//! changed or went away. The image runs no udev daemon, so the disks service listens to the
//! kernel itself. A message is `ACTION@DEVPATH` then NUL-separated `KEY=value` lines; udev's
//! re-broadcasts (`libudev` header) are not the kernel's and are ignored. The bytes come from the
//! kernel, but anything that does not parse is ignored, never trusted (fuzz target `uevent`).

/// What happened to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It appeared.
    Add,
    /// It went away.
    Remove,
    /// Something about it changed (a medium inserted, a size changed, a partition table re-read).
    Change,
    /// Anything else the kernel says (bind, unbind, move, online, offline).
    Other,
}

/// A block device's uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEvent {
    /// What happened.
    pub action: Action,
    /// The device's kernel name (`sdb`, `sdb1`).
    pub name: String,
    /// A whole disk (`true`) or a partition.
    pub disk: bool,
}

/// The block-device event in one netlink message; `None` for other subsystems, udev's messages
/// and anything malformed.
pub fn parse(message: &[u8]) -> Option<BlockEvent> {
    if message.starts_with(b"libudev") {
        return None;
    }
    let mut fields = message.split(|&b| b == 0).filter(|f| !f.is_empty());
    let header = std::str::from_utf8(fields.next()?).ok()?;
    header.split_once('@')?;
    let (mut action, mut subsystem, mut name, mut devtype) = (None, None, None, None);
    for field in fields {
        let Ok(text) = std::str::from_utf8(field) else { continue };
        let Some((key, value)) = text.split_once('=') else { continue };
        match key {
            "ACTION" => action = Some(value),
            "SUBSYSTEM" => subsystem = Some(value),
            "DEVNAME" => name = Some(value),
            "DEVTYPE" => devtype = Some(value),
            _ => {}
        }
    }
    if subsystem? != "block" {
        return None;
    }
    // DEVNAME is relative to /dev; a block device's is a plain name (never a path upwards).
    let name = name?.trim_start_matches("/dev/");
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let action = match action? {
        "add" => Action::Add,
        "remove" => Action::Remove,
        "change" => Action::Change,
        _ => Action::Other,
    };
    Some(BlockEvent { action, name: name.to_string(), disk: devtype? == "disk" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usb_disk_and_its_partition_arriving() {
        let disk =
            b"add@/devices/platform/scb/fd500000.pcie/pci0000:00/0000:01:00.0/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda\0\
ACTION=add\0DEVPATH=/devices/platform/scb/fd500000.pcie/pci0000:00/0000:01:00.0/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0/block/sda\0\
SUBSYSTEM=block\0MAJOR=8\0MINOR=0\0DEVNAME=sda\0DEVTYPE=disk\0DISKSEQ=9\0SEQNUM=2208\0";
        assert_eq!(parse(disk), Some(BlockEvent { action: Action::Add, name: "sda".into(), disk: true }));
        let part = b"remove@/devices/x/block/sda/sda1\0ACTION=remove\0SUBSYSTEM=block\0DEVNAME=sda1\0DEVTYPE=partition\0";
        assert_eq!(parse(part), Some(BlockEvent { action: Action::Remove, name: "sda1".into(), disk: false }));
    }

    #[test]
    fn other_subsystems_udev_and_junk_are_ignored() {
        assert_eq!(parse(b"add@/devices/x\0ACTION=add\0SUBSYSTEM=usb\0DEVNAME=bus/usb/002/003\0DEVTYPE=usb_device\0"), None);
        assert_eq!(parse(b"libudev\0\xfe\xed\xca\xfe"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"\0\0\0"), None);
        assert_eq!(parse(b"add@/x\0ACTION=add\0SUBSYSTEM=block\0DEVNAME=../etc\0DEVTYPE=disk\0"), None);
        assert_eq!(parse(b"add@/x\0ACTION=add\0SUBSYSTEM=block\0DEVTYPE=disk\0"), None);
        assert_eq!(
            parse(b"change@/x\0ACTION=change\0SUBSYSTEM=block\0DEVNAME=/dev/mmcblk1\0DEVTYPE=disk\0\xff\xff\0"),
            Some(BlockEvent { action: Action::Change, name: "mmcblk1".into(), disk: true })
        );
    }
}
