//! The block devices the kernel knows, from a `/sys` tree (sysfs-block(5)): what a disk is
//! (model, serial, size, how it is attached, spinning or not) and its partitions. The root is a
//! parameter so tests read recorded trees (`tests/fixtures/`), and nothing here needs privileges.
//!
//! sysfs files are short text the kernel writes, but a USB bridge can report any bytes as its
//! model or serial: values are trimmed, control characters dropped, and a missing or unreadable
//! file is "unknown", never an error for the whole inventory.

use std::path::{Path, PathBuf};

/// How a disk is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// USB mass storage (or UAS).
    Usb,
    /// SATA/AHCI.
    Sata,
    /// NVMe.
    Nvme,
    /// An SD card or eMMC (the board's boot card).
    Sd,
    /// A virtio disk (the QEMU board).
    Virtio,
    /// Anything else.
    Other,
}

/// One partition as sysfs lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysPartition {
    /// The kernel's name (`sdb1`, `nvme0n1p2`, `mmcblk0p2`).
    pub name: String,
    /// Its number in the table.
    pub number: u32,
    /// Where it starts, bytes from the disk's start.
    pub start_bytes: u64,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Its `major:minor`.
    pub device: Option<(u32, u32)>,
}

/// One whole disk as sysfs lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysDisk {
    /// The kernel's name (`sda`, `nvme0n1`, `mmcblk0`, `vdb`).
    pub name: String,
    /// Its `major:minor`.
    pub device: Option<(u32, u32)>,
    /// Size in bytes (sysfs counts 512-byte sectors whatever the disk's own sector size).
    pub size_bytes: u64,
    /// The vendor, when the kernel knows it (SCSI and USB bridges report one).
    pub vendor: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The serial number: the disk's own, or its USB bridge's.
    pub serial: Option<String>,
    /// How it is attached.
    pub transport: Transport,
    /// Spinning (sysfs `queue/rotational`); USB bridges often say 1 for flash too.
    pub rotational: bool,
    /// Removable medium (SD cards, some USB sticks).
    pub removable: bool,
    /// The kernel refuses writes.
    pub read_only: bool,
    /// Its partitions, by number.
    pub partitions: Vec<SysPartition>,
}

/// Names of block devices that are not disks a family plugs in: loop files, RAM disks, zram
/// swap, device-mapper and md layers, optical drives, the eMMC's boot and RPMB areas.
fn not_a_disk(name: &str) -> bool {
    ["loop", "ram", "zram", "dm-", "md", "sr", "nbd", "mtdblock", "fd"].iter().any(|p| name.starts_with(p))
        || (name.starts_with("mmcblk") && (name.contains("boot") || name.contains("rpmb")))
}

/// A sysfs text value: trimmed, control characters dropped; `None` when missing or empty.
fn text(path: &Path) -> Option<String> {
    let raw = std::fs::read(path).ok()?;
    let s: String = String::from_utf8_lossy(&raw).chars().filter(|c| !c.is_control()).collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn number(path: &Path) -> Option<u64> {
    text(path)?.parse().ok()
}

fn major_minor(path: &Path) -> Option<(u32, u32)> {
    let t = text(path)?;
    let (a, b) = t.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Every disk under `sys/block`, sorted by name. Devices of size zero (a card reader without a
/// card) are left out. An unreadable `sys/block` gives an empty list.
pub fn disks(sys: &Path) -> Vec<SysDisk> {
    let Ok(entries) = std::fs::read_dir(sys.join("block")) else { return Vec::new() };
    let mut names: Vec<String> = entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
    names.retain(|n| !not_a_disk(n));
    names.sort();
    names.iter().filter_map(|name| disk(sys, name)).collect()
}

/// One disk by its kernel name; `None` when sysfs has no such disk or it has no medium.
pub fn disk(sys: &Path, name: &str) -> Option<SysDisk> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let dir = sys.join("block").join(name);
    let size_bytes = number(&dir.join("size"))?.checked_mul(512)?;
    if size_bytes == 0 {
        return None;
    }
    // The real location (…/usb2/2-1/2-1:1.0/host0/…/block/sda) says how it is attached.
    let real = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    let real_text = real.to_string_lossy();
    let transport = if real_text.contains("/usb") {
        Transport::Usb
    } else if name.starts_with("nvme") {
        Transport::Nvme
    } else if name.starts_with("mmcblk") {
        Transport::Sd
    } else if real_text.contains("/virtio") {
        Transport::Virtio
    } else if real_text.contains("/ata") {
        Transport::Sata
    } else {
        Transport::Other
    };
    let device_dir = dir.join("device");
    let model = text(&device_dir.join("model")).or_else(|| text(&device_dir.join("name")));
    let serial = text(&device_dir.join("serial"))
        .or_else(|| text(&dir.join("serial")))
        .or_else(|| std::fs::read(device_dir.join("vpd_pg80")).ok().and_then(|page| unit_serial(&page)))
        .or_else(|| (transport == Transport::Usb).then(|| usb_serial(&real)).flatten());
    let mut partitions: Vec<SysPartition> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pname = e.file_name().into_string().ok()?;
            let pdir = dir.join(&pname);
            let number = u32::try_from(number(&pdir.join("partition"))?).ok()?;
            Some(SysPartition {
                number,
                start_bytes: number_of_sectors(&pdir.join("start"))?,
                size_bytes: number_of_sectors(&pdir.join("size"))?,
                device: major_minor(&pdir.join("dev")),
                name: pname,
            })
        })
        .collect();
    partitions.sort_by_key(|p| p.number);
    Some(SysDisk {
        name: name.to_string(),
        device: major_minor(&dir.join("dev")),
        size_bytes,
        // virtio and NVMe put a PCI vendor number there (0x1af4), which names nothing.
        vendor: text(&device_dir.join("vendor")).filter(|v| !v.starts_with("0x")),
        model,
        serial,
        transport,
        rotational: number(&dir.join("queue/rotational")) == Some(1),
        removable: number(&dir.join("removable")) == Some(1),
        read_only: number(&dir.join("ro")) == Some(1),
        partitions,
    })
}

/// The serial in a SCSI "unit serial number" VPD page (0x80; SATA disks behind libata have no
/// `serial` file, only this): a 4-byte header with the length, then ASCII padded with spaces.
pub fn unit_serial(page: &[u8]) -> Option<String> {
    if page.get(1) != Some(&0x80) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*page.get(2)?, *page.get(3)?]));
    let raw = page.get(4..4 + len).or_else(|| page.get(4..))?;
    let s: String = raw.iter().filter(|b| b.is_ascii_graphic() || **b == b' ').map(|&b| b as char).collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn number_of_sectors(path: &Path) -> Option<u64> {
    number(path)?.checked_mul(512)
}

/// The serial of the USB device a disk hangs off: the nearest ancestor with `idVendor` and
/// `serial` (the bridge's, which is what a family sees printed on nothing, but is stable).
fn usb_serial(real: &Path) -> Option<String> {
    let mut at: Option<PathBuf> = real.parent().map(Path::to_path_buf);
    while let Some(dir) = at {
        if dir.join("idVendor").exists() {
            return text(&dir.join("serial"));
        }
        at = dir.parent().map(Path::to_path_buf);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sata_disks_serial_from_its_vpd_page() {
        let mut page = vec![0x00, 0x80, 0x00, 0x14];
        page.extend_from_slice(b"      WD-WX12D80ABCDE");
        assert_eq!(unit_serial(&page[..24]).as_deref(), Some("WD-WX12D80ABCD"));
        assert_eq!(unit_serial(&page).as_deref(), Some("WD-WX12D80ABCD"), "the length says 20 bytes");
        assert_eq!(unit_serial(&[0x00, 0x83, 0x00, 0x02, b'a', b'b']), None, "another page");
        assert_eq!(unit_serial(&[0x00, 0x80, 0x00, 0x40, b'x']).as_deref(), Some("x"), "shorter than it says");
        assert_eq!(unit_serial(&[0x00, 0x80, 0x00, 0x04, 0, 1, 2, 3]), None, "nothing printable");
        assert_eq!(unit_serial(&[0x00, 0x80]), None);
    }
}
