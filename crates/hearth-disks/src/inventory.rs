//! The disks of the box as a family sees them: each disk from sysfs, what each partition (or the
//! whole disk) holds from its first bytes, and where it is mounted. Reading a device's first
//! bytes needs read access to `/dev/<name>`; where that is refused (hearthd unprivileged on a
//! development machine) the partition says so instead of guessing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::file_system::{self, FileSystem, HEAD_BYTES, PartitionTable};
use crate::mountinfo::Mount;
use crate::sysfs::{self, SysDisk, Transport};

/// Mount points that mean a disk holds the running system (never offered for anything else).
pub const SYSTEM_MOUNTS: [&str; 3] = ["/", "/boot", "/data"];

/// Where something is mounted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MountPoint {
    /// The mount point.
    pub path: PathBuf,
    /// Mounted read-only.
    pub read_only: bool,
}

/// A partition, or the whole of a disk without a partition table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Volume {
    /// The kernel's name (`sdb1`; the disk's own name for a whole-disk file system).
    pub name: String,
    /// Its number in the partition table (0 for a whole disk).
    pub number: u32,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// What it holds; `None`: nothing Hearth recognises (or it could not be read: see `problem`).
    pub file_system: Option<FileSystem>,
    /// Where it is mounted.
    pub mounts: Vec<MountPoint>,
    /// Why it could not be read, or what is wrong with it (another disk has the same UUID).
    pub problem: Option<String>,
}

/// One disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disk {
    /// The kernel's name (`sda`, `nvme0n1`, `mmcblk0`).
    pub name: String,
    /// The vendor, when the kernel knows one.
    pub vendor: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The serial number (a disk is chosen for data by its serial: docs/disks.md).
    pub serial: Option<String>,
    /// Size in bytes.
    pub size_bytes: u64,
    /// How it is attached.
    pub transport: Transport,
    /// Spinning.
    pub rotational: bool,
    /// Removable medium.
    pub removable: bool,
    /// The kernel refuses writes to it.
    pub read_only: bool,
    /// Its partition table; `None` with a whole-disk file system or nothing at all.
    pub partition_table: Option<PartitionTable>,
    /// Its partitions, or one volume for a whole-disk file system; empty for a blank disk.
    pub volumes: Vec<Volume>,
    /// It holds the running system (a volume mounted at `/`, `/boot` or `/data`).
    pub system: bool,
    /// Its health as smartctl last read it (`None`: not read yet, or an SD card, which has none).
    pub health: Option<crate::smart::SmartReport>,
    /// Why its first bytes could not be read.
    pub problem: Option<String>,
}

/// Every disk, and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inventory {
    /// The disks, by kernel name.
    pub disks: Vec<Disk>,
}

/// Reads the first bytes of a device: `/dev/<name>` in the real box, a folder of image files in
/// tests.
pub trait DeviceReader {
    /// Up to [`HEAD_BYTES`] from the start of the device called `name`.
    fn head(&self, name: &str) -> std::io::Result<Vec<u8>>;
}

/// Devices as files in a folder (`/dev`).
#[derive(Debug, Clone)]
pub struct DeviceFolder(pub PathBuf);

impl DeviceReader for DeviceFolder {
    fn head(&self, name: &str) -> std::io::Result<Vec<u8>> {
        let file = std::fs::File::open(self.0.join(name))?;
        let mut head = Vec::with_capacity(HEAD_BYTES);
        file.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
        Ok(head)
    }
}

/// Why a device could not be read, in words.
fn unreadable(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "cannot be read: permission denied".into(),
        std::io::ErrorKind::NotFound => "has no device file".into(),
        _ => format!("cannot be read: {e}"),
    }
}

impl Inventory {
    /// The inventory from a sysfs root, a device reader and the mount table.
    pub fn read(sys: &Path, devices: &dyn DeviceReader, mounts: &[Mount]) -> Inventory {
        let mut disks: Vec<Disk> = sysfs::disks(sys).into_iter().map(|d| disk(d, devices, mounts)).collect();
        mark_duplicate_uuids(&mut disks);
        mark_system_pool_members(&mut disks);
        Inventory { disks }
    }

    /// The disk with this serial.
    pub fn by_serial(&self, serial: &str) -> Option<&Disk> {
        self.disks.iter().find(|d| d.serial.as_deref() == Some(serial))
    }
}

fn mounts_of(device: Option<(u32, u32)>, mounts: &[Mount]) -> Vec<MountPoint> {
    let Some(device) = device else { return Vec::new() };
    mounts.iter().filter(|m| m.device == device).map(|m| MountPoint { path: m.mount_point.clone(), read_only: m.read_only }).collect()
}

fn disk(sys: SysDisk, devices: &dyn DeviceReader, mounts: &[Mount]) -> Disk {
    let (mut partition_table, mut problem, mut volumes) = (None, None, Vec::new());
    let whole_mounts = mounts_of(sys.device, mounts);
    let whole = match devices.head(&sys.name) {
        Err(e) => {
            problem = Some(unreadable(&e));
            None
        }
        Ok(head) => {
            let whole = file_system::identify(&head);
            partition_table = if whole.is_some() { None } else { file_system::partition_table(&head) };
            whole
        }
    };
    // A file system on the whole disk; or, unreadable, a whole disk that is mounted (what is
    // mounted is known from the mount table even when the device cannot be read).
    if sys.partitions.is_empty() && (whole.is_some() || !whole_mounts.is_empty()) {
        volumes.push(Volume {
            name: sys.name.clone(),
            number: 0,
            size_bytes: sys.size_bytes,
            file_system: whole,
            mounts: whole_mounts,
            // The disk's own problem says why, once.
            problem: None,
        });
    }
    for p in &sys.partitions {
        let (file_system, problem) = match devices.head(&p.name) {
            Ok(head) => (file_system::identify(&head), None),
            Err(e) => (None, Some(unreadable(&e))),
        };
        volumes.push(Volume {
            name: p.name.clone(),
            number: p.number,
            size_bytes: p.size_bytes,
            file_system,
            mounts: mounts_of(p.device, mounts),
            problem,
        });
    }
    let system = volumes.iter().flat_map(|v| &v.mounts).any(|m| SYSTEM_MOUNTS.iter().any(|s| m.path == Path::new(s)));
    Disk {
        name: sys.name,
        vendor: sys.vendor,
        model: sys.model,
        serial: sys.serial,
        size_bytes: sys.size_bytes,
        transport: sys.transport,
        rotational: sys.rotational,
        removable: sys.removable,
        read_only: sys.read_only,
        partition_table,
        volumes,
        system,
        health: None,
        problem,
    }
}

/// The mount table names one device of a btrfs pool; the pool's other members hold the system
/// (or the data) just as much, and are never offered for anything else either.
fn mark_system_pool_members(disks: &mut [Disk]) {
    let system_pools: Vec<String> = disks
        .iter()
        .filter(|d| d.system)
        .flat_map(|d| &d.volumes)
        .filter_map(|v| v.file_system.as_ref().filter(|fs| fs.pool.is_some()).and_then(|fs| fs.uuid.clone()))
        .collect();
    for d in disks.iter_mut().filter(|d| !d.system) {
        d.system = d.volumes.iter().any(|v| {
            v.file_system.as_ref().filter(|fs| fs.pool.is_some()).and_then(|fs| fs.uuid.as_ref()).is_some_and(|u| system_pools.contains(u))
        });
    }
}

/// Two file systems with one UUID (a disk cloned with `dd`, two copies of one image) cannot be
/// told apart by the UUID roles are remembered by: both say so, and neither is given a role
/// until one is changed. btrfs pool members share the pool's UUID by design and are not flagged.
fn mark_duplicate_uuids(disks: &mut [Disk]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for v in disks.iter().flat_map(|d| &d.volumes) {
        if let Some(uuid) = v.file_system.as_ref().filter(|fs| fs.pool.is_none()).and_then(|fs| fs.uuid.as_ref()) {
            *seen.entry(uuid.clone()).or_default() += 1;
        }
    }
    for v in disks.iter_mut().flat_map(|d| d.volumes.iter_mut()) {
        let duplicate = v.file_system.as_ref().filter(|fs| fs.pool.is_none()).and_then(|fs| fs.uuid.as_ref()).is_some_and(|u| seen[u] > 1);
        if duplicate {
            v.problem = Some("another file system has the same UUID: change one (tune2fs -U, btrfstune -u) before giving it a role".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk holding one btrfs pool member (of `uuid`), mounted at `mount` or not.
    fn member(name: &str, uuid: &str, id: u64, mount: Option<&str>) -> Disk {
        let json = serde_json::json!({
            "name": name, "vendor": null, "model": null, "serial": name, "size_bytes": 1u64 << 32, "transport": "virtio",
            "rotational": false, "removable": false, "read_only": false, "partition_table": "gpt",
            "system": mount.is_some_and(|m| SYSTEM_MOUNTS.contains(&m)), "health": null, "problem": null,
            "volumes": [{"name": format!("{name}1"), "number": 1, "size_bytes": 1u64 << 32, "problem": null,
                "mounts": mount.map(|m| vec![serde_json::json!({"path": m, "read_only": false})]).unwrap_or_default(),
                "file_system": {"kind": "btrfs", "uuid": uuid, "label": null, "pool": {"devices": 2, "device_id": id, "device_uuid": "x"}}}],
        });
        serde_json::from_value(json).expect("a disk")
    }

    #[test]
    fn every_member_of_the_datas_pool_holds_the_data() {
        let data = "0f4e7d3a-1111-2222-3333-444455556666";
        let other = "9999aaaa-1111-2222-3333-444455556666";
        let mut disks = vec![
            member("vdb", data, 1, Some("/data")),
            member("vdc", data, 2, None),
            member("vdd", other, 1, None),
            member("vde", other, 2, Some("/media/x")),
        ];
        mark_system_pool_members(&mut disks);
        let system: Vec<bool> = disks.iter().map(|d| d.system).collect();
        assert_eq!(system, [true, true, false, false], "the data pool's unmounted member too; another pool's not");
    }
}
