//! A folder standing in for a box's root slots (hearthd `--update-layout`; docs/updates.md,
//! "Trying it on a computer"), slot images that share most of their chunks, and bundles of them
//! signed by the real CLI (`hearth ota keygen`, `hearth ota bundle`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::daemon;

/// The slots' size.
pub const SLOT: usize = 24 << 20;

/// A slot image: 8 MiB of "programs" (pseudo-random) then zeros, like a filesystem with room;
/// `changed` bytes at 2 MiB differ, as a new hearthd would.
pub fn image(changed: usize) -> Vec<u8> {
    let mut data = vec![0u8; SLOT];
    let mut x = 0x9e37_79b9u32;
    for b in &mut data[..8 << 20] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    for b in &mut data[2 << 20..(2 << 20) + changed] {
        *b = b.wrapping_add(7);
    }
    data
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new signing key at `path` (and `path.pub`).
pub fn keygen(path: &Path) {
    run(Command::new(daemon::hearth()).args(["ota", "keygen", "--out"]).arg(path));
}

/// `dir/box`: slot a runs `version` holding `image(0)`, slot b is empty, trusting a new key;
/// the folder and the key's path.
pub fn box_folder(dir: &Path, version: &str) -> (PathBuf, PathBuf) {
    let folder = dir.join("box");
    std::fs::create_dir_all(folder.join("boot")).expect("boot");
    std::fs::create_dir_all(folder.join("keys")).expect("keys");
    let key = dir.join("release.key");
    keygen(&key);
    std::fs::copy(dir.join("release.key.pub"), folder.join("keys/release.pub")).expect("pub");
    std::fs::write(folder.join("slot-a.img"), image(0)).expect("slot a");
    std::fs::write(folder.join("slot-b.img"), vec![0u8; SLOT]).expect("slot b");
    set_running(&folder, version, "a");
    (folder, key)
}

/// Play a boot into `slot` running `version`.
pub fn set_running(folder: &Path, version: &str, slot: &str) {
    std::fs::write(folder.join("release"), format!("HEARTH_BOARD=dev\nHEARTH_VERSION={version}\nHEARTH_SLOT={slot}\n")).expect("release");
}

/// A bundle of `image` as `version` for `board`, signed with `key`, at `out`; its length.
pub fn bundle(dir: &Path, key: &Path, version: &str, board: &str, image: &[u8], out: &Path) -> u64 {
    let img = dir.join(format!("{version}-{board}.img"));
    std::fs::write(&img, image).expect("image");
    run(Command::new(daemon::hearth())
        .args(["ota", "bundle", "--image"])
        .arg(&img)
        .arg("--key")
        .arg(key)
        .args(["--version", version, "--board", board, "--out"])
        .arg(out));
    std::fs::metadata(out).expect("bundle").len()
}
