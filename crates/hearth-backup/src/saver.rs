//! The saving half of the backup pipeline:
//!
//! ```text
//! caller (walk, read, chunk) ──chunks──▶ N workers (id, dedup, compress?, seal) ──▶ packer (packs, index files)
//! ```
//!
//! Queues are bounded, so memory stays within a few chunks per worker plus two open packs,
//! whatever the size of the data. A blob id is handed back as soon as it is known; the caller
//! writes its snapshot only after [`Saver::finish`], when every pack and index is stored.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::blob::{BlobId, BlobType};
use crate::error::{BackupError, Result};
use crate::index::IndexFile;
use crate::pack::{FLAG_ZSTD, FinishedPack, PackWriter};
use crate::repository::Repository;

/// Write an index file after this many packs, so an interrupted backup's packs are reused.
const PACKS_PER_INDEX: usize = 4;
/// Compression trial size.
const SAMPLE: usize = 64 * 1024;

struct Job {
    data: Vec<u8>,
    blob_type: BlobType,
    reply: SyncSender<Result<BlobId>>,
}

struct Sealed {
    id: BlobId,
    blob_type: BlobType,
    flags: u8,
    sealed: Vec<u8>,
    raw_length: u32,
}

/// Counters of what was stored.
#[derive(Debug, Default, Clone, Copy)]
pub struct SaverStats {
    /// New blobs.
    pub blobs_new: u64,
    /// Plaintext bytes of new blobs.
    pub bytes_added: u64,
    /// Bytes written to packs (sealed, compressed).
    pub bytes_stored: u64,
    /// Packs written.
    pub packs: u64,
}

/// A pending blob id.
pub struct PendingId(Receiver<Result<BlobId>>);

impl PendingId {
    /// Wait for the id.
    pub fn wait(self) -> Result<BlobId> {
        self.0.recv().map_err(|_| BackupError::Invalid("the saving pipeline stopped".into()))?
    }
}

/// Buffers handed around the pipeline and back, so a backup allocates a fixed number of chunk
/// buffers instead of three fresh ones per chunk (each a page-faulted mapping).
#[derive(Default)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl BufferPool {
    /// A pool that keeps at most `keep` idle buffers.
    pub fn new(keep: usize) -> Self {
        BufferPool { free: Mutex::new(Vec::with_capacity(keep)), keep }
    }

    /// An empty buffer (reused when one is idle).
    pub fn take(&self) -> Vec<u8> {
        self.free.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    /// Give a buffer back.
    pub fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
    }
}

/// The running pipeline.
pub struct Saver {
    pool: Arc<BufferPool>,
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    packer: Option<JoinHandle<Result<SaverStats>>>,
}

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static TRIAL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Compress `data` at `level` into `out` (cleared first); the compressed length.
fn compress_into(level: i32, data: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::new(level).ok();
        }
        let comp = c.as_mut()?;
        comp.set_compression_level(level).ok()?;
        out.clear();
        out.reserve(zstd::zstd_safe::compress_bound(data.len()));
        comp.compress_to_buffer(data, out).ok()
    })
}

/// Compress `data` into `out` when a level-1 trial on its first 64 KiB saves at least 10%
/// (docs/backup-format.md §6); photos and videos fail the trial cheaply. `true` when `out`
/// holds the (smaller) compressed form.
fn maybe_compress(data: &[u8], out: &mut Vec<u8>) -> bool {
    if data.len() < 512 {
        return false;
    }
    let sample = &data[..data.len().min(SAMPLE)];
    let pays = TRIAL.with(|t| compress_into(1, sample, &mut t.borrow_mut()).is_some_and(|n| n * 10 <= sample.len() * 9));
    pays && compress_into(3, data, out).is_some_and(|n| n < data.len())
}

impl Saver {
    /// Start `workers` worker threads and the packer for `repo`. `known` starts as every blob in
    /// the repository's index.
    pub fn start(repo: Arc<Repository>, workers: usize) -> Saver {
        let workers_n = workers.max(1);
        // Enough idle buffers for the chunks in flight (queues + workers), no more.
        let pool = Arc::new(BufferPool::new(workers_n * 3 + 2));
        let (job_tx, job_rx) = sync_channel::<Job>(workers_n);
        let (sealed_tx, sealed_rx) = sync_channel::<Sealed>(workers_n);
        let job_rx = Arc::new(Mutex::new(job_rx));
        // Only this run's new blobs: the repository's own are looked up in its index.
        let known: Arc<Mutex<HashSet<BlobId>>> = Arc::new(Mutex::new(HashSet::new()));
        let mut handles = Vec::new();
        for _ in 0..workers_n {
            let (rx, tx, known, repo, pool) = (job_rx.clone(), sealed_tx.clone(), known.clone(), repo.clone(), pool.clone());
            handles.push(std::thread::spawn(move || worker(&repo, &rx, &tx, &known, &pool)));
        }
        drop(sealed_tx);
        let packer_pool = pool.clone();
        let packer = std::thread::spawn(move || packer(&repo, sealed_rx, &packer_pool));
        Saver { pool, jobs: Some(job_tx), workers: handles, packer: Some(packer) }
    }

    /// A buffer for the next chunk (give it to [`Saver::save`]).
    pub fn buffer(&self) -> Vec<u8> {
        self.pool.take()
    }

    /// Queue a blob; blocks while the pipeline is full.
    pub fn save(&self, data: Vec<u8>, blob_type: BlobType) -> Result<PendingId> {
        let (reply, rx) = sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or_else(|| BackupError::Invalid("saver finished".into()))?;
        jobs.send(Job { data, blob_type, reply })
            .map_err(|_| BackupError::Invalid("the saving pipeline stopped (see the error above)".into()))?;
        Ok(PendingId(rx))
    }

    /// Flush everything: every pack and index file stored.
    pub fn finish(mut self) -> Result<SaverStats> {
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        match self.packer.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(BackupError::Invalid("the packer thread crashed".into())),
        }
    }
}

fn worker(repo: &Repository, jobs: &Mutex<Receiver<Job>>, out: &SyncSender<Sealed>, known: &Mutex<HashSet<BlobId>>, pool: &BufferPool) {
    let keys = &repo.keys;
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|p| p.into_inner());
            match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        let id = keys.blob_id(&job.data);
        let is_new = !repo.index.contains(&id) && known.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        if is_new {
            let raw_length = job.data.len() as u32;
            let mut compressed = pool.take();
            let flags = if maybe_compress(&job.data, &mut compressed) { FLAG_ZSTD } else { 0 };
            let stored: &[u8] = if flags == FLAG_ZSTD { &compressed } else { &job.data };
            let mut sealed = pool.take();
            let result = keys.enc.seal_into(&job.blob_type.aad(&id), stored, &mut sealed);
            pool.give(compressed);
            pool.give(job.data);
            if let Err(e) = result {
                let _ = job.reply.send(Err(e));
                continue;
            }
            if out.send(Sealed { id, blob_type: job.blob_type, flags, sealed, raw_length }).is_err() {
                let _ = job.reply.send(Err(BackupError::Invalid("the packer stopped".into())));
                return;
            }
        } else {
            pool.give(job.data);
        }
        let _ = job.reply.send(Ok(id));
    }
}

fn packer(repo: &Arc<Repository>, rx: Receiver<Sealed>, pool: &BufferPool) -> Result<SaverStats> {
    let pack_size = repo.config.pack_size as usize;
    // Finished packs are stored (fsync, rename; or uploaded) by another thread, so packing goes
    // on meanwhile; one waits in the queue at most.
    let (done_tx, done_rx) = sync_channel::<FinishedPack>(1);
    let store_repo = repo.clone();
    let storer = std::thread::Builder::new()
        .name("backup-store".into())
        .spawn(move || store_packs(&store_repo, done_rx))
        .map_err(|e| BackupError::io("the pack storing thread", e))?;
    let mut stats = SaverStats::default();
    let mut writers: [Option<PackWriter>; 2] = [None, None];
    let slot = |t: BlobType| usize::from(t != BlobType::Data);
    let capacity = |t: BlobType| if t == BlobType::Data { pack_size + (1 << 20) } else { 1 << 20 };
    let ship = |w: PackWriter, stats: &mut SaverStats| -> Result<()> {
        let finished = w.finish(&repo.keys)?;
        stats.packs += 1;
        stats.bytes_stored += finished.size;
        done_tx.send(finished).map_err(|_| BackupError::Invalid("the pack storing thread stopped".into()))
    };
    // On an error, keep draining so workers never block, then report the first error.
    let mut failed: Option<BackupError> = None;
    for s in rx {
        if failed.is_some() {
            pool.give(s.sealed);
            continue;
        }
        stats.blobs_new += 1;
        stats.bytes_added += u64::from(s.raw_length);
        let i = slot(s.blob_type);
        let added = (|| -> Result<()> {
            if writers[i].is_none() {
                writers[i] = Some(PackWriter::for_backend(s.blob_type, repo.backend(), capacity(s.blob_type))?);
            }
            let w = writers[i].as_mut().ok_or_else(|| BackupError::Invalid("no pack writer".into()))?;
            w.add(s.id, s.flags, &s.sealed, s.raw_length)?;
            if s.blob_type == BlobType::Tree {
                repo.cache_tree(&s.id, &s.sealed);
            }
            if w.len() >= pack_size
                && let Some(full) = writers[i].take()
            {
                ship(full, &mut stats)?;
            }
            Ok(())
        })();
        pool.give(s.sealed);
        if let Err(e) = added {
            failed = Some(e);
        }
    }
    if failed.is_none() {
        for w in writers.iter_mut().filter_map(Option::take) {
            if let Err(e) = ship(w, &mut stats) {
                failed = Some(e);
                break;
            }
        }
    }
    drop(done_tx);
    let stored = storer.join().unwrap_or_else(|_| Err(BackupError::Invalid("the pack storing thread crashed".into())));
    match (failed, stored) {
        (Some(e), _) | (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(stats),
    }
}

/// Store finished packs in order; after every few, an index file naming them (only packs that
/// are durably stored are ever indexed).
fn store_packs(repo: &Repository, rx: Receiver<FinishedPack>) -> Result<()> {
    let mut pending = IndexFile::default();
    let mut failed: Option<BackupError> = None;
    for pack in rx {
        if failed.is_some() {
            continue;
        }
        let name = pack.name.clone();
        let entries = pack.entries.clone();
        let result = pack.store(repo.backend()).and_then(|()| {
            let raw = crate::index::parse_name(&name).ok_or_else(|| BackupError::Invalid("bad pack name".into()))?;
            pending.packs.push((raw, entries));
            if pending.packs.len() >= PACKS_PER_INDEX {
                repo.write_index(&pending)?;
                pending.packs.clear();
            }
            Ok(())
        });
        if let Err(e) = result {
            failed = Some(e);
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if !pending.packs.is_empty() {
        repo.write_index(&pending)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_chosen_only_when_it_pays() {
        let text = b"2026-11-22 10:00:00 INFO hearthd: all is well\n".repeat(5000);
        let mut out = Vec::new();
        assert!(maybe_compress(&text, &mut out) && out.len() < text.len() / 5);
        let mut x = 1u64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(!maybe_compress(&noise, &mut out));
    }
}
