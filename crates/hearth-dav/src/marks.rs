//! Folder entity tags that change when anything beneath a folder changes, as sync clients
//! (Nextcloud's among them) expect: an unchanged folder ETag lets them skip its whole subtree.
//!
//! The file system only changes a folder's own modification time when its direct members
//! change, so each change made through WebDAV also marks every folder above it with a new
//! number, and a folder's ETag includes its mark. Marks live in memory, with a random epoch in
//! every folder ETag: a restart changes the epoch, so every folder ETag changes once (clients
//! look again, once) and none can repeat an earlier value. Changes made to the files by other
//! means than WebDAV change only their folder's own modification time, and so its ETag, but
//! not its ancestors'.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::path::DavPath;

/// The most folders marked before the marks start over under a new epoch (every folder ETag
/// then changes once, which is always safe).
pub const MOST_MARKS: usize = 100_000;

/// The marks of every space.
#[derive(Debug)]
pub struct FolderMarks(Mutex<State>);

#[derive(Debug)]
struct State {
    epoch: u64,
    next: u64,
    marks: HashMap<(String, DavPath), u64>,
}

fn random_epoch() -> u64 {
    u64::from_le_bytes(crate::locks::random_bytes())
}

impl Default for FolderMarks {
    fn default() -> Self {
        FolderMarks(Mutex::new(State { epoch: random_epoch(), next: 1, marks: HashMap::new() }))
    }
}

impl FolderMarks {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Something at `path` changed (made, written, removed, moved away or in): every folder
    /// above it gets a new mark.
    pub fn changed(&self, space: &str, path: &DavPath) {
        let mut s = self.state();
        if s.marks.len() + path.names().len() > MOST_MARKS {
            s.marks.clear();
            s.epoch = random_epoch();
        }
        let n = s.next;
        s.next += 1;
        let mut folder = path.parent();
        while let Some(f) = folder {
            folder = f.parent();
            s.marks.insert((space.to_string(), f), n);
        }
    }

    /// The epoch and the mark of `folder` (0 when nothing beneath it changed since the epoch
    /// began).
    pub fn of(&self, space: &str, folder: &DavPath) -> (u64, u64) {
        let s = self.state();
        (s.epoch, s.marks.get(&(space.to_string(), folder.clone())).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DavPath {
        DavPath::from_encoded(s).expect("path")
    }

    #[test]
    fn a_change_marks_every_folder_above_it_and_nothing_else() {
        let m = FolderMarks::default();
        let before: Vec<_> = ["", "a", "a/b", "c"].iter().map(|f| m.of("s", &p(f))).collect();
        m.changed("s", &p("a/b/file.txt"));
        let after: Vec<_> = ["", "a", "a/b", "c"].iter().map(|f| m.of("s", &p(f))).collect();
        assert_ne!(before[0], after[0]);
        assert_ne!(before[1], after[1]);
        assert_ne!(before[2], after[2]);
        assert_eq!(before[3], after[3], "a sibling folder keeps its mark");
        assert_eq!(m.of("other", &p("a")), (after[0].0, 0), "another space is untouched");
        m.changed("s", &p("c/x"));
        assert_eq!(m.of("s", &p("a/b")), after[2], "a change elsewhere leaves a/b alone");
        assert_ne!(m.of("s", &DavPath::root()), after[0]);
    }
}
