//! Block hashes (SHA-256, as BEP requires), computed the faster way for this CPU.
//!
//! [`BlockHasher`] picks the faster way for this CPU: a single stream (ring, with SHA
//! instructions where the CPU has them) or eight blocks at once in SIMD lanes
//! ([`hearth_platform::sha256_lanes`], where the CPU has AVX2 but no SHA instructions).

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use hearth_platform::sha256_lanes;
use prost::bytes::Bytes;
use tokio::sync::oneshot;

/// A block's SHA-256.
pub type Digest = [u8; 32];

/// One SHA-256 the single-stream way.
pub fn sha256(data: &[u8]) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

/// The fewest equal-length blocks worth hashing in lanes.
const MIN_LANES_USED: usize = 4;

/// How blocks are hashed on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockHasher {
    /// One block at a time (ring; SHA instructions where the CPU has them).
    Single,
    /// Equal-length blocks eight at a time.
    Lanes,
}

impl BlockHasher {
    /// The faster way on this CPU. `HEARTH_HASHER=single` forces the single stream (to measure
    /// a CPU without lanes on one that has them), `HEARTH_HASHER=lanes` the lanes (to measure
    /// them on a board against what was chosen there).
    pub fn for_this_cpu() -> Self {
        match std::env::var("HEARTH_HASHER").as_deref() {
            Ok("single") => return BlockHasher::Single,
            Ok("lanes") => return BlockHasher::Lanes,
            _ => {}
        }
        if sha256_lanes::fast_here(sha256) { BlockHasher::Lanes } else { BlockHasher::Single }
    }

    /// The SHA-256 of each block, in order. Blocks of equal length go through the lanes
    /// together (when this hasher uses lanes); the rest one by one.
    pub fn digest_all(self, blocks: &[&[u8]]) -> Vec<Digest> {
        let mut out = vec![[0u8; 32]; blocks.len()];
        let mut done = vec![false; blocks.len()];
        if self == BlockHasher::Lanes {
            // Group the indexes by length, eight at a time; a short group fills its spare lanes
            // with copies of its first block. Eight lanes cost about what three or four single
            // streams do (`cargo bench -p hearth-sync --bench hashing`), so smaller groups go
            // one by one.
            let mut by_len: Vec<usize> = (0..blocks.len()).collect();
            by_len.sort_by_key(|&i| blocks[i].len());
            for group in by_len.chunk_by(|&a, &b| blocks[a].len() == blocks[b].len()) {
                for eight in group.chunks(sha256_lanes::LANES) {
                    if eight.len() < MIN_LANES_USED {
                        continue;
                    }
                    let lanes: [&[u8]; sha256_lanes::LANES] = std::array::from_fn(|l| blocks[eight[l.min(eight.len() - 1)]]);
                    let digests = sha256_lanes::digest(&lanes);
                    for (l, &i) in eight.iter().enumerate() {
                        out[i] = digests[l];
                        done[i] = true;
                    }
                }
            }
        }
        for (i, block) in blocks.iter().enumerate() {
            if !done[i] {
                out[i] = sha256(block);
            }
        }
        out
    }
}

/// A received block waiting to be checked.
struct Job {
    data: Bytes,
    hash: Vec<u8>,
    reply: oneshot::Sender<(Bytes, bool)>,
}

/// Checks received blocks against their SHA-256, never on the caller's (async) thread: hashing
/// a 128 KiB block takes most of a millisecond on a Pi 4, and the daemon's few async threads
/// also answer the web page. With lanes, blocks from every transfer go to one queue served by
/// one thread, which lets whole blocks wait briefly for others of their size and hashes
/// equal-length blocks together (see `verify_batches`). One thread in lanes hashes faster than
/// every core of these machines in single streams; more threads would only split the batches
/// (measured: with a thread per core and no waiting most batches held one block). Without lanes
/// (the boards; CPUs with SHA instructions) a thread per core takes blocks from the queue.
pub struct Verifier {
    queue: Option<Mutex<mpsc::Sender<Job>>>,
}

impl Verifier {
    /// The process's verifier (its threads start on first use and live as long as the process).
    pub fn shared() -> &'static Verifier {
        static SHARED: OnceLock<Verifier> = OnceLock::new();
        SHARED.get_or_init(|| Verifier::start(BlockHasher::for_this_cpu()))
    }

    /// A verifier that hashes the way `hasher` says.
    pub fn start(hasher: BlockHasher) -> Verifier {
        let (tx, rx) = mpsc::channel::<Job>();
        let started = match hasher {
            BlockHasher::Lanes => std::thread::Builder::new().name("sync-verify".into()).spawn(move || verify_batches(&rx)).is_ok(),
            BlockHasher::Single => {
                let rx = std::sync::Arc::new(Mutex::new(rx));
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                (0..threads)
                    .filter(|n| {
                        let rx = rx.clone();
                        std::thread::Builder::new().name(format!("sync-verify-{n}")).spawn(move || verify_one_by_one(&rx)).is_ok()
                    })
                    .count()
                    > 0
            }
        };
        if started {
            Verifier { queue: Some(Mutex::new(tx)) }
        } else {
            tracing::warn!("cannot start the block verifier threads; blocks are verified on the blocking pool");
            Verifier { queue: None }
        }
    }

    /// `data` and whether its SHA-256 is `hash`.
    pub async fn check(&self, data: Bytes, hash: &[u8]) -> (Bytes, bool) {
        if let Some(queue) = &self.queue {
            let (reply, answer) = oneshot::channel();
            let sent = queue.lock().unwrap_or_else(PoisonError::into_inner).send(Job { data, hash: hash.to_vec(), reply });
            match sent {
                Ok(()) => {
                    if let Ok(checked) = answer.await {
                        return checked;
                    }
                    // The verifier threads are gone (cannot happen while the process runs):
                    // the block is lost with them and is fetched again.
                    return (Bytes::new(), false);
                }
                Err(mpsc::SendError(job)) => return off_thread_check(job.data, job.hash).await,
            }
        }
        off_thread_check(data, hash.to_vec()).await
    }
}

/// Without verifier threads: on tokio's blocking pool (when there is a runtime), never inline.
async fn off_thread_check(data: Bytes, hash: Vec<u8>) -> (Bytes, bool) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => rt.spawn_blocking(move || single_check(data, &hash)).await.unwrap_or((Bytes::new(), false)),
        Err(_) => single_check(data, &hash),
    }
}

/// A verifier thread without lanes: one block at a time from the shared queue, until it closes.
fn verify_one_by_one(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match rx.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let (data, ok) = single_check(job.data, &job.hash);
        // The waiting transfer may have been cancelled; then nobody needs the answer.
        let _ = job.reply.send((data, ok));
    }
}

fn single_check(data: Bytes, hash: &[u8]) -> (Bytes, bool) {
    let ok = sha256(&data).as_slice() == hash;
    (data, ok)
}

/// How long a whole block may wait for others of its size to fill the lanes. Blocks arrive a
/// few milliseconds apart in a transfer, and the puller keeps more in flight than one batch, so
/// waiting costs no throughput; it saves the CPU time the other side of a transfer needs.
const LINGER: Duration = Duration::from_millis(20);

/// Whether a block is a whole one (Syncthing's block sizes: powers of two from 128 KiB), the
/// kind that arrives many at a time with one length. A file's last block, and a small file's
/// only one, rarely shares its length and is hashed at once.
fn whole_block(len: usize) -> bool {
    len >= crate::scan::MIN_BLOCK && len.is_power_of_two()
}

/// The verifier thread: gather blocks until eight whole blocks wait, a block that is not whole
/// arrives, or the oldest has waited [`LINGER`]; hash them (lanes for equal lengths); answer.
/// Ends when the queue closes.
fn verify_batches(rx: &mpsc::Receiver<Job>) {
    let mut waiting: Vec<Job> = Vec::new();
    let mut oldest = Instant::now();
    let mut open = true;
    while open || !waiting.is_empty() {
        let next = if waiting.is_empty() {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout((oldest + LINGER).saturating_duration_since(Instant::now()))
        };
        match next {
            Ok(job) => {
                if waiting.is_empty() {
                    oldest = Instant::now();
                }
                waiting.push(job);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
        }
        while waiting.len() < 2 * sha256_lanes::LANES {
            match rx.try_recv() {
                Ok(job) => waiting.push(job),
                Err(_) => break,
            }
        }
        let ready = !open
            || waiting.len() >= sha256_lanes::LANES
            || waiting.iter().any(|j| !whole_block(j.data.len()))
            || oldest.elapsed() >= LINGER;
        if !ready {
            continue;
        }
        let batch = std::mem::take(&mut waiting);
        let blocks: Vec<&[u8]> = batch.iter().map(|j| &j.data[..]).collect();
        let digests = BlockHasher::Lanes.digest_all(&blocks);
        for (job, digest) in batch.into_iter().zip(digests) {
            let ok = digest.as_slice() == job.hash.as_slice();
            // The waiting transfer may have been cancelled; then nobody needs the answer.
            let _ = job.reply.send((job.data, ok));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_hashers_agree_on_mixed_lengths() {
        let data: Vec<Vec<u8>> = (0..21).map(|i| vec![i as u8; [100, 100, 5000, 64, 100][i % 5] + i / 10]).collect();
        let blocks: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let single = BlockHasher::Single.digest_all(&blocks);
        assert_eq!(BlockHasher::Lanes.digest_all(&blocks), single);
        for (b, d) in blocks.iter().zip(&single) {
            assert_eq!(&sha256(b), d);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verifiers_accept_good_blocks_and_refuse_bad_ones() {
        for hasher in [BlockHasher::Single, BlockHasher::Lanes] {
            let verifier = std::sync::Arc::new(Verifier::start(hasher));
            let mut checks = tokio::task::JoinSet::new();
            for i in 0..43u32 {
                let verifier = verifier.clone();
                checks.spawn(async move {
                    // Whole blocks (which wait for company) and odd-sized ones.
                    let len = if i % 4 == 0 { crate::scan::MIN_BLOCK } else { 4096 + (i as usize % 3) * 100 };
                    let data = vec![(i % 7) as u8; len];
                    let mut hash = sha256(&data).to_vec();
                    let good = i % 5 != 0;
                    if !good {
                        hash[0] ^= 1;
                    }
                    let (back, ok) = verifier.check(Bytes::from(data.clone()), &hash).await;
                    assert_eq!((&back[..], ok), (&data[..], good), "{hasher:?} block {i}");
                });
            }
            while let Some(r) = checks.join_next().await {
                r.expect("check");
            }
        }
    }
}
