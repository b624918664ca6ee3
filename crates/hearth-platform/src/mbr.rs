//! The MBR (DOS) partition table of the boot card: read it, and grow its last partition to the end
//! of the card.
//!
//! The image is written with a small data partition; the first boot grows it to fill whatever card
//! the family flashed (docs/image.md). Every Hearth board boots from an MBR card (the Raspberry
//! Pi's firmware needs one), so GPT is refused with a clear error rather than half-supported.
//! The sector comes from a disk that may hold anything: parsing never panics (fuzz target `mbr`).

use std::fmt;

/// Bytes in a sector as the partition table counts them.
pub const SECTOR: u64 = 512;
const ENTRIES_AT: usize = 446;
const ENTRY_LEN: usize = 16;
/// MBR partition type of a GPT protective entry.
const GPT_PROTECTIVE: u8 = 0xee;
/// Extended partition types: their entries chain further tables, which Hearth does not use.
const EXTENDED: [u8; 3] = [0x05, 0x0f, 0x85];

/// One primary partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// 1 to 4, as in `/dev/vda4`.
    pub number: u8,
    /// The partition type byte (0x0c FAT32 LBA, 0x83 Linux).
    pub kind: u8,
    /// First sector.
    pub first: u64,
    /// Length in sectors.
    pub sectors: u64,
}

impl Partition {
    /// The sector after the last one.
    pub fn end(&self) -> u64 {
        self.first + self.sectors
    }
}

/// Why a sector is not a partition table Hearth can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MbrError {
    /// Fewer than 512 bytes.
    Short(usize),
    /// No 0x55 0xAA at the end of the sector.
    NoSignature,
    /// A GPT disk.
    Gpt,
    /// Two partitions share sectors.
    Overlap(u8, u8),
    /// The partition asked for is not in the table.
    NoSuchPartition(u8),
    /// The partition to grow is not the last one on the disk.
    NotLast(u8),
}

impl fmt::Display for MbrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MbrError::Short(n) => write!(f, "the partition table sector is {n} bytes, not 512"),
            MbrError::NoSignature => write!(f, "the disk has no MBR partition table (no 55 AA signature)"),
            MbrError::Gpt => write!(f, "the disk has a GPT partition table; Hearth's card layout is MBR"),
            MbrError::Overlap(a, b) => write!(f, "partitions {a} and {b} overlap"),
            MbrError::NoSuchPartition(n) => write!(f, "the disk has no partition {n}"),
            MbrError::NotLast(n) => write!(f, "partition {n} is not the last one on the disk, so it cannot grow"),
        }
    }
}

impl std::error::Error for MbrError {}

/// A parsed MBR sector; edits change only the entry they touch.
#[derive(Clone)]
pub struct Mbr {
    sector: [u8; 512],
}

impl Mbr {
    /// Parse the first sector of a disk.
    pub fn parse(sector: &[u8]) -> Result<Mbr, MbrError> {
        let sector: [u8; 512] = sector.get(..512).and_then(|s| s.try_into().ok()).ok_or(MbrError::Short(sector.len()))?;
        if sector[510] != 0x55 || sector[511] != 0xaa {
            return Err(MbrError::NoSignature);
        }
        let mbr = Mbr { sector };
        let parts = mbr.partitions();
        if parts.iter().any(|p| p.kind == GPT_PROTECTIVE) {
            return Err(MbrError::Gpt);
        }
        for (i, a) in parts.iter().enumerate() {
            for b in &parts[i + 1..] {
                if a.first < b.end() && b.first < a.end() {
                    return Err(MbrError::Overlap(a.number, b.number));
                }
            }
        }
        Ok(mbr)
    }

    /// The used primary entries (type not 0 and length not 0), in table order.
    pub fn partitions(&self) -> Vec<Partition> {
        (0..4u8)
            .filter_map(|i| {
                let e = &self.sector[ENTRIES_AT + usize::from(i) * ENTRY_LEN..][..ENTRY_LEN];
                let first = u64::from(u32::from_le_bytes([e[8], e[9], e[10], e[11]]));
                let sectors = u64::from(u32::from_le_bytes([e[12], e[13], e[14], e[15]]));
                (e[4] != 0 && sectors != 0).then_some(Partition { number: i + 1, kind: e[4], first, sectors })
            })
            .collect()
    }

    /// Partition `number`.
    pub fn partition(&self, number: u8) -> Result<Partition, MbrError> {
        self.partitions().into_iter().find(|p| p.number == number).ok_or(MbrError::NoSuchPartition(number))
    }

    /// The size partition `number` would have if it ran to the last whole `align` (sectors) of a
    /// disk of `disk_sectors`, when that is at least `align` more than now; `None` when it already
    /// fills the disk. MBR counts sectors in 32 bits, so a partition stops at 2 TiB.
    pub fn grown_size(&self, number: u8, disk_sectors: u64, align: u64) -> Result<Option<u64>, MbrError> {
        let target = self.partition(number)?;
        if self.partitions().iter().any(|p| p.number != number && p.end() > target.first) {
            return Err(MbrError::NotLast(number));
        }
        if EXTENDED.contains(&target.kind) {
            return Err(MbrError::NotLast(number));
        }
        let align = align.max(1);
        let end = disk_sectors / align * align;
        let sectors = end.saturating_sub(target.first).min(u64::from(u32::MAX));
        Ok((sectors >= target.sectors + align).then_some(sectors))
    }

    /// Set partition `number`'s length. The CHS end is set to the "use LBA" marker, as every tool
    /// does for partitions past 8 GiB.
    pub fn set_sectors(&mut self, number: u8, sectors: u64) -> Result<(), MbrError> {
        self.partition(number)?;
        let at = ENTRIES_AT + usize::from(number - 1) * ENTRY_LEN;
        let sectors = u32::try_from(sectors).unwrap_or(u32::MAX);
        self.sector[at + 5..at + 8].copy_from_slice(&[0xfe, 0xff, 0xff]);
        self.sector[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
        Ok(())
    }

    /// The sector to write back.
    pub fn bytes(&self) -> &[u8; 512] {
        &self.sector
    }
}

/// Build an MBR sector from `(kind, first, sectors)` entries: for tests and fixtures.
pub fn build(entries: &[(u8, u32, u32)]) -> [u8; 512] {
    let mut s = [0u8; 512];
    for (i, (kind, first, sectors)) in entries.iter().take(4).enumerate() {
        let at = ENTRIES_AT + i * ENTRY_LEN;
        s[at + 4] = *kind;
        s[at + 8..at + 12].copy_from_slice(&first.to_le_bytes());
        s[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The qemu-aarch64 image's layout: boot 32 MiB, two 96 MiB root slots, 16 MiB data.
    fn image() -> [u8; 512] {
        build(&[(0x0c, 2048, 65536), (0x83, 67584, 196608), (0x83, 264192, 196608), (0x83, 460800, 32768)])
    }

    #[test]
    fn reads_the_image_layout() {
        let mbr = Mbr::parse(&image()).expect("parse");
        let parts = mbr.partitions();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[3], Partition { number: 4, kind: 0x83, first: 460800, sectors: 32768 });
    }

    #[test]
    fn grows_the_last_partition_to_the_aligned_end() {
        let mut mbr = Mbr::parse(&image()).expect("parse");
        let disk = 4 * 1024 * 1024 * 2 + 100; // 4 GiB and a bit, in sectors
        let size = mbr.grown_size(4, disk, 2048).expect("plan").expect("grows");
        assert_eq!(460800 + size, 4 * 1024 * 1024 * 2);
        mbr.set_sectors(4, size).expect("set");
        let again = Mbr::parse(mbr.bytes()).expect("parse");
        assert_eq!(again.partition(4).expect("p4").sectors, size);
        assert_eq!(again.partition(3).expect("p3"), Mbr::parse(&image()).expect("p").partition(3).expect("p3"));
        assert_eq!(again.grown_size(4, disk, 2048), Ok(None), "a second boot does nothing");
    }

    #[test]
    fn refuses_what_it_must_not_touch() {
        assert_eq!(Mbr::parse(&[0u8; 100]).err(), Some(MbrError::Short(100)));
        assert_eq!(Mbr::parse(&[0u8; 512]).err(), Some(MbrError::NoSignature));
        assert_eq!(Mbr::parse(&build(&[(0xee, 1, 1000)])).err(), Some(MbrError::Gpt));
        assert_eq!(Mbr::parse(&build(&[(0x83, 2048, 4096), (0x83, 4000, 10)])).err(), Some(MbrError::Overlap(1, 2)));
        let mbr = Mbr::parse(&build(&[(0x83, 2048, 4096), (0x83, 10000, 10)])).expect("parse");
        assert_eq!(mbr.grown_size(1, 1 << 20, 2048), Err(MbrError::NotLast(1)));
        assert_eq!(mbr.grown_size(3, 1 << 20, 2048), Err(MbrError::NoSuchPartition(3)));
        // Less than one alignment unit to gain: left alone.
        let mbr = Mbr::parse(&build(&[(0x83, 2048, 4096)])).expect("parse");
        assert_eq!(mbr.grown_size(1, 2048 + 4096 + 100, 2048), Ok(None));
    }
}
