//! Installs into a folder standing in for a box (hearth_ota::layout::Layout::folder): a good
//! bundle lands in the other slot and puts it on trial; every bad bundle is refused with its
//! reason and leaves both slots and the boot state as they were.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use hearth_ota::OtaError;
use hearth_ota::boot_state::{BootState, SlotName};
use hearth_ota::bundle::writer::{self, Release};
use hearth_ota::install::{self, Commit};
use hearth_ota::keys::SigningKey;
use hearth_ota::layout::Layout;

const SLOT: u64 = 8 << 20;

/// A slot image: pseudo-random "programs" and zeros, like a filesystem with free space.
fn image(seed: u32, changed: Option<(usize, usize)>) -> Vec<u8> {
    let mut data = vec![0u8; 6 << 20];
    let mut x = seed;
    for b in &mut data[..3 << 20] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    if let Some((at, len)) = changed {
        for b in &mut data[at..at + len] {
            *b = b.wrapping_add(1);
        }
    }
    data
}

struct Box_ {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Box_ {
    fn new(version: &str, running: &str) -> Box_ {
        let dir = tempfile::tempdir().expect("dir");
        let (key, _) = SigningKey::generate("test release key").expect("key");
        std::fs::create_dir_all(dir.path().join("keys")).expect("keys");
        std::fs::create_dir_all(dir.path().join("boot")).expect("boot");
        std::fs::write(dir.path().join("keys/release.pub"), key.public().to_file_text()).expect("pub");
        for s in ["a", "b"] {
            let mut bytes = image(1, None);
            bytes.resize(SLOT as usize, 0);
            std::fs::write(dir.path().join(format!("slot-{s}.img")), bytes).expect("slot");
        }
        std::fs::write(dir.path().join("release"), format!("HEARTH_BOARD=qemu-aarch64\nHEARTH_VERSION={version}\nHEARTH_SLOT={running}\n"))
            .expect("release");
        Box_ { dir, key }
    }

    fn layout(&self) -> Layout {
        Layout::folder(self.dir.path()).expect("layout")
    }

    fn bundle(&self, name: &str, release: &Release, image: &[u8], key: Option<&SigningKey>) -> PathBuf {
        let img = self.dir.path().join(format!("{name}.img"));
        std::fs::write(&img, image).expect("image");
        let out = self.dir.path().join(format!("{name}.hup"));
        writer::write(release, &img, key.unwrap_or(&self.key), &out, 3).expect("bundle");
        out
    }

    fn slot(&self, s: &str) -> blake3::Hash {
        blake3::hash(&std::fs::read(self.dir.path().join(format!("slot-{s}.img"))).expect("slot"))
    }

    fn slot_bytes(&self, s: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(format!("slot-{s}.img"))).expect("slot")
    }

    fn state(&self) -> BootState {
        self.layout().boot.read().state
    }
}

fn release(version: &str) -> Release {
    Release {
        version: version.parse().expect("v"),
        min_version: "0.1.0".parse().expect("v"),
        boards: vec!["qemu-aarch64".into()],
        created: 1_796_500_000,
        commit: "test".into(),
        notes: "A test release.".into(),
    }
}

fn install(b: &Box_, path: &Path) -> Result<install::Installed, OtaError> {
    let mut phases = Vec::new();
    let r = install::from_file(&b.layout(), path, &AtomicBool::new(false), &mut |p| {
        if phases.last() != Some(&p.phase) {
            phases.push(p.phase);
        }
    });
    if r.is_ok() {
        use install::Phase::*;
        assert_eq!(phases, [Checking, Writing, Verifying, Switching, Ready]);
    }
    r
}

#[test]
fn a_good_bundle_is_written_to_the_other_slot_put_on_trial_and_committed() {
    let b = Box_::new("0.1.0", "a");
    let new = image(2, None);
    let path = b.bundle("good", &release("0.2.0"), &new, None);
    let bundle_len = std::fs::metadata(&path).expect("len").len();
    assert!(bundle_len < 4 << 20, "the zeros are one stored chunk and the rest compresses: {bundle_len}");
    let before_a = b.slot("a");

    let done = install(&b, &path).expect("install");
    assert_eq!(done.slot, SlotName::B);
    assert_eq!(done.version.to_string(), "0.2.0");
    assert!(b.slot_bytes("b")[..new.len()] == new[..], "slot b holds the new system");
    assert_eq!(b.slot("a"), before_a, "the running slot is untouched");
    let s = b.state();
    assert_eq!((s.good, s.trial, s.tries, s.next_boot()), (SlotName::A, Some(SlotName::B), 0, SlotName::B));
    assert_eq!(s.version(SlotName::B).map(ToString::to_string), Some("0.2.0".into()));

    // "Reboot" into b, on trial: it commits itself.
    std::fs::write(b.dir.path().join("release"), "HEARTH_BOARD=qemu-aarch64\nHEARTH_VERSION=0.2.0\nHEARTH_SLOT=b\n").expect("release");
    assert_eq!(install::commit(&b.layout()).expect("commit"), Commit::Committed(SlotName::B));
    let s = b.state();
    assert_eq!((s.good, s.trial), (SlotName::B, None));
    assert_eq!(install::commit(&b.layout()).expect("again"), Commit::AlreadyGood);

    // Going back puts a on trial for the next boot; b stays to come back to.
    assert_eq!(install::go_back(&b.layout()).expect("go back").to_string(), "0.1.0");
    let s = b.state();
    assert_eq!((s.good, s.trial, s.next_boot()), (SlotName::B, Some(SlotName::A), SlotName::A));
}

#[test]
fn every_bad_bundle_is_refused_and_nothing_changes() {
    let b = Box_::new("0.2.0", "a");
    let img = image(3, None);
    let good = b.bundle("good", &release("0.3.0"), &img, None);
    let bytes = std::fs::read(&good).expect("read");
    let dir = b.dir.path();
    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).expect("write");
        p
    };
    let (other_key, _) = SigningKey::generate("someone else").expect("key");
    let mut tampered = bytes.clone();
    let last = tampered.len() - 100;
    tampered[last] ^= 0x40;
    let mut manifest_edit = bytes.clone();
    manifest_edit[40] ^= 1;
    let mut board = release("0.3.0");
    board.boards = vec!["rpi4".into()];
    let mut needs = release("0.4.0");
    needs.min_version = "0.3.0".parse().expect("v");
    let mut huge = image(3, None);
    huge.resize(SLOT as usize + (1 << 20), 7);
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"more");

    type Expect = fn(&OtaError) -> bool;
    let cases: Vec<(&str, PathBuf, Expect)> = vec![
        ("not a bundle", write("text.hup", b"<html>hello</html>"), |e| matches!(e, OtaError::NotABundle)),
        ("empty", write("empty.hup", b""), |e| matches!(e, OtaError::Truncated { .. })),
        ("signed by another key", b.bundle("other", &release("0.3.0"), &img, Some(&other_key)), |e| matches!(e, OtaError::UnknownKey(_))),
        ("manifest altered", write("edit.hup", &manifest_edit), |e| matches!(e, OtaError::BadSignature)),
        ("image altered", write("tampered.hup", &tampered), |e| matches!(e, OtaError::ChunkMismatch { .. })),
        ("truncated", write("cut.hup", &bytes[..bytes.len() - 1000]), |e| matches!(e, OtaError::Truncated { .. })),
        ("truncated in the manifest", write("cut2.hup", &bytes[..100]), |e| matches!(e, OtaError::Truncated { .. })),
        ("bytes after the end", write("long.hup", &trailing), |e| matches!(e, OtaError::TrailingBytes)),
        ("another board", b.bundle("board", &board, &img, None), |e| matches!(e, OtaError::WrongBoard { .. })),
        ("older", b.bundle("older", &release("0.1.5"), &img, None), |e| matches!(e, OtaError::Older { .. })),
        ("needs a newer system", b.bundle("needs", &needs, &img, None), |e| matches!(e, OtaError::NeedsNewer { .. })),
        ("bigger than the slot", b.bundle("huge", &release("0.3.0"), &huge, None), |e| matches!(e, OtaError::TooBig { .. })),
    ];
    let slot_a = b.slot("a");
    for (what, path, expected) in cases {
        let (state, slot_b) = (b.state(), b.slot("b"));
        let e = install(&b, &path).expect_err(what);
        assert!(expected(&e), "{what}: {e:?}");
        assert!(e.is_refusal(), "{what}: {e}");
        assert_eq!(b.slot("a"), slot_a, "{what}: the running slot is untouched");
        if matches!(e, OtaError::ChunkMismatch { .. }) {
            // Refused in its payload: part of slot b was written, and the state says b holds no
            // version and is on no trial.
            let s = b.state();
            assert_eq!((s.trial, s.version(SlotName::B)), (None, None), "{what}");
        } else {
            // Refused from its start: nothing was touched.
            assert_eq!(b.state(), state, "{what}: the boot state is as it was");
            assert_eq!(b.slot("b"), slot_b, "{what}: the other slot is untouched");
        }
        assert_eq!(b.state().next_boot(), SlotName::A, "{what}");
    }
    // A good one still installs after all that.
    install(&b, &good).expect("good");
}

#[test]
fn a_cancelled_install_leaves_the_other_slot_unbootable() {
    let b = Box_::new("0.1.0", "a");
    let path = b.bundle("good", &release("0.2.0"), &image(4, None), None);
    install(&b, &path).expect("first install");
    assert_eq!(b.state().trial, Some(SlotName::B));
    // A second install over the slot on trial is cancelled half way: b is no longer on trial.
    let path = b.bundle("next", &release("0.2.1"), &image(5, None), None);
    let cancel = AtomicBool::new(false);
    let e = install::from_file(&b.layout(), &path, &cancel, &mut |p| {
        if p.phase == install::Phase::Writing && p.done > 1 << 20 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .expect_err("cancelled");
    assert!(matches!(e, OtaError::Cancelled), "{e:?}");
    let s = b.state();
    assert_eq!((s.trial, s.next_boot(), s.version(SlotName::B)), (None, SlotName::A, None));
}
