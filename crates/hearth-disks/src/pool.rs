//! The data's btrfs pool (docs/disks.md, "Mirrors"): a data disk with btrfs can be given a
//! second disk, and the pool then keeps two copies of everything (btrfs `raid1`), so either disk
//! can fail without losing a photo.
//!
//! What the pool is doing is read from the kernel's sysfs (`/sys/fs/btrfs/<uuid>/`, readable by
//! the unprivileged daemon) and the inventory: which devices it has and which are missing, their
//! error counters, the profiles its chunks use, and the operation running (a balance, a device
//! replace). Changing it (adding a disk, replacing a missing one, converting chunks, scrubbing)
//! is root's: the privileged helper does it with btrfs-progs, the long parts left to the kernel
//! in the background so the helper keeps answering.

use std::collections::BTreeSet;
use std::path::Path;

use hearth_platform::child::{self, Limits};

use crate::data_disk::{self, Places, UseForData, tool_limits, with_device};
use crate::data_home::{DataFileSystem, DataHome, DataHomeRecord, FsUuid};
use crate::inventory::Inventory;
use crate::request_file;

/// The request file of [`MirrorRequest`] ([`crate::request_file`]).
pub const MIRROR_REQUEST: &str = "mirror.json";
/// Where the scrubs' results are kept, under the data folder (root writes, the daemon reads).
pub const SCRUBS: &str = "system/disks/scrubs.json";
/// How many scrubs' results are kept.
const SCRUBS_KEPT: usize = 24;
/// How often the pool is scrubbed (a month).
pub const SCRUB_EVERY_SECONDS: i64 = 30 * 24 * 3600;

/// How the pool stands, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolState {
    /// A device of the pool is missing: everything is still there, on one disk only.
    Degraded,
    /// Two disks, and some chunks are not yet copied to both (after a disk was added or
    /// replaced, or written while degraded); a balance converts them.
    Converting,
    /// Two (or more) disks, every chunk on two of them.
    Mirrored,
    /// One disk: no second copy.
    Single,
}

/// One device of the pool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolDevice {
    /// Its id in the pool (1, 2, …).
    pub id: u64,
    /// The partition holding it (`sdb1`), when it is plugged in.
    pub volume: Option<String>,
    /// Its disk's serial, when it is plugged in.
    pub serial: Option<String>,
    /// The kernel lost it, or it is not among the disks plugged in.
    pub missing: bool,
    /// The kernel's error counters for it since the pool was made.
    pub errors: DeviceErrors,
}

/// btrfs's error counters for one device (`devinfo/<id>/error_stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceErrors {
    /// Writes that failed.
    pub write: u64,
    /// Reads that failed.
    pub read: u64,
    /// Cache flushes that failed.
    pub flush: u64,
    /// Blocks whose checksum did not match.
    pub corruption: u64,
    /// Blocks older than they should be (a write the disk lost).
    pub generation: u64,
}

impl DeviceErrors {
    /// Any at all.
    pub fn any(&self) -> bool {
        [self.write, self.read, self.flush, self.corruption, self.generation].iter().any(|&n| n > 0)
    }
}

/// The pool as the kernel and the inventory show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolStatus {
    /// How it stands.
    pub state: PoolState,
    /// Its devices (a replace's target, while it runs, is not one yet).
    pub devices: Vec<PoolDevice>,
    /// The profiles its chunks use, as `data:raid1`, `metadata:dup`, ….
    pub profiles: Vec<String>,
    /// The long operation running (`balance`, `device replace`, …), if any.
    pub operation: Option<String>,
    /// The last scrub's results, when there was one.
    pub last_scrub: Option<ScrubRecord>,
}

/// Profiles that keep two copies on two devices.
const MIRRORING: [&str; 4] = ["raid1", "raid1c3", "raid1c4", "raid10"];

impl PoolStatus {
    /// A balance should convert chunks to raid1 now: two disks, all there, some chunks with one
    /// copy (or two on one disk), and nothing else running.
    pub fn needs_converting(&self) -> bool {
        self.state == PoolState::Converting && self.operation.is_none()
    }

    /// The devices the kernel knows but that are gone.
    pub fn missing(&self) -> impl Iterator<Item = &PoolDevice> {
        self.devices.iter().filter(|d| d.missing)
    }
}

/// The pool `uuid` as the kernel shows it under `sys` (`/sys`), its devices matched with the
/// inventory's volumes; `None` when it is not mounted.
pub fn read(sys: &Path, uuid: &FsUuid, inventory: &Inventory) -> Option<PoolStatus> {
    let root = sys.join("fs/btrfs").join(uuid.as_str());
    let devinfo = std::fs::read_dir(root.join("devinfo")).ok()?;
    let members: Vec<(u64, &str, Option<&str>, u64)> = inventory
        .disks
        .iter()
        .flat_map(|d| d.volumes.iter().map(move |v| (d, v)))
        .filter_map(|(d, v)| {
            let fs = v.file_system.as_ref()?;
            let theirs: FsUuid = fs.uuid.as_deref()?.parse().ok()?;
            let pool = fs.pool.as_ref()?;
            (theirs == *uuid).then_some((pool.device_id, v.name.as_str(), d.serial.as_deref(), pool.devices))
        })
        .collect();
    let mut ids: Vec<u64> = devinfo.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).filter(|&id| id != 0).collect();
    ids.sort_unstable();
    let mut devices: Vec<PoolDevice> = ids
        .iter()
        .map(|&id| {
            let dir = root.join("devinfo").join(id.to_string());
            let member = members.iter().find(|m| m.0 == id);
            let kernel_missing = std::fs::read_to_string(dir.join("missing")).is_ok_and(|t| t.trim() == "1");
            // When the inventory could read no member at all (not root, in a development
            // checkout), only the kernel's word counts.
            let unplugged = !members.is_empty() && member.is_none();
            PoolDevice {
                id,
                volume: member.map(|m| m.1.to_string()),
                serial: member.and_then(|m| m.2.map(str::to_string)),
                missing: kernel_missing || unplugged,
                errors: std::fs::read_to_string(dir.join("error_stats")).map(|t| parse_error_stats(&t)).unwrap_or_default(),
            }
        })
        .collect();
    // The superblock's count covers a device the kernel never saw at this mount.
    let expected = members.iter().map(|m| m.3).max().unwrap_or(0);
    for id in 1..=expected {
        if devices.len() as u64 >= expected {
            break;
        }
        if !devices.iter().any(|d| d.id == id) {
            devices.push(PoolDevice { id, volume: None, serial: None, missing: true, errors: DeviceErrors::default() });
        }
    }
    let profiles = read_profiles(&root.join("allocation"));
    let operation = std::fs::read_to_string(root.join("exclusive_operation"))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|op| !op.is_empty() && op != "none");
    let present = devices.iter().filter(|d| !d.missing).count();
    let all_mirrored = !profiles.is_empty() && profiles.iter().all(|p| MIRRORING.iter().any(|m| p.ends_with(&format!(":{m}"))));
    let state = if devices.iter().any(|d| d.missing) {
        PoolState::Degraded
    } else if present >= 2 && (!all_mirrored || operation.is_some()) {
        PoolState::Converting
    } else if present >= 2 {
        PoolState::Mirrored
    } else {
        PoolState::Single
    };
    Some(PoolStatus { state, devices, profiles, operation, last_scrub: None })
}

/// `allocation/{data,metadata,system}/<profile>/` with chunks in them.
fn read_profiles(allocation: &Path) -> Vec<String> {
    let mut found = BTreeSet::new();
    for kind in ["data", "metadata", "system"] {
        let Ok(entries) = std::fs::read_dir(allocation.join(kind)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let used = std::fs::read_to_string(path.join("total_bytes")).ok().and_then(|t| t.trim().parse::<u64>().ok());
            if path.is_dir() && used.is_some_and(|b| b > 0) {
                found.insert(format!("{kind}:{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found.into_iter().collect()
}

/// `write_errs 0\nread_errs 3\n…`; unknown lines are skipped.
pub fn parse_error_stats(text: &str) -> DeviceErrors {
    let mut e = DeviceErrors::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(Ok(n))) = (words.next(), words.next().map(str::parse::<u64>)) else { continue };
        match name {
            "write_errs" => e.write = n,
            "read_errs" => e.read = n,
            "flush_errs" => e.flush = n,
            "corruption_errs" => e.corruption = n,
            "generation_errs" => e.generation = n,
            _ => {}
        }
    }
    e
}

/// What the family asked of the pool, naming a disk by serial.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MirrorRequest {
    /// Add the disk as the second copy, or put it in the place of a missing one.
    pub action: MirrorAction,
    /// The disk's serial, as the Disks page showed it.
    pub serial: String,
    /// The family saw what the disk holds and agreed to erase it.
    pub erase: bool,
}

/// [`MirrorRequest`]'s action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorAction {
    /// A pool of one disk gets a second.
    Add,
    /// A degraded pool gets a disk in the place of the missing one.
    Replace,
}

/// Why a mirror request cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorRefusal {
    /// The data is not on a btrfs disk.
    #[error("the data is not on a btrfs disk: move it to a disk with btrfs first")]
    NotBtrfs,
    /// The pool is not mounted (the kernel shows nothing of it).
    #[error("the data's btrfs pool is not mounted")]
    NotMounted,
    /// Adding, but the pool already has two disks.
    #[error("the data is already on two disks")]
    AlreadyMirrored,
    /// Adding, but a disk of the pool is missing.
    #[error("a disk of the data's pool is missing: put this disk in its place rather than adding it")]
    Degraded,
    /// Replacing, but no device is missing.
    #[error("no disk of the data's pool is missing: nothing to replace")]
    NothingMissing,
    /// Another long operation is running.
    #[error("the pool is busy ({0}): try again when it is done")]
    Busy(String),
    /// The disk itself may not be used.
    #[error(transparent)]
    Disk(#[from] data_disk::Refusal),
}

impl MirrorRefusal {
    /// The request named a disk that is not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MirrorRefusal::Disk(r) if r.is_not_found())
    }
}

/// May `request` be done to `pool` (`None`: not mounted) with the disks in `inventory`? `used` is
/// what the data uses now (the new disk must hold it all).
pub fn check<'a>(
    inventory: &'a Inventory,
    pool: Option<&PoolStatus>,
    request: &MirrorRequest,
    used: u64,
) -> Result<&'a crate::Disk, MirrorRefusal> {
    let pool = pool.ok_or(MirrorRefusal::NotMounted)?;
    match request.action {
        MirrorAction::Add if pool.missing().next().is_some() => return Err(MirrorRefusal::Degraded),
        MirrorAction::Add if pool.devices.len() >= 2 => return Err(MirrorRefusal::AlreadyMirrored),
        MirrorAction::Replace if pool.missing().next().is_none() => return Err(MirrorRefusal::NothingMissing),
        _ => {}
    }
    if let Some(op) = &pool.operation {
        return Err(MirrorRefusal::Busy(op.clone()));
    }
    let as_data = UseForData { serial: request.serial.clone(), file_system: DataFileSystem::Btrfs, erase: request.erase };
    Ok(data_disk::check(inventory, &as_data, used)?)
}

/// The data's pool UUID, when the data lives on a btrfs disk (root's side: the record says where).
fn data_pool_uuid(record: &DataHomeRecord) -> Result<FsUuid, String> {
    match record.read()? {
        DataHome::Disk { uuid, file_system: DataFileSystem::Btrfs, .. } => Ok(uuid),
        _ => Err(MirrorRefusal::NotBtrfs.to_string()),
    }
}

/// The helper's side of a [`MirrorRequest`]: checked again on root's own reading, the disk
/// partitioned, and then added (a balance converts every chunk to two copies, in the kernel's
/// background) or put in the place of the missing device (`btrfs replace`, in the background;
/// the conversion of chunks written while degraded follows through [`tend`]).
pub fn change(places: &Places, record: &DataHomeRecord) -> Result<(), String> {
    let request: MirrorRequest = request_file::read(&places.data, MIRROR_REQUEST)?;
    let uuid = data_pool_uuid(record)?;
    let inventory = places.inventory()?;
    let pool = read(&places.sys, &uuid, &inventory);
    let (used, _) = data_disk::data_use(&places.data)?;
    let disk = check(&inventory, pool.as_ref(), &request, used).map_err(|e| e.to_string())?;
    let missing = pool.as_ref().and_then(|p| p.missing().next().map(|d| d.id));
    let part = data_disk::partition_whole(places, &disk.name)?;
    request_file::remove(&places.data, MIRROR_REQUEST);
    let data = places.data.as_os_str().to_owned();
    match request.action {
        MirrorAction::Add => {
            // -K: no discard of the whole disk first (minutes on some disks).
            let mut args = with_device(&["device", "add", "-f", "-K"], &part);
            args.push(data);
            child::run("btrfs", &args, tool_limits()).map_err(|e| format!("adding {} to the pool failed: {e}", part.display()))?;
            convert(places)
        }
        MirrorAction::Replace => {
            let Some(id) = missing else { return Err(MirrorRefusal::NothingMissing.to_string()) };
            // A scrub running would refuse the replace; the monthly one starts again later.
            let _ = child::run("btrfs", &[std::ffi::OsStr::new("scrub"), "cancel".as_ref(), places.data.as_os_str()], tool_limits());
            // -r: read from the other copy (the missing device cannot be read); without -B
            // btrfs-progs checks the target, then leaves the copy to the kernel and returns.
            let id = id.to_string();
            let mut args: Vec<std::ffi::OsString> = ["replace", "start", "-r", "-f", id.as_str()].map(Into::into).to_vec();
            args.push(part.into_os_string());
            args.push(data);
            child::run("btrfs", &args, tool_limits()).map(|_| ()).map_err(|e| format!("replacing device {id} failed: {e}"))
        }
    }
}

/// Start a balance converting every chunk to two copies (only those not already so), in the
/// kernel's background.
fn convert(places: &Places) -> Result<(), String> {
    let args: Vec<std::ffi::OsString> = ["balance", "start", "--bg", "-dconvert=raid1,soft", "-mconvert=raid1,soft"]
        .into_iter()
        .map(Into::into)
        .chain([places.data.as_os_str().to_owned()])
        .collect();
    child::run("btrfs", &args, tool_limits()).map(|_| ()).map_err(|e| format!("converting the pool to two copies failed to start: {e}"))
}

/// Root's regular look at the pool (each time the disks are read, `inventory` as just read): when
/// it has two disks, all there, and some chunks with one copy (after a replace, or writes while
/// degraded), start converting them. Says what it did, if anything.
pub fn tend(places: &Places, record: &DataHomeRecord, inventory: &Inventory) -> Option<String> {
    let uuid = data_pool_uuid(record).ok()?;
    if !read(&places.sys, &uuid, inventory)?.needs_converting() {
        return None;
    }
    Some(match convert(places) {
        Ok(()) => "started converting the pool's chunks to two copies".into(),
        Err(e) => e,
    })
}

/// One scrub's results.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScrubRecord {
    /// When it started (Unix seconds).
    pub started: i64,
    /// How long it ran (seconds).
    pub seconds: u64,
    /// How many bytes it read and checked.
    pub bytes: u64,
    /// Errors found (read, checksum, verify, superblock).
    pub errors: u64,
    /// Of those, repaired from the other copy.
    pub corrected: u64,
    /// Of those, not repairable (the block's only good copy is gone).
    pub uncorrectable: u64,
    /// btrfs's own word (`finished`, `aborted`, `interrupted`), or why it could not run.
    pub status: String,
}

/// `btrfs scrub start -B -R`'s counters, summed (one block per device with `-d`).
pub fn parse_scrub(text: &str, started: i64, seconds: u64) -> ScrubRecord {
    let mut r = ScrubRecord { started, seconds, bytes: 0, errors: 0, corrected: 0, uncorrectable: 0, status: "finished".into() };
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim(), value.trim());
        if name == "Status" {
            r.status = value.to_string();
            continue;
        }
        let Ok(n) = value.parse::<u64>() else { continue };
        match name {
            "data_bytes_scrubbed" | "tree_bytes_scrubbed" => r.bytes = r.bytes.saturating_add(n),
            "read_errors" | "csum_errors" | "verify_errors" | "super_errors" => r.errors = r.errors.saturating_add(n),
            "corrected_errors" => r.corrected = r.corrected.saturating_add(n),
            "uncorrectable_errors" => r.uncorrectable = r.uncorrectable.saturating_add(n),
            _ => {}
        }
    }
    r
}

/// Scrub the data's pool now, waiting for the end (root's side; run on a thread of its own: a
/// scrub of a big disk takes hours), and add the results to [`SCRUBS`].
pub fn scrub(places: &Places, now: i64) -> ScrubRecord {
    let started = std::time::Instant::now();
    let args: Vec<&std::ffi::OsStr> = vec!["scrub".as_ref(), "start".as_ref(), "-B".as_ref(), "-R".as_ref(), places.data.as_os_str()];
    // A day at most per terabyte is far beyond any disk's speed; a hung scrub is stopped.
    let limits = Limits { time: std::time::Duration::from_secs(7 * 24 * 3600), address_space: 1 << 30 };
    let record = match child::run("btrfs", &args, limits) {
        Ok(out) => parse_scrub(&String::from_utf8_lossy(&out.stdout), now, started.elapsed().as_secs()),
        // Errors it could not repair end it with status 3, its counters printed all the same.
        Err(child::ChildError::Failed { stdout, .. }) if String::from_utf8_lossy(&stdout).contains("uncorrectable_errors") => {
            parse_scrub(&String::from_utf8_lossy(&stdout), now, started.elapsed().as_secs())
        }
        Err(e) => ScrubRecord {
            started: now,
            seconds: started.elapsed().as_secs(),
            bytes: 0,
            errors: 0,
            corrected: 0,
            uncorrectable: 0,
            status: e.to_string(),
        },
    };
    let file = places.data.join(SCRUBS);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut all = read_scrubs(&places.data);
    all.push(record.clone());
    let from = all.len().saturating_sub(SCRUBS_KEPT);
    let written = serde_json::to_vec_pretty(&all[from..])
        .map_err(std::io::Error::other)
        .and_then(|json| hearth_platform::durable::write_atomic(&file, &json, 0o644));
    if let Err(e) = written {
        tracing::warn!(error = %e, file = %file.display(), "the scrub's results could not be kept");
    }
    record
}

/// The scrubs' results kept under `data`, oldest first (none when there are none or they
/// cannot be read).
pub fn read_scrubs(data: &Path) -> Vec<ScrubRecord> {
    std::fs::read(data.join(SCRUBS)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Is a scrub due, `now`, after `last`?
pub fn scrub_due(last: Option<&ScrubRecord>, now: i64) -> bool {
    last.is_none_or(|l| now - l.started >= SCRUB_EVERY_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_counters_are_read_and_odd_lines_skipped() {
        let e = parse_error_stats("write_errs 2\nread_errs 0\nflush_errs x\ncorruption_errs 5\ngeneration_errs 1\nnew_errs 9\n");
        assert_eq!(e, DeviceErrors { write: 2, read: 0, flush: 0, corruption: 5, generation: 1 });
        assert!(e.any());
        assert!(!parse_error_stats("").any());
    }

    #[test]
    fn scrub_output_is_summed() {
        let text = "scrub done for 0f4e\nScrub started:    Tue Dec  8 01:00:00 2026\nStatus:           finished\nDuration:         0:00:03\n\tdata_extents_scrubbed: 3\n\tdata_bytes_scrubbed: 196608\n\ttree_bytes_scrubbed: 278528\n\tread_errors: 1\n\tcsum_errors: 2\n\tverify_errors: 0\n\tsuper_errors: 0\n\tuncorrectable_errors: 1\n\tcorrected_errors: 2\n\tlast_physical: 0\n";
        let r = parse_scrub(text, 100, 3);
        assert_eq!(
            r,
            ScrubRecord { started: 100, seconds: 3, bytes: 475136, errors: 3, corrected: 2, uncorrectable: 1, status: "finished".into() }
        );
        assert!(scrub_due(None, 0));
        assert!(!scrub_due(Some(&r), 100 + SCRUB_EVERY_SECONDS - 1));
        assert!(scrub_due(Some(&r), 100 + SCRUB_EVERY_SECONDS));
    }

    const UUID: &str = "0f4e7d3a-1111-2222-3333-444455556666";

    /// A kernel's `/sys/fs/btrfs/<uuid>` with devices `ids` (missing ones marked), chunks of
    /// `profiles` and `operation` running.
    fn sysfs(ids: &[(u64, bool)], profiles: &[&str], operation: &str) -> tempfile::TempDir {
        let sys = tempfile::tempdir().expect("test fixture");
        let root = sys.path().join("fs/btrfs").join(UUID);
        for (id, missing) in ids {
            let dir = root.join("devinfo").join(id.to_string());
            std::fs::create_dir_all(&dir).expect("test fixture");
            std::fs::write(dir.join("missing"), if *missing { "1\n" } else { "0\n" }).expect("test fixture");
            std::fs::write(dir.join("error_stats"), format!("write_errs {}\nread_errs 0\n", if *missing { 4 } else { 0 }))
                .expect("test fixture");
        }
        for p in profiles {
            let (kind, profile) = p.split_once(':').expect("test fixture");
            let dir = root.join("allocation").join(kind).join(profile);
            std::fs::create_dir_all(&dir).expect("test fixture");
            std::fs::write(dir.join("total_bytes"), "1073741824\n").expect("test fixture");
        }
        // A profile whose chunks are all gone says 0 bytes: not counted.
        let gone = root.join("allocation/data/single");
        if !gone.exists() {
            std::fs::create_dir_all(&gone).expect("test fixture");
            std::fs::write(gone.join("total_bytes"), "0\n").expect("test fixture");
        }
        std::fs::write(root.join("exclusive_operation"), format!("{operation}\n")).expect("test fixture");
        sys
    }

    /// Disks plugged in, each `(name, serial, device id)` holding a member of a pool of `devices`.
    fn plugged(members: &[(&str, &str, u64)], devices: u64) -> Inventory {
        let disks: Vec<serde_json::Value> = members
            .iter()
            .map(|(name, serial, id)| {
                serde_json::json!({
                    "name": name, "vendor": null, "model": null, "serial": serial, "size_bytes": 1u64 << 32, "transport": "virtio",
                    "rotational": false, "removable": false, "read_only": false, "partition_table": "gpt", "system": true,
                    "health": null, "problem": null,
                    "volumes": [{"name": format!("{name}1"), "number": 1, "size_bytes": 1u64 << 32, "problem": null, "mounts": [],
                        "file_system": {"kind": "btrfs", "uuid": UUID, "label": "hearth-data",
                            "pool": {"devices": devices, "device_id": id, "device_uuid": format!("{id}-sub")}}}],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "disks": disks })).expect("test fixture")
    }

    #[test]
    fn a_pool_is_read_from_the_kernel_and_the_disks() {
        let uuid: FsUuid = UUID.parse().expect("test fixture");
        // One disk.
        let sys = sysfs(&[(1, false)], &["data:single", "metadata:dup", "system:dup"], "none");
        let one = read(sys.path(), &uuid, &plugged(&[("vdb", "A", 1)], 1)).expect("test fixture");
        assert_eq!(one.state, PoolState::Single);
        assert_eq!(one.profiles, ["data:single", "metadata:dup", "system:dup"]);
        assert!(!one.needs_converting());
        // A second disk just added: converting, by a balance or (none running) to be started.
        let sys = sysfs(&[(1, false), (2, false)], &["data:single", "metadata:dup", "system:dup"], "balance");
        let two = plugged(&[("vdb", "A", 1), ("vdc", "B", 2)], 2);
        let adding = read(sys.path(), &uuid, &two).expect("test fixture");
        assert_eq!((adding.state, adding.operation.as_deref()), (PoolState::Converting, Some("balance")));
        assert!(!adding.needs_converting(), "a balance is running already");
        let sys = sysfs(&[(1, false), (2, false)], &["data:raid1", "data:single", "metadata:raid1", "system:raid1"], "none");
        assert!(read(sys.path(), &uuid, &two).expect("test fixture").needs_converting());
        // Every chunk on both: mirrored; the disks are named.
        let sys = sysfs(&[(1, false), (2, false)], &["data:raid1", "metadata:raid1", "system:raid1"], "none");
        let mirrored = read(sys.path(), &uuid, &two).expect("test fixture");
        assert_eq!(mirrored.state, PoolState::Mirrored);
        assert_eq!(mirrored.devices[1].serial.as_deref(), Some("B"));
        assert_eq!(mirrored.devices[1].volume.as_deref(), Some("vdc1"));
        // Pulled while running (the kernel still lists it): degraded, by the disks plugged in.
        let pulled = read(sys.path(), &uuid, &plugged(&[("vdb", "A", 1)], 2)).expect("test fixture");
        assert_eq!(pulled.state, PoolState::Degraded);
        assert_eq!(pulled.missing().map(|d| d.id).collect::<Vec<_>>(), [2]);
        // Started without it (mounted degraded: the kernel says missing).
        let sys = sysfs(&[(1, false), (2, true)], &["data:raid1", "data:single", "metadata:raid1", "system:raid1"], "none");
        let degraded = read(sys.path(), &uuid, &plugged(&[("vdb", "A", 1)], 2)).expect("test fixture");
        assert_eq!(degraded.state, PoolState::Degraded);
        assert_eq!(degraded.devices[1].errors.write, 4);
        assert!(!degraded.needs_converting(), "nothing is converted with a disk missing");
        // The superblock counts a device the kernel never listed.
        let sys = sysfs(&[(1, false)], &["data:raid1", "metadata:raid1", "system:raid1"], "none");
        let unseen = read(sys.path(), &uuid, &plugged(&[("vdb", "A", 1)], 2)).expect("test fixture");
        assert_eq!((unseen.state, unseen.devices.len()), (PoolState::Degraded, 2));
        // Not mounted: nothing.
        assert!(read(tempfile::tempdir().expect("test fixture").path(), &uuid, &two).is_none());
    }

    #[test]
    fn mirror_requests_are_checked_against_the_pool() {
        let uuid: FsUuid = UUID.parse().expect("test fixture");
        let mut disks = plugged(&[("vdb", "A", 1)], 1);
        let spare = plugged(&[("vdc", "SPARE", 1)], 1).disks.remove(0);
        let mut spare = spare;
        spare.system = false;
        spare.volumes.clear();
        spare.partition_table = None;
        disks.disks.push(spare);
        let sys = sysfs(&[(1, false)], &["data:single", "metadata:dup", "system:dup"], "none");
        let single = read(sys.path(), &uuid, &disks).expect("test fixture");
        let add = MirrorRequest { action: MirrorAction::Add, serial: "SPARE".into(), erase: false };
        assert_eq!(check(&disks, Some(&single), &add, 1 << 20).expect("test fixture").name, "vdc");
        let replace = MirrorRequest { action: MirrorAction::Replace, ..add.clone() };
        assert_eq!(check(&disks, Some(&single), &replace, 1 << 20).expect_err("refused"), MirrorRefusal::NothingMissing);
        assert_eq!(check(&disks, None, &add, 1 << 20).expect_err("refused"), MirrorRefusal::NotMounted);
        let system = MirrorRequest { serial: "A".into(), ..add.clone() };
        assert!(matches!(check(&disks, Some(&single), &system, 1 << 20), Err(MirrorRefusal::Disk(data_disk::Refusal::System(_)))));
        let nobody = MirrorRequest { serial: "NOBODY".into(), ..add.clone() };
        assert!(check(&disks, Some(&single), &nobody, 1 << 20).expect_err("refused").is_not_found());
        let busy = PoolStatus { operation: Some("balance".into()), ..single.clone() };
        assert_eq!(check(&disks, Some(&busy), &add, 1 << 20).expect_err("refused"), MirrorRefusal::Busy("balance".into()));
        let too_much = check(&disks, Some(&single), &add, 1 << 40).expect_err("refused");
        assert!(matches!(too_much, MirrorRefusal::Disk(data_disk::Refusal::TooSmall(..))), "{too_much:?}");
        let degraded = PoolStatus {
            state: PoolState::Degraded,
            devices: vec![
                single.devices[0].clone(),
                PoolDevice { id: 2, volume: None, serial: None, missing: true, errors: DeviceErrors::default() },
            ],
            ..single.clone()
        };
        assert_eq!(check(&disks, Some(&degraded), &add, 1 << 20).expect_err("refused"), MirrorRefusal::Degraded);
        assert_eq!(check(&disks, Some(&degraded), &replace, 1 << 20).expect("test fixture").name, "vdc");
    }
}
