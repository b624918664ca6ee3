//! Safe removal (docs/disks.md, "Eject"): every file system of a disk unmounted, and a disk on a
//! SCSI bus (USB and SATA disks) detached so it spins down and may be pulled. A file system that
//! something still holds is not torn away: the refusal names the programs holding it, found by
//! the device of their open files, working folders and mapped files.
//!
//! The disk holding the system or the family's data is refused: every service writes there, and
//! pausing them all would stop the box (the Box page's "turn off" is for that).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use hearth_platform::child;

use crate::data_disk::{Places, tool_limits};
use crate::request_file;

/// The request file of [`EjectRequest`] ([`crate::request_file`]).
pub const EJECT_REQUEST: &str = "eject.json";

/// Which disk to eject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EjectRequest {
    /// The disk's serial, as the Disks page showed it.
    pub serial: String,
}

/// A program holding a file system open.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its name (`/proc/<pid>/comm`).
    pub name: String,
}

/// Why a disk cannot be ejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EjectRefusal {
    /// No disk has that serial.
    #[error("no disk with serial {0:?} is plugged in")]
    NoSuchDisk(String),
    /// It holds the running system or the family's data.
    #[error("{0} holds the running system or the family's data: turn the box off to unplug it")]
    System(String),
    /// Something still has files open on it.
    #[error("{path} is in use by {}: close what uses it and eject again", names(.holders))]
    Held {
        /// The mount point.
        path: String,
        /// Who holds it.
        holders: Vec<Holder>,
    },
    /// Unmounting failed for another reason.
    #[error("{0}")]
    Failed(String),
}

impl EjectRefusal {
    /// The request named a disk that is not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EjectRefusal::NoSuchDisk(_))
    }
}

fn names(holders: &[Holder]) -> String {
    if holders.is_empty() {
        return "the kernel (nothing a program holds: a swap file, a loop device, another mount)".into();
    }
    holders.iter().map(|h| format!("{} (process {})", h.name, h.pid)).collect::<Vec<_>>().join(", ")
}

/// What an eject did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ejected {
    /// The mount points unmounted.
    pub unmounted: Vec<PathBuf>,
    /// The disk was detached from its bus (spun down; it may be pulled).
    pub detached: bool,
}

/// The processes under `proc` (`/proc`) with a file open, a working or root folder, or a mapped
/// file on the file system whose device number is `dev` (as `stat` gives it for its mount
/// point). Processes that vanish meanwhile, or cannot be looked into, are skipped.
pub fn holders(proc: &Path, dev: u64) -> Vec<Holder> {
    let Ok(entries) = std::fs::read_dir(proc) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let dir = entry.path();
        let on_it = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.dev() == dev);
        let mut holds = on_it(&dir.join("cwd")) || on_it(&dir.join("root"));
        if !holds && let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
            holds = fds.flatten().any(|fd| on_it(&fd.path()));
        }
        if !holds && let Ok(files) = std::fs::read_dir(dir.join("map_files")) {
            holds = files.flatten().any(|f| on_it(&f.path()));
        }
        if holds {
            let name = std::fs::read_to_string(dir.join("comm")).map(|n| n.trim().to_string()).unwrap_or_else(|_| "?".into());
            found.push(Holder { pid, name });
        }
    }
    found.sort_by_key(|h| h.pid);
    found
}

/// The helper's side: eject the disk the request file names (checked on root's own reading).
pub fn eject(places: &Places, proc: &Path) -> Result<Ejected, EjectRefusal> {
    let request: EjectRequest = request_file::read(&places.data, EJECT_REQUEST).map_err(EjectRefusal::Failed)?;
    request_file::remove(&places.data, EJECT_REQUEST);
    let inventory = places.inventory().map_err(EjectRefusal::Failed)?;
    let disk = inventory.by_serial(&request.serial).ok_or_else(|| EjectRefusal::NoSuchDisk(request.serial.clone()))?;
    if disk.system {
        return Err(EjectRefusal::System(format!("/dev/{}", disk.name)));
    }
    let mut done = Ejected::default();
    // Deepest first: a mount inside another's folder goes before it.
    let mut mounts: Vec<PathBuf> = disk.volumes.iter().flat_map(|v| &v.mounts).map(|m| m.path.clone()).collect();
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in mounts {
        let dev = std::fs::metadata(&path).map(|m| m.dev()).ok();
        match child::run("umount", &[path.as_os_str()], tool_limits()) {
            Ok(_) => done.unmounted.push(path),
            Err(e) => {
                // Busy: say who holds it. Another failure: say it as it is.
                let holders = dev.map(|d| holders(proc, d)).unwrap_or_default();
                let text = e.to_string();
                if holders.is_empty() && !text.contains("busy") {
                    return Err(EjectRefusal::Failed(format!("{} could not be unmounted: {text}", path.display())));
                }
                return Err(EjectRefusal::Held { path: path.display().to_string(), holders });
            }
        }
    }
    // A SCSI disk (USB, SATA) is flushed and detached: it spins down and the kernel lets it go.
    // Others (virtio, NVMe, SD) have nothing more to do once unmounted.
    let delete = places.sys.join("block").join(&disk.name).join("device/delete");
    if disk.name.starts_with("sd") && delete.exists() {
        std::fs::write(&delete, b"1").map_err(|e| EjectRefusal::Failed(format!("{} could not be detached: {e}", disk.name)))?;
        done.detached = true;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_holds_the_file_system_of_its_open_file() {
        let dir = tempfile::tempdir().expect("test fixture");
        let file = std::fs::File::create(dir.path().join("open")).expect("test fixture");
        let dev = std::fs::metadata(dir.path()).expect("test fixture").dev();
        let found = holders(Path::new("/proc"), dev);
        assert!(found.iter().any(|h| h.pid == std::process::id()), "{found:?}");
        drop(file);
        // A device nothing is on.
        assert!(holders(Path::new("/proc"), u64::MAX).is_empty());
    }

    #[test]
    fn a_refusal_names_the_holders() {
        let r = EjectRefusal::Held { path: "/media/x".into(), holders: vec![Holder { pid: 7, name: "sh".into() }] };
        assert_eq!(r.to_string(), "/media/x is in use by sh (process 7): close what uses it and eject again");
    }
}
