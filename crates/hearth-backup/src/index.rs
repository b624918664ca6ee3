//! Index files and the in-memory blob map (docs/backup-format.md §7).

use std::collections::{HashMap, HashSet};

use crate::blob::{BlobId, BlobType};
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

/// Every blob the repository's indexes know.
#[derive(Debug, Default)]
pub struct MasterIndex {
    blobs: HashMap<BlobId, Location>,
    /// Index files read (names), and those superseded by others.
    pub files: HashSet<[u8; 32]>,
    /// Every pack an index names (also those whose blobs all have a copy elsewhere).
    packs: HashSet<[u8; 32]>,
}

impl MasterIndex {
    /// Add an index file's contents.
    pub fn add(&mut self, name: [u8; 32], file: &IndexFile) {
        self.files.insert(name);
        for (pack, entries) in &file.packs {
            self.add_pack(*pack, entries);
        }
    }

    /// Add one pack's entries.
    pub fn add_pack(&mut self, pack: [u8; 32], entries: &[PackEntry]) {
        self.packs.insert(pack);
        for e in entries {
            self.blobs.entry(e.id).or_insert(Location {
                pack,
                blob_type: e.blob_type,
                flags: e.flags,
                offset: e.offset,
                length: e.length,
                raw_length: e.raw_length,
            });
        }
    }

    /// Where a blob is.
    pub fn get(&self, id: &BlobId) -> Option<&Location> {
        self.blobs.get(id)
    }

    /// Whether an index names this pack.
    pub fn has_pack(&self, pack: &[u8; 32]) -> bool {
        self.packs.contains(pack)
    }

    /// Whether the blob is stored.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Every blob and its location.
    pub fn iter(&self) -> impl Iterator<Item = (&BlobId, &Location)> {
        self.blobs.iter()
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
