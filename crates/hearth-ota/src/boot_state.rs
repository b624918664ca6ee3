//! The boot state the slot selector reads (docs/update-bundle.md §6): two copies on the FAT
//! partition, `hearth-state-0.env` and `hearth-state-1.env`, written in turn so that a power cut
//! during a write leaves the other copy whole. This module reads them as the selector does
//! (`board/common/boot-select.cmd`) and writes them as it does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hearth_platform::alternating_copies::{AlternatingCopies, parse_env, whole_copy};

use crate::error::{OtaError, Result};
use crate::version::Version;

/// The two copies' names.
pub const COPIES: [&str; 2] = ["hearth-state-0.env", "hearth-state-1.env"];
/// The file a person may edit (`hearth_slot`, `hearth_console`); it decides when no copy is whole.
pub const PERSON_FILE: &str = "hearth.env";
/// Boots of a trial slot before the selector gives up on it.
pub const MAX_TRIES: u8 = 3;

/// A root slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotName {
    /// Partition 2.
    A,
    /// Partition 3.
    B,
}

impl SlotName {
    /// The other slot.
    pub fn other(self) -> SlotName {
        match self {
            SlotName::A => SlotName::B,
            SlotName::B => SlotName::A,
        }
    }

    /// `a` or `b`.
    pub fn letter(self) -> &'static str {
        match self {
            SlotName::A => "a",
            SlotName::B => "b",
        }
    }

    /// Its partition on the card.
    pub fn partition(self) -> u8 {
        match self {
            SlotName::A => 2,
            SlotName::B => 3,
        }
    }

    /// `a` or `b` back into a slot.
    pub fn parse(s: &str) -> Option<SlotName> {
        match s {
            "a" => Some(SlotName::A),
            "b" => Some(SlotName::B),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            SlotName::A => 0,
            SlotName::B => 1,
        }
    }
}

impl fmt::Display for SlotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

/// What the state says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootState {
    /// The committed slot.
    pub good: SlotName,
    /// The slot on trial, if any.
    pub trial: Option<SlotName>,
    /// How many times the trial slot was started.
    pub tries: u8,
    /// The slot the selector gave up on after [`MAX_TRIES`] (until the next install).
    pub rollback: Option<SlotName>,
    versions: [Option<Version>; 2],
}

impl BootState {
    /// A state copy's bytes as the selector reads them: the state and its sequence number, when
    /// the copy is whole.
    pub fn from_copy(bytes: &[u8]) -> Option<(u8, BootState)> {
        whole_copy(bytes).map(|(seq, vars)| (seq, BootState::from_vars(&vars)))
    }

    /// A state with `good` committed, nothing on trial, versions unknown.
    pub fn committed(good: SlotName) -> BootState {
        BootState { good, trial: None, tries: 0, rollback: None, versions: [None, None] }
    }

    /// The version `slot` holds, when known.
    pub fn version(&self, slot: SlotName) -> Option<&Version> {
        self.versions[slot.index()].as_ref()
    }

    /// Set (or forget) the version `slot` holds.
    pub fn set_version(&mut self, slot: SlotName, version: Option<Version>) {
        self.versions[slot.index()] = version;
    }

    /// Whether `slot` is on trial (not yet committed).
    pub fn is_on_trial(&self, slot: SlotName) -> bool {
        self.trial == Some(slot) && self.good != slot
    }

    /// The slot the selector boots next time.
    pub fn next_boot(&self) -> SlotName {
        match self.trial {
            Some(t) if t != self.good && self.tries < MAX_TRIES => t,
            _ => self.good,
        }
    }

    fn to_vars(&self) -> BTreeMap<&'static str, String> {
        let mut v = BTreeMap::new();
        v.insert("hearth_good", self.good.letter().into());
        if let Some(t) = self.trial {
            v.insert("hearth_try", t.letter().into());
            v.insert("hearth_tries", self.tries.to_string());
        }
        if let Some(r) = self.rollback {
            v.insert("hearth_rollback", r.letter().into());
        }
        for (slot, name) in [(SlotName::A, "hearth_va"), (SlotName::B, "hearth_vb")] {
            if let Some(ver) = self.version(slot) {
                v.insert(name, ver.to_string());
            }
        }
        v
    }

    fn from_vars(vars: &BTreeMap<String, String>) -> BootState {
        let get = |k: &str| vars.get(k).map(String::as_str).unwrap_or("");
        // As the selector reads them: anything but "b" is slot a; a count it does not know is spent.
        let good = if get("hearth_good") == "b" { SlotName::B } else { SlotName::A };
        let trial = SlotName::parse(get("hearth_try"));
        let tries = match get("hearth_tries") {
            "" | "0" => 0,
            "1" => 1,
            "2" => 2,
            _ => MAX_TRIES,
        };
        BootState {
            good,
            trial,
            tries,
            rollback: SlotName::parse(get("hearth_rollback")),
            versions: [get("hearth_va").parse().ok(), get("hearth_vb").parse().ok()],
        }
    }
}

/// What was read: the state, and which copy it came from (none: from [`PERSON_FILE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The state.
    pub state: BootState,
    /// The copy read (0 or 1) and its sequence number.
    pub from: Option<(usize, u8)>,
}

/// The two copies in a folder (the FAT partition's mount, or a test's folder).
#[derive(Debug, Clone)]
pub struct BootStateFiles {
    copies: AlternatingCopies,
}

impl BootStateFiles {
    /// The copies in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> BootStateFiles {
        BootStateFiles { copies: AlternatingCopies::new(dir, COPIES) }
    }

    /// The copies in `dir`, a filesystem mounted read-only that a write remounts read-write for
    /// its duration (the appliance's FAT partition; needs root).
    pub fn on_read_only_mount(dir: impl Into<PathBuf>) -> BootStateFiles {
        BootStateFiles { copies: AlternatingCopies::on_read_only_mount(dir, COPIES) }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.copies.dir()
    }

    /// The state as the selector will see it at the next boot.
    pub fn read(&self) -> Loaded {
        match self.copies.read() {
            Some(copy) => Loaded { state: BootState::from_vars(&copy.vars), from: Some((copy.index, copy.seq)) },
            None => {
                let person = self.copies.read_small(PERSON_FILE).map(|b| parse_env(&b)).unwrap_or_default();
                let good = if person.get("hearth_slot").map(String::as_str) == Some("b") { SlotName::B } else { SlotName::A };
                Loaded { state: BootState::committed(good), from: None }
            }
        }
    }

    /// Write `state` over the older copy (or the one that is not whole), with the next sequence
    /// number, and flush it to the card.
    pub fn write(&self, state: &BootState) -> Result<()> {
        let header = "Hearth's boot state (docs/update-bundle.md, \"Boot state\"); written by Hearth and the boot script";
        let written = self
            .copies
            .write(header, &state.to_vars())
            .map_err(OtaError::io(format!("writing the boot state in {}", self.dir().display())))?;
        if BootState::from_vars(&written.vars) != *state {
            return Err(OtaError::BootState(format!("{} does not read back as written", self.dir().display())));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().expect("version")
    }

    #[test]
    fn writes_alternate_and_a_spoiled_copy_falls_back_to_the_other() {
        let dir = tempfile::tempdir().expect("dir");
        let files = BootStateFiles::new(dir.path());
        std::fs::write(dir.path().join(PERSON_FILE), "hearth_slot=b\nhearth_console=shell\n").expect("env");
        assert_eq!(files.read(), Loaded { state: BootState::committed(SlotName::B), from: None });

        let mut s = BootState::committed(SlotName::A);
        s.set_version(SlotName::A, Some(v("0.1.0")));
        files.write(&s).expect("write 1");
        assert_eq!(files.read().from, Some((0, 0)));
        let mut t = s.clone();
        t.trial = Some(SlotName::B);
        t.set_version(SlotName::B, Some(v("0.2.0")));
        files.write(&t).expect("write 2");
        assert_eq!(files.read(), Loaded { state: t.clone(), from: Some((1, 1)) });
        assert_eq!(t.next_boot(), SlotName::B);

        // A power cut in the middle of the next write: that copy is cut short.
        let mut u = t.clone();
        u.good = SlotName::B;
        u.trial = None;
        files.write(&u).expect("write 3");
        assert_eq!(files.read().from, Some((0, 2)));
        let written = std::fs::read(dir.path().join(COPIES[0])).expect("read");
        std::fs::write(dir.path().join(COPIES[0]), &written[..written.len() / 2]).expect("cut");
        assert_eq!(files.read().state, t, "the older whole copy counts");
        std::fs::write(dir.path().join(COPIES[0]), b"").expect("empty");
        assert_eq!(files.read().state, t);
        // Sequence numbers wrap: 0 is newer than 2.
        files.write(&u).expect("write 4");
        files.write(&t).expect("write 5");
        files.write(&u).expect("write 6");
        assert_eq!(files.read().state, u);
    }

    #[test]
    fn reads_what_u_boot_exports() {
        let dir = tempfile::tempdir().expect("dir");
        // `env export -t` output as the selector writes it: sorted, NUL-terminated.
        std::fs::write(
            dir.path().join(COPIES[1]),
            b"hearth_0seq=2\nhearth_good=a\nhearth_rollback=b\nhearth_va=0.1.0\nhearth_vb=0.1.1\nhearth_zseq=2\n\0",
        )
        .expect("write");
        std::fs::write(dir.path().join(COPIES[0]), b"hearth_0seq=1\nhearth_good=a\nhearth_tries=3\nhearth_try=b\nhearth_zseq=1\n\0")
            .expect("write");
        let l = BootStateFiles::new(dir.path()).read();
        assert_eq!(l.from, Some((1, 2)));
        assert_eq!(l.state.rollback, Some(SlotName::B));
        assert_eq!(l.state.trial, None);
        assert_eq!(l.state.version(SlotName::B), Some(&v("0.1.1")));
        assert_eq!(l.state.next_boot(), SlotName::A);
        let spent = BootState { trial: Some(SlotName::B), tries: 3, ..BootState::committed(SlotName::A) };
        assert_eq!(spent.next_boot(), SlotName::A);
    }
}
