//! "Use this disk for the data" (docs/disks.md, "Moving the data"): which disks may be given the
//! data, and preparing one (as root, in the privileged helper): a GPT with one partition, a new
//! file system labelled `hearth-data`, and the data home record saying the next start copies.
//!
//! The daemon asks with [`UseForData`] in [`REQUEST_FILE`] under its data folder (the helper's
//! requests carry no arguments); the helper checks it again against the disks as it reads them
//! itself, so a disk swapped in the same port, or a request file written by anything else, is
//! refused rather than formatted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hearth_platform::child::{self, Limits};

use crate::data_home::{DATA_LABEL, DataFileSystem, DataHome, DataHomeRecord, FsUuid};
use crate::file_system::{self, PartitionTable};
use crate::inventory::{DeviceFolder, DeviceReader, Disk, Inventory};
use crate::{mountinfo, request_file};

/// The request file's name ([`crate::request_file`]).
pub const REQUEST_FILE: &str = "use-for-data.json";
/// Room kept free on the new disk beyond what the data uses now (1 GiB).
const ROOM: u64 = 1 << 30;
/// How long partitioning or making a file system may take.
const TOOL_TIME: Duration = Duration::from_secs(600);
/// How long the kernel gets to show the new partition.
const PARTITION_APPEARS: Duration = Duration::from_secs(10);

/// What the family asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UseForData {
    /// The disk's serial, as the Disks page showed it.
    pub serial: String,
    /// The file system to make.
    pub file_system: DataFileSystem,
    /// The family saw what the disk holds and agreed to erase it.
    pub erase: bool,
}

/// Why a disk may not be given the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No disk has that serial (unplugged, or never there).
    #[error("no disk with serial {0:?} is plugged in")]
    NoSuchDisk(String),
    /// The disk holds the running system.
    #[error("{0} holds the running system")]
    System(String),
    /// Something on it is mounted.
    #[error("{0} is in use ({1} is mounted): eject it first")]
    Mounted(String, String),
    /// The kernel says it is read-only.
    #[error("{0} is read-only (a write-protect switch?)")]
    ReadOnly(String),
    /// It could not be read.
    #[error("{0} {1}")]
    Unreadable(String, String),
    /// It holds something and the family did not say to erase it.
    #[error("{0} holds {1}: say to erase it if nothing on it is needed")]
    NotEmpty(String, String),
    /// Too small for the data.
    #[error("{0} has {1} bytes, and the data needs {2}")]
    TooSmall(String, u64, u64),
    /// A move was already asked for, or made.
    #[error("the data already lives on a disk, or a move to one is waiting for the next start")]
    AlreadyMoved,
}

impl Refusal {
    /// Whether the request named something that is not there (as opposed to a disk that is
    /// there but may not be used).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Refusal::NoSuchDisk(_))
    }
}

/// What a disk holds, in words, for [`Refusal::NotEmpty`] (none: blank).
pub fn contents(disk: &Disk) -> Option<String> {
    let kinds: Vec<String> = disk
        .volumes
        .iter()
        .map(|v| match &v.file_system {
            Some(fs) => match &fs.label {
                Some(label) => format!("{} \"{label}\"", fs.kind.as_str()),
                None => fs.kind.as_str().to_string(),
            },
            None => "a partition".to_string(),
        })
        .collect();
    let table = |t: PartitionTable| match t {
        PartitionTable::Gpt => "an empty GPT partition table".to_string(),
        PartitionTable::Mbr => "an empty MBR partition table".to_string(),
    };
    if kinds.is_empty() { disk.partition_table.map(table) } else { Some(kinds.join(", ")) }
}

/// May `request`'s disk be given the data, which uses `data_used` bytes now?
pub fn check<'a>(inventory: &'a Inventory, request: &UseForData, data_used: u64) -> Result<&'a Disk, Refusal> {
    let disk = inventory.by_serial(&request.serial).ok_or_else(|| Refusal::NoSuchDisk(request.serial.clone()))?;
    let name = format!("/dev/{}", disk.name);
    if disk.system {
        return Err(Refusal::System(name));
    }
    if let Some(m) = disk.volumes.iter().flat_map(|v| &v.mounts).next() {
        return Err(Refusal::Mounted(name, m.path.display().to_string()));
    }
    if disk.read_only {
        return Err(Refusal::ReadOnly(name));
    }
    if let Some(problem) = &disk.problem {
        return Err(Refusal::Unreadable(name, problem.clone()));
    }
    if !request.erase
        && let Some(what) = contents(disk)
    {
        return Err(Refusal::NotEmpty(name, what));
    }
    let needs = data_used.saturating_add(ROOM);
    if disk.size_bytes < needs {
        return Err(Refusal::TooSmall(name, disk.size_bytes, needs));
    }
    Ok(disk)
}

/// Where the helper finds things (the real ones on the appliance).
#[derive(Debug, Clone)]
pub struct Places {
    /// sysfs.
    pub sys: PathBuf,
    /// Device files.
    pub dev: PathBuf,
    /// The mount table.
    pub mountinfo: PathBuf,
    /// The data folder (its use decides the size needed; the request file is under it).
    pub data: PathBuf,
}

impl Places {
    /// The appliance's own.
    pub fn of_appliance(data: &Path) -> Places {
        Places { sys: "/sys".into(), dev: "/dev".into(), mountinfo: "/proc/self/mountinfo".into(), data: data.to_path_buf() }
    }

    /// The disks as they are now, read here.
    pub fn inventory(&self) -> Result<Inventory, String> {
        let text = std::fs::read_to_string(&self.mountinfo).map_err(|e| format!("{}: {e}", self.mountinfo.display()))?;
        let (mounts, _) = mountinfo::parse(&text);
        Ok(Inventory::read(&self.sys, &DeviceFolder(self.dev.clone()), &mounts))
    }
}

/// The helper's side: check the request again, partition and format the disk, and record that
/// the next start copies the data to it. Returns the new file system's UUID.
pub fn prepare(places: &Places, record: &DataHomeRecord) -> Result<FsUuid, String> {
    let request: UseForData = request_file::read(&places.data, REQUEST_FILE)?;
    match record.read()? {
        DataHome::Card { .. } => {}
        _ => return Err(Refusal::AlreadyMoved.to_string()),
    }
    let inventory = places.inventory()?;
    let devices = DeviceFolder(places.dev.clone());
    let (used, _) = data_use(&places.data)?;
    let disk = check(&inventory, &request, used).map_err(|e| e.to_string())?;
    let part = partition_whole(places, &disk.name)?;
    let made = match request.file_system {
        // 1% reserved for root: the data disk is hearth's alone.
        DataFileSystem::Ext4 => {
            child::run("mke2fs", &with_device(&["-q", "-F", "-t", "ext4", "-L", DATA_LABEL, "-m", "1"], &part), tool_limits())
        }
        // -K: no discard of the whole disk first, which takes minutes on some disks.
        DataFileSystem::Btrfs => child::run("mkfs.btrfs", &with_device(&["-q", "-f", "-K", "-L", DATA_LABEL], &part), tool_limits()),
    };
    made.map_err(|e| format!("making the {} file system on {} failed: {e}", request.file_system, part.display()))?;
    let part_name = part.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let head = devices.head(&part_name).map_err(|e| format!("{} cannot be read back: {e}", part.display()))?;
    let uuid = file_system::identify(&head)
        .and_then(|fs| fs.uuid)
        .ok_or_else(|| format!("the file system made on {} cannot be found again", part.display()))?;
    let uuid: FsUuid = uuid.parse()?;
    record
        .write(&DataHome::Copying { uuid: uuid.clone(), file_system: request.file_system })
        .map_err(|e| format!("the data home record cannot be written: {e}"))?;
    request_file::remove(&places.data, REQUEST_FILE);
    Ok(uuid)
}

/// Give disk `name` one partition over all of it (a GPT, 1 MiB aligned; old signatures wiped so
/// nothing, a RAID or LVM member's marks, survives to confuse the next reader) and wait for the
/// kernel to show it. Returns the partition's device file.
pub fn partition_whole(places: &Places, name: &str) -> Result<PathBuf, String> {
    let whole = places.dev.join(name);
    let table = b"label: gpt\n,,L\n";
    child::run_with_input("sfdisk", &with_device(&["-q", "--wipe=always", "--wipe-partitions=always"], &whole), table, tool_limits())
        .map_err(|e| format!("partitioning {} failed: {e}", whole.display()))?;
    let part_name = partition_name(name, 1);
    let part = places.dev.join(&part_name);
    wait_for_device(&places.sys, &part_name, &part)?;
    Ok(part)
}

pub(crate) fn with_device(args: &[&str], device: &Path) -> Vec<std::ffi::OsString> {
    args.iter().map(std::ffi::OsString::from).chain([device.as_os_str().to_owned()]).collect()
}

pub(crate) fn tool_limits() -> Limits {
    Limits { time: TOOL_TIME, address_space: 1 << 30 }
}

/// The kernel's name for partition `n` of disk `disk` (`sda1`, `nvme0n1p1`, `mmcblk0p1`).
pub fn partition_name(disk: &str, n: u32) -> String {
    if disk.ends_with(|c: char| c.is_ascii_digit()) { format!("{disk}p{n}") } else { format!("{disk}{n}") }
}

/// Wait until the kernel lists the new partition and its device file answers.
fn wait_for_device(sys: &Path, name: &str, dev: &Path) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if sys.join("class/block").join(name).exists() && std::fs::File::open(dev).is_ok() {
            return Ok(());
        }
        if started.elapsed() >= PARTITION_APPEARS {
            return Err(format!("the kernel did not show the new partition {} within {} s", dev.display(), PARTITION_APPEARS.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Bytes used and total on the file system holding `dir`.
pub fn data_use(dir: &Path) -> Result<(u64, u64), String> {
    let (free, total) = hearth_platform::durable::space(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((total.saturating_sub(free), total))
}

/// Where a file system was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The volumes holding it (several for a btrfs pool), by kernel name.
    pub volumes: Vec<String>,
    /// How many devices it has (a btrfs pool's superblock says; 1 otherwise).
    pub devices: u64,
}

impl Found {
    /// Some of a pool's devices are not plugged in.
    pub fn incomplete(&self) -> bool {
        (self.volumes.len() as u64) < self.devices
    }
}

/// The volumes holding the file system `uuid`, read from `sys` and `dev` (prepare-data, before
/// anything is mounted). Two file systems with that UUID (not members of one btrfs pool) are an
/// error: the data is never mounted from a guess.
pub fn find_file_system(sys: &Path, dev: &Path, uuid: &FsUuid) -> Result<Option<Found>, String> {
    let inventory = Inventory::read(sys, &DeviceFolder(dev.to_path_buf()), &[]);
    let found: Vec<(&str, Option<&crate::file_system::PoolMember>)> = inventory
        .disks
        .iter()
        .flat_map(|d| &d.volumes)
        .filter_map(|v| {
            let fs = v.file_system.as_ref()?;
            let theirs: FsUuid = fs.uuid.as_deref()?.parse().ok()?;
            (theirs == *uuid).then_some((v.name.as_str(), fs.pool.as_ref()))
        })
        .collect();
    let pool_ids: std::collections::BTreeSet<u64> = found.iter().filter_map(|(_, p)| p.map(|p| p.device_id)).collect();
    match found.as_slice() {
        [] => Ok(None),
        [(name, pool)] => Ok(Some(Found { volumes: vec![name.to_string()], devices: pool.map_or(1, |p| p.devices) })),
        // A pool's members each carry their own device id; two with one id are a clone.
        several if several.iter().all(|(_, pool)| pool.is_some()) && pool_ids.len() == several.len() => Ok(Some(Found {
            volumes: several.iter().map(|(n, _)| n.to_string()).collect(),
            devices: several.iter().filter_map(|(_, p)| p.map(|p| p.devices)).max().unwrap_or(1),
        })),
        several => Err(format!(
            "{} disks hold a file system with the UUID {uuid} ({}): unplug the one that is not the data disk",
            several.len(),
            several.iter().map(|(n, _)| format!("/dev/{n}")).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_follow_the_kernel() {
        assert_eq!(partition_name("sda", 1), "sda1");
        assert_eq!(partition_name("vdb", 1), "vdb1");
        assert_eq!(partition_name("nvme0n1", 1), "nvme0n1p1");
        assert_eq!(partition_name("mmcblk1", 2), "mmcblk1p2");
    }
}
