//! The inventory of a recorded Raspberry Pi 4's `/sys` (tests/fixtures/sys-rpi4: the boot card,
//! a 4 TB disk behind a JMicron USB bridge, a blank NVMe disk, an exFAT USB stick, an empty card
//! reader, loop and zram devices) with device heads made by the real mkfs tools.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_disks::file_system::{FileSystemKind, HEAD_BYTES, PartitionTable};
use hearth_disks::inventory::{DeviceFolder, Inventory};
use hearth_disks::mountinfo;
use hearth_disks::sysfs::Transport;

fn sys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sys-rpi4")
}

/// The first bytes of a fresh file system made by `mkfs`.
fn made_by(dir: &Path, mkfs: &str, args: &[&str]) -> Vec<u8> {
    let image = dir.join(format!("{mkfs}.img"));
    std::fs::File::create(&image).expect("create").set_len(128 << 20).expect("size");
    let out = Command::new(mkfs).args(args).arg(&image).output().unwrap_or_else(|e| panic!("{mkfs}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{mkfs}: {}", String::from_utf8_lossy(&out.stderr));
    let mut head = Vec::new();
    std::fs::File::open(&image).expect("image").take(HEAD_BYTES as u64).read_to_end(&mut head).expect("read");
    std::fs::remove_file(&image).expect("rm");
    head
}

fn mbr(types: &[u8]) -> Vec<u8> {
    let mut head = vec![0u8; 4096];
    for (i, &t) in types.iter().enumerate() {
        head[446 + i * 16 + 4] = t;
    }
    head[510] = 0x55;
    head[511] = 0xaa;
    head
}

/// The recorded Pi's device heads in `tmp/dev`, and the ext4 head of its USB disk.
fn pi_devices(tmp: &Path) -> (PathBuf, Vec<u8>) {
    let dev = tmp.join("dev");
    std::fs::create_dir(&dev).expect("dev");
    let ext4 = made_by(tmp, "mkfs.ext4", &["-q", "-F", "-L", "Family Photos"]);
    let put = |name: &str, bytes: &[u8]| std::fs::write(dev.join(name), bytes).expect(name);
    put("mmcblk0", &mbr(&[0x0c, 0x83, 0x83, 0x83]));
    put("mmcblk0p1", &made_by(tmp, "mkfs.vfat", &["-F", "32", "-n", "BOOT"]));
    put("mmcblk0p2", &vec![0x5a; 8192]);
    // mmcblk0p3 has no device file: it is reported, not guessed.
    put("mmcblk0p4", &made_by(tmp, "mkfs.ext4", &["-q", "-F", "-L", "hearth-data"]));
    let mut gpt = mbr(&[0xee]);
    gpt[512..520].copy_from_slice(b"EFI PART");
    put("sda", &gpt);
    put("sda1", &ext4);
    put("nvme0n1", &vec![0; HEAD_BYTES]);
    put("sdb", &made_by(tmp, "mkfs.exfat", &["-L", "STICK"]));
    (dev, ext4)
}

/// The recorded Pi's mount table: the system, the data partition, the USB disk under /media.
fn pi_mounts() -> Vec<mountinfo::Mount> {
    let (mounts, skipped) = mountinfo::parse(
        "21 1 179:2 / / ro,relatime - squashfs /dev/mmcblk0p2 ro\n\
         30 21 179:4 / /data rw,noatime - ext4 /dev/mmcblk0p4 rw\n\
         40 21 8:1 / /media/Family\\040Photos rw,nosuid,nodev - ext4 /dev/sda1 rw\n",
    );
    assert_eq!(skipped, 0);
    mounts
}

#[test]
fn a_raspberry_pi_with_a_usb_disk_an_nvme_and_a_stick() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dev, ext4) = pi_devices(tmp.path());
    let put = |name: &str, bytes: &[u8]| std::fs::write(dev.join(name), bytes).expect(name);
    let mounts = pi_mounts();

    let inventory = Inventory::read(&sys(), &DeviceFolder(dev.clone()), &mounts);
    let names: Vec<&str> = inventory.disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["mmcblk0", "nvme0n1", "sda", "sdb"], "no loop, zram, eMMC boot area or empty reader");

    let card = &inventory.disks[0];
    assert_eq!((card.transport, card.model.as_deref(), card.serial.as_deref()), (Transport::Sd, Some("SC64G"), Some("0x9a3f21c7")));
    assert_eq!(card.partition_table, Some(PartitionTable::Mbr));
    assert!(card.system, "the boot card holds the system");
    assert_eq!(card.volumes.len(), 4);
    assert_eq!(card.volumes[0].file_system.as_ref().map(|f| (f.kind, f.label.as_deref())), Some((FileSystemKind::Vfat, Some("BOOT"))));
    assert_eq!(card.volumes[1].file_system, None, "squashfs is nothing Hearth offers");
    assert_eq!(card.volumes[1].mounts[0].path, Path::new("/"));
    assert!(card.volumes[1].mounts[0].read_only);
    assert_eq!(card.volumes[2].problem.as_deref(), Some("has no device file"));
    assert_eq!(card.volumes[3].size_bytes, 122_105_856 * 512);

    let usb = &inventory.disks[2];
    assert_eq!(usb.transport, Transport::Usb);
    assert_eq!((usb.vendor.as_deref(), usb.model.as_deref()), (Some("WDC WD40"), Some("EFAX-68JH4N1")));
    assert_eq!(usb.serial.as_deref(), Some("DD564198838A9"), "the bridge's serial");
    assert!(usb.rotational && !usb.system);
    assert_eq!(usb.size_bytes, 4_000_787_030_016);
    assert_eq!(usb.partition_table, Some(PartitionTable::Gpt));
    let data = &usb.volumes[0];
    assert_eq!(data.file_system.as_ref().map(|f| (f.kind, f.label.as_deref())), Some((FileSystemKind::Ext4, Some("Family Photos"))));
    assert_eq!(data.mounts[0].path, Path::new("/media/Family Photos"));

    let nvme = &inventory.disks[1];
    assert_eq!(
        (nvme.transport, nvme.serial.as_deref(), nvme.model.as_deref()),
        (Transport::Nvme, Some("22123A801234"), Some("WD Blue SN570 1TB"))
    );
    assert_eq!((nvme.partition_table, nvme.volumes.len()), (None, 0), "a blank disk: no table, nothing on it");

    let stick = &inventory.disks[3];
    assert!(stick.removable);
    assert_eq!(stick.serial.as_deref(), Some("4C530001231"), "control characters dropped");
    assert_eq!(stick.partition_table, None);
    assert_eq!(stick.volumes[0].number, 0, "a file system on the whole stick");
    assert_eq!(stick.volumes[0].file_system.as_ref().map(|f| f.kind), Some(FileSystemKind::Exfat));
    assert!(inventory.by_serial("22123A801234").is_some());

    // A disk cloned with dd: the same UUID twice, both told.
    put("mmcblk0p4", &ext4);
    let inventory = Inventory::read(&sys(), &DeviceFolder(dev), &mounts);
    let flagged: Vec<&str> = inventory
        .disks
        .iter()
        .flat_map(|d| &d.volumes)
        .filter(|v| v.problem.as_deref().is_some_and(|p| p.contains("same UUID")))
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(flagged, ["mmcblk0p4", "sda1"]);
}

#[test]
fn an_unreadable_mounted_disk_still_says_it_holds_the_system() {
    // The stick (sdb) with no device file, mounted at / as in a sandbox that refuses reads.
    let (mounts, _) = mountinfo::parse("27 1 8:16 / / rw,relatime - ext4 /dev/sdb rw\n");
    let inventory = Inventory::read(&sys(), &DeviceFolder("/nonexistent".into()), &mounts);
    let stick = inventory.disks.iter().find(|d| d.name == "sdb").expect("sdb");
    assert!(stick.system);
    assert_eq!(stick.problem.as_deref(), Some("has no device file"));
    assert_eq!(stick.volumes[0].problem, None, "said once, by the disk");
    assert_eq!((stick.volumes.len(), stick.volumes[0].file_system.as_ref()), (1, None));
    assert_eq!(stick.volumes[0].mounts[0].path, Path::new("/"));
    let nvme = inventory.disks.iter().find(|d| d.name == "nvme0n1").expect("nvme");
    assert!(nvme.volumes.is_empty() && !nvme.system, "unread and not mounted: nothing to show");
}

#[test]
fn a_missing_sys_tree_is_an_empty_inventory() {
    let inventory = Inventory::read(Path::new("/nonexistent"), &DeviceFolder("/nonexistent".into()), &[]);
    assert!(inventory.disks.is_empty());
}

#[test]
fn which_disks_may_be_given_the_data() {
    use hearth_disks::data_disk::{Refusal, UseForData, check};
    use hearth_disks::data_home::DataFileSystem;
    let tmp = tempfile::tempdir().expect("tmp");
    let (dev, _) = pi_devices(tmp.path());
    let inventory = Inventory::read(&sys(), &DeviceFolder(dev), &pi_mounts());
    let ask = |serial: &str, erase: bool| UseForData { serial: serial.into(), file_system: DataFileSystem::Ext4, erase };
    let gib = 1u64 << 30;
    // The blank NVMe disk: yes, whatever erase says, while the data fits.
    assert_eq!(check(&inventory, &ask("22123A801234", false), 10 * gib).map(|d| d.name.as_str()), Ok("nvme0n1"));
    assert!(matches!(check(&inventory, &ask("22123A801234", true), 1000 * gib), Err(Refusal::TooSmall(..))));
    // The card holds the system; the USB disk is mounted under /media; unknown serials.
    assert!(matches!(check(&inventory, &ask("0x9a3f21c7", true), 0), Err(Refusal::System(_))));
    let mounted = check(&inventory, &ask("DD564198838A9", true), 0).expect_err("mounted");
    assert_eq!(mounted.to_string(), "/dev/sda is in use (/media/Family Photos is mounted): eject it first");
    assert!(check(&inventory, &ask("nope", true), 0).expect_err("none").is_not_found());
    // The exFAT stick holds something: only when the family said to erase it.
    let full = check(&inventory, &ask("4C530001231", false), 0).expect_err("not empty");
    assert_eq!(full.to_string(), "/dev/sdb holds exfat: say to erase it if nothing on it is needed");
    assert_eq!(check(&inventory, &ask("4C530001231", true), 0).map(|d| d.name.as_str()), Ok("sdb"));
}
