//! A small record kept as two files written in turn, so that a power cut during a write spoils at
//! most the copy being written and the reader takes the other: the record is the old one or the
//! new one, never neither. The boot state of updates (docs/update-bundle.md §6) and the data
//! disk's record (docs/disks.md) are kept this way on the card's FAT partition.
//!
//! Each copy is U-Boot's text environment (`name=value` lines, `#` comments, optionally ending
//! with a NUL) between two sequence lines, `hearth_0seq` and `hearth_zseq` (first and last once
//! sorted by name, as U-Boot's `env export` writes them). A copy is **whole** when both are there
//! and equal (0, 1 or 2). Of two whole copies the newer is the one a step ahead (`1` over `0`,
//! `2` over `1`, `0` over `2`). A writer writes the next sequence number over the older copy.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The first sequence line's name.
pub const FIRST_SEQ: &str = "hearth_0seq";
/// The last sequence line's name.
pub const LAST_SEQ: &str = "hearth_zseq";
/// The longest copy read (a copy is a few hundred bytes).
const MAX_COPY: u64 = 4096;

/// A whole copy as read: which of the two files, its sequence number and its variables (the
/// sequence lines included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whole {
    /// 0 or 1: which file.
    pub index: usize,
    /// Its sequence number.
    pub seq: u8,
    /// Its variables.
    pub vars: BTreeMap<String, String>,
}

/// The two files of one record in a folder.
#[derive(Debug, Clone)]
pub struct AlternatingCopies {
    dir: PathBuf,
    names: [&'static str; 2],
    remount: bool,
}

impl AlternatingCopies {
    /// The copies `names` in `dir`.
    pub fn new(dir: impl Into<PathBuf>, names: [&'static str; 2]) -> AlternatingCopies {
        AlternatingCopies { dir: dir.into(), names, remount: false }
    }

    /// The copies in `dir`, a filesystem mounted read-only that a write remounts read-write for
    /// its duration (the appliance's FAT partition; needs root).
    pub fn on_read_only_mount(dir: impl Into<PathBuf>, names: [&'static str; 2]) -> AlternatingCopies {
        AlternatingCopies { dir: dir.into(), names, remount: true }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The two files' names.
    pub fn names(&self) -> [&'static str; 2] {
        self.names
    }

    /// The first bytes of `name` in the folder (at most 4 KiB), if it can be read.
    pub fn read_small(&self, name: &str) -> Option<Vec<u8>> {
        let f = std::fs::File::open(self.dir.join(name)).ok()?;
        let mut bytes = Vec::new();
        f.take(MAX_COPY).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// The newer whole copy, if any copy is whole.
    pub fn read(&self) -> Option<Whole> {
        let copies: Vec<Option<(u8, BTreeMap<String, String>)>> =
            self.names.iter().map(|n| self.read_small(n).and_then(|b| whole_copy(&b))).collect();
        let index = match (&copies[0], &copies[1]) {
            (Some(a), Some(b)) => {
                if newer(a.0, b.0) {
                    0
                } else {
                    1
                }
            }
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            (None, None) => return None,
        };
        copies[index].clone().map(|(seq, vars)| Whole { index, seq, vars })
    }

    /// Write `vars` (without sequence lines) after the comment `header` over the older copy (or
    /// one that is not whole) with the next sequence number, flush it, and read it back. Returns
    /// the copy written.
    pub fn write(&self, header: &str, vars: &BTreeMap<&str, String>) -> io::Result<Whole> {
        let (index, seq) = match self.read() {
            Some(w) => (1 - w.index, (w.seq + 1) % 3),
            None => (0, 0),
        };
        let mut all: BTreeMap<&str, String> = vars.clone();
        all.insert(FIRST_SEQ, seq.to_string());
        all.insert(LAST_SEQ, seq.to_string());
        let mut text = String::new();
        for line in header.lines() {
            text.push_str(&format!("# {line}\n"));
        }
        for (k, v) in &all {
            if !valid_name(k) || v.contains(['\n', '\0']) {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{k}={v:?} cannot be written as an env line")));
            }
            text.push_str(&format!("{k}={v}\n"));
        }
        let path = self.dir.join(self.names[index]);
        let _writable = if self.remount { Some(crate::mounts::WritableWhileHeld::new(&self.dir)?) } else { None };
        let mut f = std::fs::File::create(&path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        crate::durable::sync_dir(&self.dir)?;
        match self.read() {
            Some(back) if back.index == index && back.seq == seq => Ok(back),
            _ => Err(io::Error::other(format!("{} does not read back as written", path.display()))),
        }
    }
}

fn valid_name(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Variables of U-Boot's text environment: `name=value` lines up to a NUL, `#` lines skipped.
pub fn parse_env(bytes: &[u8]) -> BTreeMap<String, String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..end]);
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=')
            && valid_name(k)
        {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    vars
}

/// A copy's sequence number and variables, when it is whole.
pub fn whole_copy(bytes: &[u8]) -> Option<(u8, BTreeMap<String, String>)> {
    let vars = parse_env(bytes);
    let seq = vars.get(FIRST_SEQ)?;
    if vars.get(LAST_SEQ) != Some(seq) {
        return None;
    }
    let seq = match seq.as_str() {
        "0" => 0,
        "1" => 1,
        "2" => 2,
        _ => return None,
    };
    Some((seq, vars))
}

/// Of two whole copies' sequence numbers, whether the first is the newer.
pub fn newer(a: u8, b: u8) -> bool {
    matches!((a, b), (1, 0) | (2, 1) | (0, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 2] = ["r-0.env", "r-1.env"];

    fn vars(v: &str) -> BTreeMap<&'static str, String> {
        BTreeMap::from([("thing", v.to_string())])
    }

    #[test]
    fn writes_alternate_and_a_spoiled_copy_falls_back_to_the_other() {
        let dir = tempfile::tempdir().expect("dir");
        let copies = AlternatingCopies::new(dir.path(), NAMES);
        assert_eq!(copies.read(), None);
        let one = copies.write("a test record", &vars("one")).expect("write 1");
        assert_eq!((one.index, one.seq), (0, 0));
        let two = copies.write("a test record", &vars("two")).expect("write 2");
        assert_eq!((two.index, two.seq), (1, 1));
        let three = copies.write("a test record", &vars("three")).expect("write 3");
        assert_eq!((three.index, three.seq), (0, 2));
        // A power cut in the middle of that write: the copy is cut short, the other counts.
        let written = std::fs::read(dir.path().join(NAMES[0])).expect("read");
        std::fs::write(dir.path().join(NAMES[0]), &written[..written.len() / 2]).expect("cut");
        assert_eq!(copies.read().map(|w| w.vars["thing"].clone()).as_deref(), Some("two"));
        std::fs::write(dir.path().join(NAMES[0]), b"").expect("empty");
        assert_eq!(copies.read().map(|w| w.vars["thing"].clone()).as_deref(), Some("two"));
        // Sequence numbers wrap: 0 is newer than 2.
        for v in ["four", "five", "six"] {
            copies.write("a test record", &vars(v)).expect("write");
        }
        assert_eq!(copies.read().map(|w| w.vars["thing"].clone()).as_deref(), Some("six"));
        assert!(copies.write("x", &vars("a\nthing=b")).is_err(), "a value cannot add a line");
    }

    #[test]
    fn a_copy_whose_two_sequence_lines_differ_is_not_whole() {
        assert!(whole_copy(b"hearth_0seq=1\nhearth_good=b\nhearth_zseq=0\n").is_none());
        assert!(whole_copy(b"hearth_0seq=1\nhearth_good=b\n").is_none());
        assert!(whole_copy(b"hearth_0seq=7\nhearth_zseq=7\n").is_none());
        assert!(whole_copy(b"\xff\xfe garbage").is_none());
        assert!(newer(0, 2) && newer(2, 1) && newer(1, 0) && !newer(0, 1));
    }
}
