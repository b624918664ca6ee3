//! What a partition (or a whole disk without a partition table) holds, from its first bytes: the
//! file-system kind, its UUID and label, as `blkid` would print them. Roles are remembered by the
//! UUID (docs/disks.md), so it must read the same as the kernel's `/dev/disk/by-uuid` names.
//!
//! The bytes come from a disk that may hold anything: parsing never panics and never guesses
//! (fuzz target `disk_head`). Kinds Hearth cannot use (XFS, LUKS, swap) are still named, so the
//! family is told "this disk holds XFS" rather than "unknown".

use std::fmt;

/// How many bytes [`identify`] wants: btrfs keeps its superblock at 64 KiB.
pub const HEAD_BYTES: usize = 0x10000 + 0x1000;

/// A file system's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileSystemKind {
    /// ext2 (no journal).
    Ext2,
    /// ext3 (journal, no ext4 features).
    Ext3,
    /// ext4.
    Ext4,
    /// btrfs (one device of a pool, perhaps).
    Btrfs,
    /// FAT12/16/32.
    Vfat,
    /// exFAT (most large USB sticks and SD cards).
    Exfat,
    /// NTFS (disks that came from Windows).
    Ntfs,
    /// XFS: recognised, not used by Hearth.
    Xfs,
    /// A LUKS encrypted volume: recognised, not opened.
    Luks,
    /// Linux swap.
    Swap,
}

impl FileSystemKind {
    /// The name `mount -t` and `blkid` use.
    pub fn as_str(self) -> &'static str {
        match self {
            FileSystemKind::Ext2 => "ext2",
            FileSystemKind::Ext3 => "ext3",
            FileSystemKind::Ext4 => "ext4",
            FileSystemKind::Btrfs => "btrfs",
            FileSystemKind::Vfat => "vfat",
            FileSystemKind::Exfat => "exfat",
            FileSystemKind::Ntfs => "ntfs",
            FileSystemKind::Xfs => "xfs",
            FileSystemKind::Luks => "crypto_LUKS",
            FileSystemKind::Swap => "swap",
        }
    }

    /// Whether Hearth can mount it to read and write (the others are shown, never touched).
    pub fn mountable(self) -> bool {
        matches!(
            self,
            FileSystemKind::Ext2
                | FileSystemKind::Ext3
                | FileSystemKind::Ext4
                | FileSystemKind::Btrfs
                | FileSystemKind::Vfat
                | FileSystemKind::Exfat
                | FileSystemKind::Ntfs
        )
    }
}

impl fmt::Display for FileSystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file system found on a device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileSystem {
    /// Its kind.
    pub kind: FileSystemKind,
    /// Its UUID as `blkid` prints it (ext/btrfs/xfs/LUKS: 8-4-4-4-12 lowercase; FAT and exFAT:
    /// `XXXX-XXXX`; NTFS: 16 hex digits); `None` when the file system has none (an all-zero id).
    pub uuid: Option<String>,
    /// Its label, when it has one in the superblock (exFAT and NTFS keep theirs elsewhere).
    pub label: Option<String>,
    /// btrfs: the devices of its pool, and this device's own UUID within it.
    pub pool: Option<PoolMember>,
}

/// One device of a btrfs pool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolMember {
    /// How many devices the pool has.
    pub devices: u64,
    /// This device's id within the pool (1, 2, …).
    pub device_id: u64,
    /// This device's UUID (`UUID_SUB` to blkid).
    pub device_uuid: String,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// 16 bytes as 8-4-4-4-12 lowercase hex; `None` when all zero.
fn uuid(b: &[u8], at: usize) -> Option<String> {
    let id = b.get(at..at + 16)?;
    if id.iter().all(|&x| x == 0) {
        return None;
    }
    let hex = hearth_core::hex::lower(id);
    Some(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// A label field: up to the first NUL, trailing spaces dropped (FAT pads with them); `None` when
/// empty or not UTF-8 (shown as no label rather than as mojibake).
fn label(b: &[u8], at: usize, len: usize) -> Option<String> {
    let field = b.get(at..at + len)?;
    let end = field.iter().position(|&x| x == 0).unwrap_or(len);
    let text = std::str::from_utf8(&field[..end]).ok()?.trim_end_matches(' ');
    (!text.is_empty()).then(|| text.to_string())
}

fn serial32(id: u32) -> Option<String> {
    (id != 0).then(|| format!("{:04X}-{:04X}", id >> 16, id & 0xffff))
}

/// The file system whose superblock starts `head` (the device's first [`HEAD_BYTES`] bytes or
/// fewer); `None` when none of the known kinds is there.
pub fn identify(head: &[u8]) -> Option<FileSystem> {
    let plain = |kind, uuid, label| Some(FileSystem { kind, uuid, label, pool: None });
    if head.starts_with(b"LUKS\xba\xbe") {
        // LUKS1 and LUKS2 keep the UUID as 40 bytes of text at 168.
        return plain(FileSystemKind::Luks, label(head, 168, 40), None);
    }
    if head.starts_with(b"XFSB") {
        return plain(FileSystemKind::Xfs, uuid(head, 32), label(head, 108, 12));
    }
    if head.get(0x10040..0x10048) == Some(b"_BHRfS_M") {
        let sb = &head[0x10000..];
        let pool = match (le64(sb, 0x88), le64(sb, 0xc9), uuid(sb, 0x10b)) {
            (Some(devices), Some(device_id), Some(device_uuid)) => Some(PoolMember { devices, device_id, device_uuid }),
            _ => None,
        };
        return Some(FileSystem { kind: FileSystemKind::Btrfs, uuid: uuid(sb, 0x20), label: label(sb, 0x12b, 256), pool });
    }
    if le16(head, 1024 + 56) == Some(0xef53) {
        let sb = &head[1024..];
        let (compat, incompat, ro_compat) = (le32(sb, 92)?, le32(sb, 96)?, le32(sb, 100)?);
        const HAS_JOURNAL: u32 = 0x4;
        // extents, 64bit, flex_bg, mmp, inline data…; huge_file, dir_nlink, extra_isize…
        const EXT4_INCOMPAT: u32 = !0x3;
        const EXT4_RO_COMPAT: u32 = !0x7;
        let kind = if incompat & EXT4_INCOMPAT != 0 || ro_compat & EXT4_RO_COMPAT != 0 {
            FileSystemKind::Ext4
        } else if compat & HAS_JOURNAL != 0 {
            FileSystemKind::Ext3
        } else {
            FileSystemKind::Ext2
        };
        return plain(kind, uuid(sb, 104), label(sb, 120, 16));
    }
    // The boot-sector kinds end their first sector with 55 AA.
    if head.get(510..512) != Some(&[0x55, 0xaa]) {
        return swap(head);
    }
    match head.get(3..11) {
        Some(b"EXFAT   ") => return plain(FileSystemKind::Exfat, le32(head, 0x64).and_then(serial32), None),
        Some(b"NTFS    ") => {
            let serial = le64(head, 0x48)?;
            return plain(FileSystemKind::Ntfs, (serial != 0).then(|| format!("{serial:016X}")), None);
        }
        _ => {}
    }
    let bytes_per_sector = le16(head, 0x0b)?;
    let fat_sized = matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096) && head.get(0x0d).is_some_and(|&s| s != 0 && s.is_power_of_two());
    if fat_sized && head.get(0x52..0x5a) == Some(b"FAT32   ") {
        return plain(FileSystemKind::Vfat, le32(head, 0x43).and_then(serial32), fat_label(head, 0x47));
    }
    if fat_sized && matches!(head.get(0x36..0x3e), Some(b"FAT12   " | b"FAT16   " | b"FAT     ")) {
        return plain(FileSystemKind::Vfat, le32(head, 0x27).and_then(serial32), fat_label(head, 0x2b));
    }
    swap(head)
}

/// FAT's boot-sector label; "NO NAME" is FAT's way of saying none.
fn fat_label(head: &[u8], at: usize) -> Option<String> {
    label(head, at, 11).filter(|l| l != "NO NAME")
}

fn swap(head: &[u8]) -> Option<FileSystem> {
    // The signature ends the first page; pages of 4 KiB on every board Hearth runs on.
    if head.get(4096 - 10..4096) == Some(b"SWAPSPACE2") {
        return Some(FileSystem { kind: FileSystemKind::Swap, uuid: uuid(head, 1024 + 12), label: label(head, 1024 + 28, 16), pool: None });
    }
    None
}

/// A partition table at the start of a whole disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionTable {
    /// GUID partition table (its protective MBR seen first).
    Gpt,
    /// An MBR (DOS) table.
    Mbr,
}

/// The partition table `head` (a whole disk's first bytes, 8 KiB or more) starts with; `None` for
/// a disk without one (blank, or a file system on the whole disk: check [`identify`] first, since
/// FAT and NTFS boot sectors end with the same 55 AA as a table).
pub fn partition_table(head: &[u8]) -> Option<PartitionTable> {
    // The GPT header is at LBA 1: byte 512 on most disks, 4096 on 4Kn ones.
    if head.get(512..520) == Some(b"EFI PART") || head.get(4096..4104) == Some(b"EFI PART") {
        return Some(PartitionTable::Gpt);
    }
    if head.get(510..512) != Some(&[0x55, 0xaa]) || identify(head).is_some() {
        return None;
    }
    let entries = head.get(446..510)?;
    // Each entry's status byte is 0x00 or 0x80; anything else is not a table.
    let valid = entries.chunks_exact(16).all(|e| e[0] == 0 || e[0] == 0x80);
    let used = entries.chunks_exact(16).any(|e| e[4] != 0);
    if !valid || !used {
        return None;
    }
    if entries.chunks_exact(16).any(|e| e[4] == 0xee) {
        return Some(PartitionTable::Gpt);
    }
    Some(PartitionTable::Mbr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Vec<u8> {
        vec![0; HEAD_BYTES]
    }

    #[test]
    fn ext4_is_named_with_its_uuid_and_label() {
        let mut h = blank();
        h[1024 + 56..1024 + 58].copy_from_slice(&0xef53u16.to_le_bytes());
        h[1024 + 96..1024 + 100].copy_from_slice(&0x2c2u32.to_le_bytes()); // filetype, extents, 64bit, flex_bg
        h[1024 + 104..1024 + 120]
            .copy_from_slice(&[0x3e, 0x6b, 0x0d, 0x2a, 0x11, 0x22, 0x43, 0x33, 0x84, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa]);
        h[1024 + 120..1024 + 125].copy_from_slice(b"hoard");
        let fs = identify(&h).expect("ext4");
        assert_eq!(fs.kind, FileSystemKind::Ext4);
        assert_eq!(fs.uuid.as_deref(), Some("3e6b0d2a-1122-4333-8444-5566778899aa"));
        assert_eq!(fs.label.as_deref(), Some("hoard"));
        h[1024 + 96..1024 + 100].copy_from_slice(&0x2u32.to_le_bytes());
        assert_eq!(identify(&h).expect("ext2").kind, FileSystemKind::Ext2);
        h[1024 + 92..1024 + 96].copy_from_slice(&0x4u32.to_le_bytes());
        assert_eq!(identify(&h).expect("ext3").kind, FileSystemKind::Ext3);
    }

    #[test]
    fn fat32_and_fat16_give_blkid_style_serials() {
        let mut h = blank();
        h[510] = 0x55;
        h[511] = 0xaa;
        h[0x0b..0x0d].copy_from_slice(&512u16.to_le_bytes());
        h[0x0d] = 8;
        h[0x52..0x5a].copy_from_slice(b"FAT32   ");
        h[0x43..0x47].copy_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        h[0x47..0x52].copy_from_slice(b"CAMERA     ");
        let fs = identify(&h).expect("fat32");
        assert_eq!((fs.kind, fs.uuid.as_deref(), fs.label.as_deref()), (FileSystemKind::Vfat, Some("1A2B-3C4D"), Some("CAMERA")));
        assert_eq!(partition_table(&h), None, "a FAT boot sector is not a partition table");
        let mut h16 = blank();
        h16[510] = 0x55;
        h16[511] = 0xaa;
        h16[0x0b..0x0d].copy_from_slice(&512u16.to_le_bytes());
        h16[0x0d] = 4;
        h16[0x36..0x3e].copy_from_slice(b"FAT16   ");
        h16[0x27..0x2b].copy_from_slice(&0xbeefu32.to_le_bytes());
        h16[0x2b..0x36].copy_from_slice(b"NO NAME    ");
        let fs = identify(&h16).expect("fat16");
        assert_eq!((fs.uuid.as_deref(), fs.label), (Some("0000-BEEF"), None));
    }

    #[test]
    fn exfat_ntfs_btrfs_and_the_unused_kinds_are_named() {
        let mut h = blank();
        h[510] = 0x55;
        h[511] = 0xaa;
        h[3..11].copy_from_slice(b"EXFAT   ");
        h[0x64..0x68].copy_from_slice(&0x0102_0304u32.to_le_bytes());
        assert_eq!(identify(&h).expect("exfat").uuid.as_deref(), Some("0102-0304"));
        h[3..11].copy_from_slice(b"NTFS    ");
        h[0x48..0x50].copy_from_slice(&0x0011_2233_4455_6677u64.to_le_bytes());
        let fs = identify(&h).expect("ntfs");
        assert_eq!((fs.kind, fs.uuid.as_deref()), (FileSystemKind::Ntfs, Some("0011223344556677")));

        let mut b = blank();
        b[0x10040..0x10048].copy_from_slice(b"_BHRfS_M");
        b[0x10020] = 0xab;
        b[0x10088..0x10090].copy_from_slice(&2u64.to_le_bytes());
        b[0x100c9..0x100d1].copy_from_slice(&1u64.to_le_bytes());
        b[0x1010b] = 0xcd;
        b[0x1012b..0x10130].copy_from_slice(b"pool1");
        let fs = identify(&b).expect("btrfs");
        assert_eq!(fs.kind, FileSystemKind::Btrfs);
        assert_eq!(fs.uuid.as_deref(), Some("ab000000-0000-0000-0000-000000000000"));
        assert_eq!(fs.label.as_deref(), Some("pool1"));
        let pool = fs.pool.expect("pool");
        assert_eq!((pool.devices, pool.device_id, pool.device_uuid.as_str()), (2, 1, "cd000000-0000-0000-0000-000000000000"));

        let mut x = blank();
        x[..4].copy_from_slice(b"XFSB");
        assert_eq!(identify(&x).expect("xfs").kind, FileSystemKind::Xfs);
        assert!(!FileSystemKind::Xfs.mountable());
        let mut s = blank();
        s[4086..4096].copy_from_slice(b"SWAPSPACE2");
        assert_eq!(identify(&s).expect("swap").kind, FileSystemKind::Swap);
        let mut l = blank();
        l[..6].copy_from_slice(b"LUKS\xba\xbe");
        l[168..172].copy_from_slice(b"abcd");
        assert_eq!(identify(&l).expect("luks").uuid.as_deref(), Some("abcd"));
    }

    #[test]
    fn tables_blank_disks_and_short_reads() {
        let mut h = blank();
        assert_eq!(identify(&h), None);
        assert_eq!(partition_table(&h), None, "a blank disk has no table");
        h[510] = 0x55;
        h[511] = 0xaa;
        assert_eq!(partition_table(&h), None, "no entry used");
        h[446 + 4] = 0x83;
        assert_eq!(partition_table(&h), Some(PartitionTable::Mbr));
        h[446 + 4] = 0xee;
        assert_eq!(partition_table(&h), Some(PartitionTable::Gpt));
        h[446] = 0x12;
        assert_eq!(partition_table(&h), None, "a status byte that is not 0 or 0x80");
        h[512..520].copy_from_slice(b"EFI PART");
        assert_eq!(partition_table(&h), Some(PartitionTable::Gpt));
        for len in [0, 1, 511, 1100, 4096, 0x10050] {
            identify(&h[..len]);
            partition_table(&h[..len]);
        }
    }
}
