//! Index files and the in-memory blob map (docs/backup-format.md §7).

use std::collections::{HashMap, HashSet};

use crate::blob::{BlobId, BlobType};
use crate::blob_table::{BlobTable, Entry, TableBuilder};
use crate::crypto::Keys;
use crate::error::{BackupError, Result};
use crate::pack::PackEntry;

const MAGIC: &[u8; 4] = b"HIX1";
const AAD: &[u8] = b"hearth-file index";
const BLOB_LEN: usize = 1 + 1 + 32 + 8 + 4 + 4;

/// Where a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The pack's name (raw BLAKE3 bytes).
    pub pack: [u8; 32],
    /// Data or tree.
    pub blob_type: BlobType,
    /// Flags (zstd).
    pub flags: u8,
    /// Offset in the pack.
    pub offset: u64,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
}

/// Packs (raw names) and their blobs.
pub type PackList = Vec<([u8; 32], Vec<PackEntry>)>;

/// The contents of one index file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexFile {
    /// Index files this one replaces.
    pub supersedes: Vec<[u8; 32]>,
    /// Packs and their blobs.
    pub packs: PackList,
}

/// Hex of a 32-byte name.
pub fn hex32(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parse a 64-hex object name.
pub fn parse_name(s: &str) -> Option<[u8; 32]> {
    BlobId::from_hex(s).ok().map(|id| id.0)
}

impl IndexFile {
    /// Sealed bytes.
    pub fn seal(&self, keys: &Keys) -> Result<Vec<u8>> {
        let blobs: usize = self.packs.iter().map(|(_, e)| e.len()).sum();
        let mut out = Vec::with_capacity(12 + self.supersedes.len() * 32 + self.packs.len() * 36 + blobs * BLOB_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.supersedes.len() as u32).to_le_bytes());
        for s in &self.supersedes {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&(self.packs.len() as u32).to_le_bytes());
        for (pack, entries) in &self.packs {
            out.extend_from_slice(pack);
            out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            for e in entries {
                out.push(e.blob_type.byte());
                out.push(e.flags);
                out.extend_from_slice(&e.id.0);
                out.extend_from_slice(&e.offset.to_le_bytes());
                out.extend_from_slice(&e.length.to_le_bytes());
                out.extend_from_slice(&e.raw_length.to_le_bytes());
            }
        }
        keys.enc.seal(AAD, &out)
    }

    /// Open and parse a stored index named `name`.
    pub fn open(name: &str, sealed: &[u8], keys: &Keys) -> Result<IndexFile> {
        let plain = keys.enc.open(AAD, sealed).ok_or_else(|| BackupError::damaged("index", name, "authentication failed"))?;
        Self::parse(name, &plain)
    }

    /// Parse the plaintext of an index file (after authentication).
    pub fn parse(name: &str, plain: &[u8]) -> Result<IndexFile> {
        let bad = |d: &str| BackupError::damaged("index", name, d.to_string());
        let mut r = Reader { buf: plain, pos: 0 };
        if r.take(4).ok_or_else(|| bad("truncated"))? != MAGIC {
            return Err(bad("magic"));
        }
        let n = r.u32().ok_or_else(|| bad("truncated"))? as usize;
        let mut supersedes = Vec::with_capacity(n.min(plain.len() / 32));
        for _ in 0..n {
            supersedes.push(r.array32().ok_or_else(|| bad("truncated"))?);
        }
        let packs_n = r.u32().ok_or_else(|| bad("truncated"))? as usize;
        let mut packs = Vec::with_capacity(packs_n.min(plain.len() / 36));
        for _ in 0..packs_n {
            let pack = r.array32().ok_or_else(|| bad("truncated"))?;
            let count = r.u32().ok_or_else(|| bad("truncated"))? as usize;
            let mut entries = Vec::with_capacity(count.min(plain.len() / BLOB_LEN));
            for _ in 0..count {
                let t = r.take(1).ok_or_else(|| bad("truncated"))?[0];
                let blob_type = BlobType::from_byte(t).ok_or_else(|| bad("unknown blob type"))?;
                let flags = r.take(1).ok_or_else(|| bad("truncated"))?[0];
                let id = BlobId(r.array32().ok_or_else(|| bad("truncated"))?);
                let offset = r.u64().ok_or_else(|| bad("truncated"))?;
                let length = r.u32().ok_or_else(|| bad("truncated"))?;
                let raw_length = r.u32().ok_or_else(|| bad("truncated"))?;
                entries.push(PackEntry { blob_type, flags, id, offset, length, raw_length });
            }
            packs.push((pack, entries));
        }
        if r.pos != plain.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(IndexFile { supersedes, packs })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    }
    fn array32(&mut self) -> Option<[u8; 32]> {
        self.take(32).and_then(|b| b.try_into().ok())
    }
}

/// Every blob the repository's indexes know: a compact sorted table (in memory, or on disk for
/// large repositories: crate::blob_table) built when the repository is opened, and the blobs
/// added since (this run's packs, packs indexed again) in a small map beside it.
#[derive(Debug, Default)]
pub struct MasterIndex {
    table: BlobTable,
    overlay: HashMap<BlobId, Location>,
    /// Pack names by number (the table keeps numbers).
    packs: Vec<[u8; 32]>,
    pack_numbers: HashMap<[u8; 32], u32>,
    /// Packs an index in use names (also those whose blobs all have a copy elsewhere).
    live_packs: HashSet<u32>,
    /// Index files read (names), those superseded by others left out.
    pub files: HashSet<[u8; 32]>,
}

/// Builds a [`MasterIndex`] from index files as they are read, holding at most one run of
/// records in memory (and none of the files).
pub struct MasterIndexBuilder {
    table: TableBuilder,
    packs: Vec<[u8; 32]>,
    pack_numbers: HashMap<[u8; 32], u32>,
    /// Per file read: its name and the numbers of the packs it names.
    files: Vec<([u8; 32], Vec<u32>)>,
    superseded: HashSet<[u8; 32]>,
}

fn pack_number(packs: &mut Vec<[u8; 32]>, numbers: &mut HashMap<[u8; 32], u32>, pack: [u8; 32]) -> u32 {
    *numbers.entry(pack).or_insert_with(|| {
        packs.push(pack);
        (packs.len() - 1) as u32
    })
}

fn table_entry(pack: u32, e: &PackEntry) -> Result<Entry> {
    let offset =
        u32::try_from(e.offset).map_err(|_| BackupError::Invalid(format!("blob {} lies past 4 GiB in its pack", e.id.to_hex())))?;
    Ok(Entry { pack, blob_type: e.blob_type, flags: e.flags, offset, length: e.length, raw_length: e.raw_length })
}

impl MasterIndexBuilder {
    /// A builder; with `dir`, a large table goes to a file there (deleted when the index goes).
    pub fn new(dir: Option<&std::path::Path>) -> MasterIndexBuilder {
        MasterIndexBuilder {
            table: TableBuilder::new(dir),
            packs: Vec::new(),
            pack_numbers: HashMap::new(),
            files: Vec::new(),
            superseded: HashSet::new(),
        }
    }

    /// Add an index file named `name`.
    pub fn add_file(&mut self, name: [u8; 32], file: &IndexFile) -> Result<()> {
        let number = self.files.len() as u32;
        self.superseded.extend(file.supersedes.iter().copied());
        let mut packs = Vec::with_capacity(file.packs.len());
        for (pack, entries) in &file.packs {
            let p = pack_number(&mut self.packs, &mut self.pack_numbers, *pack);
            packs.push(p);
            for e in entries {
                self.table.push(&e.id, &table_entry(p, e)?, number)?;
            }
        }
        self.files.push((name, packs));
        Ok(())
    }

    /// The index, without the files another one supersedes.
    pub fn finish(self) -> Result<MasterIndex> {
        let mut dropped = HashSet::new();
        let mut files = HashSet::new();
        let mut live_packs = HashSet::new();
        for (i, (name, packs)) in self.files.iter().enumerate() {
            if self.superseded.contains(name) {
                dropped.insert(i as u32);
            } else {
                files.insert(*name);
                live_packs.extend(packs.iter().copied());
            }
        }
        let table = self.table.finish(&dropped)?;
        let (mut packs, mut pack_numbers) = (self.packs, self.pack_numbers);
        packs.shrink_to_fit();
        pack_numbers.shrink_to_fit();
        live_packs.shrink_to_fit();
        Ok(MasterIndex { table, overlay: HashMap::new(), packs, pack_numbers, live_packs, files })
    }
}

impl MasterIndex {
    /// Add an index file's packs (one written or read after the index was built).
    pub fn add(&mut self, name: [u8; 32], file: &IndexFile) {
        self.files.insert(name);
        for (pack, entries) in &file.packs {
            self.add_pack(*pack, entries);
        }
    }

    /// Add one pack's blobs; a blob already known keeps its location.
    pub fn add_pack(&mut self, pack: [u8; 32], entries: &[PackEntry]) {
        let n = pack_number(&mut self.packs, &mut self.pack_numbers, pack);
        self.live_packs.insert(n);
        for e in entries {
            if self.contains(&e.id) {
                continue;
            }
            self.overlay.insert(
                e.id,
                Location { pack, blob_type: e.blob_type, flags: e.flags, offset: e.offset, length: e.length, raw_length: e.raw_length },
            );
        }
    }

    fn location(&self, e: Entry) -> Location {
        Location {
            pack: self.packs.get(e.pack as usize).copied().unwrap_or([0; 32]),
            blob_type: e.blob_type,
            flags: e.flags,
            offset: u64::from(e.offset),
            length: e.length,
            raw_length: e.raw_length,
        }
    }

    /// Where a blob is. A table on disk that cannot be read answers "not known" (and says so in
    /// the log): a backup then stores the blob again, and prune stops before deleting anything.
    pub fn get(&self, id: &BlobId) -> Option<Location> {
        match self.table.get(id) {
            Ok(Some(e)) => return Some(self.location(e)),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the index table"),
        }
        self.overlay.get(id).copied()
    }

    /// Whether a pack is named by an index in use.
    pub fn has_pack(&self, pack: &[u8; 32]) -> bool {
        self.pack_numbers.get(pack).is_some_and(|n| self.live_packs.contains(n))
    }

    /// Whether a blob is known.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.get(id).is_some()
    }

    /// Blobs known.
    pub fn len(&self) -> usize {
        self.table.len() + self.overlay.len()
    }

    /// Whether no blob is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every blob with its location (the table in id order, then the blobs added since).
    pub fn iter(&self) -> impl Iterator<Item = (BlobId, Location)> + '_ {
        self.table.iter().map(|(id, e)| (id, self.location(e))).chain(self.overlay.iter().map(|(id, l)| (*id, *l)))
    }

    /// Memory the index holds, roughly: the table (or its boundaries and filter), the blobs added
    /// since, the pack names.
    pub fn memory_bytes(&self) -> usize {
        self.table.memory_bytes()
            + self.overlay.capacity() * (32 + 64 + 8)
            + self.packs.capacity() * 32
            + self.pack_numbers.capacity() * 40
            + self.live_packs.capacity() * 8
    }

    /// Whether the table lives in a file.
    pub fn on_disk(&self) -> bool {
        self.table.on_disk()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Cipher;

    #[test]
    fn index_roundtrip_and_truncation() {
        let keys = Keys::generate(Cipher::ChaCha20Poly1305).expect("keys");
        let e = |i: u8| PackEntry {
            blob_type: BlobType::Data,
            flags: i & 1,
            id: BlobId([i; 32]),
            offset: u64::from(i) * 10,
            length: 10,
            raw_length: 9,
        };
        let file = IndexFile { supersedes: vec![[9; 32]], packs: vec![([1; 32], vec![e(1), e(2)]), ([2; 32], vec![e(3)])] };
        let sealed = file.seal(&keys).expect("seal");
        assert_eq!(IndexFile::open("i", &sealed, &keys).expect("open"), file);
        let mut m = MasterIndex::default();
        m.add([5; 32], &file);
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&BlobId([3; 32])).map(|l| l.pack), Some([2; 32]));
        assert!(IndexFile::open("i", &sealed[..sealed.len() - 1], &keys).is_err());
    }

    proptest::proptest! {
        /// Index files of any shape seal, open and parse back unchanged.
        #[test]
        fn any_index_roundtrips(
            supersedes in proptest::collection::vec(proptest::array::uniform32(proptest::num::u8::ANY), 0..4),
            packs in proptest::collection::vec(
                (proptest::array::uniform32(proptest::num::u8::ANY),
                 proptest::collection::vec((proptest::num::u8::ANY, proptest::num::u64::ANY, proptest::num::u32::ANY, proptest::num::u32::ANY), 0..20)),
                0..10),
        ) {
            let keys = Keys::derive([4; 32], Cipher::Aes256Gcm).expect("keys");
            let packs: PackList = packs
                .into_iter()
                .map(|(p, es)| {
                    let entries = es
                        .into_iter()
                        .map(|(b, offset, length, raw_length)| PackEntry {
                            blob_type: if b & 1 == 0 { BlobType::Data } else { BlobType::Tree },
                            flags: b >> 7,
                            id: BlobId([b; 32]),
                            offset,
                            length,
                            raw_length,
                        })
                        .collect();
                    (p, entries)
                })
                .collect();
            let file = IndexFile { supersedes, packs };
            let sealed = file.seal(&keys).expect("seal");
            proptest::prop_assert_eq!(IndexFile::open("i", &sealed, &keys).expect("open"), file);
        }
    }
}
