//! File systems made by the real mkfs tools (e2fsprogs, dosfstools, exfatprogs, btrfs-progs,
//! ntfs-3g, xfsprogs, util-linux; scripts/test installs them) are named by
//! `file_system::identify` exactly as util-linux's `blkid -p` names them: kind, UUID, label, and
//! a btrfs device's own UUID. Roles are remembered by these UUIDs, so they must be the same
//! strings the kernel's `/dev/disk/by-uuid` and `mount UUID=` use.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use hearth_disks::file_system::{FileSystemKind, HEAD_BYTES, identify};

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `blkid -p -o export`'s KEY=value lines.
fn blkid(image: &Path) -> BTreeMap<String, String> {
    let out = Command::new("blkid").args(["-p", "-o", "export"]).arg(image).output().expect("blkid (util-linux)");
    assert!(out.status.success(), "blkid {}: {}", image.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        // export escapes spaces and other shell specials with a backslash.
        .map(|(k, v)| (k.to_string(), v.replace("\\ ", " ")))
        .collect()
}

fn head(image: &Path) -> Vec<u8> {
    let mut head = Vec::new();
    std::fs::File::open(image).expect("image").take(HEAD_BYTES as u64).read_to_end(&mut head).expect("read");
    head
}

#[test]
fn every_kind_reads_as_blkid_reads_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases: [(&str, FileSystemKind, &str, &[&str], bool); 8] = [
        ("ext4", FileSystemKind::Ext4, "mkfs.ext4", &["-q", "-F", "-L", "Family data"], true),
        ("ext3", FileSystemKind::Ext3, "mkfs.ext3", &["-q", "-F", "-L", "old"], true),
        ("ext2", FileSystemKind::Ext2, "mkfs.ext2", &["-q", "-F"], false),
        ("vfat", FileSystemKind::Vfat, "mkfs.vfat", &["-F", "32", "-n", "CAMERA"], true),
        ("exfat", FileSystemKind::Exfat, "mkfs.exfat", &["-L", "STICK"], false),
        ("btrfs", FileSystemKind::Btrfs, "mkfs.btrfs", &["-q", "-f", "-L", "pool"], true),
        ("ntfs", FileSystemKind::Ntfs, "mkntfs", &["-q", "-F", "-f", "-L", "Windows"], false),
        ("xfs", FileSystemKind::Xfs, "mkfs.xfs", &["-q", "-f", "-L", "media"], true),
    ];
    for (name, kind, mkfs, args, label_in_superblock) in cases {
        let image = dir.path().join(format!("{name}.img"));
        // Sparse: the tools need room (xfs 300 MiB), the disk only what they write.
        std::fs::File::create(&image).expect("create").set_len(320 << 20).expect("size");
        let mut all: Vec<&str> = args.to_vec();
        let path = image.to_str().expect("utf-8 path");
        all.push(path);
        run(mkfs, &all);
        let want = blkid(&image);
        let got = identify(&head(&image)).unwrap_or_else(|| panic!("{name}: not recognised; blkid says {want:?}"));
        assert_eq!(got.kind, kind, "{name}");
        assert_eq!(Some(got.kind.as_str()), want.get("TYPE").map(String::as_str), "{name}: blkid's TYPE");
        assert_eq!(got.uuid.as_deref(), want.get("UUID").map(String::as_str), "{name}: blkid's UUID");
        if label_in_superblock {
            assert_eq!(got.label.as_deref(), want.get("LABEL").map(String::as_str), "{name}: blkid's LABEL");
        }
        if kind == FileSystemKind::Btrfs {
            let pool = got.pool.expect("a btrfs device is a pool member");
            assert_eq!(Some(pool.device_uuid.as_str()), want.get("UUID_SUB").map(String::as_str), "btrfs: blkid's UUID_SUB");
            assert_eq!((pool.devices, pool.device_id), (1, 1));
        }
    }
    let swap = dir.path().join("swap.img");
    std::fs::File::create(&swap).expect("create").set_len(64 << 20).expect("size");
    run("mkswap", &["-q", "-L", "swappy", swap.to_str().expect("utf-8")]);
    let got = identify(&head(&swap)).expect("swap");
    let want = blkid(&swap);
    assert_eq!(
        (got.kind.as_str(), got.uuid.as_deref(), got.label.as_deref()),
        (want["TYPE"].as_str(), Some(want["UUID"].as_str()), Some("swappy"))
    );
}

#[test]
fn a_two_device_btrfs_mirror_names_its_pool_on_both() {
    let dir = tempfile::tempdir().expect("tmp");
    let (a, b) = (dir.path().join("a.img"), dir.path().join("b.img"));
    for image in [&a, &b] {
        std::fs::File::create(image).expect("create").set_len(256 << 20).expect("size");
    }
    run("mkfs.btrfs", &["-q", "-f", "-d", "raid1", "-m", "raid1", a.to_str().expect("a"), b.to_str().expect("b")]);
    let (fa, fb) = (identify(&head(&a)).expect("a"), identify(&head(&b)).expect("b"));
    assert_eq!(fa.uuid, fb.uuid, "one pool");
    let (pa, pb) = (fa.pool.expect("a"), fb.pool.expect("b"));
    assert_eq!((pa.devices, pb.devices), (2, 2));
    assert_ne!(pa.device_id, pb.device_id);
    assert_ne!(pa.device_uuid, pb.device_uuid);
    assert_eq!(Some(pb.device_uuid.as_str()), blkid(&b).get("UUID_SUB").map(String::as_str));
}
