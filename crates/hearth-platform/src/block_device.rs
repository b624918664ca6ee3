//! Block devices of the boot card: sizes from sysfs, partition device names, telling the kernel
//! that a partition grew, and what a partition holds.
//!
//! [`probe`] looks at the first MiB of a partition and says whether it holds an ext2/3/4
//! filesystem, nothing at all (every byte zero: safe to format), or something else (never
//! formatted: it may be somebody's data). The bytes come from a disk that may hold anything:
//! parsing never panics (fuzz target `mbr` covers [`Contents::of`] too).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// How many bytes [`probe`] reads.
pub const PROBE_BYTES: usize = 1 << 20;
const EXT_SUPERBLOCK: usize = 1024;
const EXT_MAGIC: u16 = 0xef53;
const EXT_FEATURE_INCOMPAT_64BIT: u32 = 0x80;

/// What a partition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// An ext2/3/4 filesystem of this many bytes.
    Ext {
        /// The filesystem's size in bytes (blocks × block size).
        bytes: u64,
    },
    /// Every byte read is zero.
    Empty,
    /// Anything else.
    Unknown,
}

impl Contents {
    /// Classify the first bytes of a partition (up to [`PROBE_BYTES`]).
    pub fn of(head: &[u8]) -> Contents {
        if let Some(sb) = head.get(EXT_SUPERBLOCK..EXT_SUPERBLOCK + 1024) {
            let u32_at = |at: usize| u32::from_le_bytes([sb[at], sb[at + 1], sb[at + 2], sb[at + 3]]);
            if u16::from_le_bytes([sb[56], sb[57]]) == EXT_MAGIC {
                let log = u32_at(24);
                let mut blocks = u64::from(u32_at(4));
                if u32_at(96) & EXT_FEATURE_INCOMPAT_64BIT != 0 {
                    blocks |= u64::from(u32_at(0x150)) << 32;
                }
                if log <= 6 {
                    return Contents::Ext { bytes: blocks.saturating_mul(1024u64 << log) };
                }
                return Contents::Unknown;
            }
        }
        if head.iter().all(|b| *b == 0) { Contents::Empty } else { Contents::Unknown }
    }
}

/// Read the first [`PROBE_BYTES`] of `device` and classify them.
pub fn probe(device: &Path) -> io::Result<Contents> {
    let mut head = Vec::with_capacity(PROBE_BYTES);
    File::open(device)?.take(PROBE_BYTES as u64).read_to_end(&mut head)?;
    Ok(Contents::of(&head))
}

/// The size of block device `name` (`vda`, `mmcblk0`, `vda4`) in 512-byte sectors.
pub fn sectors(sys: &Path, name: &str) -> io::Result<u64> {
    let text = std::fs::read_to_string(sys.join("class/block").join(name).join("size"))?;
    text.trim().parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("/sys size of {name} is not a number: {text:?}")))
}

/// The device file of partition `number` of `disk`: `/dev/vda` → `/dev/vda4`, `/dev/mmcblk0` →
/// `/dev/mmcblk0p4` (a disk whose name ends in a digit gets a `p`).
pub fn partition_path(disk: &Path, number: u8) -> PathBuf {
    let name = disk.as_os_str().to_string_lossy();
    let p = if name.ends_with(|c: char| c.is_ascii_digit()) { "p" } else { "" };
    PathBuf::from(format!("{name}{p}{number}"))
}

#[repr(C)]
struct BlkpgPartition {
    start: libc::c_longlong,
    length: libc::c_longlong,
    pno: libc::c_int,
    devname: [libc::c_char; 64],
    volname: [libc::c_char; 64],
}

#[repr(C)]
struct BlkpgIoctlArg {
    op: libc::c_int,
    flags: libc::c_int,
    datalen: libc::c_int,
    data: *mut libc::c_void,
}

const BLKPG_RESIZE_PARTITION: libc::c_int = 3;
nix::ioctl_write_ptr_bad!(blkpg, nix::request_code_none!(0x12, 105), BlkpgIoctlArg);

/// Tell the kernel that partition `number` of the open `disk` now spans `length` bytes from
/// `start` (BLKPG_RESIZE_PARTITION). Unlike re-reading the whole table, this works while other
/// partitions of the disk (the root filesystem) are mounted.
pub fn resize_partition(disk: &File, number: u8, start: u64, length: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "partition offset or length out of range");
    let mut part = BlkpgPartition {
        start: i64::try_from(start).map_err(|_| too_big())?,
        length: i64::try_from(length).map_err(|_| too_big())?,
        pno: libc::c_int::from(number),
        devname: [0; 64],
        volname: [0; 64],
    };
    let arg = BlkpgIoctlArg {
        op: BLKPG_RESIZE_PARTITION,
        flags: 0,
        datalen: std::mem::size_of::<BlkpgPartition>() as libc::c_int,
        data: (&raw mut part).cast(),
    };
    // SAFETY: `arg` and the `part` it points to are live, properly laid out (repr(C), as
    // <linux/blkpg.h>) for the whole call, and the kernel only reads them.
    #[allow(unsafe_code)]
    let result = unsafe { blkpg(disk.as_raw_fd(), &arg) };
    result.map(|_| ()).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_partitions_like_the_kernel() {
        assert_eq!(partition_path(Path::new("/dev/vda"), 4), PathBuf::from("/dev/vda4"));
        assert_eq!(partition_path(Path::new("/dev/mmcblk0"), 4), PathBuf::from("/dev/mmcblk0p4"));
        assert_eq!(partition_path(Path::new("/dev/nvme0n1"), 2), PathBuf::from("/dev/nvme0n1p2"));
    }

    #[test]
    fn classifies_heads() {
        assert_eq!(Contents::of(&[0u8; 4096]), Contents::Empty);
        assert_eq!(Contents::of(&[]), Contents::Empty);
        let mut head = vec![0u8; 4096];
        head[3000] = 1;
        assert_eq!(Contents::of(&head), Contents::Unknown);
        // An ext4 superblock: 4 KiB blocks (log 2), 5000 blocks.
        let mut head = vec![0u8; 4096];
        head[1024 + 4..1024 + 8].copy_from_slice(&5000u32.to_le_bytes());
        head[1024 + 24] = 2;
        head[1024 + 56..1024 + 58].copy_from_slice(&EXT_MAGIC.to_le_bytes());
        assert_eq!(Contents::of(&head), Contents::Ext { bytes: 5000 * 4096 });
        head[1024 + 24] = 200;
        assert_eq!(Contents::of(&head), Contents::Unknown, "an absurd block size is not trusted");
    }

    #[test]
    fn reads_a_real_ext4_superblock() {
        let Ok(status) = std::process::Command::new("mke2fs").arg("-V").output() else {
            panic!("mke2fs (e2fsprogs) is needed: apt-get install e2fsprogs");
        };
        assert!(status.status.success());
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("fs.img");
        std::fs::write(&img, vec![0u8; 8 << 20]).expect("write");
        assert_eq!(probe(&img).expect("probe"), Contents::Empty);
        let out = std::process::Command::new("mke2fs").args(["-q", "-F", "-t", "ext4", "-b", "4096"]).arg(&img).output().expect("mke2fs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(probe(&img).expect("probe"), Contents::Ext { bytes: 8 << 20 });
    }
}
