//! Single-core speed of the backup pipeline's primitives, on this machine, and the pipeline's
//! limit that follows from them. Prints one JSON object per line (scripts/bench-backup reads
//! them and prints a table):
//!
//!     cargo bench -p hearth-backup --bench primitives
//!
//! Each primitive runs over 64 MiB, best of five rounds. The limit for incompressible data is
//! what the work per byte allows when every CPU stage spreads over the available cores,
//! `cores / (1/read + 1/chunk + 1/id + 1/trial + 1/seal)`, capped by the chunker (one thread)
//! and by storing packs on this disk (write + fdatasync, one thread); restore's is
//! `cores / (1/open + 1/id)`.

use std::io::{Read, Write};
use std::time::Instant;

use hearth_backup::blob::BlobType;
use hearth_backup::chunker::{Chunker, ChunkerParams};
use hearth_backup::crypto::{Cipher, Keys, cpu_has_aes};

const MIB: usize = 1 << 20;
const TOTAL: usize = 64 * MIB;

fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}

/// MB/s (10^6 bytes) of `f` over `bytes`, best of five.
fn speed(bytes: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    bytes as f64 / best / 1e6
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let cipher = Cipher::for_cpu(cpu_has_aes());
    let keys = Keys::generate(cipher).expect("keys");
    let data = noise(TOTAL);
    let text: Vec<u8> =
        (0..TOTAL / 48).flat_map(|i| format!("2026-11-22 10:00:{:02} INFO worker-{} item {i:>9}\n", i % 60, i % 8).into_bytes()).collect();
    let chunker = Chunker::new(ChunkerParams::default(), keys.chunker_seed).expect("chunker");
    let mut results: Vec<(&str, f64)> = Vec::new();

    // Storage: the disk under the temporary folder (scripts/bench-backup keeps its repositories
    // there too).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    results.push((
        "store (write + fdatasync)",
        speed(TOTAL, || {
            let mut f = std::fs::File::create(&path).expect("create");
            for c in data.chunks(MIB) {
                f.write_all(c).expect("write");
            }
            f.sync_data().expect("sync");
        }),
    ));
    let mut block = vec![0u8; MIB];
    results.push((
        "read (page cache)",
        speed(TOTAL, || {
            let mut f = std::fs::File::open(&path).expect("open");
            while f.read(&mut block).expect("read") > 0 {}
        }),
    ));

    results.push((
        "chunk (fastcdc v2020)",
        speed(TOTAL, || {
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = chunker.cut(rest);
                rest = &rest[n..];
            }
        }),
    ));
    results.push((
        "id (keyed blake3)",
        speed(TOTAL, || {
            for c in data.chunks(MIB) {
                std::hint::black_box(keys.blob_id(c));
            }
        }),
    ));
    let mut sealed = Vec::new();
    let seal_name = if cipher == Cipher::Aes256Gcm { "seal (aes-256-gcm)" } else { "seal (chacha20-poly1305)" };
    results.push((
        seal_name,
        speed(TOTAL, || {
            for c in data.chunks(MIB) {
                keys.enc.seal_into(&BlobType::Data.aad(&hearth_backup::blob::BlobId([0; 32])), c, &mut sealed).expect("seal");
            }
        }),
    ));
    let one = keys.enc.seal(b"aad", &data[..MIB]).expect("seal");
    let mut buf = Vec::new();
    results.push((
        "open (same cipher)",
        speed(TOTAL, || {
            for _ in 0..TOTAL / MIB {
                buf.clear();
                buf.extend_from_slice(&one);
                std::hint::black_box(keys.enc.open_in_place(b"aad", &mut buf).expect("open"));
            }
        }),
    ));
    let mut out = Vec::with_capacity(2 * MIB);
    let mut c1 = zstd::bulk::Compressor::new(1).expect("zstd");
    // The compression trial: level 1 on the first 64 KiB of each 1 MiB chunk (per byte of data).
    results.push((
        "zstd trial (64 KiB per MiB, level 1, random data)",
        speed(TOTAL, || {
            for c in data.chunks(MIB) {
                out.clear();
                std::hint::black_box(c1.compress_to_buffer(&c[..64 * 1024], &mut out).expect("zstd"));
            }
        }),
    ));
    let mut c3 = zstd::bulk::Compressor::new(3).expect("zstd");
    results.push((
        "zstd level 3 (log text)",
        speed(text.len(), || {
            for c in text.chunks(MIB) {
                out.clear();
                std::hint::black_box(c3.compress_to_buffer(c, &mut out).expect("zstd"));
            }
        }),
    ));
    for (name, mbs) in &results {
        println!("{{\"primitive\": {name:?}, \"mb_per_s\": {mbs:.1}}}");
    }
    let get = |prefix: &str| results.iter().find(|(n, _)| n.starts_with(prefix)).map(|(_, v)| *v).unwrap_or(f64::NAN);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let (chunk, id, seal, open, trial) = (get("chunk"), get("id"), get("seal"), get("open"), get("zstd trial"));
    let (read, store) = (get("read"), get("store"));
    let per_byte = 1.0 / read + 1.0 / chunk + 1.0 / id + 1.0 / seal + 1.0 / trial;
    let backup_limit = (cores / per_byte).min(chunk).min(store);
    let restore_limit = cores / (1.0 / open + 1.0 / id);
    println!("{{\"limit\": \"backup, incompressible\", \"cores\": {cores}, \"mb_per_s\": {backup_limit:.1}}}");
    println!("{{\"limit\": \"restore\", \"cores\": {cores}, \"mb_per_s\": {restore_limit:.1}}}");
}
