//! `hearthd prepare-data`: the image's boot step that makes the data partition usable, run by
//! `/etc/init.d/rcS` before hearthd starts (docs/image.md, "The data partition").
//!
//! 1. Grow partition N to the end of the card (first boot: the image carries a small one).
//! 2. Look at what it holds: an ext4 filesystem is checked (`e2fsck -p`); a partition whose first
//!    MiB is all zeros is formatted (`mke2fs -t ext4`); anything else is left alone: it may be
//!    somebody's data, and Hearth never formats a partition that holds data.
//! 3. Mount it and grow the filesystem to the partition (`resize2fs`, online).
//!
//! Where the data lives is the boot partition's data home record (docs/disks.md, "Moving the
//! data"): the card's partition as above, or a disk mounted by its file system's UUID. A move
//! asked for is made here, before any service runs: the card's data is copied to the new disk,
//! every file read back and compared, and only then does the record name the disk.
//!
//! Whatever happens, a status file says so (`ready`, or a [`Problem`] the trouble page shows), and
//! the exit status is 0 only when the data is mounted.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use hearth_api::trouble::Problem;
use hearth_disks::data_copy;
use hearth_disks::data_disk;
use hearth_disks::data_home::{CardCopy, DataFileSystem, DataHome, DataHomeRecord, DataOn, DataStart, FsUuid, MOVED_MARKER};
use hearth_platform::block_device::{self, Contents};
use hearth_platform::durable;
use hearth_platform::mbr::{self, Mbr};
use serde::{Deserialize, Serialize};

/// Flags of `hearthd prepare-data`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The boot card (`/dev/vda`, `/dev/mmcblk0`).
    #[arg(long)]
    pub disk: PathBuf,
    /// The data partition's number on it.
    #[arg(long, default_value_t = 4)]
    pub partition: u8,
    /// Where to mount it.
    #[arg(long, default_value = "/data")]
    pub mount: PathBuf,
    /// Where to write the outcome (JSON), read by `hearthd --appliance --data-status`.
    #[arg(long, default_value = STATUS)]
    pub status: PathBuf,
    /// The boot partition's mount (read-only), which holds the data home record.
    #[arg(long, default_value = "/run/hearth/boot")]
    pub boot: PathBuf,
}

/// Where the outcome is written on the appliance.
pub const STATUS: &str = "/run/hearth/data.json";

/// Where a disk being given the data is mounted while the data is copied to it.
const NEW_DATA: &str = "/run/hearth/new-data";
/// How long a data disk gets to show up at boot (USB disks take seconds to enumerate).
const DISK_APPEARS: std::time::Duration = std::time::Duration::from_secs(30);

/// What `prepare-data` found, as the status file holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataStatus {
    /// `ready` or `trouble`.
    pub state: String,
    /// The partition's device file.
    pub device: String,
    /// Whether this boot grew the partition.
    pub grew: bool,
    /// Whether this boot formatted it.
    pub formatted: bool,
    /// Present when `state` is `trouble`.
    pub problem: Option<Problem>,
    /// Where the data lives, and a move made or given up at this start.
    #[serde(default)]
    pub home: DataStart,
}

/// Alignment of the grown partition's end: 1 MiB in sectors.
const ALIGN: u64 = 2048;

fn problem(kind: &str, problem: String, what_to_do: &str) -> Problem {
    Problem { kind: kind.into(), problem, what_to_do: what_to_do.into() }
}

/// `hearthd prepare-data`
pub fn main(args: &Args) -> ExitCode {
    let device = block_device::partition_path(&args.disk, args.partition);
    let mut status = DataStatus {
        state: "ready".into(),
        device: device.display().to_string(),
        grew: false,
        formatted: false,
        problem: None,
        home: DataStart::default(),
    };
    if let Err(p) = by_record(args, &device, &mut status) {
        eprintln!("hearthd prepare-data: {}\n  what to do: {}", p.problem, p.what_to_do);
        status.state = "trouble".into();
        status.problem = Some(p);
    }
    let text = serde_json::to_string_pretty(&status).unwrap_or_default();
    if let Some(dir) = args.status.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&args.status, text) {
        eprintln!("hearthd prepare-data: cannot write {}: {e}", args.status.display());
    }
    if status.problem.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Mount the data where the record says it lives, making a move it asks for.
fn by_record(args: &Args, card_device: &Path, status: &mut DataStatus) -> Result<(), Problem> {
    let record = DataHomeRecord::on_read_only_mount(&args.boot);
    let home = record.read().map_err(|e| {
        problem(
            "damaged",
            format!("where the data lives cannot be told: {e}"),
            "Nothing was changed. The boot partition's hearth-data-0.env and hearth-data-1.env say where your data lives; ask for help rather than guessing, since starting on an old copy could hide newer photos.",
        )
    })?;
    match home {
        DataHome::Card { .. } => {
            prepare(args, card_device, status)?;
            let marker = args.mount.join(MOVED_MARKER);
            if let Ok(uuid) = std::fs::read_to_string(&marker) {
                let _ = run(Command::new("umount").arg(&args.mount), &[0]);
                return Err(problem(
                    "missing",
                    format!(
                        "the data on this card was moved to a disk (file system {}), and the boot partition's record of it cannot be read",
                        uuid.trim()
                    ),
                    "Nothing was changed. The card's copy is older than the disk's, so the box does not start on it. Ask for help: the record (hearth-data-0.env on the boot partition) names the disk.",
                ));
            }
            Ok(())
        }
        DataHome::Disk { uuid, file_system, card_copy } => {
            let degraded = mount_disk(&uuid, file_system, &args.mount)?;
            status.device = format!("UUID={uuid}");
            status.home = DataStart {
                on: DataOn::Disk,
                uuid: Some(uuid),
                file_system: Some(file_system),
                degraded,
                card_copy: Some(card_copy),
                card_partition: Some(card_device.display().to_string()),
                ..DataStart::default()
            };
            Ok(())
        }
        DataHome::Copying { uuid, file_system } => {
            prepare(args, card_device, status)?;
            match move_to_disk(&args.mount, &uuid, file_system) {
                Ok(report) => {
                    // From here on the disk is the data; the card keeps its copy, unmounted,
                    // marked stale first (a marker alone, with the record still "copying", only
                    // means the next start copies again: the copy skips the marker).
                    durable::write_atomic(&args.mount.join(MOVED_MARKER), uuid.as_str().as_bytes(), 0o644)
                        .map_err(|e| problem("damaged", format!("the card's data partition could not be marked as moved: {e}"), RESTART))?;
                    record.write(&DataHome::Disk { uuid: uuid.clone(), file_system, card_copy: CardCopy::Kept }).map_err(|e| {
                        problem(
                            "damaged",
                            format!("the data was copied to the disk but the boot partition could not record it: {e}"),
                            "Restart the box: the copy is checked again and the record written again.",
                        )
                    })?;
                    run(Command::new("umount").arg(&args.mount), &[0])
                        .map_err(|e| problem("damaged", format!("the card's data partition could not be unmounted: {e}"), RESTART))?;
                    let degraded = mount_disk(&uuid, file_system, &args.mount)?;
                    status.device = format!("UUID={uuid}");
                    status.home = DataStart {
                        on: DataOn::Disk,
                        uuid: Some(uuid),
                        file_system: Some(file_system),
                        moved: Some(report),
                        given_up: None,
                        degraded,
                        card_copy: Some(CardCopy::Kept),
                        card_partition: Some(card_device.display().to_string()),
                    };
                }
                Err(why) => {
                    eprintln!("hearthd prepare-data: the move to the disk is given up: {why}");
                    let note = format!("{why}; the data stays on the card");
                    if let Err(e) = record.write(&DataHome::Card { note: Some(note.clone()) }) {
                        eprintln!("hearthd prepare-data: the boot partition could not record it: {e}");
                    }
                    status.home.given_up = Some(note);
                }
            }
            Ok(())
        }
    }
}

const RESTART: &str = "Restart the box; if this stays, ask for help. Nothing was erased.";

/// Find the file system `uuid` (waiting for a disk that is slow to show up), check it and mount it
/// at `at`. A btrfs pool with a disk missing is mounted degraded (everything is on the disk
/// left), which the Disks page reports; `Ok(true)` says so.
fn mount_disk(uuid: &FsUuid, file_system: DataFileSystem, at: &Path) -> Result<bool, Problem> {
    let found = wait_for(uuid)?.ok_or_else(|| {
        problem(
            "missing",
            format!("the disk that holds the data (file system {uuid}) is not plugged in"),
            "Plug the disk that holds your data back in and restart the box. The card's own copy is from before the data moved and is not used.",
        )
    })?;
    let device = Path::new("/dev").join(&found.volumes[0]);
    if file_system == DataFileSystem::Ext4 {
        run(Command::new("e2fsck").arg("-p").arg(&device), &[0, 1]).map_err(|e| {
            problem(
                "damaged",
                format!("the data file system on {} has errors that need a decision: {e}", device.display()),
                "Nothing was changed. Connect the disk to a Linux computer and run `e2fsck -f` on it, or ask for help; your backups are safe either way.",
            )
        })?;
    }
    std::fs::create_dir_all(at).ok();
    let degraded = found.incomplete();
    if degraded {
        eprintln!(
            "hearthd prepare-data: {} of the data pool's {} disks are plugged in: starting on what is there (degraded)",
            found.volumes.len(),
            found.devices
        );
    }
    mount_found(&found, at, file_system, degraded).map_err(|e| {
        problem(
            "damaged",
            format!("the data disk {} cannot be mounted: {e}", device.display()),
            "Restart the box; if this stays, the disk may be failing.",
        )
    })?;
    Ok(degraded)
}

/// Mount what `found` holds at `at`: a btrfs pool with each member named (no udev here to tell
/// the kernel about them), `degraded` when members are missing.
fn mount_found(found: &data_disk::Found, at: &Path, file_system: DataFileSystem, degraded: bool) -> Result<(), String> {
    let mut options = String::from("noatime");
    if file_system == DataFileSystem::Btrfs {
        for name in &found.volumes {
            options.push_str(&format!(",device=/dev/{name}"));
        }
        if degraded {
            options.push_str(",degraded");
        }
    }
    let device = Path::new("/dev").join(&found.volumes[0]);
    run(Command::new("mount").args(["-t", file_system.as_str(), "-o", &options]).arg(&device).arg(at), &[0])
}

/// The volumes holding `uuid`, waiting up to [`DISK_APPEARS`] for them (for each member of a
/// pool; after that, whichever are there).
fn wait_for(uuid: &FsUuid) -> Result<Option<data_disk::Found>, Problem> {
    let started = std::time::Instant::now();
    loop {
        match data_disk::find_file_system(Path::new("/sys"), Path::new("/dev"), uuid) {
            Ok(Some(found)) if !found.incomplete() => return Ok(Some(found)),
            Ok(found) if started.elapsed() >= DISK_APPEARS => return Ok(found),
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(500)),
            Err(e) => return Err(problem("foreign", e, "Unplug the disk that is not the data disk (a copy of it) and restart the box.")),
        }
    }
}

/// Copy the card's data (mounted at `card`) to the new disk, verified. An error says why in
/// words; the card is untouched either way.
fn move_to_disk(card: &Path, uuid: &FsUuid, file_system: DataFileSystem) -> Result<data_copy::CopyReport, String> {
    let found = match wait_for(uuid) {
        Ok(Some(found)) if !found.incomplete() => found,
        Ok(_) => return Err(format!("the disk chosen for the data (file system {uuid}) was not plugged in")),
        Err(p) => return Err(p.problem),
    };
    let device = Path::new("/dev").join(&found.volumes[0]);
    let new = Path::new(NEW_DATA);
    std::fs::create_dir_all(new).map_err(|e| format!("{NEW_DATA}: {e}"))?;
    mount_found(&found, new, file_system, false).map_err(|e| format!("the new data disk {} cannot be mounted: {e}", device.display()))?;
    eprintln!("hearthd prepare-data: copying the data from the card to {} (every file is read back and compared)", device.display());
    let copied = data_copy::copy_verified(card, new, &mut |count| {
        eprintln!("hearthd prepare-data: copying: {} files, {} MiB so far", count.files, count.bytes >> 20);
    });
    let unmounted = run(Command::new("umount").arg(new), &[0]);
    let report = copied.map_err(|e| e.to_string())?;
    unmounted.map_err(|e| format!("the new data disk could not be unmounted after the copy: {e}"))?;
    eprintln!(
        "hearthd prepare-data: copied {} files, {} MiB in {:.1} s ({:.1} MiB/s){}",
        report.count.files,
        report.count.bytes >> 20,
        report.seconds,
        report.bytes_per_second() / 1048576.0,
        if report.left_out.is_empty() { String::new() } else { format!("; left out (not files): {:?}", report.left_out) }
    );
    Ok(report)
}

fn prepare(args: &Args, device: &Path, status: &mut DataStatus) -> Result<(), Problem> {
    const REFLASH: &str = "This card was not written with a Hearth image, or its partition table was changed. Flash the Hearth image again (this erases the card), or put back the card that holds your Hearth data.";
    let disk_name = args.disk.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut disk = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&args.disk)
        .map_err(|e| problem("missing", format!("the boot card {} cannot be opened: {e}", args.disk.display()), REFLASH))?;
    let mut sector = [0u8; 512];
    disk.read_exact(&mut sector)
        .map_err(|e| problem("missing", format!("the partition table of {} cannot be read: {e}", args.disk.display()), REFLASH))?;
    let mut table = Mbr::parse(&sector).map_err(|e| problem("missing", format!("{}: {e}", args.disk.display()), REFLASH))?;
    let part = table.partition(args.partition).map_err(|e| problem("missing", format!("{}: {e}", args.disk.display()), REFLASH))?;

    // 1. Grow the partition to the end of the card.
    let disk_sectors = block_device::sectors(Path::new("/sys"), &disk_name)
        .map_err(|e| problem("missing", format!("the size of {} is unknown: {e}", args.disk.display()), REFLASH))?;
    if let Some(sectors) = table.grown_size(args.partition, disk_sectors, ALIGN).map_err(|e| {
        problem(
            "missing",
            format!("{}: {e}", args.disk.display()),
            "The data partition must be the last one on the card; flash the Hearth image again.",
        )
    })? {
        table.set_sectors(args.partition, sectors).map_err(|e| problem("missing", e.to_string(), REFLASH))?;
        let written = disk.seek(SeekFrom::Start(0)).and_then(|_| disk.write_all(table.bytes())).and_then(|_| disk.sync_all());
        written.map_err(|e| {
            problem(
                "damaged",
                format!("the grown partition table could not be written to {}: {e}", args.disk.display()),
                "The card may be failing or write-protected: check its lock switch, or try another card.",
            )
        })?;
        block_device::resize_partition(&disk, args.partition, part.first * mbr::SECTOR, sectors * mbr::SECTOR).map_err(|e| {
            problem(
                "damaged",
                format!("the kernel did not take the grown partition {}: {e}", device.display()),
                "Restart the box; the next start uses the new size.",
            )
        })?;
        eprintln!("hearthd prepare-data: {} grew from {} MiB to {} MiB", device.display(), part.sectors / ALIGN, sectors / ALIGN);
        status.grew = true;
    }
    drop(disk);

    // 2. What does it hold?
    let contents = block_device::probe(device).map_err(|e| {
        problem(
            "missing",
            format!("the data partition {} cannot be read: {e}", device.display()),
            "The card may be failing: copy what you can from it and use a new one.",
        )
    })?;
    match contents {
        Contents::Empty => {
            eprintln!("hearthd prepare-data: {} is empty: making the data filesystem", device.display());
            run(Command::new("mke2fs").args(["-q", "-t", "ext4", "-L", "hearth-data", "-m", "1"]).arg(device), &[0]).map_err(|e| {
                problem(
                    "damaged",
                    format!("formatting {} failed: {e}", device.display()),
                    "The card may be failing or too small; try another card.",
                )
            })?;
            status.formatted = true;
        }
        Contents::Ext { .. } => {
            // -p repairs only what is safe to repair without a person; 1 = repaired, fine.
            run(Command::new("e2fsck").arg("-p").arg(device), &[0, 1]).map_err(|e| {
                problem(
                    "damaged",
                    format!("the data filesystem on {} has errors that need a decision: {e}", device.display()),
                    "Nothing was changed. Take the card out, put it in a Linux computer and run `e2fsck -f` on its fourth partition, or ask for help; your backups are safe either way.",
                )
            })?;
        }
        Contents::Unknown => {
            return Err(problem(
                "foreign",
                format!(
                    "the data partition {} holds something that is not a Hearth data filesystem, so Hearth did not touch it",
                    device.display()
                ),
                "If this card is meant for Hearth and holds nothing you need, flash the Hearth image again. If it holds data you need, copy it off first: Hearth never formats a partition that holds data.",
            ));
        }
    }

    // 3. Mount, and grow the filesystem to the partition.
    std::fs::create_dir_all(&args.mount).ok();
    mount(device, &args.mount, "ext4").map_err(|e| {
        problem(
            "damaged",
            format!("the data filesystem on {} cannot be mounted: {e}", device.display()),
            "Restart the box; if this stays, the card may be failing.",
        )
    })?;
    let part_bytes =
        block_device::sectors(Path::new("/sys"), &device.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .map(|s| s * mbr::SECTOR)
            .unwrap_or(0);
    if let Ok(Contents::Ext { bytes }) = block_device::probe(device)
        && part_bytes >= bytes + ALIGN * mbr::SECTOR
    {
        eprintln!("hearthd prepare-data: growing the data filesystem from {} MiB to {} MiB", bytes >> 20, part_bytes >> 20);
        // A failed grow leaves a smaller, intact filesystem: say so and carry on.
        if let Err(e) = run(Command::new("resize2fs").arg(device), &[0]) {
            eprintln!("hearthd prepare-data: the data filesystem keeps its size: {e}");
        }
    }
    Ok(())
}

/// Mount the `kind` file system on `device` at `at`, as the data is always mounted (`noatime`).
fn mount(device: &Path, at: &Path, kind: &str) -> Result<(), String> {
    run(Command::new("mount").args(["-t", kind, "-o", "noatime"]).arg(device).arg(at), &[0])
}

/// Run a program to the end; an exit status outside `ok` is an error with its output.
fn run(cmd: &mut Command, ok: &[i32]) -> Result<(), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| format!("{program} could not start: {e}"))?;
    match out.status.code() {
        Some(code) if ok.contains(&code) => Ok(()),
        code => {
            let mut text = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if text.is_empty() {
                text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
            Err(format!("{program} ended with {} {text}", code.map(|c| format!("status {c}:")).unwrap_or_else(|| "a signal:".into())))
        }
    }
}

/// Read a status file written by [`main`].
pub fn read_status(path: &Path) -> Result<DataStatus, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
