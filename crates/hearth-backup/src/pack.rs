//! Pack files (docs/backup-format.md §6): sealed blobs, then a sealed header, then its length.

use crate::blob::{BlobId, BlobType};
use crate::crypto::{Keys, OVERHEAD};
use crate::error::{BackupError, Result};

const MAGIC: &[u8; 4] = b"HPK1";
const HEADER_AAD: &[u8] = b"hearth-pack-header";
/// Bytes of one header entry.
pub const ENTRY_LEN: usize = 1 + 1 + 32 + 4 + 4;
/// Flag bit: the blob is a zstd frame.
pub const FLAG_ZSTD: u8 = 1;

/// One blob in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackEntry {
    /// Data or tree.
    pub blob_type: BlobType,
    /// Flags (bit 0: zstd).
    pub flags: u8,
    /// The blob's id.
    pub id: BlobId,
    /// Offset in the pack.
    pub offset: u64,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length (after decompression).
    pub raw_length: u32,
}

/// Where a pack's bytes go while it is built: memory (then one `Backend::write`), or straight
/// into a temporary file of a folder repository (no 16 MiB buffer; committed by rename).
pub enum PackTarget {
    /// In memory.
    Memory(Vec<u8>),
    /// A backend's streaming file.
    File(Box<dyn PackFile>),
}

/// A pack file being written piece by piece (see [`crate::backend::Backend::begin_pack`]).
pub trait PackFile: Send {
    /// Append bytes.
    fn append(&mut self, bytes: &[u8]) -> Result<()>;
    /// Make the file durable under its final name (dropping it uncommitted deletes it).
    fn commit(self: Box<Self>, name: &str) -> Result<()>;
}

/// Builds one pack.
pub struct PackWriter {
    blob_type: BlobType,
    target: PackTarget,
    hasher: blake3::Hasher,
    len: u64,
    entries: Vec<PackEntry>,
}

impl std::fmt::Debug for PackWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackWriter({:?}, {} blobs, {} bytes)", self.blob_type, self.entries.len(), self.len)
    }
}

/// A complete pack: its name (the BLAKE3 of its bytes), entries and size, not yet stored.
pub struct FinishedPack {
    /// Object name.
    pub name: String,
    /// Its blobs.
    pub entries: Vec<PackEntry>,
    /// Bytes.
    pub size: u64,
    target: PackTarget,
}

impl FinishedPack {
    /// Store it durably in `backend` (write, or commit the streaming file).
    pub fn store(self, backend: &dyn crate::backend::Backend) -> Result<()> {
        match self.target {
            PackTarget::Memory(bytes) => backend.write(crate::backend::FileType::Pack, &self.name, &bytes),
            PackTarget::File(f) => f.commit(&self.name),
        }
    }

    /// The bytes of a pack built in memory.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self.target {
            PackTarget::Memory(b) => Some(b),
            PackTarget::File(_) => None,
        }
    }
}

impl PackWriter {
    /// An empty pack for blobs of `blob_type`, built in memory.
    pub fn new(blob_type: BlobType, capacity: usize) -> Self {
        Self::with_target(blob_type, PackTarget::Memory(Vec::with_capacity(capacity)))
    }

    /// An empty pack written into `target`.
    pub fn with_target(blob_type: BlobType, target: PackTarget) -> Self {
        PackWriter { blob_type, target, hasher: blake3::Hasher::new(), len: 0, entries: Vec::new() }
    }

    /// A pack for `backend`: streamed into a file when the backend can, in memory otherwise.
    pub fn for_backend(blob_type: BlobType, backend: &dyn crate::backend::Backend, capacity: usize) -> Result<Self> {
        Ok(match backend.begin_pack()? {
            Some(f) => Self::with_target(blob_type, PackTarget::File(f)),
            None => Self::new(blob_type, capacity),
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        match &mut self.target {
            PackTarget::Memory(v) => {
                v.extend_from_slice(bytes);
                Ok(())
            }
            PackTarget::File(f) => f.append(bytes),
        }
    }

    /// Append an already sealed blob.
    pub fn add(&mut self, id: BlobId, flags: u8, sealed: &[u8], raw_length: u32) -> Result<()> {
        let length = u32::try_from(sealed.len()).map_err(|_| BackupError::Invalid("blob too large".into()))?;
        let offset = self.len;
        self.put(sealed)?;
        self.entries.push(PackEntry { blob_type: self.blob_type, flags, id, offset, length, raw_length });
        Ok(())
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no blob was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finish: append the sealed header and its length; the pack is ready to store.
    pub fn finish(mut self, keys: &Keys) -> Result<FinishedPack> {
        let mut header = Vec::with_capacity(8 + self.entries.len() * ENTRY_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            header.push(e.blob_type.byte());
            header.push(e.flags);
            header.extend_from_slice(&e.id.0);
            header.extend_from_slice(&e.length.to_le_bytes());
            header.extend_from_slice(&e.raw_length.to_le_bytes());
        }
        let sealed = keys.enc.seal(HEADER_AAD, &header)?;
        self.put(&sealed)?;
        self.put(&(sealed.len() as u32).to_le_bytes())?;
        let name = self.hasher.finalize().to_hex().to_string();
        Ok(FinishedPack { name, entries: self.entries, size: self.len, target: self.target })
    }
}

/// Read the entries of a stored pack `name` (the whole file, or at least its tail that holds
/// the header: `tail` is the last bytes and `total` the file's length).
pub fn read_header(name: &str, tail: &[u8], total: u64, keys: &Keys) -> Result<Vec<PackEntry>> {
    let bad = |d: &str| BackupError::damaged("data", name, d.to_string());
    if tail.len() < 4 {
        return Err(bad("too short for a pack"));
    }
    let hlen = u32::from_le_bytes(tail[tail.len() - 4..].try_into().map_err(|_| bad("length"))?) as usize;
    if hlen < OVERHEAD + 8 || hlen + 4 > tail.len() {
        return Err(bad("header length out of range"));
    }
    let sealed = &tail[tail.len() - 4 - hlen..tail.len() - 4];
    let header = keys.enc.open(HEADER_AAD, sealed).ok_or_else(|| bad("header authentication failed"))?;
    parse_header(name, &header, total, (hlen + 4) as u64)
}

/// Parse a pack header's plaintext (after authentication): `total` is the pack's length and
/// `tail_len` the bytes the sealed header and its length take at its end.
pub fn parse_header(name: &str, header: &[u8], total: u64, tail_len: u64) -> Result<Vec<PackEntry>> {
    let bad = |d: &str| BackupError::damaged("data", name, d.to_string());
    if header.len() < 8 || &header[..4] != MAGIC {
        return Err(bad("header magic"));
    }
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if header.len() != 8 + count * ENTRY_LEN {
        return Err(bad("header size does not match its count"));
    }
    let blobs_end = total.checked_sub(tail_len).ok_or_else(|| bad("header larger than the pack"))?;
    let mut entries = Vec::with_capacity(count);
    let mut offset = 0u64;
    for raw in header[8..].chunks_exact(ENTRY_LEN) {
        let blob_type = BlobType::from_byte(raw[0]).ok_or_else(|| bad("unknown blob type"))?;
        let mut id = [0u8; 32];
        id.copy_from_slice(&raw[2..34]);
        let length = u32::from_le_bytes([raw[34], raw[35], raw[36], raw[37]]);
        let raw_length = u32::from_le_bytes([raw[38], raw[39], raw[40], raw[41]]);
        entries.push(PackEntry { blob_type, flags: raw[1], id: BlobId(id), offset, length, raw_length });
        offset += u64::from(length);
    }
    if offset != blobs_end {
        return Err(bad("blob lengths do not add up to the pack size"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Cipher;

    #[test]
    fn pack_roundtrip_and_damage() {
        let keys = Keys::generate(Cipher::Aes256Gcm).expect("keys");
        let mut w = PackWriter::new(BlobType::Data, 1024);
        let mut ids = Vec::new();
        for i in 0..5u8 {
            let plain = vec![i; 100 + usize::from(i)];
            let id = keys.blob_id(&plain);
            let sealed = keys.enc.seal(&BlobType::Data.aad(&id), &plain).expect("seal");
            w.add(id, 0, &sealed, plain.len() as u32).expect("add");
            ids.push(id);
        }
        let finished = w.finish(&keys).expect("finish");
        let entries = finished.entries.clone();
        let name = finished.name.clone();
        let bytes = finished.into_bytes().expect("built in memory");
        assert_eq!(name, crate::crypto::object_name(&bytes), "the name is the hash of the bytes");
        let read = read_header("p", &bytes, bytes.len() as u64, &keys).expect("header");
        assert_eq!(read, entries);
        for (e, id) in read.iter().zip(&ids) {
            let sealed = &bytes[e.offset as usize..e.offset as usize + e.length as usize];
            let plain = keys.enc.open(&BlobType::Data.aad(id), sealed).expect("open");
            assert_eq!(plain.len() as u32, e.raw_length);
        }
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 10] ^= 1;
        assert!(read_header("p", &bad, n as u64, &keys).is_err());
        assert!(read_header("p", &bytes[..3], 3, &keys).is_err());
        assert!(read_header("p", &bytes[10..], bytes.len() as u64 - 10, &keys).is_err(), "truncated front");
    }

    proptest::proptest! {
        /// Any sequence of blobs packs and reads back: the header lists them in order with the
        /// right offsets, each opens with its id, and the name is the hash of the bytes.
        #[test]
        fn any_blobs_pack_and_read_back(blobs in proptest::collection::vec((0usize..3000, proptest::bool::ANY, 0u8..2), 1..40)) {
            let keys = Keys::derive([3; 32], Cipher::ChaCha20Poly1305).expect("keys");
            let blob_type = BlobType::Tree;
            let mut w = PackWriter::new(blob_type, 1024);
            let mut plain = Vec::new();
            for (i, (len, zstd, _)) in blobs.iter().enumerate() {
                let data: Vec<u8> = (0..*len).map(|j| (i * 31 + j) as u8).collect();
                let id = keys.blob_id(&data);
                let sealed = keys.enc.seal(&blob_type.aad(&id), &data).expect("seal");
                w.add(id, u8::from(*zstd), &sealed, data.len() as u32).expect("add");
                plain.push((id, data));
            }
            let finished = w.finish(&keys).expect("finish");
            let name = finished.name.clone();
            let bytes = finished.into_bytes().expect("memory");
            proptest::prop_assert_eq!(name, crate::crypto::object_name(&bytes));
            let entries = read_header("p", &bytes, bytes.len() as u64, &keys).expect("header");
            proptest::prop_assert_eq!(entries.len(), plain.len());
            for (e, (id, data)) in entries.iter().zip(&plain) {
                proptest::prop_assert_eq!(e.id, *id);
                let sealed = &bytes[e.offset as usize..(e.offset + u64::from(e.length)) as usize];
                proptest::prop_assert_eq!(&keys.enc.open(&blob_type.aad(id), sealed).expect("open"), data);
            }
            // Any truncation of the tail is refused, never misread.
            let cut = bytes.len() - 1 - (blobs.len() % 7).min(bytes.len() - 1);
            proptest::prop_assert!(read_header("p", &bytes[..cut], cut as u64, &keys).is_err());
        }
    }
}
