//! The master index's table of blob locations, compact: fixed 50-byte records sorted by blob
//! id, in memory or, for large repositories, in a file with only a sparse table of block
//! boundaries and a Bloom filter in memory (docs/backup-format.md §7, "The index in memory").
//!
//! A record: id (32) | pack number (u32) | offset (u32) | length (u32) | raw length (u32) | type
//! (u8) | flags (u8), integers little-endian. Pack numbers index the master index's pack list.
//!
//! Built by [`TableBuilder`] from index files as they are read: records are collected in runs
//! of bounded size, each sorted (and with a folder, written out); [`TableBuilder::finish`] merges
//! the runs, keeps the first record of an id (the first index file read wins, as before), and
//! leaves out the records of index files another one supersedes. On disk a lookup is a Bloom
//! test (most lookups of a backup are for new blobs, and end there), a binary search of the block
//! boundaries in memory, and one 4,000-byte read.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::blob::{BlobId, BlobType};
use crate::error::{BackupError, Result};

/// Bytes per record.
pub const RECORD: usize = 50;
/// Records per block of the file read at once (4,000 bytes).
const BLOCK: usize = 80;
/// Records per sorted run while building on disk (about 14 MB with the file tag).
const RUN: usize = 256 * 1024;
/// Bloom filter bits per blob (about 1% false positives with 7 hashes).
const BLOOM_BITS: usize = 10;
const BLOOM_HASHES: u64 = 7;
/// Tables with at least this many blobs are built on disk when a folder is given.
pub const DISK_FROM: usize = 256 * 1024;

/// Where a blob is, as the table keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Index into the master index's pack list.
    pub pack: u32,
    /// Type.
    pub blob_type: BlobType,
    /// Flags (compression).
    pub flags: u8,
    /// Offset in the pack.
    pub offset: u32,
    /// Stored length.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
}

/// Encode a record.
pub fn encode(id: &BlobId, e: &Entry) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..32].copy_from_slice(&id.0);
    r[32..36].copy_from_slice(&e.pack.to_le_bytes());
    r[36..40].copy_from_slice(&e.offset.to_le_bytes());
    r[40..44].copy_from_slice(&e.length.to_le_bytes());
    r[44..48].copy_from_slice(&e.raw_length.to_le_bytes());
    r[48] = e.blob_type.byte();
    r[49] = e.flags;
    r
}

fn u32_at(r: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&r[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Decode a record (its type byte was checked when it was made).
pub fn decode(r: &[u8]) -> (BlobId, Entry) {
    let mut id = [0u8; 32];
    id.copy_from_slice(&r[..32]);
    let e = Entry {
        pack: u32_at(r, 32),
        offset: u32_at(r, 36),
        length: u32_at(r, 40),
        raw_length: u32_at(r, 44),
        blob_type: BlobType::from_byte(r[48]).unwrap_or(BlobType::Data),
        flags: r[49],
    };
    (BlobId(id), e)
}

/// A Bloom filter over blob ids (which are uniformly random: their bytes are the hashes).
#[derive(Debug, Default)]
struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    fn new(n: usize) -> Bloom {
        let words = (n * BLOOM_BITS).div_ceil(64).max(1);
        Bloom { bits: vec![0; words] }
    }

    fn positions(&self, id: &[u8]) -> impl Iterator<Item = usize> + '_ {
        let m = (self.bits.len() * 64) as u64;
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&id[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let (h1, h2) = (word(0), word(8) | 1);
        (0..BLOOM_HASHES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }

    fn insert(&mut self, id: &[u8]) {
        let ps: Vec<usize> = self.positions(id).collect();
        for p in ps {
            self.bits[p / 64] |= 1 << (p % 64);
        }
    }

    fn may_contain(&self, id: &[u8]) -> bool {
        self.positions(id).all(|p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }

    fn bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

enum Storage {
    Memory(Vec<u8>),
    /// `path` is where the file was made: it is unlinked at once, so a process that dies leaves
    /// nothing behind (the open file is the only name it has).
    Disk {
        file: File,
        path: PathBuf,
        fences: Vec<[u8; 32]>,
        bloom: Bloom,
    },
}

/// The sorted table.
pub struct BlobTable {
    storage: Storage,
    len: usize,
}

impl std::fmt::Debug for BlobTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if matches!(self.storage, Storage::Memory(_)) { "memory" } else { "disk" };
        write!(f, "BlobTable({} blobs, {kind})", self.len)
    }
}

impl Default for BlobTable {
    fn default() -> Self {
        BlobTable { storage: Storage::Memory(Vec::new()), len: 0 }
    }
}

fn search(records: &[u8], id: &[u8; 32]) -> Option<usize> {
    let n = records.len() / RECORD;
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match records[mid * RECORD..mid * RECORD + 32].cmp(id) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Some(mid),
        }
    }
    None
}

impl BlobTable {
    /// Blobs in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the table lives in a file.
    pub fn on_disk(&self) -> bool {
        matches!(self.storage, Storage::Disk { .. })
    }

    /// Bytes of memory the table holds (records, or block boundaries and the Bloom filter).
    pub fn memory_bytes(&self) -> usize {
        match &self.storage {
            Storage::Memory(v) => v.capacity(),
            Storage::Disk { fences, bloom, .. } => fences.capacity() * 32 + bloom.bytes(),
        }
    }

    /// Where `id` is.
    pub fn get(&self, id: &BlobId) -> Result<Option<Entry>> {
        match &self.storage {
            Storage::Memory(v) => Ok(search(v, &id.0).map(|i| decode(&v[i * RECORD..(i + 1) * RECORD]).1)),
            Storage::Disk { file, path, fences, bloom } => {
                if !bloom.may_contain(&id.0) {
                    return Ok(None);
                }
                // The last block whose first id is not after `id`.
                let block = fences.partition_point(|f| f.as_slice() <= id.0.as_slice());
                if block == 0 {
                    return Ok(None);
                }
                let b = block - 1;
                let first = b * BLOCK;
                let count = BLOCK.min(self.len - first);
                let mut buf = [0u8; BLOCK * RECORD];
                let want = &mut buf[..count * RECORD];
                file.read_exact_at(want, (first * RECORD) as u64).map_err(|e| BackupError::io(path.display().to_string(), e))?;
                Ok(search(want, &id.0).map(|i| decode(&want[i * RECORD..(i + 1) * RECORD]).1))
            }
        }
    }

    /// Every record in id order. A file that cannot be read ends the walk early with a warning
    /// (the blobs after it look missing, which never deletes anything).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (BlobId, Entry)> + '_> {
        match &self.storage {
            Storage::Memory(v) => Box::new(v.chunks_exact(RECORD).map(decode)),
            Storage::Disk { file, path, .. } => {
                let mut at = 0u64;
                let mut buf: Vec<u8> = Vec::new();
                let mut pos = 0usize;
                let total = (self.len * RECORD) as u64;
                Box::new(std::iter::from_fn(move || {
                    if pos >= buf.len() {
                        if at >= total {
                            return None;
                        }
                        let n = ((1 << 20) / RECORD * RECORD).min((total - at) as usize);
                        buf.resize(n, 0);
                        if let Err(e) = file.read_exact_at(&mut buf, at) {
                            tracing::warn!(path = %path.display(), error = %e, "cannot read the index table");
                            return None;
                        }
                        at += n as u64;
                        pos = 0;
                    }
                    let r = decode(&buf[pos..pos + RECORD]);
                    pos += RECORD;
                    Some(r)
                }))
            }
        }
    }
}

/// Collects records as index files are read.
pub struct TableBuilder {
    dir: Option<PathBuf>,
    /// The run being collected: record and the number of the index file it came from.
    run: Vec<([u8; RECORD], u32)>,
    /// Sorted runs written out, unlinked (only their open files remain).
    runs: Vec<File>,
    pushed: usize,
    /// Records per run.
    run_limit: usize,
    /// Run spill files and the table are named after this.
    tag: String,
}

fn run_order(a: &([u8; RECORD], u32), b: &([u8; RECORD], u32)) -> Ordering {
    a.0[..32].cmp(&b.0[..32]).then(a.1.cmp(&b.1))
}

impl TableBuilder {
    /// A builder; with `dir`, large tables go to a file there.
    pub fn new(dir: Option<&Path>) -> TableBuilder {
        let mut r = [0u8; 8];
        let _ = crate::crypto::random(&mut r);
        let tag = format!("{}-{}", std::process::id(), u64::from_le_bytes(r));
        TableBuilder { dir: dir.map(Path::to_path_buf), run: Vec::new(), runs: Vec::new(), pushed: 0, run_limit: RUN, tag }
    }

    /// Smaller runs (tests exercise the merge of many).
    pub fn with_run_limit(mut self, records: usize) -> TableBuilder {
        self.run_limit = records.max(1);
        self
    }

    /// Add a record from index file number `file`.
    pub fn push(&mut self, id: &BlobId, entry: &Entry, file: u32) -> Result<()> {
        self.run.push((encode(id, entry), file));
        self.pushed += 1;
        if self.dir.is_some() && self.run.len() >= self.run_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir.display().to_string(), e))?;
        self.run.sort_unstable_by(run_order);
        let path = dir.join(format!("index-run-{}-{}", self.tag, self.runs.len()));
        let file = unlinked_file(&path)?;
        let io = |e| BackupError::io(path.display().to_string(), e);
        {
            let mut w = BufWriter::with_capacity(1 << 20, &file);
            for (r, f) in &self.run {
                w.write_all(r).map_err(io)?;
                w.write_all(&f.to_le_bytes()).map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        self.runs.push(file);
        self.run.clear();
        Ok(())
    }

    /// The table, leaving out records of the `superseded` index files.
    pub fn finish(mut self, superseded: &HashSet<u32>) -> Result<BlobTable> {
        let on_disk = self.dir.is_some() && self.pushed >= DISK_FROM;
        if !on_disk && self.runs.is_empty() {
            let mut run = std::mem::take(&mut self.run);
            run.sort_unstable_by(run_order);
            let mut out = Vec::with_capacity(run.len() * RECORD);
            let mut last: Option<[u8; 32]> = None;
            for (r, f) in &run {
                if superseded.contains(f) || last.as_ref().is_some_and(|l| l[..] == r[..32]) {
                    continue;
                }
                last = Some(r[..32].try_into().unwrap_or([0; 32]));
                out.extend_from_slice(r);
            }
            out.shrink_to_fit();
            let len = out.len() / RECORD;
            return Ok(BlobTable { storage: Storage::Memory(out), len });
        }
        self.spill()?;
        let dir = self.dir.clone().unwrap_or_default();
        let path = dir.join(format!("index-table-{}", self.tag));
        merge(std::mem::take(&mut self.runs), &path, superseded, self.pushed)
    }
}

/// A new file at `path`, unlinked at once: only the returned handle names it.
fn unlinked_file(path: &Path) -> Result<File> {
    let io = |e| BackupError::io(path.display().to_string(), e);
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(path).map_err(io)?;
    std::fs::remove_file(path).map_err(io)?;
    Ok(file)
}

struct Head {
    record: [u8; RECORD],
    file: u32,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Head {
    // Reversed: the heap's top is the smallest id, then the earliest index file.
    fn cmp(&self, o: &Self) -> Ordering {
        o.record[..32].cmp(&self.record[..32]).then(o.file.cmp(&self.file)).then(o.run.cmp(&self.run))
    }
}

fn read_run_record(r: &mut BufReader<File>) -> std::io::Result<Option<([u8; RECORD], u32)>> {
    let mut buf = [0u8; RECORD + 4];
    match r.read_exact(&mut buf) {
        Ok(()) => {
            let mut rec = [0u8; RECORD];
            rec.copy_from_slice(&buf[..RECORD]);
            Ok(Some((rec, u32_at(&buf, RECORD))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn merge(runs: Vec<File>, out: &Path, superseded: &HashSet<u32>, expected: usize) -> Result<BlobTable> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| BackupError::io(p.clone(), e)
    };
    let mut readers = Vec::with_capacity(runs.len());
    let mut heap = BinaryHeap::new();
    for (i, mut f) in runs.into_iter().enumerate() {
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).map_err(io(out))?;
        let mut r = BufReader::with_capacity(256 * 1024, f);
        if let Some((record, file)) = read_run_record(&mut r).map_err(io(out))? {
            heap.push(Head { record, file, run: i });
        }
        readers.push(r);
    }
    let file = unlinked_file(out)?;
    let mut w = BufWriter::with_capacity(1 << 20, file.try_clone().map_err(io(out))?);
    let mut bloom = Bloom::new(expected);
    let mut fences = Vec::with_capacity(expected / BLOCK + 1);
    let mut len = 0usize;
    let mut last: Option<[u8; 32]> = None;
    while let Some(h) = heap.pop() {
        let next = read_run_record(&mut readers[h.run]).map_err(io(out))?;
        if let Some((record, file)) = next {
            heap.push(Head { record, file, run: h.run });
        }
        let id: [u8; 32] = h.record[..32].try_into().unwrap_or([0; 32]);
        if superseded.contains(&h.file) || last == Some(id) {
            continue;
        }
        last = Some(id);
        if len.is_multiple_of(BLOCK) {
            fences.push(id);
        }
        bloom.insert(&id);
        w.write_all(&h.record).map_err(io(out))?;
        len += 1;
    }
    w.flush().map_err(io(out))?;
    drop(w);
    fences.shrink_to_fit();
    Ok(BlobTable { storage: Storage::Disk { file, path: out.to_path_buf(), fences, bloom }, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> BlobId {
        BlobId(*blake3::hash(&n.to_le_bytes()).as_bytes())
    }

    fn entry(n: u64) -> Entry {
        Entry { pack: (n % 7) as u32, blob_type: BlobType::Data, flags: (n % 2) as u8, offset: n as u32, length: 10, raw_length: 9 }
    }

    fn build(dir: Option<&Path>, n: u64) -> BlobTable {
        // Many runs on disk, so the merge has work to do.
        let mut b = TableBuilder::new(dir).with_run_limit(7_777);
        // Every id twice: from file 0 and file 1 (file 0 wins); ids of file 2 are superseded.
        for i in 0..n {
            b.push(&id(i), &entry(i), 0).expect("push");
        }
        for i in 0..n {
            b.push(&id(i), &Entry { offset: 999_999, ..entry(i) }, 1).expect("push");
            b.push(&id(n + i), &entry(n + i), 2).expect("push");
        }
        b.finish(&HashSet::from([2])).expect("finish")
    }

    #[test]
    fn memory_and_disk_tables_answer_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = (DISK_FROM as u64) / 2 + 1234;
        let mem = build(None, n);
        let disk = build(Some(dir.path()), n);
        assert!(!mem.on_disk() && disk.on_disk());
        assert_eq!((mem.len(), disk.len()), (n as usize, n as usize));
        for i in (0..n).step_by(97).chain([0, n - 1]) {
            assert_eq!(mem.get(&id(i)).expect("get"), Some(entry(i)), "the first file wins");
            assert_eq!(disk.get(&id(i)).expect("get"), Some(entry(i)));
            assert_eq!(disk.get(&id(n + i)).expect("get"), None, "superseded");
            assert_eq!(mem.get(&id(n + i)).expect("get"), None);
        }
        let (a, b): (Vec<_>, Vec<_>) = (mem.iter().collect(), disk.iter().collect());
        assert_eq!(a.len(), n as usize);
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].0.0 < w[1].0.0), "sorted, no duplicates");
        assert!(disk.memory_bytes() * 10 < mem.memory_bytes(), "{} vs {}", disk.memory_bytes(), mem.memory_bytes());
        let files: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert!(files.is_empty(), "runs and the table have no names, so a killed process leaves nothing: {files:?}");
    }

    #[test]
    fn records_round_trip() {
        let e = Entry { pack: 7, blob_type: BlobType::Tree, flags: 1, offset: u32::MAX, length: 3, raw_length: 4 };
        assert_eq!(decode(&encode(&id(5), &e)), (id(5), e));
    }
}
