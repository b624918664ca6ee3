//! Where the family's data lives: the card's own data partition, or a disk it was moved to. The
//! record is kept on the card's boot partition as two alternating copies (`hearth-data-0.env`,
//! `hearth-data-1.env`; docs/disks.md, "The data home record"), read by `hearthd prepare-data`
//! at every start before any service runs, and written by the privileged helper and by
//! prepare-data itself.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use hearth_platform::alternating_copies::AlternatingCopies;

/// The two copies' names on the boot partition.
pub const COPIES: [&str; 2] = ["hearth-data-0.env", "hearth-data-1.env"];
/// A file left at the top of the card's data partition when its data moved to a disk (holding
/// the disk's UUID): should the record ever be lost or unreadable, the box sees that the card's
/// copy is stale and stops, rather than starting on old data. Never copied.
pub const MOVED_MARKER: &str = ".hearth-data-moved";
/// The label of a file system made for the data.
pub const DATA_LABEL: &str = "hearth-data";

/// The file systems a data disk may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFileSystem {
    /// ext4: checked at every start with `e2fsck -p`.
    Ext4,
    /// btrfs: checksums every block; the kind a mirror needs.
    Btrfs,
}

impl DataFileSystem {
    /// Its name, as `mount -t` and the record spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DataFileSystem::Ext4 => "ext4",
            DataFileSystem::Btrfs => "btrfs",
        }
    }
}

impl fmt::Display for DataFileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataFileSystem {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ext4" => Ok(DataFileSystem::Ext4),
            "btrfs" => Ok(DataFileSystem::Btrfs),
            other => Err(format!("{other:?} is not a file system for data (ext4 or btrfs)")),
        }
    }
}

/// A file system's UUID as blkid writes it (hex digits and dashes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FsUuid(String);

impl FsUuid {
    /// The UUID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for FsUuid {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = (4..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if ok { Ok(FsUuid(s.to_ascii_lowercase())) } else { Err(format!("{s:?} is not a file-system UUID")) }
    }
}

impl TryFrom<String> for FsUuid {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<FsUuid> for String {
    fn from(u: FsUuid) -> String {
        u.0
    }
}

impl fmt::Display for FsUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the data lives, as the next start will see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DataHome {
    /// The card's own data partition (a new box, or no whole record). `note` says why a move
    /// asked for was given up (the disk was missing at the start that should have copied).
    Card {
        /// Why the last move was given up, if one was.
        note: Option<String>,
    },
    /// A move was asked for and the disk prepared: the next start copies the card's data
    /// partition to it, verified, and then records [`DataHome::Disk`]. Until then the card's copy
    /// is the data, untouched (no service runs while this is the record).
    Copying {
        /// The file system made on the disk.
        uuid: FsUuid,
        /// Its kind.
        file_system: DataFileSystem,
    },
    /// The data lives on this file system, mounted at `/data`; the card's data partition keeps
    /// the copy it had when the move was made, never mounted again, until the family frees it.
    Disk {
        /// The file system.
        uuid: FsUuid,
        /// Its kind.
        file_system: DataFileSystem,
        /// Whether the card still holds its copy from before the move.
        card_copy: CardCopy,
    },
}

/// The card's copy of the data after a move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardCopy {
    /// Kept as it was at the move (until the family says the move went well).
    #[default]
    Kept,
    /// Emptied at the family's word (only the moved marker is left).
    Freed,
}

impl CardCopy {
    fn as_str(self) -> &'static str {
        match self {
            CardCopy::Kept => "kept",
            CardCopy::Freed => "freed",
        }
    }
}

impl DataHome {
    /// One copy's bytes as read from the boot partition: nothing when the copy is not whole,
    /// else the place it names or why it is not understood.
    pub fn from_copy(bytes: &[u8]) -> Option<Result<DataHome, String>> {
        hearth_platform::alternating_copies::whole_copy(bytes).map(|(_, vars)| DataHome::from_vars(&vars))
    }

    /// The text of a copy with sequence number `seq` (0, 1 or 2), as written to the partition.
    pub fn to_copy(&self, seq: u8) -> Vec<u8> {
        let mut vars = self.to_vars();
        vars.insert(hearth_platform::alternating_copies::FIRST_SEQ, seq.to_string());
        vars.insert(hearth_platform::alternating_copies::LAST_SEQ, seq.to_string());
        vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>().into_bytes()
    }

    fn to_vars(&self) -> BTreeMap<&'static str, String> {
        let mut v = BTreeMap::new();
        let (state, disk) = match self {
            DataHome::Card { note } => {
                if let Some(note) = note {
                    v.insert("data_note", one_line(note));
                }
                ("card", None)
            }
            DataHome::Copying { uuid, file_system } => ("copying", Some((uuid, file_system))),
            DataHome::Disk { uuid, file_system, card_copy } => {
                v.insert("data_card", card_copy.as_str().to_string());
                ("disk", Some((uuid, file_system)))
            }
        };
        v.insert("data_home", state.to_string());
        if let Some((uuid, fs)) = disk {
            v.insert("data_uuid", uuid.to_string());
            v.insert("data_fs", fs.to_string());
        }
        v
    }

    fn from_vars(vars: &BTreeMap<String, String>) -> Result<DataHome, String> {
        let get = |k: &str| vars.get(k).map(String::as_str).unwrap_or("");
        let disk = || -> Result<(FsUuid, DataFileSystem), String> { Ok((get("data_uuid").parse()?, get("data_fs").parse()?)) };
        match get("data_home") {
            "card" => Ok(DataHome::Card { note: vars.get("data_note").map(|n| one_line(n)).filter(|n| !n.is_empty()) }),
            "copying" => disk().map(|(uuid, file_system)| DataHome::Copying { uuid, file_system }),
            "disk" => {
                let card_copy = match vars.get("data_card").map(String::as_str) {
                    None | Some("kept") => CardCopy::Kept,
                    Some("freed") => CardCopy::Freed,
                    Some(other) => return Err(format!("data_card={other:?} is not kept or freed")),
                };
                disk().map(|(uuid, file_system)| DataHome::Disk { uuid, file_system, card_copy })
            }
            other => Err(format!("data_home={other:?} is not card, copying or disk")),
        }
    }
}

/// Which kind of place the data lives on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataOn {
    /// The card's own data partition.
    #[default]
    Card,
    /// A disk the data was moved to.
    Disk,
}

/// What `hearthd prepare-data` did with the data at this start, as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataStart {
    /// Where the data lives.
    pub on: DataOn,
    /// The data disk's file system, when on a disk.
    pub uuid: Option<FsUuid>,
    /// Its kind.
    pub file_system: Option<DataFileSystem>,
    /// This start moved the data to the disk: what the copy did.
    pub moved: Option<crate::data_copy::CopyReport>,
    /// A move asked for that this start gave up, and why (the data stayed on the card).
    pub given_up: Option<String>,
    /// A disk of the data's btrfs pool was missing at this start: it was mounted degraded.
    #[serde(default)]
    pub degraded: bool,
    /// With the data on a disk: whether the card still holds its copy from before the move.
    #[serde(default)]
    pub card_copy: Option<CardCopy>,
    /// With the data on a disk: the card's data partition (`/dev/mmcblk0p4`), which holds that
    /// copy.
    #[serde(default)]
    pub card_partition: Option<String>,
}

/// A note as one line: the record is line-based (a carriage return would end it early when read).
fn one_line(note: &str) -> String {
    note.replace(['\n', '\r', '\0'], " ")
}

/// The record's two copies in a folder (the boot partition's mount, or a test's folder).
#[derive(Debug, Clone)]
pub struct DataHomeRecord {
    copies: AlternatingCopies,
}

impl DataHomeRecord {
    /// The copies in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DataHomeRecord {
        DataHomeRecord { copies: AlternatingCopies::new(dir, COPIES) }
    }

    /// The copies in `dir`, mounted read-only: a write remounts it for its duration (root).
    pub fn on_read_only_mount(dir: impl Into<PathBuf>) -> DataHomeRecord {
        DataHomeRecord { copies: AlternatingCopies::on_read_only_mount(dir, COPIES) }
    }

    /// Where the data lives. No whole copy is the card (a new box); a whole copy that says
    /// something else than this module writes is an error, never a guess: guessing "card" would
    /// start the box on a stale copy of data that lives on a disk.
    pub fn read(&self) -> Result<DataHome, String> {
        match self.copies.read() {
            None => Ok(DataHome::Card { note: None }),
            Some(w) => DataHome::from_vars(&w.vars)
                .map_err(|e| format!("{} on the boot partition is not understood: {e}", self.copies.names()[w.index])),
        }
    }

    /// Record `home` over the older copy, flushed and read back.
    pub fn write(&self, home: &DataHome) -> std::io::Result<()> {
        let header = "Where Hearth's data lives (docs/disks.md, \"The data home record\"); written by Hearth";
        // The copy written, as read back by `write`.
        let written = self.copies.write(header, &home.to_vars())?;
        match DataHome::from_vars(&written.vars) {
            Ok(back) if back.to_vars() == home.to_vars() => Ok(()),
            _ => {
                Err(std::io::Error::other(format!("the data home record in {} does not read back as written", self.copies.dir().display())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_goes_card_copying_disk_and_survives_a_torn_write() {
        let dir = tempfile::tempdir().expect("dir");
        let record = DataHomeRecord::new(dir.path());
        assert_eq!(record.read(), Ok(DataHome::Card { note: None }));
        let uuid: FsUuid = "0B8E4C2A-1D3F-4E5A-9B7C-6D5E4F3A2B1C".parse().expect("uuid");
        assert_eq!(uuid.as_str(), "0b8e4c2a-1d3f-4e5a-9b7c-6d5e4f3a2b1c");
        let copying = DataHome::Copying { uuid: uuid.clone(), file_system: DataFileSystem::Ext4 };
        record.write(&copying).expect("copying");
        assert_eq!(record.read(), Ok(copying.clone()));
        let disk = DataHome::Disk { uuid, file_system: DataFileSystem::Ext4, card_copy: CardCopy::Kept };
        record.write(&disk).expect("disk");
        // A power cut while the disk record was written: the copying record counts (and the
        // next start copies again, which finds the files already there).
        let torn = std::fs::read(dir.path().join(COPIES[1])).expect("read");
        std::fs::write(dir.path().join(COPIES[1]), &torn[..torn.len() - 20]).expect("tear");
        assert_eq!(record.read(), Ok(copying));
        record.write(&DataHome::Card { note: Some("the disk\nwas missing".into()) }).expect("card");
        assert_eq!(record.read(), Ok(DataHome::Card { note: Some("the disk was missing".into()) }));
    }

    #[test]
    fn a_record_it_does_not_understand_is_an_error_not_the_card() {
        let dir = tempfile::tempdir().expect("dir");
        for text in [
            "hearth_0seq=0\ndata_home=disk\ndata_uuid=../../etc\ndata_fs=ext4\nhearth_zseq=0\n",
            "hearth_0seq=0\ndata_home=disk\ndata_uuid=1234-abcd\ndata_fs=zfs\nhearth_zseq=0\n",
            "hearth_0seq=0\ndata_home=somewhere\nhearth_zseq=0\n",
        ] {
            std::fs::write(dir.path().join(COPIES[0]), text).expect("write");
            assert!(DataHomeRecord::new(dir.path()).read().is_err(), "{text}");
        }
    }
}
